"""Printed documents read back: language, code, QR, embedded snapshot, signature, PDF/A; verification; caching."""

from __future__ import annotations

import io
import time

import pytest

from tests.documents.conftest import embedded_files, pdf_text, print_document, snapshot_of


def _download(client, document) -> bytes:
    response = client.get(f"/documents/{document.id}/download")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    return response.data


def test_codes_check_character_catches_typos():
    from app.documents import codes

    code = codes.new_code()
    printed = codes.formatted(code)
    assert codes.normalise(printed) == code
    assert codes.normalise(printed.lower().replace("-", " ")) == code
    for index in range(len(code)):
        for replacement in codes.ALPHABET:
            if replacement != code[index]:
                typo = code[:index] + replacement + code[index + 1 :]
                assert codes.normalise(typo) is None
    for index in range(len(code) - 1):
        if code[index] != code[index + 1]:
            swapped = code[:index] + code[index + 1] + code[index] + code[index + 2 :]
            assert codes.normalise(swapped) is None
    assert codes.normalise("not a code") is None


def test_codes_catch_every_swap_even_of_0_and_z():
    """The pair Luhn mod 32 cannot see: a code whose body has "0Z" next to each other."""
    from app.documents import codes

    body = "0Z" + "ABCDEFGHJK"
    code = body + codes.check_character(body)
    swapped = "Z0" + body[2:] + code[-1]
    assert codes.normalise(code) == code
    assert codes.normalise(swapped) is None


def test_portfolio_in_english_signed_pdfa_verifiable(app, client, login, docworld):
    from pypdf import PdfReader

    from app.documents import codes
    from app.printing.signing import check_signature, signing_config

    login(client, docworld.volunteer)
    document, _response = print_document(client, "portfolio", language="en")
    data = _download(client, document)
    import hashlib

    assert hashlib.sha256(data).hexdigest() == document.sha256
    text = pdf_text(data)
    assert "Portfolio of competences" in text and "Valentine Doc" in text
    assert codes.formatted(document.code) in text
    assert "Peru" in text and "Cusco" in text  # country name in English
    assert "1,200" in text  # numbers in English
    assert "Validated by Théo Trainer (Solidarité Monde)" in text
    assert "Rosa Quispe" in text  # host referent's confirmation
    assert docworld.pdf.sha256 in text.replace("\n", "")  # evidence index
    # Embedded snapshot: the only attachment, equal to the stored snapshot.
    assert set(embedded_files(data)) == {"snapshot.json"}
    assert snapshot_of(data) == document.snapshot
    # Signature valid against the instance certificate; covers the whole file.
    check = check_signature(data, signing_config(app.config).cert_path)
    assert check.ok, check
    # PDF/A-3a identification and a QR image on the last page.
    reader = PdfReader(io.BytesIO(data))
    xmp = reader.xmp_metadata.rdf_root.toxml()
    assert "pdfaid:part" in xmp and ">3<" in xmp.replace('pdfaid:part="3"', ">3<")
    last = reader.pages[-1]
    assert any(
        last["/Resources"]["/XObject"][name].get_object()["/Subtype"] == "/Image"
        for name in last["/Resources"]["/XObject"]
    )
    assert reader.outline  # bookmarks from headings
    # Verify page (guest), then upload checks.
    guest = app.test_client()
    guest.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    page = guest.get(f"/verify/{codes.formatted(document.code)}")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "Valentine Doc" in body and document.sha256 in body and "Valid" in body
    genuine = guest.post(
        "/verify", data={"file": (io.BytesIO(data), "dossier.pdf")}, content_type="multipart/form-data"
    )
    assert "This is an unaltered Acquis document." in genuine.get_data(as_text=True)
    assert "Its electronic signature is valid." in genuine.get_data(as_text=True)
    altered = bytearray(data)
    position = data.index(b"Valentine") if b"Valentine" in data else len(data) // 2
    altered[position] ^= 0x01
    response = guest.post(
        "/verify", data={"file": (io.BytesIO(bytes(altered)), "dossier.pdf")}, content_type="multipart/form-data"
    )
    assert "This file is not an unaltered Acquis document." in response.get_data(as_text=True)
    foreign = guest.post(
        "/verify", data={"file": (io.BytesIO(b"%PDF-1.4 foreign"), "x.pdf")}, content_type="multipart/form-data"
    )
    assert "This file is not an unaltered Acquis document." in foreign.get_data(as_text=True)
    not_pdf = guest.post("/verify", data={"file": (io.BytesIO(b"GIF89a"), "x.pdf")}, content_type="multipart/form-data")
    assert not_pdf.status_code == 422 and "This file is not a PDF." in not_pdf.get_data(as_text=True)
    # Unchanged → the same document at once (cache).
    started = time.perf_counter()
    again, _response = print_document(client, "portfolio", language="en")
    assert again.id == document.id
    assert time.perf_counter() - started < 2


