"""The attestation prints the issuing NGO's letterhead and the member who signs it, and is signed in its legal
name; the platform appears only as the verification service."""

from __future__ import annotations

from tests.organisations.test_profile import _png


def test_attestation_prints_the_letterhead_and_the_signatory(app, client, login, docworld):
    from app.organisations import profile
    from tests.documents.conftest import pdf_text, print_document

    profile.update_profile(
        docworld.ngo,
        profile.ProfileData(
            legal_name="Association Solidarité Monde",
            address="1 rue de la Paix, 75002 Paris",
            registration_number="W751234567",
            website="https://solidarite.example",
        ),
        actor=docworld.admin,
        logo=_png(),
        stamp=_png(300, 300, (20, 20, 160)),
    )
    profile.agree_to_sign(docworld.ngo.membership_of(docworld.admin), "Présidente")
    login(client, docworld.volunteer)
    document, _ = print_document(client, "attestation", language="en", experience_id=str(docworld.mission.id))
    data = client.get(f"/documents/{document.id}/download").data
    text = " ".join(pdf_text(data).split())
    assert "Association Solidarité Monde" in text and "1 rue de la Paix, 75002 Paris" in text
    assert "W751234567" in text and "https://solidarite.example" in text
    assert "Ada Admin" in text and "Présidente" in text
    assert "Acquis is only the verification service" in text
    assert document.issuer_name == "Association Solidarité Monde"
    assert "O=Association Solidarité Monde" in document.signed_by


def test_first_page_carries_the_summary(client, login, docworld):
    """Holder, NGO, period and the profile of validated competences on the first page, not white space."""
    import io

    from pypdf import PdfReader

    from tests.documents.conftest import print_document

    login(client, docworld.volunteer)
    document, _ = print_document(client, "attestation", language="en", experience_id=str(docworld.mission.id))
    data = client.get(f"/documents/{document.id}/download").data
    first = " ".join(PdfReader(io.BytesIO(data)).pages[0].extract_text().split())
    assert "Valentine Doc" in first and "Solidarité Monde" in first
    assert "Period" in first and "Jan 1, 2024" in first and "Dec 31, 2024" in first
    assert "Profile of the validated competences" in first
    assert all(claim.node.code in first for claim in docworld.claims)
