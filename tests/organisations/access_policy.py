"""Access policy of the ``organisations`` blueprint.

Member management belongs to the admins of world.ngo (and platform admins); everybody else, trainers of the
same NGO included, gets 404 so that nothing reveals what exists.
"""

from tests.access import ORG_ADMIN, PUBLIC, USER, expect, rule

#: Active trainers and admins of world.ngo (they may agree to sign its documents).
NGO_STAFF = expect(404, guest="login", trainer="ok", org_admin="ok")


def build(world):
    """A pending join request and an open invitation for world.ngo."""
    from datetime import timedelta

    from app.auth import operations as auth_ops
    from app.core.db import utcnow
    from app.core.tokens import new_random_token
    from app.extensions import db
    from app.organisations.models import Invitation, Membership, MembershipRole, MembershipState
    from tests.fixtures.app import TEST_PASSWORD

    applicant = auth_ops.create_user("applicant@example.org", "Applicant", TEST_PASSWORD, verified=True)
    world.pending = Membership(
        organisation=world.ngo, user=applicant, role=MembershipRole.VOLUNTEER, state=MembershipState.PENDING
    )
    db.session.add(world.pending)
    token, token_hash = new_random_token()
    world.invitation_token = token
    world.invitation = Invitation(
        organisation=world.ngo,
        email="invitee@example.org",
        role=MembershipRole.TRAINER,
        token_hash=token_hash,
        expires_at=utcnow() + timedelta(days=7),
        invited_by_id=world.users["org_admin"].id,
    )
    db.session.add(world.invitation)
    db.session.flush()
    world.volunteer_membership = world.ngo.membership_of(world.users["volunteer"])


def _org(w):
    return {"slug": w.ngo.slug}


def _pending(w):
    return {"slug": w.ngo.slug, "membership_id": w.pending.id}


def _volunteer(w):
    return {"slug": w.ngo.slug, "membership_id": w.volunteer_membership.id}


POLICY = {
    "organisations.directory": rule(USER),
    "organisations.detail": rule(USER, url=_org),
    "organisations.request_join": rule(
        USER, url=_org, methods=("POST",), notes="members are told they cannot ask again; still not a refusal"
    ),
    "organisations.members": rule(ORG_ADMIN, url=_org, methods=("GET", "POST")),
    "organisations.profile": rule(
        ORG_ADMIN, url=_org, methods=("GET", "POST"), notes="empty form: the profile is saved blank"
    ),
    "organisations.audit": rule(ORG_ADMIN, url=_org, notes="trainers of the NGO too get 404: the trail is the admins'"),
    "organisations.audit_csv": rule(ORG_ADMIN, url=_org),
    "organisations.signatory": rule(NGO_STAFF, url=_org, methods=("POST",), notes="no role: refused with a message"),
    "organisations.approve_request": rule(ORG_ADMIN, url=_pending, methods=("POST",)),
    "organisations.decline_request": rule(ORG_ADMIN, url=_pending, methods=("POST",)),
    "organisations.change_role": rule(ORG_ADMIN, url=_volunteer, methods=("POST",), data=lambda w: {"role": "trainer"}),
    "organisations.remove_member": rule(ORG_ADMIN, url=_volunteer, methods=("GET", "POST")),
    "organisations.revoke_invitation": rule(
        ORG_ADMIN, url=lambda w: {"slug": w.ngo.slug, "invitation_id": w.invitation.id}, methods=("POST",)
    ),
    "organisations.invitation": rule(
        PUBLIC,
        url=lambda w: {"token": w.invitation_token},
        methods=("GET", "POST"),
        notes="the token is the key; accepting also needs the invited address (refused otherwise)",
    ),
}
