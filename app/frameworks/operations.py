"""Importing framework versions and crosswalks (bulk, atomic, idempotent) and reading them for the pages.

Imports check everything first and raise :class:`FrameworkImportError` before writing anything; the writes then run
inside a SAVEPOINT, so a failure leaves the session as it was. Nothing is ever deleted: a version newer than the
current one becomes current and marks the nodes of the other versions whose code disappeared as retired; an older
version is stored beside it, not current (see :func:`version_key`).
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import aliased, joinedload, selectinload

from app.core.audit import log_event
from app.core.db import utcnow
from app.extensions import db
from app.frameworks import search
from app.frameworks.importers import (
    FrameworkImportError,
    ImportProblem,
    ParsedCrosswalk,
    ParsedFramework,
)
from app.frameworks.models import (
    Crosswalk,
    CrosswalkLink,
    Framework,
    FrameworkKind,
    FrameworkNode,
    FrameworkVersion,
    NodeKind,
    Relation,
)

CHUNK = 2000
#: Versions with more nodes than this show only their top levels on the tree page.
FULL_TREE_LIMIT = 1500
PARTIAL_TREE_DEPTH = 1
ANALYZE_THRESHOLD = 1000


@dataclass(frozen=True)
class ImportResult:
    """What one framework version or crosswalk import did."""

    label: str
    status: str  # "created", "unchanged" or "updated"
    nodes: int = 0
    retired: int = 0
    links: int = 0
    is_crosswalk: bool = False
    #: False when the version was stored beside a newer (or not comparable) current version.
    current: bool = True


_VERSION = re.compile(r"v?(\d+(?:[.-]\d+)*)", re.IGNORECASE)


def version_key(version: str) -> tuple[int, ...] | None:
    """Sort key of a version string made of numbers separated by dots or dashes, else ``None`` (not comparable).

    ``"2018"``, ``"2026.1"``, ``"1.2.0"``, ``"v1.2.1"`` and ISO dates (``"2024-02-15"``, the RNCP decision date)
    compare number by number; trailing zeros do not count (``"1.2"`` and ``"1.2.0"`` have the same key).
    """
    match = _VERSION.fullmatch(version.strip())
    if match is None:
        return None
    parts = [int(p) for p in re.split(r"[.-]", match.group(1))]
    while len(parts) > 1 and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


def is_newer(version: str, than: str) -> bool | None:
    """Whether ``version`` comes after ``than``; ``None`` when they cannot be compared (or compare equal)."""
    new, old = version_key(version), version_key(than)
    if new is None or old is None or new == old:
        return None
    return new > old


# --------------------------------------------------------------------------------------------------- checks


def _find_version(slug: str, version: str) -> FrameworkVersion | None:
    return db.session.scalar(
        sa.select(FrameworkVersion).join(Framework).where(Framework.slug == slug, FrameworkVersion.version == version)
    )


def _codes_of(version_id: int) -> dict[str, int]:
    return dict(
        db.session.execute(
            sa.select(FrameworkNode.code, FrameworkNode.id).where(FrameworkNode.version_id == version_id)
        ).all()
    )


def check_batch(frameworks: list[ParsedFramework], crosswalks: list[ParsedCrosswalk]) -> None:
    """Raise FrameworkImportError listing every problem that would stop the import of this batch."""
    problems: list[ImportProblem] = []
    in_batch: dict[tuple[str, str], ParsedFramework] = {}
    for parsed in frameworks:
        key = (parsed.slug, parsed.version)
        other = in_batch.get(key)
        if other is not None and other.content_hash != parsed.content_hash:
            problems.append(
                ImportProblem(
                    parsed.origin,
                    _l("%(name)s is also defined, differently, in %(other)s", name=parsed.label, other=other.origin),
                    1,
                )
            )
        in_batch[key] = parsed
        existing = _find_version(*key)
        if existing is not None and existing.content_hash != parsed.content_hash:
            problems.append(
                ImportProblem(
                    parsed.origin,
                    _l(
                        "version %(version)s of %(name)s was already imported with different content; give the "
                        "changed file a new version",
                        version=parsed.version,
                        name=parsed.slug,
                    ),
                    1,
                )
            )
    code_cache: dict[tuple[str, str], set[str] | None] = {}

    def codes(slug: str, version: str) -> set[str] | None:
        key = (slug, version)
        if key not in code_cache:
            if key in in_batch:
                code_cache[key] = {n.code for n in in_batch[key].nodes}
            else:
                existing = _find_version(slug, version)
                code_cache[key] = set(_codes_of(existing.id)) if existing else None
        return code_cache[key]

    for crosswalk in crosswalks:
        source_codes = codes(crosswalk.source_framework, crosswalk.source_version)
        if source_codes is None:
            problems.append(
                ImportProblem(
                    crosswalk.origin,
                    _l(
                        "source framework %(name)s %(version)s is not imported",
                        name=crosswalk.source_framework,
                        version=crosswalk.source_version,
                    ),
                    crosswalk.line,
                )
            )
            continue
        target_codes = None
        if crosswalk.target_scheme is None:
            target_codes = codes(crosswalk.target_framework, crosswalk.target_version)
            if target_codes is None:
                problems.append(
                    ImportProblem(
                        crosswalk.origin,
                        _l(
                            "target framework %(name)s %(version)s is not imported",
                            name=crosswalk.target_framework,
                            version=crosswalk.target_version,
                        ),
                        crosswalk.line,
                    )
                )
                continue
        for link in crosswalk.links:
            if link.source not in source_codes:
                message = _l("source code %(code)s does not exist", code=repr(link.source))
                problems.append(ImportProblem(crosswalk.origin, message, link.line))
            if target_codes is not None and link.target not in target_codes:
                message = _l("target code %(code)s does not exist", code=repr(link.target))
                problems.append(ImportProblem(crosswalk.origin, message, link.line))
    if problems:
        raise FrameworkImportError(problems)


# --------------------------------------------------------------------------------------------------- writes


def import_batch(
    frameworks: list[ParsedFramework],
    crosswalks: list[ParsedCrosswalk] = (),
    *,
    actor=None,
    make_current: bool = False,
) -> list[ImportResult]:
    """Import framework versions, then crosswalks, all or nothing.

    ``make_current`` makes each imported framework version current whatever its version string says (import order).

    :raises FrameworkImportError: when any input is invalid (nothing is written).
    """
    crosswalks = list(crosswalks)
    check_batch(frameworks, crosswalks)
    seen: set[tuple[str, str]] = set()
    with db.session.begin_nested():
        results = []
        for parsed in frameworks:
            if (parsed.slug, parsed.version) in seen:
                continue
            seen.add((parsed.slug, parsed.version))
            results.append(import_framework(parsed, actor=actor, make_current=make_current))
        results.extend(import_crosswalk(c, actor=actor) for c in crosswalks)
    return results


def import_framework(parsed: ParsedFramework, *, actor=None, make_current: bool = False) -> ImportResult:
    """Create a framework version from checked data; ``unchanged`` when the same content is already there.

    The new version becomes current when the framework has no current version, when its version string is newer
    than the current one's (:func:`is_newer`), or when ``make_current`` is set; the nodes of the other versions whose
    code it lacks are then retired. Otherwise it is stored as an older version: the other versions are untouched and
    its own nodes whose code the current version lacks are marked retired.
    """
    digest = parsed.content_hash
    framework = db.session.scalar(sa.select(Framework).where(Framework.slug == parsed.slug))
    if framework is None:
        framework = Framework(slug=parsed.slug, kind=FrameworkKind(parsed.kind))
        db.session.add(framework)
        db.session.flush()
    existing = _find_version(parsed.slug, parsed.version)
    if existing is not None:
        if existing.content_hash != digest:
            raise FrameworkImportError(
                [
                    ImportProblem(
                        parsed.origin, _l("%(name)s was already imported with different content", name=parsed.label), 1
                    )
                ]
            )
        if existing.in_catalogue:
            return ImportResult(parsed.label, "unchanged", nodes=existing.node_count, current=existing.is_current)
        return _publish(existing, framework, parsed, make_current=make_current, actor=actor)
    current = db.session.scalar(
        sa.select(FrameworkVersion).where(
            FrameworkVersion.framework_id == framework.id, FrameworkVersion.is_current.is_(True)
        )
    )
    becomes_current = current is None or make_current or bool(is_newer(parsed.version, current.version))
    if becomes_current:
        framework.kind = FrameworkKind(parsed.kind)
        db.session.execute(
            sa.update(FrameworkVersion).where(FrameworkVersion.framework_id == framework.id).values(is_current=False)
        )
    version = FrameworkVersion(
        framework_id=framework.id,
        version=parsed.version,
        title=parsed.title,
        description=parsed.description,
        source=parsed.source,
        licence=parsed.licence,
        example=parsed.example,
        certification=parsed.certification,
        levels=parsed.levels,
        content_hash=digest,
        is_current=becomes_current,
        node_count=len(parsed.nodes),
        imported_at=utcnow(),
    )
    db.session.add(version)
    db.session.flush()
    ids = _write_nodes(version.id, parsed)
    version.first_node_id, version.last_node_id = min(ids), max(ids)
    if len(ids) > ANALYZE_THRESHOLD and db.session.get_bind().dialect.name == "postgresql":
        # Fresh statistics, or the planner misjudges the search table right after a large import.
        db.session.execute(sa.text("ANALYZE framework_search"))
    if becomes_current:
        retired = _retire_missing(framework.id, version.id, {n.code for n in parsed.nodes})
    else:
        retired = _retire_own_missing(version.id, set(_codes_of(current.id)))
    log_event(
        "framework.imported",
        actor=actor,
        obj=version,
        data={
            "framework": parsed.slug,
            "version": parsed.version,
            "nodes": len(parsed.nodes),
            "retired": retired,
            "current": becomes_current,
        },
    )
    db.session.expire(framework, ["versions"])
    return ImportResult(parsed.label, "created", nodes=len(parsed.nodes), retired=retired, current=becomes_current)


def _publish(version: FrameworkVersion, framework: Framework, parsed: ParsedFramework, *, make_current, actor):
    """An administrator imported the very file of a version that came with a person's data import: it enters the
    shared catalogue (and becomes current by the usual rule)."""
    current = db.session.scalar(
        sa.select(FrameworkVersion).where(
            FrameworkVersion.framework_id == framework.id, FrameworkVersion.is_current.is_(True)
        )
    )
    becomes_current = current is None or make_current or bool(is_newer(parsed.version, current.version))
    if becomes_current:
        framework.kind = FrameworkKind(parsed.kind)
        db.session.execute(
            sa.update(FrameworkVersion).where(FrameworkVersion.framework_id == framework.id).values(is_current=False)
        )
        _retire_missing(framework.id, version.id, {n.code for n in parsed.nodes})
    version.in_catalogue = True
    version.is_current = becomes_current
    db.session.flush()
    log_event(
        "framework.published",
        actor=actor,
        obj=version,
        data={"framework": parsed.slug, "version": parsed.version, "current": becomes_current},
    )
    db.session.expire(framework, ["versions"])
    return ImportResult(parsed.label, "created", nodes=version.node_count, current=becomes_current)


def _write_nodes(version_id: int, parsed: ParsedFramework) -> list[int]:
    """Bulk insert, one depth level at a time so that parents have ids before their children; return the ids."""
    by_depth: dict[int, list] = defaultdict(list)
    for node in parsed.nodes:
        by_depth[node.depth].append(node)
    ids: dict[str, int] = {}
    paths: dict[str, str] = {}
    statement = sa.insert(FrameworkNode).returning(FrameworkNode.id, FrameworkNode.code)
    for depth in sorted(by_depth):
        rows = []
        for node in by_depth[depth]:
            parent_id = ids[node.parent_code] if node.parent_code is not None else None
            parent_path = paths[node.parent_code] if node.parent_code is not None else ""
            rows.append(
                {
                    "version_id": version_id,
                    "code": node.code,
                    "kind": NodeKind(node.kind),
                    "parent_id": parent_id,
                    "path": f"{parent_path}/{parent_id}".lstrip("/") if parent_id else "",
                    "position": node.position,
                    "depth": depth,
                    "title": node.title,
                    "description": node.description,
                    "alt_labels": node.alt_labels,
                    "uri": node.uri,
                }
            )
        for start in range(0, len(rows), CHUNK):
            chunk = rows[start : start + CHUNK]
            inserted = db.session.execute(statement, chunk).all()
            ids.update({code: node_id for node_id, code in inserted})
            for row in chunk:
                row["id"] = ids[row["code"]]
                paths[row["code"]] = row["path"]
            search.index_rows(chunk)
    return list(ids.values())


def _retire_missing(framework_id: int, new_version_id: int, codes: set[str]) -> int:
    """Mark nodes of the framework's other versions whose code is absent from the new version; return how many."""
    candidates = db.session.execute(
        sa.select(FrameworkNode.id, FrameworkNode.code)
        .join(FrameworkVersion, FrameworkNode.version_id == FrameworkVersion.id)
        .where(
            FrameworkVersion.framework_id == framework_id,
            FrameworkNode.version_id != new_version_id,
            FrameworkNode.retired_at.is_(None),
        )
    ).all()
    to_retire = [node_id for node_id, code in candidates if code not in codes]
    now = utcnow()
    for start in range(0, len(to_retire), CHUNK):
        db.session.execute(
            sa.update(FrameworkNode)
            .where(FrameworkNode.id.in_(to_retire[start : start + CHUNK]))
            .values(retired_at=now)
            .execution_options(synchronize_session=False)
        )
    return len(to_retire)


