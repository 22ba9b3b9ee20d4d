"""``BASE_URL`` follows ``HOST`` and ``PORT`` (what ``make run`` serves on) when it is not set, so links in e-mails,
documents and QR codes point where the server listens."""

from __future__ import annotations

import pytest

from app.config import load_config


@pytest.fixture
def env(monkeypatch, tmp_path):
    for name in ("BASE_URL", "HOST", "PORT", "ACQUIS_ENV", "SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ACQUIS_INSTANCE_DIR", str(tmp_path / "instance"))
    return monkeypatch


@pytest.mark.parametrize(
    ("host", "port", "expected"),
    [
        (None, None, "http://127.0.0.1:5000"),
        (None, "5110", "http://127.0.0.1:5110"),
        ("192.0.2.10", "8080", "http://192.0.2.10:8080"),
        ("acquis.local", None, "http://acquis.local:5000"),
        ("0.0.0.0", "5110", "http://127.0.0.1:5110"),  # noqa: S104 - an environment value, never bound
        ("::1", "5110", "http://[::1]:5110"),
    ],
)
def test_base_url_follows_host_and_port_when_unset(env, host, port, expected):
    if host is not None:
        env.setenv("HOST", host)
    if port is not None:
        env.setenv("PORT", port)
    assert load_config()["BASE_URL"] == expected


def test_an_explicit_base_url_wins(env):
    env.setenv("PORT", "5110")
    env.setenv("BASE_URL", "https://acquis.example.org/")
    config = load_config()
    assert config["BASE_URL"] == "https://acquis.example.org"
    assert config["SESSION_COOKIE_SECURE"] is True


def test_links_in_mails_and_documents_use_the_served_port(env, tmp_path):
    from app import create_app
    from app.core.security import canonical_url
    from app.documents import operations as ops

    env.setenv("PORT", "5110")
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'unused.sqlite'}"})
    with app.test_request_context("/", base_url="http://somewhere.else"):
        assert canonical_url("auth.login") == "http://127.0.0.1:5110/auth/login"
        assert ops.verify_url("0123456789AB5").startswith("http://127.0.0.1:5110/verify/")
