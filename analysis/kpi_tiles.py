"""KPI tiles: the latest complete start months against the months before (:func:`kpis`), and the tiles as they
may be shown (:func:`kpis_shown`, the one suppression rule of the dashboard's tiles and the report's table).

A start month is compared only when it is complete in the data and its patients are past their induction series
and response window (:func:`data_end`, :func:`last_mature_month`); each change carries a test (a share: R's
``prop.test`` / ``fisher.test`` via :func:`analysis.rates.compare_rates`; patients started: an exact binomial test
of equal rates over the two equal periods) so that a page colours only a change beyond noise.
"""

from __future__ import annotations

import datetime as _dt
import math
import re

import numpy as np
import pandas as pd

from analysis import config, instruments, privacy
from analysis.practice import BY_MONTH_COLUMNS, _check_inputs, _codes, _definitions, _month_rows, _PerPatient
from analysis.rates import compare_rates, rate_ci
from analysis.schema import (
    ASSESSMENT_COMPLETION,
    DAY,
    EVALUABLE,
    GROUP,
    INFUSIONS,
    PATIENT_ID,
    PATIENTS_STARTED,
    REMISSION_RATE,
    REMITTERS,
    RESPONDERS,
    RESPONSE_RATE,
    SERIES_COMPLETION,
    START_MONTH,
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
    "count",
    "previous_count",
    "p",
    "test",
    "beyond_noise",
    "data_end_month",
    "left_out_from",
)

#: days per month, to place a day offset in calendar months (a start month is known, not its day)
DAYS_PER_MONTH = 365.25 / 12
#: the significance level under which a change is called beyond noise
ALPHA = 0.05

_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def _month_add(month: str, k: int) -> str:
    y, m = int(month[:4]), int(month[5:7])
    i = y * 12 + (m - 1) + k
    return f"{i // 12:04d}-{i % 12 + 1:02d}"


def _index(month: str) -> int:
    return int(month[:4]) * 12 + int(month[5:7]) - 1


def _month_of(index: int) -> str:
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def data_end(assessments: pd.DataFrame, treatments: pd.DataFrame | None = None) -> float | None:
    """Where the data end, in months (``year * 12 + month - 1``, fractional), or None without YYYY-MM start
    months: the latest of each patient's start month plus their last day (score or treatment) / 30.44.

    Only the start month is kept, not the day: a patient is taken to have started on its first day, so the end
    found is the earliest the data can end (a lower bound), and a month is complete only when the data certainly
    reach past it."""
    if START_MONTH not in assessments.columns:
        return None
    months = assessments[[PATIENT_ID, START_MONTH]].dropna().drop_duplicates(PATIENT_ID)
    months = months[months[START_MONTH].map(lambda m: isinstance(m, str) and bool(_MONTH.match(m)))]
    if months.empty:
        return None
    days = [assessments[[PATIENT_ID, DAY]]]
    if treatments is not None and DAY in treatments.columns:
        days.append(treatments[[PATIENT_ID, DAY]])
    last = pd.concat(days, ignore_index=True).dropna().groupby(PATIENT_ID)[DAY].max()
    start = months.set_index(PATIENT_ID)[START_MONTH].map(_index)
    both = start.index.intersection(last.index)
    if not len(both):
        return None
    at = start[both].astype(float) + pd.to_numeric(last[both]).astype(float).clip(lower=0) / DAYS_PER_MONTH
    return float(at.max())


def last_mature_month(end: float, definitions) -> str:
    """The latest start month whose patients are all past their induction series and response window by the
    data's end ``end`` (:func:`data_end`): a patient who started on the month's last day reached the window's last
    day before the data end."""
    days = max(int(definitions.response_window[1]), int(definitions.induction_end_day))
    return _month_of(math.floor(end - 1 - days / DAYS_PER_MONTH))


