"""``flask frameworks import|import-esco|import-rncp|list`` and the shipped files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app.config import PROJECT_DIR
from app.frameworks import operations as ops

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
    assert "b.yaml, line 3: version: 1 is not of type 'string'" in result.output
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
    shipped = PROJECT_DIR / "competencies"
    if not any(shipped.glob("*.yaml")):
        pytest.skip("no shipped framework files yet")
    result = runner.invoke(args=["frameworks", "import", str(shipped)])
    assert result.exit_code == 0, result.output
    assert "failed" not in result.output
    slugs = {f.slug for f in ops.list_frameworks()}
    assert {"solidarite-internationale", "eu-key-competences-2018"} <= slugs
