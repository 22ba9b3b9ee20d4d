"""Password hashing (Argon2id) and strength checking (zxcvbn).

The policy follows NIST SP 800-63B: at least 12 characters, no composition rules, and passwords that are
common, breached-style or built from the person's own name or address are refused.
"""

from __future__ import annotations

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask import current_app
from flask_babel import gettext as _
from zxcvbn import zxcvbn

#: zxcvbn only looks at the start of very long inputs; longer passwords are still hashed in full.
ZXCVBN_MAX_LENGTH = 100
MAX_PASSWORD_LENGTH = 1024


def _hasher() -> PasswordHasher:
    config = current_app.config
    return PasswordHasher(time_cost=config["ARGON2_TIME_COST"], memory_cost=config["ARGON2_MEMORY_COST"], type=Type.ID)


def hash_password(password: str) -> str:
    """Argon2id hash with the configured cost."""
    return _hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when ``password`` matches; never raises on a malformed hash."""
    try:
        return _hasher().verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with other parameters than the current ones."""
    try:
        return _hasher().check_needs_rehash(password_hash)
    except InvalidHashError:
        return True


_DUMMY_HASH: dict[str, str] = {}


def burn_verification_time(password: str) -> None:
    """Spend the time of one verification, so unknown e-mails answer as slowly as wrong passwords."""
    key = f"{current_app.config['ARGON2_TIME_COST']}:{current_app.config['ARGON2_MEMORY_COST']}"
    if key not in _DUMMY_HASH:
        _DUMMY_HASH[key] = hash_password("timing-equaliser-not-a-password")
    verify_password(_DUMMY_HASH[key], password)


def password_problems(password: str, user_inputs: list[str] | tuple[str, ...] = ()) -> list[str]:
    """Translated reasons why ``password`` is refused (empty list when acceptable)."""
    min_length = current_app.config["PASSWORD_MIN_LENGTH"]
    if len(password) < min_length:
        return [_("Use at least %(n)d characters.", n=min_length)]
    if len(password) > MAX_PASSWORD_LENGTH:
        return [_("Use at most %(n)d characters.", n=MAX_PASSWORD_LENGTH)]
    inputs = [part for value in user_inputs if value for part in _split_personal(value)]
    result = zxcvbn(password[:ZXCVBN_MAX_LENGTH], user_inputs=inputs)
    if result["score"] < current_app.config["PASSWORD_MIN_SCORE"]:
        return [
            _(
                "This password is too easy to guess (it is common, follows a simple pattern or contains your "
                "name or e-mail). A few unrelated words make a strong password."
            )
        ]
    return []


def _split_personal(value: str) -> list[str]:
    local, _sep, domain = value.partition("@")
    parts = [value, local, *local.replace(".", " ").replace("-", " ").split()]
    if domain:
        parts.append(domain.split(".")[0])
    return [p for p in parts if len(p) >= 3]
