"""The login throttle forgets old failures, and sees the client's address behind a trusted reverse proxy only.

Before: every failure ever made counted, and behind nginx every client shared ``ip:127.0.0.1`` — after 20 failures
site-wide, each new failure blocked every user.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.auth import throttle
from app.auth.models import LoginThrottle
from app.core.audit import AuditEvent
from app.core.db import utcnow
from tests.fixtures.app import TEST_PASSWORD, make_test_app

THROTTLED_MESSAGE = "Too many failed attempts."
ENGLISH = {"Accept-Language": "en"}


@pytest.fixture
def clock(monkeypatch):
    """Move the clock the throttle reads."""
    state = {"offset": timedelta(0)}

    def now():
        return utcnow() + state["offset"]

    monkeypatch.setattr(throttle, "utcnow", now)

    class Clock:
        def advance(self, **delta):
            state["offset"] += timedelta(**delta)

    return Clock()


def counter(db_session, key: str) -> LoginThrottle | None:
    return db_session.scalar(sa.select(LoginThrottle).where(LoginThrottle.key == key))


def _login(client, email, password, ip="127.0.0.1", headers=None):
    return client.post(
        "/auth/login",
        data={"email": email, "password": password},
        headers={**ENGLISH, **(headers or {})},
        environ_base={"REMOTE_ADDR": ip},
    )


# --- The window -------------------------------------------------------------------------------------------------------


def test_failures_older_than_the_window_no_longer_count(app, db_session, clock):
    assert app.config["LOGIN_FAILURE_WINDOW_SECONDS"] == 15 * 60
    key = throttle.account_key("someone@example.org")
    for _attempt in range(5):
        throttle.record_failure(key)
    assert throttle.seconds_blocked(key) > 0
    clock.advance(minutes=16)
    assert throttle.seconds_blocked(key) == 0
    throttle.record_failure(key)
    # The old five are forgotten: this is the first failure of a new series, with no delay.
    assert counter(db_session, key).failures == 1
    assert throttle.seconds_blocked(key) == 0


def test_progressive_delay_still_grows_within_the_window(app, db_session, clock):
    key = throttle.account_key("someone@example.org")
    for _attempt in range(5):
        throttle.record_failure(key)
    assert 25 <= throttle.seconds_blocked(key) <= 31
    clock.advance(minutes=10)  # the 30 s block is over, but the failures are still recent
    assert throttle.seconds_blocked(key) == 0
    throttle.record_failure(key)
    assert counter(db_session, key).failures == 6
    assert 55 <= throttle.seconds_blocked(key) <= 61
    # The window slides from the last failure: 10 more minutes are still inside it.
    clock.advance(minutes=10)
    throttle.record_failure(key)
    assert counter(db_session, key).failures == 7
    assert 115 <= throttle.seconds_blocked(key) <= 121


def test_the_window_is_a_setting(app, db_session, clock, monkeypatch):
    monkeypatch.setitem(app.config, "LOGIN_FAILURE_WINDOW_SECONDS", 60)
    key = throttle.account_key("someone@example.org")
    for _attempt in range(3):
        throttle.record_failure(key)
    clock.advance(seconds=61)
    throttle.record_failure(key)
    assert counter(db_session, key).failures == 1


def test_expired_counters_are_deleted(app, db_session, clock):
    old = throttle.ip_key("203.0.113.50")
    throttle.record_failure(old)
    clock.advance(minutes=16)
    throttle.record_failure(throttle.ip_key("203.0.113.51"))
    assert counter(db_session, old) is None


def test_an_ip_counter_decays_too(client, create_user, db_session, clock):
    victim = create_user()
    shared_ip = "203.0.113.7"
    for n in range(20):  # one failure per account: only the IP counter is exhausted
        assert _login(client, f"probe{n}@example.org", "wrong password entirely", ip=shared_ip).status_code == 401
    assert _login(client, f"probe{n}@example.org", "wrong password entirely", ip=shared_ip).status_code == 429
    assert _login(client, victim.email, TEST_PASSWORD, ip=shared_ip).status_code == 429
    clock.advance(minutes=16)
    assert _login(client, victim.email, TEST_PASSWORD, ip=shared_ip).status_code == 302
    client.post("/auth/logout")
    # A success does not wipe the address's counter (it protects other accounts); it has decayed instead.
    assert _login(client, "probe99@example.org", "wrong password entirely", ip=shared_ip).status_code == 401
    assert counter(db_session, throttle.ip_key(shared_ip)).failures == 1


# --- Reverse proxy ----------------------------------------------------------------------------------------------------


@pytest.fixture
def proxied_app(database_url, tmp_path):
    """An app told that one reverse proxy (nginx) stands in front of it."""
    return make_test_app(database_url, tmp_path, PROXY_COUNT=1)


def _last_failure_ip(db_session) -> str | None:
    return db_session.scalar(
        sa.select(AuditEvent.ip_address)
        .where(AuditEvent.action == "user.login_failed")
        .order_by(AuditEvent.id.desc())
        .limit(1)
    )


def test_behind_a_trusted_proxy_the_forwarded_address_is_throttled_and_logged(proxied_app, db_session):
    client = proxied_app.test_client()
    forwarded = {"X-Forwarded-For": "198.51.100.23"}
    response = _login(client, "nobody@example.org", "wrong password entirely", headers=forwarded)
    assert response.status_code == 401
    assert counter(db_session, throttle.ip_key("198.51.100.23")).failures == 1
    assert counter(db_session, throttle.ip_key("127.0.0.1")) is None
    assert _last_failure_ip(db_session) == "198.51.100.23"


def test_clients_behind_the_proxy_no_longer_share_one_counter(proxied_app, create_user, db_session):
    client = proxied_app.test_client()
    victim = create_user()
    for n in range(21):  # an attacker exhausts its own address's allowance…
        _login(client, f"probe{n}@example.org", "wrong", headers={"X-Forwarded-For": "203.0.113.7"})
    assert _login(client, victim.email, TEST_PASSWORD, headers={"X-Forwarded-For": "203.0.113.7"}).status_code == 429
    # …and everyone else, arriving through the same nginx, can still sign in.
    assert _login(client, victim.email, TEST_PASSWORD, headers={"X-Forwarded-For": "198.51.100.9"}).status_code == 302


def test_only_the_address_added_by_the_trusted_proxy_counts(proxied_app, db_session):
    client = proxied_app.test_client()
    # The client forged the first entry; nginx appended the real address.
    forged = {"X-Forwarded-For": "10.9.9.9, 198.51.100.23"}
    _login(client, "nobody@example.org", "wrong password entirely", headers=forged)
    assert counter(db_session, throttle.ip_key("198.51.100.23")) is not None
    assert counter(db_session, throttle.ip_key("10.9.9.9")) is None


def test_without_proxy_count_a_forged_header_is_ignored(app, client, db_session):
    assert app.config["PROXY_COUNT"] == 0
    response = _login(
        client, "nobody@example.org", "wrong password entirely", ip="192.0.2.4", headers={"X-Forwarded-For": "1.2.3.4"}
    )
    assert response.status_code == 401
    assert counter(db_session, throttle.ip_key("192.0.2.4")).failures == 1
    assert counter(db_session, throttle.ip_key("1.2.3.4")) is None
    assert _last_failure_ip(db_session) == "192.0.2.4"
