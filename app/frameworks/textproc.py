"""Language-aware text processing for suggestions: words, stop words, stems, language guess.

Pure Python (Snowball stemmers from ``snowballstemmer``), so that the same words come out of a framework text at
index time and of a volunteer's narrative at query time. Stems are computed on the lower-case word *with* its
accents (the Snowball rules need them), then accents are removed, so "évalué", "evalue" and "évaluation" meet.
"""

from __future__ import annotations

import re
from functools import lru_cache

import snowballstemmer

from app.frameworks.search import normalise

LANGUAGES = ("fr", "en", "es")
_STEMMER_NAMES = {"fr": "french", "en": "english", "es": "spanish"}
_APOSTROPHES = "'\u2019"
_WORD = re.compile(rf"[^\W\d_]+(?:[{_APOSTROPHES}][^\W\d_]+)?")
#: Elided articles and pronouns stuck to a word ("l'équipe", "d'un", "qu'il").
_ELISION = re.compile(rf"^(?:[ldjmnstc]|qu|jusqu|lorsqu|puisqu)[{_APOSTROPHES}]")

_STOP = {
    "fr": """a ai aie aient ait as au aucun aussi autre aux avais avait avec avez avions avoir avons ayant bien c ca
        car ce ceci cela celle celles celui ces cet cette chaque chez ci comme comment d dans de des deja depuis donc
        dont du elle elles en encore entre est et etaient etais etait ete etre eu eux fait faire fais fois font ici
        il ils j je jusqu l la le les leur leurs lors lorsque lui m ma mais me meme memes mes moi mon n ne ni nos
        notre nous on ont ou par parce pas peu plus pour pourquoi puis qu quand que quel quelle quelles quels qui
        quoi s sa sans se ses si sien soi soit son sont sous suis sur t ta te tes toi ton tous tout toute toutes tres
        tu un une unes uns vers voila vos votre vous y ai avais avons etions sommes serai sera seront cest jai cetait
        beaucoup alors ensuite aussi apres avant pendant tant tel telle tels chacun chacune plusieurs certains
        certaines lequel laquelle lesquels dela deux trois quatre cinq six dix vingt trente quarante cent mille
        an ans annee annees mois semaine semaines jour jours fois chose choses arriver arrive arrivee
        aller alle allee allait venir venu devoir pouvoir pouvait vouloir fallu fallait falloir dire mettre""",
    "en": """a about above after again against all am an and any are as at be because been before being below
        between both but by can could did do does doing down during each few for from further had has have having he
        her here hers herself him himself his how i if in into is it its itself just me more most my myself no nor
        not now of off on once only or other our ours ourselves out over own same she should so some such than that
        the their theirs them themselves then there these they this those through to too under until up very was we
        were what when where which while who whom why will with would you your yours yourself also us got get
        went go going one two three four five six ten twenty thirty forty hundred thousand year years month months
        week weeks day days time times thing things lot lots really quite much many every arrive arrived
        come came make made put want wanted could might must""",
    "es": """a al algo algunas algunos ante antes como con contra cual cuando de del desde donde durante e el ella
        ellas ellos en entre era erais eramos eran eras es esa esas ese eso esos esta estaba estado estais estamos
        estan estar estas este esto estos estoy fue fueron fui fuimos ha habia habian han has hasta hay he la las le
        les lo los mas me mi mis mucho muchos muy nada ni no nos nosotros o os otra otras otro otros para pero poco
        por porque que quien quienes se sea ser si sido sin sobre sois somos son soy su sus tambien tanto te tenia
        tengo ti tiene tienen todo todos tu tus un una uno unos vosotros y ya yo cada luego despues entonces
        dos tres cuatro cinco seis diez veinte treinta cuarenta cien mil ano anos mes meses semana semanas dia dias
        vez veces cosa cosas llegar llegue llego llegada ir venir poder podia podiamos querer
        tener tenia teniamos hacer hice hicimos hacia poner""",
}
STOP_WORDS = {lang: frozenset(normalise(words).split()) for lang, words in _STOP.items()}
ALL_STOP_WORDS = frozenset().union(*STOP_WORDS.values())
_STEMMERS: dict[str, object] = {}


def _stemmer(language: str):
    if language not in _STEMMERS:
        _STEMMERS[language] = snowballstemmer.stemmer(_STEMMER_NAMES.get(language, "english"))
    return _STEMMERS[language]


@lru_cache(maxsize=200_000)
def stem(word: str, language: str) -> str:
    """The accent-free Snowball stem of one lower-case word (cached: narratives repeat their words)."""
    return normalise(_stemmer(language).stemWord(word))


def words(text: str) -> list[str]:
    """Lower-case words of ``text`` (accents kept, elisions removed, digits and punctuation dropped)."""
    found = []
    for match in _WORD.finditer((text or "").lower()):
        word = _ELISION.sub("", match.group()).replace("\u2019", "'").split("'")[-1]
        if word:
            found.append(word)
    return found


@lru_cache(maxsize=400_000)
def _analyse(word: str, language: str) -> str:
    """The stem of one lower-case word, or "" for a stop word or a one-letter word (cached)."""
    plain = normalise(word)
    if len(plain) < 2 or plain in STOP_WORDS.get(language, ALL_STOP_WORDS):
        return ""
    return stem(word, language)


def content_terms(text: str, language: str) -> list[tuple[str, str]]:
    """``(stem, surface word)`` of the words of ``text`` that are not stop words, in order."""
    terms = []
    for word in words(text):
        stem_ = _analyse(word, language)
        if stem_:
            terms.append((stem_, word))
    return terms


def guess_language(text: str, default: str = "fr") -> str:
    """The language among fr, en, es whose stop words are most frequent in ``text`` (``default`` on a tie)."""
    counts = dict.fromkeys(LANGUAGES, 0)
    for word in words(text[:5000]):
        plain = normalise(word)
        for language in LANGUAGES:
            if plain in STOP_WORDS[language]:
                counts[language] += 1
    best = max(LANGUAGES, key=lambda lang: (counts[lang], lang == default))
    return best if counts[best] > counts.get(default, 0) else default
