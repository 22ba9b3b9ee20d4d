"""The project's word lists for suggestions: competence cues and the cross-language glossary.

Both are plain-text files written as project data under ``competencies/cues/`` (never imported as frameworks: the
framework importer reads ``*.yaml`` only):

- ``<framework slug>.cues``: sections ``[CODE]`` (or ``[CODE CODE…]`` for cues shared by several competences) and
  ``[level N]``, each with lines ``fr: phrase; phrase…`` (also ``en:``, ``es:``). They say what volunteers write
  when they used a competence, and which words show a level.
- ``glossary.txt``: one concept per line, ``en words | fr words | es words`` (words separated by ``,``), so that a
  narrative in one language can match a framework written in another (an English-only ESCO import).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from app.config import PROJECT_DIR

CUES_DIR = PROJECT_DIR / "competencies" / "cues"
_SECTION = re.compile(r"^\[([^\]]+)\]\s*$")
_LINE = re.compile(r"^(fr|en|es)\s*:\s*(.*)$")
_SLUG = re.compile(r"^[a-z0-9-]{2,60}$")


@dataclass
class Cues:
    """Cue phrases per competence code and per level rank, each a map language → phrases."""

    competences: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    levels: dict[int, dict[str, list[str]]] = field(default_factory=dict)


def parse_cues(text: str) -> Cues:
    """Parse a ``.cues`` file (unknown lines are ignored: the file is project data, not user input)."""
    cues = Cues()
    targets: list[dict[str, list[str]]] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        section = _SECTION.match(line)
        if section:
            names = section.group(1).split()
            if names[0] == "level" and len(names) == 2 and names[1].isdigit():
                targets = [cues.levels.setdefault(int(names[1]), {})]
            else:
                targets = [cues.competences.setdefault(code, {}) for code in names]
            continue
        entry = _LINE.match(line)
        if entry and targets:
            phrases = [p.strip() for p in entry.group(2).split(";") if p.strip()]
            for target in targets:
                target.setdefault(entry.group(1), []).extend(phrases)
    return cues


@lru_cache(maxsize=32)
def cues_for(slug: str, directory: Path = CUES_DIR) -> Cues:
    """The cues of framework ``slug`` (empty when the project has none for it)."""
    path = directory / f"{slug}.cues"
    if not _SLUG.match(slug) or not path.is_file():
        return Cues()
    return parse_cues(path.read_text(encoding="utf-8"))


@lru_cache(maxsize=4)
def glossary(directory: Path = CUES_DIR) -> list[dict[str, list[str]]]:
    """Concepts of the cross-language glossary: each a map language → words."""
    path = directory / "glossary.txt"
    if not path.is_file():
        return []
    concepts = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = [part.strip() for part in line.split("|")]
        if len(parts) != 3:
            continue
        concepts.append(
            {
                lang: [w.strip() for w in part.split(",") if w.strip()]
                for lang, part in zip(("en", "fr", "es"), parts, strict=True)
            }
        )
    return concepts
