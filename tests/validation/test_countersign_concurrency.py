"""Two trainers countersign the same validation at the same moment, over HTTP against a live server with its own
database (SQLite file, or PostgreSQL when TEST_DATABASE_URL is set): one winner (200 after the redirect), the
other gets 409 "Already countersigned by …", and one audit event is written (issue 20)."""

from __future__ import annotations

import threading
from datetime import date

import sqlalchemy as sa

from app.extensions import db
from tests.fixtures.app import TEST_PASSWORD
from tests.validation.test_concurrency import _post, _signed_in_opener, live, live_database_url  # noqa: F401


def _seed(app) -> list[int]:
    from app.auth import operations as auth_ops
    from app.claims import operations as claim_ops
    from app.claims.validations import ClaimValidation
    from app.experiences import operations as experience_ops
    from app.experiences.models import ExperienceKind
    from app.organisations import operations as org_ops
    from app.organisations.models import MembershipRole, OrganisationKind
    from app.validation import countersign
    from app.validation import operations as ops
    from tests.cast import make_framework, validate_everything

    with app.app_context():
        users = {
            key: auth_ops.create_user(f"{key}@example.org", key.title(), TEST_PASSWORD, locale="en", verified=True)
            for key in ("volunteer", "anna", "bruno", "carla", "dora")
        }
        ngo = org_ops.create_organisation(
            org_ops.OrganisationData(name="Race NGO", kind=OrganisationKind.SENDING_NGO, country="FR"), actor=None
        )
        org_ops.add_member(ngo, users["volunteer"], MembershipRole.VOLUNTEER, actor=None)
        org_ops.add_member(ngo, users["dora"], MembershipRole.ADMIN, actor=None)
        for key in ("anna", "bruno", "carla"):
            org_ops.add_member(ngo, users[key], MembershipRole.TRAINER, actor=None)
        _version, nodes = make_framework(db.session, slug="race-fw")
        countersign.set_rule(ngo, users["dora"], countersign.RuleData("race-fw"))
        mission = experience_ops.create_experience(
            users["volunteer"],
            experience_ops.ExperienceData(kind=ExperienceKind.MISSION, title="Race", start_date=date(2024, 1, 1)),
        )
        claims = [
            claim_ops.create_claim(users["volunteer"], mission, claim_ops.ClaimData(node_id=n.id, level_rank=1))
            for n in nodes[:3]
        ]
        submission = ops.submit_experience(users["volunteer"], mission, ngo, [c.id for c in claims])
        validate_everything(submission, users["anna"])
        ids = list(db.session.scalars(sa.select(ClaimValidation.id).order_by(ClaimValidation.id)))
        db.session.commit()
        return ids


def test_two_trainers_countersigning_at_once(live):  # noqa: F811 - the fixture imported above
    from app.claims.validations import ClaimValidation
    from app.core.audit import AuditEvent

    app, base_url = live
    ids = _seed(app)
    assert len(ids) == 3
    openers = [_signed_in_opener(base_url, "bruno@example.org"), _signed_in_opener(base_url, "carla@example.org")]
    for validation_id in ids:
        url = f"{base_url}/validation/validations/{validation_id}/countersign"
        barrier = threading.Barrier(2)
        results: list = [None, None]

        def run(index, url=url, barrier=barrier, results=results):
            barrier.wait()
            results[index] = _post(openers[index], url, {})

        threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        statuses = sorted(status for status, _body in results)
        assert statuses == [200, 409], [(s, b[:300]) for s, b in results]
        assert "Already countersigned by" in next(body for status, body in results if status == 409)

    with app.app_context():
        for validation_id in ids:
            validation = db.session.get(ClaimValidation, validation_id)
            assert validation.countersigned_at is not None and validation.is_current
            events = db.session.scalars(
                sa.select(AuditEvent).where(
                    AuditEvent.action == "validation.countersigned",
                    AuditEvent.object_id == str(validation_id),
                )
            ).all()
            assert len(events) == 1 and events[0].actor_id == validation.countersigned_by_id
