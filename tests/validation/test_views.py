"""The validation pages through HTTP: submit, queue, review, decisions (with the 409 conflict), evidence for
reviewers, revocation, panels on the experience, claim and dashboard pages, notifications."""

from __future__ import annotations

import re

import sqlalchemy as sa

from app.claims.models import ClaimState
from app.claims.validations import ClaimValidation
from app.core import notifications as notices
from app.core.audit import AuditEvent
from app.extensions import db
from app.validation import operations as ops
from app.validation.models import ItemDecision, SubmissionState
from tests.translated import in_template, in_template_up_to, printed, printed_up_to


def decide(client, w, item, decision, **fields):
    data = {f"item-{item.id}-decision": decision}
    data.update({f"item-{item.id}-{k}": v for k, v in fields.items()})
    return client.post(f"/validation/submissions/{w.submission.id}/items/{item.id}/decide", data=data)


def test_volunteer_submits_chosen_claims(world, client, login, outbox):
    login(client, world.volunteer)
    url = f"/validation/experiences/{world.mission.id}/submit"
    page = client.get(url)
    assert page.status_code == 200 and "Solidarité Monde" in page.text and "C3" in page.text
    response = client.post(url, data={"organisation_id": world.ngo.id, "claim_ids": [world.claims[0].id]})
    assert response.status_code == 302
    assert [c.state for c in world.claims] == [ClaimState.SUBMITTED, ClaimState.DRAFT, ClaimState.DRAFT]
    detail = client.get(f"/experiences/{world.mission.id}")
    assert "under review by your NGO" in detail.text and "Awaiting review" in detail.text
    assert client.get(f"/experiences/{world.mission.id}/edit").status_code == 404
    assert client.get(f"/portfolio/claims/{world.claims[0].id}/edit").status_code == 404
    assert client.get(f"/portfolio/claims/{world.claims[1].id}/edit").status_code == 200
    again = client.get(url)
    assert "already awaiting a review" in again.text


def test_submit_form_refuses_an_ngo_i_am_not_a_member_of(world, client, login, create_org):
    stranger = create_org("Stranger")
    login(client, world.volunteer)
    response = client.post(
        f"/validation/experiences/{world.mission.id}/submit",
        data={"organisation_id": stranger.id, "claim_ids": [world.claims[0].id]},
    )
    assert response.status_code == 422 and "one of your sending NGOs" in response.text
    assert world.claims[0].state == ClaimState.DRAFT


def test_queue_and_review_page_for_a_trainer(submitted, client, login):
    w = submitted
    login(client, w.trainer)
    queue = client.get("/validation/reviews")
    assert queue.status_code == 200 and "Water project coordinator" in queue.text and "Valentine" in queue.text
    assert in_template("fr", "Median time to decision") not in queue.text  # admins only (the trainer reads French)
    assert "Valentine" not in client.get("/validation/reviews?volunteer=zzz").text.split("<tbody>")[1]
    page = client.get(f"/validation/submissions/{w.submission.id}")
    assert page.status_code == 200
    assert f'src="/validation/submissions/{w.submission.id}/evidence/{w.image.id}?inline=1"' in page.text
    assert f'href="/validation/submissions/{w.submission.id}/evidence/{w.pdf.id}?inline=1" target="_blank"' in page.text
    # PDFs can also be read on the page itself, in a frame loaded only when the reviewer opens it.
    assert f'<iframe src="/validation/submissions/{w.submission.id}/evidence/{w.pdf.id}?inline=1"' in page.text
    assert w.items[0].content_hash in page.text
    assert page.text.count('name="item-') >= 9  # a decision form per claim


def test_admin_sees_stats_but_cannot_decide(submitted, client, login):
    w = submitted
    login(client, w.admin)
    queue = client.get("/validation/reviews")
    # The admin reads French.
    assert in_template("fr", "Median time to decision") in queue.text
    assert in_template("fr", "Submissions awaiting review") in queue.text
    page = client.get(f"/validation/submissions/{w.submission.id}")
    record = in_template_up_to("fr", "Record the decision on %(code)s", "code")  # whatever the competence
    assert page.status_code == 200 and record not in page.text
    assert decide(client, w, w.items[0], "validated").status_code == 403


