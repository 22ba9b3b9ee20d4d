"""Append-only audit log, with one audited exception: redacting an erased person.

Operations call :func:`log_event` for every state change worth tracing. Rows can be added, never removed, and
changed in one way only: :func:`redact_person`, run by account erasure, blanks what identifies the erased person
(their id as actor or object, the label, the IP address, data that names them) and logs an ``audit.redacted``
event saying how many rows it changed. The ORM refuses any other update or delete, and so does the database (a
trigger on SQLite and PostgreSQL, created by the migrations, that lets through only updates which leave every
other column as it was and set the personal ones to the redacted values).
"""

from __future__ import annotations

import contextlib
import json
from contextvars import ContextVar
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

    __table_args__ = (
        sa.Index("ix_audit_events_object", "object_type", "object_id"),
        # The NGO audit view: one organisation's events, newest first, paged by (created_at, id).
        sa.Index("ix_audit_events_organisation_time", "organisation_id", "created_at", "id"),
    )


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
        # The actor's name as it was when they acted (the audit view shows it), never the e-mail address;
        # erasure redacts it (redact_person), so the row does not keep the person after their account is gone.
        actor_label=actor_name(actor),
        object_type=type(obj).__name__ if obj is not None else "",
        object_id=str(getattr(obj, "id", "") or "") if obj is not None else "",
        organisation_id=organisation_id,
        ip_address=request.remote_addr if has_request_context() else None,
        data=data or {},
    )
    db.session.add(event_row)
    return event_row


#: ``actor_label`` of events written before it held a name (``user#ID``): shown with the actor's current name.
LEGACY_LABEL_PREFIX = "user#"


def actor_name(actor) -> str:
    """What ``actor_label`` records for ``actor``: their display name at the time, or ``""`` for the system."""
    if not getattr(actor, "id", None):
        return ""
    return (getattr(actor, "display_name", "") or f"{LEGACY_LABEL_PREFIX}{actor.id}")[:200]


#: ``actor_label`` of events whose actor was erased; ``data`` of events that named an erased person.
REDACTED_LABEL = "erased"
REDACTED_DATA = {"redacted": True}
_redacting: ContextVar[bool] = ContextVar("audit_redacting", default=False)


@contextlib.contextmanager
def _redaction():
    token = _redacting.set(True)
    try:
        yield
    finally:
        _redacting.reset(token)


def _names(data: Any, user_id: int, needles: list[str]) -> bool:
    """Whether event ``data`` holds the person: a ``*user_id`` key with their id, or one of ``needles``."""
    if isinstance(data, dict):
        if any(k.endswith("user_id") and v == user_id for k, v in data.items()):
            return True
        return any(_names(v, user_id, needles) for v in data.values())
    if isinstance(data, list):
        return any(_names(v, user_id, needles) for v in data)
    return isinstance(data, str) and any(n in data.lower() for n in needles)


def redact_person(user_id: int, *, needles: tuple[str, ...] = ()) -> int:
    """Blank every trace of user ``user_id`` in the log (account erasure); returns the number of rows changed.

    Events they did keep their action and time but lose the actor (``actor_id`` NULL, ``actor_label``
    :data:`REDACTED_LABEL`, no IP address); events about their account lose the object id; events whose data
    names them (their id under a ``*user_id`` key, or a text containing one of ``needles``, e.g. their e-mail
    address and name) get :data:`REDACTED_DATA`. An ``audit.redacted`` event records the count, not the person.
    """
    table = AuditEvent.__table__
    wanted = [n.lower() for n in needles if n]
    changed = 0
    with _redaction():
        changed += db.session.execute(
            sa.update(table)
            .where(table.c.actor_id == user_id)
            .values(actor_id=None, actor_label=REDACTED_LABEL, ip_address=None)
        ).rowcount
        changed += db.session.execute(
            sa.update(table)
            .where(table.c.object_type == "User", table.c.object_id == str(user_id))
            .values(object_id="")
        ).rowcount
        candidates = [str(user_id), *wanted]
        text = sa.func.lower(sa.cast(table.c.data, sa.Text))
        rows = db.session.execute(
            sa.select(table.c.id, table.c.data).where(sa.or_(*(text.contains(c, autoescape=True) for c in candidates)))
        ).all()
        naming = [event_id for event_id, data in rows if data != REDACTED_DATA and _names(data, user_id, wanted)]
        for start in range(0, len(naming), 500):
            changed += db.session.execute(
                sa.update(table).where(table.c.id.in_(naming[start : start + 500])).values(data=REDACTED_DATA)
            ).rowcount
    log_event("audit.redacted", data={"rows": changed})
    return changed


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
    if _redacting.get():
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

#: The same guards, letting through only a redaction (see :func:`redact_person`): every column as it was, except
#: the personal ones, which may only become their redacted values. Installed by the migration of 2026-12-02.
_REDACTED_DATA_TEXT = json.dumps(REDACTED_DATA)
SQLITE_REDACTABLE_TRIGGERS = [
    "DROP TRIGGER IF EXISTS audit_events_no_update",
    f"""CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
       WHEN NOT (NEW.id = OLD.id AND NEW.created_at IS OLD.created_at AND NEW.action = OLD.action
                 AND NEW.object_type = OLD.object_type AND NEW.organisation_id IS OLD.organisation_id
                 AND (NEW.actor_id IS OLD.actor_id OR NEW.actor_id IS NULL)
                 AND (NEW.actor_label = OLD.actor_label OR NEW.actor_label = '{REDACTED_LABEL}')
                 AND (NEW.ip_address IS OLD.ip_address OR NEW.ip_address IS NULL)
                 AND (NEW.object_id = OLD.object_id OR NEW.object_id = '')
                 AND (NEW.data IS OLD.data OR NEW.data = '{_REDACTED_DATA_TEXT}'))
       BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END""",
]
POSTGRES_REDACTABLE_TRIGGERS = [
    f"""CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger AS $$
       BEGIN
         IF TG_OP = 'UPDATE' AND NEW.id = OLD.id AND NEW.created_at IS NOT DISTINCT FROM OLD.created_at
            AND NEW.action = OLD.action AND NEW.object_type = OLD.object_type
            AND NEW.organisation_id IS NOT DISTINCT FROM OLD.organisation_id
            AND (NEW.actor_id IS NOT DISTINCT FROM OLD.actor_id OR NEW.actor_id IS NULL)
            AND (NEW.actor_label = OLD.actor_label OR NEW.actor_label = '{REDACTED_LABEL}')
            AND (NEW.ip_address IS NOT DISTINCT FROM OLD.ip_address OR NEW.ip_address IS NULL)
            AND (NEW.object_id = OLD.object_id OR NEW.object_id = '')
            AND (NEW.data::text IS NOT DISTINCT FROM OLD.data::text OR NEW.data::text = '{_REDACTED_DATA_TEXT}')
         THEN
           RETURN NEW;
         END IF;
         RAISE EXCEPTION 'audit events are append-only';
       END; $$ LANGUAGE plpgsql""",
]