def test_revoked_validation_shows_as_revoked(app, client, login, docworld):
    import sqlalchemy as sa

    from app.claims.validations import ClaimValidation
    from app.documents import codes
    from app.extensions import db
    from app.validation import operations as vops

    login(client, docworld.volunteer)
    document, _ = print_document(client, "attestation", language="fr", experience_id=str(docworld.mission.id))
    text = pdf_text(_download(client, document))
    assert "Attestation d'accomplissement de mission de volontariat de solidarité internationale" in text
    assert "loi n° 2005-159 du 23 février 2005, art. 3" in text
    assert "Pérou" in text  # country in French
    assert document.issuer_name == "Solidarité Monde"
    validation = db.session.scalar(sa.select(ClaimValidation).where(ClaimValidation.claim_id == docworld.claims[0].id))
    vops.revoke_validation(validation, docworld.admin, "Evidence was not authentic")
    db.session.flush()
    body = (
        app.test_client()
        .get(f"/verify/{codes.formatted(document.code)}", headers={"Accept-Language": "en"})
        .get_data(as_text=True)
    )
    assert "Revoked" in body and "Evidence was not authentic" in body


def test_vae_dossier_in_spanish_with_coverage(client, login, docworld):
    login(client, docworld.volunteer)
    document, _ = print_document(client, "vae", language="es", framework="rncp-test")
    snapshot = document.snapshot
    statuses = {row["code"]: row["status"] for row in snapshot["blocs"][0]["competences"]}
    assert statuses == {"B1.C1": "covered", "B1.C2": "partly", "B1.C3": "not_covered"}
    assert snapshot["blocs"][0]["status"] == "partly"
    text = pdf_text(_download(client, document))
    assert "Título RNCP de prueba" in text
    assert "Situation C1" in text  # the narrative supporting the competence
    assert "[fr]" in text  # "Bloc un" has no Spanish label: marked as a French fallback


def test_trainer_writes_and_prints_the_opinion(app, client, login, docworld):
    login(client, docworld.trainer)
    url = f"/documents/opinions/{docworld.ngo.id}/{docworld.volunteer.id}"
    response = client.post(
        url, data={"author_role": "Formateur", "opinion": "Avis favorable pour la VAE.", "engagement": "Un an au Pérou"}
    )
    assert response.status_code == 302
    from app.documents.models import Opinion
    from app.extensions import db

    opinion = db.session.query(Opinion).one()
    response = client.post(f"/documents/opinions/{opinion.id}/print", data={"opinion-language": "fr"})
    assert response.status_code == 302
    document_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
    text = pdf_text(client.get(f"/documents/{document_id}/download").data)
    assert "Avis favorable pour la VAE." in text
    assert "loi n° 2014-856 du 31 juillet 2014" in text
    # The volunteer may download it (holder); another NGO's trainer may not.
    other = app.test_client()
    login(other, docworld.other_trainer)
    assert other.get(f"/documents/{document_id}/download").status_code == 404
    holder = app.test_client()
    login(holder, docworld.volunteer)
    assert holder.get(f"/documents/{document_id}/download").status_code == 200


