"""Security headers, safe redirects and canonical URLs."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, current_app, request
from flask_login import current_user

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ]
)


def safe_next_url(target: str | None, fallback: str) -> str:
    """Return ``target`` when it is a local path on this site, else ``fallback``.

    Accepted: ``/path?query``. Refused: absolute URLs, scheme-relative ``//host``, ``/\\host`` (browsers read a
    backslash as a slash), ``https:host``, ``javascript:…``, and anything with control characters or spaces.
    """
    if not target or len(target) > 2000:
        return fallback
    if any(ord(ch) < 0x21 or ch in "\\\x7f" for ch in target):
        return fallback
    if not target.startswith("/") or target.startswith("//"):
        return fallback
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return fallback
    return target


def canonical_url(endpoint: str, **values) -> str:
    """Absolute URL built from ``BASE_URL`` — never from the request's Host header."""
    base = urlsplit(current_app.config["BASE_URL"])
    adapter = current_app.url_map.bind(base.netloc, url_scheme=base.scheme or "http", script_name=base.path or "/")
    return adapter.build(endpoint, values, force_external=True)


#: The headers every response carries unless its view set its own (in this order).
SECURITY_HEADERS = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "strict-origin-when-cross-origin"),
    ("X-Frame-Options", "DENY"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=(), interest-cohort=()"),
)
HSTS_HEADER = ("Strict-Transport-Security", "max-age=31536000; includeSubDomains")


def _set_security_headers(response):
    headers = response.headers
    # What ``headers.setdefault`` does for each, with the response's header names read once (each setdefault
    # scans them all).
    present = {name.lower() for name, _value in headers.items()}
    defaults = (*SECURITY_HEADERS, HSTS_HEADER) if current_app.config.get("HSTS") else SECURITY_HEADERS
    for name, value in defaults:
        if name.lower() not in present:
            headers.add(name, value)
    is_static = request.endpoint == "static"
    if not is_static and (_user_is_authenticated() or "Cache-Control" not in headers):
        headers["Cache-Control"] = "no-store"
    return response


def _user_is_authenticated() -> bool:
    try:
        return bool(current_user and current_user.is_authenticated)
    except Exception:
        return False


def init_security(app: Flask) -> None:
    """Install the security headers on every response."""
    app.after_request(_set_security_headers)
