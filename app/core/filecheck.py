"""Inspection of untrusted uploads, run in a separate, resource-limited process.

``python -m app.core.filecheck`` reads a file on stdin, decides its type from its content (never from its name),
and writes one JSON line describing it, followed by the bytes to store: images are decoded and re-encoded (which
drops EXIF/GPS and anything hidden after the image data), PDFs are parsed to refuse encrypted or oversized ones and
kept as uploaded unless they carry active content — JavaScript, automatic actions (/OpenAction, /AA), actions that
launch programs, import or submit data or open other files, embedded files, XFA forms, rich media, sound, movie
and 3D annotations — which is removed by rewriting the file with pypdf (pages, text, images and plain links kept;
objects no longer referenced are dropped). Trainers and advisers open evidence in desktop readers, where such
content runs; the description says ``"cleaned": true`` so that they are told.

Decoding hostile files can take much memory or time (pixel bombs, deeply nested PDFs), hence the separate
process: the parent sets CPU and address-space limits and a wall-clock timeout (see ``app.core.storage``).
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
    from PIL import Image, ImageFile, ImageOps  # optional dependency

    Image.MAX_IMAGE_PIXELS = max_pixels
    # A truncated image is a broken file: refused, whatever another import decided for this process (importing
    # WeasyPrint turns Pillow's LOAD_TRUNCATED_IMAGES on). The inspection runs in its own child process.
    ImageFile.LOAD_TRUNCATED_IMAGES = False
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
    from pypdf import PdfReader  # optional dependency

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


#: Dictionary keys that hold scripts, automatic actions, embedded files, XFA or rich media.
ACTIVE_KEYS = ("/JavaScript", "/JS", "/OpenAction", "/AA", "/EmbeddedFiles", "/XFA", "/RichMediaContent")
#: Action types that run code, start programs, send or load data, open other files or play media.
ACTIVE_ACTIONS = {
    "/JavaScript",
    "/Launch",
    "/ImportData",
    "/SubmitForm",
    "/GoToR",
    "/GoToE",
    "/RichMediaExecute",
    "/Rendition",
    "/Sound",
    "/Movie",
    "/GoTo3DView",
}
#: Annotations that embed files or play media.
ACTIVE_ANNOTATIONS = {"/RichMedia", "/FileAttachment", "/Screen", "/Movie", "/Sound", "/3D"}


def _is_active_action(value) -> bool:
    from pypdf.generic import ArrayObject, DictionaryObject  # optional dependency

    value = value.get_object() if value is not None else None
    if isinstance(value, ArrayObject):
        return any(_is_active_action(item) for item in value)
    return isinstance(value, DictionaryObject) and value.get("/S") in ACTIVE_ACTIONS


def _strip_active(root, *, apply: bool) -> bool:
    """Walk every object reachable from ``root``; with ``apply``, remove what is active. Returns whether any was
    found. Iterative (a hostile file may nest deeply), each indirect object visited once."""
    from pypdf.generic import ArrayObject, DictionaryObject, IndirectObject  # optional dependency

    found, seen, stack = False, set(), [root]
    while stack:
        item = stack.pop()
        if isinstance(item, IndirectObject):
            if item.idnum in seen:
                continue
            seen.add(item.idnum)
            item = item.get_object()
        if isinstance(item, DictionaryObject):
            doomed = [k for k in ACTIVE_KEYS if k in item]
            doomed += [k for k in ("/A", "/Next") if k in item and _is_active_action(item[k])]
            annotations = item.get("/Annots")
            if annotations is not None:
                annotations = annotations.get_object()
                kept = [a for a in annotations if a.get_object().get("/Subtype") not in ACTIVE_ANNOTATIONS]
                if len(kept) != len(annotations):
                    found = True
                    if apply:
                        annotations[:] = kept
            found = found or bool(doomed)
            if apply:
                for key in doomed:
                    del item[key]
            stack.extend(v for k, v in item.items() if k != "/Parent")
        elif isinstance(item, ArrayObject):
            stack.extend(item)
    return found


def _without_active_content(data: bytes) -> bytes | None:
    """The PDF rewritten without active content, or ``None`` when it has none."""
    from pypdf import PdfReader, PdfWriter  # optional dependency

    reader = PdfReader(io.BytesIO(data), strict=False)
    if not _strip_active(reader.trailer["/Root"], apply=False):
        return None
    writer = PdfWriter(clone_from=reader)
    _strip_active(writer._root_object, apply=True)
    writer.compress_identical_objects()  # also drops the objects no longer referenced
    output = io.BytesIO()
    writer.write(output)
    return output.getvalue()


def _clean_pdf(data: bytes, max_pages: int) -> tuple[dict, bytes]:
    meta = _check_pdf(data, max_pages)
    try:
        cleaned = _without_active_content(data)
    except Exception:  # any failure to rewrite means a broken or hostile file
        raise Refused("corrupt") from None
    if cleaned is None:
        return meta, data
    # The rewritten file is checked like an upload: it must still open, with the same pages.
    if _check_pdf(cleaned, max_pages)["pages"] != meta["pages"]:
        raise Refused("corrupt")
    return {**meta, "cleaned": True}, cleaned


def inspect(data: bytes, *, max_pixels: int, max_pages: int) -> tuple[dict, bytes]:
    """Decide type, validate and normalise ``data``; returns (description, bytes to store)."""
    mime = sniff(data)
    if mime == "application/pdf":
        meta, output = _clean_pdf(data, max_pages)
        return {"mime": mime, **meta}, output
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
