"""Export of everything a person has in Acquis, as a zip: ``export.json`` (format ``acquis-export/1``, documented
in ``app/portability/FORMAT.md``), the evidence files and the issued documents.

:data:`EXPORT_REGISTRY` says, for every table that refers to a person, where its rows go in the export (or why
they do not); the registry test keeps it complete.
"""

from __future__ import annotations

import io
import json
import zipfile
from datetime import date, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import selectinload

from app.auth.models import User
from app.claims.models import NARRATIVE_PARTS, Claim, Evidence
from app.claims.validations import ClaimValidation
from app.core import storage
from app.core.audit import AuditEvent
from app.core.db import Base, utcnow
from app.documents.files import document_path
from app.documents.models import Document
from app.experiences.models import Experience
from app.extensions import db
from app.frameworks.models import FrameworkNode, FrameworkVersion
from app.organisations.models import Invitation, Membership
from app.portability.framework_files import export_frameworks
from app.portability.models import ImportedConfirmation, ImportedValidation
from app.sharing.models import AdviserNote, Share
from app.validation.models import ReferentRequest

FORMAT = "acquis-export/1"

#: table → where its rows referring to the person go ("-" + reason when they are not exported). Every table with a
#: foreign key to ``users`` (or a person column) must be here (``tests/portability/test_erasure.py`` walks the
#: metadata), and every excluded one must be listed with its reason in FORMAT.md ("Not exported").
EXPORT_REGISTRY: dict[str, str] = {
    "users": "profile + records.account",
    "user_sessions": "records.sessions",
    "recovery_codes": "- secrets (hashes of one-time codes): never exported",
    "memberships": "memberships (organisation names and roles)",
    "invitations": "records.invitations",
    "experiences": "experiences",
    "evidence": "evidence (metadata) + evidence/ files",
    "claims": "experiences[].claims",
    "submissions": "records.submissions",
    "submission_items": "records.submission_items",
    "claim_validations": "experiences[].claims[].validations; withdrawn ones in records.withdrawn_validations",
    "referent_requests": "records.referent_requests",
    "notifications": "records.notifications",
    "survey_participations": "records.survey_participations",
    "documents": "documents (metadata) + documents/ files",
    "document_jobs": "- transient print jobs: a queue entry, deleted once the document is printed",
    "document_opinions": "records.opinions",
    "shares": "records.shares",
    "share_accesses": "records.share_accesses",
    "adviser_notes": "adviser_notes (the adviser's own notes, in their export only; never in the volunteer's)",
    "imported_validations": "experiences[].claims[].validations (verified_by the instance that verified them)",
    "imported_confirmations": "experiences[].referent_confirmations (recorded_by the instance they were given to)",
    "erased_users": "- tombstones of erased accounts: they hold no living person",
    "audit_events": "records.audit_events",
    "suggestion_observations": "- hashed word stems that train the suggestions: no text to give back",
    "vae_projects": "vae_projects",
    "vae_events": "vae_projects[].timeline + records.vae_events",
    "vae_comments": "vae_projects[].comments + records.vae_comments",
    "vae_acquired_blocs": "vae_projects[].acquired_blocs",
}

#: Columns never exported: secrets (hashes of passwords, keys and tokens, second-factor seeds).
SECRET_COLUMNS = frozenset({"password_hash", "totp_secret", "totp_last_step", "key_hash", "token_hash", "code_hash"})
#: Columns naming other people (who decided, who viewed): their ids mean nothing outside this instance.
OTHERS_COLUMNS = frozenset(
    {"approved_by_id", "invited_by_id", "facts_confirmed_by_id", "decided_by_id", "author_id", "resolved_by_id"}
)


EXPERIENCE_FIELDS = (
    "kind",
    "title",
    "start_date",
    "end_date",
    "host_name",
    "host_country",
    "host_city",
    "status_code",
    "working_time",
    "hours_per_week",
    "team_size",
    "budget_managed_eur",
    "people_served",
    "languages_used",
    "context",
    "activities",
    "results",
    "provider",
    "training_kind",
    "hours",
    "certificate",
)
EVIDENCE_FIELDS = ("title", "original_filename", "sha256", "size", "mime", "pages", "width", "height")


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if hasattr(value, "value") and not isinstance(value, (int, str)):
        return value.value
    if isinstance(value, str) and hasattr(value, "value"):  # StrEnum
        return value.value
    return value


def instance_url() -> str:
    return current_app.config["BASE_URL"].rstrip("/")


