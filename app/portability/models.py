"""Validations imported from another Acquis instance (the tombstones of erased accounts live in
:mod:`app.auth.models`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import Base, utcnow


class ImportedValidation(Base):
    """A validation that arrived with an import: *imported — not verified here*.

    It is never a :class:`~app.claims.validations.ClaimValidation`: nothing on this instance vouches for it, so an
    import can never forge a validation. It records what the exported file said, for the volunteer's information.
    """

    __tablename__ = "imported_validations"

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(sa.ForeignKey("claims.id", ondelete="CASCADE"), index=True)
    owner_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    organisation_name: Mapped[str] = mapped_column(sa.String(200), default="")
    validator_name: Mapped[str] = mapped_column(sa.String(120), default="")
    claim_version: Mapped[int] = mapped_column(default=1)
    level: Mapped[int | None]
    content_hash: Mapped[str] = mapped_column(sa.String(64), default="")
    validated_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    source_instance: Mapped[str] = mapped_column(sa.String(300), default="")
    data: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)

    claim = relationship("Claim")


class ImportedConfirmation(Base):
    """A host referent's confirmation that arrived with an import: *imported — not verified here*.

    It is never a :class:`~app.validation.models.ReferentRequest`: no referent confirmed anything to this instance,
    so an import cannot forge a confirmation. It records what the exported file said, for the volunteer's
    information. ``claim_ids`` are the ids, on this instance, of the imported claims the referent confirmed.
    """

    __tablename__ = "imported_confirmations"

    id: Mapped[int] = mapped_column(primary_key=True)
    experience_id: Mapped[int] = mapped_column(sa.ForeignKey("experiences.id", ondelete="CASCADE"), index=True)
    owner_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(120), default="")
    organisation_name: Mapped[str] = mapped_column(sa.String(200), default="")
    role: Mapped[str] = mapped_column(sa.String(120), default="")
    confirmed_at: Mapped[datetime | None]
    facts_confirmed: Mapped[bool | None]
    claim_ids: Mapped[list[int]] = mapped_column(sa.JSON, default=list)
    comment: Mapped[str] = mapped_column(sa.Text, default="")
    content_hash: Mapped[str] = mapped_column(sa.String(64), default="")
    source_instance: Mapped[str] = mapped_column(sa.String(300), default="")
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)