def test_decision_with_missing_comment_is_422_next_to_the_field(submitted, client, login):
    w = submitted
    login(client, w.trainer)
    response = decide(client, w, w.items[0], "rejected", comment="")
    assert response.status_code == 422
    assert f'id="item-{w.items[0].id}-comment-error"' in response.text
    assert w.items[0].is_pending


def test_two_trainers_one_wins_the_other_gets_409(submitted, app, login):
    w = submitted
    first, second = app.test_client(), app.test_client()
    login(first, w.trainer)
    login(second, w.trainer2)
    assert decide(first, w, w.items[0], "validated").status_code == 302
    response = decide(second, w, w.items[0], "rejected", comment="No")
    assert response.status_code == 409
    # trainer2 reads Spanish; the message ends with the time of the first decision.
    already = printed_up_to("es", "Already decided by %(name)s on %(time)s.", "time", name="Théo Trainer")
    assert already.startswith("Théo Trainer") and already in response.text
    decisions = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action.like("item.%"))).all()
    assert [e.action for e in decisions] == ["item.validated"]


def test_full_round_then_resubmission_shows_the_diff_escaped(submitted, client, login):
    w = submitted
    login(client, w.trainer)
    assert decide(client, w, w.items[0], "validated").status_code == 302
    assert decide(client, w, w.items[1], "changes_requested", comment="More detail").status_code == 302
    assert decide(client, w, w.items[2], "rejected", comment="Not here").status_code == 302
    db.session.refresh(w.submission)
    assert w.submission.state == SubmissionState.RETURNED
    volunteer = client.application.test_client()
    from tests.conftest import pytest  # noqa: F401 - keeps the import graph obvious

    login(volunteer, w.volunteer)
    claim = w.claims[1]
    form = {
        "level_rank": "2",
        "situation": claim.situation,
        "actions": "I <script>alert(1)</script> ran it.",
        "evidence_ids": [e.id for e in claim.evidence],
    }
    assert volunteer.post(f"/portfolio/claims/{claim.id}/edit", data=form).status_code == 302
    response = volunteer.post(
        f"/validation/experiences/{w.mission.id}/submit", data={"organisation_id": w.ngo.id, "claim_ids": [claim.id]}
    )
    assert response.status_code == 302
    page = client.get(f"/validation/submissions/{w.submission.id}")
    assert in_template("fr", "What changed since the last review") in page.text  # the trainer reads French
    assert "<ins> &lt;script&gt;alert(1)&lt;/script&gt; ran it.</ins>" in page.text or (
        "&lt;script&gt;" in page.text and "<script>alert" not in page.text
    )
    assert "<del>" in page.text and in_template("fr", "Earlier rounds") in page.text


def test_other_ngo_trainer_gets_404_everywhere(submitted, client, login):
    w = submitted
    login(client, w.other_trainer)
    base = f"/validation/submissions/{w.submission.id}"
    assert client.get(base).status_code == 404
    assert client.get(f"{base}/evidence/{w.image.id}").status_code == 404
    assert decide(client, w, w.items[0], "validated").status_code == 404
    assert client.post(f"{base}/facts", data={"facts_decision": "confirmed"}).status_code == 404
    assert "Water project" not in client.get("/validation/reviews").text
    ops.decide_item(w.items[0], w.trainer, ops.Decision(ItemDecision.VALIDATED))
    validation = db.session.scalar(sa.select(ClaimValidation))
    assert client.get(f"/validation/validations/{validation.id}/revoke").status_code == 404


