"""The append-only audit log lets through one change only: the redaction of an erased person (database trigger)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.core.audit import REDACTED_DATA, REDACTED_LABEL, AuditEvent, log_event, redact_person


def test_redaction_blanks_the_person_and_is_itself_audited(create_user, db_session):
    person, other = create_user(name="Perrine Person"), create_user()
    log_event("user.logged_in", actor=person, obj=person)
    log_event("membership.added", actor=other, data={"user_id": person.id, "role": "volunteer"})
    log_event("note.written", actor=other, data={"text": "met Perrine Person today"})
    log_event("user.logged_in", actor=other, obj=other)
    db_session.flush()

    changed = redact_person(person.id, needles=(person.email, "Perrine Person"))
    db_session.flush()
    db_session.expire_all()

    events = {
        e.action: e for e in db_session.scalars(sa.select(AuditEvent).where(AuditEvent.action != "audit.redacted"))
    }
    own = db_session.scalars(sa.select(AuditEvent).where(AuditEvent.actor_label == REDACTED_LABEL)).all()
    assert own and all(e.actor_id is None and e.ip_address is None and e.object_id == "" for e in own)
    assert events["membership.added"].data == REDACTED_DATA and events["membership.added"].actor_id == other.id
    assert events["note.written"].data == REDACTED_DATA
    untouched = db_session.scalar(
        sa.select(AuditEvent).where(AuditEvent.action == "user.logged_in", AuditEvent.actor_id == other.id)
    )
    assert untouched.object_id == str(other.id)
    audit = db_session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "audit.redacted"))
    assert audit.data == {"rows": changed} and changed >= 3


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_events SET action = 'tampered'",
        "UPDATE audit_events SET actor_label = 'someone else'",
        "UPDATE audit_events SET data = '{\"forged\": true}'",
        "UPDATE audit_events SET actor_id = actor_id + 1 WHERE actor_id IS NOT NULL",
        "DELETE FROM audit_events",
    ],
)
def test_the_database_still_refuses_any_other_change(create_user, db_session, statement):
    log_event("user.logged_in", actor=create_user(), data={"x": 1})
    db_session.flush()
    with pytest.raises(sa.exc.DatabaseError), db_session.begin_nested():
        db_session.execute(sa.text(statement))