def _retire_own_missing(version_id: int, current_codes: set[str]) -> int:
    """Mark the nodes of an older version just imported whose code the current version lacks; return how many."""
    to_retire = [node_id for code, node_id in _codes_of(version_id).items() if code not in current_codes]
    now = utcnow()
    for start in range(0, len(to_retire), CHUNK):
        db.session.execute(
            sa.update(FrameworkNode)
            .where(FrameworkNode.id.in_(to_retire[start : start + CHUNK]))
            .values(retired_at=now)
            .execution_options(synchronize_session=False)
        )
    return len(to_retire)


def import_crosswalk(parsed: ParsedCrosswalk, *, actor=None) -> ImportResult:
    """Store the links of a checked crosswalk; ``unchanged`` when identical, ``updated`` when its links changed."""
    source = _find_version(parsed.source_framework, parsed.source_version)
    target = _find_version(parsed.target_framework, parsed.target_version) if parsed.target_scheme is None else None
    query = sa.select(Crosswalk).where(Crosswalk.slug == parsed.slug, Crosswalk.source_version_id == source.id)
    query = query.where(
        Crosswalk.target_version_id == target.id if target else Crosswalk.target_scheme == parsed.target_scheme
    )
    crosswalk = db.session.scalar(query)
    digest = parsed.content_hash
    status = "created"
    if crosswalk is not None:
        if crosswalk.content_hash == digest:
            return ImportResult(parsed.label, "unchanged", links=len(parsed.links), is_crosswalk=True)
        # Links are derived data (nothing refers to them): a changed crosswalk replaces its links.
        db.session.execute(sa.delete(CrosswalkLink).where(CrosswalkLink.crosswalk_id == crosswalk.id))
        crosswalk.content_hash = digest
        crosswalk.imported_at = utcnow()
        status = "updated"
    else:
        crosswalk = Crosswalk(
            slug=parsed.slug,
            source_version_id=source.id,
            target_version_id=target.id if target else None,
            target_scheme=parsed.target_scheme,
            content_hash=digest,
        )
        db.session.add(crosswalk)
    db.session.flush()
    source_ids = _codes_of(source.id)
    target_ids = _codes_of(target.id) if target else {}
    rows = [
        {
            "crosswalk_id": crosswalk.id,
            "source_node_id": source_ids[link.source],
            "target_node_id": target_ids.get(link.target) if target else None,
            "target_uri": link.target if target is None else None,
            "relation": Relation(link.relation),
        }
        for link in parsed.links
    ]
    if rows:
        db.session.execute(sa.insert(CrosswalkLink), rows)
    log_event("crosswalk.imported", actor=actor, obj=crosswalk, data={"slug": parsed.slug, "links": len(rows)})
    return ImportResult(parsed.label, status, links=len(rows), is_crosswalk=True)


