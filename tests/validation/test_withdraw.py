"""A volunteer withdraws a pending submission: unlocked and resubmittable, refused once a decision is recorded, one
winner when it races a trainer's decision, audit, notification and e-mail to the trainers, pages on both sides."""

from __future__ import annotations

import threading
from datetime import date

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from app.claims import operations as claim_ops
from app.claims.models import ClaimState
from app.claims.validations import ClaimValidation
from app.core.audit import AuditEvent
from app.core.errors import UserError
from app.core.notifications import Notification
from app.extensions import db
from app.validation import errors as validation_errors
from app.validation import history, queries
from app.validation import operations as ops
from app.validation.models import ItemDecision, SubmissionItem, SubmissionState
from tests.translated import in_template, printed, printed_up_to
from tests.validation.test_concurrency import live, live_database_url  # noqa: F401  (fixtures of the HTTP race)

V = ItemDecision.VALIDATED


def english(message) -> str:
    """A (lazy) message as an English-speaking user reads it."""
    with force_locale("en"):
        return str(message)


REFUSED_MSGID = (
    "A trainer has already recorded a decision on this submission, so it can no longer be withdrawn. "
    "Contact your NGO if something must change."
)
WITHDRAWN_CONFLICT_MSGID = "The volunteer withdrew this submission on %(time)s: there is nothing left to decide."


def _state(w):
    """Everything a refused withdrawal must leave as it was."""
    db.session.expire_all()
    return (
        w.submission.state,
        w.submission.decided_at,
        [(i.decision, i.decided_by_id, i.comment) for i in w.submission.items],
        [c.state for c in w.claims],
        db.session.scalar(sa.select(sa.func.count(AuditEvent.id))),
        db.session.scalar(sa.select(sa.func.count(Notification.id))),
    )


# --- Operations -------------------------------------------------------------------------------------------------


def test_withdraw_unlocks_the_experience_and_keeps_everything(submitted):
    w = submitted
    snapshots = [(i.claim_version, i.content_hash, i.snapshot) for i in w.items]
    narratives = [c.actions for c in w.claims]
    ops.withdraw_submission(w.submission, w.volunteer, "  Wrong NGO  ")
    assert w.submission.state == SubmissionState.WITHDRAWN and w.submission.decided_at is not None
    assert [i.decision for i in w.items] == [ItemDecision.WITHDRAWN] * 3
    assert {i.decided_by_id for i in w.items} == {w.volunteer.id} and {i.comment for i in w.items} == {"Wrong NGO"}
    assert [(i.claim_version, i.content_hash, i.snapshot) for i in w.items] == snapshots  # nothing lost
    assert [c.state for c in w.claims] == [ClaimState.DRAFT] * 3
    assert [c.actions for c in w.claims] == narratives
    assert not queries.is_experience_locked(w.mission)
    assert w.mission.can_edit(w.volunteer) and all(c.can_edit(w.volunteer) for c in w.claims)
    assert all(queries.submittable(c) for c in w.claims)
    assert not w.submission.can_decide(w.trainer)
    # The trainers' queue and figures no longer count it as awaiting review; nothing was "decided".
    queue = queries.review_queue([w.ngo.id], queries.QueueFilters())
    assert queue.total == 0 and queue.counts[SubmissionState.PENDING] == 0
    assert queue.counts[SubmissionState.WITHDRAWN] == 1
    stats = queries.organisation_stats(w.ngo)
    assert (stats.pending_submissions, stats.pending_items, stats.decided_items) == (0, 0, 0)
    assert db.session.scalar(sa.select(sa.func.count(ClaimValidation.id))) == 0


