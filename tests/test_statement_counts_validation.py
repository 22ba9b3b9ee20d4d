"""The validation pages run a fixed number of SQL statements whatever the amount of data: the trainers' queue,
the review page of a submission after several rounds, and the experience and claim pages with validation data
(submissions to several NGOs, rounds, validations, referent requests)."""

from __future__ import annotations

import pytest

from tests import cast
from tests.fixtures.statements import explain as _explain
from tests.fixtures.statements import statements_for


@pytest.fixture
def world(ngo, volunteer, trainer, ngo_admin, framework, add_member):
    """The shared cast (tests/cast.py) plus a second trainer, everyone also a member of a second NGO."""
    import types

    w = types.SimpleNamespace(ngo=ngo, volunteer=volunteer, trainer=trainer, admin=ngo_admin)
    w.ngo2 = cast.make_ngo("Autre ONG")
    w.trainer2 = cast.make_person(
        member_of=ngo, role="trainer", email="trainer2@example.org", name="Tess Trainer", locale="en"
    )
    for person, role in ((volunteer, "volunteer"), (trainer, "trainer"), (w.trainer2, "trainer"), (ngo_admin, "admin")):
        add_member(w.ngo2, person, role)
    w.version, w.nodes = framework
    return w


def _mission(w, title="Water project coordinator", claims=3):
    mission = cast.create_mission(w.volunteer, title=title)
    pdf = cast.store_evidence(w.volunteer, b"%PDF-1.4 report " + title.encode(), title=f"Report {title}")
    made = cast.create_claims(w.volunteer, mission, w.nodes[:claims], evidence=[pdf])
    return mission, made


def _rounds(w, mission, claims, organisation, rounds: int, *, last="pending"):
    """``rounds`` rounds of ``claims`` at ``organisation``: changes requested on all but the last round, which is
    left ``pending``, ``decided`` (validated, facts confirmed) or ``returned``."""
    from app.validation import operations as ops
    from app.validation.models import ItemDecision

    submission = None
    for number in range(1, rounds + 1):
        submission = cast.submit_claims(w.volunteer, mission, organisation, claims)
        trainer = w.trainer if number % 2 else w.trainer2
        if number < rounds or last == "returned":
            for item in list(submission.current_items):
                ops.decide_item(item, trainer, ops.Decision(ItemDecision.CHANGES_REQUESTED, comment=f"Round {number}"))
            for claim in claims:
                claim.actions = f"{claim.actions} Round {number}."
                claim.version += 1
        elif last == "decided":
            cast.validate_everything(submission, trainer)
    return submission


def test_review_page_statements_do_not_grow_with_rounds(world, app, login, db_session):
    from app.extensions import db

    w = world
    one_mission, one_claims = _mission(w, "One round")
    many_mission, many_claims = _mission(w, "Many rounds")
    one = _rounds(w, one_mission, one_claims, w.ngo, 1)
    many = _rounds(w, many_mission, many_claims, w.ngo, 5)
    cast.confirm_by_referent(w.volunteer, many_mission, many_claims)
    db.session.commit()
    client = app.test_client()
    login(client, w.trainer)
    small = statements_for(client, f"/validation/submissions/{one.id}", warm_up=True)
    large = statements_for(client, f"/validation/submissions/{many.id}", warm_up=True)
    assert len(small) == len(large), _explain(small, large)


def test_queue_statements_do_not_grow_with_submissions(world, app, login):
    from app.extensions import db

    w = world
    client = app.test_client()
    login(client, w.admin)  # an admin also sees the figures of the NGO

    def add(count, start):
        for index in range(start, start + count):
            mission, claims = _mission(w, f"Mission {index}", claims=1 + index % 3)
            _rounds(
                w,
                mission,
                claims,
                w.ngo if index % 2 else w.ngo2,
                1 + index % 2,
                last=("pending", "decided")[index % 2],
            )
        db.session.commit()

    add(2, 0)
    small = {
        state: statements_for(client, f"/validation/reviews?state={state}", warm_up=True)
        for state in ("pending", "decided", "")
    }
    add(10, 2)
    for state, before in small.items():
        after = statements_for(client, f"/validation/reviews?state={state}", warm_up=True)
        assert len(before) == len(after), (state, _explain(before, after))


