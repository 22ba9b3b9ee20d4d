"""Differential privacy of the published survey counts (OpenDP's discrete Gaussian mechanism, zero-concentrated DP).

What is published
-----------------
For each questionnaire version and each *attribution set* (the exact set of NGOs answers were attributed to), the
release job publishes one noisy **tally** of the released answers in that set: the number of respondents, the
distribution of every item, the counts of every profile value and every item x profile question table. A
report of any scope (all answers, one NGO, one NGO without the answers also attributed to another) adds up
tallies; it never reads answers. Suppression (:mod:`app.survey.reports`) then hides small noisy cells: that is
post-processing, which costs no privacy.

The mechanism
-------------
One person's answer changes one cell of each count in a tally by one: the number of respondents, one category
per item, one value per profile question and one cell per item x question table. So the tally vector has an
L2 sensitivity of ``sqrt(1 + I + Q + I·Q)`` (I items, Q profile questions). The release adds integer noise from
the discrete Gaussian of OpenDP (``make_gaussian`` over integer vectors), with the scale that makes each release
``rho``-zCDP for that sensitivity (checked with OpenDP's own privacy map).

The budget
----------
Each release re-publishes the tally of every attribution set it adds a batch to, with fresh noise: the releases
of one set compose sequentially, so ``rho_spent`` adds up, and a set whose next release would exceed the budget
of the questionnaire version (``SURVEY_PRIVACY_BUDGET_RHO``) is not released again (its report is final).
Different attribution sets hold different people (parallel composition) and every scope is a sum of sets, so
whatever anyone combines — two scopes, a scope before and after a release, global minus one NGO — one person's
answer is protected at the budget's level: ``rho`` zCDP, i.e. (ε, δ)-DP with the ε given by
:func:`epsilon_for` (at δ = ``SURVEY_DP_DELTA``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from app.survey.questionnaire import SCALE_VALUES, Questionnaire

#: Key of the number of respondents in a tally.
RESPONDENTS = "n"


def item_key(item_key: str) -> str:
    return f"item:{item_key}"


def profile_key(question_key: str) -> str:
    return f"profile:{question_key}"


def cross_key(item: str, question: str) -> str:
    return f"cross:{item}:{question}"


def empty_tally(questionnaire: Questionnaire) -> dict[str, Any]:
    """A tally of no answer, with every count of ``questionnaire`` at zero."""
    tally: dict[str, Any] = {RESPONDENTS: 0}
    for item in questionnaire.items:
        tally[item_key(item.key)] = [0] * len(SCALE_VALUES)
        for question in questionnaire.profile:
            tally[cross_key(item.key, question.key)] = [[0] * len(SCALE_VALUES) for _ in question.values]
    for question in questionnaire.profile:
        tally[profile_key(question.key)] = [0] * len(question.values)
    return tally


def exact_tally(questionnaire: Questionnaire, answers: Iterable[tuple[Mapping, Mapping]]) -> dict[str, Any]:
    """The exact tally of ``answers`` (pairs of profile and item answers)."""
    tally = empty_tally(questionnaire)
    category = {v: i for i, v in enumerate(SCALE_VALUES)}
    for profile, items in answers:
        tally[RESPONDENTS] += 1
        values = {
            q.key: (q.values.index(profile[q.key]) if profile.get(q.key) in q.values else None)
            for q in questionnaire.profile
        }
        for question in questionnaire.profile:
            if values[question.key] is not None:
                tally[profile_key(question.key)][values[question.key]] += 1
        for item in questionnaire.items:
            c = category.get(items.get(item.key))
            if c is None:
                continue
            tally[item_key(item.key)][c] += 1
            for question in questionnaire.profile:
                if values[question.key] is not None:
                    tally[cross_key(item.key, question.key)][values[question.key]][c] += 1
    return tally


def add_tallies(questionnaire: Questionnaire, tallies: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The cell-by-cell sum of ``tallies`` (counts missing from one tally count as zero)."""
    total = empty_tally(questionnaire)
    for tally in tallies:
        for key, value in total.items():
            other = tally.get(key)
            if other is None:
                continue
            if key == RESPONDENTS:
                total[key] = value + int(other)
            elif value and isinstance(value[0], list):
                for row, other_row in zip(value, other, strict=False):
                    row[:] = [a + int(b) for a, b in zip(row, other_row, strict=False)]
            else:
                value[:] = [a + int(b) for a, b in zip(value, other, strict=False)]
    return total


