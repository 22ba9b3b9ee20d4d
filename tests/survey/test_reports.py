"""Aggregation and small-cell suppression (pure functions), including a differencing attack."""

from __future__ import annotations

import random
from collections import Counter
from fractions import Fraction

import pytest

from app.core.spreadsheet import neutralise_cell
from app.survey.questionnaire import SCALE_VALUES, get_questionnaire
from app.survey.reports import (
    THRESHOLD,
    Answers,
    build_report,
    compare_versions,
    crosstab,
    protect_line,
    protect_table,
    published_counts,
)

Q = get_questionnaire("impact", 2)
STATUS = Q.profile_question("status")


def rows_of(spec):
    """[(n, status, answer to every item)] → Answers rows."""
    rows = []
    for n, status, answer in spec:
        for _ in range(n):
            profile = {q.key: "undisclosed" for q in Q.profile} | {"status": status}
            rows.append(Answers(profile=profile, answers=dict.fromkeys(Q.item_keys, answer)))
    return rows


# --- Primary and complementary suppression ---


def test_protect_line_hides_small_cells_and_one_more():
    assert protect_line([3, 10, 20]) == {0, 1}
    assert protect_line([10, 20, 30]) == set()
    # Two zeros add up to less than 5: a third cell is hidden so their sum is not known to be 0.
    assert protect_line([0, 0, 12, 30]) == {0, 1, 2}
    # Two small cells adding up to at least 5 protect each other.
    assert protect_line([2, 3, 30, 40]) == {0, 1}


def test_every_published_count_is_at_least_five():
    rng = random.Random(4)
    for _ in range(6):
        rows = [
            Answers(
                profile={q.key: rng.choice(q.values[:3]) for q in Q.profile},
                answers={k: rng.choice(SCALE_VALUES) for k in Q.item_keys},
            )
            for _ in range(rng.randint(0, 60))
        ]
        reports = [build_report(Q, rows)]
        reports += [build_report(Q, rows, breakdown_by=q.key) for q in Q.profile]
        reports += [build_report(Q, rows, filter_by=(q.key, v)) for q in Q.profile[:2] for v in q.values]
        for report in reports:
            assert all(c >= THRESHOLD for c in published_counts(report)), report.filter


def test_percentages_of_hidden_cells_are_hidden():
    report = build_report(Q, rows_of([(3, "VSI", "1"), (6, "VSI", "3"), (20, "SC", "4"), (11, "SC", "5")]))
    line = report.distributions[0].line
    for cell in line.cells:
        assert (cell.count is None) == (cell.percent is None)
    assert line.cells[0].hidden  # 3 answers "1"
    assert line.cells[2].hidden  # 6 answers "3": hidden so that "1" + zeros cannot be computed
    assert line.cells[3].count == 20 and line.cells[3].percent == pytest.approx(50.0)
    assert line.cells[4].count == 11


def test_unanimous_answers_are_hidden():
    """Everyone answering the same reveals each person's answer: the zeros and the full cell are all hidden."""
    line = build_report(Q, rows_of([(12, "VSI", "4")])).distributions[0].line
    assert all(cell.hidden for cell in line.cells)
    assert line.total.count == 12


def test_report_with_fewer_than_five_respondents_shows_nothing():
    report = build_report(Q, rows_of([(4, "VSI", "4")]))
    assert not report.publishable and report.respondents.hidden and not report.distributions


def test_filtered_view_below_five_shows_nothing():
    rows = rows_of([(30, "VSI", "4"), (4, "SC", "2")])
    report = build_report(Q, rows, filter_by=("status", "SC"))
    assert not report.publishable and report.filter_hidden and not report.distributions


def test_filtered_view_whose_complement_is_below_five_shows_nothing():
    """30 VSI + 3 others: the VSI view would give the 3 others' answers by subtraction from the total."""
    rows = rows_of([(30, "VSI", "4"), (3, "SC", "2")])
    assert build_report(Q, rows).publishable
    report = build_report(Q, rows, filter_by=("status", "VSI"))
    assert not report.publishable and report.filter_hidden


