"""Template globals and filters shared by every page."""

from __future__ import annotations

import functools
from datetime import UTC, date, datetime

from babel import dates as babel_dates
from flask import Flask, current_app, g, has_request_context, request, url_for
from flask_babel import (
    format_currency,
    format_datetime,
    format_decimal,
    get_locale,
    get_timezone,
    get_translations,
    to_user_timezone,
)
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from app.core.countries import country_name
from app.core.hooks import template_hook
from app.core.i18n import LANGUAGE_NAMES, current_language


def format_day(value: date | str | None) -> str:
    """The interface's one date format: the locale's medium date ("2 déc. 2026", "Dec 2, 2026"). Accepts the ISO
    strings of stored snapshots, which are never shown as such."""
    if not value:
        return ""
    if isinstance(value, str):
        value = date.fromisoformat(value[:10])
    if isinstance(value, datetime):
        value = to_user_timezone(value).date()
    return _medium_day(value, str(get_locale()))


def day_formatter():
    """:func:`format_day` for many values of one page: the locale and time zone looked up once (a lookup per value
    was a tenth of a 300-validation list), each day formatted once."""
    locale = str(get_locale())
    zone = get_timezone()

    def day(value: datetime) -> str:
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return _medium_day(zone.normalize(value.astimezone(zone)).date(), locale)

    return day


@functools.lru_cache(maxsize=4096)
def _medium_day(value: date, locale: str) -> str:
    """Babel's medium date of ``value`` in ``locale``, memoised: a page of 300 validations formats the same few
    days hundreds of times, and each Babel call costs a fraction of a millisecond."""
    return babel_dates.format_date(value, "medium", locale=locale)


def format_moment(value: datetime | None) -> str:
    """The interface's one date-and-time format: the medium date with the short time, joined the locale's way
    ("2 déc. 2026, 07:58", "Dec 2, 2026, 7:58 AM"), in the user's time zone."""
    if not value:
        return ""
    locale = get_locale()
    pattern = locale.datetime_formats["medium"].format(
        locale.time_formats["short"].pattern, locale.date_formats["medium"].pattern
    )
    return format_datetime(value, pattern)


#: At most this many links in the header's top row; the others go into the "More" menu (fits 1280 px in one line).
TOP_NAVIGATION_ITEMS = 5


def _navigation_items() -> tuple[list[tuple[str, object]], list[tuple[str, object]]]:
    """(endpoint, label) pairs for the main menu of the current user: the top row, then the "More" menu.

    Items are listed by purpose, most used first for the user's roles: the home (with the task list), the
    volunteer's own work, the staff's and advisers' work, then the reference pages and the account."""
    # ``current_user`` is None outside a request (e-mails rendered by a CLI command or a worker).
    if not current_user or not current_user.is_authenticated:
        return [
            ("main.home", _l("Home")),
            ("auth.login", _l("Sign in")),
            ("auth.register", _l("Create an account")),
        ], []
    is_staff = any(m.is_staff for m in current_user.memberships)  # Membership.is_staff
    items = [("main.home", _l("Home"))]
    if is_staff:
        items.append(("validation.queue", _l("Reviews")))
    if current_user.is_adviser:
        items.append(("sharing.shared_with_me", _l("Shared with me")))
    items += [
        ("claims.dashboard", _l("My portfolio")),
        ("documents.index", _l("My documents")),
        ("vae.index", _l("VAE")),
        ("organisations.directory", _l("Organisations")),
        ("sharing.index", _l("Sharing")),
        ("frameworks.index", _l("Frameworks")),
        ("survey.index", _l("Impact survey")),
        ("validation.notifications", _l("Notifications")),
    ]
    if current_user.is_platform_admin:
        items.append(("admin.index", _l("Administration")))
    items.append(("auth.account", _l("My account")))
    return items[:TOP_NAVIGATION_ITEMS], items[TOP_NAVIGATION_ITEMS:]


def _navigation() -> tuple[tuple[tuple[str, str, Markup], ...], tuple[tuple[str, str, Markup], ...]]:
    """(endpoint, URL, label) triples of :func:`_navigation_items`, the URLs and translated labels built once per
    application, language and menu (a dozen ``url_for`` and translations on every page otherwise). Labels are
    markup as the lazy strings were (``__html__``): translations of our own messages, never user data."""
    if not has_request_context():  # e-mails rendered by a command or a worker: no page, no menu
        return (), ()
    top, more = _navigation_items()
    app = current_app._get_current_object()
    key = (
        str(get_locale()),
        request.script_root,
        tuple(e for e, _ in top),
        tuple(e for e, _ in more),
    )
    menus = app.extensions.setdefault("acquis_menus", {})
    menu = menus.get(key)
    if menu is None:
        menu = menus[key] = tuple(
            tuple((endpoint, url_for(endpoint), Markup(str(label))) for endpoint, label in items)  # noqa: S704
            for items in (top, more)
        )
    return menu


def note_page_errors() -> str:
    """Called by the error summary macro: the page reports form errors, so its title starts with "Error:"."""
    g.acquis_page_errors = True
    return ""


def page_has_errors() -> bool:
    """True once a form on the page being rendered showed its error summary (see ``base.html``)."""
    return bool(g.get("acquis_page_errors"))


def _catalogue(_context: Context):
    """The translations of the language the template is rendered in.

    Through :class:`app.core.i18n.RequestCatalogueDomain`, which remembers the catalogue for the request's locale and
    looks it up again under :func:`force_locale`. Not remembered on the template's context: a macro module imported
    without context is built once and kept by Jinja for every later rendering, whatever its language.
    """
    return get_translations()


@pass_context
def _template_gettext(context: Context, string: str) -> str:
    return _catalogue(context).ugettext(string)


@pass_context
def _template_ngettext(context: Context, singular: str, plural: str, n: int) -> str:
    return _catalogue(context).ungettext(singular, plural, n)


@pass_context
def _template_pgettext(context: Context, message_context: str, string: str) -> str:
    return _catalogue(context).upgettext(message_context, string)


@pass_context
def _template_npgettext(context: Context, message_context: str, singular: str, plural: str, n: int) -> str:
    return _catalogue(context).unpgettext(message_context, singular, plural, n)


def init_templating(app: Flask) -> None:
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    # Flask-Babel's callables, with the catalogue looked up once per rendering (same newstyle wrappers: escaping
    # and %-formatting unchanged).
    app.jinja_env.install_gettext_callables(
        gettext=_template_gettext,
        ngettext=_template_ngettext,
        newstyle=True,
        pgettext=_template_pgettext,
        npgettext=_template_npgettext,
    )

    @app.context_processor
    def _globals():
        return {
            "language_names": LANGUAGE_NAMES,
            "current_language": current_language(),
            **dict(zip(("navigation", "navigation_more"), _navigation(), strict=True)),
            "current_path": request.full_path.rstrip("?") if request else "/",
            "country_name": country_name,
            "template_hook": template_hook,
        }

    app.jinja_env.globals.update(note_page_errors=note_page_errors, page_has_errors=page_has_errors)
    app.jinja_env.filters["number"] = lambda value: format_decimal(value) if value is not None else ""
    app.jinja_env.filters["currency"] = lambda value, code="EUR": (
        format_currency(value, code) if value is not None else ""
    )
    app.jinja_env.filters["date"] = format_day
    app.jinja_env.filters["datetime"] = format_moment
