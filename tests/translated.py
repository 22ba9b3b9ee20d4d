"""Expected texts in the language a page or an operation uses, computed with the application's own catalogs.

Pages are rendered in the signed-in user's language (French by default in the factories), so a test that reads a
French page compares with the French translation of the English msgid, exactly as the page shows it. Needs an
application context (the ``app`` / ``db_session`` fixtures push one).
"""

from __future__ import annotations

from flask_babel import force_locale, gettext
from markupsafe import escape

_CUT = "\x00cut\x00"


def translated(language: str, msgid: str, **variables) -> str:
    """The plain translated text, as Python code produces it (``_()`` in operations, views, flash messages)."""
    with force_locale(language):
        return gettext(msgid, **variables)


def in_template(language: str, msgid: str, **variables) -> str:
    """The text as a template's ``{{ _('...') }}`` or ``{% trans %}`` shows it: Flask-Babel installs new-style
    gettext, so the translation itself is markup and only the variables are HTML-escaped."""
    with force_locale(language):
        return gettext(msgid) % {name: str(escape(value)) for name, value in variables.items()}


def printed(language: str, msgid: str, **variables) -> str:
    """A text translated in Python and printed by a template with ``{{ value }}``: escaped as a whole."""
    return str(escape(translated(language, msgid, **variables)))


def printed_up_to(language: str, msgid: str, variable: str, **variables) -> str:
    """``printed(...)`` cut just before ``variable``, for messages whose end varies (a date, a time)."""
    return str(escape(translated(language, msgid, **variables, **{variable: _CUT}).split(_CUT)[0]))


def in_template_up_to(language: str, msgid: str, variable: str, **variables) -> str:
    """``in_template(...)`` cut just before ``variable``: a prefix that holds whatever the variable's value."""
    return in_template(language, msgid, **variables, **{variable: _CUT}).split(_CUT)[0]
