"""Impact survey in a real browser: a returnee answers in Spanish; an org admin views the report, the breakdown
and the moderation queue; every page passes axe (WCAG 2.2 AA) with no console or CSP problem."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import check_page, login, unique_email, unique_name, visit

pytestmark = pytest.mark.browser


def _seed_answers(live_server, org, n):
    """Earlier anonymous answers attributed to ``org``, waiting in the pending pool (four with a comment), so the
    release has a batch and moderators a group of comments."""
    from app.survey.models import SurveyPendingAnswer
    from app.survey.questionnaire import latest

    questionnaire = latest()
    spread = ["5", "4", "4", "3", "5", "4", "2", "4"]
    with live_server.committing() as session:
        for i in range(n):
            session.add(
                SurveyPendingAnswer(
                    questionnaire_id=questionnaire.id,
                    questionnaire_version=questionnaire.version,
                    consent_version=questionnaire.consent_version,
                    attribution=str(org.id),
                    profile={q.key: ("VSI" if q.key == "status" else "undisclosed") for q in questionnaire.profile},
                    answers=dict.fromkeys(questionnaire.item_keys, spread[i % len(spread)]),
                    comment=f"Otra experiencia {i}." if i < 4 else None,
                )
            )


def _make_eligible(live_server, user, org):
    """The returnee's account and membership predate the questionnaire's opening, with a mission sent by ``org``."""
    from datetime import UTC, datetime

    import sqlalchemy as sa

    from app.auth.models import User
    from app.organisations.models import Membership
    from tests import cast

    before = datetime(2026, 1, 5, tzinfo=UTC)
    with live_server.committing() as session:
        account = session.get(User, user.id)
        account.created_at = before
        session.execute(sa.update(Membership).where(Membership.user_id == user.id).values(approved_at=before))
        cast.create_mission(account, title="Misión", sending_organisation_id=org.id)


def _release(live_server):
    """What cron runs (``flask survey release``). With a budget this large the noise is nil: exact numbers to check;
    the noise itself is tested in ``tests/survey/test_anonymity.py``."""
    from app.core.dbfiles import forget_log
    from app.survey.release import release_pending

    live_server.app.config.update(SURVEY_RELEASE_RHO=1e9, SURVEY_PRIVACY_BUDGET_RHO=1e9)
    with live_server.committing():
        release_pending()
    with live_server.app.app_context():
        forget_log()


def test_returnee_answers_in_spanish_and_org_admin_views_the_report(live_server, page, new_page):
    org = live_server.create_org(unique_name("Solidaridad Sur"))
    admin = live_server.create_user(unique_email("survey-admin"), name="Olga Admin", locale="en")
    live_server.add_member(org, admin, "admin")
    returnee = live_server.create_user(unique_email("retornada"), name="Rosa Retornada", locale="es")
    live_server.add_member(org, returnee, "volunteer")
    _make_eligible(live_server, returnee, org)
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

    # The answers reach the reports only through the release job, all 17 in one batch.
    _release(live_server)

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
    mine = page.locator("section", has_text="Una experiencia que me cambió.")
    mine.get_by_label("Approve").check()
    mine.get_by_role("button", name="Record the decision", exact=False).click()
    check_page(page)
    visit(page, f"/survey/orgs/{org.slug}/report")
    expect(page.get_by_text("Una experiencia que me cambió.")).to_be_visible()
