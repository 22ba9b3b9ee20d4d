"""Erasure leaves the person nowhere: their name and e-mail address are searched in every text and JSON column of
every table, with the records that only *mention* them in the world (an accepted invitation, trainers'
notifications, a document printed with a trainer's name)."""

from __future__ import annotations

import json

import sqlalchemy as sa

from app.core.db import Base

#: What may keep a trainer's name after their erasure, by design: the snapshot of a document issued to someone
#: else is the data embedded in the signed PDF (and hashed); the printed paper cannot change either. The live
#: verification page no longer shows the name (tested below).
PRINTED = {"documents.snapshot"}


def _text(value) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return "" if value is None else str(value)


def _mentions(db_session, *needles: str) -> set[str]:
    """``table.column`` of every text or JSON value containing one of ``needles`` (case-insensitive)."""
    wanted = [n.lower() for n in needles]
    found = set()
    for table in Base.metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, sa.String | sa.Text | sa.JSON)]
        if not columns:
            continue
        for row in db_session.execute(sa.select(*columns)).all():
            for column, value in zip(columns, row, strict=True):
                text = _text(value).lower()
                if any(needle in text for needle in wanted):
                    found.add(f"{table.name}.{column.name}")
    return found


def _accepted_invitation(create_org, organisation_name, inviter, invitee):
    """``invitee`` accepts an invitation of a second NGO (the row keeps the address it was sent to)."""
    from app.extensions import db
    from app.organisations import operations as org_ops
    from app.organisations.models import Invitation, MembershipRole

    organisation = create_org(organisation_name)
    invitation = org_ops.invite(organisation, invitee.email, MembershipRole.VOLUNTEER, actor=inviter)
    org_ops.accept_invitation(invitation, invitee)
    db.session.flush()
    assert db.session.scalar(sa.select(Invitation.accepted_at).where(Invitation.id == invitation.id)) is not None
    return invitation


def test_erasing_a_volunteer_leaves_their_name_and_address_nowhere(app, client, login, world, create_org, db_session):
    from app.core.notifications import Notification
    from app.portability.erasure import erase_user
    from app.sharing.models import Share
    from app.validation import operations as validation_ops
    from tests import cast
    from tests.cast import issue_stand_in_document

    volunteer = world.volunteer
    old_email, name = volunteer.email, volunteer.display_name
    _accepted_invitation(create_org, "Second NGO", world.admin, volunteer)
    # the address changes afterwards: the accepted invitation keeps the old one
    volunteer.email = "valentine.new@example.org"
    # a dossier submitted then withdrawn: the trainer gets "submitted" and "withdrawn" notifications naming her
    second = cast.create_mission(volunteer, title="School garden", sending_organisation_id=world.ngo.id)
    claims = cast.create_claims(volunteer, second, world.nodes[:1])
    submission = cast.submit_claims(volunteer, second, world.ngo, claims)
    validation_ops.withdraw_submission(submission, volunteer, "Not ready")
    issue_stand_in_document(world)
    db_session.flush()
    kinds = db_session.scalars(sa.select(Notification.kind).where(Notification.user_id == world.trainer.id)).all()
    assert {"submitted", "withdrawn"} <= set(kinds)
    # a share with an adviser, and the adviser's note on it
    login(client, volunteer)
    client.post(
        "/sharing/", data={"kind": "adviser", "adviser_email": world.adviser.email, "days": "30", "scope": "all"}
    )
    share = db_session.scalar(sa.select(Share))
    adviser = app.test_client()
    login(adviser, world.adviser)
    assert adviser.post(f"/shared/{share.id}/notes", data={"body": "Met Valentine Volunteer"}).status_code == 302
    new_email = volunteer.email
    before = _mentions(db_session, name, old_email, new_email)
    assert {"invitations.email", "notifications.params", "users.email", "users.display_name"} <= before

    erase_user(db_session.get(type(volunteer), volunteer.id))
    db_session.flush()

    assert _mentions(db_session, name, old_email, new_email) == set()


def test_erasing_a_trainer_leaves_only_printed_documents(app, client, world, create_org, db_session):
    from app.claims.validations import ClaimValidation
    from app.documents import codes
    from app.documents.context import _validation_entry
    from app.portability.erasure import erase_user
    from tests.cast import store_document_stand_in

    trainer = world.trainer
    name, email = trainer.display_name, trainer.email
    _accepted_invitation(create_org, "Trainers Guild", world.admin, trainer)
    document = store_document_stand_in(
        world.volunteer, world.ngo, snapshot={"entries": [_validation_entry(world.validation, "en")]}
    )
    db_session.flush()
    url = f"/verify/{codes.formatted(document.code)}"
    page = client.get(url, headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert name in page

    erase_user(trainer)
    db_session.commit()

    assert _mentions(db_session, name, email) == PRINTED
    validation = db_session.get(ClaimValidation, world.validation.id)
    assert validation is not None and validation.is_current and validation.validator_name == ""
    page = client.get(url, headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Théo" not in page
    assert "a former trainer (Solidarité Monde)" in page


def test_verify_page_names_no_erased_trainer_of_a_deleted_validation(app, client, world, db_session):
    """The claim was deleted: the NGO's record stays (issue 20), withdrawn, and still names its trainer until the
    trainer's account is erased."""
    from app.claims import operations as claim_ops
    from app.claims.models import Claim
    from app.documents import codes
    from app.documents.context import _validation_entry
    from app.portability.erasure import erase_user
    from tests.cast import store_document_stand_in

    document = store_document_stand_in(
        world.volunteer, world.ngo, snapshot={"entries": [_validation_entry(world.validation, "en")]}
    )
    claim_ops.delete_claim(db_session.get(Claim, world.claims[0].id), actor=world.volunteer)
    db_session.flush()
    url = f"/verify/{codes.formatted(document.code)}"
    page = client.get(url, headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Théo Trainer" in page and "Withdrawn by the holder on" in page  # still named while the account exists
    assert "Unknown" not in page

    erase_user(world.trainer)
    db_session.commit()
    page = client.get(url, headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Théo" not in page
    assert "a former trainer (Solidarité Monde)" in page


def test_deleting_an_experience_logs_its_id_not_its_title(world, db_session):
    from app.core.audit import AuditEvent
    from app.experiences import operations as experience_ops

    experience_id = world.training.id
    experience_ops.delete_experience(world.training, actor=world.volunteer)
    event = db_session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "experience.deleted"))
    assert event.object_type == "Experience" and event.object_id == str(experience_id)
    assert event.data == {"kind": "training"}
    assert "Pre-departure" not in _text(event.data)
