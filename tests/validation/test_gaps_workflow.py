"""Gaps of the validation workflow: facts answered after the last claim (and the attestation that needs them), a
facts confirmation is a decision (no withdrawal), why a new round comes back, the referent is never the volunteer
(and the request is rate-limited), and the referent reads what they confirm."""

from __future__ import annotations

import dataclasses
import re

import pytest
import sqlalchemy as sa

from app.core.audit import AuditEvent
from app.core.errors import UserError
from app.documents.context import attestation_issuer
from app.experiences import operations as experience_ops
from app.extensions import db
from app.validation import operations as ops
from app.validation.models import FactsDecision, ItemDecision, ReferentRequest, SubmissionState

V = ItemDecision.VALIDATED
LINK = re.compile(r"http://acquis\.example/validation/referent/([A-Za-z0-9_-]+)")


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
    assert not ops.facts_unchanged(w.submission)
    with pytest.raises(ops.FactsChanged):
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
        with pytest.raises(ops.TransitionRefused):
            ops.confirm_facts(w.submission, someone, FactsDecision.CONFIRMED)
    assert not w.submission.can_confirm_facts(w.admin) and w.submission.can_confirm_facts(w.trainer2)


def test_no_facts_answer_on_a_withdrawn_submission(submitted):
    w = submitted
    ops.withdraw_submission(w.submission, w.volunteer)
    assert not w.submission.can_confirm_facts(w.trainer)
    with pytest.raises(ops.SubmissionWithdrawn):
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
    with pytest.raises(ops.NotWithdrawable):
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
    with pytest.raises(ops.NotWithdrawable):
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
    history = [entry.label for entry in ops.experience_history(w.mission)]
    assert str(ops.HISTORY_LABELS[action]) in history
    if close != "returned":
        assert "Submitted again after changes" not in history
    db.session.commit()
    mails = [m for m in outbox if m.recipient == "trainer2@example.org" and "round 2" in m.body.replace("\n", " ")]
    assert mails, [m.body for m in outbox]
    body = mails[-1].body.replace("\n", " ")
    assert sentence in body
    if close != "returned":
        assert "changes you asked for" not in body


# --- 5. The referent is someone else; the request is rate-limited -------------------------------------------


@pytest.mark.parametrize("address", ["vol@example.org", " VOL@Example.org ", "vol+referent@example.org"])
def test_the_volunteer_cannot_be_their_own_referent(world, client, login, outbox, address):
    login(client, world.volunteer)
    response = client.post(
        f"/validation/experiences/{world.mission.id}/referent",
        data={"name": "Myself", "email": address, "language": "en", "claim_ids": [world.claims[0].id]},
        headers={"Accept-Language": "en"},
    )
    assert response.status_code == 422
    assert 'id="email-error"' in response.text or "email-error" in response.text
    assert "This is your own e-mail address" in response.text
    assert db.session.scalar(sa.select(sa.func.count(ReferentRequest.id))) == 0
    assert outbox == []
    with pytest.raises(UserError) as refused:
        ops.request_referent(world.volunteer, world.mission, ops.ReferentData(name="Me", email=address))
    assert refused.value.field == "email"


def test_referent_requests_are_rate_limited(limited_app):
    client = limited_app.test_client()
    url = "/validation/experiences/1/referent"
    for attempt in range(5):
        assert client.post(url, data={}).status_code == 302, attempt  # to the login page
    assert client.post(url, data={}).status_code == 429
    assert client.get(url).status_code == 302  # reading is not limited
    other = client.post(url, data={}, environ_base={"REMOTE_ADDR": "198.51.100.20"})
    assert other.status_code == 302


def test_the_rate_limit_key_is_the_volunteer(world, app, login):
    from app.validation.views import _sender_key

    client = app.test_client()
    login(client, world.volunteer)
    with client:
        client.get("/")
        assert _sender_key() == f"user:{world.volunteer.id}"


# --- 6. The referent reads what they confirm ---------------------------------------------------------------


def test_the_referent_page_shows_level_and_narrative_escaped(world, client, login, outbox):
    claim = world.claims[0]
    claim.level_rank = 3
    claim.situation = "In the <b>village</b> & its committee"
    claim.actions = "<script>alert(1)</script> dug the well"
    db.session.flush()
    login(client, world.volunteer)
    response = client.post(
        f"/validation/experiences/{world.mission.id}/referent",
        data={"name": "Rosa", "email": "rosa@agua.example", "language": "en", "claim_ids": [claim.id]},
    )
    assert response.status_code == 302
    db.session.commit()
    (mail,) = [m for m in outbox if m.recipient == "rosa@agua.example"]
    token = LINK.search(mail.body).group(1)
    page = client.application.test_client().get(f"/validation/referent/{token}")
    assert page.status_code == 200
    stored = db.session.scalar(sa.select(ReferentRequest))
    snap = stored.snapshot["claims"][0]
    assert snap["narrative"]["actions"] == claim.actions and snap["level"] == claim.level_rank
    html = page.text
    assert "Level claimed" in html
    assert f"{claim.level_rank} — {snap['level_label']['en']}" in html
    assert "Situation" in html and "Actions" in html
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; dug the well" in html
    assert "In the &lt;b&gt;village&lt;/b&gt; &amp; its committee" in html


def test_an_older_request_without_narrative_still_opens(world, client):
    request, token = ops.request_referent(
        world.volunteer,
        world.mission,
        ops.ReferentData(name="Rosa", email="rosa@agua.example", language="en", claim_ids=(world.claims[0].id,)),
    )
    snapshot = dict(request.snapshot)
    snapshot["claims"] = [
        {k: v for k, v in c.items() if k not in ("narrative", "level_label")} for c in snapshot["claims"]
    ]
    request.snapshot = snapshot
    db.session.commit()
    page = client.get(f"/validation/referent/{token}")
    assert page.status_code == 200 and "C1" in page.text
