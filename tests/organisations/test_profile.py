"""The NGO's identity on its documents: a profile (legal name, address, registration number, website, a logo and a
stamp re-encoded like evidence images) and members who agree to sign; the attestation prints the letterhead and
the signatory, and the platform appears only as the verification service."""

from __future__ import annotations

import io

import pytest


def _png(width=1200, height=900, colour=(200, 30, 30)) -> bytes:
    from PIL import Image

    output = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(output, "PNG")
    return output.getvalue()


@pytest.fixture
def ngo(create_org, create_user, add_member, db_session):
    organisation = create_org("Solidarité Monde")
    admin = create_user("profile-admin@example.org", name="Ada Admin", locale="en")
    trainer = create_user("profile-trainer@example.org", name="Théo Trainer", locale="en")
    add_member(organisation, admin, "admin")
    add_member(organisation, trainer, "trainer")
    return organisation, admin, trainer


def test_admin_saves_the_profile_with_a_reencoded_logo(client, login, ngo):
    from PIL import Image

    organisation, admin, _trainer = ngo
    login(client, admin)
    original = _png()
    response = client.post(
        f"/organisations/{organisation.slug}/profile",
        data={
            "legal_name": "Association Solidarité Monde",
            "address": "1 rue de la Paix\n75002 Paris",
            "registration_number": "W751234567",
            "website": "https://solidarite.example",
            "logo": (io.BytesIO(original), "logo.png"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assert organisation.legal_name == "Association Solidarité Monde"
    assert organisation.registration_number == "W751234567"
    assert organisation.logo_png and organisation.logo_png != original
    with Image.open(io.BytesIO(organisation.logo_png)) as image:
        assert image.format == "PNG" and image.size[0] <= 600 and image.size[1] <= 300


def test_a_logo_that_is_not_an_image_is_refused(client, login, ngo):
    organisation, admin, _trainer = ngo
    login(client, admin)
    response = client.post(
        f"/organisations/{organisation.slug}/profile",
        data={"legal_name": "X", "logo": (io.BytesIO(b"%PDF-1.4 not an image"), "logo.png")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert organisation.logo_png is None and organisation.legal_name == ""


def test_a_trainer_agrees_to_sign_and_can_stop(client, login, ngo):
    organisation, _admin, trainer = ngo
    login(client, trainer)
    response = client.post(f"/organisations/{organisation.slug}/signatory", data={"sign-signatory_role": "Formateur"})
    assert response.status_code == 302
    assert [(m.user.display_name, m.signatory_role) for m in organisation.signatories] == [
        ("Théo Trainer", "Formateur")
    ]
    client.post(f"/organisations/{organisation.slug}/signatory", data={"stop": "1"})
    assert organisation.signatories == []
