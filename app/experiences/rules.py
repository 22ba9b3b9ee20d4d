"""Checks on experiences that inform without blocking."""

from __future__ import annotations

from datetime import date

from flask_babel import gettext as _

from app.experiences.models import ExperienceKind, WorkingTime


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


def union_days(periods) -> int:
    """Days covered by the union of ``periods`` ((start, end) dates, inclusive; an open end is left out): days two
    engagements share count once."""
    total, reach = 0, None
    for start, end in sorted((s, e) for s, e in periods if s is not None and e is not None and e >= s):
        if reach is None or start > reach:
            total += (end - start).days + 1
            reach = end
        elif end > reach:
            total += (end - reach).days
            reach = end
    return total


def is_full_time(experience) -> bool:
    """A mission or engagement not declared part time (volunteering statuses are full time by default)."""
    return experience.kind != ExperienceKind.TRAINING and experience.working_time != WorkingTime.PART_TIME


def overlapping(experience, others) -> list:
    """The full-time engagements among ``others`` whose dates overlap ``experience`` (itself full time)."""
    if not is_full_time(experience) or experience.start_date is None:
        return []
    end = experience.end_date or date.max
    return [
        other
        for other in others
        if other.id != experience.id
        and is_full_time(other)
        and other.start_date <= end
        and (other.end_date or date.max) >= experience.start_date
    ]


def overlap_warning(experience, others) -> str | None:
    """A translated note naming the full-time engagements that overlap ``experience`` in time."""
    found = overlapping(experience, others)
    if not found:
        return None
    return _(
        "This engagement is full time and overlaps in time with: %(others)s. Two full-time engagements cannot be "
        "carried out at once; please check the dates (the NGO will be shown this).",
        others="; ".join(f"“{o.title}”" for o in found),
    )
