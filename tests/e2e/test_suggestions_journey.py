"""Competence suggestions in a real browser: a volunteer describes a mission, asks "Suggest competences", reads the
explanations, starts a claim from one suggestion (level prefilled), then writes the story and sees the suggestions
refresh while typing (the debounced script, under the CSP). Every page passes the page checks (axe included)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import assert_accessible, check_page, login, visit

pytestmark = pytest.mark.browser

COMPETENCIES = Path(__file__).resolve().parents[2] / "competencies"


@pytest.fixture(scope="module")
def shipped_frameworks(live_server):
    from app.frameworks import operations as framework_ops
    from app.frameworks.importers.yaml_format import parse_files

    with live_server.committing():
        framework_ops.import_batch(*parse_files([COMPETENCIES]))


def test_volunteer_gets_suggestions_and_starts_a_claim_from_one(live_server, shipped_frameworks, page):
    volunteer = live_server.create_user(name="Sacha Suggestion", locale="en")
    login(page, volunteer.email, volunteer.password)

    visit(page, "/experiences/")
    page.get_by_role("main").get_by_role("link", name="Add a mission").click()
    check_page(page)
    page.get_by_label("Title or role").fill("Animatrice santé communautaire")
    page.get_by_label("Engagement status").select_option("VSI")
    page.get_by_label("Start date").fill("2023-02-01")
    page.get_by_label("End date (leave empty if it is still going on)").fill("2024-01-31")
    page.get_by_label("Country").select_option("SN")
    page.get_by_label("Activities").fill(
        "I kept the petty cash on my own, filed every receipt and prepared the financial report for the donor. "
        "Every week I hosted a community radio show on hygiene and handwashing."
    )
    page.get_by_role("button", name="Save", exact=True).click()
    check_page(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Animatrice santé communautaire")

    page.get_by_role("main").get_by_role("link", name="Suggest competences").click()
    check_page(page)
    main = page.get_by_role("main")
    expect(main.get_by_role("heading", level=1)).to_contain_text("Suggested competences")
    expect(main.locator("li.suggestion")).to_have_count(5)
    first = main.locator("li.suggestion", has_text="SI.4.5")
    expect(first.locator(".suggestion-why")).to_contain_text("Why:")
    expect(first.locator(".suggestion-why q").first).not_to_be_empty()
    expect(first).to_contain_text("Level suggested: 3")  # "on my own"
    expect(main).to_contain_text("SI.5.5")

    first.get_by_role("link", name="Start a claim on SI.4.5").click()
    check_page(page)
    expect(page.get_by_role("heading", level=2, name=re.compile("SI.4.5"))).to_be_visible()
    expect(page.get_by_label("Level", exact=True)).to_have_value("3")
    expect(page.get_by_label("Actions", exact=True)).to_have_value(re.compile("petty cash"))

    # Writing the story refreshes the suggestions (debounced request, rendered as text).
    live = page.locator(".suggestions-live")
    expect(live).to_contain_text("SI.4.5")  # the prefilled draft is read at once
    page.get_by_label("Result", exact=True).fill(
        "I also interpreted between the nurses and the mothers, who only spoke Wolof, and checked they understood."
    )
    expect(live).to_contain_text("SI.7.4", timeout=10_000)
    expect(live.locator("li.suggestion", has_text="SI.4.5")).to_contain_text("This claim\u2019s competence")
    expect(live.locator("li.suggestion", has_text="SI.7.4").locator("q").first).not_to_be_empty()
    assert_accessible(page)

    page.get_by_role("button", name="Save the claim", exact=True).click()
    check_page(page)
    expect(page.get_by_role("heading", level=1)).to_contain_text("SI.4.5")


def test_suggestions_work_without_script(live_server, shipped_frameworks, new_context):
    volunteer = live_server.create_user(name="Noa Noscript", locale="en")
    context = new_context(java_script_enabled=False)
    page = context.new_page()
    # No visit()/login() helpers here: their accessibility check runs axe, a script.
    page.goto("/auth/login")
    page.locator("input[name=email]").fill(volunteer.email)
    page.locator("input[name=password]").fill(volunteer.password)
    page.locator("main form button[type=submit]").click()
    page.goto("/experiences/")
    page.get_by_role("main").get_by_role("link", name="Add a training").click()
    page.get_by_label("Title or role").fill("Formation interprétariat")
    page.get_by_label("Training provider").fill("Institut")
    page.get_by_label("Start date").fill("2022-11-14")
    page.get_by_role("button", name="Save", exact=True).click()
    page.get_by_role("main").get_by_role("link", name="Add a competence").click()
    page.get_by_label("Competence", exact=True).select_option(label="SI.7.4 — Mediating between languages")
    page.get_by_role("button", name="Continue", exact=True).click()
    page.get_by_label("Actions", exact=True).fill("I translated between the doctors and the families.")
    page.get_by_role("button", name="Suggest competences from my story", exact=True).click()
    live = page.locator(".suggestions-live")
    expect(live).to_contain_text("SI.7.4")
    expect(live).to_contain_text("Why:")
    expect(page.get_by_label("Actions", exact=True)).to_have_value("I translated between the doctors and the families.")
