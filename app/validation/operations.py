"""Verbs of the validation workflow: submit, decide, withdraw, confirm the facts, revoke, ask and answer a host
referent. They flush, log and notify; the caller commits.

Every transition is guarded by a conditional ``UPDATE … WHERE <still in the expected state>``
(:func:`app.core.db.guarded_update`): when two people act at once, exactly one update matches a row and the other
learns that it was already done (no lost update). Decisions on one submission are also serialised by a row lock on
the submission (PostgreSQL; SQLite has a single writer anyway), so the last decision of a round always sees the
others and closes the round.

What the pages read lives in :mod:`app.validation.queries`, the frozen copies in :mod:`app.validation.snapshots`,
the history and "what changed since the last review" in :mod:`app.validation.history`, the messages to trainers and
volunteers in :mod:`app.validation.notifications`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from app.auth.models import User
from app.claims.models import NARRATIVE_PARTS, Claim, ClaimState
from app.claims.validations import ClaimValidation
from app.core.audit import log_event
from app.core.canonical import content_hash
from app.core.db import guarded_update, utcnow
from app.core.errors import UserError
from app.core.mail import queue_email
from app.core.notifications import notify
from app.core.security import canonical_url
from app.core.tokens import new_random_token
from app.experiences.models import Experience, ExperienceKind
from app.extensions import db
from app.frameworks.models import FrameworkVersion
from app.organisations.models import (
    MembershipRole,
    Organisation,
    OrganisationKind,
)
from app.validation import archive, countersign, several, suggestions
from app.validation.errors import AlreadyDecided, FactsChanged, NotWithdrawable, SubmissionWithdrawn, TransitionRefused
from app.validation.models import (
    FACTS_OPEN_STATES,
    FactsDecision,
    ItemDecision,
    ReferentRequest,
    Submission,
    SubmissionItem,
    SubmissionState,
)
from app.validation.notifications import site_path, tell_trainers, tell_volunteer_round_closed
from app.validation.queries import claims_of_experience, facts_warnings, pending_submission, submittable
from app.validation.snapshots import claim_snapshot, facts_snapshot, facts_unchanged

REFERENT_LINK_DAYS = 30


WITHDRAW_REASON_LIMIT = 500


LANGUAGES = ("fr", "en", "es")


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
    tell_trainers(
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
    submission_id, now = submission.id, utcnow()
    rowcount = guarded_update(
        sa.update(SubmissionItem)
        .where(SubmissionItem.id == item.id, SubmissionItem.decision == ItemDecision.PENDING)
        .values(
            decision=data.decision,
            decided_by_id=actor.id,
            decided_at=now,
            validated_level=level if data.decision == ItemDecision.VALIDATED else None,
            comment=comment,
        ),
        before=lambda: _lock_submission(submission_id),
    )
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
    tell_volunteer_round_closed(submission, returned=returned)


def _name(user: User | None) -> str:
    return user.display_name if user is not None else "—"


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

    now = utcnow()
    rowcount = guarded_update(
        sa.update(Submission)
        .where(
            Submission.id == submission_id,
            Submission.state == SubmissionState.PENDING,
            Submission.round == round_,
            ~decided,
            ~facts_answered,
        )
        .values(state=SubmissionState.WITHDRAWN, decided_at=now),
        # The same row lock as the decisions: a decision and a withdrawal on one submission never overlap, and
        # the guarded UPDATE sees whatever the other committed first.
        before=lambda: _lock_submission(submission_id),
    )
    if rowcount == 1:  # this transaction won: it holds the lock, its items follow
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
    tell_trainers(
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
    submission_id, facts_hash = submission.id, submission.facts_hash
    rowcount = guarded_update(
        sa.update(Submission)
        .where(
            Submission.id == submission_id,
            Submission.facts_decision.is_(None),
            Submission.state.in_(FACTS_OPEN_STATES),
            Submission.round == submission.round,
            Submission.facts_hash == facts_hash,
        )
        .values(
            facts_decision=decision,
            facts_comment=comment,
            facts_confirmed_by_id=actor.id,
            facts_confirmed_at=utcnow(),
            facts_confirmed_hash=facts_hash,
            facts_warnings=warnings,
        ),
        before=lambda: _lock_submission(submission_id),
    )
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
    rowcount = guarded_update(
        sa.update(ClaimValidation)
        .where(ClaimValidation.id == validation.id, ClaimValidation.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoked_by_id=actor.id, revoked_reason=reason)
    )
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
        link=site_path("claims.detail", claim_id=claim.id),
        code=validation.snapshot["node"]["code"],
        title=claim.experience.title,
    )


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


def confirm_referent(request: ReferentRequest, *, facts_confirmed: bool, claim_ids, comment: str = "") -> None:
    """Record the referent's answer (once). :raises AlreadyDecided: the link was used meanwhile."""
    known = {c["claim_id"] for c in request.snapshot.get("claims", [])}
    confirmed = sorted(set(claim_ids or ()) & known)
    comment = (comment or "").strip()
    now = utcnow()
    rowcount = guarded_update(
        sa.update(ReferentRequest)
        .where(
            ReferentRequest.id == request.id,
            ReferentRequest.confirmed_at.is_(None),
            ReferentRequest.expires_at > now,
        )
        .values(confirmed_at=now, facts_confirmed=facts_confirmed, confirmed_claim_ids=confirmed, comment=comment)
    )
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
        link=site_path("experiences.detail", experience_id=request.experience_id),
        referent=request.name,
        title=request.snapshot["facts"]["title"],
    )
