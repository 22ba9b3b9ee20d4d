"""Issued documents, render jobs and associations' opinions.

A :class:`Document` is a signed PDF Acquis issued: it keeps the exact data snapshot it was printed from, the
template version, the language, the SHA-256 of the signed bytes and a short verification code. Documents are never
changed; what the verify page says about their entries (valid, superseded, revoked) is computed live.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.models import User
from app.core.db import Base, utcnow
from app.core.enums import LabelledEnum
from app.documents.context import TEMPLATE_VERSION
from app.organisations.models import Organisation


def _enum_column(enum_cls, length: int = 30):
    return sa.Enum(enum_cls, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e])


class DocumentKind(LabelledEnum):
    PORTFOLIO = "portfolio", _l("Portfolio dossier")
    ATTESTATION = "attestation", _l("Mission attestation")
    VAE = "vae", _l("VAE dossier")
    OPINION = "opinion", _l("Association's opinion")
    #: The VAE path's documents (``app.vae.printing`` builds their snapshots and registers their templates).
    VAE_LIVRET1 = "vae_livret1", _l("Livret 1 draft (VAE)")
    VAE_FEASIBILITY = "vae_feasibility", _l("Dossier de faisabilité draft (VAE)")
    VAE_VALIDATION = "vae_validation", _l("Dossier de validation (VAE)")


class JobState(LabelledEnum):
    QUEUED = "queued", _l("Waiting for a free printer")
    RUNNING = "running", _l("Printing")
    DONE = "done", _l("Ready")
    FAILED = "failed", _l("Failed")


class Document(Base):
    """A signed PDF issued by Acquis (immutable)."""

    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The verification code without separators (see app.documents.codes).
    code: Mapped[str] = mapped_column(sa.String(16), unique=True)
    kind: Mapped[DocumentKind] = mapped_column(_enum_column(DocumentKind, 20))
    language: Mapped[str] = mapped_column(sa.String(5))
    template_version: Mapped[str] = mapped_column(sa.String(20))
    holder_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"), index=True)
    #: The holder's name as printed.
    holder_name: Mapped[str] = mapped_column(sa.String(200))
    issuer_organisation_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organisations.id", ondelete="SET NULL"), index=True
    )
    issuer_name: Mapped[str] = mapped_column(sa.String(200))
    requested_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    snapshot: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    snapshot_hash: Mapped[str] = mapped_column(sa.String(64))
    #: hash(snapshot, template version, language, kind): an unchanged document is not printed again.
    cache_key: Mapped[str] = mapped_column(sa.String(64), index=True)
    sha256: Mapped[str] = mapped_column(sa.String(64), unique=True)
    size: Mapped[int]
    pages: Mapped[int] = mapped_column(default=0)
    #: File name under INSTANCE_DIR/documents/ (random, never chosen by a user).
    storage_key: Mapped[str] = mapped_column(sa.String(40), unique=True)
    #: The signer certificate's subject (RFC 4514); empty for documents the platform key signed before NGOs
    #: signed in their own name.
    signed_by: Mapped[str] = mapped_column(sa.String(400), default="")
    #: When something the document shows may have changed since it was issued (an audited change to its holder's
    #: data, noted in the transaction of the change: see :mod:`app.documents.refresh`); ``None`` while it is known to
    #: be current. The background refresh clears it when asking again finds the same content; a fresher version,
    #: once issued, is a new document and this one stays marked.
    stale_at: Mapped[datetime | None]

    holder = relationship(User, foreign_keys=[holder_id])
    issuer_organisation = relationship(Organisation)

    @property
    def kind_label(self) -> str:
        """The kind's label translated now, as plain text."""
        return str(self.kind.label)

    def can_download(self, user) -> bool:
        """The holder, the trainers and admins of the issuing NGO, and whoever a registered grant rule lets read
        this very document (advisers through a share: see :class:`DocumentGrant`)."""
        return may_print_about(user, self.holder_id, self.issuer_organisation_id) or self.granted_to(user)

    @property
    def is_current(self) -> bool:
        """Known to show its holder's data as it is now: nothing changed since it was issued (as far as the audited
        changes tell, see :attr:`stale_at`) and printed with the current templates."""
        return self.stale_at is None and self.template_version == TEMPLATE_VERSION

    def granted_to(self, user) -> bool:
        """Whether a grant registered on the app lets ``user`` read this document (see :class:`DocumentGrant`)."""
        return (
            user is not None
            and user.is_authenticated
            and any(grant.may_read(user, self) for grant in document_grants())
        )

    def experience_ids(self) -> frozenset[int] | None:
        """The ids of the experiences whose data the snapshot shows, or ``None`` when they cannot be established.

        Portfolio dossiers and VAE dossiers list their experiences (and each claim names its experience); an
        attestation shows one mission. An association's opinion also carries the NGO's free text about the
        volunteer's engagement as a whole, which no experience bounds: ``None``, like any snapshot of an unknown
        shape (a stand-in, an older template). Callers treat ``None`` as "all of the portfolio".
        """
        return snapshot_experience_ids(self.kind, self.snapshot)


