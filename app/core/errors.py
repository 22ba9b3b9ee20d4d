"""The error family of Acquis and the translated error pages.

Operations refuse with one of two exceptions, and the request-handler base (:mod:`app.core.views`) renders them, so
views do not repeat except-chains:

- :class:`UserError` — the input is refused; the translated ``message`` goes onto the form field named by ``field``
  (see :func:`user_errors`), or is flashed on the same page when there is no such field;
- :class:`Conflict` — someone else changed the object first; the handler reloads it and answers 409 with the
  explanation (``message``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask, flash, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from app.core.csrf import log_refusal
from app.extensions import db

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


class UserError(ValueError):
    """Refused input: ``message`` is translated (lazy or not); ``field`` names the form field concerned, if any."""

    def __init__(self, message, field: str | None = None):
        super().__init__(str(message))
        self.message = message
        self.field = field


class Conflict(Exception):
    """Someone else acted first; ``message`` (translated) explains what happened. Handlers reload and answer 409."""

    def __init__(self, message=None):
        super().__init__(str(message) if message is not None else type(self).__name__)
        self._message = message

    @property
    def message(self):
        """The explanation shown to the user; subclasses compute it at render time (in the user's language)."""
        return self._message


def populate_errors(form, error: UserError, fallback: str | None = None) -> bool:
    """Add ``error`` to its field of ``form`` (else to ``fallback``); False when the form has neither field."""
    fields = getattr(form, "_fields", {}) if form is not None else {}
    target = fields.get(error.field) if error.field else None
    if target is None and fallback is not None:
        target = fields.get(fallback)
    if target is None:
        return False
    add_error(target, error.message)
    return True


def add_error(field, message) -> None:
    """Add ``message`` (rendered now, in the user's language) to the errors of a form ``field``."""
    field.errors = [*field.errors, str(message)]


def show_user_error(error: UserError, form=None, fallback: str | None = None) -> None:
    """Show ``error`` on ``form`` (its field, else ``fallback``), or flash it on the page when neither exists."""
    if not populate_errors(form, error, fallback):
        flash(str(error.message), "error")


@contextmanager
def user_errors(form=None, *, fallback: str | None = None) -> Iterator[None]:
    """Run the block; a :class:`UserError` it raises is shown on ``form`` (see :func:`show_user_error`) and
    execution goes on after the block — typically to render the form again.

    Usage::

        with user_errors(form, fallback="comment"):
            ops.do_something(...)
            return redirect(...)
        return render_template(..., form=form), 422 if form.errors else 200
    """
    try:
        yield
    except UserError as error:
        show_user_error(error, form, fallback)


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
    db.session.rollback()
    logger.exception("unhandled error on %s %s", request.method, request.path)
    return render_error(InternalServerError.code)


def init_error_handlers(app: Flask) -> None:
    app.register_error_handler(CSRFError, _handle_csrf_error)
    app.register_error_handler(HTTPException, _handle_http_exception)
    # Tests see real tracebacks unless they explicitly ask for the production behaviour.
    if not app.testing or app.config.get("PROPAGATE_EXCEPTIONS") is False:
        app.register_error_handler(Exception, _handle_unexpected)
