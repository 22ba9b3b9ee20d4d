"""Operations on shares: create, revoke, exchange a link token, log accesses, adviser notes.

They flush and log; the caller (a request handler) commits.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import session
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from app.auth.models import User, sha256_hex
from app.claims.models import Claim, ClaimState, Evidence
from app.claims.validations import validation_lines
from app.core.audit import log_event
from app.core.db import utcnow
from app.core.errors import UserError
from app.core.i18n import current_language
from app.core.mail import queue_email
from app.core.security import canonical_url
from app.documents.models import Document, DocumentGrant, register_document_grant
from app.documents.operations import documents_of
from app.experiences.models import Experience
from app.extensions import db
from app.frameworks.models import FrameworkNode, localized
from app.sharing.models import AdviserNote, Share, ShareAccess, ShareKind, share_experiences
from app.validation.queries import validations_for_claims

DEFAULT_DAYS = 30
MAX_DAYS = 365
#: Random bytes in a link token: 256 bits (the requirement is at least 128).
TOKEN_BYTES = 32
#: Key of the signed session holding the ids of the link shares this browser may read.
SESSION_GRANTS = "share_grants"
MAX_GRANTS = 20


@dataclass(frozen=True)
class ShareData:
    kind: ShareKind
    days: int = DEFAULT_DAYS
    adviser_email: str = ""
    label: str = ""
    whole_portfolio: bool = True
    experience_ids: tuple[int, ...] = field(default_factory=tuple)
    include_evidence: bool = True
    include_documents: bool = True


def create_share(owner: User, data: ShareData) -> tuple[Share, str | None]:
    """Open a share of ``owner``'s portfolio.

    :returns: the share and, for a link share, the token (shown once to the volunteer, stored only hashed).
    :raises UserError: bad duration, missing adviser address, experiences not owned or none selected.
    """
    if not 1 <= data.days <= MAX_DAYS:
        raise UserError(_l("Choose a duration between 1 and 365 days."), "days")
    email = data.adviser_email.strip().lower()
    if data.kind == ShareKind.ADVISER and not email:
        raise UserError(_l("Enter the adviser's e-mail address."), "adviser_email")
    if data.kind == ShareKind.ADVISER and email == owner.email.lower():
        raise UserError(_l("You cannot share your portfolio with yourself."), "adviser_email")
    experiences = []
    if not data.whole_portfolio:
        experiences = list(
            db.session.scalars(
                sa.select(Experience).where(
                    Experience.id.in_(data.experience_ids or [0]), Experience.owner_id == owner.id
                )
            )
        )
        if not experiences or len(experiences) != len(set(data.experience_ids)):
            raise UserError(_l("Select at least one of your experiences."), "experience_ids")
    token = secrets.token_urlsafe(TOKEN_BYTES) if data.kind == ShareKind.LINK else None
    share = Share(
        owner_id=owner.id,
        kind=data.kind,
        label=data.label.strip(),
        adviser_email=email if data.kind == ShareKind.ADVISER else "",
        token_hash=sha256_hex(token) if token else None,
        whole_portfolio=data.whole_portfolio,
        include_evidence=data.include_evidence,
        include_documents=data.include_documents,
        expires_at=utcnow() + timedelta(days=data.days),
        experiences=experiences,
    )
    db.session.add(share)
    db.session.flush()
    log_event("share.created", actor=owner, obj=share, data={"kind": share.kind.value, "days": data.days})
    if share.kind == ShareKind.ADVISER:
        adviser = db.session.scalar(sa.select(User).where(sa.func.lower(User.email) == email))
        queue_email(
            "sharing_invitation",
            recipient=email,
            language=adviser.locale if adviser is not None else owner.locale,
            subject=_l("A portfolio was shared with you on Acquis"),
            owner=owner,
            share=share,
            url=canonical_url("sharing.shared_with_me"),
        )
    return share, token


def revoke_share(share: Share, *, actor: User) -> None:
    """End a share now; already open pages and downloads stop working on the next request."""
    if share.revoked_at is None:
        share.revoked_at = utcnow()
        db.session.flush()
        log_event("share.revoked", actor=actor, obj=share)


def shares_of(owner: User) -> list[Share]:
    """The volunteer's shares, newest first, with the experiences they cover."""
    return list(
        db.session.scalars(
            sa.select(Share)
            .where(Share.owner_id == owner.id)
            .options(selectinload(Share.experiences), selectinload(Share.adviser))
            .order_by(Share.created_at.desc(), Share.id.desc())
        )
    )


