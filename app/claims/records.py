"""What NGOs recorded about a volunteer's claims, read from the claims floor's own tables.

A validated version of a claim must keep its evidence files, and the claim form says when saving would make a new
version to validate again. Both read :class:`~app.claims.validations.ClaimValidation` directly (it lives on this
floor): no signal, no listener, the same answer whether or not the ``validation`` package was imported. Each
function runs a fixed number of statements.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from app.claims.models import Claim, Evidence
from app.claims.validations import ClaimValidation
from app.extensions import db


@dataclass(frozen=True)
class ValidationRecord:
    """A current (neither revoked nor superseded) validation of one claim."""

    claim_id: int
    code: str
    organisation: str
    validated_at: datetime


def current_validations(claim_ids) -> list[ClaimValidation]:
    """The current validations of the claims ``claim_ids`` (ids or a select of ids), oldest first, with their
    organisation loaded."""
    return list(
        db.session.scalars(
            sa.select(ClaimValidation)
            .where(ClaimValidation.claim_id.in_(claim_ids), ClaimValidation.is_current)
            .options(selectinload(ClaimValidation.organisation))
            .order_by(ClaimValidation.validated_at, ClaimValidation.id)
        )
    )


def validation_record(validation: ClaimValidation) -> ValidationRecord:
    """The plain record of ``validation`` the portfolio pages show."""
    return ValidationRecord(
        claim_id=validation.claim_id,
        code=(validation.snapshot or {}).get("node", {}).get("code", ""),
        organisation=validation.organisation.name,
        validated_at=validation.validated_at,
    )


def current_validations_of_claim(claim: Claim) -> list[ValidationRecord]:
    """The current validations of ``claim`` (of its validated version, which stays valid while a newer one is
    written)."""
    return [validation_record(v) for v in current_validations([claim.id])]


def validated_claims_using(evidence: Evidence) -> list[ValidationRecord]:
    """The current validations whose validated version lists ``evidence`` (same file id and SHA-256), whether or
    not a newer draft of the claim still uses it: that version must stay printable with its evidence."""
    owned = sa.select(Claim.id).where(Claim.owner_id == evidence.owner_id)
    return [
        validation_record(v)
        for v in current_validations(owned)
        if any(
            item.get("id") == evidence.id and item.get("sha256") == evidence.sha256
            for item in (v.snapshot or {}).get("evidence", [])
        )
    ]
