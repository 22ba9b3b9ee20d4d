"""Uploads respect their limits: the stored (re-encoded) size counts against the size limit and the quota, and
uploads are rate-limited across every form that takes a file."""

from __future__ import annotations

import html
import io
import random
import re
import types

import pytest

from app.claims import operations as ops
from tests.claims.conftest import stored_files

# --- Stored sizes --------------------------------------------------------------------------------------------


def grown_jpeg() -> tuple[bytes, int]:
    """A noisy photo saved at a very low JPEG quality: re-encoding it (quality 90) makes it larger.
    Returns the upload and the size it is stored at."""
    from PIL import Image

    from app.core import storage

    rng = random.Random(7)
    image = Image.new("RGB", (200, 150))
    image.putdata([(rng.randrange(256), rng.randrange(256), rng.randrange(256)) for _ in range(200 * 150)])
    output = io.BytesIO()
    image.save(output, "JPEG", quality=5)
    data = output.getvalue()
    _meta, stored = storage.inspect_upload(data)
    assert len(stored) > len(data) + 100
    return data, len(stored)


def upload(client, data: bytes):
    return client.post(
        "/portfolio/evidence",
        data={"file": (io.BytesIO(data), "photo.jpg"), "title": "Photo"},
        content_type="multipart/form-data",
    )


def file_error(response) -> str:
    match = re.search(r'<p class="error-message" id="file-error">(.*?)</p>', response.get_data(as_text=True), re.S)
    assert match, "no error next to the file field"
    return html.unescape(re.sub(r"<[^>]+>", "", match.group(1))).replace("Error:", "").strip()


@pytest.fixture
def uploader(app, create_user, login):
    user = create_user("uploader@example.org", name="Ulla", locale="en")
    client = app.test_client()
    login(client, user)
    return types.SimpleNamespace(user=user, client=client)


def test_the_size_limit_holds_for_the_re_encoded_file(app, uploader, monkeypatch, storage_dir):
    data, stored_size = grown_jpeg()
    monkeypatch.setitem(app.config, "EVIDENCE_MAX_BYTES", (len(data) + stored_size) // 2)
    before = stored_files(storage_dir)
    response = upload(uploader.client, data)
    assert response.status_code == 422
    assert file_error(response) == "This file is larger than the allowed size."
    assert stored_files(storage_dir) == before
    assert ops.used_storage(uploader.user) == 0


def test_the_quota_holds_for_the_re_encoded_file(app, uploader, monkeypatch, storage_dir):
    data, stored_size = grown_jpeg()
    monkeypatch.setitem(app.config, "EVIDENCE_QUOTA_BYTES", (len(data) + stored_size) // 2)
    before = stored_files(storage_dir)
    response = upload(uploader.client, data)
    assert response.status_code == 422
    assert file_error(response) == "Your evidence library is full. Delete files you no longer need."
    assert stored_files(storage_dir) == before
    assert ops.used_storage(uploader.user) == 0

    monkeypatch.setitem(app.config, "EVIDENCE_QUOTA_BYTES", stored_size)
    assert upload(uploader.client, data).status_code == 302
    assert ops.used_storage(uploader.user) == stored_size


# --- Upload rate limit ---------------------------------------------------------------------------------------


def test_uploads_are_rate_limited(limited_app):
    client = limited_app.test_client()
    for attempt in range(10):
        response = client.post(
            "/portfolio/evidence", data={"file": (io.BytesIO(b"x"), "a.pdf")}, content_type="multipart/form-data"
        )
        assert response.status_code == 302, attempt  # to the login page: counted all the same
    response = client.post(
        "/portfolio/evidence", data={"file": (io.BytesIO(b"x"), "a.pdf")}, content_type="multipart/form-data"
    )
    assert response.status_code == 429
    assert client.get("/portfolio/evidence").status_code == 302  # reading is not limited
    # The limit is shared by every form that takes a file…
    claim_upload = client.post(
        "/portfolio/claims/1/edit", data={"file": (io.BytesIO(b"x"), "a.pdf")}, content_type="multipart/form-data"
    )
    assert claim_upload.status_code == 429
    # …but saving a claim without a new file is not an upload.
    assert client.post("/portfolio/claims/1/edit", data={"situation": "x"}).status_code == 302
