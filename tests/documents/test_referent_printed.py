"""The host referent's answer everywhere it matters: who confirmed (name, role, organisation, country, date) and
what (the facts, each claim confirmed or not) on the attestation, the VAE dossier, the opinion and /verify; claim by
claim on the trainer's review page and the volunteer's mission page."""

from __future__ import annotations

import pytest

from tests.documents.conftest import pdf_text, print_document


@pytest.fixture
def partial_referent(docworld):
    """A second referent asked about both claims, who confirms only the first."""
    from app.validation import operations as validation_ops

    data = validation_ops.ReferentData(
        name="Jorge Huamán",
        email="jorge@example.org",
        organisation_name="Casa Andina",
        role="Coordinador",
        language="es",
        claim_ids=tuple(c.id for c in docworld.claims),
    )
    request, _token = validation_ops.request_referent(docworld.volunteer, docworld.mission, data)
    validation_ops.confirm_referent(
        request, facts_confirmed=True, claim_ids=[docworld.claims[0].id], comment="Buen trabajo"
    )
    return request


def test_attestation_and_verify_page_print_who_confirmed_what(app, client, login, docworld, partial_referent):
    from app.documents import codes

    login(client, docworld.volunteer)
    document, _response = print_document(client, "attestation", language="en", experience_id=str(docworld.mission.id))
    data = client.get(f"/documents/{document.id}/download").data
    text = " ".join(pdf_text(data).split())
    second = docworld.claims[1].node.code
    assert "Confirmation by the host-country referent" in text
    assert "Jorge Huamán, Coordinador, Casa Andina (Peru)" in text
    assert "Confirmed the facts of the mission." in text
    assert f"Competences not confirmed: {second}" in text
    assert "Rosa Quispe" in text
    client.post("/auth/logout")
    page = " ".join(
        client.get(f"/verify/{codes.formatted(document.code)}", headers={"Accept-Language": "en"})
        .get_data(as_text=True)
        .split()
    )
    assert "Jorge Huamán" in page and "Casa Andina" in page and "Peru" in page
    assert f"Competences not confirmed: {second}" in page


def test_vae_and_opinion_snapshots_carry_the_referents(app, docworld, partial_referent):
    from app.documents import operations as ops
    from app.documents.context import build_opinion, build_vae

    vae = build_vae(docworld.volunteer, docworld.rncp.slug, "en")
    names = {r["name"] for r in ops.printed_referents(vae)}
    assert names == {"Rosa Quispe", "Jorge Huamán"}
    opinion = ops.save_opinion(docworld.admin, docworld.ngo, docworld.volunteer, ops.OpinionData(opinion="Yes."))
    referents = ops.printed_referents(build_opinion(opinion, "fr"))
    jorge = next(r for r in referents if r["name"] == "Jorge Huamán")
    assert jorge["country_name"] == "Pérou" and jorge["role"] == "Coordinador"
    assert [c["code"] for c in jorge["claims_not_confirmed"]] == [docworld.claims[1].node.code]


def test_review_page_and_mission_page_show_the_answer_claim_by_claim(client, login, docworld, partial_referent):
    import sqlalchemy as sa

    from app.extensions import db
    from app.validation.models import Submission

    submission = db.session.scalar(sa.select(Submission).where(Submission.experience_id == docworld.mission.id))
    login(client, docworld.trainer)
    review = " ".join(client.get(f"/validation/submissions/{submission.id}").get_data(as_text=True).split())
    second = docworld.claims[1].node.code
    assert "Jorge Huamán" in review and f"{second} —" in review
    assert "Non confirmée" in review or "Not confirmed" in review
    client.post("/auth/logout")
    login(client, docworld.volunteer)
    mission = " ".join(client.get(f"/experiences/{docworld.mission.id}").get_data(as_text=True).split())
    assert "Jorge Huamán" in mission and "Not confirmed" in mission
