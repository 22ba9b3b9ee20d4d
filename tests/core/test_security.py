"""Safe redirects, security headers on every route, CSRF, secure cookies and HSTS, Flask-Limiter."""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

import pytest
from flask import url_for
from werkzeug.routing import IntegerConverter

from app.core.errors import CSRF_TEXT
from app.core.i18n import force_locale
from app.core.security import safe_next_url
from tests.fixtures.app import TEST_PASSWORD, make_test_app

FALLBACK = "/home"

# --- safe_next_url ----------------------------------------------------------------------------------------------------

REFUSED = [
    None,
    "",
    "//evil.com",
    "///evil.com",
    "/\\evil.com",
    "\\\\evil.com",
    "\\/evil.com",
    "https:evil.com",
    "https://evil.com",
    "HTTP://evil.com/",
    "javascript:alert(1)",
    " javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "evil.com",
    "organisations/",
    "/\t/evil.com",
    "/\n/evil.com",
    "\t//evil.com",
    "/\r\n//evil.com",
    "//\tevil.com",
    " //evil.com",
    "/ /evil.com",
    "/\x00/evil.com",
    "/\x7f",
    "/" + "a" * 2001,
]


@pytest.mark.parametrize("target", REFUSED)
def test_safe_next_url_refuses(app, target):
    assert safe_next_url(target, FALLBACK) == FALLBACK


ACCEPTED = [
    "/",
    "/organisations/",
    "/organisations/ngo-1/members?tab=pending#x",
    # Percent-encoded slashes and backslashes stay in the path: browsers do not decode them when resolving a
    # relative reference, so the target stays on this site (it is at worst a 404 here).
    "/%5Cevil.com",
    "/%2F%2Fevil.com",
    "/%09/evil.com",
    "/.//evil.com",
    "/path?next=//evil.com",
    "/caf\u00e9",
]


@pytest.mark.parametrize("target", ACCEPTED)
def test_safe_next_url_accepts_local_paths_that_stay_local(app, target):
    assert safe_next_url(target, FALLBACK) == target
    resolved = urlsplit(urljoin("https://acquis.example/some/page", target))
    assert (resolved.scheme, resolved.netloc) == ("https", "acquis.example")


# --- Security headers on every route ----------------------------------------------------------------------------------


def _assert_security_headers(response, *, where: str, signed_in: bool) -> None:
    headers = response.headers
    csp = headers.get("Content-Security-Policy", "")
    directives = {part.split()[0]: part.split()[1:] for part in csp.split(";") if part.strip()}
    assert directives.get("object-src") == ["'none'"], where
    assert directives.get("base-uri") == ["'none'"], where
    assert directives.get("frame-ancestors") == ["'none'"], where
    script_src = directives.get("script-src", directives.get("default-src"))
    assert script_src, where
    assert "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src, where
    assert "*" not in script_src and "data:" not in script_src, where
    assert headers.get("X-Content-Type-Options") == "nosniff", where
    assert headers.get("Referrer-Policy") == "strict-origin-when-cross-origin", where
    assert "Strict-Transport-Security" not in headers, where  # BASE_URL is http in the tests
    if signed_in:
        assert "no-store" in headers.get("Cache-Control", ""), where


@pytest.fixture
def world(ngo, ngo_admin):
    """Real objects for URL arguments, so pages render (not only 404) where possible: the shared cast's NGO and
    its admin."""
    return {
        "user": ngo_admin,
        "organisation": ngo,
        "membership": next(m for m in ngo_admin.memberships if m.organisation_id == ngo.id),
    }


def _url_for_rule(app, rule, world) -> str:
    known = {
        "slug": world["organisation"].slug,
        "organisation_id": world["organisation"].id,
        "user_id": world["user"].id,
        "membership_id": world["membership"].id,
        "filename": "css/acquis.css",
    }
    values = {}
    for name, converter in rule._converters.items():
        values[name] = known.get(name, 1 if isinstance(converter, IntegerConverter) else "x")
    with app.test_request_context():
        return url_for(rule.endpoint, **values)


