"""Cross-site request forgery: the session-bound token, plus an origin check that never needs a Referer.

Flask-WTF checks the token of every unsafe request (``CSRFProtect``). On https it also requires, by default, a
``Referer`` from the same host (``WTF_CSRF_SSL_STRICT``). Acquis serves the pages that carry a secret in their
address (a host referent's confirmation link, a portfolio shared by link) with ``Referrer-Policy: no-referrer``, so
that the secret never leaks to another site; browsers then send their forms with no ``Referer`` (and
``Origin: null``), and the strict check refused every one of them over https.

The token is what stops forgery: it is an HMAC of the session (signed with ``SECRET_KEY``), the session cookie is
``HttpOnly`` and ``SameSite=Lax`` (``Secure`` over https), and another site can neither read nor compute it. The
Referer check only added defence in depth against a network attacker who can plant cookies on the domain, which
HSTS already prevents. So the strict Referer rule is replaced by one that keeps that depth without needing
headers a privacy policy removes:

- an ``Origin`` header naming a site (not ``null``) must be this site;
- otherwise a ``Referer``, when sent, must be this site;
- when the browser sends neither (or ``Origin: null``), the token alone decides.

"This site" is the request's own scheme and host (behind a proxy, ``PROXY_COUNT`` makes them the client's) or the
origin of ``BASE_URL``. Every refusal is logged with its reason, so an operator sees why a form was refused.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import Flask, current_app, request
from flask_wtf.csrf import CSRFError, CSRFProtect

logger = logging.getLogger("acquis.csrf")

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _origin_of(url: str) -> str | None:
    """``scheme://host[:port]`` of ``url`` in lower case, or None when it is not an absolute http(s) URL."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}".lower()


def trusted_origins() -> set[str]:
    """The origins this request may come from: the request's own and the canonical ``BASE_URL``'s."""
    origins = {f"{request.scheme}://{request.host}".lower()}
    canonical = _origin_of(current_app.config.get("BASE_URL", ""))
    if canonical:
        origins.add(canonical)
    return origins


def cross_site_reason() -> str | None:
    """Why the current unsafe request looks sent from another site, or None when nothing says so."""
    origin = request.headers.get("Origin")
    if origin and origin.strip().lower() != "null":
        if _origin_of(origin) not in trusted_origins():
            return "the Origin header names another site"
        return None
    referrer = request.headers.get("Referer")
    if referrer and _origin_of(referrer) not in trusted_origins():
        return "the Referer header names another site"
    return None


def _origin_checker(protect: CSRFProtect):
    def check_request_origin() -> None:
        if request.method not in UNSAFE_METHODS or not current_app.config.get("WTF_CSRF_ENABLED", True):
            return
        if protect._is_exempt():  # views marked ``csrf.exempt`` (the public PDF check, the health probe)
            return
        reason = cross_site_reason()
        if reason is not None:
            raise CSRFError(reason)

    return check_request_origin


def log_refusal(error: CSRFError) -> None:
    """Log a refused form with its reason (token missing, expired, wrong session, other site)."""
    logger.warning(
        "CSRF check refused %s %s: %s (Origin=%r, Referer present=%s)",
        request.method,
        request.path,
        error.description,
        request.headers.get("Origin"),
        "Referer" in request.headers,
    )


def init_csrf(app: Flask, protect: CSRFProtect) -> None:
    """Token checks by ``protect`` (Flask-WTF), with its Referer-only https rule replaced by
    :func:`cross_site_reason` (see the module docstring)."""
    app.config["WTF_CSRF_SSL_STRICT"] = False
    protect.init_app(app)
    app.before_request(_origin_checker(protect))
