"""Charts of boosters (analysis.boosters results -> plotly Figure with its caption; no streamlit here). The time to
the first booster is analysis.charts.km_chart with BOOSTER_KM_WORDS; this module draws the distribution of the
days between boosters, from :func:`analysis.boosters.interval_distribution` (bins already merged so that none is a
small count)."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from analysis import formatting as fmt
from analysis.chart_style import OKABE_ITO, Chart, _layout

#: what analysis.charts.km_chart says of the time to the first booster (its ``words``)
BOOSTER_KM_WORDS = {
    "who": "patients",
    "state": "without a booster",
    "y": "Without a booster yet",
    "x": "Days since the last induction infusion",
    "title": "Time to the first booster: share of patients without a booster yet",
    "caption": (
        "Kaplan-Meier estimate of the share of patients who have not had a booster, counted from their last "
        "induction infusion (patients are followed to their last visit); shaded bands are 95% confidence "
        "intervals; the row under the chart is the number still followed without a booster."
    ),
}


def _bin_label(lo: int, hi: int) -> str:
    return f"{lo}-{hi}"


def interval_chart(bins: pd.DataFrame, threshold: int) -> Chart:
    """Bars of the number of intervals between consecutive boosters per bin of days (``from_day``, ``to_day``,
    ``intervals``), each labelled with its count."""
    fig = go.Figure()
    notes: tuple[str, ...] = ()
    if bins.empty:
        notes = (f"Fewer than {threshold} intervals between boosters: the distribution is not drawn.",)
    else:
        x = [_bin_label(int(a), int(b)) for a, b in zip(bins["from_day"], bins["to_day"])]
        y = [int(v) for v in bins["intervals"]]
        fig.add_trace(
            go.Bar(
                x=x,
                y=y,
                text=[fmt.count(v) for v in y],
                textposition="outside",
                cliponaxis=False,
                marker_color=OKABE_ITO["blue"],
                name="Intervals",
                hovertemplate="%{x} days: %{y} intervals<extra></extra>",
                showlegend=False,
            )
        )
        fig.update_xaxes(type="category", title_text="Days between one booster and the next")
        fig.update_yaxes(title_text="Intervals", rangemode="tozero", range=[0, max(y) * 1.18])
    _layout(fig, "Days between boosters", height=380)
    caption = (
        "Each bar counts the intervals between a booster and the patient's next one; bars are two weeks wide, "
        f"joined with their neighbours where fewer than {threshold} intervals fall in them."
    )
    return Chart(fig, caption, notes)
