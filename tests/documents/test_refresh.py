"""Documents ready before they are asked for (issue 14): when a validation is revoked (or anything else a printed
document shows changes), the documents the holder already printed are prepared again in the background, so that
the next print is the cached file; the documents page says when a fresher version is being prepared."""

from __future__ import annotations

import time

import pytest

from tests.documents.conftest import print_document


@pytest.fixture
def marks(app, monkeypatch):
    """Refresh switched on; the marks each commit hands to the background runner, recorded instead of started
    (a runner of its own would not see the test's transaction)."""
    from app.documents import refresh

    monkeypatch.setitem(app.config, "DOCUMENT_REFRESH", "on")
    recorded: list = []

    def record(_app, session):
        recorded.append(sorted(session.info.pop(refresh.MARKS, set())))

    monkeypatch.setattr(refresh, "_start", record)
    return recorded


def _revoke(docworld, claim):
    from app.claims.validations import ClaimValidation
    from app.extensions import db
    from app.validation import operations as validation_ops

    validation = db.session.scalar(db.select(ClaimValidation).where(ClaimValidation.claim_id == claim.id))
    validation_ops.revoke_validation(validation, docworld.admin, "Evidence was not the volunteer's own.")
    db.session.commit()


def test_a_revocation_prepares_the_printed_portfolio_again(app, client, login, docworld, marks):
    from app.documents import refresh
    from app.documents.models import Document, JobState, RenderJob
    from app.extensions import db

    login(client, docworld.volunteer)
    first, _response = print_document(client, "portfolio", language="fr")
    marks.clear()

    _revoke(docworld, docworld.claims[1])
    assert marks == [[("claim", docworld.claims[1].id)]]

    queued = refresh.refresh(marks[0])
    assert len(queued) == 1
    job = db.session.get(RenderJob, queued[0])
    assert job.state == JobState.DONE and job.document_id != first.id  # sync mode: rendered already
    fresher = db.session.get(Document, job.document_id)
    assert fresher.holder_id == docworld.volunteer.id and fresher.cache_key != first.cache_key

    # The next print is the file prepared in the background, found without rendering.
    started = time.perf_counter()
    again, _response = print_document(client, "portfolio", language="fr")
    assert again.id == fresher.id
    assert time.perf_counter() - started < 2  # no render (a render takes seconds); the bench measures ≤ 20 ms
    assert db.session.scalar(db.select(db.func.count(RenderJob.id))) == 2

    # Nothing changed since: a refresh finds every document up to date and queues nothing.
    assert refresh.refresh(marks[0]) == []


def test_refresh_marks_name_what_changed_and_are_off_in_tests_by_default(app, docworld):
    from app.core.audit import AuditEvent
    from app.documents import refresh

    assert app.config["DOCUMENT_REFRESH"] == "off"  # TESTING: no background work unless a test asks for it
    claim = docworld.claims[0]
    assert refresh._mark_of(AuditEvent(action="item.validated", object_type="Claim", object_id=str(claim.id))) == (
        "claim",
        claim.id,
    )
    assert refresh._mark_of(AuditEvent(action="referent.confirmed", data={"experience_id": 7})) == ("experience", 7)
    assert refresh._mark_of(AuditEvent(action="opinion.updated", data={"volunteer_id": 9})) == ("user", 9)
    assert refresh._mark_of(AuditEvent(action="item.withdrawn", object_type="Claim", object_id="1")) is None
    assert refresh._mark_of(AuditEvent(action="experience.updated", object_type="Experience", object_id="1")) is None
    assert refresh.holders_of([("claim", claim.id), ("experience", docworld.mission.id)]) == {docworld.volunteer.id}


def test_the_documents_page_says_a_fresher_version_is_being_prepared(app, client, login, docworld):
    from app.documents.models import DocumentKind, JobState, RenderJob
    from app.extensions import db

    login(client, docworld.volunteer)
    page = client.get("/documents/").get_data(as_text=True)
    assert "fresher" not in page and "plus récente" not in page
    db.session.add(
        RenderJob(
            requested_by_id=docworld.volunteer.id,
            holder_id=docworld.volunteer.id,
            kind=DocumentKind.PORTFOLIO,
            language="en",
            state=JobState.QUEUED,
            payload={},
            cache_key="0" * 64,
        )
    )
    db.session.commit()
    page = client.get("/documents/").get_data(as_text=True)
    assert "a fresher version is being prepared" in page
