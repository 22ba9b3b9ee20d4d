"""Catalog helpers for the Makefile: ``check`` (no missing or fuzzy entry) and ``fill-english``.

English is the language of the message ids, so its catalog is filled with the ids themselves; French and
Spanish are translated by people (or reviewed translations) and checked here.
"""

from __future__ import annotations

import sys
from pathlib import Path

from babel.messages.pofile import read_po, write_po

LANGUAGES = ("fr", "en", "es")


def _is_translated(message) -> bool:
    if isinstance(message.string, tuple | list):
        return all(message.string)
    return bool(message.string)


def catalog_problems(translations_dir: Path) -> list[str]:
    """One line per catalog with untranslated or fuzzy entries, or a missing catalog."""
    problems = []
    for lang in LANGUAGES:
        path = translations_dir / lang / "LC_MESSAGES" / "messages.po"
        if not path.exists():
            problems.append(f"{path}: missing")
            continue
        with path.open("rb") as handle:
            catalog = read_po(handle)
        missing = [m.id for m in catalog if m.id and not _is_translated(m)]
        fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
        if missing or fuzzy:
            sample = "; ".join(str(i) for i in (missing + fuzzy)[:5])
            problems.append(f"{path}: {len(missing)} untranslated, {len(fuzzy)} fuzzy (e.g. {sample})")
    return problems


def fill_english(path: Path) -> None:
    """Copy every message id into its English translation."""
    with path.open("rb") as handle:
        catalog = read_po(handle, locale="en")
    for message in catalog:
        if not message.id:
            continue
        if isinstance(message.id, tuple | list):
            message.string = tuple(message.id)
        else:
            message.string = message.id
        message.flags.discard("fuzzy")
    with path.open("wb") as handle:
        write_po(handle, catalog, width=110)


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "check":
        problems = catalog_problems(Path(argv[1]))
        for line in problems:
            print(line, file=sys.stderr)
        return 1 if problems else 0
    if len(argv) == 2 and argv[0] == "fill-english":
        fill_english(Path(argv[1]))
        return 0
    print("usage: python -m app.core.i18n_tools check DIR | fill-english PO", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
