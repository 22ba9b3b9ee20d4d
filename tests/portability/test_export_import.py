"""Export → import → export: the same document apart from ids, timestamps and what an import cannot restore."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
import sqlalchemy as sa

from app.portability.export import FORMAT, comparable


def _export(client) -> tuple[dict, zipfile.ZipFile]:
    response = client.get("/account/data/export")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"].startswith("attachment")
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    return json.loads(archive.read("export.json")), archive


def test_export_contains_everything(client, login, world):
    login(client, world.volunteer)
    document, archive = _export(client)
    assert document["format"] == FORMAT
    assert document["profile"]["display_name"] == "Valentine Volunteer"
    assert document["memberships"] == [{"organisation": "Solidarité Monde", "role": "volunteer", "state": "active"}]
    assert [f["slug"] for f in document["frameworks"]] == ["share-fw"]
    assert [e["title"] for e in document["experiences"]] == ["Pre-departure week", "Water project coordinator"]
    mission = document["experiences"][1]
    assert mission["sending_organisation"] == "Solidarité Monde"
    assert [c["node_code"] for c in mission["claims"]] == ["C1", "C2"]
    assert mission["claims"][0]["evidence"] == ["e1"]
    validation = mission["claims"][0]["validations"][0]
    assert validation["organisation"] == "Solidarité Monde" and validation["validator_name"] == "Théo Trainer"
    assert validation["verified_by"] == "http://acquis.example"
    assert archive.read(document["evidence"][0]["file"]) == world.pdf_bytes
    assert "anonymous" in document["survey"]
    assert "FORMAT.md" in archive.namelist()


def test_export_includes_issued_documents(client, login, world, db_session):
    from tests.cast import issue_stand_in_document

    document = issue_stand_in_document(world)
    login(client, world.volunteer)
    exported, archive = _export(client)
    assert [d["code"] for d in exported["documents"]] == [document.code]
    assert archive.read(exported["documents"][0]["file"]) == b"%PDF-1.7 dossier stand-in"


def test_round_trip(app, client, login, world, create_user, db_session):
    from app.claims.models import Claim, ClaimState
    from app.claims.validations import ClaimValidation
    from app.portability.models import ImportedValidation

    login(client, world.volunteer)
    first, _archive = _export(client)
    zip_bytes = client.get("/account/data/export").data

    newcomer = create_user("newcomer@example.org", name="Valentine Volunteer", locale="en")
    other = app.test_client()
    login(other, newcomer)
    response = other.post(
        "/account/data/import", data={"file": (io.BytesIO(zip_bytes), "acquis-export.zip")}, follow_redirects=True
    )
    assert response.status_code == 200
    assert "imported — not verified here" in response.get_data(as_text=True)
    # never a native validation: the importer's claims are drafts with imported records only
    claims = db_session.scalars(sa.select(Claim).where(Claim.owner_id == newcomer.id)).all()
    assert len(claims) == 2 and {c.state for c in claims} == {ClaimState.DRAFT}
    ids = [c.id for c in claims]
    assert db_session.scalar(sa.select(sa.func.count(ClaimValidation.id)).where(ClaimValidation.claim_id.in_(ids))) == 0
    assert (
        db_session.scalar(
            sa.select(sa.func.count(ImportedValidation.id)).where(ImportedValidation.owner_id == newcomer.id)
        )
        == 1
    )

    second, archive = _export(other)
    assert comparable(second) == comparable(first)
    assert archive.read(second["evidence"][0]["file"]) == world.pdf_bytes


def test_import_shows_imported_validations_apart(app, client, login, world, create_user, db_session):
    login(client, world.volunteer)
    zip_bytes = client.get("/account/data/export").data
    newcomer = create_user("newcomer@example.org", locale="en")
    other = app.test_client()
    login(other, newcomer)
    other.post("/account/data/import", data={"file": (io.BytesIO(zip_bytes), "export.zip")})
    from app.claims.models import Claim

    claim = db_session.scalars(sa.select(Claim).where(Claim.owner_id == newcomer.id).order_by(Claim.id)).first()
    page = other.get(f"/portfolio/claims/{claim.id}").get_data(as_text=True)
    assert "Imported — not verified here" in page
    assert "Download the Open Badge" not in page  # no credential for what this instance did not verify


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(format="other/1"), "not supported"),
        (lambda d: d["frameworks"][0].update(content_hash="f" * 64), "not available on this instance"),
        (lambda d: d["evidence"][0].update(sha256="0" * 64), "does not match its fingerprint"),
    ],
    ids=["format", "framework", "fingerprint"],
)
def test_bad_imports_are_refused_whole(app, client, login, world, create_user, db_session, mutate, message):
    from app.experiences.models import Experience

    login(client, world.volunteer)
    source = zipfile.ZipFile(io.BytesIO(client.get("/account/data/export").data))
    document = json.loads(source.read("export.json"))
    mutate(document)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as target:
        for name in source.namelist():
            target.writestr(name, json.dumps(document) if name == "export.json" else source.read(name))
    newcomer = create_user("newcomer@example.org", locale="en")
    other = app.test_client()
    login(other, newcomer)
    response = other.post(
        "/account/data/import", data={"file": (io.BytesIO(buffer.getvalue()), "x.zip")}, follow_redirects=True
    )
    assert message in response.get_data(as_text=True)
    assert db_session.scalar(sa.select(sa.func.count(Experience.id)).where(Experience.owner_id == newcomer.id)) == 0


def test_not_a_zip_is_refused(app, login, create_user):
    newcomer = create_user("newcomer@example.org", locale="en")
    other = app.test_client()
    login(other, newcomer)
    response = other.post("/account/data/import", data={"file": (io.BytesIO(b"hello"), "x.zip")}, follow_redirects=True)
    assert "not an Acquis export" in response.get_data(as_text=True)
