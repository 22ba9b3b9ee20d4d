"""Entry points of background work run outside a web request: the RQ job functions.

``flask documents worker`` (``acquis documents worker``) runs its jobs inside the application it was started with.
A worker started another way (``rq worker documents``) has no application: the job function builds one, once per
process. This module and the other entry points (``wsgi.py``, :mod:`app.cli`) are the only places that build the
app; domain packages never do.
"""

from __future__ import annotations

from flask import Flask, has_app_context

from app import create_app
from app.documents.operations import execute
from app.documents.refresh import refresh

_application: Flask | None = None


def _app() -> Flask:
    global _application
    if _application is None:
        _application = create_app()
    return _application


def render_document(job_id: str) -> None:
    """Render the queued document job ``job_id`` (the function the documents RQ queue names)."""
    if has_app_context():
        execute(job_id)
        return
    with _app().app_context():
        execute(job_id)


def refresh_documents(marks) -> None:
    """Re-render, in the background, what the holders concerned by ``marks`` already printed (see
    :mod:`app.documents.refresh`)."""
    marks = [tuple(mark) for mark in marks]
    if has_app_context():
        refresh(marks)
        return
    with _app().app_context():
        refresh(marks)
