"""Printing, storing, finding and verifying documents; associations' opinions. Operations flush and log, never
commit (the request handler, the CLI command or the background runner commits).

Printing a document:

1. :func:`request_document` builds the snapshot (``context.py``) and its cache key = SHA-256 of (kind, language,
   template version, snapshot hash). An unchanged document already issued is returned as is. Otherwise a
   :class:`RenderJob` is queued.
2. :func:`dispatch` runs the job: in the request (``DOCUMENT_RENDER_MODE=sync``: tests, CLI), in a background
   thread after the response (``thread``, the default), or on an RQ queue when ``REDIS_URL`` is set (``rq``; run
   ``flask documents worker``).
3. :func:`run_job` renders the template in the document's language, and has the sandboxed child process
   (:mod:`app.printing.sandbox`) turn it into a signed PDF/A; the PDF is stored under ``INSTANCE_DIR/documents`` and a
   :class:`Document` row records its code, snapshot and SHA-256.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import secrets
from dataclasses import dataclass
from dataclasses import replace as dataclass_replace
from datetime import datetime, timedelta
from functools import cache, partial

import sqlalchemy as sa
from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal
from flask import current_app, render_template
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import load_only, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from app.auth.erased import erased_validators
from app.auth.models import User
from app.claims.models import Claim, Evidence
from app.claims.validations import ClaimValidation
from app.core import storage
from app.core.audit import log_event
from app.core.canonical import canonical_json, content_hash
from app.core.db import after_commit, after_rollback, utcnow
from app.documents import codes
from app.documents.context import (
    TEMPLATE_VERSION,
    ContextError,
    as_count,
    build_attestation,
    build_opinion,
    build_portfolio,
    build_vae,
)
from app.documents.files import document_path, documents_dir
from app.documents.identities import organisation_trust, signer_for
from app.documents.models import Document, DocumentKind, JobState, Opinion, RenderJob
from app.experiences.models import Experience, ExperienceKind
from app.extensions import db
from app.organisations.models import Organisation
from app.printing.css import css_string
from app.printing.dispatch import enqueue, start_thread
from app.printing.dispatch import render_mode as dispatch_mode
from app.printing.messages import RENDER_ERRORS as PRINTING_ERRORS
from app.printing.pdf import asset_url
from app.printing.sandbox import RenderFailed, RenderLimits, RenderOutput, render_in_child, setting
from app.printing.signing import check_signature, trust_roots
from app.printing.typography import french_typography
from app.validation.models import Submission

logger = logging.getLogger("acquis.documents")

LANGUAGES = ("fr", "en", "es")
TEMPLATES = {
    DocumentKind.PORTFOLIO: "pdf/portfolio.html",
    DocumentKind.ATTESTATION: "pdf/attestation.html",
    DocumentKind.VAE: "pdf/vae.html",
    DocumentKind.OPINION: "pdf/opinion.html",
}
CONTEXT_ERRORS = {
    "no_experience": _l("There is no experience to print yet."),
    "nothing_validated": _l("Nothing has been validated yet: a document needs validated competences."),
    "not_mission": _l("An attestation can only be printed for a mission."),
    "facts_not_confirmed": _l("The sending NGO has not confirmed the facts of this mission yet."),
    "unknown_framework": _l("Please choose a certification from the list."),
}
#: A job's failure, by code: the renderer's (:data:`app.printing.messages.RENDER_ERRORS`) and the job's own.
RENDER_ERRORS = {
    **PRINTING_ERRORS,
    "interrupted": _l("The printing was interrupted before it finished. Please print the document again."),
    "database": _l("The document could not be saved because the server was too busy. Please try again."),
}
#: Extra time granted to a job past its queue and render limits before it counts as abandoned.
ABANDON_GRACE_SECONDS = 60
ALLOWED_SNAPSHOT_NAME = "snapshot.json"
#: Largest PDF accepted by POST /verify (the request itself is capped by MAX_CONTENT_LENGTH, 12 MB).
VERIFY_MAX_BYTES = 10 * 1024 * 1024


def cache_key(kind: str, language: str, snapshot_hash: str) -> str:
    return hashlib.sha256(f"{kind}|{language}|{TEMPLATE_VERSION}|{snapshot_hash}".encode()).hexdigest()


#: What a download needs of a document. Not the snapshot: its JSON is most of the row (decoding it took ~8 ms of
#: the ~10 ms of CPU a download of a 30-page dossier cost), nor the holder or the organisation.
DOWNLOAD_COLUMNS = (
    Document.id,
    Document.code,
    Document.kind,
    Document.holder_id,
    Document.issuer_organisation_id,
    Document.storage_key,
    Document.sha256,
    Document.size,
    Document.created_at,
)
#: What the list of a person's documents shows (and whether each is current).
LISTED_COLUMNS = (*DOWNLOAD_COLUMNS, Document.language, Document.template_version, Document.stale_at)


# --- Requests ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PrintRequest:
    kind: DocumentKind
    language: str
    holder: User
    experience_ids: tuple[int, ...] = ()
    framework_slug: str = ""
    opinion: Opinion | None = None
    #: For trainers: print only what this NGO validated.
    organisation: Organisation | None = None
    #: VAE dossier: embed the evidence files as PDF/A-3 associated files.
    annex_evidence: bool = False
    #: A snapshot built by a package above this one (``app.vae.printing``): printed as it is.
    snapshot: dict | None = None


def build_snapshot(request: PrintRequest) -> dict:
    """The snapshot of a print request. :raises ContextError:"""
    kind, language, holder = request.kind, request.language, request.holder
    if request.snapshot is not None:
        return request.snapshot
    if kind == DocumentKind.PORTFOLIO:
        return build_portfolio(
            holder,
            language,
            experience_ids=request.experience_ids or None,
            validated_only=request.organisation is not None,
            organisation=request.organisation,
        )
    if kind == DocumentKind.ATTESTATION:
        experience = db.session.get(Experience, request.experience_ids[0]) if request.experience_ids else None
        if experience is None:
            raise ContextError("not_mission")
        return build_attestation(holder, experience, language)
    if kind == DocumentKind.VAE:
        return build_vae(holder, request.framework_slug, language, annex_evidence=request.annex_evidence)
    if request.opinion is None:
        raise ContextError("no_experience")
    return build_opinion(request.opinion, language)


def request_spec(request: PrintRequest) -> dict:
    """The print request as plain data (ids), stored with its render job."""
    return {
        "kind": request.kind.value,
        "language": request.language,
        "holder_id": request.holder.id,
        "experience_ids": sorted(request.experience_ids),
        "framework_slug": request.framework_slug,
        "opinion_id": request.opinion.id if request.opinion is not None else None,
        "organisation_id": request.organisation.id if request.organisation is not None else None,
        "annex_evidence": request.annex_evidence,
    }


def request_document(actor: User, request: PrintRequest) -> Document | RenderJob:
    """Return the already issued document when nothing changed, else a queued :class:`RenderJob`.

    :raises ContextError: the document cannot be built (nothing validated, facts not confirmed…).
    """
    if request.language not in LANGUAGES:
        raise ContextError("language")
    # Read before the snapshot is built: a change committed from now on marks anew, and the mark is then kept.
    marks = stale_marks(request.holder.id)
    snapshot_at = utcnow()
    snapshot = build_snapshot(request)
    snapshot_hash = content_hash(snapshot)
    key = cache_key(request.kind.value, request.language, snapshot_hash)
    existing = db.session.scalar(
        sa.select(Document)
        .where(Document.cache_key == key)
        .order_by(Document.id.desc())
        .limit(1)
        # Its snapshot is the one just built: decoding the stored copy again would cost as much as a download.
        .options(load_only(*LISTED_COLUMNS))
    )
    if existing is not None and document_path(existing).exists():
        if existing.id in marks:
            confirm_current(existing, marks[existing.id])
        log_event("document.reused", actor=actor, obj=existing, organisation_id=existing.issuer_organisation_id)
        return existing
    job = RenderJob(
        requested_by_id=actor.id,
        holder_id=request.holder.id,
        kind=request.kind,
        language=request.language,
        cache_key=key,
        # The request itself, so that the document can be prepared again in the background when what it shows
        # changes (app.documents.refresh).
        payload={
            "snapshot": snapshot,
            "snapshot_hash": snapshot_hash,
            "request": request_spec(request),
            # A change marked after this time is not in the snapshot: the document is issued marked (store_render).
            "snapshot_at": snapshot_at.isoformat(),
        },
    )
    db.session.add(job)
    db.session.flush()
    log_event(
        "document.requested",
        actor=actor,
        obj=job,
        organisation_id=snapshot["issuer"].get("organisation_id"),
        data={"kind": request.kind.value, "language": request.language, "snapshot_hash": snapshot_hash},
    )
    return job


def stale_marks(holder_id: int) -> dict[int, datetime]:
    """The holder's documents marked as possibly out of date, with their marks (see :attr:`Document.stale_at`)."""
    return dict(
        db.session.execute(
            sa.select(Document.id, Document.stale_at).where(
                Document.holder_id == holder_id, Document.stale_at.is_not(None)
            )
        ).all()
    )


