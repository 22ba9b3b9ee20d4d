"""The sandboxed renderer: HTML → signed PDF/A in a child process with CPU, memory and wall-clock limits.

``python -m app.documents.worker`` reads one job (JSON on stdin: the HTML, the attachments, the signing key paths)
and writes a JSON line (pages, refused URLs) followed by the signed PDF. It imports neither Flask nor the database:
it only knows WeasyPrint (through :mod:`app.core.pdf`, whose fetcher serves bundled assets and ``data:`` URIs only)
and pyHanko.

The parent side (:func:`render_in_child`) runs the child under ``setrlimit`` (CPU seconds, address space) and a wall
timeout, and first takes one of a fixed number of *slots* — file locks under ``INSTANCE_DIR/render-slots`` — so the
limit on concurrent renders holds across all the gunicorn workers of a machine (``DOCUMENT_RENDER_SLOTS``, by default
one per two cores). A render that exceeds a limit ends with :class:`RenderFailed` and nothing else is affected.
"""

from __future__ import annotations

import base64
import fcntl
import json
import os
import resource
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from app.config import PROJECT_DIR


class RenderFailed(Exception):
    """``code``: ``timeout`` (wall clock), ``limits`` (CPU or memory), ``busy`` (no free slot), ``error``."""

    def __init__(self, code: str, detail: str = ""):
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class RenderLimits:
    cpu_seconds: int = 120
    memory_bytes: int = 2 * 1024 * 1024 * 1024
    wall_seconds: float = 180
    slot_wait_seconds: float = 300
    slots: int = 1

    @classmethod
    def from_config(cls, config) -> RenderLimits:
        """Limits from the app config, else the environment (same names), else the defaults."""
        return cls(
            cpu_seconds=int(setting(config, "DOCUMENT_RENDER_CPU_SECONDS", 120)),
            memory_bytes=int(setting(config, "DOCUMENT_RENDER_MEMORY_BYTES", 2 * 1024**3)),
            wall_seconds=float(setting(config, "DOCUMENT_RENDER_WALL_SECONDS", 180)),
            slot_wait_seconds=float(setting(config, "DOCUMENT_RENDER_QUEUE_SECONDS", 300)),
            slots=int(setting(config, "DOCUMENT_RENDER_SLOTS", 0) or max(1, (os.cpu_count() or 2) // 2)),
        )


def setting(config, name: str, default=None):
    """A documents setting: the app config first (tests override it there), then the environment."""
    value = config.get(name)
    if value in (None, ""):
        value = os.environ.get(name)
    return default if value in (None, "") else value


@dataclass
class RenderOutput:
    pdf: bytes
    pages: int
    denied: list[str]
    seconds: float
    peak_rss_bytes: int


@contextmanager
def render_slot(instance_dir: str, limits: RenderLimits):
    """Hold one of ``limits.slots`` file locks (shared by every process using ``instance_dir``)."""
    directory = Path(instance_dir) / "render-slots"
    directory.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + limits.slot_wait_seconds
    while True:
        for index in range(limits.slots):
            handle = open(directory / f"slot-{index}.lock", "w")  # noqa: SIM115 - held until the render ends
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            try:
                yield index
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
                handle.close()
            return
        if time.monotonic() > deadline:
            raise RenderFailed("busy", "no free render slot")
        time.sleep(0.05)


MEMORY_LIMIT_ENV = "ACQUIS_RENDER_MEMORY_BYTES"


def _limiter(limits: RenderLimits):
    def apply():  # pragma: no cover - runs in the child
        resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds))
        os.setsid()

    return apply


