"""Validations: the immutable record that an NGO validated one version of one claim, owned by the claims floor.

A validation is a fact about a claim, so it lives where ``claims`` can read it: deleting evidence that a validated
version lists is refused from here (:func:`app.claims.records.validated_claims_using`), without asking a package
above. The review that produces it (submissions, decisions, referents) stays in ``validation``, which writes these
rows; the table (``claim_validations``) and its columns are unchanged.

"Current" is defined once, by :attr:`ClaimValidation.is_current` (a hybrid property: a Python test on a loaded
row, a SQL condition in a query).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.models import User
from app.claims.models import Claim
from app.core.db import Base, utcnow
from app.organisations.models import MembershipRole, Organisation


class ClaimValidation(Base):
    """An immutable record: this version of this claim, with exactly this content, was validated."""

    __tablename__ = "claim_validations"

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(sa.ForeignKey("claims.id", ondelete="CASCADE"), index=True)
    claim_version: Mapped[int]
    item_id: Mapped[int | None] = mapped_column(sa.ForeignKey("submission_items.id", ondelete="SET NULL"))
    snapshot: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    content_hash: Mapped[str] = mapped_column(sa.String(64))
    framework_version_id: Mapped[int] = mapped_column(sa.ForeignKey("framework_versions.id"))
    level: Mapped[int | None]
    validator_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    validator_name: Mapped[str] = mapped_column(sa.String(120), default="")
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    validated_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    revoked_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    revoked_reason: Mapped[str] = mapped_column(sa.Text, default="")
    superseded_at: Mapped[datetime | None]

    claim = relationship(Claim)
    organisation = relationship(Organisation)
    validator = relationship(User, foreign_keys=[validator_id])
    revoked_by = relationship(User, foreign_keys=[revoked_by_id])

    @hybrid_property
    def is_current(self) -> bool:
        """Valid and printable: neither revoked nor replaced by the validation of a newer version. In a query,
        ``ClaimValidation.is_current`` is the same rule as a SQL condition."""
        return self.revoked_at is None and self.superseded_at is None

    @is_current.inplace.expression
    @classmethod
    def _is_current_expression(cls) -> sa.ColumnElement[bool]:
        return sa.and_(cls.revoked_at.is_(None), cls.superseded_at.is_(None))

    def can_revoke(self, user) -> bool:
        """Organisation admins of the NGO that validated."""
        return self.revoked_at is None and self.organisation.has_role(user, MembershipRole.ADMIN)