def _periods(
    month_values, months: int, as_of: str | None, mature: str | None = None
) -> tuple[list[str], list[str]] | None:
    """(current months, previous months), or None when start months are not YYYY-MM. ``mature``: the latest
    start month that may be compared (:func:`last_mature_month`), None for no such limit."""
    present = sorted({m for m in month_values if isinstance(m, str)})
    if not present or not all(_MONTH.match(m) for m in present):
        return None
    if as_of is None:
        today = _dt.datetime.now(_dt.UTC)
        as_of = f"{today.year:04d}-{today.month:02d}"
    if not _MONTH.match(str(as_of)):
        raise ValueError(f"as_of must be a month 'YYYY-MM', got {as_of!r}")
    last = min(present[-1], _month_add(as_of, -1), *([mature] if mature else []))
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
    mature: bool = True,
) -> pd.DataFrame:
    """KPI tiles: one row per KPI (``KPI_COLUMNS``) for the patients who started in the latest ``months``
    complete months (``value``) and in the ``months`` before (``previous``); ``change`` = value - previous
    (for shares a difference of proportions).

    A month is complete when it is before ``as_of`` (YYYY-MM; default the current UTC month); the period ends
    at the latest complete start month present in the data. With ``mature`` (the default) it also ends no later
    than :func:`last_mature_month`: the month the data end in is not complete, and patients who started since may
    still be inside their induction series or response window (``data_end_month``; ``left_out_from`` is the
    first start month left out). Every KPI is by start month: infusions, series and assessment completion,
    response and remission are those of the patients who started in the period. Shares carry their numerator
    ``count`` and denominator ``n`` and a Wilson 95% CI (``lower``, ``upper``). Each change carries its test
    (``test``, ``p``; ``beyond_noise`` when p < ``ALPHA``): shares by :func:`analysis.rates.compare_rates`
    (chi-square, or Fisher's exact test for small expected counts, as R); patients started by an exact binomial
    test of equal rates in the two equal periods (R ``binom.test(x1, x1 + x2)``); infusions have none (they
    cluster within patients). Without YYYY-MM start months (strict dates) the value covers all patients and
    there is no previous period.
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
        data_end(assessments, treatments) if mature else None,
    )


def _check_months(months) -> None:
    if not isinstance(months, (int, np.integer)) or isinstance(months, bool) or months < 1:
        raise ValueError(f"months must be a whole number >= 1, got {months!r}")


def _kpis(
    assessments, treatments, definitions, code: str, months: int, as_of, per: _PerPatient, end: float | None = None
) -> pd.DataFrame:
    patients = per.patients
    has_scores = code in _codes(assessments, per.coded)
    mature = None if end is None else last_mature_month(end, definitions)
    periods = _periods(patients[START_MONTH].dropna().unique(), int(months), as_of, mature)
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
        fun = pd.DataFrame({GROUP: [], EVALUABLE: [], RESPONDERS: [], REMITTERS: []})

    def window(ms):
        """Counts summed over the start months ``ms`` (all patients with a start month when ms is None)."""
        bm = by_month if ms is None else by_month[by_month[START_MONTH].isin(ms)]
        fm = fun if ms is None else fun[fun[GROUP].isin(ms)]
        sums = {k: float(pd.to_numeric(bm[k]).sum()) for k in BY_MONTH_COLUMNS[1:]}
        sums.update({k: float(pd.to_numeric(fm[k]).sum()) for k in (EVALUABLE, RESPONDERS, REMITTERS)})
        return sums

    cur = window(current[1])
    prev = window(previous[1]) if previous[1] is not None else None
    has_remission = definitions.remission_threshold(code) is not None
    r0, r1 = definitions.response_window
    treat = "" if treatments is not None else "needs a treatments file"
    scores = "" if has_scores else f"no {code} scores in the data"
    recent = f"response assessed on days {r0}-{r1}: the latest starters may not be evaluable yet"
    specs = [  # kpi, label, unit, numerator, denominator, why not available, caveat
        (PATIENTS_STARTED, "Patients started", "count", PATIENTS_STARTED, None, "", ""),
        (INFUSIONS, "Infusions (of patients who started in the period)", "count", INFUSIONS, None, treat, ""),
        (
            SERIES_COMPLETION,
            f"Series completion (>= {config.INDUCTION_SERIES_LENGTH} induction infusions)",
            "share",
            "series_completed",
            "induction_started",
            treat,
            "the latest starters may still be in their series",
        ),
        (
            ASSESSMENT_COMPLETION,
            "Assessment completion (infusions with a score that day +-1)",
            "share",
            "infusions_with_score",
            "infusions_dated",
            treat,
            "",
        ),
        (RESPONSE_RATE, f"{code} response rate", "share", RESPONDERS, EVALUABLE, scores, recent),
        (
            REMISSION_RATE,
            f"{code} remission rate",
            "share",
            REMITTERS,
            EVALUABLE,
            scores if has_remission else f"{code} has no remission rule",
            recent,
        ),
    ]
    rows = []
    for kpi, label, unit, num, den, missing, caveat in specs:

        def value(w):
            if w is None or missing:
                return (math.nan,) * 5
            if den is None:
                return (w[num], math.nan, math.nan, math.nan, w[num])
            rate, lower, upper = rate_ci(w[num], w[den])
            return (rate, w[den], lower, upper, w[num])

        v, n, lower, upper, x = value(cur)
        pv, pn, _, _, px = value(prev)
        p, test = _change_test(kpi, unit, x, n, px, pn)
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
                "count": x,
                "previous_count": px,
                "p": p,
                "test": test,
                "beyond_noise": bool(p < ALPHA) if not math.isnan(p) else False,
                "data_end_month": None if end is None else _month_of(math.floor(end)),
                "left_out_from": None if periods is None or mature is None else _month_add(periods[0][-1], 1),
            }
        )
    return pd.DataFrame(rows, columns=list(KPI_COLUMNS))


def _change_test(kpi: str, unit: str, x, n, px, pn) -> tuple[float, str]:
    """(p, test name) of the change between the periods; (NaN, '') when there is none."""
    if any(math.isnan(float(v)) for v in (x, px)):
        return math.nan, ""
    if unit == "share":
        if math.isnan(float(n)) or math.isnan(float(pn)) or n == 0 or pn == 0:
            return math.nan, ""
        c = compare_rates(x, n, px, pn)
        return float(c.p), c.test
    if kpi == PATIENTS_STARTED and x + px > 0:
        from scipy import stats

        return float(stats.binomtest(int(x), int(x + px), 0.5).pvalue), "exact binomial"
    return math.nan, ""


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
    "count",
    "previous_count",
    "p",
    "test",
    "beyond_noise",
    "data_end_month",
    "left_out_from",
)
#: columns of kpis() that kpis_shown() does without (tables made before they existed)
_OPTIONAL = ("lower", "upper", "period", "previous_period", *KPI_COLUMNS[KPI_COLUMNS.index("count") :])


def kpis_shown(kpis_table: pd.DataFrame, threshold: int = config.SUPPRESSION_THRESHOLD) -> pd.DataFrame:
    """The KPI tiles as they may be shown (the one rule of the dashboard's tiles and the report's table).

    A count from 1 to ``threshold - 1`` becomes '<11' (``value``, ``previous``, ``n``, ``previous_n``). A share
    (and its CI) is withheld (None) when its denominator is small, or its numerator (share x denominator),
    or their difference (the complement). A change is withheld when either period's value is small or
    withheld. A value that does not exist (NaN) is None too. Counts stay whole numbers; shares and changes
    stay fractions (formatting is the caller's). A share's numerators (``count``, ``previous_count``) are shown
    when the share is; the test of a change (``p``, ``test``, ``beyond_noise``) only with the change. The input
    is not changed.
    """
    missing = [c for c in KPI_COLUMNS if c not in kpis_table.columns and c not in _OPTIONAL]
    if missing:
        raise KeyError(f"kpis_shown needs the table of kpi_tiles.kpis; missing column(s): {', '.join(missing)}")

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
            x = None if hide_now or absent(k.get("count")) else int(k["count"])
            px = None if hide_before or absent(k.get("previous_count")) else int(k["previous_count"])
        else:
            value, previous = count(k["value"]), count(k["previous"])
            small = any(absent(v) or privacy.is_small(v, threshold) for v in (k["value"], k["previous"]))
            change = None if small or absent(k["change"]) else int(k["change"])
            lower = upper = None
            x, px = value, previous
        tested = change is not None and not absent(k.get("p"))
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
                "count": x,
                "previous_count": px,
                "p": float(k["p"]) if tested else None,
                "test": k.get("test") if tested else None,
                "beyond_noise": bool(k.get("beyond_noise")) if tested else False,
                "data_end_month": k.get("data_end_month"),
                "left_out_from": k.get("left_out_from"),
            }
        )
    return pd.DataFrame(rows, columns=list(KPI_SHOWN_COLUMNS), dtype=object)
