"""What deleting a claim or an experience would also delete, shown as a warning panel on their delete pages.

The delete pages belong to ``claims`` and ``experiences``, below this package; the warning lists review records
this package keeps (submissions, referent confirmations) beside the validations, so it is a page panel
(:mod:`app.core.hooks`: ``claim-delete-warnings``, ``experience-delete-warnings``) and never a rule: deleting
does not depend on it. Each panel runs a fixed number of statements.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from app.claims.models import Claim
from app.claims.records import ValidationRecord, current_validations, validation_record
from app.core.hooks import panel
from app.extensions import db
from app.validation.models import ReferentRequest, Submission, SubmissionItem


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


def _records(experience_id: int, claim_ids: set[int] | None) -> Records:
    claims = sa.select(Claim.id).where(Claim.experience_id == experience_id)
    if claim_ids is not None:
        claims = claims.where(Claim.id.in_(claim_ids))
    records = Records(validations=[validation_record(v) for v in current_validations(claims)])
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


def claim_delete_warning(*, claim, **kwargs):
    """Panel ``claim-delete-warnings``: the NGO's and referents' records that deleting ``claim`` would delete."""
    return panel("validation/_records_warning.html", records=records_of_claim(claim))


def experience_delete_warning(*, experience, **kwargs):
    """Panel ``experience-delete-warnings``: the records that deleting ``experience`` would delete."""
    return panel("validation/_records_warning.html", records=records_of_experience(experience.id))
