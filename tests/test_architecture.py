"""Imports follow the floors (docs: /ARCHITECTURE.md, "Floors"): a package imports only from its own floor or below.

The test reads every module of ``app/`` with :mod:`ast` (imports inside functions included: they are the ones a
reader does not see) and fails on an import of a higher floor, or of ``survey`` from a domain package.
"""

from __future__ import annotations

import ast
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app"

#: Lowest first. ``config`` and ``extensions`` are the app's plumbing, usable from everywhere; the printing service
#: (``printing``) sits with ``core``. Top-level modules and packages (``admin``, ``main``, ``demo``, ``cli``,
#: ``checks``, ``jobs`` — the RQ entry point that builds the app —, ``app`` itself) may import anything.
FLOORS: dict[str, int] = {
    "config": 0,
    "extensions": 0,
    "core": 0,
    "printing": 0,
    "auth": 1,
    "organisations": 2,
    "frameworks": 3,
    "experiences": 4,
    "claims": 5,
    "validation": 6,
    "documents": 7,
    "sharing": 8,
    "portability": 8,
    "vae": 9,
}
TOP = {"", "admin", "main", "demo", "cli", "checks", "jobs"}
#: ``survey`` stands apart: it uses only these, and only the top imports it.
SURVEY_MAY_USE = {"config", "extensions", "core", "printing", "auth", "organisations", "survey"}

#: Imports against the floors that another change is removing, each with the reason it is still here. An entry
#: that no longer occurs fails the test too, so the list only shrinks.
ALLOWED: dict[tuple[str, str], str] = {}


def _package(module: str) -> str:
    """``app.claims.views`` → ``claims``; ``app`` → ``""``; ``app.cli`` → ``cli``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(APP.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, module: str) -> set[str]:
    """The ``app.*`` modules imported anywhere in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    package_parts = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.split(".")[0] == "app")
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package_parts[: len(package_parts) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            if target.split(".")[0] != "app":
                continue
            if target == "app":  # from app import claims → the package app.claims (or create_app: the top)
                found.update(f"app.{alias.name}" if (APP / alias.name).exists() else "app" for alias in node.names)
            else:
                found.add(target)
    return found


def _allowed(source: str, target: str) -> bool:
    if source == target or source in TOP:
        return True
    if source == "survey":
        return target in SURVEY_MAY_USE
    if target == "survey" or target in TOP:
        return False
    if source not in FLOORS or target not in FLOORS:
        return False  # a new package: give it a floor above
    return FLOORS[target] <= FLOORS[source]


def violations() -> set[tuple[str, str, str]]:
    """(importing module, imported module, why) for each import against the floors."""
    found = set()
    for path in sorted(APP.rglob("*.py")):
        module = _module_name(path)
        source = _package(module)
        for imported in _imports(path, module):
            target = _package(imported)
            if not _allowed(source, target):
                found.add((module, imported, f"{source or 'app'} imports {target or 'app'}"))
    return found


def test_every_package_has_a_floor():
    packages = {p.name for p in APP.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    packages |= {p.stem for p in APP.glob("*.py") if p.stem != "__init__"}
    assert packages <= set(FLOORS) | TOP | {"survey"}, packages - set(FLOORS) - TOP


def test_imports_follow_the_floors():
    found = violations()
    unexpected = sorted(v for v in found if (v[0], v[1]) not in ALLOWED)
    assert not unexpected, "imports of a higher floor:\n" + "\n".join(f"{a} → {b} ({why})" for a, b, why in unexpected)
    stale = sorted(set(ALLOWED) - {(a, b) for a, b, _why in found})
    assert not stale, f"allowed imports that no longer occur (remove them from ALLOWED): {stale}"


def test_same_floor_packages_do_not_import_each_other_in_a_circle():
    """``sharing`` and ``portability`` share a floor: they may use each other, never both ways (``config``,
    ``extensions`` and ``core`` count as one: the app's plumbing)."""
    plumbing = {"config", "extensions", "core"}
    edges: dict[str, set[str]] = {}
    for path in sorted(APP.rglob("*.py")):
        module = _module_name(path)
        for imported in _imports(path, module):
            source, target = _package(module), _package(imported)
            if (module, imported) in ALLOWED or {source, target} <= plumbing:
                continue
            if source != target and source not in TOP and target not in TOP:
                edges.setdefault(source, set()).add(target)
    circles = sorted((a, b) for a, targets in edges.items() for b in targets if a in edges.get(b, ()) and a < b)
    assert not circles, circles
