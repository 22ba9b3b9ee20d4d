"""The warm render pool: each render in a child of its own, forked from one server, with the same limits and the
same minimal environment as a render in a fresh interpreter."""

from __future__ import annotations

import os

import pytest

from app.printing import sandbox
from app.printing.sandbox import RenderFailed, RenderLimits, render_in_child

PAGE = '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>t</title></head><body><p>{}</p></body></html>'


def job(text: str = "Hello") -> dict:
    return {"html": PAGE.format(text), "variant": "pdf/a-3a", "attachments": []}


def test_renders_fork_from_one_warm_server_and_each_runs_in_its_own_process(tmp_path):
    assert sandbox.warm_up()
    server = sandbox._pool.server.pid
    first = render_in_child(job("one"), instance_dir=str(tmp_path), limits=RenderLimits())
    second = render_in_child(job("two"), instance_dir=str(tmp_path), limits=RenderLimits())
    assert first.pdf.startswith(b"%PDF") and first.pages == 1 and second.pages == 1
    assert sandbox._pool.server.pid == server  # no new interpreter per render
    assert sandbox._pool.server.poll() is None


def test_the_cold_path_renders_the_same_job(tmp_path):
    output = render_in_child(job(), instance_dir=str(tmp_path), limits=RenderLimits(warm=False))
    assert output.pdf.startswith(b"%PDF") and output.pages == 1


@pytest.mark.parametrize("warm", [True, False])
def test_limits_hold_in_both_paths(tmp_path, warm):
    with pytest.raises(RenderFailed) as failure:
        render_in_child(job(), instance_dir=str(tmp_path), limits=RenderLimits(warm=warm, wall_seconds=0.01))
    assert failure.value.code == "timeout"
    with pytest.raises(RenderFailed) as failure:
        render_in_child(job(), instance_dir=str(tmp_path), limits=RenderLimits(warm=warm, memory_bytes=64 * 1024**2))
    assert failure.value.code == "limits"


def test_a_render_error_is_reported_and_the_pool_keeps_serving(tmp_path):
    with pytest.raises(RenderFailed) as failure:
        render_in_child({"html": PAGE, "variant": "no such variant"}, instance_dir=str(tmp_path), limits=RenderLimits())
    assert failure.value.code == "error"
    assert render_in_child(job(), instance_dir=str(tmp_path), limits=RenderLimits()).pages == 1


def test_the_warm_child_sees_only_the_minimal_environment(tmp_path, monkeypatch):
    """A secret of the parent's environment never reaches the renderer, warm or cold."""
    monkeypatch.setenv("ACQUIS_TEST_SECRET", "s3cret")
    environment = sandbox._child_environment(str(tmp_path), RenderLimits())
    assert "ACQUIS_TEST_SECRET" not in environment and environment["HOME"] == str(tmp_path)
    monkeypatch.setattr(sandbox, "_pool", None)  # a server started now, with the secret in our environment
    sandbox.warm_up()
    # The pool server was started with the minimal environment (read from /proc on Linux).
    with open(f"/proc/{sandbox._pool.server.pid}/environ", "rb") as handle:
        server_environment = handle.read()
    assert b"ACQUIS_TEST_SECRET" not in server_environment and b"SECRET_KEY" not in server_environment
    assert os.environ["ACQUIS_TEST_SECRET"] == "s3cret"
