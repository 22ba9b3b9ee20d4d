"""Operations of the validation workflow. They flush, log and notify; the caller commits.

Every transition is guarded by a conditional ``UPDATE … WHERE <still in the expected state>``: when two people
act at once, exactly one update matches a row and the other learns that it was already done (no lost update).
Decisions on one submission are also serialised by a row lock on the submission (PostgreSQL; SQLite has a single
writer anyway), so the last decision of a round always sees the others and closes the round.
"""

from __future__ import annotations

import difflib
import re
import statistics
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import defer, joinedload, selectinload
from werkzeug.exceptions import Forbidden

from app.auth.models import User
from app.claims.models import NARRATIVE_PARTS, Claim, ClaimState, Evidence
from app.claims.narrative import NARRATIVE_LABELS
from app.claims.validations import ClaimValidation
from app.core.audit import AuditEvent, log_event
from app.core.canonical import content_hash
from app.core.db import utcnow
from app.core.errors import Conflict, UserError
from app.core.mail import queue_email
from app.core.security import canonical_url
from app.core.tokens import hash_token, new_random_token
from app.experiences.models import Experience, ExperienceKind
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
from app.validation import archive, several, suggestions
from app.validation.models import (
    FACTS_OPEN_STATES,
    FactsDecision,
    ItemDecision,
    Notification,
    ReferentRequest,
    Submission,
    SubmissionItem,
    SubmissionState,
)

#: Claims that may go into a (new) round: not under review, not already validated at their current version.
SUBMITTABLE_STATES = (ClaimState.DRAFT, ClaimState.CHANGES_REQUESTED, ClaimState.REJECTED)
REFERENT_LINK_DAYS = 30
WITHDRAW_REASON_LIMIT = 500
QUEUE_PAGE_SIZE = 25
LANGUAGES = ("fr", "en", "es")


class TransitionRefused(Forbidden):
    """The actor may not make this transition (handlers answer 403)."""


class AlreadyDecided(Conflict):
    """Someone else made the transition first; ``by`` and ``at`` say who and when."""

    def __init__(self, by: str, at: datetime | None):
        super().__init__(f"already decided by {by} at {at}")
        self.by = by
        self.at = at

    @property
    def message(self):
        return _("Already decided by %(name)s on %(time)s.", name=self.by, time=_when(self.at))


class SubmissionWithdrawn(Conflict):
    """The volunteer withdrew the submission (at ``at``): there is nothing left to decide."""

    def __init__(self, at: datetime | None):
        super().__init__(f"withdrawn at {at}")
        self.at = at

    @property
    def message(self):
        return _(
            "The volunteer withdrew this submission on %(time)s: there is nothing left to decide.",
            time=_when(self.at),
        )


class FactsChanged(Conflict):
    """The round is closed and the volunteer has edited the facts since: they are answered in the next round."""

    @property
    def message(self):
        return _(
            "The volunteer has edited the facts of this experience since this round was submitted: they will be "
            "answered when the experience is submitted again."
        )


class NotWithdrawable(Conflict):
    """The submission can no longer be withdrawn (a decision was recorded, or it is no longer awaiting review);
    ``message`` is translated."""


def _when(at: datetime | None) -> str:
    return format_datetime(at) if at else "—"


# --- Snapshots ------------------------------------------------------------------------------------------------


def claim_snapshot(claim: Claim) -> dict:
    """Exactly what a reviewer sees of a claim: competence, framework version, level, narrative, evidence hashes."""
    node = claim.node
    version = node.version
    return {
        "claim_id": claim.id,
        "version": claim.version,
        "node": {
            "id": node.id,
            "code": node.code,
            "title": dict(node.title or {}),
            "framework": version.framework.slug,
            "framework_version": version.version,
            "framework_version_id": version.id,
        },
        "level": claim.level_rank,
        "narrative": {part: getattr(claim, part) or "" for part in NARRATIVE_PARTS},
        "evidence": [_evidence_snapshot(e) for e in claim.evidence],
    }


def _evidence_snapshot(evidence) -> dict:
    item = {"id": evidence.id, "title": evidence.title, "sha256": evidence.sha256, "mime": evidence.mime}
    item["pages"] = evidence.pages
    if evidence.active_content_removed:  # only then: snapshots of other files keep their exact former content
        item["active_content_removed"] = True
    return item


def facts_snapshot(experience: Experience) -> dict:
    """The facts of an experience a trainer (or a referent) confirms."""
    status = experience.status
    return {
        "experience_id": experience.id,
        "kind": experience.kind.value,
        "title": experience.title,
        "start_date": experience.start_date.isoformat(),
        "end_date": experience.end_date.isoformat() if experience.end_date else None,
        "status_code": experience.status_code,
        "status": dict(status.name or {}) if status is not None else {},
        "working_time": experience.working_time.value if experience.working_time else None,
        "hours_per_week": experience.hours_per_week,
        "sending_organisation": experience.sending_organisation_label,
        "host_name": experience.host_name,
        "host_country": experience.host_country,
        "host_city": experience.host_city,
        "provider": experience.provider,
        "hours": experience.hours,
    }


# --- Loading ----------------------------------------------------------------------------------------------------


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
    return list(
        db.session.scalars(
            sa.select(User)
            .join(Membership, Membership.user_id == User.id)
            .where(
                Membership.organisation_id == organisation.id,
                Membership.role == MembershipRole.TRAINER,
                Membership.state == MembershipState.ACTIVE,
                User.id != (except_user_id or 0),
            )
            .order_by(User.id)
        )
    )


# --- Notifications --------------------------------------------------------------------------------------------


