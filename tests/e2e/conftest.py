"""Fixtures of the browser tests (real Chromium through Playwright, sync API).

Every test under ``tests/e2e`` gets the ``browser`` marker (so the root ``db_session`` fixture stays out of the
way: these tests use committed data on a live server). They are skipped, with the reason shown by ``-ra``, only
when Chromium is missing AND ``REQUIRE_BROWSER`` is not set; with ``REQUIRE_BROWSER=1`` a missing browser fails.

Session fixtures (started once):

- ``mailbox`` -> :class:`tests.e2e.helpers.Mailbox`: a real SMTP server (aiosmtpd) on 127.0.0.1; the app sends
  its mail there. ``mailbox.wait_for(addr)``, ``mailbox.latest_link(addr)``, ``Mailbox.body(msg)``.
- ``live_server`` -> :class:`tests.e2e.helpers.LiveServer`: the app served over **https** (a self-signed test
  certificate, accepted by the browser contexts) by werkzeug on 127.0.0.1:<port>, on
  its own database (a temporary SQLite file, or ``<TEST_DATABASE_URL db>_e2e`` on PostgreSQL, recreated),
  CSRF on, rate limits off, cheap password hashing, ``BASE_URL`` = ``live_server.url``, catalogs compiled
  from ``translations/*.po``. ``live_server.create_user(...)``, ``create_org(...)``, ``add_member(...)``
  commit data; ``live_server.translate(lang, msgid)`` gives the text the app shows in a language.
- ``browser`` -> a Playwright ``Browser`` (Chromium at ``CHROMIUM_PATH``).

Per-test fixtures:

- ``new_context(locale="en", **options)`` -> a fresh ``BrowserContext`` (own cookies, i.e. another person),
  ``base_url`` set to the live server, 10 s default timeout, every page monitored (console errors, CSP,
  uncaught exceptions, broken sub-resources). Closed after the test; on failure every open page is saved as
  ``test-results/<test>-<n>.png``.
- ``new_page(locale="en")`` -> a page in a fresh context (a second user: ``admin_page = new_page()``).
- ``context``, ``page`` -> the default context and its page (English interface).

Helpers to use with them live in ``tests/e2e/helpers.py``: ``visit``, ``check_page``, ``assert_accessible``,
``login``, ``focused_element``, ``unique_email``, ``unique_name``, ``totp_code``.
"""

from __future__ import annotations

import re
import tempfile
import threading
from pathlib import Path

import pytest

from tests.e2e import html_checker
from tests.e2e.helpers import (
    CHROMIUM_ARGS,
    CHROMIUM_PATH,
    PROJECT_DIR,
    RESULTS_DIR,
    LiveServer,
    Mailbox,
    browser_required,
    chromium_available,
    compile_catalogs,
    free_port,
    make_test_certificate,
    monitor,
)
from tests.fixtures.app import make_test_app, reset_database, separate_database

E2E_DIR = Path(__file__).resolve().parent
DEFAULT_TIMEOUT_MS = 10_000


# --- Marker, skip rule, failure reports ---------------------------------------------------------------------


def pytest_collection_modifyitems(config, items):
    """Mark every test of this folder ``browser``; skip them when Chromium is absent unless it is required."""
    skip = None
    if not chromium_available() and not browser_required():
        skip = pytest.mark.skip(
            reason=f"browser tests need Chromium at CHROMIUM_PATH={CHROMIUM_PATH} and the playwright package "
            "(set REQUIRE_BROWSER=1 to make this a failure)"
        )
    for item in items:
        if E2E_DIR in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.browser)
            if skip is not None:
                item.add_marker(skip)


def pytest_sessionfinish(session, exitstatus):
    """Validate the HTML of every page the browser tests checked with the Nu HTML checker; any error fails the
    session (the errors are listed). Without Java or the jar: a visible skip, or a failure under REQUIRE_BROWSER."""
    pages = html_checker.collected()
    if not pages:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    say = reporter.write_line if reporter is not None else print
    reason = html_checker.unavailable_reason()
    if reason is not None:
        if browser_required():
            say(f"Nu HTML checker: FAILED: {reason} (REQUIRE_BROWSER is set)", red=True)
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
        else:
            say(f"Nu HTML checker: SKIPPED: {reason}", yellow=True)
        return
    with tempfile.TemporaryDirectory(prefix="acquis-vnu-") as workdir:
        errors = html_checker.validate(pages, Path(workdir))
    if errors:
        say(f"Nu HTML checker: {len(errors)} error(s) on {len(pages)} page(s):", red=True)
        for line in errors:
            say("  " + line)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    else:
        say(f"Nu HTML checker: 0 errors on {len(pages)} page(s)", green=True)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the item (``item.rep_call``) so fixtures can tell a failure at teardown."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


