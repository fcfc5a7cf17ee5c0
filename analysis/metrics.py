"""Practice metrics: volumes, series and assessment completion, response and remission rates with CIs.

Definitions used here (also stated in every output, see ``METHODS``):

* **Rate CIs**: Wilson score interval, equal to R ``prop.test(x, n, correct = FALSE)$conf.int``.
* **Comparing two rates**: Pearson chi-square without continuity correction (R ``prop.test(c(x1, x2),
  c(n1, n2), correct = FALSE)``), or Fisher's exact test (R ``fisher.test``) when any expected cell count is
  below 5; the difference in proportions always with prop.test's (Wald) confidence interval.
* **Patients started**: with a treatments file, patients with at least one treatment session (any kind);
  without one, patients with any score. A session is one (patient, day, kind), as in
  ``outcomes.patient_table``: duplicated rows count once.
* **Series completion**: of the patients who started an induction series (>= 1 induction infusion), the
  share with >= ``config.INDUCTION_SERIES_LENGTH`` induction infusions.
* **Assessment completion**: the share of infusions (sessions of any kind, with a day) on whose day, +-1 day,
  the patient has at least one score of any instrument.
* **Months**: the patient's start month (the month of day 0). Dates do not survive import, so infusions are
  counted by the start month of the patient who received them, not by the calendar month they were given.
* **Response and remission** per instrument come from ``analysis.outcomes.funnel`` (DESIGN "Outcome
  definitions"): rates over the evaluable patients.
"""

from __future__ import annotations

import datetime as _dt
import functools
import math
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from analysis import config, instruments, privacy
from analysis import formatting as fmt
from analysis.arrays import arrow_text
from analysis.outcomes import FUNNEL_COMPLEMENTS, FUNNEL_COUNTS
from analysis.schema import (
    CONDITION,
    DAY,
    INSTRUMENT,
    KIND,
    PATIENT_ID,
    SCORE,
    SITE,
    START_MONTH,
)

#: how each metric is defined; part of every Summary's output
METHODS = {
    "rate_ci": "Wilson score interval (as R prop.test(x, n, correct = FALSE)$conf.int), 95%",
    "rate_comparison": (
        "Pearson chi-square without continuity correction (as R prop.test(correct = FALSE)); Fisher's exact "
        "test (as R fisher.test) when any expected cell count is below 5; difference in proportions with "
        "prop.test's Wald 95% CI"
    ),
    "patients_started": (
        "patients with at least one treatment session (any kind); without a treatments file, patients with any score"
    ),
    "series_completion": (
        f"of the patients who started an induction series (>= 1 induction infusion), the share with "
        f">= {config.INDUCTION_SERIES_LENGTH} induction infusions"
    ),
    "assessment_completion": (
        "share of infusions (sessions of any kind, with a day) on whose day, +-1 day, the patient has at least "
        "one score"
    ),
    "infusions": "treatment sessions of any kind; a session is one patient, day and kind",
    "median_infusions": "median number of induction infusions of the patients who started a series",
    "infusions_per_month": "infusions of patients who started in the month (dates do not survive import)",
    "month": "the patient's start month (YYYY-MM of day 0)",
    "response_remission": "over the evaluable patients: a baseline above 0 and a response assessment",
    "period_change": "KPIs: the latest complete months vs the same number of months before; change = value - previous",
}

RATE_COLUMNS = (
    "response_rate",
    "response_lower",
    "response_upper",
    "remission_rate",
    "remission_lower",
    "remission_upper",
)
#: columns of Summary.rates, in order
RATES_COLUMNS = (
    "instrument",
    "dimension",
    "group",
    "patients",
    "with_baseline",
    "with_response_assessment",
    "evaluable",
    "responders",
    "response_rate",
    "response_lower",
    "response_upper",
    "remitters",
    "remission_rate",
    "remission_lower",
    "remission_upper",
    "with_follow_up",
)
#: rate dimensions: name in Summary.rates -> column
DIMENSIONS = {"overall": None, "condition": CONDITION, "site": SITE, "start_month": START_MONTH}
#: columns of Summary.by_month
BY_MONTH_COLUMNS = (
    "start_month",
    "patients_started",
    "infusions",
    "induction_started",
    "series_completed",
    "series_completion",
    "boosters",
    "infusions_dated",
    "infusions_with_score",
    "assessment_completion",
)
#: columns of kpis()
KPI_COLUMNS = (
    "kpi",
    "label",
    "value",
    "previous",
    "change",
    "unit",
    "n",
    "note",
    "lower",
    "upper",
    "previous_n",
    "period",
    "previous_period",
)
REQUIRED = (PATIENT_ID, INSTRUMENT, SCORE, DAY)
TREATMENTS_REQUIRED = (PATIENT_ID, DAY, KIND)
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