def _load_libraries_then_cap_memory() -> None:  # pragma: no cover - runs in the child
    """Import the renderer and the signer, then cap the address space (``RLIMIT_AS``).

    Capping before the imports would make a tight limit fail while loading Pango or Cairo, with errors that look
    like missing libraries; capping after them bounds exactly what the untrusted content can make us allocate, and
    running out then raises MemoryError (or kills the process), which the parent reports as "too large".
    """
    import pyhanko.sign.signers  # noqa: F401
    import weasyprint  # noqa: F401
    from pyhanko.sign.timestamps import aiohttp_client  # noqa: F401 - used when TSA_URL is set

    limit = int(os.environ.get(MEMORY_LIMIT_ENV, "0"))
    if limit:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def render_in_child(job: dict, *, instance_dir: str, limits: RenderLimits) -> RenderOutput:
    """Render and sign ``job`` (see :func:`main`) in a bounded child process; raises :class:`RenderFailed`."""
    data = json.dumps(job).encode()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "LANG": "C.UTF-8",
        "HOME": str(instance_dir),
        MEMORY_LIMIT_ENV: str(limits.memory_bytes),
    }
    with render_slot(instance_dir, limits):
        started = time.monotonic()
        process = subprocess.Popen(
            [sys.executable, "-m", "app.documents.worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            preexec_fn=_limiter(limits),
            cwd=PROJECT_DIR,
            env=env,
        )
        try:
            stdout, stderr = process.communicate(data, timeout=limits.wall_seconds)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            raise RenderFailed("timeout", f"more than {limits.wall_seconds} s") from None
        seconds = time.monotonic() - started
    header, _sep, body = stdout.partition(b"\n")
    if process.returncode != 0 or not header:
        # Killed by SIGXCPU/SIGKILL (CPU limit), or MemoryError under the address-space limit.
        tail = stderr.decode(errors="replace")[-500:]
        code = "limits" if process.returncode < 0 or "MemoryError" in tail else "error"
        raise RenderFailed(code, tail)
    meta = json.loads(header)
    if "error" in meta:
        raise RenderFailed("limits" if meta["error"] == "MemoryError" else "error", meta.get("detail", ""))
    return RenderOutput(
        pdf=body,
        pages=int(meta.get("pages", 0)),
        denied=list(meta.get("denied", [])),
        seconds=seconds,
        peak_rss_bytes=int(meta.get("peak_rss_bytes", 0)),
    )


def run(job: dict) -> tuple[dict, bytes]:
    """Render and sign one job in this process (the child's body; also used by the benchmark)."""
    from app.core.pdf import PdfAttachment, render_full
    from app.documents.signing import SigningConfig, sign_pdf

    attachments = [
        PdfAttachment(
            name=item["name"],
            data=base64.b64decode(item["data_b64"]),
            mime=item.get("mime", "application/json"),
            description=item.get("description", ""),
            relationship=item.get("relationship", "Data"),
        )
        for item in job.get("attachments", [])
    ]
    result = render_full(job["html"], attachments=attachments, variant=job.get("variant", "pdf/a-3a"))
    pdf = result.pdf
    signing = job.get("signing")
    if signing:
        meta = job.get("signature", {})
        pdf = sign_pdf(
            pdf,
            SigningConfig(
                signing.get("key_path", ""),
                signing.get("cert_path", ""),
                signing.get("passphrase", ""),
                key_pem=signing.get("key_pem", ""),
                cert_pem=signing.get("cert_pem", ""),
                tsa_url=signing.get("tsa_url", ""),
            ),
            reason=meta.get("reason", ""),
            location=meta.get("location", ""),
            name=meta.get("name", ""),
        )
    return {"pages": result.pages, "denied": result.denied}, pdf


def main() -> int:  # pragma: no cover - exercised through render_in_child
    import logging

    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    job = json.loads(sys.stdin.buffer.read())
    try:
        _load_libraries_then_cap_memory()
        meta, pdf = run(job)
    except MemoryError:
        sys.stdout.write(json.dumps({"error": "MemoryError"}) + "\n")
        return 0
    # The child's own high-water mark (the parent's RUSAGE_CHILDREN would mix in every other child it reaped).
    meta["peak_rss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    sys.stdout.buffer.write(json.dumps(meta).encode() + b"\n" + pdf)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
