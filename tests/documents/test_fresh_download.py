"""After a change, the next download is a cached file, cheaply (issue 14): the download reads one row without its
snapshot and streams the stored file (conditional on the SHA-256 recorded at issue, or sent by nginx through
X-Accel-Redirect); documents know when something they show may have changed (``stale_at``, marked in the
transaction of the change), and the documents page links straight to the latest current document of each kind."""

from __future__ import annotations

import dataclasses

import pytest

from tests import cast
from tests.fixtures.statements import statements_for


@pytest.fixture
def stand_in(db_session, ngo, volunteer):
    """A current portfolio of the shared cast's volunteer (row and file, no render)."""
    from app.documents.context import TEMPLATE_VERSION

    return cast.store_document_stand_in(
        volunteer, ngo, contents=b"%PDF-1.7 fresh download", template_version=TEMPLATE_VERSION
    )


def test_a_download_reads_one_row_without_its_snapshot_and_answers_with_the_stored_hash(
    app, client, login, volunteer, stand_in
):
    login(client, volunteer)
    url = f"/documents/{stand_in.id}/download"
    statements = statements_for(client, url, warm_up=True)
    documents = [s for s in statements if "FROM documents" in s]
    assert len(documents) == 1 and "snapshot" not in documents[0], documents
    assert not any("FROM organisations" in s or "FROM memberships" in s for s in statements), statements

    response = client.get(url)
    assert response.data == b"%PDF-1.7 fresh download" and response.mimetype == "application/pdf"
    assert response.headers["ETag"] == f'"{stand_in.sha256}"'
    assert "no-store" in response.headers["Cache-Control"]
    assert "attachment" in response.headers["Content-Disposition"]
    # The client has it already: 304, no body, and the file is not hashed again (the ETag is the stored hash).
    again = client.get(url, headers={"If-None-Match": f'"{stand_in.sha256}"'})
    assert again.status_code == 304 and again.data == b""


def test_the_ngo_staff_download_by_one_membership_lookup(app, client, login, trainer, stand_in):
    login(client, trainer)
    statements = statements_for(client, f"/documents/{stand_in.id}/download", warm_up=True)
    # The memberships are read once per request, with the signed-in user (app.auth.operations.load_session_user);
    # the access check uses them and reads no membership or organisation of its own.
    assert sum(" memberships" in s for s in statements) == 1, statements
    assert any(s.startswith("SELECT users.") and "JOIN memberships" in s for s in statements), statements
    assert not any("FROM organisations" in s for s in statements), statements


def test_behind_nginx_the_file_is_sent_by_the_proxy(app, client, login, volunteer, stand_in, monkeypatch):
    from app.documents import operations as ops

    monkeypatch.setitem(app.config, "DOCUMENTS_ACCEL_REDIRECT", "/_documents/")
    login(client, volunteer)
    response = client.get(f"/documents/{stand_in.id}/download")
    assert response.status_code == 200 and response.data == b""
    assert response.headers["X-Accel-Redirect"] == f"/_documents/{ops.document_path(stand_in).name}"
    assert response.mimetype == "application/pdf" and "attachment" in response.headers["Content-Disposition"]
    assert "no-store" in response.headers["Cache-Control"]


def test_no_proxy_location_for_someone_else(app, client, login, other_trainer, stand_in, monkeypatch):
    monkeypatch.setitem(app.config, "DOCUMENTS_ACCEL_REDIRECT", "/_documents/")
    login(client, other_trainer)
    response = client.get(f"/documents/{stand_in.id}/download")
    assert response.status_code == 404 and "X-Accel-Redirect" not in response.headers


@pytest.fixture
def other_trainer(db_session):
    return cast.make_person(
        email="fresh-other@example.org", name="Otto Other", member_of=cast.make_ngo("Autre"), role="trainer"
    )


def _latest_section(page: str) -> str:
    start = page.index('class="documents-latest"')
    return page[start : page.index("</ul>", start)]


def test_the_documents_page_links_straight_to_the_latest_current_document(
    app, client, login, volunteer, stand_in, tmp_path
):
    from app.extensions import db
    from tests.e2e import html_checker

    older = cast.store_document_stand_in(volunteer, stand_in.issuer_organisation, contents=b"%PDF-1.7 older")
    older.created_at = stand_in.created_at.replace(year=stand_in.created_at.year - 1)
    db.session.flush()
    login(client, volunteer)
    page = client.get("/documents/").get_data(as_text=True)
    latest = _latest_section(page)
    assert f"/documents/{stand_in.id}/download" in latest and f"/documents/{older.id}/download" not in latest
    assert "up to date" in latest
    if html_checker.unavailable_reason() is None:
        assert html_checker.validate({"/documents/": page}, tmp_path) == []

    stand_in.stale_at = stand_in.created_at
    db.session.commit()
    latest = _latest_section(client.get("/documents/").get_data(as_text=True))
    assert "up to date" not in latest and "print it again" in latest


