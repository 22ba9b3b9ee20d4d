"""Aggregated, suppressed reports of the impact survey — pure functions over plain data.

Input: a :class:`~app.survey.questionnaire.Questionnaire` and a list of :class:`Answers` (profile and Likert
answers of one response each, nothing else). Output: plain dataclasses the views, the charts and the CSV export
all read, so every channel shows the same (suppressed) numbers.

Disclosure control
------------------
* **Primary suppression** — every published count below :data:`THRESHOLD` (0 included) is hidden, and so is any
  percentage computed from it. A view (whole report or one filter) with fewer than THRESHOLD respondents shows
  nothing at all.
* **Secondary (complementary) suppression** — a line whose total is published (an item's row, a profile question's
  counts) never shows exactly one hidden cell, and its hidden cells add up to at least THRESHOLD; otherwise the
  next smallest cell is hidden too. Without it ``total - visible cells`` would reveal the hidden one.
* **One pattern for every view** — the overall distribution of an item and the counts per profile value are
  protected once; a breakdown (item x profile question) hides whole rows/columns whose margin is hidden, then
  protects its inner cells along rows and columns, then :func:`_audit` solves the published linear equations
  exactly and hides more cells while any hidden small count can still be computed. A filtered view
  (``question = value``) is the row of that breakdown, so comparing the total with a filter, two filters, or a
  filter with its complement uses the same protected table: subtraction reveals nothing. In particular a filter
  whose complement (total - filtered) has fewer than THRESHOLD respondents is hidden.

Scopes: no two reports one person sees overlap
----------------------------------------------
The protection above holds within one set of responses. Two reports over nested or overlapping sets would undo
it: "all answers" minus "answers attributed to NGO X" is the answers outside X, so 6 vs 5 in one cell reveals one
answer. The rule (enforced by the views, :func:`app.survey.operations.can_view_organisation_report`) is that the
scopes one person can open are disjoint:

* platform admins get the all-answers report only, never an NGO's report (not even of an NGO they administer);
* an NGO's report is for its admins; for an admin of several NGOs, the report of one leaves out the responses also
  attributed to another of them, so their reports cover disjoint sets.

Disjoint reports share no unknowns, so each being protected on its own is enough. Since the counts are
published with differential privacy (:mod:`app.survey.privacy`), overlapping scopes — or a scope that changes
over time, or global minus one NGO — would reveal nothing beyond the privacy budget anyway: every scope is a sum
of the noisy tallies of whole attribution sets. The disjointness rule stays as a second line of defence.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from itertools import combinations
from typing import Any

from app.survey.privacy import RESPONDENTS, cross_key
from app.survey.privacy import item_key as tally_item_key
from app.survey.privacy import profile_key as tally_profile_key
from app.survey.questionnaire import SCALE_VALUES, Item, ProfileQuestion, Questionnaire

THRESHOLD = 5
#: "Agree" and "strongly agree", summed in the version comparison.
AGREE_VALUES = ("4", "5")


@dataclass(frozen=True)
class Answers:
    """One response as the reports see it: profile values and Likert values by key."""

    profile: dict[str, str]
    answers: dict[str, str]


@dataclass(frozen=True)
class Cell:
    """A published number: ``count`` and ``percent`` are ``None`` when suppressed."""

    count: int | None
    percent: float | None = None

    @property
    def hidden(self) -> bool:
        return self.count is None


HIDDEN = Cell(None, None)


@dataclass(frozen=True)
class Line:
    """A row of a table: a label key, one cell per category, and the row total."""

    key: str
    cells: tuple[Cell, ...]
    total: Cell


@dataclass(frozen=True)
class ItemDistribution:
    item: Item
    line: Line  # categories = SCALE_VALUES


@dataclass(frozen=True)
class ProfileDistribution:
    question: ProfileQuestion
    line: Line  # categories = question.values


@dataclass(frozen=True)
class Crosstab:
    """Answers to one item broken down by one profile question: one line per profile value."""

    item: Item
    question: ProfileQuestion
    lines: tuple[Line, ...]
    total: Line  # the overall distribution of the item


@dataclass(frozen=True)
class Comparison:
    item: Item
    #: per version (in the order given): respondents and % agreeing (4 + 5), or hidden cells
    totals: tuple[Cell, ...]
    agree: tuple[Cell, ...]


#: The scale's values grouped for small numbers: disagree (1, 2), neutral (3), agree (4, 5), not applicable.
#: "Not applicable" is a group of its own so that the groups add up to the same total as the detailed line.
GROUPS = (("disagree", ("1", "2")), ("neutral", ("3",)), ("agree", ("4", "5")), ("na", ("na",)))


@dataclass(frozen=True)
class ItemSummary:
    """An item at small numbers: answers in three groups (each cell under the same k rule, with complementary
    suppression over the groups' total) and the mean of the 1 to 5 answers with how many it counts (shown only when
    that count reaches the threshold)."""

    item: Item
    line: Line  # categories = GROUPS
    mean: float | None
    mean_count: Cell


@dataclass(frozen=True)
class Report:
    """Everything one report page or export shows."""

    questionnaire: Questionnaire
    respondents: Cell
    #: False when the view has too few respondents: nothing else is shown.
    publishable: bool
    distributions: tuple[ItemDistribution, ...] = ()
    profiles: tuple[ProfileDistribution, ...] = ()
    breakdown: tuple[Crosstab, ...] = ()
    #: ("question key", "value") of a filtered view, else None.
    filter: tuple[str, str] | None = None
    #: whether the filtered view was hidden because of its size or its complement's size
    filter_hidden: bool = False
    #: The items in groups with their means: readable when the detailed cells are mostly hidden.
    summaries: tuple[ItemSummary, ...] = ()
    #: For a view with too few respondents: how many there are so far (the page says "n = 3 of 5 needed").
    respondents_so_far: int = 0


# --- Suppression primitives ---


def _percent(count: int, total: int) -> float:
    return round(100.0 * count / total, 1) if total else 0.0


def protect_line(counts: Sequence[int], *, threshold: int = THRESHOLD) -> set[int]:
    """Indexes of ``counts`` to hide when their total is published.

    Hides every count below ``threshold``, then — while exactly one cell is hidden or the hidden cells add up to
    less than ``threshold`` — the smallest visible cell as well (complementary suppression).
    """
    hidden = {i for i, c in enumerate(counts) if c < threshold}
    while hidden and (len(hidden) == 1 or sum(counts[i] for i in hidden) < threshold):
        visible = [i for i in range(len(counts)) if i not in hidden]
        if not visible:
            break
        hidden.add(min(visible, key=lambda i: (counts[i], i)))
    return hidden


def protect_table(
    cells: Sequence[Sequence[int]],
    *,
    hidden_rows: Iterable[int] = (),
    hidden_columns: Iterable[int] = (),
    threshold: int = THRESHOLD,
) -> set[tuple[int, int]]:
    """Hidden (row, column) positions of an inner table whose row and column totals are published.

    ``hidden_rows`` / ``hidden_columns`` are lines whose total is itself hidden (decided by the 1-D protection
    of the margins, shared by every view): they are hidden entirely. The other lines get primary and
    complementary suppression, then an exact linear audit hides more until no small count can be computed.
    """
    n_rows = len(cells)
    n_cols = len(cells[0]) if n_rows else 0
    hidden_rows, hidden_columns = set(hidden_rows), set(hidden_columns)
    hidden = {(r, c) for r in range(n_rows) for c in range(n_cols) if cells[r][c] < threshold}
    hidden |= {(r, c) for r in hidden_rows for c in range(n_cols)}
    hidden |= {(r, c) for r in range(n_rows) for c in hidden_columns}
    lines = [[(r, c) for c in range(n_cols)] for r in range(n_rows) if r not in hidden_rows]
    lines += [[(r, c) for r in range(n_rows)] for c in range(n_cols) if c not in hidden_columns]

    def value(pos):
        return cells[pos[0]][pos[1]]

    while True:
        changed = True
        while changed:
            changed = False
            for line in lines:
                in_line = [p for p in line if p in hidden]
                if in_line and (len(in_line) == 1 or sum(map(value, in_line)) < threshold):
                    visible = [p for p in line if p not in hidden]
                    if visible:
                        hidden.add(min(visible, key=lambda p: (value(p), p)))
                        changed = True
        exposed = _audit(cells, hidden, hidden_rows, hidden_columns, threshold)
        if not exposed:
            return hidden
        r, c = exposed
        candidates = [p for p in hidden_free(n_rows, n_cols, hidden) if p[0] == r or p[1] == c] or list(
            hidden_free(n_rows, n_cols, hidden)
        )
        if not candidates:
            return hidden
        hidden.add(min(candidates, key=lambda p: (value(p), p)))


def hidden_free(n_rows: int, n_cols: int, hidden: set[tuple[int, int]]):
    return ((r, c) for r in range(n_rows) for c in range(n_cols) if (r, c) not in hidden)


def _audit(cells, hidden, hidden_rows, hidden_columns, threshold) -> tuple[int, int] | None:
    """A hidden inner cell below ``threshold`` that the published numbers determine exactly, or ``None``.

    Unknowns: the hidden inner cells and the hidden margins. Equations: each row and each column sums to its
    total, the totals sum to the grand total (all published numbers substituted). A value is determined iff its
    unit vector lies in the row space, i.e. it is a pivot whose reduced row has no other entry.
    """
    n_rows, n_cols = len(cells), len(cells[0])
    unknowns = sorted(hidden) + [("row", r) for r in sorted(hidden_rows)] + [("col", c) for c in sorted(hidden_columns)]
    index = {u: i for i, u in enumerate(unknowns)}
    equations = []
    for r in range(n_rows):
        coefficients = [(index[(r, c)], 1) for c in range(n_cols) if (r, c) in index]
        if ("row", r) in index:
            coefficients.append((index[("row", r)], -1))
        equations.append(coefficients)
    for c in range(n_cols):
        coefficients = [(index[(r, c)], 1) for r in range(n_rows) if (r, c) in index]
        if ("col", c) in index:
            coefficients.append((index[("col", c)], -1))
        equations.append(coefficients)
    equations.append([(index[("row", r)], 1) for r in hidden_rows])
    equations.append([(index[("col", c)], 1) for c in hidden_columns])
    matrix = []
    for coefficients in equations:
        if not coefficients:
            continue
        row = [0] * len(unknowns)
        for i, a in coefficients:
            row[i] = (row[i] + a) % _PRIME
        matrix.append(row)
    for k in _determined(matrix, len(unknowns)):
        position = unknowns[k]
        if position[0] in ("row", "col"):
            continue
        if cells[position[0]][position[1]] < threshold:
            return position
    return None


#: Exact elimination modulo a prime: the coefficients are 0/±1 and there are at most a few dozen equations, so
#: every minor is far below this prime and the reduced form is the same as over the rationals (and much faster).
_PRIME = (1 << 61) - 1


def _determined(matrix: list[list[int]], n: int):
    """Columns (unknowns) fixed by the equations: pivots of the reduced row echelon form whose row has no other
    entry (i.e. the unit vector of the unknown lies in the row space)."""
    rows = [r[:] for r in matrix]
    pivot_row = 0
    pivots = []
    for col in range(n):
        if pivot_row == len(rows):
            break
        pivot = next((i for i in range(pivot_row, len(rows)) if rows[i][col]), None)
        if pivot is None:
            continue
        rows[pivot_row], rows[pivot] = rows[pivot], rows[pivot_row]
        inverse = pow(rows[pivot_row][col], _PRIME - 2, _PRIME)
        rows[pivot_row] = [x * inverse % _PRIME for x in rows[pivot_row]]
        lead = rows[pivot_row]
        for i in range(len(rows)):
            factor = rows[i][col]
            if i != pivot_row and factor:
                rows[i] = [(a - factor * b) % _PRIME for a, b in zip(rows[i], lead, strict=True)]
        pivots.append((col, pivot_row))
        pivot_row += 1
    for col, r in pivots:
        if not any(x for j, x in enumerate(rows[r]) if j != col):
            yield col


def _line(key: str, counts: Sequence[int], hidden: set[int], total: int, total_hidden: bool = False) -> Line:
    if total_hidden:
        return Line(key, tuple(HIDDEN for _ in counts), HIDDEN)
    cells = tuple(HIDDEN if i in hidden else Cell(c, _percent(c, total)) for i, c in enumerate(counts))
    return Line(key, cells, Cell(total, 100.0 if total else 0.0))


# --- Counting ---
#
# Every function below takes either a list of :class:`Answers` (exact counts, used by the tests of the suppression
# rules) or a published tally (a mapping, see :mod:`app.survey.privacy`: noisy counts, what the pages show).

Data = Sequence[Answers] | Mapping[str, Any]


def respondent_count(data: Data) -> int:
    """How many respondents ``data`` counts."""
    return int(data.get(RESPONDENTS, 0)) if isinstance(data, Mapping) else len(data)


def _item_counts(data: Data, item_key: str) -> list[int]:
    if isinstance(data, Mapping):
        return list(data.get(tally_item_key(item_key)) or [0] * len(SCALE_VALUES))
    counter = Counter(r.answers.get(item_key) for r in data)
    return [counter[v] for v in SCALE_VALUES]


def _profile_counts(data: Data, question: ProfileQuestion) -> list[int]:
    if isinstance(data, Mapping):
        return list(data.get(tally_profile_key(question.key)) or [0] * len(question.values))
    counter = Counter(r.profile.get(question.key) for r in data)
    return [counter[v] for v in question.values]


def _cross_counts(data: Data, item: Item, question: ProfileQuestion) -> list[list[int]]:
    if isinstance(data, Mapping):
        stored = data.get(cross_key(item.key, question.key))
        return [list(row) for row in stored] if stored else [[0] * len(SCALE_VALUES) for _ in question.values]
    cells = [[0] * len(SCALE_VALUES) for _ in question.values]
    value_index = {v: i for i, v in enumerate(question.values)}
    category_index = {v: i for i, v in enumerate(SCALE_VALUES)}
    for r in data:
        vi, ci = value_index.get(r.profile.get(question.key)), category_index.get(r.answers.get(item.key))
        if vi is not None and ci is not None:
            cells[vi][ci] += 1
    return cells


# --- Building blocks (each protected once, reused by every view) ---


def item_summary(data: Data, item: Item, *, threshold: int = THRESHOLD) -> ItemSummary:
    """The item's answers in three groups and its mean (see :class:`ItemSummary`).

    The counts are the same (noisy, for a published tally) counts as the detailed distribution, so the summary is
    post-processing of what is already published under differential privacy. The k rule still holds for every
    cell shown, and jointly with the detailed line published beside it: the groups are more equations on the
    detailed line's hidden cells, so they are all left out when they would let anyone compute a hidden cell, or a
    sum of hidden cells below the threshold."""
    counts = _item_counts(data, item.key)
    by_value = dict(zip(SCALE_VALUES, counts, strict=True))
    grouped = [sum(by_value[v] for v in values) for _key, values in GROUPS]
    line, hidden_groups = _distribution(item.key, grouped, threshold)
    answered = sum(grouped) - by_value["na"]
    detailed_line, detailed_hidden = _distribution(item.key, counts, threshold)
    equations = [] if detailed_line.total.hidden else [[1] * len(SCALE_VALUES)]
    for index, (_key, values) in enumerate(GROUPS):
        if index not in hidden_groups and not line.total.hidden:
            equations.append([1 if v in values else 0 for v in SCALE_VALUES])
    if _reveals(counts, detailed_hidden, equations, threshold):
        return ItemSummary(item, _line(item.key, grouped, set(), sum(grouped), total_hidden=True), None, HIDDEN)
    if answered < threshold:
        return ItemSummary(item, line, None, HIDDEN)
    # The mean is not a cell: published with the number of answers it averages once that number reaches the
    # threshold. It is computed from the published (noisy) tally, so it adds nothing to the differential-privacy
    # budget; an exact audit of it would hide it at almost every small n (a mean and its count fix the sum of the
    # values, and with it the n/a count), which is what the small-number view is for.
    mean = round(sum(int(v) * by_value[v] for v in SCALE_VALUES if v != "na") / answered, 1)
    return ItemSummary(item, line, mean, Cell(answered, 100.0))


def _reveals(counts: Sequence[int], hidden: set[int], equations: list[list[int]], threshold: int) -> bool:
    """Whether the published ``equations`` (coefficient rows over every cell; the visible cells are known) fix a
    hidden cell or a sum of hidden cells below ``threshold``."""
    order = sorted(hidden)
    if not order:
        return False
    rows = [[Fraction(row[i]) for i in order] for row in equations]
    rows = [r for r in rows if any(r)]
    base = _rank(rows)
    for size in range(1, len(order) + 1):
        for subset in combinations(range(len(order)), size):
            if sum(counts[order[i]] for i in subset) >= threshold:
                continue
            target = [Fraction(1 if i in subset else 0) for i in range(len(order))]
            if _rank([*rows, target]) == base:
                return True
    return False


def _rank(rows: list[list[Fraction]]) -> int:
    """Rank of a small matrix over the rationals (Gaussian elimination)."""
    matrix = [list(r) for r in rows]
    rank = 0
    columns = len(matrix[0]) if matrix else 0
    for col in range(columns):
        pivot = next((i for i in range(rank, len(matrix)) if matrix[i][col] != 0), None)
        if pivot is None:
            continue
        matrix[rank], matrix[pivot] = matrix[pivot], matrix[rank]
        for i in range(len(matrix)):
            if i != rank and matrix[i][col] != 0:
                factor = matrix[i][col] / matrix[rank][col]
                matrix[i] = [a - factor * b for a, b in zip(matrix[i], matrix[rank], strict=True)]
        rank += 1
    return rank


def _distribution(key: str, counts: list[int], threshold: int) -> tuple[Line, set[int]]:
    """A protected line whose total is the sum of its cells, and its hidden indexes."""
    total = sum(counts)
    if total < threshold:
        return _line(key, counts, set(), total, total_hidden=True), set(range(len(counts)))
    hidden = protect_line(counts, threshold=threshold)
    return _line(key, counts, hidden, total), hidden


def item_distribution(data: Data, item: Item, *, threshold: int = THRESHOLD) -> tuple[Line, set[int]]:
    """The protected distribution of one item over the scale, and its hidden category indexes."""
    return _distribution(item.key, _item_counts(data, item.key), threshold)


def profile_distribution(data: Data, question: ProfileQuestion, *, threshold: int = THRESHOLD) -> tuple[Line, set[int]]:
    """Respondents per value of a profile question (protected), and the hidden value indexes."""
    return _distribution(question.key, _profile_counts(data, question), threshold)


def crosstab(data: Data, item: Item, question: ProfileQuestion, *, threshold: int = THRESHOLD) -> Crosstab:
    """Item x profile question, protected along its own margins (row and column sums of its cells).

    With exact counts the margins are the item's and the question's own distributions; with a noisy tally each
    table is its own estimate, and its totals are always the sums of its cells.
    """
    values = question.values
    cells = _cross_counts(data, item, question)
    total_line, hidden_categories = _distribution(
        item.key, [sum(column) for column in zip(*cells, strict=True)], threshold
    )
    _, hidden_values = _distribution(question.key, [sum(row) for row in cells], threshold)
    hidden = protect_table(cells, hidden_rows=hidden_values, hidden_columns=hidden_categories, threshold=threshold)
    lines = []
    for vi, value in enumerate(values):
        row_total = sum(cells[vi])
        if vi in hidden_values or row_total < threshold:
            lines.append(_line(value, cells[vi], set(), row_total, total_hidden=True))
        else:
            lines.append(_line(value, cells[vi], {ci for (r, ci) in hidden if r == vi}, row_total))
    return Crosstab(item=item, question=question, lines=tuple(lines), total=total_line)


# --- Reports ---


def build_report(
    questionnaire: Questionnaire,
    rows: Data,
    *,
    breakdown_by: str | None = None,
    filter_by: tuple[str, str] | None = None,
    threshold: int = THRESHOLD,
) -> Report:
    """The report of ``rows`` (answers or a published tally): overall, broken down by one profile question, or
    filtered on one profile value.

    Unknown question keys or values are ignored (overall report). ``breakdown_by`` and ``filter_by`` are
    exclusive; ``filter_by`` wins.
    """
    total = respondent_count(rows)
    if total < threshold:
        return Report(
            questionnaire=questionnaire, respondents=HIDDEN, publishable=False, respondents_so_far=max(0, total)
        )
    respondents = Cell(total, 100.0)
    profiles = tuple(
        ProfileDistribution(q, profile_distribution(rows, q, threshold=threshold)[0]) for q in questionnaire.profile
    )
    if filter_by is not None:
        question = questionnaire.profile_question(filter_by[0])
        if question is not None and filter_by[1] in question.values:
            return _filtered_report(questionnaire, rows, question, filter_by[1], profiles, threshold)
    distributions = tuple(
        ItemDistribution(item, item_distribution(rows, item, threshold=threshold)[0]) for item in questionnaire.items
    )
    breakdown = ()
    question = questionnaire.profile_question(breakdown_by) if breakdown_by else None
    if question is not None:
        breakdown = tuple(crosstab(rows, item, question, threshold=threshold) for item in questionnaire.items)
    return Report(
        questionnaire=questionnaire,
        respondents=respondents,
        publishable=True,
        distributions=distributions,
        profiles=profiles,
        breakdown=breakdown,
        summaries=tuple(item_summary(rows, item, threshold=threshold) for item in questionnaire.items),
    )


def _filtered_report(questionnaire, rows, question, value, profiles, threshold) -> Report:
    """The rows of the breakdown by ``question`` for ``value``: the same protected numbers as the breakdown."""
    index = question.values.index(value)
    margin = next(p.line for p in profiles if p.question.key == question.key)
    respondents = margin.cells[index]
    if respondents.hidden or margin.total.hidden:
        return Report(
            questionnaire=questionnaire,
            respondents=HIDDEN,
            publishable=False,
            filter=(question.key, value),
            filter_hidden=True,
        )
    distributions = []
    for item in questionnaire.items:
        line = crosstab(rows, item, question, threshold=threshold).lines[index]
        distributions.append(ItemDistribution(item, Line(item.key, line.cells, line.total)))
    return Report(
        questionnaire=questionnaire,
        respondents=Cell(respondents.count, 100.0),
        publishable=True,
        distributions=tuple(distributions),
        profiles=(),
        filter=(question.key, value),
    )


def compare_versions(
    reports: Sequence[Report],
) -> list[Comparison]:
    """Items present in every report's questionnaire: respondents and % agreeing (4 + 5) per version.

    The share agreeing is hidden whenever one of its two cells is hidden (a sum of a hidden and a shown cell
    would reveal the hidden one).
    """
    if not reports:
        return []
    common = [i for i in reports[0].questionnaire.items if all(r.questionnaire.item(i.key) for r in reports)]
    agree_idx = [SCALE_VALUES.index(v) for v in AGREE_VALUES]
    result = []
    for item in common:
        totals, agree = [], []
        for report in reports:
            line = next((d.line for d in report.distributions if d.item.key == item.key), None)
            if line is None or line.total.hidden:
                totals.append(HIDDEN)
                agree.append(HIDDEN)
                continue
            totals.append(line.total)
            parts = [line.cells[i] for i in agree_idx]
            if any(p.hidden for p in parts):
                agree.append(HIDDEN)
            else:
                count = sum(p.count for p in parts)
                agree.append(Cell(count, _percent(count, line.total.count)))
        result.append(Comparison(item=item, totals=tuple(totals), agree=tuple(agree)))
    return result


def published_counts(report: Report) -> list[int]:
    """Every count a report shows (for tests: none may be below the threshold)."""
    counts = [report.respondents.count] if report.respondents.count is not None else []
    lines = [d.line for d in report.distributions] + [p.line for p in report.profiles]
    lines += [line for ct in report.breakdown for line in (*ct.lines, ct.total)]
    lines += [summary.line for summary in report.summaries]
    counts += [summary.mean_count.count for summary in report.summaries if summary.mean_count.count is not None]
    for line in lines:
        counts += [c.count for c in (*line.cells, line.total) if c.count is not None]
    return counts
