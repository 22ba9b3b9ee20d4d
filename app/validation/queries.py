"""What the validation pages read: loading submissions, validations and referent requests, the review queue and its
statistics, and the predicates the verbs and pages share (what may be submitted, what a trainer must acknowledge)."""

from __future__ import annotations

import re
import statistics
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import defer, joinedload, selectinload

from app.auth.models import User
from app.claims.models import Claim, ClaimState
from app.claims.validations import ClaimValidation
from app.core.cache import cached
from app.core.db import utcnow
from app.core.tokens import hash_token
from app.experiences.models import Experience
from app.experiences.operations import experiences_of
from app.experiences.rules import overlapping
from app.extensions import db
from app.frameworks.models import FrameworkNode, FrameworkVersion
from app.organisations.models import (
    STAFF_ROLES,
    Membership,
    MembershipRole,
    MembershipState,
    Organisation,
    OrganisationKind,
)
from app.organisations.operations import members_with_role
from app.validation import several
from app.validation.models import (
    ItemDecision,
    ReferentRequest,
    Submission,
    SubmissionItem,
    SubmissionState,
)

#: Claims that may go into a (new) round: not under review, not already validated at their current version.
SUBMITTABLE_STATES = (ClaimState.DRAFT, ClaimState.CHANGES_REQUESTED, ClaimState.REJECTED)


QUEUE_PAGE_SIZE = 25


def _claim_options():
    return (
        selectinload(Claim.node).selectinload(FrameworkNode.version).selectinload(FrameworkVersion.framework),
        selectinload(Claim.evidence),
    )


def claims_of_experience(experience: Experience) -> list[Claim]:
    return list(
        db.session.scalars(
            sa.select(Claim).where(Claim.experience_id == experience.id).options(*_claim_options()).order_by(Claim.id)
        )
    )


def _sending_ngos_of(user: User, roles: tuple[MembershipRole, ...] | None = None) -> list[Organisation]:
    """Sending NGOs where ``user`` is an active member (with one of ``roles`` if given), by name."""
    conditions = [
        Membership.user_id == user.id,
        Membership.state == MembershipState.ACTIVE,
        Organisation.kind == OrganisationKind.SENDING_NGO,
    ]
    if roles:
        conditions.append(Membership.role.in_(roles))
    return list(
        db.session.scalars(
            sa.select(Organisation)
            .join(Membership, Membership.organisation_id == Organisation.id)
            .where(*conditions)
            .order_by(Organisation.name)
        )
    )


def submission_organisations(user: User) -> list[Organisation]:
    """Sending NGOs where ``user`` is an active member (any role): where they may submit."""
    return _sending_ngos_of(user)


def pending_submission(experience_id: int) -> Submission | None:
    return db.session.scalar(
        sa.select(Submission).where(
            Submission.experience_id == experience_id, Submission.state == SubmissionState.PENDING
        )
    )


# Many-to-one people who may not be there yet (a decider, a facts confirmer, a revoker) are joined: a separate
# "select in" query would run only once one of them exists, so a page's statement count would change with its data.
def submissions_of_experience(experience: Experience) -> list[Submission]:
    return list(
        db.session.scalars(
            sa.select(Submission)
            .where(Submission.experience_id == experience.id)
            .options(
                selectinload(Submission.organisation),
                selectinload(Submission.items).joinedload(SubmissionItem.decided_by),
                joinedload(Submission.facts_confirmed_by),
            )
            .order_by(Submission.id)
        )
    )


def get_submission(submission_id: int) -> Submission | None:
    """A submission with everything its review page shows."""
    return db.session.scalar(
        sa.select(Submission)
        .where(Submission.id == submission_id)
        .options(
            selectinload(Submission.organisation),
            selectinload(Submission.volunteer),
            selectinload(Submission.experience),
            joinedload(Submission.facts_confirmed_by),
            selectinload(Submission.items).joinedload(SubmissionItem.decided_by),
            selectinload(Submission.items).selectinload(SubmissionItem.claim),
        )
    )


