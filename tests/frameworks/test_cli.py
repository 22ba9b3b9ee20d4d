"""``flask frameworks import|import-esco|import-rncp|list`` and the shipped files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.config import PROJECT_DIR
from app.extensions import db
from app.frameworks import operations as ops
from app.frameworks.models import Crosswalk, CrosswalkLink, FrameworkNode

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def runner(app, db_session):
    return app.test_cli_runner()


def test_import_directory_then_list(runner, tmp_path):
    for name in ("demo-v1.yaml", "keycomp.yaml", "crosswalk-key.yaml"):
        shutil.copy(FIXTURES / name, tmp_path / name)
    result = runner.invoke(args=["frameworks", "import", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "created   demo-solidarite 1 (6 nodes, 0 retired)" in result.output
    assert "created   crosswalk demo-solidarite--demo-key (2 links)" in result.output
    again = runner.invoke(args=["frameworks", "import", str(tmp_path)])
    assert again.output.count("unchanged") == 3
    runner.invoke(args=["frameworks", "import", str(FIXTURES / "demo-v2.yaml")])
    listing = runner.invoke(args=["frameworks", "list"]).output.splitlines()
    assert "demo-solidarite\t1\town\t6 nodes\t1 retired" in listing
    assert "demo-solidarite\t2\town\t6 nodes\t0 retired\tcurrent" in listing


def test_bad_input_exits_non_zero_and_imports_nothing(runner, tmp_path):
    shutil.copy(FIXTURES / "keycomp.yaml", tmp_path / "a.yaml")
    (tmp_path / "b.yaml").write_text("format: acquis-framework/1\nid: x\nversion: 1\n")
    result = runner.invoke(args=["frameworks", "import", str(tmp_path)])
    assert result.exit_code == 1
    assert "b.yaml, line 3: version must be of type string" in result.output
    assert ops.list_frameworks() == []


def test_import_esco_and_rncp(runner):
    result = runner.invoke(args=["frameworks", "import-esco", str(FIXTURES / "esco"), "--languages", "fr,en"])
    assert result.exit_code == 0, result.output
    assert "created   esco 1.2.0 (8 nodes, 0 retired)" in result.output
    rncp = FIXTURES / "rncp"
    args = ["frameworks", "import-rncp", "--standard", str(rncp / "standard.csv"), "--blocs", str(rncp / "blocs.csv")]
    result = runner.invoke(args=[*args, "--fiche", "RNCP99901"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=[*args, "--fiche", "RNCP00000"])
    assert result.exit_code == 1 and "no certification RNCP00000" in result.output


def test_shipped_frameworks_import_cleanly(runner):
    result = runner.invoke(args=["frameworks", "import", str(PROJECT_DIR / "competencies")])
    assert result.exit_code == 0, result.output
    assert "failed" not in result.output and "not current" not in result.output
    versions = {f.slug: f.current_version for f in ops.list_frameworks()}
    assert set(versions) == {
        "solidarite-internationale",
        "eu-key-competences-2018",
        "example-rncp-coordination-projets-solidarite",
    }

    def kinds(version):
        counts = {}
        for kind in db.session.scalars(sa.select(FrameworkNode.kind).where(FrameworkNode.version_id == version.id)):
            counts[kind.value] = counts.get(kind.value, 0) + 1
        return counts

    si = versions["solidarite-internationale"]
    assert (si.framework.kind.value, si.example, len(si.levels)) == ("own", False, 4)
    assert kinds(si) == {"domain": 7, "competence": 40}
    assert [level["rank"] for level in si.levels] == [1, 2, 3, 4]
    assert all({"fr", "en"} <= set(level["label"]) for level in si.levels)

    key = versions["eu-key-competences-2018"]
    assert (key.framework.kind.value, key.example, key.levels) == ("key_competences", False, [])
    assert kinds(key) == {"competence": 8}

    example = versions["example-rncp-coordination-projets-solidarite"]
    assert (example.framework.kind.value, example.example) == ("rncp", True)
    assert example.certification["code"] == "RNCP00000"
    assert kinds(example) == {"bloc": 4, "competence": 17}

    links = dict(
        db.session.execute(
            sa.select(Crosswalk.slug, sa.func.count(CrosswalkLink.id))
            .join(CrosswalkLink, CrosswalkLink.crosswalk_id == Crosswalk.id)
            .group_by(Crosswalk.slug)
        ).all()
    )
    assert set(links) == {
        "solidarite-internationale--eu-key-competences-2018",
        "solidarite-internationale--esco",
        "example-rncp-coordination-projets-solidarite--solidarite-internationale",
    }
    assert all(count > 0 for count in links.values()), links
    for slug, count in links.items():
        assert f"crosswalk {slug} ({count} links)" in result.output


def test_older_version_is_stored_as_earlier_unless_asked(runner):
    assert runner.invoke(args=["frameworks", "import", str(FIXTURES / "demo-v2.yaml")]).exit_code == 0
    result = runner.invoke(args=["frameworks", "import", str(FIXTURES / "demo-v1.yaml")])
    assert result.exit_code == 0, result.output
    assert (
        "created   demo-solidarite 1 (6 nodes, 1 retired, stored as an earlier version: not current)" in result.output
    )
    listing = runner.invoke(args=["frameworks", "list"]).output.splitlines()
    assert "demo-solidarite\t2\town\t6 nodes\t0 retired\tcurrent" in listing
    assert "demo-solidarite\t1\town\t6 nodes\t1 retired" in listing
