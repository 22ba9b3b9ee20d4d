"""Full-text search over framework nodes, behind one small interface.

Text is normalised in Python (lower case, accents removed, split into words) before it is indexed and before it is
queried, so both back ends behave alike and user input never reaches the query syntax: SQLite uses an FTS5 table
(``bm25`` ranking), PostgreSQL a ``tsvector`` column with the ``simple`` configuration and a GIN index
(``ts_rank``). Every word of the query is a prefix ("interc" finds "interculturel"); all words must match. Hits in
the user's language come first (titles, then other labels and descriptions), then hits in other languages.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.frameworks.models import Framework, FrameworkNode, FrameworkVersion

MAX_TOKENS = 10
MAX_TOKEN_LENGTH = 40
#: Added to the score per ranking pass, so that a pass's hits rank after those of the passes before it.
OTHER_LANGUAGE_PENALTY = 1000
INDEX_CHUNK = 5000
_WORD = re.compile(r"[^\W_]+")
_LIGATURES = str.maketrans({"œ": "oe", "Œ": "oe", "æ": "ae", "Æ": "ae", "ø": "o", "Ø": "o", "ł": "l", "Ł": "l"})

#: Contentless FTS5 table: the rowid encodes the node and the language (see :func:`_rowid`), so that filters on
#: language and version (a version's nodes have consecutive ids) are integer tests and no row is read back.
SQLITE_DDL = [
    """CREATE VIRTUAL TABLE framework_search USING fts5(
         title, body, content = '',
         tokenize = "unicode61 remove_diacritics 2", prefix = '2 3 4')""",
]
POSTGRES_DDL = [
    """CREATE TABLE framework_search (
         id BIGSERIAL PRIMARY KEY,
         node_id INTEGER NOT NULL REFERENCES framework_nodes (id),
         version_id INTEGER NOT NULL,
         language VARCHAR(8) NOT NULL,
         title TEXT NOT NULL,
         body TEXT NOT NULL,
         title_tsv TSVECTOR GENERATED ALWAYS AS (to_tsvector('simple', title)) STORED,
         tsv TSVECTOR GENERATED ALWAYS AS (
           setweight(to_tsvector('simple', title), 'A') || setweight(to_tsvector('simple', body), 'B')) STORED)""",
    "CREATE INDEX ix_framework_search_title_tsv ON framework_search USING GIN (title_tsv)",
    "CREATE INDEX ix_framework_search_tsv ON framework_search USING GIN (tsv)",
    # Per interface language, so that a search in the user's language reads only that language's entries.
    *(
        f"CREATE INDEX ix_framework_search_{column}_{lang} ON framework_search USING GIN ({column}) "
        f"WHERE language = '{lang}'"
        for lang in ("fr", "en", "es")
        for column in ("title_tsv", "tsv")
    ),
    "CREATE INDEX ix_framework_search_version_id ON framework_search (version_id)",
    "CREATE INDEX ix_framework_search_node_id ON framework_search (node_id)",
]
#: Language codes numbered for the SQLite rowid (ESCO has up to 28 languages).
LANGUAGE_CODES = [
    "fr",
    "en",
    "es",
    "de",
    "it",
    "pt",
    "nl",
    "pl",
    "ro",
    "cs",
    "sk",
    "sl",
    "hr",
    "hu",
    "bg",
    "el",
    "da",
    "sv",
    "fi",
    "et",
    "lv",
    "lt",
    "ga",
    "mt",
    "is",
    "no",
    "uk",
    "ar",
]
_LANGUAGE_SLOTS = 64


def normalise(text: str) -> str:
    """Lower case, without accents or ligatures: ``"Élaborer un PROJET"`` → ``"elaborer un projet"``."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_LIGATURES))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def tokens(text: str) -> list[str]:
    """The words of ``text`` after :func:`normalise` (letters and digits only: no query syntax survives)."""
    return _WORD.findall(normalise(text or ""))


def _indexable(text: str) -> str:
    return " ".join(tokens(text))


