"""Countersignature in a real browser (issue 20): an NGO admin requires a second trainer for a framework, a trainer
validates a competence (it then awaits its countersignature), a second trainer countersigns it from the list of
validations awaiting one. Every page passes the page checks (console, CSP, axe WCAG 2.2 AA) and is kept for the
Nu HTML checker."""

from __future__ import annotations

import secrets
from datetime import date

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import check_page, login, open_from_menu, unique_name

pytestmark = pytest.mark.browser


def _seed(live_server, volunteer, org) -> tuple[str, int]:
    """A mission of ``volunteer`` with one claim (C1) on a fresh framework, submitted to ``org``."""
    from app.auth.models import User
    from app.organisations import operations as org_ops
    from tests import cast

    slug = f"cs-{secrets.token_hex(4)}"
    with live_server.committing() as session:
        owner = session.get(User, volunteer.id)
        mission, claims, _nodes = cast.mission_with_claims(
            owner,
            framework_slug=slug,
            claim_count=1,
            title="Water committee facilitator",
            start_date=date(2024, 3, 1),
            end_date=date(2024, 10, 31),
            status_code=None,
            sending_organisation_id=org.id,
            host_name="Comité del Agua",
            host_country="PE",
        )
        cast.submit_claims(owner, mission, org_ops.get_organisation(org.slug), claims)
        mission_id = mission.id
    return slug, mission_id


def test_admin_sets_a_rule_trainer_validates_second_trainer_countersigns(live_server, page, new_page):
    org = live_server.create_org(unique_name("Eau Solidaire"))
    admin = live_server.create_user(name="Ada Admin", locale="en")
    trainer = live_server.create_user(name="Tom Trainer", locale="en")
    second = live_server.create_user(name="Sam Second", locale="en")
    volunteer = live_server.create_user(name="Vera Volunteer", locale="en")
    for user, role in ((admin, "admin"), (trainer, "trainer"), (second, "trainer"), (volunteer, "volunteer")):
        live_server.add_member(org, user, role)
    framework, _mission_id = _seed(live_server, volunteer, org)

    # 1. The admin opens the reviews, then the NGO's countersignature rules, and requires a second trainer.
    login(page, admin.email)
    open_from_menu(page, "Reviews")
    page.get_by_role("link", name=f"Countersignature rules of {org.name}").click()
    check_page(page)
    expect(page.get_by_text("No rule: one trainer validates alone.")).to_be_visible()
    page.get_by_label("Framework").select_option(framework)
    page.get_by_role("button", name="Save the rule").click()
    expect(page.get_by_role("status")).to_contain_text("The countersignature rule has been saved.")
    check_page(page)
    rules = page.get_by_role("table", name="Rules of the NGO")
    expect(rules.get_by_role("row", name=framework)).to_have_count(1)

    # 2. A trainer confirms the facts and validates C1: it now awaits a second trainer.
    trainer_page = new_page()
    login(trainer_page, trainer.email)
    open_from_menu(trainer_page, "Reviews")
    trainer_page.get_by_role("link", name="Water committee facilitator").click()
    check_page(trainer_page)
    trainer_page.get_by_label("I confirm these facts").check()
    trainer_page.get_by_role("button", name="Record my answer on the facts").click()
    check_page(trainer_page)
    form = trainer_page.locator("form", has=trainer_page.get_by_role("button", name="Record the decision on C1"))
    form.get_by_label("Validate", exact=True).check()
    form.get_by_role("button", name="Record the decision on C1").click()
    expect(trainer_page.get_by_role("status")).to_contain_text("Your decision has been recorded")
    check_page(trainer_page)
    # The validator may open the list but not countersign their own validation.
    open_from_menu(trainer_page, "Reviews")
    trainer_page.get_by_role("link", name="Validations awaiting a countersignature").click()
    check_page(trainer_page)
    waiting = trainer_page.get_by_role("table", name="Validations your NGOs require a second trainer to countersign")
    expect(waiting.get_by_role("row", name="Tom Trainer")).to_have_count(1)
    expect(waiting.get_by_role("link", name="Open C1")).to_be_visible()

    # 3. The second trainer countersigns from the list.
    second_page = new_page()
    login(second_page, second.email)
    open_from_menu(second_page, "Reviews")
    second_page.get_by_role("link", name="Validations awaiting a countersignature").click()
    check_page(second_page)
    second_page.get_by_role("link", name="Countersign C1").click()
    check_page(second_page)
    expect(second_page.get_by_role("heading", level=1)).to_have_text("Countersign a validation")
    second_page.get_by_role("button", name="Countersign").click()
    expect(second_page.get_by_role("status")).to_contain_text("You countersigned the validation: it is now complete.")
    check_page(second_page)
    expect(second_page.locator("main p", has_text="Countersigned by Sam Second on").last).to_be_visible()

    # The list is empty again; the record says who countersigned.
    second_page.get_by_role("link", name="Awaiting countersignature").click()
    check_page(second_page)
    expect(second_page.get_by_text("No validation awaits a countersignature.")).to_be_visible()
    from app.claims.validations import ClaimValidation
    from app.extensions import db

    with live_server.app.app_context():
        import sqlalchemy as sa

        record = db.session.scalar(
            sa.select(ClaimValidation).where(ClaimValidation.organisation_id == org.id).order_by(ClaimValidation.id)
        )
        assert record.countersigner_name == "Sam Second" and record.is_complete
