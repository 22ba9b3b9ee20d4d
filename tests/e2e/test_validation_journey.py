"""Validation journey in a real browser: a volunteer submits a competence → a trainer requests changes → the
volunteer edits and resubmits with two more → the trainer sees what changed, validates two and rejects one →
a host referent confirms through the e-mailed link. Every page passes axe (WCAG 2.2 AA) and the CSP."""

from __future__ import annotations

import secrets
from datetime import date

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import Mailbox, check_page, login, unique_email, unique_name, visit

pytestmark = pytest.mark.browser


def _seed(live_server, volunteer, org):
    """A mission of ``volunteer`` with three claims on a fresh framework; claim C1 has a photo as evidence."""
    from app.auth.models import User
    from tests import cast
    from tests.validation.helpers import tiny_png

    with live_server.committing() as session:
        owner = session.get(User, volunteer.id)
        photo = cast.store_evidence(owner, tiny_png(), title="Photo of the health post", mime="image/png")
        mission, claims, _nodes = cast.mission_with_claims(
            owner,
            framework_slug=f"journey-{secrets.token_hex(4)}",
            evidence=[photo],
            situation="A rural health post in the Andes.",
            actions="I organised the {code} activities.",
            title="Health post coordinator",
            start_date=date(2024, 2, 1),
            end_date=date(2024, 11, 30),
            status_code=None,
            sending_organisation_id=org.id,
            host_name="Centro de Salud",
            host_country="BO",
        )
        return mission.id, [c.id for c in claims]


def _decide(page, code: str, decision: str, comment: str = "") -> None:
    form = page.locator("form", has=page.get_by_role("button", name=f"Record the decision on {code}"))
    form.get_by_label(decision, exact=True).check()
    if comment:
        form.get_by_label("Comment or reason").fill(comment)
    form.get_by_role("button", name=f"Record the decision on {code}").click()
    expect(page.get_by_role("status")).to_contain_text("Your decision has been recorded")
    check_page(page)


