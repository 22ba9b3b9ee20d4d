"""Claims and evidence."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.models import User
from app.core.db import Base, TimestampMixin, enum_column, utcnow
from app.core.enums import LabelledEnum
from app.experiences.models import Experience
from app.frameworks.models import FrameworkNode


class ClaimState(LabelledEnum):
    """Where a claim stands. Submission and validation states come with the validation workflow."""

    DRAFT = "draft", _l("Draft")
    SUBMITTED = "submitted", _l("Submitted for validation")
    VALIDATED = "validated", _l("Validated")
    CHANGES_REQUESTED = "changes_requested", _l("Changes requested")
    REJECTED = "rejected", _l("Rejected")


#: The guided narrative (STARRT), in the order it is written; prompts are in ``app.claims.narrative``.
NARRATIVE_PARTS = ("situation", "task", "actions", "result", "reflection", "transfer")

claim_evidence = sa.Table(
    "claim_evidence",
    Base.metadata,
    sa.Column("claim_id", sa.ForeignKey("claims.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("evidence_id", sa.ForeignKey("evidence.id", ondelete="CASCADE"), primary_key=True),
)


class Evidence(TimestampMixin, Base):
    """A file in a volunteer's evidence library; it can support several claims."""

    __tablename__ = "evidence"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    #: The name the file had on the uploader's computer, for display only (the file is stored under storage_key).
    original_filename: Mapped[str] = mapped_column(sa.String(255), default="")
    storage_key: Mapped[str] = mapped_column(sa.String(32), unique=True)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    size: Mapped[int]
    mime: Mapped[str] = mapped_column(sa.String(40))
    pages: Mapped[int | None]
    width: Mapped[int | None]
    height: Mapped[int | None]
    #: The uploaded PDF carried active content (scripts, automatic or launch actions, embedded files, XFA, rich
    #: media) that was removed before storing it; reviewers are told (app/core/filecheck.py).
    active_content_removed: Mapped[bool] = mapped_column(default=False, server_default=sa.false())

    owner = relationship(User)
    claims = relationship("Claim", secondary=claim_evidence, back_populates="evidence")

    def can_view(self, user) -> bool:
        return user is not None and user.is_authenticated and user.id == self.owner_id

    def can_delete(self, user) -> bool:
        """Not while a claim it supports is under review (the reviewed content must not change)."""
        return self.can_view(user) and not any(claim.state == ClaimState.SUBMITTED for claim in self.claims)

    @property
    def is_image(self) -> bool:
        return self.mime.startswith("image/")

    @property
    def extension(self) -> str:
        return {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}.get(self.mime, "bin")


class Claim(TimestampMixin, Base):
    """ "In this experience I showed this competence, at this level" — with a narrative and evidence."""

    __tablename__ = "claims"
    __table_args__ = (sa.UniqueConstraint("experience_id", "node_id", name="uq_claims_experience_node"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    experience_id: Mapped[int] = mapped_column(sa.ForeignKey("experiences.id", ondelete="CASCADE"), index=True)
    #: A node of one framework *version*: the claim keeps pointing at it when a new version is imported.
    node_id: Mapped[int] = mapped_column(sa.ForeignKey("framework_nodes.id"), index=True)
    level_rank: Mapped[int | None]
    situation: Mapped[str] = mapped_column(sa.Text, default="")
    task: Mapped[str] = mapped_column(sa.Text, default="")
    actions: Mapped[str] = mapped_column(sa.Text, default="")
    result: Mapped[str] = mapped_column(sa.Text, default="")
    reflection: Mapped[str] = mapped_column(sa.Text, default="")
    transfer: Mapped[str] = mapped_column(sa.Text, default="")
    state: Mapped[ClaimState] = mapped_column(enum_column(ClaimState), default=ClaimState.DRAFT)
    #: Incremented on every change of the claim's content.
    version: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    owner = relationship(User)
    experience = relationship(Experience)
    node = relationship(FrameworkNode)
    evidence = relationship(Evidence, secondary=claim_evidence, back_populates="claims", order_by=Evidence.id)

    def can_view(self, user) -> bool:
        return user is not None and user.is_authenticated and user.id == self.owner_id

    def can_edit(self, user) -> bool:
        """The owner edits any claim but a submitted one (locked until decided or returned); editing a validated
        claim makes a new draft version, the validated one stays valid until the new one is validated."""
        return self.can_view(user) and self.state != ClaimState.SUBMITTED

    @property
    def narrative_parts_done(self) -> int:
        return sum(1 for part in NARRATIVE_PARTS if getattr(self, part).strip())

    @property
    def narrative_complete(self) -> bool:
        return self.narrative_parts_done == len(NARRATIVE_PARTS)