def _request_every_route(app, client, world, *, signed_in: bool) -> int:
    """Request each route once; collect every problem so one failure does not hide the others."""
    problems, count = [], 0
    for rule in app.url_map.iter_rules():
        method = "GET" if "GET" in rule.methods else sorted(rule.methods - {"HEAD", "OPTIONS"})[0]
        url = _url_for_rule(app, rule, world)
        try:
            response = client.open(url, method=method)
            where = f"{method} {url} ({rule.endpoint}) -> {response.status_code}"
            assert response.status_code < 500, where
            _assert_security_headers(response, where=where, signed_in=signed_in and rule.endpoint != "static")
        except Exception as exc:
            problems.append(f"{method} {url} ({rule.endpoint}): {type(exc).__name__}: {exc}")
        count += 1
    assert not problems, "\n".join(problems)
    return count


def test_every_route_sends_security_headers(app, client, world, login):
    # POST-only routes are requested without a CSRF token (answered 400) so that no action runs mid-loop.
    assert _request_every_route(app, client, world, signed_in=False) > 20
    login(client, world["user"])
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        _request_every_route(app, client, world, signed_in=True)
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert client.get("/auth/account").status_code == 200  # still signed in: the loop changed nothing


def test_error_and_static_responses_carry_headers(client):
    _assert_security_headers(client.get("/no/such/page"), where="404", signed_in=False)
    response = client.get("/static/css/acquis.css")
    assert response.status_code == 200
    _assert_security_headers(response, where="static", signed_in=False)


def test_authenticated_pages_are_not_cached(client, create_user, login):
    login(client, create_user())
    for url in ("/", "/auth/account", "/organisations/"):
        assert "no-store" in client.get(url).headers["Cache-Control"], url


def test_cookies_are_httponly_samesite_and_not_secure_over_http(client, create_user):
    user = create_user()
    response = client.post("/auth/login", data={"email": user.email, "password": TEST_PASSWORD, "remember": "y"})
    cookies = response.headers.getlist("Set-Cookie")
    assert {c.split("=")[0] for c in cookies} >= {"acquis_session", "acquis_remember"}
    for cookie in cookies:
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie, cookie
        assert "Secure" not in cookie, cookie


@pytest.fixture
def https_app(database_url, tmp_path):
    # Requests of this second app run in the test's transaction too (``db.session`` is the test's session).
    return make_test_app(database_url, tmp_path, BASE_URL="https://acquis.example")


def test_https_base_url_gives_hsts_and_secure_cookies(https_app, create_user):
    user = create_user()
    client = https_app.test_client()
    response = client.get("/auth/login", base_url="https://acquis.example")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    response = client.post(
        "/auth/login",
        data={"email": user.email, "password": TEST_PASSWORD, "remember": "y"},
        base_url="https://acquis.example",
    )
    assert response.status_code == 302
    cookies = response.headers.getlist("Set-Cookie")
    assert {c.split("=")[0] for c in cookies} >= {"acquis_session", "acquis_remember"}
    for cookie in cookies:
        assert "Secure" in cookie and "HttpOnly" in cookie, cookie
    assert "Strict-Transport-Security" in response.headers


# --- CSRF -------------------------------------------------------------------------------------------------------------