def test_withdrawn_experience_is_edited_and_submitted_again_to_the_same_or_another_ngo(submitted):
    w = submitted
    ops.withdraw_submission(w.submission, w.volunteer)
    claim = w.claims[0]
    claim_ops.update_claim(
        claim,
        claim_ops.ClaimData(node_id=claim.node_id, level_rank=3, actions="Corrected text", evidence_ids=(w.image.id,)),
        actor=w.volunteer,
    )
    assert claim.version == 2
    again = ops.submit_experience(w.volunteer, w.mission, w.ngo, [claim.id, w.claims[1].id])
    assert again.id == w.submission.id and again.round == 2 and again.state == SubmissionState.PENDING
    assert again.decided_at is None and [i.round for i in again.current_items] == [2, 2]
    assert again.current_items[0].snapshot["narrative"]["actions"] == "Corrected text"
    assert history.previous_reviews(again) == {}  # a withdrawn round is not a review to compare with
    assert not w.mission.can_edit(w.volunteer)
    # Withdraw the second round too and send it to the other NGO instead: a separate dossier.
    ops.withdraw_submission(again, w.volunteer)
    elsewhere = ops.submit_experience(w.volunteer, w.mission, w.other_ngo, [claim.id])
    assert elsewhere.id != w.submission.id and elsewhere.round == 1 and elsewhere.organisation_id == w.other_ngo.id
    assert queries.pending_submission(w.mission.id) == elsewhere


def test_withdrawal_is_refused_once_an_item_is_decided(submitted):
    w = submitted
    ops.decide_item(w.items[0], w.trainer, ops.Decision(V))
    assert not w.submission.is_withdrawable
    before = _state(w)
    with pytest.raises(validation_errors.NotWithdrawable) as refused:
        ops.withdraw_submission(w.submission, w.volunteer, "Too late")
    assert english(refused.value.message) == REFUSED_MSGID
    assert _state(w) == before
    assert w.submission.state == SubmissionState.PENDING and w.claims[1].state == ClaimState.SUBMITTED


def test_withdrawal_is_refused_after_the_round_closed_or_when_already_withdrawn(submitted):
    w = submitted
    for item in w.items:
        ops.decide_item(item, w.trainer, ops.Decision(V))
    assert w.submission.state == SubmissionState.DECIDED
    with pytest.raises(validation_errors.NotWithdrawable):
        ops.withdraw_submission(w.submission, w.volunteer)
    assert w.submission.state == SubmissionState.DECIDED


def test_withdrawing_twice_says_so(submitted):
    w = submitted
    ops.withdraw_submission(w.submission, w.volunteer)
    with pytest.raises(validation_errors.NotWithdrawable) as refused:
        ops.withdraw_submission(w.submission, w.volunteer)
    assert english(refused.value.message) == "This submission has already been withdrawn."


@pytest.mark.parametrize("actor", ["trainer", "admin", "other_trainer"])
def test_only_the_volunteer_who_submitted_withdraws(submitted, actor):
    w = submitted
    with pytest.raises(validation_errors.TransitionRefused):
        ops.withdraw_submission(w.submission, getattr(w, actor))
    assert w.submission.state == SubmissionState.PENDING


def test_too_long_reason_is_refused(submitted):
    w = submitted
    with pytest.raises(UserError) as refused:
        ops.withdraw_submission(w.submission, w.volunteer, "x" * (ops.WITHDRAW_REASON_LIMIT + 1))
    assert refused.value.field == "reason" and w.submission.state == SubmissionState.PENDING


def test_decision_committed_first_wins_over_a_withdrawal_prepared_before_it(submitted):
    """The volunteer's request loaded the submission while nothing was decided; a trainer's decision lands before
    the guarded UPDATE: the withdrawal matches no row and changes nothing."""
    w = submitted
    assert w.submission.is_withdrawable  # what the volunteer's request saw
    db.session.execute(
        sa.update(SubmissionItem)
        .where(SubmissionItem.id == w.items[0].id)
        .values(decision=ItemDecision.VALIDATED, decided_by_id=w.trainer.id, decided_at=w.submission.submitted_at)
        .execution_options(synchronize_session=False)
    )
    events = db.session.scalar(sa.select(sa.func.count(AuditEvent.id)))
    with pytest.raises(validation_errors.NotWithdrawable) as refused:
        ops.withdraw_submission(w.submission, w.volunteer, "Race")
    assert english(refused.value.message) == REFUSED_MSGID
    db.session.expire_all()
    assert w.submission.state == SubmissionState.PENDING
    assert [i.decision for i in w.items] == [ItemDecision.VALIDATED, ItemDecision.PENDING, ItemDecision.PENDING]
    assert {c.state for c in w.claims} == {ClaimState.SUBMITTED}
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id))) == events


