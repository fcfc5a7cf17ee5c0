"""Rates with their 95% intervals and their comparison, for every table of rates in the dashboard and the report:

* **Rate CIs**: Wilson score interval, equal to R ``prop.test(x, n, correct = FALSE)$conf.int`` (:func:`rate_ci`).
* **Comparing two rates**: Pearson chi-square without continuity correction (R ``prop.test(c(x1, x2),
  c(n1, n2), correct = FALSE)``), or Fisher's exact test (R ``fisher.test``) when any expected cell count is
  below 5; the difference in proportions always with prop.test's (Wald) confidence interval (:func:`compare_rates`).
* A funnel table's response and remission rates (:func:`add_rates`), and the same table as it may be shown
  (:func:`suppress_rates`).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from analysis import config, privacy
from analysis.outcomes import FUNNEL_COMPLEMENTS, FUNNEL_COUNTS
from analysis.schema import (
    DIMENSION,
    EVALUABLE,
    INSTRUMENT,
    OVERALL,
    RATES,
    REMITTERS,
    RESPONDERS,
)


def _count(value, name: str) -> float:
    """A count as float (NaN for missing); negative or fractional counts are programmer errors."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return math.nan
    v = float(value)
    if not math.isfinite(v) or v < 0 or v != int(v):
        raise ValueError(f"{name} must be a whole number >= 0, got {value!r}")
    return v


@functools.lru_cache(maxsize=16)
def _z(level: float) -> float:
    """The two-sided normal quantile of a confidence level (kept: scipy's ppf costs ~0.1 ms a call)."""
    return stats.norm.ppf((1 + level) / 2)


