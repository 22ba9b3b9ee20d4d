"""Operations on accounts. They change state, flush and log; the caller commits."""

from __future__ import annotations

import functools
import secrets
from dataclasses import dataclass
from datetime import timedelta
from enum import Enum

import pyotp
import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload

from app.auth import throttle
from app.auth.models import RecoveryCode, User, UserSession, sha256_hex
from app.auth.passwords import burn_verification_time, hash_password, needs_rehash, verify_password
from app.core.audit import log_event
from app.core.db import utcnow
from app.core.errors import UserError
from app.core.mail import queue_email
from app.core.security import canonical_url
from app.core.tokens import InvalidToken, sign, unsign
from app.extensions import db

RESET_PURPOSE = "password-reset"
VERIFY_PURPOSE = "verify-email"
EMAIL_CHANGE_PURPOSE = "change-email"
#: The set-password link of an account created by an operator (``flask users create``); same page as a reset.
ACCOUNT_INVITATION_PURPOSE = "account-invitation"
RECOVERY_CODE_COUNT = 10


class EmailTakenError(UserError):
    """Another account already uses this e-mail address (``email``); the message does not say so, so that a form
    cannot be used to find out who has an account."""

    def __init__(self, email: str):
        super().__init__(_l("This address cannot be used. Please choose another one."), "email")
        self.email = email


# --- Registration and e-mail verification --------------------------------------------------------------------


@dataclass(frozen=True)
class RegistrationData:
    """What a person types to create an account."""

    email: str
    display_name: str
    password: str
    locale: str


def get_user_by_email(email: str) -> User | None:
    """The account with this e-mail address (case-insensitive), if any."""
    return db.session.scalar(sa.select(User).where(User.email == email.strip().lower()))


def create_user(
    email: str,
    display_name: str,
    password: str,
    *,
    locale: str = "fr",
    verified: bool = False,
    is_platform_admin: bool = False,
    is_adviser: bool = False,
) -> User:
    """Create an account (no e-mail sent). Raises :class:`EmailTakenError`."""
    email = email.strip().lower()
    if get_user_by_email(email) is not None:
        raise EmailTakenError(email)
    user = User(
        email=email,
        display_name=display_name.strip(),
        password_hash=hash_password(password),
        locale=locale,
        email_verified_at=utcnow() if verified else None,
        is_platform_admin=is_platform_admin,
        is_adviser=is_adviser,
    )
    db.session.add(user)
    db.session.flush()
    return user


def register_user(data: RegistrationData) -> User | None:
    """Self-registration: create the account and e-mail a verification link.

    When the address is already registered, nothing is created and the owner of the address is told by e-mail
    instead, so the registration form does not reveal which addresses have accounts. Returns the new user or
    ``None``.
    """
    existing = get_user_by_email(data.email)
    if existing is not None:
        queue_email(
            "already_registered",
            recipient=existing.email,
            language=existing.locale,
            subject=_l("Someone tried to create an Acquis account with your address"),
            user=existing,
            login_url=canonical_url("auth.login"),
            reset_url=canonical_url("auth.forgot_password"),
        )
        return None
    user = create_user(data.email, data.display_name, data.password, locale=data.locale)
    log_event("user.registered", actor=user, obj=user)
    send_verification_email(user)
    return user


def send_verification_email(user: User) -> None:
    """E-mail a link that confirms the user's address."""
    token = sign(VERIFY_PURPOSE, {"u": user.id, "e": user.email})
    queue_email(
        "verify_email",
        recipient=user.email,
        language=user.locale,
        subject=_l("Confirm your e-mail address for Acquis"),
        user=user,
        url=canonical_url("auth.verify_email", token=token),
    )


def verify_email(token: str) -> User:
    """Mark the address in ``token`` as verified. Raises :class:`InvalidToken`."""
    payload = unsign(VERIFY_PURPOSE, token, current_app.config["VERIFY_TOKEN_MAX_AGE_SECONDS"])
    user = db.session.get(User, payload.get("u"))
    if user is None or user.email != payload.get("e"):
        raise InvalidToken
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()
        log_event("user.email_verified", actor=user, obj=user)
    return user


# --- Login ---


class LoginOutcome(Enum):
    OK = "ok"
    NEEDS_TOTP = "needs_totp"
    INVALID = "invalid"
    THROTTLED = "throttled"
    UNVERIFIED = "unverified"
    DISABLED = "disabled"


@dataclass
class LoginResult:
    outcome: LoginOutcome
    user: User | None = None
    retry_after: int = 0


