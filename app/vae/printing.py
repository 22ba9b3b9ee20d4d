"""The project's documents for the certifier, printed through the documents package — the one module of ``vae``
that knows about printing: it builds a plain snapshot (no ORM object leaves this module) and hands it to
:func:`app.documents.operations.request_document`, so the rendering engine behind it (signed PDF/A, sandboxed
worker, render queue) may move without touching the rest of the package.

Documents are printed in French, the certifiers' language, whatever the interface language: the livret 1 draft
follows the structure of Cerfa n° 12818*02, the dossier de faisabilité draft the France VAE model, and the dossier
de validation (signed, with the evidence annexed as PDF/A-3 associated files) the common skeleton of a livret 2.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import url_for
from flask_babel import lazy_gettext as _l

from app.claims.models import NARRATIVE_PARTS, Claim, Evidence
from app.documents import operations as document_ops
from app.documents.context import ContextError, validation_entry
from app.documents.models import Document, DocumentKind, JobState
from app.experiences.models import ExperienceKind
from app.extensions import db
from app.frameworks.models import localized
from app.vae import gap
from app.vae import operations as ops
from app.vae.models import DRAFT_FIELDS, VaeEvent, VaeProject

LANGUAGE = "fr"

#: Kind → label of the documents a project prints.
DOCUMENTS = {
    "livret1": _l("Livret 1 draft (Cerfa 12818*02)"),
    "faisabilite": _l("Dossier de faisabilité draft"),
    "validation": _l("Dossier de validation (signed, with annexes)"),
}
KINDS = {
    "livret1": DocumentKind.VAE_LIVRET1,
    "faisabilite": DocumentKind.VAE_FEASIBILITY,
    "validation": DocumentKind.VAE_VALIDATION,
}
TEMPLATES = {
    DocumentKind.VAE_LIVRET1: "vae/pdf/livret1.html",
    DocumentKind.VAE_FEASIBILITY: "vae/pdf/faisabilite.html",
    DocumentKind.VAE_VALIDATION: "vae/pdf/validation.html",
}
_EXTENSIONS = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}


class NotReady(Exception):
    """The document cannot be printed yet; ``message`` says why (translated)."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = message


def register_templates(app=None) -> None:
    """Tell the documents package which template prints each VAE kind; called by ``create_app``
    (``app.PAGE_EXTENSIONS``), never as a side effect of an import."""
    for kind, template in TEMPLATES.items():
        document_ops.TEMPLATES.setdefault(kind, template)


def _fr(value) -> str:
    return localized(value, LANGUAGE)[0]


