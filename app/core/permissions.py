"""Small helpers turning access rules into HTTP errors.

Rules themselves live on the models (``organisation.can_manage(user)``) so that handlers, templates and tests
call the same code. Objects outside the actor's scope answer 404, never 403, so URLs reveal nothing.
"""

from __future__ import annotations

from flask import abort

from app.extensions import db


def require(condition: bool) -> None:
    """404 unless ``condition`` holds (hides the object's existence)."""
    if not condition:
        abort(404)


def require_or_forbid(condition: bool) -> None:
    """403 unless ``condition`` holds, for objects the actor may know exist."""
    if not condition:
        abort(403)


def get_or_404(model, ident):
    """Load ``model`` by primary key or raise 404."""
    obj = db.session.get(model, ident)
    if obj is None:
        abort(404)
    return obj
