"""SQLite transactions that wait for the write lock instead of failing with "database is locked".

Another connection holds the write lock for a moment (as a busy writer would): a request that writes waits for it
(``BEGIN IMMEDIATE`` for unsafe methods), and a safe request that happens to write, whose read transaction cannot
be upgraded, is run again as a writer.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.core.db import is_sqlite_busy, sqlite_begin_statement, utcnow, write_intent
from app.extensions import db
from tests.fixtures.app import TEST_PASSWORD
from tests.fixtures.live import committed_app, mission_form, seed_printing_ngo

HELD_SECONDS = 1.0


def test_writers_begin_immediate_and_safe_requests_deferred(app):
    assert sqlite_begin_statement() == "BEGIN IMMEDIATE"  # commands and background jobs
    for method, statement in (("GET", "BEGIN"), ("HEAD", "BEGIN"), ("POST", "BEGIN IMMEDIATE")):
        with app.test_request_context("/", method=method):
            assert sqlite_begin_statement() == statement
    with app.test_request_context("/"), write_intent(True):
        assert sqlite_begin_statement() == "BEGIN IMMEDIATE"
    with write_intent(False):
        assert sqlite_begin_statement() == "BEGIN"


def test_busy_errors_are_recognised():
    assert is_sqlite_busy(sa.exc.OperationalError("UPDATE", {}, sqlite3.OperationalError("database is locked")))
    assert not is_sqlite_busy(sa.exc.OperationalError("SELECT", {}, sqlite3.OperationalError("no such table: x")))
    assert not is_sqlite_busy(ValueError("database is locked"))


@pytest.fixture
def sqlite_app(tmp_path, monkeypatch):
    if os.environ.get("TEST_DATABASE_URL"):
        pytest.skip("SQLite locking (PostgreSQL runs the concurrent-writers test instead)")
    with committed_app(tmp_path, monkeypatch, "locks", DOCUMENT_RENDER_MODE="thread") as app:
        missions = seed_printing_ngo(app)
        client = app.test_client()
        response = client.post("/auth/login", data={"email": "printer@example.org", "password": TEST_PASSWORD})
        assert response.status_code == 302
        yield app, client, missions["printer"]


def hold_write_lock(app) -> threading.Event:
    """Take the write lock on another connection now; release it after HELD_SECONDS. Set once released."""
    with app.app_context():
        path = db.engine.url.database
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    connection.execute("BEGIN IMMEDIATE")
    connection.execute("UPDATE users SET display_name = display_name")
    released = threading.Event()

    def release():
        connection.execute("COMMIT")
        connection.close()
        released.set()

    threading.Timer(HELD_SECONDS, release).start()
    return released


def test_a_save_waits_for_another_writer(sqlite_app):
    app, client, mission_id = sqlite_app
    released = hold_write_lock(app)
    response = client.post(
        f"/experiences/{mission_id}/edit",
        data=mission_form("Saved while another writer held the lock"),
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    assert released.is_set()
    with app.app_context():
        title = db.session.scalar(sa.text("SELECT title FROM experiences WHERE id = :id"), {"id": mission_id})
        assert title == "Saved while another writer held the lock"


def test_a_page_that_writes_runs_again_as_a_writer(sqlite_app):
    """The job page marks an abandoned job interrupted (a write during a GET, on a read transaction)."""
    from app.documents.models import DocumentKind, JobState, RenderJob

    app, client, _mission_id = sqlite_app
    with app.app_context():
        user_id = db.session.scalar(sa.text("SELECT id FROM users WHERE email = 'printer@example.org'"))
        job = RenderJob(
            requested_by_id=user_id,
            holder_id=user_id,
            kind=DocumentKind.PORTFOLIO,
            language="en",
            state=JobState.RUNNING,
            started_at=utcnow() - timedelta(hours=1),
            payload={},
            cache_key="1" * 64,
        )
        db.session.add(job)
        db.session.commit()
        job_id = job.id
    released = hold_write_lock(app)
    page = client.get(f"/documents/jobs/{job_id}")
    assert page.status_code == 200
    assert "The printing was interrupted" in page.get_data(as_text=True)
    assert released.is_set()
    with app.app_context():
        assert db.session.get(RenderJob, job_id).state == JobState.FAILED