def test_crosstab_hides_small_cells_and_their_complements():
    rows = rows_of([(20, "VSI", "4"), (10, "VSI", "5"), (2, "SC", "5"), (10, "SC", "4"), (8, "BEN", "5")])
    table = crosstab(rows, Q.items[0], STATUS)
    by_value = {line.key: line for line in table.lines}
    five = SCALE_VALUES.index("5")
    assert by_value["SC"].cells[five].hidden  # 2
    # Row SC has a published total (12): another of its cells is hidden too.
    assert sum(c.hidden for c in by_value["SC"].cells) >= 2
    # Column "5" has a published total: the 2 cannot be recovered from it either.
    column = [line.cells[five] for line in table.lines if not line.total.hidden]
    assert sum(c.hidden for c in column) >= 2
    for line in table.lines:
        for cell in (*line.cells, line.total):
            assert cell.hidden or cell.count >= THRESHOLD


# --- The differencing attack ---


def _determined(equations, unknowns):
    """Unknowns whose value follows from linear equations {name: coefficient} = constant (exact arithmetic)."""
    index = {u: i for i, u in enumerate(unknowns)}
    rows = []
    for coefficients, constant in equations:
        row = [Fraction(0)] * (len(unknowns) + 1)
        for name, a in coefficients.items():
            row[index[name]] += a
        row[-1] = Fraction(constant)
        rows.append(row)
    pivots, r = [], 0
    for col in range(len(unknowns)):
        pivot = next((i for i in range(r, len(rows)) if rows[i][col] != 0), None)
        if pivot is None:
            continue
        rows[r], rows[pivot] = rows[pivot], rows[r]
        rows[r] = [x / rows[r][col] for x in rows[r]]
        for i in range(len(rows)):
            if i != r and rows[i][col] != 0:
                f = rows[i][col]
                rows[i] = [a - f * b for a, b in zip(rows[i], rows[r], strict=True)]
        pivots.append((col, r))
        r += 1
    return {
        unknowns[col]: rows[row][-1]
        for col, row in pivots
        if all(x == 0 for j, x in enumerate(rows[row][:-1]) if j != col)
    }


def _attack(rows, item):
    """Collect every number the reports publish about ``item`` and the status question — the total view, the
    breakdown by status and every status filter — and solve for the true (status, answer) counts."""
    values, cats = STATUS.values, SCALE_VALUES
    unknowns = [(v, c) for v in values for c in cats]
    equations = []

    def publish(cells, total_cell, coefficient_sets):
        for cell, names in zip(cells, coefficient_sets, strict=True):
            if not cell.hidden:
                equations.append(({n: 1 for n in names}, cell.count))
        if total_cell is not None and not total_cell.hidden:
            equations.append(({n: 1 for names in coefficient_sets for n in names}, total_cell.count))

    overall = build_report(Q, rows)
    line = next(d.line for d in overall.distributions if d.item.key == item.key)
    publish(line.cells, line.total, [[(v, c) for v in values] for c in cats])
    margin = next(p.line for p in overall.profiles if p.question.key == "status")
    publish(margin.cells, None, [[(v, c) for c in cats] for v in values])
    table = next(ct for ct in build_report(Q, rows, breakdown_by="status").breakdown if ct.item.key == item.key)
    for line in table.lines:
        publish(line.cells, line.total, [[(line.key, c)] for c in cats])
    for v in values:
        filtered = build_report(Q, rows, filter_by=("status", v))
        if filtered.publishable:
            fline = next(d.line for d in filtered.distributions if d.item.key == item.key)
            publish(fline.cells, fline.total, [[(v, c)] for c in cats])
    return _determined(equations, unknowns)


def _true_counts(rows, item):
    counts = {(v, c): 0 for v in STATUS.values for c in SCALE_VALUES}
    for r in rows:
        counts[(r.profile["status"], r.answers[item.key])] += 1
    return counts


