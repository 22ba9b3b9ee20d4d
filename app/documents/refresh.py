"""Documents ready before they are asked for: what a person already printed is re-rendered in the background when
something it depends on changes, so that the next download is the cached file.

The news travels upward without the lower packages knowing about documents: every transition that changes what a
printed document shows writes an audit event (core) — an item decided, a validation revoked, facts confirmed, a
referent's answer, an opinion. :func:`init_refresh`, called from ``create_app``, registers one explicit session
listener that notes those events as they are flushed; once the transaction has committed, the holders concerned
are refreshed in the background (RQ when ``REDIS_URL`` is set, a thread otherwise, inline in ``sync`` mode): their
latest print requests are asked again, which finds the cached document when nothing changed and queues a render
otherwise. ``DOCUMENT_REFRESH`` (``on``/``off``; off by default under ``TESTING``) switches it.

The same listeners keep each document's ``stale_at`` mark (always, whatever ``DOCUMENT_REFRESH`` says): in the
transaction of the change itself, just before it commits, one UPDATE marks the holders' documents, so that no
reader ever sees a document offered as current after a change has committed. The people's own edits mark too (a
mission renamed, a claim edited) but start no render: one would start for every edit. Asking again — the refresh,
or printing — clears the mark of a document found unchanged (:func:`app.documents.operations.confirm_current`).
Only audited changes mark: a new version of a framework's titles or an NGO's letterhead does not; printing always
rebuilds the snapshot and finds them.
"""

from __future__ import annotations

import json
import logging
import threading
from functools import partial

import sqlalchemy as sa
from flask import current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from app.auth.models import User
from app.claims.models import Claim
from app.core.audit import AuditEvent
from app.core.db import after_commit, utcnow
from app.documents import operations as ops
from app.documents.context import ContextError
from app.documents.models import Document, DocumentKind, JobState, Opinion, RenderJob
from app.experiences.models import Experience
from app.extensions import db
from app.organisations.models import Organisation
from app.printing.dispatch import enqueue
from app.printing.sandbox import setting
from app.validation.models import Submission

logger = logging.getLogger(__name__)

#: Audit actions after which a holder's printed documents may be out of date, and what their object is.
WATCHED_PREFIXES = ("item.", "validation.revoked", "facts.", "referent.confirmed", "submission.decided", "opinion.")
#: Audit actions by which people change their own data (the actor is the holder): their documents are marked stale,
#: nothing is re-rendered.
OWN_CHANGES = ("experience.", "claim.", "evidence.", "user.profile_updated", "portfolio.imported")
#: The session's info keys holding the marks of the current transaction: to refresh, to mark stale.
MARKS = "documents_refresh_marks"
STALE = "documents_stale_marks"
#: How many of a holder's latest print requests are refreshed (the documents they are likely to download again).
LATEST_REQUESTS = 10


def init_refresh(app) -> None:
    """Register the session listener (once per process; each app decides with ``DOCUMENT_REFRESH``)."""
    app.config.setdefault("DOCUMENT_REFRESH", "off" if app.config.get("TESTING") else "on")
    if not event.contains(Session, "after_flush", _collect):
        event.listen(Session, "after_flush", _collect)
        event.listen(Session, "before_commit", _mark_before_commit)
        event.listen(Session, "after_soft_rollback", _forget_stale)


def enabled() -> bool:
    return has_app_context() and str(setting(current_app.config, "DOCUMENT_REFRESH", "on")).lower() not in (
        "off",
        "0",
        "false",
    )


def _mark_of(audit: AuditEvent) -> tuple[str, int] | None:
    """What an audit event says changed: ("claim" | "submission" | "experience" | "user", id), or None."""
    if not audit.action.startswith(WATCHED_PREFIXES) or audit.action == "item.withdrawn":
        return None
    data = audit.data or {}
    if audit.action.startswith("opinion."):
        return ("user", int(data["volunteer_id"])) if data.get("volunteer_id") else None
    if audit.action == "referent.confirmed":
        return ("experience", int(data["experience_id"])) if data.get("experience_id") else None
    kind = {"Claim": "claim", "Submission": "submission"}.get(audit.object_type)
    return (kind, int(audit.object_id)) if kind and audit.object_id else None


