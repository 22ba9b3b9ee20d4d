"""Checks on experiences that inform without blocking."""

from __future__ import annotations

from datetime import date

from flask_babel import gettext as _


def duration_warning(status, start: date | None, end: date | None) -> str | None:
    """A translated note when a mission's length is outside the bounds of its engagement status."""
    if status is None or start is None or end is None or end < start:
        return None
    days = (end - start).days + 1
    if status.max_days is not None and days > status.max_days:
        return _(
            "This mission lasts %(days)d days, more than the usual maximum of %(max)d days for the status "
            "“%(status)s” (%(basis)s). Please check the dates.",
            days=days,
            max=status.max_days,
            status=status.label,
            basis=status.legal_basis or "—",
        )
    if status.min_days is not None and days < status.min_days:
        return _(
            "This mission lasts %(days)d days, less than the usual minimum of %(min)d days for the status "
            "“%(status)s” (%(basis)s). Please check the dates.",
            days=days,
            min=status.min_days,
            status=status.label,
            basis=status.legal_basis or "—",
        )
    return None
