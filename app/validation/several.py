"""Several organisations on one claim (issue 20): each NGO decides on its own.

A claim validated by NGO A may still be submitted to NGO B; B's decision neither replaces nor blocks A's, and
A's stays standing whatever B decides. What one NGO may not do is validate twice the same version of a claim it
has already validated (the partial unique index ``uq_claim_validations_claim_version_org`` says so to the
database, so two concurrent decisions at one NGO have one winner).
"""

from __future__ import annotations

import sqlalchemy as sa

from app.claims.models import Claim, ClaimState
from app.claims.validations import ClaimValidation
from app.extensions import db


def standing_validators(claims) -> dict[int, set[int]]:
    """For each claim, the organisations with a standing validation of its current version (including one still
    awaiting its countersignature). One statement."""
    versions = {claim.id: claim.version for claim in claims}
    if not versions:
        return {}
    rows = db.session.execute(
        sa.select(ClaimValidation.claim_id, ClaimValidation.claim_version, ClaimValidation.organisation_id).where(
            ClaimValidation.claim_id.in_(list(versions)),
            ClaimValidation.revoked_at.is_(None),
            ClaimValidation.superseded_at.is_(None),
            ClaimValidation.withdrawn_at.is_(None),
        )
    )
    found: dict[int, set[int]] = {}
    for claim_id, version, organisation_id in rows:
        if versions.get(claim_id) == version:
            found.setdefault(claim_id, set()).add(organisation_id)
    return found


def open_to(claim: Claim, organisation_ids, validators: dict[int, set[int]]) -> bool:
    """Whether ``claim`` may go to one of ``organisation_ids``: not under review, and not already validated at
    this version by that organisation (another organisation's validation does not count)."""
    if claim.state == ClaimState.SUBMITTED:
        return False
    taken = validators.get(claim.id, set())
    return any(organisation_id not in taken for organisation_id in organisation_ids)


def state_after_decision(claim: Claim, decided: ClaimState, organisation_id: int) -> ClaimState:
    """The claim's state once ``organisation_id`` decided: still validated when another organisation's
    validation of this version stands, whatever this one decided."""
    if decided == ClaimState.VALIDATED:
        return decided
    others = standing_validators([claim]).get(claim.id, set()) - {organisation_id}
    return ClaimState.VALIDATED if others else decided