def _stale_marks_of(audit: AuditEvent) -> set[tuple[str, int]]:
    """Whose documents an audit event may have made out of date (the marks of :func:`_mark_of`, and the actor
    of a change to their own data)."""
    marks = set()
    if (mark := _mark_of(audit)) is not None:
        marks.add(mark)
    if audit.action.startswith(OWN_CHANGES) and audit.actor_id:
        marks.add(("user", int(audit.actor_id)))
    elif audit.action.startswith("submission.") and audit.object_type == "Submission" and audit.object_id:
        marks.add(("submission", int(audit.object_id)))  # returned or withdrawn: the claims' states shown change
    return marks


def mark_stale(connection, marks) -> None:
    """Mark as possibly out of date the documents of the people the marks concern (one UPDATE)."""
    by_kind: dict[str, set[int]] = {}
    for kind, ident in marks:
        by_kind.setdefault(kind, set()).add(ident)
    documents = Document.__table__
    conditions = [documents.c.holder_id.in_(sorted(by_kind["user"]))] if by_kind.get("user") else []
    for kind, model, column in (
        ("claim", Claim, Claim.owner_id),
        ("experience", Experience, Experience.owner_id),
        ("submission", Submission, Submission.volunteer_id),
    ):
        if by_kind.get(kind):
            conditions.append(documents.c.holder_id.in_(sa.select(column).where(model.id.in_(sorted(by_kind[kind])))))
    if conditions:
        connection.execute(sa.update(documents).where(sa.or_(*conditions)).values(stale_at=utcnow()))


def _collect(session, _flush_context) -> None:
    """after_flush: mark the documents the flushed audit events may have made out of date; note the changes to
    refresh them once the transaction commits."""
    events = [obj for obj in session.new if isinstance(obj, AuditEvent)]
    if not events:
        return
    stale = {mark for audit in events for mark in _stale_marks_of(audit)}
    if stale:
        session.info.setdefault(STALE, set()).update(stale)
    if not enabled():
        return
    marks = {mark for audit in events if (mark := _mark_of(audit))}
    if not marks:
        return
    pending = session.info.get(MARKS)
    if pending is None:
        pending = session.info[MARKS] = set()
        app = current_app._get_current_object()
        after_commit(partial(_start, app, session), session)
    pending |= marks


def _mark_before_commit(session) -> None:
    """before_commit: mark the documents the transaction's changes concern, in the transaction itself (one UPDATE).

    At the very end of the transaction, after its last flush: the documents' rows are locked last and only until
    the commit that follows, so two transactions deciding about the same holder wait for each other there without
    a deadlock (marking at each flush would hold those rows while later flushes lock claims).
    """
    if session.new or session.dirty or session.deleted:
        session.flush()  # the commit flushes after this event: its audit events must be seen now
    stale = session.info.pop(STALE, None)
    if stale:
        mark_stale(session.connection(), stale)


def _forget_stale(session, previous_transaction) -> None:
    """after_soft_rollback: a transaction rolled back changed nothing (a SAVEPOINT rolled back keeps the marks of
    its transaction: one too many is harmless, one missing is not)."""
    if not previous_transaction.nested:
        session.info.pop(STALE, None)


def _start(app, session) -> None:
    marks = sorted(session.info.pop(MARKS, set()))
    if not marks:
        return
    with app.app_context():
        mode = ops.render_mode()
    if mode == "rq":
        enqueue(app, "app.jobs.refresh_documents", marks)
        return
    # A thread of its own in every other mode: it has its own application context and session (the committed
    # session may not emit SQL from its after_commit hook); ``sync`` waits for it, as it waits for renders.
    thread = threading.Thread(target=_run_in_thread, args=(app, marks), name="documents-refresh", daemon=True)
    thread.start()
    if mode == "sync":
        thread.join()


