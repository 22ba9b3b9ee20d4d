"""Dead ends that explain: a link that was real but can no longer be used says what happened and what to do.

Only a token (or a share) that matches a real record reaches these pages; an unknown token still gets the
generic 404, so the explanation never tells a guesser which tokens exist.
"""

from __future__ import annotations

import contextlib
from typing import NoReturn

from flask import abort, make_response, render_template
from flask_babel import force_locale

from app.core.i18n import is_supported

#: 410 Gone: the resource existed and will not come back (a used, expired or revoked link).
GONE = 410

#: The reasons the template knows how to explain.
REASONS = frozenset({"referent_used", "referent_expired", "share_revoked", "share_expired"})


def explain_dead_end(reason: str, *, language: str | None = None, **context) -> NoReturn:
    """Stop the request with the explanation page for ``reason`` (see :data:`REASONS`), in ``language`` when it
    is a supported one (a link's stored language), else in the request's usual language."""
    if reason not in REASONS:
        raise ValueError(f"unknown dead end: {reason}")
    chosen = force_locale(language) if is_supported(language) else contextlib.nullcontext()
    with chosen:
        body = render_template("errors/link_ended.html", reason=reason, **context)
    response = make_response(body, GONE)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"  # the token may be in the URL
    abort(response)
