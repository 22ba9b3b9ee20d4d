"""Frameworks in a real browser: browse the list, open a tree (collapsible, no script), a competence with its
crosswalk links, search with accents and prefixes, and the admins' import page with an error next to the field.
Every page passes axe (WCAG 2.2 AA)."""

from __future__ import annotations

import re
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
    # Frameworks sit in the menu's "More" disclosure.
    nav = page.get_by_role("navigation").first
    nav.get_by_text("More", exact=True).or_(nav.get_by_text("Plus", exact=True)).first.click()
    nav.get_by_role("link", name="Frameworks").or_(nav.get_by_role("link", name="Référentiels")).first.click()
    check_page(page)
    table = page.get_by_role("table")
    expect(table).to_contain_text("solidarit")

    # Open the framework tree: domains are <details> elements, opened and closed without script.
    table.get_by_role("link", name="Compétences de la solidarité internationale").click()
    check_page(page)
    first_details = page.get_by_role("main").locator("details").first
    expect(first_details).to_have_attribute("open", "")
    summary = first_details.locator("summary").first
    summary.click()
    expect(first_details).not_to_have_attribute("open", "")
    expect(first_details.get_by_role("link", name=re.compile(r"^SI\.1\.5\b"))).to_be_hidden()
    summary.click()
    expect(first_details).to_have_attribute("open", "")
    check_page(page)

    # A competence with its correspondences in other frameworks: a key competence and an ESCO skill.
    page.locator(".framework-tree").get_by_role("link", name=re.compile(r"^SI\.1\.5\b")).click()
    check_page(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Adapter son comportement et sa communication")
    expect(page.get_by_role("navigation", name=live_server.translate("fr", "Breadcrumb"))).to_be_visible()
    links = page.locator("main")
    expect(links.get_by_role("link", name=re.compile(r"^KC5\b"))).to_be_visible()
    expect(links).to_contain_text("Compétences personnelles et sociales")
    expect(links).to_contain_text("http://data.europa.eu/esco/skill/c10d5d87-36cf-42f5-8a12-e560fb5f4af8")
    expect(links).to_contain_text(live_server.translate("fr", "Close to"))
    expect(links).to_contain_text(live_server.translate("fr", "Part of (broader)"))
    expect(links).to_contain_text("CC-BY-4.0")

    # The key competence lists the link back (inverse relation).
    links.get_by_role("link", name=re.compile(r"^KC5\b")).click()
    check_page(page)
    expect(page.locator("main").get_by_role("link", name=re.compile(r"^SI\.1\.5\b"))).to_be_visible()

    # Search: accents and case do not matter, words are prefixes.
    visit(page, "/frameworks/search?q=INTERC")
    results = page.locator(".search-results li")
    expect(results.first).to_be_visible()
    expect(page.locator(".search-results")).to_contain_text("nterculturel")
    visit(page, "/frameworks/search?q=%22NEAR(%27*")
    expect(page.get_by_role("heading", level=2)).to_be_visible()


def test_admin_import_page_shows_errors_next_to_the_field(live_server, shipped, page, tmp_path):
    admin = live_server.create_user(name="Ada Admin", platform_admin=True, totp=True, locale="fr")
    login(page, admin.email, admin.password, totp_secret=admin.totp_secret)
    visit(page, "/frameworks/import")
    bad = tmp_path / "bad.yaml"
    bad.write_text("format: acquis-framework/1\nid: x\nversion: 1\n")
    page.locator("#yaml-files").set_input_files(str(bad))
    page.locator("#yaml-submit").click()
    check_page(page)
    # The problems are in the admin's language, each naming the file, the line and the field.
    message = live_server.translate("fr", "%(field)s must be of type %(expected)s", field="version", expected="string")
    where = live_server.translate(
        "fr", "%(file)s, line %(line)d: %(message)s", file="bad.yaml", line=3, message=message
    )
    expect(page.locator("#yaml-files-error")).to_contain_text(where)
    expect(page.locator("#yaml-files")).to_have_attribute("aria-invalid", "true")
