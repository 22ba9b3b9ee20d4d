"""Failed-login throttling with counters in the database, so every app process sees the same numbers.

Each failure increments a counter for the account and one for the client IP. Past a free allowance the key is
blocked for a delay that doubles with every further failure (30 s, 1 min, 2 min … up to the configured maximum).
A success clears the account counter.
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from app.auth.models import LoginThrottle, sha256_hex
from app.core.db import utcnow
from app.extensions import db

BASE_DELAY_SECONDS = 30
#: An IP address may be shared by many people (a NGO office, a campus): it gets a larger allowance.
IP_ALLOWANCE_FACTOR = 4


def account_key(email: str) -> str:
    return "account:" + sha256_hex(email.strip().lower())


def ip_key(ip: str | None) -> str:
    return f"ip:{ip or 'unknown'}"


def _allowance(key: str) -> int:
    free = current_app.config["LOGIN_FREE_FAILURES"]
    return free * IP_ALLOWANCE_FACTOR if key.startswith("ip:") else free


def _delay_after(failures: int, allowance: int) -> int:
    if failures < allowance:
        return 0
    return min(BASE_DELAY_SECONDS * 2 ** (failures - allowance), current_app.config["LOGIN_MAX_DELAY_SECONDS"])


def seconds_blocked(*keys: str) -> int:
    """Seconds the caller must still wait because of any of ``keys`` (0 when free to try)."""
    now = utcnow()
    rows = db.session.scalars(sa.select(LoginThrottle).where(LoginThrottle.key.in_(keys))).all()
    waits = [
        int((row.blocked_until - now).total_seconds()) + 1
        for row in rows
        if row.blocked_until and row.blocked_until > now
    ]
    return max(waits, default=0)


def record_failure(*keys: str) -> None:
    """Count one failed attempt against each key (atomic increment, safe across processes)."""
    now = utcnow()
    for key in keys:
        updated = db.session.execute(
            sa.update(LoginThrottle)
            .where(LoginThrottle.key == key)
            .values(failures=LoginThrottle.failures + 1, last_failure_at=now)
            .returning(LoginThrottle.failures)
        ).scalar_one_or_none()
        if updated is None:
            _insert_counter(key, now)
            updated = 1
        delay = _delay_after(updated, _allowance(key))
        if delay:
            db.session.execute(
                sa.update(LoginThrottle)
                .where(LoginThrottle.key == key)
                .values(blocked_until=now + timedelta(seconds=delay))
            )


def _insert_counter(key: str, now) -> None:
    try:
        with db.session.begin_nested():
            db.session.add(LoginThrottle(key=key, failures=1, last_failure_at=now))
    except sa.exc.IntegrityError:
        # Another process inserted the same key first: count on its row.
        db.session.execute(
            sa.update(LoginThrottle).where(LoginThrottle.key == key).values(failures=LoginThrottle.failures + 1)
        )


def clear(*keys: str) -> None:
    """Forget the failures of ``keys`` (after a successful login)."""
    db.session.execute(sa.delete(LoginThrottle).where(LoginThrottle.key.in_(keys)))
