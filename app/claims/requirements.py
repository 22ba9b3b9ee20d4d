"""Whether validated competences meet a certification's requirements: the VAE rule, on which the VAE dossier is built.

Not :mod:`app.claims.coverage`, which measures how much of a framework a volunteer has *claimed* (the portfolio
dashboard): here the question is whether each requirement of a référentiel is *met* by validated claims.

The rule (documented for candidates and juries): a competence of the target certification is *covered* when the
holder has a current validation of that same competence (same framework and code) or of a competence linked to it
by an ``exact`` or ``close`` crosswalk link, at or above the level the référentiel asks; *partly covered* when the
only links are ``broader``, ``narrower`` or ``related``, or the validated level is below the one asked; *not
covered* otherwise. A bloc is covered when all its competences are, partly when at least one is covered or partly
covered. Links guide the jury to evidence; they are never a VAE decision.

The statuses are the words stored in the dossier's snapshot: ``covered``, ``partly``, ``not_covered``.
"""

from __future__ import annotations

from collections.abc import Iterable

from app.claims.models import Claim
from app.frameworks.models import Relation

MET, PARTLY_MET, NOT_MET = "covered", "partly", "not_covered"

#: Crosswalk links through which a validated competence can meet a requirement; the others only support it.
MEETING_RELATIONS = (Relation.EXACT, Relation.CLOSE)
SUPPORTING_RELATIONS = (Relation.BROADER, Relation.NARROWER, Relation.RELATED)

#: The level of its own framework's scale a competence must reach to meet a requirement, unless the référentiel
#: says otherwise (``certification.required_level``, or per bloc ``certification.required_levels``).
DEFAULT_REQUIRED_LEVEL = 3


def required_level(certification: dict | None, bloc_code: str) -> int:
    """The rank a bloc of an RNCP référentiel asks for (per bloc, else per framework, else 3)."""
    certification = certification or {}
    per_bloc = certification.get("required_levels") or {}
    return int(per_bloc.get(bloc_code) or certification.get("required_level") or DEFAULT_REQUIRED_LEVEL)


def reaches_required_level(claim: Claim, validated_level: int | None, required: int) -> bool:
    """A validated level (else the claimed one) at or above ``required``; a claim on a framework without a scale
    (EU key competences) carries no level, so the rule cannot apply to it."""
    if not claim.node.version.levels:
        return True
    return (validated_level or claim.level_rank or 0) >= required


def requirement_status(support: Iterable[tuple[Claim, int | None, Relation | None]], required: int) -> str:
    """How far the validated claims in ``support`` meet one requirement: :data:`MET`, :data:`PARTLY_MET` or
    :data:`NOT_MET`. Each item is (claim, its validated level, the crosswalk relation from the claim's competence
    to the requirement — None for the same competence)."""
    status = NOT_MET
    for claim, validated_level, relation in support:
        meeting = relation is None or relation in MEETING_RELATIONS
        # Meeting needs the level the référentiel asks for: below it, the requirement is partly met.
        if meeting and reaches_required_level(claim, validated_level, required):
            return MET
        status = PARTLY_MET
    return status


def bloc_status(statuses: Iterable[str]) -> str:
    """A bloc is met when all its requirements are, partly when at least one is met or partly met."""
    statuses = list(statuses)
    seen = set(statuses)
    if statuses and seen == {MET}:
        return MET
    return PARTLY_MET if seen & {MET, PARTLY_MET} else NOT_MET
