"""Forms of the VAE path."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms.fields import (
    BooleanField,
    DateField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import NumberRange, Optional

from app.claims.forms import MultiCheckboxField
from app.core.forms import NoMarkup, SafeForm, email_field, max_length, required
from app.vae.models import VaeOutcome, VaeRoute
from app.vae.operations import COMMENT_LIMIT, COMPANION_DEFAULT_DAYS, DRAFT_FIELD_LIMIT

DRAFT_LABELS = {
    "context": _l("Context (organisation, sector, country, public, team size, hierarchy, means)"),
    "activities": _l("What you did (the activities of the bloc, in detail)"),
    "how": _l("How you did it (methods, steps, choices)"),
    "with_whom": _l("With whom (team, partners, authorities, communities)"),
    "tools": _l("Tools and resources used"),
    "constraints": _l("Constraints and difficulties"),
    "results": _l("Results"),
    "differently": _l("What you would do differently"),
}


class ProjectForm(SafeForm):
    framework_id = SelectField(_l("Target certification"), validators=[required(_l("Please choose a certification."))])
    route = RadioField(
        _l("Route"),
        choices=VaeRoute.choices(),
        default=VaeRoute.FRANCE_VAE.value,
        validators=[required(_l("Choose the route."))],
    )
    scope = RadioField(
        _l("Aim at"),
        choices=[("whole", _l("The whole certification")), ("some", _l("Some blocs only"))],
        default="whole",
        validators=[required(_l("Choose what you aim at."))],
    )
    bloc_codes = MultiCheckboxField(_l("Blocs (when aiming at some blocs only)"), choices=[], validate_choice=False)
    started_on = DateField(_l("Start of the project"), validators=[required(_l("Please enter the start date."))])


class StatusForm(SafeForm):
    status = SelectField(_l("Next step"), validators=[required(_l("Choose the next step."))])
    on = DateField(_l("Date of this step"), validators=[required(_l("Please enter the date."))])
    expected = HiddenField()


class OutcomeForm(SafeForm):
    outcome = RadioField(
        _l("Jury's decision"), choices=VaeOutcome.choices(), validators=[required(_l("Choose the decision."))]
    )
    decided_on = DateField(_l("Date of the decision"), validators=[required(_l("Please enter the date."))])
    certifier = StringField(
        _l("Certifier"), validators=[required(_l("Enter the certifier's name.")), max_length(200), NoMarkup()]
    )
    acquired = MultiCheckboxField(_l("Blocs acquired (partial validation)"), choices=[], validate_choice=False)


class CompanionForm(SafeForm):
    email = email_field(_l("Companion's e-mail address"))
    days = IntegerField(
        _l("Access for (days)"),
        default=COMPANION_DEFAULT_DAYS,
        validators=[
            required(_l("Enter a number of days.")),
            NumberRange(min=1, max=365, message=_l("Choose a duration between 1 and 365 days.")),
        ],
    )


class CommentForm(SafeForm):
    body = TextAreaField(
        _l("Comment"), validators=[required(_l("Write a comment.")), max_length(COMMENT_LIMIT), NoMarkup()]
    )
    parent_id = HiddenField()


def _draft_field(name: str) -> TextAreaField:
    return TextAreaField(DRAFT_LABELS[name], validators=[Optional(), max_length(DRAFT_FIELD_LIMIT), NoMarkup()])


class DraftForm(SafeForm):
    context = _draft_field("context")
    activities = _draft_field("activities")
    how = _draft_field("how")
    with_whom = _draft_field("with_whom")
    tools = _draft_field("tools")
    constraints = _draft_field("constraints")
    results = _draft_field("results")
    differently = _draft_field("differently")
    claim_ids = MultiCheckboxField(_l("Work situations from your missions"), coerce=int, choices=[])
    evidence_ids = MultiCheckboxField(_l("Evidence to attach"), coerce=int, choices=[])
    autosave = HiddenField(default="")


class SwornForm(SafeForm):
    name = StringField(_l("Your full name"), validators=[required(_l("Type your name.")), max_length(120)])
    accepted = BooleanField(
        _l(
            "I declare on my honour that the information in this dossier is accurate and that I wrote it myself "
            "(déclaration sur l'honneur)."
        )
    )


class PrintForm(SafeForm):
    """The print button of one document; the hidden field names it again (a bare POST prints nothing)."""

    document = HiddenField(validators=[required(_l("Choose a document to print."))])
