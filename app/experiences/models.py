"""Experiences (missions, trainings, other engagements) and the reference table of engagement statuses."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, object_session, relationship

from app.auth.models import User
from app.core.db import Base, TimestampMixin, enum_column, utcnow
from app.core.enums import LabelledEnum
from app.core.i18n import current_language
from app.organisations.models import Organisation


def localized(language_map: dict | None, language: str | None = None) -> str:
    """The text of a language map in ``language`` (current by default), falling back to French then English."""
    if not language_map:
        return ""
    language = language or current_language()
    return language_map.get(language) or language_map.get("fr") or language_map.get("en") or ""


class ExperienceKind(LabelledEnum):
    MISSION = "mission", _l("Mission")
    TRAINING = "training", _l("Training")
    OTHER = "other", _l("Other engagement")


class TrainingKind(LabelledEnum):
    PRE_DEPARTURE = "pre_departure", _l("Pre-departure training")
    DURING_MISSION = "during_mission", _l("Training during the mission")
    RETURN = "return", _l("Return session (relecture d'expérience)")
    OTHER = "other", _l("Other training")


class WorkingTime(LabelledEnum):
    FULL_TIME = "full_time", _l("Full time")
    PART_TIME = "part_time", _l("Part time")


class EngagementStatus(Base):
    """A French or European engagement scheme (VSI, service civique…) with its legal facts.

    Reference data, filled by the migrations from DOMAIN facts; names and proofs are language maps.
    """

    __tablename__ = "engagement_statuses"

    code: Mapped[str] = mapped_column(sa.String(20), primary_key=True)
    position: Mapped[int] = mapped_column(default=0)
    name: Mapped[dict] = mapped_column(sa.JSON)
    legal_basis: Mapped[str] = mapped_column(sa.Text, default="")
    min_days: Mapped[int | None]
    max_days: Mapped[int | None]
    min_age: Mapped[int | None]
    max_age: Mapped[int | None]
    service_civique_family: Mapped[bool] = mapped_column(default=False)
    solidarity_scheme: Mapped[bool] = mapped_column(default=True)
    proof: Mapped[dict] = mapped_column(sa.JSON, default=dict)

    @property
    def label(self) -> str:
        return localized(self.name)


# --- The review lock ---------------------------------------------------------------------------------------------
#
# An experience cannot be edited while a submission of it awaits review. The submissions are written by
# ``validation`` (a package above), and the rule must hold whether or not that package was imported, so the one
# fact it reads is declared here, at the floor that owns the rule: the two columns of the ``submissions`` table the
# lock depends on, as a lightweight table clause (not a model: the table and its mapping stay in validation, whose
# ``SubmissionState.PENDING`` is defined from :data:`REVIEW_PENDING`). tests/test_architecture.py pins that the
# mapped table has these columns.

#: Name of the table of submissions and the state value of a submission awaiting review.
REVIEWS_TABLE = "submissions"
REVIEW_PENDING = "pending"

_reviews = sa.table(REVIEWS_TABLE, sa.column("experience_id"), sa.column("state"))


def under_review_condition(experience_id) -> sa.Exists:
    """SQL condition: experience ``experience_id`` (an id or a column) has a submission awaiting review."""
    return sa.exists().where(_reviews.c.experience_id == experience_id, _reviews.c.state == REVIEW_PENDING)


class Experience(TimestampMixin, Base):
    """Something a volunteer lived: a mission abroad, a training, or another engagement."""

    __tablename__ = "experiences"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[ExperienceKind] = mapped_column(enum_column(ExperienceKind))
    title: Mapped[str] = mapped_column(sa.String(200))
    start_date: Mapped[date]
    end_date: Mapped[date | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # Mission and other engagement
    sending_organisation_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("organisations.id", ondelete="SET NULL"), index=True
    )
    sending_organisation_name: Mapped[str] = mapped_column(sa.String(200), default="")
    host_name: Mapped[str] = mapped_column(sa.String(200), default="")
    host_country: Mapped[str] = mapped_column(sa.String(2), default="")
    host_city: Mapped[str] = mapped_column(sa.String(120), default="")
    status_code: Mapped[str | None] = mapped_column(sa.ForeignKey("engagement_statuses.code"))
    working_time: Mapped[WorkingTime | None] = mapped_column(enum_column(WorkingTime))
    hours_per_week: Mapped[int | None]
    team_size: Mapped[int | None]
    budget_managed_eur: Mapped[int | None]
    people_served: Mapped[int | None]
    languages_used: Mapped[str] = mapped_column(sa.String(300), default="")
    context: Mapped[str] = mapped_column(sa.Text, default="")
    activities: Mapped[str] = mapped_column(sa.Text, default="")
    results: Mapped[str] = mapped_column(sa.Text, default="")
    # Training
    provider: Mapped[str] = mapped_column(sa.String(200), default="")
    training_kind: Mapped[TrainingKind | None] = mapped_column(enum_column(TrainingKind))
    hours: Mapped[int | None]
    certificate: Mapped[str] = mapped_column(sa.String(200), default="")

    owner = relationship(User)
    sending_organisation = relationship(Organisation)
    status = relationship(EngagementStatus)

    __table_args__ = (sa.CheckConstraint("end_date IS NULL OR end_date >= start_date", name="dates_ordered"),)

    # --- Access rules ---------------------------------------------------------------------------------------
    def can_view(self, user) -> bool:
        """The owner sees the experience (validators and advisers get access in later packages)."""
        return user is not None and user.is_authenticated and user.id == self.owner_id

    def can_edit(self, user) -> bool:
        """The owner, unless the experience is locked (e.g. submitted and awaiting review)."""
        return self.can_view(user) and not self.is_locked

    @property
    def is_locked(self) -> bool:
        """True while a submission of the experience awaits review (one statement, no listener involved)."""
        session = object_session(self)
        if session is None or self.id is None:
            return False
        return bool(session.scalar(sa.select(under_review_condition(self.id))))

    # --- Derived facts --------------------------------------------------------------------------------------
    @property
    def duration_days(self) -> int | None:
        if self.end_date is None:
            return None
        return (self.end_date - self.start_date).days + 1

    @property
    def sending_organisation_label(self) -> str:
        if self.sending_organisation is not None:
            return self.sending_organisation.name
        return self.sending_organisation_name

    def duration_warning(self) -> str | None:
        """A translated note when the duration falls outside the status's usual legal bounds (never blocks)."""
        from app.experiences.rules import duration_warning  # cycle: the rules read this module's enums

        return duration_warning(self.status, self.start_date, self.end_date)
