"""Print jobs never hang: a render that fails in the background (in the child process, while building the HTML,
while saving the document) is recorded as failed at once, with a translated reason, and can be printed again
from its job page. Real background threads on a database of their own (SQLite file, or PostgreSQL)."""

from __future__ import annotations

import sqlite3
import time

import pytest
import sqlalchemy as sa

from app.documents import operations as ops
from app.documents.models import Document, DocumentKind, JobState, RenderJob
from app.extensions import db
from tests.fixtures.app import TEST_PASSWORD
from tests.fixtures.live import committed_app, seed_printing_ngo, wait_for_job

#: A failure must show on the job page within this many seconds (the interrupt limit is minutes).
FAILS_WITHIN_SECONDS = 20


@pytest.fixture
def threaded(tmp_path, monkeypatch):
    """Renders in background threads, on committed data: the printer volunteer can print a portfolio."""
    with committed_app(tmp_path, monkeypatch, "jobs", DOCUMENT_RENDER_MODE="thread") as app:
        seed_printing_ngo(app)
        client = app.test_client()
        response = client.post("/auth/login", data={"email": "printer@example.org", "password": TEST_PASSWORD})
        assert response.status_code == 302
        yield app, client


def start_print(client) -> str:
    response = client.post("/documents/print", data={"portfolio-kind": "portfolio", "portfolio-language": "en"})
    assert response.status_code == 302 and "/documents/jobs/" in response.location, response.location
    return response.location.rsplit("/", 1)[1]


def fail_fast(app, job_id: str):
    started = time.monotonic()
    job = wait_for_job(app, job_id, seconds=FAILS_WITHIN_SECONDS + 5)
    assert job.state == JobState.FAILED, (job.state, job.error)
    assert time.monotonic() - started < FAILS_WITHIN_SECONDS
    return job


def locked_database_error() -> sa.exc.OperationalError:
    return sa.exc.OperationalError("INSERT INTO documents", {}, sqlite3.OperationalError("database is locked"))


def test_a_crash_while_building_the_document_fails_the_job_at_once_and_it_can_be_retried(threaded, monkeypatch):
    app, client = threaded
    real_render_html = ops.render_html

    def broken(*args, **kwargs):
        raise TypeError("unsupported operand type(s) for +: 'int' and 'str'")

    monkeypatch.setattr(ops, "render_html", broken)
    job_id = start_print(client)
    job = fail_fast(app, job_id)
    assert job.error == "error"

    page = client.get(f"/documents/jobs/{job_id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Refresh" not in page.headers
    assert "The document could not be printed. Please try again later." in html
    assert f'action="/documents/jobs/{job_id}/retry"' in html and "Try again" in html

    monkeypatch.setattr(ops, "render_html", real_render_html)
    retried = client.post(f"/documents/jobs/{job_id}/retry")
    assert retried.status_code == 302 and "/documents/jobs/" in retried.location
    new_id = retried.location.rsplit("/", 1)[1]
    assert new_id != job_id
    done = wait_for_job(app, new_id, seconds=120)
    assert (done.state, done.error) == (JobState.DONE, "")
    assert client.get(f"/documents/jobs/{new_id}").location.endswith(f"/documents/{done.document_id}")
    with app.app_context():
        actions = db.session.scalars(sa.text("SELECT action FROM audit_events ORDER BY id")).all()
        assert "document.retried" in actions and actions.count("document.issued") == 1


def test_a_child_that_dies_fails_the_job_with_its_reason(threaded, monkeypatch):
    app, client = threaded
    monkeypatch.setitem(app.config, "DOCUMENT_RENDER_MEMORY_BYTES", 64 * 1024 * 1024)
    job = fail_fast(app, start_print(client))
    assert job.error == "limits"
    page = client.get(f"/documents/jobs/{job.id}").get_data(as_text=True)
    assert "The document was too large to print." in page


def test_a_locked_database_while_saving_fails_the_job_and_leaves_no_file(threaded, monkeypatch):
    app, client = threaded
    real_log_event = ops.log_event

    def locked_on_issue(action, **kwargs):
        if action == "document.issued":  # after the PDF was written and its row flushed
            raise locked_database_error()
        return real_log_event(action, **kwargs)

    monkeypatch.setattr(ops, "log_event", locked_on_issue)
    job = fail_fast(app, start_print(client))
    assert job.error == "database"
    page = client.get(f"/documents/jobs/{job.id}").get_data(as_text=True)
    assert "The document could not be saved because the server was too busy. Please try again." in page
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Document.id))) == 0
        directory = ops.documents_dir()
        assert not directory.exists() or list(directory.iterdir()) == []


def test_a_job_that_cannot_be_printed_again_has_no_retry(threaded):
    app, client = threaded
    with app.app_context():
        user_id = db.session.scalar(sa.text("SELECT id FROM users WHERE email = 'printer@example.org'"))
        job = RenderJob(
            requested_by_id=user_id,
            holder_id=user_id,
            kind=DocumentKind.PORTFOLIO,
            language="en",
            state=JobState.FAILED,
            error="timeout",
            payload={},
            cache_key="1" * 64,
        )
        db.session.add(job)
        db.session.commit()
        job_id = job.id
    page = client.get(f"/documents/jobs/{job_id}").get_data(as_text=True)
    assert "The document took too long to print." in page and "/retry" not in page
    response = client.post(f"/documents/jobs/{job_id}/retry")
    assert response.status_code == 302 and response.location.endswith(f"/documents/jobs/{job_id}")
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(RenderJob.id))) == 1


def test_a_non_numeric_figure_stored_by_an_old_import_does_not_break_printing(threaded):
    """SQLite keeps text in an INTEGER column (PostgreSQL refuses it on insert): such a figure is left out."""
    from tests.documents.conftest import pdf_text

    app, client = threaded
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("only SQLite can store text in an integer column")
        db.session.execute(sa.text("UPDATE experiences SET team_size = 'lots', people_served = '40'"))
        db.session.commit()
    job = wait_for_job(app, start_print(client), seconds=120)
    assert (job.state, job.error) == (JobState.DONE, "")
    text = pdf_text(client.get(f"/documents/{job.document_id}/download").data)
    assert "lots" not in text and "Team size" not in text
    assert "People served" in text and "40" in text


def test_the_figures_of_an_older_snapshot_are_printed_only_when_they_are_numbers(app):
    formatters = ops._formatters("fr")
    assert formatters["fmt_number"](1200) == "1\u202f200"
    assert formatters["fmt_number"]("12") == "12"
    for value in ("lots", None, True, float("nan"), "1" * 5000, {"n": 1}):
        assert formatters["fmt_number"](value) == ""
