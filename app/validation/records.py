"""The answers of ``validation`` to the portfolio pages of ``claims``: what NGOs and host referents recorded.

``claims`` sits below this package and may not import it, so :mod:`app.claims.records` asks through signals and
:func:`connect_receivers` (called when the views are imported, at app start) connects the functions here:
``claim-validations`` and ``evidence-validations`` answer a list of
:class:`~app.claims.records.ValidationRecord`, ``claim-records`` and ``experience-records`` a
:class:`~app.claims.records.Records`. Each receiver runs a fixed number of statements.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from app.claims.models import Claim, Evidence
from app.claims.records import Records, ValidationRecord
from app.core.hooks import hook
from app.extensions import db
from app.validation.countersign import complete_clause
from app.validation.models import ClaimValidation, ReferentRequest, Submission, SubmissionItem


def _current_validations(claim_ids_query) -> list[ClaimValidation]:
    return list(
        db.session.scalars(
            sa.select(ClaimValidation)
            .where(
                ClaimValidation.claim_id.in_(claim_ids_query),
                ClaimValidation.revoked_at.is_(None),
                ClaimValidation.superseded_at.is_(None),
                complete_clause(),
            )
            .options(selectinload(ClaimValidation.organisation))
            .order_by(ClaimValidation.validated_at, ClaimValidation.id)
        )
    )


def _record(validation: ClaimValidation) -> ValidationRecord:
    return ValidationRecord(
        claim_id=validation.claim_id,
        code=(validation.snapshot or {}).get("node", {}).get("code", ""),
        organisation=validation.organisation.name,
        validated_at=validation.validated_at,
    )


def _records(experience_id: int, claim_ids: set[int] | None) -> Records:
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


def current_validations_of_claim(claim: Claim, **kwargs) -> list[ValidationRecord]:
    """Receiver of ``claim-validations``: the current validations of ``claim`` (of its validated version, which
    stays valid while a newer one is written)."""
    return [_record(v) for v in _current_validations([claim.id])]


def records_of_claim(claim: Claim, **kwargs) -> Records:
    """Receiver of ``claim-records``: what deleting ``claim`` also deletes (its validations, its review history,
    referent confirmations of it)."""
    return _records(claim.experience_id, {claim.id})


def records_of_experience(experience_id: int, **kwargs) -> Records:
    """Receiver of ``experience-records``: what deleting an experience also deletes (the validations of its claims,
    its submissions, referent confirmations)."""
    return _records(experience_id, None)


def validated_claims_using(evidence: Evidence, **kwargs) -> list[ValidationRecord]:
    """Receiver of ``evidence-validations``: the current validations whose validated version lists ``evidence``
    (same file id and SHA-256), whether or not a newer draft of the claim still uses it: that version must stay
    printable with its evidence."""
    owned = sa.select(Claim.id).where(Claim.owner_id == evidence.owner_id)
    return [
        _record(v)
        for v in _current_validations(owned)
        if any(
            item.get("id") == evidence.id and item.get("sha256") == evidence.sha256
            for item in (v.snapshot or {}).get("evidence", [])
        )
    ]


RECEIVERS = {
    "claim-validations": current_validations_of_claim,
    "claim-records": records_of_claim,
    "experience-records": records_of_experience,
    "evidence-validations": validated_claims_using,
}


def connect_receivers() -> None:
    """Connect the receivers above to the signals ``claims`` sends (connecting again changes nothing)."""
    for name, receiver in RECEIVERS.items():
        hook(name).connect(receiver, weak=False)