# --- rates and their comparison ------------------------------------------------------------


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
    for what, count in (("response", "responders"), ("remission", "remitters")):
        if what == "remission" and not remission:
            cis = [(math.nan,) * 3] * len(out)
        else:
            cis = [rate_ci(x, n) for x, n in zip(out[count], out["evaluable"])]
        arr = np.array(cis, dtype=float).reshape(len(out), 3)
        out[f"{what}_rate"], out[f"{what}_lower"], out[f"{what}_upper"] = arr[:, 0], arr[:, 1], arr[:, 2]
    return out


def suppress_rates(rates: pd.DataFrame, threshold: int = config.SUPPRESSION_THRESHOLD) -> pd.DataFrame:
    """A rates table (funnel counts, response_* and remission_* columns) as it may be shown: funnel counts
    from 1 to threshold - 1 become '<11'; the response rate and its CI are withheld where responders or
    evaluable is small, the remission rate and CI where remitters or evaluable is small."""
    shares = {
        ("response_rate", "response_lower", "response_upper"): ("responders", "evaluable"),
        ("remission_rate", "remission_lower", "remission_upper"): ("remitters", "evaluable"),
    }
    return privacy.suppress_table(rates, FUNNEL_COUNTS, (), threshold, shares=shares, complements=FUNNEL_COMPLEMENTS)


# --- practice volumes ----------------------------------------------------------------------


def _check_frame(frame, name: str, required: tuple[str, ...]) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{name} must be a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise KeyError(f"{name} column(s) {missing} not found; available: {', '.join(map(str, frame.columns))}")


def _numeric_days(s: pd.Series) -> pd.Series:
    return pd.to_numeric(s, errors="coerce").astype("float64")


def _assessed_infusions(assessments: pd.DataFrame, sessions: pd.DataFrame) -> pd.Series:
    """Per session: True if the patient has a score on that day +-1, False if not, NA without a day."""
    scored = pd.DataFrame({PATIENT_ID: assessments[PATIENT_ID], DAY: _numeric_days(assessments[DAY])})
    scored = scored.dropna().drop_duplicates()
    # patients as integer codes shared by both tables (a missing id is -1 and matches nothing): the merges
    # below then join on numbers, not text
    codes, _ = pd.factorize(pd.concat([scored[PATIENT_ID], sessions[PATIENT_ID]], ignore_index=True))
    scored = pd.DataFrame({PATIENT_ID: codes[: len(scored)], DAY: scored[DAY].to_numpy(), "_hit": True})
    days = _numeric_days(sessions[DAY])
    hit = np.zeros(len(sessions), dtype=bool)
    for offset in (-1, 0, 1):
        probe = pd.DataFrame({PATIENT_ID: codes[len(scored) :], DAY: (days + offset).to_numpy()})
        found = probe.merge(scored, on=[PATIENT_ID, DAY], how="left")["_hit"]
        hit |= found.notna().to_numpy()
    out = pd.Series(hit, index=sessions.index, dtype="boolean")
    out[days.isna().to_numpy()] = pd.NA
    return out


def _scored_sessions(coded, sessions) -> np.ndarray:
    """Per distinct session (:class:`analysis.outcomes.Sessions` over ids that begin with ``coded.ids``): whether
    its patient has any assessment on the session's day +-1 (as :func:`_assessed_infusions`; False without a
    day). Patient and day become one integer key when the days are whole numbers, else the merge above."""
    a_day = coded.numbers[0]
    a_ok = (coded.patient >= 0) & ~np.isnan(a_day)
    s_ok = (sessions.patient >= 0) & ~np.isnan(sessions.day)
    days = np.r_[a_day[a_ok], sessions.day[s_ok]]
    if not len(days) or not (np.isfinite(days).all() and (days == np.round(days)).all()):
        return None
    low, high = days.min() - 1, days.max() + 1
    width = int(high - low) + 1
    scored = coded.patient[a_ok].astype("int64") * width + (a_day[a_ok] - low).astype("int64")
    if not (scored[1:] >= scored[:-1]).all():  # rows by patient and day (export order) are sorted already
        scored = np.sort(scored)
    hit = np.zeros(len(sessions.day), dtype=bool)
    probe = sessions.patient[s_ok].astype("int64") * width + (sessions.day[s_ok] - low).astype("int64")
    found = np.zeros(len(probe), dtype=bool)
    if len(scored):  # the first assessment key from a day before each session's: a hit when at most a day after it
        at = np.searchsorted(scored, probe - 1)
        found = (at < len(scored)) & (scored[np.minimum(at, len(scored) - 1)] <= probe + 1)
    hit[s_ok] = found
    return hit


