"""Declarative base, naming convention, UTC timestamps and engine settings.

SQLite is configured for a web workload: write-ahead logging (readers never block the writer), foreign keys
enforced, a busy timeout instead of immediate "database is locked" errors, and transactions begun explicitly so
that SAVEPOINTs work (the stdlib driver's implicit transactions break them).

Write transactions on SQLite
----------------------------
A plain (deferred) ``BEGIN`` starts as a reader and asks for the write lock at its first write. If another
connection holds that lock, or has committed since our transaction read its snapshot, SQLite answers
``SQLITE_BUSY`` at once: the busy timeout is *not* applied to a lock upgrade (waiting could deadlock two readers
that both want to write), so a request that reads then writes fails with "database is locked" under the lightest
concurrency. Hence:

- work that is known to write begins with ``BEGIN IMMEDIATE``, which takes the write lock up front and so waits
  (busy timeout) instead of failing: requests with an unsafe HTTP method (POST…), CLI commands and background
  jobs (anything outside a request);
- safe requests (GET, HEAD, OPTIONS) begin deferred, so readers never queue behind writers; the few that write
  (an expired job marked interrupted, an access logged) may meet ``SQLITE_BUSY``: the request handler then rolls
  back and runs the whole request again inside :func:`write_intent` (``BEGIN IMMEDIATE``), a bounded number of
  times (:func:`is_sqlite_busy`, ``app.core.views.RH``).

PostgreSQL is untouched: its transactions never fail that way, and the guarded UPDATEs give one winner on both.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from datetime import UTC, datetime

import sqlalchemy as sa
from flask import has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, registry

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SQLITE_BUSY_TIMEOUT_MS = 10_000


def utcnow() -> datetime:
    """Current time as an aware UTC datetime."""
    return datetime.now(UTC)


class UTCDateTime(sa.types.TypeDecorator):
    """A timestamp stored as naive UTC and always returned as an aware UTC datetime.

    SQLite has no time zones; storing naive UTC everywhere and tagging on the way out gives the same behaviour
    on SQLite and PostgreSQL.
    """

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC)

    def result_processor(self, dialect, coltype):
        """:meth:`process_result_value` as one closure over the driver's own conversion (if any): the generic
        TypeDecorator processor adds two Python calls per value, and a page lists hundreds of timestamps."""
        impl_processor = self.impl_instance.result_processor(dialect, coltype)
        utc = UTC
        if impl_processor is None:

            def process(value):
                return None if value is None else value.replace(tzinfo=utc)

        else:

            def process(value):
                value = impl_processor(value)
                return None if value is None else value.replace(tzinfo=utc)

        return process


class Base(DeclarativeBase):
    """Base class of every model."""

    registry = registry(
        metadata=sa.MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: UTCDateTime()},
    )


class TimestampMixin:
    """Adds ``created_at`` (set on insert)."""

    created_at: Mapped[datetime] = mapped_column(default=utcnow)


def is_sqlite(engine_or_url) -> bool:
    """True when the engine or URL points at SQLite."""
    url = getattr(engine_or_url, "url", engine_or_url)
    return str(url).startswith("sqlite")


@event.listens_for(Engine, "connect")
def _configure_sqlite_connection(dbapi_connection, connection_record):
    if type(dbapi_connection).__module__ not in {"sqlite3", "pysqlite2.dbapi2"}:
        return
    # Let SQLAlchemy emit BEGIN itself (see the "begin" listener) so SAVEPOINT works.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


#: HTTP methods that do not change anything by design; their requests begin deferred (readers).
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: ``True``/``False`` forces the kind of the next SQLite transactions of this context; ``None``: decided by
#: :func:`sqlite_begin_statement`.
_write_intent: ContextVar[bool | None] = ContextVar("acquis_sqlite_write_intent", default=None)


def sqlite_begin_statement() -> str:
    """``BEGIN IMMEDIATE`` for work that writes (unsafe methods, CLI, background jobs), else ``BEGIN``."""
    forced = _write_intent.get()
    if forced is not None:
        return "BEGIN IMMEDIATE" if forced else "BEGIN"
    if has_request_context() and request.method in SAFE_METHODS:
        return "BEGIN"
    return "BEGIN IMMEDIATE"


@contextlib.contextmanager
def write_intent(writes: bool | None = True) -> Iterator[None]:
    """Within the block, SQLite transactions begin as writers (``True``), readers (``False``), or as the context
    decides (``None``). Only transactions that begin inside the block are affected."""
    token = _write_intent.set(writes)
    try:
        yield
    finally:
        _write_intent.reset(token)


def is_sqlite_busy(error: BaseException) -> bool:
    """Whether ``error`` (a SQLAlchemy or sqlite3 error) is SQLite's "database is locked" (SQLITE_BUSY and its
    extended codes, e.g. BUSY_SNAPSHOT when a deferred transaction's snapshot went stale)."""
    original = getattr(error, "orig", error)
    if not isinstance(original, sqlite3.OperationalError):
        return False
    code = getattr(original, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF == sqlite3.SQLITE_BUSY
    return "database is locked" in str(original)


def guarded_update(stmt, *, before: Callable[[], None] | None = None) -> int:
    """Execute a transition's guarded ``UPDATE … WHERE <still in the expected state>``; return how many rows it
    changed (1: this transaction made the transition; 0: someone else did first, or it no longer applies).

    ``before()`` runs first on every attempt (e.g. a row lock that serialises the transitions of one object).
    On SQLite, a concurrent writer makes the UPDATE fail with "database is locked" when this transaction had read
    an older snapshot: roll back (the caller has changed nothing yet: the guarded UPDATE is its first write) and
    try once more on a fresh snapshot, where the guard then decides. PostgreSQL never fails that way.
    """
    session = _default_session()
    stmt = stmt.execution_options(synchronize_session=False)

    def attempt() -> int:
        if before is not None:
            before()
        return session.execute(stmt).rowcount

    try:
        return attempt()
    except sa.exc.OperationalError as exc:
        if session.get_bind().dialect.name != "sqlite" or "locked" not in str(exc.orig).lower():
            raise
        session.rollback()
        return attempt()


@event.listens_for(Engine, "begin")
def _begin_sqlite_transaction(connection):
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql(sqlite_begin_statement())


def enum_column(enum_cls, length: int = 30) -> sa.Enum:
    """Column type for a StrEnum stored by value as a short string (portable, no native database enum)."""
    return sa.Enum(enum_cls, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e])


