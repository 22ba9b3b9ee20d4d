"""Over https, the forms of the pages that hide their referrer work (issue 22, point 1).

A host referent's confirmation page and a shared portfolio are served with ``Referrer-Policy: no-referrer`` (their
address carries a secret, or the page is private); the browser then posts their forms without a ``Referer``, which
Flask-WTF's strict https rule refused with a 400 in every https deployment. Here, in real Chromium over https, a
host referent confirms a mission and an adviser saves a private note, and the test checks each step that mattered:
the page's policy, the POST without a Referer, and the answer stored.
"""

from __future__ import annotations

import secrets
from datetime import date

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from tests.e2e.helpers import Mailbox, check_page, login, unique_email, unique_name, visit

pytestmark = pytest.mark.browser


def _mission_with_a_claim(live_server, volunteer, org) -> tuple[int, int]:
    from app.auth.models import User
    from tests import cast

    with live_server.committing() as session:
        owner = session.get(User, volunteer.id)
        mission, [claim], _nodes = cast.mission_with_claims(
            owner,
            framework_slug=f"https-forms-{secrets.token_hex(4)}",
            claim_count=1,
            situation="A rural health post.",
            title="Community health worker",
            start_date=date(2024, 1, 8),
            end_date=date(2024, 12, 20),
            status_code=None,
            host_name="Centro de Salud",
            sending_organisation_id=org.id,
            host_country="PE",
        )
        return mission.id, claim.id


def _posts_to(page, path_part: str) -> list:
    """Every POST the page sends to a URL containing ``path_part`` (recorded from now on)."""
    posts = []
    page.on(
        "request",
        lambda request: posts.append(request) if request.method == "POST" and path_part in request.url else None,
    )
    return posts


def test_referent_confirms_and_adviser_saves_a_note_over_https(live_server, mailbox, page, new_page):
    from app.auth.models import User
    from app.experiences.models import Experience
    from app.sharing import operations as share_ops
    from app.sharing.models import AdviserNote, ShareKind
    from app.validation import operations as validation_ops
    from app.validation.models import ReferentRequest

    assert live_server.url.startswith("https://")
    org = live_server.create_org(unique_name("Salud Sin Fronteras"))
    volunteer = live_server.create_user(name="Vera Volunteer", locale="en")
    adviser = live_server.create_user(name="Ada Adviser", adviser=True, locale="en")
    live_server.add_member(org, volunteer, "volunteer")
    mission_id, claim_id = _mission_with_a_claim(live_server, volunteer, org)

    # 1. A host referent confirms the mission through the e-mailed link.
    referent_email = unique_email("referent")
    with live_server.committing() as session:
        referent_request, _token = validation_ops.request_referent(
            session.get(User, volunteer.id),
            session.get(Experience, mission_id),
            validation_ops.ReferentData(name="Rosa Quispe", email=referent_email, language="en", claim_ids=(claim_id,)),
        )
        request_id = referent_request.id
    link = Mailbox.links(mailbox.wait_for(referent_email))[0]
    assert link.startswith(live_server.url + "/validation/referent/")
    referent_page = new_page()
    response = visit(referent_page, link)
    assert response.headers["referrer-policy"] == "no-referrer"
    posts = _posts_to(referent_page, "/validation/referent/")
    referent_page.locator("input[name=facts_confirmed]").check()
    referent_page.locator("input[name=claim_ids]").first.check()
    referent_page.locator("textarea[name=comment]").fill("Vera worked with us all year.")
    referent_page.locator("main form button[type=submit]").click()
    check_page(referent_page)
    assert len(posts) == 1 and "referer" not in posts[0].headers  # the case the strict rule refused
    assert posts[0].response().status in (200, 302, 303)
    with live_server.committing() as session:
        answered = session.scalar(sa.select(ReferentRequest).where(ReferentRequest.id == request_id))
        assert answered.confirmed_at is not None
        assert answered.facts_confirmed is True
        assert answered.confirmed_claim_ids == [claim_id]
        assert answered.comment == "Vera worked with us all year."

    # 2. An adviser saves a private note on the portfolio shared with them.
    with live_server.committing() as session:
        share, _token = share_ops.create_share(
            session.get(User, volunteer.id), share_ops.ShareData(kind=ShareKind.ADVISER, adviser_email=adviser.email)
        )
        share_id = share.id
    login(page, adviser.email)
    response = visit(page, f"/shared/{share_id}")
    assert response.headers["referrer-policy"] == "no-referrer"
    posts = _posts_to(page, f"/shared/{share_id}/notes")
    page.get_by_role("textbox", name="My private notes").fill("Strong fit for a public-health coordinator role.")
    page.get_by_role("button", name="Save my notes").click()
    expect(page.get_by_role("status")).to_contain_text("Your notes have been saved")
    check_page(page)
    assert len(posts) == 1 and "referer" not in posts[0].headers
    with live_server.committing() as session:
        note = session.scalar(sa.select(AdviserNote).where(AdviserNote.share_id == share_id))
        assert note.body == "Strong fit for a public-health coordinator role."
