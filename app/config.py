"""Settings, read from the environment (and from ``.env`` in development).

Every setting has a safe default. ``SECRET_KEY``, when not set, is a random key generated on first start and kept
in ``<instance>/secret_key`` (permissions 0600), so no deployment ever signs with a published key. A key that is
set must be at least 32 characters and not the old development key, except in tests (``TESTING``) or the debugger
(``FLASK_DEBUG``). With ``ACQUIS_ENV=production`` the key must be set explicitly (every machine must share it) and
``BASE_URL`` must use https.
"""

from __future__ import annotations

import os
import secrets
import sys
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = PACKAGE_DIR.parent
#: A wheel carries templates/, translations/ (compiled), migrations/ and competencies/ here (see setup.py);
#: a checkout (editable install included) has no such folder and uses the top-level ones in place.
BUNDLED_RESOURCES_DIR = PACKAGE_DIR / "_resources"
INSTALLED = BUNDLED_RESOURCES_DIR.is_dir()
RESOURCE_DIR = BUNDLED_RESOURCES_DIR if INSTALLED else PROJECT_DIR
#: Without ACQUIS_INSTANCE_DIR: ``instance/`` in a checkout; ``<venv>/var/acquis-instance`` when installed (Flask's
#: convention for installed packages), never a folder inside site-packages.
DEFAULT_INSTANCE_DIR = Path(sys.prefix) / "var" / "acquis-instance" if INSTALLED else PROJECT_DIR / "instance"
#: The key earlier versions used by default; it is public, so it is refused outside tests and the debugger.
DEV_SECRET_KEY = "dev-only-insecure-secret-key-change-me"  # noqa: S105 - refused below
SECRET_KEY_FILE = "secret_key"  # noqa: S105 - a file name under the instance directory
SECRET_KEY_MIN_LENGTH = 32
#: Upper bound of a signed-in session, remembered or not (the issue's "remember-me <= 30 days").
MAX_SESSION_LIFETIME = timedelta(days=30)


def resource_path(name: str) -> Path:
    """Where a shipped resource folder is: ``templates``, ``translations``, ``migrations`` or ``competencies``."""
    return RESOURCE_DIR / name