def get_owned_share(share_id: int, owner: User) -> Share | None:
    return db.session.scalar(sa.select(Share).where(Share.id == share_id, Share.owner_id == owner.id))


def _adviser_condition(user: User):
    bound = Share.adviser_id == user.id
    if not user.is_verified:
        return bound
    unbound = sa.and_(Share.adviser_id.is_(None), Share.adviser_email == user.email.lower())
    return sa.and_(Share.kind == ShareKind.ADVISER, sa.or_(bound, unbound))


def shares_for_adviser(user: User) -> list[Share]:
    """Active shares naming ``user``, soonest expiry first, with their owners."""
    return list(
        db.session.scalars(
            sa.select(Share)
            .where(_adviser_condition(user), Share.revoked_at.is_(None), Share.expires_at > utcnow())
            .options(selectinload(Share.owner), selectinload(Share.experiences))
            .order_by(Share.expires_at, Share.id)
        )
    )


def active_share(share_id: int) -> Share | None:
    """The share if it exists, is not revoked and has not expired — else ``None`` (the caller answers 404)."""
    share = db.session.get(Share, share_id)
    if share is None or not share.is_active:
        return None
    return share


def _link_share_of(token: str) -> Share | None:
    if not token or len(token) > 100:
        return None
    share = db.session.scalar(sa.select(Share).where(Share.token_hash == sha256_hex(token)))
    return share if share is not None and share.kind == ShareKind.LINK else None


def find_link_share(token: str) -> Share | None:
    """The active link share of a token, or ``None`` (unknown, expired and revoked alike)."""
    share = _link_share_of(token)
    return share if share is not None and share.is_active else None


def ended_link_share(token: str) -> Share | None:
    """The link share of a real token that was revoked or has expired (its holder gets an explanation);
    ``None`` for an unknown token or an active share."""
    share = _link_share_of(token)
    return share if share is not None and not share.is_active else None


def ended_share(share_id: int, user) -> Share | None:
    """A revoked or expired share that ``user`` (or this browser's link grant) could read while it lasted — the
    named adviser, the holder of the link — so they get an explanation; ``None`` otherwise (the caller's 404)."""
    share = db.session.get(Share, share_id)
    if share is None or share.is_active or not viewer_may_read(share, user):
        return None
    return share


def end_of(share: Share) -> tuple[str, datetime]:
    """Why and when ``share`` ended: ``("share_revoked", revoked_at)`` or ``("share_expired", expires_at)``."""
    if share.revoked_at is not None:
        return "share_revoked", share.revoked_at
    return "share_expired", share.expires_at


def grant_in_session(share: Share) -> None:
    """Remember in the signed session that this browser holds the link of ``share``."""
    grants = [g for g in session.get(SESSION_GRANTS, []) if g != share.id]
    session[SESSION_GRANTS] = [*grants, share.id][-MAX_GRANTS:]


def session_grants() -> list[int]:
    return [g for g in session.get(SESSION_GRANTS, []) if isinstance(g, int)]


def viewer_may_read(share: Share, user) -> bool:
    """The named adviser of an adviser share; a browser holding the grant of a link share. Owner excluded."""
    if share.kind == ShareKind.ADVISER:
        return share.is_adviser(user)
    return share.id in session_grants()


def bind_adviser(share: Share, user: User) -> None:
    """Bind an adviser share to the account that first opens it (a later e-mail change does not move it)."""
    if share.kind == ShareKind.ADVISER and share.adviser_id is None and share.is_adviser(user):
        share.adviser_id = user.id
        db.session.flush()


