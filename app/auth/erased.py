"""Facts about erased accounts, for every package that names people: the :class:`~app.auth.models.ErasedUser`
tombstones turn a former user's id into "a former user", and tell which vanished validations a since-erased trainer
gave. Erasing an account (which needs every package's tables) is :mod:`app.portability.erasure`.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import gettext as _

from app.auth.models import ErasedUser, User
from app.core.audit import REDACTED_LABEL, AuditEvent
from app.extensions import db


def actor_name(actor_id: int | None) -> str | None:
    """How to name an audit event's actor: their display name, "a former user" once erased, None if unknown."""
    if actor_id is None:
        return None
    user = db.session.get(User, actor_id)
    if user is not None:
        return user.display_name
    if db.session.get(ErasedUser, actor_id) is not None:
        return _("a former user")
    return None


def erased_user_ids(user_ids) -> set[int]:
    """Which of ``user_ids`` belonged to erased accounts (one statement)."""
    wanted = {int(i) for i in user_ids if i is not None}
    if not wanted:
        return set()
    return set(db.session.scalars(sa.select(ErasedUser.user_id).where(ErasedUser.user_id.in_(wanted))))


def erased_validators(validation_ids_by_claim: dict[int, set[int]]) -> set[int]:
    """The ids, among validations that no longer exist, of those given by a since-erased trainer.

    The validation rows are gone (their claim was deleted), so the validator is found through the audit log:
    ``item.validated`` events on the claim record the validation id, and erasure redacted the actor of those a
    since-erased trainer gave (``actor_label`` :data:`~app.core.audit.REDACTED_LABEL`). Events from before the
    redaction existed still hold the actor's id, matched with the :class:`ErasedUser` tombstones. Two statements
    whatever the number of validations.
    """
    if not validation_ids_by_claim:
        return set()
    events = db.session.execute(
        sa.select(AuditEvent.object_id, AuditEvent.actor_id, AuditEvent.actor_label, AuditEvent.data).where(
            AuditEvent.action == "item.validated",
            AuditEvent.object_type == "Claim",
            AuditEvent.object_id.in_([str(i) for i in validation_ids_by_claim]),
        )
    ).all()
    actors: dict[int, int] = {}
    redacted: set[int] = set()
    for object_id, actor_id, label, data in events:
        validation_id = (data or {}).get("validation_id")
        if validation_id not in validation_ids_by_claim.get(int(object_id), ()):
            continue
        if label == REDACTED_LABEL and actor_id is None:  # not a trainer who calls themselves "erased"
            redacted.add(validation_id)
        elif actor_id is not None:
            actors[validation_id] = actor_id
    erased = erased_user_ids(actors.values())
    return redacted | {validation_id for validation_id, actor_id in actors.items() if actor_id in erased}