def _patients(assessments: pd.DataFrame, treatments: pd.DataFrame | None, coded=None) -> pd.DataFrame:
    """One row per patient (with scores, or only in the treatments file): start_month, has_scores, started,
    induction (induction sessions), series_completed, boosters, infusions (sessions of any kind), and
    infusions_dated / infusions_with_score for assessment completion.

    A session is one (patient, day, kind), as in ``outcomes.patient_table``. ``coded``: the
    :class:`analysis.outcomes.Coded` assessments when the caller has them.
    """
    from analysis.outcomes import Coded, Sessions

    coded = Coded(assessments) if coded is None else coded
    people = coded.attributes  # the patients of the assessments, in the order they first appear
    only, sessions = pd.Index([]), None
    if treatments is not None:  # patients only in the treatments file, after them (sorted)
        sessions = Sessions(treatments, coded.ids)
        unmatched = sessions.unmatched
        if len(unmatched) and len(coded.ids) and arrow_text(unmatched) and arrow_text(coded.ids):
            only = unmatched.sort_values()  # what the set difference below gives for such text ids
        elif len(unmatched):
            only = pd.Index(treatments[PATIENT_ID].dropna().unique()).difference(
                pd.Index(assessments[PATIENT_ID].unique())
            )
    out = pd.DataFrame(
        {
            PATIENT_ID: pd.concat(
                [people[PATIENT_ID], pd.Series(only, dtype=people[PATIENT_ID].dtype)], ignore_index=True
            )
        }
    )
    if START_MONTH in people.columns:
        out[START_MONTH] = pd.concat(
            [people[START_MONTH], pd.Series(pd.NA, index=range(len(only)), dtype=people[START_MONTH].dtype)],
            ignore_index=True,
        )
    else:
        out[START_MONTH] = pd.Series(pd.NA, index=out.index)
    out["has_scores"] = np.r_[np.ones(len(people), dtype=bool), np.zeros(len(only), dtype=bool)]
    if treatments is None:
        out["started"] = out["has_scores"]
        for c in ("induction", "series_completed", "boosters", "infusions", "infusions_dated", "infusions_with_score"):
            out[c] = pd.NA
        return out
    if len(only):
        sessions = (
            sessions.appended(only) if only.dtype == coded.ids.dtype else Sessions(treatments, coded.ids.append(only))
        )
    rows = np.r_[coded.attribute_positions, len(coded.ids) + np.arange(len(only))]  # each row's position in ids
    dated = ~np.isnan(sessions.day)
    scored = _scored_sessions(coded, sessions)
    if scored is None:  # days that are not whole numbers: the general merge
        assessed = _assessed_infusions(assessments, treatments[[PATIENT_ID, DAY, KIND]].iloc[sessions.rows])
        scored = assessed.fillna(False).astype(bool).to_numpy()
    out["infusions"] = sessions.count()[rows]
    out["maintenance"] = sessions.count("maintenance")[rows]
    out["infusions_dated"] = sessions.count(where=dated)[rows]
    out["infusions_with_score"] = sessions.count(where=scored)[rows]
    out["induction"] = sessions.count("induction")[rows]
    out["series_completed"] = out["induction"] >= config.INDUCTION_SERIES_LENGTH
    out["boosters"] = sessions.count("booster")[rows]
    out["started"] = out["infusions"] > 0
    return out


def _codes(assessments: pd.DataFrame, coded=None) -> list[str]:
    """Instrument codes present, in registry order (from the ``coded`` assessments' spellings when given)."""
    if coded is not None:
        present = set(coded.lookup)
    else:
        present = {instruments.normalise_code(v) for v in assessments[INSTRUMENT].dropna().unique()}
    return [c for c in instruments.registry() if c in present]


def _share(num, den) -> float:
    return math.nan if den is None or pd.isna(den) or den == 0 else float(num) / float(den)


def _month_rows(patients: pd.DataFrame, has_treatments: bool) -> pd.DataFrame:
    """by_month from the per-patient table (patients with a start month only)."""
    p = patients[patients["started"] & patients[START_MONTH].notna()]
    if not has_treatments:
        g = p.groupby(START_MONTH, sort=True).size().rename("patients_started").reset_index()
        for c in BY_MONTH_COLUMNS[2:]:
            g[c] = math.nan
        return g[list(BY_MONTH_COLUMNS)]
    p = p.assign(_ind=p["induction"] > 0, _done=p["series_completed"] & (p["induction"] > 0))
    g = (
        p.groupby(START_MONTH, sort=True)
        .agg(
            patients_started=(PATIENT_ID, "size"),
            infusions=("infusions", "sum"),
            induction_started=("_ind", "sum"),
            series_completed=("_done", "sum"),
            boosters=("boosters", "sum"),
            infusions_dated=("infusions_dated", "sum"),
            infusions_with_score=("infusions_with_score", "sum"),
        )
        .reset_index()
    )
    g["series_completion"] = [_share(a, b) for a, b in zip(g["series_completed"], g["induction_started"])]
    g["assessment_completion"] = [_share(a, b) for a, b in zip(g["infusions_with_score"], g["infusions_dated"])]
    return g[list(BY_MONTH_COLUMNS)].astype({c: "int64" for c in BY_MONTH_COLUMNS[1:] if "completion" not in c})