def build_export(user: User) -> tuple[dict, dict[str, bytes]]:
    """The export document and the files to put beside it (zip path → bytes)."""

    files: dict[str, bytes] = {}
    evidence_rows = list(
        db.session.scalars(sa.select(Evidence).where(Evidence.owner_id == user.id).order_by(Evidence.id))
    )
    evidence_refs = {}
    evidence_out = []
    for index, item in enumerate(evidence_rows, start=1):
        ref = f"e{index}"
        evidence_refs[item.id] = ref
        path = f"evidence/{ref}.{item.extension}"
        try:
            files[path] = storage.path_for(item.storage_key).read_bytes()
        except (OSError, ValueError):
            path = None  # the file was lost: the metadata still says what it was
        evidence_out.append({"ref": ref, **{f: _plain(getattr(item, f)) for f in EVIDENCE_FIELDS}, "file": path})

    experiences = list(
        db.session.scalars(
            sa.select(Experience)
            .where(Experience.owner_id == user.id)
            .options(selectinload(Experience.sending_organisation))
            .order_by(Experience.start_date, Experience.id)
        )
    )
    claims = list(
        db.session.scalars(
            sa.select(Claim)
            .where(Claim.owner_id == user.id)
            .options(
                selectinload(Claim.node).selectinload(FrameworkNode.version).selectinload(FrameworkVersion.framework),
                selectinload(Claim.evidence),
            )
            .order_by(Claim.id)
        )
    )
    claim_ids = [c.id for c in claims]
    validations: dict[int, list] = {i: [] for i in claim_ids}
    for row in db.session.scalars(
        sa.select(ClaimValidation)
        .where(ClaimValidation.claim_id.in_(claim_ids or [0]))
        .options(selectinload(ClaimValidation.organisation))
        .order_by(ClaimValidation.validated_at, ClaimValidation.id)
    ):
        validations[row.claim_id].append(
            {
                "organisation": row.organisation.name,
                "validator_name": row.validator_name,
                "claim_version": row.claim_version,
                "level": row.level,
                "content_hash": row.content_hash,
                "validated_at": _plain(row.validated_at),
                "revoked_at": _plain(row.revoked_at),
                "revoked_reason": row.revoked_reason,
                "superseded_at": _plain(row.superseded_at),
                "verified_by": instance_url(),
            }
        )
    for row in db.session.scalars(
        sa.select(ImportedValidation)
        .where(ImportedValidation.claim_id.in_(claim_ids or [0]))
        .order_by(ImportedValidation.validated_at, ImportedValidation.id)
    ):
        validations[row.claim_id].append(
            {
                "organisation": row.organisation_name,
                "validator_name": row.validator_name,
                "claim_version": row.claim_version,
                "level": row.level,
                "content_hash": row.content_hash,
                "validated_at": _plain(row.validated_at),
                "revoked_at": _plain(row.revoked_at),
                "revoked_reason": (row.data or {}).get("revoked_reason", ""),
                "superseded_at": (row.data or {}).get("superseded_at"),
                "verified_by": row.source_instance,
            }
        )

    frameworks: dict[int, FrameworkVersion] = {}
    claims_by_experience: dict[int, list] = {e.id: [] for e in experiences}
    claim_refs = {}
    for index, claim in enumerate(claims, start=1):
        version = claim.node.version
        frameworks.setdefault(version.id, version)
        ref = f"c{index}"
        claim_refs[claim.id] = ref
        claims_by_experience[claim.experience_id].append(
            {
                "ref": ref,
                "framework": version.framework.slug,
                "framework_version": version.version,
                "node_code": claim.node.code,
                "node_uri": claim.node.uri,
                "level_rank": claim.level_rank,
                "version": claim.version,
                **{part: getattr(claim, part) for part in NARRATIVE_PARTS},
                "evidence": [evidence_refs[e.id] for e in claim.evidence if e.id in evidence_refs],
                "validations": validations[claim.id],
            }
        )

    referents: dict[int, list] = {e.id: [] for e in experiences}
    native = db.session.scalars(
        sa.select(ReferentRequest)
        .where(ReferentRequest.volunteer_id == user.id, ReferentRequest.confirmed_at.is_not(None))
        .order_by(ReferentRequest.confirmed_at, ReferentRequest.id)
    )
    imported = db.session.scalars(
        sa.select(ImportedConfirmation)
        .where(ImportedConfirmation.owner_id == user.id)
        .order_by(ImportedConfirmation.confirmed_at, ImportedConfirmation.id)
    )
    for row, claim_ids, recorded_by in [
        *((r, r.confirmed_claim_ids, instance_url()) for r in native),
        *((r, r.claim_ids, r.source_instance) for r in imported),
    ]:
        if row.experience_id not in referents:
            continue
        referents[row.experience_id].append(
            {
                "name": row.name,
                "organisation_name": row.organisation_name,
                "role": row.role,
                "confirmed_at": _plain(row.confirmed_at),
                "facts_confirmed": row.facts_confirmed,
                "confirmed_claims": [claim_refs[i] for i in claim_ids or [] if i in claim_refs],
                "comment": row.comment,
                "content_hash": row.content_hash,
                "recorded_by": recorded_by,
            }
        )
    for items in referents.values():
        items.sort(key=lambda r: r["confirmed_at"] or "")

    experiences_out = []
    for index, experience in enumerate(experiences, start=1):
        item = {"ref": f"x{index}", **{f: _plain(getattr(experience, f)) for f in EXPERIENCE_FIELDS}}
        item["sending_organisation"] = experience.sending_organisation_label
        item["claims"] = claims_by_experience[experience.id]
        item["referent_confirmations"] = referents[experience.id]
        experiences_out.append(item)

    memberships = list(
        db.session.scalars(
            sa.select(Membership).where(Membership.user_id == user.id).options(selectinload(Membership.organisation))
        )
    )
    frameworks_out, crosswalks_out = export_frameworks(frameworks, files)
    document = {
        "format": FORMAT,
        "exported_at": utcnow().isoformat(),
        "instance": instance_url(),
        "profile": {
            "email": user.email,
            "display_name": user.display_name,
            "locale": user.locale,
            "created_at": _plain(user.created_at),
        },
        "memberships": sorted(
            ({"organisation": m.organisation.name, "role": m.role.value, "state": m.state.value} for m in memberships),
            key=lambda m: (m["organisation"], m["role"]),
        ),
        "frameworks": frameworks_out,
        "crosswalks": crosswalks_out,
        "evidence": evidence_out,
        "experiences": experiences_out,
        "documents": _documents(user, files),
        "adviser_notes": _adviser_notes(user),
        "vae_projects": _vae_projects(user, evidence_refs, claim_refs),
        "survey": "not exported: survey answers are anonymous and linked to no account",
        "records": _records(user),
    }
    return document, files