def notify(user_id: int, kind: str, *, link: str = "", **params) -> Notification:
    """Add an in-app notification (its text is translated when shown)."""
    notification = Notification(user_id=user_id, kind=kind, params=params, link=link)
    db.session.add(notification)
    return notification


def notifications_of(user: User, limit: int = 100) -> list[Notification]:
    return list(
        db.session.scalars(
            sa.select(Notification)
            .where(Notification.user_id == user.id)
            .order_by(Notification.created_at.desc(), Notification.id.desc())
            .limit(limit)
        )
    )


def unread_count(user: User) -> int:
    return db.session.scalar(
        sa.select(sa.func.count(Notification.id)).where(Notification.user_id == user.id, Notification.read_at.is_(None))
    )


def mark_read(user: User, notification_id: int | None = None) -> int:
    """Mark one (or every) unread notification of ``user`` as read; returns how many changed."""
    stmt = sa.update(Notification).where(Notification.user_id == user.id, Notification.read_at.is_(None))
    if notification_id is not None:
        stmt = stmt.where(Notification.id == notification_id)
    result = db.session.execute(stmt.values(read_at=utcnow()).execution_options(synchronize_session=False))
    return result.rowcount


def _path(endpoint: str, **values) -> str:
    """A site-relative link stored with a notification, built without a request (operations also run from CLI
    commands and tests)."""
    base = urlsplit(current_app.config["BASE_URL"])
    adapter = current_app.url_map.bind(base.netloc or "localhost", script_name=base.path or "/")
    return adapter.build(endpoint, values)


# --- Guarded updates ----------------------------------------------------------------------------------------


def _is_sqlite_lock(exc: sa.exc.OperationalError) -> bool:
    return db.session.get_bind().dialect.name == "sqlite" and "locked" in str(exc.orig).lower()


def _run_guarded(attempt):
    """Run ``attempt()`` (which starts with the transition's guarded UPDATE); on SQLite, a concurrent writer makes
    the UPDATE fail with "database is locked" when this transaction had read an older snapshot: roll back (the
    request has changed nothing yet) and try once more on a fresh snapshot, where the guard then decides."""
    try:
        return attempt()
    except sa.exc.OperationalError as exc:
        if not _is_sqlite_lock(exc):
            raise
        db.session.rollback()
        return attempt()


# --- Submission -----------------------------------------------------------------------------------------------


def submittable(claim: Claim, organisation_ids=None, validators: dict[int, set[int]] | None = None) -> bool:
    """Whether ``claim`` may be submitted: judged on its state alone, or, given ``organisation_ids``, to one of
    them (another NGO's validation never blocks; see :mod:`app.validation.several`)."""
    if organisation_ids is None:
        return claim.state in SUBMITTABLE_STATES
    if validators is None:
        validators = several.standing_validators([claim])
    return several.open_to(claim, organisation_ids, validators)


def submit_experience(volunteer: User, experience: Experience, organisation: Organisation, claim_ids) -> Submission:
    """Submit ``experience`` with the chosen claims to a sending NGO where ``volunteer`` is an active member.

    A first submission creates the dossier; after changes were requested (or a decision) the same dossier gets
    a new round. The chosen claims become ``SUBMITTED`` (locked) and the experience is locked until the round is
    decided or returned. Raises :class:`~app.core.errors.UserError`.
    """
    if experience.owner_id != volunteer.id:
        raise TransitionRefused("not the owner")
    if organisation.kind != OrganisationKind.SENDING_NGO or not organisation.has_role(volunteer):
        raise UserError(_l("Please choose one of your sending NGOs."), "organisation_id")
    if pending_submission(experience.id) is not None:
        raise UserError(_l("This experience is already awaiting a review."), "organisation_id")
    wanted = set(claim_ids or ())
    claims = [c for c in claims_of_experience(experience) if c.id in wanted]
    if not wanted:
        raise UserError(_l("Please choose at least one competence to submit."), "claim_ids")
    validators = several.standing_validators(claims)
    if len(claims) != len(wanted) or not all(submittable(c, [organisation.id], validators) for c in claims):
        raise UserError(_l("Please choose competences of this experience that can be submitted."), "claim_ids")
    now = utcnow()
    facts = facts_snapshot(experience)
    facts_hash = content_hash(facts)
    submission = db.session.scalar(
        sa.select(Submission).where(
            Submission.experience_id == experience.id, Submission.organisation_id == organisation.id
        )
    )
    previous_state = submission.state if submission is not None else None
    if submission is None:
        submission = Submission(
            experience_id=experience.id,
            volunteer_id=volunteer.id,
            organisation_id=organisation.id,
            round=1,
            state=SubmissionState.PENDING,
        )
        db.session.add(submission)
        action = "submission.created"
    else:
        submission.round += 1
        submission.state = SubmissionState.PENDING
        submission.decided_at = None
        action = RESUBMISSION_ACTIONS.get(previous_state, "submission.resubmitted")
    submission.submitted_at = now
    submission.facts = facts
    submission.facts_hash = facts_hash
    if submission.facts_confirmed_hash != facts_hash:
        submission.facts_decision = None
        submission.facts_comment = ""
        submission.facts_confirmed_by_id = None
        submission.facts_confirmed_at = None
        submission.facts_confirmed_hash = None
    db.session.flush()
    hashes = {}
    for claim in claims:
        snapshot = claim_snapshot(claim)
        item = SubmissionItem(
            round=submission.round,
            claim_id=claim.id,
            claim_version=claim.version,
            snapshot=snapshot,
            content_hash=content_hash(snapshot),
            created_at=now,
        )
        submission.items.append(item)
        claim.state = ClaimState.SUBMITTED
        hashes[str(claim.id)] = item.content_hash
    db.session.flush()
    log_event(
        action,
        actor=volunteer,
        obj=submission,
        organisation_id=organisation.id,
        data={
            "experience_id": experience.id,
            "round": submission.round,
            "claims": hashes,
            "facts_hash": facts_hash,
            "previous_state": previous_state.value if previous_state else None,
        },
    )
    _tell_trainers(
        submission,
        volunteer,
        experience,
        organisation,
        kind="submitted",
        template="validation_submitted",
        subject=_l("A portfolio awaits your review"),
        count=len(claims),
        previous_state=previous_state.value if previous_state else "",
    )
    return submission


