"""Foundation journeys in a real browser: register → confirm by e-mail → sign in → join an organisation (approved
by its admin in another browser) → switch language; keyboard use; every foundation page passes axe (WCAG 2.2 AA).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import (
    TEST_PASSWORD,
    check_page,
    focused_element,
    login,
    unique_email,
    unique_name,
    visit,
)

pytestmark = pytest.mark.browser


def switch_language(page, code: str) -> None:
    """Use the header's language switcher (a select and a button, no script needed)."""
    page.locator("#language-select").select_option(code)
    page.locator("form.language-switcher button[type=submit]").click()
    expect(page.locator("html")).to_have_attribute("lang", code)
    check_page(page)


def expect_heading(page, text: str) -> None:
    expect(page.get_by_role("heading", name=text, exact=True)).to_be_visible()


def test_register_confirm_join_and_switch_language(live_server, mailbox, page, new_page):
    """Issue 2's journey; every page on the way is checked (console, CSP, axe)."""
    # An organisation and its admin (a normal user, no two-factor) exist already.
    org = live_server.create_org(unique_name("Solidarité Sans Frontières"))
    org_admin = live_server.create_user(name="Olga Admin")
    live_server.add_member(org, org_admin, "admin")

    # A guest lands on the home page and creates an account, finding fields by their labels.
    visit(page, "/")
    page.get_by_role("main").get_by_role("link", name="Create an account").click()
    check_page(page)
    address = unique_email("volunteer")
    page.get_by_label("E-mail address").fill(address)
    page.get_by_label("Name shown to others").fill("Valentine Volontaire")
    page.get_by_label("Password (at least 12 characters)").fill(TEST_PASSWORD)
    page.get_by_label("Preferred language").select_option("en")
    page.get_by_role("button", name="Create my account").click()
    page.wait_for_url("**/auth/register/check-email")
    check_page(page)

    # The confirmation mail arrives on the real SMTP server; its link points at this very server.
    message = mailbox.wait_for(address)
    assert "Confirm your e-mail address" in message["Subject"]
    link = mailbox.latest_link(address)
    assert link.startswith(live_server.url + "/auth/verify/"), link
    visit(page, link)
    assert "/auth/login" in page.url
    expect(page.get_by_role("status")).to_contain_text(f"your e-mail address {address} is confirmed")

    # Sign in with the labelled fields.
    page.get_by_label("E-mail address").fill(address)
    page.get_by_label("Password", exact=True).fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello Valentine Volontaire")
    check_page(page)

    # Ask to join from the directory.
    page.get_by_role("navigation", name="Main menu").get_by_role("link", name="Organisations").click()
    check_page(page)
    page.get_by_role("button", name=f"Ask to join {org.name}").click()
    expect(page.get_by_role("status")).to_contain_text("Your request has been sent")
    check_page(page)
    expect(page.get_by_role("heading", level=1)).to_have_text(org.name)

    # The organisation's admin, in another browser, is told by mail and approves from the members page.
    assert any(live_server.url in link for link in mailbox.links(mailbox.wait_for(org_admin.email)))
    admin_page = new_page()
    login(admin_page, org_admin.email, org_admin.password)
    visit(admin_page, f"/organisations/{org.slug}/members")
    requests = admin_page.get_by_role("table", name="Requests to join")
    expect(requests).to_contain_text(address)
    requests.get_by_role("button", name="Approve Valentine Volontaire").click()
    expect(admin_page.get_by_role("status")).to_contain_text("Valentine Volontaire is now a member.")
    check_page(admin_page)
    expect(admin_page.get_by_role("table", name="Members")).to_contain_text(address)

    # The volunteer is told by mail and sees the membership as active on the home page.
    approval = mailbox.wait_for(address, count=2)
    assert org.name in mailbox.body(approval)
    visit(page, "/")
    row = page.get_by_role("table", name="My organisations").get_by_role("row").filter(has_text=org.name)
    expect(row).to_contain_text("Active")
    expect(row).to_contain_text("Volunteer")

    # Language switcher in the header: French, then Spanish, then back to English.
    # The expected texts come from the catalogs the live server uses, and are also pinned here.
    expect_heading(page, "My organisations")
    switch_language(page, "fr")
    assert live_server.translate("fr", "My organisations") == "Mes organisations"
    expect_heading(page, "Mes organisations")
    switch_language(page, "es")
    assert live_server.translate("es", "My organisations") == "Mis organizaciones"
    expect_heading(page, "Mis organizaciones")
    expect(page.get_by_role("navigation", name=live_server.translate("es", "Main menu"))).to_be_visible()
    switch_language(page, "en")
    expect_heading(page, "My organisations")
    # The choice is stored on the account: it survives a new page load.
    visit(page, "/organisations/")
    expect(page.locator("html")).to_have_attribute("lang", "en")


def test_keyboard_skip_link_and_visible_focus(page):
    """The first Tab reaches the skip link, which moves focus to <main>; fields follow, with a visible focus."""
    visit(page, "/auth/login")
    page.keyboard.press("Tab")
    first = focused_element(page)
    assert "skip-link" in first["className"], first
    assert first["href"] == "#main"
    assert first["outlineStyle"] != "none", first
    assert page.locator(".skip-link").is_visible()  # shown when focused

    page.keyboard.press("Enter")
    expect(page.locator("main")).to_be_focused()

    # From the main content, Tab reaches the form fields in order, each with a visible focus indicator.
    reached = []
    for _ in range(10):
        page.keyboard.press("Tab")
        element = focused_element(page)
        if element["name"] in {"email", "password", "remember"} or element["tag"] == "button":
            assert element["outlineStyle"] != "none", element
            reached.append(element["name"] or element["tag"])
        if element["tag"] == "button":
            break
    assert reached == ["email", "password", "remember", "button"], reached


