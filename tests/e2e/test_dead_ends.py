"""Dead ends that explain (issue 15, point 4), in real Chromium: a host referent who opens their link again and an
adviser whose share was revoked are told what happened and what to do, in the request's language — while an
unknown token still gets the generic 404."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import Mailbox, check_page, login, unique_email, unique_name, visit
from tests.e2e.test_https_forms import _mission_with_a_claim

pytestmark = pytest.mark.browser


def test_a_reused_referent_link_explains_itself_in_the_request_language(live_server, mailbox, new_page):
    from app.auth.models import User
    from app.experiences.models import Experience
    from app.validation import operations as validation_ops

    org = live_server.create_org(unique_name("Agua Viva"))
    volunteer = live_server.create_user(name="Vera Volunteer", locale="en")
    live_server.add_member(org, volunteer, "volunteer")
    mission_id, claim_id = _mission_with_a_claim(live_server, volunteer, org)
    referent_email = unique_email("referent")
    with live_server.committing() as session:
        validation_ops.request_referent(
            session.get(User, volunteer.id),
            session.get(Experience, mission_id),
            validation_ops.ReferentData(name="Rosa Quispe", email=referent_email, language="es", claim_ids=(claim_id,)),
        )
    link = Mailbox.links(mailbox.wait_for(referent_email))[0]

    # An English browser: the request was sent in Spanish, so every page of the link is in Spanish.
    referent = new_page(locale="en")
    visit(referent, link)
    referent.locator("input[name=facts_confirmed]").check()
    referent.locator("main form button[type=submit]").click()
    check_page(referent)

    visit(referent, link, status=410)
    # The page is set in the project's own font, served by the app (not a system font).
    loaded = referent.evaluate(
        "document.fonts.ready.then(() => [...document.fonts].filter("
        "f => f.family.replaceAll('\"', '') === 'Source Sans Pro' && f.status === 'loaded').length)"
    )
    assert loaded >= 1
    family = referent.evaluate("getComputedStyle(document.body).fontFamily")
    assert family.startswith('"Source Sans Pro"') and "system-ui" not in family
    assert referent.locator("html").get_attribute("lang") == "es"
    expect(referent.get_by_role("heading", level=1)).to_have_text(
        live_server.translate("es", "You have already answered")
    )
    expect(referent.locator("main")).to_contain_text(
        live_server.translate(
            "es",
            "If something in your answer was wrong, tell %(name)s: their organisation can ask you again.",
            name="Vera Volunteer",
        )
    )

    # A made-up token is not told anything: the generic 404, in the browser's language.
    stranger = new_page(locale="en")
    visit(stranger, "/validation/referent/" + "A" * 43, status=404)
    expect(stranger.locator("main")).not_to_contain_text("already answered")


def test_a_revoked_share_explains_itself_to_the_adviser(live_server, page, new_page):
    from app.auth.models import User
    from app.sharing import operations as share_ops
    from app.sharing.models import Share, ShareKind

    volunteer = live_server.create_user(name="Vera Volunteer", locale="en")
    adviser = live_server.create_user(name="Adèle Adviser", adviser=True, locale="fr")
    with live_server.committing() as session:
        share, _token = share_ops.create_share(
            session.get(User, volunteer.id), share_ops.ShareData(kind=ShareKind.ADVISER, adviser_email=adviser.email)
        )
        share_id = share.id
    adviser_page = new_page(locale="en")
    login(adviser_page, adviser.email)
    visit(adviser_page, f"/shared/{share_id}")

    with live_server.committing() as session:
        share_ops.revoke_share(session.get(Share, share_id), actor=session.get(User, volunteer.id))

    # The adviser's account is in French: the explanation is too, whatever the browser says.
    visit(adviser_page, f"/shared/{share_id}", status=410)
    assert adviser_page.locator("html").get_attribute("lang") == "fr"
    expect(adviser_page.get_by_role("heading", level=1)).to_have_text(
        live_server.translate("fr", "This share has ended")
    )
    expect(adviser_page.locator("main")).to_contain_text(
        live_server.translate(
            "fr", "If you still need it, ask %(name)s to share their portfolio with you again.", name="Vera Volunteer"
        )
    )
    adviser_page.get_by_role("link", name=live_server.translate("fr", "Back to the home page")).click()
    check_page(adviser_page)

    # Someone else signed in learns nothing about the share: the generic 404.
    other = live_server.create_user(locale="en")
    login(page, other.email)
    visit(page, f"/shared/{share_id}", status=404)
    expect(page.locator("main")).not_to_contain_text("share has ended")
