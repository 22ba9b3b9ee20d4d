"""Exports carry the framework versions (and crosswalks) they refer to and the host referents' confirmations;
an import into an instance that lacks a version imports it from the zip, and re-creates the confirmations as
"imported — not verified here" records.

"Another instance" is simulated on the same test database by renaming the exporting instance's framework after the
export: the importer then finds no version with that slug and must import it from the zip."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
import sqlalchemy as sa

from app.portability.export import comparable
from tests.cast import portfolio_world

FRAMEWORK_YAML = """\
format: acquis-framework/1
id: port-fw
version: "2026.1"
kind: own
title: {fr: "Référentiel portable", en: "Portable framework", es: "Marco portátil"}
description: {fr: "Pour les tests", en: "For the tests"}
source: {name: "Acquis"}
licence: CC-BY-4.0
levels:
  - {rank: 1, label: {fr: "Découverte", en: "Discovery"}}
  - {rank: 2, label: {fr: "Pratique", en: "Practice"}, descriptor: {fr: "Avec aide", en: "With help"}}
nodes:
  - code: D1
    kind: domain
    title: {fr: "Domaine", en: "Domain"}
    children:
      - code: C1
        kind: competence
        title: {fr: "Compétence 1", en: "Competence 1"}
        description: {fr: "Elle fait", en: "She does"}
      - code: C2
        kind: competence
        title: {fr: "Compétence 2", en: "Competence 2"}
        uri: "urn:acquis:test:c2"
  - code: D2
    kind: domain
    title: {fr: "Autre domaine", en: "Other domain"}
"""

CROSSWALK_YAML = """\
format: acquis-crosswalk/1
id: port-fw--esco
source: {framework: port-fw, version: "2026.1"}
target: {scheme: esco}
links:
  - {source: C1, target: "http://data.europa.eu/esco/skill/0a1b2c3d-0000-4000-8000-000000000001", relation: close}
  - {source: C2, target: "http://data.europa.eu/esco/skill/0a1b2c3d-0000-4000-8000-000000000002", relation: broader}
"""


@pytest.fixture
def portable(db_session):
    """The portfolio of ``world``, on a framework imported from a real file, with a host referent's confirmation."""
    from app.frameworks import operations as framework_ops
    from app.frameworks.importers.yaml_format import parse_sources
    from app.frameworks.models import Framework, FrameworkNode, FrameworkVersion
    from app.validation import operations as validation_ops

    frameworks, crosswalks = parse_sources([("fw.yaml", FRAMEWORK_YAML.encode()), ("cw.yaml", CROSSWALK_YAML.encode())])
    framework_ops.import_batch(frameworks, crosswalks)
    version = db_session.scalar(sa.select(FrameworkVersion).join(Framework).where(Framework.slug == "port-fw"))
    nodes = db_session.scalars(
        sa.select(FrameworkNode)
        .where(FrameworkNode.version_id == version.id, FrameworkNode.code.in_(["C1", "C2"]))
        .order_by(FrameworkNode.code)
    ).all()
    w = portfolio_world(db_session, framework=(version, list(nodes)))
    request, _token = validation_ops.request_referent(
        w.volunteer,
        w.mission,
        validation_ops.ReferentData(
            name="Rosa Referent",
            email="rosa@example.org",
            organisation_name="Agua Viva",
            role="Coordinator",
            language="es",
            claim_ids=(w.claims[0].id,),
        ),
    )
    validation_ops.confirm_referent(request, facts_confirmed=True, claim_ids=[w.claims[0].id], comment="¡Gracias!")
    db_session.flush()
    w.referent = request
    return w


def _export(client) -> tuple[dict, zipfile.ZipFile]:
    response = client.get("/account/data/export")
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    return json.loads(archive.read("export.json")), archive


def _move_framework_away(db_session, version, *, slug=None, version_string=None):
    """Make this test database look like an instance without the exported version."""
    if slug:
        version.framework.slug = slug
    if version_string:
        version.version = version_string
    db_session.flush()


def _import(app, login, create_user, zip_bytes, *, expect=200):
    newcomer = create_user("newcomer@example.org", name="Valentine Volunteer", locale="en")
    other = app.test_client()
    login(other, newcomer)
    response = other.post(
        "/account/data/import", data={"file": (io.BytesIO(zip_bytes), "acquis-export.zip")}, follow_redirects=True
    )
    assert response.status_code == expect
    return newcomer, other, response.get_data(as_text=True)