def test_differencing_attack_with_overlapping_filters_fails():
    """One SC returnee strongly disagrees. Total view minus the VSI filter (its complement), or the total view
    minus every other filter, would give that person's answer — unless the views hide enough."""
    rows = rows_of([(20, "VSI", "4"), (8, "VSI", "5"), (1, "SC", "1"), (6, "BEN", "5"), (5, "BEN", "4")])
    item = Q.items[0]
    true = _true_counts(rows, item)

    # The naive attempt: the "strongly disagree" count of the total view minus those of every other filter.
    overall = build_report(Q, rows)
    total_cell = overall.distributions[0].line.cells[0]
    filtered = [build_report(Q, rows, filter_by=("status", v)) for v in ("VSI", "BEN")]
    parts = [r.distributions[0].line.cells[0] if r.publishable else None for r in filtered]
    # The subtraction cannot even be written: a term is hidden (or the whole filtered view is).
    assert total_cell.hidden or any(p is None or p.hidden for p in parts)

    # The systematic attempt: solve every published equation exactly; no small count may come out.
    solved = _attack(rows, item)
    leaks = {k: v for k, v in solved.items() if true[k] < THRESHOLD}
    assert not leaks, f"small counts computable from the published views: {leaks}"
    assert true[("SC", "1")] == 1 and ("SC", "1") not in solved


@pytest.mark.parametrize("seed", range(8))
def test_differencing_attack_fails_on_random_data(seed):
    rng = random.Random(seed)
    statuses = ["VSI", "SC", "BEN", "ESC", "undisclosed"]
    rows = []
    for _ in range(rng.randint(15, 70)):
        profile = {q.key: "undisclosed" for q in Q.profile} | {"status": rng.choice(statuses)}
        answers = {k: rng.choices(SCALE_VALUES, weights=[1, 2, 3, 6, 5, 1])[0] for k in Q.item_keys}
        rows.append(Answers(profile=profile, answers=answers))
    item = Q.items[rng.randrange(len(Q.items))]
    true = _true_counts(rows, item)
    solved = _attack(rows, item)
    assert all(value == true[k] for k, value in solved.items())  # the attack model is sound
    leaks = {k: v for k, v in solved.items() if true[k] < THRESHOLD}
    assert not leaks


def test_protect_table_audit_closes_a_chain():
    cells = [[1, 10, 10], [10, 10, 10], [10, 10, 1]]
    hidden = protect_table(cells)
    assert (0, 0) in hidden and (2, 2) in hidden
    for r in range(len(cells)):
        assert sum((r, c) in hidden for c in range(3)) != 1
    for c in range(3):
        assert sum((r, c) in hidden for r in range(3)) != 1


# --- Comparison between versions ---


def test_compare_versions_uses_common_items_and_hides_partial_sums():
    v1 = get_questionnaire("impact", 1)
    rows_v1 = [Answers(profile={}, answers=dict.fromkeys(v1.item_keys, a)) for a in "4" * 6 + "5" * 6 + "3" * 5]
    rows_v2 = rows_of([(10, "VSI", "5"), (3, "VSI", "4"), (7, "VSI", "2")])
    comparison = compare_versions([build_report(v1, rows_v1), build_report(Q, rows_v2)])
    assert [c.item.key for c in comparison] == list(v1.item_keys)  # "languages" is only in v2
    first = comparison[0]
    assert first.agree[0].count == 12 and first.agree[0].percent == pytest.approx(70.6)
    # In v2, "agree" (3) is hidden: "agree + strongly agree" would reveal it, so it is hidden too.
    assert first.agree[1].hidden


# --- CSV injection ---


@pytest.mark.parametrize(
    "value", ['=HYPERLINK("http://evil.example","x")', "+1+1", "-2", "@SUM(A1)", "\tTAB", "\rCR", "\nLF"]
)
def test_formula_cells_are_neutralised(value):
    assert neutralise_cell(value) == "'" + value


def test_ordinary_cells_are_left_alone():
    assert neutralise_cell("Tout à fait d'accord") == "Tout à fait d'accord"
    assert neutralise_cell("12") == "12"


