"""The history of a claim or an experience (from the audit trail) and what changed since the last review (field
diffs between two claim snapshots)."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from app.auth.models import User
from app.claims.models import NARRATIVE_PARTS, Claim, Evidence
from app.claims.narrative import NARRATIVE_LABELS
from app.core.audit import AuditEvent
from app.experiences.models import Experience
from app.extensions import db
from app.validation.models import (
    ReferentRequest,
    Submission,
    SubmissionItem,
)

_TOKENS = re.compile(r"\s+|[^\s]+")


@dataclass(frozen=True)
class FieldDiff:
    label: str
    #: (operation, text) pairs; operation in "equal", "insert", "delete"; rendered escaped by the template.
    ops: list


def _text_ops(old: str, new: str) -> list[tuple[str, str]]:
    a, b = _TOKENS.findall(old or ""), _TOKENS.findall(new or "")
    ops: list[tuple[str, str]] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if tag == "equal":
            ops.append(("equal", "".join(a[i1:i2])))
        if tag in ("delete", "replace"):
            ops.append(("delete", "".join(a[i1:i2])))
        if tag in ("insert", "replace"):
            ops.append(("insert", "".join(b[j1:j2])))
    return ops


def snapshot_diff(old: dict, new: dict) -> list[FieldDiff]:
    """Field-by-field differences between two claim snapshots (level, narrative parts, evidence)."""
    diffs = []
    if old.get("level") != new.get("level"):
        diffs.append(
            FieldDiff(
                str(_l("Level")), [("delete", str(old.get("level") or "—")), ("insert", str(new.get("level") or "—"))]
            )
        )
    for part in NARRATIVE_PARTS:
        before, after = old.get("narrative", {}).get(part, ""), new.get("narrative", {}).get(part, "")
        if before != after:
            diffs.append(FieldDiff(str(NARRATIVE_LABELS[part]), _text_ops(before, after)))
    old_files = {(e["sha256"], e["title"]) for e in old.get("evidence", [])}
    new_files = {(e["sha256"], e["title"]) for e in new.get("evidence", [])}
    if old_files != new_files:
        ops = [("delete", title + " ") for sha, title in sorted(old_files - new_files, key=lambda x: x[1])]
        ops += [("insert", title + " ") for sha, title in sorted(new_files - old_files, key=lambda x: x[1])]
        diffs.append(FieldDiff(str(_l("Evidence")), ops))
    return diffs


def previous_reviews(submission: Submission) -> dict[int, SubmissionItem]:
    """For each item of the current round, the last decided item of the same claim in an earlier round."""
    result = {}
    for item in submission.current_items:
        earlier = [
            other
            for other in submission.items
            if other.claim_id == item.claim_id and other.round < item.round and other.is_decided
        ]
        if earlier:
            result[item.id] = max(earlier, key=lambda other: other.round)
    return result


def evidence_in_submission(submission: Submission, evidence_id: int) -> Evidence | None:
    """The evidence file if it is part of what this submission shows (any round), else ``None``."""
    listed = {
        (e["id"], e["sha256"]) for item in submission.items for e in item.snapshot.get("evidence", []) if "id" in e
    }
    hashes = {sha for ident, sha in listed if ident == evidence_id}
    if not hashes:
        return None
    evidence = db.session.get(Evidence, evidence_id)
    if evidence is None or evidence.sha256 not in hashes:
        return None
    return evidence


HISTORY_LABELS = {
    "claim.created": _l("Claim created"),
    "claim.updated": _l("Claim edited"),
    "submission.created": _l("Submitted for validation"),
    "submission.resubmitted": _l("Submitted again after changes"),
    "submission.resubmitted_after_withdrawal": _l("Submitted again after a withdrawal"),
    "submission.submitted_again": _l("Submitted again for a new review"),
    "submission.decided": _l("Review finished"),
    "submission.returned": _l("Returned for changes"),
    "submission.withdrawn": _l("Withdrawn from review"),
    "item.withdrawn": _l("Withdrawn from review"),
    "item.validated": _l("Validated"),
    "item.changes_requested": _l("Changes requested"),
    "item.rejected": _l("Rejected"),
    "facts.confirmed": _l("Facts confirmed by the NGO"),
    "facts.corrected": _l("Facts confirmed by the NGO with a correction"),
    "validation.revoked": _l("Validation revoked"),
    "referent.requested": _l("Confirmation requested from a host referent"),
    "referent.confirmed": _l("Host referent answered"),
    "experience.created": _l("Experience recorded"),
    "experience.updated": _l("Experience edited"),
}


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    label: str
    actor: str
    detail: str


def _history(conditions) -> list[HistoryEntry]:
    events = list(
        db.session.scalars(
            sa.select(AuditEvent)
            .where(sa.or_(*conditions))
            .order_by(AuditEvent.created_at.desc(), AuditEvent.id.desc())
            .limit(200)
        )
    )
    actor_ids = {e.actor_id for e in events if e.actor_id}
    names = (
        dict(db.session.execute(sa.select(User.id, User.display_name).where(User.id.in_(actor_ids))).all())
        if actor_ids
        else {}
    )
    entries = []
    for event in events:
        label = HISTORY_LABELS.get(event.action)
        if label is None:
            continue
        data = event.data or {}
        actor = names.get(event.actor_id) or data.get("referent") or ""
        detail = data.get("comment") or data.get("reason") or ""
        entries.append(HistoryEntry(event.created_at, str(label), actor, detail))
    return entries


def claim_history(claim: Claim) -> list[HistoryEntry]:
    """The audit trail of a claim, newest first."""
    return _history([sa.and_(AuditEvent.object_type == "Claim", AuditEvent.object_id == str(claim.id))])


def experience_history(experience: Experience) -> list[HistoryEntry]:
    """The audit trail of an experience, its submissions, referent requests and its claims' decisions."""
    submission_ids = list(db.session.scalars(sa.select(Submission.id).where(Submission.experience_id == experience.id)))
    referent_ids = list(
        db.session.scalars(sa.select(ReferentRequest.id).where(ReferentRequest.experience_id == experience.id))
    )
    claim_ids = list(db.session.scalars(sa.select(Claim.id).where(Claim.experience_id == experience.id)))
    conditions = [sa.and_(AuditEvent.object_type == "Experience", AuditEvent.object_id == str(experience.id))]
    if submission_ids:
        conditions.append(
            sa.and_(AuditEvent.object_type == "Submission", AuditEvent.object_id.in_([str(i) for i in submission_ids]))
        )
    if referent_ids:
        conditions.append(
            sa.and_(
                AuditEvent.object_type == "ReferentRequest", AuditEvent.object_id.in_([str(i) for i in referent_ids])
            )
        )
    if claim_ids:
        conditions.append(
            sa.and_(
                AuditEvent.object_type == "Claim",
                AuditEvent.object_id.in_([str(i) for i in claim_ids]),
                AuditEvent.action.in_(
                    ["item.validated", "item.changes_requested", "item.rejected", "validation.revoked"]
                ),
            )
        )
    return _history(conditions)
