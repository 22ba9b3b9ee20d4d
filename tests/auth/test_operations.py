"""Account operations called directly: they change state, log, queue mail and never commit."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.auth import operations as ops
from app.auth import passwords, throttle
from app.auth.models import LoginThrottle, User
from app.core.audit import AuditEvent
from app.core.tokens import InvalidToken, sign
from tests.fixtures.app import TEST_PASSWORD


def actions(db_session) -> list[str]:
    return list(db_session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)))


def test_create_user_normalises_email_and_refuses_duplicates(db_session):
    user = ops.create_user("  Mixed.Case@Example.ORG ", " Ana ", TEST_PASSWORD)
    assert (user.email, user.display_name) == ("mixed.case@example.org", "Ana")
    assert ops.get_user_by_email("MIXED.case@example.org ") is user
    with pytest.raises(ops.EmailTakenError):
        ops.create_user("mixed.case@EXAMPLE.org", "Other", TEST_PASSWORD)


def test_operations_do_not_commit(app, db_session):
    ops.create_user("pending@example.org", "Pending", TEST_PASSWORD)
    db_session.rollback()
    assert ops.get_user_by_email("pending@example.org") is None


def test_password_hash_is_argon2id_with_configured_cost(app):
    stored = passwords.hash_password("some long passphrase 12")
    assert stored.startswith("$argon2id$")
    assert f"m={app.config['ARGON2_MEMORY_COST']},t={app.config['ARGON2_TIME_COST']}," in stored
    assert passwords.verify_password(stored, "some long passphrase 12")
    assert not passwords.verify_password(stored, "some long passphrase 13")
    assert not passwords.verify_password("not-a-hash", "x")
    assert not passwords.needs_rehash(stored)


def test_needs_rehash_when_cost_changes(app, monkeypatch):
    stored = passwords.hash_password("some long passphrase 12")
    monkeypatch.setitem(app.config, "ARGON2_TIME_COST", app.config["ARGON2_TIME_COST"] + 1)
    assert passwords.needs_rehash(stored)
    assert passwords.needs_rehash("garbage")


@pytest.mark.parametrize(
    ("password", "inputs", "ok"),
    [
        ("violet harbour lantern 1987", [], True),
        ("password123456", [], False),
        ("short", [], False),
        ("x" * 1025, [], False),
        ("jeanne.dubois@example.org", ["jeanne.dubois@example.org"], False),
        ("Jeanne Dubois 1", ["jeanne.dubois@example.org", "Jeanne Dubois"], False),
        ("a" * 12, [], False),
    ],
)
def test_password_problems(app, password, inputs, ok):
    assert (passwords.password_problems(password, inputs) == []) is ok


def test_authenticate_outcomes(app, create_user, db_session):
    user = create_user()
    assert ops.authenticate(user.email, TEST_PASSWORD, "10.0.0.1").outcome == ops.LoginOutcome.OK
    assert ops.authenticate(user.email.upper(), TEST_PASSWORD, "10.0.0.1").outcome == ops.LoginOutcome.OK
    assert ops.authenticate(user.email, "wrong", "10.0.0.1").outcome == ops.LoginOutcome.INVALID
    assert ops.authenticate("nobody@example.org", "wrong", "10.0.0.1").outcome == ops.LoginOutcome.INVALID
    unverified = create_user(verified=False)
    assert ops.authenticate(unverified.email, TEST_PASSWORD, None).outcome == ops.LoginOutcome.UNVERIFIED
    totp_user = create_user(totp=True)
    assert ops.authenticate(totp_user.email, TEST_PASSWORD, None).outcome == ops.LoginOutcome.NEEDS_TOTP
    ops.set_disabled(user, True, actor=None)
    assert ops.authenticate(user.email, TEST_PASSWORD, None).outcome == ops.LoginOutcome.DISABLED
    assert "user.login_failed" in actions(db_session)


def test_throttle_delay_doubles_and_is_capped(app, db_session):
    key = throttle.account_key("someone@example.org")
    for _attempt in range(4):
        throttle.record_failure(key)
    assert throttle.seconds_blocked(key) == 0
    throttle.record_failure(key)
    assert 25 <= throttle.seconds_blocked(key) <= 31
    throttle.record_failure(key)
    assert 55 <= throttle.seconds_blocked(key) <= 61
    for _attempt in range(20):
        throttle.record_failure(key)
    assert throttle.seconds_blocked(key) <= app.config["LOGIN_MAX_DELAY_SECONDS"] + 1
    row = db_session.scalar(sa.select(LoginThrottle).where(LoginThrottle.key == key))
    assert row.failures == 26
    throttle.clear(key)
    assert throttle.seconds_blocked(key) == 0


def test_throttle_keys_do_not_store_the_email(app):
    key = throttle.account_key(" Someone@Example.org ")
    assert key == throttle.account_key("someone@example.org")
    assert "someone" not in key


def test_tokens_are_bound_to_their_purpose(app, create_user):
    user = create_user(verified=False)
    reset_token = sign(ops.RESET_PURPOSE, {"u": user.id, "f": user.password_fingerprint})
    with pytest.raises(InvalidToken):
        ops.verify_email(reset_token)
    verify_token = sign(ops.VERIFY_PURPOSE, {"u": user.id, "e": user.email})
    with pytest.raises(InvalidToken):
        ops.user_for_reset_token(verify_token)
    assert ops.verify_email(verify_token) is user


def test_reset_token_dies_when_password_changes(app, create_user):
    user = create_user()
    token = sign(ops.RESET_PURPOSE, {"u": user.id, "f": user.password_fingerprint})
    assert ops.user_for_reset_token(token) is user
    ops.change_password(user, "a completely new passphrase 9")
    with pytest.raises(InvalidToken):
        ops.user_for_reset_token(token)


def test_reset_token_refused_for_disabled_account(app, create_user):
    user = create_user()
    token = sign(ops.RESET_PURPOSE, {"u": user.id, "f": user.password_fingerprint})
    ops.set_disabled(user, True, actor=None)
    with pytest.raises(InvalidToken):
        ops.user_for_reset_token(token)


def test_reset_request_for_disabled_account_sends_nothing(app, create_user, db_session, outbox):
    user = create_user()
    ops.set_disabled(user, True, actor=None)
    ops.request_password_reset(user.email)
    db_session.commit()
    assert outbox == []


def test_email_change_refused_when_address_taken_meanwhile(app, create_user, db_session, outbox):
    user = create_user("first@example.org")
    ops.request_email_change(user, "wanted@example.org")
    assert outbox == []  # mail is only delivered at commit
    db_session.commit()
    token = outbox[0].body.split("/auth/account/email/")[1].split()[0]
    create_user("wanted@example.org")
    with pytest.raises(ops.EmailTakenError):
        ops.confirm_email_change(token)
    assert db_session.get(User, user.id).email == "first@example.org"


def test_verification_link_for_an_old_address_is_refused(app, create_user):
    user = create_user("before@example.org", verified=False)
    token = sign(ops.VERIFY_PURPOSE, {"u": user.id, "e": user.email})
    user.email = "after@example.org"
    with pytest.raises(InvalidToken):
        ops.verify_email(token)
    assert not user.is_verified


def test_role_and_disable_changes_are_audited(app, create_user, db_session):
    admin = create_user(platform_admin=True)
    user = create_user()
    version = user.session_version
    ops.set_user_roles(user, platform_admin=False, adviser=True, actor=admin)
    ops.set_disabled(user, True, actor=admin)
    ops.set_disabled(user, False, actor=admin)
    assert user.is_adviser and user.is_active
    assert user.session_version == version + 1
    logged = actions(db_session)
    assert {"user.roles_changed", "user.disabled", "user.enabled", "user.sessions_ended"} <= set(logged)
    event = db_session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "user.disabled"))
    assert (event.actor_id, event.object_type, event.object_id) == (admin.id, "User", str(user.id))
