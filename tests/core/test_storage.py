"""Evidence storage: keys that cannot carry a path, bounded inspection in a child process, files kept in step
with the database transaction."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from app.core import filecheck, storage
from app.core.i18n import force_locale
from app.extensions import db
from tests.claims.conftest import HTML_PAGE, SVG_IMAGE, jpeg_with_gps, pdf_bytes, png_bytes, png_pixel_bomb


@pytest.mark.parametrize("key", ["", "../../etc/passwd", "A" * 32, "0" * 31, "0" * 33, "0" * 30 + "/x", "g" * 32, None])
def test_storage_keys_cannot_carry_a_path(app, key):
    with pytest.raises(ValueError):
        storage.path_for(key)


def test_path_for_a_valid_key(app):
    key = "0123456789abcdef" * 2
    assert storage.path_for(key) == Path(app.config["STORAGE_DIR"]) / "01" / key


def test_store_upload_writes_under_a_random_key(app):
    data = pdf_bytes()
    first, second = storage.store_upload(data), storage.store_upload(data)
    assert first.key != second.key and first.sha256 == second.sha256
    for stored in (first, second):
        path = storage.path_for(stored.key)
        assert path.read_bytes() == data and not path.with_suffix(".part").exists()
        storage.delete_stored(stored.key)
        assert not path.exists()
    storage.delete_stored(first.key)  # deleting twice is harmless


def test_inspection_refuses_empty_and_oversized_files_without_a_child(app, monkeypatch):
    def no_child(*args, **kwargs):
        raise AssertionError("no inspection process should start")

    monkeypatch.setattr(subprocess, "run", no_child)
    with pytest.raises(storage.UploadRejected) as refused:
        storage.inspect_upload(b"")
    assert refused.value.code == "empty"
    monkeypatch.setitem(app.config, "EVIDENCE_MAX_BYTES", 10)
    with pytest.raises(storage.UploadRejected) as refused:
        storage.inspect_upload(b"%PDF-1.4 and more")
    assert refused.value.code == "too_big"
    with force_locale("en"):  # the message is translated lazily, in the language in use when shown
        assert str(refused.value.message) == "This file is larger than the allowed size."


def test_a_slow_inspection_is_refused(app, monkeypatch):
    def too_slow(command, **kwargs):
        raise subprocess.TimeoutExpired(command, kwargs["timeout"])

    monkeypatch.setattr(subprocess, "run", too_slow)
    with pytest.raises(storage.UploadRejected) as refused:
        storage.inspect_upload(png_bytes())
    assert refused.value.code == "timeout"


def test_the_child_runs_under_resource_limits(app, monkeypatch):
    """With an address-space limit too small to even start Python, the child dies and the file is refused."""
    monkeypatch.setattr(storage, "INSPECTION_MEMORY_BYTES", 16 * 1024 * 1024)
    with pytest.raises(storage.UploadRejected) as refused:
        storage.inspect_upload(png_bytes())
    assert refused.value.code == "corrupt"


def test_inspection_in_a_child_process(app):
    meta, body = storage.inspect_upload(pdf_bytes(3))
    assert meta == {"mime": "application/pdf", "pages": 3}
    meta, body = storage.inspect_upload(png_bytes(7, 5))
    assert meta == {"mime": "image/png", "width": 7, "height": 5} and body.startswith(b"\x89PNG")
    with pytest.raises(storage.UploadRejected) as refused:
        storage.inspect_upload(png_pixel_bomb())
    assert refused.value.code == "pixels"


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (HTML_PAGE, "type"),
        (SVG_IMAGE, "type"),
        (b"%PDF-1.4\n%%EOF", "corrupt"),
        (pdf_bytes(password="x"), "encrypted"),
        (pdf_bytes(4), "pages"),
        (png_pixel_bomb(20_000, 20_000), "pixels"),
        (png_pixel_bomb(60, 60), "corrupt"),  # the header is fine, the pixel data is not
    ],
)
def test_filecheck_refusals(data, code):
    with pytest.raises(filecheck.Refused) as refused:
        filecheck.inspect(data, max_pixels=40_000_000, max_pages=3)
    assert refused.value.code == code


def test_filecheck_strips_exif():
    meta, body = filecheck.inspect(jpeg_with_gps(), max_pixels=40_000_000, max_pages=3)
    assert meta == {"mime": "image/jpeg", "width": 64, "height": 48}
    assert b"Exif" not in body and b"AcmeCam" not in body


# --- Files follow the transaction ---------------------------------------------------------------------------


def test_new_file_is_removed_when_the_transaction_rolls_back(app):
    import sqlalchemy as sa

    db.session.execute(sa.text("SELECT 1"))  # a transaction is under way, as in a request
    stored = storage.store_upload(png_bytes())
    storage.delete_on_rollback(stored.key)
    db.session.rollback()
    assert not storage.path_for(stored.key).exists()


def test_new_file_stays_when_the_transaction_commits(app):
    stored = storage.store_upload(png_bytes())
    storage.delete_on_rollback(stored.key)
    db.session.commit()
    db.session.rollback()  # a later rollback does not concern the committed file
    assert storage.path_for(stored.key).is_file()
    storage.delete_stored(stored.key)


def test_doomed_file_goes_only_after_commit(app):
    stored = storage.store_upload(png_bytes())
    path = storage.path_for(stored.key)
    storage.delete_after_commit(stored.key)
    db.session.rollback()
    assert path.is_file()  # rolled back: the deletion did not happen
    storage.delete_after_commit(stored.key)
    assert path.is_file()
    db.session.commit()
    assert not path.exists()


def test_a_rolled_back_savepoint_keeps_the_decision_for_the_outer_transaction(app):
    stored = storage.store_upload(png_bytes())
    storage.delete_on_rollback(stored.key)
    savepoint = db.session.begin_nested()
    savepoint.rollback()
    assert storage.path_for(stored.key).is_file()
    db.session.rollback()
    assert not storage.path_for(stored.key).exists()