def flatten(tally: Mapping[str, Any]) -> list[int]:
    """Every count of ``tally`` in one list, keys in sorted order (see :func:`unflatten`)."""
    out: list[int] = []
    for key in sorted(tally):
        value = tally[key]
        if isinstance(value, int):
            out.append(value)
        elif value and isinstance(value[0], list):
            for row in value:
                out.extend(row)
        else:
            out.extend(value)
    return out


def unflatten(template: Mapping[str, Any], values: list[int]) -> dict[str, Any]:
    """``values`` put back in the shape of ``template``."""
    values = list(values)
    out: dict[str, Any] = {}
    position = 0

    def take(n):
        nonlocal position
        chunk = values[position : position + n]
        position += n
        return chunk

    for key in sorted(template):
        value = template[key]
        if isinstance(value, int):
            out[key] = take(1)[0]
        elif value and isinstance(value[0], list):
            out[key] = [take(len(row)) for row in value]
        else:
            out[key] = take(len(value))
    return out


def l2_sensitivity(questionnaire: Questionnaire) -> float:
    """How far (L2) one answer moves a tally: one cell by one in each of its ``1 + I + Q + I·Q`` counts."""
    items, questions = len(questionnaire.items), len(questionnaire.profile)
    return math.sqrt(1 + items + questions + items * questions)


def _opendp():
    # Imported on first use: the library loads a large native module, needed only by the release job.
    import opendp.prelude as dp  # optional dependency

    dp.enable_features("contrib")
    return dp


def gaussian_scale(questionnaire: Questionnaire, rho: float) -> float:
    """The noise scale (sigma) that makes one release of a tally ``rho``-zCDP: sensitivity / sqrt(2 rho)."""
    return l2_sensitivity(questionnaire) / math.sqrt(2 * rho)


def _mechanism(questionnaire: Questionnaire, rho: float):
    dp = _opendp()
    space = dp.vector_domain(dp.atom_domain(T=int)), dp.l2_distance(T=float)
    # A hair above the exact scale so that floating-point rounding in the map never reports more than rho.
    measurement = dp.m.make_gaussian(*space, scale=gaussian_scale(questionnaire, rho) * (1 + 1e-9))
    spent = measurement.map(l2_sensitivity(questionnaire))
    if spent > rho * (1 + 1e-6):  # pragma: no cover - would mean the formula above is wrong
        raise RuntimeError(f"the release would spend rho={spent}, more than {rho}")
    return measurement


def noisy_tally(questionnaire: Questionnaire, tally: Mapping[str, Any], rho: float) -> dict[str, Any]:
    """``tally`` with discrete Gaussian noise on every count (OpenDP), ``rho``-zCDP for one answer.

    Negative counts are published as 0 (post-processing); reports add cells up themselves, so every table's
    totals are the sums of its cells.
    """
    noisy = _mechanism(questionnaire, rho)(flatten(tally))
    return unflatten(tally, [max(0, int(v)) for v in noisy])


def epsilon_for(rho: float, delta: float) -> float:
    """The epsilon of (epsilon, delta)-DP implied by ``rho``-zCDP (Bun & Steinke 2016, Prop. 1.3:
    epsilon = rho + 2 sqrt(rho ln(1/delta)))."""
    return rho + 2 * math.sqrt(rho * math.log(1 / delta))
