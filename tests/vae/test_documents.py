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


def test_the_documents_list_the_validations_they_rely_on_and_verify_shows_them_live(
    app, sync_render, vaeworld, make_project, login, create_user, add_member
):
    """The coverage the documents print rests on the NGO's validations of C1 and C2 (through crosswalks): each
    document records them like every other document, and /verify/<code> shows a revocation made after printing."""
    import sqlalchemy as sa

    from app.claims.validations import ClaimValidation
    from app.documents import codes
    from app.extensions import db
    from app.vae import operations as ops
    from app.vae import printing
    from app.vae.models import VaeRoute
    from app.validation import operations as validation_ops

    project = make_project(route=VaeRoute.LIVRET1)
    ops.save_draft(
        project, "B1", ops.DraftData(fields={}, claim_ids=(vaeworld.claims[0].id,)), actor=vaeworld.volunteer
    )
    validations = {
        v.claim_id: v
        for v in db.session.scalars(
            sa.select(ClaimValidation).where(ClaimValidation.claim_id.in_([c.id for c in vaeworld.claims]))
        )
    }
    expected = [validations[vaeworld.claims[0].id].id, validations[vaeworld.claims[1].id].id]
    for kind in ("faisabilite", "validation"):
        entries = printing.build_snapshot(project, kind)["entries"]
        assert [e["validation_id"] for e in entries] == expected
        assert entries[0]["organisation"] == "Solidarité Monde" and entries[0]["validator"] == "Théo Trainer"
    client = app.test_client()
    login(client, vaeworld.volunteer)
    document, data = _print(client, project, "livret1")
    assert [e["validation_id"] for e in document.snapshot["entries"]] == expected
    text = " ".join(pdf_text(data).replace("\u2019", "'").split())
    assert "Validations d'ONG sur lesquelles s'appuie ce document" in text
    assert text.count("Théo Trainer (Solidarité Monde)") == 2

    admin = create_user("vae-ngo-admin@example.org", name="Nadia Admin")
    add_member(vaeworld.ngo, admin, "admin")
    validation_ops.revoke_validation(validations[vaeworld.claims[1].id], admin, "Pièce justificative non authentique")
    db.session.flush()
    page = (
        app.test_client()
        .get(f"/verify/{codes.formatted(document.code)}", headers={"Accept-Language": "en"})
        .get_data(as_text=True)
    )
    assert page.count('class="entry-status entry-revoked"') == 1 and "Pièce justificative non authentique" in page
    assert page.count('class="entry-status entry-valid"') == 1  # the other validation is still current
