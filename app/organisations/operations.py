"""Operations on organisations, memberships and invitations. They flush and log; the caller commits."""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import aliased, contains_eager, joinedload

from app.auth.models import User
from app.core.audit import log_event
from app.core.db import utcnow
from app.core.errors import UserError
from app.core.mail import queue_email
from app.core.security import canonical_url
from app.core.tokens import hash_token, new_random_token
from app.extensions import db
from app.organisations.models import (
    Invitation,
    Membership,
    MembershipRole,
    MembershipState,
    Organisation,
    OrganisationKind,
)

# --- Organisations ---


@dataclass(frozen=True)
class OrganisationData:
    name: str
    kind: OrganisationKind
    country: str
    description: str = ""
    accepts_join_requests: bool = True


def slugify(text: str) -> str:
    """ASCII, lower-case, hyphenated identifier for URLs."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug[:50] or "organisation"


def _unique_slug(name: str) -> str:
    base = slugify(name)
    taken = set(db.session.scalars(sa.select(Organisation.slug).where(Organisation.slug.like(f"{base}%"))))
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    return slug


def get_organisation(slug: str) -> Organisation | None:
    """The organisation with ``slug`` (its memberships are not loaded: they grow with the NGO; access rules read
    the user's own memberships, lists query with a limit)."""
    return db.session.scalar(sa.select(Organisation).where(Organisation.slug == slug))


def create_organisation(data: OrganisationData, *, actor: User | None, slug: str | None = None) -> Organisation:
    """Create an organisation with a unique slug."""
    organisation = Organisation(
        slug=slug or _unique_slug(data.name),
        name=data.name,
        kind=data.kind,
        country=data.country.upper(),
        description=data.description,
        accepts_join_requests=data.accepts_join_requests,
    )
    db.session.add(organisation)
    db.session.flush()
    log_event("organisation.created", actor=actor, obj=organisation, organisation_id=organisation.id)
    return organisation


def update_organisation(organisation: Organisation, data: OrganisationData, *, actor: User) -> None:
    """Change an organisation's details (its slug stays, so links keep working)."""
    organisation.name = data.name
    organisation.kind = data.kind
    organisation.country = data.country.upper()
    organisation.description = data.description
    organisation.accepts_join_requests = data.accepts_join_requests
    log_event("organisation.updated", actor=actor, obj=organisation, organisation_id=organisation.id)


def list_organisations() -> list[Organisation]:
    """Every organisation, by name (for the directory and admin pages; see :func:`active_member_counts`)."""
    return list(db.session.scalars(sa.select(Organisation).order_by(Organisation.name)))


def active_member_counts() -> dict[int, int]:
    """The number of active members of every organisation that has one, by organisation id (one grouped count)."""
    return dict(
        db.session.execute(
            sa.select(Membership.organisation_id, sa.func.count())
            .where(Membership.state == MembershipState.ACTIVE)
            .group_by(Membership.organisation_id)
        ).all()
    )


def get_membership(organisation: Organisation, membership_id: int) -> Membership | None:
    """One membership of ``organisation`` (with its user), or None."""
    return db.session.scalar(
        sa.select(Membership)
        .where(Membership.id == membership_id, Membership.organisation_id == organisation.id)
        .options(joinedload(Membership.user))
    )


#: Members listed per page of the members page.
MEMBERS_PER_PAGE = 50


@dataclass(frozen=True)
class MemberPage:
    """One page of an organisation's members, by name then id, and the membership the next page starts after."""

    members: list[Membership]
    next_after: int | None


def members_page(
    organisation: Organisation,
    state: MembershipState,
    after: int | None = None,
    per_page: int = MEMBERS_PER_PAGE,
) -> MemberPage:
    """Members of ``organisation`` in ``state``, with their users, ordered by display name (case-insensitive) then
    membership id, starting after the membership ``after`` (the previous page's last row): keyset pagination, so
    every page costs one statement and the same time with 50 members or 8,000."""
    name_key = sa.func.lower(User.display_name)
    query = (
        sa.select(Membership)
        .join(User, User.id == Membership.user_id)
        .where(Membership.organisation_id == organisation.id, Membership.state == state)
        .options(contains_eager(Membership.user))
        .order_by(name_key, Membership.id)
        .limit(per_page + 1)
    )
    if after is not None:
        # Aliases: the subquery must not correlate with the outer query's users and memberships.
        user, membership = aliased(User), aliased(Membership)
        previous_name = sa.select(sa.func.lower(user.display_name)).join(membership, membership.user_id == user.id)
        previous_name = previous_name.where(membership.id == after, membership.organisation_id == organisation.id)
        query = query.where(sa.tuple_(name_key, Membership.id) > sa.tuple_(previous_name.scalar_subquery(), after))
    rows = list(db.session.scalars(query))
    members = rows[:per_page]
    return MemberPage(members, members[-1].id if len(rows) > per_page else None)


# --- Memberships ---


def add_member(organisation: Organisation, user: User, role: MembershipRole, *, actor: User | None) -> Membership:
    """Make ``user`` an active member with ``role`` (or update the role of an existing membership)."""
    membership = organisation.membership_of(user) or db.session.scalar(
        sa.select(Membership).where(Membership.organisation_id == organisation.id, Membership.user_id == user.id)
    )
    if membership is None:
        membership = Membership(organisation=organisation, user=user, role=role)
        db.session.add(membership)
    membership.role = role
    membership.state = MembershipState.ACTIVE
    membership.approved_at = utcnow()
    membership.approved_by_id = getattr(actor, "id", None)
    db.session.flush()
    log_event(
        "membership.added",
        actor=actor,
        obj=membership,
        organisation_id=organisation.id,
        data={"user_id": user.id, "role": role.value},
    )
    return membership


def request_to_join(organisation: Organisation, user: User) -> Membership:
    """A pending volunteer membership; organisation admins are told by e-mail."""
    if not organisation.can_request_to_join(user):
        raise UserError(_l("You cannot ask to join this organisation."))
    membership = Membership(
        organisation=organisation, user=user, role=MembershipRole.VOLUNTEER, state=MembershipState.PENDING
    )
    db.session.add(membership)
    db.session.flush()
    log_event("membership.requested", actor=user, obj=membership, organisation_id=organisation.id)
    for admin in members_with_role(organisation, MembershipRole.ADMIN):
        queue_email(
            "join_request",
            recipient=admin.email,
            language=admin.locale,
            subject=_l("New request to join %(organisation)s", organisation=organisation.name),
            admin=admin,
            applicant=user,
            organisation=organisation,
            url=canonical_url("organisations.members", slug=organisation.slug),
        )
    return membership


def members_with_role(
    organisation: Organisation, role: MembershipRole, *, except_user_id: int | None = None
) -> list[User]:
    """The active members of ``organisation`` with ``role`` (but ``except_user_id``), by id: whom to tell."""
    conditions = [
        Membership.organisation_id == organisation.id,
        Membership.state == MembershipState.ACTIVE,
        Membership.role == role,
    ]
    if except_user_id is not None:
        conditions.append(User.id != except_user_id)
    return list(
        db.session.scalars(
            sa.select(User).join(Membership, Membership.user_id == User.id).where(*conditions).order_by(User.id)
        )
    )


def approve_request(membership: Membership, *, actor: User) -> None:
    """Activate a pending membership and tell the applicant."""
    if membership.state != MembershipState.PENDING:
        raise UserError(_l("This request has already been handled."))
    membership.state = MembershipState.ACTIVE
    membership.approved_at = utcnow()
    membership.approved_by_id = actor.id
    log_event("membership.approved", actor=actor, obj=membership, organisation_id=membership.organisation_id)
    user = membership.user
    queue_email(
        "join_approved",
        recipient=user.email,
        language=user.locale,
        subject=_l("You are now a member of %(organisation)s", organisation=membership.organisation.name),
        user=user,
        organisation=membership.organisation,
        url=canonical_url("main.home"),
    )


def decline_request(membership: Membership, *, actor: User) -> None:
    """Delete a pending membership."""
    if membership.state != MembershipState.PENDING:
        raise UserError(_l("This request has already been handled."))
    log_event(
        "membership.declined",
        actor=actor,
        obj=membership,
        organisation_id=membership.organisation_id,
        data={"user_id": membership.user_id},
    )
    _delete_membership(membership)


def change_role(membership: Membership, role: MembershipRole, *, actor: User) -> None:
    """Give an active member another role; an organisation keeps at least one admin."""
    if membership.role == MembershipRole.ADMIN and role != MembershipRole.ADMIN:
        _ensure_another_admin(membership)
    membership.role = role
    log_event(
        "membership.role_changed",
        actor=actor,
        obj=membership,
        organisation_id=membership.organisation_id,
        data={"role": role.value},
    )


def remove_member(membership: Membership, *, actor: User) -> None:
    """End a membership; the last admin cannot be removed."""
    if membership.role == MembershipRole.ADMIN and membership.is_active:
        _ensure_another_admin(membership)
    log_event(
        "membership.removed",
        actor=actor,
        obj=membership,
        organisation_id=membership.organisation_id,
        data={"user_id": membership.user_id},
    )
    _delete_membership(membership)


def _delete_membership(membership: Membership) -> None:
    """Delete ``membership`` and drop it from its user's memberships, which the access rules read for the rest of
    the session (see Organisation.membership_of)."""
    memberships = membership.user.memberships
    if membership in memberships:
        memberships.remove(membership)
    db.session.delete(membership)


def _ensure_another_admin(membership: Membership) -> None:
    others = db.session.scalar(
        sa.select(sa.func.count()).where(
            Membership.organisation_id == membership.organisation_id,
            Membership.id != membership.id,
            Membership.state == MembershipState.ACTIVE,
            Membership.role == MembershipRole.ADMIN,
        )
    )
    if not others:
        raise UserError(_l("An organisation needs at least one admin. Name another admin first."))


# --- Invitations ---


def invite(organisation: Organisation, email: str, role: MembershipRole, *, actor: User) -> Invitation:
    """E-mail a single-use invitation link (valid ``INVITATION_DAYS`` days); earlier open invitations
    to the same address are revoked."""
    email = email.strip().lower()
    existing_member = db.session.scalar(
        sa.select(Membership.id)
        .join(User, User.id == Membership.user_id)
        .where(
            Membership.organisation_id == organisation.id,
            Membership.state == MembershipState.ACTIVE,
            User.email == email,
        )
    )
    if existing_member is not None:
        raise UserError(_l("This person is already a member."))
    db.session.execute(
        sa.update(Invitation)
        .where(
            Invitation.organisation_id == organisation.id,
            Invitation.email == email,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
        )
        .values(revoked_at=utcnow())
    )
    token, token_hash = new_random_token()
    days = current_app.config["INVITATION_DAYS"]
    invitation = Invitation(
        organisation=organisation,
        email=email,
        role=role,
        token_hash=token_hash,
        expires_at=utcnow() + timedelta(days=days),
        invited_by_id=actor.id,
    )
    db.session.add(invitation)
    db.session.flush()
    log_event(
        "invitation.sent",
        actor=actor,
        obj=invitation,
        organisation_id=organisation.id,
        data={"role": role.value},
    )
    invitee = db.session.scalar(sa.select(User).where(User.email == email))
    language = invitee.locale if invitee else actor.locale
    queue_email(
        "invitation",
        recipient=email,
        language=language,
        subject=_l("Invitation to join %(organisation)s on Acquis", organisation=organisation.name),
        organisation=organisation,
        inviter=actor,
        role=role,
        days=days,
        url=canonical_url("organisations.invitation", token=token),
    )
    return invitation


def find_invitation(token: str) -> Invitation | None:
    """The usable invitation for ``token`` (unknown, used, revoked and expired all give ``None``)."""
    if not token or len(token) > 100:
        return None
    invitation = db.session.scalar(sa.select(Invitation).where(Invitation.token_hash == hash_token(token)))
    return invitation if invitation is not None and invitation.is_usable else None


def accept_invitation(invitation: Invitation, user: User) -> Membership:
    """Join with the invited role. The invitation must have been sent to the user's own address."""
    if user.email != invitation.email:
        raise UserError(
            _l("This invitation was sent to another e-mail address. Sign in with that address to accept it.")
        )
    # Conditional update: two clicks on the same link cannot both succeed.
    claimed = db.session.execute(
        sa.update(Invitation)
        .where(Invitation.id == invitation.id, Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None))
        .values(accepted_at=utcnow())
    ).rowcount
    if claimed != 1:
        raise UserError(_l("This invitation has already been used."))
    if not user.is_verified:
        user.email_verified_at = utcnow()  # the link reached this address
    membership = add_member(invitation.organisation, user, invitation.role, actor=user)
    log_event("invitation.accepted", actor=user, obj=invitation, organisation_id=invitation.organisation_id)
    return membership