#: The audit action of a new round, by the state the previous round ended in (the e-mail to the trainers and the
#: history say why the dossier comes back).
RESUBMISSION_ACTIONS = {
    SubmissionState.RETURNED: "submission.resubmitted",
    SubmissionState.WITHDRAWN: "submission.resubmitted_after_withdrawal",
    SubmissionState.DECIDED: "submission.submitted_again",
}


def _tell_trainers(submission, volunteer, experience, organisation, *, kind, template, subject, count, **extra) -> None:
    """Notify the trainers of the submission's NGO in the app and by e-mail (in each one's language)."""
    link = _path("validation.submission", submission_id=submission.id)
    for trainer in trainers_of(organisation, except_user_id=volunteer.id):
        notify(trainer.id, kind, link=link, volunteer=volunteer.display_name, title=experience.title)
        queue_email(
            template,
            recipient=trainer.email,
            language=trainer.locale,
            subject=subject,
            trainer=trainer,
            volunteer=volunteer,
            experience=experience,
            organisation=organisation,
            count=count,
            round=submission.round,
            url=canonical_url("validation.submission", submission_id=submission.id),
            **extra,
        )


# --- Decisions --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Decision:
    decision: ItemDecision
    level: int | None = None
    comment: str = ""


def _level_ranks(item: SubmissionItem) -> set[int]:
    version = db.session.get(FrameworkVersion, item.snapshot["node"]["framework_version_id"])
    return {level.get("rank") for level in (version.levels if version else []) or []}


def _check_decision(item: SubmissionItem, data: Decision) -> tuple[int | None, str]:
    comment = (data.comment or "").strip()
    level = None
    if data.decision == ItemDecision.CHANGES_REQUESTED and not comment:
        raise UserError(_l("Please say what should change."), "comment")
    if data.decision == ItemDecision.REJECTED and not comment:
        raise UserError(_l("Please give the reason for the rejection."), "comment")
    if data.decision == ItemDecision.VALIDATED:
        claimed = item.snapshot.get("level")
        level = data.level if data.level is not None else claimed
        ranks = _level_ranks(item)
        if level is not None and ranks and level not in ranks:
            raise UserError(_l("Please choose a level of this framework's scale."), "level")
        if level != claimed and not comment:
            raise UserError(_l("Please give the reason for validating at another level."), "comment")
    elif data.decision == ItemDecision.PENDING:
        raise UserError(_l("Please choose a decision."), "decision")
    return level, comment


def _lock_submission(submission_id: int) -> None:
    """Serialise the decisions on one submission (PostgreSQL row lock). SQLite has one writer at a time, and a
    read here would start a snapshot that a concurrent commit makes stale, so nothing is read there: the guarded
    UPDATE is the transaction's first statement and waits for the write lock (busy timeout) on a fresh view."""
    if db.session.get_bind().dialect.name == "sqlite":
        return
    db.session.execute(sa.select(Submission.id).where(Submission.id == submission_id).with_for_update())


def decide_item(item: SubmissionItem, actor: User, data: Decision) -> SubmissionItem:
    """Validate, request changes on, or reject one claim of a pending submission.

    :raises TransitionRefused: ``actor`` is not a trainer of the NGO, decides on their own claim, or the item is
        not in the current round of a pending submission.
    :raises UserError: a required comment or reason is missing, or the level is not on the scale.
    :raises AlreadyDecided: another trainer decided first.
    """
    submission = item.submission
    if not submission.is_reviewer(actor):
        raise TransitionRefused("only trainers of the NGO decide, never on their own claims")
    if submission.state == SubmissionState.WITHDRAWN or item.decision == ItemDecision.WITHDRAWN:
        raise SubmissionWithdrawn(item.decided_at or submission.decided_at)
    if not item.is_pending:
        raise AlreadyDecided(_name(item.decided_by), item.decided_at)
    if submission.state != SubmissionState.PENDING or item.round != submission.round:
        raise TransitionRefused("not in the current round of a pending submission")
    level, comment = _check_decision(item, data)
    item_id, submission_id, actor_id = item.id, submission.id, actor.id

    def attempt():
        _lock_submission(submission_id)
        now = utcnow()
        stmt = (
            sa.update(SubmissionItem)
            .where(SubmissionItem.id == item_id, SubmissionItem.decision == ItemDecision.PENDING)
            .values(
                decision=data.decision,
                decided_by_id=actor_id,
                decided_at=now,
                validated_level=level if data.decision == ItemDecision.VALIDATED else None,
                comment=comment,
            )
            .execution_options(synchronize_session=False)
        )
        return db.session.execute(stmt).rowcount, now

    rowcount, now = _run_guarded(attempt)
    db.session.refresh(item)
    if rowcount != 1:
        if item.decision == ItemDecision.WITHDRAWN:
            raise SubmissionWithdrawn(item.decided_at)
        raise AlreadyDecided(_name(item.decided_by), item.decided_at)
    submission = item.submission
    claim = item.claim
    claim.state = several.state_after_decision(
        claim,
        {
            ItemDecision.VALIDATED: ClaimState.VALIDATED,
            ItemDecision.CHANGES_REQUESTED: ClaimState.CHANGES_REQUESTED,
            ItemDecision.REJECTED: ClaimState.REJECTED,
        }[data.decision],
        submission.organisation_id,
    )
    audit_data = {
        "submission_id": submission.id,
        "item_id": item.id,
        "round": item.round,
        "claim_version": item.claim_version,
        "content_hash": item.content_hash,
        "framework_version_id": item.snapshot["node"]["framework_version_id"],
        "claimed_level": item.snapshot.get("level"),
        "comment": comment,
    }
    if data.decision == ItemDecision.VALIDATED:
        # countersign imports this module (its errors): imported here to break the cycle.
        from app.validation import countersign

        needs_second = countersign.requires_countersignature(
            submission.organisation_id, item.snapshot["node"].get("framework", ""), level
        )
        validation = ClaimValidation(
            claim_id=claim.id,
            holder_id=claim.owner_id,
            countersignature_required=needs_second,
            claim_version=item.claim_version,
            item_id=item.id,
            snapshot=item.snapshot,
            content_hash=item.content_hash,
            framework_version_id=item.snapshot["node"]["framework_version_id"],
            level=level,
            validator_id=actor.id,
            validator_name=actor.display_name,
            organisation_id=submission.organisation_id,
            validated_at=now,
        )
        db.session.add(validation)
        db.session.flush()
        if not needs_second:  # a validation awaiting its countersignature replaces nothing yet
            countersign.supersede_others(validation, now)
        audit_data.update(validation_id=validation.id, level=level, countersignature_required=needs_second)
    db.session.flush()
    suggestions.learn_from_decision(
        item, db.session.get(FrameworkVersion, audit_data["framework_version_id"]), data.decision, level
    )
    log_event(
        f"item.{data.decision.value}",
        actor=actor,
        obj=claim,
        organisation_id=submission.organisation_id,
        data=audit_data,
    )
    _close_round_if_complete(submission, actor, now)
    return item


