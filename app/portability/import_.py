"""Import of an ``acquis-export/1`` zip into the importing user's portfolio on this instance.

Experiences, claims (on the same framework versions, found by slug + version + content hash + node code; a
version missing here is imported from the framework file in the zip, see :mod:`app.portability.framework_files`)
and evidence files (inspected like any upload) are re-created. Validations become :class:`ImportedValidation` rows
and host referents' confirmations :class:`ImportedConfirmation` rows, shown as "imported — not verified here": an
import never creates a ``ClaimValidation`` or a ``ReferentRequest``, so it cannot forge one. Claims arrive as
drafts. Memberships, issued documents and an adviser's notes are not re-created (see FORMAT.md). The import is
all-or-nothing: the caller commits only when it returns.

An export is untrusted input: the zip and its JSON are read within bounds (:mod:`app.portability.archive`), and
every record goes through the validators of the form that edits it in the application (one validation layer:
:func:`app.core.forms.check_record`) before anything is written. A refusal lists what is wrong and where.
"""

from __future__ import annotations

import hashlib
import inspect
from dataclasses import replace
from datetime import datetime
from functools import cache
from typing import IO

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms.fields.core import UnboundField

from app.auth.models import User
from app.claims import operations as claim_ops
from app.claims.models import NARRATIVE_PARTS, Claim, ClaimState
from app.core import storage
from app.core.audit import log_event
from app.core.errors import UserError
from app.core.forms import check_record, text_problem
from app.experiences.forms import FORMS, form_to_data
from app.experiences.models import EngagementStatus, Experience, ExperienceKind, TrainingKind
from app.experiences.operations import EDITABLE_FIELDS
from app.extensions import db
from app.frameworks.models import FrameworkNode
from app.portability import framework_files
from app.portability.archive import BoundedArchive, ImportRefused, load_json
from app.portability.export import EXPERIENCE_FIELDS, FORMAT
from app.portability.forms import (
    ImportedClaimForm,
    ImportedConfirmationForm,
    ImportedEvidenceForm,
    ImportedValidationForm,
)
from app.portability.models import ImportedConfirmation, ImportedValidation

#: export.json holds text only (files are separate entries); 16 MB is far above any real portfolio.
MAX_DOCUMENT_BYTES = 16 * 1024 * 1024
#: Experiences + claims + evidence files + imported validations and confirmations.
MAX_RECORDS = 5_000
#: A refusal lists at most this many problems.
MAX_DETAILS = 20


def _datetime(value):
    if not value:
        return None
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError("naive timestamp")
    return parsed


def read_archive(source: IO[bytes]) -> tuple[dict, BoundedArchive]:
    """Open and check the zip (bounded, see :mod:`app.portability.archive`); returns the export document and the
    archive. Raises :class:`ImportRefused`."""
    archive = BoundedArchive(source)
    if "export.json" not in archive:
        raise ImportRefused(_l("This is not an Acquis export (a zip file with export.json)."))
    document = load_json(archive.read("export.json", MAX_DOCUMENT_BYTES), "export.json")
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ImportRefused(_l("This export format is not supported (expected %(format)s).", format=FORMAT))
    return document, archive


def import_archive(user: User, source: IO[bytes]) -> dict[str, int]:
    """Restore an export into ``user``'s portfolio. Returns counts. Raises :class:`ImportRefused`.

    Every record is first checked with the forms the UI uses (:func:`check_records`); nothing is written unless
    all pass. Framework versions missing here are imported for the importer's claims only (never into the shared
    catalogue, see :func:`app.portability.framework_files.import_missing`).
    """
    document, archive = read_archive(source)
    try:
        checked = check_records(document)
        resolution = framework_files.resolve_versions(document, archive)
        check_claims(document, resolution, checked)
        framework_files.import_missing(resolution, actor=user)
        counts = _restore(user, document, archive, resolution.versions, checked)
    except storage.UploadRejected as exc:
        raise ImportRefused(exc.message) from None
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        if isinstance(exc, ImportRefused):
            raise
        raise ImportRefused(_l("This export is damaged or incomplete."), [str(exc)[:200]]) from None
    counts["frameworks"] = len(resolution.to_import)
    log_event("portfolio.imported", actor=user, obj=user, data={**counts, "source": document.get("instance", "")})
    return counts


# --------------------------------------------------------------------------------------------------- checks


class _Problems:
    """Problems found in the records, each prefixed with where it is (translated)."""

    def __init__(self):
        self.items: list[str] = []

    def add(self, where: str, problems) -> None:
        self.items.extend(f"{where}, {name} — {text}" for name, text in problems)

    def raise_if_any(self) -> None:
        if self.items:
            extra = len(self.items) - MAX_DETAILS
            details = self.items[:MAX_DETAILS] + ([_("… and %(count)d more.", count=extra)] if extra > 0 else [])
            raise ImportRefused(_l("Some records of this export are not valid; nothing was imported."), details)


def _list(value) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise TypeError("a list was expected")
    return value