def revoke_invitation(invitation: Invitation, *, actor: User) -> None:
    invitation.revoked_at = utcnow()
    log_event("invitation.revoked", actor=actor, obj=invitation, organisation_id=invitation.organisation_id)


def open_invitations(organisation: Organisation) -> list[Invitation]:
    return list(
        db.session.scalars(
            sa.select(Invitation)
            .where(
                Invitation.organisation_id == organisation.id,
                Invitation.accepted_at.is_(None),
                Invitation.revoked_at.is_(None),
                Invitation.expires_at > utcnow(),
            )
            .order_by(Invitation.created_at.desc())
        )
    )


# --- Overviews ---


def memberships_of(user: User) -> list[Membership]:
    """The user's memberships with their organisations, by organisation name."""
    return list(
        db.session.scalars(
            sa.select(Membership)
            .join(Organisation)
            .where(Membership.user_id == user.id)
            .options(contains_eager(Membership.organisation))  # the join is there for the order: one statement
            .order_by(Organisation.name)
        )
    )


def pending_requests_count(organisation_ids: list[int]) -> dict[int, int]:
    """Pending join requests per organisation id, in one query."""
    if not organisation_ids:
        return {}
    rows = db.session.execute(
        sa.select(Membership.organisation_id, sa.func.count())
        .where(Membership.organisation_id.in_(organisation_ids), Membership.state == MembershipState.PENDING)
        .group_by(Membership.organisation_id)
    )
    return dict(rows.all())