def _record_queries(user: User) -> dict[str, tuple[str, object]]:
    """records section → (table, condition on it) for every other table that refers to ``user``."""

    tables = Base.metadata.tables
    uid = user.id
    shares, submissions = tables["shares"], tables["submissions"]
    audit = AuditEvent.__table__
    own_shares = sa.select(shares.c.id).where(shares.c.owner_id == uid)
    queries = {
        "account": ("users", tables["users"].c.id == uid),
        "sessions": ("user_sessions", tables["user_sessions"].c.user_id == uid),
        "invitations": ("invitations", sa.func.lower(Invitation.__table__.c.email) == user.email.lower()),
        "submissions": ("submissions", submissions.c.volunteer_id == uid),
        "submission_items": (
            "submission_items",
            tables["submission_items"].c.submission_id.in_(
                sa.select(submissions.c.id).where(submissions.c.volunteer_id == uid)
            ),
        ),
        "referent_requests": ("referent_requests", tables["referent_requests"].c.volunteer_id == uid),
        # The NGOs' records of validations whose claim the person deleted (issue 20): still about them.
        "withdrawn_validations": (
            "claim_validations",
            sa.and_(tables["claim_validations"].c.holder_id == uid, tables["claim_validations"].c.claim_id.is_(None)),
        ),
        "notifications": ("notifications", tables["notifications"].c.user_id == uid),
        "survey_participations": ("survey_participations", tables["survey_participations"].c.user_id == uid),
        "shares": ("shares", sa.or_(shares.c.owner_id == uid, shares.c.adviser_id == uid)),
        "share_accesses": (
            "share_accesses",
            sa.or_(tables["share_accesses"].c.share_id.in_(own_shares), tables["share_accesses"].c.viewer_id == uid),
        ),
        "audit_events": (
            "audit_events",
            sa.or_(audit.c.actor_id == uid, sa.and_(audit.c.object_type == "User", audit.c.object_id == str(uid))),
        ),
    }
    if "vae_comments" in tables:
        # What the person wrote or did as a VAE companion on others' projects (their own projects are in
        # ``vae_projects``).
        projects, comments, events = tables["vae_projects"], tables["vae_comments"], tables["vae_events"]
        others = sa.select(projects.c.id).where(projects.c.owner_id != uid)
        queries["vae_comments"] = (
            "vae_comments",
            sa.and_(comments.c.author_id == uid, comments.c.project_id.in_(others)),
        )
        queries["vae_events"] = ("vae_events", sa.and_(events.c.actor_id == uid, events.c.project_id.in_(others)))
    if "document_opinions" in tables:
        opinions = tables["document_opinions"]
        queries["opinions"] = ("document_opinions", sa.or_(opinions.c.volunteer_id == uid, opinions.c.author_id == uid))
    return queries