def test_submit_review_resubmit_decide_and_referent(live_server, mailbox, page, new_page):
    org = live_server.create_org(unique_name("Santé Solidaire"))
    volunteer = live_server.create_user(name="Vera Volunteer", locale="en")
    trainer = live_server.create_user(name="Tom Trainer", locale="en")
    live_server.add_member(org, volunteer, "volunteer")
    live_server.add_member(org, trainer, "trainer")
    mission_id, _claim_ids = _seed(live_server, volunteer, org)

    # 1. The volunteer submits competence C1 only.
    login(page, volunteer.email)
    visit(page, f"/experiences/{mission_id}")
    page.get_by_role("link", name="Submit for validation").click()
    check_page(page)
    page.get_by_label("Sending NGO").select_option(label=org.name)
    page.get_by_label("C2 — Competence C2").uncheck()
    page.get_by_label("C3 — Competence C3").uncheck()
    page.get_by_role("button", name="Submit for validation").click()
    expect(page.get_by_role("status")).to_contain_text("has been sent to")
    check_page(page)
    expect(page.get_by_text("This experience is under review by your NGO")).to_be_visible()

    # 2. The trainer is told by e-mail, opens the review and requests changes.
    link = mailbox.latest_link(trainer.email)
    assert link.startswith(live_server.url + "/validation/submissions/"), link
    trainer_page = new_page()
    login(trainer_page, trainer.email)
    visit(trainer_page, "/validation/reviews")
    trainer_page.get_by_role("link", name="Health post coordinator").click()
    check_page(trainer_page)
    expect(trainer_page.get_by_role("img", name="Photo of the health post")).to_be_visible()
    _decide(trainer_page, "C1", "Request changes", "Please say what you did yourself.")
    mail = mailbox.wait_for(volunteer.email)
    assert mail["Content-Language"] == "en" and "Please say what you did yourself." in Mailbox.body(mail)
    assert Mailbox.links(mail) == [f"{live_server.url}/experiences/{mission_id}"]

    # 3. The volunteer edits C1 and resubmits it with C2 and C3.
    visit(page, f"/experiences/{mission_id}")
    page.get_by_role("link", name="C1", exact=True).first.click()
    check_page(page)
    expect(page.get_by_text("Please say what you did yourself.").first).to_be_visible()
    page.get_by_role("link", name="Edit").click()
    check_page(page)
    page.get_by_label("Actions").fill("I myself trained six community health workers.")
    page.get_by_role("button", name="Save the claim").click()
    check_page(page)
    visit(page, f"/experiences/{mission_id}")
    page.get_by_role("link", name="Submit for validation").click()
    check_page(page)
    page.get_by_role("button", name="Submit for validation").click()
    expect(page.get_by_role("status")).to_contain_text("has been sent to")
    check_page(page)

    # 4. The trainer sees what changed, confirms the facts, validates two competences and rejects one.
    visit(trainer_page, "/validation/reviews")
    trainer_page.get_by_role("link", name="Health post coordinator").click()
    check_page(trainer_page)
    expect(trainer_page.get_by_role("heading", name="What changed since the last review")).to_be_visible()
    expect(trainer_page.locator(".diff-list")).to_contain_text("myself")
    expect(trainer_page.locator(".diff-list del").first).to_contain_text("organised")
    expect(trainer_page.locator(".diff-list ins").first).to_contain_text("myself")
    trainer_page.get_by_label("I confirm these facts").check()
    trainer_page.get_by_role("button", name="Record my answer on the facts").click()
    check_page(trainer_page)
    _decide(trainer_page, "C1", "Validate")
    _decide(trainer_page, "C2", "Validate")
    _decide(trainer_page, "C3", "Reject", "Not shown during this mission.")
    expect(trainer_page.get_by_text("Decided", exact=True)).to_be_visible()
    mailbox.wait_for(volunteer.email, count=2)

    # 5. The volunteer asks the host referent, who answers through the e-mailed link, in Spanish.
    visit(page, f"/experiences/{mission_id}")
    page.get_by_role("link", name="Ask a host referent to confirm").click()
    check_page(page)
    referent_email = unique_email("referent")
    page.get_by_label("Referent's name").fill("Rosa Quispe")
    page.get_by_label("Referent's e-mail address").fill(referent_email)
    page.get_by_label("Organisation").fill("Centro de Salud")
    page.get_by_label("Role").fill("Head nurse")
    page.get_by_label("Language of the request").select_option("es")
    page.get_by_label("C1 — Competence C1").check()
    page.get_by_label("C2 — Competence C2").check()
    page.get_by_role("button", name="Send the request").click()
    check_page(page)
    referent_mail = mailbox.wait_for(referent_email)
    assert referent_mail["Content-Language"] == "es"
    referent_link = Mailbox.links(referent_mail)[0]
    assert referent_link.startswith(live_server.url + "/validation/referent/")
    referent_page = new_page(locale="es")
    visit(referent_page, referent_link)
    expect(referent_page.locator("html")).to_have_attribute("lang", "es")
    referent_page.locator("input[name=facts_confirmed]").check()
    for box in referent_page.locator("input[name=claim_ids]").all():
        box.check()
    referent_page.locator("textarea[name=comment]").fill("Vera worked with us for ten months.")
    referent_page.locator("main form button[type=submit]").click()
    check_page(referent_page)
    visit(referent_page, referent_link, status=410)  # single use: the second visit says it was answered

    # 6. Both confirmations show on the experience, beside each other.
    visit(page, f"/experiences/{mission_id}")
    panel = page.get_by_role("region", name="Validation")
    expect(panel).to_contain_text("Rosa Quispe (Head nurse, Centro de Salud) answered")
    expect(panel).to_contain_text("Vera worked with us for ten months.")
    expect(panel).to_contain_text("validated by Tom Trainer")
    expect(panel).to_contain_text("Not shown during this mission.")
    visit(page, "/validation/notifications")
