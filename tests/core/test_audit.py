"""The audit log is append-only: the ORM and the database both refuse changes and deletions."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.core.audit import AuditEvent, AuditLogImmutableError, log_event


@pytest.fixture
def event_row(db_session, create_user):
    user = create_user()
    row = log_event("test.something", actor=user, obj=user, data={"k": "v"})
    db_session.flush()
    return row


def _stored_action(db_session, row_id):
    return db_session.execute(sa.text("SELECT action FROM audit_events WHERE id = :id"), {"id": row_id}).scalar()


def test_log_event_records_actor_object_and_data(event_row, db_session):
    db_session.expire_all()
    row = db_session.get(AuditEvent, event_row.id)
    assert row.action == "test.something"
    assert row.object_type == "User" and row.object_id == str(row.actor_id)
    assert row.data == {"k": "v"} and row.created_at is not None


def test_orm_update_is_refused(event_row, db_session):
    with pytest.raises(AuditLogImmutableError), db_session.begin_nested():
        event_row.action = "tampered"
        db_session.flush()
    db_session.expire_all()
    assert _stored_action(db_session, event_row.id) == "test.something"


def test_orm_delete_is_refused(event_row, db_session):
    with pytest.raises(AuditLogImmutableError), db_session.begin_nested():
        db_session.delete(event_row)
        db_session.flush()
    assert _stored_action(db_session, event_row.id) == "test.something"


@pytest.mark.parametrize(
    "statement",
    [
        sa.update(AuditEvent).values(action="tampered"),
        sa.delete(AuditEvent),
    ],
    ids=["bulk-update", "bulk-delete"],
)
def test_orm_bulk_statements_are_refused(event_row, db_session, statement):
    with pytest.raises(AuditLogImmutableError), db_session.begin_nested():
        db_session.execute(statement)
    assert _stored_action(db_session, event_row.id) == "test.something"


@pytest.mark.parametrize(
    "sql",
    ["UPDATE audit_events SET action = 'tampered'", "DELETE FROM audit_events"],
    ids=["raw-update", "raw-delete"],
)
def test_database_trigger_refuses_raw_sql(event_row, db_session, sql):
    """Raw SQL bypasses the ORM guards: the trigger created by the migrations still refuses it."""
    with pytest.raises(sa.exc.DatabaseError, match="append-only"), db_session.begin_nested():
        db_session.execute(sa.text(sql))
    # The savepoint was rolled back; the test transaction and the row survive.
    assert _stored_action(db_session, event_row.id) == "test.something"


def test_inserts_still_work_after_a_refusal(event_row, db_session):
    with pytest.raises(sa.exc.DatabaseError), db_session.begin_nested():
        db_session.execute(sa.text("DELETE FROM audit_events"))
    log_event("test.after")
    db_session.flush()
    count = db_session.scalar(sa.select(sa.func.count(AuditEvent.id)))
    assert count >= 2


def test_failed_login_is_audited_with_ip(client, create_user, db_session):
    user = create_user()
    client.post(
        "/auth/login", data={"email": user.email, "password": "wrong"}, environ_base={"REMOTE_ADDR": "192.0.2.44"}
    )
    client.post("/auth/login", data={"email": "ghost@example.org", "password": "wrong"})
    rows = db_session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "user.login_failed").order_by(AuditEvent.id)
    ).all()
    assert [(r.actor_id, r.ip_address) for r in rows] == [(user.id, "192.0.2.44"), (None, "127.0.0.1")]
    assert rows[1].data == {"unknown_account": True}
    assert "ghost@example.org" not in str(rows[1].data) + rows[1].actor_label
