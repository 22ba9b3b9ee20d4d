"""Organisation forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms.fields import BooleanField, DateField, SelectField, StringField, TextAreaField
from wtforms.validators import Optional, ValidationError

from app.core.countries import country_choices, is_country_code
from app.core.forms import NoMarkup, PrintableName, SafeForm, email_field, max_length, required
from app.organisations.models import MembershipRole, OrganisationKind


class OrganisationForm(SafeForm):
    name = StringField(
        _l("Name"),
        validators=[
            required(_l("Please enter the organisation's name.")),
            max_length(200),
            NoMarkup(),
            PrintableName(),
        ],
    )
    kind = SelectField(
        _l("Kind of organisation"),
        choices=OrganisationKind.choices(),
    )
    country = SelectField(_l("Country"))
    description = TextAreaField(_l("Description (optional)"), validators=[max_length(2000)])
    accepts_join_requests = BooleanField(_l("People may ask to join from the directory"), default=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.country.choices = country_choices()

    def validate_country(self, field):
        if not is_country_code(field.data):
            raise ValidationError(_l("Please choose a country from the list."))

    @property
    def kind_value(self) -> OrganisationKind:
        return OrganisationKind(self.kind.data)


class InviteForm(SafeForm):
    email = email_field(_l("E-mail address of the person to invite"))
    role = SelectField(_l("Role"), choices=MembershipRole.choices(), default=MembershipRole.VOLUNTEER.value)


class RoleForm(SafeForm):
    role = SelectField(_l("Role"), choices=MembershipRole.choices())


class ProfileForm(SafeForm):
    """The NGO's identity as its documents print it (letterhead)."""

    legal_name = StringField(
        _l("Legal name"),
        description=_l("As registered, e.g. “Association Solidarité Monde”: printed on documents and in signatures."),
        validators=[max_length(200), NoMarkup(), PrintableName()],
    )
    address = TextAreaField(_l("Postal address"), validators=[max_length(500)])
    registration_number = StringField(_l("Registration number (RNA or SIRET)"), validators=[max_length(40), NoMarkup()])
    website = StringField(_l("Website"), validators=[max_length(200), NoMarkup()])
    logo = FileField(_l("Logo (PNG or JPEG)"))
    remove_logo = BooleanField(_l("Remove the logo"))
    stamp = FileField(_l("Stamp (optional, PNG or JPEG)"))
    remove_stamp = BooleanField(_l("Remove the stamp"))

    def validate_website(self, field):
        if field.data and not field.data.startswith(("https://", "http://")):
            raise ValidationError(_l("Please enter a web address starting with https://."))


class SignatoryForm(SafeForm):
    """A trainer or admin agrees to sign the NGO's documents."""

    signatory_role = StringField(
        _l("Your role, as printed under your name"),
        description=_l("For example: “Directrice” or “Responsable des volontaires”."),
        validators=[required(_l("Please enter your role.")), max_length(120), NoMarkup(), PrintableName()],
    )


class AuditFilterForm(SafeForm):
    """The audit view's filters (GET: they change nothing, so no CSRF token); choices are set by the view."""

    class Meta:
        csrf = False

    person = SelectField(_l("Person"), choices=[], default="")
    action = SelectField(_l("Action"), choices=[], default="")
    since = DateField(_l("From"), validators=[Optional()])
    until = DateField(_l("To (included)"), validators=[Optional()])

    def validate_until(self, field):
        if field.data and self.since.data and field.data < self.since.data:
            raise ValidationError(_l("The end of the period must not be before its start."))
