"""Shares of a portfolio, the access log the volunteer reads, and the advisers' private notes.

A :class:`Share` opens read-only access to a volunteer's portfolio (all of it or selected experiences):

* ``ADVISER`` shares name an e-mail address. They are bound to the account holding that address *verified*
  (``is_adviser`` is not required: an adviser invited by a volunteer may simply sign up). The first access binds
  the share to that account (``adviser_id``), so a later change of address does not move the share.
* ``LINK`` shares carry a random token (256 bits), stored only as its SHA-256. The token is exchanged on first
  use for a *session grant* (the share id in the signed session) and a redirect to a token-free URL.

Unknown, expired and revoked shares all answer the same 404; every request re-checks the share, so revocation
takes effect on the next click, file downloads included.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.models import User
from app.core.db import Base, utcnow
from app.core.enums import LabelledEnum


def _enum_column(enum_cls, length: int = 20):
    return sa.Enum(enum_cls, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e])


class ShareKind(LabelledEnum):
    ADVISER = "adviser", _l("Named adviser")
    LINK = "link", _l("Link")


share_experiences = sa.Table(
    "share_experiences",
    Base.metadata,
    sa.Column("share_id", sa.ForeignKey("shares.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("experience_id", sa.ForeignKey("experiences.id", ondelete="CASCADE"), primary_key=True),
)


class Share(Base):
    """Read-only access to a volunteer's portfolio, for a named adviser or whoever holds a link."""

    __tablename__ = "shares"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[ShareKind] = mapped_column(_enum_column(ShareKind))
    #: A note for the volunteer ("VAE jury", "France Travail"), shown in their list only.
    label: Mapped[str] = mapped_column(sa.String(120), default="")
    adviser_email: Mapped[str] = mapped_column(sa.String(254), default="", index=True)
    adviser_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    #: True: the whole portfolio, including experiences added later. False: only ``experiences``.
    whole_portfolio: Mapped[bool] = mapped_column(default=True)
    include_evidence: Mapped[bool] = mapped_column(default=True)
    include_documents: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]

    owner = relationship(User, foreign_keys=[owner_id])
    adviser = relationship(User, foreign_keys=[adviser_id])
    experiences = relationship("Experience", secondary=share_experiences, order_by="Experience.start_date.desc()")

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and self.expires_at > utcnow()

    def can_manage(self, user) -> bool:
        """The volunteer who shared (sees the access log, revokes)."""
        return user is not None and user.is_authenticated and user.id == self.owner_id

    def is_adviser(self, user) -> bool:
        """The named adviser: the bound account, or before binding the account with this verified address."""
        if self.kind != ShareKind.ADVISER or user is None or not user.is_authenticated:
            return False
        if self.adviser_id is not None:
            return user.id == self.adviser_id
        return user.is_verified and user.email.lower() == self.adviser_email.lower()

    def covers_experience(self, experience_id: int) -> bool:
        return self.whole_portfolio or any(e.id == experience_id for e in self.experiences)


class ShareAccess(Base):
    """One view through a share, for the volunteer's access log (never the token, never an IP address)."""

    __tablename__ = "share_accesses"

    id: Mapped[int] = mapped_column(primary_key=True)
    share_id: Mapped[int] = mapped_column(sa.ForeignKey("shares.id", ondelete="CASCADE"), index=True)
    #: The adviser's account; ``None`` for a link visitor (or an adviser whose account was erased).
    viewer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    accessed_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    #: What was seen: "portfolio", "experience", "evidence", "document".
    what: Mapped[str] = mapped_column(sa.String(20))
    #: Title of what was seen, as it was then (the volunteer's own data).
    what_label: Mapped[str] = mapped_column(sa.String(200), default="")

    viewer = relationship(User)


class AdviserNote(Base):
    """An adviser's private notes on a portfolio shared with them; nobody else ever reads them."""

    __tablename__ = "adviser_notes"
    __table_args__ = (sa.UniqueConstraint("share_id", "adviser_id", name="uq_adviser_notes_share_adviser"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    share_id: Mapped[int] = mapped_column(sa.ForeignKey("shares.id", ondelete="CASCADE"), index=True)
    adviser_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    body: Mapped[str] = mapped_column(sa.Text, default="")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