# --- Two overlapping filters (two questions) ---

REGION = Q.profile_question("region")


def test_differencing_attack_with_two_overlapping_filters_fails():
    """Filters on two questions overlap (status = SC and region = R share people). Every published view — total,
    breakdowns by status and by region, every filter of both — is written as equations over the true
    (status, region, answer) counts; no small count by status, by region or by both can be solved for."""
    statuses, regions = ["VSI", "SC", "BEN"], REGION.values[:3]
    rng = random.Random(11)
    rows = []
    for status, region, n in [
        (statuses[0], regions[0], 14),
        (statuses[0], regions[1], 9),
        (statuses[1], regions[0], 6),
        (statuses[1], regions[1], 1),  # the one person the attacker is after
        (statuses[2], regions[2], 8),
        (statuses[2], regions[0], 5),
    ]:
        for _ in range(n):
            profile = {q.key: "undisclosed" for q in Q.profile} | {"status": status, "region": region}
            rows.append(Answers(profile=profile, answers={k: rng.choice(["3", "4", "5"]) for k in Q.item_keys}))
    target = next(r for r in rows if r.profile["status"] == "SC" and r.profile["region"] == regions[1])
    target.answers[Q.items[0].key] = "1"
    item, cats = Q.items[0], SCALE_VALUES
    svals, rvals = STATUS.values, REGION.values
    cell_unknowns = [(s, r, c) for s in svals for r in rvals for c in cats]
    margin_unknowns = [("s", s, c) for s in svals for c in cats] + [("r", r, c) for r in rvals for c in cats]
    equations = [({("s", s, c): 1, **{(s, r, c): -1 for r in rvals}}, 0) for s in svals for c in cats]
    equations += [({("r", r, c): 1, **{(s, r, c): -1 for s in svals}}, 0) for r in rvals for c in cats]

    def publish(cell, names):
        if not cell.hidden:
            equations.append(({n: 1 for n in names}, cell.count))

    def all_of(**fixed):
        return [
            (s, r, c)
            for s in svals
            for r in rvals
            for c in cats
            if all({"s": s, "r": r, "c": c}[k] == v for k, v in fixed.items())
        ]

    overall = build_report(Q, rows)
    line = next(d.line for d in overall.distributions if d.item.key == item.key)
    for c, cell in zip(cats, line.cells, strict=True):
        publish(cell, all_of(c=c))
    for question, key in ((STATUS, "s"), (REGION, "r")):
        margin = next(p.line for p in overall.profiles if p.question.key == question.key)
        for v, cell in zip(question.values, margin.cells, strict=True):
            publish(cell, all_of(**{key: v}))
        table = next(ct for ct in build_report(Q, rows, breakdown_by=question.key).breakdown if ct.item.key == item.key)
        for tline in table.lines:
            for c, cell in zip(cats, tline.cells, strict=True):
                publish(cell, all_of(**{key: tline.key, "c": c}))
            publish(tline.total, all_of(**{key: tline.key}))
        for v in question.values:
            filtered = build_report(Q, rows, filter_by=(question.key, v))
            if filtered.publishable:
                fline = next(d.line for d in filtered.distributions if d.item.key == item.key)
                for c, cell in zip(cats, fline.cells, strict=True):
                    publish(cell, all_of(**{key: v, "c": c}))
                publish(fline.total, all_of(**{key: v}))
    solved = _determined(equations, cell_unknowns + margin_unknowns)
    true = Counter()
    for r in rows:
        a = r.answers[item.key]
        true[(r.profile["status"], r.profile["region"], a)] += 1
        true[("s", r.profile["status"], a)] += 1
        true[("r", r.profile["region"], a)] += 1
    assert all(value == true[k] for k, value in solved.items())  # the attack model is sound
    leaks = {k: v for k, v in solved.items() if 0 < true[k] < THRESHOLD}
    assert not leaks, f"small counts computable from two overlapping filters: {leaks}"
    assert ("SC", regions[1], "1") not in solved and ("s", "SC", "1") not in solved
