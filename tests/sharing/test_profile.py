"""The adviser's competence profile of a shared portfolio: levels, validator, evidence, referent; filters."""

from __future__ import annotations

import re

import sqlalchemy as sa

from app.sharing.models import Share, ShareAccess
from tests.sharing.test_sharing import _share


def _profile(app, client, login, world, query=""):
    assert _share(client, login, world).status_code == 302
    share = client.application.extensions["sqlalchemy"].session.scalar(sa.select(Share))
    adviser = app.test_client()
    login(adviser, world.adviser)
    return share, adviser, adviser.get(f"/shared/{share.id}/profile{query}")


def test_the_profile_shows_each_competence_with_its_validation(app, client, login, world, db_session):
    share, adviser, response = _profile(app, client, login, world)
    assert response.status_code == 200
    assert "no-store" in response.headers["Cache-Control"]
    text = response.get_data(as_text=True)
    assert "Competence profile of Valentine Volunteer" in text
    # One chart per framework with its accessible name, and the table alternative.
    assert text.count('<svg role="img"') == 1 and "<title id=" in text
    table = text[text.index("<table") : text.index("</table>")]
    first, second = (n.code for n in world.nodes[:2])
    rows = re.findall(r"<tr>(.*?)</tr>", table, re.S)[1:]
    assert len(rows) == 2
    validated = next(r for r in rows if first in r)
    assert "Validated" in validated and "Théo Trainer (Solidarité Monde)" in validated
    assert re.search(r"<td>1</td>", validated)  # the PDF evidence
    other = next(r for r in rows if second in r)
    assert "Validated" not in other and "Not confirmed" in other
    assert db_session.scalars(sa.select(ShareAccess.what)).all() == ["profile"]
    assert f"/shared/{share.id}/profile" in adviser.get(f"/shared/{share.id}").get_data(as_text=True)


def test_filters_by_state_and_framework(app, client, login, world):
    share, adviser, response = _profile(app, client, login, world, "?state=validated")
    table = response.get_data(as_text=True).split("<tbody>")[1]
    assert world.nodes[0].code in table and world.nodes[1].code not in table
    none = adviser.get(f"/shared/{share.id}/profile?framework={world.version.id + 999}").get_data(as_text=True)
    assert "<table" not in none and "No competence claimed yet." in none
    one = adviser.get(f"/shared/{share.id}/profile?framework={world.version.id}&state=nonsense").get_data(as_text=True)
    assert one.count("<tbody>") == 1 and world.nodes[1].code in one


def test_evidence_counts_are_hidden_when_evidence_is_not_shared(app, client, login, world):
    assert _share(client, login, world, include_evidence="").status_code == 302
    share = client.application.extensions["sqlalchemy"].session.scalar(sa.select(Share))
    adviser = app.test_client()
    login(adviser, world.adviser)
    assert "not shared" in adviser.get(f"/shared/{share.id}/profile").get_data(as_text=True)


def test_others_get_404(app, client, login, world):
    share, _adviser, _ = _profile(app, client, login, world)
    stranger = app.test_client()
    login(stranger, world.stranger)
    assert stranger.get(f"/shared/{share.id}/profile").status_code == 404