def check_records(document: dict) -> dict:
    """Run every experience, evidence file, imported validation and confirmation through its form.

    :returns: ``{"experiences": [ExperienceData or None…], "forms": {id(record): form}}`` (the experiences in the
        document's order; the other records' checked forms by the identity of their JSON object).
    :raises ImportRefused: listing every problem with its place ("Experience 2, team_size — …").
    """
    experiences, evidence = _list(document.get("experiences")), _list(document.get("evidence"))
    records = len(experiences) + len(evidence)
    records += sum(len(_list(e.get("claims"))) + len(_list(e.get("referent_confirmations"))) for e in experiences)
    if records > MAX_RECORDS:
        raise ImportRefused(_l("This export has too many records (at most %(max)d).", max=MAX_RECORDS))
    problems = _Problems()
    checked: dict = {"experiences": [], "forms": {}}
    statuses = set(db.session.scalars(sa.select(EngagementStatus.code)))
    for number, item in enumerate(experiences, 1):
        where = _("Experience %(number)d", number=number)
        checked["experiences"].append(_check_experience(item, where, statuses, problems))
        for index, claim in enumerate(_list(item.get("claims")), 1):
            for v_index, validation in enumerate(_list(claim.get("validations")), 1):
                place = _("%(where)s, claim %(claim)d, validation %(number)d", where=where, claim=index, number=v_index)
                _check(ImportedValidationForm, validation, place, problems, checked["forms"])
        for index, confirmation in enumerate(_list(item.get("referent_confirmations")), 1):
            place = _("%(where)s, host referent confirmation %(number)d", where=where, number=index)
            _check(ImportedConfirmationForm, confirmation, place, problems, checked["forms"])
    for number, item in enumerate(evidence, 1):
        place = _("Evidence file %(number)d (%(file)s)", number=number, file=str(item.get("file"))[:100])
        _check(ImportedEvidenceForm, item, place, problems, checked["forms"])
    problems.raise_if_any()
    return checked


@cache
def _field_names(form_class) -> tuple[str, ...]:
    return tuple(name for name, value in inspect.getmembers(form_class) if isinstance(value, UnboundField))


def _fields(item: dict, form_class) -> dict:
    """The values of ``item`` for the fields of ``form_class`` (other keys are not imported)."""
    if not isinstance(item, dict):
        raise TypeError("an object was expected")
    return {name: item.get(name) for name in _field_names(form_class)}


def _check(form_class, item: dict, where: str, problems: _Problems, checked: dict):
    """Check ``item`` with ``form_class``; the form is kept in ``checked`` for the writes."""
    form, found = check_record(form_class, _fields(item, form_class))
    problems.add(where, found)
    checked[id(item)] = form


def _check_experience(item: dict, where: str, statuses: set[str], problems: _Problems):
    """The :class:`ExperienceData` of an exported experience, checked by the form of its kind (or ``None``)."""
    if not isinstance(item, dict):
        raise TypeError("an object was expected")
    try:
        kind = ExperienceKind(item.get("kind"))
    except ValueError:
        problems.add(where, [("kind", _("Unknown kind of experience."))])
        return None
    values = {name: item.get(name) for name in EXPERIENCE_FIELDS if name != "kind"}
    values["sending_organisation_name"] = item.get("sending_organisation")
    # The NGO of this instance is not the exporting one (its name only is kept), and a status this instance does
    # not have is dropped: the importer resolves both, so the form's choice errors do not apply.
    ignore = {"status_code", "sending_organisation_id"}
    # Trainings recorded before the kind of training was asked have none; the form asks for one.
    unknown_training_kind = kind == ExperienceKind.TRAINING and values.get("training_kind") is None
    if unknown_training_kind:
        values["training_kind"] = TrainingKind.OTHER.value
    form, found = check_record(FORMS[kind], values, ignore=ignore)
    problems.add(where, found)
    if found:
        return None
    data = form_to_data(form)
    status = values.get("status_code")
    return replace(
        data,
        sending_organisation_id=None,
        status_code=status if isinstance(status, str) and status in statuses else None,
        training_kind=None if unknown_training_kind else data.training_kind,
    )


def check_claims(document: dict, resolution, checked: dict) -> None:
    """Run every claim through the claim form, with the level scale of the version it will use here."""
    levels = {key: version.levels for key, version in resolution.versions.items()}
    levels.update({(p.slug, p.version): p.levels for p in resolution.to_import})
    problems = _Problems()
    checked["claims"] = {}
    for number, item in enumerate(document.get("experiences") or [], 1):
        for index, claim in enumerate(_list(item.get("claims")), 1):
            scale = levels[(claim["framework"], claim["framework_version"])] or []
            values = {name: claim.get(name) for name in ("level_rank", "version", *NARRATIVE_PARTS)}
            form, found = check_record(ImportedClaimForm, values, prepare=lambda f, s=scale: f.set_choices(s, []))
            where = _("Experience %(number)d", number=number)
            problems.add(_("%(where)s, claim %(claim)d", where=where, claim=index), found)
            checked["claims"][id(claim)] = form
    problems.raise_if_any()


# --------------------------------------------------------------------------------------------------- writes


