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
    assert page.status_code == 200 and page.headers["Refresh"]
    assert ops.get_job(fresh.id).state == JobState.QUEUED
    for job in (lost, stuck):
        page = client.get(f"/documents/jobs/{job.id}")
        assert page.status_code == 200 and "Refresh" not in page.headers
        assert "The printing was interrupted" in page.get_data(as_text=True)
        assert ops.get_job(job.id).state == JobState.FAILED and ops.get_job(job.id).error == "interrupted"
