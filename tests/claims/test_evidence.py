"""Evidence files: type decided by content, bounded inspection of hostile files, images re-encoded without EXIF,
random storage keys, size and quota limits, files and rows kept in step on rollback and delete, one file for
several claims, download headers, privacy."""

from __future__ import annotations

import hashlib
import io
import re
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.claims import operations as ops
from app.claims.models import Claim, Evidence
from app.core import storage
from app.extensions import db
from tests.claims.conftest import (
    HTML_PAGE,
    SVG_IMAGE,
    jpeg_with_gps,
    pdf_bytes,
    png_bytes,
    png_pixel_bomb,
    stored_files,
)

KEY = re.compile(r"^[0-9a-f]{32}$")


def upload(client, data: bytes, filename: str, title: str = ""):
    return client.post(
        "/portfolio/evidence",
        data={"file": (io.BytesIO(data), filename), "title": title},
        content_type="multipart/form-data",
    )


def evidence_rows() -> list[Evidence]:
    return list(db.session.scalars(sa.select(Evidence).order_by(Evidence.id)))


def file_error(response) -> str:
    match = re.search(r'<p class="error-message" id="file-error">(.*?)</p>', response.get_data(as_text=True), re.S)
    assert match, "no error next to the file field"
    return re.sub(r"<[^>]+>", "", match.group(1)).replace("Error:", "").strip().replace("&#39;", "'")


