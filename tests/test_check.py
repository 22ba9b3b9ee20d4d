"""``flask check``: a sound production configuration passes; each misconfiguration is reported, alone, by name."""

from __future__ import annotations

import os
import secrets
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.checks import configuration_problems
from tests.e2e.helpers import free_port


@pytest.fixture(scope="module")
def smtp_relay():
    """A real SMTP server on 127.0.0.1 (plain, no STARTTLS, no login): (host, port)."""
    from aiosmtpd.controller import Controller
    from aiosmtpd.handlers import Sink

    controller = Controller(Sink(), hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller.hostname, controller.port
    controller.stop()


def _key_and_certificate(folder: Path, name: str, passphrase: bytes | None = None) -> tuple[Path, Path]:
    """A PEM key (encrypted with ``passphrase`` if given) and its self-signed certificate, written in ``folder``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    encryption = serialization.BestAvailableEncryption(passphrase) if passphrase else serialization.NoEncryption()
    key_path, cert_path = folder / f"{name}.key", folder / f"{name}.crt"
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption))
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    return key_path, cert_path


@pytest.fixture
def production(app, monkeypatch, tmp_path, smtp_relay):
    """The test app's settings turned into a sound production configuration; returns a function to change one."""
    for name in ("SIGNING_KEY_PATH", "SIGNING_CERT_PATH", "SIGNING_KEY_PASSPHRASE", "DOCUMENTS_DIR", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    key_path, cert_path = _key_and_certificate(tmp_path, "ngo", b"correct horse")
    sound = {
        "ACQUIS_ENV": "production",
        "DEBUG": False,
        "SECRET_KEY": secrets.token_urlsafe(48),
        "BASE_URL": "https://acquis.example.org",
        "MAIL_SERVER": smtp_relay[0],
        "MAIL_PORT": smtp_relay[1],
        "MAIL_USE_TLS": False,
        "MAIL_USERNAME": "",
        "MAIL_SENDER": "Acquis <acquis@example.org>",
        "REDIS_URL": os.environ.get("TEST_REDIS_URL", ""),
        "DOCUMENT_RENDER_MODE": "",
        "SIGNING_KEY_PATH": str(key_path),
        "SIGNING_CERT_PATH": str(cert_path),
        "SIGNING_KEY_PASSPHRASE": "correct horse",
        "INSTANCE_DIR": str(tmp_path / "instance"),
        "STORAGE_DIR": str(tmp_path / "shared" / "storage"),
        "DOCUMENTS_DIR": str(tmp_path / "shared" / "documents"),
    }
    for name, value in sound.items():
        monkeypatch.setitem(app.config, name, value)

    def change(**settings):
        for name, value in settings.items():
            monkeypatch.setitem(app.config, name, value)
        return configuration_problems(app.config)

    return change


def test_a_sound_production_configuration_passes(app, production):
    assert production() == []
    runner = app.test_cli_runner()
    result = runner.invoke(args=["check"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "configuration ok"


def _a_file(tmp_path: Path) -> str:
    path = tmp_path / "a-file"
    path.write_text("not a folder")
    return str(path)


def _empty_sqlite(tmp_path: Path) -> str:
    path = tmp_path / "empty.sqlite"
    sqlite3.connect(path).close()
    return f"sqlite:///{path}"


def _old_sqlite(tmp_path: Path) -> str:
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE alembic_version (version_num VARCHAR(32) PRIMARY KEY)")
        connection.execute("INSERT INTO alembic_version VALUES ('2f8d27027c8f')")
    return f"sqlite:///{path}"


MISCONFIGURATIONS = {
    "development-mode": (lambda tmp: {"ACQUIS_ENV": "development"}, "ACQUIS_ENV is not 'production'"),
    "debugger": (lambda tmp: {"DEBUG": True}, "The debugger is on"),
    "short-secret-key": (lambda tmp: {"SECRET_KEY": "too-short"}, "SECRET_KEY must be a random value"),
    "http-base-url": (lambda tmp: {"BASE_URL": "http://acquis.example.org"}, "BASE_URL must be the public https"),
    "local-base-url": (lambda tmp: {"BASE_URL": "https://127.0.0.1:8443"}, "BASE_URL names this machine"),
    "no-mail-server": (lambda tmp: {"MAIL_SERVER": ""}, "MAIL_SERVER is not set"),
    "mail-server-down": (lambda tmp: {"MAIL_PORT": free_port()}, "does not accept us"),
    "mail-starttls-refused": (lambda tmp: {"MAIL_USE_TLS": True}, "does not accept us"),
    "development-sender": (
        lambda tmp: {"MAIL_SENDER": "Acquis <no-reply@acquis.localhost>"},
        "MAIL_SENDER is the development address",
    ),
    "redis-down": (lambda tmp: {"REDIS_URL": f"redis://127.0.0.1:{free_port()}/1"}, "REDIS_URL does not answer"),
    "queue-without-redis": (
        lambda tmp: {"REDIS_URL": "", "DOCUMENT_RENDER_MODE": "rq"},
        "DOCUMENT_RENDER_MODE is 'rq' but REDIS_URL is not set",
    ),
    "signing-cert-missing": (lambda tmp: {"SIGNING_CERT_PATH": ""}, "Set both SIGNING_KEY_PATH and SIGNING_CERT_PATH"),
    "signing-key-unreadable": (
        lambda tmp: {"SIGNING_KEY_PATH": str(tmp / "missing.key")},
        "cannot be read as a PEM private key",
    ),
    "signing-wrong-passphrase": (
        lambda tmp: {"SIGNING_KEY_PASSPHRASE": "wrong"},
        "cannot be read as a PEM private key",
    ),
    "signing-cert-of-another-key": (
        lambda tmp: {"SIGNING_CERT_PATH": str(_key_and_certificate(tmp, "other")[1])},
        "is not the certificate of the key",
    ),
    "signing-cert-unreadable": (
        lambda tmp: {"SIGNING_CERT_PATH": _a_file(tmp)},
        "cannot be read as a PEM certificate",
    ),
    "instance-not-a-folder": (lambda tmp: {"INSTANCE_DIR": _a_file(tmp)}, "ACQUIS_INSTANCE_DIR"),
    "storage-not-a-folder": (lambda tmp: {"STORAGE_DIR": _a_file(tmp)}, "STORAGE_DIR"),
    "documents-under-a-file": (lambda tmp: {"DOCUMENTS_DIR": _a_file(tmp) + "/documents"}, "DOCUMENTS_DIR"),
    "database-unreachable": (
        lambda tmp: {"SQLALCHEMY_DATABASE_URI": f"postgresql+psycopg://acquis:s3cret@127.0.0.1:{free_port()}/acquis"},
        "The database (postgresql+psycopg://acquis:***@127.0.0.1",
    ),
    "sqlite-file-missing": (
        lambda tmp: {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp / 'nowhere.sqlite'}"},
        "does not exist: run `acquis db upgrade`",
    ),
    "database-not-migrated": (
        lambda tmp: {"SQLALCHEMY_DATABASE_URI": _empty_sqlite(tmp)},
        "The database is at migration none",
    ),
    "database-behind": (
        lambda tmp: {"SQLALCHEMY_DATABASE_URI": _old_sqlite(tmp)},
        "The database is at migration 2f8d27027c8f",
    ),
}


@pytest.mark.parametrize("case", MISCONFIGURATIONS)
def test_each_misconfiguration_is_reported_alone(production, tmp_path, case):
    settings, expected = MISCONFIGURATIONS[case]
    problems = production(**settings(tmp_path))
    assert len(problems) == 1, problems
    assert expected in problems[0]
    assert "s3cret" not in problems[0]


def test_a_generated_secret_key_is_reported(production, tmp_path):
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "secret_key").write_text("generated-" + "k" * 40 + "\n")
    problems = production(SECRET_KEY="generated-" + "k" * 40)
    assert len(problems) == 1, problems
    assert problems[0].startswith("SECRET_KEY is not set: this process uses the key generated in")


def test_the_command_prints_problems_and_fails(app, production):
    production(BASE_URL="http://acquis.example.org", MAIL_SERVER="")
    result = app.test_cli_runner().invoke(args=["check"])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 2
    assert all(line.startswith("problem: ") for line in lines)
    assert "configuration ok" not in result.output


def test_a_refused_configuration_is_one_line_from_the_acquis_command(tmp_path):
    env = {key: value for key, value in os.environ.items() if key not in ("SECRET_KEY", "FLASK_APP")}
    env.update(ACQUIS_ENV="production", ACQUIS_INSTANCE_DIR=str(tmp_path))
    completed = subprocess.run(
        [str(Path(sys.executable).parent / "acquis"), "check"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 1
    assert completed.stderr.strip() == (
        "configuration error: SECRET_KEY must be set to a random value of at least 32 characters in production."
    )
