"""``flask check`` (or ``acquis check``): is this a sound production configuration?

Each check returns the problems it finds, as sentences naming the setting and what to do. The command prints them
and exits with status 1 when there is any, so it can gate a deployment script or a container's start. It reads the
settings of the process it runs in: run it with the environment the web and worker processes get (the env file of
deploy/), as the user they run as, since the folders must be writable by that user.

Settings that make the application refuse to start (``ACQUIS_ENV=production`` without ``SECRET_KEY``, a short key…)
never reach these checks: the ``acquis`` command prints that refusal as a one-line error instead (app/cli.py).
"""

from __future__ import annotations

import smtplib
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import click
import sqlalchemy as sa
from flask import current_app

from app.config import DEV_SECRET_KEY, SECRET_KEY_FILE, SECRET_KEY_MIN_LENGTH, resource_path
from app.core.db import write_intent
from app.documents.files import documents_dir
from app.documents.operations import render_mode
from app.printing.sandbox import setting

#: Seconds to wait for the SMTP relay, Redis and the database before calling them unreachable.
NETWORK_TIMEOUT = 10
#: Host names that only this machine can reach: links built on them are dead in every e-mail and document.
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "0.0.0.0"}  # noqa: S104 - compared, never bound


def check_secret_key(config) -> Iterator[str]:
    """An explicit, long, unpublished ``SECRET_KEY`` that every machine can share."""
    key = config["SECRET_KEY"] or ""
    key_file = Path(config["INSTANCE_DIR"]) / SECRET_KEY_FILE
    if key_file.is_file() and key_file.read_text().strip() == key:
        yield (
            f"SECRET_KEY is not set: this process uses the key generated in {key_file}, which other machines and "
            "containers do not have. Generate one once and put it in the env file shared by web, worker and CLI."
        )
    elif key == DEV_SECRET_KEY or len(key) < SECRET_KEY_MIN_LENGTH:
        yield f"SECRET_KEY must be a random value of at least {SECRET_KEY_MIN_LENGTH} characters."


def check_environment(config) -> Iterator[str]:
    """Production mode, and no debugger."""
    if config["ACQUIS_ENV"] != "production":
        yield "ACQUIS_ENV is not 'production': set ACQUIS_ENV=production in the env file."
    if config.get("DEBUG"):
        yield "The debugger is on (FLASK_DEBUG): never in production, it runs code sent by anyone."


def check_base_url(config) -> Iterator[str]:
    """An https address that people can reach."""
    parts = urlsplit(config["BASE_URL"])
    if parts.scheme != "https":
        yield f"BASE_URL must be the public https address (it is {config['BASE_URL']})."
    if (parts.hostname or "") in LOCAL_HOSTS:
        yield f"BASE_URL names this machine ({parts.hostname}): links in e-mails and documents would not work."


def check_mail(config) -> Iterator[str]:
    """A reachable SMTP relay (with the configured STARTTLS and login) and a real sender address."""
    if not config.get("MAIL_SERVER"):
        yield (
            "MAIL_SERVER is not set: e-mails are only written to the instance's mail/ folder, so nobody receives "
            "invitations, password resets or referent requests."
        )
        return
    if config.get("MAIL_SENDER", "").rstrip(">").endswith(".localhost"):
        yield "MAIL_SENDER is the development address: set a From address of your domain."
    try:
        with smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=NETWORK_TIMEOUT) as smtp:
            smtp.ehlo()
            if config.get("MAIL_USE_TLS"):
                smtp.starttls()
                smtp.ehlo()
            if config.get("MAIL_USERNAME"):
                smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD", ""))
    except (OSError, smtplib.SMTPException) as exc:
        yield f"The SMTP relay {config['MAIL_SERVER']}:{config['MAIL_PORT']} does not accept us: {exc}."


def check_redis(config) -> Iterator[str]:
    """Redis answers when set; the render queue is not asked for without it."""
    url = config.get("REDIS_URL")
    if not url:
        if render_mode() == "rq":
            yield "DOCUMENT_RENDER_MODE is 'rq' but REDIS_URL is not set: documents would never be rendered."
        return
    from redis import Redis  # optional dependency
    from redis.exceptions import RedisError  # optional dependency

    try:
        Redis.from_url(url, socket_timeout=NETWORK_TIMEOUT, socket_connect_timeout=NETWORK_TIMEOUT).ping()
    except RedisError as exc:
        yield f"REDIS_URL does not answer ({_without_password(url)}): {exc}."


