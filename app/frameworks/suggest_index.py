"""The in-memory index behind competence suggestions (pure Python, no database: the bench builds it directly).

Every suggestible node is a document made of weighted fields in every language it has: its title, other labels
(ESCO altLabels, and those of the ESCO skills a crosswalk links it to), its description, and the project's cue
phrases (``competencies/cues/<slug>.cues``). Words are stemmed per language (:mod:`app.frameworks.textproc`);
adjacent stems also form a bigram term, so "rendre des comptes" and "comptes rendus" differ. The score is BM25F
over those fields, each term's weight precomputed per document so that a query only adds numbers up. Query words
are also carried into the other languages through the glossary (a French narrative finds English-only labels).
"""

from __future__ import annotations

import heapq
import math
from array import array
from bisect import bisect_left
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from itertools import pairwise

from app.frameworks.lexicon import Cues
from app.frameworks.search import normalise
from app.frameworks.textproc import LANGUAGES, content_terms, words

#: Field weights: a title word says more than a description word; cues are the behaviours volunteers write.
FIELD_WEIGHTS = {"title": 3.0, "alt": 2.0, "cue": 1.6, "description": 1.0, "parent": 0.6}
K1 = 1.2
B = 0.4
BIGRAM_BOOST = 1.5
#: Fields whose adjacent words also count as a pair (descriptions are long sentences: their pairs add little).
BIGRAM_FIELDS = frozenset({"title", "alt", "cue"})
#: How much the words of a longer title, label or cue are damped: each counts weight / (number of words ** this).
PHRASE_DAMPING = 0.5
#: Weight of a query word reached through the glossary (another language), against 1 for the word itself.
TRANSLATED_WEIGHT = 0.7
#: Weight of the same stem in another language (cognates: "budget", "logistique"/"logistics") when the framework
#: has no text at all in the query's language.
COGNATE_WEIGHT = 0.5


@dataclass
class NodeText:
    """What the index needs of one node: its id, code, and language maps (title, description, labels, parent)."""

    id: int
    code: str
    title: dict[str, str]
    description: dict[str, str] = field(default_factory=dict)
    alt_labels: dict[str, str] = field(default_factory=dict)
    parent_title: dict[str, str] = field(default_factory=dict)
    extra_labels: dict[str, str] = field(default_factory=dict)


def _terms(text: str, language: str) -> list[str]:
    """Unigram stems then bigrams of ``text``, tagged with their language (``"fr:budget"``, ``"fr:jardin potag"``)."""
    stems = [s for s, _w in content_terms(text, language)]
    return [f"{language}:{s}" for s in stems] + [f"{language}:{a} {b}" for a, b in pairwise(stems)]


def _phrases(node: NodeText, cues: Cues, language: str) -> list[tuple[str, str]]:
    """``(field, phrase)`` of a node in one language; phrases are indexed separately so bigrams never span two."""
    out = []
    if node.title.get(language):
        out.append(("title", node.title[language]))
    for labels in (node.alt_labels.get(language, ""), node.extra_labels.get(language, "")):
        out.extend(("alt", line) for line in labels.splitlines() if line.strip())
    if node.description.get(language):
        out.extend(("description", part) for part in node.description[language].split(",") if part.strip())
    out.extend(("cue", phrase) for phrase in cues.competences.get(node.code, {}).get(language, []))
    if node.parent_title.get(language):
        out.append(("parent", node.parent_title[language]))
    return out