def test_post_without_csrf_token_is_refused_with_the_error_page(client, create_user, csrf_enabled):
    user = create_user()
    response = client.post(
        "/auth/login", data={"email": user.email, "password": TEST_PASSWORD}, headers={"Accept-Language": "en"}
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert '<html lang="en">' in html
    assert "Bad request" in html
    assert str(CSRF_TEXT) in html
    assert client.get("/auth/account").status_code == 302  # not signed in


def test_csrf_error_page_is_translated(client, csrf_enabled):
    response = client.post("/language", data={"locale": "en", "next": "/"}, headers={"Accept-Language": "es"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert '<html lang="es">' in html
    with force_locale("es"):
        expected = str(CSRF_TEXT)
    assert expected.replace("'", "&#39;") in html


def test_post_with_csrf_token_is_accepted(client, create_user, csrf_enabled):
    import re

    user = create_user()
    html = client.get("/auth/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    response = client.post("/auth/login", data={"email": user.email, "password": TEST_PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    # A token from another browser's session is refused.
    other = client.application.test_client()
    other_response = other.post(
        "/auth/login", data={"email": user.email, "password": TEST_PASSWORD, "csrf_token": token}
    )
    assert other_response.status_code == 400


# --- Flask-Limiter ----------------------------------------------------------------------------------------------------


def test_login_posts_are_rate_limited(limited_app):
    client = limited_app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    for attempt in range(30):
        # An incomplete form: no password hashing, only the rate limit counts.
        response = client.post("/auth/login", data={"email": ""})
        assert response.status_code == 422, attempt
    response = client.post("/auth/login", data={"email": ""})
    assert response.status_code == 429
    html = response.get_data(as_text=True)
    assert "Too many requests" in html and '<html lang="en">' in html
    assert "Content-Security-Policy" in response.headers
    # Reading the page is still allowed; another address is not affected.
    assert client.get("/auth/login").status_code == 200
    other = client.post("/auth/login", data={"email": ""}, environ_base={"REMOTE_ADDR": "198.51.100.20"})
    assert other.status_code == 422


def test_main_app_is_not_rate_limited_after_the_limited_app(client):
    """Guard for the fixture above: the shared limiter must not leak into the other tests."""
    for _attempt in range(35):
        assert client.post("/auth/login", data={"email": ""}).status_code == 422


# --- CSRF over https: the token decides, a foreign origin is refused, no Referer is needed -----------------------


def _login_token(client, base_url: str) -> str:
    import re

    html = client.get("/auth/login", base_url=base_url).get_data(as_text=True)
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)


@pytest.fixture
def https_csrf_app(database_url, tmp_path):
    return make_test_app(database_url, tmp_path, BASE_URL="https://acquis.example", WTF_CSRF_ENABLED=True)


@pytest.mark.parametrize(
    "headers",
    [
        {},  # a page served with Referrer-Policy: no-referrer, in a browser that sends no Origin
        {"Origin": "null"},  # the same page in a browser that sends Origin: null
        {"Origin": "https://acquis.example"},
        {"Referer": "https://acquis.example/validation/referent/abc"},
    ],
    ids=["nothing", "origin-null", "same-origin", "same-referer"],
)
def test_https_post_with_token_is_accepted_without_referer(https_csrf_app, create_user, headers):
    user = create_user()
    client = https_csrf_app.test_client()
    token = _login_token(client, "https://acquis.example")
    response = client.post(
        "/auth/login",
        data={"email": user.email, "password": TEST_PASSWORD, "csrf_token": token},
        base_url="https://acquis.example",
        headers=headers,
    )
    assert response.status_code == 302, response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"Origin": "https://evil.example"}, "the Origin header names another site"),
        ({"Referer": "https://evil.example/form"}, "the Referer header names another site"),
        ({"Origin": "http://acquis.example"}, "the Origin header names another site"),  # downgraded scheme
    ],
)
def test_https_post_from_another_site_is_refused_and_logged(https_csrf_app, create_user, headers, reason, caplog):
    user = create_user()
    client = https_csrf_app.test_client()
    token = _login_token(client, "https://acquis.example")
    with caplog.at_level("WARNING", logger="acquis.csrf"):
        response = client.post(
            "/auth/login",
            data={"email": user.email, "password": TEST_PASSWORD, "csrf_token": token},
            base_url="https://acquis.example",
            headers=headers,
        )
    assert response.status_code == 400
    assert str(CSRF_TEXT).replace("'", "&#39;") in response.get_data(as_text=True)
    assert any(reason in record.getMessage() for record in caplog.records)


def test_https_post_without_token_is_logged_with_the_reason(https_csrf_app, caplog):
    client = https_csrf_app.test_client()
    with caplog.at_level("WARNING", logger="acquis.csrf"):
        response = client.post("/auth/login", data={"email": "a@b.example"}, base_url="https://acquis.example")
    assert response.status_code == 400
    assert any("CSRF token is missing" in record.getMessage() for record in caplog.records)


def test_behind_a_tls_proxy_a_post_without_referer_is_accepted(database_url, tmp_path, create_user):
    """nginx terminates TLS and forwards plain http with X-Forwarded-Proto/-For (PROXY_COUNT=1)."""
    proxied = make_test_app(
        database_url, tmp_path, BASE_URL="https://acquis.example", WTF_CSRF_ENABLED=True, PROXY_COUNT=1
    )
    user = create_user()
    client = proxied.test_client()
    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"}
    import re

    html = client.get("/auth/login", base_url="http://acquis.example", headers=forwarded).get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
    response = client.post(
        "/auth/login",
        data={"email": user.email, "password": TEST_PASSWORD, "csrf_token": token},
        base_url="http://acquis.example",
        headers={**forwarded, "Origin": "https://acquis.example"},
    )
    assert response.status_code == 302