def _practice(
    assessments, treatments, patients: pd.DataFrame, threshold: int, coded=None
) -> tuple[dict, pd.DataFrame, list[str]]:
    """The practice dict, the infusions-per-patient distribution and notes (small counts in them as '<11')."""
    notes = []
    L = config.INDUCTION_SERIES_LENGTH
    months = sorted(m for m in patients[START_MONTH].dropna().unique())
    practice = {
        "patients": int(patients["started"].sum()),
        "patients_with_scores": int(patients["has_scores"].sum()),
        "assessments": int(len(assessments)),
        "instruments": _codes(assessments, coded),
        "first_start_month": months[0] if months else None,
        "last_start_month": months[-1] if months else None,
    }
    dist_index = [str(i) for i in range(1, L)] + [f"{L}+"]
    if treatments is None:
        practice.update(
            {
                k: None
                for k in (
                    "infusions",
                    "induction_infusions",
                    "boosters",
                    "maintenance",
                    "induction_started",
                    "series_completed",
                    "series_completion",
                    "infusions_dated",
                    "infusions_with_score",
                    "assessment_completion",
                    "median_infusions",
                )
            }
        )
        practice["infusions_per_patient"] = None
        notes.append(
            "No treatments file: infusions, boosters, series completion and assessment completion need "
            "one; patients started counts patients with any score."
        )
        dist = pd.DataFrame({"infusions": dist_index, "patients": math.nan, "share": math.nan})
        return practice, dist, notes
    started_ind = patients[patients["induction"] > 0]
    counts = started_ind["induction"].clip(upper=L)
    dist_n = [int((counts == i).sum()) for i in range(1, L + 1)]
    dist = pd.DataFrame({"infusions": dist_index, "patients": dist_n})
    dist["share"] = [_share(n, len(started_ind)) for n in dist_n]
    n_dated = int(patients["infusions_dated"].sum())
    n_scored = int(patients["infusions_with_score"].sum())
    practice.update(
        {
            "infusions": int(patients["infusions"].sum()),
            "induction_infusions": int(patients["induction"].sum()),
            "boosters": int(patients["boosters"].sum()),
            "maintenance": int(patients["maintenance"].sum()),
            "induction_started": int(len(started_ind)),
            "series_completed": int(started_ind["series_completed"].sum()),
            "series_completion": _share(started_ind["series_completed"].sum(), len(started_ind)),
            "infusions_dated": n_dated,
            "infusions_with_score": n_scored,
            "assessment_completion": _share(n_scored, n_dated),
            "median_infusions": float(started_ind["induction"].median()) if len(started_ind) else None,
            "infusions_per_patient": dict(zip(dist_index, dist_n)),
        }
    )
    no_treat = int((patients["has_scores"] & ~patients["started"]).sum())
    if no_treat:
        notes.append(
            f"{privacy.show_count(no_treat, threshold)} patient(s) have scores but no treatment rows: not counted as started."
        )
    only_treated = int((~patients["has_scores"]).sum())
    if only_treated:
        notes.append(
            f"{privacy.show_count(only_treated, threshold)} patient(s) in the treatments file have no scores: counted as started, "
            "without attributes or a start month."
        )
    undated = practice["infusions"] - n_dated
    if undated:
        notes.append(
            f"{privacy.show_count(undated, threshold)} treatment session(s) have no day: left out of assessment completion."
        )
    return practice, dist, notes


