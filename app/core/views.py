"""Request-handler base classes: load → check access → act, with one commit point.

Every view of Acquis is a subclass of :class:`RH`. ``dispatch_request`` runs, in order:

1. the authentication rule of the class (``RHPublic`` lets anyone in, ``RHAuthenticated`` redirects guests to
   the login page, ``RHPlatformAdmin`` answers 403 to non-admins),
2. ``_load(**view_args)`` — fetch the objects named in the URL or raise 404,
3. ``_check_access()`` — call the models' ``can_*`` rules (404 for objects outside the actor's scope),
4. ``_process()`` — validate the form, call one operation, flash, redirect or render.

Operations refuse with the error family of :mod:`app.core.errors`. A :class:`~app.core.errors.UserError` is shown on
the form by ``with user_errors(form, fallback=…):`` around the operation; one that escapes ``_process`` is flashed and
the page reloaded. A :class:`~app.core.errors.Conflict` (someone acted first) is handled here: the session is expired,
``_load`` runs again so the handler sees the current state, and ``_render_conflict`` answers — by default the same page
reloaded with the explanation flashed; handlers that show the state in place render it with status 409.

The database session is committed once after a successful ``_process`` and rolled back on any exception, so an
operation never commits by itself and a failed request leaves nothing half-saved. On SQLite, a request that met
"database is locked" where it could not wait (a read transaction asking for the write lock, see
:mod:`app.core.db`) is rolled back and run again from the start as a writer (``BEGIN IMMEDIATE``, which waits for
the lock), at most :data:`SQLITE_BUSY_ATTEMPTS` times in all.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import flash, redirect, request, session, url_for
from flask.views import View
from flask_login import current_user
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import Forbidden

from app.core.db import is_sqlite_busy, write_intent
from app.core.errors import Conflict, UserError
from app.core.security import safe_next_url
from app.extensions import db

logger = logging.getLogger("acquis.views")

#: Runs of one request at most when SQLite answers "database is locked" (the first one, then as a writer).
SQLITE_BUSY_ATTEMPTS = 3


class RH(View):
    """Abstract request handler; subclass one of the access-rule classes below."""

    methods = ("GET",)
    #: Name of the access rule, used by the access-matrix test and the docs.
    access_rule = "abstract"

    def dispatch_request(self, **view_args):
        attempt = 1
        flashes = list(session.get("_flashes", ()))
        while True:
            try:
                # After a lock conflict, run again as a writer: BEGIN IMMEDIATE waits for the lock.
                with write_intent(True if attempt > 1 else None):
                    return self._dispatch_once(**view_args)
            except OperationalError as error:
                if attempt >= SQLITE_BUSY_ATTEMPTS or not is_sqlite_busy(error):
                    raise
                logger.info("%s %s: database is locked, running it again (%d)", request.method, request.path, attempt)
                attempt += 1
                _forget_side_effects_of_the_attempt(flashes)

    def _dispatch_once(self, **view_args):
        try:
            early = self._authenticate()
            if early is not None:
                return early
            self._load(**view_args)
            self._check_access()
            try:
                response = self._process()
            except Conflict as conflict:
                # Someone acted first: show the state as it is now, with the explanation.
                db.session.expire_all()
                self._load(**view_args)
                response = self._render_conflict(conflict)
            except UserError as error:
                response = self._render_user_error(error)
            db.session.commit()
        except BaseException:
            db.session.rollback()
            raise
        return response

    def _authenticate(self):
        """Return a response to stop the request (e.g. a login redirect), or ``None`` to go on."""
        raise NotImplementedError

    def _load(self, **view_args) -> None:
        """Load the objects named in the URL; raise NotFound when they do not exist or are out of scope."""

    def _check_access(self) -> None:
        """Raise Forbidden/NotFound when the current user may not perform this request."""

    def _process(self):
        """Produce the response."""
        raise NotImplementedError

    def _render_conflict(self, conflict: Conflict):
        """The response to a :class:`Conflict` raised by ``_process`` (objects already reloaded): by default the
        explanation is flashed and the page reloaded."""
        flash(str(conflict.message), "warning")
        return redirect(self._same_page())

    def _render_user_error(self, error: UserError):
        """The response to a :class:`UserError` that ``_process`` did not show on a form: flashed, page reloaded."""
        flash(str(error.message), "error")
        return redirect(self._same_page())

    def _same_page(self) -> str:
        if "GET" in self.methods:
            return _current_local_path()
        return safe_next_url(request.referrer and _local_part(request.referrer), url_for("main.home"))


class RHPublic(RH):
    """Open to everyone, guests included."""

    access_rule = "public"

    def _authenticate(self):
        return None


class RHGuestOnly(RHPublic):
    """Pages for guests (login, register): signed-in users go to their home page."""

    access_rule = "guest"

    def _authenticate(self):
        if current_user.is_authenticated:
            return redirect(safe_next_url(request.args.get("next"), url_for("main.home")))
        return None


class RHAuthenticated(RH):
    """Requires a signed-in user; guests are sent to the login page and come back afterwards."""

    access_rule = "user"
    #: Platform admins must enrol in two-factor authentication before using anything else.
    allow_without_required_2fa = False

    def _authenticate(self):
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=_current_local_path()))
        if current_user.must_enrol_totp and not self.allow_without_required_2fa:
            return redirect(url_for("auth.totp_setup"))
        return None


class RHPlatformAdmin(RHAuthenticated):
    """Platform administrators only (403 for other signed-in users)."""

    access_rule = "platform_admin"

    def _authenticate(self):
        response = super()._authenticate()
        if response is None and not current_user.is_platform_admin:
            raise Forbidden
        return response


def _forget_side_effects_of_the_attempt(flashes: list) -> None:
    """Undo what a rolled-back attempt left outside the database: its flashed messages, read upload streams."""
    if flashes:
        session["_flashes"] = list(flashes)
    else:
        session.pop("_flashes", None)
    for upload in request.files.values():
        upload.stream.seek(0)


def _local_part(url: str) -> str | None:
    """The path and query of ``url`` when it points to this site, else ``None``."""
    parts = urlsplit(url)
    if parts.netloc and parts.netloc != request.host:
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _current_local_path() -> str:
    path = request.full_path if request.query_string else request.path
    return path
