"""Access policy of the ``validation`` blueprint.

Submissions are seen by the trainers and admins of the NGO they were sent to, decided by its trainers only
(an org admin who is not a trainer gets 403 on a decision), and are 404 for everyone else — the trainer of
another NGO included. Volunteers reach the submit and referent pages of their own experiences only. The
referent page is public (the token is the credential); unknown, expired and used tokens are tested in
tests/validation/test_referent.py.
"""

from tests.access import PUBLIC, USER, expect, rule

OWNER_ONLY = expect(404, guest="login", volunteer="ok")
REVIEWERS = expect(404, guest="login", trainer="ok", org_admin="ok")
DECIDERS = expect(404, guest="login", trainer="ok", org_admin=403)
QUEUE = expect(404, guest="login", trainer="ok", org_admin="ok", other_trainer="ok")
NGO_ADMIN = expect(404, guest="login", org_admin="ok")


def build(world):
    """Two missions of world.volunteer with a claim each: one pending at world.ngo, one validated by it, plus a
    referent request (its raw token kept for the URL)."""
    from datetime import date

    from app.claims import operations as claim_ops
    from app.experiences import operations as experience_ops
    from app.experiences.models import ExperienceKind
    from app.validation import operations as ops
    from app.validation.models import ItemDecision
    from tests.cast import store_evidence

    if not hasattr(world, "claim_node"):
        from tests.claims.access_policy import build as build_claims

        build_claims(world)
    volunteer = world.users["volunteer"]

    def mission(title):
        return experience_ops.create_experience(
            volunteer,
            experience_ops.ExperienceData(
                kind=ExperienceKind.MISSION, title=title, start_date=date(2022, 1, 1), end_date=date(2022, 6, 30)
            ),
        )

    world.val_experience = mission("Reviewed mission")
    world.val_evidence = store_evidence(volunteer, b"%PDF-1.4 validation access stand-in", title="Report")
    claim = claim_ops.create_claim(
        volunteer,
        world.val_experience,
        claim_ops.ClaimData(node_id=world.claim_node.id, level_rank=1, evidence_ids=(world.val_evidence.id,)),
    )
    world.submission = ops.submit_experience(volunteer, world.val_experience, world.ngo, [claim.id])
    world.val_item = world.submission.items[0]

    world.val_experience2 = mission("Validated mission")
    claim2 = claim_ops.create_claim(
        volunteer, world.val_experience2, claim_ops.ClaimData(node_id=world.claim_node.id, level_rank=1)
    )
    submission2 = ops.submit_experience(volunteer, world.val_experience2, world.ngo, [claim2.id])
    ops.decide_item(submission2.items[0], world.users["trainer"], ops.Decision(ItemDecision.VALIDATED))
    import sqlalchemy as sa

    from app.claims.validations import ClaimValidation
    from app.extensions import db

    world.validation = db.session.scalar(sa.select(ClaimValidation).where(ClaimValidation.claim_id == claim2.id))
    from app.validation import countersign

    world.countersign_rule = countersign.set_rule(
        world.ngo, world.users["org_admin"], countersign.RuleData("other-fw", min_level=3)
    )
    _request, world.referent_token = ops.request_referent(
        volunteer, world.val_experience2, ops.ReferentData(name="Rosa", email="rosa@example.org", language="es")
    )


def _submission(w):
    return {"submission_id": w.submission.id}


POLICY = {
    "validation.submit": rule(
        OWNER_ONLY, url=lambda w: {"experience_id": w.val_experience2.id}, methods=("GET", "POST")
    ),
    "validation.referent_new": rule(
        OWNER_ONLY, url=lambda w: {"experience_id": w.val_experience2.id}, methods=("GET", "POST")
    ),
    "validation.queue": rule(QUEUE, notes="every trainer or admin has a queue (of their own NGOs)"),
    "validation.submission": rule(REVIEWERS, url=_submission),
    "validation.decide": rule(
        DECIDERS,
        url=lambda w: {"submission_id": w.submission.id, "item_id": w.val_item.id},
        methods=("POST",),
        notes="an empty decision is refused with 422 (still 'ok': the trainer got in)",
    ),
    "validation.facts": rule(DECIDERS, url=_submission, methods=("POST",)),
    "validation.withdraw": rule(
        OWNER_ONLY,
        url=_submission,
        methods=("GET", "POST"),
        notes="only the volunteer who submitted; the NGO's trainers cannot withdraw on their behalf (404)",
    ),
    "validation.evidence": rule(
        REVIEWERS, url=lambda w: {"submission_id": w.submission.id, "evidence_id": w.val_evidence.id}
    ),
    "validation.revoke": rule(NGO_ADMIN, url=lambda w: {"validation_id": w.validation.id}, methods=("GET", "POST")),
    "validation.referent": rule(PUBLIC, url=lambda w: {"token": w.referent_token}, methods=("GET", "POST")),
    "validation.countersignatures": rule(QUEUE, notes="trainers and admins see their own NGOs' list"),
    "validation.countersign": rule(
        REVIEWERS,
        url=lambda w: {"validation_id": w.validation.id},
        methods=("GET", "POST"),
        notes="world.validation needs no countersignature: a POST answers 409; who may countersign one that does "
        "(403 for the validator) is tested in tests/validation/test_records_and_countersign.py",
    ),
    "validation.countersignature_rules": rule(
        NGO_ADMIN, url=lambda w: {"slug": w.ngo.slug}, methods=("GET", "POST"), notes="an empty form answers 422"
    ),
    "validation.countersignature_rule_delete": rule(
        NGO_ADMIN, url=lambda w: {"slug": w.ngo.slug, "rule_id": w.countersign_rule.id}, methods=("POST",)
    ),
    "validation.notifications": rule(USER),
    "validation.notifications_read": rule(USER, methods=("POST",)),
}
