"""The look the charts share: the colour-blind-safe Okabe-Ito palette with one fixed colour per condition, the
cohorts' line styles, group labels, the layout of every figure, the :class:`Chart` a factory returns, and which
groups are large enough to draw (small-cell suppression), and text from the data on a figure shown as text
(:func:`escape_figure`, applied by every :class:`Chart` when it is made). The factories are in ``analysis.charts``,
``analysis.safety_charts`` and ``analysis.measures_charts``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import pandas as pd
import plotly.graph_objects as go

from analysis import formatting, schema
from analysis.privacy import is_small

#: Okabe & Ito (2008), "Color Universal Design": distinguishable with every common colour-vision deficiency
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
    "grey": "#999999",
}

#: one colour per condition, the same on every page
CONDITION_COLOURS = {
    "depression": OKABE_ITO["blue"],
    "anxiety": OKABE_ITO["orange"],
    "ptsd": OKABE_ITO["bluish_green"],
    "bipolar_depression": OKABE_ITO["reddish_purple"],
    "chronic_pain": OKABE_ITO["vermillion"],
    "ocd": OKABE_ITO["sky_blue"],
    "other": OKABE_ITO["grey"],
}
assert set(CONDITION_COLOURS) == set(schema.CONDITIONS)

#: colours for groups that are not conditions (sites, age bands, ...), assigned in sorted order
GROUP_PALETTE = tuple(
    OKABE_ITO[k]
    for k in ("blue", "orange", "bluish_green", "reddish_purple", "vermillion", "sky_blue", "black", "grey")
)
#: the two cohorts of the Compare page: black solid and vermillion dashed (readable in grey print too)
COHORT_STYLE = {"A": (OKABE_ITO["black"], "solid"), "B": (OKABE_ITO["vermillion"], "dash")}


def _cohort(group):
    """'A' or 'B' for a cohort named 'A'/'B' or described 'A: Depression' (its style), else None."""
    if isinstance(group, str) and (group in COHORT_STYLE or group[:3] in ("A: ", "B: ")):
        return group[0]
    return None


#: shading of severity bands, mildest to most severe (light greys, so that coloured curves stay readable)
BAND_SHADES = ("#FFFFFF", "#F4F4F4", "#E9E9E9", "#DEDEDE", "#D3D3D3")

DAY_AXIS = "Days since the first infusion"
FONT = dict(family="Source Sans Pro, Arial, sans-serif", size=14)


# --- text from the data on a figure: shown as text ------------------------------------------------------------
#: the trace fields that hold text from the data: shown by plotly as (a little) HTML, or (legend groups) matched
#: with the names
_TEXT_FIELDS = ("name", "legendgroup", "x", "y", "text", "hovertext", "customdata", "labels", "ids")


def _plain_value(v):
    if isinstance(v, str):  # (a '<' without a '>' or an '&' cannot start a tag or an entity: '<11' stays as it is)
        return formatting.plain(v) if (">" in v or "&" in v) else v
    if isinstance(v, (list, tuple)):
        return type(v)(_plain_value(x) for x in v)
    if hasattr(v, "dtype") and getattr(v.dtype, "kind", "") in "OUS":  # (numpy arrays of text)
        return [_plain_value(x) for x in v.tolist()]
    return v


def escape_figure(fig: go.Figure) -> go.Figure:
    """Every string a trace carries (names, category values, text, hover text, custom data) with '&', '<', '>' as
    entities (formatting.plain): a site or group named with HTML shows as written, never as a link or a tag. The
    annotations placed at a category (x or y) and the axes' category orders and tick labels follow their
    categories. The charts' own markup lives in hover
    templates, titles and annotations' text, which this leaves alone: text from the data goes there only through
    formatting.plain. Once per figure (a second call changes nothing)."""
    if getattr(fig, "_text_escaped", False):
        return fig
    for trace in fig.data:
        for f in _TEXT_FIELDS:
            if f in trace and trace[f] is not None:
                trace[f] = _plain_value(trace[f])
    for a in fig.layout.annotations:
        for f in ("x", "y"):
            if isinstance(a[f], str):
                a[f] = _plain_value(a[f])
    for axis in [k for k in fig.layout.to_plotly_json() if k.startswith(("xaxis", "yaxis"))]:
        for f in ("categoryarray", "tickvals", "ticktext"):  # (the categories in order, ticks named by them)
            if fig.layout[axis][f] is not None:
                fig.layout[axis][f] = _plain_value(fig.layout[axis][f])
    fig._text_escaped = True
    return fig


@dataclass(frozen=True)
class Chart:
    """A figure, the sentence that explains it, and caveats (groups not drawn, ...). Made, it shows the text from
    the data on its figure as text (:func:`escape_figure`): every factory returns one, so no chart can forget it."""

    figure: go.Figure
    caption: str
    notes: tuple[str, ...] = field(default=())

    def __post_init__(self):
        escape_figure(self.figure)


def label(group) -> str:
    """Readable label of a group value: 'ptsd' -> 'PTSD', other values unchanged."""
    if group is None or (isinstance(group, float) and math.isnan(group)) or group is pd.NA:
        return "Unknown"
    if group in COHORT_STYLE:
        return f"Cohort {group}"
    if group == "all":
        return "Everyone"
    return schema.CONDITION_LABELS.get(str(group), str(group))


def colours(groups: Iterable) -> dict:
    """Colour of each group: a condition's fixed colour, cohorts 'A'/'B' their own, others by sorted order."""
    groups = list(dict.fromkeys(groups))
    out, others = {}, sorted((g for g in groups if g not in CONDITION_COLOURS and _cohort(g) is None), key=str)
    for g in groups:
        if g in CONDITION_COLOURS:
            out[g] = CONDITION_COLOURS[g]
        elif _cohort(g) is not None:
            out[g] = COHORT_STYLE[_cohort(g)][0]
    for i, g in enumerate(others):
        out[g] = GROUP_PALETTE[i % len(GROUP_PALETTE)]
    return out