def check_signing_key(config) -> Iterator[str]:
    """The configured key and certificate load and belong together (the instance key is created on first use)."""
    key_path = setting(config, "SIGNING_KEY_PATH")
    cert_path = setting(config, "SIGNING_CERT_PATH")
    if not key_path and not cert_path:
        return
    if not (key_path and cert_path):
        yield "Set both SIGNING_KEY_PATH and SIGNING_CERT_PATH, or neither (the instance's own key)."
        return
    from cryptography import x509  # optional dependency
    from cryptography.hazmat.primitives import serialization  # optional dependency

    passphrase = setting(config, "SIGNING_KEY_PASSPHRASE")
    try:
        key = serialization.load_pem_private_key(
            Path(key_path).read_bytes(), password=passphrase.encode() if passphrase else None
        )
    except (OSError, ValueError, TypeError) as exc:
        yield f"SIGNING_KEY_PATH {key_path} cannot be read as a PEM private key (check SIGNING_KEY_PASSPHRASE): {exc}"
        return
    try:
        certificate = x509.load_pem_x509_certificate(Path(cert_path).read_bytes())
    except (OSError, ValueError) as exc:
        yield f"SIGNING_CERT_PATH {cert_path} cannot be read as a PEM certificate: {exc}"
        return
    if certificate.public_key().public_numbers() != key.public_key().public_numbers():
        yield "SIGNING_CERT_PATH is not the certificate of the key in SIGNING_KEY_PATH."


def check_folders(config) -> Iterator[str]:
    """The instance, evidence storage and documents folders exist (or can be created) and take new files."""
    folders = {
        "ACQUIS_INSTANCE_DIR": Path(config["INSTANCE_DIR"]),
        "STORAGE_DIR": Path(config["STORAGE_DIR"]),
        "DOCUMENTS_DIR": documents_dir(),
    }
    for name, folder in folders.items():
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryFile(dir=folder):
                pass
        except OSError as exc:
            yield f"{name} {folder} is not a folder this user can write to: {exc.strerror or exc}."


def check_database(config) -> Iterator[str]:
    """The database answers and carries every migration of this version."""
    from alembic.runtime.migration import MigrationContext  # optional dependency
    from alembic.script import ScriptDirectory  # optional dependency

    url = config["SQLALCHEMY_DATABASE_URI"]
    connect_args = {"connect_timeout": NETWORK_TIMEOUT} if url.startswith("postgresql") else {}
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).is_file():
        yield f"The SQLite database {url.removeprefix('sqlite:///')} does not exist: run `acquis db upgrade`."
        return
    engine = sa.create_engine(url, connect_args=connect_args)
    try:
        # Only reads: begin as a SQLite reader, so a running app holding the write lock never blocks the check.
        with write_intent(False), engine.connect() as connection:
            current = set(MigrationContext.configure(connection).get_current_heads())
    except sa.exc.SQLAlchemyError as exc:
        yield f"The database ({_without_password(url)}) cannot be reached: {getattr(exc, 'orig', None) or exc}"
        return
    finally:
        engine.dispose()
    expected = set(ScriptDirectory(str(resource_path("migrations"))).get_heads())
    if current != expected:
        yield (
            f"The database is at migration {', '.join(sorted(current)) or 'none'}, this version needs "
            f"{', '.join(sorted(expected))}: run `acquis db upgrade` (before restarting web and workers)."
        )


CHECKS: tuple[Callable, ...] = (
    check_environment,
    check_secret_key,
    check_base_url,
    check_mail,
    check_redis,
    check_signing_key,
    check_folders,
    check_database,
)


def configuration_problems(config) -> list[str]:
    """Every problem that the checks find in ``config`` (inside an app context)."""
    return [problem for check in CHECKS for problem in check(config)]


def _without_password(url: str) -> str:
    return sa.engine.make_url(url).render_as_string(hide_password=True) if "://" in url else url


@click.command("check")
def check_command():
    """Check the production configuration: secret key, https BASE_URL, mail, Redis, signing key, folders and
    database. Prints what is wrong and exits with status 1, or prints "configuration ok"."""
    problems = configuration_problems(current_app.config)
    for problem in problems:
        click.echo(f"problem: {problem}", err=True)
    if problems:
        raise SystemExit(1)
    click.echo("configuration ok")
