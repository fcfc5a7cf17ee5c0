"""KPI tiles: the latest complete start months against the months before (:func:`kpis`), and the tiles as they
may be shown (:func:`kpis_shown`, the one suppression rule of the dashboard's tiles and the report's table).
"""

from __future__ import annotations

import datetime as _dt
import math
import re

import numpy as np
import pandas as pd

from analysis import config, instruments, privacy
from analysis.practice import BY_MONTH_COLUMNS, _check_inputs, _codes, _definitions, _month_rows, _PerPatient
from analysis.rates import rate_ci
from analysis.schema import (
    ASSESSMENT_COMPLETION,
    EVALUABLE,
    GROUP,
    INFUSIONS,
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
)


_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


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
