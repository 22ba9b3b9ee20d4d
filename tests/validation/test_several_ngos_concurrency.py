"""Two NGOs validate the same claims, and at each NGO two trainers decide at the same moment, over HTTP against a
live server with its own database (SQLite file, or PostgreSQL when TEST_DATABASE_URL is set): one winner per NGO
(200 after the redirect, the other 409 "Already decided by …"), one standing validation per NGO and claim version,
one decision event per NGO, and the first NGO's validation still current after the second decided (issue 20)."""

from __future__ import annotations

import threading
from datetime import date

import sqlalchemy as sa

from app.extensions import db
from tests.fixtures.app import TEST_PASSWORD
from tests.validation.test_concurrency import _post, _signed_in_opener, live, live_database_url  # noqa: F401

CLAIMS = 2
TRAINERS = {"A NGO": ("anna", "bruno"), "B NGO": ("carla", "dario")}


def _seed(app) -> tuple[dict, list[int]]:
    """The volunteer (member of both NGOs) and two trainers per NGO; the claims' ids and the NGOs' ids by name."""
    from app.auth import operations as auth_ops
    from app.claims import operations as claim_ops
    from app.experiences import operations as experience_ops
    from app.experiences.models import ExperienceKind
    from app.organisations import operations as org_ops
    from app.organisations.models import MembershipRole, OrganisationKind
    from tests.cast import make_framework

    with app.app_context():
        volunteer = auth_ops.create_user("volunteer@example.org", "Vol", TEST_PASSWORD, locale="en", verified=True)
        organisations = {}
        for name, trainers in TRAINERS.items():
            ngo = org_ops.create_organisation(
                org_ops.OrganisationData(name=name, kind=OrganisationKind.SENDING_NGO, country="FR"), actor=None
            )
            org_ops.add_member(ngo, volunteer, MembershipRole.VOLUNTEER, actor=None)
            for key in trainers:
                user = auth_ops.create_user(
                    f"{key}@example.org", key.title(), TEST_PASSWORD, locale="en", verified=True
                )
                org_ops.add_member(ngo, user, MembershipRole.TRAINER, actor=None)
            organisations[name] = ngo.id
        _version, nodes = make_framework(db.session, slug="race-fw")
        mission = experience_ops.create_experience(
            volunteer,
            experience_ops.ExperienceData(kind=ExperienceKind.MISSION, title="Race", start_date=date(2024, 1, 1)),
        )
        claims = [
            claim_ops.create_claim(volunteer, mission, claim_ops.ClaimData(node_id=n.id, level_rank=1))
            for n in nodes[:CLAIMS]
        ]
        db.session.commit()
        return organisations, [c.id for c in claims]


def _submit(app, organisation_id: int, claim_ids: list[int]) -> tuple[int, list[int]]:
    from app.auth.models import User
    from app.experiences.models import Experience
    from app.organisations.models import Organisation
    from app.validation import operations as ops

    with app.app_context():
        volunteer = db.session.scalar(sa.select(User).where(User.email == "volunteer@example.org"))
        mission = db.session.scalar(sa.select(Experience).where(Experience.owner_id == volunteer.id))
        submission = ops.submit_experience(volunteer, mission, db.session.get(Organisation, organisation_id), claim_ids)
        db.session.commit()
        return submission.id, [item.id for item in submission.items]


def _race(base_url: str, trainers, submission_id: int, item_ids: list[int]) -> None:
    """Both trainers validate each item at once: one 200, one 409."""
    openers = [_signed_in_opener(base_url, f"{key}@example.org") for key in trainers]
    for item_id in item_ids:
        url = f"{base_url}/validation/submissions/{submission_id}/items/{item_id}/decide"
        barrier = threading.Barrier(2)
        results: list = [None, None]

        def run(index, url=url, item_id=item_id, barrier=barrier, results=results):
            barrier.wait()
            results[index] = _post(openers[index], url, {f"item-{item_id}-decision": "validated"})

        threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert sorted(status for status, _body in results) == [200, 409], [(s, b[:300]) for s, b in results]
        assert "Already decided by" in next(body for status, body in results if status == 409)


def test_one_winner_per_ngo_and_both_validations_stand(live):  # noqa: F811 - the fixture imported above
    from app.claims.models import Claim, ClaimState
    from app.claims.validations import ClaimValidation
    from app.core.audit import AuditEvent

    app, base_url = live
    organisations, claim_ids = _seed(app)
    for name, trainers in TRAINERS.items():
        # B may take the claims A validated: A's validation blocks nothing at B.
        submission_id, item_ids = _submit(app, organisations[name], claim_ids)
        _race(base_url, trainers, submission_id, item_ids)

    with app.app_context():
        for claim_id in claim_ids:
            claim = db.session.get(Claim, claim_id)
            assert claim.state == ClaimState.VALIDATED
            standing = db.session.scalars(
                sa.select(ClaimValidation).where(ClaimValidation.claim_id == claim_id, ClaimValidation.is_current)
            ).all()
            # One per NGO, of the same version, each by one of that NGO's trainers.
            assert sorted(v.organisation_id for v in standing) == sorted(organisations.values())
            assert {v.claim_version for v in standing} == {claim.version}
            for validation in standing:
                name = next(n for n, i in organisations.items() if i == validation.organisation_id)
                assert validation.validator_name.lower() in TRAINERS[name]
            events = db.session.scalars(
                sa.select(AuditEvent).where(
                    AuditEvent.object_type == "Claim",
                    AuditEvent.object_id == str(claim_id),
                    AuditEvent.action.like("item.%"),
                )
            ).all()
            assert sorted(e.organisation_id for e in events) == sorted(organisations.values())
