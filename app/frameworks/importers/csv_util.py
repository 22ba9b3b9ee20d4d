"""Reading CSV exports strictly: BOM or not, header checks, row numbers in every message."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

from flask_babel import lazy_gettext as _l

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
        raise FrameworkImportError(
            [ImportProblem(name, _l("not UTF-8 text (%(reason)s at byte %(byte)d)", reason=exc.reason, byte=exc.start))]
        ) from exc
    first_line = text.split("\n", 1)[0]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter or detect_delimiter(first_line))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise FrameworkImportError([ImportProblem(name, _l("the file is empty"))]) from None
    missing = [c for c in required if c not in header]
    if missing:
        message = _l("missing column(s): %(columns)s", columns=", ".join(missing))
        raise FrameworkImportError([ImportProblem(name, message, 1, unit="row")])
    width = len(header)
    row_number = 1
    try:
        for values in reader:
            row_number += 1
            if not values or (len(values) == 1 and not values[0].strip()):
                continue
            if len(values) != width:
                message = _l("%(found)d columns instead of %(expected)d", found=len(values), expected=width)
                problems.append(ImportProblem(name, message, row_number, unit="row"))
                continue
            yield row_number, dict(zip(header, values, strict=True))
    except csv.Error as exc:
        raise FrameworkImportError(
            [ImportProblem(name, _l("malformed CSV: %(detail)s", detail=str(exc)), row_number + 1, unit="row")]
        ) from exc
