"""Settings, read from the environment (and from ``.env`` in development).

Every setting has a safe development default except ``SECRET_KEY`` in production: the application refuses
to start with the development key when ``FLASK_DEBUG`` is off and ``ACQUIS_ENV`` is ``production``.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

PROJECT_DIR = Path(__file__).resolve().parent.parent
DEV_SECRET_KEY = "dev-only-insecure-secret-key-change-me"  # noqa: S105 - refused in production below


def _env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


class ConfigError(RuntimeError):
    """Raised when the settings are unsafe or inconsistent."""


def load_config(overrides: dict | None = None) -> dict:
    """Build the Flask configuration mapping from the environment, then apply ``overrides``."""
    instance_dir = Path(os.environ.get("ACQUIS_INSTANCE_DIR", PROJECT_DIR / "instance"))
    base_url = os.environ.get("BASE_URL", "http://127.0.0.1:5000").rstrip("/")
    https = urlsplit(base_url).scheme == "https"
    config = {
        "ACQUIS_ENV": os.environ.get("ACQUIS_ENV", "development"),
        "SECRET_KEY": os.environ.get("SECRET_KEY", DEV_SECRET_KEY),
        "INSTANCE_DIR": str(instance_dir),
        "SQLALCHEMY_DATABASE_URI": os.environ.get("DATABASE_URL", f"sqlite:///{instance_dir / 'acquis.sqlite'}"),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "BASE_URL": base_url,
        "STORAGE_DIR": os.environ.get("STORAGE_DIR", str(instance_dir / "storage")),
        "MAIL_SERVER": os.environ.get("MAIL_SERVER", ""),
        "MAIL_PORT": _env_int("MAIL_PORT", 25),
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME", ""),
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD", ""),
        "MAIL_USE_TLS": _env_bool("MAIL_USE_TLS"),
        "MAIL_SENDER": os.environ.get("MAIL_SENDER", "Acquis <no-reply@acquis.localhost>"),
        "MAIL_SINK_DIR": str(instance_dir / "mail"),
        "REDIS_URL": os.environ.get("REDIS_URL", ""),
        "CHROMIUM_PATH": os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"),
        # Sessions and cookies
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": https,
        "SESSION_COOKIE_NAME": "acquis_session",
        "REMEMBER_COOKIE_DURATION": timedelta(days=30),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": https,
        "REMEMBER_COOKIE_NAME": "acquis_remember",
        "PERMANENT_SESSION_LIFETIME": timedelta(days=30),
        "PREFERRED_URL_SCHEME": "https" if https else "http",
        "HSTS": https,
        # Forms and uploads
        "WTF_CSRF_TIME_LIMIT": None,  # the token is bound to the session, which already expires
        "MAX_CONTENT_LENGTH": 12 * 1024 * 1024,
        "EVIDENCE_MAX_BYTES": 10 * 1024 * 1024,
        "EVIDENCE_QUOTA_BYTES": _env_int("EVIDENCE_QUOTA_BYTES", 200 * 1024 * 1024),
        "EVIDENCE_MAX_PIXELS": 40_000_000,
        "EVIDENCE_MAX_PDF_PAGES": 300,
        "MAX_FORM_MEMORY_SIZE": 1024 * 1024,
        # Internationalisation
        "LANGUAGES": ("fr", "en", "es"),
        "BABEL_DEFAULT_LOCALE": "fr",
        "BABEL_DEFAULT_TIMEZONE": "Europe/Paris",
        "BABEL_TRANSLATION_DIRECTORIES": str(PROJECT_DIR / "translations"),
        # Security policies
        "PASSWORD_MIN_LENGTH": 12,
        "PASSWORD_MIN_SCORE": 3,
        "LOGIN_FREE_FAILURES": 5,
        "LOGIN_MAX_DELAY_SECONDS": 15 * 60,
        "TOKEN_MAX_AGE_SECONDS": 2 * 60 * 60,
        "VERIFY_TOKEN_MAX_AGE_SECONDS": 7 * 24 * 60 * 60,
        "INVITATION_DAYS": 14,
        "RATELIMIT_STORAGE_URI": os.environ.get("REDIS_URL") or "memory://",
        "RATELIMIT_DEFAULT": os.environ.get("RATELIMIT_DEFAULT", "300 per minute"),
        "RATELIMIT_HEADERS_ENABLED": True,
        "RATELIMIT_ENABLED": _env_bool("RATELIMIT_ENABLED", True),
        "ARGON2_TIME_COST": _env_int("ARGON2_TIME_COST", 3),
        "ARGON2_MEMORY_COST": _env_int("ARGON2_MEMORY_COST", 65536),
    }
    if overrides:
        config.update(overrides)
        if "BASE_URL" in overrides:
            # Settings derived from the scheme follow an overridden BASE_URL (unless overridden themselves).
            https = urlsplit(config["BASE_URL"]).scheme == "https"
            derived = {"SESSION_COOKIE_SECURE": https, "REMEMBER_COOKIE_SECURE": https, "HSTS": https}
            derived["PREFERRED_URL_SCHEME"] = "https" if https else "http"
            config.update({key: value for key, value in derived.items() if key not in overrides})
    _check_production_safety(config)
    return config


def _check_production_safety(config: dict) -> None:
    if config["ACQUIS_ENV"] != "production":
        return
    if config["SECRET_KEY"] == DEV_SECRET_KEY or len(config["SECRET_KEY"]) < 32:
        raise ConfigError("SECRET_KEY must be set to a random value of at least 32 characters in production.")
    if not config["BASE_URL"].startswith("https://"):
        raise ConfigError("BASE_URL must use https in production.")
