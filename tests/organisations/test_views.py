"""Organisation pages: directory, join requests, member management and invitation links."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from app.core.audit import AuditEvent
from app.organisations.models import Invitation, Membership, MembershipRole, MembershipState

INVITATION_URL = re.compile(r"http://acquis\.example(/organisations/invitations/\S+)")


@pytest.fixture
def ngo(create_org):
    return create_org("Terre Solidaire", slug="terre-solidaire")


@pytest.fixture
def other_ngo(create_org):
    return create_org("Ponts du Monde", slug="ponts-du-monde")


@pytest.fixture
def admin(ngo, create_user, add_member):
    user = create_user("admin@example.org", name="Hugo Admin", locale="en")
    add_member(ngo, user, "admin")
    return user


def _text(response) -> str:
    return response.get_data(as_text=True)


def _membership(db_session, organisation, user):
    return db_session.scalar(
        sa.select(Membership).where(Membership.organisation_id == organisation.id, Membership.user_id == user.id)
    )


# --- Directory and join requests ----------------------------------------------------------------------------


def test_directory_lists_organisations_with_the_users_status(client, login, ngo, other_ngo, admin, create_user):
    login(client, admin)
    response = client.get("/organisations/")
    assert response.status_code == 200
    page = _text(response)
    assert "Terre Solidaire" in page
    assert "Ponts du Monde" in page
    assert "Organisation admin (active)" in page
    assert 'action="/organisations/ponts-du-monde/join"' in page
    assert 'action="/organisations/terre-solidaire/join"' not in page


def test_join_request_then_approval(client, login, db_session, ngo, admin, create_user, outbox):
    applicant = create_user("camille@example.org", name="Camille Martin", locale="en")
    login(client, applicant)
    response = client.post("/organisations/terre-solidaire/join", follow_redirects=True)
    assert "Your request has been sent" in _text(response)
    assert "Volunteer (awaiting approval)" in _text(response)
    assert [m.recipient for m in outbox] == ["admin@example.org"]
    membership = _membership(db_session, ngo, applicant)
    assert membership.state == MembershipState.PENDING

    # A second request is refused with a message, not an error page.
    response = client.post("/organisations/terre-solidaire/join", follow_redirects=True)
    assert response.status_code == 200
    assert "You cannot ask to join this organisation." in _text(response)

    admin_client = client.application.test_client()
    login(admin_client, admin)
    page = _text(admin_client.get("/organisations/terre-solidaire/members"))
    assert "Requests to join" in page
    assert "camille@example.org" in page
    outbox.clear()
    response = admin_client.post(
        f"/organisations/terre-solidaire/members/{membership.id}/approve", follow_redirects=True
    )
    assert "Camille Martin is now a member." in _text(response)
    db_session.expire_all()
    assert _membership(db_session, ngo, applicant).state == MembershipState.ACTIVE
    assert [(m.recipient, m.language) for m in outbox] == [("camille@example.org", "en")]
    # Approving twice says so.
    response = admin_client.post(
        f"/organisations/terre-solidaire/members/{membership.id}/approve", follow_redirects=True
    )
    assert "This request has already been handled." in _text(response)


def test_decline_join_request(client, login, db_session, ngo, admin, create_user):
    applicant = create_user(name="Sam Okafor")
    login(client, applicant)
    client.post("/organisations/terre-solidaire/join")
    membership_id = _membership(db_session, ngo, applicant).id
    client.post("/auth/logout")
    login(client, admin)
    response = client.post(f"/organisations/terre-solidaire/members/{membership_id}/decline", follow_redirects=True)
    assert "The request of Sam Okafor was declined." in _text(response)
    db_session.expire_all()
    assert _membership(db_session, ngo, applicant) is None
    actions = db_session.scalars(sa.select(AuditEvent.action).where(AuditEvent.organisation_id == ngo.id))
    assert "membership.declined" in set(actions)


# --- Member management --------------------------------------------------------------------------------------


def test_members_page_shows_members_and_open_invitations(client, login, ngo, admin, create_user, add_member):
    add_member(ngo, create_user("fatou@example.org", name="Fatou Diallo"), "trainer")
    login(client, admin)
    client.post("/organisations/terre-solidaire/members", data={"email": "nadia@example.org", "role": "trainer"})
    page = _text(client.get("/organisations/terre-solidaire/members"))
    assert "Fatou Diallo" in page
    assert "fatou@example.org" in page
    assert "nadia@example.org" in page
    assert "Invitations not yet accepted" in page


def test_invite_form_errors_are_shown_next_to_the_field(client, login, db_session, ngo, admin):
    login(client, admin)
    response = client.post(
        "/organisations/terre-solidaire/members", data={"email": "not-an-address", "role": "trainer"}
    )
    assert response.status_code == 422
    assert "Please enter a valid e-mail address" in _text(response)
    response = client.post("/organisations/terre-solidaire/members", data={"email": "admin@example.org"})
    assert response.status_code == 422
    assert "This person is already a member." in _text(response)
    assert db_session.scalar(sa.select(sa.func.count(Invitation.id))) == 0


def test_change_role_and_last_admin_protection(client, login, db_session, ngo, admin, create_user, add_member):
    trainer = create_user(name="Fatou Diallo")
    trainer_membership = add_member(ngo, trainer, "trainer")
    admin_membership = ngo.membership_of(admin)
    login(client, admin)

    response = client.post(
        f"/organisations/terre-solidaire/members/{admin_membership.id}/role",
        data={"role": "volunteer"},
        follow_redirects=True,
    )
    assert "An organisation needs at least one admin" in _text(response)
    db_session.expire_all()
    assert ngo.membership_of(admin).role == MembershipRole.ADMIN

    response = client.post(
        f"/organisations/terre-solidaire/members/{admin_membership.id}/remove", follow_redirects=True
    )
    assert "An organisation needs at least one admin" in _text(response)
    db_session.expire_all()
    assert _membership(db_session, ngo, admin) is not None

    response = client.post(
        f"/organisations/terre-solidaire/members/{trainer_membership.id}/role",
        data={"role": "not-a-role"},
        follow_redirects=True,
    )
    assert "Please choose a role from the list." in _text(response)

    response = client.post(
        f"/organisations/terre-solidaire/members/{trainer_membership.id}/role",
        data={"role": "admin"},
        follow_redirects=True,
    )
    assert "The role of Fatou Diallo was changed." in _text(response)
    db_session.expire_all()
    assert _membership(db_session, ngo, trainer).role == MembershipRole.ADMIN

    # With a second admin, the first may step down.
    response = client.post(
        f"/organisations/terre-solidaire/members/{admin_membership.id}/role", data={"role": "volunteer"}
    )
    assert response.status_code == 302
    db_session.expire_all()
    assert _membership(db_session, ngo, admin).role == MembershipRole.VOLUNTEER
    # …and has then lost access to the members page.
    assert client.get("/organisations/terre-solidaire/members").status_code == 404


def test_remove_member_asks_for_confirmation(client, login, db_session, ngo, admin, create_user, add_member):
    volunteer = create_user(name="Sam Okafor")
    membership = add_member(ngo, volunteer, "volunteer")
    login(client, admin)
    url = f"/organisations/terre-solidaire/members/{membership.id}/remove"
    response = client.get(url)
    assert response.status_code == 200
    assert "Sam Okafor" in _text(response)
    assert _membership(db_session, ngo, volunteer) is not None
    response = client.post(url, follow_redirects=True)
    assert "Sam Okafor is no longer a member." in _text(response)
    db_session.expire_all()
    assert _membership(db_session, ngo, volunteer) is None
    events = db_session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "membership.removed")).all()
    assert [(e.actor_id, e.organisation_id) for e in events] == [(admin.id, ngo.id)]


def test_org_admin_of_one_ngo_cannot_manage_another(
    client, login, db_session, ngo, other_ngo, admin, create_user, add_member
):
    other_admin = create_user()
    add_member(other_ngo, other_admin, "admin")
    victim = add_member(other_ngo, create_user(), "volunteer")
    login(client, admin)
    assert client.get("/organisations/ponts-du-monde/members").status_code == 404
    assert client.post("/organisations/ponts-du-monde/members", data={"email": "x@example.org"}).status_code == 404
    for action in ("approve", "decline", "role", "remove"):
        url = f"/organisations/ponts-du-monde/members/{victim.id}/{action}"
        assert client.post(url, data={"role": "admin"}).status_code == 404, url
        # Nor through the URL of their own organisation.
        url = f"/organisations/terre-solidaire/members/{victim.id}/{action}"
        assert client.post(url, data={"role": "admin"}).status_code == 404, url
    db_session.expire_all()
    assert _membership(db_session, other_ngo, victim.user).role == MembershipRole.VOLUNTEER
    assert db_session.scalar(sa.select(sa.func.count(Invitation.id))) == 0


def test_platform_admin_manages_any_organisation(client, login, ngo, admin, create_user):
    platform_admin = create_user(platform_admin=True, totp=True)
    login(client, platform_admin)
    assert client.get("/organisations/terre-solidaire/members").status_code == 200


# --- Invitations --------------------------------------------------------------------------------------------


def _invite(client, login, admin, email, role="trainer", outbox=None):
    login(client, admin)
    response = client.post("/organisations/terre-solidaire/members", data={"email": email, "role": role})
    assert response.status_code == 302, _text(response)
    client.post("/auth/logout")
    match = INVITATION_URL.search(outbox[-1].body)
    assert match, outbox[-1].body
    return match.group(1)


def test_invitation_flow_single_use(app, client, login, db_session, ngo, admin, create_user, outbox):
    path = _invite(client, login, admin, "nadia@example.org", outbox=outbox)
    assert outbox[-1].recipient == "nadia@example.org"
    assert "http://acquis.example/organisations/invitations/" in outbox[-1].body

    # A guest sees the invitation and is asked to sign in (and come back) or register.
    page = _text(client.get(path))
    assert "nadia@example.org" in page
    assert f"/auth/login?next={path.replace('/', '%2F')}" in page or f"/auth/login?next={path}" in page

    invitee = create_user("nadia@example.org", name="Nadia Benali", locale="en")
    login(client, invitee)
    response = client.post(path)
    assert response.status_code == 302
    assert response.headers["Location"] == "/organisations/terre-solidaire"
    assert ngo.has_role(invitee, MembershipRole.TRAINER)

    # The link works once: afterwards it is unknown.
    assert client.post(path).status_code == 404
    assert client.get(path).status_code == 404


def test_invitation_sent_to_another_address_is_refused(app, client, login, db_session, ngo, admin, create_user, outbox):
    path = _invite(client, login, admin, "nadia@example.org", outbox=outbox)
    intruder = create_user("intruder@example.org", locale="en")
    login(client, intruder)
    response = client.post(path)
    assert response.status_code == 200
    assert "This invitation was sent to another e-mail address." in _text(response)
    assert _membership(db_session, ngo, intruder) is None
    assert client.get(path).status_code == 200  # still usable by the invitee


def test_revoked_invitation_link_is_dead(client, login, db_session, ngo, admin, outbox):
    path = _invite(client, login, admin, "late@example.org", outbox=outbox)
    invitation = db_session.scalar(sa.select(Invitation).where(Invitation.email == "late@example.org"))
    login(client, admin)
    response = client.post(f"/organisations/terre-solidaire/invitations/{invitation.id}/revoke", follow_redirects=True)
    assert "The invitation to late@example.org was withdrawn." in _text(response)
    assert client.get(path).status_code == 404


def test_expired_invitation_link_is_dead(client, login, db_session, ngo, admin, outbox):
    from datetime import timedelta

    from app.core.db import utcnow

    path = _invite(client, login, admin, "late@example.org", outbox=outbox)
    invitation = db_session.scalar(sa.select(Invitation).where(Invitation.email == "late@example.org"))
    invitation.expires_at = utcnow() - timedelta(seconds=1)
    db_session.flush()
    assert client.get(path).status_code == 404
