"""Stacked Likert bar charts as SVG (pygal), embedded as ``data:`` images.

The SVG goes into an ``<img>`` (never inlined: pygal's SVG carries ``<style>``, and our CSP forbids inline
styles and scripts on pages; an image document is sandboxed from the page). pygal's JavaScript is switched off.
The same numbers are always shown in an HTML table beside the chart; hidden (suppressed) cells are drawn as
missing segments.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re

import pygal
from flask_babel import gettext as _
from pygal.style import Style

from app.survey.reports import GROUPS, ItemDistribution

_SCRIPT = re.compile(r"<script\b.*?</script>", re.DOTALL | re.IGNORECASE)

#: Diverging palette (disagree → agree, then grey for "not applicable"), distinguishable in greyscale.
COLOURS = ("#a4161a", "#e07a5f", "#c9c9c9", "#6aa5d6", "#0b4f8a", "#7a7a7a")

_STYLE = Style(
    background="white",
    plot_background="white",
    foreground="#1b1f23",
    foreground_strong="#1b1f23",
    foreground_subtle="#4a5560",
    colors=COLOURS,
    font_family="DejaVu Sans, sans-serif",
)


def likert_chart(
    distributions: list[ItemDistribution], *, title: str, scale_labels: list[str], language: str
) -> str | None:
    """A data URI of a horizontal stacked bar chart: one bar per item, one segment per scale point (% of answers).

    ``None`` when every segment is hidden: the pages then say in words that there are not enough answers yet,
    instead of a chart that only says "No data". Rendered once per content: the chart is a function of the title,
    the labels and the percentages, so the SVG is kept in a small in-process cache keyed by a hash of them (pygal
    took most of a report's remaining time).
    """
    if all(_value(d, index) is None for d in distributions for index in range(len(scale_labels))):
        return None
    labels = tuple(d.item.text.get(language) for d in reversed(distributions))
    values = tuple(tuple(_value(d, index) for d in reversed(distributions)) for index in range(len(scale_labels)))
    content = (title, tuple(scale_labels), labels, values)
    return _chart_for(hashlib.sha256(repr(content).encode()).hexdigest(), content)


@functools.lru_cache(maxsize=256)
def _chart_for(_digest: str, content: tuple) -> str:
    """The chart of ``content`` (title, scale labels, item labels, values per scale point), cached by its digest."""
    title, scale_labels, labels, values = content
    chart = pygal.HorizontalStackedBar(
        style=_STYLE,
        js=[],
        title=title,
        width=900,
        height=max(260, 60 + 42 * len(labels)),
        range=(0, 100),
        legend_at_bottom=True,
        # Two columns of whole legend labels ("Neither agree nor disagree" included): never cut.
        legend_at_bottom_columns=2,
        truncate_label=60,
        truncate_legend=-1,
        print_values=False,
        show_y_guides=False,
        disable_xml_declaration=False,
    )
    chart.x_labels = list(labels)
    for label, series in zip(scale_labels, values, strict=True):
        chart.add(label, list(series))
    svg = chart.render()
    if isinstance(svg, bytes):
        svg = svg.decode("utf-8")
    # pygal always writes a small configuration <script>: an <img> would not run it, but nothing needs it either.
    svg = _SCRIPT.sub("", svg).encode("utf-8")
    return "data:image/svg+xml;base64," + base64.b64encode(svg).decode("ascii")


def _value(distribution: ItemDistribution, index: int):
    cell = distribution.line.cells[index]
    return None if cell.hidden else cell.percent


def group_labels() -> list[str]:
    """Column headings of the grouped answers (:data:`app.survey.reports.GROUPS`), translated now."""
    labels = {
        "disagree": _("Disagree (1 or 2)"),
        "neutral": _("Neutral (3)"),
        "agree": _("Agree (4 or 5)"),
        "na": _("Not applicable"),
    }
    return [labels[key] for key, _values in GROUPS]
