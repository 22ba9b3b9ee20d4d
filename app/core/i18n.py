"""Locale selection and helpers.

The locale is chosen from, in order: the signed-in user's preference, the language a guest picked with the
switcher (kept in the session), the browser's ``Accept-Language``, and French.
"""

from __future__ import annotations

from flask import current_app, has_request_context, request, session
from flask_babel import Domain, force_locale, get_locale, lazy_gettext
from flask_babel import _get_current_context as _babel_request_state
from flask_login import current_user

__all__ = [
    "LANGUAGE_NAMES",
    "RequestCatalogueDomain",
    "current_language",
    "force_locale",
    "is_supported",
    "select_locale",
]

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


class RequestCatalogueDomain(Domain):
    """Flask-Babel's message domain, with the catalogue of the request's language remembered for the request.

    Flask-Babel finds the catalogue again for every message (the request's locale, its name, the process cache):
    most of the cost of a translation, and a page translates dozens of messages (menu labels, state names, task
    list). The catalogue is kept next to the locale Flask-Babel keeps for the request and used while that locale
    is the request's: :func:`force_locale` (e-mails, PDFs) sets another locale object, so the catalogue is looked
    up again, and again when it restores the request's. The namespace is Flask-Babel's ``_get_current_context``
    (where it keeps the locale): not public API, hence the ``<5`` pin of Flask-Babel in pyproject.toml.
    """

    def get_translations(self):
        state = _babel_request_state()
        if state is None:  # outside an application context
            return super().get_translations()
        remembered = getattr(state, "acquis_catalogue", None)
        if remembered is not None and remembered[0] is getattr(state, "babel_locale", None):
            return remembered[1]
        translations = super().get_translations()  # selects the locale first when needed
        state.acquis_catalogue = (state.babel_locale, translations)
        return translations


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