def test_context_errors_are_shown_next_to_the_field(client, login, docworld, create_user):
    stranger = create_user("nobody@example.org", name="Nobody")
    login(client, stranger)
    response = client.post("/documents/print", data={"vae-kind": "vae", "vae-language": "en", "vae-framework": "nope"})
    assert response.status_code == 422


@pytest.mark.parametrize("text", ["", "ABCD", "0000-0000-0000-1"])
def test_verify_rejects_unknown_or_mistyped_codes(client, text):
    if text:
        assert client.get(f"/verify/{text}").status_code == 404
    response = client.get("/verify", query_string={"code": text or "x"})
    assert response.status_code in (200, 302)


def test_trainer_prints_what_the_ngo_validated_and_can_reopen_it(app, client, login, docworld):
    login(client, docworld.trainer)
    response = client.post(
        f"/documents/for/{docworld.ngo.id}/{docworld.volunteer.id}/print", data={"opinion-language": "en"}
    )
    assert response.status_code == 302
    page = client.get(response.headers["Location"])
    assert page.status_code == 200
    assert "Solidarité Monde" in page.get_data(as_text=True)


def test_new_codes_are_letters_and_digits_with_an_iso7064_check():
    import re

    from app.documents import codes

    for _ in range(300):
        code = codes.new_code()
        assert re.fullmatch(r"[0-9A-HJKMNP-TV-Z]{12}", code), code
        assert codes.iso7064_check(code[:-1]) == code[-1]
        assert re.fullmatch(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}", codes.formatted(code))
    # ISO/IEC 7064 MOD 37-36 reference value: "A12425GABC1234002" has the check character "M".
    assert codes.iso7064_check("A12425GABC1234002") == "M"


def test_codes_printed_before_keep_verifying(client, docworld):
    """A document issued with an old code (Crockford check symbol, possibly * ~ $ = U) is still found."""
    from app.documents import codes
    from app.documents.models import DocumentKind
    from tests.cast import store_document_stand_in

    body = "0123456789AB"
    old = body + codes.check_character(body)
    store_document_stand_in(docworld.volunteer, docworld.ngo, kind=DocumentKind.ATTESTATION, code=old)
    assert codes.normalise(codes.formatted(old)) == old
    assert client.get(f"/verify/{codes.formatted(old)}").status_code == 200
    # A typo in an old code is still caught by its own check symbol.
    assert codes.normalise("1" + codes.formatted(old)[1:]) is None


def test_french_documents_use_french_typography_and_short_dates(client, login, docworld):
    """A narrow no-break space before : ; ! ? (never a colon glued to a word), dates like "1 janv. 2024"."""
    import re

    login(client, docworld.volunteer)
    document, _ = print_document(client, "attestation", language="fr", experience_id=str(docworld.mission.id))
    data = _download(client, document)
    text = pdf_text(data)
    from pypdf import PdfReader  # pdftotext turns U+202F into a plain space; pypdf keeps it

    assert "\u202f:" in "".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
    assert not re.search(r"[^\s\u202f\u00a0/\d]:\s", text), re.findall(r".{20}[^\s\u202f\u00a0/\d]:\s", text)[:3]
    assert "1 janv. 2024" in text and "31 déc. 2024" in text
    assert not re.search(r"\b20\d\d-\d\d-\d\d\b", text)


def test_french_typography_leaves_markup_urls_and_entities_alone():
    from app.printing.typography import french_typography

    html = '<p class="a:b">Pays: Pérou ; A &amp; B? https://x.org/v 10:30</p><style>a:hover{}</style>'
    assert french_typography(html) == (
        '<p class="a:b">Pays\u202f: Pérou\u202f; A &amp; B\u202f? https://x.org/v 10:30</p><style>a:hover{}</style>'
    )
