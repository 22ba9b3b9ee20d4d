"""deploy/: the env file, the systemd units, the nginx site and the compose file, checked by the tools that read them.

nginx -t and systemd-analyze verify run where the tools are installed (CI installs nginx: without it there these tests
fail instead of skipping); the compose file is validated against the Compose Specification's JSON Schema, vendored
under tests/deploy/ (this machine has no `docker compose`).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from dotenv import dotenv_values
from jsonschema import Draft7Validator

from app.config import ConfigError, load_config

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
ENV_EXAMPLE = DEPLOY / "acquis.env.example"
UNITS = sorted((DEPLOY / "systemd").glob("*.service"))
NGINX_SITE = DEPLOY / "nginx" / "acquis.conf"
COMPOSE = DEPLOY / "compose.yaml"


def _tool(name: str) -> str:
    """The path of ``name``; skipped with a reason when absent, except in CI (which installs it)."""
    path = shutil.which(name) or next(
        (str(p) for p in (Path("/usr/sbin") / name, Path("/sbin") / name) if p.exists()), None
    )
    if path is None:
        if os.environ.get("CI"):
            pytest.fail(f"{name} is not installed: .ci/run must install it")
        pytest.skip(f"{name} is not installed on this machine")
    return path


# --- The env file ---------------------------------------------------------------------------------------------------


def test_env_file_is_read_alike_by_systemd_compose_and_sh():
    for line in ENV_EXAMPLE.read_text().splitlines():
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        assert sep and re.fullmatch(r"[A-Z][A-Z0-9_]*", key), line
        assert not re.search(r"[\s'\"`$<>;&|\\]", value), f"{key}: quote-free, space-free values only"


def test_env_file_placeholder_key_is_refused_and_a_generated_key_is_accepted(monkeypatch, tmp_path):
    values = dotenv_values(ENV_EXAMPLE)
    for name in ("SECRET_KEY", "FLASK_DEBUG", "DATABASE_URL", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("ACQUIS_INSTANCE_DIR", str(tmp_path))
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load_config()  # a forgotten placeholder stops the service instead of signing with a published key
    monkeypatch.setenv("SECRET_KEY", secrets.token_urlsafe(48))
    config = load_config()
    assert config["ACQUIS_ENV"] == "production"
    assert config["SESSION_COOKIE_SECURE"] and config["HSTS"]
    assert config["PROXY_COUNT"] == 1
    assert config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql+psycopg://")


def test_every_setting_of_the_env_file_is_documented():
    readme = (ROOT / "README.md").read_text()
    for line in ENV_EXAMPLE.read_text().splitlines():
        match = re.match(r"#?([A-Z][A-Z0-9_]+)=", line)
        if match:
            assert f"`{match.group(1)}`" in readme, f"{match.group(1)} is missing from the README's settings table"


# --- systemd ---------------------------------------------------------------------------------------------------------


def test_systemd_units_pass_systemd_analyze_verify(tmp_path):
    analyze = _tool("systemd-analyze")
    assert {unit.name for unit in UNITS} == {"acquis-web.service", "acquis-worker.service"}
    # verify checks that ExecStart= programs exist: point the units at this venv's instead of /opt/acquis/venv.
    venv = Path(sys.executable).parent.parent
    copies = []
    for unit in UNITS:
        text = unit.read_text()
        assert "/opt/acquis/venv/bin/" in text
        copy = tmp_path / unit.name
        copy.write_text(text.replace("/opt/acquis/venv", str(venv)))
        copies.append(str(copy))
    completed = subprocess.run(
        [analyze, "verify", "--man=no", *copies], capture_output=True, text=True, timeout=60, check=False
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stderr.strip() == "", completed.stderr  # no unknown key or section, no ignored line


def test_units_share_the_env_file_and_web_listens_only_locally():
    for unit in UNITS:
        text = unit.read_text()
        assert "EnvironmentFile=/etc/acquis/acquis.env" in text
        assert "User=acquis" in text
    web = (DEPLOY / "systemd" / "acquis-web.service").read_text()
    assert "--bind 127.0.0.1:8000" in web
    assert "server 127.0.0.1:8000;" in NGINX_SITE.read_text()


# --- nginx -----------------------------------------------------------------------------------------------------------


def _test_certificate(folder: Path) -> tuple[Path, Path]:
    from datetime import UTC, datetime, timedelta

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "acquis.example.org")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=2))
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "fullchain.pem", folder / "privkey.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def nginx_prefix(folder: Path, site: str) -> Path:
    """A self-contained nginx prefix in ``folder`` serving ``site`` with a test certificate; returns nginx.conf."""
    cert, key = _test_certificate(folder)
    site = site.replace("/etc/letsencrypt/live/acquis.example.org/fullchain.pem", str(cert))
    site = site.replace("/etc/letsencrypt/live/acquis.example.org/privkey.pem", str(key))
    (folder / "site.conf").write_text(site)
    temp_paths = " ".join(
        f"{kind}_temp_path {folder / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    conf = folder / "nginx.conf"
    conf.write_text(
        f"pid {folder / 'nginx.pid'};\nerror_log {folder / 'error.log'};\nevents {{}}\n"
        f"http {{\n  access_log {folder / 'access.log'};\n  {temp_paths}\n  include {folder / 'site.conf'};\n}}\n"
    )
    return conf


def test_nginx_site_passes_nginx_t(tmp_path):
    nginx = _tool("nginx")
    conf = nginx_prefix(tmp_path, NGINX_SITE.read_text())
    completed = subprocess.run(
        [nginx, "-t", "-p", f"{tmp_path}/", "-c", str(conf), "-e", str(tmp_path / "error.log")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert "test is successful" in completed.stderr


def test_nginx_lets_a_full_upload_through_and_overwrites_forwarded_headers():
    site = NGINX_SITE.read_text()
    limit = re.search(r"client_max_body_size (\d+)m;", site)
    assert limit, "client_max_body_size must be set in megabytes"
    config = load_config({"TESTING": True, "SECRET_KEY": "x" * 40})
    assert int(limit.group(1)) * 1024 * 1024 == config["MAX_CONTENT_LENGTH"] > config["EVIDENCE_MAX_BYTES"]
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in site
    assert "$proxy_add_x_forwarded_for" not in site  # appending would keep what the client sent
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in site
    assert "add_header Strict-Transport-Security" not in site  # the application sends its own


# --- compose ---------------------------------------------------------------------------------------------------------


def test_compose_file_validates_against_the_compose_specification():
    schema = json.loads((ROOT / "tests" / "deploy" / "compose-spec.json").read_text())
    document = yaml.safe_load(COMPOSE.read_text())
    errors = sorted(Draft7Validator(schema).iter_errors(document), key=lambda error: list(error.path))
    assert not errors, "\n".join(f"{list(error.path)}: {error.message}" for error in errors)


def test_compose_services_depend_on_what_exists_and_share_the_data_volume():
    document = yaml.safe_load(COMPOSE.read_text())
    services = document["services"]
    assert {"db", "redis", "migrate", "web", "worker"} <= set(services)
    for name, service in services.items():
        for dependency in service.get("depends_on", {}):
            assert dependency in services, f"{name} depends on unknown {dependency}"
        for volume in service.get("volumes", []):
            assert volume.split(":")[0] in document["volumes"], f"{name}: undeclared volume {volume}"
    for name in ("web", "worker"):
        assert services[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
        assert "acquis-data:/var/lib/acquis" in services[name]["volumes"]
        assert services[name]["env_file"] == "acquis.env"
    assert services["migrate"]["command"] == ["acquis", "db", "upgrade"]
    assert services["worker"]["command"] == ["acquis", "documents", "worker"]
    assert services["web"]["ports"] == ["127.0.0.1:8000:8000"]
    assert (ROOT / "deploy" / "Dockerfile").is_file()