# --------------------------------------------------------------------------------------------------- reads


def list_frameworks() -> list[Framework]:
    """The shared catalogue: every framework with its versions in the catalogue (two statements). Versions that
    came with a person's data import serve that person's claims only and are left out."""
    in_catalogue = FrameworkVersion.in_catalogue.is_(True)
    return list(
        db.session.scalars(
            sa.select(Framework)
            .where(Framework.versions.any(in_catalogue))
            .options(selectinload(Framework.versions.and_(in_catalogue)))
            .order_by(Framework.slug)
        )
    )


def retired_counts() -> dict[int, int]:
    """Retired node count per version id."""
    return dict(
        db.session.execute(
            sa.select(FrameworkNode.version_id, sa.func.count(FrameworkNode.id))
            .where(FrameworkNode.retired_at.is_not(None))
            .group_by(FrameworkNode.version_id)
        ).all()
    )


def get_version(version_id: int) -> FrameworkVersion | None:
    return db.session.get(FrameworkVersion, version_id)


def get_node(node_id: int) -> FrameworkNode | None:
    return db.session.scalar(
        sa.select(FrameworkNode)
        .where(FrameworkNode.id == node_id)
        .options(joinedload(FrameworkNode.version).joinedload(FrameworkVersion.framework))
    )


@dataclass
class TreeItem:
    node: FrameworkNode
    children: list[TreeItem] = field(default_factory=list)


