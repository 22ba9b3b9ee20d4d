"""Append-only audit log.

Operations call :func:`log_event` for every state change worth tracing. Rows can be added, never changed or
removed: the ORM refuses updates and deletes, and the database refuses them too (a trigger on SQLite and
PostgreSQL, created by the migrations).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import has_request_context, request
from sqlalchemy import event
from sqlalchemy.orm import Mapped, Session, mapped_column

from app.core.db import Base, utcnow
from app.extensions import db


class AuditLogImmutableError(RuntimeError):
    """Raised on any attempt to change or delete an audit event."""


class AuditEvent(Base):
    """One thing that happened: who did what to which object, and when."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    #: The acting user's id, kept as a plain number: the log outlives accounts.
    actor_id: Mapped[int | None] = mapped_column(index=True)
    actor_label: Mapped[str] = mapped_column(sa.String(200), default="")
    action: Mapped[str] = mapped_column(sa.String(80), index=True)
    object_type: Mapped[str] = mapped_column(sa.String(60), default="")
    object_id: Mapped[str] = mapped_column(sa.String(60), default="")
    organisation_id: Mapped[int | None] = mapped_column(index=True)
    ip_address: Mapped[str | None] = mapped_column(sa.String(64))
    data: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)

    __table_args__ = (sa.Index("ix_audit_events_object", "object_type", "object_id"),)


def log_event(
    action: str,
    *,
    actor=None,
    obj=None,
    organisation_id: int | None = None,
    data: dict | None = None,
) -> AuditEvent:
    """Add an audit event to the current session (flushed with the operation, committed by the caller).

    :param action: a dotted verb such as ``"user.registered"`` or ``"membership.approved"``.
    :param actor: the user acting, or ``None`` for the system.
    :param obj: the model the action applies to (its class name and id are recorded).
    """
    event_row = AuditEvent(
        action=action,
        actor_id=getattr(actor, "id", None),
        # Only the id, never the e-mail: rows are append-only and must not keep a person after erasure.
        actor_label=f"user#{actor.id}" if getattr(actor, "id", None) else "",
        object_type=type(obj).__name__ if obj is not None else "",
        object_id=str(getattr(obj, "id", "") or "") if obj is not None else "",
        organisation_id=organisation_id,
        ip_address=request.remote_addr if has_request_context() else None,
        data=data or {},
    )
    db.session.add(event_row)
    return event_row


@event.listens_for(AuditEvent, "before_update")
def _refuse_update(mapper, connection, target):
    raise AuditLogImmutableError("audit events cannot be changed")


@event.listens_for(AuditEvent, "before_delete")
def _refuse_delete(mapper, connection, target):
    raise AuditLogImmutableError("audit events cannot be deleted")


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_changes(orm_execute_state):
    if not (orm_execute_state.is_update or orm_execute_state.is_delete):
        return
    mapper = orm_execute_state.bind_mapper
    if mapper is not None and mapper.class_ is AuditEvent:
        raise AuditLogImmutableError("audit events cannot be changed or deleted")


#: Statements the migrations run so that the database itself refuses changes to the log.
SQLITE_TRIGGERS = [
    """CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
       BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END""",
    """CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
       BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END""",
]
POSTGRES_TRIGGERS = [
    """CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger AS $$
       BEGIN RAISE EXCEPTION 'audit events are append-only'; END; $$ LANGUAGE plpgsql""",
    """CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events
       FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()""",
]
