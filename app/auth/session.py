"""Flask-Login wiring: session ids carry the user's session version and a per-login key."""

from __future__ import annotations

from flask import current_app, has_request_context, request, session
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager

from app.auth.models import User
from app.auth.operations import load_session_user


def session_max_age():
    """How long after sign-in the current request's session may still be used.

    Remember-me sessions (a permanent session, or a request carrying the remember-me cookie) last up to
    ``REMEMBER_COOKIE_DURATION``; the others up to ``PERMANENT_SESSION_LIFETIME``. Both are capped at 30 days by
    the configuration.
    """
    config = current_app.config
    remembered = has_request_context() and (session.permanent or config["REMEMBER_COOKIE_NAME"] in request.cookies)
    return config["REMEMBER_COOKIE_DURATION"] if remembered else config["PERMANENT_SESSION_LIFETIME"]


def load_user(alternative_id: str) -> User | None:
    """Flask-Login's user loader: a live, unexpired session of an active user."""
    return load_session_user(alternative_id, session_max_age())


def init_login_manager(login_manager: LoginManager) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please sign in to see this page.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
    login_manager.user_loader(load_user)
