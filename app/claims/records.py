"""What NGOs and host referents recorded about a volunteer's claims, read by the portfolio pages.

Deleting a claim or an experience deletes these records with it (validations, submissions and referent
confirmations cascade), and a validated version of a claim must keep its evidence files. The records belong to the
``validation`` package, above this one: its models are imported inside the functions, never at module level, so
``claims`` keeps working (and importing) without it. Each function runs a fixed number of statements.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from app.claims.models import Claim, Evidence
from app.extensions import db


@dataclass(frozen=True)
class ValidationRecord:
    """A current (neither revoked nor superseded) validation of one claim."""

    claim_id: int
    code: str
    organisation: str
    validated_at: datetime


@dataclass
class Records:
    """What deleting a claim or an experience would also delete."""

    validations: list[ValidationRecord] = field(default_factory=list)
    #: Names of the host referents who confirmed the facts or claims concerned.
    referents: list[str] = field(default_factory=list)
    #: Names of the NGOs the claims or experience were submitted to (the review history).
    submitted_to: list[str] = field(default_factory=list)

    @property
    def any(self) -> bool:
        return bool(self.validations or self.referents or self.submitted_to)

    @property
    def validating_organisations(self) -> list[str]:
        return sorted({v.organisation for v in self.validations})


def _current_validations(claim_ids_query):
    from app.validation.models import ClaimValidation

    return list(
        db.session.scalars(
            sa.select(ClaimValidation)
            .where(
                ClaimValidation.claim_id.in_(claim_ids_query),
                ClaimValidation.revoked_at.is_(None),
                ClaimValidation.superseded_at.is_(None),
            )
            .options(selectinload(ClaimValidation.organisation))
            .order_by(ClaimValidation.validated_at, ClaimValidation.id)
        )
    )


def _record(validation) -> ValidationRecord:
    return ValidationRecord(
        claim_id=validation.claim_id,
        code=(validation.snapshot or {}).get("node", {}).get("code", ""),
        organisation=validation.organisation.name,
        validated_at=validation.validated_at,
    )


def current_validations_of_claim(claim: Claim) -> list[ValidationRecord]:
    """The current validations of ``claim`` (of its validated version, which stays valid while a newer one is
    written)."""
    return [_record(v) for v in _current_validations([claim.id])]


def _records(experience_id: int, claim_ids: set[int] | None) -> Records:
    from app.validation.models import ReferentRequest, Submission, SubmissionItem

    claims = sa.select(Claim.id).where(Claim.experience_id == experience_id)
    if claim_ids is not None:
        claims = claims.where(Claim.id.in_(claim_ids))
    records = Records(validations=[_record(v) for v in _current_validations(claims)])
    referents = db.session.scalars(
        sa.select(ReferentRequest)
        .where(ReferentRequest.experience_id == experience_id, ReferentRequest.confirmed_at.is_not(None))
        .order_by(ReferentRequest.confirmed_at, ReferentRequest.id)
    )
    for request in referents:
        confirmed = set(request.confirmed_claim_ids or [])
        if (claim_ids is None or confirmed & claim_ids) and request.name not in records.referents:
            records.referents.append(request.name)
    submissions = sa.select(Submission).where(Submission.experience_id == experience_id)
    if claim_ids is not None:
        submissions = submissions.where(
            Submission.id.in_(sa.select(SubmissionItem.submission_id).where(SubmissionItem.claim_id.in_(claim_ids)))
        )
    for submission in db.session.scalars(
        submissions.options(selectinload(Submission.organisation)).order_by(Submission.id)
    ):
        if submission.organisation.name not in records.submitted_to:
            records.submitted_to.append(submission.organisation.name)
    return records


def records_of_claim(claim: Claim) -> Records:
    """What deleting ``claim`` also deletes: its validations, its review history, referent confirmations of it."""
    return _records(claim.experience_id, {claim.id})


def records_of_experience(experience_id: int) -> Records:
    """What deleting an experience also deletes: the validations of its claims, its submissions, referent
    confirmations."""
    return _records(experience_id, None)


def validated_claims_using(evidence: Evidence) -> list[ValidationRecord]:
    """The current validations whose validated version lists ``evidence`` (same file id and SHA-256), whether or
    not a newer draft of the claim still uses it: that version must stay printable with its evidence."""
    owned = sa.select(Claim.id).where(Claim.owner_id == evidence.owner_id)
    return [
        _record(v)
        for v in _current_validations(owned)
        if any(
            item.get("id") == evidence.id and item.get("sha256") == evidence.sha256
            for item in (v.snapshot or {}).get("evidence", [])
        )
    ]