def test_export_carries_framework_and_crosswalk_files(client, login, portable):
    from app.frameworks.importers.yaml_format import parse_document

    login(client, portable.volunteer)
    document, archive = _export(client)
    [framework] = document["frameworks"]
    assert framework["file"] == "frameworks/port-fw--2026.1.yaml"
    parsed = parse_document(archive.read(framework["file"]).decode(), "x")
    # regenerated from the database, the file has exactly the content of the imported one
    assert parsed.content_hash == framework["content_hash"] == portable.version.content_hash
    [crosswalk] = document["crosswalks"]
    assert crosswalk["target"] == {"scheme": "esco"}
    assert parse_document(archive.read(crosswalk["file"]).decode(), "y").content_hash == crosswalk["content_hash"]
    [confirmation] = document["experiences"][1]["referent_confirmations"]
    assert confirmation["name"] == "Rosa Referent" and confirmation["confirmed_claims"] == ["c1"]
    assert confirmation["recorded_by"] == "http://acquis.example"


def test_round_trip_to_an_instance_without_the_framework(app, client, login, portable, create_user, db_session):
    from app.frameworks.models import Crosswalk, Framework, FrameworkVersion
    from app.portability.models import ImportedConfirmation
    from app.validation.models import ReferentRequest

    login(client, portable.volunteer)
    first, _archive = _export(client)
    zip_bytes = client.get("/account/data/export").data
    _move_framework_away(db_session, portable.version, slug="port-fw-elsewhere")

    newcomer, other, page = _import(app, login, create_user, zip_bytes)
    assert "imported — not verified here" in page
    imported = db_session.scalar(sa.select(FrameworkVersion).join(Framework).where(Framework.slug == "port-fw"))
    assert imported is not None and imported.id != portable.version.id
    # kept for the importer's claims only: never current, not in the shared catalogue (issue 13)
    assert not imported.is_current and not imported.in_catalogue
    assert imported.content_hash == portable.version.content_hash
    assert db_session.scalar(sa.select(sa.func.count(Crosswalk.id)).where(Crosswalk.source_version_id == imported.id))
    # a confirmation is never forged: an imported record, no referent request
    assert (
        db_session.scalar(
            sa.select(sa.func.count(ReferentRequest.id)).where(ReferentRequest.volunteer_id == newcomer.id)
        )
        == 0
    )
    [confirmation] = db_session.scalars(
        sa.select(ImportedConfirmation).where(ImportedConfirmation.owner_id == newcomer.id)
    )
    assert confirmation.name == "Rosa Referent" and confirmation.facts_confirmed is True

    second, archive = _export(other)
    assert second["frameworks"] == first["frameworks"] and second["crosswalks"] == first["crosswalks"]
    assert second["experiences"][1]["referent_confirmations"] == first["experiences"][1]["referent_confirmations"]
    assert comparable(second) == comparable(first)
    assert archive.read(second["evidence"][0]["file"]) == portable.pdf_bytes


def test_imported_version_does_not_replace_the_current_one(app, client, login, portable, create_user, db_session):
    from app.frameworks.models import FrameworkNode, FrameworkVersion

    login(client, portable.volunteer)
    zip_bytes = client.get("/account/data/export").data
    # this "instance" has another version of port-fw, current, with a code the exported version lacks
    _move_framework_away(db_session, portable.version, version_string="2027.1")
    db_session.add(
        FrameworkNode(version_id=portable.version.id, code="NEW", kind="competence", title={"fr": "N", "en": "N"})
    )
    db_session.flush()
    _newcomer, _other, page = _import(app, login, create_user, zip_bytes)
    assert "1 framework versions" in page
    versions = db_session.scalars(
        sa.select(FrameworkVersion).where(FrameworkVersion.framework_id == portable.version.framework_id)
    ).all()
    assert {(v.version, v.is_current) for v in versions} == {("2027.1", True), ("2026.1", False)}
    assert (
        db_session.scalar(sa.select(sa.func.count(FrameworkNode.id)).where(FrameworkNode.retired_at.is_not(None))) == 0
    )