def test_withdrawal_committed_first_wins_over_a_decision_prepared_before_it(submitted):
    """The trainer's request loaded a pending item; the withdrawal lands before the guarded UPDATE: the decision
    matches no row, no validation is created and the trainer learns that the volunteer withdrew."""
    w = submitted
    item = w.items[0]
    assert item.is_pending and w.submission.can_decide(w.trainer)  # what the trainer's request saw
    withdrawn_at = w.submission.submitted_at
    db.session.execute(
        sa.update(SubmissionItem)
        .where(SubmissionItem.submission_id == w.submission.id)
        .values(decision=ItemDecision.WITHDRAWN, decided_by_id=w.volunteer.id, decided_at=withdrawn_at)
        .execution_options(synchronize_session=False)
    )
    with pytest.raises(validation_errors.SubmissionWithdrawn) as conflict:
        ops.decide_item(item, w.trainer, ops.Decision(V))
    assert conflict.value.at is not None
    assert item.decision == ItemDecision.WITHDRAWN and item.decided_by_id == w.volunteer.id
    assert db.session.scalar(sa.select(sa.func.count(ClaimValidation.id))) == 0
    assert not db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(AuditEvent.action.like("item.valid%")))


def test_decision_and_facts_after_a_withdrawal_are_refused_clearly(submitted):
    from app.validation.models import FactsDecision

    w = submitted
    ops.withdraw_submission(w.submission, w.volunteer)
    with pytest.raises(validation_errors.SubmissionWithdrawn):
        ops.decide_item(w.items[1], w.trainer, ops.Decision(V))
    with pytest.raises(validation_errors.SubmissionWithdrawn):
        ops.confirm_facts(w.submission, w.trainer, FactsDecision.CONFIRMED)
    assert w.submission.facts_decision is None


def test_withdrawal_is_audited_and_shown_in_the_histories(submitted):
    w = submitted
    ops.withdraw_submission(w.submission, w.volunteer, "Submitted to the wrong NGO")
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "submission.withdrawn"))
    assert event.actor_id == w.volunteer.id and event.object_type == "Submission"
    assert event.object_id == str(w.submission.id) and event.organisation_id == w.ngo.id
    assert event.data["reason"] == "Submitted to the wrong NGO" and event.data["round"] == 1
    assert event.data["claim_ids"] == sorted(c.id for c in w.claims)
    per_claim = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "item.withdrawn")).all()
    assert sorted(e.object_id for e in per_claim) == sorted(str(c.id) for c in w.claims)
    with force_locale("en"):
        entry = history.experience_history(w.mission)[0]
        assert (str(entry.label), entry.actor, entry.detail) == (
            "Withdrawn from review",
            "Valentine",
            "Submitted to the wrong NGO",
        )
        assert [str(e.label) for e in history.experience_history(w.mission)].count("Withdrawn from review") == 1
        claim_entry = history.claim_history(w.claims[0])[0]
        assert (str(claim_entry.label), claim_entry.detail) == ("Withdrawn from review", "Submitted to the wrong NGO")


def test_trainers_are_notified_in_the_app_and_by_email_in_their_language(submitted, outbox):
    w = submitted
    db.session.commit()
    outbox.clear()
    ops.withdraw_submission(w.submission, w.volunteer, "Wrong NGO")
    db.session.commit()
    mails = {m.recipient: m for m in outbox}
    assert set(mails) == {"trainer@example.org", "trainer2@example.org"}
    assert mails["trainer@example.org"].language == "fr" and mails["trainer2@example.org"].language == "es"
    for mail in mails.values():
        assert f"http://acquis.example/validation/submissions/{w.submission.id}" in mail.body
        assert "Wrong NGO" in mail.body and "Valentine" in mail.body and "Water project coordinator" in mail.body
    notes = db.session.scalars(sa.select(Notification).where(Notification.kind == "withdrawn")).all()
    assert {n.user_id for n in notes} == {w.trainer.id, w.trainer2.id}
    assert all(n.link == f"/validation/submissions/{w.submission.id}" for n in notes)
    assert "Valentine" in notes[0].text and "Water project coordinator" in notes[0].text


# --- Pages ------------------------------------------------------------------------------------------------------


def _url(w):
    return f"/validation/submissions/{w.submission.id}/withdraw"


