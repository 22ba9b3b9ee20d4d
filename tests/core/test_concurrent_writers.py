"""Concurrent writers on a live server with its own database (a real SQLite file, or PostgreSQL when
TEST_DATABASE_URL is set): two volunteers save their missions over and over while a third prints a document in
the background. Every save succeeds (no "database is locked"), every save is recorded, and the print job ends
with its document."""

from __future__ import annotations

import http.cookiejar
import re
import threading
import urllib.error
import urllib.parse
import urllib.request

import pytest
import sqlalchemy as sa

from app.extensions import db
from tests.fixtures.app import TEST_PASSWORD
from tests.fixtures.live import committed_app, mission_form, seed_printing_ngo, serving, wait_for_job

SAVES_PER_VOLUNTEER = 25
VOLUNTEERS = ("alba", "bruno")


@pytest.fixture
def live(tmp_path, monkeypatch):
    """A threaded live server on its own database, rendering documents in background threads."""
    with committed_app(tmp_path, monkeypatch, "writers", DOCUMENT_RENDER_MODE="thread") as app, serving(app) as url:
        yield app, url


def signed_in_opener(base_url: str, email: str):
    """A urllib opener with a cookie jar, signed in as ``email`` through the login form."""
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    body = urllib.parse.urlencode({"email": email, "password": TEST_PASSWORD}).encode()
    with opener.open(f"{base_url}/auth/login", data=body, timeout=60) as response:
        assert "/auth/login" not in response.url
    return opener


def post(opener, url: str, data: dict) -> tuple[int, str, str]:
    """POST ``data``; (status after redirects, final URL, body)."""
    try:
        with opener.open(url, data=urllib.parse.urlencode(data).encode(), timeout=60) as response:
            return response.status, response.url, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, url, error.read().decode()


def test_two_volunteers_saving_while_a_document_prints(live):
    from app.core.audit import AuditEvent
    from app.documents.models import JobState
    from app.experiences.models import Experience

    app, base_url = live
    mission_ids = seed_printing_ngo(app, VOLUNTEERS)
    openers = {key: signed_in_opener(base_url, f"{key}@example.org") for key in (*VOLUNTEERS, "printer")}
    status, job_url, _body = post(
        openers["printer"], f"{base_url}/documents/print", {"portfolio-kind": "portfolio", "portfolio-language": "en"}
    )
    assert status == 200 and "/documents/jobs/" in job_url
    failures: list = []
    saved: dict[str, list[str]] = {key: [] for key in VOLUNTEERS}
    start = threading.Barrier(len(VOLUNTEERS))

    def save_repeatedly(key):
        start.wait()
        url = f"{base_url}/experiences/{mission_ids[key]}/edit"
        for index in range(SAVES_PER_VOLUNTEER):
            title = f"{key} mission, version {index}"
            status, final_url, body = post(openers[key], url, mission_form(title))
            if status == 200 and final_url.endswith(f"/experiences/{mission_ids[key]}"):
                saved[key].append(title)
            else:
                failures.append((key, index, status, re.findall(r"error-message[^>]*>(.*?)</p>", body) or body[:300]))

    threads = [threading.Thread(target=save_repeatedly, args=(key,)) for key in VOLUNTEERS]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert failures == [], (len(failures), failures[:2])

    job = wait_for_job(app, job_url.rstrip("/").rsplit("/", 1)[1])
    assert (job.state, job.error) == (JobState.DONE, "")
    assert job.document_id is not None
    with app.app_context():
        for key in VOLUNTEERS:
            assert len(saved[key]) == SAVES_PER_VOLUNTEER
            assert db.session.get(Experience, mission_ids[key]).title == saved[key][-1]
            updates = db.session.scalar(
                sa.select(sa.func.count(AuditEvent.id)).where(
                    AuditEvent.action == "experience.updated", AuditEvent.object_id == str(mission_ids[key])
                )
            )
            assert updates == SAVES_PER_VOLUNTEER