def test_imported_confirmations_show_on_the_pages(app, client, login, portable, create_user, db_session):
    from app.claims.models import Claim
    from app.experiences.models import Experience

    login(client, portable.volunteer)
    zip_bytes = client.get("/account/data/export").data
    newcomer, other, _page = _import(app, login, create_user, zip_bytes)
    claims = db_session.scalars(sa.select(Claim).where(Claim.owner_id == newcomer.id).order_by(Claim.id)).all()
    mission = db_session.scalar(
        sa.select(Experience).where(Experience.owner_id == newcomer.id, Experience.title == "Water project coordinator")
    )
    with app.test_request_context():
        from flask import url_for

        experience_url = url_for("experiences.detail", experience_id=mission.id)
        claim_urls = [url_for("claims.detail", claim_id=c.id) for c in claims]
    page = other.get(experience_url).get_data(as_text=True)
    assert "Imported host referent confirmations" in page
    assert "Confirmed by the host referent Rosa Referent (Agua Viva)" in page
    assert "Imported — not verified here" in page
    first, second = (other.get(u).get_data(as_text=True) for u in claim_urls)
    assert "Confirmed by the host referent Rosa Referent" in first
    assert "Rosa Referent" not in second  # the referent confirmed only the first competence


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d, a: d["frameworks"][0].update(file=None), "not available on this instance"),
        (lambda d, a: a.update({d["frameworks"][0]["file"]: b"format: acquis-framework/1\nid: port-fw\n"}), "checks"),
        (
            lambda d, a: a.update({d["frameworks"][0]["file"]: a[d["frameworks"][0]["file"]].replace(b"C2", b"C9")}),
            "damaged or incomplete",
        ),
    ],
    ids=["no-file", "invalid-file", "missing-code"],
)
def test_bad_framework_files_are_refused_whole(app, client, login, portable, create_user, db_session, mutate, message):
    from app.experiences.models import Experience
    from app.frameworks.models import Framework

    login(client, portable.volunteer)
    source = zipfile.ZipFile(io.BytesIO(client.get("/account/data/export").data))
    document = json.loads(source.read("export.json"))
    members = {name: source.read(name) for name in source.namelist()}
    mutate(document, members)
    members["export.json"] = json.dumps(document).encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as target:
        for name, data in members.items():
            target.writestr(name, data)
    _move_framework_away(db_session, portable.version, slug="port-fw-elsewhere")
    newcomer, _other, page = _import(app, login, create_user, buffer.getvalue(), expect=422)
    assert message in page
    assert db_session.scalar(sa.select(sa.func.count(Experience.id)).where(Experience.owner_id == newcomer.id)) == 0
    assert db_session.scalar(sa.select(Framework).where(Framework.slug == "port-fw")) is None


OFFICIAL_LOOKALIKE = """\
format: acquis-framework/1
id: rncp99999-officiel
version: "2026"
kind: rncp
title: {fr: "Titre officiel RNCP 99999", en: "Official RNCP 99999"}
source: {name: "Ministère du Travail"}
licence: Etalab-2.0
certification: {code: "RNCP99999", level: 6}
nodes:
  - code: BC01
    kind: bloc
    title: {fr: "Bloc 1", en: "Block 1"}
    children:
      - {code: BC01.1, kind: competence, title: {fr: "Compétence", en: "Competence"}}
"""


