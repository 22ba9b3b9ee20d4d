"""The sandboxed renderer: HTML → signed PDF/A in a child process with CPU, memory and wall-clock limits.

Each render runs in a process of its own, under ``setrlimit`` (CPU seconds, then address space once the libraries
are loaded), in its own session, with a minimal environment, and is killed at the wall-clock limit. Two ways to get
that process:

- **warm** (the default): a fork of the render pool's server process (:mod:`multiprocessing`'s *forkserver*,
  started once per process that renders, see :func:`warm_up`), which imported WeasyPrint, pyHanko and the fetcher
  once (:mod:`app.printing.preload`), so a render does not pay an interpreter start. The child applies the same
  limits as a cold one, renders one job and exits (one job per process: nothing of one render reaches the next);
- **cold**: ``python -m app.printing.sandbox``, a fresh interpreter reading one job (JSON on stdin) and writing a
  JSON line (pages, refused URLs) followed by the signed PDF (``DOCUMENT_RENDER_WARM=0``, or a process forked
  from the one that started the pool, which cannot reuse it).

Neither imports Flask's app or the database in the child's work: only WeasyPrint (through :mod:`app.printing.pdf`,
whose fetcher serves bundled assets and ``data:`` URIs only) and pyHanko.

The parent side (:func:`render_in_child`) first takes one of a fixed number of *slots* — file locks under
``INSTANCE_DIR/render-slots`` — so the limit on concurrent renders holds across all the gunicorn workers of a
machine (``DOCUMENT_RENDER_SLOTS``, by default one per two cores). A render that exceeds a limit ends with
:class:`RenderFailed` and nothing else is affected.
"""

from __future__ import annotations