def _run_in_thread(app, marks) -> None:
    with app.app_context():
        try:
            refresh(marks)
        except Exception:
            logger.exception("refreshing documents after %s failed", marks)
            db.session.rollback()


def holders_of(marks) -> set[int]:
    """The ids of the people whose documents the marks concern (owners of the claims, missions, submissions)."""
    by_kind: dict[str, set[int]] = {}
    for kind, ident in marks:
        by_kind.setdefault(kind, set()).add(ident)
    holders = set(by_kind.get("user", ()))
    for kind, model, column in (
        ("claim", Claim, Claim.owner_id),
        ("experience", Experience, Experience.owner_id),
        ("submission", Submission, Submission.volunteer_id),
    ):
        if by_kind.get(kind):
            holders |= set(db.session.scalars(sa.select(column).where(model.id.in_(by_kind[kind]))))
    return holders


def latest_requests(holder_id: int) -> list[tuple[RenderJob, dict]]:
    """The holder's latest distinct print requests that were rendered (job, request), newest first."""
    jobs = db.session.scalars(
        sa.select(RenderJob)
        .where(RenderJob.holder_id == holder_id, RenderJob.state == JobState.DONE)
        .order_by(RenderJob.created_at.desc())
        .limit(5 * LATEST_REQUESTS)
    )
    seen, result = set(), []
    for job in jobs:
        spec = (job.payload or {}).get("request")
        key = json.dumps(spec, sort_keys=True) if spec else None
        if key is None or key in seen:
            continue
        seen.add(key)
        result.append((job, spec))
        if len(result) == LATEST_REQUESTS:
            break
    return result


def print_request_of(spec: dict) -> ops.PrintRequest | None:
    """The :class:`PrintRequest` a stored request describes (None if what it named is gone)."""
    holder = db.session.get(User, spec["holder_id"])
    if holder is None:
        return None
    opinion = db.session.get(Opinion, spec["opinion_id"]) if spec.get("opinion_id") else None
    organisation = db.session.get(Organisation, spec["organisation_id"]) if spec.get("organisation_id") else None
    if (spec.get("opinion_id") and opinion is None) or (spec.get("organisation_id") and organisation is None):
        return None
    return ops.PrintRequest(
        kind=DocumentKind(spec["kind"]),
        language=spec["language"],
        holder=holder,
        experience_ids=tuple(spec.get("experience_ids") or ()),
        framework_slug=spec.get("framework_slug") or "",
        opinion=opinion,
        organisation=organisation,
        annex_evidence=bool(spec.get("annex_evidence")),
    )


def refresh(marks) -> list[str]:
    """Ask again the latest print requests of the holders the marks concern; commit; start the renders needed.

    :returns: the ids of the render jobs queued (nothing when every document is already up to date).
    """
    queued = []
    for holder_id in sorted(holders_of(marks)):
        for job, spec in latest_requests(holder_id):
            request = print_request_of(spec)
            actor = db.session.get(User, job.requested_by_id)
            if request is None or actor is None:
                continue
            try:
                result = ops.request_document(actor, request)
            except ContextError:
                continue  # no longer printable (a validation revoked, facts unconfirmed): nothing to prepare
            if isinstance(result, RenderJob):
                queued.append(result)
    for job in queued:
        ops.dispatch(job)
    db.session.commit()
    return [job.id for job in queued]


def refreshing(holder: User) -> dict[DocumentKind, int]:
    """How many fresher versions of the holder's documents are being prepared in the background, by kind."""
    return dict(
        db.session.execute(
            sa.select(RenderJob.kind, sa.func.count(RenderJob.id))
            .where(
                RenderJob.holder_id == holder.id,
                RenderJob.state.in_((JobState.QUEUED, JobState.RUNNING)),
            )
            .group_by(RenderJob.kind)
        ).all()
    )
