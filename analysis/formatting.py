"""Numbers as text: the one place where a count, a share, a rate with its interval, a number of days, a p-value
or a hazard ratio becomes what a reader sees, and where a column gets its display label. The dashboard's pages
and the PDF report both print through it, so that they print alike.

Shares are fractions everywhere in ``analysis/`` (0.548); they become percent ('54.8%') only here. A value
that is missing prints as ``DASH``; a count already suppressed (a string such as '<11') prints as it is;
a number of days that does not exist (a median or limit never reached) prints as 'not reached'.
"""

from __future__ import annotations

import math

import pandas as pd

from analysis.schema import (
    ASSESSMENT_COMPLETION,
    EVALUABLE,
    GROUP,
    INFUSIONS,
    PATIENTS,
    PATIENTS_STARTED,
    REMISSION_LOWER,
    REMISSION_RATE,
    REMISSION_UPPER,
    REMITTERS,
    RESPONDERS,
    RESPONSE_LOWER,
    RESPONSE_RATE,
    RESPONSE_UPPER,
    SERIES_COMPLETION,
    WITH_BASELINE,
    WITH_FOLLOW_UP,
    WITH_RESPONSE_ASSESSMENT,
)

DASH = "—"
NOT_REACHED = "not reached"
NOT_ESTIMABLE = "not estimable"

#: display label of each result column: the funnel counts, the rate columns and the KPI names
#: (``kpi_tiles.kpis``' ``kpi``); a rate shown with its interval in one cell is headed by :func:`ci_label`
LABELS = {
    GROUP: "Group",
    PATIENTS: "Patients",
    WITH_BASELINE: "With baseline",
    WITH_RESPONSE_ASSESSMENT: "With response assessment",
    EVALUABLE: "Evaluable",
    RESPONDERS: "Responders",
    REMITTERS: "Remitters",
    WITH_FOLLOW_UP: "Responders with follow-up",
    RESPONSE_RATE: "Response",
    RESPONSE_LOWER: "Response 95% CI low",
    RESPONSE_UPPER: "Response 95% CI high",
    REMISSION_RATE: "Remission",
    REMISSION_LOWER: "Remission 95% CI low",
    REMISSION_UPPER: "Remission 95% CI high",
    PATIENTS_STARTED: "Patients started",
    INFUSIONS: "Infusions",
    SERIES_COMPLETION: "Series completed",
    ASSESSMENT_COMPLETION: "Infusions with a score",
}

#: the steps of the outcome funnel as the funnel figure and the report's funnel table name them (a step
#: says what the patients in it have, so it reads on its own, unlike a column heading)
FUNNEL_LABELS = {
    PATIENTS: "Patients with a score",
    WITH_BASELINE: "With a baseline",
    WITH_RESPONSE_ASSESSMENT: "With a response assessment",
    EVALUABLE: "Evaluable (baseline > 0)",
    RESPONDERS: "Responders",
    WITH_FOLLOW_UP: "Responders with follow-up",
}


def missing(v) -> bool:
    """True for None, pandas' NA and NaN (and NaT); False for any other value, strings included."""
    if v is None or v is pd.NA:
        return True
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def ci_label(column: str) -> str:
    """The heading of a rate shown with its 95% interval in one cell: 'Response (95% CI)'."""
    return f"{LABELS.get(column, column)} (95% CI)"


def count(v) -> str:
    """A count: '2,708'; a count already suppressed ('<11') as it is; missing: '—'."""
    if isinstance(v, str):
        return v
    return DASH if missing(v) else f"{int(v):,}"


def whole(v) -> str:
    """A number rounded to a whole one, without separators (a day, a score, mmHg): '-7', '19'; missing: '—'."""
    return DASH if missing(v) else f"{float(v):.0f}"


def percent(v, digits: int = 1) -> str:
    """A share (a fraction) as percent: 0.548 -> '54.8%' (``digits`` decimals); missing: '—'."""
    return DASH if missing(v) else f"{100 * float(v):.{digits}f}%"


def rate_ci(rate, lower, upper) -> str:
    """A share with its 95% interval: '53.8% (47.9 to 59.6)'; the share alone when a limit is missing;
    missing: '—'."""
    if missing(rate):
        return DASH
    if missing(lower) or missing(upper):
        return percent(rate)
    return f"{percent(rate)} ({100 * float(lower):.1f} to {100 * float(upper):.1f})"


def days(v, unit: bool = False) -> str:
    """A number of days: '64' (or '64 days' with ``unit``); missing: 'not reached' (a median or a limit that
    the curve never reaches)."""
    if missing(v):
        return NOT_REACHED
    return f"{float(v):.0f}" + (" days" if unit else "")


def median_ci(m, lower, upper) -> str:
    """A median number of days with its 95% interval: '64 (53 to 69)'; 'not reached' where a value does
    not exist."""
    return f"{days(m)} ({days(lower)} to {days(upper)})"


def p_value(p) -> str:
    """'0.736', '< 0.001'; missing: '—'."""
    if missing(p):
        return DASH
    return "< 0.001" if float(p) < 0.001 else f"{float(p):.3f}"


def hazard_ratio(hr, lower, upper) -> str:
    """'2.67 (1.47 to 4.87)'; 'not estimable' when a value is missing, not finite or not above 0 (too few
    events)."""
    values = [hr, lower, upper]
    if any(missing(v) or not math.isfinite(float(v)) or float(v) <= 0 for v in values):
        return NOT_ESTIMABLE
    return f"{float(hr):.2f} ({float(lower):.2f} to {float(upper):.2f})"


def points(change) -> str:
    """A change of a share in percentage points: 0.012 -> '+1.2 pts'; missing: '—'."""
    return DASH if missing(change) else f"{100 * float(change):+.1f} pts"


def plain(text) -> str:
    """Text from the data (a site, a group, a file name) made safe for plotly, which reads a few HTML tags and
    entities in titles, legends, hover and tick labels: '&', '<' and '>' written as entities, so the text shows as
    written and never as a link, a tag or another character."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