# --- summary -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Summary:
    """Practice metrics and, per instrument and dimension, the funnel with response and remission rates.

    ``practice``: counts and shares for the whole practice (see ``METHODS``); ``by_month``: one row per
    start month (``BY_MONTH_COLUMNS``); ``rates``: one row per instrument, dimension ("overall", "condition",
    "site", "start_month") and group (``RATES_COLUMNS``); ``infusions_per_patient``: induction infusions per
    patient who started a series (1 .. L-1, "L+"). All tables hold exact counts; ``to_json`` and ``to_text``
    apply small-cell suppression (``definitions.suppression_threshold``).
    """

    practice: dict
    by_month: pd.DataFrame
    rates: pd.DataFrame
    infusions_per_patient: pd.DataFrame
    notes: tuple[str, ...]
    definitions: object
    methods: dict = field(default_factory=lambda: dict(METHODS))

    @property
    def threshold(self) -> int:
        return int(getattr(self.definitions, "suppression_threshold", config.SUPPRESSION_THRESHOLD))

    def suppressed_rates(self) -> pd.DataFrame:
        """``rates`` as it may be shown (see :func:`suppress_rates`)."""
        return suppress_rates(self.rates, self.threshold)

    def suppressed_by_month(self) -> pd.DataFrame:
        """``by_month`` as it may be shown: small counts '<11', shares from a small count withheld."""
        counts = (
            "patients_started",
            "infusions",
            "induction_started",
            "series_completed",
            "boosters",
            "infusions_dated",
            "infusions_with_score",
        )
        shares = {
            ("series_completion",): ("series_completed", "induction_started"),
            ("assessment_completion",): ("infusions_with_score", "infusions_dated"),
        }
        complements = [(num, den) for num, den in shares.values()]
        return privacy.suppress_table(self.by_month, counts, (), self.threshold, shares=shares, complements=complements)

    def suppressed_practice(self) -> dict:
        t = self.threshold
        out = dict(self.practice)
        for k in (
            "patients",
            "patients_with_scores",
            "assessments",
            "infusions",
            "induction_infusions",
            "boosters",
            "maintenance",
            "induction_started",
            "series_completed",
            "infusions_dated",
            "infusions_with_score",
        ):
            out[k] = privacy.show_count(out.get(k), t)
        for share, num, den in (
            ("series_completion", "series_completed", "induction_started"),
            ("assessment_completion", "infusions_with_score", "infusions_dated"),
        ):
            if privacy.is_small(self.practice.get(num), t) or privacy.is_small(self.practice.get(den), t):
                out[share] = None
        if privacy.is_small(self.practice.get("induction_started"), t):
            out["median_infusions"] = None
        if out.get("infusions_per_patient"):
            out["infusions_per_patient"] = {
                k: privacy.show_count(v, t) for k, v in out["infusions_per_patient"].items()
            }
        return out

    def to_json(self) -> dict:
        rates = self.suppressed_rates()
        by_instrument = {}
        keep = [c for c in RATES_COLUMNS if c not in ("instrument", "dimension", "group")]
        for code, r in rates.groupby("instrument", sort=False):
            entry = {}
            for dim, key in (
                ("overall", "overall"),
                ("condition", "by_condition"),
                ("site", "by_site"),
                ("start_month", "by_start_month"),
            ):
                rows = r[r["dimension"] == dim]
                if dim == "overall":
                    entry[key] = rows[keep].to_dict("records")[0] if len(rows) else {}
                else:
                    entry[key] = {str(g): rec for g, rec in zip(rows["group"], rows[keep].to_dict("records"))}
            by_instrument[code] = entry
        return {
            "definitions": self.definitions.to_dict() if hasattr(self.definitions, "to_dict") else {},
            "methods": dict(self.methods, suppression_threshold=self.threshold),
            "practice": self.suppressed_practice(),
            "by_month": self.suppressed_by_month().to_dict("records"),
            "by_instrument": by_instrument,
            "notes": list(self.notes),
        }

    def to_text(self) -> str:
        p = self.suppressed_practice()

        pct = fmt.percent

        def rate(r, what):
            return fmt.rate_ci(r[f"{what}_rate"], r[f"{what}_lower"], r[f"{what}_upper"])

        lines = ["Practice summary", "================"]
        lines.append(f"Patients started: {p['patients']}   (patients with scores: {p['patients_with_scores']})")
        if p.get("infusions") is not None:
            lines.append(
                f"Infusions: {p['infusions']} (induction {p['induction_infusions']}, boosters "
                f"{p['boosters']}, maintenance {p['maintenance']})"
            )
            lines.append(
                f"Series completion: {pct(p['series_completion'])} of {p['induction_started']} who started "
                f"an induction series (>= {config.INDUCTION_SERIES_LENGTH} induction infusions)"
            )
            lines.append(
                f"Assessment completion: {pct(p['assessment_completion'])} of {p['infusions_dated']} "
                "infusions had a score that day (+-1 day)"
            )
        else:
            lines.append("Infusions, series and assessment completion: need a treatments file")
        if p.get("first_start_month"):
            lines.append(f"Start months: {p['first_start_month']} to {p['last_start_month']}")
        lines += ["", "Response and remission (95% Wilson CI), over the evaluable patients"]
        rates = self.suppressed_rates()
        for _, r in rates.iterrows():
            if r["dimension"] == "start_month":
                continue
            label = f"{r['instrument']:<9} {r['dimension']:<10} {str(r['group']):<20}"
            lines.append(
                f"{label} evaluable {str(r['evaluable']):>5}  response {rate(r, 'response'):<26} "
                f"remission {rate(r, 'remission')}"
            )
        lines += ["", "Methods"] + [f"- {k}: {v}" for k, v in self.methods.items()]
        lines.append(
            f"- small cells: counts from 1 to {self.threshold - 1} shown as "
            f"{privacy.small_label(self.threshold)}, rates from them withheld"
        )
        if self.notes:
            lines += ["", "Notes"] + [f"- {n}" for n in self.notes]
        return "\n".join(lines)


def _definitions(definitions):
    from analysis.outcomes import Definitions

    return Definitions() if definitions is None else definitions


