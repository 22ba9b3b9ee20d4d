"""Tokens carried in URLs never reach the request logs (werkzeug's request line, gunicorn's access log)."""

from __future__ import annotations

import logging

import pytest

from app.core.logredact import MASK, REQUEST_LOGGERS, TokenRedactingFilter, token_prefixes

TOKEN = "Zk3p0s3cr3t-t0k3n_ABCDEFGHIJKLMNOPQRSTUVWXYZ012"


def test_every_token_route_of_the_app_is_covered(app):
    """Each rule with a ``<token>`` argument has its prefix masked (a new token route is covered by itself)."""
    rules = [rule.rule for rule in app.url_map.iter_rules() if "token" in rule.arguments]
    assert {
        "/s/<token>",
        "/validation/referent/<token>",
        "/organisations/invitations/<token>",
        "/auth/password/reset/<token>",
        "/auth/verify/<token>",
        "/auth/account/email/<token>",
    } <= set(rules)
    redacting = TokenRedactingFilter(token_prefixes(rules))
    for rule in rules:
        path = rule.replace("<token>", TOKEN)
        redacted = redacting.redact(f'"GET {path}?x=1 HTTP/1.1" 200 -')
        assert TOKEN not in redacted, rule
        assert MASK in redacted


@pytest.mark.parametrize(
    "rule, expected",
    [
        ("/s/<token>", ["/s/"]),
        ("/x/<string:token>/confirm", ["/x/"]),
        ("/shared/<int:share_id>", []),
        ("/a/<int:id>/<token>", []),
    ],
)
def test_token_prefixes(rule, expected):
    assert token_prefixes([rule]) == expected


def test_filter_is_installed_on_the_request_loggers(app):
    for name in REQUEST_LOGGERS:
        filters = [f for f in logging.getLogger(name).filters if isinstance(f, TokenRedactingFilter)]
        assert len(filters) == 1, name


@pytest.mark.parametrize(
    "path",
    [
        f"/s/{TOKEN}",
        f"/validation/referent/{TOKEN}",
        f"/organisations/invitations/{TOKEN}",
        f"/auth/password/reset/{TOKEN}",
        f"/auth/verify/{TOKEN}",
        f"/auth/account/email/{TOKEN}",
    ],
)
def test_werkzeug_request_line_is_redacted(app, caplog, path):
    """The development server logs ``"%s" %s %s`` with the request line as an argument."""
    logger = logging.getLogger("werkzeug")
    with caplog.at_level(logging.INFO, logger="werkzeug"):
        logger.info('%s - - [26/Nov/2026 10:00:00] "%s" %s %s', "127.0.0.1", f"GET {path} HTTP/1.1", "302", "-")
    assert caplog.records, "nothing logged"
    assert TOKEN not in caplog.text
    assert f"{path.rsplit('/', 1)[0]}/{MASK} HTTP/1.1" in caplog.text


def test_gunicorn_access_log_is_redacted(app, caplog):
    """gunicorn formats its access line from a dict of atoms: the request line and the referer both."""
    logger = logging.getLogger("gunicorn.access")
    atoms = {
        "h": "10.0.0.1",
        "r": f"GET /s/{TOKEN} HTTP/1.1",
        "s": "302",
        "f": f"https://acquis.example.org/validation/referent/{TOKEN}?lang=es",
    }
    with caplog.at_level(logging.INFO, logger="gunicorn.access"):
        logger.info('%(h)s "%(r)s" %(s)s "%(f)s"', atoms)
    assert TOKEN not in caplog.text
    assert (
        f'"GET /s/{MASK} HTTP/1.1" 302 "https://acquis.example.org/validation/referent/{MASK}?lang=es"' in caplog.text
    )


def test_other_paths_are_left_alone(app, caplog):
    logger = logging.getLogger("werkzeug")
    # Document verification codes are printed on the documents for anyone to check: not secrets.
    line = '"GET /shared/12/documents/4 HTTP/1.1" 200 - /static/s/app.css /documents/ /verify/ABCD-EFGH-JKLM-NPQR'
    with caplog.at_level(logging.INFO, logger="werkzeug"):
        logger.info("%s", line)
    assert line in caplog.text


def test_real_request_through_the_development_server_handler(app, client, caplog):
    """Werkzeug's own request logging (as the development server does it) goes through the filter."""
    from werkzeug.serving import WSGIRequestHandler

    handler = WSGIRequestHandler.__new__(WSGIRequestHandler)
    handler.requestline = f"GET /s/{TOKEN} HTTP/1.1"
    handler.client_address = ("127.0.0.1", 50000)
    handler.command, handler.path = "GET", f"/s/{TOKEN}"
    with caplog.at_level(logging.INFO, logger="werkzeug"):
        handler.log_request(404, "-")
    assert caplog.records
    assert TOKEN not in caplog.text
    assert f"/s/{MASK}" in caplog.text