def test_reviewer_evidence_route(submitted, client, login, world):
    w = submitted
    login(client, w.trainer)
    base = f"/validation/submissions/{w.submission.id}/evidence"
    image = client.get(f"{base}/{w.image.id}?inline=1")
    assert image.status_code == 200 and image.mimetype == "image/png"
    assert image.headers["Content-Disposition"].startswith("inline")
    assert "sandbox" in image.headers["Content-Security-Policy"]
    assert image.headers["X-Content-Type-Options"] == "nosniff"
    pdf = client.get(f"{base}/{w.pdf.id}")
    assert pdf.headers["Content-Disposition"].startswith("attachment")
    framed = client.get(f"{base}/{w.pdf.id}?inline=1")
    assert framed.headers["Content-Disposition"].startswith("inline")
    assert framed.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert "frame-ancestors 'self'" in framed.headers["Content-Security-Policy"]
    assert "script-src" not in framed.headers["Content-Security-Policy"]  # default-src 'none' covers scripts
    assert "default-src 'none'" in framed.headers["Content-Security-Policy"]
    from tests.cast import store_evidence

    stranger = store_evidence(w.volunteer, b"%PDF-1.4 not submitted", title="Private")
    assert client.get(f"{base}/{stranger.id}").status_code == 404
    assert client.get(f"{base}/999999").status_code == 404


def test_facts_confirmation_form(submitted, client, login):
    w = submitted
    login(client, w.trainer)
    url = f"/validation/submissions/{w.submission.id}/facts"
    assert client.post(url, data={"facts_decision": "corrected", "facts_comment": ""}).status_code == 422
    assert client.post(url, data={"facts_decision": "confirmed"}).status_code == 302
    second = client.application.test_client()
    login(second, w.trainer2)
    response = second.post(url, data={"facts_decision": "confirmed"})
    already = printed_up_to("es", "Already decided by %(name)s on %(time)s.", "time", name="Théo Trainer")
    assert response.status_code == 409 and already.startswith("Théo Trainer") and already in response.text


def test_revocation_is_shown_wherever_the_claim_appears(submitted, client, login):
    w = submitted
    ops.decide_item(w.items[0], w.trainer, ops.Decision(ItemDecision.VALIDATED))
    validation = db.session.scalar(sa.select(ClaimValidation))
    login(client, w.trainer)
    assert client.get(f"/validation/validations/{validation.id}/revoke").status_code == 404
    admin = client.application.test_client()
    login(admin, w.admin)
    url = f"/validation/validations/{validation.id}/revoke"
    assert admin.post(url, data={"reason": ""}).status_code == 422
    assert admin.post(url, data={"reason": "Mission cut short"}).status_code == 302
    volunteer = client.application.test_client()
    login(volunteer, w.volunteer)
    for page in (
        f"/portfolio/claims/{w.claims[0].id}",
        f"/experiences/{w.mission.id}",
        "/portfolio/",
    ):
        text = volunteer.get(page).text
        assert "Revoked" in text and "Mission cut short" in text, page
    notes = volunteer.get("/validation/notifications").text
    assert "was revoked" in notes


def test_claim_page_shows_validation_decisions_and_history(submitted, client, login):
    w = submitted
    ops.decide_item(w.items[1], w.trainer, ops.Decision(ItemDecision.CHANGES_REQUESTED, comment="Attach proof"))
    login(client, w.volunteer)
    text = client.get(f"/portfolio/claims/{w.claims[1].id}").text
    assert "Changes requested" in text and "Attach proof" in text and "History" in text
    text = client.get(f"/experiences/{w.mission.id}").text
    assert "Review by Solidarité Monde" in text and "Submitted for validation" in text


def test_notifications_page_and_mark_read(submitted, client, login):
    w = submitted
    login(client, w.trainer)
    page = client.get("/validation/notifications")
    submitted_text = "%(volunteer)s submitted “%(title)s” for review."
    expected = printed("fr", submitted_text, volunteer="Valentine", title="Water project coordinator")
    assert expected in page.text  # the trainer reads French
    link = re.search(r'href="(/validation/submissions/\d+)"', page.text).group(1)
    assert client.get(link).status_code == 200
    assert client.post("/validation/notifications/read").status_code == 302
    assert notices.unread_count(w.trainer) == 0


def test_navigation_shows_reviews_to_trainers_only(submitted, client, login):
    login(client, submitted.volunteer)
    text = client.get("/validation/notifications").text
    assert "/validation/reviews" not in text and "/validation/notifications" in text
    other = client.application.test_client()
    login(other, submitted.trainer)
    assert 'href="/validation/reviews"' in other.get("/validation/notifications").text
