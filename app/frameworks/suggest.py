"""Suggest competences from what a volunteer wrote: the one interface the product, the CLI and the bench use.

``suggest(text, version, language)`` returns the competences of a framework version that the text supports, best
first, each with a score, an explanation (the competence's words or behaviours that matched, in the user's language
when the framework has it) and a level guess when the text gives one. Everything runs offline from the framework's
texts, the project's cue lists and glossary (:mod:`app.frameworks.lexicon`), ESCO labels linked by crosswalks, and
what NGO decisions taught (:mod:`app.frameworks.learning`). The index of a version is built once per process and
kept in memory (:mod:`app.frameworks.suggest_index`).
"""

from __future__ import annotations

import hashlib
import pickle
import threading
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from app.extensions import db
from app.frameworks import lexicon, logger
from app.frameworks.learning import learnt_model, term_key
from app.frameworks.models import (
    CrosswalkLink,
    FrameworkNode,
    FrameworkVersion,
    NodeKind,
    Relation,
    localized,
)
from app.frameworks.suggest_index import NodeText, SuggestionIndex, top
from app.frameworks.textproc import LANGUAGES, content_terms, guess_language

SUGGESTIBLE_KINDS = (NodeKind.COMPETENCE, NodeKind.SKILL, NodeKind.KNOWLEDGE)
#: Characters of a text that are read; the rest is ignored (and the result says so).
MAX_TEXT = 20_000
MAX_TOP = 50
#: How much learnt evidence weighs against the framework's own words.
LEARNT_WEIGHT = 4.0
EXPLANATION_ITEMS = 4
#: Versions with at least this many nodes keep their index on disk (see :func:`_load_or_build`).
DISK_CACHE_MIN_NODES = 2000
#: Bump when the index's layout changes, so that indexes kept on disk are rebuilt.
INDEX_FORMAT = 2

MESSAGES = {
    "empty": _l("Write a few sentences about what you did: suggestions appear from your own words."),
    "no_match": _l("No competence of this framework matches these words yet. Say what you did, with whom, and how."),
    "truncated": _l("Only the beginning of this long text was read."),
}


@dataclass(frozen=True)
class Suggestion:
    """One suggested competence."""

    node_id: int
    code: str
    title: str
    score: float
    #: The competence's words or behaviours that matched, in the user's language when the framework has it.
    matched: tuple[str, ...]
    #: The user's own words behind the match.
    words: tuple[str, ...]
    level: int | None = None
    #: True when NGO decisions on similar texts contributed.
    learnt: bool = False


@dataclass(frozen=True)
class SuggestionResult:
    """Suggestions for one text, with the language read and why the list may be empty or partial."""

    suggestions: list[Suggestion] = field(default_factory=list)
    language: str = "fr"
    status: str = "ok"  # "ok", "empty" or "no_match"
    truncated: bool = False

    @property
    def message(self) -> str:
        return str(MESSAGES[self.status]) if self.status != "ok" else ""


_indexes: dict[tuple, SuggestionIndex] = {}
_lock = threading.Lock()


def suggest(
    text: str,
    version: FrameworkVersion,
    language: str | None = None,
    top_n: int = 5,
    *,
    exclude_codes: frozenset[str] = frozenset(),
) -> SuggestionResult:
    """Competences of ``version`` that ``text`` supports, best first.

    :param language: ``fr``, ``en`` or ``es``; guessed from the text when missing or unknown.
    :param exclude_codes: competences not to suggest (e.g. already claimed).
    Never raises on any text: an empty text or one without a match gives an empty list and a status.
    """
    text = text if isinstance(text, str) else ""
    truncated = len(text) > MAX_TEXT
    text = text[:MAX_TEXT]
    language = language if language in LANGUAGES else guess_language(text)
    # The index and the model are checked even for an empty text, so that a page runs as many statements
    # whatever its texts say.
    index = index_for(version)
    model = learnt_model(version.framework_id)
    terms = content_terms(text, language)
    if not terms:
        return SuggestionResult(language=language, status="empty", truncated=truncated)
    weights, surface = index.query_terms(terms, language)
    scores = index.score(weights)
    keys = {term_key(stem) for stem, _word in terms} if model.observations else set()
    codes = {node.code: position for position, node in enumerate(index.nodes)}
    learnt = model.scores(keys) if keys else {}
    for code, value in learnt.items():
        if code in codes:
            scores[codes[code]] = scores.get(codes[code], 0.0) + LEARNT_WEIGHT * value
    excluded = {codes[c] for c in exclude_codes if c in codes}
    ranked = top({d: s for d, s in scores.items() if d not in excluded}, max(1, min(int(top_n), MAX_TOP)))
    if not ranked:
        return SuggestionResult(language=language, status="no_match", truncated=truncated)
    ranks = {level.get("rank") for level in version.levels or []}
    level = _level_from_text(index, text, ranks)
    suggestions = [
        _suggestion(index, doc, score, weights, surface, language, level, model, keys, learnt, ranks)
        for doc, score in ranked
    ]
    return SuggestionResult(suggestions=suggestions, language=language, truncated=truncated)


def _level_from_text(index: SuggestionIndex, text: str, ranks: set) -> int | None:
    votes = {rank: n for rank, n in index.level_votes(text).items() if rank in ranks}
    return max(votes, key=lambda rank: (votes[rank], rank)) if votes else None


