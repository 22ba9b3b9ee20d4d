"""Fixtures of the portfolio tests: the shipped frameworks imported in the test's transaction, the shared
``volunteer`` (tests/conftest.py) signed in with a mission of their own, and builders of real (and hostile)
evidence files."""

from __future__ import annotations

import io
import struct
import zlib
from datetime import date
from pathlib import Path
from types import SimpleNamespace

import pytest

from tests import cast

COMPETENCIES = Path(__file__).resolve().parents[2] / "competencies"


# --- Evidence files --------------------------------------------------------------------------------------------


def png_bytes(width: int = 40, height: int = 30, colour=(20, 120, 200)) -> bytes:
    from PIL import Image

    output = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(output, "PNG")
    return output.getvalue()


def jpeg_with_gps() -> bytes:
    """A photo whose EXIF says where it was taken (Cusco) and with which camera."""
    from PIL import ExifTags, Image

    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "AcmeCam"
    exif[ExifTags.IFD.GPSInfo] = {
        ExifTags.GPS.GPSLatitudeRef: "S",
        ExifTags.GPS.GPSLatitude: (13.0, 31.0, 7.0),
        ExifTags.GPS.GPSLongitudeRef: "W",
        ExifTags.GPS.GPSLongitude: (71.0, 58.0, 3.0),
    }
    output = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(output, "JPEG", exif=exif.tobytes())
    return output.getvalue()


def png_pixel_bomb(width: int = 100_000, height: int = 100_000) -> bytes:
    """A tiny, valid-looking PNG whose header declares ``width`` by ``height`` pixels (30 GB once decoded)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 1000))
        + chunk(b"IEND", b"")
    )


def pdf_bytes(pages: int = 1, *, password: str | None = None) -> bytes:
    """A real A4 PDF of ``pages`` blank pages (``cast.blank_pdf``)."""
    return cast.blank_pdf(pages, width=595, height=842, password=password)


HTML_PAGE = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
SVG_IMAGE = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b"<script>alert(1)</script><rect width='10' height='10'/></svg>"
)


@pytest.fixture
def files():
    """The builders above, for tests: ``files.png()``, ``files.pdf(3)``, ``files.bomb()``…"""
    return SimpleNamespace(
        png=png_bytes, jpeg_gps=jpeg_with_gps, bomb=png_pixel_bomb, pdf=pdf_bytes, html=HTML_PAGE, svg=SVG_IMAGE
    )


@pytest.fixture
def storage_dir(app) -> Path:
    return Path(app.config["STORAGE_DIR"])


def stored_files(storage_dir: Path) -> set[Path]:
    """Every file under the storage directory (the directory is shared by the whole test session)."""
    return {p for p in storage_dir.rglob("*") if p.is_file()} if storage_dir.exists() else set()


# --- Frameworks ------------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def shipped_framework_files():
    """The shipped YAML files, parsed (and schema-checked) once for the session."""
    from app.frameworks.importers.yaml_format import parse_files

    return parse_files([COMPETENCIES])


class Frameworks(SimpleNamespace):
    def node(self, code: str):
        """The node with ``code`` in the current version of the shipped frameworks (codes are unique across them)."""
        import sqlalchemy as sa

        from app.extensions import db
        from app.frameworks.models import FrameworkNode, FrameworkVersion

        return db.session.scalars(
            sa.select(FrameworkNode)
            .join(FrameworkVersion, FrameworkNode.version_id == FrameworkVersion.id)
            .where(FrameworkNode.code == code, FrameworkVersion.is_current.is_(True))
        ).one()


@pytest.fixture
def frameworks(db_session, shipped_framework_files):
    """The shipped frameworks and crosswalks imported inside the test's transaction (rolled back after it)."""
    from app.frameworks import operations as ops

    parsed_frameworks, crosswalks = shipped_framework_files
    results = ops.import_batch(parsed_frameworks, crosswalks)
    return Frameworks(results=results)


# --- People and experiences ------------------------------------------------------------------------------------


@pytest.fixture
def signed_in(client, volunteer, login):
    login(client, volunteer)
    return client


@pytest.fixture
def make_experience():
    def factory(owner, title="Chargée de projet", kind="mission", **values):
        from app.experiences import operations as ops
        from app.experiences.models import ExperienceKind

        defaults = dict(start_date=date(2023, 1, 9), end_date=date(2024, 6, 30))
        if kind == "mission":
            defaults.update(status_code="VSI", host_country="PE")
        defaults.update(values)
        return ops.create_experience(owner, ops.ExperienceData(kind=ExperienceKind(kind), title=title, **defaults))

    return factory


@pytest.fixture
def mission(volunteer, make_experience):
    """The claims tests' mission ("Chargée de projet", January 2023 to June 2024) of the shared ``volunteer``: it
    stands in for the shared ``mission`` in this package."""
    return make_experience(volunteer)
