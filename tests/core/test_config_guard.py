"""The signing key is never a published one: unset, it is generated per instance (0600); a published or short key
is refused outside tests and the debugger, whatever ``ACQUIS_ENV`` says.

Before: the check ran only with ``ACQUIS_ENV=production``, so a gunicorn deployment that forgot it signed sessions
and links with the development key printed in the source.
"""

from __future__ import annotations

import stat

import pytest

from app.config import DEV_SECRET_KEY, SECRET_KEY_FILE, ConfigError, instance_secret_key, load_config

GOOD_KEY = "k" * 48


@pytest.fixture
def env(monkeypatch, tmp_path):
    """A clean environment, as a server started with only ``gunicorn wsgi:app`` would have."""
    for name in ("SECRET_KEY", "ACQUIS_ENV", "FLASK_DEBUG", "BASE_URL", "PROXY_COUNT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ACQUIS_INSTANCE_DIR", str(tmp_path / "instance"))
    return monkeypatch


def test_without_a_key_one_is_generated_per_instance_and_kept(env, tmp_path):
    config = load_config()
    key = config["SECRET_KEY"]
    assert key != DEV_SECRET_KEY and len(key) >= 32
    path = tmp_path / "instance" / SECRET_KEY_FILE
    assert path.read_text().strip() == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # Every later start (and every worker process) reads the same key: sessions survive restarts.
    assert load_config()["SECRET_KEY"] == key
    # Another instance gets its own.
    env.setenv("ACQUIS_INSTANCE_DIR", str(tmp_path / "other"))
    assert load_config()["SECRET_KEY"] != key


def test_the_app_started_like_gunicorn_does_not_use_the_development_key(env, tmp_path):
    from app import create_app
    from app.extensions import limiter

    saved = (limiter.enabled, limiter.initialized)  # the limiter object is shared by every app
    try:
        app = create_app(
            {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'unused.sqlite'}", "RATELIMIT_ENABLED": False}
        )
    finally:
        limiter.enabled, limiter.initialized = saved
    assert app.config["SECRET_KEY"] not in (DEV_SECRET_KEY, None)
    assert app.config["SECRET_KEY"] == (tmp_path / "instance" / SECRET_KEY_FILE).read_text().strip()


def test_the_published_development_key_is_refused_without_acquis_env(env):
    env.setenv("SECRET_KEY", DEV_SECRET_KEY)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load_config()


def test_a_short_key_is_refused(env):
    env.setenv("SECRET_KEY", "short-key")
    with pytest.raises(ConfigError, match="at least 32"):
        load_config()


def test_a_strong_key_is_used_as_given(env, tmp_path):
    env.setenv("SECRET_KEY", GOOD_KEY)
    assert load_config()["SECRET_KEY"] == GOOD_KEY
    assert not (tmp_path / "instance" / SECRET_KEY_FILE).exists()


def test_tests_and_the_debugger_may_use_a_weak_key(env):
    assert load_config({"TESTING": True, "SECRET_KEY": "weak"})["SECRET_KEY"] == "weak"
    env.setenv("FLASK_DEBUG", "1")
    env.setenv("SECRET_KEY", DEV_SECRET_KEY)
    assert load_config()["SECRET_KEY"] == DEV_SECRET_KEY


def test_production_refuses_weak_keys_even_under_the_debugger(env):
    env.setenv("ACQUIS_ENV", "production")
    env.setenv("BASE_URL", "https://acquis.example.org")
    env.setenv("FLASK_DEBUG", "1")
    env.setenv("SECRET_KEY", DEV_SECRET_KEY)
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load_config()


def test_production_requires_an_explicit_key(env):
    """Machines behind one address must share the key: production does not generate one."""
    env.setenv("ACQUIS_ENV", "production")
    env.setenv("BASE_URL", "https://acquis.example.org")
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load_config()
    env.setenv("SECRET_KEY", GOOD_KEY)
    assert load_config()["SECRET_KEY"] == GOOD_KEY


def test_production_still_requires_https(env):
    env.setenv("ACQUIS_ENV", "production")
    env.setenv("SECRET_KEY", GOOD_KEY)
    with pytest.raises(ConfigError, match="https"):
        load_config()


def test_a_key_file_readable_by_others_is_refused(tmp_path):
    path = tmp_path / SECRET_KEY_FILE
    path.write_text(GOOD_KEY)
    path.chmod(0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        instance_secret_key(tmp_path)


def test_an_empty_key_file_is_refused(tmp_path):
    path = tmp_path / SECRET_KEY_FILE
    path.write_text("")
    path.chmod(0o600)
    with pytest.raises(ConfigError, match="no usable key"):
        instance_secret_key(tmp_path)


def test_proxy_count_defaults_to_none_trusted_and_must_not_be_negative(env):
    env.setenv("SECRET_KEY", GOOD_KEY)
    assert load_config()["PROXY_COUNT"] == 0
    env.setenv("PROXY_COUNT", "1")
    assert load_config()["PROXY_COUNT"] == 1
    with pytest.raises(ConfigError, match="PROXY_COUNT"):
        load_config({"PROXY_COUNT": -1})
