"""The NGO's validation records outlive the claims they validated (issue 20).

A volunteer who deletes a claim, or the experience holding it, takes it out of their portfolio; the NGO's
:class:`~app.validation.models.ClaimValidation` stays — snapshot, decision, validator, content hash — marked
``withdrawn_at`` and detached from the claim (``claim_id`` becomes NULL through ON DELETE SET NULL). Documents
issued before keep pointing at it by id, so ``/verify/<code>`` still says "validated by … on …; withdrawn by the
holder on …" (or "revoked by the NGO on …: reason", the NGO may still revoke a withdrawn record).

The withdrawal itself needs no listener: ``claims.delete_claim`` calls
:func:`app.claims.validations.withdraw_validations` (the records live on the claims floor), and
``experiences.delete_experience`` marks its claims' records with one UPDATE over table names it declares
(``app/experiences/operations.py``), both *before* the rows go.

Erasure of the account (:func:`scrub_for_erasure`) goes further: the record keeps only what the NGO needs to
answer for a document it issued — competence code and title, framework and version, level, organisation,
validator, dates, revocation, and the SHA-256 of the validated content — and loses the narrative, the evidence
list and the link to the person (``holder_id`` becomes NULL). Nothing left names or describes the volunteer; the
hash proves what was validated to whoever holds the original document, and to no one else.
"""

from __future__ import annotations

import sqlalchemy as sa

from app.claims.validations import ClaimValidation
from app.core.audit import log_event
from app.core.db import utcnow
from app.extensions import db

#: What an erased volunteer's validation records keep of their snapshot (nothing the person wrote or uploaded).
KEPT_NODE_KEYS = ("id", "code", "title", "framework", "framework_version", "framework_version_id")


def log_revoked_record(validation: ClaimValidation, actor, reason: str) -> None:
    """Audit the revocation of a record whose claim is gone (no claim to point at, no holder to notify)."""
    db.session.flush()
    log_event(
        "validation.revoked",
        actor=actor,
        obj=validation,
        organisation_id=validation.organisation_id,
        data={"validation_id": validation.id, "claim_version": validation.claim_version, "reason": reason},
    )


def scrub_for_erasure(user_id: int) -> int:
    """Reduce the validation records of ``user_id``'s claims to the pseudonymous record the NGO keeps (see the
    module docstring); withdrawn from now if they were not yet. Two statements plus one per record."""
    records = list(db.session.scalars(sa.select(ClaimValidation).where(ClaimValidation.holder_id == user_id)))
    now = utcnow()
    for record in records:
        snapshot = record.snapshot or {}
        node = snapshot.get("node") or {}
        kept = {key: node[key] for key in KEPT_NODE_KEYS if key in node}
        record.snapshot = {"node": kept, "level": snapshot.get("level"), "erased": True}
        record.withdrawn_at = record.withdrawn_at or now
        record.holder_id = None
    db.session.flush()
    return len(records)
