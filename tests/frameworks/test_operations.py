"""Imports: versions and retirement, idempotence, atomicity, crosswalk lookups both ways."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.frameworks import operations as ops
from app.frameworks.importers import FrameworkImportError
from app.frameworks.importers.rncp_csv import parse_rncp
from app.frameworks.importers.yaml_format import parse_files
from app.frameworks.models import (
    Crosswalk,
    CrosswalkLink,
    Framework,
    FrameworkNode,
    FrameworkVersion,
    Relation,
)

FIXTURES = Path(__file__).parent / "fixtures"


def _count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def _node(slug, version, code) -> FrameworkNode:
    return db.session.scalar(
        sa.select(FrameworkNode)
        .join(FrameworkVersion, FrameworkNode.version_id == FrameworkVersion.id)
        .join(Framework)
        .where(Framework.slug == slug, FrameworkVersion.version == version, FrameworkNode.code == code)
    )


def test_import_creates_version_and_tree(import_yaml):
    (result,) = import_yaml("demo-v1.yaml")
    assert (result.status, result.nodes, result.retired) == ("created", 6, 0)
    (framework,) = ops.list_frameworks()
    version = framework.current_version
    assert (framework.slug, version.version, version.node_count) == ("demo-solidarite", "1", 6)
    assert version.levels[0]["label"]["en"] == "Discovery"
    tree = ops.version_tree(version)
    assert [item.node.code for item in tree] == ["D1", "D2"]
    assert [item.node.code for item in tree[0].children] == ["D1.1", "D1.2"]
    child = tree[0].children[1].node
    assert child.parent_id == tree[0].node.id and child.ancestor_ids == [tree[0].node.id]
    assert [a.code for a in ops.ancestors(child)] == ["D1"]


def test_reimport_is_a_no_op(import_yaml):
    import_yaml("demo-v1.yaml")
    before = (_count(FrameworkVersion), _count(FrameworkNode))
    (result,) = import_yaml("demo-v1.yaml")
    assert result.status == "unchanged"
    assert (_count(FrameworkVersion), _count(FrameworkNode)) == before


def test_new_version_retires_removed_nodes_and_keeps_old_ones(import_yaml):
    import_yaml("demo-v1.yaml")
    old = _node("demo-solidarite", "1", "D2.2")
    old_id, old_kept = old.id, _node("demo-solidarite", "1", "D2.1").id
    (result,) = import_yaml("demo-v2.yaml")
    assert (result.status, result.nodes, result.retired) == ("created", 6, 1)
    db.session.expire_all()
    # The node a claim would point at still loads, marked retired, in its own version.
    reloaded = db.session.get(FrameworkNode, old_id)
    assert reloaded.code == "D2.2" and reloaded.retired_at is not None
    assert db.session.get(FrameworkNode, old_kept).retired_at is None
    # v1 is unchanged: same six nodes; v2 is current and has the new node.
    versions = {v.version: v for v in ops.list_frameworks()[0].versions}
    assert len(ops.version_tree(versions["1"])[1].children) == 2
    assert not versions["1"].is_current and versions["2"].is_current
    assert _node("demo-solidarite", "2", "D2.3") is not None and _node("demo-solidarite", "2", "D2.2") is None
    # An old node that still exists points at its current equivalent.
    kept = ops.get_node(old_kept)
    assert ops.current_equivalent(kept).version_id == versions["2"].id
    # Importing v1 again changes nothing (and does not make it current again).
    assert import_yaml("demo-v1.yaml")[0].status == "unchanged"


def test_changed_content_under_the_same_version_is_refused(import_yaml, tmp_path):
    import_yaml("demo-v1.yaml")
    changed = tmp_path / "demo.yaml"
    changed.write_text((FIXTURES / "demo-v1.yaml").read_text().replace("Gestion de projet", "Gestion de projets"))
    frameworks, _ = parse_files([changed])
    with pytest.raises(FrameworkImportError, match="already imported with different content"):
        ops.import_batch(frameworks)


def test_a_bad_file_among_good_ones_imports_nothing(tmp_path, db_session):
    for name in ("demo-v1.yaml", "keycomp.yaml", "crosswalk-key.yaml"):
        shutil.copy(FIXTURES / name, tmp_path / name)
    (tmp_path / "zz-bad.yaml").write_text("format: acquis-framework/1\nid: Bad Slug\n")
    with pytest.raises(FrameworkImportError) as exc_info:
        frameworks, crosswalks = parse_files([tmp_path])
        ops.import_batch(frameworks, crosswalks)
    assert all(p.file.endswith("zz-bad.yaml") for p in exc_info.value.problems)
    assert _count(Framework) == 0


def test_a_crosswalk_naming_a_missing_code_imports_nothing(tmp_path):
    bad = tmp_path / "cw.yaml"
    bad.write_text((FIXTURES / "crosswalk-key.yaml").read_text().replace('target: "KC1"', 'target: "KC9"'))
    frameworks, crosswalks = parse_files([FIXTURES / "demo-v1.yaml", FIXTURES / "keycomp.yaml", bad])
    with pytest.raises(FrameworkImportError) as exc_info:
        ops.import_batch(frameworks, crosswalks)
    (problem,) = exc_info.value.problems
    assert problem.line == 6 and problem.english().endswith(": target code 'KC9' does not exist")
    assert (_count(Framework), _count(FrameworkNode), _count(Crosswalk)) == (0, 0, 0)


def test_a_failure_while_writing_rolls_back_to_before_the_import(import_yaml, monkeypatch):
    import_yaml("keycomp.yaml")

    def explode(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(ops, "_retire_missing", explode)
    frameworks, _ = parse_files([FIXTURES / "demo-v1.yaml"])
    with pytest.raises(RuntimeError):
        ops.import_batch(frameworks)
    assert [f.slug for f in ops.list_frameworks()] == ["demo-key"]
    assert _count(FrameworkNode) == 2


def test_crosswalk_links_both_ways(import_yaml):
    results = import_yaml("demo-v1.yaml", "keycomp.yaml", "crosswalk-key.yaml")
    assert [r.status for r in results] == ["created", "created", "created"]
    d12, d1 = _node("demo-solidarite", "1", "D1.2"), _node("demo-solidarite", "1", "D1")
    kc1, kc5 = _node("demo-key", "2018", "KC1"), _node("demo-key", "2018", "KC5")
    assert {r: [i.node.code for i in items] for r, items in ops.node_links(d12).items()} == {Relation.CLOSE: ["KC1"]}
    assert [i.node.code for i in ops.node_links(kc1)[Relation.CLOSE]] == ["D1.2"]
    # "D1 broader KC5" seen from KC5 is "KC5 narrower D1".
    assert list(ops.node_links(d1)) == [Relation.BROADER]
    assert [i.node.code for i in ops.node_links(kc5)[Relation.NARROWER]] == ["D1"]
    assert import_yaml("crosswalk-key.yaml")[0].status == "unchanged"


def test_changed_crosswalk_replaces_its_links(import_yaml, tmp_path):
    import_yaml("demo-v1.yaml", "keycomp.yaml", "crosswalk-key.yaml")
    changed = tmp_path / "cw.yaml"
    changed.write_text((FIXTURES / "crosswalk-key.yaml").read_text().replace("relation: close", "relation: exact"))
    frameworks, crosswalks = parse_files([changed])
    assert ops.import_batch(frameworks, crosswalks)[0].status == "updated"
    assert _count(CrosswalkLink) == 2
    assert list(ops.node_links(_node("demo-key", "2018", "KC1"))) == [Relation.EXACT]


def test_esco_uri_links_resolve_once_esco_is_imported(import_yaml, import_esco):
    import_yaml("demo-v1.yaml", "crosswalk-esco.yaml")
    d11 = _node("demo-solidarite", "1", "D1.1")
    (item,) = ops.node_links(d11)[Relation.CLOSE]
    assert item.node is None and item.uri == "http://data.europa.eu/esco/skill/test-0001"
    import_esco()
    (item,) = ops.node_links(d11)[Relation.CLOSE]
    assert item.node.uri == item.node.uri == "http://data.europa.eu/esco/skill/test-0001"
    esco_node = item.node
    assert [i.node.code for i in ops.node_links(esco_node)[Relation.CLOSE]] == ["D1.1"]


def test_esco_import_is_idempotent_and_versioned(import_esco, esco_dir):
    (result,) = import_esco()
    assert (result.status, result.nodes) == ("created", 8)
    assert import_esco()[0].status == "unchanged"
    # ESCO 1.2.1 drops a skill: it is retired in 1.2.0.
    path = esco_dir / "skills_en.csv"
    path.write_text("\n".join(path.read_text(encoding="utf-8-sig").splitlines()[:-1]) + "\n")
    path = esco_dir / "broaderRelationsSkillPillar_en.csv"
    path.write_text("\n".join(path.read_text().splitlines()[:3]) + "\n")
    (result,) = import_esco(esco_dir, version="1.2.1")
    assert (result.nodes, result.retired) == (7, 1)
    assert _node("esco", "1.2.0", "test-0004").retired_at is not None


def test_rncp_import(db_session):
    parsed = parse_rncp(FIXTURES / "rncp" / "standard.csv", FIXTURES / "rncp" / "blocs.csv", "RNCP99901")
    (result,) = ops.import_batch([parsed])
    assert (result.status, result.nodes) == ("created", 3)
    version = ops.list_frameworks()[0].current_version
    assert version.framework.kind.value == "rncp" and version.certification["level"] == 6
    assert ops.import_batch([parsed])[0].status == "unchanged"


def test_import_is_audited(import_yaml):
    from app.core.audit import AuditEvent

    import_yaml("demo-v1.yaml")
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "framework.imported"))
    assert event.data == {"framework": "demo-solidarite", "version": "1", "nodes": 6, "retired": 0, "current": True}


# --------------------------------------------------------------------------------------------------- version order


@pytest.mark.parametrize(
    ("version", "than", "expected"),
    [
        ("2", "1", True),
        ("1", "2", False),
        ("2026.1", "2018", True),
        ("1.10.0", "1.9.2", True),
        ("v1.2.1", "1.2.0", True),
        ("2024-02-15", "2023-01-05", True),
        ("1.2", "1.2.0", None),
        ("beta", "1", None),
        ("2026.1", "2026.1-rc", None),
    ],
)
def test_version_order(version, than, expected):
    assert ops.is_newer(version, than) is expected


def test_importing_an_older_version_keeps_the_newer_one_current(import_yaml):
    import_yaml("demo-v2.yaml")
    (result,) = import_yaml("demo-v1.yaml")
    # v1 is stored beside v2, not current; its D2.2 (absent from v2) is retired, v2 is untouched.
    assert (result.status, result.current, result.retired) == ("created", False, 1)
    db.session.expire_all()
    versions = {v.version: v for v in ops.list_frameworks()[0].versions}
    assert versions["2"].is_current and not versions["1"].is_current
    assert _node("demo-solidarite", "2", "D2.3").retired_at is None
    assert _node("demo-solidarite", "1", "D2.2").retired_at is not None
    assert _node("demo-solidarite", "1", "D2.1").retired_at is None
    assert ops.current_equivalent(ops.get_node(_node("demo-solidarite", "1", "D2.1").id)).version_id == versions["2"].id


def test_both_versions_in_one_batch_whatever_the_order(tmp_path, db_session):
    for name in ("demo-v2.yaml", "demo-v1.yaml"):
        shutil.copy(FIXTURES / name, tmp_path / ("a.yaml" if name == "demo-v2.yaml" else "b.yaml"))
    frameworks, crosswalks = parse_files([tmp_path])
    assert [f.version for f in frameworks] == ["2", "1"]
    ops.import_batch(frameworks, crosswalks)
    versions = {v.version: v for v in ops.list_frameworks()[0].versions}
    assert versions["2"].is_current and not versions["1"].is_current
    assert _node("demo-solidarite", "2", "D2.3").retired_at is None


def test_not_comparable_versions_switch_only_when_asked(import_yaml, tmp_path):
    import_yaml("demo-v1.yaml")
    renamed = tmp_path / "demo-next.yaml"
    renamed.write_text((FIXTURES / "demo-v2.yaml").read_text().replace('version: "2"', 'version: "next"'))
    (result,) = ops.import_batch(*parse_files([renamed]))
    assert not result.current and _node("demo-solidarite", "1", "D2.2").retired_at is None
    assert _node("demo-solidarite", "next", "D2.3").retired_at is not None

    other = tmp_path / "demo-other.yaml"
    other.write_text((FIXTURES / "demo-v2.yaml").read_text().replace('version: "2"', 'version: "other"'))
    (result,) = ops.import_batch(*parse_files([other]), make_current=True)
    assert result.current and result.retired == 1  # v1's D2.2 (the "next" D2.3 exists in "other")
    versions = {v.version: v.is_current for v in ops.list_frameworks()[0].versions}
    assert versions == {"1": False, "next": False, "other": True}


def test_older_esco_version_is_stored_beside_the_current_one(import_esco, esco_dir):
    path = esco_dir / "skills_en.csv"
    path.write_text("\n".join(path.read_text(encoding="utf-8-sig").splitlines()[:-1]) + "\n")
    path = esco_dir / "broaderRelationsSkillPillar_en.csv"
    path.write_text("\n".join(path.read_text().splitlines()[:3]) + "\n")
    import_esco(esco_dir, version="1.2.1")
    (result,) = import_esco(version="1.2.0")
    assert (result.current, result.nodes, result.retired) == (False, 8, 1)
    versions = {v.version: v.is_current for v in ops.list_frameworks()[0].versions}
    assert versions == {"1.2.0": False, "1.2.1": True}
    assert _node("esco", "1.2.0", "test-0004").retired_at is not None
    assert _node("esco", "1.2.1", "test-0001").retired_at is None