def build_snapshot(project: VaeProject, kind: str) -> dict:
    """The plain data of document ``kind`` of ``project`` (fixed number of statements)."""
    version = project.framework_version
    certification = dict(version.certification or {})
    analysis = gap.analyse(project)
    drafts = ops.drafts_of(project)
    claim_ids = {i for d in drafts.values() for i in d.claim_ids}
    evidence_ids = {i for d in drafts.values() for i in d.evidence_ids}
    claims = {
        c.id: c
        for c in db.session.scalars(
            sa.select(Claim).where(Claim.id.in_(claim_ids or [0]), Claim.owner_id == project.owner_id)
        )
    }
    evidence = {
        e.id: e
        for e in db.session.scalars(
            sa.select(Evidence).where(Evidence.id.in_(evidence_ids or [0]), Evidence.owner_id == project.owner_id)
        )
    }
    experiences = analysis.experiences
    entries = _entries(analysis, drafts)
    blocs = []
    for bloc in analysis.blocs:
        draft = drafts.get(bloc.code)
        blocs.append(
            {
                "code": bloc.code,
                "title": _fr(bloc.node.title),
                "required_level": bloc.required,
                "status": bloc.status,
                "counts": bloc.counts,
                "competences": [
                    {"code": c.node.code, "title": _fr(c.node.title), "status": c.status} for c in bloc.competences
                ],
                "fields": {name: (draft.fields or {}).get(name, "") for name in DRAFT_FIELDS} if draft else {},
                "words": draft.word_count if draft else 0,
                "situations": [
                    {
                        "experience": experiences[claims[i].experience_id].title
                        if claims[i].experience_id in experiences
                        else "",
                        "code": claims[i].node.code,
                        "title": _fr(claims[i].node.title),
                        **{part: getattr(claims[i], part) or "" for part in NARRATIVE_PARTS},
                    }
                    for i in (draft.claim_ids if draft else [])
                    if i in claims
                ],
                "evidence": [evidence[i].id for i in (draft.evidence_ids if draft else []) if i in evidence],
                "checklist": [[label, done] for _key, label, done in ops.checklist(draft)],
            }
        )
    experience_rows = [
        {
            "title": e.title,
            "kind": e.kind.value,
            "start_date": e.start_date.isoformat(),
            "end_date": e.end_date.isoformat() if e.end_date else None,
            "duration_days": e.duration_days,
            "hours_per_week": e.hours_per_week,
            "organisation": e.sending_organisation_label,
            "host": e.host_name,
            "country": e.host_country,
            "activities": e.activities or "",
            "hours": getattr(e, "hours", None),
            "certificate": getattr(e, "certificate", "") or "",
        }
        for e in experiences.values()
    ]
    attestations = [
        {"code": d.code, "issued_at": d.created_at.isoformat(), "issuer": d.issuer_name}
        for d in db.session.scalars(
            sa.select(Document)
            .where(Document.holder_id == project.owner_id, Document.kind == DocumentKind.ATTESTATION)
            .order_by(Document.id)
        )
    ]
    annexes = []
    if kind == "validation":
        for bloc in blocs:
            for evidence_id in bloc["evidence"]:
                row = evidence[evidence_id]
                annex = next((a for a in annexes if a["id"] == row.id), None)
                if annex is None:
                    annex = {
                        "id": row.id,
                        "name": f"annexe-{len(annexes) + 1:02d}-{row.sha256[:8]}.{_EXTENSIONS.get(row.mime, 'bin')}",
                        "title": row.title,
                        "mime": row.mime,
                        "sha256": row.sha256,
                        "size": row.size,
                        "claims": [],
                    }
                    annexes.append(annex)
                annex["claims"].append(bloc["code"])
    return {
        "kind": KINDS[kind].value,
        "language": LANGUAGE,
        "holder": {"id": project.owner_id, "name": project.owner.display_name},
        # The candidate's own document: Acquis signs it as a verification service, no NGO issues it.
        "issuer": {"name": "Acquis", "organisation_id": None},
        "title": _fr(version.title),
        "entries": entries,
        "project": {
            "id": project.id,
            "route": project.route.value,
            "whole": project.whole_certification,
            "status": project.status.value,
            "started_on": project.started_on.isoformat(),
            "feasibility_sent_on": project.feasibility_sent_on.isoformat() if project.feasibility_sent_on else None,
            "admissibility_on": project.admissibility_on.isoformat() if project.admissibility_on else None,
        },
        "certification": {
            "title": _fr(version.title),
            "code": str(certification.get("code") or ""),
            "level": certification.get("level"),
            "certifier": str(certification.get("certifier") or ""),
            "version": version.version,
            "example": bool(version.example),
        },
        "blocs": blocs,
        "all_blocs": [{"code": n.code, "title": _fr(n.title)} for n in ops.bloc_nodes(version.id)],
        "experiences": [e for e in experience_rows if e["kind"] != ExperienceKind.TRAINING.value],
        "trainings": [e for e in experience_rows if e["kind"] == ExperienceKind.TRAINING.value],
        "acquired_blocs": [
            {
                "code": b.bloc_code,
                "title": _fr(b.title),
                "decided_on": b.decided_on.isoformat(),
                "certifier": b.certifier,
            }
            for b in ops.acquired_blocs(project.owner)
        ],
        "attestations": attestations,
        "sworn": {"name": project.sworn_name, "at": project.sworn_at.isoformat()} if project.sworn_at else None,
        "annexes": annexes,
    }


def _entries(analysis: gap.GapAnalysis, drafts: dict) -> list[dict]:
    """The NGO validations the document relies on, in the référentiel's order: those behind each chosen bloc's
    competences (covered or partly), then those of the work situations the candidate chose. Each is recorded like in
    every other document, so /verify/<code> shows its live status (valid, revoked, withdrawn, superseded)."""
    by_id = {v.id: v for v in analysis.validations.values()}
    ordered: list[int] = []
    for bloc in analysis.blocs:
        for item in bloc.competences:
            ordered += [i for i in item.validation_ids if i not in ordered]
        draft = drafts.get(bloc.code)
        for claim_id in draft.claim_ids if draft else []:
            validation = analysis.validations.get(claim_id)
            if validation is not None and validation.id not in ordered:
                ordered.append(validation.id)
    return [validation_entry(by_id[i], LANGUAGE) for i in ordered]


def print_project_document(project: VaeProject, kind: str, *, actor) -> str:
    """Print document ``kind`` of ``project``; returns the URL to follow (the document, or its print job).

    :raises NotReady: the dossier de validation before the sworn statement is signed.
    """
    if kind == "validation" and project.sworn_at is None:
        raise NotReady(_l("Sign the sworn statement before exporting the dossier de validation."))
    request = document_ops.PrintRequest(KINDS[kind], LANGUAGE, project.owner, snapshot=build_snapshot(project, kind))
    try:
        result = document_ops.request_document(actor, request)
    except ContextError as error:
        raise NotReady(_l("The document could not be prepared. Please try again later.")) from error
    db.session.add(VaeEvent(project_id=project.id, actor_id=actor.id, kind="document", data={"document": kind}))
    db.session.flush()
    if isinstance(result, Document):
        return url_for("documents.document", document_id=result.id)
    document_ops.dispatch(result)
    if result.state == JobState.DONE and result.document_id:  # rendered in the request (sync mode)
        return url_for("documents.document", document_id=result.document_id)
    return url_for("documents.job", job_id=result.id)
