"""Two-factor authentication: enrolment, login with a code, no replay, recovery codes, and the rule that
platform administrators must use it."""

from __future__ import annotations

import re
from datetime import timedelta

import pyotp
import pytest
import sqlalchemy as sa
from werkzeug.routing import BaseConverter, IntegerConverter

from app.auth import operations as ops
from app.auth.models import RecoveryCode
from app.core.db import utcnow
from app.core.views import RHAuthenticated
from tests.fixtures.app import TEST_PASSWORD

RECOVERY_CODE = re.compile(r"\b[0-9a-f]{6}-[0-9a-f]{6}\b")
SETUP_URL = "/auth/account/two-factor"
INVALID_CODE = "This code is not valid."


def page(response) -> str:
    return response.get_data(as_text=True)


def english_browser(app):
    browser = app.test_client()
    browser.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return browser


@pytest.fixture
def client(app):
    """Guests read English here (the second step happens before the user's own language applies)."""
    return english_browser(app)


@pytest.fixture
def clock(monkeypatch):
    """Move the clock the TOTP checks use, in 30-second steps."""
    state = {"offset": timedelta(0)}

    def now():
        return utcnow() + state["offset"]

    monkeypatch.setattr(ops, "utcnow", now)

    class Clock:
        def step(self, n=1):
            state["offset"] += timedelta(seconds=30 * n)

        def now(self):
            return now()

    return Clock()


def code_at(secret: str, when) -> str:
    return pyotp.TOTP(secret).at(when)


def password_login(client, user, password=TEST_PASSWORD):
    return client.post(
        "/auth/login", data={"email": user.email, "password": password}, headers={"Accept-Language": "en"}
    )


def enrol(client, user, clock) -> tuple[str, list[str]]:
    """Enable two-factor for the signed-in ``user`` through the pages; returns the secret and recovery codes."""
    assert client.get(SETUP_URL).status_code == 200
    with client.session_transaction() as session:
        secret = session["pending_totp_secret"]
    response = client.post(SETUP_URL, data={"code": code_at(secret, clock.now())})
    assert response.status_code == 200
    return secret, RECOVERY_CODE.findall(page(response))


def test_enable_with_wrong_code_fails(client, create_user, login, db_session, clock):
    user = create_user(locale="en")
    login(client, user)
    client.get(SETUP_URL)
    with client.session_transaction() as session:
        secret = session["pending_totp_secret"]
    right = code_at(secret, clock.now())
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    for code in (wrong, "abcdef", "1234567", ""):
        response = client.post(SETUP_URL, data={"code": code})
        assert response.status_code == 422, code
    db_session.refresh(user)
    assert not user.has_totp and user.totp_secret is None


def test_enable_with_right_code_gives_ten_recovery_codes(client, create_user, login, db_session, clock):
    user = create_user(locale="en")
    login(client, user)
    secret, codes = enrol(client, user, clock)
    assert len(codes) == 10 and len(set(codes)) == 10
    db_session.refresh(user)
    assert user.has_totp and user.totp_secret == secret
    stored = db_session.scalars(sa.select(RecoveryCode.code_hash).where(RecoveryCode.user_id == user.id)).all()
    assert len(stored) == 10
    assert not set(codes) & set(stored)  # stored hashed, never in clear
    # The setup page no longer offers a new secret.
    assert client.get(SETUP_URL).status_code == 302


def test_login_requires_the_code_and_refuses_replay(app, client, create_user, login, clock):
    user = create_user(locale="en")
    login(client, user)
    secret, _codes = enrol(client, user, clock)
    client.post("/auth/logout")

    response = password_login(client, user)
    assert response.status_code == 302 and response.headers["Location"] == "/auth/login/verify"
    assert client.get("/auth/account").status_code == 302  # the password alone does not sign in
    response = client.post("/auth/login/verify", data={"code": "000000"})
    assert response.status_code == 401
    assert INVALID_CODE in page(response)

    clock.step()
    code = code_at(secret, clock.now())
    response = client.post("/auth/login/verify", data={"code": code})
    assert response.status_code == 302
    assert client.get("/auth/account").status_code == 200
    client.post("/auth/logout")

    # The same code, still inside its time window, is refused the second time.
    other = english_browser(app)
    assert password_login(other, user).status_code == 302
    response = other.post("/auth/login/verify", data={"code": code})
    assert response.status_code == 401
    assert INVALID_CODE in page(response)
    assert other.get("/auth/account").status_code == 302


def test_code_used_at_enrolment_cannot_sign_in(client, create_user, login, clock):
    user = create_user(locale="en")
    login(client, user)
    secret, _codes = enrol(client, user, clock)
    client.post("/auth/logout")
    password_login(client, user)
    response = client.post("/auth/login/verify", data={"code": code_at(secret, clock.now())})
    assert response.status_code == 401


def test_recovery_code_works_once(app, client, create_user, login, db_session, clock):
    user = create_user(locale="en")
    login(client, user)
    _secret, codes = enrol(client, user, clock)
    client.post("/auth/logout")

    password_login(client, user)
    response = client.post("/auth/login/verify", data={"code": f"  {codes[0].upper()} "})
    assert response.status_code == 302
    assert client.get("/auth/account").status_code == 200
    assert ops.remaining_recovery_codes(user) == 9
    client.post("/auth/logout")

    other = english_browser(app)
    password_login(other, user)
    assert other.post("/auth/login/verify", data={"code": codes[0]}).status_code == 401
    assert other.post("/auth/login/verify", data={"code": codes[1]}).status_code == 302


