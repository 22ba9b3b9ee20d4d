"""The review page of issue 15 through HTTP: the summary with jump links, technical details folded away, decisions
made in place (the fragment answered to the page's script) and the ordinary POST kept for pages without script;
the queue's orders and programme filter."""

from __future__ import annotations

import re
from datetime import timedelta

from app.core.db import utcnow
from app.extensions import db
from app.validation.models import ItemDecision, SubmissionState
from tests import cast
from tests.translated import in_template

FRAGMENT = {"X-Acquis-Fragment": "1"}


def _decide_url(w, item):
    return f"/validation/submissions/{w.submission.id}/items/{item.id}/decide"


def test_the_review_page_opens_with_a_summary_linking_to_each_claim(submitted, client, login):
    w = submitted
    login(client, w.trainer)
    page = client.get(f"/validation/submissions/{w.submission.id}").text
    summary = page.split('id="review-summary"')[1].split("</section>")[0]
    for item in w.items:
        assert f'href="#item-{item.id}"' in summary and f'id="item-{item.id}"' in page
    assert page.index('id="review-summary"') < page.index('id="facts"') < page.index(f'id="item-{w.items[0].id}"')
    # Fingerprints are still there for who needs them, but inside a closed <details>, never in the foreground.
    block = page.split(f'id="item-{w.items[0].id}"')[1]
    assert w.items[0].content_hash in block.split("</details>")[0].split('<details class="technical">')[1]
    assert 'src="/static/js/review.js' in page
    assert in_template("fr", "Technical details") in page


def test_the_script_is_not_loaded_for_a_reader_who_cannot_decide(submitted, client, login):
    w = submitted
    login(client, w.volunteer)
    page = client.get(f"/validation/submissions/{w.submission.id}")
    assert page.status_code in (200, 404)
    assert "review.js" not in page.text


def test_a_decision_in_place_answers_the_fragments_without_a_redirect(submitted, client, login):
    w = submitted
    login(client, w.trainer)
    item = w.items[0]
    response = client.post(_decide_url(w, item), data={f"item-{item.id}-decision": "validated"}, headers=FRAGMENT)
    assert response.status_code == 200
    assert "<html" not in response.text and "<main" not in response.text  # fragments, not a page
    ids = re.findall(r'^<(?:div|section) [^>]*\bid="([^"]+)"', response.text, flags=re.M)

    assert ids == ["flash-messages", "review-summary", f"item-{item.id}"]
    assert in_template("fr", "Your decision has been recorded.") in response.text
    assert f'name="item-{item.id}-decision"' not in response.text  # decided: its form is gone
    db.session.expire_all()
    assert item.decision == ItemDecision.VALIDATED
    # The session's flash was not used: the next page shows no stale message.
    assert (
        in_template("fr", "Your decision has been recorded.")
        not in client.get(f"/validation/submissions/{w.submission.id}").text
    )


def test_an_invalid_decision_in_place_answers_the_block_with_its_errors(submitted, client, login):
    w = submitted
    login(client, w.trainer)
    item = w.items[1]
    response = client.post(
        _decide_url(w, item), data={f"item-{item.id}-decision": "changes_requested"}, headers=FRAGMENT
    )
    assert response.status_code == 422
    assert "error-summary" in response.text and f'name="item-{item.id}-decision"' in response.text
    db.session.expire_all()
    assert item.decision == ItemDecision.PENDING


def test_a_decision_already_made_elsewhere_answers_409_in_place(submitted, client, login):
    w = submitted
    login(client, w.trainer)
    item = w.items[0]
    from app.validation import operations as ops

    ops.decide_item(item, w.trainer2, ops.Decision(ItemDecision.VALIDATED))
    db.session.flush()
    response = client.post(_decide_url(w, item), data={f"item-{item.id}-decision": "rejected"}, headers=FRAGMENT)
    assert response.status_code == 409
    assert "flash-warning" in response.text and f'id="item-{item.id}"' in response.text


def test_without_the_script_a_decision_still_redirects_with_a_message(submitted, client, login):
    w = submitted
    login(client, w.trainer)
    item = w.items[2]
    response = client.post(_decide_url(w, item), data={f"item-{item.id}-decision": "validated"})
    assert response.status_code == 302 and response.headers["Location"].endswith("#flash-messages")


def test_the_queue_sorts_by_waiting_time_and_volunteer_and_filters_by_programme(world, client, login):
    w = world
    older_mission = cast.create_mission(w.volunteer, title="Older mission", status_code="SCI")
    older_claims = cast.create_claims(w.volunteer, older_mission, w.nodes[:1])
    older = cast.submit_claims(w.volunteer, older_mission, w.ngo, older_claims)
    older.submitted_at = utcnow() - timedelta(days=12)
    newer = cast.submit_claims(w.volunteer, w.mission, w.ngo, w.claims)  # the cast's mission: VSI
    db.session.flush()
    assert older.state == newer.state == SubmissionState.PENDING
    login(client, w.trainer)

    def rows(query):
        body = client.get(f"/validation/reviews?{query}").text.split("<tbody>")[1].split("</tbody>")[0]
        return re.findall(r"<a href=\"/validation/submissions/(\d+)\">", body)

    assert rows("state=pending") == [str(newer.id), str(older.id)]
    assert rows("state=pending&order=waiting") == [str(older.id), str(newer.id)]
    assert rows("state=pending&scheme=SCI") == [str(older.id)]
    assert rows("state=pending&scheme=VSI") == [str(newer.id)]
    assert set(rows("state=pending&order=volunteer")) == {str(older.id), str(newer.id)}
    page = client.get("/validation/reviews?state=pending&order=waiting").text
    assert "12" in page.split(f"/validation/submissions/{older.id}")[1].split("</tr>")[0]  # waiting for 12 days
    assert client.get("/validation/reviews?order=nonsense").status_code == 200  # ignored, not an error


def test_unwritten_parts_of_a_narrative_take_one_line(submitted, client, login):
    w = submitted
    login(client, w.trainer)
    page = client.get(f"/validation/submissions/{w.submission.id}").text
    block = page.split(f'id="item-{w.items[0].id}"')[1].split("</section>")[0]
    snap = w.items[0].snapshot["narrative"]
    empty = [part for part, text in snap.items() if not text]
    assert empty and snap["situation"]  # the cast writes some parts only
    assert block.count(in_template("fr", "Not written:")) == 1
    assert in_template("fr", "Not written.") not in block
