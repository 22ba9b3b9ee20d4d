"""Parsers on fixtures in the official formats: our YAML, ESCO CSV, France Compétences RNCP CSV."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from app.frameworks.importers import FrameworkImportError
from app.frameworks.importers.esco_csv import parse_esco, version_from_name
from app.frameworks.importers.rncp_csv import normalise_fiche, parse_rncp
from app.frameworks.importers.yaml_format import parse_document, parse_files

FIXTURES = Path(__file__).parent / "fixtures"


def _problems(exc_info) -> list[str]:
    return [p.english() for p in exc_info.value.problems]


# --------------------------------------------------------------------------------------------------- YAML


def test_yaml_framework_is_parsed_into_a_tree():
    (framework,), crosswalks = parse_files([FIXTURES / "demo-v1.yaml"])
    assert crosswalks == []
    assert (framework.slug, framework.version, framework.kind) == ("demo-solidarite", "1", "own")
    assert [n.code for n in framework.nodes] == ["D1", "D1.1", "D1.2", "D2", "D2.1", "D2.2"]
    child = framework.nodes[1]
    assert (child.parent_code, child.depth, child.position) == ("D1", 1, 0)
    assert [lv["rank"] for lv in framework.levels] == [1, 2]


def test_yaml_hash_ignores_formatting():
    text = (FIXTURES / "demo-v1.yaml").read_text()
    reformatted = "# a comment\n" + text.replace("licence: CC-BY-4.0", "licence:   'CC-BY-4.0'")
    assert parse_document(text, "a").content_hash == parse_document(reformatted, "b").content_hash


def test_yaml_schema_error_names_the_line():
    text = (FIXTURES / "demo-v1.yaml").read_text().replace("        kind: competence\n", "        kind: skillz\n", 1)
    with pytest.raises(FrameworkImportError) as exc_info:
        parse_document(text, "broken.yaml")
    (problem,) = exc_info.value.problems
    assert problem.file == "broken.yaml"
    assert problem.line == text.splitlines().index("        kind: skillz") + 1
    assert "skillz" in problem.english() and "nodes[0].children[0].kind" in problem.english()


def test_yaml_unquoted_version_is_refused_with_its_line():
    text = (FIXTURES / "demo-v1.yaml").read_text().replace('version: "1"', "version: 2026.1")
    with pytest.raises(FrameworkImportError) as exc_info:
        parse_document(text, "v.yaml")
    assert exc_info.value.problems[0].line == 3


def test_yaml_syntax_error_names_the_line():
    text = "format: acquis-framework/1\nid: x\ntitle: {fr: [unclosed\n"
    with pytest.raises(FrameworkImportError) as exc_info:
        parse_document(text, "syntax.yaml")
    assert exc_info.value.problems[0].line is not None
    assert "invalid YAML" in exc_info.value.problems[0].english()


def test_yaml_aliases_are_refused_before_anything_expands(app):
    """A few hundred bytes that expand to 10**10 items: refused at the first alias, with its line."""
    lines = ["format: acquis-framework/1", "a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 10)}]" for n in range(1, 10)]
    with pytest.raises(FrameworkImportError) as exc_info:
        parse_document("\n".join(lines), "bomb.yaml")
    [problem] = exc_info.value.problems
    assert problem.line == 3 and "aliases" in problem.english()


def test_yaml_events_are_bounded_when_asked(app):
    text = (FIXTURES / "demo-v1.yaml").read_text()
    parse_document(text, "demo.yaml", max_events=10_000)
    with pytest.raises(FrameworkImportError) as exc_info:
        parse_document(text, "demo.yaml", max_events=20)
    assert "too many items" in _problems(exc_info)[0]


def test_yaml_duplicate_code_is_refused():
    text = (FIXTURES / "demo-v1.yaml").read_text().replace('code: "D2.2"', 'code: "D1.1"')
    with pytest.raises(FrameworkImportError) as exc_info:
        parse_document(text, "dup.yaml")
    assert "used twice" in str(exc_info.value)


def test_unknown_format_is_refused():
    with pytest.raises(FrameworkImportError, match="unknown format"):
        parse_document("format: other/1\n", "x.yaml")


def test_directory_lists_frameworks_and_crosswalks_with_all_problems(tmp_path):
    for name in ("demo-v1.yaml", "crosswalk-key.yaml"):
        shutil.copy(FIXTURES / name, tmp_path / name)
    frameworks, crosswalks = parse_files([tmp_path])
    assert len(frameworks) == 1 and len(crosswalks) == 1
    (tmp_path / "bad1.yaml").write_text("format: acquis-framework/1\n")
    (tmp_path / "bad2.yaml").write_bytes(b"\xff\xfe not utf8")
    with pytest.raises(FrameworkImportError) as exc_info:
        parse_files([tmp_path])
    files = {Path(p.file).name for p in exc_info.value.problems}
    assert files == {"bad1.yaml", "bad2.yaml"}


def test_crosswalk_to_esco_needs_esco_uris():
    text = (FIXTURES / "crosswalk-esco.yaml").read_text().replace("http://data.europa.eu/esco/skill/", "http://x.org/")
    with pytest.raises(FrameworkImportError) as exc_info:
        parse_document(text, "cw.yaml")
    assert exc_info.value.problems[0].line == 6


# --------------------------------------------------------------------------------------------------- ESCO


def test_esco_joins_languages_and_keeps_multiline_alt_labels():
    parsed = parse_esco(FIXTURES / "esco", version="1.2.0")
    nodes = {n.uri: n for n in parsed.nodes}
    adapt = nodes["http://data.europa.eu/esco/skill/test-0001"]
    assert adapt.title == {
        "en": "adapt to a new cultural setting",
        "fr": "s'adapter à un nouvel environnement culturel",
    }
    assert adapt.alt_labels["en"] == "adjust to another culture\nwork across cultures"
    assert adapt.alt_labels["fr"].splitlines()[1] == "travailler de façon interculturelle"
    # Commas inside quoted cells stay in one cell.
    assert nodes["http://data.europa.eu/esco/skill/test-0002"].description["en"].startswith("Plan, carry out")
    principles = nodes["http://data.europa.eu/esco/skill/test-0003"]
    assert principles.kind == "knowledge"
    assert principles.alt_labels["en"] == "humanity, neutrality, impartiality, independence"
    # Only in English: kept, without a French title.
    assert nodes["http://data.europa.eu/esco/skill/test-0004"].title == {"en": "budget a community project"}


def test_esco_hierarchy_and_broader_relations_build_the_tree():
    parsed = parse_esco(FIXTURES / "esco")
    by_uri = {n.uri: n for n in parsed.nodes}
    group = by_uri["http://data.europa.eu/esco/skill/test-group-t4"]
    assert (group.code, group.kind, group.parent_code, group.depth) == ("T4", "group", "T", 1)
    assert group.title["fr"] == "compétences sociales et de communication"
    assert by_uri["http://data.europa.eu/esco/skill/test-0001"].parent_code == "T4"
    # The first broader concept wins: a skill under a skill.
    budget = by_uri["http://data.europa.eu/esco/skill/test-0004"]
    assert (budget.parent_code, budget.depth) == ("test-0002", 3)
    # Parents come before children.
    seen = set()
    for node in parsed.nodes:
        assert node.parent_code is None or node.parent_code in seen
        seen.add(node.code)
    # No parent in any file: a root.
    assert by_uri["http://data.europa.eu/esco/skill/test-0003"].parent_code is None


def test_esco_with_and_without_bom(esco_dir):
    assert (FIXTURES / "esco" / "skills_en.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    assert not (FIXTURES / "esco" / "skills_fr.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    path = esco_dir / "skills_en.csv"
    path.write_bytes(path.read_bytes()[3:])
    nodes = {n.uri: n for n in parse_esco(esco_dir).nodes}
    assert nodes["http://data.europa.eu/esco/skill/test-0001"].title["en"] == "adapt to a new cultural setting"


def test_esco_language_selection(esco_dir):
    parsed = parse_esco(esco_dir, languages=["fr"])
    assert all(set(n.title) <= {"fr"} for n in parsed.nodes if n.title)
    with pytest.raises(FrameworkImportError, match=r"skills_es\.csv"):
        parse_esco(esco_dir, languages=["fr", "es"])


@pytest.mark.parametrize(
    ("bad_line", "expected"),
    [
        ("KnowledgeSkillCompetence,http://data.europa.eu/esco/skill/x,skill/competence,too few\n", "row 7: 4 columns"),
        (
            "KnowledgeSkillCompetence,,skill/competence,transversal,label,,,released,,,,,\n",
            "row 7: conceptUri is empty",
        ),
        (
            "KnowledgeSkillCompetence,ftp://evil/x,skill/competence,transversal,label,,,released,,,,,\n",
            "row 7: conceptUri",
        ),
    ],
)
def test_esco_malformed_rows_are_reported_with_row_numbers(esco_dir, bad_line, expected):
    # skills_en.csv: header (row 1), 4 records of which the first spans two lines; the new record is row 6.
    path = esco_dir / "skills_en.csv"
    path.write_text(path.read_text(encoding="utf-8-sig") + bad_line.replace("row 7", ""), encoding="utf-8")
    with pytest.raises(FrameworkImportError) as exc_info:
        parse_esco(esco_dir)
    messages = _problems(exc_info)
    assert any(m.startswith("skills_en.csv, row 6:") for m in messages), messages
    assert any(expected.split(": ", 1)[1] in m for m in messages), messages


def test_esco_missing_column_is_reported(esco_dir):
    path = esco_dir / "skills_fr.csv"
    path.write_text(path.read_text().replace("conceptUri", "uri", 1))
    with pytest.raises(FrameworkImportError, match=r"skills_fr.csv, row 1: missing column\(s\): conceptUri"):
        parse_esco(esco_dir)


def test_esco_version_from_file_name():
    assert version_from_name("ESCO dataset - v1.1.2 - classification - fr - csv.zip") == "1.1.2"
    assert version_from_name("esco.zip") == "1.2.0"


def test_esco_zip_is_read(tmp_path):
    import zipfile

    from app.frameworks.importers.esco_csv import esco_directory

    archive = tmp_path / "ESCO dataset - v1.2.0.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in (FIXTURES / "esco").iterdir():
            zf.write(path, f"folder/{path.name}")
    with esco_directory(archive) as directory:
        assert len(parse_esco(directory).nodes) == 8


# --------------------------------------------------------------------------------------------------- RNCP


def test_rncp_one_certification_with_its_blocs():
    parsed = parse_rncp(FIXTURES / "rncp" / "standard.csv", FIXTURES / "rncp" / "blocs.csv", "RNCP99901")
    assert (parsed.slug, parsed.kind, parsed.version) == ("rncp99901", "rncp", "2024-02-15")
    assert parsed.title == {"fr": "Coordinateur de projets de solidarité internationale (fictif)"}
    assert parsed.certification == {"code": "RNCP99901", "level": 6, "registered_until": "2029-02-15"}
    assert [n.code for n in parsed.nodes] == ["RNCP99901BC01", "RNCP99901BC02", "RNCP99901BC03"]
    assert parsed.nodes[1].title["fr"] == "Piloter les ressources humaines, financières et logistiques d'un projet"
    assert all(n.kind == "bloc" and n.depth == 0 for n in parsed.nodes)


def test_rncp_comma_delimiter_and_bom(tmp_path):
    for name in ("standard.csv", "blocs.csv"):
        rows = (FIXTURES / "rncp" / name).read_text().splitlines()
        converted = [",".join(f'"{cell}"' for cell in row.replace('"', "").split(";")) for row in rows]
        (tmp_path / name).write_text("\ufeff" + "\n".join(converted) + "\n", encoding="utf-8")
    parsed = parse_rncp(tmp_path / "standard.csv", tmp_path / "blocs.csv", "99902")
    assert parsed.title["fr"] == "Chargé de logistique humanitaire (fictif)"
    assert [n.code for n in parsed.nodes] == ["RNCP99902BC01"]


def test_rncp_unknown_fiche_and_bad_rows(tmp_path):
    standard, blocs = FIXTURES / "rncp" / "standard.csv", tmp_path / "blocs.csv"
    with pytest.raises(FrameworkImportError, match="no certification RNCP12345"):
        parse_rncp(standard, FIXTURES / "rncp" / "blocs.csv", "RNCP12345")
    blocs.write_text((FIXTURES / "rncp" / "blocs.csv").read_text() + "RNCP99901;RNCP99901BC09\n")
    with pytest.raises(FrameworkImportError) as exc_info:
        parse_rncp(standard, blocs, "RNCP99901")
    assert _problems(exc_info) == ["blocs.csv, row 6: 2 columns instead of 3"]
    with pytest.raises(FrameworkImportError, match="not an RNCP number"):
        parse_rncp(standard, blocs, "ABC")


def test_normalise_fiche():
    assert normalise_fiche("35658") == normalise_fiche("rncp35658") == "RNCP35658"
    assert normalise_fiche("RS1234x") is None


# --------------------------------------------------------------------------------------------------- messages


def _schema_messages(text: str) -> list[str]:
    with pytest.raises(FrameworkImportError) as exc_info:
        parse_document(text, "f.yaml")
    return _problems(exc_info)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (('version: "1"\n', ""), "f.yaml, line 1: version is required"),
        (('version: "1"', "version: 1"), "f.yaml, line 3: version must be of type string"),
        (("kind: own", "kind: mine"), "f.yaml, line 4: kind: 'mine' is not one of 'own', 'key_competences'"),
        (("id: demo-solidarite", "id: Demo_Solidarite"), "f.yaml, line 2: id: 'Demo_Solidarite' does not have the"),
        (("licence: CC-BY-4.0", "licence: ''"), "f.yaml, line 7: licence must not be empty"),
        (("licence: CC-BY-4.0", "licence: CC-BY-4.0\ncolour: red"), "f.yaml, line 8: unexpected field colour"),
        (("    kind: domain\n", "    kind: domain\n    colour: red\n"), "unexpected field nodes[0].colour"),
        (("  - rank: 2\n", "  - rank: 0\n"), "levels[1].rank must be at least 1"),
    ],
)
def test_schema_errors_have_their_own_wording_naming_the_field(change, expected):
    text = (FIXTURES / "demo-v1.yaml").read_text().replace(*change, 1)
    messages = _schema_messages(text)
    assert any(expected in m for m in messages), messages


def test_empty_node_list_message():
    text = (FIXTURES / "demo-v1.yaml").read_text()
    text = text[: text.index("nodes:")] + "nodes: []\n"
    assert "nodes must have at least 1 item" in _schema_messages(text)[0]


def test_problems_are_translated_when_shown(app):
    """A problem keeps its msgid and parameters and is rendered in the language in use when shown."""
    from flask_babel import force_locale
    from flask_babel.speaklater import LazyString

    from tests.translated import translated

    text = (FIXTURES / "demo-v1.yaml").read_text().replace('version: "1"', "version: 1")
    with pytest.raises(FrameworkImportError) as exc_info:
        parse_document(text, "f.yaml")
    (problem,) = exc_info.value.problems
    assert isinstance(problem.message, LazyString)
    message = translated("fr", "%(field)s must be of type %(expected)s", field="version", expected="string")
    with force_locale("fr"):
        assert str(problem) == translated(
            "fr", "%(file)s, line %(line)d: %(message)s", file="f.yaml", line=3, message=message
        )
    assert problem.english() == "f.yaml, line 3: version must be of type string"
    assert str(exc_info.value) == problem.english()
