"""Claim and evidence forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField
from wtforms.fields import SelectField, SelectMultipleField, StringField, TextAreaField
from wtforms.validators import ValidationError
from wtforms.widgets import CheckboxInput, ListWidget

from app.claims.narrative import NARRATIVE_LABELS, NARRATIVE_PROMPTS
from app.core.forms import NoMarkup, SafeForm, max_length
from app.frameworks.models import localized

NARRATIVE_LIMIT = 5000


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _narrative_field(part: str) -> TextAreaField:
    return TextAreaField(
        NARRATIVE_LABELS[part], validators=[max_length(NARRATIVE_LIMIT)], description=NARRATIVE_PROMPTS[part]
    )


class CompetenceChoiceForm(SafeForm):
    """Step 1 of a new claim: which competence (a GET form, no CSRF needed)."""

    class Meta:
        csrf = False

    node = SelectField(_l("Competence"), coerce=int, validate_choice=False)

    def set_choices(self, versions, nodes):
        """Competences grouped by framework (in the current language, with a marker where French is used)."""
        titles = {version.id: localized(version.title)[0] for version in versions}
        groups: dict[str, list] = {}
        for node in nodes:
            text, fallback = localized(node.title)
            label = f"{node.code} — {text}" + (f" [{fallback}]" if fallback else "")
            # A title shown in another language than the page's is read in that language (lang on the option).
            choice = (node.id, label, {"lang": fallback}) if fallback else (node.id, label)
            groups.setdefault(titles.get(node.version_id, ""), []).append(choice)
        self.node.choices = groups


class ClaimForm(SafeForm):
    """Step 2: level, narrative and evidence for one competence."""

    # validate_level_rank checks the choice with a precise message (validate_choice would add a second one).
    level_rank = SelectField(_l("Level"), coerce=str, validate_choice=False)
    situation = _narrative_field("situation")
    task = _narrative_field("task")
    actions = _narrative_field("actions")
    result = _narrative_field("result")
    reflection = _narrative_field("reflection")
    transfer = _narrative_field("transfer")
    evidence_ids = MultiCheckboxField(_l("Evidence from your library"), coerce=int, validate_choice=False)
    file = FileField(_l("Add a new evidence file (PDF, JPEG or PNG, up to 10 MB)"))
    file_title = StringField(_l("Title of the new file (optional)"), validators=[max_length(200), NoMarkup()])

    def set_choices(self, levels: list[dict], evidence) -> None:
        """The levels of the competence's framework and the user's evidence library."""
        choices = [("", _l("— Choose a level —"))] if levels else [("", _l("No scale in this framework"))]
        for level in levels:
            label, _fallback = localized(level.get("label"))
            choices.append((str(level["rank"]), f"{level['rank']} — {label}"))
        self.level_rank.choices = choices
        self.evidence_ids.choices = [(item.id, item.title) for item in evidence]

    def validate_level_rank(self, field):
        if field.data and field.data not in {value for value, _label in field.choices}:
            raise ValidationError(_l("Please choose a level of this framework's scale."))

    @property
    def level_value(self) -> int | None:
        return int(self.level_rank.data) if self.level_rank.data else None


class EvidenceForm(SafeForm):
    file = FileField(_l("File (PDF, JPEG or PNG, up to 10 MB)"))
    title = StringField(
        _l("Title (optional)"),
        validators=[max_length(200), NoMarkup()],
        description=_l("For example: “Attestation de mission” or “Photo of the training session”."),
    )

    def validate_file(self, field):
        if not field.data or not getattr(field.data, "filename", None):
            raise ValidationError(_l("Please choose a file."))
