"""Building blocks of the browser tests: Chromium, the live server, a real SMTP mailbox, page checks.

The fixtures in ``tests/e2e/conftest.py`` hand out the objects defined here. A typical test::

    def test_something(live_server, page, mailbox):
        user = live_server.create_user(password=PASSWORD)          # committed, visible to the browser
        login(page, user.email, PASSWORD)                          # real form, checked page by page
        visit(page, "/organisations/")                             # goto + status + console + axe
        page.get_by_role("button", name="Ask to join").click()
        check_page(page)                                           # after every click that loads a page

Every page a test shows should go through :func:`visit` (navigation by URL) or :func:`check_page` (after a
click or a form submission): both fail the test on console errors, CSP violations, uncaught exceptions, broken
sub-resources and axe-core (WCAG 2.2 AA) violations.
"""

from __future__ import annotations

import contextlib
import email
import itertools
import os
import re
import shutil
import socket
import threading
import time
import weakref
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pyotp

from tests.e2e import html_checker
from tests.fixtures.app import TEST_PASSWORD

PROJECT_DIR = Path(__file__).resolve().parents[2]
RESULTS_DIR = PROJECT_DIR / "test-results"

CHROMIUM_PATH = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
#: Flags for a sandbox-less container without network: no GPU, no background traffic, no first-run UI.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

#: axe-core rule tags: WCAG 2.0, 2.1 and 2.2 at levels A and AA, plus axe's best practices.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
AXE_OPTIONS = {"runOnly": {"type": "tag", "values": AXE_TAGS}, "resultTypes": ["violations"]}

__all__ = [
    "CHROMIUM_ARGS",
    "CHROMIUM_PATH",
    "TEST_PASSWORD",
    "Mailbox",
    "PageMonitor",
    "UserInfo",
    "assert_accessible",
    "browser_required",
    "check_page",
    "chromium_available",
    "focused_element",
    "free_port",
    "login",
    "monitor",
    "totp_code",
    "unique_email",
    "unique_name",
    "visit",
]


# --- Environment ---------------------------------------------------------------------------------------------


def chromium_available() -> bool:
    """True when the Chromium binary at ``CHROMIUM_PATH`` exists and Playwright is importable."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    path = Path(CHROMIUM_PATH)
    return path.is_file() or shutil.which(CHROMIUM_PATH) is not None


def browser_required() -> bool:
    """``REQUIRE_BROWSER`` set to a true value (1, true, yes, on): a missing browser is then a failure."""
    return os.environ.get("REQUIRE_BROWSER", "").strip().lower() in {"1", "true", "yes", "on"}


def make_test_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (and localhost) and its key, as PEM files in ``directory``.

    The live server speaks https with it, as every real deployment does, so that rules which only apply on https
    (Flask-WTF's Referer check, Secure cookies, HSTS) are exercised by the browser tests; the browser contexts
    accept it (``ignore_https_errors``).
    """
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


_email_counter = itertools.count(1)


def unique_email(prefix: str = "user") -> str:
    """A fresh address: the live database keeps its data for the whole session, so never reuse one."""
    return f"{prefix}-{os.getpid()}-{next(_email_counter)}-{int(time.time() * 1000) % 100000}@example.org"


def unique_name(prefix: str) -> str:
    """A fresh human-readable name (organisations, people) for the session-long live database."""
    return f"{prefix} {os.getpid() % 1000}-{next(_email_counter)}"


def totp_code(secret: str) -> str:
    """The current six-digit code of an authenticator app set up with ``secret``."""
    return pyotp.TOTP(secret).now()


# --- Mail -------------------------------------------------------------------------------------------------------


_LINK = re.compile(r"https?://[^\s<>\"')]+")


