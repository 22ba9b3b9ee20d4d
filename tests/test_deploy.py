"""deploy/: the env file, the systemd units, the nginx site and the compose file, checked by the tools that read them.

nginx -t and systemd-analyze verify run where the tools are installed (CI installs nginx: without it there these tests
fail instead of skipping); the compose file is validated against the Compose Specification's JSON Schema, vendored
under tests/deploy/ (this machine has no `docker compose`). Then the nginx site runs, over TLS with a test
certificate, in front of gunicorn serving this checkout in production mode: health, static files, headers, a form
posted without a Referer, one from another site, and the upload limit (about 6 s).
"""

from __future__ import annotations

import http.client
import json
import os
import re
import secrets
import shutil
import ssl
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import pytest
import yaml
from dotenv import dotenv_values
from jsonschema import Draft7Validator

from app.config import ConfigError, load_config
from tests.e2e.helpers import free_port, make_test_certificate

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
ENV_EXAMPLE = DEPLOY / "acquis.env.example"
UNITS = sorted((DEPLOY / "systemd").glob("*.service"))
TIMERS = sorted((DEPLOY / "systemd").glob("*.timer"))
NGINX_SITE = DEPLOY / "nginx" / "acquis.conf"
COMPOSE = DEPLOY / "compose.yaml"


def _tool(name: str, *, installed_by_ci: bool = True) -> str:
    """The path of ``name``; skipped with a reason when absent, except in CI when .ci/run installs it."""
    path = shutil.which(name) or next(
        (str(p) for p in (Path("/usr/sbin") / name, Path("/sbin") / name) if p.exists()), None
    )
    if path is None:
        if installed_by_ci and os.environ.get("CI"):
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
    analyze = _tool("systemd-analyze", installed_by_ci=False)  # comes with systemd, where there is one
    assert {unit.name for unit in UNITS} == {
        "acquis-web.service",
        "acquis-worker.service",
        "acquis-survey-release.service",
        "acquis-vae-remind.service",
    }
    # Each periodic command has its timer, next to the oneshot service it starts.
    assert {timer.stem for timer in TIMERS} == {"acquis-survey-release", "acquis-vae-remind"}
    # verify checks that ExecStart= programs exist: point the units at this venv's instead of /opt/acquis/venv.
    venv = Path(sys.executable).parent.parent
    copies = []
    for unit in [*UNITS, *TIMERS]:
        text = unit.read_text()
        assert unit.suffix == ".timer" or "/opt/acquis/venv/bin/" in text
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


def nginx_prefix(folder: Path, site: str) -> Path:
    """A self-contained nginx prefix in ``folder`` serving ``site`` with a test certificate; returns nginx.conf."""
    cert, key = make_test_certificate(folder)
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


# --- nginx in front of gunicorn, over TLS ----------------------------------------------------------------------------


