"""Operations on organisations: join requests, invitations, roles, with their mails and audit events."""

from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.core.audit import AuditEvent
from app.core.db import utcnow
from app.core.errors import UserError
from app.core.i18n import force_locale
from app.organisations import operations as ops
from app.organisations.models import Membership, MembershipRole, MembershipState


@contextmanager
def refused(english: str):
    """Expect a UserError whose message, read in English, contains ``english``."""
    with pytest.raises(UserError) as exc_info:
        yield
    with force_locale("en"):
        message = str(exc_info.value.message)
    assert english in message


INVITATION_URL = re.compile(r"http://acquis\.example/organisations/invitations/(\S+)")


def _actions(db_session, **filters) -> list[str]:
    query = sa.select(AuditEvent.action).order_by(AuditEvent.id)
    for name, value in filters.items():
        query = query.where(getattr(AuditEvent, name) == value)
    return list(db_session.scalars(query))


def _token_from(message) -> str:
    match = INVITATION_URL.search(message.body)
    assert match, message.body
    return match.group(1)


@pytest.fixture
def ngo(create_org):
    return create_org("Terre Solidaire", slug="terre-solidaire")


@pytest.fixture
def admin(ngo, create_user, add_member):
    user = create_user("admin@example.org", name="Hugo Admin", locale="fr")
    add_member(ngo, user, "admin")
    return user


# --- Organisations ------------------------------------------------------------------------------------------


def test_create_organisation_gives_unique_slugs_and_logs(db_session, create_org):
    first = create_org("Terre Solidaire")
    second = create_org("Terre  Solidaire!")
    assert first.slug == "terre-solidaire"
    assert second.slug == "terre-solidaire-2"
    assert _actions(db_session, object_type="Organisation", object_id=str(first.id)) == ["organisation.created"]


def test_slugify_keeps_ascii_only():
    assert ops.slugify("Asociación Manos Unidas — Lima") == "asociacion-manos-unidas-lima"
    assert ops.slugify("<<>>") == "organisation"
    assert len(ops.slugify("x" * 300)) == 50


# --- Join requests ------------------------------------------------------------------------------------------


def test_request_to_join_is_pending_and_mails_each_admin_in_their_language(
    db_session, ngo, admin, create_user, add_member, outbox
):
    spanish_admin = create_user("admin-es@example.org", name="Lucía", locale="es")
    add_member(ngo, spanish_admin, "admin")
    add_member(ngo, create_user("trainer@example.org"), "trainer")
    applicant = create_user("camille@example.org", name="Camille Martin", locale="en")

    membership = ops.request_to_join(ngo, applicant)
    db_session.commit()

    assert membership.state == MembershipState.PENDING
    assert membership.role == MembershipRole.VOLUNTEER
    assert not ngo.has_role(applicant)
    by_recipient = {message.recipient: message for message in outbox}
    assert set(by_recipient) == {"admin@example.org", "admin-es@example.org"}
    french, spanish = by_recipient["admin@example.org"], by_recipient["admin-es@example.org"]
    assert (french.language, spanish.language) == ("fr", "es")
    assert french.subject.startswith("Nouvelle demande") and french.subject.endswith("Terre Solidaire")
    assert spanish.subject.startswith("Nueva solicitud") and spanish.subject.endswith("Terre Solidaire")
    for message in (french, spanish):
        assert "Camille Martin" in message.body
        assert "camille@example.org" in message.body
        assert "http://acquis.example/organisations/terre-solidaire/members" in message.body
    assert "membership.requested" in _actions(db_session, organisation_id=ngo.id)


def test_request_to_join_refused_twice_when_closed_or_unverified(db_session, ngo, admin, create_user, create_org):
    applicant = create_user()
    ops.request_to_join(ngo, applicant)
    with pytest.raises(UserError):
        ops.request_to_join(ngo, applicant)
    with pytest.raises(UserError):
        ops.request_to_join(ngo, admin)  # already a member
    closed = create_org(accepts_join_requests=False)
    with pytest.raises(UserError):
        ops.request_to_join(closed, create_user())
    with pytest.raises(UserError):
        ops.request_to_join(ngo, create_user(verified=False))