class SuggestionIndex:
    """BM25F index of the suggestible nodes of one framework version, with the glossary for other languages."""

    def __init__(self, nodes: list[NodeText], cues: Cues, glossary: list[dict[str, list[str]]]):
        self.nodes = nodes
        self.cues = cues
        self.languages = sorted({lang for n in nodes for lang in n.title} & set(LANGUAGES)) or ["en"]
        self._phrase_cache: dict[tuple[int, str], list] = {}
        self._build_postings(nodes, cues)
        self._build_glossary(glossary)

    # -- building -----------------------------------------------------------------------------------------------

    def _build_postings(self, nodes: list[NodeText], cues: Cues) -> None:
        postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
        lengths = []
        for index, node in enumerate(nodes):
            tf: dict[str, float] = defaultdict(float)
            for language in LANGUAGES:
                for name, phrase in _phrases(node, cues, language):
                    weight = FIELD_WEIGHTS[name]
                    stems = [f"{language}:{s}" for s, _w in content_terms(phrase, language)]
                    # A word of a several-word cue ("soir" in "ne pas sortir le soir") is weak evidence on its
                    # own: the phrase's pairs carry it.
                    single = weight / len(stems) ** PHRASE_DAMPING if name in BIGRAM_FIELDS and stems else weight
                    for term in stems:
                        tf[term] += single
                    if name in BIGRAM_FIELDS:
                        for first, second in pairwise(stems):
                            tf[f"{first} {second.split(':', 1)[1]}"] += weight * BIGRAM_BOOST
            lengths.append(sum(tf.values()))
            for term, value in tf.items():
                postings[term].append((index, value))
        count = max(len(nodes), 1)
        average = (sum(lengths) / count) or 1.0
        norms = [K1 * (1 - B + B * length / average) for length in lengths]
        # One flat array of document numbers and one of weights, a term owning the slice [start, end): a few
        # large objects instead of a million small ones, so that a large index pickles and loads quickly.
        self.postings: dict[str, tuple[int, int]] = {}
        self._docs, self._weights = array("i"), array("f")
        for term, docs in postings.items():
            idf = math.log(1 + (count - len(docs) + 0.5) / (len(docs) + 0.5)) * (K1 + 1)
            start = len(self._docs)
            self._docs.extend(doc for doc, _tf in docs)
            self._weights.extend(idf * tf / (tf + norms[doc]) for doc, tf in docs)
            self.postings[term] = (start, len(self._docs))
        self.vocabulary = frozenset(self.postings)

    def _build_glossary(self, glossary: list[dict[str, list[str]]]) -> None:
        """Stem → stems of the same concept in the other languages, kept only when the index knows them."""
        bridges: dict[str, set[str]] = defaultdict(set)
        self.ambiguity: Counter = Counter()
        for concept in glossary:
            stems = {
                lang: {f"{lang}:{s}" for word in concept.get(lang, []) for s, _w in content_terms(word, lang)}
                for lang in LANGUAGES
            }
            every = set().union(*stems.values())
            for lang_stems in stems.values():
                for stem in lang_stems:
                    self.ambiguity[stem] += 1
                    bridges[stem] |= {s for s in every if s != stem and s in self.vocabulary}
        self.bridges = {stem: frozenset(targets) for stem, targets in bridges.items() if targets}

    # -- querying -----------------------------------------------------------------------------------------------

    def query_terms(self, terms: list[tuple[str, str]], language: str) -> tuple[dict[str, float], dict[str, str]]:
        """Weighted index terms of a text's ``(stem, word)`` list in ``language``, and the user's word behind each."""
        counts: Counter = Counter()
        surface: dict[str, str] = {}
        for (stem_, word), nxt in zip(terms, [*terms[1:], None], strict=True):
            term = f"{language}:{stem_}"
            counts[term] += 1
            surface.setdefault(term, word)
            if nxt is not None:
                bigram = f"{term} {nxt[0]}"
                counts[bigram] += 1
                surface.setdefault(bigram, f"{word} {nxt[1]}")
        weights = {t: 1 + math.log(c) for t, c in counts.items() if t in self.vocabulary}
        if language in self.languages:
            return weights, surface
        # The framework has no text in the query's language: carry the words over (glossary, then cognates).
        for term in [t for t in counts if " " not in t]:
            stem_ = term.split(":", 1)[1]
            translated = self.bridges.get(term, frozenset())
            cognates = {f"{lang}:{stem_}" for lang in self.languages}
            for target in (*sorted(translated), *sorted(cognates - translated)):
                if target in self.vocabulary and target not in weights:
                    # A stem in several concepts ("équipe" and "équipement" share one) spreads its weight.
                    share = TRANSLATED_WEIGHT / max(1, self.ambiguity[term]) if target in translated else 0
                    weights[target] = max(share, COGNATE_WEIGHT if target in cognates else 0)
                    surface.setdefault(target, surface[term])
        return weights, surface

    def score(self, weights: dict[str, float]) -> dict[int, float]:
        """Document index → BM25F score of the query terms."""
        scores: dict[int, float] = defaultdict(float)
        for term, weight in weights.items():
            start, end = self.postings[term]
            for doc, value in zip(self._docs[start:end], self._weights[start:end], strict=True):
                scores[doc] += weight * value
        return scores

    def contributions(self, doc: int, weights: dict[str, float]) -> list[tuple[float, str]]:
        """``(part of the score, term)`` of one document, largest first."""
        found = []
        for term, weight in weights.items():
            start, end = self.postings[term]
            position = bisect_left(self._docs, doc, start, end)
            if position < end and self._docs[position] == doc:
                found.append((weight * self._weights[position], term))
        return sorted(found, reverse=True)

    def phrase_for(self, doc: int, term: str, language: str) -> tuple[str, str] | None:
        """A phrase of the document containing ``term``, in ``language`` if it has one: ``(phrase, language)``."""
        order = [language, *(lang for lang in LANGUAGES if lang != language)]
        for lang in order:
            for phrase, terms in self._phrase_terms(doc, lang):
                if term in terms:
                    return phrase, lang
        return None

    def _phrase_terms(self, doc: int, language: str) -> list[tuple[str, frozenset[str]]]:
        """The phrases of a document in one language with their terms (kept: explanations ask again and again)."""
        key = (doc, language)
        found = self._phrase_cache.get(key)
        if found is None:
            found = [
                (phrase.strip(), frozenset(_terms(phrase, language)))
                for _field, phrase in _phrases(self.nodes[doc], self.cues, language)
            ]
            self._phrase_cache[key] = found
        return found

    def level_votes(self, text: str) -> dict[int, int]:
        """Level rank → number of the level cue phrases found in ``text`` (whole words, any language)."""
        plain = f" {_plain(text)} "
        votes = {}
        for rank, phrases in self.cues.levels.items():
            hits = sum(1 for lang in LANGUAGES for phrase in phrases.get(lang, []) if f" {_plain(phrase)} " in plain)
            if hits:
                votes[rank] = hits
        return votes


def _plain(text: str) -> str:
    return " ".join(normalise(word) for word in words(text))


def top(scores: dict[int, float], count: int) -> list[tuple[int, float]]:
    """The ``count`` best ``(doc, score)``, best first (ties: lower document index, i.e. framework order)."""
    return heapq.nsmallest(
        count, ((doc, s) for doc, s in scores.items() if s > 0), key=lambda item: (-item[1], item[0])
    )