def authenticate(email: str, password: str, ip: str | None) -> LoginResult:
    """Check credentials with throttling per account and per IP.

    Unknown e-mail and wrong password give the same outcome and take the same time. A correct password
    clears the account's failure counter and upgrades an outdated hash.
    """
    keys = (throttle.account_key(email), throttle.ip_key(ip))
    wait = throttle.seconds_blocked(*keys)
    if wait:
        return LoginResult(LoginOutcome.THROTTLED, retry_after=wait)
    user = get_user_by_email(email)
    if user is None:
        burn_verification_time(password)
        return _failed_login(keys, email)
    if not verify_password(user.password_hash, password):
        return _failed_login(keys, email, user)
    throttle.clear(keys[0])
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    if not user.is_active:
        return LoginResult(LoginOutcome.DISABLED, user)
    if not user.is_verified:
        send_verification_email(user)
        return LoginResult(LoginOutcome.UNVERIFIED, user)
    if user.has_totp:
        return LoginResult(LoginOutcome.NEEDS_TOTP, user)
    return LoginResult(LoginOutcome.OK, user)


def _failed_login(keys, email: str, user: User | None = None) -> LoginResult:
    throttle.record_failure(*keys)
    log_event("user.login_failed", actor=user, obj=user, data={} if user else {"unknown_account": True})
    return LoginResult(LoginOutcome.INVALID)


def start_session(user: User, user_agent: str = "") -> str:
    """Record a new signed-in session; returns its key (kept only in the signed session cookie)."""
    key = secrets.token_urlsafe(24)
    db.session.add(UserSession(user_id=user.id, key_hash=sha256_hex(key), user_agent=user_agent[:200]))
    user.session_key = key
    user.last_login_at = utcnow()
    log_event("user.logged_in", actor=user, obj=user)
    return key


@functools.cache
def _session_user_statement() -> sa.Select:
    """The statement of :func:`load_session_user`, built once per process (every request runs it: building it and
    its cache key anew cost more CPU than running it). The user's memberships come in the same statement: the
    menu of every page reads them (staff or not)."""
    return (
        sa.select(User)
        .join(UserSession, UserSession.user_id == User.id)
        .where(
            User.id == sa.bindparam("user_id"),
            User.session_version == sa.bindparam("version"),
            User.disabled_at.is_(None),
            UserSession.key_hash == sa.bindparam("key_hash"),
            UserSession.revoked_at.is_(None),
            UserSession.created_at > sa.bindparam("oldest"),
        )
        .options(joinedload(User.memberships))
    )


def load_session_user(alternative_id: str, max_age: timedelta | None = None) -> User | None:
    """Resolve a Flask-Login id ``"user:version:key"`` to an active user with a live session, in one query.

    A session opened more than ``max_age`` ago (default: the remember-me duration) is refused, whatever cookie
    carries it, so a copied remember-me cookie dies on the server too.
    """
    if max_age is None:
        max_age = current_app.config["REMEMBER_COOKIE_DURATION"]
    try:
        user_id, version, key = alternative_id.split(":", 2)
        user_id, version = int(user_id), int(version)
    except (ValueError, AttributeError):
        return None
    if not key:
        return None
    users = (
        db.session.scalars(
            _session_user_statement(),
            {"user_id": user_id, "version": version, "key_hash": sha256_hex(key), "oldest": utcnow() - max_age},
        )
        .unique()
        .all()
    )
    user = users[0] if users else None
    if user is not None:
        user.session_key = key
    return user


def end_session(user: User) -> None:
    """Revoke the current session only (plain logout)."""
    if user.session_key:
        db.session.execute(
            sa.update(UserSession)
            .where(UserSession.key_hash == sha256_hex(user.session_key), UserSession.user_id == user.id)
            .values(revoked_at=utcnow())
        )
    log_event("user.logged_out", actor=user, obj=user)


