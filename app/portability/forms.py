"""Forms of the portability package, and the forms an import runs its records through (the UI's forms where one
exists, otherwise forms made of the same shared validators)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms.fields import IntegerField, PasswordField, StringField, TextAreaField
from wtforms.validators import InputRequired, NumberRange, Optional, Regexp

from app.claims.forms import ClaimForm, EvidenceForm
from app.core.forms import NoMarkup, SafeForm, max_length
from app.validation.forms import COMMENT_LIMIT

#: Versions, levels and counts in an export are small whole numbers.
_VERSION_RANGE = NumberRange(min=1, max=1_000_000, message=_l("Please enter a number between %(min)s and %(max)s."))


class ImportForm(SafeForm):
    file = FileField(_l("Export file (.zip)"), validators=[FileRequired(message=_l("Choose the zip file to import."))])


class DeleteAccountForm(SafeForm):
    current_password = PasswordField(
        _l("Current password"),
        validators=[InputRequired(message=_l("Please enter your current password."))],
        render_kw={"autocomplete": "current-password"},
    )
    confirmation = StringField(
        _l("Type your e-mail address to confirm"),
        validators=[InputRequired(message=_l("Type your e-mail address to confirm.")), max_length(254)],
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )


def _hash_field() -> StringField:
    return StringField(
        _l("Fingerprint"), validators=[Optional(), Regexp(r"^[0-9a-f]{64}$", message=_l("Not a SHA-256 fingerprint."))]
    )


class ImportedEvidenceForm(EvidenceForm):
    """An evidence file's description in an export (its content is inspected like any upload)."""

    original_filename = StringField(_l("File name"), validators=[max_length(255)])

    def validate_file(self, field):
        """The file is the archive's entry, not a form field."""


class ImportedClaimForm(ClaimForm):
    """A claim of an export: the claim form's level and narrative, plus its version number."""

    version = IntegerField(_l("Version"), validators=[Optional(), _VERSION_RANGE])


class ImportedValidationForm(SafeForm):
    """A validation from another instance (kept as "imported — not verified here")."""

    organisation = StringField(_l("Organisation"), validators=[max_length(200), NoMarkup()])
    validator_name = StringField(_l("Validated by"), validators=[max_length(120), NoMarkup()])
    claim_version = IntegerField(_l("Version"), validators=[Optional(), _VERSION_RANGE])
    level = IntegerField(_l("Level"), validators=[Optional(), _VERSION_RANGE])
    content_hash = _hash_field()
    revoked_reason = TextAreaField(_l("Reason"), validators=[max_length(COMMENT_LIMIT)])


class ImportedConfirmationForm(SafeForm):
    """A host referent's confirmation from another instance, with the fields of the referent form."""

    name = StringField(_l("Name"), validators=[max_length(120), NoMarkup()])
    organisation_name = StringField(_l("Organisation"), validators=[max_length(200), NoMarkup()])
    role = StringField(_l("Role"), validators=[max_length(120), NoMarkup()])
    comment = TextAreaField(_l("Comment"), validators=[max_length(COMMENT_LIMIT)])
    content_hash = _hash_field()
