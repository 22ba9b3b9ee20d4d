"""Locale selection and helpers.

The locale is chosen from, in order: the signed-in user's preference, the language a guest picked with the
switcher (kept in the session), the browser's ``Accept-Language``, and French.
"""

from __future__ import annotations

from flask import current_app, has_request_context, request, session
from flask_babel import force_locale, get_locale, lazy_gettext
from flask_login import current_user

__all__ = ["LANGUAGE_NAMES", "current_language", "force_locale", "is_supported", "select_locale"]

#: Each language named in itself, as a language switcher shows it.
LANGUAGE_NAMES = {"fr": "Français", "en": "English", "es": "Español"}

SESSION_KEY = "locale"


def is_supported(code: str | None) -> bool:
    """True for one of the interface languages (fr, en, es)."""
    return code in current_app.config["LANGUAGES"]


def select_locale() -> str:
    """Flask-Babel locale selector."""
    if not has_request_context():  # CLI commands and background work: the default language
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    user_locale = getattr(current_user, "locale", None) if _has_user() else None
    if is_supported(user_locale):
        return user_locale
    if is_supported(session.get(SESSION_KEY)):
        return session[SESSION_KEY]
    best = request.accept_languages.best_match(current_app.config["LANGUAGES"])
    return best or current_app.config["BABEL_DEFAULT_LOCALE"]


def _has_user() -> bool:
    try:
        return current_user.is_authenticated
    except Exception:
        return False


def current_language() -> str:
    """The two-letter code of the locale in use."""
    return str(get_locale() or current_app.config["BABEL_DEFAULT_LOCALE"]).split("_")[0]


def language_choices():
    """(code, name) pairs for select fields, names in their own language."""
    return list(LANGUAGE_NAMES.items())


_ = lazy_gettext