def end_all_sessions(user: User, *, reason: str) -> None:
    """Invalidate every session and remember-me cookie of ``user`` (bumps the session version)."""
    user.session_version += 1
    db.session.execute(
        sa.update(UserSession)
        .where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    log_event("user.sessions_ended", actor=user, obj=user, data={"reason": reason})


def active_sessions(user: User) -> list[UserSession]:
    """The user's sessions that have not been revoked, newest first."""
    return list(
        db.session.scalars(
            sa.select(UserSession)
            .where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
            .order_by(UserSession.created_at.desc())
        )
    )


# --- Passwords ---


def request_password_reset(email: str) -> None:
    """E-mail a reset link when the address has an account; do nothing visible otherwise."""
    user = get_user_by_email(email)
    if user is None or not user.is_active:
        return
    token = sign(RESET_PURPOSE, {"u": user.id, "f": user.password_fingerprint})
    queue_email(
        "reset_password",
        recipient=user.email,
        language=user.locale,
        subject=_l("Reset your Acquis password"),
        user=user,
        url=canonical_url("auth.reset_password", token=token),
        hours=current_app.config["TOKEN_MAX_AGE_SECONDS"] // 3600,
    )
    log_event("user.password_reset_requested", obj=user)


def send_account_invitation(user: User) -> None:
    """E-mail the owner of an account created for them a link to choose their password.

    The link opens the password-reset page; it lives ``INVITATION_DAYS`` (a reset link only hours) and, like a
    reset link, dies once a password is set. A lost or expired invitation is replaced by "Forgot your password?".
    """
    token = sign(ACCOUNT_INVITATION_PURPOSE, {"u": user.id, "f": user.password_fingerprint})
    queue_email(
        "account_invitation",
        recipient=user.email,
        language=user.locale,
        subject=_l("Your Acquis account is ready: choose your password"),
        user=user,
        url=canonical_url("auth.reset_password", token=token),
        days=current_app.config["INVITATION_DAYS"],
        login_url=canonical_url("auth.login"),
    )
    log_event("user.account_invitation_sent", obj=user)


def _password_link_payload(token: str) -> dict:
    """The payload of a reset link or of an account invitation. Raises :class:`InvalidToken`."""
    try:
        return unsign(RESET_PURPOSE, token, current_app.config["TOKEN_MAX_AGE_SECONDS"])
    except InvalidToken:
        days = current_app.config["INVITATION_DAYS"]
        return unsign(ACCOUNT_INVITATION_PURPOSE, token, int(timedelta(days=days).total_seconds()))


def user_for_reset_token(token: str) -> User:
    """The user a reset link (or an account invitation) belongs to. It dies once the password changes (single use)."""
    payload = _password_link_payload(token)
    user = db.session.get(User, payload.get("u"))
    if user is None or not user.is_active or payload.get("f") != user.password_fingerprint:
        raise InvalidToken
    return user


def reset_password(token: str, new_password: str) -> User:
    """Set a new password through a reset link; ends every session. Raises :class:`InvalidToken`."""
    user = user_for_reset_token(token)
    _set_password(user, new_password, reason="password_reset")
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()  # the link proved control of the address
    return user


def change_password(user: User, new_password: str) -> None:
    """Set a new password (the caller has checked the current one); ends every other session."""
    _set_password(user, new_password, reason="password_changed")


def _set_password(user: User, new_password: str, *, reason: str) -> None:
    user.password_hash = hash_password(new_password)
    end_all_sessions(user, reason=reason)
    log_event(f"user.{reason}", actor=user, obj=user)
    queue_email(
        "password_changed",
        recipient=user.email,
        language=user.locale,
        subject=_l("Your Acquis password was changed"),
        user=user,
        reset_url=canonical_url("auth.forgot_password"),
    )


# --- E-mail change -------------------------------------------------------------------------------------------------


def request_email_change(user: User, new_email: str) -> None:
    """Send a confirmation link to the new address. Raises :class:`EmailTakenError`."""
    new_email = new_email.strip().lower()
    if get_user_by_email(new_email) is not None:
        raise EmailTakenError(new_email)
    token = sign(EMAIL_CHANGE_PURPOSE, {"u": user.id, "e": new_email, "o": sha256_hex(user.email)})
    queue_email(
        "change_email",
        recipient=new_email,
        language=user.locale,
        subject=_l("Confirm your new e-mail address for Acquis"),
        user=user,
        url=canonical_url("auth.confirm_email_change", token=token),
    )
    log_event("user.email_change_requested", actor=user, obj=user)


def confirm_email_change(token: str) -> User:
    """Switch the account to the address in ``token``. Raises :class:`InvalidToken` or :class:`EmailTakenError`."""
    payload = unsign(EMAIL_CHANGE_PURPOSE, token, current_app.config["TOKEN_MAX_AGE_SECONDS"])
    user = db.session.get(User, payload.get("u"))
    if user is None or payload.get("o") != sha256_hex(user.email):
        raise InvalidToken
    new_email = payload["e"]
    if get_user_by_email(new_email) is not None:
        raise EmailTakenError(new_email)
    old_email = user.email
    user.email = new_email
    user.email_verified_at = utcnow()
    log_event("user.email_changed", actor=user, obj=user)
    queue_email(
        "email_changed",
        recipient=old_email,
        language=user.locale,
        subject=_l("The e-mail address of your Acquis account was changed"),
        user=user,
        new_email=new_email,
    )
    return user


# --- Two-factor authentication ---------------------------------------------------------------------------------------

TOTP_ISSUER = "Acquis"


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=TOTP_ISSUER)


