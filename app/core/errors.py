"""Translated error pages."""

from __future__ import annotations

import logging

from flask import Flask, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from app.core.csrf import log_refusal

logger = logging.getLogger("acquis.errors")

ERROR_TEXTS = {
    400: (_l("Bad request"), _l("The request could not be understood. Please go back and try again.")),
    403: (_l("Access denied"), _l("You do not have permission to see this page.")),
    404: (_l("Page not found"), _l("This page does not exist, or you are not allowed to see it.")),
    405: (_l("Method not allowed"), _l("This address cannot be used this way.")),
    413: (_l("File too large"), _l("What you sent is larger than the allowed size.")),
    429: (
        _l("Too many requests"),
        _l("You made too many requests in a short time. Please wait a moment and try again."),
    ),
    500: (
        _l("Something went wrong"),
        _l("An unexpected error occurred. Nothing you had saved is lost; please try again in a moment."),
    ),
}
CSRF_TEXT = _l("The form expired or was sent from another site. Please go back, reload the page and try again.")


def render_error(code: int, message=None):
    """The HTML error page for ``code`` (falls back to the 500 texts)."""
    title, default_message = ERROR_TEXTS.get(code, ERROR_TEXTS[500])
    response = render_template("errors/error.html", code=code, title=title, message=message or default_message)
    return response, code


def _handle_http_exception(error: HTTPException):
    if error.code is None or error.code < 400:
        return error
    if request.blueprint is None and request.path.startswith("/static/"):
        return error
    response, code = render_error(error.code)
    headers = {}
    if error.code == 429 and getattr(error, "retry_after", None):
        headers["Retry-After"] = str(error.retry_after)
    return response, code, headers


def _handle_csrf_error(error: CSRFError):
    log_refusal(error)
    return render_error(400, CSRF_TEXT)


def _handle_unexpected(error: Exception):
    from app.extensions import db

    db.session.rollback()
    logger.exception("unhandled error on %s %s", request.method, request.path)
    return render_error(InternalServerError.code)


def init_error_handlers(app: Flask) -> None:
    app.register_error_handler(CSRFError, _handle_csrf_error)
    app.register_error_handler(HTTPException, _handle_http_exception)
    # Tests see real tracebacks unless they explicitly ask for the production behaviour.
    if not app.testing or app.config.get("PROPAGATE_EXCEPTIONS") is False:
        app.register_error_handler(Exception, _handle_unexpected)
