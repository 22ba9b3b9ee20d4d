"""The wheel installs anywhere: built with ``python -m build``, installed in a fresh venv outside the checkout, it
migrates an SQLite database and serves ``/healthz``, pages in every language and its static files.

About 25 s on the 2-core machine (build 2 s, ``pip install`` of the wheel and its dependencies ~20 s from pip's
cache and local indexes, migrations and server start ~3 s).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.e2e.helpers import free_port

ROOT = Path(__file__).resolve().parent.parent
#: Settings of the developer's shell or CI that must not leak into the installed copy.
LEAKY_VARIABLES = ("DATABASE_URL", "SECRET_KEY", "FLASK_APP", "PYTHONPATH", "ACQUIS_ENV", "BASE_URL", "REDIS_URL")


def _run(command: list, *, cwd: Path, env: dict | None = None, timeout: int = 300) -> str:
    completed = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    assert completed.returncode == 0, f"{command} failed:\n{completed.stdout[-3000:]}\n{completed.stderr[-3000:]}"
    return completed.stdout


def _get(url: str, headers: dict | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, response.read().decode()


def _wait_for(url: str, server: subprocess.Popen, seconds: float = 90) -> tuple[int, str]:
    deadline = time.monotonic() + seconds
    while True:
        try:
            return _get(url)
        # A loaded machine may accept the connection before the first request is answered: a timeout is "not yet".
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            if server.poll() is not None or time.monotonic() > deadline:
                output = server.stdout.read() if server.stdout else ""
                pytest.fail(f"the installed server did not answer {url}:\n{output[-3000:]}")
            time.sleep(0.3)


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A venv outside the checkout with the freshly built wheel installed; returns (venv, workdir, environment)."""
    if importlib.util.find_spec("build") is None:
        pytest.skip("the 'build' package is not installed (pip install -e '.[dev]')")
    base = tmp_path_factory.mktemp("wheel")
    assert not base.is_relative_to(ROOT)
    dist = base / "dist"
    _run([sys.executable, "-m", "build", "--no-isolation", "--outdir", str(dist), str(ROOT)], cwd=base)
    wheel = next(dist.glob("acquis-*.whl"))
    venv = base / "venv"
    _run([sys.executable, "-m", "venv", str(venv)], cwd=base)
    _run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", str(wheel)], cwd=base, timeout=600)
    workdir = base / "elsewhere"  # no wsgi.py, .flaskenv or .env here
    workdir.mkdir()
    env = {key: value for key, value in os.environ.items() if key not in LEAKY_VARIABLES}
    env.update(ACQUIS_INSTANCE_DIR=str(base / "instance"), RATELIMIT_ENABLED="0")
    return venv, workdir, env


def test_the_installed_package_is_not_the_checkout(installed):
    venv, workdir, env = installed
    location = _run([str(venv / "bin" / "python"), "-c", "import app; print(app.__file__)"], cwd=workdir, env=env)
    assert Path(location.strip()).is_relative_to(venv)
    bundled = venv / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages" / "app"
    for resource in (
        "_resources/templates/base.html",
        "_resources/translations/fr/LC_MESSAGES/messages.mo",
        "_resources/translations/es/LC_MESSAGES/messages.mo",
        "_resources/migrations/env.py",
        "_resources/competencies/schema/framework.schema.json",
        "static/css/acquis.css",
        "static/pdf/document.css",
        "survey/data/impact-v2.yaml",
    ):
        assert (bundled / resource).is_file(), resource


def test_installed_wheel_migrates_and_serves_healthz(installed):
    venv, workdir, env = installed
    _run([str(venv / "bin" / "acquis"), "db", "upgrade"], cwd=workdir, env=env)
    # `flask` works too, pointed at the package instead of a wsgi.py; the shipped frameworks import by default.
    imported = _run([str(venv / "bin" / "flask"), "--app", "app", "frameworks", "import"], cwd=workdir, env=env)
    assert "solidarite-internationale" in imported
    assert (Path(env["ACQUIS_INSTANCE_DIR"]) / "acquis.sqlite").is_file()

    port = free_port()
    server = subprocess.Popen(
        [str(venv / "bin" / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", "1", "app:create_app()"],
        cwd=workdir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        status, body = _wait_for(f"http://127.0.0.1:{port}/healthz", server)
        assert status == 200
        assert json.loads(body) == {"status": "ok", "database": "ok"}
        # Compiled catalogs and templates from the wheel: the sign-in page in Spanish.
        status, page = _get(f"http://127.0.0.1:{port}/auth/login", {"Accept-Language": "es"})
        assert status == 200 and "Iniciar sesión" in page
        status, css = _get(f"http://127.0.0.1:{port}/static/css/acquis.css")
        assert status == 200 and css.strip()
    finally:
        server.terminate()
        server.wait(timeout=20)
