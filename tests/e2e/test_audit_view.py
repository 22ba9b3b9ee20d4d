"""An NGO admin opens the NGO's audit trail from its page, filters it by a trainer and downloads it as CSV. Every page
passes the page checks (console, CSP, axe WCAG 2.2 AA)."""

from __future__ import annotations

import csv
import io

import pytest
from playwright.sync_api import expect

from tests.e2e.helpers import check_page, login, visit

pytestmark = pytest.mark.browser


def _log(live_server, action, actor, org, data):
    from app.auth.models import User
    from app.core.audit import log_event
    from app.extensions import db

    with live_server.committing():
        log_event(action, actor=db.session.get(User, actor.id), organisation_id=org.id, data=data)


def test_admin_filters_the_audit_trail_by_a_trainer_and_downloads_it(live_server, page):
    admin = live_server.create_user(name="Ada Audit", locale="en")
    trainer = live_server.create_user(name="Théo Formateur", locale="en")
    volunteer = live_server.create_user(name="Vera Volontaire", locale="en")
    org = live_server.create_org("Solidarité Journal")
    other = live_server.create_org("Autre Journal")
    for user, role in ((admin, "admin"), (trainer, "trainer"), (volunteer, "volunteer")):
        live_server.add_member(org, user, role)
    _log(live_server, "submission.created", volunteer, org, {"note": "submitted-by-vera"})
    _log(live_server, "item.validated", trainer, org, {"note": "=validated-by-theo"})
    _log(live_server, "validation.revoked", trainer, org, {"reason": "revoked-by-theo"})
    _log(live_server, "item.validated", trainer, other, {"note": "elsewhere"})
    login(page, admin.email, admin.password)

    visit(page, f"/organisations/{org.slug}")
    page.get_by_role("link", name="Audit trail").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Audit trail of {org.name}")
    rows = page.locator("#audit-events tbody tr")
    expect(rows.filter(has_text="submitted-by-vera")).to_have_count(1)
    expect(page.get_by_text("elsewhere")).to_have_count(0)
    check_page(page)

    page.get_by_label("Person").select_option(label=trainer.name)
    page.get_by_role("button", name="Filter").click()
    expect(rows.filter(has_text="revoked-by-theo")).to_have_count(1)
    expect(rows.filter(has_text="Claim validated")).to_have_count(1)
    expect(rows.filter(has_text="submitted-by-vera")).to_have_count(0)
    expect(rows).to_have_count(2)
    check_page(page)

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download as CSV").click()
    download = download_info.value
    assert download.suggested_filename == f"audit-{org.slug}.csv"
    with open(download.path(), encoding="utf-8") as handle:
        table = list(csv.reader(io.StringIO(handle.read())))
    assert table[0][:3] == ["Date (UTC)", "Person", "Action"]
    assert sorted(row[2] for row in table[1:]) == ["Claim validated", "Validation revoked"]
    assert {row[1] for row in table[1:]} == {trainer.name}
    assert "note: =validated-by-theo" in {row[6] for row in table[1:]}
