"""Charts of session safety (analysis.safety results -> plotly Figure with its caption; no streamlit here).

Every factory takes tables as ``Safety.rates_shown()`` / ``Safety.means_shown()`` give them (already suppressed:
counts 1-10 are '<11' and what rests on them is None), draws nothing that was withheld and says so in a note.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from analysis.chart_style import GROUP_PALETTE, Chart, _layout, colours, label
from analysis.schema import DIMENSION, GROUP

FLAG_WORDS = {
    "surge": "Hypertensive surge",
    "severe_hypertension": "Severe hypertension",
    "emergent_hypertension": "Treatment-emergent hypertension",
    "desaturation": "Desaturation",
    "tachycardia": "Tachycardia",
    "deep_sedation": "Deep sedation",
    "marked_dissociation": "Marked dissociation",
    "adverse_event": "Any adverse event",
    "rescue_medication": "Rescue medication",
    "late_discharge": "Late discharge",
    "any_flag": "Any flag",
}
DIMENSION_WORDS = {
    "site": "site",
    "start_month": "start month",
    "route": "route",
    "dose_band": "dose band",
    "infusion_number": "infusion number",
}


def _withheld(v) -> bool:
    return v is None or isinstance(v, str) or pd.isna(v)


def flag_rates_chart(rates: pd.DataFrame, flags: list[str], dimension: str) -> Chart:
    """Per 100 sessions of each flag in ``flags`` by the groups of ``dimension``, with Wilson 95% intervals: lines
    over start months and infusion numbers, bars otherwise."""
    r = rates[(rates[DIMENSION] == dimension) & rates["flag"].isin(flags)]
    fig = go.Figure()
    notes = []
    line = dimension in ("start_month", "infusion_number")
    cols = colours(flags) if flags else {}
    for i, flag in enumerate(flags):
        f = r[r["flag"] == flag]
        keep = [not _withheld(v) for v in f["per_100"]]
        hidden = [label(g) for g, k in zip(f[GROUP], keep) if not k]
        if hidden:
            notes.append(
                f"{FLAG_WORDS.get(flag, flag)}: withheld for {', '.join(map(str, hidden))} (fewer than the threshold)."
            )
        f = f[keep]
        if f.empty:
            continue
        x = [str(g) for g in f[GROUP]]
        y = f["per_100"].astype(float)
        err = dict(
            type="data",
            symmetric=False,
            array=(f["upper"].astype(float) - y).tolist(),
            arrayminus=(y - f["lower"].astype(float)).tolist(),
            color="#333333",
        )
        colour = cols.get(flag, GROUP_PALETTE[i % len(GROUP_PALETTE)])
        name = FLAG_WORDS.get(flag, flag)
        hover = f"{name}, %{{x}}: %{{y:.1f}} per 100 sessions<extra></extra>"
        if line:
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=y.tolist(),
                    name=name,
                    mode="lines+markers",
                    line=dict(color=colour),
                    error_y=err,
                    hovertemplate=hover,
                )
            )
        else:
            fig.add_trace(go.Bar(x=x, y=y.tolist(), name=name, marker_color=colour, error_y=err, hovertemplate=hover))
    fig.update_layout(barmode="group")
    fig.update_xaxes(title_text=DIMENSION_WORDS.get(dimension, dimension).capitalize(), type="category")
    fig.update_yaxes(title_text="Per 100 sessions", rangemode="tozero")
    _layout(fig, f"Flagged sessions by {DIMENSION_WORDS.get(dimension, dimension)}", height=420)
    caption = (
        "Sessions with the flag per 100 sessions where it can be told; the black lines are 95% Wilson confidence "
        "intervals."
    )
    return Chart(fig, caption, tuple(notes))


def series_chart(by_number: pd.DataFrame) -> Chart:
    """Mean systolic and diastolic rise (and CADSS / CADSS-6 where kept) by infusion number 1-6, with 95% t
    intervals: does the series get easier?"""
    fig = go.Figure()
    notes = []
    measures = (
        ("sbp_rise", "Systolic rise (mmHg)"),
        ("dbp_rise", "Diastolic rise (mmHg)"),
        ("cadss", "CADSS total"),
        ("cadss6", "CADSS-6"),
    )
    cols = colours([m for m, _ in measures])
    for m, name in measures:
        if f"{m}_mean" not in by_number.columns:
            continue
        f = by_number[[not _withheld(v) for v in by_number[f"{m}_mean"]]]
        if f.empty:
            continue
        withheld = len(by_number) - len(f)
        if withheld:
            notes.append(f"{name}: {withheld} infusion number(s) withheld (fewer than the threshold).")
        y = f[f"{m}_mean"].astype(float)
        fig.add_trace(
            go.Scatter(
                x=[int(v) for v in f[GROUP]],
                y=y.tolist(),
                name=name,
                mode="lines+markers",
                line=dict(color=cols[m], dash="dot" if m.startswith("cadss") else "solid"),
                error_y=dict(
                    type="data",
                    symmetric=False,
                    array=(f[f"{m}_upper"].astype(float) - y).tolist(),
                    arrayminus=(y - f[f"{m}_lower"].astype(float)).tolist(),
                ),
                hovertemplate=f"{name}, infusion %{{x}}: %{{y:.1f}}<extra></extra>",
            )
        )
    fig.update_xaxes(title_text="Infusion number of the induction series", dtick=1)
    fig.update_yaxes(title_text="Mean", rangemode="tozero")
    _layout(fig, "Blood-pressure rise and dissociation over the series", height=420)
    caption = (
        "Mean rise from before dosing to the worst point (mmHg), and mean dissociation score, at each infusion of the "
        "induction series; bars are 95% t confidence intervals."
    )
    return Chart(fig, caption, tuple(notes))
