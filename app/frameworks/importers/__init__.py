"""Parsers turning framework sources (our YAML, ESCO CSV, RNCP CSV) into plain data checked before any write.

Every parser either returns :class:`ParsedFramework` / :class:`ParsedCrosswalk` objects or raises
:class:`FrameworkImportError` listing every problem found, each naming the file, the line or row and what is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask_babel import force_locale, gettext
from flask_babel.speaklater import LazyString

from app.core import canonical


@dataclass(frozen=True)
class ImportProblem:
    """One thing wrong in an input file.

    ``message`` is translatable: a ``lazy_gettext`` msgid with named parameters (file names, fields, codes stay as
    they are), rendered in the language in use when the problem is shown (``str(problem)``); the command line shows
    it in English (:meth:`english`).
    """

    file: str
    message: str | LazyString
    line: int | None = None
    #: "line" for text formats (YAML), "row" for CSV files (header = row 1).
    unit: str = "line"
    #: The form field the problem is about, when it is not the file itself (RNCP: "fiche").
    field: str | None = None

    def __str__(self) -> str:
        message = str(self.message)
        if not self.line:
            return gettext("%(file)s: %(message)s", file=self.file, message=message)
        if self.unit == "row":
            return gettext("%(file)s, row %(line)d: %(message)s", file=self.file, line=self.line, message=message)
        return gettext("%(file)s, line %(line)d: %(message)s", file=self.file, line=self.line, message=message)

    def english(self) -> str:
        """The problem in English, for the command line and logs."""
        with force_locale("en"):
            return str(self)


class FrameworkImportError(Exception):
    """Raised when input is invalid; nothing has been imported. ``str()`` lists the problems in English."""

    def __init__(self, problems: list[ImportProblem]):
        self.problems = list(problems)
        super().__init__("\n".join(p.english() for p in self.problems))


@dataclass
class ParsedNode:
    code: str
    kind: str
    title: dict[str, str]
    description: dict[str, str] = field(default_factory=dict)
    alt_labels: dict[str, str] = field(default_factory=dict)
    uri: str | None = None
    parent_code: str | None = None
    position: int = 0
    depth: int = 0


@dataclass
class ParsedFramework:
    slug: str
    version: str
    kind: str
    title: dict[str, str]
    licence: str
    nodes: list[ParsedNode]
    origin: str
    description: dict[str, str] = field(default_factory=dict)
    source: dict[str, Any] = field(default_factory=dict)
    example: bool = False
    certification: dict[str, Any] | None = None
    levels: list[dict[str, Any]] = field(default_factory=list)
    #: Line of each node code in the source file, for messages about later checks.
    lines: dict[str, int] = field(default_factory=dict)

    @property
    def content_hash(self) -> str:
        return content_hash(
            {
                "slug": self.slug,
                "version": self.version,
                "kind": self.kind,
                "title": self.title,
                "description": self.description,
                "source": self.source,
                "licence": self.licence,
                "example": self.example,
                "certification": self.certification,
                "levels": self.levels,
                "nodes": [n.__dict__ for n in self.nodes],
            }
        )

    @property
    def label(self) -> str:
        return f"{self.slug} {self.version}"


@dataclass
class ParsedLink:
    source: str
    target: str
    relation: str
    line: int | None = None


@dataclass
class ParsedCrosswalk:
    slug: str
    source_framework: str
    source_version: str
    links: list[ParsedLink]
    origin: str
    target_framework: str | None = None
    target_version: str | None = None
    target_scheme: str | None = None
    line: int | None = None

    @property
    def content_hash(self) -> str:
        return content_hash(
            {
                "slug": self.slug,
                "source": [self.source_framework, self.source_version],
                "target": [self.target_framework, self.target_version, self.target_scheme],
                "links": [[lk.source, lk.target, lk.relation] for lk in self.links],
            }
        )

    @property
    def label(self) -> str:
        return self.slug


def content_hash(data) -> str:
    """SHA-256 of the canonical JSON form of ``data`` (formatting and comments of the source do not count): the
    spaced form framework versions have always stored (see :mod:`app.core.canonical`)."""
    return canonical.content_hash(data, spaced=True)
