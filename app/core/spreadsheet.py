"""CSV cells safe to open in a spreadsheet (used by the survey reports and the organisations' audit log)."""

from __future__ import annotations

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\n")


def neutralise_cell(value: str) -> str:
    """Prefix with an apostrophe any CSV cell a spreadsheet would run as a formula (CSV/formula injection)."""
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value
