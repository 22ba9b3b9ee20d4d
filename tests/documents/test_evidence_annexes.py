"""A VAE dossier may annex the evidence files: each embedded once as a PDF/A-3 associated file (AFRelationship
Supplement, MIME type, checksum), listed in an evidence index that maps it to the claims it supports, and
extracted intact."""

from __future__ import annotations

import hashlib
import io

from tests.documents.conftest import embedded_files, pdf_text, print_document


def test_vae_annexes_evidence_as_associated_files(client, login, docworld):
    from pypdf import PdfReader

    login(client, docworld.volunteer)
    document, _ = print_document(client, "vae", language="en", framework="rncp-test", annex_evidence="y")
    data = client.get(f"/documents/{document.id}/download").data
    annexes = document.snapshot["annexes"]
    assert [a["sha256"] for a in annexes] == [docworld.pdf.sha256]
    assert annexes[0]["claims"] == [docworld.claims[0].node.code]
    files = embedded_files(data)
    assert set(files) == {"snapshot.json", annexes[0]["name"]}
    assert hashlib.sha256(files[annexes[0]["name"]]).hexdigest() == docworld.pdf.sha256  # extracted intact
    root = PdfReader(io.BytesIO(data)).trailer["/Root"]
    specs = [spec.get_object() for spec in root["/AF"]]
    names = [str(spec["/F"]) for spec in specs]
    assert sorted(names) == sorted(files) and len(names) == len(set(names))  # each file listed once
    annex = next(spec for spec in specs if str(spec["/F"]) == annexes[0]["name"])
    assert annex["/AFRelationship"] == "/Supplement"
    stream = annex["/EF"]["/F"].get_object()
    assert stream["/Subtype"] == "/application/pdf"
    checksum = stream["/Params"]["/CheckSum"]
    raw = checksum.original_bytes if hasattr(checksum, "original_bytes") else bytes(checksum)
    assert raw == hashlib.md5(files[annexes[0]["name"]]).digest()  # noqa: S324 - the checksum PDF defines
    text = " ".join(pdf_text(data).split())
    assert "Evidence annexed to this PDF" in text and annexes[0]["name"] in text


def test_without_the_option_nothing_is_annexed(client, login, docworld):
    login(client, docworld.volunteer)
    document, _ = print_document(client, "vae", language="en", framework="rncp-test")
    assert document.snapshot["annexes"] == []