def _restore(user, document, archive, versions, checked) -> dict[str, int]:
    evidence_by_ref: dict[str, object] = {}
    limit = current_app.config["EVIDENCE_MAX_BYTES"]
    for item in document.get("evidence") or []:
        form = checked["forms"][id(item)]
        if not item.get("file"):
            continue
        content = archive.read(item["file"], limit)
        if hashlib.sha256(content).hexdigest() != item["sha256"]:
            raise ImportRefused(_l("An evidence file does not match its fingerprint."), [form.title.data or ""])
        try:
            # The same operation as an upload: inspection (active content removed from PDFs), quota, audit.
            evidence = claim_ops.add_evidence(
                user, content, filename=form.original_filename.data or "", title=form.title.data or ""
            )
        except UserError as exc:  # the quota, or the upload refused
            raise ImportRefused(exc.message, [form.title.data or item["file"]]) from None
        evidence_by_ref[item["ref"]] = evidence
    db.session.flush()

    counts = {
        "experiences": 0,
        "claims": 0,
        "evidence": len(evidence_by_ref),
        "validations": 0,
        "confirmations": 0,
    }
    for item, data in zip(document.get("experiences") or [], checked["experiences"], strict=True):
        experience = Experience(
            owner_id=user.id, kind=data.kind, **{name: getattr(data, name) for name in EDITABLE_FIELDS}
        )
        db.session.add(experience)
        db.session.flush()
        counts["experiences"] += 1
        claim_ids: dict[str, int] = {}
        for claim_item in item.get("claims") or []:
            form = checked["claims"][id(claim_item)]
            version = versions[(claim_item["framework"], claim_item["framework_version"])]
            node = db.session.scalar(
                sa.select(FrameworkNode).where(
                    FrameworkNode.version_id == version.id, FrameworkNode.code == claim_item["node_code"]
                )
            )
            if node is None:
                raise ImportRefused(_l("This export is damaged or incomplete."), [str(claim_item["node_code"])[:200]])
            claim = Claim(
                owner_id=user.id,
                experience_id=experience.id,
                node_id=node.id,
                level_rank=form.level_value,
                version=form.version.data or 1,
                state=ClaimState.DRAFT,
                evidence=[evidence_by_ref[ref] for ref in claim_item.get("evidence", []) if ref in evidence_by_ref],
                **{part: form[part].data or "" for part in NARRATIVE_PARTS},
            )
            db.session.add(claim)
            db.session.flush()
            claim_ids[claim_item["ref"]] = claim.id
            counts["claims"] += 1
            for validation in claim_item.get("validations") or []:
                form = checked["forms"][id(validation)]
                db.session.add(_imported_validation(validation, form, claim, user, document))
                counts["validations"] += 1
        for confirmation in item.get("referent_confirmations") or []:
            form = checked["forms"][id(confirmation)]
            db.session.add(_imported_confirmation(confirmation, form, experience, claim_ids, user, document))
            counts["confirmations"] += 1
    db.session.flush()
    return counts


def _imported_validation(validation: dict, form, claim: Claim, user: User, document: dict) -> ImportedValidation:
    return ImportedValidation(
        claim_id=claim.id,
        owner_id=user.id,
        organisation_name=form.organisation.data or "",
        validator_name=form.validator_name.data or "",
        claim_version=form.claim_version.data or 1,
        level=form.level.data,
        content_hash=form.content_hash.data or "",
        validated_at=_datetime(validation.get("validated_at")),
        revoked_at=_datetime(validation.get("revoked_at")),
        source_instance=_source(validation.get("verified_by"), document),
        data={
            "revoked_reason": form.revoked_reason.data or "",
            "superseded_at": _datetime_text(validation.get("superseded_at")),
        },
    )


def _imported_confirmation(confirmation: dict, form, experience, claim_ids, user, document) -> ImportedConfirmation:
    return ImportedConfirmation(
        experience_id=experience.id,
        owner_id=user.id,
        name=form.name.data or "",
        organisation_name=form.organisation_name.data or "",
        role=form.role.data or "",
        confirmed_at=_datetime(confirmation.get("confirmed_at")),
        facts_confirmed=_bool(confirmation.get("facts_confirmed")),
        claim_ids=[claim_ids[r] for r in confirmation.get("confirmed_claims", []) if r in claim_ids],
        comment=form.comment.data or "",
        content_hash=form.content_hash.data or "",
        source_instance=_source(confirmation.get("recorded_by"), document),
    )


def _source(value, document: dict) -> str:
    """The instance a record comes from (an address shown as text, never as a link), checked like a form field."""
    text = value or document.get("instance") or ""
    if not isinstance(text, str):
        raise TypeError("the instance must be text")
    problem = text_problem(text, multiline=False)
    if problem:
        raise ImportRefused(_l("This export is damaged or incomplete."), [f"instance — {problem}"])
    return text[:300]


def _datetime_text(value):
    """An optional ISO timestamp kept as text, checked."""
    _datetime(value)
    return value


def _bool(value):
    if value is None or isinstance(value, bool):
        return value
    raise ValueError("facts_confirmed must be true, false or null")
