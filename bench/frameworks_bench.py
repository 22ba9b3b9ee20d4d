"""Benchmark: import an ESCO package of real size and measure search latency.

Generates ESCO-format CSV files (13,939 skills in French and English with multi-line altLabels, a skills hierarchy of
640 groups, broader relations), imports them into a fresh SQLite database (and into PostgreSQL when
``BENCH_DATABASE_URL`` or ``TEST_DATABASE_URL`` is set — that database is wiped), then runs 200 searches and prints
import time and search latency (p50/p95). Targets: import ≤ 60 s, search p95 ≤ 50 ms.

    .venv/bin/python bench/frameworks_bench.py
"""

from __future__ import annotations

import csv
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SKILLS = 13_939
GROUPS = 640
QUERIES = 200
URI = "http://data.europa.eu/esco/skill/"

WORDS_EN = [
    "manage",
    "coordinate",
    "budget",
    "project",
    "team",
    "volunteer",
    "humanitarian",
    "intercultural",
    "communication",
    "negotiate",
    "train",
    "report",
    "evaluate",
    "plan",
    "logistics",
    "supply",
    "water",
    "sanitation",
    "health",
    "safety",
    "security",
    "conflict",
    "mediation",
    "partner",
    "community",
    "local",
    "international",
    "environment",
    "adapt",
    "develop",
    "monitor",
    "analyse",
    "design",
    "write",
    "present",
    "lead",
    "support",
    "advise",
    "financial",
    "resource",
    "legal",
    "policy",
    "advocacy",
    "education",
    "teaching",
    "nutrition",
    "emergency",
    "response",
    "shelter",
    "agriculture",
    "energy",
    "digital",
    "data",
    "software",
    "network",
    "research",
    "field",
    "mission",
    "staff",
    "recruit",
    "assess",
    "risk",
    "quality",
]
WORDS_FR = [
    "gérer",
    "coordonner",
    "budget",
    "projet",
    "équipe",
    "bénévole",
    "humanitaire",
    "interculturel",
    "communication",
    "négocier",
    "former",
    "rapport",
    "évaluer",
    "planifier",
    "logistique",
    "approvisionnement",
    "eau",
    "assainissement",
    "santé",
    "sécurité",
    "conflit",
    "médiation",
    "partenaire",
    "communauté",
    "local",
    "international",
    "environnement",
    "adapter",
    "développer",
    "suivre",
    "analyser",
    "concevoir",
    "écrire",
    "présenter",
    "diriger",
    "soutenir",
    "conseiller",
    "financier",
    "ressource",
    "juridique",
    "politique",
    "plaidoyer",
    "éducation",
    "enseignement",
    "nutrition",
    "urgence",
    "réponse",
    "abri",
    "agriculture",
    "énergie",
    "numérique",
    "données",
    "logiciel",
    "réseau",
    "recherche",
    "terrain",
    "mission",
]
SKILL_HEADER = [
    "conceptType",
    "conceptUri",
    "skillType",
    "reuseLevel",
    "preferredLabel",
    "altLabels",
    "hiddenLabels",
    "status",
    "modifiedDate",
    "scopeNote",
    "definition",
    "inScheme",
    "description",
]
HIERARCHY_HEADER = [
    "Level 0 URI",
    "Level 0 preferred term",
    "Level 1 URI",
    "Level 1 preferred term",
    "Level 2 URI",
    "Level 2 preferred term",
    "Level 3 URI",
    "Level 3 preferred term",
    "Description",
    "Scope note",
    "Level 0 code",
    "Level 1 code",
    "Level 2 code",
    "Level 3 code",
]


SYLLABLES_EN = [
    "ma",
    "na",
    "ti",
    "ro",
    "ble",
    "con",
    "ver",
    "sa",
    "tion",
    "pre",
    "ment",
    "ing",
    "ly",
    "de",
    "re",
    "com",
    "pro",
    "ter",
    "ous",
    "ive",
    "al",
]
SYLLABLES_FR = [
    "ma",
    "na",
    "ti",
    "ro",
    "ble",
    "con",
    "ver",
    "sa",
    "tion",
    "pré",
    "ment",
    "é",
    "è",
    "ge",
    "re",
    "com",
    "pro",
    "ter",
    "eux",
    "if",
    "al",
]
VOCABULARY_SIZE = 8000


