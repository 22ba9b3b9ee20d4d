"""Side effects tied to the fate of the transaction (``after_commit`` / ``after_rollback``)."""

from __future__ import annotations

import logging

import sqlalchemy as sa

from app.core.db import after_commit, after_rollback


def test_after_commit_runs_once_on_commit_only(db_session):
    calls = []
    after_commit(lambda: calls.append("committed"))
    after_rollback(lambda: calls.append("rolled back"))
    db_session.commit()
    db_session.commit()
    assert calls == ["committed"]


def test_after_rollback_runs_once_on_rollback_only(db_session):
    calls = []
    db_session.execute(sa.text("SELECT 1"))  # the transaction has begun
    after_commit(lambda: calls.append("committed"))
    after_rollback(lambda: calls.append("rolled back"))
    db_session.rollback()
    db_session.commit()
    assert calls == ["rolled back"]


def test_a_savepoint_rolled_back_decides_nothing(db_session):
    calls = []
    after_commit(lambda: calls.append("committed"))
    savepoint = db_session.begin_nested()
    savepoint.rollback()
    assert calls == []
    db_session.commit()
    assert calls == ["committed"]


def test_a_failing_callback_is_logged_and_the_others_still_run(db_session, caplog):
    calls = []

    def broken():
        raise RuntimeError("disk full")

    after_commit(broken)
    after_commit(lambda: calls.append("second"))
    with caplog.at_level(logging.ERROR, logger="acquis.db"):
        db_session.commit()
    assert calls == ["second"]
    assert "disk full" in caplog.text