import base64
import fcntl
import gc
import json
import logging
import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from app.config import PROJECT_DIR
from app.printing.pdf import PdfAttachment, render_full
from app.printing.signing import SigningConfig, sign_pdf


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
    #: Fork each render from the warm pool (else start a fresh interpreter per render).
    warm: bool = True

    @classmethod
    def from_config(cls, config) -> RenderLimits:
        """Limits from the app config, else the environment (same names), else the defaults."""
        return cls(
            cpu_seconds=int(setting(config, "DOCUMENT_RENDER_CPU_SECONDS", 120)),
            memory_bytes=int(setting(config, "DOCUMENT_RENDER_MEMORY_BYTES", 2 * 1024**3)),
            wall_seconds=float(setting(config, "DOCUMENT_RENDER_WALL_SECONDS", 180)),
            slot_wait_seconds=float(setting(config, "DOCUMENT_RENDER_QUEUE_SECONDS", 300)),
            slots=int(setting(config, "DOCUMENT_RENDER_SLOTS", 0) or max(1, (os.cpu_count() or 2) // 2)),
            warm=str(setting(config, "DOCUMENT_RENDER_WARM", "1")).lower() not in ("0", "false", "no", "off"),
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
    #: CPU time (user + system) the child spent, interpreter start included for a cold child.
    cpu_seconds: float = 0.0


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


def _child_environment(instance_dir: str, limits: RenderLimits) -> dict[str, str]:
    """All the child sees of the environment: no secret of the parent's settings reaches the renderer."""
    return {
        "PATH": os.environ.get("PATH", ""),
        "LANG": "C.UTF-8",
        "HOME": str(instance_dir),
        MEMORY_LIMIT_ENV: str(limits.memory_bytes),
    }


def render_in_child(job: dict, *, instance_dir: str, limits: RenderLimits) -> RenderOutput:
    """Render and sign ``job`` (see :func:`run`) in a bounded child process; raises :class:`RenderFailed`."""
    with render_slot(instance_dir, limits):
        if limits.warm and warm_up():
            return _render_warm(job, instance_dir=instance_dir, limits=limits)
        return _render_cold(job, instance_dir=instance_dir, limits=limits)


def _render_cold(job: dict, *, instance_dir: str, limits: RenderLimits) -> RenderOutput:
    """The render in a fresh interpreter (``python -m app.printing.sandbox``)."""
    data = json.dumps(job).encode()
    env = _child_environment(instance_dir, limits)
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "app.printing.sandbox"],
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
    return _output(process.returncode, stdout, stderr.decode(errors="replace")[-500:], time.monotonic() - started)


def _output(returncode: int, data: bytes, tail: str, seconds: float) -> RenderOutput:
    """The child's result (a JSON line, then the PDF), or :class:`RenderFailed` saying why there is none."""
    header, _sep, body = data.partition(b"\n")
    if returncode != 0 or not header:
        # Killed by SIGXCPU/SIGKILL (CPU limit), or MemoryError under the address-space limit.
        limits = returncode < 0 or returncode == MEMORY_EXIT or "MemoryError" in tail
        raise RenderFailed("limits" if limits else "error", tail)
    meta = json.loads(header)
    if "error" in meta:
        raise RenderFailed("limits" if meta["error"] == "MemoryError" else "error", meta.get("detail", ""))
    return RenderOutput(
        pdf=body,
        pages=int(meta.get("pages", 0)),
        denied=list(meta.get("denied", [])),
        seconds=seconds,
        peak_rss_bytes=int(meta.get("peak_rss_bytes", 0)),
        cpu_seconds=float(meta.get("cpu_seconds", 0.0)),
    )


# --- The warm pool -------------------------------------------------------------------------------------------------

#: Exit status of a warm child that ran out of memory before it could say so.
MEMORY_EXIT = 75
_pool_lock = threading.Lock()
_pool: _Pool | None = None


class _Pool:
    """This process's handle on its pool server (``python -m app.printing.pool``): a control socket over which
    each render sends one end of a fresh socket pair and receives the pid of the child forked to use it."""

    def __init__(self):
        ours, theirs = socket.socketpair()
        self.owner = os.getpid()
        self.control = ours
        self.lock = threading.Lock()
        env = {"PATH": os.environ.get("PATH", ""), "LANG": "C.UTF-8", "HOME": tempfile.gettempdir()}
        self.server = subprocess.Popen(  # noqa: S603 - our own module, fixed arguments
            [sys.executable, "-m", "app.printing.pool", str(theirs.fileno())],
            pass_fds=[theirs.fileno()],
            stdin=subprocess.DEVNULL,
            cwd=PROJECT_DIR,
            env=env,
            start_new_session=True,  # a Ctrl-C in a terminal stops the parent, which then closes the pool
        )
        theirs.close()

    def alive(self) -> bool:
        return self.owner == os.getpid() and self.server.poll() is None

    def fork(self, channel: socket.socket, request: dict) -> int:
        """Have the server fork a child that renders over ``channel``; returns the child's pid."""
        message = json.dumps(request).encode()
        with self.lock:
            socket.send_fds(self.control, [message], [channel.fileno()])
            reply = _receive_exactly(self.control, 8)
        return int.from_bytes(reply, "big")


def _receive_exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError("the render pool server has stopped")
        data += chunk
    return data


def warm_up() -> bool:
    """Start this process's render pool server now (it loads the libraries once, then forks one child per render).

    The pool belongs to the process that started it; a process forked from that one afterwards (a gunicorn worker
    of a preloading master, an RQ work horse) starts its own at its first render. Called by the RQ worker command
    before it takes jobs; the web processes start theirs at their first render. False when no pool can run.
    """
    global _pool
    with _pool_lock:
        if _pool is None or not _pool.alive():
            try:
                _pool = _Pool()
            except OSError:
                logging.getLogger(__name__).exception("render pool unavailable: rendering in fresh processes")
                _pool = None
                return False
        return True


def _render_warm(job: dict, *, instance_dir: str, limits: RenderLimits) -> RenderOutput:
    """The render in a child forked from the warm pool, under the same limits as a cold child."""
    pool = _pool
    ours, theirs = socket.socketpair()
    started = time.monotonic()
    try:
        request = {"cpu_seconds": limits.cpu_seconds, "memory_bytes": limits.memory_bytes, "home": str(instance_dir)}
        try:
            pid = pool.fork(theirs, request)
        except OSError as error:
            raise RenderFailed("error", f"render pool: {error}") from None
        theirs.close()
        try:
            ours.settimeout(limits.wall_seconds)
            ours.sendall(json.dumps(job).encode())
            ours.shutdown(socket.SHUT_WR)
            chunks = []
            while True:
                ours.settimeout(max(0.01, limits.wall_seconds - (time.monotonic() - started)))
                chunk = ours.recv(1 << 20)
                if not chunk:
                    break
                chunks.append(chunk)
        except TimeoutError:
            _kill_group(pid)
            raise RenderFailed("timeout", f"more than {limits.wall_seconds} s") from None
        except OSError:  # the child died while we were talking to it
            chunks = []
        data = b"".join(chunks)
        # No result at all: the child was killed (CPU limit, memory, signal) — reported as "too large", as the
        # cold child's death by a signal is. Every Python error is caught in the child and reported in its result.
        return _output(0 if data else MEMORY_EXIT, data, "", time.monotonic() - started)
    finally:
        ours.close()
        theirs.close()


def _kill_group(pid: int) -> None:
    """Kill the child and whatever it started (it leads its own session once it has called ``setsid``)."""
    with suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def warm_child(channel: socket.socket, request: dict) -> None:  # pragma: no cover - runs in the forked child
    """One render in a child forked by the pool server: limits, environment, the job, its result, exit."""
    out_of_memory = json.dumps({"error": "MemoryError"}).encode() + b"\n"  # ready before memory is capped
    status = 0
    try:
        os.setsid()
        tune_gc_for_one_render()
        os.environ["HOME"] = request["home"]
        os.environ[MEMORY_LIMIT_ENV] = str(request["memory_bytes"])
        resource.setrlimit(resource.RLIMIT_CPU, (request["cpu_seconds"], request["cpu_seconds"]))
        chunks = []
        while chunk := channel.recv(1 << 20):
            chunks.append(chunk)
        job = json.loads(b"".join(chunks))
        if request["memory_bytes"]:
            resource.setrlimit(resource.RLIMIT_AS, (request["memory_bytes"], request["memory_bytes"]))
        try:
            meta, pdf = run(job)
            meta.update(_usage())
            result = json.dumps(meta).encode() + b"\n" + pdf
        except MemoryError:
            result = out_of_memory
        except Exception:
            result = json.dumps({"error": "error", "detail": traceback.format_exc()[-500:]}).encode() + b"\n"
        channel.sendall(result)
    except MemoryError:
        status = MEMORY_EXIT
    except BaseException:
        status = 1
    finally:
        os._exit(status)


#: Allocations between two young-generation collections in a render child (CPython's default is 700).
RENDER_GC_THRESHOLD = 50_000


def tune_gc_for_one_render() -> None:
    """Make the cyclic garbage collector run rarely in a render child.

    A render allocates millions of short-lived objects (boxes, styles, PDF objects) that reference counting frees;
    with the default thresholds the collector ran hundreds of times over the growing layout tree, about a tenth of
    a dossier's CPU. The child renders one job and exits, and peak memory stayed the same in measurements (the
    collector still runs, every 50,000 allocations), under the same address-space limit.
    """
    gc.set_threshold(RENDER_GC_THRESHOLD, 20, 100)


def _usage() -> dict:
    """The child's own high-water mark and CPU time (the parent's RUSAGE_CHILDREN would mix in every other child it
    reaped, and does not see a warm child at all)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {"peak_rss_bytes": usage.ru_maxrss * 1024, "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 3)}


def run(job: dict) -> tuple[dict, bytes]:
    """Render and sign one job in this process (the child's body; also used by the benchmark)."""
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


def quiet_logging() -> None:
    """Only errors from the renderer's libraries reach the child's stderr (the parent's log)."""
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)


def main() -> int:  # pragma: no cover - exercised through render_in_child
    """The cold child: one job on stdin, its result on stdout."""
    quiet_logging()
    tune_gc_for_one_render()
    job = json.loads(sys.stdin.buffer.read())
    try:
        _load_libraries_then_cap_memory()
        meta, pdf = run(job)
    except MemoryError:
        sys.stdout.write(json.dumps({"error": "MemoryError"}) + "\n")
        return 0
    # The child's own high-water mark (the parent's RUSAGE_CHILDREN would mix in every other child it reaped).
    meta.update(_usage())
    sys.stdout.buffer.write(json.dumps(meta).encode() + b"\n" + pdf)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
