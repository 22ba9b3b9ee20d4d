"""Where printing work runs: now (``sync``), in a background thread of this process (``thread``), or on the RQ
queue served by ``flask documents worker`` (``rq``).

The work itself is the caller's (a documents job, say); this module only chooses the runner. A background runner
has its own application context; the RQ job names its function by dotted path, so that the function's module (an
entry point that builds the app, :mod:`app.jobs`) is imported by the worker only.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from app.extensions import db
from app.printing.sandbox import setting

if TYPE_CHECKING:
    from flask import Flask
    from rq import Queue

logger = logging.getLogger(__name__)

#: The RQ queue of render jobs.
QUEUE_NAME = "documents"


def render_mode(config) -> str:
    """``DOCUMENT_RENDER_MODE`` if set, else ``rq`` when ``REDIS_URL`` is configured, else ``thread``."""
    return setting(config, "DOCUMENT_RENDER_MODE") or ("rq" if config.get("REDIS_URL") else "thread")


def render_queue(app: Flask) -> Queue:
    """The RQ queue of render jobs on ``REDIS_URL``."""
    from redis import Redis  # optional dependency: only with REDIS_URL
    from rq import Queue  # optional dependency

    return Queue(QUEUE_NAME, connection=Redis.from_url(app.config["REDIS_URL"]))


def enqueue(app: Flask, function: str, *args) -> None:
    """Put ``function(*args)`` (a dotted path) on the render queue, with room for the longest render."""
    timeout = int(setting(app.config, "DOCUMENT_RENDER_WALL_SECONDS", 180)) + 60
    render_queue(app).enqueue(function, *args, job_timeout=timeout)


def start_thread(app: Flask, function: Callable[..., object], *args, name: str) -> threading.Thread:
    """Run ``function(*args)`` in a daemon thread with an application context of its own.

    A crash is logged and its transaction rolled back: the thread must not leave the session of a long-lived
    process in a failed state.
    """

    def work():
        with app.app_context():
            try:
                function(*args)
            except Exception:
                logger.exception("%s crashed", name)
                db.session.rollback()

    thread = threading.Thread(target=work, name=name, daemon=True)
    thread.start()
    return thread
