"""Impact survey storage: who took part, kept apart from what was answered.

* :class:`SurveyParticipation` — the account side: user id + questionnaire id/version, nothing else. It exists
  only so that a person answers once per version (unique constraint). It is committed in a transaction of its
  own, never with the answers.
* :class:`SurveyPendingAnswer` — answers waiting for their batch: no user, no time, a random key. The release
  job (:mod:`app.survey.release`) moves them into the report tables in shuffled batches.
* :class:`SurveyResponse` — released answers: no user id, no time at all, a random primary key (uuid4 hex) so
  neither ids nor their order can be matched with participations. On SQLite the answer tables are created
  ``WITHOUT ROWID`` (rows stored in random-key order, no hidden insertion counter).
* :class:`SurveyResponseOrganisation` — the sending NGOs the respondent chose to attribute the answers to.
* :class:`SurveyComment` — the optional free text, shown in reports only once approved by a moderator.
* :class:`SurveyRelease` / :class:`SurveyTally` — when the release job ran, and the noisy counts it published:
  reports read nothing else (see :mod:`app.survey.privacy`).

Nothing on the answer side refers to ``users``, and nothing on it can be ordered or matched in time with the
participations: no audit event records answering, the only time is that of a release (a batch of at least
``SURVEY_RELEASE_BATCH`` answers), and no key increases. ``consent_version`` is fixed per questionnaire version
(one data file each), so it splits nothing further. The tests check the schema for all of it.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.core.db import Base, enum_column, utcnow
from app.core.enums import LabelledEnum
from app.organisations.models import MembershipRole, Organisation

#: Tables holding answers: none of them may reference ``users``.
ANSWER_TABLES = (
    "survey_pending_answers",
    "survey_responses",
    "survey_response_organisations",
    "survey_comments",
    "survey_tallies",
)
#: Storage options of the answer tables (no implicit, insertion-ordered rowid on SQLite).
_NO_ROWID = {"sqlite_with_rowid": False}


def random_id() -> str:
    """A random 32-hex-digit identifier (uuid4): carries no order and no time."""
    return uuid.uuid4().hex


class SurveyParticipation(Base):
    """That a user answered a questionnaire version — never what, never when."""

    __tablename__ = "survey_participations"
    __table_args__ = (
        sa.UniqueConstraint(
            "user_id", "questionnaire_id", "questionnaire_version", name="uq_survey_participations_once"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    questionnaire_id: Mapped[str] = mapped_column(sa.String(40))
    questionnaire_version: Mapped[int]


class SurveyPendingAnswer(Base):
    """An answer waiting for its batch: no user, no time, a random key (stored in random-key order).

    Written in a transaction of its own, never the one that records the participation; moved into the report
    tables only by :func:`app.survey.release.release_pending`, in shuffled batches of at least
    ``SURVEY_RELEASE_BATCH`` answers attributed to the same set of NGOs.
    """

    __tablename__ = "survey_pending_answers"
    __table_args__ = (
        sa.Index("ix_survey_pending_answers_questionnaire", "questionnaire_id", "questionnaire_version"),
        _NO_ROWID,
    )

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True, default=random_id)
    questionnaire_id: Mapped[str] = mapped_column(sa.String(40))
    questionnaire_version: Mapped[int]
    consent_version: Mapped[str] = mapped_column(sa.String(40))
    #: The sending NGOs the answer counts for, as sorted comma-separated ids ("" for none): see ``attribution_key``.
    attribution: Mapped[str] = mapped_column(sa.String(400), default="")
    profile: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    answers: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    #: The free text, already cleaned of e-mail addresses and phone numbers.
    comment: Mapped[str | None] = mapped_column(sa.Text)


def attribution_key(organisation_ids) -> str:
    """The canonical text of a set of organisation ids (``"3,12"``; ``""`` for none)."""
    return ",".join(str(i) for i in sorted({int(i) for i in organisation_ids}))


def attribution_ids(key: str) -> frozenset[int]:
    """The organisation ids of an :func:`attribution_key`."""
    return frozenset(int(part) for part in key.split(",") if part)


class SurveyRelease(Base):
    """One run of the release job for one questionnaire version: when the reports last changed.

    ``released_at`` is the only time on the answer side, and it is the time of a batch of at least
    ``SURVEY_RELEASE_BATCH`` answers per attribution, run by a background job.
    """

    __tablename__ = "survey_releases"
    __table_args__ = (sa.Index("ix_survey_releases_questionnaire", "questionnaire_id", "questionnaire_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    questionnaire_id: Mapped[str] = mapped_column(sa.String(40))
    questionnaire_version: Mapped[int]
    released_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: zCDP parameter spent by this release on each attribution set it re-published.
    rho: Mapped[float] = mapped_column(sa.Float)


class SurveyTally(Base):
    """The published (noisy) counts of the released answers attributed to one set of NGOs.

    Reports add up tallies and never read answers: every scope (all answers, one NGO, one NGO without the
    answers also attributed to another) is a sum of these, so what one person's answer can change in any scope is
    bounded by the noise of the one tally it is in (see :mod:`app.survey.privacy`).
    """

    __tablename__ = "survey_tallies"
    __table_args__ = (_NO_ROWID,)

    questionnaire_id: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    questionnaire_version: Mapped[int] = mapped_column(primary_key=True)
    attribution: Mapped[str] = mapped_column(sa.String(400), primary_key=True)
    #: {"n": int, "item:<key>": [..], "profile:<key>": [..], "cross:<item>:<question>": [[..]..]}
    counts: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    #: zCDP parameter spent so far on the answers of this set (sequential composition of its releases).
    rho_spent: Mapped[float] = mapped_column(sa.Float, default=0.0)


class SurveyResponse(Base):
    """One anonymous set of answers."""

    __tablename__ = "survey_responses"
    __table_args__ = (
        sa.Index("ix_survey_responses_questionnaire", "questionnaire_id", "questionnaire_version"),
        _NO_ROWID,
    )

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True, default=random_id)
    questionnaire_id: Mapped[str] = mapped_column(sa.String(40))
    questionnaire_version: Mapped[int]
    #: Version of the consent text the respondent accepted.
    consent_version: Mapped[str] = mapped_column(sa.String(40))
    #: {profile question key: option value}
    profile: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    #: {item key: "1".."5" | "na"}
    answers: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)

    organisation_links = relationship(
        "SurveyResponseOrganisation", back_populates="response", cascade="all, delete-orphan"
    )
    comment = relationship("SurveyComment", back_populates="response", uselist=False, cascade="all, delete-orphan")

    @property
    def organisation_ids(self) -> set[int]:
        return {link.organisation_id for link in self.organisation_links}


class SurveyResponseOrganisation(Base):
    """A sending NGO a response is attributed to (chosen by the respondent among their memberships)."""

    __tablename__ = "survey_response_organisations"
    __table_args__ = (_NO_ROWID,)

    response_id: Mapped[str] = mapped_column(sa.ForeignKey("survey_responses.id", ondelete="CASCADE"), primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organisations.id", ondelete="CASCADE"), primary_key=True, index=True
    )

    response = relationship(SurveyResponse, back_populates="organisation_links")
    organisation = relationship(Organisation)


class CommentState(LabelledEnum):
    """Moderation of a free-text answer."""

    PENDING = "pending", _l("Awaiting review")
    APPROVED = "approved", _l("Approved")
    REJECTED = "rejected", _l("Rejected")


class SurveyComment(Base):
    """The free-text answer of a response; reports show it only once approved."""

    __tablename__ = "survey_comments"
    __table_args__ = (_NO_ROWID,)

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True, default=random_id)
    response_id: Mapped[str] = mapped_column(sa.ForeignKey("survey_responses.id", ondelete="CASCADE"), unique=True)
    text: Mapped[str] = mapped_column(sa.Text)
    #: The release that brought it in: moderators see comments only in groups or once that release is old enough.
    release_id: Mapped[int | None] = mapped_column(sa.ForeignKey("survey_releases.id", ondelete="SET NULL"))
    #: Who reviewed is in the audit log, when is nowhere on the answer side (no time can be matched with it).
    state: Mapped[CommentState] = mapped_column(enum_column(CommentState), default=CommentState.PENDING, index=True)

    response = relationship(SurveyResponse, back_populates="comment")

    def can_moderate(self, user) -> bool:
        """Platform admins, and admins of a sending NGO the response is attributed to."""
        if user is None or not user.is_authenticated:
            return False
        if user.is_platform_admin:
            return True
        admin_of = {m.organisation_id for m in user.memberships if m.is_active and m.role == MembershipRole.ADMIN}
        return bool(admin_of & self.response.organisation_ids)


class SurveyInvitation(Base):
    """One sending of the invitation e-mails by an NGO's admin: when, for which questionnaire version, how many."""

    __tablename__ = "survey_invitations"
    __table_args__ = (sa.Index("ix_survey_invitations_org_questionnaire", "organisation_id", "questionnaire_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id", ondelete="CASCADE"))
    questionnaire_id: Mapped[str] = mapped_column(sa.String(40))
    questionnaire_version: Mapped[int]
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_count: Mapped[int] = mapped_column(default=0)


class SurveyInvitationLink(Base):
    """One e-mailed invitation link, known only by the hash of its random token: it records that the link was
    opened, never who received it (no user id), so the counts cannot be tied back to a member."""

    __tablename__ = "survey_invitation_links"

    token_hash: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    invitation_id: Mapped[int] = mapped_column(sa.ForeignKey("survey_invitations.id", ondelete="CASCADE"), index=True)
    opened_at: Mapped[datetime | None]
