"""Learning suggestions from NGO decisions, per framework, without keeping any text.

Each validated or rejected claim becomes one :class:`~app.frameworks.models.SuggestionObservation`: the keyed
hashes (BLAKE2b keyed with the instance's ``SECRET_KEY``) of the distinct word stems of its narrative and of the
experience's activities and results, the competence code, the decision and the level. From those rows a small
model says, for a word stem, how often it appeared in narratives validated (or rejected) for each competence, and
at which level. It is incremental: each process keeps the model in memory and reads only the rows added since
(one statement per suggestion checks the row count and last id); when rows disappeared (an erased account, whose
rows the database deletes by cascade), the model is rebuilt from the rows that remain.
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections import defaultdict
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import current_app

from app.extensions import db
from app.frameworks.models import SuggestionObservation
from app.frameworks.textproc import content_terms, guess_language

#: A stem of a rejected claim counts this much against the competence.
REJECTED_WEIGHT = 0.7
#: Words kept per observation (longer texts keep their first distinct stems).
MAX_TERMS = 400
_MAX_WORD = 30


def term_key(stem: str) -> str:
    """The keyed hash of one stem, as stored (16 hex digits)."""
    key = current_app.config["SECRET_KEY"]
    key = key.encode() if isinstance(key, str) else key
    return hashlib.blake2b(stem.encode(), digest_size=8, key=hashlib.sha256(b"suggest:" + key).digest()).hexdigest()


def hashed_terms(text: str, language: str | None = None) -> list[str]:
    """Distinct hashed stems of ``text`` (no order, no numbers, no very long tokens)."""
    language = language or guess_language(text)
    seen: dict[str, None] = {}
    for stem, word in content_terms(text, language):
        if len(word) <= _MAX_WORD:
            seen.setdefault(stem, None)
        if len(seen) >= MAX_TERMS:
            break
    return sorted(term_key(stem) for stem in seen)


@dataclass(frozen=True)
class DecisionData:
    """What one NGO decision teaches: the framework, competence, volunteer, decision, levels and texts."""

    framework_id: int
    code: str
    user_id: int
    item_key: str
    validated: bool
    claimed_level: int | None
    level: int | None
    text: str


def record_decision(data: DecisionData) -> SuggestionObservation | None:
    """Store one decision as training data (a second call for the same ``item_key`` changes nothing). Flushes."""
    exists = db.session.scalar(
        sa.select(SuggestionObservation.id).where(SuggestionObservation.item_key == data.item_key[:60])
    )
    if exists is not None:
        return None
    observation = SuggestionObservation(
        framework_id=data.framework_id,
        code=data.code,
        user_id=data.user_id,
        item_key=data.item_key[:60],
        polarity=1 if data.validated else -1,
        claimed_level=data.claimed_level,
        level=data.level if data.validated else None,
        terms=hashed_terms(data.text),
    )
    db.session.add(observation)
    db.session.flush()
    return observation


@dataclass
class LearntModel:
    """Counts per hashed stem and competence, from one framework's observations."""

    last_id: int = 0
    rows: int = 0
    observations: int = 0
    positive: dict[str, dict[str, float]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(float)))
    negative: dict[str, dict[str, float]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(float)))
    levels: dict[str, dict[str, list[float]]] = field(default_factory=lambda: defaultdict(dict))
    per_code: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    document_frequency: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, row) -> None:
        """Fold one observation row ``(id, code, polarity, level, terms)`` into the counts."""
        row_id, code, polarity, level, terms = row
        self.last_id = max(self.last_id, row_id)
        self.rows += 1
        self.observations += 1
        self.per_code[code] += 1
        table = self.positive if polarity > 0 else self.negative
        for term in terms or ():
            table[term][code] += 1
            self.document_frequency[term] += 1
            if polarity > 0 and level:
                total = self.levels[term].setdefault(code, [0.0, 0.0])
                total[0] += level
                total[1] += 1

    def scores(self, keys: set[str]) -> dict[str, float]:
        """Competence code → learnt evidence for a text whose hashed stems are ``keys``."""
        if not self.observations:
            return {}
        result: dict[str, float] = defaultdict(float)
        for key in keys:
            df = self.document_frequency.get(key)
            if not df:
                continue
            idf = math.log(1 + self.observations / df)
            for code, count in self.positive.get(key, {}).items():
                result[code] += idf * count / (self.per_code[code] + 1)
            for code, count in self.negative.get(key, {}).items():
                result[code] -= REJECTED_WEIGHT * idf * count / (self.per_code[code] + 1)
        return result

    def level(self, code: str, keys: set[str]) -> int | None:
        """The mean validated level of this competence's observations sharing stems with the text (≥ 3 votes)."""
        total = count = 0.0
        for key in keys:
            pair = self.levels.get(key, {}).get(code)
            if pair:
                total += pair[0]
                count += pair[1]
        return round(total / count) if count >= 3 else None


_models: dict[tuple[str, int], LearntModel] = {}
_lock = threading.Lock()


def learnt_model(framework_id: int) -> LearntModel:
    """The current model of a framework: one statement when nothing changed, plus one to read new rows."""
    cache_key = (db.engine.url.render_as_string(hide_password=True), framework_id)
    count, last_id = db.session.execute(
        sa.select(sa.func.count(), sa.func.coalesce(sa.func.max(SuggestionObservation.id), 0)).where(
            SuggestionObservation.framework_id == framework_id
        )
    ).one()
    with _lock:
        model = _models.get(cache_key)
        if model is None or (model.rows, model.last_id) != (count, last_id):
            if model is None or count < model.rows or last_id < model.last_id:
                model = LearntModel()
            _read_rows(model, framework_id)
            if model.rows != count:  # rows were deleted and others added since: start again
                model = LearntModel()
                _read_rows(model, framework_id)
            _models[cache_key] = model
        return model


def _read_rows(model: LearntModel, framework_id: int) -> None:
    rows = db.session.execute(
        sa.select(
            SuggestionObservation.id,
            SuggestionObservation.code,
            SuggestionObservation.polarity,
            SuggestionObservation.level,
            SuggestionObservation.terms,
        )
        .where(SuggestionObservation.framework_id == framework_id, SuggestionObservation.id > model.last_id)
        .order_by(SuggestionObservation.id)
    ).all()
    for row in rows:
        model.add(tuple(row))


def forget_user(user_id: int) -> int:
    """Delete the observations of one volunteer (what erasing the account does by cascade). Flushes."""
    result = db.session.execute(sa.delete(SuggestionObservation).where(SuggestionObservation.user_id == user_id))
    return result.rowcount or 0
