"""Failed-login throttling with counters in the database, so every app process sees the same numbers.

Each failure increments a counter for the account and one for the client IP. Past a free allowance the key is
blocked for a delay that doubles with every further failure (30 s, 1 min, 2 min … up to the configured maximum).
Counters decay: once ``LOGIN_FAILURE_WINDOW_SECONDS`` have passed since a key's last failure, its old failures no
longer count (the next failure starts again from 1), so a shared address or a forgotten password does not stay
penalised for ever. A success clears the account counter; the IP counter is left to decay, so that signing in to
one's own account from an address does not wipe out the failures made there against other accounts.
The client IP is ``request.remote_addr``, which is the proxy's address unless ``PROXY_COUNT`` is set (see
:func:`app.create_app`).
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


def _window_start(now):
    """Failures made before this instant no longer count."""
    return now - timedelta(seconds=current_app.config["LOGIN_FAILURE_WINDOW_SECONDS"])


def _next_count():
    """SQL for the new failure count: +1, or a fresh 1 when the last failure is older than the window."""
    cutoff = _window_start(utcnow())
    return sa.case(
        (sa.or_(LoginThrottle.last_failure_at.is_(None), LoginThrottle.last_failure_at < cutoff), 1),
        else_=LoginThrottle.failures + 1,
    )


def record_failure(*keys: str) -> None:
    """Count one failed attempt against each key (atomic increment, safe across processes)."""
    now = utcnow()
    _forget_stale(now)
    for key in keys:
        updated = db.session.execute(
            sa.update(LoginThrottle)
            .where(LoginThrottle.key == key)
            .values(failures=_next_count(), last_failure_at=now)
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
            sa.update(LoginThrottle).where(LoginThrottle.key == key).values(failures=_next_count(), last_failure_at=now)
        )


def _forget_stale(now) -> None:
    """Delete counters whose failures have all expired and that block nobody (keeps the table small)."""
    db.session.execute(
        sa.delete(LoginThrottle).where(
            LoginThrottle.last_failure_at < _window_start(now),
            sa.or_(LoginThrottle.blocked_until.is_(None), LoginThrottle.blocked_until < now),
        ),
        execution_options={"synchronize_session": False},  # rows are always re-read with a fresh SELECT
    )


def clear(*keys: str) -> None:
    """Forget the failures of ``keys`` (after a successful login)."""
    db.session.execute(sa.delete(LoginThrottle).where(LoginThrottle.key.in_(keys)))
