"""Evidence file storage: content sniffing, bounded inspection, random keys outside any static folder.

Uploads are inspected by ``app.core.filecheck`` in a child process limited in CPU time, memory and wall-clock
time, so a hostile file can neither exhaust the web worker's memory nor hang it. Accepted files are stored under
``STORAGE_DIR/<first two hex>/<random 32 hex>`` — never under a name the user chose — with their SHA-256.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import resource
import secrets
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _l

from app.config import PROJECT_DIR
from app.core.db import after_commit, after_rollback
from app.core.errors import UserError

_KEY_PATTERN = re.compile(r"^[0-9a-f]{32}$")
INSPECTION_CPU_SECONDS = 15
INSPECTION_WALL_SECONDS = 30
INSPECTION_MEMORY_BYTES = 1024 * 1024 * 1024

REFUSAL_MESSAGES = {
    "type": _l("Only PDF, JPEG and PNG files are accepted (the file's content was checked, not its name)."),
    "pixels": _l("This image has too many pixels. Please upload a smaller image."),
    "corrupt": _l("This file is damaged or could not be read."),
    "encrypted": _l("This PDF is password-protected. Please upload a version without a password."),
    "pages": _l("This PDF has too many pages."),
    "too_big": _l("This file is larger than the allowed size."),
    "empty": _l("This file is empty."),
    "quota": _l("Your evidence library is full. Delete files you no longer need."),
    "timeout": _l("This file took too long to check. Please upload a simpler file."),
}


class UploadRejected(UserError):
    """An upload refused with a translated reason (``message``); ``code`` says why (a key of
    :data:`REFUSAL_MESSAGES`). The message goes onto the upload field (named ``file`` on the forms by default)."""

    def __init__(self, code: str, field: str | None = "file"):
        super().__init__(REFUSAL_MESSAGES.get(code, REFUSAL_MESSAGES["corrupt"]), field)
        self.args = (code,)  # str(refusal) is the code, for the logs
        self.code = code


@dataclass(frozen=True)
class StoredFile:
    """What is known about a stored file."""

    key: str
    sha256: str
    size: int
    mime: str
    width: int | None = None
    height: int | None = None
    pages: int | None = None
    #: Active content (scripts, automatic actions, embedded files…) was removed from the uploaded PDF.
    cleaned: bool = False


def _storage_dir() -> Path:
    return Path(current_app.config["STORAGE_DIR"])


def path_for(key: str) -> Path:
    """The file path of a storage key (keys are validated: no path can be injected)."""
    if not _KEY_PATTERN.match(key or ""):
        raise ValueError("invalid storage key")
    return _storage_dir() / key[:2] / key


def _limit_child_resources() -> None:  # pragma: no cover - runs in the child process
    resource.setrlimit(resource.RLIMIT_CPU, (INSPECTION_CPU_SECONDS, INSPECTION_CPU_SECONDS))
    resource.setrlimit(resource.RLIMIT_AS, (INSPECTION_MEMORY_BYTES, INSPECTION_MEMORY_BYTES))


def inspect_upload(data: bytes) -> tuple[dict, bytes]:
    """Run the bounded inspection; returns (description, bytes to store) or raises :class:`UploadRejected`."""
    config = current_app.config
    if not data:
        raise UploadRejected("empty")
    if len(data) > config["EVIDENCE_MAX_BYTES"]:
        raise UploadRejected("too_big")
    command = [
        sys.executable,
        "-m",
        "app.core.filecheck",
        str(config["EVIDENCE_MAX_PIXELS"]),
        str(config["EVIDENCE_MAX_PDF_PAGES"]),
    ]
    try:
        completed = subprocess.run(  # noqa: S603 - fixed command, data on stdin
            command,
            input=data,
            capture_output=True,
            timeout=INSPECTION_WALL_SECONDS,
            preexec_fn=_limit_child_resources,
            cwd=PROJECT_DIR,
            env={"PATH": os.environ.get("PATH", "")},
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise UploadRejected("timeout") from None
    header, _sep, body = completed.stdout.partition(b"\n")
    if completed.returncode != 0 or not header:
        # Killed by a resource limit, or crashed on a hostile file.
        raise UploadRejected("corrupt")
    meta = json.loads(header)
    if "refused" in meta:
        raise UploadRejected(meta["refused"])
    return meta, body


def store_upload(data: bytes, *, room: int | None = None) -> StoredFile:
    """Inspect and store an upload; returns its key and description. Raises :class:`UploadRejected`.

    :param room: bytes left in the owner's quota (``None``: no quota), checked on what is stored.
    """
    meta, content = inspect_upload(data)
    # Re-encoding an image can make it larger than the upload: the limits hold for the bytes stored.
    if len(content) > current_app.config["EVIDENCE_MAX_BYTES"]:
        raise UploadRejected("too_big")
    if room is not None and len(content) > room:
        raise UploadRejected("quota")
    key = secrets.token_hex(16)
    path = path_for(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".part")
    temporary.write_bytes(content)
    os.replace(temporary, path)
    return StoredFile(
        key=key,
        sha256=hashlib.sha256(content).hexdigest(),
        size=len(content),
        mime=meta["mime"],
        width=meta.get("width"),
        height=meta.get("height"),
        pages=meta.get("pages"),
        cleaned=bool(meta.get("cleaned")),
    )


def delete_stored(key: str) -> None:
    """Remove a stored file (missing files are ignored)."""
    path_for(key).unlink(missing_ok=True)


# --- Keeping files and rows in step ------------------------------------------------------------------------
# A file is written before its row is committed and removed only after its row is gone: the session remembers
# which files to delete if the transaction rolls back (new files) or once it commits (deleted rows).


def delete_on_rollback(key: str) -> None:
    """Forget a freshly stored file if the current transaction rolls back."""
    after_rollback(lambda: _discard(key))


def delete_after_commit(key: str) -> None:
    """Delete a stored file once the current transaction has committed."""
    after_commit(lambda: _discard(key))


def _discard(key: str) -> None:
    try:
        delete_stored(key)
    except (OSError, ValueError):
        current_app.logger.exception("could not delete stored file %s", key)
