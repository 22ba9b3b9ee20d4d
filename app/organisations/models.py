"""Organisations, memberships with roles, and e-mail invitations."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, joinedload, mapped_column, object_session, relationship

from app.auth.models import User
from app.core.db import Base, TimestampMixin, enum_column, utcnow
from app.core.enums import LabelledEnum


class OrganisationKind(LabelledEnum):
    """What an organisation is to Acquis."""

    SENDING_NGO = "sending_ngo", _l("Sending NGO")
    HOST_PARTNER = "host_partner", _l("Host partner (abroad)")
    GUIDANCE_SERVICE = "guidance_service", _l("Guidance service")


class MembershipRole(LabelledEnum):
    """A person's role inside one organisation."""

    VOLUNTEER = "volunteer", _l("Volunteer")
    TRAINER = "trainer", _l("Trainer")
    ADMIN = "admin", _l("Organisation admin")


#: The roles of an NGO's staff (trainers and admins): one home for "is staff", see :meth:`Organisation.is_staff`.
STAFF_ROLES = (MembershipRole.TRAINER, MembershipRole.ADMIN)


class MembershipState(LabelledEnum):
    """Join requests are pending until an organisation admin approves them."""

    PENDING = "pending", _l("Awaiting approval")
    ACTIVE = "active", _l("Active")


class Organisation(TimestampMixin, Base):
    """A sending NGO, a host partner abroad or a guidance service."""

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(60), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[OrganisationKind] = mapped_column(enum_column(OrganisationKind))
    country: Mapped[str] = mapped_column(sa.String(2), default="FR")
    description: Mapped[str] = mapped_column(sa.Text, default="")
    #: Whether people may ask to join from the directory (org admins approve each request).
    accepts_join_requests: Mapped[bool] = mapped_column(default=True)
    # The NGO's identity on the documents it issues (letterhead): see app.organisations.operations.update_profile.
    legal_name: Mapped[str] = mapped_column(sa.String(200), default="")
    address: Mapped[str] = mapped_column(sa.Text, default="")
    #: RNA (W + 9 digits) or SIRET (14 digits), as printed.
    registration_number: Mapped[str] = mapped_column(sa.String(40), default="")
    website: Mapped[str] = mapped_column(sa.String(200), default="")
    #: PNG re-encoded from the upload (never the uploaded bytes), small enough for a letterhead.
    logo_png: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    stamp_png: Mapped[bytes | None] = mapped_column(sa.LargeBinary)

    # Grows with the NGO (thousands of members): never load it to answer an access question. Rules look the
    # organisation up in the *user's* memberships instead (see membership_of); lists query with a limit.
    memberships = relationship("Membership", back_populates="organisation", cascade="all, delete-orphan")

    def membership_of(self, user) -> Membership | None:
        """The user's membership (active or pending), found among the user's own memberships.

        A user has a handful of memberships, loaded by one indexed query (memberships.user_id) the first time a
        request asks and then kept by the session for the rest of the request, so every rule of the request costs
        at most that one statement, whatever the size of the NGO.
        """
        if user is None or not user.is_authenticated:
            return None
        return next((m for m in user.memberships if m.organisation_id == self.id), None)

    def has_role(self, user, *roles: MembershipRole) -> bool:
        membership = self.membership_of(user)
        return bool(membership and membership.is_active and (not roles or membership.role in roles))

    def is_staff(self, user) -> bool:
        """Whether ``user`` is on the NGO's staff: an active trainer or admin (who review its submissions, print in
        its name, write its opinions)."""
        return self.has_role(user, *STAFF_ROLES)

    def can_manage(self, user) -> bool:
        """Organisation admins and platform admins manage members and invitations."""
        if user is None or not user.is_authenticated:
            return False
        return user.is_platform_admin or self.has_role(user, MembershipRole.ADMIN)

    def can_view_members(self, user) -> bool:
        """Active members see the member list; managers too."""
        return self.can_manage(user) or self.has_role(user)

    @property
    def signatories(self) -> list[Membership]:
        """Active trainers and admins who agreed to sign the NGO's documents, earliest first (queried, with their
        users, rather than picked out of every membership of the NGO)."""
        return list(
            object_session(self).scalars(
                sa.select(Membership)
                .where(
                    Membership.organisation_id == self.id,
                    Membership.state == MembershipState.ACTIVE,
                    Membership.signs_since.is_not(None),
                    Membership.role.in_(STAFF_ROLES),
                )
                .options(joinedload(Membership.user))
                .order_by(Membership.signs_since, Membership.id)
            )
        )

    def can_request_to_join(self, user) -> bool:
        return (
            user is not None
            and user.is_authenticated
            and user.is_verified
            and self.accepts_join_requests
            and self.membership_of(user) is None
        )

    def __repr__(self) -> str:
        return f"<Organisation {self.slug}>"


class Membership(TimestampMixin, Base):
    """A user's role in an organisation, active or awaiting approval."""

    __tablename__ = "memberships"
    __table_args__ = (
        sa.UniqueConstraint("user_id", "organisation_id", name="uq_memberships_user_org"),
        # Members of an NGO by state (members page, admins to notify, member counts) without reading the others.
        sa.Index("ix_memberships_org_state", "organisation_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    role: Mapped[MembershipRole] = mapped_column(enum_column(MembershipRole))
    state: Mapped[MembershipState] = mapped_column(enum_column(MembershipState), default=MembershipState.ACTIVE)
    approved_at: Mapped[datetime | None]
    approved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    #: The member agreed to sign the NGO's documents, with this role (e.g. "Directrice"), since this time.
    signatory_role: Mapped[str] = mapped_column(sa.String(120), default="")
    signs_since: Mapped[datetime | None]

    user = relationship(User, back_populates="memberships", foreign_keys=[user_id])
    organisation = relationship(Organisation, back_populates="memberships")

    @property
    def is_active(self) -> bool:
        return self.state == MembershipState.ACTIVE

    @property
    def is_signatory(self) -> bool:
        """An active trainer or admin who agreed to sign (and still may)."""
        return self.is_active and self.signs_since is not None and self.role in STAFF_ROLES

    @property
    def is_staff(self) -> bool:
        """An active trainer or admin: the NGO's staff (see :meth:`Organisation.is_staff`)."""
        return self.is_active and self.role in STAFF_ROLES


class Invitation(TimestampMixin, Base):
    """An e-mailed, single-use, expiring invitation to join an organisation with a role."""

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(sa.String(254))
    role: Mapped[MembershipRole] = mapped_column(enum_column(MembershipRole))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    expires_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    invited_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))

    organisation = relationship(Organisation)
    invited_by = relationship(User, foreign_keys=[invited_by_id])

    @property
    def is_usable(self) -> bool:
        return self.accepted_at is None and self.revoked_at is None and self.expires_at > utcnow()
