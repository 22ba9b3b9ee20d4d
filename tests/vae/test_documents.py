"""The three VAE documents, rendered through the real pipeline (signed PDF/A) and read back with pdftotext."""

from __future__ import annotations

import pytest

from tests.documents.conftest import embedded_files, pdf_text, snapshot_of


@pytest.fixture
def sync_render(app, monkeypatch):
    monkeypatch.setitem(app.config, "DOCUMENT_RENDER_MODE", "sync")
    return app


def _print(client, project, kind):
    from app.documents import operations as document_ops
    from app.documents.models import Document
    from app.extensions import db

    response = client.post(f"/vae/{project.id}/print/{kind}", data={"document": kind})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    location = response.headers["Location"]
    assert "/documents/" in location and "/jobs/" not in location, location
    document = db.session.get(Document, int(location.rstrip("/").split("/")[-1]))
    return document, document_ops.document_path(document).read_bytes()


def test_livret1_faisabilite_and_validation_in_french_signed(app, sync_render, vaeworld, make_project, login):
    from app.printing.signing import check_signature, trust_roots
    from app.vae import operations as ops
    from app.vae.models import VaeRoute

    project = make_project(route=VaeRoute.LIVRET1)
    ops.save_draft(
        project,
        "B1",
        ops.DraftData(
            fields={"context": "Une ONG de l'eau à Cusco", "activities": "J'ai animé le comité de village"},
            claim_ids=(vaeworld.claims[0].id,),
            evidence_ids=(vaeworld.evidence.id,),
        ),
        actor=vaeworld.volunteer,
    )
    client = app.test_client()
    login(client, vaeworld.volunteer)

    document, data = _print(client, project, "livret1")
    text = pdf_text(data)
    assert "Livret 1" in text and "Cerfa n° 12818*02" in text
    assert "La certification que vous souhaitez obtenir" in text and "RNCP99998" in text
    assert "Water project coordinator" in text and "Liste de contrôle du certificateur" in text
    assert snapshot_of(data)["kind"] == "vae_livret1" and document.language == "fr"
    assert check_signature(data, trust_roots(app.config)).ok

    _document, data = _print(client, project, "faisabilite")
    text = pdf_text(data)
    assert "Dossier de faisabilité" in text
    assert "B1.C1 — Compétence B1.C1 : OUI" in text and "B1.C2 — Compétence B1.C2 : PARTIELLEMENT" in text

    # The dossier de validation waits for the sworn statement.
    assert "/documents/" not in client.post(f"/vae/{project.id}/print/livret1").headers["Location"]  # bare POST
    refused = client.post(f"/vae/{project.id}/print/validation", data={"document": "validation"})
    assert refused.status_code == 302 and "/documents/" not in refused.headers["Location"]
    ops.sign_statement(project, actor=vaeworld.volunteer, name="Valentine Vae", accepted=True)
    _document, data = _print(client, project, "validation")
    text = pdf_text(data)
    plain = text.replace("\u2019", "'")  # French typography turns apostrophes into U+2019
    assert "Dossier de validation" in text and "Une ONG de l'eau à Cusco" in plain
    assert "Situation B1.C1" not in text  # the claim is on the own framework's C1
    assert "Situation vae-fw" not in text and "Situation C1" in text  # the STAR narrative of the chosen claim
    assert "Déclaration sur l'honneur" in plain and "Valentine Vae déclare sur l'honneur" in plain
    files = embedded_files(data)
    assert any(name.startswith("annexe-01-") for name in files)
    assert files[next(n for n in files if n.startswith("annexe-01-"))] == b"%PDF-1.4 report"
    assert check_signature(data, trust_roots(app.config)).ok
    assert [e.kind for e in ops.timeline(project)].count("document") == 3