# --- Session: mail, database, live server, browser -----------------------------------------------------------


@pytest.fixture(scope="session")
def mailbox():
    """A real SMTP server on 127.0.0.1 collecting every message (see :class:`Mailbox`)."""
    from aiosmtpd.controller import Controller

    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    box.host, box.port = "127.0.0.1", controller.port
    yield box
    controller.stop()


@pytest.fixture(scope="session")
def e2e_database_url(tmp_path_factory):
    """The live server's own database: ``<name>_e2e`` next to TEST_DATABASE_URL (PostgreSQL), recreated for
    the session and dropped afterwards; otherwise a temporary SQLite file."""
    with separate_database("e2e", tmp_path_factory.mktemp("e2e-db") / "acquis-e2e.sqlite") as url:
        yield url


@pytest.fixture(scope="session")
def live_server(e2e_database_url, mailbox, tmp_path_factory):
    """The application over https in a background thread (see the module docstring).

    https, as in every deployment: Secure cookies, HSTS and the CSRF rules that apply only on https are exercised
    by every browser test (a page that hid its referrer once made every such form fail there, and only there)."""
    from werkzeug.serving import make_server

    from app.extensions import db

    translations = compile_catalogs(PROJECT_DIR / "translations", tmp_path_factory.mktemp("e2e-translations"))
    app = make_test_app(
        e2e_database_url,
        tmp_path_factory.mktemp("e2e-instance"),
        WTF_CSRF_ENABLED=True,
        RATELIMIT_ENABLED=False,
        MAIL_SERVER=mailbox.host,
        MAIL_PORT=mailbox.port,
        BABEL_TRANSLATION_DIRECTORIES=str(translations),
    )
    with app.app_context():
        reset_database()
    certificate = make_test_certificate(tmp_path_factory.mktemp("e2e-tls"))
    server = make_server("127.0.0.1", 0, app, threaded=True, ssl_context=tuple(map(str, certificate)))
    url = f"https://127.0.0.1:{server.server_port}"
    # E-mailed links must open on this very server; https turns on Secure cookies and HSTS like in production.
    app.config.update(BASE_URL=url, SESSION_COOKIE_SECURE=True, REMEMBER_COOKIE_SECURE=True, HSTS=True)
    thread = threading.Thread(target=server.serve_forever, name="e2e-live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(url=url, app=app, mailbox=mailbox, translations_dir=translations)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        with app.app_context():
            db.engine.dispose()  # lets the PostgreSQL database be dropped


@pytest.fixture(scope="session")
def browser():
    """Chromium, headless, launched once for the session."""
    if not chromium_available():
        # Only reached when REQUIRE_BROWSER is set (otherwise the tests were skipped at collection).
        pytest.fail(f"REQUIRE_BROWSER is set but Chromium (CHROMIUM_PATH={CHROMIUM_PATH}) or playwright is missing")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM_PATH, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


# --- Per test: contexts and pages -----------------------------------------------------------------------------


def _screenshot_name(nodeid: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid.split("/")[-1]).strip("_")[:150]


@pytest.fixture
def new_context(browser, live_server, request):
    """Factory of browser contexts on the live server; screenshots of every page when the test fails."""
    contexts = []

    def factory(*, locale: str = "en", **options):
        options.setdefault("ignore_https_errors", True)  # the live server's self-signed test certificate
        context = browser.new_context(base_url=live_server.url, locale=locale, **options)
        context.set_default_timeout(DEFAULT_TIMEOUT_MS)
        context.on("page", monitor)
        contexts.append(context)
        return context

    yield factory
    report = getattr(request.node, "rep_call", None)
    failed = report is not None and report.failed
    shot = 0
    for context in contexts:
        if failed:
            RESULTS_DIR.mkdir(exist_ok=True)
            for page in context.pages:
                shot += 1
                path = RESULTS_DIR / f"{_screenshot_name(request.node.nodeid)}-{shot}.png"
                try:
                    page.screenshot(path=str(path), full_page=True)
                except Exception as exc:  # a crashed page must not hide the real failure
                    print(f"could not save {path}: {exc}")
                else:
                    print(f"screenshot saved: {path}")
        context.close()


@pytest.fixture
def new_page(new_context):
    """Factory: a monitored page in a fresh context (another person's browser)."""

    def factory(*, locale: str = "en", **options):
        page = new_context(locale=locale, **options).new_page()
        monitor(page)
        return page

    return factory


@pytest.fixture
def context(new_context):
    """The test's default browser context (English interface)."""
    return new_context()


@pytest.fixture
def page(context):
    """A monitored page in the default context."""
    page = context.new_page()
    monitor(page)
    return page