@dataclass
class Hit:
    """A search result: the node, its version (with framework), its ancestors from the root, the language matched."""

    node: FrameworkNode
    version: FrameworkVersion
    breadcrumb: list[FrameworkNode]
    language: str
    score: float


def index_rows(nodes: Iterable[dict]) -> None:
    """Add search rows for freshly inserted nodes.

    :param nodes: dicts with ``id``, ``version_id``, ``code``, ``title``, ``description``, ``alt_labels``.
    """
    rows = []
    for node in nodes:
        languages = set(node["title"]) | set(node.get("alt_labels") or {}) | set(node.get("description") or {})
        for language in sorted(languages):
            body = " ".join(
                [
                    node["code"],
                    (node.get("alt_labels") or {}).get(language, ""),
                    (node.get("description") or {}).get(language, ""),
                ]
            )
            rows.append(
                {
                    "node_id": node["id"],
                    "version_id": node["version_id"],
                    "language": language[:8],
                    "title": _indexable(node["title"].get(language, "")),
                    "body": _indexable(body),
                }
            )
    if db.session.get_bind().dialect.name == "postgresql":
        statement = sa.text(
            "INSERT INTO framework_search (node_id, version_id, language, title, body) "
            "VALUES (:node_id, :version_id, :language, :title, :body)"
        )
    else:
        statement = sa.text("INSERT INTO framework_search (rowid, title, body) VALUES (:rowid, :title, :body)")
        for row in rows:
            row["rowid"] = _rowid(row["node_id"], row["language"])
    for start in range(0, len(rows), INDEX_CHUNK):
        db.session.execute(statement, rows[start : start + INDEX_CHUNK])


def _rowid(node_id: int, language: str) -> int:
    slot = LANGUAGE_CODES.index(language) if language in LANGUAGE_CODES else _LANGUAGE_SLOTS - 1
    return node_id * _LANGUAGE_SLOTS + slot


def _language_of_slot(slot: int) -> str:
    return LANGUAGE_CODES[slot] if slot < len(LANGUAGE_CODES) else ""


def _fts5_terms(words: list[str]) -> str:
    # One-letter words are matched whole: as prefixes they would match nearly everything.
    return " AND ".join(f'"{w}"*' if len(w) > 1 else f'"{w}"' for w in words)


def _tsquery(words: list[str]) -> str:
    return " & ".join(f"{w}:*" if len(w) > 1 else w for w in words)


def _stages(words, language, versions):
    """Ranking passes, best first: titles in ``language``, any text in ``language``, then the same in other languages.

    Each pass is a bounded query (``ORDER BY score LIMIT n``); later passes run only while results are missing.
    :param versions: ``(version_id, first_node_id, last_node_id)`` of the versions searched.
    """
    # Only integers and a language code from LANGUAGE_CODES are formatted into the SQL; the words are bound.
    # The language is inlined so that PostgreSQL can use the partial indexes.
    lang = language if language in LANGUAGE_CODES else "fr"
    if db.session.get_bind().dialect.name == "postgresql":
        scope = "version_id IN ({})".format(", ".join(str(int(v[0])) for v in versions))
        sql = f"""SELECT node_id, language, -ts_rank({{column}}, query) AS score
                  FROM framework_search, to_tsquery('simple', :q) AS query
                  WHERE {{column}} @@ query AND {scope} AND language {{op}} '{lang}' ORDER BY score, node_id LIMIT :n"""  # noqa: S608
        params = {"q": _tsquery(words)}
        for op in ("=", "<>"):
            yield sa.text(sql.format(column="title_tsv", op=op)), dict(params)
            yield sa.text(sql.format(column="tsv", op=op)), dict(params)
        return
    scope = " OR ".join(
        f"rowid BETWEEN {int(first) * _LANGUAGE_SLOTS} AND {int(last) * _LANGUAGE_SLOTS + _LANGUAGE_SLOTS - 1}"
        for _id, first, last in versions
    )
    slot = LANGUAGE_CODES.index(lang)
    sql = (
        "SELECT rowid, bm25(framework_search, 10.0, 1.0) AS score FROM framework_search "  # noqa: S608
        f"WHERE framework_search MATCH :q AND ({scope}) AND rowid % {_LANGUAGE_SLOTS} {{op}} {slot} "
        "ORDER BY score LIMIT :n"
    )
    terms = _fts5_terms(words)
    for op in ("=", "<>"):
        yield sa.text(sql.format(op=op)), {"q": f"title : ({terms})"}
        yield sa.text(sql.format(op=op)), {"q": terms}