def _suggestion(index, doc, score, weights, surface, language, level, model, keys, learnt, ranks) -> Suggestion:
    node = index.nodes[doc]
    matched: list[str] = []
    words: list[str] = []
    for _part, term in index.contributions(doc, weights):
        if len(matched) >= EXPLANATION_ITEMS:
            break
        found = index.phrase_for(doc, term, language)
        word = surface.get(term, term)
        if found is None or word in words:
            continue
        phrase, phrase_language = found
        label = phrase if phrase_language == language else f"{word} ≈ {phrase}"
        if label not in matched:
            matched.append(label)
            words.append(word)
    from_decisions = learnt.get(node.code, 0) > 0
    if not level and ranks and from_decisions:
        level = model.level(node.code, keys)
    return Suggestion(
        node_id=node.id,
        code=node.code,
        title=localized(node.title, language)[0],
        score=round(score, 3),
        matched=tuple(matched),
        words=tuple(words),
        level=level if level in ranks else None,
        learnt=from_decisions,
    )


# -- the index of a version ---------------------------------------------------------------------------------------


def index_for(version: FrameworkVersion) -> SuggestionIndex:
    """The (cached) index of a version; rebuilt when a framework or crosswalk import may have changed its labels."""
    latest = db.session.scalar(sa.select(sa.func.max(FrameworkVersion.id)))
    key = (db.engine.url.render_as_string(hide_password=True), version.id, version.content_hash, latest)
    with _lock:
        index = _indexes.get(key)
        if index is None:
            for stale in [k for k in _indexes if k[:2] == key[:2]]:
                del _indexes[stale]
            index = _load_or_build(version, key)
            _indexes[key] = index
        return index


def _cache_path(version: FrameworkVersion, key: tuple) -> Path:
    files = sorted(lexicon.CUES_DIR.glob("*")) if lexicon.CUES_DIR.is_dir() else []
    digest = hashlib.sha256(repr((INDEX_FORMAT, key[1:], [(p.name, p.stat().st_mtime_ns) for p in files])).encode())
    directory = Path(current_app.config["INSTANCE_DIR"]) / "suggest-index"
    return directory / f"{version.id}-{digest.hexdigest()[:24]}.pickle"


def _load_or_build(version: FrameworkVersion, key: tuple) -> SuggestionIndex:
    """Large versions (ESCO) take seconds to index: the index is kept on disk in the instance directory, written
    and read only by this process's code (never a user's file), so a restarted worker loads it in a moment."""
    if (version.node_count or 0) < DISK_CACHE_MIN_NODES:
        return build_index(version)
    path = _cache_path(version, key)
    try:
        with path.open("rb") as handle:
            return pickle.load(handle)  # noqa: S301 - our own file in the instance directory
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError):
        pass
    index = build_index(version)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        for old in path.parent.glob(f"{version.id}-*.pickle"):
            old.unlink(missing_ok=True)
        temporary = path.with_suffix(".tmp")
        with temporary.open("wb") as handle:
            pickle.dump(index, handle, protocol=pickle.HIGHEST_PROTOCOL)
        temporary.replace(path)
    except OSError:
        logger.warning("could not keep the suggestion index of version %s on disk", version.id)
    return index


def build_index(version: FrameworkVersion) -> SuggestionIndex:
    """Read a version's nodes (and ESCO labels linked to them) and build its index. Two statements."""
    rows = db.session.execute(
        sa.select(
            FrameworkNode.id,
            FrameworkNode.code,
            FrameworkNode.kind,
            FrameworkNode.parent_id,
            FrameworkNode.title,
            FrameworkNode.description,
            FrameworkNode.alt_labels,
        )
        .where(FrameworkNode.version_id == version.id, FrameworkNode.retired_at.is_(None))
        .order_by(FrameworkNode.id)
    ).all()
    titles = {row.id: row.title or {} for row in rows}
    extra = _linked_labels(version)
    nodes = [
        NodeText(
            id=row.id,
            code=row.code,
            title=row.title or {},
            description=row.description or {},
            alt_labels=row.alt_labels or {},
            parent_title=titles.get(row.parent_id, {}),
            extra_labels=extra.get(row.id, {}),
        )
        for row in rows
        if row.kind in SUGGESTIBLE_KINDS
    ]
    return SuggestionIndex(nodes, lexicon.cues_for(version.framework.slug), lexicon.glossary())


def _linked_labels(version: FrameworkVersion) -> dict[int, dict[str, str]]:
    """Titles and other labels of the ESCO skills that a crosswalk says are the same as, close to or part of a node."""
    if version.first_node_id is None:
        return {}
    target = sa.orm.aliased(FrameworkNode)
    rows = db.session.execute(
        sa.select(CrosswalkLink.source_node_id, target.title, target.alt_labels)
        .join(target, target.uri == CrosswalkLink.target_uri)
        .join(FrameworkVersion, FrameworkVersion.id == target.version_id)
        .where(
            CrosswalkLink.source_node_id.between(version.first_node_id, version.last_node_id),
            CrosswalkLink.relation.in_([Relation.EXACT, Relation.CLOSE, Relation.NARROWER]),
            FrameworkVersion.is_current.is_(True),
        )
    ).all()
    labels: dict[int, dict[str, str]] = {}
    for node_id, title, alt in rows:
        merged = labels.setdefault(node_id, {})
        for language in LANGUAGES:
            lines = [t for t in ((title or {}).get(language, ""), (alt or {}).get(language, "")) if t]
            if lines:
                merged[language] = "\n".join(filter(None, [merged.get(language, ""), *lines]))
    return labels