class Mailbox:
    """Messages received by the test SMTP server (aiosmtpd), one list per recipient address.

    The application delivers mail right after its commit, before the response reaches the browser, but the
    helpers wait anyway (``timeout`` seconds) so a slow machine does not make the tests flaky.
    """

    def __init__(self) -> None:
        self._messages: list[tuple[list[str], EmailMessage]] = []
        self._changed = threading.Condition()

    # aiosmtpd handler protocol
    async def handle_DATA(self, server, session, envelope):  # the name is fixed by aiosmtpd
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        with self._changed:
            self._messages.append(([r.lower() for r in envelope.rcpt_tos], message))
            self._changed.notify_all()
        return "250 Message accepted for delivery"

    def messages_to(self, address: str) -> list[EmailMessage]:
        """Every message delivered to ``address`` so far, oldest first."""
        address = address.lower()
        with self._changed:
            return [message for recipients, message in self._messages if address in recipients]

    def wait_for(self, address: str, *, count: int = 1, timeout: float = 10.0) -> EmailMessage:
        """The latest message to ``address`` once at least ``count`` have arrived; AssertionError on timeout."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = [m for recipients, m in self._messages if address.lower() in recipients]
                if len(found) >= count:
                    return found[-1]
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = sorted({r for recipients, _ in self._messages for r in recipients})
                    raise AssertionError(
                        f"no mail #{count} to {address} within {timeout}s (mail went to: {', '.join(seen) or '-'})"
                    )
                self._changed.wait(remaining)

    @staticmethod
    def body(message: EmailMessage) -> str:
        """The plain-text body, decoded."""
        part = message.get_body(preferencelist=("plain",)) or message
        return part.get_content()

    @classmethod
    def links(cls, message: EmailMessage) -> list[str]:
        """Every http(s) link in the plain-text body, in order."""
        return _LINK.findall(cls.body(message))

    def latest_link(self, address: str, *, count: int = 1, timeout: float = 10.0) -> str:
        """The first link of the latest message to ``address`` (waiting for it, see :meth:`wait_for`)."""
        message = self.wait_for(address, count=count, timeout=timeout)
        links = self.links(message)
        assert links, f"no link in the mail to {address}: {self.body(message)!r}"
        return links[0]


# --- Live data ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UserInfo:
    """What a test needs to act as a user created in the live database."""

    id: int
    email: str
    name: str
    password: str
    totp_secret: str | None = None


@dataclass(frozen=True)
class OrganisationInfo:
    id: int
    slug: str
    name: str


@dataclass
class LiveServer:
    """The application served over HTTP on 127.0.0.1 with its own committed database.

    ``url`` is also the app's ``BASE_URL``, so the links in its e-mails open on this server. The ``create_*``
    helpers run the app's own operations in an app context and COMMIT (the browser talks to another thread,
    so rolled-back data would be invisible); give every object unique names and addresses.
    """

    url: str
    app: Any
    mailbox: Mailbox
    translations_dir: Path
    _translations: dict = field(default_factory=dict, repr=False)

    def url_for(self, path: str) -> str:
        """Absolute URL of a path on the live server."""
        return self.url + (path if path.startswith("/") else "/" + path)

    @contextlib.contextmanager
    def committing(self):
        """An app context whose session is committed at the end (rolled back on error)."""
        from app.extensions import db

        with self.app.app_context():
            try:
                yield db.session
                db.session.commit()
            except BaseException:
                db.session.rollback()
                raise

    def create_user(
        self,
        email: str | None = None,
        *,
        name: str | None = None,
        password: str = TEST_PASSWORD,
        verified: bool = True,
        platform_admin: bool = False,
        adviser: bool = False,
        totp: bool = False,
        locale: str = "en",
    ) -> UserInfo:
        """A user account (verified by default; ``totp=True`` turns on two-factor with a known secret)."""
        from app.auth import operations as auth_ops
        from app.core.db import utcnow

        email = email or unique_email()
        name = name or f"User {email.split('@')[0]}"
        with self.committing():
            user = auth_ops.create_user(
                email,
                name,
                password,
                locale=locale,
                verified=verified,
                is_platform_admin=platform_admin,
                is_adviser=adviser,
            )
            secret = None
            if totp:
                secret = pyotp.random_base32()
                user.totp_secret = secret
                user.totp_enabled_at = utcnow()
            info = UserInfo(id=user.id, email=user.email, name=user.display_name, password=password, totp_secret=secret)
        return info

    def create_org(
        self, name: str | None = None, *, kind: str = "sending_ngo", country: str = "FR", accepts_join_requests=True
    ) -> OrganisationInfo:
        """An organisation (a sending NGO in France by default)."""
        from app.organisations import operations as org_ops
        from app.organisations.models import OrganisationKind

        name = name or unique_name("Organisation")
        with self.committing():
            org = org_ops.create_organisation(
                org_ops.OrganisationData(
                    name=name, kind=OrganisationKind(kind), country=country, accepts_join_requests=accepts_join_requests
                ),
                actor=None,
            )
            info = OrganisationInfo(id=org.id, slug=org.slug, name=org.name)
        return info

    def add_member(self, org: OrganisationInfo, user: UserInfo, role: str = "volunteer") -> None:
        """Make ``user`` an active member of ``org`` with ``role`` (volunteer, trainer, admin)."""
        from app.auth.models import User
        from app.extensions import db
        from app.organisations import operations as org_ops
        from app.organisations.models import MembershipRole

        with self.committing():
            organisation = org_ops.get_organisation(org.slug)
            org_ops.add_member(organisation, db.session.get(User, user.id), MembershipRole(role), actor=None)

    def translate(self, language: str, msgid: str, **params) -> str:
        """``msgid`` in ``language`` as the live app shows it (the msgid itself while untranslated)."""
        from babel.support import Translations

        if language not in self._translations:
            self._translations[language] = Translations.load(str(self.translations_dir), [language])
        text = self._translations[language].gettext(msgid)
        return text % params if params else text

    def is_translated(self, language: str, msgid: str) -> bool:
        """True when the catalog of ``language`` has a translation for ``msgid`` that differs from it."""
        return self.translate(language, msgid) != msgid


def compile_catalogs(source: Path, target: Path) -> Path:
    """Compile every ``<lang>/LC_MESSAGES/messages.po`` under ``source`` into ``.mo`` files under ``target``.

    Like ``make i18n-compile`` (fuzzy entries included), but into a private folder, so the browser tests always
    run on the current catalogs without writing to the source tree.
    """
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po_path in source.glob("*/LC_MESSAGES/messages.po"):
        language = po_path.parent.parent.name
        with po_path.open("rb") as handle:
            catalog = read_po(handle, locale=language)
        out = target / language / "LC_MESSAGES" / "messages.mo"
        out.parent.mkdir(parents=True, exist_ok=True)
        with out.open("wb") as handle:
            write_mo(handle, catalog, use_fuzzy=True)
    return target


# --- Page checks ----------------------------------------------------------------------------------------------


#: Reports CSP violations to the console even when the browser would only fire the DOM event.
_CSP_REPORTER = """
document.addEventListener('securitypolicyviolation', (e) => {
  console.error('CSP violation: ' + e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline') +
                ' at ' + e.sourceFile + ':' + e.lineNumber);
});
"""

_IGNORED_CONSOLE = (
    # The document's own status (401 for a wrong password, 404 page, 422 for form errors) is checked by the
    # tests themselves; sub-resources are checked through the "response" events instead.
    "Failed to load resource: the server responded with a status of",
)


class PageMonitor:
    """Collects what must never happen on a page: console errors (CSP included), uncaught exceptions, failed
    sub-resources (CSS, JS, images, favicon). :meth:`assert_clean` reports and forgets them."""

    def __init__(self, page) -> None:
        self.problems: list[str] = []
        page.add_init_script(_CSP_REPORTER)
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.problems.append(f"uncaught exception: {error}"))
        page.on("requestfailed", self._on_request_failed)
        page.on("response", self._on_response)

    def _on_console(self, message) -> None:
        if message.type not in {"error", "assert"}:
            return
        if message.text.startswith(_IGNORED_CONSOLE):
            return
        location = message.location or {}
        problem = f"console {message.type}: {message.text} ({location.get('url', '?')})"
        if problem not in self.problems:  # Chromium may fire one CSP violation event twice
            self.problems.append(problem)

    def _on_request_failed(self, request) -> None:
        if request.resource_type == "document":
            return  # navigations cancelled by another navigation are normal
        if request.resource_type in ("fetch", "xhr") and request.failure == "net::ERR_ABORTED":
            # A script's request still in flight when the page is left (e.g. the debounced suggestion preview when
            # the form is submitted) is cancelled by the browser: that is not a failure of the server.
            return
        self.problems.append(f"request failed: {request.method} {request.url} ({request.failure})")

    def _on_response(self, response) -> None:
        if response.status >= 400 and response.request.resource_type != "document":
            self.problems.append(f"{response.status} for {response.request.resource_type} {response.url}")

    def assert_clean(self, where: str = "") -> None:
        problems, self.problems = self.problems, []
        assert not problems, f"browser problems on {where}:\n  " + "\n  ".join(problems)


_monitors: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def monitor(page) -> PageMonitor:
    """The :class:`PageMonitor` of ``page`` (attached by the ``page``/``new_page`` fixtures, or now)."""
    found = _monitors.get(page)
    if found is None:
        found = _monitors[page] = PageMonitor(page)
    return found


def axe_summary(violations: list[dict]) -> str:
    """One readable block per axe violation: rule id, impact, help text and URL, failing elements."""
    lines = []
    for violation in violations:
        lines.append(f"- {violation['id']} [{violation.get('impact')}]: {violation['help']} ({violation['helpUrl']})")
        for node in violation["nodes"]:
            target = " ".join(str(t) for t in node["target"])
            lines.append(f"    at {target}: {node.get('failureSummary', '').replace(chr(10), ' ')}")
            lines.append(f"       {node.get('html', '')[:200]}")
    return "\n".join(lines)


def assert_accessible(page, *, context: str | dict | None = None, disable: tuple[str, ...] = ()) -> None:
    """Run axe-core (WCAG 2.2 AA + best practices) on the page; fail with a readable summary on any violation.

    :param context: optional axe context (a CSS selector, or ``{"include": [...], "exclude": [...]}``).
    :param disable: rule ids to skip, for a documented reason only.
    """
    from axe_playwright_python.sync_playwright import Axe

    options = dict(AXE_OPTIONS)
    if disable:
        options["rules"] = {rule: {"enabled": False} for rule in disable}
    results = Axe().run(page, context=context, options=options)
    violations = results.response["violations"]
    assert not violations, f"{len(violations)} accessibility violation(s) on {page.url}:\n{axe_summary(violations)}"


def check_page(page, *, where: str | None = None) -> None:
    """Check the page now shown (after a click or a form submission): browser problems, then axe; its HTML is
    kept for the Nu HTML checker run at the end of the session.

    Call it after every action that loads a page, so every page of a journey is checked.
    """
    page.wait_for_load_state("load")
    monitor(page).assert_clean(where or page.url)
    assert_accessible(page)
    html_checker.collect(page.url, page.content())  # validated at the end of the session (Nu HTML checker)


def open_from_menu(page, name: str) -> None:
    """Follow the main menu's link ``name``, opening the "More" disclosure first when the link sits there (the
    top row holds a few links, depending on the user's roles), then check the page."""
    menu = page.get_by_role("navigation", name="Main menu")
    link = menu.get_by_role("link", name=name, exact=True)
    if not link.is_visible():
        menu.get_by_text("More", exact=True).click()
    link.click()
    check_page(page)


