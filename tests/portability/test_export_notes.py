"""An adviser's private notes are in their own export, never in the volunteer's; an import ignores them."""

from __future__ import annotations

import io
import json
import zipfile

import sqlalchemy as sa

NOTE = "Strong project management; suggest a VAE."


def _export(client) -> dict:
    response = client.get("/account/data/export")
    assert response.status_code == 200
    return json.loads(zipfile.ZipFile(io.BytesIO(response.data)).read("export.json"))


def _note_on_a_share(app, client, login, world, db_session):
    from app.sharing.models import Share

    login(client, world.volunteer)
    client.post(
        "/sharing/", data={"kind": "adviser", "adviser_email": world.adviser.email, "days": "30", "scope": "all"}
    )
    share = db_session.scalar(sa.select(Share))
    adviser = app.test_client()
    login(adviser, world.adviser)
    assert adviser.post(f"/shared/{share.id}/notes", data={"body": NOTE}).status_code == 302
    return adviser, share


def test_adviser_notes_are_in_the_advisers_export_only(app, client, login, world, db_session):
    adviser, _share = _note_on_a_share(app, client, login, world, db_session)

    exported = _export(adviser)
    assert [(n["portfolio_of"], n["body"]) for n in exported["adviser_notes"]] == [("Valentine Volunteer", NOTE)]
    assert exported["adviser_notes"][0]["shared_at"] and exported["adviser_notes"][0]["updated_at"]
    # the volunteer's export carries no adviser's notes about her
    own = _export(client)
    assert own["adviser_notes"] == []
    assert NOTE not in json.dumps(own, ensure_ascii=False)


def test_an_import_ignores_adviser_notes(app, client, login, world, create_user, db_session):
    from app.portability.export import comparable
    from app.sharing.models import AdviserNote

    adviser, _share = _note_on_a_share(app, client, login, world, db_session)
    zip_bytes = adviser.get("/account/data/export").data
    first = json.loads(zipfile.ZipFile(io.BytesIO(zip_bytes)).read("export.json"))

    newcomer = create_user("newcomer@example.org", name="Adèle Adviser", locale="en")
    other = app.test_client()
    login(other, newcomer)
    response = other.post("/account/data/import", data={"file": (io.BytesIO(zip_bytes), "export.zip")})
    assert response.status_code == 302
    assert db_session.scalar(sa.select(sa.func.count(AdviserNote.id))) == 1  # only the original one
    second = _export(other)
    assert second["adviser_notes"] == []
    assert comparable(second) == comparable(first)  # notes are among what an import does not restore
