"""Erasing an account: what happens to every table that refers to a person.

:data:`ERASURE_REGISTRY` names, for every table holding a reference to ``users`` (a foreign key to ``users.id`` or
a ``user_id``/``owner_id``/``volunteer_id``/``holder_id`` column), what erasure does to its rows. A test
introspects the schema and fails when a table is missing here or from ``app.portability.export.EXPORT_REGISTRY``,
so a new package cannot forget the person's data.

Audit events are append-only (ORM guard + database trigger) and are kept: they hold the actor's id (a plain
number) and no e-mail address (``actor_label`` is ``user#ID`` since this package); an :class:`ErasedUser` tombstone
turns that id into "a former user" at display time. Validations a deleted trainer gave stay valid: the trainer's id
is set to NULL by the foreign key and their name is blanked, so they read "a former trainer (ORG)".
"""

from __future__ import annotations

import sqlalchemy as sa

from app.auth.models import LoginThrottle, User
from app.claims.models import Evidence
from app.core import storage
from app.core.audit import log_event
from app.core.db import after_commit
from app.extensions import db
from app.organisations.models import Invitation
from app.portability.models import ErasedUser

#: table → what erasure does to the rows referring to the erased person.
ERASURE_REGISTRY: dict[str, str] = {
    "users": "deleted",
    "user_sessions": "deleted (cascade): every session ends",
    "recovery_codes": "deleted (cascade)",
    "memberships": "deleted (cascade); approved_by_id set to NULL on others' memberships",
    "invitations": "invited_by_id set to NULL; pending invitations to the address deleted",
    "experiences": "deleted (cascade)",
    "evidence": "deleted (cascade); files removed from storage after commit",
    "claims": "deleted (cascade)",
    "submissions": "the volunteer's deleted (cascade); facts_confirmed_by_id set to NULL on others'",
    "submission_items": "deleted with the volunteer's submissions; decided_by_id set to NULL on others'",
    "claim_validations": "deleted with the volunteer's claims; a trainer's validations kept, name blanked",
    "referent_requests": "deleted (cascade)",
    "notifications": "deleted (cascade)",
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
    from app.sharing.models import Share

    db.session.execute(sa.delete(Share).where(sa.func.lower(Share.adviser_email) == email))
    db.session.execute(
        sa.delete(Invitation).where(sa.func.lower(Invitation.email) == email, Invitation.accepted_at.is_(None))
    )
    db.session.execute(sa.delete(LoginThrottle).where(LoginThrottle.key.contains(email)))
    db.session.add(ErasedUser(user_id=user_id))
    log_event("user.erased", data={"user_id": user_id})
    db.session.delete(user)
    db.session.flush()
    db.session.expire_all()  # rows removed by ON DELETE CASCADE must not linger in the identity map


def _blank_names(user_id: int) -> None:
    from app.validation.models import ClaimValidation

    db.session.execute(
        sa.update(ClaimValidation).where(ClaimValidation.validator_id == user_id).values(validator_name="")
    )
    try:
        from app.documents.models import Opinion
    except ImportError:  # pragma: no cover - documents package absent
        return
    db.session.execute(sa.update(Opinion).where(Opinion.author_id == user_id).values(author_name=""))


def _erase_documents(user_id: int) -> None:
    try:
        from app.documents.models import Document
        from app.documents.operations import documents_dir
    except ImportError:  # pragma: no cover - documents package absent
        return
    keys = list(db.session.scalars(sa.select(Document.storage_key).where(Document.holder_id == user_id)))
    db.session.execute(sa.delete(Document).where(Document.holder_id == user_id))
    directory = documents_dir()

    def remove_files():
        for key in keys:
            (directory / f"{key}.pdf").unlink(missing_ok=True)

    after_commit(remove_files)


def actor_name(actor_id: int | None) -> str | None:
    """How to name an audit event's actor: their display name, "a former user" once erased, None if unknown."""
    from flask_babel import gettext as _

    if actor_id is None:
        return None
    user = db.session.get(User, actor_id)
    if user is not None:
        return user.display_name
    if db.session.get(ErasedUser, actor_id) is not None:
        return _("a former user")
    return None
