"""Charts of the quality measures (analysis.measures): the timeline of the index event and the windows, the
dispositions of one measure as a funnel, and a measure's rate by index month or by site. Each factory takes
tables as :meth:`analysis.measures.MeasuresResult.shown` gives them (already suppressed: '<11' or None where
a count is hidden) and returns a :class:`analysis.chart_style.Chart`. No streamlit here."""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
import plotly.graph_objects as go

from analysis import formatting as fmt
from analysis.chart_style import OKABE_ITO, Chart, _layout
from analysis.measures import MEASURES, SPECS

#: the bars of a measure's funnel: column of the measure table, label, colour
FUNNEL_BARS = (
    ("eligible", "Index event (PHQ-9 above 9)", OKABE_ITO["blue"]),
    ("excluded", "Excluded (bipolar)", OKABE_ITO["grey"]),
    ("not_reached", "Window not yet closed", OKABE_ITO["grey"]),
    ("denominator", "Denominator", OKABE_ITO["blue"]),
    ("no_score", "No PHQ-9 in the window", OKABE_ITO["orange"]),
    ("not_met", "Not met", OKABE_ITO["vermillion"]),
    ("numerator", "Met (numerator)", OKABE_ITO["bluish_green"]),
)


def _hidden(v) -> bool:
    return v is None or isinstance(v, str) or pd.isna(v)


def timeline_chart(half_width: int, score_rule: str = "most_recent") -> Chart:
    """The index event on day 0 and the 6- and 12-month windows after it (both ends included)."""
    fig = go.Figure()
    rows = (("6 months", 180), ("12 months", 365))
    for name, centre in rows:
        lo, hi = centre - half_width, centre + half_width
        fig.add_trace(
            go.Bar(
                x=[hi - lo],
                base=[lo],
                y=[name],
                orientation="h",
                marker_color=OKABE_ITO["sky_blue"],
                text=[f"days {lo}-{hi}"],
                textposition="inside",
                insidetextanchor="middle",
                hovertemplate=f"{name}: days {lo} to {hi} after the index event<extra></extra>",
                showlegend=False,
            )
        )
    fig.add_vline(x=0, line_color=OKABE_ITO["black"], line_width=2)
    fig.add_annotation(x=0, y=1.08, yref="paper", text="Index event: PHQ-9 above 9", showarrow=False, xanchor="left")
    fig.update_xaxes(title_text="Days after the index event", range=[-20, 460], dtick=60)
    fig.update_yaxes(autorange="reversed")
    _layout(fig, "Index event and measurement windows", height=260)
    which = "the most recent PHQ-9" if score_rule == "most_recent" else "any PHQ-9"
    caption = (
        f"Each measure looks at {which} inside its window (6 or 12 months after the index event, +/- {half_width} "
        "days); a window that closes after the data's last day is 'not yet closed' and left out of the denominator."
    )
    return Chart(fig, caption)


def disposition_funnel(row: Mapping, threshold: int) -> Chart:
    """One measure's patients by disposition: index events, those left out (excluded, window not yet closed),
    the denominator and how it splits (no score, not met, met). Hidden counts have no bar, only '<11' or
    'withheld'."""
    names, values, text, colours = [], [], [], []
    for col, name, colour in FUNNEL_BARS:
        v = row.get(col)
        names.append(name)
        values.append(0 if _hidden(v) else int(v))
        text.append(str(v) if isinstance(v, str) else "withheld" if _hidden(v) else fmt.count(int(v)))
        colours.append(colour)
    fig = go.Figure(
        go.Bar(
            x=values,
            y=names,
            orientation="h",
            text=text,
            textposition="outside",
            cliponaxis=False,
            marker_color=colours,
            hovertemplate="%{y}: %{text}<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed", automargin=True)
    fig.update_xaxes(title_text="Patients", rangemode="tozero", range=[0, max(values + [1]) * 1.3])
    spec = SPECS.get(str(row.get("measure")))
    _layout(fig, f"{spec.key if spec else ''}: who is counted", height=380)
    caption = (
        "Index events = excluded + window not yet closed + denominator; denominator = no PHQ-9 in the window + "
        "not met + met. The rate is met over the denominator."
    )
    notes = (
        (f"Counts under {threshold} are shown as <{threshold}; a count that would reveal one is withheld.",)
        if any(_hidden(row.get(c)) for c, _, _ in FUNNEL_BARS)
        else ()
    )
    return Chart(fig, caption, notes)


def drawn_groups(groups: pd.DataFrame, measure: str) -> int:
    """How many groups of ``measure`` have a rate that may be drawn (not withheld, a denominator above 0)."""
    g = groups[groups["measure"] == measure]
    return sum(not _hidden(v) for v in g["rate"])


def trend_chart(groups: pd.DataFrame, measure: str, by: str) -> Chart:
    """A measure's rate with its 95% interval per index month (a line) or per site (points); a group whose
    rate is withheld has no mark."""
    g = groups[groups["measure"] == measure]
    drawn = g[[not _hidden(v) for v in g["rate"]]]
    x = list(drawn["group"])
    rate = [100 * float(v) for v in drawn["rate"]]
    lower = [100 * float(v) for v in drawn["lower"]]
    upper = [100 * float(v) for v in drawn["upper"]]
    fig = go.Figure(
        go.Scatter(
            x=x,
            y=rate,
            mode="lines+markers" if by == "month" else "markers",
            marker=dict(size=9, color=OKABE_ITO["blue"]),
            line=dict(color=OKABE_ITO["blue"]),
            error_y=dict(
                type="data",
                array=[u - r for u, r in zip(upper, rate)],
                arrayminus=[r - lo for r, lo in zip(rate, lower)],
                color=OKABE_ITO["grey"],
            ),  # fmt: skip
            hovertemplate="%{x}: %{y:.1f}%<extra></extra>",
            showlegend=False,
        )
    )
    if by == "month":
        fig.update_xaxes(title_text="Index month", type="category", categoryorder="category ascending")
    else:
        fig.update_xaxes(title_text="Site", type="category")
    fig.update_yaxes(title_text="Rate (%)", range=[0, 100])
    spec = SPECS[measure]
    _layout(fig, f"{spec.key} by {'index month' if by == 'month' else 'site'}", height=360)
    caption = "Rate (met over the denominator) with its 95% Wilson interval; patients grouped by their index event."
    left_out = len(g) - len(drawn)
    notes = (f"{left_out} group(s) not drawn: no denominator yet, or a count under the threshold.",) if left_out else ()
    return Chart(fig, caption, notes)


def measure_names() -> dict[str, str]:
    """Measure key -> 'key: name', in the order of the table."""
    return {m.key: f"{m.key}: {m.name}" for m in MEASURES}