def test_a_change_marks_the_holders_documents_in_its_own_transaction(app, client, login, docworld):
    from app.documents.models import Document
    from app.experiences import operations as experience_ops
    from app.extensions import db
    from tests.documents.conftest import print_document

    login(client, docworld.volunteer)
    first, _response = print_document(client, "portfolio", language="fr")
    stranger = cast.store_document_stand_in(docworld.other_trainer, docworld.other_ngo)
    assert first.stale_at is None and first.is_current
    page = _latest_section(client.get("/documents/").get_data(as_text=True))
    assert f"/documents/{first.id}/download" in page and "up to date" in page
    assert "may have changed" not in client.get(f"/documents/{first.id}").get_data(as_text=True)

    # The volunteer's own edit: their documents are marked in its transaction, as it commits (no render started).
    mission = docworld.mission
    data = experience_ops.ExperienceData(
        kind=mission.kind, **{name: getattr(mission, name) for name in experience_ops.EDITABLE_FIELDS}
    )
    experience_ops.update_experience(mission, dataclasses.replace(data, title="Renamed"), actor=docworld.volunteer)
    db.session.flush()
    assert db.session.scalar(db.select(Document.stale_at).where(Document.id == first.id)) is None  # not yet
    db.session.commit()
    marked = db.session.scalar(db.select(Document.stale_at).where(Document.id == first.id))
    assert marked is not None
    assert db.session.scalar(db.select(Document.stale_at).where(Document.id == stranger.id)) is None
    page = _latest_section(client.get("/documents/").get_data(as_text=True))
    assert "up to date" not in page and "print it again" in page
    assert "may have changed since it was issued" in client.get(f"/documents/{first.id}").get_data(as_text=True)

    # Printed again: the new document is current; the old one stays marked.
    fresher, _response = print_document(client, "portfolio", language="fr")
    assert fresher.id != first.id and fresher.is_current
    db.session.refresh(first)
    assert first.stale_at is not None
    page = _latest_section(client.get("/documents/").get_data(as_text=True))
    assert f"/documents/{fresher.id}/download" in page and "up to date" in page


def test_asking_again_clears_the_mark_of_an_unchanged_document_unless_marked_since(app, client, login, docworld):
    from app.core.db import utcnow
    from app.documents import operations as ops
    from app.documents import refresh
    from app.documents.models import Document
    from app.extensions import db
    from tests.documents.conftest import print_document

    login(client, docworld.volunteer)
    first, _response = print_document(client, "portfolio", language="fr")
    refresh.mark_stale(db.session.connection(), {("user", docworld.volunteer.id)})
    db.session.commit()
    db.session.refresh(first)
    assert first.stale_at is not None

    # A change committed after the mark was read (a new mark): the document stays marked.
    read = ops.stale_marks(docworld.volunteer.id)[first.id]
    db.session.execute(db.update(Document).where(Document.id == first.id).values(stale_at=utcnow().replace(year=2099)))
    assert not ops.confirm_current(first, read)
    db.session.commit()

    # Nothing the portfolio shows changed: asking again finds it and clears its mark.
    again, _response = print_document(client, "portfolio", language="fr")
    assert again.id == first.id
    db.session.refresh(first)
    assert first.stale_at is None


def test_a_change_marked_while_the_document_renders_leaves_the_new_document_marked(app, client, login, docworld):
    from app.documents import operations as ops
    from app.documents import refresh
    from app.documents.models import Document, DocumentKind, RenderJob
    from app.extensions import db
    from tests.documents.conftest import print_document

    login(client, docworld.volunteer)
    first, _response = print_document(client, "portfolio", language="fr")
    docworld.mission.title = "Renamed before the render"
    db.session.flush()
    request = ops.PrintRequest(DocumentKind.PORTFOLIO, "fr", docworld.volunteer)
    job = ops.request_document(docworld.volunteer, request)
    assert isinstance(job, RenderJob)
    db.session.commit()

    # Something changes after the job's snapshot was built, before its document is stored.
    refresh.mark_stale(db.session.connection(), {("user", docworld.volunteer.id)})
    db.session.commit()
    done = ops.execute(job.id)
    document = db.session.get(Document, done.document_id)
    assert document.id != first.id and document.stale_at is not None and not document.is_current


def test_a_rolled_back_change_marks_nothing(app, docworld, stand_in_of_docworld):
    from app.documents.models import Document
    from app.experiences import operations as experience_ops
    from app.extensions import db

    mission = docworld.mission
    data = experience_ops.ExperienceData(
        kind=mission.kind, **{name: getattr(mission, name) for name in experience_ops.EDITABLE_FIELDS}
    )
    experience_ops.update_experience(mission, dataclasses.replace(data, title="Undone"), actor=docworld.volunteer)
    db.session.flush()
    db.session.rollback()
    db.session.commit()
    assert db.session.scalar(db.select(Document.stale_at).where(Document.id == stand_in_of_docworld.id)) is None


@pytest.fixture
def stand_in_of_docworld(docworld):
    from app.documents.context import TEMPLATE_VERSION
    from app.extensions import db

    db.session.commit()  # the cast's own changes (validations) mark the volunteer's documents as they commit
    document = cast.store_document_stand_in(docworld.volunteer, docworld.ngo, template_version=TEMPLATE_VERSION)
    db.session.commit()
    assert document.stale_at is None
    return document