def _records(user: User) -> dict[str, list[dict]]:
    """Every other row that refers to ``user``, column by column (secrets and others' ids left out), one
    statement per table."""
    out = {}
    for section, (name, condition) in _record_queries(user).items():
        table = Base.metadata.tables[name]
        columns = [c for c in table.columns if c.name not in SECRET_COLUMNS | OTHERS_COLUMNS]
        order = table.primary_key.columns.values()
        rows = db.session.execute(sa.select(*columns).where(condition).order_by(*order)).all()
        out[section] = [{c.name: _plain(value) for c, value in zip(columns, row, strict=True)} for row in rows]
    return out


#: Columns of a VAE project written out as they are (the path's state and its dates).
VAE_PROJECT_COLUMNS = (
    "route",
    "whole_certification",
    "status",
    "started_on",
    "feasibility_sent_on",
    "admissibility_on",
    "path_started_on",
    "validation_sent_on",
    "jury_on",
    "decided_on",
    "abandoned_on",
    "outcome",
    "certifier",
    "sworn_at",
    "sworn_name",
    "created_at",
    "updated_at",
)


def _vae_projects(user: User, evidence_refs: dict[int, str], claim_refs: dict[int, str]) -> list[dict]:
    """The person's VAE projects with their blocs, timeline, comment threads, bloc drafts (every revision) and the
    blocs a jury awarded. Read through the tables (the VAE package sits above this floor), a fixed number of
    statements whatever the number of projects. Claims and evidence a draft cites are given by their refs."""
    tables = Base.metadata.tables
    if "vae_projects" not in tables:  # pragma: no cover - VAE package absent
        return []
    from app.frameworks.models import Framework

    projects_t, events_t, comments_t = tables["vae_projects"], tables["vae_events"], tables["vae_comments"]
    drafts_t, revisions_t, acquired_t = (
        tables["vae_bloc_drafts"],
        tables["vae_draft_revisions"],
        tables["vae_acquired_blocs"],
    )
    users_t = tables["users"]
    rows = db.session.execute(
        sa.select(projects_t, Framework.slug, FrameworkVersion.version)
        .join(FrameworkVersion, FrameworkVersion.id == projects_t.c.framework_version_id)
        .join(Framework, Framework.id == FrameworkVersion.framework_id)
        .where(projects_t.c.owner_id == user.id)
        .order_by(projects_t.c.id)
    ).all()
    if not rows:
        return []
    ids = [row.id for row in rows]
    refs = {row.id: f"v{index}" for index, row in enumerate(rows, start=1)}

    def by_project(statement) -> dict[int, list]:
        grouped: dict[int, list] = {i: [] for i in ids}
        for row in db.session.execute(statement).all():
            grouped[row.project_id].append(row)
        return grouped

    def person(user_id: int | None) -> str | None:
        return "self" if user_id == user.id else ("companion" if user_id is not None else None)

    events = by_project(
        sa.select(events_t).where(events_t.c.project_id.in_(ids)).order_by(events_t.c.at, events_t.c.id)
    )
    comments = by_project(
        sa.select(comments_t, users_t.c.display_name.label("author_name"))
        .outerjoin(users_t, users_t.c.id == comments_t.c.author_id)
        .where(comments_t.c.project_id.in_(ids))
        .order_by(comments_t.c.id)
    )
    drafts = by_project(
        sa.select(drafts_t).where(drafts_t.c.project_id.in_(ids)).order_by(drafts_t.c.bloc_code, drafts_t.c.id)
    )
    revisions: dict[int, list] = {}
    for row in db.session.execute(
        sa.select(revisions_t, drafts_t.c.project_id)
        .join(drafts_t, drafts_t.c.id == revisions_t.c.draft_id)
        .where(drafts_t.c.project_id.in_(ids))
        .order_by(revisions_t.c.draft_id, revisions_t.c.revision, revisions_t.c.id)
    ).all():
        revisions.setdefault(row.draft_id, []).append(row)
    acquired = by_project(sa.select(acquired_t).where(acquired_t.c.project_id.in_(ids)).order_by(acquired_t.c.id))

    def cited(claim_ids, evidence_ids) -> dict:
        return {
            "claims": [claim_refs[i] for i in claim_ids or [] if i in claim_refs],
            "evidence": [evidence_refs[i] for i in evidence_ids or [] if i in evidence_refs],
        }

    out = []
    for row in rows:
        comment_refs = {c.id: f"{refs[row.id]}k{n}" for n, c in enumerate(comments[row.id], start=1)}
        out.append(
            {
                "ref": refs[row.id],
                "framework": row.slug,
                "framework_version": row.version,
                "blocs": list(row.bloc_codes or []),
                **{name: _plain(getattr(row, name)) for name in VAE_PROJECT_COLUMNS},
                "acquired_bloc_codes": list(row.acquired_bloc_codes or []),
                "continues": refs.get(row.previous_id),
                "timeline": [
                    {"at": _plain(e.at), "kind": e.kind, "by": person(e.actor_id), "data": e.data or {}}
                    for e in events[row.id]
                ],
                "comments": [
                    {
                        "ref": comment_refs[c.id],
                        "bloc": c.bloc_code,
                        "reply_to": comment_refs.get(c.parent_id),
                        "by": person(c.author_id),
                        "author_name": c.author_name if c.author_id is not None else None,
                        "body": c.body,
                        "created_at": _plain(c.created_at),
                        "resolved_at": _plain(c.resolved_at),
                    }
                    for c in comments[row.id]
                ],
                "drafts": [
                    {
                        "bloc": d.bloc_code,
                        "revision": d.revision,
                        "updated_at": _plain(d.updated_at),
                        "fields": d.fields or {},
                        **cited(d.claim_ids, d.evidence_ids),
                        "revisions": [
                            {
                                "revision": r.revision,
                                "saved_at": _plain(r.saved_at),
                                "autosave": r.autosave,
                                "fields": r.fields or {},
                                **cited(r.claim_ids, r.evidence_ids),
                            }
                            for r in revisions.get(d.id, [])
                        ],
                    }
                    for d in drafts[row.id]
                ],
                "acquired_blocs": [
                    {
                        "bloc": a.bloc_code,
                        "title": a.title or {},
                        "decided_on": _plain(a.decided_on),
                        "certifier": a.certifier,
                    }
                    for a in acquired[row.id]
                ],
            }
        )
    return out


