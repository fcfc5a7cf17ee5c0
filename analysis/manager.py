"""The practice manager's one-table view, from the rates of ``analysis.metrics.summary``: every condition with its
main scale (the instrument most of its patients were scored on) and that scale's response and remission with
counts and 95% CIs (:func:`condition_table`), and the monthly trend of one instrument's response rate with its
CIs by start month or quarter (:func:`response_trend`, drawn by :func:`response_trend_chart`). Small counts are
suppressed as everywhere (``analysis.rates.suppress_rates``, ``analysis.privacy.suppress_table``).
"""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go

from analysis import instruments, privacy, schema
from analysis.chart_style import OKABE_ITO, Chart, _layout, _rgba, label
from analysis.config import SUPPRESSION_THRESHOLD
from analysis.rates import rate_ci, suppress_rates

#: columns of condition_table (before suppression: counts are whole numbers, rates fractions)
CONDITION_COLUMNS = (
    schema.CONDITION,
    schema.INSTRUMENT,
    schema.PATIENTS,
    schema.EVALUABLE,
    schema.RESPONDERS,
    schema.RESPONSE_RATE,
    schema.RESPONSE_LOWER,
    schema.RESPONSE_UPPER,
    schema.REMITTERS,
    schema.REMISSION_RATE,
    schema.REMISSION_LOWER,
    schema.REMISSION_UPPER,
)


def _check(rates: pd.DataFrame) -> None:
    need = {schema.INSTRUMENT, schema.DIMENSION, schema.GROUP, schema.PATIENTS, schema.EVALUABLE}
    missing = sorted(need - set(rates.columns))
    if missing:
        raise KeyError(f"expected the rates table of analysis.metrics.summary; missing column(s): {', '.join(missing)}")


def condition_table(rates: pd.DataFrame, threshold: int = SUPPRESSION_THRESHOLD) -> pd.DataFrame:
    """One row per condition: its main scale (the instrument with the most patients of that condition scored;
    a tie goes to the registry's order) and the scale's funnel counts, response and remission rates with Wilson
    95% CIs, suppressed by ``analysis.rates.suppress_rates`` ('<11'; rates on small counts withheld as None).
    Conditions are ordered by their number of patients, most first."""
    _check(rates)
    rates = rates.reset_index(drop=True)
    # the rows as the whole table may show them (analysis.rates.suppress_rates: a count hidden in one row is not
    # left to be worked out from the overall row or the other groups), picked by their real patient counts
    shown_all = suppress_rates(rates, threshold)
    by = rates[rates[schema.DIMENSION] == schema.CONDITION]
    order = {c: i for i, c in enumerate(instruments.registry())}
    rows = []
    for condition, part in by.groupby(schema.GROUP, sort=False):
        part = part.assign(_order=part[schema.INSTRUMENT].map(lambda c: order.get(c, len(order))))
        best = part.sort_values([schema.PATIENTS, "_order"], ascending=[False, True]).index[0]
        rows.append(
            (int(rates.loc[best, schema.PATIENTS]), {**shown_all.loc[best].to_dict(), schema.CONDITION: condition})
        )
    rows.sort(key=lambda r: -r[0])  # most patients first (stable: ties keep their order)
    shown = pd.DataFrame([r for _, r in rows], columns=list(CONDITION_COLUMNS))
    for c in (schema.PATIENTS, schema.EVALUABLE, schema.RESPONDERS, schema.REMITTERS):  # whole numbers, '<11'
        values = [v if isinstance(v, str) else None if pd.isna(v) else int(v) for v in shown[c]]
        shown[c] = pd.Series(values, index=shown.index, dtype=object)
    return shown


def _period(month: str, by: str) -> str:
    return month if by == "month" else f"{month[:4]} Q{(int(month[5:7]) - 1) // 3 + 1}"


