"""Two trainers decide the same claim at the same moment, over HTTP, against a live server with its own database
(a SQLite file, or PostgreSQL when TEST_DATABASE_URL is set): exactly one wins (200 after the redirect), the other
gets 409 "Already decided by …", and exactly one audit event is written."""

from __future__ import annotations

import http.cookiejar
import threading
import urllib.error
import urllib.parse
import urllib.request
from datetime import date

import pytest
import sqlalchemy as sa

from app.extensions import db
from tests.fixtures.app import TEST_PASSWORD, make_test_app, reset_database, separate_database

ROUNDS = 3


@pytest.fixture
def live_database_url(tmp_path):
    with separate_database("conc", tmp_path / "concurrency.sqlite") as url:
        yield url


@pytest.fixture
def live(live_database_url, tmp_path, monkeypatch):
    """A live server on its own database; ``db.session`` is a plain session again (not the test transaction)."""
    from werkzeug.serving import make_server

    monkeypatch.setattr(db, "session", db._make_scoped_session({}))
    app = make_test_app(live_database_url, tmp_path / "instance")
    with app.app_context():
        reset_database()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield app, f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def _seed(app) -> dict:
    from app.auth import operations as auth_ops
    from app.claims import operations as claim_ops
    from app.experiences import operations as experience_ops
    from app.experiences.models import ExperienceKind
    from app.organisations import operations as org_ops
    from app.organisations.models import MembershipRole, OrganisationKind
    from app.validation import operations as ops
    from tests.cast import make_framework

    with app.app_context():
        users = {
            key: auth_ops.create_user(f"{key}@example.org", key.title(), TEST_PASSWORD, locale="en", verified=True)
            for key in ("volunteer", "anna", "bruno")
        }
        ngo = org_ops.create_organisation(
            org_ops.OrganisationData(name="Race NGO", kind=OrganisationKind.SENDING_NGO, country="FR"), actor=None
        )
        org_ops.add_member(ngo, users["volunteer"], MembershipRole.VOLUNTEER, actor=None)
        org_ops.add_member(ngo, users["anna"], MembershipRole.TRAINER, actor=None)
        org_ops.add_member(ngo, users["bruno"], MembershipRole.TRAINER, actor=None)
        _version, nodes = make_framework(db.session, slug="race-fw")
        mission = experience_ops.create_experience(
            users["volunteer"],
            experience_ops.ExperienceData(kind=ExperienceKind.MISSION, title="Race", start_date=date(2024, 1, 1)),
        )
        claims = [
            claim_ops.create_claim(users["volunteer"], mission, claim_ops.ClaimData(node_id=n.id, level_rank=1))
            for n in nodes[:ROUNDS]
        ]
        submission = ops.submit_experience(users["volunteer"], mission, ngo, [c.id for c in claims])
        db.session.commit()
        return {
            "submission": submission.id,
            "items": [(item.id, item.claim_id) for item in submission.items],
        }


def _signed_in_opener(base_url: str, email: str):
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    body = urllib.parse.urlencode({"email": email, "password": TEST_PASSWORD}).encode()
    with opener.open(f"{base_url}/auth/login", data=body, timeout=30) as response:
        assert "/auth/login" not in response.url
    return opener


def _post(opener, url: str, data: dict) -> tuple[int, str]:
    try:
        with opener.open(url, data=urllib.parse.urlencode(data).encode(), timeout=60) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_two_trainers_deciding_the_same_claim_at_once(live):
    from app.claims.validations import ClaimValidation
    from app.core.audit import AuditEvent
    from app.validation.models import Submission, SubmissionItem, SubmissionState

    app, base_url = live
    seeded = _seed(app)
    openers = [_signed_in_opener(base_url, "anna@example.org"), _signed_in_opener(base_url, "bruno@example.org")]
    for item_id, _claim_id in seeded["items"]:
        url = f"{base_url}/validation/submissions/{seeded['submission']}/items/{item_id}/decide"
        decisions = [
            {f"item-{item_id}-decision": "validated"},
            {f"item-{item_id}-decision": "rejected", f"item-{item_id}-comment": "Not shown"},
        ]
        barrier = threading.Barrier(2)
        results: list = [None, None]

        def run(index, url=url, decisions=decisions, barrier=barrier, results=results):
            barrier.wait()
            results[index] = _post(openers[index], url, decisions[index])

        threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        statuses = sorted(status for status, _body in results)
        assert statuses == [200, 409], [(s, b[:300]) for s, b in results]
        conflict = next(body for status, body in results if status == 409)
        assert "Already decided by" in conflict

    with app.app_context():
        for item_id, claim_id in seeded["items"]:
            item = db.session.get(SubmissionItem, item_id)
            assert item.decision.value in {"validated", "rejected"}
            events = db.session.scalars(
                sa.select(AuditEvent).where(
                    AuditEvent.object_type == "Claim",
                    AuditEvent.object_id == str(claim_id),
                    AuditEvent.action.like("item.%"),
                )
            ).all()
            assert len(events) == 1 and events[0].actor_id == item.decided_by_id
            validations = db.session.scalar(
                sa.select(sa.func.count(ClaimValidation.id)).where(ClaimValidation.claim_id == claim_id)
            )
            assert validations == (1 if item.decision.value == "validated" else 0)
        submission = db.session.get(Submission, seeded["submission"])
        assert submission.state == SubmissionState.DECIDED
        closing = db.session.scalar(
            sa.select(sa.func.count(AuditEvent.id)).where(AuditEvent.action == "submission.decided")
        )
        assert closing == 1