def _adviser_notes(user: User) -> list[dict]:
    """The notes ``user`` wrote as an adviser on portfolios shared with them (their own data, private to them: the
    volunteer's export never contains them). Not restored by an import: they hang on a share of this instance."""

    rows = db.session.execute(
        sa.select(AdviserNote, Share)
        .join(Share, Share.id == AdviserNote.share_id)
        .where(AdviserNote.adviser_id == user.id)
        .options(selectinload(Share.owner))
        .order_by(Share.created_at, AdviserNote.id)
    ).all()
    return [
        {
            "portfolio_of": share.owner.display_name,
            "shared_at": _plain(share.created_at),
            "body": note.body,
            "updated_at": _plain(note.updated_at),
        }
        for note, share in rows
    ]


def _documents(user: User, files: dict[str, bytes]) -> list[dict]:

    out = []
    for row in db.session.scalars(sa.select(Document).where(Document.holder_id == user.id).order_by(Document.id)):
        path = f"documents/{row.code}.pdf"
        try:
            files[path] = document_path(row).read_bytes()
        except OSError:
            path = None
        out.append(
            {
                "kind": row.kind.value,
                "language": row.language,
                "code": row.code,
                "sha256": row.sha256,
                "created_at": _plain(row.created_at),
                "file": path,
            }
        )
    return out


def export_zip(user: User) -> bytes:
    """The export as zip bytes: ``export.json``, ``FORMAT.md`` and the files."""

    document, files = build_export(user)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("export.json", json.dumps(document, ensure_ascii=False, indent=2, sort_keys=True))
        archive.writestr("FORMAT.md", (Path(__file__).parent / "FORMAT.md").read_text(encoding="utf-8"))
        for path, data in sorted(files.items()):
            archive.writestr(path, data)
    return buffer.getvalue()


#: What an import cannot restore by design (see FORMAT.md), left out when comparing two exports.
NOT_RESTORED = ("exported_at", "instance", "memberships", "documents", "adviser_notes", "vae_projects", "records")


def comparable(document: dict) -> dict:
    """The export less what legitimately differs after export → import → export: timestamps of the export, the
    instance, the account's e-mail and creation date, memberships (joining an NGO needs its approval), issued
    documents (verifiable only on the instance that issued them), an adviser's notes (they hang on shares of
    the exporting instance), VAE projects (their companions are shares of the exporting instance) and the
    records of this instance (sessions, shares, submissions, audit events…)."""
    out = {k: v for k, v in document.items() if k not in NOT_RESTORED}
    out["profile"] = {k: v for k, v in document["profile"].items() if k not in {"email", "created_at"}}
    return out
