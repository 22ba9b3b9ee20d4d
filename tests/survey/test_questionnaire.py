"""The questionnaire data files: complete in fr, en and es, validated when loaded, versioned."""

from __future__ import annotations

import copy

import pytest
import yaml

from app.survey.questionnaire import (
    DATA_DIR,
    LANGUAGES,
    SCALE_VALUES,
    UNDISCLOSED,
    QuestionnaireError,
    all_questionnaires,
    get_questionnaire,
    load_questionnaire,
    open_questionnaires,
    parse_questionnaire,
)

EXPECTED_ITEMS = {
    "personal": {"confidence", "adaptability", "openness", "worldview"},
    "professional": {"career_direction", "employability", "skills_at_work"},
    "social": {"family", "community", "solidarity_action", "civic_participation"},
}


def _raw(version=2):
    return yaml.safe_load((DATA_DIR / f"impact-v{version}.yaml").read_text(encoding="utf-8"))


def test_shipped_versions_load_and_one_is_open():
    refs = [q.ref for q in all_questionnaires()]
    assert refs == ["impact-v1", "impact-v2"]
    assert [q.ref for q in open_questionnaires()] == ["impact-v2"]


@pytest.mark.parametrize("version", [1, 2])
def test_every_text_exists_in_french_english_and_spanish(version):
    questionnaire = get_questionnaire("impact", version)
    texts = questionnaire.all_texts()
    assert len(texts) > 60
    for place, text in texts:
        for language in LANGUAGES:
            assert text.values.get(language, "").strip(), f"{place} has no {language} text"
    # The three languages really differ (a copied French text is not a translation), at least on the title.
    assert len({questionnaire.title.get(lang) for lang in LANGUAGES}) == 3


@pytest.mark.parametrize("version", [1, 2])
def test_structure_matches_the_issue(version):
    questionnaire = get_questionnaire("impact", version)
    assert [q.key for q in questionnaire.profile] == ["status", "mission_length", "region", "years_since_return", "age"]
    status = questionnaire.profile_question("status")
    assert set(status.values) == {"VSI", "SC", "VA", "ESC", "CSI", "BEN", "SAL", "OTHER", UNDISCLOSED}
    region = questionnaire.profile_question("region")
    assert set(region.values) == {"africa", "americas", "asia", "europe", "middle_east", "oceania", UNDISCLOSED}
    for section in questionnaire.sections:
        assert EXPECTED_ITEMS[section.key] <= {i.key for i in section.items}
    assert tuple(o.value for o in questionnaire.scale) == SCALE_VALUES
    assert questionnaire.free_text is not None and questionnaire.free_text.max_length == 2000
    assert questionnaire.consent_version


def test_version_two_adds_one_item_and_keeps_the_others():
    v1, v2 = get_questionnaire("impact", 1), get_questionnaire("impact", 2)
    assert set(v2.item_keys) - set(v1.item_keys) == {"languages"}
    assert set(v1.item_keys) <= set(v2.item_keys)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["title"].pop("es"), "missing or empty text in 'es'"),
        (lambda d: d["sections"][0]["items"][0]["text"].update(en="  "), "missing or empty text in 'en'"),
        (lambda d: d["profile"][0]["options"][0]["label"].update(de="Hallo"), "unknown language"),
        (lambda d: d["sections"][1]["items"].append(copy.deepcopy(d["sections"][0]["items"][0])), "duplicate key"),
        (lambda d: d["scale"].pop(), "the scale must have the values"),
        (lambda d: d.update(colour="blue"), "unknown field"),
        (lambda d: d.pop("consent"), "missing field"),
        (lambda d: d.update(version="two"), "positive integer"),
        (lambda d: d["profile"][0]["options"].append({"value": "undisclosed", "label": d["title"]}), "added auto"),
    ],
)
def test_malformed_files_are_refused_with_a_precise_message(mutate, message):
    data = _raw()
    mutate(data)
    with pytest.raises(QuestionnaireError, match=message):
        parse_questionnaire(data, source="test.yaml")


def test_file_name_must_match_id_and_version(tmp_path):
    path = tmp_path / "impact-v9.yaml"
    path.write_text((DATA_DIR / "impact-v2.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(QuestionnaireError, match=r"impact-v2\.yaml"):
        load_questionnaire(path)


def test_invalid_yaml_is_refused(tmp_path):
    path = tmp_path / "impact-v3.yaml"
    path.write_text("id: [unclosed", encoding="utf-8")
    with pytest.raises(QuestionnaireError, match="not valid YAML"):
        load_questionnaire(path)