def _close_round_if_complete(submission: Submission, actor: User, now: datetime) -> None:
    pending = db.session.scalar(
        sa.select(sa.func.count(SubmissionItem.id)).where(
            SubmissionItem.submission_id == submission.id,
            SubmissionItem.round == submission.round,
            SubmissionItem.decision == ItemDecision.PENDING,
        )
    )
    if pending:
        return
    decisions = list(
        db.session.scalars(
            sa.select(SubmissionItem.decision).where(
                SubmissionItem.submission_id == submission.id, SubmissionItem.round == submission.round
            )
        )
    )
    returned = ItemDecision.CHANGES_REQUESTED in decisions
    new_state = SubmissionState.RETURNED if returned else SubmissionState.DECIDED
    result = db.session.execute(
        sa.update(Submission)
        .where(Submission.id == submission.id, Submission.state == SubmissionState.PENDING)
        .values(state=new_state, decided_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return
    db.session.refresh(submission)
    counts = {
        d.value: decisions.count(d) for d in ItemDecision if d not in (ItemDecision.PENDING, ItemDecision.WITHDRAWN)
    }
    log_event(
        "submission.returned" if returned else "submission.decided",
        actor=actor,
        obj=submission,
        organisation_id=submission.organisation_id,
        data={"round": submission.round, "experience_id": submission.experience_id, "decisions": counts},
    )
    volunteer = submission.volunteer
    experience = submission.experience
    kind = "changes_requested" if returned else "decided"
    notify(
        volunteer.id,
        kind,
        link=_path("experiences.detail", experience_id=experience.id),
        title=experience.title,
    )
    items = [i for i in submission.items if i.round == submission.round]
    queue_email(
        f"validation_{kind}",
        recipient=volunteer.email,
        language=volunteer.locale,
        subject=_l("Changes were requested on your portfolio")
        if returned
        else _l("Your NGO decided on your portfolio"),
        volunteer=volunteer,
        experience=experience,
        organisation=submission.organisation,
        items=items,
        url=canonical_url("experiences.detail", experience_id=experience.id),
    )


def _name(user: User | None) -> str:
    return user.display_name if user is not None else "—"


# --- Withdrawal by the volunteer ------------------------------------------------------------------------------


def withdrawal_refusal(submission: Submission):
    """Why ``submission`` cannot be withdrawn (a translated message), or ``None`` when it can."""
    if submission.is_withdrawable:
        return None
    if submission.state == SubmissionState.WITHDRAWN:
        return _l("This submission has already been withdrawn.")
    return _l(
        "A trainer has already recorded a decision on this submission, so it can no longer be withdrawn. "
        "Contact your NGO if something must change."
    )


def withdraw_submission(submission: Submission, volunteer: User, reason: str = "") -> Submission:
    """The volunteer takes a pending submission back before any decision was recorded on it.

    The submission becomes ``WITHDRAWN`` (so the experience is unlocked, as after a return for changes), the claims
    of the round go back to ``DRAFT`` and its items are closed as ``WITHDRAWN`` (the snapshots stay, nothing is
    deleted); the dossier can be submitted again later, to this NGO (a new round) or to another one. The trainers
    of the NGO are notified in the app and by e-mail.

    :raises TransitionRefused: ``volunteer`` did not submit it.
    :raises UserError: the reason is too long.
    :raises NotWithdrawable: it is no longer awaiting review, or a trainer decided on one of its claims (also when
        that decision raced this withdrawal and won: exactly one of them takes effect).
    """
    if not submission.can_withdraw(volunteer):
        raise TransitionRefused("only the volunteer who submitted withdraws")
    reason = (reason or "").strip()
    if len(reason) > WITHDRAW_REASON_LIMIT:
        raise UserError(_l("Please use at most %(max)d characters.", max=WITHDRAW_REASON_LIMIT), "reason")
    if not submission.is_withdrawable:
        raise NotWithdrawable(withdrawal_refusal(submission))
    submission_id, round_, volunteer_id = submission.id, submission.round, volunteer.id
    decided = (
        sa.select(SubmissionItem.id)
        .where(
            SubmissionItem.submission_id == submission_id,
            SubmissionItem.round == round_,
            SubmissionItem.decision != ItemDecision.PENDING,
        )
        .exists()
    )
    # A trainer's answer on the facts in this round is a decision too (one carried over from an earlier round with
    # the same facts is not).
    facts_answered = sa.and_(
        Submission.facts_decision.is_not(None),
        Submission.facts_confirmed_at.is_not(None),
        Submission.facts_confirmed_at >= Submission.submitted_at,
    )

    def attempt():
        # The same row lock as the decisions: a decision and a withdrawal on one submission never overlap, and
        # the guarded UPDATE below sees whatever the other committed first.
        _lock_submission(submission_id)
        now = utcnow()
        stmt = (
            sa.update(Submission)
            .where(
                Submission.id == submission_id,
                Submission.state == SubmissionState.PENDING,
                Submission.round == round_,
                ~decided,
                ~facts_answered,
            )
            .values(state=SubmissionState.WITHDRAWN, decided_at=now)
            .execution_options(synchronize_session=False)
        )
        rowcount = db.session.execute(stmt).rowcount
        if rowcount == 1:
            db.session.execute(
                sa.update(SubmissionItem)
                .where(
                    SubmissionItem.submission_id == submission_id,
                    SubmissionItem.round == round_,
                    SubmissionItem.decision == ItemDecision.PENDING,
                )
                .values(decision=ItemDecision.WITHDRAWN, decided_by_id=volunteer_id, decided_at=now, comment=reason)
                .execution_options(synchronize_session=False)
            )
        return rowcount

    rowcount = _run_guarded(attempt)
    db.session.refresh(submission)
    items = submission.current_items
    for item in items:
        db.session.refresh(item)
    if rowcount != 1:
        raise NotWithdrawable(withdrawal_refusal(submission) or _l("This submission can no longer be withdrawn."))
    claim_ids = [item.claim_id for item in items]
    claims = list(db.session.scalars(sa.select(Claim).where(Claim.id.in_(claim_ids)).order_by(Claim.id)))
    for claim in claims:
        if claim.state == ClaimState.SUBMITTED:
            claim.state = several.state_after_decision(claim, ClaimState.DRAFT, submission.organisation_id)
    db.session.flush()
    experience = submission.experience
    organisation = submission.organisation
    log_event(
        "submission.withdrawn",
        actor=volunteer,
        obj=submission,
        organisation_id=organisation.id,
        data={
            "round": submission.round,
            "experience_id": experience.id,
            "claim_ids": sorted(claim_ids),
            "reason": reason,
        },
    )
    for item in items:
        log_event(
            "item.withdrawn",
            actor=volunteer,
            obj=item.claim,
            organisation_id=organisation.id,
            data={
                "submission_id": submission.id,
                "item_id": item.id,
                "round": item.round,
                "claim_version": item.claim_version,
                "content_hash": item.content_hash,
                "reason": reason,
            },
        )
    _tell_trainers(
        submission,
        volunteer,
        experience,
        organisation,
        kind="withdrawn",
        template="validation_withdrawn",
        subject=_l("A submission was withdrawn"),
        count=len(items),
        reason=reason,
    )
    return submission


def facts_unchanged(submission: Submission) -> bool:
    """Whether the experience still has the facts submitted in the latest round (always while it is pending: the
    experience is locked then)."""
    if submission.state == SubmissionState.PENDING:
        return True
    return content_hash(facts_snapshot(submission.experience)) == submission.facts_hash


def facts_warnings(experience: Experience) -> list[dict]:
    """What a trainer must acknowledge before confirming the facts of ``experience``: other full-time engagements of
    the volunteer that overlap it in time, and a duration outside its status's legal bounds (plain data, printed
    on the attestation in its language)."""
    from app.experiences.operations import experiences_of
    from app.experiences.rules import overlapping

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


def confirm_facts(
    submission: Submission, actor: User, decision: FactsDecision, comment: str = "", *, acknowledged: bool = False
) -> None:
    """A trainer confirms the facts of the experience (dates, role, status), possibly with a correction.

    When the facts raise warnings (:func:`facts_warnings`), the trainer must acknowledge them (``acknowledged``);
    they are recorded with the confirmation and printed on the attestation.

    The facts may be answered during the review or after its last claim was decided (a closed round), as long as
    the volunteer has not edited them since they were submitted; the facts confirmation is what a mission
    attestation needs.

    :raises UserError: a correction without a comment. :raises AlreadyDecided: confirmed by someone else.
    :raises FactsChanged: the round is closed and the facts were edited since. :raises SubmissionWithdrawn: the
        volunteer withdrew the submission. :raises TransitionRefused: not a trainer of the NGO, or their own.
    """
    if submission.state == SubmissionState.WITHDRAWN:
        raise SubmissionWithdrawn(submission.decided_at)
    if not submission.is_reviewer(actor):
        raise TransitionRefused("not allowed")
    comment = (comment or "").strip()
    if decision == FactsDecision.CORRECTED and not comment:
        raise UserError(_l("Please describe the correction."), "facts_comment")
    if submission.facts_decision is None and not facts_unchanged(submission):
        raise FactsChanged()
    warnings = facts_warnings(submission.experience)
    if warnings and not acknowledged:
        raise UserError(_l("Please confirm that you checked the warnings about these facts."), "facts_acknowledged")
    submission_id, actor_id, facts_hash, round_ = submission.id, actor.id, submission.facts_hash, submission.round

    def attempt():
        _lock_submission(submission_id)
        now = utcnow()
        stmt = (
            sa.update(Submission)
            .where(
                Submission.id == submission_id,
                Submission.facts_decision.is_(None),
                Submission.state.in_(FACTS_OPEN_STATES),
                Submission.round == round_,
                Submission.facts_hash == facts_hash,
            )
            .values(
                facts_decision=decision,
                facts_comment=comment,
                facts_confirmed_by_id=actor_id,
                facts_confirmed_at=now,
                facts_confirmed_hash=facts_hash,
                facts_warnings=warnings,
            )
            .execution_options(synchronize_session=False)
        )
        return db.session.execute(stmt).rowcount

    rowcount = _run_guarded(attempt)
    db.session.refresh(submission)
    if rowcount != 1:
        if submission.state == SubmissionState.WITHDRAWN:
            raise SubmissionWithdrawn(submission.decided_at)
        if submission.facts_decision is None:
            raise FactsChanged()
        raise AlreadyDecided(_name(submission.facts_confirmed_by), submission.facts_confirmed_at)
    log_event(
        f"facts.{decision.value}",
        actor=actor,
        obj=submission,
        organisation_id=submission.organisation_id,
        data={
            "experience_id": submission.experience_id,
            "facts_hash": facts_hash,
            "comment": comment,
            "round": submission.round,
            "round_state": submission.state.value,
        },
    )


def revoke_validation(validation: ClaimValidation, actor: User, reason: str) -> None:
    """An org admin of the validating NGO withdraws a validation, with a reason shown wherever the claim appears.

    :raises UserError: no reason. :raises AlreadyDecided: already revoked.
    """
    if not validation.organisation.has_role(actor, MembershipRole.ADMIN):
        raise TransitionRefused("not an admin of the NGO")
    reason = (reason or "").strip()
    if not reason:
        raise UserError(_l("Please give the reason for the revocation."), "reason")
    validation_id, actor_id = validation.id, actor.id

    def attempt():
        stmt = (
            sa.update(ClaimValidation)
            .where(ClaimValidation.id == validation_id, ClaimValidation.revoked_at.is_(None))
            .values(revoked_at=utcnow(), revoked_by_id=actor_id, revoked_reason=reason)
            .execution_options(synchronize_session=False)
        )
        return db.session.execute(stmt).rowcount

    rowcount = _run_guarded(attempt)
    db.session.refresh(validation)
    if rowcount != 1:
        raise AlreadyDecided(_name(validation.revoked_by), validation.revoked_at)
    claim = validation.claim
    if claim is None:  # the holder withdrew the claim: the NGO's record is revoked all the same
        archive.log_revoked_record(validation, actor, reason)
        return
    if claim.state == ClaimState.VALIDATED and claim.version == validation.claim_version:
        claim.state = several.state_after_decision(claim, ClaimState.DRAFT, validation.organisation_id)
    db.session.flush()
    log_event(
        "validation.revoked",
        actor=actor,
        obj=claim,
        organisation_id=validation.organisation_id,
        data={"validation_id": validation.id, "claim_version": validation.claim_version, "reason": reason},
    )
    notify(
        claim.owner_id,
        "revoked",
        link=_path("claims.detail", claim_id=claim.id),
        code=validation.snapshot["node"]["code"],
        title=claim.experience.title,
    )


# --- Host referent ------------------------------------------------------------------------------------------


def _mailbox(address: str) -> str:
    """The mailbox an address delivers to, for comparing addresses: case-insensitive, without a "+tag"."""
    local, _at, domain = (address or "").strip().casefold().rpartition("@")
    return f"{local.split('+', 1)[0]}@{domain}" if local else domain


def _level_label(version: FrameworkVersion, rank: int | None) -> dict:
    """The label of level ``rank`` on ``version``'s scale, by language ({} when unknown)."""
    for level in version.levels or []:
        if level.get("rank") == rank:
            return dict(level.get("label") or {})
    return {}


@dataclass(frozen=True)
class ReferentData:
    name: str
    email: str
    organisation_name: str = ""
    role: str = ""
    language: str = "fr"
    claim_ids: tuple[int, ...] = field(default_factory=tuple)


def request_referent(volunteer: User, experience: Experience, data: ReferentData) -> tuple[ReferentRequest, str]:
    """Ask a host-country referent to confirm a mission's facts and selected claims; e-mails a single-use link
    (only its SHA-256 is stored) valid for 30 days, in the referent's language.

    :returns: the request and the raw token (for the e-mail only).
    """
    if experience.owner_id != volunteer.id or experience.kind != ExperienceKind.MISSION:
        raise TransitionRefused("referents confirm missions of their owner")
    if data.language not in LANGUAGES:
        raise UserError(_l("Please choose a language from the list."), "language")
    if _mailbox(data.email) == _mailbox(volunteer.email):
        raise UserError(
            _l(
                "This is your own e-mail address: a referent confirms your mission for you, so please enter the "
                "address of the person who supervised you in the host country."
            ),
            "email",
        )
    wanted = set(data.claim_ids)
    claims = [c for c in claims_of_experience(experience) if c.id in wanted]
    if len(claims) != len(wanted):
        raise UserError(_l("Please choose competences of this experience."), "claim_ids")
    snapshot = {
        "facts": facts_snapshot(experience),
        "claims": [
            {
                "claim_id": c.id,
                "version": c.version,
                "code": c.node.code,
                "title": dict(c.node.title or {}),
                "framework": c.node.version.framework.slug,
                "framework_version": c.node.version.version,
                "level": c.level_rank,
                "level_label": _level_label(c.node.version, c.level_rank),
                "narrative": {part: getattr(c, part) or "" for part in NARRATIVE_PARTS},
                "content_hash": content_hash(claim_snapshot(c)),
            }
            for c in claims
        ],
    }
    token, token_hash = new_random_token()
    request = ReferentRequest(
        experience_id=experience.id,
        volunteer_id=volunteer.id,
        name=data.name,
        email=data.email,
        organisation_name=data.organisation_name,
        role=data.role,
        language=data.language,
        token_hash=token_hash,
        expires_at=utcnow() + timedelta(days=REFERENT_LINK_DAYS),
        snapshot=snapshot,
        content_hash=content_hash(snapshot),
    )
    db.session.add(request)
    db.session.flush()
    log_event(
        "referent.requested",
        actor=volunteer,
        obj=request,
        # The sending NGO reads referent requests and answers in its audit trail.
        organisation_id=experience.sending_organisation_id,
        data={
            "experience_id": experience.id,
            "email": data.email,
            "language": data.language,
            "claim_ids": sorted(wanted),
            "content_hash": request.content_hash,
        },
    )
    queue_email(
        "validation_referent_request",
        recipient=data.email,
        language=data.language,
        subject=_l("Please confirm a volunteer's mission"),
        referent=request,
        volunteer=volunteer,
        experience=experience,
        days=REFERENT_LINK_DAYS,
        url=canonical_url("validation.referent", token=token),
    )
    return request, token


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


def confirm_referent(request: ReferentRequest, *, facts_confirmed: bool, claim_ids, comment: str = "") -> None:
    """Record the referent's answer (once). :raises AlreadyDecided: the link was used meanwhile."""
    known = {c["claim_id"] for c in request.snapshot.get("claims", [])}
    confirmed = sorted(set(claim_ids or ()) & known)
    comment = (comment or "").strip()
    request_id = request.id

    def attempt():
        now = utcnow()
        stmt = (
            sa.update(ReferentRequest)
            .where(
                ReferentRequest.id == request_id,
                ReferentRequest.confirmed_at.is_(None),
                ReferentRequest.expires_at > now,
            )
            .values(confirmed_at=now, facts_confirmed=facts_confirmed, confirmed_claim_ids=confirmed, comment=comment)
            .execution_options(synchronize_session=False)
        )
        return db.session.execute(stmt).rowcount

    rowcount = _run_guarded(attempt)
    db.session.refresh(request)
    if rowcount != 1:
        raise AlreadyDecided(request.name, request.confirmed_at)
    log_event(
        "referent.confirmed",
        obj=request,
        organisation_id=request.experience.sending_organisation_id,
        data={
            "experience_id": request.experience_id,
            "referent": request.name,
            "email": request.email,
            "facts_confirmed": facts_confirmed,
            "claim_ids": confirmed,
            "content_hash": request.content_hash,
        },
    )
    notify(
        request.volunteer_id,
        "referent_confirmed",
        link=_path("experiences.detail", experience_id=request.experience_id),
        referent=request.name,
        title=request.snapshot["facts"]["title"],
    )


# --- Queue, review, statistics ------------------------------------------------------------------------------


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

    Bounded, not cached: the median is computed over the ``sample`` latest decisions of the last
    ``STATS_WINDOW_DAYS`` days only, read newest first along the index on ``submission_items.decided_at``, so a
    view never sorts every decision the NGO ever made (84,000 for the largest one); the median of at most
    ``sample`` durations is then taken in Python, the same on SQLite and PostgreSQL. The counts use the
    ``submissions (organisation_id, state, …)`` index.
    """
    pending_submissions = db.session.scalar(
        sa.select(sa.func.count(Submission.id)).where(
            Submission.organisation_id == organisation.id, Submission.state == SubmissionState.PENDING
        )
    )
    pending_items = db.session.scalar(
        sa.select(sa.func.count(SubmissionItem.id))
        .join(Submission, Submission.id == SubmissionItem.submission_id)
        .where(
            Submission.organisation_id == organisation.id,
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
            Submission.organisation_id == organisation.id,
            SubmissionItem.decided_at >= utcnow() - timedelta(days=STATS_WINDOW_DAYS),
            SubmissionItem.decision != ItemDecision.WITHDRAWN,
        )
        .order_by(SubmissionItem.decided_at.desc())
        .limit(sample)
    ).all()
    durations = [(decided - created).total_seconds() / 3600 for created, decided in rows]
    median = statistics.median(durations) if durations else None
    return OrganisationStats(organisation, pending_submissions, pending_items, len(durations), median)


# --- What changed since the last review ---------------------------------------------------------------------

_TOKENS = re.compile(r"\s+|[^\s]+")


@dataclass(frozen=True)
class FieldDiff:
    label: str
    #: (operation, text) pairs; operation in "equal", "insert", "delete"; rendered escaped by the template.
    ops: list


def _text_ops(old: str, new: str) -> list[tuple[str, str]]:
    a, b = _TOKENS.findall(old or ""), _TOKENS.findall(new or "")
    ops: list[tuple[str, str]] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if tag == "equal":
            ops.append(("equal", "".join(a[i1:i2])))
        if tag in ("delete", "replace"):
            ops.append(("delete", "".join(a[i1:i2])))
        if tag in ("insert", "replace"):
            ops.append(("insert", "".join(b[j1:j2])))
    return ops


def snapshot_diff(old: dict, new: dict) -> list[FieldDiff]:
    """Field-by-field differences between two claim snapshots (level, narrative parts, evidence)."""
    diffs = []
    if old.get("level") != new.get("level"):
        diffs.append(
            FieldDiff(
                str(_l("Level")), [("delete", str(old.get("level") or "—")), ("insert", str(new.get("level") or "—"))]
            )
        )
    for part in NARRATIVE_PARTS:
        before, after = old.get("narrative", {}).get(part, ""), new.get("narrative", {}).get(part, "")
        if before != after:
            diffs.append(FieldDiff(str(NARRATIVE_LABELS[part]), _text_ops(before, after)))
    old_files = {(e["sha256"], e["title"]) for e in old.get("evidence", [])}
    new_files = {(e["sha256"], e["title"]) for e in new.get("evidence", [])}
    if old_files != new_files:
        ops = [("delete", title + " ") for sha, title in sorted(old_files - new_files, key=lambda x: x[1])]
        ops += [("insert", title + " ") for sha, title in sorted(new_files - old_files, key=lambda x: x[1])]
        diffs.append(FieldDiff(str(_l("Evidence")), ops))
    return diffs


def previous_reviews(submission: Submission) -> dict[int, SubmissionItem]:
    """For each item of the current round, the last decided item of the same claim in an earlier round."""
    result = {}
    for item in submission.current_items:
        earlier = [
            other
            for other in submission.items
            if other.claim_id == item.claim_id and other.round < item.round and other.is_decided
        ]
        if earlier:
            result[item.id] = max(earlier, key=lambda other: other.round)
    return result


def evidence_in_submission(submission: Submission, evidence_id: int) -> Evidence | None:
    """The evidence file if it is part of what this submission shows (any round), else ``None``."""
    listed = {
        (e["id"], e["sha256"]) for item in submission.items for e in item.snapshot.get("evidence", []) if "id" in e
    }
    hashes = {sha for ident, sha in listed if ident == evidence_id}
    if not hashes:
        return None
    evidence = db.session.get(Evidence, evidence_id)
    if evidence is None or evidence.sha256 not in hashes:
        return None
    return evidence


# --- History --------------------------------------------------------------------------------------------------

HISTORY_LABELS = {
    "claim.created": _l("Claim created"),
    "claim.updated": _l("Claim edited"),
    "submission.created": _l("Submitted for validation"),
    "submission.resubmitted": _l("Submitted again after changes"),
    "submission.resubmitted_after_withdrawal": _l("Submitted again after a withdrawal"),
    "submission.submitted_again": _l("Submitted again for a new review"),
    "submission.decided": _l("Review finished"),
    "submission.returned": _l("Returned for changes"),
    "submission.withdrawn": _l("Withdrawn from review"),
    "item.withdrawn": _l("Withdrawn from review"),
    "item.validated": _l("Validated"),
    "item.changes_requested": _l("Changes requested"),
    "item.rejected": _l("Rejected"),
    "facts.confirmed": _l("Facts confirmed by the NGO"),
    "facts.corrected": _l("Facts confirmed by the NGO with a correction"),
    "validation.revoked": _l("Validation revoked"),
    "referent.requested": _l("Confirmation requested from a host referent"),
    "referent.confirmed": _l("Host referent answered"),
    "experience.created": _l("Experience recorded"),
    "experience.updated": _l("Experience edited"),
}


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    label: str
    actor: str
    detail: str


def _history(conditions) -> list[HistoryEntry]:
    events = list(
        db.session.scalars(
            sa.select(AuditEvent)
            .where(sa.or_(*conditions))
            .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
            .limit(200)
        )
    )
    actor_ids = {e.actor_id for e in events if e.actor_id}
    names = (
        dict(db.session.execute(sa.select(User.id, User.display_name).where(User.id.in_(actor_ids))).all())
        if actor_ids
        else {}
    )
    entries = []
    for event in events:
        label = HISTORY_LABELS.get(event.action)
        if label is None:
            continue
        data = event.data or {}
        actor = names.get(event.actor_id) or data.get("referent") or ""
        detail = data.get("comment") or data.get("reason") or ""
        entries.append(HistoryEntry(event.created_at, str(label), actor, detail))
    return entries


def claim_history(claim: Claim) -> list[HistoryEntry]:
    """The audit trail of a claim, newest first."""
    return _history([sa.and_(AuditEvent.object_type == "Claim", AuditEvent.object_id == str(claim.id))])


def experience_history(experience: Experience) -> list[HistoryEntry]:
    """The audit trail of an experience, its submissions, referent requests and its claims' decisions."""
    submission_ids = list(db.session.scalars(sa.select(Submission.id).where(Submission.experience_id == experience.id)))
    referent_ids = list(
        db.session.scalars(sa.select(ReferentRequest.id).where(ReferentRequest.experience_id == experience.id))
    )
    claim_ids = list(db.session.scalars(sa.select(Claim.id).where(Claim.experience_id == experience.id)))
    conditions = [sa.and_(AuditEvent.object_type == "Experience", AuditEvent.object_id == str(experience.id))]
    if submission_ids:
        conditions.append(
            sa.and_(AuditEvent.object_type == "Submission", AuditEvent.object_id.in_([str(i) for i in submission_ids]))
        )
    if referent_ids:
        conditions.append(
            sa.and_(
                AuditEvent.object_type == "ReferentRequest", AuditEvent.object_id.in_([str(i) for i in referent_ids])
            )
        )
    if claim_ids:
        conditions.append(
            sa.and_(
                AuditEvent.object_type == "Claim",
                AuditEvent.object_id.in_([str(i) for i in claim_ids]),
                AuditEvent.action.in_(
                    ["item.validated", "item.changes_requested", "item.rejected", "validation.revoked"]
                ),
            )
        )
    return _history(conditions)


def is_experience_locked(experience: Experience) -> bool:
    return pending_submission(experience.id) is not None
