"""A volunteer prints a portfolio dossier in English (rendered in the background, progress page refreshing
itself), downloads it, then opens the public verification page from its code — as a guest too. Every page passes
the page checks (console, CSP, axe WCAG 2.2 AA)."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import check_page, login, visit

pytestmark = pytest.mark.browser


def test_print_portfolio_in_english_and_verify(live_server, page, new_page):
    from app.experiences import operations as experience_ops
    from app.experiences.models import ExperienceKind

    volunteer = live_server.create_user(name="Valentine Imprime", locale="en")
    with live_server.committing():
        from app.auth.operations import get_user_by_email

        user = get_user_by_email(volunteer.email)
        experience_ops.create_experience(
            user,
            experience_ops.ExperienceData(
                kind=ExperienceKind.MISSION,
                title="Water and sanitation officer",
                start_date=date(2023, 1, 9),
                end_date=date(2024, 6, 30),
                host_name="Asociación Agua Viva",
                host_country="PE",
                host_city="Cusco",
            ),
        )
    login(page, volunteer.email, volunteer.password)
    visit(page, "/documents/")
    expect(page.get_by_role("heading", level=1)).to_have_text("My documents")
    form = page.locator("form", has=page.get_by_role("button", name="Print the portfolio"))
    form.get_by_label("English").check()
    form.get_by_role("button", name="Print the portfolio").click()
    # The progress page refreshes itself until the document page appears.
    expect(page.get_by_role("link", name="Download the PDF")).to_be_visible(timeout=120_000)
    check_page(page)
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download the PDF").click()
    data = open(download_info.value.path(), "rb").read()  # noqa: SIM115
    assert data.startswith(b"%PDF-")
    from pypdf import PdfReader

    assert "Portfolio of competences" in PdfReader(io.BytesIO(data)).pages[0].extract_text()
    code_link = page.get_by_role("link", name=re.compile(r"^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$"))
    code = code_link.inner_text()
    code_link.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(code)
    expect(page.get_by_text("Acquis issued this document.")).to_be_visible()
    check_page(page)
    # A guest types the code (lower case, without dashes) on the public page.
    guest = new_page()
    visit(guest, "/verify")
    guest.get_by_label("Verification code").fill(code.replace("-", "").lower())
    guest.get_by_role("button", name="Verify", exact=True).click()
    expect(guest.get_by_role("heading", level=1)).to_contain_text(code)
    expect(guest.get_by_text("Valentine Imprime")).to_be_visible()
    check_page(guest)
    # Back on My documents: the latest portfolio links straight to its file (no snapshot rebuilt), up to date.
    visit(page, "/documents/")
    latest = page.locator(".documents-latest li").first
    expect(latest).to_contain_text("up to date")
    with page.expect_download() as again:
        latest.get_by_role("link").click()
    assert open(again.value.path(), "rb").read() == data  # noqa: SIM115
    check_page(page)