def log_access(share: Share, viewer, what: str, label: str = "") -> ShareAccess:
    """Record one view for the volunteer's access log."""
    viewer_id = viewer.id if share.kind == ShareKind.ADVISER and viewer is not None else None
    row = ShareAccess(share_id=share.id, viewer_id=viewer_id, what=what, what_label=label[:200])
    db.session.add(row)
    db.session.flush()
    return row


def access_log(share: Share, limit: int = 500) -> list[ShareAccess]:
    return list(
        db.session.scalars(
            sa.select(ShareAccess)
            .where(ShareAccess.share_id == share.id)
            .options(selectinload(ShareAccess.viewer))
            .order_by(ShareAccess.accessed_at.desc(), ShareAccess.id.desc())
            .limit(limit)
        )
    )


@dataclass
class SharedPortfolio:
    share: Share
    owner: User
    experiences: list[Experience]
    claims: dict[int, list[Claim]]
    validations: dict[int, list]


def shared_experiences(share: Share) -> list[Experience]:
    """The experiences the share shows, newest first, with their sending NGOs (one statement each, not one per
    experience)."""
    query = (
        sa.select(Experience)
        .where(Experience.owner_id == share.owner_id)
        .options(selectinload(Experience.sending_organisation))
        .order_by(Experience.start_date.desc(), Experience.id.desc())
    )
    if not share.whole_portfolio:
        selected = sa.select(share_experiences.c.experience_id).where(share_experiences.c.share_id == share.id)
        query = query.where(Experience.id.in_(selected))
    return list(db.session.scalars(query))


def shared_portfolio(share: Share, experience_id: int | None = None) -> SharedPortfolio:
    """What the share shows: experiences (one, when ``experience_id`` is given), their claims and validations."""
    experiences = shared_experiences(share)
    if experience_id is not None:
        experiences = [e for e in experiences if e.id == experience_id]
    ids = [e.id for e in experiences]
    claims: dict[int, list[Claim]] = {i: [] for i in ids}
    if ids:
        rows = db.session.scalars(
            sa.select(Claim)
            .where(Claim.experience_id.in_(ids))
            .options(selectinload(Claim.node), selectinload(Claim.evidence))
            .order_by(Claim.id)
        )
        for claim in rows:
            claims[claim.experience_id].append(claim)
    validations = validations_for_claims([c.id for group in claims.values() for c in group], with_snapshot=False)
    return SharedPortfolio(share, share.owner, experiences, claims, validations)


@dataclass(frozen=True, slots=True)
class SharedClaimLine:
    """A claim as the shared portfolio page lists it: plain values, its title already in the page's language."""

    id: int
    experience_id: int
    code: str
    title: tuple[str, str | None]
    state: ClaimState


def shared_portfolio_lines(share: Share) -> SharedPortfolio:
    """What the shared portfolio page lists, as plain values: the experiences, their claims as
    :class:`SharedClaimLine` and the validations as :class:`app.claims.validations.ValidationLine` (one statement
    each for claims and validations, whatever their number: hundreds of ORM objects cost the page more than its
    SQL)."""
    experiences = shared_experiences(share)
    claims: dict[int, list[SharedClaimLine]] = {e.id: [] for e in experiences}
    if claims:
        language = current_language()
        db.session.flush()  # what session.execute would do first (autoflush); the connection does not
        # Core execution on the session's connection, all rows in one fetch: the ORM layer and a fetch per row cost
        # more than the hundreds of plain rows themselves.
        # The title in the page's language as text; the whole map (decoded in Python) only when that text is
        # missing and localized() must fall back: decoding hundreds of maps was a tenth of the page.
        in_language = FrameworkNode.title[language].as_string()
        whole = sa.case((sa.func.coalesce(in_language, "") == "", FrameworkNode.title), else_=sa.null())
        rows = (
            db.session.connection()
            .execute(
                sa.select(Claim.id, Claim.experience_id, FrameworkNode.code, in_language, whole, Claim.state)
                .join(FrameworkNode, FrameworkNode.id == Claim.node_id)
                .where(Claim.experience_id.in_(list(claims)))
                .order_by(Claim.id)
            )
            .all()
        )
        for claim_id, experience_id, code, text, title, state in rows:
            shown = (text, None) if text else localized(title, language)
            claims[experience_id].append(SharedClaimLine(claim_id, experience_id, code, shown, state))
    validations = validation_lines(
        [c.id for group in claims.values() for c in group],
        same_claims=sa.select(Claim.id).where(Claim.experience_id.in_(list(claims))),
    )
    return SharedPortfolio(share, share.owner, experiences, claims, validations)


