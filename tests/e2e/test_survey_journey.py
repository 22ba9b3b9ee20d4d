"""Impact survey in a real browser: a returnee answers in Spanish; an org admin views the report, the breakdown
and the moderation queue; every page passes axe (WCAG 2.2 AA) with no console or CSP problem."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import check_page, login, unique_email, unique_name, visit

pytestmark = pytest.mark.browser


def _seed_answers(live_server, org, n):
    """Earlier anonymous answers attributed to ``org``, so the report has enough respondents to show numbers."""
    from app.survey.models import SurveyResponse, SurveyResponseOrganisation
    from app.survey.questionnaire import latest

    questionnaire = latest()
    spread = ["5", "4", "4", "3", "5", "4", "2", "4"]
    with live_server.committing() as session:
        for i in range(n):
            response = SurveyResponse(
                questionnaire_id=questionnaire.id,
                questionnaire_version=questionnaire.version,
                consent_version=questionnaire.consent_version,
                profile={q.key: ("VSI" if q.key == "status" else "undisclosed") for q in questionnaire.profile},
                answers=dict.fromkeys(questionnaire.item_keys, spread[i % len(spread)]),
            )
            response.organisation_links = [SurveyResponseOrganisation(organisation_id=org.id)]
            session.add(response)


def test_returnee_answers_in_spanish_and_org_admin_views_the_report(live_server, page, new_page):
    org = live_server.create_org(unique_name("Solidaridad Sur"))
    admin = live_server.create_user(unique_email("survey-admin"), name="Olga Admin", locale="en")
    live_server.add_member(org, admin, "admin")
    returnee = live_server.create_user(unique_email("retornada"), name="Rosa Retornada", locale="es")
    live_server.add_member(org, returnee, "volunteer")
    _seed_answers(live_server, org, 16)

    # The returnee (Spanish account) opens the questionnaire: the texts come from the data file, in Spanish.
    returnee_page = new_page(locale="es")
    login(returnee_page, returnee.email)
    visit(returnee_page, "/survey/impact/2")
    expect(returnee_page.locator("html")).to_have_attribute("lang", "es")
    expect(returnee_page.get_by_role("heading", level=1)).to_have_text("Lo que la misión cambió para usted")
    expect(returnee_page.get_by_role("group", name="Tengo más confianza en mí mismo/a.")).to_be_visible()

    # Profile: radio buttons in labelled groups.
    returnee_page.get_by_role("group", name="Marco de su compromiso").get_by_label(
        "Voluntariado de solidaridad internacional (VSI)"
    ).check()
    for name in ("profile_mission_length", "profile_region", "profile_years_since_return", "profile_age"):
        returnee_page.locator(f"input[name={name}]").first.check()
    # Likert items: "De acuerdo" everywhere, "Totalmente de acuerdo" for confidence.
    for group in returnee_page.locator("fieldset.likert").all():
        group.get_by_label("De acuerdo", exact=True).check()
    returnee_page.get_by_role("group", name="Tengo más confianza en mí mismo/a.").get_by_label(
        "Totalmente de acuerdo"
    ).check()
    returnee_page.get_by_label(org.name).check()
    returnee_page.locator("textarea[name=comment]").fill("Una experiencia que me cambió.")
    returnee_page.get_by_label("Acepto que mis respuestas se utilicen", exact=False).check()
    returnee_page.locator("form.questionnaire button[type=submit]").click()
    returnee_page.wait_for_url("**/survey/")
    check_page(returnee_page)
    expect(returnee_page.get_by_role("status")).to_be_visible()

    # Answering again is not possible: the page says it was done.
    visit(returnee_page, "/survey/impact/2")
    expect(returnee_page.locator("form.questionnaire")).to_have_count(0)

    # The org admin sees the report: a chart with a text alternative and the same numbers in a table.
    login(page, admin.email)
    visit(page, "/survey/")
    page.get_by_role("link", name=f"Report for {org.name}").click()
    check_page(page)
    expect(page.get_by_role("img", name="Stacked bar chart", exact=False)).to_be_visible()
    table = page.get_by_role("table", name="Answers per statement", exact=False)
    expect(table).to_be_visible()
    expect(page.locator("p.figure")).to_have_text("17")
    expect(table.get_by_role("row", name="I am more self-confident.", exact=False)).to_be_visible()

    # A breakdown by one profile question, and the moderation queue with the comment (text only).
    page.locator("#view").select_option("by:status")
    page.get_by_role("button", name="Show").click()
    check_page(page)
    visit(page, f"/survey/orgs/{org.slug}/moderation")
    expect(page.get_by_text("Una experiencia que me cambió.")).to_be_visible()
    expect(page.get_by_text("Rosa Retornada")).to_have_count(0)
    page.get_by_label("Approve").first.check()
    page.get_by_role("button", name="Record the decision", exact=False).first.click()
    check_page(page)
    visit(page, f"/survey/orgs/{org.slug}/report")
    expect(page.get_by_text("Una experiencia que me cambió.")).to_be_visible()
