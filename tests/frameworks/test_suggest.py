"""Competence suggestions: languages, cross-language matching, explanations, learning, erasure, hostile input."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.frameworks.suggest import suggest
from app.frameworks.textproc import content_terms

COMPETENCIES = Path(__file__).resolve().parents[2] / "competencies"
REAL_ESCO = Path(__file__).parent / "fixtures" / "esco-real"


@pytest.fixture(scope="module")
def parsed_own():
    from app.frameworks.importers.yaml_format import parse_files

    return parse_files([COMPETENCIES])


@pytest.fixture
def own(db_session, parsed_own):
    """The current version of the shipped ``solidarite-internationale`` framework (imported in the test)."""
    from app.frameworks import operations as ops

    frameworks, crosswalks = parsed_own
    ops.import_batch(frameworks, crosswalks)
    return next(f for f in ops.list_frameworks() if f.slug == "solidarite-internationale").current_version


def codes(result):
    return [s.code for s in result.suggestions]


@pytest.mark.parametrize(
    ("language", "text", "expected"),
    [
        (
            "fr",
            "Chaque semaine je tenais la caisse, je classais les factures et je préparais le rapport financier "
            "pour le bailleur.",
            "SI.4.5",
        ),
        (
            "en",
            "I translated between the doctors and the patients, who only spoke Quechua, and checked they had "
            "understood the treatment.",
            "SI.7.4",
        ),
        (
            "es",
            "Después de un robo en el barrio revisamos las normas de seguridad: nadie salía de noche y avisábamos "
            "a la oficina en cada desplazamiento.",
            "SI.3.5",
        ),
    ],
)
def test_each_language_finds_the_competence_first(own, language, text, expected):
    result = suggest(text, own, language)
    assert result.status == "ok" and result.language == language
    assert codes(result)[0] == expected
    assert len(result.suggestions) <= 5


def test_explanation_names_what_matched_in_the_users_language(own):
    text = "On a monté une campagne de sensibilisation à l'hygiène avec des émissions de radio communautaire."
    result = suggest(text, own, "fr")
    first = result.suggestions[0]
    assert first.code == "SI.5.5"
    assert first.matched, "an explanation names the competence's words that matched"
    assert any("radio" in phrase for phrase in first.matched)
    # The competence's words come from its French texts: no English cue shows up for a French narrative.
    assert not any(phrase in {"community radio", "awareness raising"} for phrase in first.matched)


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("fr", "J'ai organisé des ateliers avec les jeunes et géré les conflits entre deux groupes."),
        ("en", "I managed the budget, wrote the monthly reports and welcomed the new volunteers."),
        ("es", "Aprendí quechua, hice de intérprete y preparé los informes para la sede."),
    ],
)
def test_every_suggestion_says_which_of_the_users_words_matched(own, language, text):
    stems = {stem for stem, _word in content_terms(text, language)}
    result = suggest(text, own, language, top_n=10)
    assert result.suggestions
    for suggestion in result.suggestions:
        assert suggestion.matched and suggestion.words
        for word in suggestion.words:
            assert {stem for stem, _w in content_terms(word, language)} & stems, (suggestion.code, word)


def test_level_guess_where_the_text_supports_one(own):
    alone = suggest("J'ai géré seule le budget du projet, sans aide, et j'étais responsable des achats.", own, "fr")
    assert alone.suggestions[0].level == 3
    trained = suggest("I trained others to keep the accounts and coached the new treasurer on the budget.", own, "en")
    assert trained.suggestions[0].level == 4
    nothing = suggest("Je tenais la caisse et les factures.", own, "fr")
    assert nothing.suggestions[0].level is None


def test_french_and_spanish_narratives_match_an_english_only_esco_import(db_session):
    from app.frameworks import operations as ops
    from app.frameworks.importers.esco_csv import parse_esco

    ops.import_batch([parse_esco(REAL_ESCO, version="1.2.0", languages=["en"])])
    esco = next(f for f in ops.list_frameworks() if f.slug == "esco").current_version
    french = suggest("J'ai géré le budget de l'association et préparé les prévisions budgétaires.", esco, "fr")
    assert french.status == "ok"
    top = french.suggestions[0]
    assert "budget" in top.title.lower(), top.title
    assert any("≈" in phrase for phrase in top.matched), "the explanation shows the French word and the English one"
    for language, text in (
        ("es", "Traducía los documentos y las cartas del francés al español."),
        ("fr", "J'ai traduit les documents et les lettres du français vers l'espagnol."),
    ):
        found = suggest(text, esco, language).suggestions
        assert any("translat" in s.title.lower() for s in found[:3]), [s.title for s in found]


def test_empty_huge_and_hostile_texts_get_a_clear_answer(own):
    empty = suggest("   \n ", own, "fr")
    assert empty.status == "empty" and empty.message and not empty.suggestions
    stops = suggest("le la les et de", own, "fr")
    assert stops.status == "empty"
    no_match = suggest("zzzz qqqq xyzzy", own, "en")
    assert no_match.status == "no_match" and no_match.message
    huge_text = ("I managed the budget and the receipts for the donor. " * 2000)[:100_000]
    started = time.perf_counter()
    huge = suggest(huge_text, own, "en")
    assert time.perf_counter() - started < 2
    assert huge.truncated and huge.suggestions[0].code == "SI.4.5"
    hostile = "<script>alert(1)</script>\x00\u202e' OR 1=1; DROP TABLE frameworks;-- {{7*7}} ${x} 🙂" * 50
    answer = suggest(hostile, own, "en")
    assert answer.status in {"ok", "no_match", "empty"}
    assert suggest(None, own, "xx").status == "empty"


def _decide(own, user, code, text, *, validated=True, level=None, key):
    from app.frameworks.learning import DecisionData, record_decision

    return record_decision(
        DecisionData(
            framework_id=own.framework_id,
            code=code,
            user_id=user.id,
            item_key=key,
            validated=validated,
            claimed_level=level,
            level=level,
            text=text,
        )
    )


def test_learning_from_validations_changes_the_ranking_and_erasure_removes_it(own, create_user, db_session):
    from app.frameworks.models import SuggestionObservation
    from app.portability.erasure import erase_user

    text = "Je m'occupais du tri des dossiers de parrainage scolaire."
    before = codes(suggest(text, own, "fr"))
    assert "SI.4.2" not in before[:1]
    volunteer = create_user()
    for number in range(4):
        _decide(
            own,
            volunteer,
            "SI.4.2",
            f"Tri des dossiers de parrainage scolaire, numéro {number}, avec les familles.",
            level=2,
            key=f"test:{number}",
        )
    after = suggest(text, own, "fr")
    assert codes(after)[0] == "SI.4.2"
    assert after.suggestions[0].learnt
    # What is kept cannot be read back: keyed hashes of stems, no words.
    stored = db_session.scalars(sa.select(SuggestionObservation.terms)).all()
    assert stored and all(len(term) == 16 and "parrain" not in term for terms in stored for term in terms)
    erase_user(volunteer)
    db_session.flush()
    assert not db_session.scalars(sa.select(SuggestionObservation)).all()
    assert codes(suggest(text, own, "fr")) == before


def test_rejections_count_against_a_competence(own, create_user):
    text = "J'ai tenu la caisse de la kermesse du village."
    volunteer = create_user()
    assert codes(suggest(text, own, "fr"))[0] == "SI.4.5"
    for number in range(6):
        _decide(
            own, volunteer, "SI.4.5", "La caisse de la kermesse du village.", validated=False, key=f"reject:{number}"
        )
    assert codes(suggest(text, own, "fr"))[0] != "SI.4.5"


def test_recording_the_same_decision_twice_changes_nothing(own, create_user, db_session):
    from app.frameworks.models import SuggestionObservation

    volunteer = create_user()
    assert _decide(own, volunteer, "SI.4.5", "budget", key="item:1") is not None
    assert _decide(own, volunteer, "SI.4.5", "budget", key="item:1") is None
    assert db_session.scalar(sa.select(sa.func.count()).select_from(SuggestionObservation)) == 1


def test_learning_one_validation_is_fast(own, create_user):
    volunteer = create_user()
    suggest("warm up", own, "en")
    started = time.perf_counter()
    _decide(own, volunteer, "SI.4.5", "I kept the accounts. " * 500, key="fast:1")
    suggest("I kept the accounts", own, "en")
    assert time.perf_counter() - started < 1