class _PerPatient:
    """What summary and kpis compute per patient, once for both: the coded assessments
    (:class:`analysis.outcomes.Coded`), the patient table (:func:`_patients`), its rows by month and each
    instrument's funnels (on first use)."""

    def __init__(self, assessments: pd.DataFrame, treatments: pd.DataFrame | None, definitions):
        from analysis.outcomes import Coded

        self.coded = Coded(assessments)
        self.patients = _patients(assessments, treatments, self.coded)
        self.has_treatments = treatments is not None
        self.definitions = definitions
        self._by_month = None
        self._funnels: dict[tuple, pd.DataFrame] = {}

    def by_month(self) -> pd.DataFrame:
        """:func:`_month_rows` of the patient table (do not change it)."""
        if self._by_month is None:
            self._by_month = _month_rows(self.patients, self.has_treatments)
        return self._by_month

    def funnel(self, code: str, by: str | None) -> pd.DataFrame:
        """The funnel of the instrument's patient outcomes (``analysis.outcomes.funnel_from_outcomes``), by a
        patient attribute or overall (do not change it)."""
        from analysis.outcomes import coded_funnel

        if (code, by) not in self._funnels:
            self._funnels[(code, by)] = coded_funnel(self.coded, code, self.definitions, by)
        return self._funnels[(code, by)]

    def has_values(self, code: str, column: str) -> bool:
        """Whether some patient with scores of the instrument has a value of the attribute ``column``."""
        if column not in self.coded.attributes.columns:
            return False
        missing = self.coded.groups(column)[2]
        patients = self.coded.outcome_arrays(code, self.definitions)["patients"]
        return not missing[self.coded.attribute_rows(patients)].all()


def _rates(per: _PerPatient, definitions, codes) -> tuple[pd.DataFrame, list[str]]:
    """Funnel with rates per instrument and dimension (groups without a value are 'unknown'): the funnels in one
    table, then every row's rates at once. An instrument without a remission rule has no remitters (NA), so
    no remission rate."""
    parts, keys, notes = [], [], []
    for code in codes:
        has_remission = definitions.remission_threshold(code) is not None
        if not has_remission:
            notes.append(f"{code} has no remission rule: remission rates are not given.")
        for dim, column in DIMENSIONS.items():
            if column is not None and not per.has_values(code, column):
                continue
            parts.append(per.funnel(code, column))
            keys.append((code, dim, has_remission))
    if not parts:
        return pd.DataFrame(columns=list(RATES_COLUMNS)), notes
    table = pd.concat(parts, ignore_index=True)
    sizes = [len(f) for f in parts]
    table["instrument"] = pd.array(np.repeat([k[0] for k in keys], sizes), dtype="str")
    table["dimension"] = pd.array(np.repeat([k[1] for k in keys], sizes), dtype="str")
    no_rule = np.repeat([not k[2] for k in keys], sizes)
    if no_rule.any():
        remitters = table["remitters"].astype(object)
        remitters[no_rule] = pd.NA
        table["remitters"] = remitters
    return add_rates(table)[list(RATES_COLUMNS)], notes


def _check_inputs(assessments, treatments) -> None:
    _check_frame(assessments, "assessments", REQUIRED)
    if treatments is not None:
        _check_frame(treatments, "treatments", TREATMENTS_REQUIRED)


def summary(assessments: pd.DataFrame, treatments: pd.DataFrame | None = None, definitions=None) -> Summary:
    """Practice metrics (``METHODS`` states each definition) and response and remission rates per instrument,
    overall and by condition, site and start month, with Wilson 95% CIs.

    ``assessments`` and ``treatments`` are canonical tables (analysis.schema); inputs are not changed.
    """
    _check_inputs(assessments, treatments)
    definitions = _definitions(definitions)
    return _summary(assessments, treatments, definitions, _PerPatient(assessments, treatments, definitions))


def summary_and_kpis(
    assessments: pd.DataFrame,
    treatments: pd.DataFrame | None = None,
    definitions=None,
    instrument: str = "PHQ9",
    months: int = 3,
    *,
    as_of: str | None = None,
) -> tuple[Summary, pd.DataFrame]:
    """``(summary(assessments, treatments, definitions), kpis(assessments, treatments, definitions, instrument,
    months, as_of=as_of))`` from one per-patient computation: what the overview page shows, in about the time
    of one of them."""
    _check_inputs(assessments, treatments)
    _check_months(months)
    code = instruments.get(instrument).code
    definitions = _definitions(definitions)
    per = _PerPatient(assessments, treatments, definitions)
    return (
        _summary(assessments, treatments, definitions, per),
        _kpis(assessments, treatments, definitions, code, int(months), as_of, per),
    )


