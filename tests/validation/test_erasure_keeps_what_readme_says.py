"""Issue 20, erasure: after the volunteer erases their account, each validation record holds exactly what the README
("An NGO's validations are its records") says the NGO keeps — competence code and title, framework and version,
level, NGO, the trainer(s) who decided, the dates, a revocation and its reason, the SHA-256 of the validated
content — and nothing else: every other column is empty, no row of the person's portfolio is left."""

from __future__ import annotations

import sqlalchemy as sa

from app.claims.validations import ClaimValidation
from app.extensions import db
from app.validation import archive, countersign
from app.validation import operations as ops
from app.validation.models import ItemDecision
from tests.cast import ACTIONS

#: Columns of a kept record, each with the README's words for it.
KEPT = {
    "id": "the record itself",
    "claim_version": "the version validated (with the hash)",
    "snapshot": "competence code and title, framework and version, level",
    "content_hash": "the SHA-256 of the validated content",
    "framework_version_id": "framework and version",
    "level": "level",
    "organisation_id": "NGO",
    "validator_id": "the trainer(s) who decided",
    "validator_name": "the trainer(s) who decided",
    "countersignature_required": "the trainer(s) who decided",
    "countersigned_by_id": "the trainer(s) who decided",
    "countersigner_name": "the trainer(s) who decided",
    "countersigned_at": "the dates",
    "validated_at": "the dates",
    "withdrawn_at": "the dates",
    "superseded_at": "the dates",
    "revoked_at": "a revocation",
    "revoked_by_id": "a revocation",
    "revoked_reason": "its reason",
}
#: Columns that tie the record to the person or their portfolio: empty after erasure.
REMOVED = {"claim_id", "item_id", "holder_id"}


def test_every_column_is_kept_by_the_readme_or_emptied(submitted):
    columns = {c.key for c in sa.inspect(ClaimValidation).column_attrs}
    # A new column must be placed on one side (and the README said to say so) before this test passes.
    assert columns == set(KEPT) | REMOVED, columns ^ (set(KEPT) | REMOVED)


def test_erasure_keeps_the_countersigned_and_revoked_records_and_nothing_of_the_person(submitted, app):
    from app.claims.models import Claim
    from app.documents.models import Document
    from app.experiences.models import Experience
    from app.portability.erasure import erase_user
    from app.validation.models import Submission

    world = submitted
    countersign.set_rule(world.ngo, world.admin, countersign.RuleData("val-fw", min_level=2))
    ops.confirm_facts(world.submission, world.trainer, ops.FactsDecision.CONFIRMED, acknowledged=True)
    ops.decide_item(world.items[0], world.trainer, ops.Decision(ItemDecision.VALIDATED, level=2))
    ops.decide_item(world.items[1], world.trainer, ops.Decision(ItemDecision.VALIDATED, level=1, comment="Level 1"))
    signed, revoked = (
        db.session.scalar(sa.select(ClaimValidation).where(ClaimValidation.claim_id == c.id)) for c in world.claims[:2]
    )
    countersign.countersign(signed, world.trainer2)
    ops.revoke_validation(revoked, world.admin, "Evidence was not authentic")
    db.session.flush()
    before = {
        v.id: {key: getattr(v, key) for key in KEPT if key != "snapshot"} | {"node": dict(v.snapshot["node"])}
        for v in (signed, revoked)
    }
    volunteer_id = world.volunteer.id

    erase_user(world.volunteer)
    db.session.flush()
    db.session.expire_all()

    for record_id, expected in before.items():
        kept = db.session.get(ClaimValidation, record_id)
        assert kept is not None
        # Kept: what the README lists, unchanged (the withdrawal date is set by the erasure itself).
        for key, value in expected.items():
            if key == "node":
                assert kept.snapshot["node"] == {k: v for k, v in value.items() if k in archive.KEPT_NODE_KEYS}
            elif key != "withdrawn_at":
                assert getattr(kept, key) == value, key
        assert kept.withdrawn_at is not None
        assert set(kept.snapshot) == {"node", "level", "erased"}
        assert set(kept.snapshot["node"]) <= set(archive.KEPT_NODE_KEYS)
        # Removed: every link to the person and their portfolio.
        assert all(getattr(kept, key) is None for key in REMOVED)
        text = str(kept.snapshot)
        assert "Valentine" not in text and ACTIONS.format(code="C1") not in text and "Photo of the well" not in text
    signed_record, revoked_record = (db.session.get(ClaimValidation, i) for i in before)
    assert signed_record.countersigner_name == "Tess Trainer" and signed_record.countersigned_at is not None
    assert revoked_record.revoked_reason == "Evidence was not authentic" and revoked_record.revoked_at is not None
    # Nothing of the person's portfolio is left.
    for model, column in (
        (Claim, Claim.owner_id),
        (Experience, Experience.owner_id),
        (Submission, Submission.volunteer_id),
        (Document, Document.holder_id),
    ):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(model).where(column == volunteer_id)) == 0
    assert (
        db.session.scalar(sa.select(sa.func.count(ClaimValidation.id)).where(ClaimValidation.holder_id == volunteer_id))
        == 0
    )