def get_validation(validation_id: int) -> ClaimValidation | None:
    return db.session.scalar(
        sa.select(ClaimValidation)
        .where(ClaimValidation.id == validation_id)
        .options(
            selectinload(ClaimValidation.organisation),
            selectinload(ClaimValidation.claim).selectinload(Claim.node),
        )
    )


def validations_for_claims(claim_ids, *, with_snapshot: bool = True) -> dict[int, list[ClaimValidation]]:
    """Every validation of these claims (newest first), with the people and NGOs they name.

    :param with_snapshot: ``False`` leaves the frozen claim snapshots unread (deferred): lists that show only who
        validated what, when (the dashboard, a shared portfolio) need not decode hundreds of JSON documents.
    """
    ids = list(claim_ids)
    result: dict[int, list[ClaimValidation]] = {claim_id: [] for claim_id in ids}
    if not ids:
        return result
    options = [selectinload(ClaimValidation.organisation), joinedload(ClaimValidation.revoked_by)]
    if not with_snapshot:
        options.append(defer(ClaimValidation.snapshot))
    rows = db.session.scalars(
        sa.select(ClaimValidation)
        .where(ClaimValidation.claim_id.in_(ids))
        .options(*options)
        .order_by(ClaimValidation.validated_at.desc(), ClaimValidation.id.desc())
    )
    for row in rows:
        result[row.claim_id].append(row)
    return result


def decisions_of_claim(claim: Claim) -> list[SubmissionItem]:
    """Every review of a claim (all rounds, all NGOs), newest first."""
    return list(
        db.session.scalars(
            sa.select(SubmissionItem)
            .where(SubmissionItem.claim_id == claim.id)
            .options(
                selectinload(SubmissionItem.submission).selectinload(Submission.organisation),
                joinedload(SubmissionItem.decided_by),
            )
            .order_by(SubmissionItem.created_at.desc(), SubmissionItem.id.desc())
        )
    )


def referent_requests_of(experience_id: int) -> list[ReferentRequest]:
    return list(
        db.session.scalars(
            sa.select(ReferentRequest)
            .where(ReferentRequest.experience_id == experience_id)
            .order_by(ReferentRequest.created_at.desc(), ReferentRequest.id.desc())
        )
    )


def trainers_of(organisation: Organisation, *, except_user_id: int | None = None) -> list[User]:
    """The active trainers of ``organisation`` (but ``except_user_id``), by id."""
    return members_with_role(organisation, MembershipRole.TRAINER, except_user_id=except_user_id)


def submittable(claim: Claim, organisation_ids=None, validators: dict[int, set[int]] | None = None) -> bool:
    """Whether ``claim`` may be submitted: judged on its state alone, or, given ``organisation_ids``, to one of
    them (another NGO's validation never blocks; see :mod:`app.validation.several`)."""
    if organisation_ids is None:
        return claim.state in SUBMITTABLE_STATES
    if validators is None:
        validators = several.standing_validators([claim])
    return several.open_to(claim, organisation_ids, validators)


def facts_warnings(experience: Experience) -> list[dict]:
    """What a trainer must acknowledge before confirming the facts of ``experience``: other full-time engagements of
    the volunteer that overlap it in time, and a duration outside its status's legal bounds (plain data, printed
    on the attestation in its language)."""
    warnings = []
    others = overlapping(experience, experiences_of(experience.owner))
    if others:
        warnings.append(
            {
                "kind": "overlap",
                "with": [
                    {
                        "title": o.title,
                        "start_date": o.start_date.isoformat(),
                        "end_date": o.end_date.isoformat() if o.end_date else None,
                    }
                    for o in others
                ],
            }
        )
    status, days = experience.status, experience.duration_days
    if status is not None and days is not None:
        too_long = status.max_days is not None and days > status.max_days
        too_short = status.min_days is not None and days < status.min_days
        if too_long or too_short:
            warnings.append(
                {
                    "kind": "duration",
                    "days": days,
                    "min": status.min_days,
                    "max": status.max_days,
                    "status": status.code,
                    "legal_basis": status.legal_basis,
                }
            )
    return warnings


