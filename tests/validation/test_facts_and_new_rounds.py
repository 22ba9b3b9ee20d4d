"""Facts answers and new rounds: facts answered after the last claim (and the attestation that needs them), a
facts confirmation is a decision (no withdrawal), and a new round says why it comes back. (The referent rules are
in test_referent_requests.py.)"""

from __future__ import annotations

import dataclasses

import pytest
import sqlalchemy as sa

from app.core.audit import AuditEvent
from app.documents.context import attestation_issuer
from app.experiences import operations as experience_ops
from app.extensions import db
from app.validation import errors as validation_errors
from app.validation import history as validation_history
from app.validation import operations as ops
from app.validation import snapshots
from app.validation.models import FactsDecision, ItemDecision, SubmissionState

V = ItemDecision.VALIDATED


def _decide_all(w, decision=V, comment=""):
    for item in w.submission.current_items:
        ops.decide_item(item, w.trainer, ops.Decision(decision, comment=comment))


def _edit_mission(w, **changes):
    e = w.mission
    data = experience_ops.ExperienceData(
        kind=e.kind,
        title=e.title,
        start_date=e.start_date,
        end_date=e.end_date,
        status_code=e.status_code,
        host_name=e.host_name,
        host_country=e.host_country,
    )
    experience_ops.update_experience(e, dataclasses.replace(data, **changes), actor=w.volunteer)
    db.session.flush()


# --- 1. Facts answered after the last claim was decided -------------------------------------------------------


def test_facts_can_be_confirmed_after_the_last_claim_and_the_attestation_follows(submitted, client, login):
    w = submitted
    _decide_all(w)
    assert w.submission.state == SubmissionState.DECIDED and w.submission.facts_decision is None
    assert attestation_issuer(w.mission) is None
    db.session.commit()

    login(client, w.trainer)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    page = client.get(f"/validation/submissions/{w.submission.id}", headers={"Accept-Language": "en"})
    assert page.status_code == 200
    assert f'action="/validation/submissions/{w.submission.id}/facts"' in page.text
    response = client.post(f"/validation/submissions/{w.submission.id}/facts", data={"facts_decision": "confirmed"})
    assert response.status_code == 302
    db.session.expire_all()
    assert w.submission.facts_decision == FactsDecision.CONFIRMED
    assert w.submission.state == SubmissionState.DECIDED and w.submission.facts_confirmed_by_id == w.trainer.id
    assert attestation_issuer(w.mission).id == w.submission.id
    (event,) = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "facts.confirmed")).all()
    assert event.data["round_state"] == "decided"
    # Answered once: the form is gone and a second answer is a conflict.
    page = client.get(f"/validation/submissions/{w.submission.id}")
    assert f'action="/validation/submissions/{w.submission.id}/facts"' not in page.text
    assert (
        client.post(
            f"/validation/submissions/{w.submission.id}/facts", data={"facts_decision": "confirmed"}
        ).status_code
        == 409
    )


def test_facts_edited_after_the_round_closed_wait_for_the_next_round(submitted, client, login):
    w = submitted
    _decide_all(w)
    _edit_mission(w, title="Another title")
    assert not snapshots.facts_unchanged(w.submission)
    with pytest.raises(validation_errors.FactsChanged):
        ops.confirm_facts(w.submission, w.trainer, FactsDecision.CONFIRMED)
    db.session.commit()
    login(client, w.trainer)
    page = client.get(f"/validation/submissions/{w.submission.id}")
    assert page.status_code == 200 and "/facts" not in page.text
    response = client.post(f"/validation/submissions/{w.submission.id}/facts", data={"facts_decision": "confirmed"})
    assert response.status_code == 409
    db.session.expire_all()
    assert w.submission.facts_decision is None and attestation_issuer(w.mission) is None


def test_only_trainers_of_the_ngo_answer_on_the_facts_of_a_closed_round(submitted):
    w = submitted
    _decide_all(w)
    for someone in (w.admin, w.other_trainer, w.volunteer):
        with pytest.raises(validation_errors.TransitionRefused):
            ops.confirm_facts(w.submission, someone, FactsDecision.CONFIRMED)
    assert not w.submission.can_confirm_facts(w.admin) and w.submission.can_confirm_facts(w.trainer2)