def _rgba(hex_colour: str, alpha: float) -> str:
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i : i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def _dash(group) -> str:
    return COHORT_STYLE[_cohort(group)][1] if _cohort(group) is not None else "solid"


def _layout(fig: go.Figure, title: str, height: int = 480) -> go.Figure:
    fig.update_layout(
        title=dict(text=title, x=0, xanchor="left", font=dict(size=18)),
        template="plotly_white",
        font=FONT,
        height=height,
        margin=dict(l=70, r=30, t=70, b=60),
        legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1, title=None),
        hoverlabel=dict(font_size=13),
    )
    return fig


def _drawn_groups(sizes: Mapping, threshold: int, what: str) -> tuple[list, tuple[str, ...]]:
    """Groups large enough to draw, and a note naming those withheld."""
    keep = [g for g, n in sizes.items() if not is_small(n, threshold) and n and n > 0]
    hidden = [label(g) for g, n in sizes.items() if is_small(n, threshold)]
    note = ()
    if hidden:
        note = (f"{', '.join(hidden)}: fewer than {threshold} {what}, so not drawn (small-cell suppression).",)
    return keep, note


def band_traces(x, lower, upper, colour: str, group: str, shape: str = "linear") -> list[go.Scatter]:
    """The two traces of a shaded 95% band from ``lower`` to ``upper`` (the upper edge, then the lower edge
    filled up to it), in the group's colour, without hover or legend entry (``shape="hv"``: steps)."""
    edge = dict(x=x, mode="lines", line=dict(width=0, shape=shape), hoverinfo="skip", showlegend=False)
    return [
        go.Scatter(y=upper, legendgroup=group, **edge),
        go.Scatter(y=lower, fill="tonexty", fillcolor=_rgba(colour, 0.15), legendgroup=group, **edge),
    ]