def _matching_step(secret: str, code: str) -> int | None:
    """The time step at which ``code`` is valid (now, or one step either side), else ``None``."""
    code = "".join(code.split())
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    now = utcnow()
    current = totp.timecode(now)
    for offset in (0, -1, 1):
        if secrets.compare_digest(totp.generate_otp(current + offset), code):
            return current + offset
    return None


def enable_totp(user: User, secret: str, code: str) -> list[str] | None:
    """Turn on two-factor with ``secret`` once ``code`` proves the app is set up.

    Returns the new recovery codes (shown once), or ``None`` when the code is wrong.
    """
    step = _matching_step(secret, code)
    if step is None:
        return None
    user.totp_secret = secret
    user.totp_enabled_at = utcnow()
    user.totp_last_step = step
    log_event("user.totp_enabled", actor=user, obj=user)
    return regenerate_recovery_codes(user)


def disable_totp(user: User) -> None:
    """Turn off two-factor (the caller has checked the password; refused for platform admins by the view)."""
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    log_event("user.totp_disabled", actor=user, obj=user)


def regenerate_recovery_codes(user: User) -> list[str]:
    """Replace the recovery codes; returns them in clear text (stored hashed)."""
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [f"{secrets.token_hex(3)}-{secrets.token_hex(3)}" for _ in range(RECOVERY_CODE_COUNT)]
    db.session.add_all(RecoveryCode(user_id=user.id, code_hash=sha256_hex(code)) for code in codes)
    return codes


def verify_second_factor(user: User, code: str, ip: str | None) -> LoginResult:
    """Check a TOTP code (no replay) or an unused recovery code, with the login throttle."""
    keys = (throttle.account_key(user.email), throttle.ip_key(ip))
    wait = throttle.seconds_blocked(*keys)
    if wait:
        return LoginResult(LoginOutcome.THROTTLED, user, retry_after=wait)
    step = _matching_step(user.totp_secret or "", code)
    if step is not None and (user.totp_last_step is None or step > user.totp_last_step):
        user.totp_last_step = step
        throttle.clear(keys[0])
        return LoginResult(LoginOutcome.OK, user)
    if _use_recovery_code(user, code):
        throttle.clear(keys[0])
        log_event("user.recovery_code_used", actor=user, obj=user)
        return LoginResult(LoginOutcome.OK, user)
    return _failed_login(keys, user.email, user)


def _use_recovery_code(user: User, code: str) -> bool:
    normalised = code.strip().lower()
    updated = db.session.execute(
        sa.update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == sha256_hex(normalised),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=utcnow())
    )
    return updated.rowcount == 1


def remaining_recovery_codes(user: User) -> int:
    return db.session.scalar(
        sa.select(sa.func.count()).where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    )


# --- Preferences and administration ---


def update_profile(user: User, *, display_name: str, locale: str) -> None:
    """Change the display name and interface language."""
    user.display_name = display_name
    user.locale = locale
    log_event("user.profile_updated", actor=user, obj=user)


def set_locale(user: User, locale: str) -> None:
    """Remember the interface language chosen with the switcher."""
    user.locale = locale


def set_disabled(user: User, disabled: bool, *, actor: User) -> None:
    """Disable (ends every session) or re-enable an account."""
    if disabled and user.disabled_at is None:
        user.disabled_at = utcnow()
        end_all_sessions(user, reason="disabled")
        log_event("user.disabled", actor=actor, obj=user)
    elif not disabled and user.disabled_at is not None:
        user.disabled_at = None
        log_event("user.enabled", actor=actor, obj=user)


def set_user_roles(user: User, *, platform_admin: bool, adviser: bool, actor: User) -> None:
    """Grant or withdraw the user-wide roles."""
    if (user.is_platform_admin, user.is_adviser) == (platform_admin, adviser):
        return
    user.is_platform_admin = platform_admin
    user.is_adviser = adviser
    log_event("user.roles_changed", actor=actor, obj=user, data={"platform_admin": platform_admin, "adviser": adviser})
