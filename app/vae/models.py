"""A volunteer's VAE project, its timeline, companions, comments, bloc drafts and the blocs a jury awarded.

A :class:`VaeProject` targets one version of an RNCP framework (the version is pinned: a certification renovated
during the path does not move the project's blocs) by one of two routes — France VAE (dossier de faisabilité) or a
certification outside France VAE (livret 1, Cerfa n° 12818*02). Its status moves through guarded transitions
(``operations.advance``); each real-world step keeps its date. Companions are named-adviser shares
(``app.sharing``): inviting one opens a share, ending the share ends their access to the project too, and every
page they open is written to that share's access log.
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.auth.models import User
from app.core.db import Base, enum_column, utcnow
from app.core.enums import LabelledEnum
from app.frameworks.models import Framework, FrameworkVersion
from app.sharing.models import Share


class VaeRoute(LabelledEnum):
    FRANCE_VAE = "france_vae", _l("France VAE (dossier de faisabilité)")
    LIVRET1 = "livret1", _l("Certification outside France VAE (livret 1, Cerfa 12818*02)")


class VaeStatus(LabelledEnum):
    STARTED = "started", _l("Project started")
    FEASIBILITY_SENT = "feasibility_sent", _l("Admissibility request sent")
    ADMISSIBLE = "admissible", _l("Admissible")
    INADMISSIBLE = "inadmissible", _l("Not admissible")
    PATH_STARTED = "path_started", _l("Personalised path started")
    VALIDATION_SENT = "validation_sent", _l("Dossier de validation sent")
    JURY_SCHEDULED = "jury_scheduled", _l("Jury scheduled")
    DECIDED = "decided", _l("Jury decision recorded")
    ABANDONED = "abandoned", _l("Abandoned")


class VaeOutcome(LabelledEnum):
    TOTAL = "total", _l("Total validation")
    PARTIAL = "partial", _l("Partial validation")
    REFUSAL = "refusal", _l("Refusal")


#: Allowed moves of the path. "Sent again" after a refusal of admissibility; France VAE's personalised path may be
#: skipped (livret 1 route, or a candidate going autonomous); abandoning is possible until the decision.
TRANSITIONS: dict[VaeStatus, tuple[VaeStatus, ...]] = {
    VaeStatus.STARTED: (VaeStatus.FEASIBILITY_SENT, VaeStatus.ABANDONED),
    VaeStatus.FEASIBILITY_SENT: (VaeStatus.ADMISSIBLE, VaeStatus.INADMISSIBLE, VaeStatus.ABANDONED),
    VaeStatus.INADMISSIBLE: (VaeStatus.FEASIBILITY_SENT, VaeStatus.ABANDONED),
    VaeStatus.ADMISSIBLE: (VaeStatus.PATH_STARTED, VaeStatus.VALIDATION_SENT, VaeStatus.ABANDONED),
    VaeStatus.PATH_STARTED: (VaeStatus.VALIDATION_SENT, VaeStatus.ABANDONED),
    VaeStatus.VALIDATION_SENT: (VaeStatus.JURY_SCHEDULED, VaeStatus.ABANDONED),
    VaeStatus.JURY_SCHEDULED: (VaeStatus.DECIDED, VaeStatus.ABANDONED),
    VaeStatus.DECIDED: (),
    VaeStatus.ABANDONED: (),
}

#: The date column each status records (the day it happened, as the volunteer enters it).
STATUS_DATES: dict[VaeStatus, str] = {
    VaeStatus.STARTED: "started_on",
    VaeStatus.FEASIBILITY_SENT: "feasibility_sent_on",
    VaeStatus.ADMISSIBLE: "admissibility_on",
    VaeStatus.INADMISSIBLE: "admissibility_on",
    VaeStatus.PATH_STARTED: "path_started_on",
    VaeStatus.VALIDATION_SENT: "validation_sent_on",
    VaeStatus.JURY_SCHEDULED: "jury_on",
    VaeStatus.DECIDED: "decided_on",
    VaeStatus.ABANDONED: "abandoned_on",
}


vae_project_companions = sa.Table(
    "vae_project_companions",
    Base.metadata,
    sa.Column("project_id", sa.ForeignKey("vae_projects.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("share_id", sa.ForeignKey("shares.id", ondelete="CASCADE"), primary_key=True),
)


class VaeProject(Base):
    """One VAE path of a volunteer towards a certification (all its blocs, or some)."""

    __tablename__ = "vae_projects"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    framework_id: Mapped[int] = mapped_column(sa.ForeignKey("frameworks.id"), index=True)
    framework_version_id: Mapped[int] = mapped_column(sa.ForeignKey("framework_versions.id"))
    route: Mapped[VaeRoute] = mapped_column(enum_column(VaeRoute, 20))
    #: Codes of the chosen blocs, in the référentiel's order; every bloc when the whole certification is aimed at.
    bloc_codes: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    whole_certification: Mapped[bool] = mapped_column(default=True)
    status: Mapped[VaeStatus] = mapped_column(enum_column(VaeStatus, 20), default=VaeStatus.STARTED)
    started_on: Mapped[date]
    feasibility_sent_on: Mapped[date | None]
    admissibility_on: Mapped[date | None]
    path_started_on: Mapped[date | None]
    validation_sent_on: Mapped[date | None]
    jury_on: Mapped[date | None]
    decided_on: Mapped[date | None]
    abandoned_on: Mapped[date | None]
    outcome: Mapped[VaeOutcome | None] = mapped_column(enum_column(VaeOutcome, 20))
    certifier: Mapped[str] = mapped_column(sa.String(200), default="")
    acquired_bloc_codes: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    #: The project this one continues (the blocs a partial validation left to acquire).
    previous_id: Mapped[int | None] = mapped_column(sa.ForeignKey("vae_projects.id", ondelete="SET NULL"))
    #: Déclaration sur l'honneur: who signed (their name as typed) and when; cleared when the dossier changes.
    sworn_at: Mapped[datetime | None]
    sworn_name: Mapped[str] = mapped_column(sa.String(120), default="")
    #: Keys of the reminders already sent (``"start_path:2026-07-01:30"``), so a reminder goes out once.
    reminders_sent: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    owner = relationship(User, foreign_keys=[owner_id])
    framework = relationship(Framework)
    framework_version = relationship(FrameworkVersion)
    companions = relationship(Share, secondary=vae_project_companions, order_by=Share.id)

    @property
    def next_statuses(self) -> tuple[VaeStatus, ...]:
        return TRANSITIONS[self.status]

    @property
    def is_closed(self) -> bool:
        return self.status in (VaeStatus.DECIDED, VaeStatus.ABANDONED)

    def can_manage(self, user) -> bool:
        """The volunteer whose path it is: edits, moves the status, invites companions."""
        return bool(user is not None and user.is_authenticated and user.id == self.owner_id)

    def companion_share(self, user) -> Share | None:
        """The active share through which ``user`` accompanies this project, if any."""
        if user is None or not user.is_authenticated:
            return None
        return next((s for s in self.companions if s.is_active and s.is_adviser(user)), None)

    def can_view(self, user) -> bool:
        """The volunteer, or a companion whose share is active (revoked or expired: no access)."""
        return self.can_manage(user) or self.companion_share(user) is not None

    def can_comment(self, user) -> bool:
        return self.can_view(user)


class VaeEvent(Base):
    """One line of the project's timeline (status moves, invitations, comments, drafts, documents, outcome)."""

    __tablename__ = "vae_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("vae_projects.id", ondelete="CASCADE"), index=True)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    #: "created", "status", "companion_invited", "companion_ended", "comment", "comment_resolved", "draft",
    #: "sworn", "document", "outcome".
    kind: Mapped[str] = mapped_column(sa.String(30))
    data: Mapped[dict] = mapped_column(sa.JSON, default=dict)

    actor = relationship(User)


