"""The official ESCO CSV package: skills, the skills-pillar hierarchy and broader relations, several languages.

Reads ``skills_<lang>.csv`` for each language (joined on ``conceptUri``), ``skillsHierarchy_<lang>.csv`` for the group
tree and ``broaderRelationsSkillPillar_<lang>.csv`` for the parent of each skill. The result is one framework ``esco``
whose version is given by the administrator.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import zipfile
from contextlib import contextmanager
from pathlib import Path

from flask_babel import lazy_gettext as _l

from app.frameworks.importers import FrameworkImportError, ImportProblem, ParsedFramework, ParsedNode
from app.frameworks.importers.csv_util import read_rows

DEFAULT_VERSION = "1.2.0"
SKILL_COLUMNS = ("conceptUri", "preferredLabel")
HIERARCHY_LEVELS = 4
BROADER_COLUMNS = ("conceptUri", "broaderUri")
URI_PATTERN = re.compile(r"^https?://data\.europa\.eu/esco/[A-Za-z0-9_-]+/[A-Za-z0-9._-]+$")
_SKILLS_FILE = re.compile(r"^skills_([a-z]{2})\.csv$")
_VERSION_IN_NAME = re.compile(r"v?(\d+\.\d+(?:\.\d+)?)")
MAX_ZIP_BYTES = 600 * 1024 * 1024


def version_from_name(name: str) -> str:
    """The ESCO version in a package name (``ESCO dataset - v1.2.0 - classification - fr - csv``), or the default."""
    match = _VERSION_IN_NAME.search(name)
    return match.group(1) if match else DEFAULT_VERSION


@contextmanager
def esco_directory(path: Path):
    """A directory holding the CSV files of ``path`` (a directory, or a zip extracted to a temporary one)."""
    if path.is_dir():
        yield path
        return
    tmp = Path(tempfile.mkdtemp(prefix="acquis-esco-"))
    try:
        try:
            with zipfile.ZipFile(path) as archive:
                total = 0
                for info in archive.infolist():
                    name = Path(info.filename).name
                    if info.is_dir() or not name.endswith(".csv"):
                        continue
                    total += info.file_size
                    if total > MAX_ZIP_BYTES:
                        raise FrameworkImportError([ImportProblem(path.name, _l("the archive is too large"))])
                    with archive.open(info) as src, open(tmp / name, "wb") as dst:
                        shutil.copyfileobj(src, dst)
        except zipfile.BadZipFile as exc:
            raise FrameworkImportError([ImportProblem(path.name, _l("not a valid zip archive"))]) from exc
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def available_languages(directory: Path) -> list[str]:
    return sorted(m.group(1) for p in directory.iterdir() if (m := _SKILLS_FILE.match(p.name)))


def _check_uri(uri: str, name: str, row: int, problems: list[ImportProblem], column: str = "conceptUri") -> bool:
    if not uri:
        problems.append(ImportProblem(name, _l("%(column)s is empty", column=column), row, unit="row"))
        return False
    if not URI_PATTERN.match(uri):
        message = _l("%(column)s %(value)s is not an ESCO URI", column=column, value=repr(uri[:120]))
        problems.append(ImportProblem(name, message, row, unit="row"))
        return False
    return True


def _short_code(uri: str) -> str:
    return uri.rstrip("/").rsplit("/", 1)[-1]


def parse_esco(
    directory: Path, *, version: str = DEFAULT_VERSION, languages: list[str] | None = None
) -> ParsedFramework:
    """Read the ESCO CSV files of ``directory`` into one framework version (all problems reported at once)."""
    directory = Path(directory)
    found = available_languages(directory)
    languages = languages or found
    problems: list[ImportProblem] = []
    if not languages:
        raise FrameworkImportError([ImportProblem(directory.name, _l("no skills_<language>.csv file found"))])
    for lang in languages:
        if lang not in found:
            problems.append(ImportProblem(f"skills_{lang}.csv", _l("file missing for the requested language")))
    if problems:
        raise FrameworkImportError(problems)

    # uri -> node data; groups first (from the hierarchy), then skills.
    nodes: dict[str, ParsedNode] = {}
    parents: dict[str, str] = {}
    order: list[str] = []

    for lang in languages:
        path = directory / f"skillsHierarchy_{lang}.csv"
        if not path.exists():
            continue
        columns = tuple(f"Level {i} URI" for i in range(HIERARCHY_LEVELS))
        for row_number, row in read_rows(path, columns, problems=problems):
            deepest = None
            for level in range(HIERARCHY_LEVELS):
                uri = row.get(f"Level {level} URI", "").strip()
                if not uri:
                    continue
                if not _check_uri(uri, path.name, row_number, problems, f"Level {level} URI"):
                    break
                node = nodes.get(uri)
                if node is None:
                    code = (row.get(f"Level {level} code") or "").strip() or _short_code(uri)
                    node = nodes[uri] = ParsedNode(code=code, kind="group", title={}, uri=uri)
                    order.append(uri)
                    if deepest:
                        parents[uri] = deepest
                label = (row.get(f"Level {level} preferred term") or "").strip()
                if label:
                    node.title.setdefault(lang, label)
                deepest = uri
            if deepest and (row.get("Description") or "").strip():
                nodes[deepest].description.setdefault(lang, row["Description"].strip())

    group_count = len(nodes)
    for lang in languages:
        path = directory / f"skills_{lang}.csv"
        for row_number, row in read_rows(path, SKILL_COLUMNS, problems=problems):
            uri = row["conceptUri"].strip()
            if not _check_uri(uri, path.name, row_number, problems):
                continue
            node = nodes.get(uri)
            if node is None:
                kind = "knowledge" if row.get("skillType", "").strip() == "knowledge" else "skill"
                node = nodes[uri] = ParsedNode(code=_short_code(uri), kind=kind, title={}, uri=uri)
                order.append(uri)
            label = row["preferredLabel"].strip()
            if label:
                node.title[lang] = label
            description = (row.get("description") or row.get("definition") or "").strip()
            if description:
                node.description[lang] = description
            alt = "\n".join(a.strip() for a in (row.get("altLabels") or "").splitlines() if a.strip())
            if alt:
                node.alt_labels[lang] = alt
    if len(nodes) == group_count:
        problems.append(ImportProblem(f"skills_{languages[0]}.csv", _l("no skill found")))

    broader_files = [directory / f"broaderRelationsSkillPillar_{lang}.csv" for lang in languages]
    broader_files += sorted(directory.glob("broaderRelationsSkillPillar*.csv"))
    broader = next((p for p in broader_files if p.exists()), None)
    if broader is not None:
        for row_number, row in read_rows(broader, BROADER_COLUMNS, problems=problems):
            uri, parent = row["conceptUri"].strip(), row["broaderUri"].strip()
            if not (
                _check_uri(uri, broader.name, row_number, problems)
                and _check_uri(parent, broader.name, row_number, problems, "broaderUri")
            ):
                continue
            # The first broader concept wins (ESCO is a polyhierarchy; the tree shows one place).
            if uri in nodes and parent in nodes and uri not in parents and parent != uri:
                parents[uri] = parent

    codes: dict[str, str] = {}
    for uri in order:
        node = nodes[uri]
        if node.code in codes and codes[node.code] != uri:
            node.code = _short_code(uri)
        codes.setdefault(node.code, uri)
        if not node.title:
            message = _l("%(uri)s: no preferred label in any language", uri=uri)
            problems.append(ImportProblem(f"skills_{languages[0]}.csv", message))
    if problems:
        raise FrameworkImportError(problems[:100])

    return ParsedFramework(
        slug="esco",
        version=version,
        kind="esco",
        title={"fr": "ESCO - aptitudes et compétences", "en": "ESCO - skills and competences"},
        description={
            "fr": "Classification européenne des aptitudes, compétences, certifications et professions.",
            "en": "European Skills, Competences, Qualifications and Occupations classification.",
        },
        source={"name": "ESCO, European Commission", "url": "https://esco.ec.europa.eu/"},
        licence="European Commission reuse policy (Decision 2011/833/EU)",
        nodes=_tree_order(nodes, parents, order),
        origin=directory.name,
    )


def _tree_order(nodes: dict[str, ParsedNode], parents: dict[str, str], order: list[str]) -> list[ParsedNode]:
    """Nodes with parent codes, depths and positions set, parents before children (cycles cut)."""
    children: dict[str | None, list[str]] = {}
    for uri in order:
        parent = parents.get(uri)
        # Cut cycles: follow the parent chain; if it comes back to ``uri``, make ``uri`` a root.
        seen, current = {uri}, parent
        while current is not None:
            if current in seen:
                parent = None
                parents.pop(uri, None)
                break
            seen.add(current)
            current = parents.get(current)
        children.setdefault(parent, []).append(uri)
    result: list[ParsedNode] = []
    stack = [(uri, None, 0, i) for i, uri in reversed(list(enumerate(children.get(None, []))))]
    while stack:
        uri, parent_code, depth, position = stack.pop()
        node = nodes[uri]
        node.parent_code, node.depth, node.position = parent_code, depth, position
        result.append(node)
        stack.extend((c, node.code, depth + 1, i) for i, c in reversed(list(enumerate(children.get(uri, [])))))
    return result
