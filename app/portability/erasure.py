"""Erasing an account: what happens to every table that refers to a person.

:data:`ERASURE_REGISTRY` names, for every table holding a reference to ``users`` (a foreign key to ``users.id`` or
a ``user_id``/``owner_id``/``volunteer_id``/``holder_id`` column), what erasure does to its rows. A test
introspects the schema and fails when a table is missing here or from ``app.portability.export.EXPORT_REGISTRY``,
so a new package cannot forget the person's data.

Audit events are append-only (ORM guard + database trigger) and are kept, but erasure redacts them
(:func:`app.core.audit.redact_person`, itself audited as ``audit.redacted``): the events the person did lose
their actor id, label and IP address (``actor_label`` becomes ``erased``), the events about their account lose
its id, and the events whose data names them (their id, e-mail address or name) lose their data. An
:class:`ErasedUser` tombstone (the former id alone, linked to nothing any more) still turns that id into "a former
user" where other records kept it. After the commit the database files are compacted
(:func:`app.core.dbfiles.compact`: SQLite ``VACUUM`` and a truncated write-ahead log) and the development mail
sink loses every message to the person, so their name and address survive in no file of the instance.

The volunteer's validations are the NGOs' records: they are kept, reduced to a pseudonymous record
(:func:`app.validation.archive.scrub_for_erasure`: competence, level, NGO, trainer, dates, content hash; no
narrative, evidence or link to the person), as the README and FORMAT.md state.

Validations a deleted trainer gave stay valid: the trainer's id
is set to NULL by the foreign key and their name is blanked, so they read "a former trainer (ORG)"; the public
verification page of a document printed with their name says "a former trainer" too (the PDF itself cannot change).

So that the append-only log does not keep a person it cannot forget, operations log ids, hashes and codes, not
titles or names (``experience.deleted`` records the experience's id and kind, not its title). Older events that
named the person in their data are caught by the redaction (it searches the data for the address and the name).

Others' records that only *mention* the person are removed too: invitations sent to their address (accepted or
not) and the in-app notifications telling trainers about the person's submissions (they name the volunteer). A VAE
companion's comments on others' projects stay in those threads without their author, and the timeline events that
recorded their invitation lose their address.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app

from app.auth.models import ErasedUser, LoginThrottle, User
from app.claims.models import Evidence
from app.claims.validations import ClaimValidation
from app.core import storage
from app.core.audit import AuditEvent, log_event, redact_person
from app.core.db import Base, after_commit
from app.core.dbfiles import compact
from app.core.mail import purge_mail_sink
from app.core.notifications import Notification
from app.documents.files import documents_dir
from app.documents.models import Document, Opinion
from app.extensions import db
from app.organisations.models import Invitation
from app.sharing.models import Share
from app.validation import archive
from app.validation.models import Submission
from app.validation.notifications import site_path

#: table → what erasure does to the rows referring to the erased person.
ERASURE_REGISTRY: dict[str, str] = {
    "users": "deleted",
    "user_sessions": "deleted (cascade): every session ends",
    "recovery_codes": "deleted (cascade)",
    "memberships": "deleted (cascade); approved_by_id set to NULL on others' memberships",
    "invitations": "invited_by_id set to NULL; invitations to the address, and those the person accepted, deleted",
    "experiences": "deleted (cascade)",
    "evidence": "deleted (cascade); files removed from storage after commit",
    "claims": "deleted (cascade)",
    "submissions": "the volunteer's deleted (cascade); facts_confirmed_by_id set to NULL on others'",
    "submission_items": "deleted with the volunteer's submissions; decided_by_id set to NULL on others'",
    "claim_validations": "the volunteer's kept as the NGO's pseudonymous record (competence, level, NGO, validator, "
    "dates, content hash; no narrative, evidence or holder); a trainer's validations kept, name blanked",
    "referent_requests": "deleted (cascade)",
    "notifications": "deleted (cascade); trainers' notifications about the person's submissions deleted",
    "survey_participations": "deleted (cascade); anonymous answers are not linked to anyone and stay",
    "documents": "the holder's issued documents deleted with their files; requested_by_id set to NULL",
    "document_jobs": "deleted (cascade)",
    "document_opinions": "about the volunteer: deleted (cascade); written by them: author_id NULL, name blanked",
    "shares": "the owner's deleted (cascade); shares naming the person as adviser deleted",
    "share_accesses": "deleted with the owner's shares; an adviser's views kept as 'a former adviser'",
    "adviser_notes": "deleted (cascade)",
    "imported_validations": "deleted (cascade)",
    "imported_confirmations": "deleted (cascade)",
    "erased_users": "the tombstone itself: only the former id",
    "audit_events": "kept, redacted: no actor id, label, IP address or object id of the person, no data naming them",
    "suggestion_observations": "deleted (cascade): the suggestion model is rebuilt without them",
    "vae_projects": "deleted (cascade) with their drafts, revisions, comments, timeline and companion links",
    "vae_events": "the person's projects' deleted (cascade); on others' projects actor_id set to NULL, and the "
    "companion invitation events naming the person's address lose the address",
    "vae_comments": "on the person's projects deleted (cascade); written as a companion on others' projects: kept "
    "in the thread, author_id and resolved_by_id set to NULL ('a former user')",
    "vae_acquired_blocs": "deleted (cascade)",
}


def erase_user(user: User) -> None:
    """Delete ``user`` and everything that is theirs; keep others' records without the person in them.

    Files (evidence, issued documents) are removed once the transaction commits. The caller commits.
    """
    user_id, email = user.id, user.email.lower()
    for key in db.session.scalars(sa.select(Evidence.storage_key).where(Evidence.owner_id == user_id)):
        storage.delete_after_commit(key)
    _erase_documents(user_id)
    _blank_names(user_id)
    archive.scrub_for_erasure(user_id)
    _erase_notifications_about(user_id)

    db.session.execute(sa.delete(Share).where(sa.func.lower(Share.adviser_email) == email))
    _erase_invitations(user_id, email)
    _forget_vae_companion(email)
    db.session.execute(sa.delete(LoginThrottle).where(LoginThrottle.key.contains(email)))
    needles = (email, user.email, user.display_name)
    db.session.add(ErasedUser(user_id=user_id))
    redact_person(user_id, needles=needles)
    log_event("user.erased")
    db.session.delete(user)
    db.session.flush()
    db.session.expire_all()  # rows removed by ON DELETE CASCADE must not linger in the identity map
    sink = current_app.config.get("MAIL_SINK_DIR")
    after_commit(lambda: (purge_mail_sink(sink, needles), compact()))


def _blank_names(user_id: int) -> None:

    db.session.execute(
        sa.update(ClaimValidation).where(ClaimValidation.validator_id == user_id).values(validator_name="")
    )

    db.session.execute(sa.update(Opinion).where(Opinion.author_id == user_id).values(author_name=""))


def _erase_invitations(user_id: int, email: str) -> None:
    """Invitations to the address, whatever their state, and those the person accepted under an earlier address
    (found through the ``invitation.accepted`` audit events: the invitation row holds no user id)."""
    accepted_ids = [
        int(object_id)
        for object_id in db.session.scalars(
            sa.select(AuditEvent.object_id).where(
                AuditEvent.actor_id == user_id,
                AuditEvent.action == "invitation.accepted",
                AuditEvent.object_type == "Invitation",
            )
        )
        if object_id.isdigit()
    ]
    condition = sa.func.lower(Invitation.email) == email
    if accepted_ids:
        condition = sa.or_(condition, Invitation.id.in_(accepted_ids))
    db.session.execute(sa.delete(Invitation).where(condition))


def _forget_vae_companion(email: str) -> None:
    """Remove the person's address from the timelines of others' VAE projects (the events recording that they
    were invited as a companion, or that their access ended); the event itself stays, naming nobody. Read through
    the table: the VAE package sits above this floor."""
    events = Base.metadata.tables.get("vae_events")
    if events is None:  # pragma: no cover - VAE package absent
        return
    rows = db.session.execute(
        sa.select(events.c.id, events.c.data).where(
            events.c.kind.in_(("companion_invited", "companion_ended")),
            # A coarse filter in SQL (the JSON as text holds the address); the exact match below.
            sa.func.lower(sa.cast(events.c.data, sa.Text)).contains(email, autoescape=True),
        )
    ).all()
    for event_id, data in rows:
        if isinstance(data, dict) and str(data.get("email", "")).lower() == email:
            cleaned = {key: value for key, value in data.items() if key != "email"}
            db.session.execute(sa.update(events).where(events.c.id == event_id).values(data=cleaned))


def _erase_notifications_about(user_id: int) -> None:
    """Delete the notifications of others that name the person: those telling trainers about the person's
    submissions (``submitted``, ``withdrawn``) link to the submission page and carry the volunteer's name."""
    submission_ids = list(db.session.scalars(sa.select(Submission.id).where(Submission.volunteer_id == user_id)))
    if not submission_ids:
        return
    links = [site_path("validation.submission", submission_id=i) for i in submission_ids]
    for start in range(0, len(links), 500):
        db.session.execute(sa.delete(Notification).where(Notification.link.in_(links[start : start + 500])))


def _erase_documents(user_id: int) -> None:
    keys = list(db.session.scalars(sa.select(Document.storage_key).where(Document.holder_id == user_id)))
    db.session.execute(sa.delete(Document).where(Document.holder_id == user_id))
    directory = documents_dir()

    def remove_files():
        for key in keys:
            (directory / f"{key}.pdf").unlink(missing_ok=True)

    after_commit(remove_files)