def test_approve_request_activates_and_tells_the_applicant(db_session, ngo, admin, create_user, outbox):
    applicant = create_user("camille@example.org", locale="es")
    membership = ops.request_to_join(ngo, applicant)
    db_session.commit()
    outbox.clear()

    ops.approve_request(membership, actor=admin)
    db_session.commit()

    assert membership.state == MembershipState.ACTIVE
    assert membership.approved_by_id == admin.id
    assert membership.approved_at is not None
    assert ngo.has_role(applicant, MembershipRole.VOLUNTEER)
    assert [(m.recipient, m.language) for m in outbox] == [("camille@example.org", "es")]
    assert "Terre Solidaire" in outbox[0].subject
    assert "http://acquis.example/" in outbox[0].body
    with pytest.raises(UserError):
        ops.approve_request(membership, actor=admin)
    assert "membership.approved" in _actions(db_session, organisation_id=ngo.id, actor_id=admin.id)


def test_decline_request_deletes_the_membership(db_session, ngo, admin, create_user):
    applicant = create_user()
    membership = ops.request_to_join(ngo, applicant)
    ops.decline_request(membership, actor=admin)
    db_session.flush()
    assert db_session.scalar(sa.select(Membership).where(Membership.user_id == applicant.id)) is None
    assert "membership.declined" in _actions(db_session, organisation_id=ngo.id, actor_id=admin.id)
    # A declined applicant may ask again later.
    db_session.expire(ngo)
    ops.request_to_join(ngo, applicant)


def test_decline_refuses_active_memberships(db_session, ngo, admin):
    with pytest.raises(UserError):
        ops.decline_request(ngo.membership_of(admin), actor=admin)


# --- Roles and the last admin -------------------------------------------------------------------------------


def test_last_admin_cannot_lose_the_role_or_be_removed(db_session, ngo, admin):
    membership = ngo.membership_of(admin)
    with refused("at least one admin"):
        ops.change_role(membership, MembershipRole.VOLUNTEER, actor=admin)
    with pytest.raises(UserError):
        ops.remove_member(membership, actor=admin)
    assert membership.role == MembershipRole.ADMIN
    assert ngo.has_role(admin, MembershipRole.ADMIN)


def test_an_admin_may_step_down_once_another_admin_exists(db_session, ngo, admin, create_user, add_member):
    second = create_user()
    add_member(ngo, second, "trainer")
    with pytest.raises(UserError):
        ops.change_role(ngo.membership_of(admin), MembershipRole.TRAINER, actor=admin)
    ops.change_role(ngo.membership_of(second), MembershipRole.ADMIN, actor=admin)
    ops.change_role(ngo.membership_of(admin), MembershipRole.VOLUNTEER, actor=admin)
    assert ngo.membership_of(admin).role == MembershipRole.VOLUNTEER
    # Now ``second`` is the last admin.
    with pytest.raises(UserError):
        ops.remove_member(ngo.membership_of(second), actor=second)
    ops.remove_member(ngo.membership_of(admin), actor=second)
    db_session.flush()
    db_session.expire(ngo)
    assert ngo.membership_of(admin) is None
    actions = _actions(db_session, organisation_id=ngo.id)
    assert actions.count("membership.role_changed") == 2
    assert "membership.removed" in actions


def test_a_pending_admin_request_does_not_count_as_an_admin(db_session, ngo, admin, create_user):
    pending = Membership(organisation=ngo, user=create_user(), role=MembershipRole.ADMIN, state=MembershipState.PENDING)
    db_session.add(pending)
    db_session.flush()
    with pytest.raises(UserError):
        ops.change_role(ngo.membership_of(admin), MembershipRole.VOLUNTEER, actor=admin)


# --- Invitations --------------------------------------------------------------------------------------------


def test_invitation_mail_link_is_built_from_base_url_and_works_once(db_session, ngo, admin, create_user, outbox):
    invitation = ops.invite(ngo, "  Nadia@Example.org ", MembershipRole.TRAINER, actor=admin)
    db_session.commit()

    assert invitation.email == "nadia@example.org"
    assert [m.recipient for m in outbox] == ["nadia@example.org"]
    message = outbox[0]
    assert message.language == "fr"  # unknown address: the inviter's language
    assert "14" in message.body  # validity in days
    token = _token_from(message)
    assert token not in invitation.token_hash
    assert ops.find_invitation(token) == invitation

    invitee = create_user("nadia@example.org", locale="en")
    membership = ops.accept_invitation(invitation, invitee)
    db_session.commit()
    assert membership.role == MembershipRole.TRAINER
    assert membership.is_active
    assert ops.find_invitation(token) is None
    with refused("already been used"):
        ops.accept_invitation(invitation, invitee)
    actions = _actions(db_session, organisation_id=ngo.id)
    assert "invitation.sent" in actions
    assert "invitation.accepted" in actions