def _summary(assessments, treatments, definitions, per: _PerPatient) -> Summary:
    patients = per.patients
    threshold = int(getattr(definitions, "suppression_threshold", config.SUPPRESSION_THRESHOLD))
    practice, dist, notes = _practice(assessments, treatments, patients, threshold, per.coded)
    by_month = per.by_month()
    no_month = int((patients["started"] & patients[START_MONTH].isna()).sum())
    if no_month:
        notes.append(
            f"{privacy.show_count(no_month, threshold)} started patient(s) have no start month: counted in the totals, not by month."
        )
    rates, rate_notes = _rates(per, definitions, practice["instruments"])
    notes += rate_notes
    notes.append("Infusions by month are infusions of patients who started in that month.")
    return Summary(practice, by_month, rates, dist, tuple(notes), definitions)


# --- KPI tiles -----------------------------------------------------------------------------


def _month_add(month: str, k: int) -> str:
    y, m = int(month[:4]), int(month[5:7])
    i = y * 12 + (m - 1) + k
    return f"{i // 12:04d}-{i % 12 + 1:02d}"


def _periods(month_values, months: int, as_of: str | None) -> tuple[list[str], list[str]] | None:
    """(current months, previous months), or None when start months are not YYYY-MM."""
    present = sorted({m for m in month_values if isinstance(m, str)})
    if not present or not all(_MONTH.match(m) for m in present):
        return None
    if as_of is None:
        today = _dt.datetime.now(_dt.UTC)
        as_of = f"{today.year:04d}-{today.month:02d}"
    if not _MONTH.match(str(as_of)):
        raise ValueError(f"as_of must be a month 'YYYY-MM', got {as_of!r}")
    last = min(present[-1], _month_add(as_of, -1))
    current = [_month_add(last, -i) for i in range(months - 1, -1, -1)]
    previous = [_month_add(last, -months - i) for i in range(months - 1, -1, -1)]
    return current, previous


def _span(ms: list[str]) -> str:
    return ms[0] if len(ms) == 1 else f"{ms[0]} to {ms[-1]}"


def kpis(
    assessments: pd.DataFrame,
    treatments: pd.DataFrame | None = None,
    definitions=None,
    instrument: str = "PHQ9",
    months: int = 3,
    *,
    as_of: str | None = None,
) -> pd.DataFrame:
    """KPI tiles: one row per KPI (``KPI_COLUMNS``) for the patients who started in the latest ``months``
    complete months (``value``) and in the ``months`` before (``previous``); ``change`` = value - previous
    (for shares a difference of proportions).

    A month is complete when it is before ``as_of`` (YYYY-MM; default the current UTC month); the period ends
    at the latest complete start month present in the data. Every KPI is by start month: infusions, series and
    assessment completion, response and remission are those of the patients who started in the period.
    Shares carry their denominator ``n`` and a Wilson 95% CI (``lower``, ``upper``). Without YYYY-MM start
    months (strict dates) the value covers all patients and there is no previous period.
    """
    _check_inputs(assessments, treatments)
    _check_months(months)
    code = instruments.get(instrument).code
    definitions = _definitions(definitions)
    return _kpis(
        assessments,
        treatments,
        definitions,
        code,
        int(months),
        as_of,
        _PerPatient(assessments, treatments, definitions),
    )


def _check_months(months) -> None:
    if not isinstance(months, (int, np.integer)) or isinstance(months, bool) or months < 1:
        raise ValueError(f"months must be a whole number >= 1, got {months!r}")