def test_volunteer_withdraws_through_the_confirmation_page(submitted, client, login):
    w = submitted
    login(client, w.volunteer)
    detail = client.get(f"/experiences/{w.mission.id}")
    assert f'href="{_url(w)}"' in detail.text
    page = client.get(_url(w))
    assert page.status_code == 200
    assert "What withdrawing does" in page.text and "C1" in page.text and "C3" in page.text
    assert 'method="post"' in page.text and 'name="reason"' in page.text
    response = client.post(_url(w), data={"reason": "I chose the wrong NGO"})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/experiences/{w.mission.id}")
    assert w.submission.state == SubmissionState.WITHDRAWN
    detail = client.get(f"/experiences/{w.mission.id}")
    assert "has been withdrawn from Solidarité Monde" in detail.text
    assert "badge-withdrawn" in detail.text and "I chose the wrong NGO" in detail.text
    assert f'href="{_url(w)}"' not in detail.text
    assert client.get(f"/experiences/{w.mission.id}/edit").status_code == 200
    assert client.get(f"/portfolio/claims/{w.claims[0].id}/edit").status_code == 200
    submit_page = client.get(f"/validation/experiences/{w.mission.id}/submit")
    assert "already awaiting a review" not in submit_page.text and 'name="claim_ids"' in submit_page.text
    again = client.get(_url(w))
    assert again.status_code == 200 and "This submission has already been withdrawn." in again.text
    assert 'name="reason"' not in again.text


def test_reason_with_markup_or_too_long_is_refused_next_to_the_field(submitted, client, login):
    w = submitted
    login(client, w.volunteer)
    for reason in ("<b>oops</b>", "x" * 501):
        response = client.post(_url(w), data={"reason": reason})
        assert response.status_code == 422 and 'id="reason-error"' in response.text
    assert w.submission.state == SubmissionState.PENDING


def test_withdraw_without_csrf_token_changes_nothing(submitted, app, client, login):
    w = submitted
    login(client, w.volunteer)
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        page = client.get(_url(w))
        assert 'name="csrf_token"' in page.text
        response = client.post(_url(w), data={"reason": "no token"})
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert response.status_code in (400, 422)
    assert w.submission.state == SubmissionState.PENDING


def test_page_explains_why_a_decided_submission_cannot_be_withdrawn(submitted, client, login):
    w = submitted
    ops.decide_item(w.items[0], w.trainer, ops.Decision(V))
    login(client, w.volunteer)
    detail = client.get(f"/experiences/{w.mission.id}")
    assert f'href="{_url(w)}"' not in detail.text and "can no longer be withdrawn" in detail.text
    page = client.get(_url(w))
    assert page.status_code == 200 and REFUSED_MSGID in page.text and 'name="reason"' not in page.text
    before = _state(w)
    response = client.post(_url(w), data={"reason": "please"})
    assert response.status_code == 409 and REFUSED_MSGID in response.text
    assert _state(w) == before


def test_trainer_sees_a_withdrawn_submission_without_decision_forms(submitted, client, login):
    w = submitted
    ops.withdraw_submission(w.submission, w.volunteer, "Wrong NGO")
    login(client, w.trainer)  # reads French
    page = client.get(f"/validation/submissions/{w.submission.id}")
    assert page.status_code == 200
    assert 'name="item-' not in page.text and 'name="facts_decision"' not in page.text
    assert "withdrawn-notice" in page.text and "Wrong NGO" in page.text
    assert in_template("fr", "Withdrawn") in page.text
    queue = client.get("/validation/reviews")
    assert "Water project coordinator" not in queue.text
    listed = client.get("/validation/reviews?state=withdrawn")
    assert "Water project coordinator" in listed.text
    item = w.items[0]
    late = client.post(
        f"/validation/submissions/{w.submission.id}/items/{item.id}/decide",
        data={f"item-{item.id}-decision": "validated"},
    )
    assert late.status_code == 409
    assert printed_up_to("fr", WITHDRAWN_CONFLICT_MSGID, "time") in late.text
    facts = client.post(f"/validation/submissions/{w.submission.id}/facts", data={"facts_decision": "confirmed"})
    assert facts.status_code == 409
    assert db.session.scalar(sa.select(sa.func.count(ClaimValidation.id))) == 0


