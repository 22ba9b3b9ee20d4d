"""Helpers shared by the validation tests."""

from __future__ import annotations

import hashlib
import secrets
import struct
import zlib


def store_evidence(owner, data: bytes, *, title: str = "Evidence", mime: str = "application/pdf"):
    """An evidence row with its file written to storage, without the upload inspection (fast, no subprocess)."""
    from app.claims.models import Evidence
    from app.core.storage import path_for
    from app.extensions import db

    key = secrets.token_hex(16)
    evidence = Evidence(
        owner_id=owner.id,
        title=title,
        storage_key=key,
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        mime=mime,
        pages=1 if mime == "application/pdf" else None,
    )
    db.session.add(evidence)
    db.session.flush()
    path = path_for(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return evidence


def tiny_png(rgb=(200, 30, 30)) -> bytes:
    """A valid 2x2 PNG image."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    row = b"\x00" + bytes(rgb) * 2
    header = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(row * 2)) + chunk(b"IEND", b"")
