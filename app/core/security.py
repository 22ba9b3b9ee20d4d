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


def _set_security_headers(response):
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(), interest-cohort=()")
    if current_app.config.get("HSTS"):
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
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
