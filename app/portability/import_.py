"""Import of an ``acquis-export/1`` zip into the importing user's portfolio on this instance.

Experiences, claims (on the same framework versions, found by slug + version + content hash + node code; a
version missing here is imported from the framework file in the zip, see :mod:`app.portability.framework_files`)
and evidence files (inspected like any upload) are re-created. Validations become :class:`ImportedValidation` rows
and host referents' confirmations :class:`ImportedConfirmation` rows, shown as "imported — not verified here": an
import never creates a ``ClaimValidation`` or a ``ReferentRequest``, so it cannot forge one. Claims arrive as
drafts. Memberships, issued documents and an adviser's notes are not re-created (see FORMAT.md). The import is
all-or-nothing: the caller commits only when it returns.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from app.auth.models import User
from app.claims.models import NARRATIVE_PARTS, Claim, ClaimState, Evidence
from app.core import storage
from app.core.audit import log_event
from app.experiences.models import EngagementStatus, Experience, ExperienceKind, TrainingKind, WorkingTime
from app.extensions import db
from app.frameworks.models import FrameworkNode
from app.portability import framework_files
from app.portability.export import EXPERIENCE_FIELDS, FORMAT
from app.portability.models import ImportedConfirmation, ImportedValidation

MAX_ARCHIVE_BYTES = 200 * 1024 * 1024
MAX_MEMBERS = 5000


class ImportRefused(ValueError):
    """The file cannot be imported; ``message`` is translated, ``details`` lists what is wrong."""

    def __init__(self, message, details=()):
        super().__init__(str(message))
        self.message = message
        self.details = list(details)


def _date(value):
    return date.fromisoformat(value) if value else None


def _datetime(value):
    if not value:
        return None
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError("naive timestamp")
    return parsed


def read_archive(data: bytes) -> tuple[dict, zipfile.ZipFile]:
    """Open and check the zip; returns the export document and the archive."""
    if len(data) > MAX_ARCHIVE_BYTES:
        raise ImportRefused(_l("This file is too large to import."))
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
        if len(members) > MAX_MEMBERS or sum(m.file_size for m in members) > 4 * MAX_ARCHIVE_BYTES:
            raise ImportRefused(_l("This file is too large to import."))
        document = json.loads(archive.read("export.json"))
    except (zipfile.BadZipFile, KeyError, ValueError, UnicodeDecodeError):
        raise ImportRefused(_l("This is not an Acquis export (a zip file with export.json).")) from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ImportRefused(_l("This export format is not supported (expected %(format)s).", format=FORMAT))
    return document, archive


def import_archive(user: User, data: bytes) -> dict[str, int]:
    """Restore an export into ``user``'s portfolio. Returns counts. Raises :class:`ImportRefused`."""
    document, archive = read_archive(data)
    try:
        resolution = framework_files.resolve_versions(document, archive)
        framework_files.import_missing(resolution, actor=user)
        counts = _restore(user, document, archive, resolution.versions)
    except framework_files.FrameworksRefused as exc:
        raise ImportRefused(exc.message, exc.details) from None
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, ImportRefused):
            raise
        raise ImportRefused(_l("This export is damaged or incomplete."), [str(exc)[:200]]) from None
    counts["frameworks"] = len(resolution.to_import)
    log_event("portfolio.imported", actor=user, obj=user, data={**counts, "source": document.get("instance", "")})
    return counts


