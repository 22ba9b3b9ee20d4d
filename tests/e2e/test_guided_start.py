"""The guided start and the adviser's profile in a real browser: a new volunteer follows the task list on the
home page from joining an NGO to a submitted mission; an adviser reads the competence profile of a shared
portfolio. Every page passes the page checks (axe, console, CSP) and the Nu HTML checker at the end of the session.
Screenshots of the volunteer home and the adviser profile are saved under docs/screenshots/."""

from __future__ import annotations

import io
import secrets
from datetime import date, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect
from pypdf import PdfReader

from tests.e2e.helpers import check_page, login, unique_name, visit

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def _screenshot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path=str(SCREENSHOTS / name), full_page=True)


def _step_status(page, title: str):
    return page.get_by_role("listitem").filter(has=page.get_by_role("link", name=title)).locator(".tag")


def test_a_new_volunteer_follows_the_task_list_to_a_submitted_mission(live_server, page):
    from app.auth.models import User
    from app.experiences.models import Experience
    from app.extensions import db
    from app.organisations.models import Membership, MembershipState
    from tests import cast as worlds

    org = live_server.create_org(unique_name("Eau Partagée"))
    volunteer = live_server.create_user(name="Noé Nouveau", locale="en")
    login(page, volunteer.email)
    page.set_viewport_size({"width": 1280, "height": 900})

    # The menu fits on one line at 1280 px; the secondary items open from the keyboard, without script.
    nav = page.get_by_role("navigation", name="Main menu")
    top = nav.locator(":scope > ul > li")
    assert top.count() <= 6
    tops = [top.nth(i).bounding_box()["y"] for i in range(top.count())]
    assert max(tops) - min(tops) < 10, tops  # one line, not two
    nav.get_by_text("More", exact=True).focus()
    page.keyboard.press("Enter")
    expect(nav.get_by_role("link", name="Frameworks")).to_be_visible()
    page.keyboard.press("Enter")

    # First visit: the tour explains validation and documents; once dismissed it stays away.
    expect(page.get_by_role("heading", name="Welcome to Acquis: how it works")).to_be_visible()
    expect(page.get_by_text("0 of 6 steps completed.")).to_be_visible()
    _screenshot(page, "volunteer-home-first-visit.png")
    page.get_by_role("button", name="Got it, hide this introduction").click()
    check_page(page)
    expect(page.get_by_role("heading", name="Welcome to Acquis: how it works")).to_have_count(0)

    # 1. Join: the next step's link leads to the directory.
    expect(_step_status(page, "Join your sending NGO")).to_have_text("Not started")
    page.get_by_role("main").get_by_role("link", name="Join your sending NGO").first.click()
    check_page(page)
    page.get_by_role("button", name=f"Ask to join {org.name}").click()
    expect(page.get_by_role("status")).to_contain_text("Your request has been sent")
    check_page(page)
    visit(page, "/")
    expect(_step_status(page, "Join your sending NGO")).to_have_text("In progress")
    with live_server.committing() as session:
        membership = session.scalar(db.select(Membership).where(Membership.user_id == volunteer.id))
        membership.state = MembershipState.ACTIVE
    visit(page, "/")
    expect(_step_status(page, "Join your sending NGO")).to_have_text("Completed")

    # 2. Record a mission.
    page.get_by_role("main").get_by_role("link", name="Record a mission").first.click()
    check_page(page)
    page.get_by_role("main").get_by_role("link", name="Add a mission").click()
    check_page(page)
    page.get_by_label("Title or role").fill("Water committee facilitator")
    page.get_by_label("Engagement status").select_option("VSI")
    page.get_by_label("Start date").fill("2024-01-08")
    page.get_by_label("End date (leave empty if it is still going on)").fill("2024-12-20")
    page.get_by_label("Sending organisation on Acquis").select_option(label=org.name)
    page.get_by_label("Country").select_option("PE")
    page.get_by_role("button", name="Save", exact=True).click()
    check_page(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("Water committee facilitator")

    # 3. Claim competences (written beforehand: the claim form has its own journey).
    with live_server.committing() as session:
        owner = session.get(User, volunteer.id)
        mission = session.scalar(db.select(Experience).where(Experience.owner_id == owner.id))
        _version, nodes = worlds.make_framework(db.session, slug=f"guided-{secrets.token_hex(4)}")
        worlds.create_claims(owner, mission, nodes[:2])
        mission_id = mission.id
    visit(page, "/")
    expect(_step_status(page, "Claim competences")).to_have_text("Completed")

    # 4. Submit: the next step leads to the mission, whose page submits it.
    next_step = page.get_by_text("Next step:").locator("..")
    expect(next_step).to_contain_text("Submit for validation")
    next_step.get_by_role("link", name="Submit for validation").click()
    check_page(page)
    assert page.url.endswith(f"/experiences/{mission_id}")
    page.get_by_role("link", name="Submit for validation").click()
    check_page(page)
    page.get_by_label("Sending NGO").select_option(label=org.name)
    page.get_by_role("button", name="Submit for validation").click()
    expect(page.get_by_role("status")).to_contain_text("has been sent to")
    check_page(page)
    page.wait_for_load_state("networkidle")

    visit(page, "/")
    expect(_step_status(page, "Submit for validation")).to_have_text("Completed")
    expect(page.get_by_text("4 of 6 steps completed.")).to_be_visible()
    expect(page.get_by_text("Next step:").locator("..")).to_contain_text("Print your documents")
    _screenshot(page, "volunteer-home.png")


def test_an_adviser_reads_the_competence_profile(live_server, new_page):
    from app.auth.models import User
    from app.core.db import utcnow
    from app.extensions import db
    from app.organisations.models import Organisation
    from app.sharing.models import Share, ShareKind
    from tests import cast as worlds

    org = live_server.create_org(unique_name("Solidarité Andes"))
    volunteer = live_server.create_user(name="Vera Volunteer", locale="en")
    trainer = live_server.create_user(name="Tom Trainer", locale="en")
    adviser = live_server.create_user(name="Ada Adviser", adviser=True, locale="en")
    live_server.add_member(org, volunteer, "volunteer")
    live_server.add_member(org, trainer, "trainer")
    with live_server.committing() as session:
        owner = session.get(User, volunteer.id)
        _version, nodes = worlds.make_framework(db.session, slug=f"profile-{secrets.token_hex(4)}")
        mission = worlds.create_mission(
            owner,
            title="Health post coordinator",
            start_date=date(2024, 2, 1),
            end_date=date(2024, 11, 30),
            sending_organisation_id=org.id,
        )
        report = worlds.store_evidence(owner, b"%PDF-1.4\n%%EOF\n", title="Mission report")
        claims = worlds.create_claims(owner, mission, nodes, evidence=[report])
        submission = worlds.submit_claims(owner, mission, session.get(Organisation, org.id), claims[:2])
        worlds.validate_everything(submission, session.get(User, trainer.id))
        session.add(
            Share(
                owner_id=owner.id,
                kind=ShareKind.ADVISER,
                adviser_email=adviser.email,
                expires_at=utcnow() + timedelta(days=30),
            )
        )

    adviser_page = new_page()
    login(adviser_page, adviser.email)
    visit(adviser_page, "/sharing/with-me")
    adviser_page.get_by_role("link", name="Vera Volunteer").first.click()
    check_page(adviser_page)
    adviser_page.get_by_role("link", name="Competence profile: levels, validations and evidence per framework").click()
    check_page(adviser_page)
    expect(adviser_page.get_by_role("heading", level=1)).to_have_text("Competence profile of Vera Volunteer")
    expect(adviser_page.get_by_role("img", name="Level per competence")).to_be_visible()
    table = adviser_page.get_by_role("table")
    expect(table.get_by_role("row")).to_have_count(1 + len(nodes))
    validated = table.get_by_role("row").filter(has_text="C1")
    expect(validated).to_contain_text("Validated")
    expect(validated).to_contain_text("Tom Trainer")
    _screenshot(adviser_page, "adviser-profile.png")

    # Filters by state (a GET form: works without script).
    adviser_page.get_by_label("State").select_option("claimed")
    adviser_page.get_by_role("button", name="Show").click()
    check_page(adviser_page)
    expect(adviser_page.get_by_role("table").get_by_role("row")).to_have_count(2)
    # The printed summary fits on one page.
    visit(adviser_page, adviser_page.url.split("?")[0].replace(live_server.url, ""))
    adviser_page.emulate_media(media="print")
    pdf = adviser_page.pdf(format="A4", print_background=True)
    assert len(PdfReader(io.BytesIO(pdf)).pages) == 1


@pytest.mark.parametrize("locale", ["fr", "es"])
def test_the_longest_menu_fits_on_one_line_at_1280_px(live_server, new_page, locale):
    org = live_server.create_org(unique_name("Réseau"))
    user = live_server.create_user(name="Camille Conseillère-Formatrice", adviser=True, locale=locale)
    live_server.add_member(org, user, "trainer")
    page = new_page(locale=locale)
    page.set_viewport_size({"width": 1280, "height": 800})
    login(page, user.email)
    nav = page.get_by_role("navigation", name=live_server.translate(locale, "Main menu"))
    top = nav.locator(":scope > ul > li")
    assert top.count() <= 6
    tops = [top.nth(i).bounding_box()["y"] for i in range(top.count())]
    assert max(tops) - min(tops) < 10, tops
    header = page.locator(".site-header").bounding_box()
    assert header["height"] < 80, header  # one row: brand, menu and tools
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280