def rate_ci(x, n, level: float = 0.95) -> tuple[float, float, float]:
    """(rate, lower, upper): x / n with the Wilson score interval.

    Equal to R ``prop.test(x, n, conf.level = level, correct = FALSE)$conf.int`` (including its exact 0 and 1
    at x = 0 and x = n). NaN for all three when n is 0 or missing.
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1 (e.g. 0.95), got {level!r}")
    x, n = _count(x, "x"), _count(n, "n")
    if math.isnan(x) or math.isnan(n) or n == 0:
        return (math.nan, math.nan, math.nan)
    if x > n:
        raise ValueError(f"x ({x:g}) cannot exceed n ({n:g})")
    z = _z(level)
    p = x / n
    z22n = z * z / (2 * n)
    half = z * math.sqrt(p * (1 - p) / n + z22n / (2 * n))
    upper = 1.0 if p >= 1 else (p + z22n + half) / (1 + 2 * z22n)
    lower = 0.0 if p <= 0 else (p + z22n - half) / (1 + 2 * z22n)
    return (p, lower, upper)


@dataclass(frozen=True)
class RateComparison:
    """Two proportions x1/n1 and x2/n2 compared.

    ``test`` is "chi-square" (Pearson, no continuity correction, as R prop.test(correct = FALSE)), "fisher"
    (R fisher.test, used when any expected cell count is below 5; it has no test statistic: ``statistic`` is
    NaN) or "none" (a group with no patients: nothing to compare). ``difference`` = x1/n1 - x2/n2 with
    prop.test's Wald CI, clipped to [-1, 1].
    """

    test: str
    statistic: float
    p: float
    difference: float
    lower: float
    upper: float
    notes: tuple[str, ...]
    x1: float = math.nan
    n1: float = math.nan
    x2: float = math.nan
    n2: float = math.nan
    min_expected: float = math.nan
    level: float = 0.95

    def to_dict(self) -> dict:
        return {
            "test": self.test,
            "statistic": self.statistic,
            "p": self.p,
            "difference": self.difference,
            "lower": self.lower,
            "upper": self.upper,
            "x1": self.x1,
            "n1": self.n1,
            "x2": self.x2,
            "n2": self.n2,
            "min_expected": self.min_expected,
            "notes": list(self.notes),
        }


def compare_rates(x1, n1, x2, n2, level: float = 0.95) -> RateComparison:
    """Compare x1/n1 with x2/n2: chi-square, or Fisher's exact test when an expected count is below 5.

    Model: two independent binomial samples. Equal to R ``prop.test(c(x1, x2), c(n1, n2), correct = FALSE)``
    (statistic, p, difference CI) and, when any expected count n_i * p0 or n_i * (1 - p0) is below 5 (p0 the
    pooled proportion), R ``fisher.test`` (two-sided p).
    """
    x1, n1, x2, n2 = (_count(v, k) for v, k in ((x1, "x1"), (n1, "n1"), (x2, "x2"), (n2, "n2")))
    for x, n, k in ((x1, n1, "1"), (x2, n2, "2")):
        if not math.isnan(x) and not math.isnan(n) and x > n:
            raise ValueError(f"x{k} ({x:g}) cannot exceed n{k} ({n:g})")
    if any(math.isnan(v) for v in (x1, n1, x2, n2)) or n1 == 0 or n2 == 0:
        return RateComparison(
            "none",
            math.nan,
            math.nan,
            math.nan,
            math.nan,
            math.nan,
            ("not compared: a group has no patients to compare",),
            x1,
            n1,
            x2,
            n2,
            math.nan,
            level,
        )
    p1, p2 = x1 / n1, x2 / n2
    p0 = (x1 + x2) / (n1 + n2)
    observed = np.array([x1, x2, n1 - x1, n2 - x2])
    expected = np.array([n1 * p0, n2 * p0, n1 * (1 - p0), n2 * (1 - p0)])
    min_expected = float(expected.min())
    z = _z(level)
    difference = p1 - p2
    width = z * math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    lower, upper = float(max(difference - width, -1.0)), float(min(difference + width, 1.0))
    ci_note = f"difference in proportions with a Wald {level:.0%} CI (as R prop.test)"
    if min_expected < 5:
        table = [[int(x1), int(n1 - x1)], [int(x2), int(n2 - x2)]]
        p = float(stats.fisher_exact(table).pvalue)
        note = (
            f"Fisher's exact test (as R fisher.test), because the smallest expected count is {min_expected:.3g} (< 5)"
        )
        return RateComparison(
            "fisher", math.nan, p, difference, lower, upper, (note, ci_note), x1, n1, x2, n2, min_expected, level
        )
    statistic = float(((observed - expected) ** 2 / expected).sum())
    p = float(stats.chi2.sf(statistic, 1))
    note = "Pearson chi-square without continuity correction, 1 df (as R prop.test(correct = FALSE))"
    return RateComparison(
        "chi-square", statistic, p, difference, lower, upper, (note, ci_note), x1, n1, x2, n2, min_expected, level
    )


def add_rates(table: pd.DataFrame, remission: bool = True) -> pd.DataFrame:
    """Copy of a funnel table (evaluable, responders, remitters) with response and remission rates and
    their Wilson 95% CIs; remission columns NaN when ``remission`` is False (no remission rule)."""
    out = table.copy()
    for what, count in (("response", RESPONDERS), ("remission", REMITTERS)):
        if what == "remission" and not remission:
            cis = [(math.nan,) * 3] * len(out)
        else:
            cis = [rate_ci(x, n) for x, n in zip(out[count], out[EVALUABLE])]
        arr = np.array(cis, dtype=float).reshape(len(out), 3)
        out[f"{what}_rate"], out[f"{what}_lower"], out[f"{what}_upper"] = arr[:, 0], arr[:, 1], arr[:, 2]
    return out


def rate_blocks(rates: pd.DataFrame, key: str = INSTRUMENT) -> list[tuple[int, list[int]]]:
    """The margins of a rates table, by row position: per ``key`` (the instrument; a safety flag), when there is
    such a column, the "overall" row beside the groups of each other dimension (condition, site, start month);
    without a dimension column, none. (analysis.privacy.protect uses a margin only where its sums hold.)"""
    if DIMENSION not in rates.columns:
        return []
    keys = rates[key].astype(str).tolist() if key in rates.columns else [""] * len(rates)
    dims = rates[DIMENSION].astype(str).tolist()
    blocks = []
    for key in dict.fromkeys(keys):
        rows = [i for i, k in enumerate(keys) if k == key]
        total = [i for i in rows if dims[i] == OVERALL]
        if len(total) != 1:
            continue
        for dim in dict.fromkeys(dims[i] for i in rows if dims[i] != OVERALL):
            blocks.append((total[0], [i for i in rows if dims[i] == dim]))
    return blocks


def suppress_rates(rates: pd.DataFrame, threshold: int = config.SUPPRESSION_THRESHOLD) -> pd.DataFrame:
    """A rates table (funnel counts, response_* and remission_* columns) as it may be shown: funnel counts
    from 1 to threshold - 1 become '<11'; a step of the funnel whose difference from the step before is small
    is withheld, and so is a second count beside every hidden one in its funnel and in its margin (the overall
    row beside the groups of a dimension: :func:`rate_blocks`; analysis.privacy.protect), so that no hidden
    count can be worked out by subtraction; the response rate and its CI are withheld where responders or
    evaluable is hidden, the remission rate and CI where remitters or evaluable is hidden."""
    return privacy.suppress_table(
        rates,
        FUNNEL_COUNTS,
        (),
        threshold,
        shares=RATES,
        complements=FUNNEL_COMPLEMENTS,
        blocks=rate_blocks(rates.reset_index(drop=True)),
    )