def test_trainer_notification_is_listed(submitted, client, login):
    w = submitted
    ops.withdraw_submission(w.submission, w.volunteer)
    login(client, w.trainer)
    page = client.get("/validation/notifications")
    expected = printed("fr", "%(volunteer)s withdrew “%(title)s” from review.", volunteer="Valentine", title="x")
    assert expected.split("x")[0] in page.text


def test_pages_run_a_fixed_number_of_statements(submitted, app, login):
    """The withdraw page and the review page of a withdrawn submission: as many statements for 1 claim as for 3."""
    from app.experiences import operations as experience_ops
    from app.experiences.models import ExperienceKind
    from tests.test_statement_counts import count_statements

    w = submitted
    small = experience_ops.create_experience(
        w.volunteer,
        experience_ops.ExperienceData(kind=ExperienceKind.MISSION, title="Small", start_date=date(2023, 1, 1)),
    )
    claim = claim_ops.create_claim(w.volunteer, small, claim_ops.ClaimData(node_id=w.nodes[0].id, level_rank=1))
    small_submission = ops.submit_experience(w.volunteer, small, w.ngo, [claim.id])
    db.session.commit()

    def statements(url):
        client.get(url)  # warm up (first-request work is not what is measured)
        with count_statements() as seen:
            assert client.get(url).status_code == 200
        return len(seen)

    client = app.test_client()
    login(client, w.volunteer)
    one = statements(f"/validation/submissions/{small_submission.id}/withdraw")
    three = statements(_url(w))
    assert one == three
    ops.withdraw_submission(small_submission, w.volunteer)
    ops.withdraw_submission(w.submission, w.volunteer)
    db.session.commit()
    client = app.test_client()
    login(client, w.trainer)
    one = statements(f"/validation/submissions/{small_submission.id}")
    three = statements(f"/validation/submissions/{w.submission.id}")
    assert one == three


# --- A real race over HTTP ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("volunteer_delay", [0.0, 0.5], ids=["same-moment", "trainer-slightly-first"])
def test_withdrawal_racing_a_decision_has_exactly_one_winner(live, volunteer_delay):  # noqa: F811
    """The volunteer withdraws while a trainer decides, against a live server: one of them wins (200 after the
    redirect), the other gets 409 with a clear message, and the database agrees. (At the same moment the
    withdrawal, a lighter request, usually wins; half a second late, the decision does.)"""
    import time

    from app.validation.models import Submission
    from tests.validation.test_concurrency import _post, _seed, _signed_in_opener

    app, base_url = live
    seeded = _seed(app)
    volunteer = _signed_in_opener(base_url, "volunteer@example.org")
    trainer = _signed_in_opener(base_url, "anna@example.org")
    item_id, _claim_id = seeded["items"][0]
    submission_url = f"{base_url}/validation/submissions/{seeded['submission']}"
    requests = [
        (volunteer, f"{submission_url}/withdraw", {"reason": "Race"}),
        (trainer, f"{submission_url}/items/{item_id}/decide", {f"item-{item_id}-decision": "validated"}),
    ]
    barrier = threading.Barrier(2)
    results: list = [None, None]

    def run(index):
        opener, url, data = requests[index]
        barrier.wait()
        if index == 0 and volunteer_delay:
            time.sleep(volunteer_delay)
        results[index] = _post(opener, url, data)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    statuses = [status for status, _body in results]
    assert sorted(statuses) == [200, 409], [(s, b[:300]) for s, b in results]
    withdrawal_won = statuses[0] == 200
    with app.app_context():
        submission = db.session.get(Submission, seeded["submission"])
        item = db.session.get(SubmissionItem, item_id)
        validations = db.session.scalar(sa.select(sa.func.count(ClaimValidation.id)))
        withdrawn_events = db.session.scalar(
            sa.select(sa.func.count(AuditEvent.id)).where(AuditEvent.action == "submission.withdrawn")
        )
        if withdrawal_won:
            assert submission.state == SubmissionState.WITHDRAWN and item.decision == ItemDecision.WITHDRAWN
            assert validations == 0 and withdrawn_events == 1
            assert "The volunteer withdrew this submission" in results[1][1]
        else:
            assert submission.state == SubmissionState.PENDING and item.decision == ItemDecision.VALIDATED
            assert validations == 1 and withdrawn_events == 0
            assert "can no longer be withdrawn" in results[0][1]
