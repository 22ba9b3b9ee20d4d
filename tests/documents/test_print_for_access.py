"""Printing for an NGO (``/documents/for/<organisation_id>/<volunteer_id>/print``) is for that NGO's trainers and
admins only. An adviser whose share includes documents may read and download what was shared, but never makes
the NGO issue anything."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.documents import operations as ops
from app.documents.models import Document, DocumentKind, RenderJob, can_render_for
from app.sharing import operations as share_ops
from app.sharing.models import ShareKind


@pytest.fixture
def no_render(monkeypatch):
    """Queue jobs without rendering them (what is checked here is who may ask)."""
    dispatched = []
    monkeypatch.setattr(ops, "dispatch", dispatched.append)
    return dispatched


@pytest.fixture
def adviser(docworld, create_user, db_session):
    """An adviser named in a whole-portfolio share of the volunteer that includes documents."""
    user = create_user("docadviser@example.org", name="Adèle Adviser", adviser=True, locale="en")
    share_ops.create_share(
        docworld.volunteer,
        share_ops.ShareData(kind=ShareKind.ADVISER, adviser_email=user.email, include_documents=True),
    )
    db_session.flush()
    return user


def _print_for(client, docworld, organisation=None):
    organisation = organisation or docworld.ngo
    return client.post(
        f"/documents/for/{organisation.id}/{docworld.volunteer.id}/print", data={"opinion-language": "en"}
    )


def _jobs_and_documents():
    from app.extensions import db

    return db.session.scalars(sa.select(RenderJob)).all(), db.session.scalars(sa.select(Document)).all()


def test_adviser_with_a_document_share_cannot_print_for_the_ngo(app, login, docworld, adviser, no_render):
    client = app.test_client()
    login(client, adviser)
    assert _print_for(client, docworld).status_code == 404
    assert _print_for(client, docworld, docworld.other_ngo).status_code == 404
    assert _jobs_and_documents() == ([], [])
    assert no_render == []


def test_adviser_who_is_a_plain_member_of_the_ngo_cannot_print_for_it(
    app, login, docworld, adviser, add_member, no_render
):
    add_member(docworld.ngo, adviser, "volunteer")
    client = app.test_client()
    login(client, adviser)
    assert _print_for(client, docworld).status_code == 404
    assert _jobs_and_documents() == ([], [])


def test_trainer_of_another_ngo_cannot_print_for_this_one(app, login, docworld, no_render):
    client = app.test_client()
    login(client, docworld.other_trainer)
    assert _print_for(client, docworld).status_code == 404
    assert _jobs_and_documents() == ([], [])


@pytest.mark.parametrize("who", ["trainer", "admin"])
def test_trainers_and_admins_of_the_ngo_still_print_for_it(app, login, docworld, adviser, no_render, who):
    client = app.test_client()
    login(client, getattr(docworld, who))
    response = _print_for(client, docworld)
    assert response.status_code == 302 and "/documents/jobs/" in response.headers["Location"]
    jobs, _documents = _jobs_and_documents()
    assert [(j.requested_by_id, j.holder_id) for j in jobs] == [(getattr(docworld, who).id, docworld.volunteer.id)]
    assert jobs[0].payload["snapshot"]["issuer"]["organisation_id"] == docworld.ngo.id


def test_can_render_for_ignores_share_grants(docworld, adviser):
    """The rule behind printing: the holder, or a trainer/admin of the named NGO; a share grants no printing."""
    volunteer = docworld.volunteer
    assert can_render_for(volunteer, volunteer)
    assert can_render_for(docworld.trainer, volunteer, docworld.ngo.id)
    assert not can_render_for(docworld.trainer, volunteer, None)
    assert not can_render_for(adviser, volunteer, docworld.ngo.id)
    assert not can_render_for(adviser, volunteer, None)
    assert not can_render_for(docworld.other_trainer, volunteer, docworld.ngo.id)


def test_adviser_still_reads_and_downloads_ngo_issued_documents_shared_with_them(
    app, login, docworld, adviser, db_session
):
    from tests.cast import store_document_stand_in

    document = store_document_stand_in(
        docworld.volunteer,
        docworld.ngo,
        kind=DocumentKind.ATTESTATION,
        snapshot={"mission": {"id": docworld.mission.id}, "competences": [], "entries": []},
    )
    client = app.test_client()
    login(client, adviser)
    assert client.get(f"/documents/{document.id}").status_code == 200
    assert client.get(f"/documents/{document.id}/download").status_code == 200
    # ... but not a document of someone who shared nothing with them
    other = store_document_stand_in(docworld.trainer, docworld.ngo)
    assert client.get(f"/documents/{other.id}/download").status_code == 404
