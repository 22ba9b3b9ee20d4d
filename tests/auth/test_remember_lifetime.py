"""A signed-in session has a lifetime on the server: a copied remember-me cookie dies after
``REMEMBER_COOKIE_DURATION`` (at most 30 days), a session without remember-me after ``PERMANENT_SESSION_LIFETIME``.

Before: only ``revoked_at`` was checked, so a copied remember-me cookie worked until logout.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.auth import operations as ops
from app.config import ConfigError, load_config
from app.core.db import utcnow
from tests.auth.test_sessions import REMEMBER_COOKIE, SESSION_COOKIE, browser_with, cookie_value, is_signed_in


@pytest.fixture
def clock(monkeypatch):
    """Move the clock the session check reads."""
    state = {"offset": timedelta(0)}

    def now():
        return utcnow() + state["offset"]

    monkeypatch.setattr(ops, "utcnow", now)

    class Clock:
        def advance(self, **delta):
            state["offset"] += timedelta(**delta)

    return Clock()


@pytest.fixture
def user(create_user):
    return create_user(locale="en")


def test_defaults_are_thirty_days(app):
    assert app.config["REMEMBER_COOKIE_DURATION"] == timedelta(days=30)
    assert app.config["PERMANENT_SESSION_LIFETIME"] == timedelta(days=30)


def test_copied_remember_cookie_dies_after_the_remember_duration(app, user, login, clock):
    client = app.test_client()
    login(client, user, remember=True)
    remembered = cookie_value(client, REMEMBER_COOKIE)
    clock.advance(days=29)
    assert is_signed_in(browser_with(app, **{REMEMBER_COOKIE: remembered}))
    assert is_signed_in(client)
    clock.advance(days=2)
    assert not is_signed_in(browser_with(app, **{REMEMBER_COOKIE: remembered}))
    assert not is_signed_in(client)  # its own (permanent) session cookie too


def test_remember_duration_setting_is_honoured(app, user, login, clock, monkeypatch):
    monkeypatch.setitem(app.config, "REMEMBER_COOKIE_DURATION", timedelta(days=7))
    client = app.test_client()
    login(client, user, remember=True)
    remembered = cookie_value(client, REMEMBER_COOKIE)
    clock.advance(days=6)
    assert is_signed_in(browser_with(app, **{REMEMBER_COOKIE: remembered}))
    clock.advance(days=2)
    assert not is_signed_in(browser_with(app, **{REMEMBER_COOKIE: remembered}))


def test_session_without_remember_me_dies_after_the_session_lifetime(app, user, login, clock, monkeypatch):
    monkeypatch.setitem(app.config, "PERMANENT_SESSION_LIFETIME", timedelta(days=2))
    plain, remembered = app.test_client(), app.test_client()
    login(plain, user)
    login(remembered, user, remember=True)
    stolen = cookie_value(plain, SESSION_COOKIE)
    clock.advance(days=1)
    assert is_signed_in(browser_with(app, **{SESSION_COOKIE: stolen}))
    clock.advance(days=2)
    assert not is_signed_in(browser_with(app, **{SESSION_COOKIE: stolen}))
    assert not is_signed_in(plain)
    # The remember-me session still has the remember-me duration.
    assert is_signed_in(remembered)


def test_load_session_user_refuses_an_old_session(user, db_session, clock):
    key = ops.start_session(user)
    db_session.flush()
    alt_id = f"{user.id}:{user.session_version}:{key}"
    assert ops.load_session_user(alt_id) is user
    clock.advance(days=31)
    assert ops.load_session_user(alt_id) is None
    assert ops.load_session_user(alt_id, max_age=timedelta(days=40)) is user


@pytest.mark.parametrize("name", ["REMEMBER_COOKIE_DURATION", "PERMANENT_SESSION_LIFETIME"])
def test_lifetimes_longer_than_thirty_days_are_refused(name, tmp_path):
    overrides = {"TESTING": True, "SECRET_KEY": "x" * 40, "INSTANCE_DIR": str(tmp_path), name: timedelta(days=31)}
    with pytest.raises(ConfigError, match=name):
        load_config(overrides)