def confirm_current(document: Document, mark: datetime) -> bool:
    """Clear the stale mark of ``document``, found unchanged by a snapshot built after ``mark`` was read.

    A guarded UPDATE: a change committed since (which marks again, with a new time) keeps the document marked,
    since the snapshot may not have seen it. :returns: whether the mark was cleared.
    """
    cleared = db.session.execute(
        sa.update(Document)
        .where(Document.id == document.id, Document.stale_at == mark)
        .values(stale_at=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    if cleared:
        set_committed_value(document, "stale_at", None)
    return bool(cleared)


def retry_job(actor: User, job: RenderJob) -> Document | RenderJob:
    """Print a failed job again from the same snapshot: a new queued :class:`RenderJob` (the caller dispatches
    it), or the document already issued for that very content (a retry that was clicked twice)."""
    existing = db.session.scalar(
        sa.select(Document).where(Document.cache_key == job.cache_key).order_by(Document.id.desc()).limit(1)
    )
    if existing is not None and document_path(existing).exists():
        return existing
    again = RenderJob(
        requested_by_id=actor.id,
        holder_id=job.holder_id,
        kind=job.kind,
        language=job.language,
        cache_key=job.cache_key,
        payload=job.payload,
    )
    db.session.add(again)
    db.session.flush()
    log_event(
        "document.retried",
        actor=actor,
        obj=again,
        organisation_id=job.snapshot.get("issuer", {}).get("organisation_id"),
        data={"failed_job": job.id, "error": job.error},
    )
    return again


# --- Rendering -----------------------------------------------------------------------------------------------


def _formatters(language: str) -> dict:
    timezone = current_app.config.get("BABEL_DEFAULT_TIMEZONE", "Europe/Paris")

    def fmt_date(value, fmt="medium"):  # "1 févr. 2024", "Feb 1, 2024": short, never ISO
        if not value:
            return ""
        parsed = datetime.fromisoformat(value) if isinstance(value, str) else value
        return format_date(parsed.date() if isinstance(parsed, datetime) else parsed, fmt, locale=language)

    def fmt_datetime(value, fmt="medium"):
        if not value:
            return ""
        parsed = datetime.fromisoformat(value) if isinstance(value, str) else value
        return format_datetime(parsed, fmt, tzinfo=timezone, locale=language)

    def fmt_number(value):
        # Snapshots are plain data and may come from an older import: only numbers are printed as numbers.
        number = as_count(value)
        return format_decimal(number, locale=language) if number is not None else ""

    return {"fmt_date": fmt_date, "fmt_datetime": fmt_datetime, "fmt_number": fmt_number, "css_string": css_string}


def qr_data_uri(url: str) -> str:
    import segno  # optional dependency

    return segno.make(url, error="m").png_data_uri(scale=6, border=2, dark="#000000", light="#ffffff")


def verify_url(code: str) -> str:
    return f"{current_app.config['BASE_URL']}/verify/{codes.formatted(code)}"


def render_html(kind: DocumentKind, language: str, snapshot: dict, *, code: str, issued_at: datetime) -> str:
    """The document's HTML (autoescaped template) in ``language``."""
    url = verify_url(code)
    with force_locale(language):
        html = render_template(
            TEMPLATES[kind],
            doc=snapshot,
            language=language,
            code=codes.formatted(code),
            verify_url=url,
            qr=qr_data_uri(url),
            issued_at=issued_at.isoformat(),
            template_version=TEMPLATE_VERSION,
            asset=asset_url,
            **_formatters(language),
        )
    return french_typography(html) if language == "fr" else html


def render_job_payload(kind, language, snapshot, *, code, issued_at) -> dict:
    """The child process's input: HTML, the snapshot attachment, the signing key (the issuing NGO's for the
    documents it issues: see :func:`app.documents.identities.signer_for`)."""
    signing, signer_subject = signer_for(kind, snapshot["issuer"].get("organisation_id"))
    html = render_html(kind, language, snapshot, code=code, issued_at=issued_at)
    return {
        "html": html,
        "variant": "pdf/a-3a",
        "attachments": [
            {
                "name": ALLOWED_SNAPSHOT_NAME,
                "data_b64": base64.b64encode(canonical_json(snapshot)).decode(),
                "mime": "application/json",
                "description": "Acquis data snapshot",
                "relationship": "Data",
            },
            *annex_attachments(snapshot),
        ],
        "signing": {
            "key_path": signing.key_path,
            "cert_path": signing.cert_path,
            "passphrase": signing.passphrase,
            "key_pem": signing.key_pem,
            "cert_pem": signing.cert_pem,
            "tsa_url": signing.tsa_url,
        },
        "signature": {
            "reason": f"Acquis {kind.value} {codes.formatted(code)}",
            "location": current_app.config["BASE_URL"],
            "name": snapshot["issuer"]["name"],
            "signer": signer_subject,
        },
    }


def annex_attachments(snapshot: dict) -> list[dict]:
    """The evidence files a VAE dossier annexes, as associated files (relationship Supplement, with their MIME
    type); each file is read from storage and must still have the SHA-256 the snapshot records."""
    annexes = snapshot.get("annexes") or []
    if not annexes:
        return []
    files = {
        e.id: e for e in db.session.scalars(sa.select(Evidence).where(Evidence.id.in_([a["id"] for a in annexes])))
    }
    attachments = []
    for annex in annexes:
        evidence = files.get(annex["id"])
        if evidence is None:
            continue
        data = storage.path_for(evidence.storage_key).read_bytes()
        if hashlib.sha256(data).hexdigest() != annex["sha256"]:
            continue  # the file changed since the snapshot: never annex something else than what is listed
        attachments.append(
            {
                "name": annex["name"],
                "data_b64": base64.b64encode(data).decode(),
                "mime": annex["mime"],
                "description": annex["title"],
                "relationship": "Supplement",
            }
        )
    return attachments


def _unused_code() -> str:
    while True:
        code = codes.new_code()
        if db.session.scalar(sa.select(Document.id).where(Document.code == code)) is None:
            return code


@dataclass(frozen=True)
class PreparedRender:
    """A job made ready for the child process: plain data only, so that no database transaction (and, on SQLite,
    no lock) needs to stay open while the child renders."""

    code: str
    issued_at: datetime
    payload: dict


def prepare_render(job: RenderJob) -> PreparedRender:
    """Choose the document's code and build the child's input (HTML, attachments, signing key)."""
    code = _unused_code()
    issued_at = utcnow()
    payload = render_job_payload(job.kind, job.language, job.payload["snapshot"], code=code, issued_at=issued_at)
    return PreparedRender(code=code, issued_at=issued_at, payload=payload)


def render_prepared(prepared: PreparedRender) -> RenderOutput:
    """Render and sign in the sandboxed child process. :raises RenderFailed:"""
    return render_in_child(
        prepared.payload,
        instance_dir=current_app.config["INSTANCE_DIR"],
        limits=RenderLimits.from_config(current_app.config),
    )


def run_job(job: RenderJob) -> Document:
    """Render, sign and store the job's document (flushes; the caller commits). :raises RenderFailed:"""
    prepared = prepare_render(job)
    return store_render(job, prepared, render_prepared(prepared))


def store_render(job: RenderJob, prepared: PreparedRender, output: RenderOutput) -> Document:
    """Keep the signed PDF and record its :class:`Document`; the job is done (flushes; the caller commits)."""
    snapshot = job.payload["snapshot"]
    code, issued_at = prepared.code, prepared.issued_at
    if output.denied:
        logger.warning("document job %s: refused resources %s", job.id, output.denied[:5])
    storage_key = secrets.token_hex(16)
    directory = documents_dir()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{storage_key}.pdf"
    temporary = path.with_suffix(".part")
    temporary.write_bytes(output.pdf)
    os.replace(temporary, path)
    after_rollback(partial(path.unlink, missing_ok=True))  # no file without its row
    document = Document(
        code=code,
        kind=job.kind,
        language=job.language,
        template_version=TEMPLATE_VERSION,
        holder_id=job.holder_id,
        holder_name=snapshot["holder"]["name"],
        issuer_organisation_id=snapshot["issuer"].get("organisation_id"),
        issuer_name=snapshot["issuer"]["name"],
        requested_by_id=job.requested_by_id,
        created_at=issued_at,
        snapshot=snapshot,
        snapshot_hash=job.payload["snapshot_hash"],
        cache_key=job.cache_key,
        sha256=hashlib.sha256(output.pdf).hexdigest(),
        size=len(output.pdf),
        pages=output.pages,
        storage_key=storage_key,
        signed_by=prepared.payload["signature"]["signer"],
        stale_at=_marked_since(job),
    )
    db.session.add(document)
    db.session.flush()
    job.document_id = document.id
    job.state = JobState.DONE
    job.finished_at = utcnow()
    log_event(
        "document.issued",
        obj=document,
        organisation_id=document.issuer_organisation_id,
        data={"kind": job.kind.value, "code": code, "sha256": document.sha256, "seconds": round(output.seconds, 2)},
    )
    return document


def _marked_since(job: RenderJob) -> datetime | None:
    """The latest mark on the holder's documents if a change was marked after the job's snapshot was built (it may
    not show that change: the new document is issued marked), else ``None``."""
    taken = (job.payload or {}).get("snapshot_at")
    if not taken or job.holder_id is None:
        return None
    latest = db.session.scalar(sa.select(sa.func.max(Document.stale_at)).where(Document.holder_id == job.holder_id))
    return latest if latest is not None and latest >= datetime.fromisoformat(taken) else None


def _start(job_id: str) -> RenderJob | None:
    """Claim a queued job (conditional update: one runner only)."""
    claimed = db.session.execute(
        sa.update(RenderJob)
        .where(RenderJob.id == job_id, RenderJob.state == JobState.QUEUED)
        .values(state=JobState.RUNNING, started_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    if claimed != 1:
        return None
    job = db.session.get(RenderJob, job_id)
    db.session.refresh(job)
    return job


def execute(job_id: str, *, commit: bool = True) -> RenderJob | None:
    """Run one queued job to its end: done, or failed with the reason recorded.

    With ``commit`` (background runners) each step commits on its own: the claim, the preparation, then the
    document once the child has rendered it — no transaction stays open while the child works. Any failure, of
    the renderer or not (bad data, a locked database, a full disk), is rolled back and recorded at once as the
    job's failure, so the progress page says so instead of "Printing…" until the interrupt limit. Without
    ``commit`` (sync mode: a request or a command) the job runs inside the caller's transaction.
    """
    job = _start(job_id)
    if job is None:
        return None
    if not commit:
        try:
            run_job(job)
        except RenderFailed as failure:
            logger.warning("document job %s failed: %s", job_id, failure)
            _mark_failed(job, failure.code)
        return job
    db.session.commit()
    try:
        prepared = prepare_render(job)
        db.session.commit()  # nothing written: ends the transaction before the long render
        output = render_prepared(prepared)
        store_render(db.session.get(RenderJob, job_id), prepared, output)
        db.session.commit()
    except Exception as error:
        db.session.rollback()
        code = failure_code(error)
        if isinstance(error, RenderFailed):
            logger.warning("document job %s failed: %s", job_id, error)
        else:
            logger.exception("document job %s failed (%s)", job_id, code)
        record_failure(job_id, code)
    job = db.session.get(RenderJob, job_id)
    db.session.commit()  # a long-lived runner keeps no transaction (on SQLite, no lock) open between jobs
    return job


#: Attempts at recording a failure when the database itself is busy (each one waits for the lock first).
FAILURE_RECORD_ATTEMPTS = 3


def failure_code(error: BaseException) -> str:
    """The key of :data:`RENDER_ERRORS` that explains ``error`` to the person who asked for the document."""
    if isinstance(error, RenderFailed):
        return error.code if error.code in RENDER_ERRORS else "error"
    if isinstance(error, sa.exc.OperationalError):  # "database is locked", a lost connection…
        return "database"
    return "error"


def _mark_failed(job: RenderJob, code: str) -> None:
    job.state = JobState.FAILED
    job.error = code
    job.finished_at = utcnow()
    db.session.flush()


def record_failure(job_id: str, code: str) -> bool:
    """Mark the running job ``job_id`` failed with ``code`` and commit (its own transaction).

    Conditional on the job still running, so it never overwrites a finished job. When even this fails (the
    database is unreachable), the job is left to :func:`fail_if_abandoned`. True when recorded.
    """
    for attempt in range(1, FAILURE_RECORD_ATTEMPTS + 1):
        try:
            recorded = db.session.execute(
                sa.update(RenderJob)
                .where(RenderJob.id == job_id, RenderJob.state == JobState.RUNNING)
                .values(state=JobState.FAILED, error=code, finished_at=utcnow())
                .execution_options(synchronize_session=False)
            ).rowcount
            db.session.commit()
            return recorded == 1
        except sa.exc.OperationalError:
            db.session.rollback()
            logger.exception("document job %s: recording its failure failed (attempt %d)", job_id, attempt)
    return False


def dispatch(job: RenderJob) -> None:
    """Start a queued job according to ``DOCUMENT_RENDER_MODE`` (sync, thread or rq).

    ``sync`` renders now, inside the transaction. The background modes start only once the transaction that
    created the job has committed: a runner started earlier would not see the job's row yet (PostgreSQL) and
    would leave it queued forever.
    """
    mode = render_mode()
    if mode == "sync":
        execute(job.id, commit=False)
        return
    start = _enqueue_rq if mode == "rq" else _start_thread
    after_commit(partial(start, current_app._get_current_object(), job.id))


def render_mode() -> str:
    """``DOCUMENT_RENDER_MODE`` if set, else ``rq`` when ``REDIS_URL`` is configured, else ``thread``."""
    return dispatch_mode(current_app.config)


#: The RQ job function: the worker's entry point module builds the app, documents never does.
RQ_JOB = "app.jobs.render_document"


def _enqueue_rq(app, job_id: str) -> None:
    enqueue(app, RQ_JOB, job_id)


def _start_thread(app, job_id: str) -> None:
    start_thread(app, execute, job_id, name=f"render-{job_id[:8]}")


# --- Attestations ------------------------------------------------------------------------------------------------


def attestable_missions(experiences) -> list:
    """The missions among ``experiences`` whose facts an NGO confirmed (an attestation can be printed), in order.

    One statement for all of them: the same rule as :func:`app.documents.context.attestation_issuer`, batched.
    """
    missions = [e for e in experiences if e.kind == ExperienceKind.MISSION]
    if not missions:
        return []
    confirmed = set(
        db.session.scalars(
            sa.select(Submission.experience_id)
            .where(Submission.experience_id.in_([e.id for e in missions]), Submission.facts_decision.is_not(None))
            .distinct()
        )
    )
    return [e for e in missions if e.id in confirmed]


# --- Lookup and verification -------------------------------------------------------------------------------------


def get_job(job_id: str) -> RenderJob | None:
    if not job_id or len(job_id) > 36:
        return None
    return db.session.get(RenderJob, job_id)


def fail_if_abandoned(job: RenderJob) -> RenderJob:
    """Mark ``job`` failed ("interrupted") when it has outlived every limit a live runner would enforce.

    A job whose runner died with its process (a restart in thread mode, a lost RQ worker) would otherwise stay
    "waiting" for ever. The update is conditional on the state, so a runner that is in fact still alive and
    finishes first wins.
    """
    limits = RenderLimits.from_config(current_app.config)
    now = utcnow()
    if job.state == JobState.QUEUED:
        deadline = job.created_at + timedelta(seconds=limits.slot_wait_seconds + limits.wall_seconds)
    elif job.state == JobState.RUNNING and job.started_at is not None:
        deadline = job.started_at + timedelta(seconds=limits.wall_seconds)
    else:
        return job
    if now < deadline + timedelta(seconds=ABANDON_GRACE_SECONDS):
        return job
    failed = db.session.execute(
        sa.update(RenderJob)
        .where(RenderJob.id == job.id, RenderJob.state == job.state)
        .values(state=JobState.FAILED, error="interrupted", finished_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    db.session.refresh(job)
    if failed:
        logger.warning("document job %s abandoned (%s since %s)", job.id, job.kind.value, job.created_at)
    return job


def get_document(document_id: int) -> Document | None:
    return db.session.scalar(
        sa.select(Document)
        .where(Document.id == document_id)
        .options(selectinload(Document.holder), selectinload(Document.issuer_organisation))
    )


def get_downloadable(document_id: int) -> Document | None:
    """The document ``document_id`` with only what serving its file needs (one indexed row; the other columns
    load if asked for, e.g. by a share's grant rule that reads the snapshot)."""
    return db.session.scalar(_downloadable_query(), {"document_id": document_id})


@cache
def _downloadable_query() -> sa.Select:
    # Built once: composing the statement and its loader options cost a tenth of a download's CPU.
    return sa.select(Document).where(Document.id == sa.bindparam("document_id")).options(load_only(*DOWNLOAD_COLUMNS))


def listed_documents_of(holder: User, limit: int = 50) -> list[Document]:
    """The holder's documents, most recent first, without their snapshots (for the list of their documents)."""
    return list(
        db.session.scalars(
            sa.select(Document)
            .where(Document.holder_id == holder.id)
            .order_by(Document.created_at.desc(), Document.id.desc())
            .options(load_only(*LISTED_COLUMNS))
            .limit(limit)
        )
    )


def latest_of_each_kind(documents: list[Document]) -> list[Document]:
    """The most recent document of each kind among ``documents`` (most recent first)."""
    latest: dict[DocumentKind, Document] = {}
    for document in documents:
        latest.setdefault(document.kind, document)
    return list(latest.values())


def documents_of(holder: User, limit: int = 50) -> list[Document]:
    return list(
        db.session.scalars(
            sa.select(Document)
            .where(Document.holder_id == holder.id)
            .order_by(Document.created_at.desc(), Document.id.desc())
            .limit(limit)
        )
    )


def find_by_code(text: str) -> Document | None:
    """The document with the typed code (typos caught by the check character give ``None``)."""
    code = codes.normalise(text)
    if code is None:
        return None
    return db.session.scalar(sa.select(Document).where(Document.code == code))


@dataclass(frozen=True)
class EntryStatus:
    entry: dict
    status: str  # valid | superseded | revoked | withdrawn | awaiting_countersignature | unknown
    changed_at: datetime | None = None
    reason: str = ""
    #: The trainer who gave the validation has erased their account: the page says "a former trainer" instead of
    #: the name printed in the document (the PDF cannot change; the live page must not keep naming them).
    validator_erased: bool = False
    #: The second trainer who countersigned (name, date), when the NGO required one (issue 20).
    countersigner: str = ""
    countersigned_at: datetime | None = None
    #: Other organisations' current validations of the same claim version that the document does not list (it was
    #: printed before they validated, or before documents listed every validator): each {"validator",
    #: "organisation", "validated_at"}, the validator None when their account was erased (issue 20).
    also_validated_by: tuple[dict, ...] = ()


def entry_statuses(document: Document) -> list[EntryStatus]:
    """The live status of each validation the document relies on, each still valid one with the other
    organisations' current validations of the same version the document does not list (at most four statements)."""
    entries = document.snapshot.get("entries", [])
    ids = [e["validation_id"] for e in entries if e.get("validation_id")]
    validations = (
        {v.id: v for v in db.session.scalars(sa.select(ClaimValidation).where(ClaimValidation.id.in_(ids)))}
        if ids
        else {}
    )
    # A validation still here names its trainer while the account exists (erasure sets validator_id to NULL);
    # for one that is gone (its claim was deleted), the audit log says who gave it.
    missing: dict[int, set[int]] = {}
    for entry in entries:
        validation_id = entry.get("validation_id")
        if validation_id and validation_id not in validations and entry.get("claim_id"):
            missing.setdefault(entry["claim_id"], set()).add(validation_id)
    erased = erased_validators(missing)
    result = []
    for entry in entries:
        validation = validations.get(entry.get("validation_id"))
        if validation is None:
            result.append(EntryStatus(entry, "unknown", validator_erased=entry.get("validation_id") in erased))
            continue
        result.append(_record_status(entry, validation))
    also = _unlisted_validations(list(validations.values()), set(ids))
    return [
        dataclass_replace(item, also_validated_by=tuple(also.get(item.entry.get("validation_id"), ())))
        if item.status == "valid"
        else item
        for item in result
    ]


def _unlisted_validations(printed: list[ClaimValidation], listed: set[int]) -> dict[int, list[dict]]:
    """For each printed validation still standing, the other organisations' current validations of the same claim
    version missing from the document (one statement): the verify page names every validator."""
    versions = {v.claim_id: v for v in printed if v.claim_id is not None and v.is_current}
    if not versions:
        return {}
    found: dict[int, list[dict]] = {}
    rows = db.session.execute(
        sa.select(
            ClaimValidation.id,
            ClaimValidation.claim_id,
            ClaimValidation.claim_version,
            ClaimValidation.organisation_id,
            ClaimValidation.validator_id,
            ClaimValidation.validator_name,
            ClaimValidation.validated_at,
            Organisation.name,
        )
        .join(Organisation, Organisation.id == ClaimValidation.organisation_id)
        .where(ClaimValidation.claim_id.in_(list(versions)), ClaimValidation.is_current)
        .order_by(ClaimValidation.validated_at, ClaimValidation.id)
    )
    for row in rows:
        shown = versions[row.claim_id]
        if row.id in listed or row.claim_version != shown.claim_version or row.organisation_id == shown.organisation_id:
            continue
        found.setdefault(shown.id, []).append(
            {
                "validator": row.validator_name if row.validator_id is not None else None,
                "organisation": row.name,
                "validated_at": row.validated_at,
            }
        )
    return found


def _record_status(entry: dict, validation: ClaimValidation) -> EntryStatus:
    """What the NGO's record says today: revoked (by the NGO, with its reason) wins over withdrawn (the holder
    deleted the claim: the record stays, issue 20), which wins over superseded."""
    former = validation.validator_id is None
    signed = {"countersigner": validation.countersigner_name, "countersigned_at": validation.countersigned_at}
    if validation.revoked_at is not None:
        return EntryStatus(entry, "revoked", validation.revoked_at, validation.revoked_reason, former, **signed)
    if validation.withdrawn_at is not None or validation.claim_id is None:
        return EntryStatus(entry, "withdrawn", validation.withdrawn_at, validator_erased=former, **signed)
    if validation.superseded_at is not None:
        return EntryStatus(entry, "superseded", validation.superseded_at, validator_erased=former, **signed)
    if validation.awaiting_countersignature:
        return EntryStatus(entry, "awaiting_countersignature", validator_erased=former)
    return EntryStatus(entry, "valid", validator_erased=former, **signed)


def printed_referents(snapshot: dict) -> list[dict]:
    """The host referents' answers a document printed (attestation; each experience of a dossier or opinion)."""
    found = list(snapshot.get("referents") or [])
    for experience in snapshot.get("experiences") or []:
        found += experience.get("referents") or (experience.get("confirmations") or {}).get("referents") or []
    return [{**r, "at": datetime.fromisoformat(r["at"]) if r.get("at") else None} for r in found]


@dataclass(frozen=True)
class UploadVerdict:
    outcome: str  # genuine | unknown | not_pdf | too_big | empty
    document: Document | None = None
    signature_ok: bool = False
    sha256: str = ""


def verify_upload(data: bytes) -> UploadVerdict:
    """Is ``data`` an unaltered Acquis document? Its SHA-256 must equal a stored document's, and the signature is
    checked too (on our own bytes only: a foreign file is never parsed)."""
    if not data:
        return UploadVerdict("empty")
    if len(data) > int(setting(current_app.config, "DOCUMENT_VERIFY_MAX_BYTES", VERIFY_MAX_BYTES)):
        return UploadVerdict("too_big")
    if data.lstrip()[:5] != b"%PDF-":
        return UploadVerdict("not_pdf")
    digest = hashlib.sha256(data).hexdigest()
    document = db.session.scalar(sa.select(Document).where(Document.sha256 == digest))
    if document is None:
        return UploadVerdict("unknown", sha256=digest)
    roots = trust_roots(current_app.config) + organisation_trust(document.issuer_organisation_id)
    check = check_signature(data, roots)
    return UploadVerdict("genuine", document=document, signature_ok=check.ok, sha256=digest)


# --- Opinions -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OpinionData:
    author_role: str = ""
    target_certification: str = ""
    relationship_text: str = ""
    engagement: str = ""
    competences: str = ""
    opinion: str = ""


def save_opinion(
    actor: User, organisation: Organisation, volunteer: User, data: OpinionData, opinion: Opinion | None = None
) -> Opinion:
    """Create or update the NGO's opinion about ``volunteer`` (trainers and admins of the NGO).

    An opinion is frozen on the NGO's validations current when it is written: while they are unchanged its text
    may be edited; once the NGO validated (or revoked) something since, saving writes a new version, and the old
    one is marked superseded (documents printed from it keep verifying and say so).
    """
    validation_ids = current_validation_ids(organisation, volunteer)
    created = opinion is None or opinion_is_stale(opinion, validation_ids)
    if created:
        previous = opinion
        opinion = Opinion(organisation=organisation, volunteer=volunteer, organisation_id=organisation.id)
        opinion.volunteer_id = volunteer.id
        opinion.version = previous.version + 1 if previous is not None else 1
        if not opinion.can_edit(actor):
            raise PermissionError("not allowed")
        if previous is not None:
            previous.superseded_at = utcnow()
        db.session.add(opinion)
    if not opinion.can_edit(actor):
        raise PermissionError("not allowed")
    opinion.validation_ids = validation_ids
    opinion.author_id = actor.id
    opinion.author_name = actor.display_name
    for name, value in data.__dict__.items():
        setattr(opinion, name, value)
    db.session.flush()
    log_event(
        "opinion.created" if created else "opinion.updated",
        actor=actor,
        obj=opinion,
        organisation_id=organisation.id,
        data={"volunteer_id": volunteer.id, "version": opinion.version},
    )
    return opinion


def current_validation_ids(organisation: Organisation, volunteer: User) -> list[int]:
    """The ids of the NGO's current validations of ``volunteer``'s claims, sorted."""
    return sorted(
        db.session.scalars(
            sa.select(ClaimValidation.id)
            .join(Claim, Claim.id == ClaimValidation.claim_id)
            .where(
                Claim.owner_id == volunteer.id,
                ClaimValidation.organisation_id == organisation.id,
                ClaimValidation.is_current,
            )
        )
    )


def opinion_is_stale(opinion: Opinion, validation_ids: list[int] | None = None) -> bool:
    """Whether the NGO validated or revoked something since ``opinion`` was written (a new version is needed)."""
    if validation_ids is None:
        validation_ids = current_validation_ids(opinion.organisation, opinion.volunteer)
    return bool(opinion.validation_ids) and sorted(opinion.validation_ids) != validation_ids


def superseded_opinion(document: Document) -> Opinion | None:
    """For an opinion document: its opinion when a newer version replaced it (the verify page says so)."""
    if document.kind != DocumentKind.OPINION:
        return None
    opinion_id = (document.snapshot.get("opinion") or {}).get("id")
    opinion = db.session.get(Opinion, opinion_id) if opinion_id else None
    return opinion if opinion is not None and opinion.superseded_at is not None else None


def current_opinion(organisation_id: int, volunteer_id: int) -> Opinion | None:
    """The NGO's latest (not superseded) opinion about the volunteer."""
    return db.session.scalar(
        sa.select(Opinion)
        .where(
            Opinion.organisation_id == organisation_id,
            Opinion.volunteer_id == volunteer_id,
            Opinion.superseded_at.is_(None),
        )
        .order_by(Opinion.id.desc())
        .limit(1)
    )


def opinions_about(volunteer: User) -> list[Opinion]:
    return list(
        db.session.scalars(
            sa.select(Opinion)
            .where(Opinion.volunteer_id == volunteer.id)
            .options(selectinload(Opinion.organisation))
            .order_by(Opinion.updated_at.desc())
        )
    )


def opinions_of_organisations(organisation_ids: list[int]) -> list[Opinion]:
    if not organisation_ids:
        return []
    return list(
        db.session.scalars(
            sa.select(Opinion)
            .where(Opinion.organisation_id.in_(organisation_ids), Opinion.superseded_at.is_(None))
            .options(selectinload(Opinion.organisation), selectinload(Opinion.volunteer))
            .order_by(Opinion.updated_at.desc())
        )
    )


def validated_volunteers(organisation_ids: list[int]) -> list[tuple[Organisation, User]]:
    """(NGO, volunteer) pairs where the NGO holds a current validation of one of the volunteer's claims."""
    if not organisation_ids:
        return []

    rows = db.session.execute(
        sa.select(ClaimValidation.organisation_id, Claim.owner_id)
        .join(Claim, Claim.id == ClaimValidation.claim_id)
        .where(
            ClaimValidation.organisation_id.in_(organisation_ids),
            ClaimValidation.is_current,
        )
        .distinct()
    ).all()
    organisations = {
        o.id: o for o in db.session.scalars(sa.select(Organisation).where(Organisation.id.in_(organisation_ids)))
    }
    users = (
        {u.id: u for u in db.session.scalars(sa.select(User).where(User.id.in_({r[1] for r in rows})))} if rows else {}
    )
    return sorted(
        ((organisations[o], users[u]) for o, u in rows if o in organisations and u in users),
        key=lambda pair: (pair[0].name, pair[1].display_name),
    )
