"""Suggestions on the NGO side: learning from decisions, and "you may also validate…" on the review page.

- :func:`learn_from_decision` (called by :func:`app.validation.operations.decide_item`) turns a validated or
  rejected claim into training data for its framework (hashed word stems only, see :mod:`app.frameworks.learning`);
  a changed level is learnt as the level the trainer validated.
- The ``submission-panels`` template hook shows a reviewer the competences that the submitted stories and the
  experience's activities support but that the volunteer did not claim. The volunteer decides whether to claim them.
"""

from __future__ import annotations

from flask_login import current_user

from app.claims.models import NARRATIVE_PARTS
from app.core.hooks import Panel, panel
from app.core.i18n import current_language
from app.frameworks.learning import DecisionData, record_decision
from app.frameworks.suggest import suggest
from app.frameworks.textproc import guess_language
from app.validation.models import ItemDecision, Submission, SubmissionItem

ALSO_VALIDATE = 3


def _story(snapshot: dict) -> str:
    narrative = snapshot.get("narrative") or {}
    return "\n".join(str(narrative.get(part) or "") for part in NARRATIVE_PARTS)


def learn_from_decision(item: SubmissionItem, version, decision: ItemDecision, level: int | None) -> None:
    """Record a validation or a rejection as training data for the claim's framework (other decisions teach
    nothing: a request for changes says the story is incomplete, not that the competence is wrong). Flushes."""
    if decision not in (ItemDecision.VALIDATED, ItemDecision.REJECTED) or version is None:
        return
    experience = item.submission.experience
    text = "\n".join([_story(item.snapshot), experience.activities or "", experience.results or ""])
    record_decision(
        DecisionData(
            framework_id=version.framework_id,
            code=item.snapshot["node"]["code"],
            user_id=item.submission.volunteer_id,
            item_key=f"item:{item.id}",
            validated=decision == ItemDecision.VALIDATED,
            claimed_level=item.snapshot.get("level"),
            level=level,
            text=text,
        )
    )


def also_validate(submission: Submission, items: list[SubmissionItem], versions: dict) -> list[tuple]:
    """``(version, suggestions)`` per framework of the submitted claims: competences not claimed in it."""
    experience = submission.experience
    activities = "\n".join(filter(None, [experience.activities, experience.results]))
    found = []
    for version_id, version in sorted(versions.items()):
        mine = [i for i in items if i.snapshot["node"]["framework_version_id"] == version_id]
        text = "\n".join([*(_story(i.snapshot) for i in mine), activities])
        claimed = frozenset(i.snapshot["node"]["code"] for i in mine)
        result = suggest(text, version, guess_language(text, current_language()), ALSO_VALIDATE, exclude_codes=claimed)
        if result.suggestions:
            found.append((version, result.suggestions))
    return found


def _also_validate_panel(*, submission, items, versions, **kwargs):
    """On the review page: "You may also validate…" (reviewers only)."""
    if not submission.is_reviewer(current_user) or not items:
        return None
    return panel("validation/_also_validate.html", found=also_validate(submission, items, versions))


#: Registered by :func:`app.validation.views.register_panels`.
ALSO_VALIDATE_PANEL = Panel("submission-panels", 10, _also_validate_panel)