def test_second_step_expires_and_needs_the_password_first(client, create_user, monkeypatch):
    user = create_user(totp=True)
    # Without the password step there is nothing to verify.
    response = client.post("/auth/login/verify", data={"code": pyotp.TOTP(user.totp_secret).now()})
    assert response.status_code == 302 and response.headers["Location"] == "/auth/login"
    password_login(client, user)
    with client.session_transaction() as session:
        session["pending_2fa"]["until"] = 0  # five minutes have passed
        session.modified = True
    response = client.post("/auth/login/verify", data={"code": pyotp.TOTP(user.totp_secret).now()})
    assert response.status_code == 302 and response.headers["Location"] == "/auth/login"
    assert client.get("/auth/account").status_code == 302


def test_wrong_codes_are_throttled(client, create_user):
    user = create_user(totp=True, locale="en")
    password_login(client, user)
    for _attempt in range(5):
        assert client.post("/auth/login/verify", data={"code": "000000"}).status_code == 401
    response = client.post("/auth/login/verify", data={"code": pyotp.TOTP(user.totp_secret).now()})
    assert response.status_code == 429
    assert "Too many failed attempts." in page(response)


def test_next_is_kept_through_the_second_step(client, create_user):
    user = create_user(totp=True)
    client.post(
        "/auth/login", query_string={"next": "/organisations/"}, data={"email": user.email, "password": TEST_PASSWORD}
    )
    response = client.post("/auth/login/verify", data={"code": pyotp.TOTP(user.totp_secret).now()})
    assert response.headers["Location"] == "/organisations/"


def test_hostile_next_is_dropped_through_the_second_step(client, create_user):
    user = create_user(totp=True)
    client.post(
        "/auth/login", query_string={"next": "//evil.com"}, data={"email": user.email, "password": TEST_PASSWORD}
    )
    response = client.post("/auth/login/verify", data={"code": pyotp.TOTP(user.totp_secret).now()})
    assert response.headers["Location"] == "/"


# --- Platform administrators ------------------------------------------------------------------------------------------

ALLOWED_WITHOUT_TOTP = {"auth.logout", "auth.logout_everywhere", "auth.account", "auth.totp_setup"}


def _dummy_url(app, rule) -> str:
    values = {}
    for name, converter in rule._converters.items():
        values[name] = 1 if isinstance(converter, IntegerConverter) else "x"
        assert isinstance(converter, BaseConverter)
    with app.test_request_context():
        from flask import url_for

        return url_for(rule.endpoint, **values)


def test_platform_admin_without_totp_is_sent_to_setup_from_every_page(app, client, create_user, login):
    admin = create_user(platform_admin=True, locale="en")
    login(client, admin)
    checked = set()
    for rule in app.url_map.iter_rules():
        view_class = getattr(app.view_functions[rule.endpoint], "view_class", None)
        if view_class is None or not issubclass(view_class, RHAuthenticated):
            continue
        url = _dummy_url(app, rule)
        method = "GET" if "GET" in rule.methods else sorted(rule.methods - {"HEAD", "OPTIONS"})[0]
        response = client.open(url, method=method)
        if rule.endpoint in ALLOWED_WITHOUT_TOTP:
            assert response.headers.get("Location") != SETUP_URL, rule.endpoint
            if rule.endpoint.startswith("auth.logout"):
                login(client, admin)
        else:
            assert response.status_code == 302, (rule.endpoint, response.status_code)
            assert response.headers["Location"] == SETUP_URL, rule.endpoint
        checked.add(rule.endpoint)
    assert {"auth.change_password", "organisations.directory", "admin.index"} <= checked
    # The home page (public) also sends the admin to the setup page.
    assert client.get("/").headers["Location"] == SETUP_URL
    assert client.get(SETUP_URL).status_code == 200
    assert client.get("/auth/account").status_code == 200


def test_platform_admin_with_totp_uses_the_site(client, create_user, login):
    admin = create_user(platform_admin=True, totp=True)
    login(client, admin)
    assert client.get("/admin/").status_code == 200


def test_platform_admin_cannot_disable_totp(client, create_user, login, db_session):
    admin = create_user(platform_admin=True, totp=True, locale="en")
    login(client, admin)
    response = client.get("/auth/account/two-factor/disable")
    assert response.status_code == 302 and response.headers["Location"] == "/auth/account"
    response = client.post("/auth/account/two-factor/disable", data={"current_password": TEST_PASSWORD})
    assert response.status_code == 302
    db_session.refresh(admin)
    assert admin.has_totp
    assert "Two-factor authentication is required for platform administrators." in page(client.get("/auth/account"))


def test_user_can_disable_totp_with_password(client, create_user, login, db_session):
    user = create_user(totp=True, locale="en")
    login(client, user)
    response = client.post("/auth/account/two-factor/disable", data={"current_password": "not my password"})
    assert response.status_code == 422
    db_session.refresh(user)
    assert user.has_totp
    response = client.post("/auth/account/two-factor/disable", data={"current_password": TEST_PASSWORD})
    assert response.status_code == 302
    db_session.refresh(user)
    assert not user.has_totp and user.totp_secret is None


def test_new_recovery_codes_replace_the_old_ones(client, create_user, login, db_session):
    user = create_user(totp=True, locale="en")
    first = ops.regenerate_recovery_codes(user)
    db_session.flush()
    login(client, user)
    assert client.post("/auth/account/two-factor/recovery-codes", data={"current_password": "nope"}).status_code == 422
    response = client.post("/auth/account/two-factor/recovery-codes", data={"current_password": TEST_PASSWORD})
    second = RECOVERY_CODE.findall(page(response))
    assert len(second) == 10 and not set(first) & set(second)
    client.post("/auth/logout")
    password_login(client, user)
    assert client.post("/auth/login/verify", data={"code": first[0]}).status_code == 401
