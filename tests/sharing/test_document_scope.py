"""A share of selected experiences shows only the documents about those experiences; a whole-portfolio share shows
them all. Checked on the shared pages, the shared download, and the documents package's own page and download
(the adviser grant)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.documents.models import DocumentKind, snapshot_experience_ids
from app.sharing import operations as ops
from app.sharing.models import ShareKind
from tests.cast import store_document_stand_in


def _portfolio_snapshot(world, experiences):
    """A real portfolio dossier snapshot of ``experiences`` (the builder the print form uses)."""
    from app.documents.context import build_portfolio

    return build_portfolio(world.volunteer, "en", experience_ids=[e.id for e in experiences])


def _issue(world, kind, snapshot):
    return store_document_stand_in(world.volunteer, world.ngo, kind=kind, snapshot=snapshot)


@pytest.fixture
def documents(world):
    """One document of each shape: the training alone, both experiences, an attestation of the mission, an
    opinion (free text: no experience bound), a VAE dossier on the training, and a snapshot of unknown shape."""
    training, mission = world.training, world.mission
    docs = {
        "portfolio_training": _issue(world, DocumentKind.PORTFOLIO, _portfolio_snapshot(world, [training])),
        "portfolio_all": _issue(world, DocumentKind.PORTFOLIO, _portfolio_snapshot(world, [training, mission])),
        "attestation_mission": _issue(
            world,
            DocumentKind.ATTESTATION,
            {"mission": {"id": mission.id}, "competences": [{"experience_id": mission.id}], "entries": []},
        ),
        "opinion": _issue(
            world,
            DocumentKind.OPINION,
            {"opinion": {"engagement": "All of it"}, "experiences": [{"id": training.id}], "entries": []},
        ),
        "vae_training": _issue(
            world,
            DocumentKind.VAE,
            {
                "experiences": [{"id": training.id}],
                "blocs": [{"competences": [{"support": [{"experience_id": training.id}]}]}],
                "entries": [],
            },
        ),
        "unknown_shape": _issue(world, DocumentKind.PORTFOLIO, {"entries": []}),
    }
    return docs


def _adviser_share(world, *, experiences=None, include_documents=True):
    share, _ = ops.create_share(
        world.volunteer,
        ops.ShareData(
            kind=ShareKind.ADVISER,
            adviser_email=world.adviser.email,
            whole_portfolio=experiences is None,
            experience_ids=tuple(e.id for e in experiences or ()),
            include_documents=include_documents,
        ),
    )
    return share


def _visible(client, share, documents) -> dict[str, tuple[bool, int, int, int]]:
    """For each document: listed on the shared page, and the status of the shared download, of the documents
    page and of the documents download."""
    page = client.get(f"/shared/{share.id}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    result = {}
    for name, document in documents.items():
        result[name] = (
            f"/shared/{share.id}/documents/{document.id}" in text,
            client.get(f"/shared/{share.id}/documents/{document.id}").status_code,
            client.get(f"/documents/{document.id}").status_code,
            client.get(f"/documents/{document.id}/download").status_code,
        )
    return result


SHOWN = (True, 200, 200, 200)
HIDDEN = (False, 404, 404, 404)


def test_share_of_one_experience_shows_only_its_documents(app, login, world, documents, db_session):
    share = _adviser_share(world, experiences=[world.training])
    adviser = app.test_client()
    login(adviser, world.adviser)
    assert _visible(adviser, share, documents) == {
        "portfolio_training": SHOWN,
        "portfolio_all": HIDDEN,  # the full dossier shows the mission, left out of the share
        "attestation_mission": HIDDEN,
        "opinion": HIDDEN,  # an opinion's text is about the whole engagement
        "vae_training": SHOWN,
        "unknown_shape": HIDDEN,  # experiences cannot be established: not exposed
    }


def test_share_of_the_mission_shows_its_attestation_only(app, login, world, documents, db_session):
    share = _adviser_share(world, experiences=[world.mission])
    adviser = app.test_client()
    login(adviser, world.adviser)
    visible = _visible(adviser, share, documents)
    assert [name for name, row in visible.items() if row == SHOWN] == ["attestation_mission"]
    assert all(row == HIDDEN for name, row in visible.items() if name != "attestation_mission")


def test_whole_portfolio_share_shows_every_document(app, login, world, documents, db_session):
    share = _adviser_share(world)
    adviser = app.test_client()
    login(adviser, world.adviser)
    assert _visible(adviser, share, documents) == dict.fromkeys(documents, SHOWN)


def test_a_whole_share_next_to_a_limited_one_still_opens_everything(app, login, world, documents, db_session):
    """The grant is per share: any active share of the adviser that shows the document lets them read it."""
    _adviser_share(world, experiences=[world.training])
    whole = _adviser_share(world)
    adviser = app.test_client()
    login(adviser, world.adviser)
    assert adviser.get(f"/documents/{documents['portfolio_all'].id}/download").status_code == 200
    assert adviser.get(f"/shared/{whole.id}/documents/{documents['portfolio_all'].id}").status_code == 200


def test_limited_link_share_shows_only_its_documents(app, world, documents, db_session):
    share, token = ops.create_share(
        world.volunteer,
        ops.ShareData(kind=ShareKind.LINK, whole_portfolio=False, experience_ids=(world.training.id,)),
    )
    visitor = app.test_client()
    assert visitor.get(f"/s/{token}").status_code == 302
    text = visitor.get(f"/shared/{share.id}").get_data(as_text=True)
    for name, document in documents.items():
        expected = 200 if name in ("portfolio_training", "vae_training") else 404
        assert visitor.get(f"/shared/{share.id}/documents/{document.id}").status_code == expected, name
        assert (f'/documents/{document.id}"' in text) == (expected == 200), name
        # A link visitor has no account: the documents package's own pages stay closed.
        assert visitor.get(f"/documents/{document.id}/download").status_code == 302


def test_share_without_documents_shows_none(app, login, world, documents, db_session):
    share = _adviser_share(world, include_documents=False)
    adviser = app.test_client()
    login(adviser, world.adviser)
    assert _visible(adviser, share, documents) == dict.fromkeys(documents, HIDDEN)


def test_someone_elses_share_opens_nothing(app, login, world, documents, create_user, db_session):
    _adviser_share(world)
    other = create_user("other-adviser@example.org", name="Other Adviser", adviser=True)
    client = app.test_client()
    login(client, other)
    assert client.get(f"/documents/{documents['portfolio_training'].id}/download").status_code == 404


def test_experience_ids_of_real_portfolio_snapshots(world, db_session):
    snapshot = _portfolio_snapshot(world, [world.training, world.mission])
    assert snapshot_experience_ids(DocumentKind.PORTFOLIO, snapshot) == {world.training.id, world.mission.id}
    # A claim pointing outside the listed experiences makes the snapshot unreadable, hence not exposed.
    snapshot["experiences"][0]["claims"] = [{"experience_id": 999999}]
    assert snapshot_experience_ids(DocumentKind.PORTFOLIO, snapshot) is None


@pytest.mark.parametrize(
    "kind, snapshot",
    [
        (DocumentKind.PORTFOLIO, {}),
        (DocumentKind.PORTFOLIO, {"experiences": []}),
        (DocumentKind.PORTFOLIO, {"experiences": [{"id": "1"}]}),
        (DocumentKind.PORTFOLIO, {"experiences": [{"title": "no id"}]}),
        (DocumentKind.ATTESTATION, {"mission": {}}),
        (DocumentKind.ATTESTATION, {"mission": {"id": 1}, "competences": [{"experience_id": 2}]}),
        (DocumentKind.VAE, {"experiences": [{"id": 1}]}),
        (DocumentKind.OPINION, {"experiences": [{"id": 1}], "competences": []}),
        (DocumentKind.PORTFOLIO, None),
    ],
)
def test_experience_ids_unknown_means_none(kind, snapshot):
    assert snapshot_experience_ids(kind, snapshot) is None


def test_reading_a_document_through_the_grant_is_in_the_share_access_log(app, login, world, documents, db_session):
    from app.sharing.models import ShareAccess

    share = _adviser_share(world)
    adviser = app.test_client()
    login(adviser, world.adviser)
    document = documents["attestation_mission"]
    assert adviser.get(f"/documents/{document.id}").status_code == 200
    assert adviser.get(f"/documents/{document.id}/download").status_code == 200
    rows = db_session.scalars(sa.select(ShareAccess).where(ShareAccess.share_id == share.id)).all()
    assert [(row.what, row.viewer_id) for row in rows] == [("document", world.adviser.id)] * 2
    # The holder reading their own document is not a share access.
    holder = app.test_client()
    login(holder, world.volunteer)
    assert holder.get(f"/documents/{document.id}/download").status_code == 200
    assert db_session.scalar(sa.select(sa.func.count()).select_from(ShareAccess)) == 2