def _lookalike_zip() -> bytes:
    from app.portability.export import FORMAT

    document = {
        "format": FORMAT,
        "instance": "http://elsewhere.example",
        "frameworks": [
            {
                "slug": "rncp99999-officiel",
                "version": "2026",
                "content_hash": "0" * 64,
                "kind": "rncp",
                "file": "frameworks/rncp99999-officiel--2026.yaml",
            }
        ],
        "crosswalks": [],
        "evidence": [],
        "experiences": [
            {
                "ref": "x0",
                "kind": "other",
                "title": "Bénévolat",
                "start_date": "2024-01-01",
                "sending_organisation": "",
                "claims": [
                    {
                        "ref": "c0",
                        "framework": "rncp99999-officiel",
                        "framework_version": "2026",
                        "node_code": "BC01.1",
                        "level_rank": None,
                        "situation": "J'ai coordonné.",
                    }
                ],
                "referent_confirmations": [],
            }
        ],
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("export.json", json.dumps(document))
        archive.writestr("frameworks/rncp99999-officiel--2026.yaml", OFFICIAL_LOOKALIKE)
    return buffer.getvalue()


def test_a_personal_import_does_not_change_the_shared_catalogue(app, client, login, create_user, db_session):
    """A framework file inside a volunteer's export is kept for that person's claims only: it never becomes current,
    never shows in the catalogue, the search or the competence choice, and is never offered as a VAE target."""
    from app.documents.context import vae_frameworks
    from app.frameworks import operations as framework_ops
    from app.frameworks.models import Framework, FrameworkVersion
    from app.frameworks.search import search_nodes

    catalogue_before = [(f.slug, [v.id for v in f.versions]) for f in framework_ops.list_frameworks()]
    importer, other, page = _import(app, login, create_user, _lookalike_zip())
    assert "Imported 1 experiences, 1 claims" in page

    version = db_session.scalar(
        sa.select(FrameworkVersion).join(Framework).where(Framework.slug == "rncp99999-officiel")
    )
    assert version is not None and not version.is_current and not version.in_catalogue
    assert [(f.slug, [v.id for v in f.versions]) for f in framework_ops.list_frameworks()] == catalogue_before
    assert "rncp99999-officiel" not in {f.slug for f in vae_frameworks()}
    assert all(hit.version.id != version.id for hit in search_nodes("Compétence", "fr", limit=50))
    assert "rncp99999-officiel" not in other.get("/frameworks/").get_data(as_text=True)
    assert "It is not in the shared catalogue" in other.get(f"/frameworks/versions/{version.id}").get_data(as_text=True)
    # the importer's claim still shows its competence
    from app.claims.models import Claim

    claim = db_session.scalar(sa.select(Claim).where(Claim.owner_id == importer.id))
    assert claim.node.version_id == version.id
    assert "Competence" in other.get(f"/portfolio/claims/{claim.id}").get_data(as_text=True)


def test_an_administrator_importing_the_same_file_publishes_it(app, client, login, create_user, db_session):
    """The frameworks' own import (platform administrators only) is the approval: the very same file enters the
    shared catalogue and becomes current; the importer's claim keeps its competence."""
    from app.frameworks import operations as framework_ops
    from app.frameworks.importers.yaml_format import parse_sources
    from app.frameworks.models import Framework, FrameworkVersion

    _import(app, login, create_user, _lookalike_zip())
    frameworks, crosswalks = parse_sources([("official.yaml", OFFICIAL_LOOKALIKE.encode())])
    [result] = framework_ops.import_batch(frameworks, crosswalks)
    assert result.current
    version = db_session.scalar(
        sa.select(FrameworkVersion).join(Framework).where(Framework.slug == "rncp99999-officiel")
    )
    assert version.in_catalogue and version.is_current
    assert "rncp99999-officiel" in {f.slug for f in framework_ops.list_frameworks()}


def test_links_from_a_personal_version_stay_off_the_catalogue_pages(db_session):
    from app.frameworks import operations as framework_ops
    from app.frameworks.models import Crosswalk, CrosswalkLink, Relation
    from tests import cast

    shared, shared_nodes = cast.make_framework(db_session, slug="shared-fw")
    personal, personal_nodes = cast.make_framework(db_session, slug="personal-fw")
    personal.in_catalogue, personal.is_current = False, False
    crosswalk = Crosswalk(slug="personal--shared", source_version_id=personal.id, target_version_id=shared.id)
    crosswalk.content_hash = "3" * 64
    db_session.add(crosswalk)
    db_session.flush()
    db_session.add(
        CrosswalkLink(
            crosswalk_id=crosswalk.id,
            source_node_id=personal_nodes[0].id,
            target_node_id=shared_nodes[0].id,
            relation=Relation.EXACT,
        )
    )
    db_session.flush()
    assert framework_ops.node_links(shared_nodes[0]) == {}
    # the personal version's own page still shows where its competence leads
    [item] = framework_ops.node_links(personal_nodes[0])[Relation.EXACT]
    assert item.node.id == shared_nodes[0].id