def find_referent_request(token: str) -> ReferentRequest | None:
    """The usable request behind ``token``; ``None`` when unknown, tampered with, expired or used (callers answer
    the same 404 in every case)."""
    request = _referent_request_of(token)
    return request if request is not None and request.is_usable else None


def _referent_request_of(token: str) -> ReferentRequest | None:
    if not token or len(token) > 100:
        return None
    return db.session.scalar(sa.select(ReferentRequest).where(ReferentRequest.token_hash == hash_token(token)))


def ended_referent_request(token: str) -> ReferentRequest | None:
    """The request behind a real token that was already used or has expired (the referent gets an explanation);
    ``None`` for an unknown token or a usable request."""
    request = _referent_request_of(token)
    return request if request is not None and not request.is_usable else None


def end_of_referent_request(request: ReferentRequest) -> tuple[str, datetime]:
    """Why and when the link stopped working: ``("referent_used", confirmed_at)`` or ``("referent_expired",
    expires_at)``."""
    if request.confirmed_at is not None:
        return "referent_used", request.confirmed_at
    return "referent_expired", request.expires_at


def reviewer_organisations(user: User) -> list[Organisation]:
    """Sending NGOs where ``user`` is an active trainer or admin (whose submissions they may see)."""
    return _sending_ngos_of(user, STAFF_ROLES)


@dataclass(frozen=True)
class QueueFilters:
    state: SubmissionState | None = SubmissionState.PENDING
    volunteer: str = ""
    date_from: date | None = None
    date_to: date | None = None
    page: int = 1
    #: the engagement scheme of the experience (``EngagementStatus.code``: VSI, service civique…), the nearest
    #: thing to an NGO's programme in the model; "" for all.
    scheme: str = ""
    #: one of ``QUEUE_ORDERS``.
    order: str = "newest"


#: The queue's orders: newest first, waiting longest first, by volunteer's name.
QUEUE_ORDERS = ("newest", "waiting", "volunteer")


@dataclass
class Queue:
    submissions: list
    counts: dict
    total: int
    page: int
    pages: int


def _like_escape(text: str) -> str:
    return re.sub(r"([\\%_])", r"\\\1", text)


