"""Signed, time-limited tokens for links sent by e-mail, and random tokens stored hashed."""

from __future__ import annotations

import hashlib
import secrets

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer


class InvalidToken(Exception):
    """The token is unknown, tampered with, expired or already used."""


def _serializer(purpose: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"acquis.{purpose}")


def sign(purpose: str, payload: dict) -> str:
    """A URL-safe signed token carrying ``payload`` for one ``purpose``."""
    return _serializer(purpose).dumps(payload)


def unsign(purpose: str, token: str, max_age: int) -> dict:
    """The payload of a token made by :func:`sign` for the same purpose, or :class:`InvalidToken`."""
    if not token or len(token) > 1000:
        raise InvalidToken
    try:
        payload = _serializer(purpose).loads(token, max_age=max_age)
    except (SignatureExpired, BadSignature) as exc:
        raise InvalidToken from exc
    if not isinstance(payload, dict):
        raise InvalidToken
    return payload


def new_random_token() -> tuple[str, str]:
    """A fresh 256-bit URL-safe token and the SHA-256 hex digest under which it is stored."""
    token = secrets.token_urlsafe(32)
    return token, hash_token(token)


def hash_token(token: str) -> str:
    """SHA-256 hex of a random token (random tokens need no slow hash)."""
    return hashlib.sha256(token.encode()).hexdigest()
