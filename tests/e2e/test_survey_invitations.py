"""The survey for small NGOs in a real browser: the admin's invitation page counts what was sent, opened and
answered, asks before sending again; a returnee follows the e-mailed link and sees the consent choice explained at
the top of the questionnaire; the report says in words that there are not enough answers yet. Every page passes
axe and, at the end of the session, the Nu HTML checker."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import check_page, login, unique_name, visit
from tests.e2e.test_survey_journey import _make_eligible

pytestmark = pytest.mark.browser


def test_the_admin_counts_invitations_and_confirms_before_sending_again(live_server, mailbox, page, new_page):
    org = live_server.create_org(unique_name("Petite ONG"))
    admin = live_server.create_user(name="Ada Admin", locale="en")
    returnees = [live_server.create_user(name=f"Returnee {i}", locale="en") for i in range(3)]
    live_server.add_member(org, admin, "admin")
    for user in returnees:
        live_server.add_member(org, user, "volunteer")
    _make_eligible(live_server, returnees[0], org)

    login(page, admin.email)
    visit(page, f"/survey/orgs/{org.slug}/report")
    expect(page.get_by_text("Not enough answers yet (n = 0 of 5 needed).")).to_be_visible()
    page.get_by_role("link", name="Invitations: sent, opened and answered, and sending").click()
    check_page(page)
    expect(page.locator("#count-sent")).to_have_text("0")
    expect(page.locator("#last-sent")).to_have_text("never")
    page.get_by_role("button", name="Send the invitations").click()
    check_page(page)
    expect(page.get_by_role("status")).to_contain_text("Invitation sent to 3 returnees")
    expect(page.locator("#count-sent")).to_have_text("3")
    expect(page.locator("#count-answered")).to_have_text("fewer than 5")

    # The returnee follows the link: counted as opened; the consent choice is explained at the top.
    message = mailbox.wait_for(returnees[0].email)
    link = re.search(r"https://\S+\?i=\S+", mailbox.body(message)).group(0)
    reader = new_page()
    login(reader, returnees[0].email)
    reader.goto(link)
    check_page(reader)
    assert "?i=" not in reader.url
    expect(reader.get_by_role("heading", name="Your choice: who may count your answers")).to_be_visible()
    expect(reader.get_by_text("Nothing is ticked by default")).to_be_visible()

    visit(page, f"/survey/orgs/{org.slug}/invitations")
    expect(page.locator("#count-opened")).to_have_text("1")

    # Sending again asks first; going back sends nothing.
    page.get_by_role("button", name="Send the invitations again").click()
    check_page(page)
    expect(page.get_by_role("heading", name="Send the invitations again?")).to_be_visible()
    page.get_by_role("link", name="No, go back").click()
    check_page(page)
    expect(page.locator("#count-sent")).to_have_text("3")
    page.get_by_role("button", name="Send the invitations again").click()
    check_page(page)
    page.get_by_role("button", name="Yes, send them again").click()
    check_page(page)
    expect(page.locator("#count-sent")).to_have_text("6")