def response_trend(
    rates: pd.DataFrame, instrument: str, threshold: int = SUPPRESSION_THRESHOLD, by: str = "quarter"
) -> pd.DataFrame:
    """The instrument's response by start month (``by="month"``) or by calendar quarter of start month
    (``by="quarter"``: one month alone is mostly too few patients to show a rate; quarters do not overlap, so no
    quarter's count can be had by subtracting two others): start_month (the period's last month present), months
    (the period, e.g. '2026-07' or '2026 Q3'), evaluable, responders, response_rate with its Wilson 95% CI
    (lower, upper), suppressed as :func:`condition_table`, oldest first."""
    if by not in ("month", "quarter"):
        raise ValueError(f"by must be 'month' or 'quarter', not {by!r}")
    _check(rates)
    code = instruments.get(instrument).code
    part = rates[(rates[schema.DIMENSION] == schema.START_MONTH) & (rates[schema.INSTRUMENT] == code)]
    part = part.assign(_m=part[schema.GROUP].astype(str)).sort_values("_m")
    dated = part["_m"].str.fullmatch(r"\d{4}-\d{2}")
    part = part[dated]
    period = part["_m"].map(lambda m: _period(m, by))
    rows = []
    for q, block in part.groupby(period, sort=True):
        n = float(pd.to_numeric(block[schema.EVALUABLE]).sum())
        x = float(pd.to_numeric(block[schema.RESPONDERS]).sum())
        rate, lower, upper = rate_ci(x, n) if n > 0 else (math.nan,) * 3
        rows.append(
            {
                schema.START_MONTH: block["_m"].iloc[-1],
                "months": q,
                schema.EVALUABLE: int(n),
                schema.RESPONDERS: int(x),
                schema.RESPONSE_RATE: rate,
                schema.RESPONSE_LOWER: lower,
                schema.RESPONSE_UPPER: upper,
            }
        )
    table = pd.DataFrame(
        rows,
        columns=[
            schema.START_MONTH,
            "months",
            schema.EVALUABLE,
            schema.RESPONDERS,
            schema.RESPONSE_RATE,
            schema.RESPONSE_LOWER,
            schema.RESPONSE_UPPER,
        ],
    )
    return privacy.suppress_table(
        table,
        (schema.EVALUABLE, schema.RESPONDERS),
        (),
        threshold,
        shares={
            (schema.RESPONSE_RATE, schema.RESPONSE_LOWER, schema.RESPONSE_UPPER): (schema.RESPONDERS, schema.EVALUABLE)
        },
        complements=((schema.RESPONDERS, schema.EVALUABLE),),
    )


def response_trend_chart(trend: pd.DataFrame, instrument: str, incomplete_from: str | None = None) -> Chart:
    """Response rate by start month or quarter with its 95% CI (a band and error bars) from :func:`response_trend`.
    Periods whose rate is withheld have no point; periods from ``incomplete_from`` on (patients possibly still
    inside their response window) are drawn hollow and grey."""
    t = trend.assign(_rate=pd.to_numeric(trend[schema.RESPONSE_RATE], errors="coerce"))
    shown = t[t["_rate"].notna()]
    x = shown["months"].astype(str).tolist()
    rate = shown["_rate"] * 100
    lower = pd.to_numeric(shown[schema.RESPONSE_LOWER]) * 100
    upper = pd.to_numeric(shown[schema.RESPONSE_UPPER]) * 100
    late = [bool(incomplete_from) and m >= incomplete_from for m in shown[schema.START_MONTH].astype(str)]
    colour = OKABE_ITO["blue"]
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=x, y=upper, mode="lines", line=dict(width=0), hoverinfo="skip", showlegend=False, connectgaps=False
        )
    )
    fig.add_trace(
        go.Scatter(
            x=x,
            y=lower,
            mode="lines",
            line=dict(width=0),
            fill="tonexty",
            fillcolor=_rgba(colour, 0.15),
            hoverinfo="skip",
            showlegend=False,
        )
    )
    text = [
        f"{w}: {r:.1f}% (95% CI {lo:.1f} to {hi:.1f}), {k} of {n} evaluable"
        for w, r, lo, hi, k, n in zip(
            shown["months"], rate, lower, upper, shown[schema.RESPONDERS], shown[schema.EVALUABLE]
        )
    ]
    fig.add_trace(
        go.Scatter(
            x=x,
            y=rate,
            mode="lines+markers",
            line=dict(color=colour, width=2),
            marker=dict(
                size=8,
                color=["white" if late_ else colour for late_ in late],
                line=dict(color=["#999999" if late_ else colour for late_ in late], width=2),
            ),
            error_y=dict(
                type="data", symmetric=False, array=upper - rate, arrayminus=rate - lower, color="#777777", width=0
            ),
            hovertext=text,
            hovertemplate="%{hovertext}<extra></extra>",
            showlegend=False,
        )
    )
    fig.update_yaxes(title_text="Responders among the evaluable (%)", range=[0, 100], ticksuffix="%")
    quarterly = bool(len(trend)) and " Q" in str(trend["months"].iloc[0])
    unit = "quarter" if quarterly else "month"
    fig.update_xaxes(title_text=f"Start {unit}", type="category")
    _layout(fig, f"{instrument} response by start {unit}", height=380)
    withheld = int(t["_rate"].isna().sum())
    notes = []
    if withheld:
        notes.append(f"{withheld} {unit}(s) without a point: too few evaluable patients or responders to show.")
    caption = (
        f"Each point is the share of responders among the evaluable patients who started in that {unit}"
        + (" (one month alone mostly holds too few patients to show)" if quarterly else "")
        + "; bars and band are 95% Wilson confidence intervals."
        + (
            f" Hollow points: {unit}s with patients who started in {incomplete_from} or later, who may still be "
            "inside their response window."
            if incomplete_from and any(late)
            else ""
        )
    )
    return Chart(fig, caption, tuple(notes))


def condition_label(condition) -> str:
    """A condition as shown ('bipolar_depression' -> 'Bipolar depression')."""
    return label(condition)