def nodes_in_order(version_id: int, max_depth: int | None = None) -> list[FrameworkNode]:
    """The nodes of a framework version, parents before children and siblings in their order (one statement),
    down to ``max_depth`` when given."""
    query = sa.select(FrameworkNode).where(FrameworkNode.version_id == version_id)
    if max_depth is not None:
        query = query.where(FrameworkNode.depth <= max_depth)
    return list(db.session.scalars(query.order_by(FrameworkNode.depth, FrameworkNode.position, FrameworkNode.id)))


def version_tree(version: FrameworkVersion, max_depth: int | None = None) -> list[TreeItem]:
    """The version's nodes as a tree (one statement), down to ``max_depth`` when given."""
    items: dict[int, TreeItem] = {}
    roots: list[TreeItem] = []
    for node in nodes_in_order(version.id, max_depth):
        item = items[node.id] = TreeItem(node)
        parent = items.get(node.parent_id) if node.parent_id else None
        (parent.children if parent else roots).append(item)
    return roots


def ancestors(node: FrameworkNode) -> list[FrameworkNode]:
    """The node's ancestors from the root (one statement)."""
    ids = node.ancestor_ids
    if not ids:
        return []
    found = {n.id: n for n in db.session.scalars(sa.select(FrameworkNode).where(FrameworkNode.id.in_(ids)))}
    return [found[i] for i in ids if i in found]


