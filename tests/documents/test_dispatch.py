"""Background renders start only once the job's row is committed.

A runner started inside the request's transaction cannot see the job (on PostgreSQL its conditional UPDATE
matches no row) and the job would stay "waiting for a free printer" for ever.
"""

from __future__ import annotations

import pytest

from app.documents import operations as ops
from app.documents.models import DocumentKind, JobState


@pytest.fixture(params=["thread", "rq"])
def background_mode(request, app, monkeypatch):
    """Render in the background; record the runners started instead of starting them."""
    monkeypatch.setitem(app.config, "DOCUMENT_RENDER_MODE", request.param)
    started: list[str] = []
    starter = "_start_thread" if request.param == "thread" else "_enqueue_rq"
    monkeypatch.setattr(ops, starter, lambda _app, job_id: started.append(job_id))
    return started


def queue_portfolio(world):
    job = ops.request_document(
        world.volunteer, ops.PrintRequest(kind=DocumentKind.PORTFOLIO, language="en", holder=world.volunteer)
    )
    assert job.state == JobState.QUEUED
    ops.dispatch(job)
    return job


def test_runner_starts_after_the_commit(db_session, docworld, background_mode):
    job = queue_portfolio(docworld)
    db_session.flush()
    assert background_mode == []
    db_session.commit()
    assert background_mode == [job.id]


def test_runner_never_starts_when_the_request_rolls_back(db_session, docworld, background_mode):
    queue_portfolio(docworld)
    db_session.rollback()
    db_session.commit()
    assert background_mode == []


def test_print_page_commits_then_starts_the_runner(client, login, docworld, background_mode):
    login(client, docworld.volunteer)
    response = client.post("/documents/print", data={"portfolio-kind": "portfolio", "portfolio-language": "en"})
    assert response.status_code == 302
    assert "/documents/jobs/" in response.location
    job_id = response.location.rsplit("/", 1)[1]
    assert background_mode == [job_id]
    assert ops.get_job(job_id).state == JobState.QUEUED


def test_a_job_whose_runner_died_ends_as_interrupted(client, login, db_session, docworld, background_mode):
    from datetime import timedelta

    from app.core.db import utcnow

    login(client, docworld.volunteer)
    fresh, lost, stuck = (queue_portfolio(docworld) for _ in range(3))
    lost.created_at = utcnow() - timedelta(hours=1)
    stuck.state, stuck.started_at = JobState.RUNNING, utcnow() - timedelta(hours=1)
    db_session.commit()

    page = client.get(f"/documents/jobs/{fresh.id}")
    assert page.status_code == 200 and "Refresh" not in page.headers
    assert ops.get_job(fresh.id).state == JobState.QUEUED
    assert client.get(f"/documents/jobs/{fresh.id}/status").json["finished"] is False
    for job in (lost, stuck):
        page = client.get(f"/documents/jobs/{job.id}")
        assert page.status_code == 200 and "Refresh" not in page.headers
        assert "The printing was interrupted" in page.get_data(as_text=True)
        assert ops.get_job(job.id).state == JobState.FAILED and ops.get_job(job.id).error == "interrupted"
        status = client.get(f"/documents/jobs/{job.id}/status").json
        assert status["finished"] and status["message"].startswith("The printing was interrupted")


def test_progress_page_polls_a_json_status_instead_of_refreshing(client, login, db_session, docworld, background_mode):
    """No Refresh header: the page's script (static/js/job.js) reads the status and speaks through a live region;
    without the script, a "Check again" button reloads the page."""
    login(client, docworld.volunteer)
    job = queue_portfolio(docworld)
    db_session.commit()
    page = client.get(f"/documents/jobs/{job.id}")
    html = page.get_data(as_text=True)
    assert "Refresh" not in page.headers
    assert 'role="status"' in html and f'data-status-url="/documents/jobs/{job.id}/status"' in html
    assert "/static/js/job.js" in html and "Check again" in html
    assert "<title>Print job: Portfolio dossier · Acquis</title>" in html
    waiting = client.get(f"/documents/jobs/{job.id}/status")
    assert waiting.headers["Cache-Control"] == "no-store"
    assert waiting.json == {
        "state": "queued",
        "finished": False,
        "message": "Waiting for a free printer…",
        "title": "Print job: Portfolio dossier",
    }
    ops.execute(job.id, commit=False)
    db_session.commit()
    ready = client.get(f"/documents/jobs/{job.id}/status").json
    document = ops.get_job(job.id).document
    assert ready["finished"] and ready["message"] == "Your document is ready."
    assert ready["document"]["download_url"] == f"/documents/{document.id}/download"
    assert ready["document"]["verify_url"].endswith(ready["document"]["code"])
    assert client.get(ready["document"]["download_url"]).data.startswith(b"%PDF-")
