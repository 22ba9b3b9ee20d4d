"""Forms of the impact survey. The questionnaire form is built from the data file, in the respondent's language."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms.fields import BooleanField, HiddenField, RadioField, SelectMultipleField, TextAreaField
from wtforms.validators import InputRequired, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from app.core.forms import SafeForm, max_length
from app.survey.questionnaire import Questionnaire


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def questionnaire_form(questionnaire: Questionnaire, language: str, organisations) -> SafeForm:
    """A form with one radio group per profile question and per statement, the organisations the answers may be
    attributed to, the optional comment and the consent box. Field names: ``profile_<key>``, ``item_<key>``."""

    class QuestionnaireForm(SafeForm):
        pass

    for question in questionnaire.profile:
        setattr(
            QuestionnaireForm,
            f"profile_{question.key}",
            RadioField(
                question.label.get(language),
                choices=[(o.value, o.label.get(language)) for o in question.options],
                validators=[InputRequired(message=_l("Please choose an answer."))],
            ),
        )
    scale = [(o.value, o.label.get(language)) for o in questionnaire.scale]
    for item in questionnaire.items:
        setattr(
            QuestionnaireForm,
            f"item_{item.key}",
            RadioField(
                item.text.get(language),
                choices=scale,
                validators=[InputRequired(message=_l("Please choose an answer."))],
            ),
        )
    QuestionnaireForm.organisations = MultiCheckboxField(
        _l("Organisations that may see these answers in their statistics (optional)"),
        choices=[(str(o.id), o.name) for o in organisations],
        validators=[Optional()],
    )
    if questionnaire.free_text:
        QuestionnaireForm.comment = TextAreaField(
            questionnaire.free_text.label.get(language),
            validators=[Optional(), max_length(questionnaire.free_text.max_length)],
        )
    QuestionnaireForm.consent = BooleanField(
        questionnaire.consent_text.get(language),
        validators=[InputRequired(message=_l("Please give your consent to the statistical use of your answers."))],
    )
    return QuestionnaireForm()


class ModerationForm(SafeForm):
    decision = RadioField(
        _l("Decision"),
        choices=[("approve", _l("Approve")), ("reject", _l("Reject"))],
        validators=[InputRequired(message=_l("Please choose a decision."))],
    )
    next = HiddenField()


class InviteForm(SafeForm):
    """Sends the invitations; ``confirm`` is set by the confirmation step before sending again."""

    confirm = HiddenField()