def test_public_pages_pass_axe(page, live_server, mailbox):
    """Guest pages, including forms showing their errors and the 404 page."""
    visit(page, "/")
    visit(page, "/auth/verify")  # ask for a new confirmation link
    user = live_server.create_user()

    # Forgot password → the mailed link → the reset form.
    visit(page, "/auth/password/forgot")
    page.get_by_label("E-mail address").fill(user.email)
    page.get_by_role("button", name="Send the link").click()
    expect(page.get_by_role("status")).to_contain_text("If an account uses this address")
    check_page(page)
    visit(page, mailbox.latest_link(user.email))
    expect(page.get_by_label("New password (at least 12 characters)")).to_be_visible()

    # Login with an error shown: wrong password → 401 and an error next to the field.
    visit(page, "/auth/login")
    page.get_by_label("E-mail address").fill(user.email)
    page.get_by_label("Password", exact=True).fill("not the right password")
    with page.expect_response(re.compile(r"/auth/login$")) as response:
        page.get_by_role("button", name="Sign in").click()
    assert response.value.status == 401
    expect(page.locator(".error-message")).to_contain_text("The e-mail address or the password is incorrect.")
    check_page(page)

    # Register with errors shown: an empty form → 422, an error summary and messages by the fields.
    visit(page, "/auth/register")
    with page.expect_response(re.compile(r"/auth/register$")) as response:
        page.get_by_role("button", name="Create my account").click()
    assert response.value.status == 422
    expect(page.get_by_role("alert")).to_contain_text("Please correct the following:")
    check_page(page)

    # Weak password: the strength message is shown too.
    page.get_by_label("E-mail address").fill("not-an-address")
    page.get_by_label("Password (at least 12 characters)").fill("password")
    page.get_by_role("button", name="Create my account").click()
    expect(page.locator("#password-error")).to_be_visible()
    check_page(page)

    visit(page, "/this-page-does-not-exist", status=404)
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")


def test_signed_in_pages_pass_axe(page, live_server, mailbox, new_page):
    """Account and organisation pages of an organisation admin, the 403 page, an invitation opened by a guest."""
    org = live_server.create_org()
    user = live_server.create_user(name="Amadou Admin")
    live_server.add_member(org, user, "admin")
    member = live_server.create_user(name="Mia Member")
    live_server.add_member(org, member, "volunteer")
    login(page, user.email, user.password)
    visit(page, "/auth/account")
    visit(page, "/auth/account/two-factor")
    visit(page, "/organisations/")
    visit(page, f"/organisations/{org.slug}")
    visit(page, f"/organisations/{org.slug}/members")
    # An invitation listed on the members page, and the invitation form with an error.
    page.get_by_label("E-mail address").fill(unique_email("invitee"))
    page.get_by_role("button", name="Send the invitation").click()
    expect(page.get_by_role("status")).to_contain_text("Invitation sent")
    check_page(page)
    page.get_by_label("E-mail address").fill("not-an-address")
    page.get_by_role("button", name="Send the invitation").click()
    expect(page.get_by_role("alert")).to_be_visible()
    check_page(page)
    page.get_by_role("link", name="Remove Mia Member").click()
    check_page(page)
    visit(page, "/auth/account/password")
    visit(page, "/auth/account/email")
    visit(page, "/admin/", status=403)  # not a platform admin

    # The invitation link, opened by a guest in another browser.
    invitee = unique_email("invitee")
    visit(page, f"/organisations/{org.slug}/members")
    page.get_by_label("E-mail address").fill(invitee)
    page.get_by_role("button", name="Send the invitation").click()
    check_page(page)
    guest = new_page()
    visit(guest, mailbox.latest_link(invitee))
    expect(guest.get_by_role("heading", level=1)).to_contain_text(org.name)


def test_small_screen_reflows_and_passes_axe(new_page):
    """WCAG 1.4.10: at 320 CSS px wide nothing needs horizontal scrolling (in French, the longest texts)."""
    page = new_page(locale="fr", viewport={"width": 320, "height": 640})
    for path in ("/", "/auth/login", "/auth/register", "/auth/password/forgot"):
        visit(page, path)
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"{path} scrolls horizontally by {overflow}px at 320px"
        expect(page.locator("html")).to_have_attribute("lang", "fr")


def test_admin_pages_pass_axe(page, live_server):
    """A platform admin signs in with a TOTP code (pyotp) and sees every administration page."""
    admin = live_server.create_user(name="Paula Platform", platform_admin=True, totp=True)
    org = live_server.create_org()
    login(page, admin.email, admin.password, totp_secret=admin.totp_secret)
    for path in (
        "/admin/",
        "/admin/organisations",
        "/admin/organisations/new",
        f"/admin/organisations/{org.id}/edit",
        "/admin/users",
        f"/admin/users/{admin.id}",
    ):
        visit(page, path)
    visit(page, "/auth/account/two-factor/recovery-codes")  # asks for the password first