def instance_dir_from_environment() -> Path:
    """The instance folder: ``ACQUIS_INSTANCE_DIR``, else the default for a checkout or an installed package."""
    return Path(os.environ.get("ACQUIS_INSTANCE_DIR") or DEFAULT_INSTANCE_DIR)


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
    instance_dir = instance_dir_from_environment()
    base_url = (os.environ.get("BASE_URL") or served_url()).rstrip("/")
    https = urlsplit(base_url).scheme == "https"
    config = {
        "ACQUIS_ENV": os.environ.get("ACQUIS_ENV", "development"),
        "SECRET_KEY": os.environ.get("SECRET_KEY") or None,  # None: generated under the instance directory
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
        # Impact survey: answers are released in batches, counts published with differential privacy
        "SURVEY_RELEASE_BATCH": max(5, _env_int("SURVEY_RELEASE_BATCH", 5)),
        "SURVEY_RELEASE_RHO": float(os.environ.get("SURVEY_RELEASE_RHO", "0.5")),
        "SURVEY_PRIVACY_BUDGET_RHO": float(os.environ.get("SURVEY_PRIVACY_BUDGET_RHO", "2.0")),
        "SURVEY_DP_DELTA": float(os.environ.get("SURVEY_DP_DELTA", "1e-6")),
        "SURVEY_COMMENT_DELAY_DAYS": _env_int("SURVEY_COMMENT_DELAY_DAYS", 30),
        "REDIS_URL": os.environ.get("REDIS_URL", ""),
        # Seconds the trainers' queue statistics of an NGO are reused (0: computed on every view); see
        # app.validation.queries.organisation_stats.
        "QUEUE_STATS_CACHE_SECONDS": _env_int("QUEUE_STATS_CACHE_SECONDS", 60),
        "CHROMIUM_PATH": os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"),
        # Document signatures: an RFC 3161 timestamp authority (PAdES B-T), and the key that encrypts the NGOs'
        # signing keys and the root CA's key (unset: derived from SECRET_KEY).
        "TSA_URL": os.environ.get("TSA_URL", ""),
        "SIGNING_STORE_KEY": os.environ.get("SIGNING_STORE_KEY", ""),
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
        "BABEL_TRANSLATION_DIRECTORIES": str(resource_path("translations")),
        # Security policies
        "PASSWORD_MIN_LENGTH": 12,
        "PASSWORD_MIN_SCORE": 3,
        "LOGIN_FREE_FAILURES": 5,
        "LOGIN_MAX_DELAY_SECONDS": 15 * 60,
        # Failures older than this (counted from a key's last failure) are forgotten, per account and per IP.
        "LOGIN_FAILURE_WINDOW_SECONDS": _env_int("LOGIN_FAILURE_WINDOW_SECONDS", 15 * 60),
        # Number of reverse proxies in front of the app whose X-Forwarded-For/-Proto are trusted (0: none).
        "PROXY_COUNT": _env_int("PROXY_COUNT", 0),
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
    _check_secret_key(config)
    _check_session_lifetimes(config)
    if config["SECRET_KEY"] is None:
        config["SECRET_KEY"] = instance_secret_key(Path(config["INSTANCE_DIR"]))
    if config["PROXY_COUNT"] < 0:
        raise ConfigError("PROXY_COUNT must be 0 (no reverse proxy trusted) or a positive number of proxies.")
    return config


#: Addresses that mean "every interface": no one can follow a link to them, so links name the loopback address.
WILDCARD_HOSTS = {"0.0.0.0", "::", ""}  # noqa: S104 - compared with, never bound


def served_url() -> str:
    """The address ``make run`` serves on (``HOST``, ``PORT``; 127.0.0.1:5000 by default): ``BASE_URL`` when it
    is not set, so links in e-mails, documents and QR codes point where the development server listens."""
    host = os.environ.get("HOST", "127.0.0.1").strip()
    host = "127.0.0.1" if host in WILDCARD_HOSTS else host
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 address
    port = os.environ.get("PORT", "").strip() or "5000"
    return f"http://{host}:{port}"


def _check_production_safety(config: dict) -> None:
    if config["ACQUIS_ENV"] != "production":
        return
    if not config["SECRET_KEY"]:
        raise ConfigError("SECRET_KEY must be set to a random value of at least 32 characters in production.")
    if not config["BASE_URL"].startswith("https://"):
        raise ConfigError("BASE_URL must use https in production.")


def _check_secret_key(config: dict) -> None:
    """Refuse a published or short key, except in tests and under the debugger (never in production)."""
    key = config["SECRET_KEY"]
    exempt = config.get("TESTING") or config.get("DEBUG") or _env_bool("FLASK_DEBUG")
    if key is None or (exempt and config["ACQUIS_ENV"] != "production"):
        return
    if key == DEV_SECRET_KEY or len(key) < SECRET_KEY_MIN_LENGTH:
        raise ConfigError(
            f"SECRET_KEY must be a random value of at least {SECRET_KEY_MIN_LENGTH} characters "
            "(leave it unset to use a key generated under the instance directory)."
        )


def _check_session_lifetimes(config: dict) -> None:
    for name in ("REMEMBER_COOKIE_DURATION", "PERMANENT_SESSION_LIFETIME"):
        if config[name] > MAX_SESSION_LIFETIME:
            raise ConfigError(f"{name} may not exceed {MAX_SESSION_LIFETIME.days} days.")


def instance_secret_key(instance_dir: Path) -> str:
    """The key in ``<instance_dir>/secret_key``, created (random, mode 0600) on first use.

    Several processes may start at once: the file is created exclusively, and the losers read the winner's key.
    """
    path = instance_dir / SECRET_KEY_FILE
    instance_dir.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48) + "\n")
    if path.stat().st_mode & 0o077:
        raise ConfigError(f"{path} must be readable by its owner only (chmod 600 {path}).")
    for _attempt in range(50):  # another process may still be writing it
        key = path.read_text().strip()
        if key:
            break
        time.sleep(0.02)
    if len(key) < SECRET_KEY_MIN_LENGTH:
        raise ConfigError(f"{path} holds no usable key: delete it to have a new one generated.")
    return key
