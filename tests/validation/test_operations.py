"""Every transition of the validation workflow, and every refused one."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.claims import operations as claim_ops
from app.claims.models import ClaimState
from app.claims.validations import ClaimValidation
from app.core import notifications as notices
from app.core.audit import AuditEvent, AuditLogImmutableError
from app.core.canonical import content_hash
from app.core.db import utcnow
from app.core.errors import UserError
from app.core.i18n import force_locale
from app.core.notifications import Notification
from app.extensions import db
from app.validation import errors as validation_errors
from app.validation import history, queries
from app.validation import operations as ops
from app.validation.models import (
    FactsDecision,
    ItemDecision,
    Submission,
    SubmissionState,
)

V, C, R = ItemDecision.VALIDATED, ItemDecision.CHANGES_REQUESTED, ItemDecision.REJECTED


def events(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def edit(claim, **changes):
    data = claim_ops.ClaimData(
        node_id=claim.node_id,
        level_rank=changes.pop("level_rank", claim.level_rank),
        evidence_ids=tuple(e.id for e in claim.evidence),
        **{part: changes.get(part, getattr(claim, part)) for part in claim_ops.NARRATIVE_PARTS},
    )
    claim_ops.update_claim(claim, data, actor=claim.owner)


# --- Submission ---------------------------------------------------------------------------------------------------


def test_submit_locks_claims_and_experience_and_freezes_a_snapshot(submitted, outbox):
    w = submitted
    assert w.submission.state == SubmissionState.PENDING and w.submission.round == 1
    assert {c.state for c in w.claims} == {ClaimState.SUBMITTED}
    assert not any(c.can_edit(w.volunteer) for c in w.claims)
    assert not w.mission.can_edit(w.volunteer) and w.mission.can_view(w.volunteer)
    assert not w.image.can_delete(w.volunteer)
    item = w.items[0]
    assert item.snapshot["node"]["code"] == "C1"
    assert item.snapshot["node"]["framework"] == "val-fw" and item.snapshot["node"]["framework_version"] == "2026"
    assert item.snapshot["evidence"][0]["sha256"] == w.image.sha256
    assert item.content_hash == content_hash(item.snapshot)
    assert w.submission.facts["title"] == "Water project coordinator"
    assert w.submission.facts_hash == content_hash(w.submission.facts)
    (event,) = events("submission.created")
    assert event.data["claims"][str(w.claims[0].id)] == item.content_hash
    assert event.organisation_id == w.ngo.id


def test_submit_notifies_each_trainer_in_their_language(submitted, outbox):
    db.session.commit()
    trainers = {m.recipient: m for m in outbox}
    assert set(trainers) == {"trainer@example.org", "trainer2@example.org"}
    assert trainers["trainer@example.org"].language == "fr"
    assert trainers["trainer2@example.org"].language == "es"
    url = f"http://acquis.example/validation/submissions/{submitted.submission.id}"
    assert url in trainers["trainer@example.org"].body
    notes = db.session.scalars(sa.select(Notification).where(Notification.kind == "submitted")).all()
    assert {n.user_id for n in notes} == {submitted.trainer.id, submitted.trainer2.id}


@pytest.mark.parametrize("org_name", ["host", "not_member"])
def test_submit_refused_to_an_organisation_that_is_not_one_of_my_sending_ngos(world, create_org, org_name):
    organisation = world.host if org_name == "host" else create_org("Stranger NGO")
    with pytest.raises(UserError) as info:
        ops.submit_experience(world.volunteer, world.mission, organisation, [world.claims[0].id])
    assert info.value.field == "organisation_id"


def test_submit_refused_without_claims_or_with_foreign_claims(world, create_user):
    from datetime import date

    from app.experiences import operations as experience_ops
    from app.experiences.models import ExperienceKind

    with pytest.raises(UserError):
        ops.submit_experience(world.volunteer, world.mission, world.ngo, [])
    other = experience_ops.create_experience(
        world.volunteer,
        experience_ops.ExperienceData(kind=ExperienceKind.OTHER, title="Other", start_date=date(2020, 1, 1)),
    )
    with pytest.raises(UserError):
        ops.submit_experience(world.volunteer, other, world.ngo, [world.claims[0].id])
    with pytest.raises(validation_errors.TransitionRefused):
        ops.submit_experience(create_user(), world.mission, world.ngo, [world.claims[0].id])


def test_submit_refused_while_pending_anywhere(submitted):
    w = submitted
    with force_locale("en"), pytest.raises(UserError, match="already awaiting"):
        ops.submit_experience(w.volunteer, w.mission, w.other_ngo, [w.claims[0].id])


def test_validated_claim_cannot_be_submitted_again_unchanged(submitted):
    w = submitted
    for item in w.items:
        ops.decide_item(item, w.trainer, ops.Decision(V))
    with pytest.raises(UserError):
        ops.submit_experience(w.volunteer, w.mission, w.ngo, [w.claims[0].id])


# --- Decisions ----------------------------------------------------------------------------------------------------


def test_validate_records_who_when_version_and_hash(submitted):
    w = submitted
    item = w.items[0]
    ops.decide_item(item, w.trainer, ops.Decision(V))
    assert item.decision == V and item.decided_by_id == w.trainer.id and item.decided_at is not None
    assert w.claims[0].state == ClaimState.VALIDATED
    validation = db.session.scalar(sa.select(ClaimValidation))
    assert validation.claim_version == w.claims[0].version
    assert validation.content_hash == item.content_hash
    assert validation.framework_version_id == w.version.id
    assert validation.level == 2 and validation.validator_id == w.trainer.id and validation.is_current
    (event,) = events("item.validated")
    assert event.actor_id == w.trainer.id and event.object_id == str(w.claims[0].id)
    assert event.data["content_hash"] == item.content_hash


def test_validate_at_another_level_requires_a_reason(submitted):
    w = submitted
    with pytest.raises(UserError) as info:
        ops.decide_item(w.items[0], w.trainer, ops.Decision(V, level=3))
    assert info.value.field == "comment"
    with pytest.raises(UserError) as info:
        ops.decide_item(w.items[0], w.trainer, ops.Decision(V, level=9, comment="why"))
    assert info.value.field == "level"
    ops.decide_item(w.items[0], w.trainer, ops.Decision(V, level=3, comment="Led the whole project alone"))
    assert w.items[0].validated_level == 3
    assert db.session.scalar(sa.select(ClaimValidation.level)) == 3


@pytest.mark.parametrize("decision", [C, R])
def test_changes_and_rejection_require_a_comment(submitted, decision):
    w = submitted
    with pytest.raises(UserError) as info:
        ops.decide_item(w.items[0], w.trainer, ops.Decision(decision, comment="   "))
    assert info.value.field == "comment"
    assert w.items[0].is_pending and not events(f"item.{decision.value}")


def test_pending_is_not_a_decision(submitted):
    with pytest.raises(UserError):
        ops.decide_item(submitted.items[0], submitted.trainer, ops.Decision(ItemDecision.PENDING))


def test_only_trainers_of_the_ngo_decide(submitted, add_member):
    w = submitted
    for actor in (w.admin, w.other_trainer, w.volunteer):
        with pytest.raises(validation_errors.TransitionRefused):
            ops.decide_item(w.items[0], actor, ops.Decision(V))
    assert w.items[0].is_pending and not events("item.validated")


def test_nobody_decides_their_own_claims(submitted, add_member):
    w = submitted
    membership = w.ngo.membership_of(w.volunteer)
    from app.organisations.models import MembershipRole

    membership.role = MembershipRole.TRAINER
    db.session.flush()
    assert not w.submission.can_decide(w.volunteer)
    with pytest.raises(validation_errors.TransitionRefused):
        ops.decide_item(w.items[0], w.volunteer, ops.Decision(V))


def test_second_decision_is_refused_as_already_decided(submitted):
    w = submitted
    ops.decide_item(w.items[0], w.trainer, ops.Decision(V))
    with pytest.raises(validation_errors.AlreadyDecided) as info:
        ops.decide_item(w.items[0], w.trainer2, ops.Decision(R, comment="no"))
    assert info.value.by == "Théo Trainer"
    assert len(events("item.validated")) == 1 and not events("item.rejected")


def test_guarded_update_catches_a_decision_made_behind_a_stale_object(submitted):
    """The ORM object still says "pending" (as in a concurrent request that loaded it first): the conditional
    UPDATE matches no row and the loser learns who won."""
    w = submitted
    item = w.items[0]
    db.session.execute(
        sa.text("UPDATE submission_items SET decision='rejected', decided_by_id=:u, decided_at=:t WHERE id=:i"),
        {"u": w.trainer2.id, "t": utcnow().replace(tzinfo=None), "i": item.id},
    )
    assert item.decision == ItemDecision.PENDING  # stale in the session
    with pytest.raises(validation_errors.AlreadyDecided) as info:
        ops.decide_item(item, w.trainer, ops.Decision(V))
    assert info.value.by == "Tess Trainer"
    assert not events("item.validated") and db.session.scalar(sa.select(sa.func.count(ClaimValidation.id))) == 0


def test_round_with_changes_requested_returns_the_submission(submitted, outbox):
    w = submitted
    ops.decide_item(w.items[0], w.trainer, ops.Decision(V))
    ops.decide_item(w.items[1], w.trainer2, ops.Decision(C, comment="Add the final report"))
    assert w.submission.state == SubmissionState.PENDING
    assert not w.mission.can_edit(w.volunteer)
    ops.decide_item(w.items[2], w.trainer, ops.Decision(R, comment="Not shown in this mission"))
    assert w.submission.state == SubmissionState.RETURNED and w.submission.decided_at is not None
    assert w.mission.can_edit(w.volunteer)
    assert [c.state for c in w.claims] == [ClaimState.VALIDATED, ClaimState.CHANGES_REQUESTED, ClaimState.REJECTED]
    assert all(c.can_edit(w.volunteer) for c in w.claims)
    (event,) = events("submission.returned")
    assert event.data["decisions"] == {"validated": 1, "changes_requested": 1, "rejected": 1}
    db.session.commit()
    (mail,) = [m for m in outbox if m.recipient == "vol@example.org"]
    assert mail.language == "en" and "asks you for changes" in mail.body and "Add the final report" in mail.body
    assert f"http://acquis.example/experiences/{w.mission.id}" in mail.body


def test_round_without_changes_is_decided(submitted, outbox):
    w = submitted
    for item in w.items:
        ops.decide_item(item, w.trainer, ops.Decision(V))
    assert w.submission.state == SubmissionState.DECIDED
    assert len(events("submission.decided")) == 1
    db.session.commit()
    (mail,) = [m for m in outbox if m.recipient == "vol@example.org"]
    assert "has reviewed" in mail.body and "C1: Validated" in mail.body


def test_decisions_on_a_closed_round_are_refused(submitted):
    w = submitted
    for item in w.items:
        ops.decide_item(item, w.trainer, ops.Decision(V))
    with pytest.raises(validation_errors.AlreadyDecided):
        ops.decide_item(w.items[0], w.trainer2, ops.Decision(V))


# --- Resubmission, versions, diff ---------------------------------------------------------------------------------


def test_resubmission_after_changes_is_a_new_round_with_a_diff(submitted):
    w = submitted
    ops.decide_item(w.items[0], w.trainer, ops.Decision(V))
    ops.decide_item(w.items[1], w.trainer, ops.Decision(C, comment="Say what you did yourself"))
    ops.decide_item(w.items[2], w.trainer, ops.Decision(R, comment="No"))
    claim = w.claims[1]
    old_version = claim.version
    edit(claim, actions="I <b>personally</b> organised the C2 work.", level_rank=3)
    assert claim.state == ClaimState.DRAFT and claim.version == old_version + 1
    submission = ops.submit_experience(w.volunteer, w.mission, w.ngo, [claim.id])
    assert submission.id == w.submission.id and submission.round == 2
    assert submission.state == SubmissionState.PENDING
    (current,) = submission.current_items
    previous = history.previous_reviews(submission)[current.id]
    assert previous.round == 1 and previous.decision == C
    with force_locale("en"):  # labels are translated when the diff is built
        diffs = {d.label: d.ops for d in history.snapshot_diff(previous.snapshot, current.snapshot)}
    assert set(diffs) == {"Level", "Actions"}
    assert ("insert", " <b>personally</b>") in diffs["Actions"]
    assert ("delete", "2") in diffs["Level"] and ("insert", "3") in diffs["Level"]
    assert len(events("submission.resubmitted")) == 1


def test_editing_a_validated_claim_keeps_the_validation_until_the_new_version_is_validated(submitted):
    w = submitted
    for item in w.items:
        ops.decide_item(item, w.trainer, ops.Decision(V))
    claim = w.claims[0]
    first = db.session.scalar(sa.select(ClaimValidation).where(ClaimValidation.claim_id == claim.id))
    edit(claim, result="The well now serves 300 families.")
    assert claim.state == ClaimState.DRAFT and claim.version == first.claim_version + 1
    assert first.is_current  # still valid and printable
    submission = ops.submit_experience(w.volunteer, w.mission, w.ngo, [claim.id])
    ops.decide_item(submission.current_items[0], w.trainer2, ops.Decision(V))
    db.session.refresh(first)
    assert first.superseded_at is not None and not first.is_current
    validations = queries.validations_for_claims([claim.id])[claim.id]
    assert [v.claim_version for v in validations if v.is_current] == [claim.version]


# --- Facts -----------------------------------------------------------------------------------------------------


def test_facts_confirmation_and_its_refusals(submitted):
    w = submitted
    with pytest.raises(UserError):
        ops.confirm_facts(w.submission, w.trainer, FactsDecision.CORRECTED, "")
    with pytest.raises(validation_errors.TransitionRefused):
        ops.confirm_facts(w.submission, w.other_trainer, FactsDecision.CONFIRMED)
    with pytest.raises(validation_errors.TransitionRefused):
        ops.confirm_facts(w.submission, w.admin, FactsDecision.CONFIRMED)
    ops.confirm_facts(w.submission, w.trainer, FactsDecision.CORRECTED, "Ended in November")
    assert w.submission.facts_decision == FactsDecision.CORRECTED
    assert w.submission.facts_confirmed_hash == w.submission.facts_hash
    with pytest.raises(validation_errors.AlreadyDecided):
        ops.confirm_facts(w.submission, w.trainer2, FactsDecision.CONFIRMED)
    assert len(events("facts.corrected")) == 1


# --- Revocation -------------------------------------------------------------------------------------------------


def test_org_admin_revokes_a_validation_with_a_reason(submitted):
    w = submitted
    ops.decide_item(w.items[0], w.trainer, ops.Decision(V))
    validation = db.session.scalar(sa.select(ClaimValidation))
    assert validation.can_revoke(w.admin) and not validation.can_revoke(w.trainer)
    with pytest.raises(validation_errors.TransitionRefused):
        ops.revoke_validation(validation, w.trainer, "no")
    with pytest.raises(validation_errors.TransitionRefused):
        ops.revoke_validation(validation, w.other_trainer, "no")
    with pytest.raises(UserError):
        ops.revoke_validation(validation, w.admin, "  ")
    ops.revoke_validation(validation, w.admin, "The mission was cut short")
    assert validation.revoked_at is not None and validation.revoked_by_id == w.admin.id and not validation.is_current
    assert w.claims[0].state == ClaimState.DRAFT
    with pytest.raises(validation_errors.AlreadyDecided):
        ops.revoke_validation(validation, w.admin, "again")
    (event,) = events("validation.revoked")
    assert event.data["reason"] == "The mission was cut short"
    assert db.session.scalar(sa.select(Notification.kind).where(Notification.user_id == w.volunteer.id)) == "revoked"


# --- Audit trail -------------------------------------------------------------------------------------------------


def test_history_of_claim_and_experience(submitted):
    w = submitted
    ops.decide_item(w.items[0], w.trainer, ops.Decision(V))
    with force_locale("en"):  # labels are translated when the history is built
        labels = [entry.label for entry in history.claim_history(w.claims[0])]
        assert labels[:1] == ["Validated"] and "Claim created" in labels
        labels = [entry.label for entry in history.experience_history(w.mission)]
    assert "Submitted for validation" in labels and "Validated" in labels


def test_audit_rows_cannot_be_changed_or_deleted(submitted):
    (event,) = events("submission.created")
    event.action = "tampered"
    with pytest.raises(AuditLogImmutableError):
        db.session.flush()
    db.session.rollback()


def test_audit_rows_are_protected_by_the_database_too(submitted):
    (event,) = events("submission.created")
    for statement in ("UPDATE audit_events SET action='x' WHERE id=:i", "DELETE FROM audit_events WHERE id=:i"):
        nested = db.session.begin_nested()
        with pytest.raises(sa.exc.DBAPIError):
            db.session.execute(sa.text(statement), {"i": event.id})
        nested.rollback()
    assert db.session.scalar(sa.select(AuditEvent.action).where(AuditEvent.id == event.id)) == "submission.created"


# --- Queue, statistics, notifications -----------------------------------------------------------------------


def test_queue_filters_and_counts(submitted):
    w = submitted
    queue = queries.review_queue([w.ngo.id], queries.QueueFilters())
    assert [s.id for s in queue.submissions] == [w.submission.id]
    assert queue.counts[SubmissionState.PENDING] == 1
    assert queries.review_queue([w.ngo.id], queries.QueueFilters(volunteer="valen")).total == 1
    assert queries.review_queue([w.ngo.id], queries.QueueFilters(volunteer="nobody")).total == 0
    assert queries.review_queue([w.ngo.id], queries.QueueFilters(volunteer="%")).total == 0
    today = utcnow().date()
    assert queries.review_queue([w.ngo.id], queries.QueueFilters(date_from=today, date_to=today)).total == 1
    assert queries.review_queue([w.ngo.id], queries.QueueFilters(date_from=today + timedelta(days=1))).total == 0
    assert queries.review_queue([w.ngo.id], queries.QueueFilters(state=SubmissionState.DECIDED)).total == 0
    assert queries.review_queue([w.other_ngo.id], queries.QueueFilters(state=None)).total == 0


def test_organisation_stats_median_time_to_decision(submitted):
    w = submitted
    start = utcnow() - timedelta(hours=10)
    for hours, item in zip((1, 3, 8), w.items, strict=True):
        item.created_at = start
        ops.decide_item(item, w.trainer, ops.Decision(V))
        item.decided_at = start + timedelta(hours=hours)
    db.session.flush()
    stats = queries.organisation_stats(w.ngo)
    assert stats.pending_submissions == 0 and stats.pending_items == 0
    assert stats.decided_items == 3 and stats.median_hours == pytest.approx(3)


def test_notifications_are_marked_read_one_or_all(submitted):
    w = submitted
    notices.notify(w.trainer.id, "decided", title="x")
    db.session.flush()
    assert notices.unread_count(w.trainer) == 2
    first = notices.notifications_of(w.trainer)[0]
    assert notices.mark_read(w.trainer, first.id) == 1
    assert notices.mark_read(w.trainer2, first.id) == 0  # someone else's notification
    assert notices.mark_read(w.trainer) == 1 and notices.unread_count(w.trainer) == 0


def test_submission_rows_are_unique_per_experience_and_ngo(submitted):
    assert db.session.scalar(sa.select(sa.func.count(Submission.id))) == 1
