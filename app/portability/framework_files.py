"""The framework versions and crosswalks an export refers to, as files of our own formats (competencies/README.md).

Export: each referenced :class:`FrameworkVersion` is written back as an ``acquis-framework/1`` YAML file from the
database (nodes in tree order, siblings by position), and each crosswalk from a referenced version to ESCO or to
another referenced version as an ``acquis-crosswalk/1`` file. A file is put in the zip only when it passes the same
parser and schema checks as any framework import (ESCO, French-only RNCP fiches or very large versions cannot, or
should not, travel this way: their administrators import them from the official sources).

Import: a referenced version missing on this instance is imported from its file with the frameworks' own
operations (:func:`app.frameworks.operations.import_batch`: same checks, all or nothing), read with a size limit
and parsed without YAML aliases. It is imported *for the claims that use it only*: a volunteer's zip must not
publish a framework ("rncp99999-officiel", certifier "Ministère du Travail"), so the version never enters the
shared catalogue — never current, not listed, not searched, not offered as a VAE target — until a platform
administrator imports the same file through the frameworks' import (which then publishes it). We chose this over a
queue of pending versions: the importer's claims work at once, nobody has to act for them, and the administrators'
existing import is the approval. The rules, also in FORMAT.md, are in :func:`resolve_versions`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
import yaml
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import aliased

from app.extensions import db
from app.frameworks import operations as framework_ops
from app.frameworks.importers import FrameworkImportError, ParsedCrosswalk, ParsedFramework
from app.frameworks.importers.yaml_format import CROSSWALK_FORMAT, FRAMEWORK_FORMAT, parse_document
from app.frameworks.models import Crosswalk, CrosswalkLink, Framework, FrameworkKind, FrameworkNode, FrameworkVersion
from app.portability.archive import BoundedArchive, ImportRefused

#: Versions with more nodes than this are not written into exports (ESCO has ~14,000 skills).
MAX_EXPORTED_NODES = 3000
#: A framework or crosswalk file in an export is read only up to this size (3000 nodes take about 1 MB)...
MAX_FILE_BYTES = 2 * 1024 * 1024
#: ... and parsed only up to this many YAML events (a node takes about 25), counted before composing.
MAX_YAML_EVENTS = 150_000


def _dump(data: dict) -> str:
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=120)


def framework_path(slug: str, version: str) -> str:
    return f"frameworks/{slug}--{version}.yaml"


def crosswalk_path(slug: str, source_version: str) -> str:
    return f"frameworks/crosswalks/{slug}--{source_version}.yaml"


def framework_document(version: FrameworkVersion) -> dict:
    """The ``acquis-framework/1`` document of a version, as its file would have said (one statement)."""
    data: dict = {
        "format": FRAMEWORK_FORMAT,
        "id": version.framework.slug,
        "version": version.version,
        "kind": version.framework.kind.value,
        "title": dict(version.title or {}),
    }
    if version.description:
        data["description"] = dict(version.description)
    if version.source:
        data["source"] = dict(version.source)
    data["licence"] = version.licence
    if version.example:
        data["example"] = True
    if version.certification is not None:
        data["certification"] = version.certification
    if version.levels:
        data["levels"] = list(version.levels)
    items: dict[int, dict] = {}
    roots: list[dict] = []
    for node in framework_ops.nodes_in_order(version.id):
        item = {"code": node.code, "kind": node.kind.value, "title": dict(node.title or {})}
        if node.description:
            item["description"] = dict(node.description)
        if node.uri is not None:
            item["uri"] = node.uri
        items[node.id] = item
        parent = items.get(node.parent_id) if node.parent_id else None
        (parent.setdefault("children", []) if parent else roots).append(item)
    data["nodes"] = roots
    return data


def framework_file(version: FrameworkVersion) -> str | None:
    """The YAML text of a version, or None when it cannot travel as an ``acquis-framework/1`` file."""
    if version.framework.kind == FrameworkKind.ESCO or version.node_count > MAX_EXPORTED_NODES:
        return None
    text = _dump(framework_document(version))
    try:
        parse_document(text, framework_path(version.framework.slug, version.version))
    except FrameworkImportError:
        return None  # e.g. French-only titles of an RNCP fiche, a node kind our format does not have
    return text


def crosswalks_between(version_ids: set[int]) -> list[tuple[Crosswalk, dict]]:
    """Crosswalks from a referenced version to ESCO or to another referenced version, with their file documents."""
    if not version_ids:
        return []
    versions = {
        v.id: v for v in db.session.scalars(sa.select(FrameworkVersion).where(FrameworkVersion.id.in_(version_ids)))
    }
    found = list(
        db.session.scalars(
            sa.select(Crosswalk)
            .where(
                Crosswalk.source_version_id.in_(version_ids),
                sa.or_(Crosswalk.target_scheme.is_not(None), Crosswalk.target_version_id.in_(version_ids)),
            )
            .order_by(Crosswalk.slug, Crosswalk.id)
        )
    )
    if not found:
        return []
    source_node, target_node = aliased(FrameworkNode), aliased(FrameworkNode)
    links: dict[int, list] = {c.id: [] for c in found}
    for crosswalk_id, source_code, target_code, target_uri, relation in db.session.execute(
        sa.select(
            CrosswalkLink.crosswalk_id,
            source_node.code,
            target_node.code,
            CrosswalkLink.target_uri,
            CrosswalkLink.relation,
        )
        .join(source_node, CrosswalkLink.source_node_id == source_node.id)
        .outerjoin(target_node, CrosswalkLink.target_node_id == target_node.id)
        .where(CrosswalkLink.crosswalk_id.in_(list(links)))
        .order_by(CrosswalkLink.id)
    ):
        links[crosswalk_id].append(
            {"source": source_code, "target": target_code or target_uri, "relation": relation.value}
        )
    out = []
    for crosswalk in found:
        source = versions[crosswalk.source_version_id]
        if crosswalk.target_scheme:
            target = {"scheme": crosswalk.target_scheme}
        else:
            other = versions[crosswalk.target_version_id]
            target = {"framework": other.framework.slug, "version": other.version}
        document = {
            "format": CROSSWALK_FORMAT,
            "id": crosswalk.slug,
            "source": {"framework": source.framework.slug, "version": source.version},
            "target": target,
            "links": links[crosswalk.id],
        }
        out.append((crosswalk, document))
    return out


def export_frameworks(versions: dict[int, FrameworkVersion], files: dict[str, bytes]) -> tuple[list, list]:
    """The ``frameworks`` and ``crosswalks`` entries of an export; their files are added to ``files``."""
    frameworks = []
    for version in versions.values():
        text = framework_file(version)
        path = framework_path(version.framework.slug, version.version) if text is not None else None
        if path:
            files[path] = text.encode("utf-8")
        frameworks.append(
            {
                "slug": version.framework.slug,
                "version": version.version,
                "content_hash": version.content_hash,
                "kind": version.framework.kind.value,
                "title": version.title,
                "file": path,
            }
        )
    crosswalks = []
    for crosswalk, document in crosswalks_between(set(versions)):
        path = crosswalk_path(crosswalk.slug, document["source"]["version"])
        text = _dump(document)
        try:
            parse_document(text, path)
        except FrameworkImportError:
            continue
        files[path] = text.encode("utf-8")
        crosswalks.append(
            {
                "slug": crosswalk.slug,
                "source": document["source"],
                "target": document["target"],
                "content_hash": crosswalk.content_hash,
                "file": path,
            }
        )
    frameworks.sort(key=lambda f: (f["slug"], f["version"]))
    crosswalks.sort(key=lambda c: (c["slug"], c["source"]["framework"], c["source"]["version"]))
    return frameworks, crosswalks


# --------------------------------------------------------------------------------------------------- import


@dataclass
class Resolution:
    """The versions the claims of an export use on this instance, and what must be imported first."""

    versions: dict[tuple[str, str], FrameworkVersion] = field(default_factory=dict)
    to_import: list[ParsedFramework] = field(default_factory=list)
    crosswalks: list[ParsedCrosswalk] = field(default_factory=list)


def _parse(archive: BoundedArchive, path: str):
    if not isinstance(path, str):
        raise ImportRefused(_l("This export is damaged or incomplete."))
    try:
        text = archive.read(path, MAX_FILE_BYTES).decode("utf-8")
    except UnicodeDecodeError:
        raise ImportRefused(_l("This export is damaged or incomplete."), [path]) from None
    try:
        return parse_document(text, path, max_events=MAX_YAML_EVENTS)
    except FrameworkImportError as exc:
        raise ImportRefused(
            _l("A framework file of this export does not pass the checks of a framework import."),
            [path, *(str(p) for p in exc.problems[:10])],
        ) from None


def _require_text(item: dict, *keys: str) -> None:
    """Identifiers are compared in SQL: anything but text is a damaged file (never a database error)."""
    if not all(isinstance(item[key], str) for key in keys):
        raise TypeError(f"{', '.join(keys)} must be text")


def _codes_used(document: dict) -> dict[tuple[str, str], set[str]]:
    used: dict[tuple[str, str], set[str]] = {}
    for experience in document.get("experiences", []):
        for claim in experience.get("claims", []):
            _require_text(claim, "framework", "framework_version", "node_code")
            used.setdefault((claim["framework"], claim["framework_version"]), set()).add(claim["node_code"])
    return used


def resolve_versions(document: dict, archive: BoundedArchive) -> Resolution:
    """Decide, for every framework version the export refers to, which version of this instance its claims use.

    - A version with the same slug and version string whose content hash is the one the export declares, or the
      hash of the file in the zip, is used as it is.
    - The same slug and version with yet another content is a conflict: the import is refused.
    - A missing version is imported from its file in the zip (schema and code checks of a framework import), when
      the file is there and holds every node code the claims use; otherwise the import is refused.
    - Crosswalks in the zip are imported only from versions imported from the zip, to ESCO or to a version
      present here (or imported from the zip); other crosswalks of this instance are never changed.
    """
    result = Resolution()
    missing, conflicts = [], []
    used = _codes_used(document)
    imported_keys: set[tuple[str, str]] = set()
    for item in document.get("frameworks", []):
        _require_text(item, "slug", "version")
        key = (item["slug"], item["version"])
        label = f"{item['slug']} {item['version']}"
        existing = db.session.scalar(
            sa.select(FrameworkVersion)
            .join(Framework)
            .where(Framework.slug == item["slug"], FrameworkVersion.version == item["version"])
        )
        parsed = _parse(archive, item["file"]) if item.get("file") else None
        if parsed is not None and (not isinstance(parsed, ParsedFramework) or (parsed.slug, parsed.version) != key):
            raise ImportRefused(_l("This export is damaged or incomplete."), [item["file"]])
        if existing is not None:
            if existing.content_hash == item["content_hash"] or (
                parsed is not None and existing.content_hash == parsed.content_hash
            ):
                result.versions[key] = existing
            else:
                conflicts.append(label)
            continue
        if parsed is None:
            missing.append(label)
            continue
        codes = {n.code for n in parsed.nodes}
        absent = sorted(used.get(key, set()) - codes)
        if absent:
            raise ImportRefused(_l("This export is damaged or incomplete."), [f"{label}: {', '.join(absent)}"])
        result.to_import.append(parsed)
        imported_keys.add(key)
    if missing or conflicts:
        raise ImportRefused(
            _l("These framework versions are not available on this instance; ask its administrator to import them."),
            missing + conflicts,
        )
    present = set(result.versions) | imported_keys
    for item in document.get("crosswalks", []):
        _require_text(item["source"], "framework", "version")
        source = (item["source"]["framework"], item["source"]["version"])
        target = item["target"]
        if source not in imported_keys or not item.get("file"):
            continue
        if "scheme" not in target and (target.get("framework"), target.get("version")) not in present:
            continue
        parsed = _parse(archive, item["file"])
        if not isinstance(parsed, ParsedCrosswalk) or (parsed.source_framework, parsed.source_version) != source:
            raise ImportRefused(_l("This export is damaged or incomplete."), [item["file"]])
        result.crosswalks.append(parsed)
    return result


def import_missing(resolution: Resolution, actor) -> None:
    """Import the missing versions (and their crosswalks) with the frameworks' import operation, all or nothing.

    A version imported from an export stays out of the shared catalogue (``in_catalogue`` false, never current):
    it never replaces the current version of a framework this instance already has, retires none of its nodes,
    and a framework it creates is listed nowhere. The instance's administrators decide what the catalogue holds.
    """
    if not resolution.to_import:
        return
    slugs = {p.slug for p in resolution.to_import}
    before: dict[int, tuple[int | None, FrameworkKind, set[int]]] = {}
    for framework in db.session.scalars(sa.select(Framework).where(Framework.slug.in_(slugs))):
        current = db.session.scalar(
            sa.select(FrameworkVersion.id).where(
                FrameworkVersion.framework_id == framework.id, FrameworkVersion.is_current.is_(True)
            )
        )
        retired = set(
            db.session.scalars(
                sa.select(FrameworkNode.id)
                .join(FrameworkVersion, FrameworkNode.version_id == FrameworkVersion.id)
                .where(FrameworkVersion.framework_id == framework.id, FrameworkNode.retired_at.is_not(None))
            )
        )
        before[framework.id] = (current, framework.kind, retired)
    try:
        framework_ops.import_batch(resolution.to_import, resolution.crosswalks, actor=actor)
    except FrameworkImportError as exc:
        raise ImportRefused(
            _l("A framework file of this export does not pass the checks of a framework import."),
            [str(p) for p in exc.problems[:10]],
        ) from None
    for framework_id, (current, kind, retired) in before.items():
        version_ids = sa.select(FrameworkVersion.id).where(FrameworkVersion.framework_id == framework_id)
        db.session.execute(
            sa.update(FrameworkNode)
            .where(
                FrameworkNode.version_id.in_(version_ids),
                FrameworkNode.retired_at.is_not(None),
                FrameworkNode.id.not_in(retired or [0]),
            )
            .values(retired_at=None)
            .execution_options(synchronize_session=False)
        )
        framework = db.session.get(Framework, framework_id)
        framework.kind = kind
        if current is not None:
            db.session.execute(
                sa.update(FrameworkVersion)
                .where(FrameworkVersion.framework_id == framework_id)
                .values(is_current=FrameworkVersion.id == current)
                .execution_options(synchronize_session=False)
            )
        db.session.expire(framework, ["versions"])
    db.session.flush()
    for key in [(p.slug, p.version) for p in resolution.to_import]:
        version = db.session.scalar(
            sa.select(FrameworkVersion)
            .join(Framework)
            .where(Framework.slug == key[0], FrameworkVersion.version == key[1])
        )
        version.is_current = False
        version.in_catalogue = False
        resolution.versions[key] = version
    db.session.flush()
