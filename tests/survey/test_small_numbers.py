"""The survey's reports at small numbers: items in three groups (disagree / neutral / agree) and their means,
each shown under the k = 5 rule, and jointly safe with the detailed line published beside them."""

from __future__ import annotations

import random
from collections import Counter
from itertools import combinations

from app.survey.questionnaire import SCALE_VALUES, get_questionnaire
from app.survey.reports import GROUPS, THRESHOLD, Answers, build_report, item_summary, published_counts

Q = get_questionnaire("impact", 2)
ITEM = Q.items[0]


def _rows(values):
    profile = {q.key: "undisclosed" for q in Q.profile}
    return [Answers(profile=profile, answers={ITEM.key: v}) for v in values]


def test_small_numbers_show_groups_where_the_detailed_cells_are_all_hidden():
    # 12 answers, no detailed cell reaches 5 but the disagree and agree groups do; neutral and n/a hide each other.
    values = ["1"] * 2 + ["2"] * 3 + ["3"] * 3 + ["4"] * 2 + ["5"] * 3 + ["na"] * 2
    rows = _rows(values)
    detailed = build_report(Q, rows).distributions[0].line
    assert all(cell.hidden for cell in detailed.cells) and detailed.total.count == 15
    summary = item_summary(rows, ITEM)
    assert [c.count for c in summary.line.cells] == [5, None, 5, None]
    assert summary.mean == round((2 * 1 + 3 * 2 + 3 * 3 + 2 * 4 + 3 * 5) / 13, 1) and summary.mean_count.count == 13


def test_a_small_group_hides_a_second_one():
    # 6 answers: 1 x "2", 2 x "4", 3 x "5": showing agree (5) with the total (6) would reveal disagree (1).
    summary = item_summary(_rows(["2", "4", "4", "5", "5", "5"]), ITEM)
    assert all(cell.hidden for cell in summary.line.cells)


def test_a_summary_never_lets_a_hidden_detailed_cell_be_computed():
    # Detailed: "4" = 7 shown, "5" = 2 hidden (with "1" = 3 hidden beside it); a shown agree group (9) would give
    # "5" = 9 - 7: the summary must not show it.
    rows = _rows(["1"] * 3 + ["3"] * 6 + ["4"] * 7 + ["5"] * 2)
    summary = item_summary(rows, ITEM)
    detailed = build_report(Q, rows).distributions[0].line
    assert detailed.cells[4].hidden and not detailed.cells[3].hidden
    shown = [i for i, cell in enumerate(summary.line.cells) if not cell.hidden]
    assert 2 not in shown


def _solvable(counts, hidden, equations):
    """Brute force: every assignment of the hidden cells that fits the equations; the set of values per subset."""
    order = sorted(hidden)
    target = [sum(row[i] * counts[i] for i in order) for row in equations]
    limit = sum(counts[i] for i in order)
    fits = []

    def walk(index, values):
        if index == len(order):
            if all(
                sum(row[order[j]] * values[j] for j in range(len(order))) == t
                for row, t in zip(equations, target, strict=True)
            ):
                fits.append(tuple(values))
            return
        for value in range(limit + 1):
            if sum(values) + value <= limit:
                walk(index + 1, [*values, value])

    walk(0, [])
    return order, fits


def test_on_random_small_data_no_hidden_sum_below_five_is_determined():
    rng = random.Random(15)
    for _ in range(60):
        values = [rng.choice(SCALE_VALUES) for _ in range(rng.randint(5, 14))]
        rows = _rows(values)
        counter = Counter(values)
        counts = [counter[v] for v in SCALE_VALUES]
        report = build_report(Q, rows)
        detailed = report.distributions[0].line
        summary = report.summaries[0]
        assert all(c >= THRESHOLD for c in published_counts(report))
        hidden = {i for i, cell in enumerate(detailed.cells) if cell.hidden}
        if not hidden or len(hidden) > 4:
            continue
        equations = [[1] * len(SCALE_VALUES)] if not detailed.total.hidden else []
        if not summary.line.total.hidden:
            equations.append([0 if v == "na" else 1 for v in SCALE_VALUES])
        for index, (_key, members) in enumerate(GROUPS):
            if not summary.line.cells[index].hidden:
                equations.append([1 if v in members else 0 for v in SCALE_VALUES])
        order, fits = _solvable(counts, hidden, equations)
        for size in range(1, len(order) + 1):
            for subset in combinations(range(len(order)), size):
                sums = {sum(fit[i] for i in subset) for fit in fits}
                if len(sums) == 1:
                    assert sums.pop() >= THRESHOLD, (values, subset)