def shared_evidence(share: Share, evidence_id: int) -> Evidence | None:
    """An evidence file of the owner supporting a claim of a shared experience, if the share includes evidence."""
    if not share.include_evidence:
        return None
    evidence = db.session.get(Evidence, evidence_id)
    if evidence is None or evidence.owner_id != share.owner_id:
        return None
    if any(share.covers_experience(claim.experience_id) for claim in evidence.claims):
        return evidence
    return None


def note_of(share: Share, adviser: User) -> AdviserNote | None:
    return db.session.scalar(
        sa.select(AdviserNote).where(AdviserNote.share_id == share.id, AdviserNote.adviser_id == adviser.id)
    )


def save_note(share: Share, adviser: User, body: str) -> AdviserNote:
    """Create or replace the adviser's private notes on this share (not audited: they are the adviser's own)."""
    note = note_of(share, adviser)
    if note is None:
        note = AdviserNote(share_id=share.id, adviser_id=adviser.id, body=body)
        db.session.add(note)
    else:
        note.body = body
    db.session.flush()
    return note


# --- Documents (package ``documents``) ---------------------------------------------------------------------------


def share_covers_document(share: Share, document) -> bool:
    """Whether ``share`` shows ``document``: it must include documents and belong to the owner; a share of
    selected experiences shows only documents whose snapshot shows nothing but those experiences (a document whose
    experiences cannot be established — an association's opinion, for one — only through a whole-portfolio share)."""
    if not share.include_documents or document is None or document.holder_id != share.owner_id:
        return False
    if share.whole_portfolio:
        return True
    shown = document.experience_ids()
    return shown is not None and shown <= {e.id for e in share.experiences}


def shared_documents(share: Share) -> list:
    """The signed documents issued to the owner that the share shows (see :func:`share_covers_document`), newest
    first."""
    if not share.include_documents:
        return []

    return [d for d in documents_of(share.owner) if share_covers_document(share, d)]


def shared_document(share: Share, document_id: int):
    if not share.include_documents:
        return None

    document = db.session.get(Document, document_id)
    return document if share_covers_document(share, document) else None


def adviser_may_read_document(user, document) -> bool:
    """Grant rule for ``app.documents``: the named adviser of an active share of the document's holder that shows
    this document (see :func:`share_covers_document`) may open and download it — re-checked on every request.
    Reading only: a share never lets its adviser print anything."""
    return bool(_shares_granting(user, document))


def record_document_read(document, viewer) -> None:
    """Write a read of ``document`` through a grant into the access log of the share(s) that let ``viewer`` in."""
    for share in _shares_granting(viewer, document):
        log_access(share, viewer, "document", document.kind_label)


def _shares_granting(user, document) -> list[Share]:
    """The active adviser shares naming ``user`` that show ``document``."""
    if user is None or not user.is_authenticated or document is None or document.holder_id is None:
        return []
    candidates = db.session.scalars(
        sa.select(Share)
        .where(
            _adviser_condition(user),
            Share.owner_id == document.holder_id,
            Share.include_documents.is_(True),
            Share.revoked_at.is_(None),
            Share.expires_at > utcnow(),
        )
        .options(selectinload(Share.experiences))
    )
    return [share for share in candidates if share.is_adviser(user) and share_covers_document(share, document)]


#: What a share lets its adviser do with the holder's documents (read and download, never print).
ADVISER_GRANT = DocumentGrant(may_read=adviser_may_read_document, record_read=record_document_read)


def register_document_grants(app) -> None:
    """Register the share's document grant on ``app`` (called by ``create_app``)."""
    register_document_grant(app, ADVISER_GRANT)