def test_invitation_is_written_in_the_invitees_language(db_session, ngo, admin, create_user, outbox):
    create_user("lucia@example.org", locale="es")
    ops.invite(ngo, "lucia@example.org", MembershipRole.VOLUNTEER, actor=admin)
    db_session.commit()
    assert outbox[0].language == "es"
    assert outbox[0].subject.startswith("Invitación")
    assert "Terre Solidaire" in outbox[0].subject


def test_invitation_sent_to_another_address_is_refused(db_session, ngo, admin, create_user, outbox):
    invitation = ops.invite(ngo, "invited@example.org", MembershipRole.VOLUNTEER, actor=admin)
    db_session.commit()
    token = _token_from(outbox[0])
    intruder = create_user("intruder@example.org")
    with refused("another e-mail address"):
        ops.accept_invitation(invitation, intruder)
    assert ngo.membership_of(intruder) is None
    assert ops.find_invitation(token) == invitation  # still usable by the right person


def test_expired_and_revoked_invitations_are_not_found(db_session, ngo, admin, outbox):
    ops.invite(ngo, "one@example.org", MembershipRole.VOLUNTEER, actor=admin)
    second = ops.invite(ngo, "two@example.org", MembershipRole.VOLUNTEER, actor=admin)
    db_session.commit()
    expired_token, revoked_token = (_token_from(m) for m in outbox)
    expired = ops.find_invitation(expired_token)
    expired.expires_at = utcnow() - timedelta(minutes=1)
    ops.revoke_invitation(second, actor=admin)
    db_session.flush()
    assert ops.find_invitation(expired_token) is None
    assert ops.find_invitation(revoked_token) is None
    assert ops.open_invitations(ngo) == []
    assert ops.find_invitation("") is None
    assert ops.find_invitation("x" * 500) is None
    assert "invitation.revoked" in _actions(db_session, organisation_id=ngo.id)


def test_revoked_invitation_cannot_be_accepted(db_session, ngo, admin, create_user):
    invitation = ops.invite(ngo, "late@example.org", MembershipRole.VOLUNTEER, actor=admin)
    ops.revoke_invitation(invitation, actor=admin)
    db_session.flush()
    with pytest.raises(UserError):
        ops.accept_invitation(invitation, create_user("late@example.org"))


def test_inviting_again_revokes_the_earlier_invitation(db_session, ngo, admin, outbox):
    ops.invite(ngo, "again@example.org", MembershipRole.VOLUNTEER, actor=admin)
    ops.invite(ngo, "again@example.org", MembershipRole.TRAINER, actor=admin)
    db_session.commit()
    first, second = (_token_from(m) for m in outbox)
    assert ops.find_invitation(first) is None
    assert ops.find_invitation(second).role == MembershipRole.TRAINER
    assert len(ops.open_invitations(ngo)) == 1


def test_inviting_an_active_member_is_refused(db_session, ngo, admin):
    with refused("already a member"):
        ops.invite(ngo, "ADMIN@example.org", MembershipRole.VOLUNTEER, actor=admin)


def test_accepting_verifies_the_invited_address(db_session, ngo, admin, create_user, outbox):
    invitation = ops.invite(ngo, "new@example.org", MembershipRole.VOLUNTEER, actor=admin)
    user = create_user("new@example.org", verified=False)
    ops.accept_invitation(invitation, user)
    assert user.is_verified


def test_accepting_turns_a_pending_request_into_the_invited_role(db_session, ngo, admin, create_user):
    user = create_user("pending@example.org")
    ops.request_to_join(ngo, user)
    invitation = ops.invite(ngo, "pending@example.org", MembershipRole.TRAINER, actor=admin)
    membership = ops.accept_invitation(invitation, user)
    assert membership.is_active
    assert membership.role == MembershipRole.TRAINER
    count = db_session.scalar(sa.select(sa.func.count()).select_from(Membership).where(Membership.user_id == user.id))
    assert count == 1


# --- Overview -----------------------------------------------------------------------------------------------


def test_home_overview_counts_pending_requests_for_admins_only(db_session, ngo, admin, create_user, create_org):
    other = create_org("Autre ONG")
    ops.request_to_join(ngo, create_user())
    ops.request_to_join(ngo, create_user())
    ops.request_to_join(other, admin)
    overview = ops.home_overview(admin)
    assert overview.pending_by_org == {ngo.id: 2}
    assert [m.organisation.name for m in overview.memberships] == ["Autre ONG", "Terre Solidaire"]
