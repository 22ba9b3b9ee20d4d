"""Facts that add up: overlapping full-time engagements are flagged when entered and must be acknowledged by the
trainer before the facts are confirmed; day totals count the union of periods; a duration outside the status's
legal bounds is acknowledged and printed with a note on the attestation."""

from __future__ import annotations

from datetime import date

import pytest

from tests import cast


def test_union_days_counts_shared_days_once():
    from app.experiences.rules import union_days

    d = date
    assert union_days([]) == 0
    assert union_days([(d(2024, 1, 1), d(2024, 1, 10))]) == 10
    # Overlap of 5 days, a contained period, an adjacent one, and a disjoint one.
    periods = [
        (d(2024, 1, 1), d(2024, 1, 10)),
        (d(2024, 1, 6), d(2024, 1, 20)),
        (d(2024, 1, 8), d(2024, 1, 9)),
        (d(2024, 1, 21), d(2024, 1, 21)),
        (d(2024, 3, 1), d(2024, 3, 2)),
    ]
    assert union_days(periods) == 21 + 2
    # The case: a one-year VSI and an overlapping service civique are not added up.
    vsi = (d(2023, 1, 1), d(2024, 3, 22))
    civique = (d(2023, 6, 1), d(2024, 9, 20))
    assert union_days([vsi, civique]) == (d(2024, 9, 20) - d(2023, 1, 1)).days + 1


@pytest.fixture
def overlapping(db_session, ngo, volunteer, framework, mission):
    """The shared cast's volunteer with their 2024 VSI (``vsi``) and an overlapping service civique submitted to
    the NGO with one claim; an English-speaking trainer."""
    w = type("World", (), {})()
    w.ngo, w.volunteer = ngo, volunteer
    w.trainer = cast.make_person(
        email="overlap-trainer@example.org", name="Tom Trainer", locale="en", member_of=ngo, role="trainer"
    )
    w.version, w.nodes = framework
    w.vsi = mission  # 2024, full time
    # A service civique of 478 days (more than the 366 allowed), overlapping the VSI.
    w.civique = cast.create_mission(
        w.volunteer,
        title="Service civique",
        status_code="SCI",
        start_date=date(2023, 9, 1),
        end_date=date(2024, 12, 21),
    )
    w.claims = cast.create_claims(w.volunteer, w.civique, w.nodes[:1])
    w.submission = cast.submit_claims(w.volunteer, w.civique, w.ngo, w.claims)
    db_session.flush()
    return w


def test_overlap_is_flagged_when_entered(client, login, overlapping):
    from app.experiences import operations as experience_ops
    from app.experiences.models import WorkingTime

    warning = experience_ops.overlap_warning(overlapping.civique)
    assert warning and "Water project coordinator" in warning
    login(client, overlapping.volunteer)
    page = client.get(f"/experiences/{overlapping.civique.id}").get_data(as_text=True)
    assert "overlaps in time with" in page and "Water project coordinator" in page
    # A part-time engagement does not collide.
    part_time = cast.create_mission(
        overlapping.volunteer, title="Evening classes", working_time=WorkingTime.PART_TIME, status_code=None
    )
    assert experience_ops.overlap_warning(part_time) is None


def test_trainer_must_acknowledge_warnings_before_confirming_facts(client, login, overlapping):
    from app.validation import queries

    warnings = queries.facts_warnings(overlapping.civique)
    assert {w["kind"] for w in warnings} == {"overlap", "duration"}
    login(client, overlapping.trainer)
    page = client.get(f"/validation/submissions/{overlapping.submission.id}").get_data(as_text=True)
    assert "Overlaps in time with another full-time engagement" in page and "Lasts 478 days" in page
    url = f"/validation/submissions/{overlapping.submission.id}/facts"
    refused = client.post(url, data={"facts_decision": "confirmed"})
    assert refused.status_code == 422 and "checked the warnings" in refused.get_data(as_text=True)
    assert overlapping.submission.facts_decision is None
    accepted = client.post(url, data={"facts_decision": "confirmed", "facts_acknowledged": "y"})
    assert accepted.status_code == 302
    assert [w["kind"] for w in overlapping.submission.facts_warnings] == ["overlap", "duration"]


def test_attestation_prints_the_acknowledged_duration_note(app, client, login, overlapping, monkeypatch):
    from app.documents.context import build_attestation
    from app.validation import operations as ops
    from app.validation.models import FactsDecision

    ops.confirm_facts(overlapping.submission, overlapping.trainer, FactsDecision.CONFIRMED, acknowledged=True)
    snapshot = build_attestation(overlapping.volunteer, overlapping.civique, "en")
    kinds = [w["kind"] for w in snapshot["confirmed"]["warnings"]]
    assert kinds == ["overlap", "duration"]
    monkeypatch.setitem(app.config, "DOCUMENT_RENDER_MODE", "sync")
    from tests.documents.conftest import pdf_text, print_document

    login(client, overlapping.volunteer)
    document, _ = print_document(client, "attestation", language="en", experience_id=str(overlapping.civique.id))
    text = " ".join(pdf_text(client.get(f"/documents/{document.id}/download").data).split())
    assert "this mission lasted 478 days, outside the legal bounds of its status (180 to 366 days)" in text
    assert "overlaps in time with another full-time engagement (Water project coordinator)" in text


def test_portfolio_total_counts_days_on_the_union(app, overlapping):
    from app.documents.context import build_portfolio

    summary = build_portfolio(overlapping.volunteer, "en")["summary"]
    assert summary["missions"] == 2
    assert summary["mission_days"] == (date(2024, 12, 31) - date(2023, 9, 1)).days + 1
