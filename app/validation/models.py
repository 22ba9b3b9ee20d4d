"""Submissions of an experience to a sending NGO, decisions per claim, validations, referent requests (the in-app
notifications are in :mod:`app.core.notifications`).

A :class:`Submission` is the dossier of one experience at one NGO; each (re)submission is a new *round* whose
:class:`SubmissionItem` rows freeze exactly what is reviewed (snapshot + SHA-256 of its canonical JSON). A
validated item produces an immutable :class:`ClaimValidation`; only its revocation and supersession are recorded
afterwards.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.models import User
from app.core.db import Base, enum_column, utcnow
from app.core.enums import LabelledEnum
from app.experiences.models import REVIEW_PENDING, REVIEWS_TABLE, Experience
from app.organisations.models import MembershipRole, Organisation


class SubmissionState(LabelledEnum):
    #: Locks the experience (see :func:`app.experiences.models.under_review_condition`).
    PENDING = REVIEW_PENDING, _l("Awaiting review")
    RETURNED = "returned", _l("Changes requested")
    DECIDED = "decided", _l("Decided")
    #: Taken back by the volunteer before any decision (terminal for the round; the dossier may be resubmitted).
    WITHDRAWN = "withdrawn", _l("Withdrawn")


#: States in which the facts of the latest round may still be confirmed (not after a withdrawal).
FACTS_OPEN_STATES = (SubmissionState.PENDING, SubmissionState.DECIDED, SubmissionState.RETURNED)


class ItemDecision(LabelledEnum):
    PENDING = "pending", _l("Awaiting decision")
    VALIDATED = "validated", _l("Validated")
    CHANGES_REQUESTED = "changes_requested", _l("Changes requested")
    REJECTED = "rejected", _l("Rejected")
    #: The volunteer withdrew the round before this claim was decided (not a decision of the NGO).
    WITHDRAWN = "withdrawn", _l("Withdrawn")


class FactsDecision(LabelledEnum):
    CONFIRMED = "confirmed", _l("Facts confirmed")
    CORRECTED = "corrected", _l("Facts confirmed with a correction")


class Submission(Base):
    """One experience submitted to one sending NGO; rounds follow each other after changes are requested."""

    __tablename__ = REVIEWS_TABLE
    __table_args__ = (
        sa.UniqueConstraint("experience_id", "organisation_id", name="uq_submissions_experience_org"),
        # The trainers' queue: counts by state and pages by submission time, within the NGO (index-only counts).
        sa.Index("ix_submissions_org_state_submitted", "organisation_id", "state", "submitted_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    experience_id: Mapped[int] = mapped_column(sa.ForeignKey("experiences.id", ondelete="CASCADE"), index=True)
    volunteer_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    state: Mapped[SubmissionState] = mapped_column(enum_column(SubmissionState), index=True)
    round: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    decided_at: Mapped[datetime | None]
    #: The facts of the experience as submitted in the current round, and their hash.
    facts: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    facts_hash: Mapped[str] = mapped_column(sa.String(64))
    facts_decision: Mapped[FactsDecision | None] = mapped_column(enum_column(FactsDecision))
    facts_comment: Mapped[str] = mapped_column(sa.Text, default="")
    facts_confirmed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    facts_confirmed_at: Mapped[datetime | None]
    #: The facts hash the decision applies to (a later round with other facts needs a new confirmation).
    facts_confirmed_hash: Mapped[str | None] = mapped_column(sa.String(64))
    #: What the trainer acknowledged when confirming the facts: overlapping full-time engagements, a duration outside
    #: the status's legal bounds (see :func:`app.validation.queries.facts_warnings`); printed on the attestation.
    facts_warnings: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)

    experience = relationship(Experience)
    volunteer = relationship(User, foreign_keys=[volunteer_id])
    organisation = relationship(Organisation)
    facts_confirmed_by = relationship(User, foreign_keys=[facts_confirmed_by_id])
    items = relationship(
        "SubmissionItem", back_populates="submission", order_by="SubmissionItem.id", cascade="all, delete-orphan"
    )

    @property
    def current_items(self) -> list[SubmissionItem]:
        return [item for item in self.items if item.round == self.round]

    def can_view(self, user) -> bool:
        """Trainers and admins of the NGO the submission was addressed to."""
        return self.organisation.is_staff(user)

    def is_reviewer(self, user) -> bool:
        """A trainer of the NGO the submission is addressed to, other than the volunteer (nobody reviews their own
        claims)."""
        user_id = getattr(user, "id", None)
        return (
            user_id is not None
            and user_id != self.volunteer_id
            and self.organisation.has_role(user, MembershipRole.TRAINER)
        )

    def can_decide(self, user) -> bool:
        """Reviewers, while the submission awaits review."""
        return self.state == SubmissionState.PENDING and self.is_reviewer(user)

    def can_withdraw(self, user) -> bool:
        """Only the volunteer who submitted (and still owns the experience) may take a submission back."""
        user_id = getattr(user, "id", None)
        return user_id is not None and user_id == self.volunteer_id and self.experience.owner_id == user_id

    def can_confirm_facts(self, user) -> bool:
        """Trainers of the NGO (never on their own experience) while the facts of the latest round await an answer:
        during the review, or after the last claim was decided (the facts may be answered after the claims).
        Whether the facts are still those submitted is checked by the operation."""
        return self.facts_decision is None and self.state in FACTS_OPEN_STATES and self.is_reviewer(user)

    @property
    def facts_confirmed_this_round(self) -> bool:
        """A trainer answered on the facts during the current round (not a confirmation carried over from an
        earlier round with the same facts)."""
        return (
            self.facts_decision is not None
            and self.facts_confirmed_at is not None
            and self.facts_confirmed_at >= self.submitted_at
        )

    @property
    def is_withdrawable(self) -> bool:
        """Awaiting review with no decision recorded yet in the current round: none on its claims, none on its
        facts."""
        return (
            self.state == SubmissionState.PENDING
            and not self.facts_confirmed_this_round
            and all(item.is_pending for item in self.current_items)
        )


class SubmissionItem(Base):
    """One claim in one round of a submission, frozen as reviewed, and the decision on it."""

    __tablename__ = "submission_items"
    __table_args__ = (
        sa.UniqueConstraint("submission_id", "round", "claim_id", name="uq_submission_items_round_claim"),
        # The queue statistics read the latest decisions only (app.validation.queries.organisation_stats).
        sa.Index("ix_submission_items_decided_at", "decided_at"),
        # The admin's count of items awaiting a decision, from a small index of the pending items only.
        sa.Index(
            "ix_submission_items_pending",
            "submission_id",
            "id",
            postgresql_where=sa.text("decision = 'pending'"),
            sqlite_where=sa.text("decision = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    submission_id: Mapped[int] = mapped_column(sa.ForeignKey("submissions.id", ondelete="CASCADE"), index=True)
    round: Mapped[int] = mapped_column(default=1)
    claim_id: Mapped[int] = mapped_column(sa.ForeignKey("claims.id", ondelete="CASCADE"), index=True)
    claim_version: Mapped[int]
    snapshot: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    content_hash: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decision: Mapped[ItemDecision] = mapped_column(enum_column(ItemDecision), default=ItemDecision.PENDING)
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None]
    validated_level: Mapped[int | None]
    comment: Mapped[str] = mapped_column(sa.Text, default="")

    submission = relationship(Submission, back_populates="items")
    claim = relationship("Claim")
    decided_by = relationship(User, foreign_keys=[decided_by_id])

    @property
    def is_pending(self) -> bool:
        return self.decision == ItemDecision.PENDING

    @property
    def is_decided(self) -> bool:
        """A trainer decided (a withdrawn item is closed but was never reviewed)."""
        return self.decision not in (ItemDecision.PENDING, ItemDecision.WITHDRAWN)


class ReferentRequest(Base):
    """A host-country referent asked to confirm the facts of a mission and selected claims (no account)."""

    __tablename__ = "referent_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    experience_id: Mapped[int] = mapped_column(sa.ForeignKey("experiences.id", ondelete="CASCADE"), index=True)
    volunteer_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    email: Mapped[str] = mapped_column(sa.String(254))
    organisation_name: Mapped[str] = mapped_column(sa.String(200), default="")
    role: Mapped[str] = mapped_column(sa.String(120), default="")
    language: Mapped[str] = mapped_column(sa.String(5), default="fr")
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    #: What the referent is asked to confirm: facts and claims as they were when the request was made.
    snapshot: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    content_hash: Mapped[str] = mapped_column(sa.String(64))
    confirmed_at: Mapped[datetime | None]
    facts_confirmed: Mapped[bool | None]
    #: Ids of the claims (from the snapshot) the referent confirmed.
    confirmed_claim_ids: Mapped[list[int]] = mapped_column(sa.JSON, default=list)
    comment: Mapped[str] = mapped_column(sa.Text, default="")

    experience = relationship(Experience)
    volunteer = relationship(User)

    @property
    def is_usable(self) -> bool:
        return self.confirmed_at is None and self.expires_at > utcnow()
