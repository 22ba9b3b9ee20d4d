"""What the database files keep after a transaction: forgetting the write-ahead log, compacting after erasure.

SQLite in WAL mode appends every committed page to ``<db>-wal`` until a checkpoint copies them into the main
file; a reader of that file can replay commits one by one, in order. Deleted rows stay in free pages of the main
file unless ``secure_delete`` is on or the file is rebuilt (``VACUUM``). The functions here are no-ops on other
databases: on PostgreSQL the WAL, dead tuples and replicas are the operator's to limit (see the README, "Survey
anonymity on PostgreSQL").

Each runs on a pooled connection of its own, outside any transaction (a checkpoint cannot complete inside one),
with a short busy timeout: a checkpoint that readers keep from finishing is tried again a few times, then
reported as incomplete rather than blocking the request.
"""

from __future__ import annotations

import logging
import sqlite3
import time

import sqlalchemy as sa

from app.core.db import SQLITE_BUSY_TIMEOUT_MS
from app.extensions import db

logger = logging.getLogger("acquis.db")

#: Attempts, and the pause (seconds) between them, when readers keep a checkpoint from completing.
ATTEMPTS, PAUSE = 5, 0.05
_SHORT_BUSY_MS = 100


def _sqlite_engine(bind=None) -> tuple[sa.Engine | None, int]:
    """The SQLite engine behind ``bind`` (or the session), and how many attempts to make.

    A session bound to a connection (not an engine) runs inside a transaction its owner keeps open — the tests'
    rollback fixture — which no retry can outwait: one attempt then.
    """
    bind = bind if bind is not None else db.session.get_bind()
    engine = bind if isinstance(bind, sa.Engine) else bind.engine
    attempts = ATTEMPTS if isinstance(bind, sa.Engine) else 1
    return (engine if engine.dialect.name == "sqlite" else None), attempts


def _run(engine: sa.Engine, *statements: str) -> tuple | None:
    """Run ``statements`` in autocommit mode on a pooled connection; the first row of the last one's result."""
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute(f"PRAGMA busy_timeout={_SHORT_BUSY_MS}")
        try:
            for statement in statements:
                cursor.execute(statement)
                row = cursor.fetchone()
        finally:
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.close()
        return tuple(row) if row is not None else None
    finally:
        raw.close()


def forget_log(bind=None) -> bool:
    """Checkpoint the SQLite write-ahead log into the main file and truncate the log to zero bytes.

    :returns: True when the log is now empty (always True on other databases).
    """
    engine, attempts = _sqlite_engine(bind)
    if engine is None:
        return True
    for attempt in range(attempts):
        try:
            busy = _run(engine, "PRAGMA wal_checkpoint(TRUNCATE)")[0]
        except (sa.exc.OperationalError, sqlite3.OperationalError):
            busy = 1
        if not busy:
            return True
        time.sleep(PAUSE * (attempt + 1))
    logger.warning("the SQLite write-ahead log could not be truncated (readers kept it busy)")
    return False


def secure_delete(session) -> None:
    """Make SQLite overwrite deleted content with zeros on the connection of ``session`` (no-op elsewhere)."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(sa.text("PRAGMA secure_delete=ON"))


def compact(bind=None) -> bool:
    """Rebuild the SQLite file without free pages (``VACUUM``) and empty its log, so deleted text is gone.

    :returns: True when done (always True on other databases, where autovacuum reclaims dead rows in time).
    """
    engine, attempts = _sqlite_engine(bind)
    if engine is None:
        return True
    for attempt in range(attempts):
        try:
            _run(engine, "PRAGMA wal_checkpoint(TRUNCATE)", "VACUUM", "PRAGMA wal_checkpoint(TRUNCATE)")
            return True
        except (sa.exc.OperationalError, sqlite3.OperationalError):
            time.sleep(PAUSE * (attempt + 1))
    logger.warning("the SQLite database could not be compacted (other connections kept it busy)")
    return False