def _kpis(assessments, treatments, definitions, code: str, months: int, as_of, per: _PerPatient) -> pd.DataFrame:
    patients = per.patients
    has_scores = code in _codes(assessments, per.coded)
    periods = _periods(patients[START_MONTH].dropna().unique(), int(months), as_of)
    if periods is None:  # no YYYY-MM start months: one window over every patient
        current, previous = ("all start months", None), (None, None)
        by_month = _month_rows(patients.assign(**{START_MONTH: "all"}), treatments is not None)
        by = None
    else:
        current, previous = (_span(periods[0]), periods[0]), (_span(periods[1]), periods[1])
        by_month = per.by_month()
        by = START_MONTH
    if has_scores:
        fun = per.funnel(code, by)
    else:
        fun = pd.DataFrame({"group": [], "evaluable": [], "responders": [], "remitters": []})

    def window(ms):
        """Counts summed over the start months ``ms`` (all patients with a start month when ms is None)."""
        bm = by_month if ms is None else by_month[by_month[START_MONTH].isin(ms)]
        fm = fun if ms is None else fun[fun["group"].isin(ms)]
        sums = {k: float(pd.to_numeric(bm[k]).sum()) for k in BY_MONTH_COLUMNS[1:]}
        sums.update({k: float(pd.to_numeric(fm[k]).sum()) for k in ("evaluable", "responders", "remitters")})
        return sums

    cur = window(current[1])
    prev = window(previous[1]) if previous[1] is not None else None
    has_remission = definitions.remission_threshold(code) is not None
    r0, r1 = definitions.response_window
    treat = "" if treatments is not None else "needs a treatments file"
    scores = "" if has_scores else f"no {code} scores in the data"
    recent = f"response assessed on days {r0}-{r1}: the latest starters may not be evaluable yet"
    specs = [  # kpi, label, unit, numerator, denominator, why not available, caveat
        ("patients_started", "Patients started", "count", "patients_started", None, "", ""),
        ("infusions", "Infusions (of patients who started in the period)", "count", "infusions", None, treat, ""),
        (
            "series_completion",
            f"Series completion (>= {config.INDUCTION_SERIES_LENGTH} induction infusions)",
            "share",
            "series_completed",
            "induction_started",
            treat,
            "the latest starters may still be in their series",
        ),
        (
            "assessment_completion",
            "Assessment completion (infusions with a score that day +-1)",
            "share",
            "infusions_with_score",
            "infusions_dated",
            treat,
            "",
        ),
        ("response_rate", f"{code} response rate", "share", "responders", "evaluable", scores, recent),
        (
            "remission_rate",
            f"{code} remission rate",
            "share",
            "remitters",
            "evaluable",
            scores if has_remission else f"{code} has no remission rule",
            recent,
        ),
    ]
    rows = []
    for kpi, label, unit, num, den, missing, caveat in specs:

        def value(w):
            if w is None or missing:
                return (math.nan,) * 4
            if den is None:
                return (w[num], math.nan, math.nan, math.nan)
            rate, lower, upper = rate_ci(w[num], w[den])
            return (rate, w[den], lower, upper)

        v, n, lower, upper = value(cur)
        pv, pn, _, _ = value(prev)
        rows.append(
            {
                "kpi": kpi,
                "label": label,
                "value": v,
                "previous": pv,
                "change": v - pv,
                "unit": unit,
                "n": n,
                "note": missing or caveat,
                "lower": lower,
                "upper": upper,
                "previous_n": pn,
                "period": current[0],
                "previous_period": previous[0],
            }
        )
    return pd.DataFrame(rows, columns=list(KPI_COLUMNS))


#: columns of kpis_shown
KPI_SHOWN_COLUMNS = (
    "kpi",
    "label",
    "unit",
    "value",
    "previous",
    "change",
    "n",
    "previous_n",
    "lower",
    "upper",
    "period",
    "previous_period",
    "note",
)


def kpis_shown(kpis_table: pd.DataFrame, threshold: int = config.SUPPRESSION_THRESHOLD) -> pd.DataFrame:
    """The KPI tiles as they may be shown (the one rule of the dashboard's tiles and the report's table).

    A count from 1 to ``threshold - 1`` becomes '<11' (``value``, ``previous``, ``n``, ``previous_n``). A share
    (and its CI) is withheld (None) when its denominator is small, or its numerator (share x denominator),
    or their difference (the complement). A change is withheld when either period's value is small or
    withheld. A value that does not exist (NaN) is None too. Counts stay whole numbers; shares and changes
    stay fractions (formatting is the caller's). The input is not changed.
    """
    missing = [
        c
        for c in KPI_COLUMNS
        if c not in kpis_table.columns and c not in ("lower", "upper", "period", "previous_period")
    ]
    if missing:
        raise KeyError(f"kpis_shown needs the table of metrics.kpis; missing column(s): {', '.join(missing)}")

    def absent(v) -> bool:
        return v is None or pd.isna(v)

    def count(v):
        return None if absent(v) else privacy.show_count(int(v), threshold)

    def share_hidden(v, n) -> bool:
        if absent(v) or absent(n):
            return True
        num = round(float(v) * float(n))
        return any(privacy.is_small(x, threshold) for x in (n, num, float(n) - num))

    rows = []
    for k in kpis_table.to_dict("records"):
        if k["unit"] == "share":
            hide_now, hide_before = share_hidden(k["value"], k["n"]), share_hidden(k["previous"], k["previous_n"])
            value = None if hide_now else float(k["value"])
            previous = None if hide_before else float(k["previous"])
            change = None if hide_now or hide_before or absent(k["change"]) else float(k["change"])
            lower, upper = (
                (None, None)
                if hide_now or absent(k.get("lower")) or absent(k.get("upper"))
                else (float(k["lower"]), float(k["upper"]))
            )
        else:
            value, previous = count(k["value"]), count(k["previous"])
            small = any(absent(v) or privacy.is_small(v, threshold) for v in (k["value"], k["previous"]))
            change = None if small or absent(k["change"]) else int(k["change"])
            lower = upper = None
        rows.append(
            {
                "kpi": k["kpi"],
                "label": k["label"],
                "unit": k["unit"],
                "value": value,
                "previous": previous,
                "change": change,
                "n": count(k["n"]),
                "previous_n": count(k["previous_n"]),
                "lower": lower,
                "upper": upper,
                "period": k.get("period"),
                "previous_period": k.get("previous_period"),
                "note": k["note"] if isinstance(k["note"], str) else "",
            }
        )
    return pd.DataFrame(rows, columns=list(KPI_SHOWN_COLUMNS), dtype=object)
