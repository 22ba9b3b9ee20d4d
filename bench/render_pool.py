"""Benchmark: time per render of a small signed document, cold child process vs the warm render pool.

Each render is a one-page HTML document turned into a signed PDF/A-3a by the sandboxed renderer, with the same
limits as the app (``RenderLimits`` defaults). ``cold`` starts a fresh interpreter per render (``python -m``, which
imports WeasyPrint and pyHanko every time); ``warm`` forks each render from the pool's server process, where those
libraries are already imported. Renders alternate between the two, so a busy machine weighs on both alike.
Prints the median, p95 and mean seconds per render of each, and the CPU time the child spent (which the load of a
shared machine does not inflate).

    .venv/bin/python bench/render_pool.py [--renders 10]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

HTML = """<!doctype html><html lang="fr"><head><meta charset="utf-8"><title>Attestation</title>
<style>body { font-family: sans-serif; } h1 { font-size: 18pt; }</style></head>
<body><h1>Attestation de mission</h1><p>Camille Martin a accompli une mission de soutien scolaire.</p></body></html>"""


def job(instance_dir: str) -> dict:
    """One small render job, signed with the instance key (generated in ``instance_dir`` on first use)."""
    from app.printing.signing import signing_config

    signing = signing_config({"INSTANCE_DIR": instance_dir, "BASE_URL": "https://acquis.example.org"})
    return {
        "html": HTML,
        "variant": "pdf/a-3a",
        "attachments": [],
        "signing": {"key_path": signing.key_path, "cert_path": signing.cert_path, "passphrase": signing.passphrase},
        "signature": {"reason": "bench", "location": "https://acquis.example.org", "name": "Acquis"},
    }


def main() -> None:
    from app.printing.sandbox import RenderLimits, render_in_child, warm_up

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--renders", type=int, default=10)
    args = parser.parse_args()
    instance_dir = tempfile.mkdtemp(prefix="acquis-renderpool-")
    payload = job(instance_dir)
    started = time.perf_counter()
    warm_up()
    print(f"warm pool server started in {time.perf_counter() - started:.3f} s (it loads the libraries meanwhile)")
    render_in_child(payload, instance_dir=instance_dir, limits=RenderLimits(warm=True))  # waits for the loading
    # Interleaved, so that the load of a shared machine weighs on both alike.
    times: dict[str, list[float]] = {"cold child process": [], "warm pool": []}
    cpu: dict[str, list[float]] = {"cold child process": [], "warm pool": []}
    for _ in range(args.renders):
        for name, warm in (("cold child process", False), ("warm pool", True)):
            started = time.perf_counter()
            output = render_in_child(payload, instance_dir=instance_dir, limits=RenderLimits(warm=warm))
            times[name].append(time.perf_counter() - started)
            cpu[name].append(output.cpu_seconds)
            assert output.pdf.startswith(b"%PDF") and output.pages == 1
    for name, values in times.items():
        values.sort()
        p95 = values[min(len(values) - 1, 95 * (len(values) - 1) // 100)]
        print(
            f"{name:>20}: median {statistics.median(values):.3f} s, p95 {p95:.3f} s, "
            f"mean {statistics.fmean(values):.3f} s over {len(values)} renders; "
            f"child CPU median {statistics.median(cpu[name]):.3f} s"
        )
    print(f"load average during the run: {os.getloadavg()[0]:.2f} (2 cores)")


if __name__ == "__main__":
    main()