def _ranked_ids(words: list[str], language: str, versions, limit: int) -> list[tuple[int, float, str]]:
    """``(node_id, score, language matched)`` best first, at most ``limit``, each node once."""
    dialect = db.session.get_bind().dialect.name
    found: dict[int, tuple[float, str]] = {}
    for stage, (statement, params) in enumerate(_stages(words, language, versions)):
        # Enough rows to fill the list even when every node found so far comes back (several languages per node).
        params["n"] = (limit + len(found)) * (1 if stage < 2 else 3)
        for row in db.session.execute(statement, params):
            if dialect == "postgresql":
                node_id, matched, score = int(row[0]), row[1], float(row[2])
            else:
                node_id, slot = divmod(int(row[0]), _LANGUAGE_SLOTS)
                matched, score = _language_of_slot(slot), float(row[1])
            if node_id not in found:
                found[node_id] = (stage * OTHER_LANGUAGE_PENALTY + score, matched)
        if len(found) >= limit:
            break
    ranked = sorted(found.items(), key=lambda item: (item[1][0], item[0]))[:limit]
    return [(node_id, score, matched) for node_id, (score, matched) in ranked]


def search_nodes(
    query: str,
    language: str,
    framework_ids: list[int] | None = None,
    limit: int = 20,
    *,
    version_ids: list[int] | None = None,
) -> list[Hit]:
    """Nodes matching every word of ``query`` (as prefixes), best first, in ``language`` before other languages.

    :param framework_ids: restrict to the current versions of these frameworks (default: every framework).
    :param version_ids: restrict to these versions instead (old versions included).
    Runs at most seven statements whatever the number of hits (versions, up to four ranking passes, nodes,
    ancestors).
    """
    words = [w[:MAX_TOKEN_LENGTH] for w in tokens(query)][:MAX_TOKENS]
    if not words:
        return []
    query = sa.select(FrameworkVersion.id, FrameworkVersion.first_node_id, FrameworkVersion.last_node_id).where(
        FrameworkVersion.first_node_id.is_not(None)
    )
    if version_ids is not None:
        query = query.where(FrameworkVersion.id.in_(version_ids))
    else:
        query = query.where(FrameworkVersion.is_current.is_(True))
        if framework_ids is not None:
            query = query.where(FrameworkVersion.framework_id.in_(framework_ids))
    versions = db.session.execute(query).all()
    if not versions:
        return []
    ranked = _ranked_ids(words, language, versions, max(1, min(int(limit), 200)))
    if not ranked:
        return []
    nodes = {
        n.id: n
        for n in db.session.scalars(
            sa.select(FrameworkNode)
            .where(FrameworkNode.id.in_([r[0] for r in ranked]))
            .options(joinedload(FrameworkNode.version).joinedload(FrameworkVersion.framework))
        )
    }
    ancestor_ids = {a for n in nodes.values() for a in n.ancestor_ids}
    ancestors = (
        {n.id: n for n in db.session.scalars(sa.select(FrameworkNode).where(FrameworkNode.id.in_(ancestor_ids)))}
        if ancestor_ids
        else {}
    )
    hits = []
    for node_id, score, matched in ranked:
        node = nodes.get(node_id)
        if node is not None:
            breadcrumb = [ancestors[a] for a in node.ancestor_ids if a in ancestors]
            hits.append(Hit(node=node, version=node.version, breadcrumb=breadcrumb, language=matched, score=score))
    return hits


__all__ = ["Framework", "Hit", "index_rows", "normalise", "search_nodes", "tokens"]