class VaeComment(Base):
    """A comment on a bloc of the project (``bloc_code`` empty: on the whole project); replies point at the
    thread's first comment. Resolving a thread keeps it (the history), marked resolved."""

    __tablename__ = "vae_comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("vae_projects.id", ondelete="CASCADE"), index=True)
    bloc_code: Mapped[str] = mapped_column(sa.String(200), default="")
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("vae_comments.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_at: Mapped[datetime | None]
    resolved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))

    author = relationship(User, foreign_keys=[author_id])
    resolved_by = relationship(User, foreign_keys=[resolved_by_id])


#: The parts of a bloc's description of activities (the common skeleton of the livret 2 / dossier de validation).
DRAFT_FIELDS = (
    "context",
    "activities",
    "how",
    "with_whom",
    "tools",
    "constraints",
    "results",
    "differently",
)


class VaeBlocDraft(Base):
    """The volunteer's writing for one bloc of the dossier de validation: the chosen work situations (claims with
    their STAR narratives), the description of activities, the evidence attached; each save is a revision."""

    __tablename__ = "vae_bloc_drafts"
    __table_args__ = (sa.UniqueConstraint("project_id", "bloc_code", name="uq_vae_bloc_drafts_project_bloc"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("vae_projects.id", ondelete="CASCADE"), index=True)
    bloc_code: Mapped[str] = mapped_column(sa.String(200))
    fields: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    claim_ids: Mapped[list[int]] = mapped_column(sa.JSON, default=list)
    evidence_ids: Mapped[list[int]] = mapped_column(sa.JSON, default=list)
    revision: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def word_count(self) -> int:
        return sum(len((self.fields or {}).get(name, "").split()) for name in DRAFT_FIELDS)


class VaeDraftRevision(Base):
    """One saved state of a bloc draft (the history the volunteer can read back)."""

    __tablename__ = "vae_draft_revisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    draft_id: Mapped[int] = mapped_column(sa.ForeignKey("vae_bloc_drafts.id", ondelete="CASCADE"), index=True)
    revision: Mapped[int]
    saved_at: Mapped[datetime] = mapped_column(default=utcnow)
    #: True for a save made by the page's script while typing (autosave), False for the "Save" button.
    autosave: Mapped[bool] = mapped_column(default=False)
    fields: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    claim_ids: Mapped[list[int]] = mapped_column(sa.JSON, default=list)
    evidence_ids: Mapped[list[int]] = mapped_column(sa.JSON, default=list)


class AcquiredBloc(Base):
    """A bloc de compétences a certification jury awarded (by VAE): part of the portfolio, shown as such — a
    certifier's decision recorded by the volunteer, never an NGO validation."""

    __tablename__ = "vae_acquired_blocs"
    __table_args__ = (sa.UniqueConstraint("project_id", "bloc_code", name="uq_vae_acquired_blocs_project_bloc"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("vae_projects.id", ondelete="CASCADE"), index=True)
    framework_version_id: Mapped[int] = mapped_column(sa.ForeignKey("framework_versions.id"))
    bloc_code: Mapped[str] = mapped_column(sa.String(200))
    title: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    decided_on: Mapped[date]
    certifier: Mapped[str] = mapped_column(sa.String(200), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
