"""Form base class and validators shared by every package (and by the importer, which runs imported records
through the same forms: :func:`check_record`).

:class:`SafeForm` rejects, next to the field concerned, input that no legitimate person types: bytes that were
not valid UTF-8 (the request decoder turns them into U+FFFD), NUL and other control characters, and the invisible
bidirectional controls that reorder what is displayed (U+202A to U+202E, U+2066 to U+2069: "Ana", U+202E,
"gnp.exe" shows as "Anaexe.png"). Single-line fields (names, titles, codes) also refuse the direction marks and
every other invisible format character except the joiners U+200C/U+200D, which some scripts and emoji need.
Everything is stripped of surrounding spaces. Free text is stored as typed and always rendered escaped; fields that
hold a name additionally refuse markup with :class:`NoMarkup`.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from functools import cache
from urllib.parse import parse_qsl

from babel import support
from flask import Request, current_app, request
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from werkzeug.formparser import FormDataParser
from wtforms import Field
from wtforms.csrf.core import CSRFTokenField
from wtforms.fields import EmailField, PasswordField, StringField, TextAreaField
from wtforms.i18n import messages_path
from wtforms.validators import Email, InputRequired, Length, StopValidation, ValidationError
from wtforms.widgets import HiddenInput

_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029\ufeff]")
_SINGLE_LINE_BREAKS = re.compile(r"[\r\n\t]")
#: Embeddings, overrides and isolates: they reorder the text that follows them, anywhere.
_BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")
#: Direction marks: harmless in right-to-left prose, never needed in a name or a title.
_DIRECTION_MARKS = re.compile("[\u200e\u200f\u061c]")
#: Zero-width (non-)joiners spell words in Persian and Indic scripts and build emoji: allowed everywhere.
_JOINERS = "\u200c\u200d"


def strip_text(value):
    """Strip surrounding whitespace from a string; leave other values alone."""
    return value.strip() if isinstance(value, str) else value


@cache
def _format_characters() -> re.Pattern:
    """Every invisible format character (Unicode category Cf) but the joiners, as one character class."""
    chars = (chr(c) for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)) == "Cf")
    return re.compile("[" + "".join(re.escape(c) for c in chars if c not in _JOINERS) + "]")


def text_problem(value: str, *, multiline: bool, secret: bool = False) -> str | None:
    """A translated reason why ``value`` is not acceptable text, or ``None``.

    :param multiline: free text (line breaks and the direction marks of right-to-left prose allowed).
    :param secret: a password: only malformed text and control characters are refused (an existing password
        must keep working).
    """
    if "\ufffd" in value:
        return str(_l("This field contains characters that are not valid text (invalid UTF-8)."))
    if _CONTROL_CHARS.search(value) or (not multiline and _SINGLE_LINE_BREAKS.search(value)):
        return str(_l("This field contains control characters; please retype it."))
    if secret:
        return None
    if _BIDI_CONTROLS.search(value) or (not multiline and _DIRECTION_MARKS.search(value)):
        return str(
            _l(
                "This field contains invisible characters that change the text direction (such as U+202E); "
                "please retype it."
            )
        )
    if not multiline and _format_characters().search(value):
        return str(_l("This field contains invisible formatting characters; please retype it."))
    return None


class _ReplacingFormDataParser(FormDataParser):
    """Decodes url-encoded bodies with U+FFFD for bytes that are not UTF-8.

    Werkzeug 3 keeps such bytes as the literal text ``%FF``, which would pass validation and be stored as if
    typed; replacing them lets :class:`SafeForm` reject the field instead.
    """

    def _parse_urlencoded(self, stream, mimetype, content_length, options):
        items = parse_qsl(stream.read().decode("utf-8", "replace"), keep_blank_values=True, errors="replace")
        return stream, self.cls(items), self.cls()


class SafeRequest(Request):
    """The application's request class (set in :func:`app.create_app`)."""

    form_data_parser_class = _ReplacingFormDataParser


class _CSRFInput(HiddenInput):
    """The CSRF token's hidden input without an ``id``: several forms share a page (the header's language and
    sign-out forms at least), and the same ``id="csrf_token"`` on each is invalid HTML. Nothing refers to it."""

    def __call__(self, field, **kwargs):
        kwargs.setdefault("id", False)
        return super().__call__(field, **kwargs)


@cache
def _wtforms_catalogue(locale: str) -> support.Translations:
    return support.Translations.load(messages_path(), [locale], domain="wtforms")


