"""An NGO admin fills in the NGO's profile on its documents (letterhead), agrees to sign its documents, and looks at
its signing certificate; a guest reads how to trust the signatures. Every page passes the page checks (console, CSP,
axe WCAG 2.2 AA)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import check_page, login, visit

pytestmark = pytest.mark.browser


def test_admin_sets_the_letterhead_signs_and_sees_the_certificate(live_server, page, new_page):
    admin = live_server.create_user(name="Ada Entête", locale="en")
    org = live_server.create_org("Solidarité Entête")
    live_server.add_member(org, admin, "admin")
    login(page, admin.email, admin.password)

    visit(page, f"/organisations/{org.slug}/profile")
    page.get_by_label("Legal name").fill("Association Solidarité Entête")
    page.get_by_label("Postal address").fill("1 rue de la Paix\n75002 Paris")
    page.get_by_label("Registration number (RNA or SIRET)").fill("W751234567")
    page.get_by_role("button", name="Save the profile").click()
    expect(page.get_by_text("The profile has been saved.")).to_be_visible()
    expect(page.get_by_text("Association Solidarité Entête")).to_be_visible()
    check_page(page)

    page.get_by_label("Your role, as printed under your name").fill("Présidente")
    page.get_by_role("button", name="I agree to sign the NGO's documents").click()
    expect(page.get_by_text("You now sign this NGO's documents.")).to_be_visible()
    check_page(page)

    page.get_by_role("link", name="Signing certificate").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Signing certificate of")
    expect(page.get_by_text("SHA-256", exact=False).first).to_be_visible()
    check_page(page)
    # Uploading a file that is not PKCS#12 is refused next to the field.
    page.get_by_label("Certificate and key (PKCS#12: .p12 or .pfx)").set_input_files(
        files=[{"name": "not.p12", "mimeType": "application/x-pkcs12", "buffer": b"not a certificate"}]
    )
    page.get_by_role("button", name="Upload the certificate").click()
    expect(page.get_by_text("This file could not be opened").first).to_be_visible()
    check_page(page)

    guest = new_page()
    visit(guest, "/verify")
    expect(guest.get_by_role("heading", name="How to trust the electronic signature")).to_be_visible()
    check_page(guest)