class SigningSource(LabelledEnum):
    INSTANCE = "instance", _l("Certificate issued by this instance's root")
    UPLOADED = "uploaded", _l("The NGO's own certificate")


class SigningIdentity(Base):
    """A certificate and key an NGO signs its documents with. One is current per NGO; replaced ones are kept
    (``retired_at``) so that documents they signed keep verifying. The key is encrypted with the store key
    (:func:`app.printing.signing.store_cipher`) and never shown back. Who uploaded or replaced it is in the audit
    log (``signing.identity_created``), not here: the row names no person."""

    __tablename__ = "signing_identities"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    source: Mapped[SigningSource] = mapped_column(_enum_column(SigningSource, 20))
    #: PEM, the signer's certificate first, then the rest of its chain.
    certificate_pem: Mapped[str] = mapped_column(sa.Text)
    key_encrypted: Mapped[str] = mapped_column(sa.Text)
    subject: Mapped[str] = mapped_column(sa.String(400))
    fingerprint: Mapped[str] = mapped_column(sa.String(100))
    not_after: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    retired_at: Mapped[datetime | None]

    organisation = relationship(Organisation)

    @property
    def is_current(self) -> bool:
        return self.retired_at is None and self.not_after > utcnow()


class RenderJob(Base):
    """A request to print a document, followed on a progress page until the PDF is ready."""

    __tablename__ = "document_jobs"

    id: Mapped[str] = mapped_column(sa.String(36), primary_key=True, default=lambda: str(uuid.uuid4()))
    requested_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    holder_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[DocumentKind] = mapped_column(_enum_column(DocumentKind, 20))
    language: Mapped[str] = mapped_column(sa.String(5))
    state: Mapped[JobState] = mapped_column(_enum_column(JobState, 20), default=JobState.QUEUED)
    #: Everything the renderer needs: snapshot, code, issuer, holder, dates (plain data, no ORM objects).
    payload: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    cache_key: Mapped[str] = mapped_column(sa.String(64))
    error: Mapped[str] = mapped_column(sa.String(40), default="")
    document_id: Mapped[int | None] = mapped_column(sa.ForeignKey("documents.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]

    document = relationship(Document)
    holder = relationship(User, foreign_keys=[holder_id])

    def can_view(self, user) -> bool:
        return user is not None and user.is_authenticated and user.id == self.requested_by_id

    def can_retry(self, user) -> bool:
        """Whoever asked for it may print it again while they may still print about its holder in the name of its
        issuer (a trainer who has left the NGO may not)."""
        issuer = self.snapshot.get("issuer") if isinstance(self.snapshot.get("issuer"), dict) else {}
        return self.can_view(user) and can_render_for(user, self.holder, issuer.get("organisation_id"))

    @property
    def snapshot(self) -> dict:
        """The data the job prints (empty when the payload has none)."""
        snapshot = (self.payload or {}).get("snapshot")
        return snapshot if isinstance(snapshot, dict) else {}

    @property
    def is_retryable(self) -> bool:
        """A failed job can be printed again from its snapshot."""
        return self.state == JobState.FAILED and bool(self.snapshot)


class Opinion(Base):
    """An association's opinion (avis) on a volunteer's engagement for a VAE jury, written by a trainer or an admin
    of the sending NGO from the entries it validated (loi n° 2014-856 du 31 juillet 2014, art. 65)."""

    __tablename__ = "document_opinions"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    volunteer_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    author_name: Mapped[str] = mapped_column(sa.String(120))
    author_role: Mapped[str] = mapped_column(sa.String(120), default="")
    target_certification: Mapped[str] = mapped_column(sa.String(200), default="")
    relationship_text: Mapped[str] = mapped_column(sa.Text, default="")
    engagement: Mapped[str] = mapped_column(sa.Text, default="")
    competences: Mapped[str] = mapped_column(sa.Text, default="")
    opinion: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    #: The NGO's validations the opinion was written from, frozen: a later validation needs a new version
    #: (empty for opinions written before versions: they show the NGO's current validations).
    validation_ids: Mapped[list[int]] = mapped_column(sa.JSON, default=list)
    version: Mapped[int] = mapped_column(default=1)
    #: A newer version replaced this one; documents printed from it keep verifying, marked superseded.
    superseded_at: Mapped[datetime | None]

    organisation = relationship(Organisation)
    volunteer = relationship(User, foreign_keys=[volunteer_id])
    author = relationship(User, foreign_keys=[author_id])

    def can_edit(self, user) -> bool:
        """Trainers and admins of the NGO (never about themselves)."""
        return (
            user is not None
            and user.is_authenticated
            and user.id != self.volunteer_id
            and self.organisation.is_staff(user)
        )

    def can_render(self, user) -> bool:
        """The authors' colleagues print it; the volunteer may print it for the jury too."""
        return self.can_edit(user) or (user is not None and user.is_authenticated and user.id == self.volunteer_id)


# --- Which experiences a snapshot shows ---------------------------------------------------------------------------


def _ids_of(items) -> set[int] | None:
    """The ``id`` of every dict of ``items``; ``None`` if ``items`` is not a list of dicts with integer ids."""
    if not isinstance(items, list):
        return None
    ids = set()
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("id"), int) or isinstance(item.get("id"), bool):
            return None
        ids.add(item["id"])
    return ids


def _claim_experience_ids(claims) -> set[int] | None:
    if not isinstance(claims, list):
        return None
    ids = set()
    for claim in claims:
        value = claim.get("experience_id") if isinstance(claim, dict) else None
        if not isinstance(value, int) or isinstance(value, bool):
            return None
        ids.add(value)
    return ids


def snapshot_experience_ids(kind, snapshot) -> frozenset[int] | None:
    """See :meth:`Document.experience_ids` (conservative: any doubt gives ``None``)."""
    if not isinstance(snapshot, dict):
        return None
    if kind == DocumentKind.ATTESTATION:
        mission = snapshot.get("mission")
        ids = _ids_of([mission]) if isinstance(mission, dict) else None
        claims = _claim_experience_ids(snapshot.get("competences", []))
    elif kind == DocumentKind.PORTFOLIO:
        experiences = snapshot.get("experiences")
        ids = _ids_of(experiences)
        nested = [c for e in experiences or [] if isinstance(e, dict) for c in e.get("claims") or []]
        claims = _claim_experience_ids(nested) if ids is not None else None
    elif kind == DocumentKind.VAE:
        ids = _ids_of(snapshot.get("experiences"))
        blocs = snapshot.get("blocs")
        support = [
            item
            for bloc in (blocs if isinstance(blocs, list) else [])
            if isinstance(bloc, dict)
            for row in bloc.get("competences") or []
            if isinstance(row, dict)
            for item in row.get("support") or []
        ]
        claims = _claim_experience_ids(support) if isinstance(blocs, list) else None
    else:
        return None
    if not ids or claims is None or not claims <= ids:
        return None
    return frozenset(ids)


# --- Who may print whose documents ----------------------------------------------------------------------------


@dataclass(frozen=True)
class DocumentGrant:
    """A rule of a package above letting someone read and download one issued document (advisers named in a share
    that includes it), registered explicitly at app creation (:func:`register_document_grant`). Without one, only
    the holder and the issuing NGO's staff read documents: a missing grant refuses, it never lets through.

    ``may_read(user, document)`` answers the access question; ``record_read(document, viewer)`` is called on each
    read by someone no direct rule let in, and records it where the grant's owner keeps its logs (it checks for
    itself which of its grants applied). A grant never lets anyone print: printing is for the holder, or for an
    NGO's trainers and admins in the NGO's name."""

    may_read: Callable[[Any, Document], bool]
    record_read: Callable[[Document, Any], None]


_GRANTS_KEY = "acquis.document_grants"


def register_document_grant(app, grant: DocumentGrant) -> None:
    """Add ``grant`` to ``app`` (registering the same grant again changes nothing)."""
    grants: list[DocumentGrant] = app.extensions.setdefault(_GRANTS_KEY, [])
    if grant not in grants:
        grants.append(grant)


def document_grants() -> tuple[DocumentGrant, ...]:
    """The grants registered on the current app."""
    return tuple(current_app.extensions.get(_GRANTS_KEY, ()))


def can_render_for(user, holder, organisation_id: int | None = None) -> bool:
    """Whether ``user`` may print documents about ``holder``: the holder themself, or a trainer or admin of the
    NGO ``organisation_id`` (the NGO then issues the document in its name). Nobody else — a share never makes its
    adviser print, least of all as an NGO they do not belong to."""
    return holder is not None and may_print_about(user, holder.id, organisation_id)


def may_print_about(user, holder_id: int | None, organisation_id: int | None = None) -> bool:
    """:func:`can_render_for` by ids: no holder to load, and the NGO's staff found among the user's own memberships
    (one indexed query the first time a request asks, then kept by the session), never the organisation loaded."""
    if user is None or not user.is_authenticated or holder_id is None:
        return False
    if user.id == holder_id:
        return True
    if organisation_id is None:
        return False
    return any(m.organisation_id == organisation_id and m.is_staff for m in user.memberships)
