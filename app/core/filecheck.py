"""Inspection of untrusted uploads, run in a separate, resource-limited process.

``python -m app.core.filecheck`` reads a file on stdin, decides its type from its content (never from its name),
and writes one JSON line describing it, followed by the bytes to store: images are decoded and re-encoded (which
drops EXIF/GPS and anything hidden after the image data), PDFs are parsed to refuse encrypted or oversized ones and
kept as uploaded. Decoding hostile files can take much memory or time (pixel bombs, deeply nested PDFs), hence the
separate process: the parent sets CPU and address-space limits and a wall-clock timeout (see ``app.core.storage``).
"""

from __future__ import annotations

import io
import json
import sys

import filetype

ALLOWED_TYPES = {"application/pdf": "pdf", "image/jpeg": "jpeg", "image/png": "png"}


class Refused(Exception):
    """The file is not acceptable; ``code`` names the reason for the parent to translate."""

    def __init__(self, code: str, **details):
        super().__init__(code)
        self.code = code
        self.details = details


def sniff(data: bytes) -> str:
    """The MIME type decided from the first bytes, among the allowed ones; raises :class:`Refused`."""
    kind = filetype.guess(data[:8192])
    if kind is None or kind.mime not in ALLOWED_TYPES:
        raise Refused("type")
    return kind.mime


def _normalise_image(data: bytes, mime: str, max_pixels: int) -> tuple[bytes, dict]:
    from PIL import Image, ImageOps

    Image.MAX_IMAGE_PIXELS = max_pixels
    try:
        with Image.open(io.BytesIO(data)) as image:
            # The header gives the size before any pixel is decoded: refuse bombs here.
            width, height = image.size
            if width * height > max_pixels:
                raise Refused("pixels", width=width, height=height)
            image.load()
            image = ImageOps.exif_transpose(image)
            output = io.BytesIO()
            if mime == "image/jpeg":
                if image.mode not in ("RGB", "L"):
                    image = image.convert("RGB")
                image.save(output, format="JPEG", quality=90, optimize=True)
            else:
                if image.mode not in ("RGB", "RGBA", "L", "LA", "P"):
                    image = image.convert("RGBA")
                image.save(output, format="PNG", optimize=True)
    except Refused:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise Refused("pixels") from None
    except Exception:  # any decoding failure means a broken or hostile file
        raise Refused("corrupt") from None
    return output.getvalue(), {"width": image.width, "height": image.height}


def _check_pdf(data: bytes, max_pages: int) -> dict:
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise Refused("encrypted")
        pages = len(reader.pages)
    except Refused:
        raise
    except Exception:  # any parsing failure means a broken or hostile file
        raise Refused("corrupt") from None
    if pages < 1:
        raise Refused("corrupt")
    if pages > max_pages:
        raise Refused("pages", pages=pages, max_pages=max_pages)
    return {"pages": pages}


def inspect(data: bytes, *, max_pixels: int, max_pages: int) -> tuple[dict, bytes]:
    """Decide type, validate and normalise ``data``; returns (description, bytes to store)."""
    mime = sniff(data)
    if mime == "application/pdf":
        return {"mime": mime, **_check_pdf(data, max_pages)}, data
    normalised, meta = _normalise_image(data, mime, max_pixels)
    return {"mime": mime, **meta}, normalised


def main() -> int:
    max_pixels, max_pages = int(sys.argv[1]), int(sys.argv[2])
    data = sys.stdin.buffer.read()
    try:
        meta, output = inspect(data, max_pixels=max_pixels, max_pages=max_pages)
    except Refused as refusal:
        sys.stdout.write(json.dumps({"refused": refusal.code, **refusal.details}) + "\n")
        return 0
    sys.stdout.buffer.write(json.dumps(meta).encode() + b"\n" + output)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
