"""Operations on claims and evidence. They flush and log; the caller commits."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from app.auth.models import User
from app.claims.models import NARRATIVE_PARTS, Claim, ClaimState, Evidence
from app.claims.records import validated_claims_using
from app.claims.validations import withdraw_validations
from app.core import storage
from app.core.audit import log_event
from app.core.errors import UserError
from app.experiences.models import Experience
from app.extensions import db
from app.frameworks.models import FrameworkNode, FrameworkVersion, NodeKind

#: Node kinds a claim can point at (domains and skill groups are only containers).
CLAIMABLE_KINDS = (NodeKind.COMPETENCE, NodeKind.INDICATOR, NodeKind.BLOC, NodeKind.SKILL, NodeKind.KNOWLEDGE)


@dataclass(frozen=True)
class ClaimData:
    node_id: int
    level_rank: int | None = None
    situation: str = ""
    task: str = ""
    actions: str = ""
    result: str = ""
    reflection: str = ""
    transfer: str = ""
    evidence_ids: tuple[int, ...] = field(default_factory=tuple)


def load_claimable_node(node_id: int) -> FrameworkNode | None:
    """A node that claims may point at, with its version loaded."""
    node = db.session.scalar(
        sa.select(FrameworkNode).where(FrameworkNode.id == node_id).options(selectinload(FrameworkNode.version))
    )
    if node is None or node.kind not in CLAIMABLE_KINDS:
        return None
    return node


def _check(owner: User, experience: Experience, data: ClaimData, claim: Claim | None = None) -> tuple:
    node = load_claimable_node(data.node_id)
    if node is None:
        raise UserError(_l("Please choose a competence from the list."), "node_id")
    if claim is None or claim.node_id != node.id:
        if node.retired_at is not None:
            raise UserError(_l("This competence was removed from the framework. Please choose another."), "node_id")
        duplicate = db.session.scalar(
            sa.select(Claim.id).where(Claim.experience_id == experience.id, Claim.node_id == node.id)
        )
        if duplicate is not None:
            raise UserError(_l("This experience already has a claim for this competence."), "node_id")
    ranks = {level.get("rank") for level in node.version.levels or []}
    if data.level_rank is not None and data.level_rank not in ranks:
        raise UserError(_l("Please choose a level of this framework's scale."), "level_rank")
    if ranks and data.level_rank is None:
        raise UserError(_l("Please choose a level."), "level_rank")
    evidence = _owned_evidence(owner, data.evidence_ids)
    if len(evidence) != len(set(data.evidence_ids)):
        raise UserError(_l("Please choose evidence from your library."), "evidence_ids")
    return node, evidence


def _owned_evidence(owner: User, ids) -> list[Evidence]:
    if not ids:
        return []
    return list(db.session.scalars(sa.select(Evidence).where(Evidence.owner_id == owner.id, Evidence.id.in_(ids))))


def create_claim(owner: User, experience: Experience, data: ClaimData) -> Claim:
    """Claim a competence for an experience of ``owner``. Raises :class:`~app.core.errors.UserError`."""
    node, evidence = _check(owner, experience, data)
    claim = Claim(
        owner_id=owner.id,
        experience_id=experience.id,
        node_id=node.id,
        level_rank=data.level_rank,
        state=ClaimState.DRAFT,
        evidence=evidence,
        **{part: getattr(data, part) for part in NARRATIVE_PARTS},
    )
    db.session.add(claim)
    db.session.flush()
    log_event("claim.created", actor=owner, obj=claim, data={"node_id": node.id, "experience_id": experience.id})
    return claim


def update_claim(claim: Claim, data: ClaimData, *, actor: User) -> None:
    """Change a draft claim; its version number goes up when the content changes."""
    node, evidence = _check(actor, claim.experience, data, claim)
    before = _content(claim)
    claim.node_id = node.id
    claim.level_rank = data.level_rank
    for part in NARRATIVE_PARTS:
        setattr(claim, part, getattr(data, part))
    claim.evidence = evidence
    previous_state = claim.state
    if _content(claim) != before:
        claim.version += 1
        # A decided claim becomes a new draft version; a validated version stays valid until the new one is.
        claim.state = ClaimState.DRAFT
    db.session.flush()
    log_event(
        "claim.updated",
        actor=actor,
        obj=claim,
        data={"version": claim.version, "state": claim.state.value, "previous_state": previous_state.value},
    )


def _content(claim: Claim) -> tuple:
    return (
        claim.node_id,
        claim.level_rank,
        *(getattr(claim, p) for p in NARRATIVE_PARTS),
        tuple(sorted(e.id for e in claim.evidence)),
    )


def delete_claim(claim: Claim, *, actor: User) -> None:
    """Delete ``claim`` from the portfolio; the NGOs' validation records of it are kept, withdrawn (see
    :func:`app.claims.validations.withdraw_validations`)."""
    log_event("claim.deleted", actor=actor, obj=claim, data={"node_id": claim.node_id})
    withdraw_validations([claim.id])
    db.session.delete(claim)
    db.session.flush()


# --- Evidence -------------------------------------------------------------------------------------------------


def safe_display_name(filename: str | None) -> str:
    """The last path component of an uploaded file name, without control characters (display only)."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip()
    return name[:255]


def used_storage(owner: User) -> int:
    """Bytes of evidence ``owner`` has stored."""
    return db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(Evidence.size), 0)).where(Evidence.owner_id == owner.id)
    )


