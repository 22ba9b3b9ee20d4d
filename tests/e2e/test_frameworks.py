"""Frameworks in a real browser: browse the list, open a tree (collapsible, no script), a competence with its
crosswalk links, search with accents and prefixes, and the admins' import page with an error next to the field.
Every page passes axe (WCAG 2.2 AA)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import check_page, login, visit

pytestmark = pytest.mark.browser

COMPETENCIES = Path(__file__).resolve().parents[2] / "competencies"


@pytest.fixture(scope="module")
def shipped(live_server):
    from app.frameworks import operations as ops
    from app.frameworks.importers.yaml_format import parse_files

    with live_server.committing():
        ops.import_batch(*parse_files([COMPETENCIES]))


def test_browse_and_search(live_server, shipped, page):
    user = live_server.create_user(name="Bruno Browse", locale="fr")
    login(page, user.email, user.password)
    page.get_by_role("navigation").first.get_by_role("link", name="Frameworks").or_(
        page.get_by_role("link", name="Référentiels")
    ).first.click()
    check_page(page)
    table = page.get_by_role("table")
    expect(table).to_contain_text("solidarit")

    # Open the framework tree: domains are <details> elements, opened and closed without script.
    table.get_by_role("link", name="Compétences de la solidarité internationale").click()
    check_page(page)
    first_details = page.locator("details").first
    expect(first_details).to_have_attribute("open", "")
    nested = page.locator("details details summary").first
    if nested.count():
        nested.click()
        check_page(page)

    # A competence with its correspondences in other frameworks.
    page.locator(".framework-tree a").first.click()
    check_page(page)
    expect(page.get_by_role("navigation", name="Breadcrumb").or_(page.locator("nav.breadcrumb"))).to_be_visible()

    # Search: accents and case do not matter, words are prefixes.
    visit(page, "/frameworks/search?q=INTERC")
    results = page.locator(".search-results li")
    expect(results.first).to_be_visible()
    expect(page.locator(".search-results")).to_contain_text("nterculturel")
    visit(page, "/frameworks/search?q=%22NEAR(%27*")
    expect(page.get_by_role("heading", level=2)).to_be_visible()


def test_admin_import_page_shows_errors_next_to_the_field(live_server, shipped, page, tmp_path):
    admin = live_server.create_user(name="Ada Admin", platform_admin=True, totp=True)
    login(page, admin.email, admin.password, totp_secret=admin.totp_secret)
    visit(page, "/frameworks/import")
    bad = tmp_path / "bad.yaml"
    bad.write_text("format: acquis-framework/1\nid: x\nversion: 1\n")
    page.locator("#yaml-files").set_input_files(str(bad))
    page.locator("#yaml-submit").click()
    check_page(page)
    expect(page.locator("#yaml-files-error")).to_contain_text("bad.yaml, line")
    expect(page.locator("#yaml-files")).to_have_attribute("aria-invalid", "true")