def review_queue(organisation_ids: list[int], filters: QueueFilters) -> Queue:
    """Submissions addressed to these NGOs, filtered, newest first, one page at a time, with counts per state."""
    if not organisation_ids:
        return Queue([], {s: 0 for s in SubmissionState}, 0, 1, 1)
    base = sa.select(Submission).where(Submission.organisation_id.in_(organisation_ids))
    if filters.volunteer or filters.order == "volunteer":
        base = base.join(User, User.id == Submission.volunteer_id)
    if filters.volunteer:
        pattern = f"%{_like_escape(filters.volunteer.lower())}%"
        base = base.where(sa.func.lower(User.display_name).like(pattern, escape="\\"))
    if filters.scheme:
        base = base.join(Experience, Experience.id == Submission.experience_id).where(
            Experience.status_code == filters.scheme
        )
    if filters.date_from:
        start = datetime.combine(filters.date_from, datetime.min.time()).replace(tzinfo=utcnow().tzinfo)
        base = base.where(Submission.submitted_at >= start)
    if filters.date_to:
        end = datetime.combine(filters.date_to + timedelta(days=1), datetime.min.time()).replace(tzinfo=utcnow().tzinfo)
        base = base.where(Submission.submitted_at < end)
    counted = base.with_only_columns(Submission.state, sa.func.count(Submission.id)).group_by(Submission.state)
    counts = {s: 0 for s in SubmissionState}
    for state, number in db.session.execute(counted):
        counts[SubmissionState(state)] = number
    listed = base.where(Submission.state == filters.state) if filters.state else base
    total = counts[filters.state] if filters.state else sum(counts.values())
    pages = max(1, -(-total // QUEUE_PAGE_SIZE))
    page = min(max(1, filters.page), pages)
    submissions = list(
        db.session.scalars(
            listed.options(
                selectinload(Submission.volunteer),
                selectinload(Submission.experience),
                selectinload(Submission.organisation),
                selectinload(Submission.items),
            )
            .order_by(*_queue_order(filters.order))
            .limit(QUEUE_PAGE_SIZE)
            .offset((page - 1) * QUEUE_PAGE_SIZE)
        )
    )
    return Queue(submissions, counts, total, page, pages)


def _queue_order(order: str) -> tuple:
    """ORDER BY of the queue; the id last, so pages never overlap (the volunteer order joins ``users``)."""
    if order == "waiting":
        return (Submission.submitted_at.asc(), Submission.id.asc())
    if order == "volunteer":
        return (sa.func.lower(User.display_name).asc(), Submission.submitted_at.asc(), Submission.id.asc())
    return (Submission.submitted_at.desc(), Submission.id.desc())


@dataclass(frozen=True)
class OrganisationStats:
    organisation: Organisation
    pending_submissions: int
    pending_items: int
    decided_items: int
    median_hours: float | None


#: The queue statistics read decisions of this many past days at most (and at most ``sample`` of them).
STATS_WINDOW_DAYS = 90


def organisation_stats(organisation: Organisation, sample: int = 1000) -> OrganisationStats:
    """Pending counts and the median time from (re)submission to decision over the latest decided claims.

    Cached per NGO for ``QUEUE_STATS_CACHE_SECONDS`` (60 by default; 0 turns the cache off), in Redis when
    ``REDIS_URL`` is set, else in the process (:mod:`app.core.cache`): the median sorts the NGO's recent decisions
    (21,000 for the largest one) and the admins' queue page shows it on every view, where figures a minute old are
    good enough. A decision shows in the figures within that delay.
    """
    figures = cached(
        f"queue-stats:{organisation.id}:{sample}",
        current_app.config.get("QUEUE_STATS_CACHE_SECONDS", 60),
        lambda: _organisation_figures(organisation.id, sample),
    )
    return OrganisationStats(organisation, *figures)


def _organisation_figures(organisation_id: int, sample: int) -> list:
    """``[pending submissions, pending items, decided items, median hours]``, computed (plain JSON values).

    Bounded: the median is computed over the ``sample`` latest decisions of the last ``STATS_WINDOW_DAYS`` days
    only, read newest first along the index on ``submission_items.decided_at``, so a view never sorts every
    decision the NGO ever made (84,000 for the largest one); the median of at most ``sample`` durations is then
    taken in Python, the same on SQLite and PostgreSQL. The counts use the ``submissions (organisation_id, state,
    …)`` index.
    """
    pending_submissions = db.session.scalar(
        sa.select(sa.func.count(Submission.id)).where(
            Submission.organisation_id == organisation_id, Submission.state == SubmissionState.PENDING
        )
    )
    pending_items = db.session.scalar(
        sa.select(sa.func.count(SubmissionItem.id))
        .join(Submission, Submission.id == SubmissionItem.submission_id)
        .where(
            Submission.organisation_id == organisation_id,
            # Redundant but what makes it cheap: an item awaits a decision only while its submission is pending
            # (deciding the last item, returning or withdrawing moves the submission out of PENDING), so the
            # count starts from the NGO's pending submissions (index on organisation_id, state) instead of every
            # submission it ever received (240 ms for the largest NGO).
            Submission.state == SubmissionState.PENDING,
            SubmissionItem.decision == ItemDecision.PENDING,
        )
    )
    rows = db.session.execute(
        sa.select(SubmissionItem.created_at, SubmissionItem.decided_at)
        .join(Submission, Submission.id == SubmissionItem.submission_id)
        .where(
            Submission.organisation_id == organisation_id,
            SubmissionItem.decided_at >= utcnow() - timedelta(days=STATS_WINDOW_DAYS),
            SubmissionItem.decision != ItemDecision.WITHDRAWN,
        )
        .order_by(SubmissionItem.decided_at.desc())
        .limit(sample)
    ).all()
    durations = [(decided - created).total_seconds() / 3600 for created, decided in rows]
    median = statistics.median(durations) if durations else None
    return [pending_submissions, pending_items, len(durations), median]


def is_experience_locked(experience: Experience) -> bool:
    return pending_submission(experience.id) is not None
