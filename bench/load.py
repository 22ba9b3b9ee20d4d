"""Load test: volunteers, trainers and advisers on gunicorn + PostgreSQL, with documents rendered in the background.

1. Creates a PostgreSQL database of its own (``--database``, dropped afterwards unless ``--keep``), migrates it and
   seeds an NGO with volunteers (a mission with claims submitted for review), trainers and advisers (each with
   portfolios shared with them).
2. Starts gunicorn on 127.0.0.1 only (``--port``), renders in background threads (``DOCUMENT_RENDER_MODE=thread``).
3. Measures capacity: closed loop, as many clients as gunicorn has threads, as fast as they go
   (``--probe-seconds``).
4. Runs the mix open loop at ``--load`` (80 %) of that capacity, capped by ``--max-rate``, for ``--duration``
   seconds (default 600), plus one print of a volunteer's portfolio every ``--print-every`` seconds.
5. Prints throughput, p50/p95/p99 per page, errors, and checks that nothing was lost: every acknowledged save is in
   the database (last title and one audit event each), every print job ended with its document.

    .venv/bin/python bench/load.py --duration 120

Bounded in time (``--duration`` ≤ 3600 s) and in rate (``--max-rate``); it talks to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import itertools
import os
import random
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

HOST = "127.0.0.1"
PASSWORD = "load-test-password-2026"  # noqa: S105 - accounts of a throw-away database
MAX_DURATION = 3600
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
#: Pages of each audience and their weight in the mix (volunteers 60 %, trainers 25 %, advisers 15 %).
MIX = [
    ("volunteer", "dashboard", 12),
    ("volunteer", "experiences", 10),
    ("volunteer", "experience", 12),
    ("volunteer", "save mission", 16),
    ("volunteer", "documents", 10),
    ("trainer", "review queue", 12),
    ("trainer", "submission", 13),
    ("adviser", "shared with me", 6),
    ("adviser", "shared portfolio", 9),
]


# --- Set-up ------------------------------------------------------------------------------------------------------


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=600, help="seconds of load at 80%% of capacity")
    parser.add_argument("--probe-seconds", type=float, default=20, help="seconds of the capacity measurement")
    parser.add_argument("--load", type=float, default=0.8, help="fraction of the measured capacity")
    parser.add_argument("--max-rate", type=float, default=200, help="requests per second, at most")
    parser.add_argument("--print-every", type=float, default=5, help="seconds between two prints (background)")
    parser.add_argument("--port", type=int, default=5290)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument("--volunteers", type=int, default=20)
    parser.add_argument("--trainers", type=int, default=4)
    parser.add_argument("--advisers", type=int, default=4)
    parser.add_argument("--database", default="postgresql+psycopg:///acquis_load", help="dropped and created")
    parser.add_argument("--keep", action="store_true", help="keep the database and instance directory")
    args = parser.parse_args(argv)
    if not 0 < args.duration <= MAX_DURATION:
        parser.error(f"--duration must be between 1 and {MAX_DURATION} seconds")
    if not 0 < args.load <= 1 or args.max_rate <= 0:
        parser.error("--load must be in (0, 1] and --max-rate positive")
    return args


def recreate_database(url: str, *, drop_only: bool = False) -> None:
    import sqlalchemy as sa

    target = sa.engine.make_url(url)
    if not target.drivername.startswith("postgresql"):
        raise SystemExit("--database must be a PostgreSQL URL")
    admin = sa.create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    quoted = admin.dialect.identifier_preparer.quote(target.database)
    with admin.connect() as connection:
        connection.execute(sa.text(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)"))
        if not drop_only:
            connection.execute(sa.text(f"CREATE DATABASE {quoted}"))
    admin.dispose()


def server_environment(args, instance: Path) -> dict[str, str]:
    return {
        **os.environ,
        "ACQUIS_ENV": "development",
        "DATABASE_URL": args.database,
        "ACQUIS_INSTANCE_DIR": str(instance),
        "SECRET_KEY": secrets.token_urlsafe(48),
        "BASE_URL": f"http://{HOST}:{args.port}",
        "DOCUMENT_RENDER_MODE": "thread",
        "RATELIMIT_ENABLED": "0",  # every simulated person comes from 127.0.0.1
        "REDIS_URL": "",
        "MAIL_SERVER": "",
    }


@dataclass
class World:
    volunteers: list[dict] = field(default_factory=list)  # email, experience id
    trainers: list[dict] = field(default_factory=list)  # email, submission ids
    advisers: list[dict] = field(default_factory=list)  # email, share ids


def seed(app, args) -> World:
    """Migrate, then create the NGO, its people, missions, submitted claims and shares (committed)."""
    from datetime import date

    from flask_migrate import upgrade

    from app.auth import operations as auth_ops
    from app.claims import operations as claim_ops
    from app.experiences import operations as experience_ops
    from app.experiences.models import ExperienceKind
    from app.extensions import db
    from app.organisations import operations as org_ops
    from app.organisations.models import MembershipRole, OrganisationKind
    from app.sharing import operations as share_ops
    from app.sharing.models import ShareKind
    from app.validation import operations as validation_ops
    from app.validation.models import FactsDecision, ItemDecision
    from tests.cast import make_framework

    world = World()
    with app.app_context():
        upgrade(revision="heads")
        ngo = org_ops.create_organisation(
            org_ops.OrganisationData(name="Load NGO", kind=OrganisationKind.SENDING_NGO, country="FR"), actor=None
        )
        _version, nodes = make_framework(db.session, slug="load-fw")
        trainers = []
        for index in range(args.trainers):
            user = auth_ops.create_user(f"trainer{index}@load.example", f"Trainer {index}", PASSWORD, verified=True)
            org_ops.add_member(ngo, user, MembershipRole.TRAINER, actor=None)
            trainers.append(user)
        advisers = [
            auth_ops.create_user(f"adviser{i}@load.example", f"Adviser {i}", PASSWORD, verified=True, is_adviser=True)
            for i in range(args.advisers)
        ]
        submissions, shares = [], defaultdict(list)
        for index in range(args.volunteers):
            user = auth_ops.create_user(f"volunteer{index}@load.example", f"Volunteer {index}", PASSWORD, verified=True)
            org_ops.add_member(ngo, user, MembershipRole.VOLUNTEER, actor=None)
            mission, draft = (
                experience_ops.create_experience(
                    user,
                    experience_ops.ExperienceData(
                        kind=ExperienceKind.MISSION,
                        title=f"{title} {index}",
                        start_date=date(2024, 1, 1),
                        end_date=date(2024, 12, 31),
                        status_code="VSI",
                        host_name="Agua Viva",
                        host_country="PE",
                    ),
                )
                for title in ("Mission", "Mission being written")  # the first is submitted, the second edited
            )
            claims = [
                claim_ops.create_claim(
                    user, mission, claim_ops.ClaimData(node_id=node.id, level_rank=2, situation="In the field.")
                )
                for node in nodes
            ]
            submission = validation_ops.submit_experience(user, mission, ngo, [c.id for c in claims])
            if index % 2 == 0:  # half of the portfolios have validated claims, so they can be printed
                validation_ops.confirm_facts(submission, trainers[0], FactsDecision.CONFIRMED, acknowledged=True)
                for item in list(submission.current_items):
                    validation_ops.decide_item(item, trainers[0], validation_ops.Decision(ItemDecision.VALIDATED))
            else:
                submissions.append(submission)
            adviser = advisers[index % len(advisers)]
            share, _token = share_ops.create_share(
                user, share_ops.ShareData(kind=ShareKind.ADVISER, adviser_email=adviser.email)
            )
            shares[adviser.email].append(share)
            db.session.flush()
            world.volunteers.append(
                {"email": user.email, "experience": draft.id, "submitted": mission.id, "printable": index % 2 == 0}
            )
        db.session.commit()
        for trainer in trainers:
            world.trainers.append({"email": trainer.email, "submissions": [s.id for s in submissions] or [0]})
        for adviser in advisers:
            world.advisers.append({"email": adviser.email, "shares": [s.id for s in shares[adviser.email]] or [0]})
    return world


def start_gunicorn(args, environment) -> subprocess.Popen:
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "--workers",
        str(args.workers),
        "--threads",
        str(args.threads),
        "--bind",
        f"{HOST}:{args.port}",
        "--timeout",
        "120",
        "--log-level",
        "warning",
        "wsgi:app",
    ]
    server = subprocess.Popen(command, cwd=PROJECT, env=environment)  # noqa: S603 - our own command line
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://{HOST}:{args.port}/healthz", timeout=2) as response:
                if response.status == 200:
                    return server
        except OSError:
            time.sleep(0.3)
    server.terminate()
    raise SystemExit("gunicorn did not answer /healthz within 60 s")


# --- Simulated people --------------------------------------------------------------------------------------------


class Person:
    """A signed-in browser: its cookie jar and its CSRF token."""

    def __init__(self, base: str, email: str, data: dict):
        self.base, self.email, self.data = base, email, data
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        self.lock = threading.Lock()  # one save at a time per person: "the last acknowledged title" is defined
        self.token = ""

    def request(self, path: str, form: dict | None = None, timeout: float = 60) -> tuple[int, str, str]:
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        try:
            with self.opener.open(f"{self.base}{path}", data=data, timeout=timeout) as response:
                return response.status, response.url, response.read().decode(errors="replace")
        except urllib.error.HTTPError as error:
            return error.code, path, error.read().decode(errors="replace")

    def sign_in(self) -> None:
        _status, _url, page = self.request("/auth/login")
        status, url, _body = self.request(
            "/auth/login", {"email": self.email, "password": PASSWORD, "csrf_token": CSRF.search(page).group(1)}
        )
        if status != 200 or "/auth/login" in url:
            raise SystemExit(f"cannot sign in as {self.email} ({status})")
        _status, _url, page = self.request("/documents/")
        self.token = CSRF.search(page).group(1)


@dataclass
class Results:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    saves: dict[int, list[str]] = field(default_factory=lambda: defaultdict(list))
    jobs: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, page: str, seconds: float, error: str | None) -> None:
        with self.lock:
            self.latencies[page].append(seconds)
            if error:
                self.errors[page].append(error)


def visit(person: Person, page: str, results: Results, counter: itertools.count) -> None:
    """Do ``page`` as ``person``; record its latency and whether it went wrong."""
    data = person.data
    started = time.perf_counter()
    error = None
    if page == "save mission":
        with person.lock:
            title = f"Mission of {person.email} #{next(counter)}"
            status, url, _body = person.request(f"/experiences/{data['experience']}/edit", _mission_form(person, title))
            if status == 200 and url.endswith(f"/experiences/{data['experience']}"):
                with results.lock:
                    results.saves[data["experience"]].append(title)
            else:
                error = f"{status} {url}"
    else:
        path = _path_of(page, data)
        status, _url, _body = person.request(path)
        if status != 200:
            error = f"{status} {path}"
    results.record(page, time.perf_counter() - started, error)


def _path_of(page: str, data: dict) -> str:
    return {
        "dashboard": "/",
        "experiences": "/experiences/",
        "experience": f"/experiences/{random.choice([data.get('experience'), data.get('submitted')])}",
        "documents": "/documents/",
        "review queue": "/validation/reviews",
        "submission": f"/validation/submissions/{random.choice(data.get('submissions') or [0])}",
        "shared with me": "/sharing/with-me",
        "shared portfolio": f"/shared/{random.choice(data.get('shares') or [0])}",
    }[page]


def _mission_form(person: Person, title: str) -> dict:
    return {
        "csrf_token": person.token,
        "title": title,
        "start_date": "2024-01-01",
        "end_date": "2024-12-31",
        "status_code": "VSI",
        "host_country": "PE",
        "host_name": "Agua Viva",
        "sending_organisation_id": "",
        "working_time": "",
        "team_size": str(random.randint(1, 50)),
    }


def print_portfolio(person: Person, results: Results) -> None:
    started = time.perf_counter()
    status, url, _body = person.request(
        "/documents/print",
        {"csrf_token": person.token, "portfolio-kind": "portfolio", "portfolio-language": "fr"},
    )
    error = None
    if status == 200 and "/documents/jobs/" in url:
        with results.lock:
            results.jobs.append(url.rsplit("/", 1)[1])
    elif not (status == 200 and re.search(r"/documents/\d+$", url)):  # unchanged: the issued document
        error = f"{status} {url}"
    results.record("print", time.perf_counter() - started, error)


# --- Phases ------------------------------------------------------------------------------------------------------


def choose(people: dict[str, list[Person]]) -> tuple[Person, str]:
    audience, page, _weight = random.choices(MIX, weights=[w for _a, _p, w in MIX])[0]
    return random.choice(people[audience]), page


def measure_capacity(people, seconds: float, clients: int, counter) -> tuple[float, Results]:
    """Requests per second the server completes with ``clients`` clients that never wait between requests."""
    results = Results()
    deadline = time.monotonic() + seconds

    def client():
        while time.monotonic() < deadline:
            person, page = choose(people)
            visit(person, page, results, counter)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    done = sum(len(v) for v in results.latencies.values())
    return done / (time.monotonic() - started), results


def run_load(people, rate: float, seconds: float, print_every: float, counter) -> tuple[Results, float, int]:
    """Open loop: one request every 1/rate s whatever the answers; one print every ``print_every`` s."""
    results = Results()
    printable = [p for p in people["volunteer"] if p.data["printable"]]
    late = 0
    with ThreadPoolExecutor(max_workers=64) as pool:
        started = time.monotonic()
        next_print = started + print_every
        for index in range(int(rate * seconds)):
            due = started + index / rate
            now = time.monotonic()
            if due > now:
                time.sleep(due - now)
            elif now - due > 1:
                late += 1  # the client itself could not keep up (counted, not hidden)
            if printable and time.monotonic() >= next_print:
                next_print += print_every
                pool.submit(print_portfolio, random.choice(printable), results)
            person, page = choose(people)
            pool.submit(visit, person, page, results, counter)
    return results, time.monotonic() - started, late


def nothing_lost(app, saves: dict[int, list[str]], jobs: list[str]) -> list[str]:
    """What the database does not hold of what the server acknowledged (empty: nothing lost)."""
    import sqlalchemy as sa

    from app.core.audit import AuditEvent
    from app.documents.models import JobState, RenderJob
    from app.experiences.models import Experience
    from app.extensions import db

    problems = []
    with app.app_context():
        for experience_id, titles in saves.items():
            title = db.session.get(Experience, experience_id).title
            if title != titles[-1]:
                problems.append(f"experience {experience_id}: {title!r}, last acknowledged {titles[-1]!r}")
            updates = db.session.scalar(
                sa.select(sa.func.count(AuditEvent.id)).where(
                    AuditEvent.action == "experience.updated", AuditEvent.object_id == str(experience_id)
                )
            )
            if updates != len(titles):
                problems.append(f"experience {experience_id}: {updates} audit events for {len(titles)} saves")
        deadline = time.monotonic() + 300
        while True:
            states = dict(
                db.session.execute(
                    sa.select(RenderJob.state, sa.func.count(RenderJob.id))
                    .where(RenderJob.id.in_(jobs))
                    .group_by(RenderJob.state)
                ).all()
            )
            db.session.remove()
            pending = states.get(JobState.QUEUED, 0) + states.get(JobState.RUNNING, 0)
            if not pending or time.monotonic() > deadline:
                break
            time.sleep(1)
        done = states.get(JobState.DONE, 0)
        if done != len(jobs):
            counts = {state.value: count for state, count in states.items()}
            problems.append(f"print jobs: {done} done of {len(jobs)} ({counts})")
    return problems


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def report(results: Results, seconds: float, rate: float, capacity: float, late: int, lost: list[str]) -> int:
    total = sum(len(v) for v in results.latencies.values())
    errors = sum(len(v) for v in results.errors.values())
    print(f"\ncapacity (closed loop): {capacity:.1f} req/s; offered load: {rate:.1f} req/s for {seconds:.0f} s")
    print(f"throughput: {total / seconds:.1f} req/s ({total} requests), errors: {errors}, client late starts: {late}")
    print(f"{'page':<18}{'count':>7}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'errors':>8}")
    for page in sorted(results.latencies):
        values = results.latencies[page]
        p50, p95, p99 = (1000 * percentile(values, p) for p in (50, 95, 99))
        print(f"{page:<18}{len(values):>7}{p50:>9.0f}{p95:>9.0f}{p99:>9.0f}{len(results.errors[page]):>8}")
    for page, messages in results.errors.items():
        for message in messages[:3]:
            print(f"  error on {page}: {message}")
    saves = sum(len(v) for v in results.saves.values())
    print(f"saves acknowledged: {saves}; print jobs: {len(results.jobs)}")
    print("nothing lost" if not lost else "LOST:\n  " + "\n  ".join(lost))
    return 0 if errors == 0 and not lost else 1


def main(argv=None) -> int:
    args = parse_args(argv)
    instance = Path(tempfile.mkdtemp(prefix="acquis-load-"))
    environment = server_environment(args, instance)
    os.environ.update(environment)  # the app created here (seeding, final checks) is the server's
    recreate_database(args.database)
    from app import create_app

    app = create_app()
    world = seed(app, args)
    server = start_gunicorn(args, environment)
    try:
        base = f"http://{HOST}:{args.port}"
        people = {
            "volunteer": [Person(base, v["email"], v) for v in world.volunteers],
            "trainer": [Person(base, t["email"], t) for t in world.trainers],
            "adviser": [Person(base, a["email"], a) for a in world.advisers],
        }
        for group in people.values():
            for person in group:
                person.sign_in()
        counter = itertools.count()
        capacity, probe = measure_capacity(people, args.probe_seconds, args.workers * args.threads, counter)
        rate = min(args.load * capacity, args.max_rate)
        print(f"capacity {capacity:.1f} req/s → load {rate:.1f} req/s for {args.duration:.0f} s", flush=True)
        results, seconds, late = run_load(people, rate, args.duration, args.print_every, counter)
        saves = {key: probe.saves.get(key, []) + results.saves.get(key, []) for key in {*probe.saves, *results.saves}}
        lost = nothing_lost(app, saves, probe.jobs + results.jobs)
        return report(results, seconds, rate, capacity, late, lost)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        if not args.keep:
            with app.app_context():
                from app.extensions import db

                db.session.remove()
                db.engine.dispose()
            recreate_database(args.database, drop_only=True)
            shutil.rmtree(instance, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