def test_no_facts_answer_on_a_withdrawn_submission(submitted):
    w = submitted
    ops.withdraw_submission(w.submission, w.volunteer)
    assert not w.submission.can_confirm_facts(w.trainer)
    with pytest.raises(validation_errors.SubmissionWithdrawn):
        ops.confirm_facts(w.submission, w.trainer, FactsDecision.CONFIRMED)


def test_a_returned_round_may_have_its_facts_confirmed_and_the_next_round_keeps_it(submitted):
    w = submitted
    _decide_all(w, ItemDecision.CHANGES_REQUESTED, comment="More detail")
    assert w.submission.state == SubmissionState.RETURNED
    ops.confirm_facts(w.submission, w.trainer, FactsDecision.CONFIRMED)
    ops.submit_experience(w.volunteer, w.mission, w.ngo, [c.id for c in w.claims])
    assert w.submission.round == 2 and w.submission.facts_decision == FactsDecision.CONFIRMED
    # The carried-over answer is not a decision of this round: it may still be withdrawn.
    assert w.submission.is_withdrawable


# --- 2. A facts confirmation is a decision ------------------------------------------------------------------


def test_no_withdrawal_once_the_facts_are_confirmed(submitted, client, login):
    w = submitted
    ops.confirm_facts(w.submission, w.trainer, FactsDecision.CONFIRMED)
    assert not w.submission.is_withdrawable
    with pytest.raises(validation_errors.NotWithdrawable):
        ops.withdraw_submission(w.submission, w.volunteer, "Too late")
    assert w.submission.state == SubmissionState.PENDING
    db.session.commit()
    login(client, w.volunteer)
    page = client.get(f"/experiences/{w.mission.id}")
    assert f"/validation/submissions/{w.submission.id}/withdraw" not in page.text
    assert client.post(f"/validation/submissions/{w.submission.id}/withdraw", data={}).status_code == 409


def test_the_guarded_withdrawal_sees_a_facts_answer_it_had_not_loaded(submitted):
    """The session still believes nothing was answered; the conditional UPDATE refuses anyway."""
    w = submitted
    db.session.execute(
        sa.text(
            "UPDATE submissions SET facts_decision='confirmed', facts_confirmed_at=submitted_at, "
            "facts_confirmed_by_id=:u WHERE id=:i"
        ),
        {"u": w.trainer.id, "i": w.submission.id},
    )
    assert w.submission.is_withdrawable  # stale
    with pytest.raises(validation_errors.NotWithdrawable):
        ops.withdraw_submission(w.submission, w.volunteer)
    assert w.submission.state == SubmissionState.PENDING


# --- 3. Why a new round comes back -------------------------------------------------------------------------


def _resubmit(w):
    ops.submit_experience(w.volunteer, w.mission, w.ngo, [c.id for c in w.claims])


@pytest.mark.parametrize(
    ("close", "action", "sentence"),
    [
        ("returned", "submission.resubmitted", "the volunteer made the changes you asked for"),
        ("withdrawn", "submission.resubmitted_after_withdrawal", "had withdrawn the previous round"),
        ("decided", "submission.submitted_again", "after your decisions on the previous round"),
    ],
)
def test_a_new_round_says_why_it_comes_back(submitted, outbox, close, action, sentence):
    w = submitted
    w.trainer2.locale = "en"
    if close == "returned":
        _decide_all(w, ItemDecision.CHANGES_REQUESTED, comment="More detail")
    elif close == "withdrawn":
        ops.withdraw_submission(w.submission, w.volunteer)
    else:
        _decide_all(w, ItemDecision.REJECTED, comment="Not shown")
    _resubmit(w)
    (event,) = db.session.scalars(
        sa.select(AuditEvent)
        .where(AuditEvent.action.like("submission.%"))
        .where(
            AuditEvent.action.not_in(
                ["submission.created", "submission.returned", "submission.decided", "submission.withdrawn"]
            )
        )
    ).all()
    assert event.action == action and event.data["previous_state"] == close
    history = [entry.label for entry in validation_history.experience_history(w.mission)]
    assert str(validation_history.HISTORY_LABELS[action]) in history
    if close != "returned":
        assert "Submitted again after changes" not in history
    db.session.commit()
    mails = [m for m in outbox if m.recipient == "trainer2@example.org" and "round 2" in m.body.replace("\n", " ")]
    assert mails, [m.body for m in outbox]
    body = mails[-1].body.replace("\n", " ")
    assert sentence in body
    if close != "returned":
        assert "changes you asked for" not in body