# --- Side effects tied to the transaction ------------------------------------------------------------------------
#
# Work outside the database (sending mail, deleting files, starting a background render) must follow the fate of
# the transaction: a background thread started before the commit cannot see the rows it is meant to work on, and
# an e-mail sent for a rolled-back change points at nothing.

_AFTER_COMMIT = "acquis_after_commit"
_AFTER_ROLLBACK = "acquis_after_rollback"

logger = logging.getLogger("acquis.db")


def after_commit(callback: Callable[[], None], session=None) -> None:
    """Run ``callback()`` once the current transaction has committed; forget it if the transaction rolls back."""
    _pending(session, _AFTER_COMMIT).append(callback)


def after_rollback(callback: Callable[[], None], session=None) -> None:
    """Run ``callback()`` if the current transaction rolls back; forget it once the transaction commits."""
    _pending(session, _AFTER_ROLLBACK).append(callback)


def _default_session():
    """The Flask-SQLAlchemy scoped session."""
    from app.extensions import db  # cycle: app.extensions builds its SQLAlchemy object on this module's Base

    return db.session


def _pending(session, key: str) -> list:
    if session is None:
        session = _default_session()
    return session.info.setdefault(key, [])


def _run_all(callbacks) -> None:
    for callback in callbacks:
        try:
            callback()
        except Exception:
            # The transaction is over; a failed side effect is logged and must not fail the request.
            logger.exception("after-transaction callback %r failed", callback)


@event.listens_for(Session, "after_commit")
def _session_committed(session) -> None:
    session.info.pop(_AFTER_ROLLBACK, None)
    _run_all(session.info.pop(_AFTER_COMMIT, []))


@event.listens_for(Session, "after_soft_rollback")
def _session_rolled_back(session, previous_transaction) -> None:
    if previous_transaction.nested:  # a SAVEPOINT rolled back inside a transaction decides nothing yet
        return
    session.info.pop(_AFTER_COMMIT, None)
    _run_all(session.info.pop(_AFTER_ROLLBACK, []))
