"""Competence suggestions in the portfolio: for an experience's activities and results, and for a claim's story.

Pages and the claim form call these helpers; the engine itself is :func:`app.frameworks.suggest.suggest`.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from app.claims.models import NARRATIVE_PARTS
from app.core.i18n import current_language
from app.experiences.models import Experience
from app.extensions import db
from app.frameworks.models import FrameworkKind, FrameworkVersion
from app.frameworks.suggest import Suggestion, SuggestionResult, suggest
from app.frameworks.textproc import guess_language

TOP = 5
#: Characters of text accepted from a browser for a live suggestion; longer texts are cut (and the answer says so).
MAX_INPUT = 100_000


def suggestible_versions() -> list[FrameworkVersion]:
    """Current framework versions, the project's own framework first."""
    versions = list(
        db.session.scalars(
            sa.select(FrameworkVersion)
            .where(FrameworkVersion.is_current.is_(True), FrameworkVersion.first_node_id.is_not(None))
            .options(selectinload(FrameworkVersion.framework))
            .order_by(FrameworkVersion.id)
        )
    )
    return sorted(versions, key=lambda v: (v.framework.kind != FrameworkKind.OWN, v.id))


def pick_version(versions: list[FrameworkVersion], version_id: int | None) -> FrameworkVersion | None:
    """The version asked for if it is offered, else the first one (the own framework)."""
    chosen = next((v for v in versions if v.id == version_id), None)
    return chosen or (versions[0] if versions else None)


def experience_text(experience: Experience) -> str:
    """What an experience says the volunteer did: activities, results and context."""
    return "\n".join(part for part in (experience.activities, experience.results, experience.context) if part)


def narrative_text(values: dict) -> str:
    """The parts of a claim's story joined, from a form's values."""
    return "\n".join(str(values.get(part) or "") for part in NARRATIVE_PARTS)[:MAX_INPUT]


def suggest_for(text: str, version: FrameworkVersion, top_n: int = TOP) -> SuggestionResult:
    """Suggestions for a text written by the volunteer, in the language it is written in (default: the UI's)."""
    return suggest(text[:MAX_INPUT], version, guess_language(text, default=current_language()), top_n)


@dataclass(frozen=True)
class SuggestionView:
    """A suggestion with what the page needs: whether it is already claimed, and its claim's id if so."""

    item: Suggestion
    claim_id: int | None = None


def with_claims(result: SuggestionResult, claims) -> list[SuggestionView]:
    """Attach to each suggestion the volunteer's existing claim on that competence (node), if any."""
    claimed = {claim.node_id: claim.id for claim in claims}
    return [SuggestionView(item=s, claim_id=claimed.get(s.node_id)) for s in result.suggestions]