@dataclass(frozen=True)
class OrganisationSummary:
    """What the home page shows of an organisation."""

    id: int
    slug: str
    name: str
    kind: OrganisationKind


@dataclass(frozen=True)
class HomeMembership:
    """One line of the home page's "My organisations" (plain data: no ORM object per line)."""

    organisation_id: int
    role: MembershipRole
    state: MembershipState
    organisation: OrganisationSummary

    @property
    def is_active(self) -> bool:
        return self.state == MembershipState.ACTIVE


@dataclass
class HomeOverview:
    memberships: list[HomeMembership]
    pending_by_org: dict[int, int]


@functools.cache
def _home_memberships_statement() -> sa.Select:
    """Built once per process (every home page runs it), the user as a bound parameter."""
    return (
        sa.select(
            Membership.organisation_id,
            Membership.role,
            Membership.state,
            Organisation.slug,
            Organisation.name,
            Organisation.kind,
        )
        .join(Organisation, Organisation.id == Membership.organisation_id)
        .where(Membership.user_id == sa.bindparam("user_id", type_=sa.Integer))
        .order_by(Organisation.name)
    )


def home_overview(user: User) -> HomeOverview:
    """What the home page shows: the user's organisations by name and, for their admins, pending requests."""
    rows = db.session.connection().execute(_home_memberships_statement(), {"user_id": user.id})
    memberships = [
        HomeMembership(org_id, role, state, OrganisationSummary(org_id, slug, name, kind))
        for org_id, role, state, slug, name, kind in rows
    ]
    admin_org_ids = [m.organisation_id for m in memberships if m.is_active and m.role == MembershipRole.ADMIN]
    return HomeOverview(memberships=memberships, pending_by_org=pending_requests_count(admin_org_ids))
