"""The Nu HTML checker the browser tests run over every page they visit (``tests/e2e/html_checker.py``)."""

from __future__ import annotations

import pytest

from tests.e2e import html_checker
from tests.e2e.helpers import browser_required

VALID = '<!DOCTYPE html><html lang="en"><head><title>t</title></head><body><p id="a">a</p></body></html>'
DUPLICATE_ID = VALID.replace('<p id="a">a</p>', '<p id="a">a</p><p id="a">b</p>')


@pytest.fixture
def checker_available():
    reason = html_checker.unavailable_reason()
    if reason is not None:
        if browser_required():
            pytest.fail(f"{reason} (REQUIRE_BROWSER is set)")
        pytest.skip(reason)


def test_checker_reports_errors_by_page_and_accepts_valid_html(checker_available, tmp_path):
    errors = html_checker.validate({"/good": VALID, "/bad": DUPLICATE_ID}, tmp_path)
    assert len(errors) == 1
    assert errors[0].startswith("/bad:1: Duplicate ID")


def test_collect_keeps_the_latest_html_per_path():
    html_checker.collect("https://127.0.0.1:1/x?page=2", "<p>old</p>")
    html_checker.collect("https://127.0.0.1:1/x", "<p>new</p>")
    html_checker.collect("about:blank", "<p>ignored</p>")
    try:
        pages = html_checker.collected()
        assert pages["/x"] == "<p>new</p>"
        assert "about:blank" not in pages and "" not in pages
    finally:
        html_checker._pages.pop("/x", None)