def visit(page, path: str, *, status: int = 200):
    """Open ``path`` (relative to the live server), check the HTTP status, the browser problems and axe.

    :param status: the expected status of the final document (after redirects), e.g. 404 for the error page.
    :returns: the Playwright response.
    """
    monitor(page)  # attach before navigating, so nothing is missed
    response = page.goto(path)
    assert response is not None, f"no response for {path}"
    assert response.status == status, f"{path}: HTTP {response.status}, expected {status} ({response.url})"
    check_page(page, where=path)
    return response


def focused_element(page) -> dict:
    """Facts about ``document.activeElement``: tag, id, classes, name, text, href and its focus outline."""
    return page.evaluate(
        """() => {
          const el = document.activeElement;
          const style = getComputedStyle(el);
          return {tag: el.tagName.toLowerCase(), id: el.id, className: el.className, name: el.getAttribute('name'),
                  type: el.getAttribute('type'), text: (el.innerText || '').trim(), href: el.getAttribute('href'),
                  outlineStyle: style.outlineStyle, outlineWidth: style.outlineWidth,
                  boxShadow: style.boxShadow};
        }"""
    )


def login(page, email_address: str, password: str = TEST_PASSWORD, *, totp_secret: str | None = None) -> None:
    """Sign in through the real login form (and the two-factor step when ``totp_secret`` is given), checking
    every page on the way. Works in any interface language: fields are found by their ``name``."""
    visit(page, "/auth/login")
    page.locator("input[name=email]").fill(email_address)
    page.locator("input[name=password]").fill(password)
    page.locator("main form button[type=submit]").click()
    if totp_secret:
        page.wait_for_url("**/auth/login/verify")
        check_page(page)
        page.locator("input[name=code]").fill(totp_code(totp_secret))
        page.locator("main form button[type=submit]").click()
    page.wait_for_url(lambda url: "/auth/login" not in url)
    check_page(page)
