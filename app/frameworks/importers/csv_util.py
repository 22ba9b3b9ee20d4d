"""Reading CSV exports strictly: BOM or not, header checks, row numbers in every message."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

from app.frameworks.importers import FrameworkImportError, ImportProblem

csv.field_size_limit(10_000_000)


def detect_delimiter(header_line: str) -> str:
    """``;`` or ``,`` — whichever splits the header line into more columns."""
    return ";" if header_line.count(";") > header_line.count(",") else ","


def read_rows(
    path: Path, required: tuple[str, ...], *, delimiter: str | None = None, problems: list[ImportProblem]
) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield ``(row_number, row)`` for each record (the header is row 1); bad rows are added to ``problems``.

    A file that cannot be decoded or lacks a required column raises at once.
    """
    name = path.name
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise FrameworkImportError([ImportProblem(name, f"not UTF-8 text ({exc.reason} at byte {exc.start})")]) from exc
    first_line = text.split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter or detect_delimiter(first_line))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise FrameworkImportError([ImportProblem(name, "the file is empty")]) from None
    missing = [c for c in required if c not in header]
    if missing:
        raise FrameworkImportError([ImportProblem(name, f"missing column(s): {', '.join(missing)}", 1, unit="row")])
    width = len(header)
    row_number = 1
    try:
        for values in reader:
            row_number += 1
            if not values or (len(values) == 1 and not values[0].strip()):
                continue
            if len(values) != width:
                problems.append(
                    ImportProblem(name, f"{len(values)} columns instead of {width}", row_number, unit="row")
                )
                continue
            yield row_number, dict(zip(header, values, strict=True))
    except csv.Error as exc:
        raise FrameworkImportError([ImportProblem(name, f"malformed CSV: {exc}", row_number + 1, unit="row")]) from exc