def add_evidence(owner: User, data: bytes, *, filename: str, title: str = "") -> Evidence:
    """Inspect, store and record an evidence file. Raises :class:`app.core.storage.UploadRejected` or
    :class:`~app.core.errors.UserError` (quota)."""
    room = current_app.config["EVIDENCE_QUOTA_BYTES"] - used_storage(owner)
    if len(data) > room:  # refused before the inspection; the stored (maybe re-encoded) size is checked again
        raise UserError(_l("Your evidence library is full. Delete files you no longer need."), "file")
    stored = storage.store_upload(data, room=room)
    storage.delete_on_rollback(stored.key)
    display_name = safe_display_name(filename)
    evidence = Evidence(
        owner_id=owner.id,
        title=(title or display_name or stored.sha256[:12])[:200],  # file names may be longer than titles
        original_filename=display_name,
        storage_key=stored.key,
        sha256=stored.sha256,
        size=stored.size,
        mime=stored.mime,
        pages=stored.pages,
        width=stored.width,
        height=stored.height,
        active_content_removed=stored.cleaned,
    )
    db.session.add(evidence)
    db.session.flush()
    log_event(
        "evidence.added",
        actor=owner,
        obj=evidence,
        data={"sha256": stored.sha256, "mime": stored.mime, "active_content_removed": stored.cleaned},
    )
    return evidence


def evidence_delete_refusal(evidence: Evidence):
    """Why ``evidence`` may not be deleted (translated), or ``None``.

    A validated version of a claim stays valid and printable until a newer version is validated, evidence
    included: editing the claim makes a new draft version and leaves the validated one as it was. A file listed by
    a current validation is therefore kept, even when the newer draft no longer uses it.
    """
    using = validated_claims_using(evidence)
    if not using:
        return None
    codes = ", ".join(sorted({record.code for record in using}))
    organisations = ", ".join(sorted({record.organisation for record in using}))
    return _(
        "“%(title)s” cannot be deleted: it is evidence of the validated version of your claim(s) %(codes)s "
        "(validated by %(organisations)s), which stays valid and printable as it was validated. You can remove the "
        "file from a claim by editing the claim; you can delete it once no validated version uses it any more.",
        title=evidence.title,
        codes=codes,
        organisations=organisations,
    )


def delete_evidence(evidence: Evidence, *, actor: User) -> None:
    """Delete an evidence file; it disappears from the (draft) claims it supported. The file goes after the commit.

    :raises UserError: the file is evidence of a claim's validated version (see :func:`evidence_delete_refusal`).
    """
    refusal = evidence_delete_refusal(evidence)
    if refusal is not None:
        raise UserError(refusal, "evidence")
    log_event("evidence.deleted", actor=actor, obj=evidence, data={"sha256": evidence.sha256})
    storage.delete_after_commit(evidence.storage_key)
    db.session.delete(evidence)
    db.session.flush()


def evidence_of(owner: User) -> list[Evidence]:
    return list(
        db.session.scalars(
            sa.select(Evidence)
            .where(Evidence.owner_id == owner.id)
            .options(selectinload(Evidence.claims))
            .order_by(Evidence.created_at.desc(), Evidence.id.desc())
        )
    )


# --- Loading ----------------------------------------------------------------------------------------------------


def _claim_options():
    return (
        selectinload(Claim.node).selectinload(FrameworkNode.version).selectinload(FrameworkVersion.framework),
        selectinload(Claim.evidence),
        selectinload(Claim.experience),
    )


def get_owned_claim(claim_id: int, owner: User) -> Claim | None:
    return db.session.scalar(
        sa.select(Claim).where(Claim.id == claim_id, Claim.owner_id == owner.id).options(*_claim_options())
    )


def claims_of(owner: User, experience: Experience | None = None) -> list[Claim]:
    """The owner's claims (of one experience if given), with node, framework and evidence loaded."""
    query = sa.select(Claim).where(Claim.owner_id == owner.id).options(*_claim_options()).order_by(Claim.id)
    if experience is not None:
        query = query.where(Claim.experience_id == experience.id)
    return list(db.session.scalars(query))


def claimable_versions() -> list[FrameworkVersion]:
    """Current framework versions small enough to offer as a list (ESCO-sized ones are searched instead)."""
    return list(
        db.session.scalars(
            sa.select(FrameworkVersion)
            .where(FrameworkVersion.is_current.is_(True), FrameworkVersion.node_count <= 500)
            .options(selectinload(FrameworkVersion.framework))
            .order_by(FrameworkVersion.id)
        )
    )


def claimable_nodes(version_ids: list[int]) -> list[FrameworkNode]:
    if not version_ids:
        return []
    return list(
        db.session.scalars(
            sa.select(FrameworkNode)
            .where(
                FrameworkNode.version_id.in_(version_ids),
                FrameworkNode.kind.in_(CLAIMABLE_KINDS),
                FrameworkNode.retired_at.is_(None),
            )
            .order_by(FrameworkNode.version_id, FrameworkNode.path, FrameworkNode.position)
        )
    )


def get_owned_evidence(evidence_id: int, owner: User) -> Evidence | None:
    return db.session.scalar(sa.select(Evidence).where(Evidence.id == evidence_id, Evidence.owner_id == owner.id))


def download_basename(evidence: Evidence) -> str:
    """A safe ASCII-ish file name for downloads, from the evidence title."""
    ascii_title = unicodedata.normalize("NFKD", evidence.title).encode("ascii", "ignore").decode()
    cleaned = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in ascii_title).strip("-")
    return (cleaned or "evidence")[:80]