def _validated_world(w, mission, claims, *, rounds, referents):
    """Submissions of ``mission`` to both NGOs (``rounds`` rounds each, the last one validated with the facts
    confirmed), ``referents`` answered referent requests, and one revoked validation."""
    from app.claims.models import ClaimState
    from app.validation import operations as ops
    from app.validation import queries

    first = _rounds(w, mission, claims, w.ngo, rounds, last="decided")
    for claim in claims:  # edited after the validation: a new version, to submit elsewhere
        claim.actions = f"{claim.actions} Again."
        claim.version += 1
        claim.state = ClaimState.DRAFT
    _rounds(w, mission, claims, w.ngo2, rounds, last="decided")
    for _index in range(referents):
        cast.confirm_by_referent(w.volunteer, mission, claims)
    validation = queries.validations_for_claims([claims[0].id])[claims[0].id][-1]
    ops.revoke_validation(validation, w.admin, "Issued by mistake")
    return first


def test_experience_and_claim_pages_statements_do_not_grow_with_validation_data(world, app, login):
    from app.extensions import db

    w = world
    small_mission, small_claims = _mission(w, "Small", claims=1)
    _validated_world(w, small_mission, small_claims, rounds=1, referents=1)
    large_mission, large_claims = _mission(w, "Large", claims=3)
    _validated_world(w, large_mission, large_claims, rounds=4, referents=3)
    db.session.commit()
    client = app.test_client()
    login(client, w.volunteer)
    small = statements_for(client, f"/experiences/{small_mission.id}", warm_up=True)
    large = statements_for(client, f"/experiences/{large_mission.id}", warm_up=True)
    assert len(small) == len(large), _explain(small, large)
    small = statements_for(client, f"/portfolio/claims/{small_claims[0].id}", warm_up=True)
    large = statements_for(client, f"/portfolio/claims/{large_claims[0].id}", warm_up=True)
    assert len(small) == len(large), _explain(small, large)


def test_queue_sorted_and_filtered_statements_do_not_grow(world, app, login):
    """The orders and the programme filter (issue 15): the volunteer order joins ``users``, the programme filter
    ``experiences``; the programmes of the rows come from the session, loaded once for the filter's choices."""
    from app.extensions import db

    w = world
    client = app.test_client()
    login(client, w.trainer)
    urls = [
        "/validation/reviews?state=pending&order=waiting",
        "/validation/reviews?state=&order=volunteer",
        "/validation/reviews?state=&scheme=VSI&order=newest",
    ]

    def add(count, start):
        for index in range(start, start + count):
            mission, claims = _mission(w, f"Sorted {index}", claims=1 + index % 2)
            mission.status_code = ("VSI", "SCI", None)[index % 3]
            _rounds(w, mission, claims, w.ngo, 1)
        db.session.commit()

    add(2, 0)
    before = {url: statements_for(client, url, warm_up=True) for url in urls}
    add(9, 2)
    for url in urls:
        after = statements_for(client, url, warm_up=True)
        assert len(before[url]) == len(after), (url, _explain(before[url], after))


def test_a_decision_in_place_runs_as_many_statements_whatever_the_rounds(world, app, login):
    """The fragment a decision returns to the page's script (X-Acquis-Fragment) is built like the page: its
    statement count does not grow with earlier rounds or referent answers."""
    from app.extensions import db
    from tests.fixtures.statements import count_statements

    w = world
    one_mission, one_claims = _mission(w, "One round")
    many_mission, many_claims = _mission(w, "Many rounds")
    one = _rounds(w, one_mission, one_claims, w.ngo, 1)
    many = _rounds(w, many_mission, many_claims, w.ngo, 5)
    cast.confirm_by_referent(w.volunteer, many_mission, many_claims)
    db.session.commit()
    client = app.test_client()
    login(client, w.trainer)
    client.get(f"/validation/submissions/{one.id}")  # warm-up

    def decide(submission):
        item = submission.current_items[0]
        with count_statements() as statements:
            response = client.post(
                f"/validation/submissions/{submission.id}/items/{item.id}/decide",
                data={f"item-{item.id}-decision": "validated"},
                headers={"X-Acquis-Fragment": "1"},
            )
        assert response.status_code == 200, response.text
        return statements

    small, large = decide(one), decide(many)
    assert len(small) == len(large), _explain(small, large)
