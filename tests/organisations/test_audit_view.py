"""The NGO admin's audit view: scope, names as they were, filters, keyset pages, CSV, fixed statement count."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.core.audit import AuditEvent, log_event
from app.organisations.models import MembershipRole
from tests.fixtures.statements import explain, statements_for

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def ngo(create_org):
    return create_org("Terre Solidaire", slug="terre-solidaire")


@pytest.fixture
def other_ngo(create_org):
    return create_org("Ponts du Monde", slug="ponts-du-monde")


@pytest.fixture
def admin(ngo, create_user, add_member):
    user = create_user("admin@example.org", name="Hugo Admin", locale="en")
    add_member(ngo, user, "admin")
    return user


@pytest.fixture
def trainer(ngo, create_user, add_member):
    user = create_user("trainer@example.org", name="Tina Trainer", locale="en")
    add_member(ngo, user, "trainer")
    return user


def _event(db_session, action, *, actor=None, organisation, at=T0, data=None, label=None, actor_id=None):
    row = log_event(action, actor=actor, organisation_id=organisation.id if organisation else None, data=data)
    row.created_at = at
    if label is not None:
        row.actor_label = label
    if actor_id is not None:
        row.actor_id = actor_id
    db_session.flush()
    return row


def _text(response) -> str:
    return response.get_data(as_text=True)


def _csv(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    assert response.headers["Content-Disposition"].startswith("attachment;")
    return list(csv.reader(io.StringIO(_text(response))))


def test_an_admin_sees_the_ngo_events_and_nothing_of_another_ngo(
    client, login, db_session, ngo, other_ngo, admin, trainer, create_user, add_member
):
    _event(db_session, "item.validated", actor=trainer, organisation=ngo, data={"marker": "ours-1"})
    _event(db_session, "validation.revoked", actor=trainer, organisation=other_ngo, data={"marker": "theirs-1"})
    _event(db_session, "user.logged_in", actor=trainer, organisation=None, data={"marker": "nobody-1"})
    other_admin = create_user("other-admin@example.org")
    add_member(other_ngo, other_admin, "admin")

    login(client, admin)
    page = _text(client.get(f"/organisations/{ngo.slug}/audit"))
    assert "ours-1" in page and "Claim validated" in page and "Tina Trainer" in page
    assert "theirs-1" not in page and "nobody-1" not in page
    exported = _text(client.get(f"/organisations/{ngo.slug}/audit.csv"))
    assert "ours-1" in exported and "theirs-1" not in exported and "nobody-1" not in exported
    # Another NGO's trail does not exist for this admin, neither as a page nor as a file.
    assert client.get(f"/organisations/{other_ngo.slug}/audit").status_code == 404
    assert client.get(f"/organisations/{other_ngo.slug}/audit.csv").status_code == 404
    assert client.get("/admin/audit").status_code == 403


def test_a_trainer_of_the_ngo_is_refused(client, login, db_session, ngo, admin, trainer):
    _event(db_session, "item.validated", actor=trainer, organisation=ngo)
    login(client, trainer)
    assert client.get(f"/organisations/{ngo.slug}/audit").status_code == 404
    assert client.get(f"/organisations/{ngo.slug}/audit.csv").status_code == 404
    assert f"/organisations/{ngo.slug}/audit" not in _text(client.get(f"/organisations/{ngo.slug}"))


def test_platform_admins_see_every_ngo(client, login, db_session, ngo, other_ngo, admin, trainer, create_user):
    _event(db_session, "item.validated", actor=trainer, organisation=ngo, data={"marker": "ours-1"})
    _event(db_session, "validation.revoked", actor=trainer, organisation=other_ngo, data={"marker": "theirs-1"})
    root = create_user("root@example.org", platform_admin=True, totp=True, locale="en")
    login(client, root)
    assert "theirs-1" in _text(client.get(f"/organisations/{other_ngo.slug}/audit"))
    everything = _text(client.get("/admin/audit"))
    assert "ours-1" in everything and "theirs-1" in everything and "Ponts du Monde" in everything
    rows = _csv(client.get("/admin/audit.csv?action=validation.revoked"))
    assert [r[5] for r in rows[1:]] == ["Ponts du Monde"]
    assert "/admin/audit" in _text(client.get("/admin/"))


def test_the_actor_is_named_as_at_the_time(client, login, db_session, ngo, admin, trainer, create_user, add_member):
    from app.organisations import operations as ops

    membership = ngo.membership_of(trainer)
    ops.change_role(membership, MembershipRole.VOLUNTEER, actor=admin)
    db_session.flush()
    event = db_session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "membership.role_changed"))
    assert event.actor_label == "Hugo Admin"
    admin.display_name = "Hugo Renamed"
    gone = create_user("gone@example.org", name="Gone Person")
    add_member(ngo, gone, "trainer")
    _event(db_session, "item.rejected", actor=trainer, organisation=ngo, label=f"user#{trainer.id}")
    _event(
        db_session, "item.validated", organisation=ngo, label="user#999999", actor_id=999999, at=T0 - timedelta(days=1)
    )
    _event(db_session, "validation.revoked", organisation=ngo, label="erased", at=T0 - timedelta(days=2))
    # Someone who calls themselves "erased" keeps that name: redaction also removes the actor's id.
    odd = create_user("odd@example.org", name="erased")
    _event(db_session, "invitation.sent", actor=odd, organisation=ngo, at=T0 - timedelta(days=3))
    db_session.flush()

    login(client, admin)
    rows = _csv(client.get(f"/organisations/{ngo.slug}/audit.csv"))
    actors = {row[3]: row[1] for row in rows[1:]}
    assert actors["membership.role_changed"] == "Hugo Admin"  # the name when the role was changed
    assert actors["item.rejected"] == "Tina Trainer"  # an older event: the current name
    assert actors["item.validated"] == "a former member"  # an older event whose account is gone
    assert actors["validation.revoked"] == "a former member"  # an erased actor
    assert actors["invitation.sent"] == "erased"
    assert "Hugo Renamed" not in {row[1] for row in rows[1:]}


def test_filters_by_person_action_and_period(client, login, db_session, ngo, admin, trainer):
    _event(db_session, "item.validated", actor=trainer, organisation=ngo, at=T0, data={"n": "a"})
    _event(db_session, "item.rejected", actor=trainer, organisation=ngo, at=T0 + timedelta(days=3), data={"n": "b"})
    _event(db_session, "invitation.sent", actor=admin, organisation=ngo, at=T0 + timedelta(days=5), data={"n": "c"})
    login(client, admin)
    url = f"/organisations/{ngo.slug}/audit.csv"

    def marks(query):
        return sorted(row[6] for row in _csv(client.get(f"{url}?{query}"))[1:] if row[6].startswith("n: "))

    assert marks("") == ["n: a", "n: b", "n: c"]
    assert marks(f"person={trainer.id}") == ["n: a", "n: b"]
    assert marks(f"person={admin.id}") == ["n: c"]
    assert marks("action=item.rejected") == ["n: b"]
    assert marks("since=2026-11-02&until=2026-11-04") == ["n: b"]
    assert marks("until=2026-11-01") == ["n: a"]  # the last day is included
    assert marks(f"person={trainer.id}&since=2026-11-02") == ["n: b"]
    page = client.get(f"/organisations/{ngo.slug}/audit?person={trainer.id}&action=item.validated")
    assert page.status_code == 200 and "n: a" in _text(page) and "n: b" not in _text(page)
    # The download link keeps the filters.
    assert f"audit.csv?person={trainer.id}&amp;action=item.validated" in _text(page)
    # Invalid filters are reported, not applied; a stranger's id is not a choice.
    refused = client.get(f"/organisations/{ngo.slug}/audit?since=2026-11-05&until=2026-11-01")
    assert refused.status_code == 422 and "n: a" in _text(refused)
    assert client.get(f"/organisations/{ngo.slug}/audit?person=999999").status_code == 422
    assert client.get(f"/organisations/{ngo.slug}/audit?action=nonsense").status_code == 422


def test_keyset_pages_walk_every_event_once(client, login, db_session, ngo, admin, trainer):
    from app.organisations.audit_log import PAGE_SIZE

    # Several events share a timestamp: the id breaks the tie, so none is skipped or repeated.
    ids = [
        _event(db_session, "item.validated", actor=trainer, organisation=ngo, at=T0 + timedelta(minutes=i // 3)).id
        for i in range(PAGE_SIZE * 2 + 7)
    ]
    login(client, admin)
    url, seen, pages = f"/organisations/{ngo.slug}/audit", [], 0
    while url:
        response = client.get(url)
        assert response.status_code == 200
        text = _text(response)
        seen += [int(x) for x in _object_ids(text)]
        pages += 1
        url = _next_link(text)
    assert pages == 3
    expected = db_session.scalars(
        sa.select(AuditEvent.id)
        .where(AuditEvent.organisation_id == ngo.id)
        .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
    ).all()
    assert set(ids) <= set(expected)
    assert seen == expected  # every event once, newest first


def _object_ids(text: str) -> list[str]:
    import re

    return re.findall(r'<tr data-event="(\d+)">', text)


def _next_link(text: str) -> str | None:
    import html
    import re

    match = re.search(r'<a href="([^"]+)" rel="next">', text)
    return html.unescape(match.group(1)) if match else None


def test_csv_cells_are_neutralised(client, login, db_session, ngo, admin):
    for prefix in ("=", "+", "-", "@", "\t", "\r"):
        _event(db_session, "item.validated", organisation=ngo, label=f"{prefix}HYPERLINK(1)")
    login(client, admin)
    rows = _csv(client.get(f"/organisations/{ngo.slug}/audit.csv"))
    actors = sorted(row[1] for row in rows[1:] if "HYPERLINK" in row[1])
    assert actors == sorted(f"'{p}HYPERLINK(1)" for p in ("=", "+", "-", "@", "\t", "\r"))
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for row in rows for cell in row)


def _bulk_events(db_session, organisation_ids: list[int], actor_id: int, count: int) -> None:
    """``count`` audit rows in one INSERT … SELECT, spread over ``organisation_ids`` (fast on both databases)."""
    dialect = db_session.get_bind().dialect.name
    orgs = len(organisation_ids)
    org_case = "CASE " + " ".join(f"WHEN i % {orgs} = {k} THEN {oid}" for k, oid in enumerate(organisation_ids))
    if dialect == "postgresql":
        numbers = f"SELECT generate_series(1, {count}) AS i"
        stamp, data = "timestamp '2026-01-01' + i * interval '1 second'", "CAST('{}' AS JSON)"
    else:
        numbers = f"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {count}) SELECT i FROM n"  # noqa: S608 - integers
        stamp, data = "datetime('2026-01-01', '+' || i || ' seconds') || '.000000'", "'{}'"
    db_session.execute(
        sa.text(
            "INSERT INTO audit_events (created_at, actor_id, actor_label, action, object_type, object_id,"  # noqa: S608
            " organisation_id, ip_address, data)"
            f" SELECT {stamp}, {actor_id}, 'user#{actor_id}', 'item.validated', 'Claim', CAST(i AS VARCHAR(20)),"
            f" {org_case} END, NULL, {data} FROM ({numbers}) AS numbers"
        )
    )


def test_the_page_runs_a_fixed_number_of_statements_with_100000_events(
    client, login, db_session, ngo, other_ngo, admin, trainer
):
    _event(db_session, "item.validated", actor=trainer, organisation=ngo)
    login(client, admin)
    urls = [
        f"/organisations/{ngo.slug}/audit",
        f"/organisations/{ngo.slug}/audit?person={trainer.id}&action=item.validated&since=2025-01-01",
    ]
    small = [statements_for(client, url, warm_up=True) for url in urls]
    _bulk_events(db_session, [ngo.id, other_ngo.id], trainer.id, 100_000)
    assert db_session.scalar(sa.select(sa.func.count(AuditEvent.id))) > 100_000
    large = [statements_for(client, url) for url in urls]
    for before, after in zip(small, large, strict=True):
        assert len(after) == len(before), explain(before, after)
    # A later page too: the keyset cursor costs nothing more.
    text = _text(client.get(urls[0]))
    assert text.count('rel="next"') == 1
    later = statements_for(client, _next_link(text))
    assert len(later) == len(large[0]), explain(large[0], later)


def test_the_platform_admins_view_runs_a_fixed_number_of_statements_with_100000_events(
    client, login, db_session, ngo, other_ngo, admin, trainer, create_user
):
    """/admin/audit reads every NGO's events: its cost must not grow with them either (nor its filtered view)."""
    _event(db_session, "item.validated", actor=trainer, organisation=ngo)
    root = create_user("root@example.org", platform_admin=True, totp=True, locale="en")
    login(client, root)
    urls = ["/admin/audit", "/admin/audit?action=item.validated&since=2025-01-01"]
    small = [statements_for(client, url, warm_up=True) for url in urls]
    _bulk_events(db_session, [ngo.id, other_ngo.id], trainer.id, 100_000)
    large = [statements_for(client, url) for url in urls]
    for before, after in zip(small, large, strict=True):
        assert len(after) == len(before), explain(before, after)
    text = _text(client.get(urls[0]))
    assert text.count('rel="next"') == 1
    later = statements_for(client, _next_link(text))
    assert len(later) == len(large[0]), explain(large[0], later)
