"""``flask frameworks suggest``: the contract the tests and benchmarks rely on."""

from __future__ import annotations

import json

import pytest

from app.config import PROJECT_DIR


@pytest.fixture
def runner(app, db_session):
    from app.frameworks import operations as ops
    from app.frameworks.importers.yaml_format import parse_files

    frameworks, crosswalks = parse_files([PROJECT_DIR / "competencies"])
    ops.import_batch(frameworks, crosswalks)
    return app.test_cli_runner()


def suggest(runner, text, *options):
    args = ["frameworks", "suggest", "--framework", "solidarite-internationale", *options]
    return runner.invoke(args=args, input=text.encode("utf-8"))


def test_whole_input_is_one_text_one_code_per_line(runner):
    result = suggest(runner, "Je tenais la caisse\net les factures pour le bailleur.", "--lang", "fr", "--top", "3")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "SI.4.5" and 1 < len(lines) <= 3
    assert all(line.startswith("SI.") and " " not in line for line in lines)


def test_each_line_is_one_text_in_input_order(runner):
    text = "I translated for the doctors.\n\nWe ran a radio campaign on hygiene.\n"
    result = suggest(runner, text, "--lang", "en", "--top", "2", "--each-line")
    assert result.exit_code == 0, result.output
    lines = result.output.split("\n")[:-1]
    assert len(lines) == 3
    assert lines[0].split(" ")[0] == "SI.7.4" and 1 <= len(lines[0].split(" ")) <= 2
    assert lines[1] == ""  # an empty text: an empty line, the order is kept
    assert lines[2].split(" ")[0] == "SI.5.5"


def test_json_prints_scores_and_explanations(runner):
    result = suggest(runner, "Hice de intérprete entre el médico y las familias.", "--lang", "es", "--json")
    data = json.loads(result.output)
    first = data["suggestions"][0]
    assert data["language"] == "es" and first["code"] == "SI.7.4"
    assert first["score"] > 0 and first["matched"]
    each = suggest(runner, "budget\n\n", "--lang", "en", "--json", "--each-line")
    assert [item["status"] for item in json.loads(each.output)] == ["ok", "empty"]


def test_unknown_framework_or_version_is_a_usage_error(runner):
    bad = runner.invoke(args=["frameworks", "suggest", "--framework", "nope", "--lang", "fr"], input=b"x")
    assert bad.exit_code == 2 and "no framework" in bad.output
    version = suggest(runner, "x", "--lang", "fr", "--version", "1999")
    assert version.exit_code == 2 and "no version" in version.output
    ok = suggest(runner, "caisse", "--lang", "fr", "--version", "2026.1")
    assert ok.exit_code == 0 and ok.output.startswith("SI.4.5")
