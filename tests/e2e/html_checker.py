"""The W3C Nu HTML checker (``vnu.jar``, from the npm package ``vnu-jar`` in ``tests/vnu``) over every page the
browser tests showed.

:func:`tests.e2e.helpers.check_page` hands each page's HTML (``page.content()``, i.e. the DOM as Chromium parsed
it) to :func:`collect`; at the end of the session the e2e ``conftest`` validates them all in one Java run and
fails the session on any error. The jar is installed by ``.ci/run`` (``npm ci`` in ``tests/vnu``); without Java or
the jar the check is skipped with a visible reason, unless ``REQUIRE_BROWSER`` is set (then it is a failure).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

VNU_JAR = Path(
    os.environ.get("VNU_JAR", Path(__file__).resolve().parents[1] / "vnu/node_modules/vnu-jar/build/dist/vnu.jar")
)

#: path (without query) -> HTML of the last visit; one file per distinct page keeps the Java run short.
_pages: dict[str, str] = {}


def collect(url: str, html: str) -> None:
    """Keep the HTML of the page at ``url`` for the session's validation (the latest visit of a path wins)."""
    parts = urlsplit(url)
    if parts.scheme in {"http", "https"}:
        _pages[parts.path or "/"] = html


def collected() -> dict[str, str]:
    return dict(_pages)


def unavailable_reason() -> str | None:
    """Why the checker cannot run here (no Java, no jar), or ``None`` when it can."""
    if shutil.which("java") is None:
        return "the Nu HTML checker needs Java (java not on PATH)"
    if not VNU_JAR.is_file():
        return f"the Nu HTML checker is not installed ({VNU_JAR} missing: run `npm ci` in tests/vnu)"
    return None


def validate(pages: dict[str, str], workdir: Path) -> list[str]:
    """Validate every page in one ``vnu.jar`` run; one readable line per error (warnings are ignored)."""
    names = {}  # file name -> page path
    for index, (path, html) in enumerate(sorted(pages.items())):
        file = workdir / f"page-{index:04d}.html"
        file.write_text(html, encoding="utf-8")
        names[file.name] = path
    command = ["java", "-Xss4m", "-jar", str(VNU_JAR), "--errors-only", "--format", "json", "--exit-zero-always"]
    files = [str(workdir / name) for name in names]
    result = subprocess.run([*command, *files], capture_output=True, text=True, timeout=600, check=False)
    report = json.loads(result.stderr or "{}")
    lines = []
    for message in report.get("messages", []):
        if message.get("type") != "error":
            continue
        url = message.get("url", "?")
        page = names.get(url.rsplit("/", 1)[-1], url)
        extract = " ".join((message.get("extract") or "").split())[:160]
        lines.append(f"{page}:{message.get('lastLine', '?')}: {message.get('message')} [{extract}]")
    return lines
