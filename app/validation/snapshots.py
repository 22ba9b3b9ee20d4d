"""Frozen copies of what a reviewer (or a referent) sees: a claim's content and an experience's facts. Their hashes
(:func:`app.core.canonical.content_hash`) tell whether anything changed since."""

from __future__ import annotations

from app.claims.models import NARRATIVE_PARTS, Claim
from app.core.canonical import content_hash
from app.experiences.models import Experience
from app.validation.models import (
    Submission,
    SubmissionState,
)


def claim_snapshot(claim: Claim) -> dict:
    """Exactly what a reviewer sees of a claim: competence, framework version, level, narrative, evidence hashes."""
    node = claim.node
    version = node.version
    return {
        "claim_id": claim.id,
        "version": claim.version,
        "node": {
            "id": node.id,
            "code": node.code,
            "title": dict(node.title or {}),
            "framework": version.framework.slug,
            "framework_version": version.version,
            "framework_version_id": version.id,
        },
        "level": claim.level_rank,
        "narrative": {part: getattr(claim, part) or "" for part in NARRATIVE_PARTS},
        "evidence": [_evidence_snapshot(e) for e in claim.evidence],
    }


def _evidence_snapshot(evidence) -> dict:
    item = {"id": evidence.id, "title": evidence.title, "sha256": evidence.sha256, "mime": evidence.mime}
    item["pages"] = evidence.pages
    if evidence.active_content_removed:  # only then: snapshots of other files keep their exact former content
        item["active_content_removed"] = True
    return item


def facts_snapshot(experience: Experience) -> dict:
    """The facts of an experience a trainer (or a referent) confirms."""
    status = experience.status
    return {
        "experience_id": experience.id,
        "kind": experience.kind.value,
        "title": experience.title,
        "start_date": experience.start_date.isoformat(),
        "end_date": experience.end_date.isoformat() if experience.end_date else None,
        "status_code": experience.status_code,
        "status": dict(status.name or {}) if status is not None else {},
        "working_time": experience.working_time.value if experience.working_time else None,
        "hours_per_week": experience.hours_per_week,
        "sending_organisation": experience.sending_organisation_label,
        "host_name": experience.host_name,
        "host_country": experience.host_country,
        "host_city": experience.host_city,
        "provider": experience.provider,
        "hours": experience.hours,
    }


def facts_unchanged(submission: Submission) -> bool:
    """Whether the experience still has the facts submitted in the latest round (always while it is pending: the
    experience is locked then)."""
    if submission.state == SubmissionState.PENDING:
        return True
    return content_hash(facts_snapshot(submission.experience)) == submission.facts_hash