def children_of(node: FrameworkNode) -> list[FrameworkNode]:
    return list(
        db.session.scalars(
            sa.select(FrameworkNode)
            .where(FrameworkNode.parent_id == node.id)
            .order_by(FrameworkNode.position, FrameworkNode.id)
        )
    )


def current_equivalent(node: FrameworkNode) -> FrameworkNode | None:
    """The node with the same code in the framework's current version, when ``node`` belongs to an older one."""
    if node.version.is_current:
        return None
    return db.session.scalar(
        sa.select(FrameworkNode)
        .join(FrameworkVersion, FrameworkNode.version_id == FrameworkVersion.id)
        .where(
            FrameworkVersion.framework_id == node.version.framework_id,
            FrameworkVersion.is_current.is_(True),
            FrameworkNode.code == node.code,
        )
    )


@dataclass
class LinkedItem:
    """The other end of a crosswalk link: a node, or an external URI that no imported node carries."""

    relation: Relation
    node: FrameworkNode | None = None
    uri: str | None = None


def node_links(node: FrameworkNode) -> dict[Relation, list[LinkedItem]]:
    """Crosswalk links of ``node`` both ways, grouped by relation read from ``node`` (three statements).

    Links found from the other end use the inverse relation (the target of "A broader B" sees "B narrower A").
    ESCO-URI links resolve to the node of the current ESCO version carrying that URI, when ESCO is imported.
    """
    source, target = aliased(FrameworkNode), aliased(FrameworkNode)
    eager = (
        joinedload(source.version).joinedload(FrameworkVersion.framework),
        joinedload(target.version).joinedload(FrameworkVersion.framework),
    )
    conditions = [CrosswalkLink.source_node_id == node.id, CrosswalkLink.target_node_id == node.id]
    if node.uri:
        conditions.append(CrosswalkLink.target_uri == node.uri)
    rows = db.session.execute(
        sa.select(CrosswalkLink, source, target)
        .join(source, CrosswalkLink.source_node_id == source.id)
        .outerjoin(target, CrosswalkLink.target_node_id == target.id)
        .where(sa.or_(*conditions))
        .options(*eager)
        .order_by(CrosswalkLink.id)
    ).all()
    uris = {link.target_uri for link, _s, _t in rows if link.source_node_id == node.id and link.target_uri}
    by_uri = {}
    if uris:
        for found in db.session.scalars(
            sa.select(FrameworkNode)
            .join(FrameworkVersion, FrameworkNode.version_id == FrameworkVersion.id)
            .where(FrameworkNode.uri.in_(uris), FrameworkVersion.is_current.is_(True))
            .options(joinedload(FrameworkNode.version).joinedload(FrameworkVersion.framework))
        ):
            by_uri.setdefault(found.uri, found)
    grouped: dict[Relation, list[LinkedItem]] = {}
    seen = set()
    for link, source_node, target_node in rows:
        if link.source_node_id == node.id:
            relation = link.relation
            other = target_node or by_uri.get(link.target_uri)
            item = LinkedItem(relation, node=other, uri=None if other else link.target_uri)
        else:
            if node.version.in_catalogue and not source_node.version.in_catalogue:
                continue  # a version from a person's data import adds nothing to the catalogue's pages
            relation = link.relation.inverse
            item = LinkedItem(relation, node=source_node)
        key = (relation, item.node.id if item.node else item.uri)
        if key in seen:
            continue
        seen.add(key)
        grouped.setdefault(relation, []).append(item)
    return {r: grouped[r] for r in Relation if r in grouped}
