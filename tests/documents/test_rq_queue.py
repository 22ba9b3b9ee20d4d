"""Renders through the RQ queue on a real Redis (``TEST_REDIS_URL``; CI sets it and ``REQUIRE_REDIS=1``).

The print page enqueues the job once the request has committed; ``flask documents worker --burst`` renders it.
The worker runs as :class:`rq.SimpleWorker` (in this process, on the test's transaction), as in production: each
render runs in a child forked from the warm render pool, not in a work horse per job.
"""

from __future__ import annotations

import os

import pytest

from app.documents import operations as ops
from app.documents.models import JobState
from app.printing.dispatch import render_queue
from tests.documents.conftest import pdf_text


@pytest.fixture
def redis_url():
    url = os.environ.get("TEST_REDIS_URL")
    if not url:
        if os.environ.get("REQUIRE_REDIS"):
            pytest.fail("REQUIRE_REDIS is set but TEST_REDIS_URL is not")
        pytest.skip("no Redis server (set TEST_REDIS_URL, e.g. redis://127.0.0.1:6379/15)")
    from redis import Redis

    connection = Redis.from_url(url)
    connection.ping()  # a configured but unreachable Redis is a failure, not a skip
    connection.flushdb()
    yield url
    connection.flushdb()


@pytest.fixture
def rq_render(app, redis_url, docworld, monkeypatch):
    """The app as deployed with REDIS_URL (no explicit render mode)."""
    monkeypatch.setitem(app.config, "REDIS_URL", redis_url)
    monkeypatch.setitem(app.config, "DOCUMENT_RENDER_MODE", "")
    return app


def post_print(client, language="es"):
    response = client.post("/documents/print", data={"portfolio-kind": "portfolio", "portfolio-language": language})
    assert response.status_code == 302
    assert "/documents/jobs/" in response.location
    return response.location.rsplit("/", 1)[1]


def test_print_is_queued_then_rendered_by_the_worker_command(rq_render, client, login, docworld):
    login(client, docworld.volunteer)
    job_id = post_print(client)
    queue = render_queue(rq_render)
    assert queue.count == 1
    waiting = client.get(f"/documents/jobs/{job_id}")
    assert waiting.status_code == 200 and ops.get_job(job_id).state == JobState.QUEUED

    result = rq_render.test_cli_runner().invoke(args=["documents", "worker", "--burst"])

    assert result.exit_code == 0, result.output
    assert queue.count == 0
    job = ops.get_job(job_id)
    assert job.state == JobState.DONE, job.error
    done = client.get(f"/documents/jobs/{job_id}")
    assert done.status_code == 302 and done.location.endswith(f"/documents/{job.document_id}")
    download = client.get(f"/documents/{job.document_id}/download")
    assert download.status_code == 200 and download.mimetype == "application/pdf"
    text = pdf_text(download.data)
    assert "Portafolio de competencias" in text and "Valentine Doc" in text


def test_worker_command_needs_redis(app, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", "")
    result = app.test_cli_runner().invoke(args=["documents", "worker", "--burst"])
    assert result.exit_code == 1
    assert "REDIS_URL is not set" in result.output


def test_a_render_that_crashes_in_the_worker_fails_its_job_at_once(rq_render, client, login, docworld, monkeypatch):
    def broken(*args, **kwargs):
        raise TypeError("unsupported operand type(s) for +: 'int' and 'str'")

    monkeypatch.setattr(ops, "render_html", broken)
    login(client, docworld.volunteer)
    job_id = post_print(client)

    result = rq_render.test_cli_runner().invoke(args=["documents", "worker", "--burst"])

    assert result.exit_code == 0, result.output
    job = ops.get_job(job_id)
    assert (job.state, job.error) == (JobState.FAILED, "error")
    page = client.get(f"/documents/jobs/{job_id}").get_data(as_text=True)
    assert "The document could not be printed. Please try again later." in page and "Try again" in page