def _https(port: int, method: str, path: str, *, headers: dict | None = None, body: bytes | str | None = None):
    """One request to nginx on 127.0.0.1:``port`` for acquis.example.org (test certificate): (status, headers, body)."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the test certificate
    connection = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=30)
    try:
        connection.request(method, path, body=body, headers={"Host": "acquis.example.org", **(headers or {})})
        response = connection.getresponse()
        return response.status, response.headers, response.read().decode(errors="replace")
    finally:
        connection.close()


def _healthy(port: int) -> None:
    """Raises OSError until /healthz answers 200 through nginx (502 while gunicorn is not up yet)."""
    status, _headers, _body = _https(port, "GET", "/healthz")
    if status != 200:
        raise ConnectionError(status)


def _wait_until_up(url_check, process: subprocess.Popen, what: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            url_check()
            return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"{what} did not start (exit status {process.poll()})")
            time.sleep(0.2)


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """gunicorn (this checkout, production settings, migrated SQLite) behind nginx with deploy/nginx/acquis.conf."""
    nginx = _tool("nginx")
    folder = tmp_path_factory.mktemp("stack")
    app_port, tls_port, http_port = free_port(), free_port(), free_port()
    env = {key: value for key, value in os.environ.items() if key not in ("DATABASE_URL", "REDIS_URL", "FLASK_APP")}
    env.update(
        ACQUIS_ENV="production",
        SECRET_KEY=secrets.token_urlsafe(48),
        # Not the address the requests use: a form is accepted only if the app sees https and the Host from nginx.
        BASE_URL="https://canonical.example.org",
        PROXY_COUNT="1",
        ACQUIS_INSTANCE_DIR=str(folder / "instance"),
    )
    bin_dir = Path(sys.executable).parent
    subprocess.run(
        [str(bin_dir / "flask"), "--app", "app", "db", "upgrade"], cwd=folder, env=env, check=True, capture_output=True
    )
    site = NGINX_SITE.read_text()
    site = site.replace("server 127.0.0.1:8000;", f"server 127.0.0.1:{app_port};")
    site = site.replace("listen 443 ssl http2;", f"listen 127.0.0.1:{tls_port} ssl http2;")
    site = site.replace("listen 80;", f"listen 127.0.0.1:{http_port};")
    site = re.sub(r"\n\s*listen \[::\]:\d+[^;]*;", "", site)
    site = site.replace("/opt/acquis/venv/lib/python3.11/site-packages/app/static/", f"{ROOT / 'app' / 'static'}/")
    site = site.replace("/var/log/nginx/acquis.access.log", str(folder / "acquis.access.log"))
    conf = nginx_prefix(folder, site)
    if os.geteuid() == 0:  # workers would otherwise run as nobody, who cannot enter pytest's private temp folder
        conf.write_text("user root;\n" + conf.read_text())
    log = (folder / "gunicorn.log").open("w")
    processes = [
        subprocess.Popen(
            [str(bin_dir / "gunicorn"), "--bind", f"127.0.0.1:{app_port}", "--workers", "2", "app:create_app()"],
            cwd=folder,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        ),
        subprocess.Popen(
            [nginx, "-p", f"{folder}/", "-c", str(conf), "-e", str(folder / "error.log"), "-g", "daemon off;"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        ),
    ]
    try:
        for process, what in zip(processes, ("gunicorn", "nginx"), strict=True):
            _wait_until_up(lambda: _healthy(tls_port), process, what)  # gunicorn first, then nginx in front
        yield {"tls": tls_port, "http": http_port, "folder": folder}
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=30)
        log.close()


def test_stack_serves_health_static_files_and_the_apps_security_headers(stack):
    status, headers, body = _https(stack["tls"], "GET", "/healthz")
    assert (status, json.loads(body)) == (200, {"status": "ok", "database": "ok"})
    status, headers, body = _https(stack["tls"], "GET", "/static/css/acquis.css")
    assert status == 200 and body == (ROOT / "app" / "static" / "css" / "acquis.css").read_text()
    assert headers["X-Content-Type-Options"] == "nosniff"
    status, headers, _body = _https(stack["tls"], "GET", "/auth/login")
    assert status == 200
    assert headers["Strict-Transport-Security"].startswith("max-age=")
    assert len(headers.get_all("Content-Security-Policy")) == 1  # the app's, not doubled by nginx
    assert "Secure" in headers["Set-Cookie"]


def test_stack_access_log_masks_secret_links(stack):
    secret = secrets.token_urlsafe(24)
    for path in (f"/s/{secret}", f"/validation/referent/{secret}?lang=es", f"/auth/password/reset/{secret}"):
        status, _headers, _body = _https(stack["tls"], "GET", path)
        assert status == 404
    _https(stack["tls"], "GET", "/auth/login?next=/sharing/")
    log_file, last_line = stack["folder"] / "acquis.access.log", '"GET /auth/login?next=/sharing/ HTTP/1.1" 200'
    deadline = time.monotonic() + 5
    while last_line not in log_file.read_text() and time.monotonic() < deadline:
        time.sleep(0.05)  # nginx writes the line once the response is sent, maybe after the client read it
    log = log_file.read_text()
    assert secret not in log
    assert '"GET /s/[redacted] HTTP/1.1" 404' in log
    assert '"GET /validation/referent/[redacted]?lang=es HTTP/1.1" 404' in log
    assert last_line in log


def test_stack_redirects_plain_http_to_https(stack):
    connection = http.client.HTTPConnection("127.0.0.1", stack["http"], timeout=10)
    connection.request("GET", "/auth/login?next=/", headers={"Host": "acquis.example.org"})
    response = connection.getresponse()
    assert response.status == 301
    assert response.headers["Location"] == "https://acquis.example.org/auth/login?next=/"
    connection.close()


def _login_form(stack) -> tuple[str, str]:
    """The sign-in page's session cookie and CSRF token, as a browser gets them."""
    _status, headers, body = _https(stack["tls"], "GET", "/auth/login")
    cookie = headers["Set-Cookie"].split(";", 1)[0]
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', body) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', body
    )
    assert token, body
    return cookie, token.group(1)


def _post_login(stack, origin: str) -> tuple[int, str]:
    """Post the sign-in form (wrong password) as a browser on a no-referrer page would: an Origin, no Referer."""
    cookie, token = _login_form(stack)
    form = urllib.parse.urlencode({"csrf_token": token, "email": "nobody@example.org", "password": "wrong password"})
    headers = {"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded", "Origin": origin}
    status, _headers, body = _https(stack["tls"], "POST", "/auth/login", body=form, headers=headers)
    return status, body


def test_a_form_posted_through_the_proxy_is_accepted_without_a_referer(stack):
    # This origin matches only if the app sees https (X-Forwarded-Proto) and the Host that nginx passes, since
    # BASE_URL names another site.
    status, body = _post_login(stack, "https://acquis.example.org")
    assert status == 401, body  # the form was taken: the sign-in page again, "wrong e-mail or password"
    assert 'id="password-error"' in body


def test_a_form_from_another_site_is_refused_and_logged(stack):
    status, _body = _post_login(stack, "https://evil.example")
    assert status == 400
    log = (stack["folder"] / "gunicorn.log").read_text()
    assert "CSRF check refused POST /auth/login: the Origin header names another site" in log


def test_stack_takes_a_full_evidence_upload_and_stops_a_larger_body_at_nginx(stack):
    # /verify takes a PDF upload without a session (CSRF-exempt): what matters is who answers.
    boundary = "acquisboundary"

    def multipart(size: int) -> bytes:
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.pdf"\r\n'
            "Content-Type: application/pdf\r\n\r\n"
        ).encode()
        return head + b"%PDF-1.7\n" + b"0" * size + f"\r\n--{boundary}--\r\n".encode()

    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    status, _headers, body = _https(stack["tls"], "POST", "/verify", body=multipart(10 * 1024 * 1024), headers=headers)
    assert status != 413, body  # 10 MB and the form around it reach the application
    assert "<center>nginx</center>" not in body
    status, _headers, body = _https(stack["tls"], "POST", "/verify", body=multipart(13 * 1024 * 1024), headers=headers)
    assert status == 413
    assert "<center>nginx</center>" in body  # refused by nginx before gunicorn reads it