def _vocabulary(words, syllables, seed):
    """Frequent real words first, then made-up words: word frequencies follow Zipf's law as in real labels."""
    rng = random.Random(seed)
    extra = {"".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))) for _ in range(VOCABULARY_SIZE * 2)}
    vocabulary = list(words) + sorted(extra - set(words))[:VOCABULARY_SIZE]
    cumulative, total = [], 0.0
    for rank in range(len(vocabulary)):
        total += 1 / (rank + 1)
        cumulative.append(total)
    return vocabulary, cumulative


VOCABULARIES = {}


def _phrase(rng, words, n):
    key = id(words)
    if key not in VOCABULARIES:
        VOCABULARIES[key] = _vocabulary(words, SYLLABLES_EN if words is WORDS_EN else SYLLABLES_FR, len(words))
    vocabulary, cumulative = VOCABULARIES[key]
    return " ".join(rng.choices(vocabulary, cum_weights=cumulative, k=n))


def generate(directory: Path, seed: int = 42) -> None:
    """Write skills_{fr,en}.csv, skillsHierarchy_{fr,en}.csv and broaderRelationsSkillPillar_en.csv."""
    rng = random.Random(seed)
    # Hierarchy: 4 level-0 groups, then levels 1..3 until 640 groups.
    groups = []  # (uri, code, parent index or None, level)
    for code in "SKLT":
        groups.append((f"{URI}group-{code}", code, None, 0))
    while len(groups) < GROUPS:
        parent = rng.choice([g for g in groups if g[3] < 3])
        index = sum(1 for g in groups if g[2] == groups.index(parent)) + 1
        code = f"{parent[1]}{'.' if parent[3] else ''}{index}"
        groups.append((f"{URI}group-{len(groups)}", code, groups.index(parent), parent[3] + 1))
    labels = {lang: [_phrase(rng, words, 4) for _ in groups] for lang, words in (("en", WORDS_EN), ("fr", WORDS_FR))}
    for lang in ("en", "fr"):
        with open(directory / f"skillsHierarchy_{lang}.csv", "w", newline="", encoding="utf-8-sig") as f:
            writer = csv.writer(f)
            writer.writerow(HIERARCHY_HEADER)
            for i in range(len(groups)):
                chain, current = [], i
                while current is not None:
                    chain.insert(0, current)
                    current = groups[current][2]
                row = [""] * len(HIERARCHY_HEADER)
                for level, g in enumerate(chain):
                    row[level * 2] = groups[g][0]
                    row[level * 2 + 1] = labels[lang][g]
                    row[10 + level] = groups[g][1]
                row[8] = _phrase(rng, WORDS_EN if lang == "en" else WORDS_FR, 12)
                writer.writerow(row)
    leaf_groups = [g for g in groups if g[3] >= 2]
    skills = [f"{URI}{rng.getrandbits(128):032x}" for _ in range(SKILLS)]
    for lang, words in (("en", WORDS_EN), ("fr", WORDS_FR)):
        with open(
            directory / f"skills_{lang}.csv", "w", newline="", encoding="utf-8-sig" if lang == "en" else "utf-8"
        ) as f:
            writer = csv.writer(f)
            writer.writerow(SKILL_HEADER)
            for uri in skills:
                alt = "\n".join(_phrase(rng, words, 3) for _ in range(rng.randint(0, 5)))
                writer.writerow(
                    [
                        "KnowledgeSkillCompetence",
                        uri,
                        rng.choice(["skill/competence", "knowledge"]),
                        rng.choice(["transversal", "cross-sector", "sector-specific", "occupation-specific"]),
                        _phrase(rng, words, rng.randint(2, 5)),
                        alt,
                        "",
                        "released",
                        "2024-01-15T10:00:00.000Z",
                        "",
                        "",
                        f"{URI[:-6]}concept-scheme/skills, {URI[:-6]}concept-scheme/member-skills",
                        _phrase(rng, words, rng.randint(10, 30)) + ".",
                    ]
                )
    with open(directory / "broaderRelationsSkillPillar_en.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["conceptType", "conceptUri", "broaderType", "broaderUri"])
        for i, uri in enumerate(skills):
            if i > 100 and rng.random() < 0.2:
                writer.writerow(["KnowledgeSkillCompetence", uri, "KnowledgeSkillCompetence", skills[rng.randrange(i)]])
            writer.writerow(["KnowledgeSkillCompetence", uri, "SkillGroup", rng.choice(leaf_groups)[0]])


def _reset(engine) -> None:
    import sqlalchemy as sa

    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(sa.text("DROP SCHEMA public CASCADE"))
            connection.execute(sa.text("CREATE SCHEMA public"))


def run(database_url: str, directory: Path, instance: Path) -> dict:
    from flask_migrate import upgrade

    from app import create_app
    from app.extensions import db
    from app.frameworks import operations as ops
    from app.frameworks.importers.esco_csv import parse_esco
    from app.frameworks.search import search_nodes

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "INSTANCE_DIR": str(instance),
            "SECRET_KEY": "bench-secret-key-not-for-production-0123456789",
            "TESTING": True,
        }
    )
    with app.app_context(), app.test_request_context():
        _reset(db.engine)
        upgrade()
        start = time.perf_counter()
        parsed = parse_esco(directory, version="1.2.0", languages=["fr", "en"])
        parsed_at = time.perf_counter()
        (result,) = ops.import_batch([parsed])
        db.session.commit()
        import_seconds = time.perf_counter() - start
        rng = random.Random(7)
        queries = []
        for _ in range(QUERIES):
            words = WORDS_FR if rng.random() < 0.5 else WORDS_EN
            picked = _phrase(rng, words, rng.choice([1, 1, 2, 2, 3])).split()
            queries.append(" ".join(w[: rng.randint(min(3, len(w)), len(w))] for w in picked))
        search_nodes("warm up", "fr")
        timings, hits = [], 0
        for query in queries:
            t0 = time.perf_counter()
            found = search_nodes(query, rng.choice(["fr", "en"]), limit=20)
            timings.append((time.perf_counter() - t0) * 1000)
            hits += len(found)
        timings.sort()
        db.session.remove()
        db.engine.dispose()
    return {
        "nodes": result.nodes,
        "parse_s": parsed_at - start,
        "import_s": import_seconds,
        "p50_ms": statistics.median(timings),
        "p95_ms": timings[int(len(timings) * 0.95) - 1],
        "max_ms": timings[-1],
        "mean_hits": hits / len(queries),
    }


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="acquis-bench-") as tmp:
        tmp_path = Path(tmp)
        data = tmp_path / "esco"
        data.mkdir()
        t0 = time.perf_counter()
        generate(data)
        size = sum(p.stat().st_size for p in data.iterdir()) / 1e6
        print(f"generated {SKILLS} skills x fr+en, {GROUPS} groups ({size:.1f} MB) in {time.perf_counter() - t0:.1f} s")
        targets = [("sqlite", f"sqlite:///{tmp_path / 'bench.sqlite'}")]
        pg = os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")
        if pg:
            targets.append(("postgresql", pg))
        failed = False
        for name, url in targets:
            figures = run(url, data, tmp_path / f"instance-{name}")
            ok = figures["import_s"] <= 60 and figures["p95_ms"] <= 50
            failed |= not ok
            print(
                f"{name:10} nodes={figures['nodes']} import={figures['import_s']:.1f}s "
                f"(parse {figures['parse_s']:.1f}s) "
                f"search p50={figures['p50_ms']:.1f}ms p95={figures['p95_ms']:.1f}ms max={figures['max_ms']:.1f}ms "
                f"hits/query={figures['mean_hits']:.1f} {'OK' if ok else 'OVER TARGET'}"
            )
        return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
