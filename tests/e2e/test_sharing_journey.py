"""Sharing journey in a real browser: a volunteer shares their portfolio with a career adviser (e-mailed), the
adviser reviews it, downloads the dossier and an evidence file and writes private notes; the volunteer reads the
access log and ends the share; the adviser's open page and downloads stop working. Every page passes axe."""

from __future__ import annotations

import secrets
from datetime import date

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import check_page, login, unique_name, visit

pytestmark = pytest.mark.browser


def _seed(live_server, volunteer, org):
    """A mission with a claim backed by a PDF, and a signed-document stand-in (a dossier) of the volunteer."""
    from app.auth.models import User
    from tests import cast

    with live_server.committing() as session:
        owner = session.get(User, volunteer.id)
        report = cast.store_evidence(owner, cast.blank_pdf(), title="Mission report")
        mission, _claims, _nodes = cast.mission_with_claims(
            owner,
            framework_slug=f"share-journey-{secrets.token_hex(4)}",
            claim_count=1,
            evidence=[report],
            situation="A school in Casamance.",
            actions="I ran the garden committee.",
            title="School garden coordinator",
            start_date=date(2024, 3, 1),
            end_date=date(2025, 2, 28),
            status_code=None,
            host_name="",
            sending_organisation_id=org.id,
            host_country="SN",
        )
        document = cast.store_document_stand_in(owner, org, cache_key=secrets.token_hex(32), size=24)
        return mission.id, report.id, document.id


def test_share_review_download_revoke(live_server, mailbox, page, new_page):
    org = live_server.create_org(unique_name("Jardins du Monde"))
    volunteer = live_server.create_user(name="Vic Volunteer", locale="en")
    adviser = live_server.create_user(name="Ada Adviser", adviser=True, locale="en")
    live_server.add_member(org, volunteer, "volunteer")
    mission_id, report_id, document_id = _seed(live_server, volunteer, org)

    # 1. The volunteer shares the whole portfolio with the adviser, documents included.
    login(page, volunteer.email)
    visit(page, "/sharing/")
    page.get_by_label("Adviser's e-mail address").fill(adviser.email)
    page.get_by_label("Include my generated documents").check()
    page.get_by_role("button", name="Share", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text(f"shared with {adviser.email}")
    check_page(page)
    share_url = page.url
    link = mailbox.latest_link(adviser.email)
    assert link.endswith("/sharing/with-me")

    # 2. The adviser signs in, opens "Shared with me" and reviews the portfolio.
    adviser_page = new_page()
    login(adviser_page, adviser.email)
    visit(adviser_page, "/sharing/with-me")
    adviser_page.get_by_role("link", name="Vic Volunteer").click()
    check_page(adviser_page)
    expect(adviser_page.get_by_role("heading", level=1)).to_contain_text("Portfolio of Vic Volunteer")
    portfolio_url = adviser_page.url
    with adviser_page.expect_download() as download:
        adviser_page.get_by_role("link", name="Portfolio dossier").click()
    assert download.value.suggested_filename.endswith(".pdf")
    adviser_page.get_by_role("textbox", name="My private notes").fill("Good fit for a VAE in project coordination.")
    adviser_page.get_by_role("button", name="Save my notes").click()
    expect(adviser_page.get_by_role("status")).to_contain_text("Your notes have been saved")
    check_page(adviser_page)
    adviser_page.get_by_role("link", name="School garden coordinator").click()
    check_page(adviser_page)
    expect(adviser_page.get_by_text("I ran the garden committee.")).to_be_visible()
    with adviser_page.expect_download() as download:
        adviser_page.get_by_role("link", name="Mission report").click()
    assert download.value.suggested_filename.endswith(".pdf")
    experience_url = adviser_page.url

    # 3. The volunteer reads the access log, then ends the share.
    visit(page, share_url.removeprefix(live_server.url))
    log = page.get_by_role("table")
    expect(log).to_contain_text("Ada Adviser")
    expect(log).to_contain_text("Mission report")
    expect(page.get_by_text("Good fit for a VAE")).to_have_count(0)
    page.get_by_role("button", name="End this share now").click()
    expect(page.get_by_role("status")).to_contain_text("The share has ended")
    check_page(page)

    # 4. The adviser's open page and downloads stop from the next request on: the adviser is told the share ended
    #    (410), and nothing of the portfolio is served any more.
    adviser_page.reload()
    check_page(adviser_page)
    expect(adviser_page.get_by_role("heading", level=1)).to_have_text("This share has ended")
    visit(adviser_page, portfolio_url.removeprefix(live_server.url), status=410)
    share_id = portfolio_url.rsplit("/", 1)[1]
    visit(adviser_page, f"/shared/{share_id}/evidence/{report_id}/file", status=410)
    visit(adviser_page, f"/shared/{share_id}/documents/{document_id}", status=410)
    visit(adviser_page, "/sharing/with-me")
    expect(adviser_page.get_by_text("Vic Volunteer")).to_have_count(0)
    assert experience_url != portfolio_url and mission_id
