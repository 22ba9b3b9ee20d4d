"""Forms for the three kinds of experience. Fields that do not apply to a kind are simply absent."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms.fields import DateField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import NumberRange, Optional, ValidationError

from app.core.countries import country_choices, is_country_code
from app.core.forms import NoMarkup, PrintableName, SafeForm, max_length, required
from app.experiences import operations as ops
from app.experiences.models import ExperienceKind, TrainingKind, WorkingTime

TEXT_LIMIT = 5000
NOT_ON_ACQUIS = ""


def _count_field(label, maximum: int, hint=None) -> IntegerField:
    return IntegerField(
        label,
        validators=[
            Optional(),
            NumberRange(min=0, max=maximum, message=_l("Please enter a number between %(min)s and %(max)s.")),
        ],
        description=hint,
    )


def _text_area(label, hint=None) -> TextAreaField:
    return TextAreaField(label, validators=[max_length(TEXT_LIMIT)], description=hint)


class ExperienceForm(SafeForm):
    """Fields shared by every kind."""

    kind: ExperienceKind
    title = StringField(
        _l("Title or role"),
        validators=[required(_l("Please give a title.")), max_length(200), NoMarkup(), PrintableName()],
    )
    start_date = DateField(_l("Start date"), validators=[required(_l("Please enter the start date."))])
    end_date = DateField(_l("End date (leave empty if it is still going on)"), validators=[Optional()])

    def validate_end_date(self, field):
        if field.data and self.start_date.data and field.data < self.start_date.data:
            raise ValidationError(_l("The end date cannot be before the start date."))

    def field_names(self) -> list[str]:
        return [f.name for f in self if f.name != "csrf_token"]


class _OrganisationFields(SafeForm):
    # The validate_* methods below check the choice with a precise message (validate_choice would add a second one).
    sending_organisation_id = SelectField(
        _l("Sending organisation on Acquis"), coerce=str, default=NOT_ON_ACQUIS, validate_choice=False
    )
    sending_organisation_name = StringField(
        _l("Or its name, if it is not on Acquis"), validators=[max_length(200), NoMarkup()]
    )
    host_country = SelectField(_l("Country"), default="", validate_choice=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.sending_organisation_id.choices = [(NOT_ON_ACQUIS, _l("— Not on Acquis —"))] + [
            (str(org.id), org.name) for org in ops.sending_ngos()
        ]
        self.host_country.choices = [("", _l("— Choose a country —")), *country_choices()]

    def validate_sending_organisation_id(self, field):
        valid = {value for value, _label in field.choices}
        if field.data not in valid:
            raise ValidationError(_l("Please choose an organisation from the list."))

    def validate_host_country(self, field):
        if field.data and not is_country_code(field.data):
            raise ValidationError(_l("Please choose a country from the list."))


class MissionForm(ExperienceForm, _OrganisationFields):
    kind = ExperienceKind.MISSION
    status_code = SelectField(_l("Engagement status"), validate_choice=False)
    host_name = StringField(_l("Host partner (name)"), validators=[max_length(200), NoMarkup()])
    host_city = StringField(_l("City"), validators=[max_length(120), NoMarkup()])
    working_time = SelectField(
        _l("Working time"),
        choices=[("", _l("— Not specified —")), *WorkingTime.choices()],
        default="",
    )
    hours_per_week = _count_field(_l("Hours per week"), 100)
    team_size = _count_field(_l("Size of the team you worked in"), 100000)
    budget_managed_eur = _count_field(_l("Budget you managed (euros)"), 1_000_000_000)
    people_served = _count_field(_l("Number of people reached or served"), 100_000_000)
    languages_used = StringField(
        _l("Languages used"), validators=[max_length(300), NoMarkup()], description=_l("For example: Spanish, Quechua")
    )
    context = _text_area(_l("Context"), _l("The organisation, the place, the people you worked with and for."))
    activities = _text_area(_l("Activities"), _l("What you did, concretely."))
    results = _text_area(_l("Results"), _l("What changed thanks to your work; figures if you have them."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.status_code.choices = [("", _l("— Choose a status —"))] + [
            (status.code, status.label) for status in ops.engagement_statuses()
        ]

    def validate_status_code(self, field):
        if not field.data:
            raise ValidationError(_l("Please choose a status from the list."))
        if field.data not in {value for value, _label in field.choices}:
            raise ValidationError(_l("Please choose a status from the list."))

    def validate_host_country(self, field):
        if not field.data:
            raise ValidationError(_l("Please choose the country of the mission."))
        super().validate_host_country(field)


class TrainingForm(ExperienceForm):
    kind = ExperienceKind.TRAINING
    provider = StringField(
        _l("Training provider"), validators=[required(_l("Please name the provider.")), max_length(200), NoMarkup()]
    )
    training_kind = SelectField(_l("Kind of training"), choices=TrainingKind.choices())
    hours = _count_field(_l("Duration in hours"), 10000)
    certificate = StringField(_l("Certificate or attestation received"), validators=[max_length(200), NoMarkup()])
    activities = _text_area(_l("Content of the training"))


class OtherForm(ExperienceForm, _OrganisationFields):
    kind = ExperienceKind.OTHER
    context = _text_area(_l("Context"))
    activities = _text_area(_l("Activities"))
    results = _text_area(_l("Results"))


FORMS = {ExperienceKind.MISSION: MissionForm, ExperienceKind.TRAINING: TrainingForm, ExperienceKind.OTHER: OtherForm}


def form_to_data(form: ExperienceForm) -> ops.ExperienceData:
    """The operation's input from a validated form (absent fields keep their defaults)."""
    values = {name: form[name].data for name in form.field_names() if name in ops.EDITABLE_FIELDS}
    for name, value in list(values.items()):
        if isinstance(value, str) and name not in {"title"}:
            values[name] = value.strip()
    if "sending_organisation_id" in values:
        values["sending_organisation_id"] = (
            int(values["sending_organisation_id"]) if values["sending_organisation_id"] else None
        )
    if "status_code" in values:
        values["status_code"] = values["status_code"] or None
    if "working_time" in values:
        values["working_time"] = WorkingTime(values["working_time"]) if values["working_time"] else None
    if "training_kind" in values:
        values["training_kind"] = TrainingKind(values["training_kind"])
    for name in ("host_country",):
        if name in values and values[name] is None:
            values[name] = ""
    return ops.ExperienceData(kind=form.kind, **values)


def form_for(kind: ExperienceKind, experience=None, *, prefill: bool = False) -> ExperienceForm:
    """The form of ``kind``; with ``prefill`` (a GET), filled from ``experience``."""
    form = FORMS[kind](obj=experience)
    if experience is not None and prefill:
        if "sending_organisation_id" in form:
            form.sending_organisation_id.data = str(experience.sending_organisation_id or "")
        for name in ("working_time", "training_kind"):
            if name in form and getattr(experience, name) is not None:
                form[name].data = getattr(experience, name).value
    return form
