"""Sessions end for real: a copied session or remember-me cookie stops working after logout, "logout
everywhere", a password change or when the account is disabled."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.auth.models import UserSession
from tests.fixtures.app import TEST_PASSWORD

SESSION_COOKIE = "acquis_session"
REMEMBER_COOKIE = "acquis_remember"
NEW_PASSWORD = "quiet meadow copper kettle 51"


def cookie_value(client, name: str) -> str:
    cookie = client.get_cookie(name)
    assert cookie is not None, f"no {name} cookie"
    return cookie.value


def browser_with(app, **cookies):
    """A fresh test client carrying only the given cookies (an attacker replaying stolen cookies)."""
    other = app.test_client()
    for name, value in cookies.items():
        other.set_cookie(name, value)
    return other


def is_signed_in(client) -> bool:
    response = client.get("/auth/account")
    if response.status_code == 200:
        return True
    assert response.status_code == 302 and response.headers["Location"].startswith("/auth/login"), response.status
    return False


@pytest.fixture
def user(create_user):
    return create_user(locale="en")


def test_session_cookie_replayed_after_logout_is_rejected(app, client, user, login):
    login(client, user)
    stolen = cookie_value(client, SESSION_COOKIE)
    # Positive control: the copied cookie works while the session is alive.
    assert is_signed_in(browser_with(app, **{SESSION_COOKIE: stolen}))
    response = client.post("/auth/logout")
    assert response.status_code == 302
    assert not is_signed_in(client)
    assert not is_signed_in(browser_with(app, **{SESSION_COOKIE: stolen}))


def test_remember_cookie_replayed_after_logout_is_rejected(app, client, user, login):
    login(client, user, remember=True)
    remembered = cookie_value(client, REMEMBER_COOKIE)
    assert is_signed_in(browser_with(app, **{REMEMBER_COOKIE: remembered}))
    client.post("/auth/logout")
    assert client.get_cookie(REMEMBER_COOKIE) is None  # the browser was told to forget it
    assert not is_signed_in(browser_with(app, **{REMEMBER_COOKIE: remembered}))


def test_logout_only_ends_the_current_session(app, user, login):
    first, second = app.test_client(), app.test_client()
    login(first, user)
    login(second, user)
    first.post("/auth/logout")
    assert not is_signed_in(first)
    assert is_signed_in(second)


def test_logout_everywhere_ends_every_session_and_remember_cookie(app, user, login, db_session):
    first, second = app.test_client(), app.test_client()
    login(first, user)
    login(second, user, remember=True)
    stolen = cookie_value(first, SESSION_COOKIE)
    remembered = cookie_value(second, REMEMBER_COOKIE)
    response = first.post("/auth/logout-everywhere")
    assert response.status_code == 302
    assert not is_signed_in(first)
    assert not is_signed_in(second)
    assert not is_signed_in(browser_with(app, **{SESSION_COOKIE: stolen}))
    assert not is_signed_in(browser_with(app, **{REMEMBER_COOKIE: remembered}))
    open_sessions = sa.select(sa.func.count()).where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
    assert db_session.scalar(open_sessions) == 0


def test_password_change_keeps_current_session_and_ends_others(app, user, login):
    current, other = app.test_client(), app.test_client()
    login(current, user)
    login(other, user, remember=True)
    old_cookie = cookie_value(current, SESSION_COOKIE)
    remembered = cookie_value(other, REMEMBER_COOKIE)
    response = current.post(
        "/auth/account/password", data={"current_password": TEST_PASSWORD, "password": NEW_PASSWORD}
    )
    assert response.status_code == 302
    assert is_signed_in(current)
    assert not is_signed_in(other)
    assert not is_signed_in(browser_with(app, **{SESSION_COOKIE: old_cookie}))
    assert not is_signed_in(browser_with(app, **{REMEMBER_COOKIE: remembered}))


def test_disabling_the_account_ends_its_sessions(app, create_user, login):
    admin = create_user(platform_admin=True, totp=True)
    target = create_user(locale="en")
    admin_browser, browser = app.test_client(), app.test_client()
    login(admin_browser, admin)
    login(browser, target, remember=True)
    stolen = cookie_value(browser, SESSION_COOKIE)
    remembered = cookie_value(browser, REMEMBER_COOKIE)
    response = admin_browser.post(f"/admin/users/{target.id}/disable")
    assert response.status_code == 302
    assert not is_signed_in(browser)
    assert not is_signed_in(browser_with(app, **{SESSION_COOKIE: stolen}))
    assert not is_signed_in(browser_with(app, **{REMEMBER_COOKIE: remembered}))
    # Re-enabling does not resurrect old sessions.
    admin_browser.post(f"/admin/users/{target.id}/enable")
    assert not is_signed_in(browser_with(app, **{SESSION_COOKIE: stolen}))


def test_forged_session_ids_are_rejected(app, user, login, db_session):
    """A remember cookie is signed; a guessed or altered value does not sign anyone in."""
    client = app.test_client()
    login(client, user, remember=True)
    remembered = cookie_value(client, REMEMBER_COOKIE)
    payload, _sep, digest = remembered.partition("|")
    tampered = f"{payload}|{'0' * len(digest)}"
    assert not is_signed_in(browser_with(app, **{REMEMBER_COOKIE: tampered}))
    assert not is_signed_in(browser_with(app, **{REMEMBER_COOKIE: f"{user.id}:1:"}))


def test_load_session_user_needs_a_live_session_key(user, db_session):
    from app.auth import operations as ops

    key = ops.start_session(user)
    db_session.flush()
    alt_id = f"{user.id}:{user.session_version}:{key}"
    assert ops.load_session_user(alt_id) is user
    for bad in (f"{user.id}:{user.session_version}:", f"{user.id}:{user.session_version}:wrong", "x:y:z", "", "1"):
        assert ops.load_session_user(bad) is None, bad
    assert ops.load_session_user(f"{user.id}:{user.session_version + 1}:{key}") is None
    ops.end_session(user)
    db_session.flush()
    assert ops.load_session_user(alt_id) is None


def test_login_issues_a_fresh_session_cookie(client, user, login):
    """Session fixation: the cookie a visitor had before signing in is not the one after."""
    client.get("/auth/login")
    client.post("/language", data={"locale": "en", "next": "/"})  # puts something in the guest session
    before = cookie_value(client, SESSION_COOKIE)
    login(client, user)
    after = cookie_value(client, SESSION_COOKIE)
    assert before != after
    assert 'lang="en"' in client.get("/auth/account").get_data(as_text=True)
