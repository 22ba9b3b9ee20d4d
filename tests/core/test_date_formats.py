"""One date format and one date-time format for the interface, through Babel in the reader's locale."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from flask_babel import force_locale

from app.core.templating import format_day, format_moment


@pytest.mark.parametrize(
    ("language", "day", "moment"),
    [
        ("fr", "31 juil. 2025", "2 déc. 2026, 08:58"),
        ("en", "Jul 31, 2025", "Dec 2, 2026, 8:58\u202fAM"),
        ("es", "31 jul 2025", "2 dic 2026, 8:58"),
    ],
)
def test_dates_and_moments_in_each_language(app, language, day, moment):
    with app.test_request_context(), force_locale(language):
        assert format_day(date(2025, 7, 31)) == day
        assert format_day("2025-07-31") == day  # the ISO strings of stored snapshots are never shown as such
        # 07:58 UTC in the interface's time zone (Europe/Paris): one format, date and short time.
        assert format_moment(datetime(2026, 12, 2, 7, 58, tzinfo=UTC)) == moment
        assert format_day(None) == "" and format_moment(None) == ""


def test_no_template_formats_a_date_by_hand():
    from pathlib import Path

    templates = Path(__file__).resolve().parents[2] / "templates"
    offenders = [
        str(path.relative_to(templates))
        for path in templates.rglob("*.html")
        if any(token in path.read_text(encoding="utf-8") for token in (".isoformat()", ".strftime(", "|datetime("))
    ]
    assert offenders == []