def rss_bytes() -> int:
    """The test process's resident memory now (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


# --- Accepted files ----------------------------------------------------------------------------------------------


def test_pdf_is_stored_under_a_random_key_with_its_hash(signed_in, volunteer, storage_dir):
    data = pdf_bytes(2)
    response = upload(signed_in, data, "Attestation VSI.pdf")
    assert response.status_code == 302
    (evidence,) = evidence_rows()
    assert evidence.owner_id == volunteer.id
    assert (evidence.mime, evidence.pages, evidence.size) == ("application/pdf", 2, len(data))
    assert evidence.title == evidence.original_filename == "Attestation VSI.pdf"
    assert KEY.match(evidence.storage_key)
    path = storage.path_for(evidence.storage_key)
    assert path == storage_dir / evidence.storage_key[:2] / evidence.storage_key
    assert path.read_bytes() == data  # PDFs are kept as uploaded
    assert evidence.sha256 == hashlib.sha256(data).hexdigest()
    library = signed_in.get("/portfolio/evidence").get_data(as_text=True)
    assert "Attestation VSI.pdf" in library and "2 pages" in library and evidence.sha256[:16] in library
    assert "static" not in str(path)


def test_jpeg_is_reencoded_without_exif_or_gps(signed_in):
    from PIL import ExifTags, Image

    original = jpeg_with_gps()
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the input has a location
    response = upload(signed_in, original, "IMG_0042.JPG", title="Chantier du château d'eau")
    assert response.status_code == 302
    (evidence,) = evidence_rows()
    assert (evidence.mime, evidence.width, evidence.height) == ("image/jpeg", 64, 48)
    stored = storage.path_for(evidence.storage_key).read_bytes()
    assert stored != original and evidence.sha256 == hashlib.sha256(stored).hexdigest()
    image = Image.open(io.BytesIO(stored))
    assert image.format == "JPEG" and image.size == (64, 48)
    exif = image.getexif()
    assert not exif.get_ifd(ExifTags.IFD.GPSInfo) and ExifTags.Base.Make not in exif
    assert b"AcmeCam" not in stored and b"Exif" not in stored
    assert evidence.title == "Chantier du château d'eau" and evidence.original_filename == "IMG_0042.JPG"


def test_png_is_reencoded_and_trailing_payload_dropped(signed_in):
    payload = b"<html><script>alert(1)</script></html>"
    response = upload(signed_in, png_bytes() + payload, "photo.png")
    assert response.status_code == 302
    (evidence,) = evidence_rows()
    stored = storage.path_for(evidence.storage_key).read_bytes()
    assert evidence.mime == "image/png" and payload not in stored


def test_type_comes_from_content_not_name(signed_in):
    """A real PNG called .pdf is stored as the PNG it is."""
    assert upload(signed_in, png_bytes(), "rapport.pdf").status_code == 302
    (evidence,) = evidence_rows()
    assert evidence.mime == "image/png" and evidence.extension == "png"


# --- Refused files -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "filename", "message"),
    [
        (HTML_PAGE, "attestation.pdf", "Only PDF, JPEG and PNG files are accepted"),
        (SVG_IMAGE, "logo.svg", "Only PDF, JPEG and PNG files are accepted"),
        (SVG_IMAGE, "logo.png", "Only PDF, JPEG and PNG files are accepted"),
        (b"GIF89a" + b"\0" * 100, "anim.gif", "Only PDF, JPEG and PNG files are accepted"),
        (b"PK\x03\x04" + b"\0" * 100, "archive.pdf", "Only PDF, JPEG and PNG files are accepted"),
        (b"%PDF-1.7\n<html><script>alert(1)</script></html>", "fake.pdf", "This file is damaged"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 64, "broken.png", "This file is damaged"),
        (pdf_bytes(password="secret"), "locked.pdf", "This PDF is password-protected."),
    ],
    ids=["html-as-pdf", "svg", "svg-as-png", "gif", "zip-as-pdf", "html-behind-pdf-header", "broken-png", "encrypted"],
)
def test_refused_uploads(signed_in, storage_dir, data, filename, message):
    before = stored_files(storage_dir)
    response = upload(signed_in, data, filename)
    assert response.status_code == 422
    assert file_error(response).startswith(message)
    assert evidence_rows() == []
    assert stored_files(storage_dir) == before


def test_png_pixel_bomb_is_refused_quickly_without_exhausting_memory(signed_in, storage_dir):
    bomb = png_pixel_bomb(100_000, 100_000)
    assert len(bomb) < 200
    before_rss, started = rss_bytes(), time.monotonic()
    response = upload(signed_in, bomb, "bomb.png")
    elapsed = time.monotonic() - started
    assert response.status_code == 422
    assert file_error(response) == "This image has too many pixels. Please upload a smaller image."
    assert elapsed < 10, elapsed
    assert rss_bytes() - before_rss < 50 * 1024 * 1024  # decoding happens (or rather, does not) in a child process
    assert evidence_rows() == []


def test_image_above_the_pixel_cap_is_refused(app, signed_in, monkeypatch):
    monkeypatch.setitem(app.config, "EVIDENCE_MAX_PIXELS", 1000)
    response = upload(signed_in, png_bytes(40, 30), "big.png")  # 1 200 pixels
    assert response.status_code == 422
    assert "too many pixels" in file_error(response)


def test_pdf_with_too_many_pages_is_refused(app, signed_in, monkeypatch):
    monkeypatch.setitem(app.config, "EVIDENCE_MAX_PDF_PAGES", 2)
    response = upload(signed_in, pdf_bytes(3), "long.pdf")
    assert response.status_code == 422
    assert file_error(response) == "This PDF has too many pages."
    assert upload(signed_in, pdf_bytes(2), "short.pdf").status_code == 302


def test_file_size_limit(app, signed_in, monkeypatch):
    data = pdf_bytes(1)
    monkeypatch.setitem(app.config, "EVIDENCE_MAX_BYTES", len(data) - 1)
    response = upload(signed_in, data, "a.pdf")
    assert response.status_code == 422
    assert file_error(response) == "This file is larger than the allowed size."
    monkeypatch.setitem(app.config, "EVIDENCE_MAX_BYTES", len(data))
    assert upload(signed_in, data, "a.pdf").status_code == 302


def test_per_user_quota(app, signed_in, monkeypatch, create_user):
    data = pdf_bytes(1)
    monkeypatch.setitem(app.config, "EVIDENCE_QUOTA_BYTES", 2 * len(data) + 10)
    assert upload(signed_in, data, "1.pdf").status_code == 302
    assert upload(signed_in, data, "2.pdf").status_code == 302
    response = upload(signed_in, data, "3.pdf")
    assert response.status_code == 422
    assert file_error(response) == "Your evidence library is full. Delete files you no longer need."
    assert len(evidence_rows()) == 2
    # The quota is per person: someone else still has room
    assert ops.add_evidence(create_user(), data, filename="x.pdf").id


def test_empty_upload_is_refused(signed_in):
    response = upload(signed_in, b"", "empty.pdf")
    assert response.status_code == 422
    assert evidence_rows() == []
    response = signed_in.post("/portfolio/evidence", data={"title": "no file"}, content_type="multipart/form-data")
    assert response.status_code == 422 and file_error(response) == "Please choose a file."


@pytest.mark.parametrize(
    ("filename", "display"),
    [
        ("../../etc/passwd.png", "passwd.png"),
        # Werkzeug reads the backslashes of a quoted file name as escapes: the name arrives as "....x.png"
        ("..\\..\\x.png", "....x.png"),
        ("/var/www/static/evil.png", "evil.png"),
        ("na\x00me\u202e.png", "name.png"),
    ],
)
def test_path_traversal_names_are_stored_under_a_random_key(signed_in, storage_dir, filename, display):
    before = stored_files(storage_dir)
    response = upload(signed_in, png_bytes(), filename)
    assert response.status_code == 302
    (evidence,) = evidence_rows()
    assert KEY.match(evidence.storage_key)
    assert evidence.original_filename == display and evidence.title == display
    (new_file,) = stored_files(storage_dir) - before
    assert new_file.resolve().parent.parent == storage_dir.resolve()
    assert new_file.name == evidence.storage_key
    assert not Path("/etc/passwd.png").exists()


def test_a_long_file_name_fits(signed_in):
    name = "r" * 250 + ".pdf"
    assert upload(signed_in, pdf_bytes(), name).status_code == 302
    (evidence,) = evidence_rows()
    assert evidence.original_filename == name[:255] and len(evidence.title) == 200


@pytest.mark.parametrize(
    ("filename", "display"),
    [
        ("../../etc/passwd.png", "passwd.png"),
        ("..\\..\\x.png", "x.png"),
        ("C:\\Users\\v\\a.pdf", "a.pdf"),
        ("\x00\x1b[31m.png", "[31m.png"),
        ("", ""),
        (None, ""),
    ],
)
def test_safe_display_name(filename, display):
    assert ops.safe_display_name(filename) == display


# --- Files and rows in step ----------------------------------------------------------------------------------------


def test_a_rolled_back_upload_leaves_no_file(volunteer, storage_dir):
    before = stored_files(storage_dir)
    evidence = ops.add_evidence(volunteer, png_bytes(), filename="x.png")
    path = storage.path_for(evidence.storage_key)
    assert path.is_file()
    db.session.rollback()
    assert not path.exists()
    assert stored_files(storage_dir) == before


def test_a_failed_request_leaves_no_file(signed_in, frameworks, mission, storage_dir, monkeypatch):
    """The upload is stored, then the claim operation fails: the request rolls back and the file goes too."""
    before = stored_files(storage_dir)

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(ops, "create_claim", broken)
    with pytest.raises(RuntimeError):
        signed_in.post(
            f"/portfolio/experiences/{mission.id}/claims/new?node={frameworks.node('KC1').id}",
            data={"level_rank": "", "file": (io.BytesIO(png_bytes()), "photo.png")},
            content_type="multipart/form-data",
        )
    assert stored_files(storage_dir) == before
    assert evidence_rows() == []


def test_deleting_evidence_removes_the_file_after_commit(volunteer, storage_dir):
    evidence = ops.add_evidence(volunteer, pdf_bytes(), filename="a.pdf")
    db.session.commit()
    path = storage.path_for(evidence.storage_key)
    ops.delete_evidence(evidence, actor=volunteer)
    assert path.is_file()  # still there until the deletion is committed
    db.session.rollback()
    assert path.is_file()  # a rolled-back deletion keeps the file
    evidence = db.session.get(Evidence, evidence.id)
    ops.delete_evidence(evidence, actor=volunteer)
    db.session.commit()
    assert not path.exists()


def test_delete_evidence_page(signed_in, volunteer, frameworks, mission):
    evidence = ops.add_evidence(volunteer, pdf_bytes(), filename="a.pdf", title="Attestation")
    claim = ops.create_claim(
        volunteer, mission, ops.ClaimData(node_id=frameworks.node("KC2").id, evidence_ids=(evidence.id,))
    )
    db.session.commit()
    path = storage.path_for(evidence.storage_key)
    confirm = signed_in.get(f"/portfolio/evidence/{evidence.id}/delete")
    assert confirm.status_code == 200 and "It supports 1 claim(s)" in confirm.get_data(as_text=True)
    response = signed_in.post(f"/portfolio/evidence/{evidence.id}/delete")
    assert response.status_code == 302
    assert not path.exists()
    assert evidence_rows() == []
    db.session.expire_all()
    assert db.session.get(Claim, claim.id).evidence == []  # the claim stays, without this evidence


# --- Evidence on claims --------------------------------------------------------------------------------------------


def test_one_evidence_item_supports_several_claims(signed_in, frameworks, mission):
    first_url = f"/portfolio/experiences/{mission.id}/claims/new?node={frameworks.node('SI.2.3').id}"
    response = signed_in.post(
        first_url,
        data={
            "level_rank": "2",
            "situation": "Projet eau",
            "file": (io.BytesIO(pdf_bytes()), "attestation.pdf"),
            "file_title": "Attestation de mission",
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    (evidence,) = evidence_rows()
    assert evidence.title == "Attestation de mission"
    second_url = f"/portfolio/experiences/{mission.id}/claims/new?node={frameworks.node('SI.2.4').id}"
    form = signed_in.get(second_url).get_data(as_text=True)
    assert "Attestation de mission" in form and f'value="{evidence.id}"' in form
    response = signed_in.post(second_url, data={"level_rank": "1", "evidence_ids": [str(evidence.id)]})
    assert response.status_code == 302
    claims = db.session.scalars(sa.select(Claim).order_by(Claim.id)).all()
    assert [c.evidence for c in claims] == [[evidence], [evidence]]
    assert len(evidence.claims) == 2
    assert "2 claims" in signed_in.get("/portfolio/evidence").get_data(as_text=True)
    claim_page = signed_in.get(f"/portfolio/claims/{claims[1].id}").get_data(as_text=True)
    assert f"/portfolio/evidence/{evidence.id}/file" in claim_page and "Attestation de mission" in claim_page
    # Taking it off one claim keeps it on the other (and bumps that claim's version)
    edit = signed_in.post(f"/portfolio/claims/{claims[1].id}/edit", data={"level_rank": "1"})
    assert edit.status_code == 302
    db.session.expire_all()
    assert claims[1].evidence == [] and claims[1].version == 2 and claims[0].evidence == [evidence]


def test_refused_file_on_the_claim_form_keeps_the_narrative(signed_in, frameworks, mission, storage_dir):
    before = stored_files(storage_dir)
    url = f"/portfolio/experiences/{mission.id}/claims/new?node={frameworks.node('SI.2.5').id}"
    response = signed_in.post(
        url,
        data={"level_rank": "2", "situation": "Mon histoire", "file": (io.BytesIO(HTML_PAGE), "x.pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert file_error(response).startswith("Only PDF, JPEG and PNG files are accepted")
    assert "Mon histoire" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Claim)) == 0
    assert stored_files(storage_dir) == before


def test_refused_claim_keeps_the_uploaded_file_selected(signed_in, frameworks, mission):
    """The claim is refused (no level chosen) after its file was accepted: the file is in the library and
    already ticked on the form shown again, so the volunteer does not upload it twice."""
    url = f"/portfolio/experiences/{mission.id}/claims/new?node={frameworks.node('SI.2.5').id}"
    response = signed_in.post(
        url,
        data={"level_rank": "", "situation": "Mon histoire", "file": (io.BytesIO(pdf_bytes()), "rapport.pdf")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    (evidence,) = evidence_rows()
    html = response.get_data(as_text=True)
    assert re.search(rf'<input checked[^>]*value="{evidence.id}"|<input[^>]*value="{evidence.id}"[^>]*checked', html)
    response = signed_in.post(
        url, data={"level_rank": "2", "situation": "Mon histoire", "evidence_ids": [str(evidence.id)]}
    )
    assert response.status_code == 302
    assert len(evidence_rows()) == 1
    assert db.session.scalars(sa.select(Claim)).one().evidence == [evidence]


# --- Downloads -----------------------------------------------------------------------------------------------------


def test_download_headers(signed_in, volunteer):
    data = pdf_bytes()
    evidence = ops.add_evidence(volunteer, data, filename="../Attestation été.pdf", title="Attestation été 2024")
    db.session.commit()
    response = signed_in.get(f"/portfolio/evidence/{evidence.id}/file")
    assert response.status_code == 200
    assert response.data == data
    assert response.mimetype == "application/pdf"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and "Attestation-ete-2024.pdf" in disposition
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert "no-store" in response.headers["Cache-Control"]


def test_images_may_be_shown_inline_but_stay_sandboxed(signed_in, volunteer):
    image = ops.add_evidence(volunteer, png_bytes(), filename="p.png")
    document = ops.add_evidence(volunteer, pdf_bytes(), filename="d.pdf")
    db.session.commit()
    response = signed_in.get(f"/portfolio/evidence/{image.id}/file?inline=1")
    assert response.headers["Content-Disposition"].startswith("inline")
    assert "sandbox" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    # PDFs are never inline
    response = signed_in.get(f"/portfolio/evidence/{document.id}/file?inline=1")
    assert response.headers["Content-Disposition"].startswith("attachment")


def test_a_row_whose_file_is_lost_is_404(signed_in, volunteer):
    evidence = ops.add_evidence(volunteer, pdf_bytes(), filename="d.pdf")
    db.session.commit()
    storage.path_for(evidence.storage_key).unlink()
    assert signed_in.get(f"/portfolio/evidence/{evidence.id}/file").status_code == 404


def test_another_persons_file_is_404(app, signed_in, volunteer, create_user, login):
    evidence = ops.add_evidence(volunteer, pdf_bytes(), filename="private.pdf")
    db.session.commit()
    intruder = app.test_client()
    login(intruder, create_user(locale="en"))
    for url in (
        f"/portfolio/evidence/{evidence.id}/file",
        f"/portfolio/evidence/{evidence.id}/file?inline=1",
        f"/portfolio/evidence/{evidence.id}/delete",
    ):
        assert intruder.get(url).status_code == 404, url
    assert intruder.post(f"/portfolio/evidence/{evidence.id}/delete").status_code == 404
    assert "private.pdf" not in intruder.get("/portfolio/evidence").get_data(as_text=True)
    assert storage.path_for(evidence.storage_key).is_file()
    assert client_for_guest(app).get(f"/portfolio/evidence/{evidence.id}/file").status_code == 302


def client_for_guest(app):
    return app.test_client()