class _WTFormsMessages:
    """WTForms' own messages (field labels, validator errors) in the request's language, as Flask-WTF gives them,
    but each catalogue read once per process: Flask-WTF reads the ``.mo`` file again in every request that builds
    a form, and the header's language switcher builds one on every page."""

    def _catalogue(self):
        if not request or "babel" not in current_app.extensions:  # untranslated, like Flask-WTF
            return None
        return _wtforms_catalogue(str(get_locale()))

    def gettext(self, string):
        catalogue = self._catalogue()
        return string if catalogue is None else catalogue.ugettext(string)

    def ngettext(self, singular, plural, n):
        catalogue = self._catalogue()
        if catalogue is None:
            return singular if n == 1 else plural
        return catalogue.ungettext(singular, plural, n)


_WTFORMS_MESSAGES = _WTFormsMessages()


class SafeForm(FlaskForm):
    """FlaskForm (with CSRF) that checks every text field for malformed input before other validators."""

    class Meta:
        def get_translations(self, form):
            if not current_app.config.get("WTF_I18N_ENABLED", True):
                return super().get_translations(form)
            return _WTFORMS_MESSAGES

        def bind_field(self, form, unbound_field, options):
            if issubclass(unbound_field.field_class, CSRFTokenField):
                return unbound_field.bind(form=form, widget=_CSRFInput(), **options)
            filters = list(unbound_field.kwargs.get("filters", ()))
            if issubclass(unbound_field.field_class, StringField | TextAreaField) and not issubclass(
                unbound_field.field_class, PasswordField
            ):
                filters.insert(0, strip_text)
            return unbound_field.bind(form=form, filters=filters, **options)

    def validate(self, extra_validators=None):
        malformed = {}
        for field in self:
            if isinstance(field.data, str):
                problem = text_problem(
                    field.data, multiline=isinstance(field, TextAreaField), secret=isinstance(field, PasswordField)
                )
                if problem:
                    malformed[field.name] = problem
        valid = super().validate(extra_validators)
        for name, problem in malformed.items():
            field = self[name]
            field.errors = [problem]
        return valid and not malformed


class NoMarkup:
    """Refuses ``<`` and ``>`` in names and titles: they are never needed there and only carry markup."""

    def __init__(self, message=None):
        self.message = message

    def __call__(self, form, field: Field):
        if isinstance(field.data, str) and ("<" in field.data or ">" in field.data):
            raise ValidationError(self.message or _l("Please remove the characters < and >."))


class PrintableName:
    """Requires at least one letter or digit (a name made of symbols only is a typo)."""

    def __call__(self, form, field: Field):
        if isinstance(field.data, str) and not any(unicodedata.category(ch)[0] in "LN" for ch in field.data):
            raise ValidationError(_l("Please enter a name."))


def check_record(form_class, values: dict, *, ignore=(), prepare=None) -> tuple[SafeForm, list[tuple[str, str]]]:
    """Validate a record read from a file (an import) with the form the UI uses for the same thing.

    One validation layer for both: the record goes through the form's filters and validators (text checks of
    :class:`SafeForm`, lengths, number ranges, choices) exactly as typed input would. Values that are neither text
    nor numbers (lists, objects, booleans) are refused before the form sees them.

    :param values: field name → value; ``None`` means absent.
    :param ignore: fields whose errors the caller resolves itself (e.g. a choice that does not exist here).
    :param prepare: called with the form before validation (to set choices).
    :returns: the validated form and the problems as ``(field name, "label: messages")`` pairs (empty when valid).
    """
    formdata, wrong = MultiDict(), []
    for name, value in values.items():
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            wrong.append(name)
            continue
        formdata.add(name, str(value))
    form = form_class(formdata=formdata, meta={"csrf": False})
    if prepare is not None:
        prepare(form)
    form.validate()
    problems = [
        (name, f"{form[name].label.text}: {' '.join(str(e) for e in errors)}")
        for name, errors in form.errors.items()
        if name not in ignore
    ]
    problems += [(name, str(_l("This value has the wrong type."))) for name in wrong if name not in ignore]
    return form, problems


def email_field(label=None, **kwargs) -> EmailField:
    """A required e-mail field with the usual length limit and normalisation to lower case."""
    return EmailField(
        label or _l("E-mail address"),
        validators=[
            InputRequired(message=_l("Please enter your e-mail address.")),
            Length(max=254, message=_l("An e-mail address has at most 254 characters.")),
            Email(
                message=_l("Please enter a valid e-mail address, like name@example.org."), check_deliverability=False
            ),
        ],
        filters=[lambda v: v.lower() if isinstance(v, str) else v],
        render_kw={"autocomplete": "email", "spellcheck": "false"},
        **kwargs,
    )


def required(message) -> InputRequired:
    """InputRequired with a translated message."""
    return InputRequired(message=message)


def max_length(n: int) -> Length:
    """Length(max=n) with a translated message naming the limit."""
    return Length(max=n, message=_l("Please use at most %(max)d characters.", max=n))


__all__ = [
    "NoMarkup",
    "PrintableName",
    "SafeForm",
    "StopValidation",
    "check_record",
    "email_field",
    "max_length",
    "required",
    "text_problem",
]
