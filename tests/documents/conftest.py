"""A volunteer with a VSI mission whose facts the NGO confirmed, claims validated by a trainer (one of them on a
node linked to an RNCP example competence), a host referent's confirmation, and renders run in the request
(``DOCUMENT_RENDER_MODE=sync``) through the real sandboxed child process."""

from __future__ import annotations

import io
import json
import types

import pytest

from tests import cast

HOSTILE = '<img src="file:///etc/passwd"> <link rel=attachment href="file:///etc/passwd">'


@pytest.fixture
def sync_render(app, monkeypatch):
    monkeypatch.setitem(app.config, "DOCUMENT_RENDER_MODE", "sync")
    return app


def make_rncp(db_session, si_nodes):
    """An RNCP framework with one bloc of two competences; C1 is 'close' to si_nodes[0], C2 'related' to [1]."""
    from app.frameworks.models import (
        Crosswalk,
        CrosswalkLink,
        Framework,
        FrameworkKind,
        FrameworkNode,
        FrameworkVersion,
        NodeKind,
        Relation,
    )

    framework = Framework(slug="rncp-test", kind=FrameworkKind.RNCP)
    version = FrameworkVersion(
        framework=framework,
        version="1",
        title={"fr": "Titre RNCP de test", "en": "Test RNCP title", "es": "Título RNCP de prueba"},
        content_hash="2" * 64,
        # This référentiel asks for level 2 of the competences' scale (the default is 3: see test_coverage_rule).
        certification={"code": "RNCP99999", "required_level": 2},
    )
    db_session.add_all([framework, version])
    db_session.flush()
    bloc = FrameworkNode(
        version_id=version.id, code="B1", kind=NodeKind.BLOC, title={"fr": "Bloc un", "en": "Bloc one"}
    )
    db_session.add(bloc)
    db_session.flush()
    competences = cast.add_competences(
        db_session,
        version,
        ("B1.C1", "B1.C2", "B1.C3"),
        parent=bloc,
        title=lambda code: {
            "fr": f"Compétence RNCP {code}",
            "en": f"RNCP competence {code}",
            "es": f"Competencia {code}",
        },
    )
    crosswalk = Crosswalk(slug="rncp-test--val", source_version_id=version.id, content_hash="3" * 64)
    db_session.add(crosswalk)
    db_session.flush()
    db_session.add_all(
        [
            CrosswalkLink(
                crosswalk_id=crosswalk.id,
                source_node_id=competences[0].id,
                target_node_id=si_nodes[0].id,
                relation=Relation.CLOSE,
            ),
            CrosswalkLink(
                crosswalk_id=crosswalk.id,
                source_node_id=competences[1].id,
                target_node_id=si_nodes[1].id,
                relation=Relation.RELATED,
            ),
        ]
    )
    db_session.flush()
    return framework, competences


@pytest.fixture
def docworld(db_session, ngo, trainer, ngo_admin, framework, sync_render):
    """The shared cast's NGO, trainer and admin (tests/conftest.py), a volunteer "Valentine Doc" whose mission
    in Cusco has two claims validated (C1 with a PDF, confirmed by the host referent), an RNCP framework linked to
    the competences, and another NGO with a trainer."""
    w = types.SimpleNamespace(ngo=ngo, trainer=trainer, admin=ngo_admin)
    w.other_ngo = cast.make_ngo("Autre ONG")
    w.volunteer = cast.make_person(email="docvol@example.org", name="Valentine Doc", locale="en", member_of=ngo)
    w.other_trainer = cast.make_person(
        email="docother@example.org", name="Otto Other", member_of=w.other_ngo, role="trainer"
    )
    w.version, w.nodes = framework
    w.rncp, w.rncp_competences = make_rncp(db_session, w.nodes)
    w.mission = cast.create_mission(w.volunteer, host_city="Cusco", team_size=1200)
    w.pdf = cast.store_evidence(w.volunteer, b"%PDF-1.4 report", title="Final report")
    w.claims = cast.create_claims(w.volunteer, w.mission, w.nodes[:2], evidence=[w.pdf])
    submission = cast.submit_claims(w.volunteer, w.mission, w.ngo, w.claims)
    cast.validate_everything(submission, w.trainer)
    cast.confirm_by_referent(w.volunteer, w.mission, w.claims[:1])
    db_session.flush()
    return w


def pdf_text(data: bytes) -> str:
    import subprocess

    return subprocess.run(
        ["pdftotext", "-enc", "UTF-8", "-", "-"], input=data, capture_output=True, check=True
    ).stdout.decode()


def embedded_files(data: bytes) -> dict[str, bytes]:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    return {name: contents[0] for name, contents in reader.attachments.items()}


def snapshot_of(data: bytes) -> dict:
    return json.loads(embedded_files(data)["snapshot.json"])


def print_document(client, kind: str, **fields):
    """POST the print form of ``kind`` and return (document, response)."""
    from app.documents.models import Document
    from app.extensions import db

    data = {f"{kind}-kind": kind, f"{kind}-language": fields.pop("language", "en")}
    for name, value in fields.items():
        data[f"{kind}-{name}"] = value
    response = client.post("/documents/print", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    location = response.headers["Location"]
    assert "/documents/" in location and "/jobs/" not in location, location
    document = db.session.get(Document, int(location.rstrip("/").split("/")[-1]))
    return document, response