def _restore(user, document, archive, versions) -> dict[str, int]:
    evidence_by_ref: dict[str, Evidence] = {}
    for item in document.get("evidence", []):
        if not item.get("file"):
            continue
        content = archive.read(item["file"])
        if hashlib.sha256(content).hexdigest() != item["sha256"]:
            raise ImportRefused(_l("An evidence file does not match its fingerprint."), [item.get("title", "")])
        try:
            stored = storage.store_upload(content)
        except storage.UploadRejected as exc:
            raise ImportRefused(exc.message, [item.get("title", "")]) from None
        storage.delete_on_rollback(stored.key)
        evidence = Evidence(
            owner_id=user.id,
            title=item["title"][:200],
            original_filename=(item.get("original_filename") or "")[:255],
            storage_key=stored.key,
            sha256=stored.sha256,
            size=stored.size,
            mime=stored.mime,
            pages=stored.pages,
            width=stored.width,
            height=stored.height,
        )
        db.session.add(evidence)
        evidence_by_ref[item["ref"]] = evidence
    db.session.flush()

    statuses = set(db.session.scalars(sa.select(EngagementStatus.code)))
    counts = {
        "experiences": 0,
        "claims": 0,
        "evidence": len(evidence_by_ref),
        "validations": 0,
        "confirmations": 0,
    }
    for item in document.get("experiences", []):
        values = {f: item.get(f) for f in EXPERIENCE_FIELDS}
        values["kind"] = ExperienceKind(values["kind"])
        values["start_date"] = _date(values["start_date"])
        values["end_date"] = _date(values["end_date"])
        values["working_time"] = WorkingTime(values["working_time"]) if values["working_time"] else None
        values["training_kind"] = TrainingKind(values["training_kind"]) if values["training_kind"] else None
        if values["status_code"] not in statuses:
            values["status_code"] = None
        # The NGO of this instance is not the exporting one: keep its name only.
        values["sending_organisation_name"] = item.get("sending_organisation") or ""
        experience = Experience(
            owner_id=user.id, **{k: ("" if v is None and k in _TEXT else v) for k, v in values.items()}
        )
        db.session.add(experience)
        db.session.flush()
        counts["experiences"] += 1
        claim_ids: dict[str, int] = {}
        for claim_item in item.get("claims", []):
            version = versions[(claim_item["framework"], claim_item["framework_version"])]
            node = db.session.scalar(
                sa.select(FrameworkNode).where(
                    FrameworkNode.version_id == version.id, FrameworkNode.code == claim_item["node_code"]
                )
            )
            if node is None:
                raise ImportRefused(_l("This export is damaged or incomplete."), [claim_item["node_code"]])
            claim = Claim(
                owner_id=user.id,
                experience_id=experience.id,
                node_id=node.id,
                level_rank=claim_item.get("level_rank"),
                version=int(claim_item.get("version") or 1),
                state=ClaimState.DRAFT,
                evidence=[evidence_by_ref[ref] for ref in claim_item.get("evidence", []) if ref in evidence_by_ref],
                **{part: claim_item.get(part) or "" for part in NARRATIVE_PARTS},
            )
            db.session.add(claim)
            db.session.flush()
            claim_ids[claim_item["ref"]] = claim.id
            counts["claims"] += 1
            for validation in claim_item.get("validations", []):
                db.session.add(
                    ImportedValidation(
                        claim_id=claim.id,
                        owner_id=user.id,
                        organisation_name=(validation.get("organisation") or "")[:200],
                        validator_name=(validation.get("validator_name") or "")[:120],
                        claim_version=int(validation.get("claim_version") or 1),
                        level=validation.get("level"),
                        content_hash=(validation.get("content_hash") or "")[:64],
                        validated_at=_datetime(validation.get("validated_at")),
                        revoked_at=_datetime(validation.get("revoked_at")),
                        source_instance=(validation.get("verified_by") or document.get("instance") or "")[:300],
                        data={
                            "revoked_reason": validation.get("revoked_reason") or "",
                            "superseded_at": validation.get("superseded_at"),
                        },
                    )
                )
                counts["validations"] += 1
        for confirmation in item.get("referent_confirmations", []):
            db.session.add(
                ImportedConfirmation(
                    experience_id=experience.id,
                    owner_id=user.id,
                    name=(confirmation.get("name") or "")[:120],
                    organisation_name=(confirmation.get("organisation_name") or "")[:200],
                    role=(confirmation.get("role") or "")[:120],
                    confirmed_at=_datetime(confirmation.get("confirmed_at")),
                    facts_confirmed=_bool(confirmation.get("facts_confirmed")),
                    claim_ids=[claim_ids[r] for r in confirmation.get("confirmed_claims", []) if r in claim_ids],
                    comment=confirmation.get("comment") or "",
                    content_hash=(confirmation.get("content_hash") or "")[:64],
                    source_instance=(confirmation.get("recorded_by") or document.get("instance") or "")[:300],
                )
            )
            counts["confirmations"] += 1
    db.session.flush()
    return counts


def _bool(value):
    if value is None or isinstance(value, bool):
        return value
    raise ValueError("facts_confirmed must be true, false or null")


_TEXT = {
    "sending_organisation_name",
    "host_name",
    "host_country",
    "host_city",
    "languages_used",
    "context",
    "activities",
    "results",
    "provider",
    "certificate",
}
