"""Forms of the validation workflow."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms.fields import BooleanField, DateField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import Optional

from app.claims.forms import MultiCheckboxField
from app.core.forms import NoMarkup, PrintableName, SafeForm, email_field, max_length, required
from app.core.i18n import LANGUAGE_NAMES
from app.validation.models import FactsDecision, ItemDecision, SubmissionState
from app.validation.operations import WITHDRAW_REASON_LIMIT

COMMENT_LIMIT = 4000


class SubmitForm(SafeForm):
    organisation_id = SelectField(_l("Sending NGO"), coerce=int, validate_choice=False)
    claim_ids = MultiCheckboxField(_l("Competences to submit"), coerce=int, validate_choice=False)


class DecisionForm(SafeForm):
    decision = RadioField(
        _l("Decision"),
        choices=[
            (ItemDecision.VALIDATED.value, _l("Validate")),
            (ItemDecision.CHANGES_REQUESTED.value, _l("Request changes")),
            (ItemDecision.REJECTED.value, _l("Reject")),
        ],
        validators=[required(_l("Please choose a decision."))],
    )
    level = SelectField(_l("Validated level"), coerce=str, validate_choice=False)
    comment = TextAreaField(
        _l("Comment or reason"),
        validators=[max_length(COMMENT_LIMIT)],
        description=_l("Required to request changes, to reject, or to validate at another level."),
    )

    def set_levels(self, levels: list[dict], claimed: int | None, language: str) -> None:
        choices = []
        for level in levels:
            label = (level.get("label") or {}).get(language) or (level.get("label") or {}).get("fr") or ""
            choices.append((str(level["rank"]), f"{level['rank']} — {label}"))
        self.level.choices = choices or [("", _l("No scale in this framework"))]
        if not self.level.data or self.level.data == "None":
            self.level.data = str(claimed) if claimed is not None else ""

    @property
    def level_value(self) -> int | None:
        try:
            return int(self.level.data) if self.level.data else None
        except ValueError:
            return -1


class FactsForm(SafeForm):
    facts_decision = RadioField(
        _l("The facts of the mission (dates, role, status)"),
        choices=[
            (FactsDecision.CONFIRMED.value, _l("I confirm these facts")),
            (FactsDecision.CORRECTED.value, _l("I confirm them with a correction")),
        ],
        validators=[required(_l("Please choose an answer."))],
    )
    facts_comment = TextAreaField(_l("Correction"), validators=[max_length(COMMENT_LIMIT)])
    #: Required (by the operation) only when the facts raise warnings: overlapping engagements, an unusual duration.
    facts_acknowledged = BooleanField(_l("I have checked these warnings and confirm the facts all the same"))


class RevokeForm(SafeForm):
    reason = TextAreaField(
        _l("Reason for the revocation"),
        validators=[required(_l("Please give the reason for the revocation.")), max_length(COMMENT_LIMIT)],
    )


class WithdrawForm(SafeForm):
    """The volunteer takes a pending submission back; the reason is optional and shown to the NGO's trainers."""

    reason = TextAreaField(
        _l("Reason (optional)"),
        validators=[max_length(WITHDRAW_REASON_LIMIT), NoMarkup()],
        description=_l("For example: a mistake to correct, or the wrong NGO. The trainers of the NGO will read it."),
    )


class QueueFilterForm(SafeForm):
    """The queue's filters (a GET form: no CSRF)."""

    class Meta:
        csrf = False

    state = SelectField(
        _l("State"),
        choices=[("", _l("All")), *SubmissionState.choices()],
        default=SubmissionState.PENDING.value,
        validate_choice=True,
    )
    volunteer = StringField(_l("Volunteer's name"), validators=[max_length(100)])
    #: The engagement scheme (VSI, service civique…): the programme a mission belongs to. Choices set by the view.
    scheme = SelectField(
        _l("Programme (engagement scheme)"), choices=[("", _l("All"))], default="", validate_choice=True
    )
    order = SelectField(
        _l("Sort by"),
        choices=[
            ("newest", _l("Most recent first")),
            ("waiting", _l("Waiting longest first")),
            ("volunteer", _l("Volunteer's name")),
        ],
        default="newest",
        validate_choice=True,
    )
    date_from = DateField(_l("Submitted from"), validators=[Optional()])
    date_to = DateField(_l("Submitted until"), validators=[Optional()])


class ReferentForm(SafeForm):
    name = StringField(
        _l("Referent's name"),
        validators=[required(_l("Please enter the referent's name.")), max_length(120), NoMarkup(), PrintableName()],
    )
    email = email_field(_l("Referent's e-mail address"))
    organisation_name = StringField(_l("Organisation"), validators=[max_length(200), NoMarkup()])
    role = StringField(_l("Role"), validators=[max_length(120), NoMarkup()])
    language = SelectField(_l("Language of the request"), choices=list(LANGUAGE_NAMES.items()))
    claim_ids = MultiCheckboxField(_l("Competences to confirm"), coerce=int, validate_choice=False)


class ReferentConfirmForm(SafeForm):
    facts_confirmed = BooleanField(_l("I confirm the facts of this mission"))
    claim_ids = MultiCheckboxField(_l("I confirm these competences"), coerce=int, validate_choice=False)
    comment = TextAreaField(_l("Comment"), validators=[max_length(COMMENT_LIMIT)])


class CountersignForm(SafeForm):
    """A second trainer countersigns a validation (nothing to fill in: the button is the act)."""


class CountersignatureRuleForm(SafeForm):
    """An NGO admin's rule: a framework (or any) and an optional lowest level needing a countersignature."""

    framework_slug = SelectField(_l("Framework"), validate_choice=False)
    min_level = SelectField(
        _l("From level"),
        choices=[("", _l("Any level")), ("1", "1"), ("2", "2"), ("3", "3"), ("4", "4"), ("5", "5")],
        validate_choice=True,
    )
