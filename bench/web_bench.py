"""Requests per second of the main pages against a hello-world Flask app, both on the same gunicorn (4 workers)
and the same PostgreSQL database (issue 14's goal: the 200-claim portfolio at >= 1/20 of hello-world).

Uses the database ``bench/scale.py`` built (``--database``; run it first, ``--scale 0.05`` is enough): the
portfolio measured is the 300-claim one of the heaviest NGO (heavier than the goal's 200). For each target,
``--clients`` client threads request it as fast as they can for ``--seconds`` seconds (a new connection each
time: gunicorn's sync workers close them), after a warm-up; prints requests/s and the ratio to hello-world.

    .venv/bin/python bench/web_bench.py --seconds 15
"""

from __future__ import annotations

import argparse
import http.client
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from pathlib import Path

from flask import Flask

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

HOST = "127.0.0.1"
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')

#: The hello-world app gunicorn serves as the reference (``bench.web_bench:hello``).
hello = Flask("hello")


@hello.get("/")
def _hello():
    return "Hello, world!"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="postgresql+psycopg:///acquis_perf_scale")
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--port", type=int, default=5391)
    return parser.parse_args(argv)


def start(target: str, port: int, workers: int, environment: dict) -> subprocess.Popen:
    command = [sys.executable, "-m", "gunicorn", "--workers", str(workers), "--bind", f"{HOST}:{port}"]
    command += ["--log-level", "warning", "--timeout", "120", target]
    server = subprocess.Popen(command, cwd=PROJECT, env=environment)  # noqa: S603 - our own command line
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection(HOST, port, timeout=2)
            connection.request("GET", "/")
            connection.getresponse().read()
            return server
        except OSError:
            time.sleep(0.3)
    server.terminate()
    raise SystemExit(f"{target} did not answer within 60 s")


def stop(server: subprocess.Popen) -> None:
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()


def get(port: int, path: str, cookie: str = "") -> tuple[int, bytes, dict]:
    connection = http.client.HTTPConnection(HOST, port, timeout=60)
    connection.request("GET", path, headers={"Cookie": cookie} if cookie else {})
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response.status, body, dict(response.getheaders())


def sign_in(port: int, email: str, password: str) -> str:
    """The session cookie of ``email`` after the real login form."""
    connection = http.client.HTTPConnection(HOST, port, timeout=60)
    connection.request("GET", "/auth/login")
    response = connection.getresponse()
    page = response.read().decode()
    cookie = response.getheader("Set-Cookie", "").split(";", 1)[0]
    form = urllib.parse.urlencode({"email": email, "password": password, "csrf_token": CSRF.search(page).group(1)})
    connection = http.client.HTTPConnection(HOST, port, timeout=60)
    connection.request(
        "POST",
        "/auth/login",
        body=form,
        headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie},
    )
    response = connection.getresponse()
    response.read()
    if response.status != 302:
        raise SystemExit(f"cannot sign in as {email} ({response.status})")
    return response.getheader("Set-Cookie", "").split(";", 1)[0]


def server_cpu(server: subprocess.Popen) -> float:
    """CPU seconds (user + system) used so far by the gunicorn master and its workers (from /proc): on a shared
    machine the requests per second depend on the other tenants, the CPU per request does not."""
    ticks = os.sysconf("SC_CLK_TCK")
    pids = [server.pid]
    try:
        with open(f"/proc/{server.pid}/task/{server.pid}/children") as children:
            pids += [int(pid) for pid in children.read().split()]
    except OSError:
        return 0.0
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of proc(5))
    return total / ticks


def throughput(
    port: int, path: str, cookie: str, seconds: float, clients: int, server: subprocess.Popen | None = None
) -> tuple[float, int, float]:
    """Requests per second over ``seconds`` with ``clients`` closed-loop clients, the non-200 answers and the
    server's CPU milliseconds per request."""
    for _ in range(16):
        get(port, path, cookie)  # warm-up: enough for every worker to compile its templates and fill its caches
    cpu_started = server_cpu(server) if server else 0.0
    done, errors = [0] * clients, [0] * clients
    deadline = time.monotonic() + seconds

    def client(index):
        while time.monotonic() < deadline:
            status, _body, _headers = get(port, path, cookie)
            done[index] += 1
            errors[index] += status != 200

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    cpu = (server_cpu(server) - cpu_started) if server else 0.0
    return sum(done) / elapsed, sum(errors), 1000 * cpu / max(1, sum(done))


def main(argv=None) -> int:
    args = parse_args(argv)
    from bench import scale

    environment = {
        **os.environ,
        "ACQUIS_ENV": "development",
        "DATABASE_URL": args.database,
        "ACQUIS_INSTANCE_DIR": tempfile.mkdtemp(prefix="acquis-webbench-"),
        "SECRET_KEY": secrets.token_urlsafe(48),
        "RATELIMIT_ENABLED": "0",
        "REDIS_URL": "",
        "MAIL_SERVER": "",
        "DOCUMENT_RENDER_MODE": "thread",
    }
    os.environ.update(environment)
    app = scale.make_app(args.database)
    people = scale.prepare_people(app, None)
    results = []
    server = start("bench.web_bench:hello", args.port, args.workers, environment)
    try:
        results.append(("hello world", *throughput(args.port, "/", "", args.seconds, args.clients, server)))
    finally:
        stop(server)
    server = start("wsgi:app", args.port, args.workers, environment)
    try:
        cookies = {who: sign_in(args.port, people[who], scale.PASSWORD) for who in ("big_volunteer", "trainer")}
        for label, who, path in (
            ("portfolio, 300 claims", "big_volunteer", "/portfolio/"),
            ("volunteer home", "big_volunteer", "/"),
            ("documents page", "big_volunteer", "/documents/"),
            ("trainer queue, heaviest NGO", "trainer", "/validation/reviews?state=pending"),
        ):
            results.append((label, *throughput(args.port, path, cookies[who], args.seconds, args.clients, server)))
    finally:
        stop(server)
    reference = results[0][1]
    print(f"gunicorn {args.workers} workers, {args.clients} clients, {args.seconds:.0f} s per page")
    print(f"  load average: {' '.join(f'{value:.2f}' for value in os.getloadavg())} on {os.cpu_count()} cores")
    print(f"  {'page':<30}{'req/s':>9}{'vs hello':>10}{'errors':>8}{'CPU ms':>9}{'vs hello':>10}")
    hello_cpu = results[0][3]
    for label, rate, errors, cpu in results:
        print(
            f"  {label:<30}{rate:9.1f}{f'1/{reference / rate:.0f}' if rate else '-':>10}{errors:>8}{cpu:9.2f}"
            f"{f'{cpu / hello_cpu:.0f}x' if hello_cpu else '-':>10}"
        )
    portfolio = results[1][1]
    goal = "met" if portfolio * 20 >= reference else "NOT met"
    print(f"portfolio >= 1/20 of hello-world: {goal}")
    print("  (CPU ms: the server's CPU per request, gunicorn master and workers; independent of the other tenants")
    print("   of a shared machine, unlike req/s: the goal in CPU is the portfolio at <= 20x hello-world's CPU)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
