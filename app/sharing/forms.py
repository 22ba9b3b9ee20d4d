"""Forms of the sharing package."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms.fields import BooleanField, EmailField, IntegerField, RadioField, StringField, TextAreaField
from wtforms.validators import Email, NumberRange, Optional, ValidationError

from app.claims.forms import MultiCheckboxField
from app.core.forms import NoMarkup, SafeForm, max_length, required
from app.sharing.models import ShareKind
from app.sharing.operations import DEFAULT_DAYS, MAX_DAYS

NOTE_LIMIT = 20_000


class ShareForm(SafeForm):
    kind = RadioField(
        _l("Share with"),
        choices=[
            (ShareKind.ADVISER.value, _l("A named adviser (they sign in with their e-mail address)")),
            (ShareKind.LINK.value, _l("Anyone who has a link")),
        ],
        default=ShareKind.ADVISER.value,
        validators=[required(_l("Choose how to share."))],
    )
    adviser_email = EmailField(
        _l("Adviser's e-mail address"),
        validators=[
            Optional(),
            max_length(254),
            Email(
                message=_l("Please enter a valid e-mail address, like name@example.org."), check_deliverability=False
            ),
        ],
        filters=[lambda v: v.lower() if isinstance(v, str) else v],
        render_kw={"autocomplete": "off", "spellcheck": "false"},
    )
    label = StringField(
        _l("Note for yourself (optional)"),
        validators=[max_length(120), NoMarkup()],
        description=_l("For example: “VAE jury” or “France Travail”. Only you see it."),
    )
    days = IntegerField(
        _l("Valid for (days)"),
        default=DEFAULT_DAYS,
        validators=[
            required(_l("Enter a number of days.")),
            NumberRange(min=1, max=MAX_DAYS, message=_l("Choose a duration between 1 and 365 days.")),
        ],
        description=_l("30 days by default, one year at most. You can end the share at any time."),
    )
    scope = RadioField(
        _l("What to share"),
        choices=[("all", _l("My whole portfolio")), ("selection", _l("Only the experiences selected below"))],
        default="all",
        validators=[required(_l("Choose what to share."))],
    )
    experience_ids = MultiCheckboxField(_l("Experiences"), coerce=int, validate_choice=False)
    include_evidence = BooleanField(_l("Include my evidence files"), default=True)
    include_documents = BooleanField(_l("Include my generated documents"), default=True)

    def set_choices(self, experiences) -> None:
        self.experience_ids.choices = [(e.id, e.title) for e in experiences]

    def validate_adviser_email(self, field):
        if self.kind.data == ShareKind.ADVISER.value and not field.data:
            raise ValidationError(_l("Enter the adviser's e-mail address."))

    def validate_experience_ids(self, field):
        if self.scope.data == "selection" and not field.data:
            raise ValidationError(_l("Select at least one of your experiences."))


class NoteForm(SafeForm):
    body = TextAreaField(
        _l("My private notes"),
        validators=[max_length(NOTE_LIMIT)],
        description=_l("Only you can read these notes; the volunteer cannot."),
    )
