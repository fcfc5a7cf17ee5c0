"""Charts: analysis result tables -> plotly Figure plus a one-sentence caption (no streamlit here).

Every factory takes the tidy tables of an analysis result (the column names of DESIGN / the result
dataclasses) and returns a :class:`Chart`: the figure, a caption saying what the marks and bands mean,
and ``notes`` (e.g. groups not drawn because of small-cell suppression).

Conventions:

* colour-blind-safe Okabe-Ito palette; each condition has one fixed colour on every page
  (:data:`CONDITION_COLOURS`), other groupings get palette colours in sorted order (``analysis.chart_style``,
  the look every chart shares);
* small-cell suppression (DESIGN "Statistics"): a group with fewer patients than the threshold is not
  drawn, a count from 1 to threshold-1 is shown as "<11", and a point resting on fewer patients than the
  threshold is withheld; a note says so.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from analysis import coxph, schema
from analysis import formatting as fmt
from analysis.chart_style import (
    BAND_SHADES,
    COHORT_STYLE,
    CONDITION_COLOURS,
    DAY_AXIS,
    FONT,
    GROUP_PALETTE,
    OKABE_ITO,
    Chart,
    _dash,
    _drawn_groups,
    _layout,
    _rgba,
    band_traces,
    colours,
    escape_figure,
    label,
)
from analysis.config import SUPPRESSION_THRESHOLD
from analysis.privacy import (
    MARK,
    WITHHELD_TEXT,
    footnote,
    is_small,
    show_count,
    small_label,
    suppress_table,
    why_withheld,
)
from analysis.schema import (
    COHORT,
    DAY,
    EVALUABLE,
    GROUP,
    INFUSIONS,
    PATIENT_ID,
    PATIENTS_STARTED,
    PCT_CHANGE,
    REMITTERS,
    RESPONDERS,
    SCORE,
)

__all__ = [
    "BAND_SHADES",
    "COHORT_STYLE",
    "CONDITION_COLOURS",
    "DAY_AXIS",
    "FONT",
    "GROUP_PALETTE",
    "OKABE_ITO",
    "Chart",
    "colours",
    "escape_figure",
    "forest_chart",
    "funnel_chart",
    "km_chart",
    "label",
    "monthly_chart",
    "rates_chart",
    "trajectory_chart",
]


# --- Overview --------------------------------------------------------------------------------------


def monthly_chart(
    by_month: pd.DataFrame, threshold: int = SUPPRESSION_THRESHOLD, shown: pd.DataFrame | None = None
) -> Chart:
    """Patients started and infusions given per start month (two stacked panels sharing the month axis).

    ``by_month``: start_month, patients_started, infusions (infusions may be all missing without a
    treatments file). Months with 1 to threshold-1 patients are shown as '<11*' with no bar. ``shown``: the
    table as it may be shown (``Summary.suppressed_by_month``, suppressed beside the practice's totals): a
    count it withholds is written 'withheld*' with no bar."""
    t = by_month.sort_values(schema.START_MONTH)
    hidden_in = (
        None
        if shown is None
        else shown.set_index(shown[schema.START_MONTH].astype(str)).reindex(t[schema.START_MONTH].astype(str))
    )
    months = t[schema.START_MONTH].astype(str).tolist()
    # YYYY-MM start months on a date axis (readable ticks every few months); other labels as categories
    dated = all(len(m) == 7 and m[4] == "-" for m in months)
    x = [f"{m}-01" for m in months] if dated else months
    has_infusions = INFUSIONS in t and t[INFUSIONS].notna().any()
    rows = 2 if has_infusions else 1
    fig = make_subplots(
        rows=rows,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.12,
        subplot_titles=("Patients started", "Infusions (patients who started that month)")[:rows],
    )
    notes = []
    series = [(PATIENTS_STARTED, "Patients started", OKABE_ITO["blue"])]
    if has_infusions:
        series.append((INFUSIONS, "Infusions", OKABE_ITO["bluish_green"]))
    for row, (col, name, colour) in enumerate(series, start=1):
        values = t[col].tolist()
        small = [is_small(v, threshold) for v in values]
        withheld = [False] * len(values) if hidden_in is None else [v is None for v in hidden_in[col].tolist()]
        small = [s or w for s, w in zip(small, withheld)]
        shown = [None if s or pd.isna(v) else float(v) for v, s in zip(values, small)]
        text = [
            f"{WITHHELD_TEXT}{MARK}"
            if w
            else f"{small_label(threshold)}{MARK}"
            if s
            else ("" if pd.isna(v) else f"{int(v)}")
            for v, s, w in zip(values, small, withheld)
        ]
        # numbers on the bars only where they fit; otherwise in the hover text (and '<11' always written)
        label_all = len(months) <= 12
        fig.add_trace(
            go.Bar(
                x=x,
                y=shown,
                name=name,
                marker_color=colour,
                hovertext=text,
                text=[t if label_all or s else "" for t, s in zip(text, small)],
                textposition="outside",
                cliponaxis=False,
                customdata=months,
                hovertemplate="%{customdata}: %{hovertext} " + name.lower() + "<extra></extra>",
                showlegend=False,
            ),
            row=row,
            col=1,
        )
        if any(small):
            notes.append(
                f"{name}: months with fewer than {threshold} are shown as {small_label(threshold)}{MARK} without a "
                "bar"
                + (
                    f"; a month {WITHHELD_TEXT}{MARK} would reveal one by subtraction from the total."
                    if any(withheld)
                    else "."
                )
            )
    if dated:
        fig.update_xaxes(
            type="date", tickformat="%b<br>%Y", dtick="M3" if len(months) > 12 else "M1", ticklabelmode="period"
        )
    else:
        fig.update_xaxes(type="category")
    fig.update_xaxes(title_text="Start month", row=rows, col=1)
    fig.update_yaxes(rangemode="tozero")
    _layout(fig, "Starts and infusions by start month", height=520 if rows == 2 else 380)
    caption = "Each bar is one start month: the patients whose first infusion fell in it" + (
        ", and the infusions those patients received." if has_infusions else "."
    )
    return Chart(fig, caption, tuple(notes))


def funnel_chart(
    counts: Mapping, instrument: str, threshold: int = SUPPRESSION_THRESHOLD, shown: Mapping | None = None
) -> Chart:
    """The outcome funnel: patients -> with baseline -> with response assessment -> evaluable ->
    responders -> with follow-up, each bar labelled with its count and its share of the bar above.

    Suppressed as analysis.privacy.suppress_table with the funnel's complements: a small count is shown as
    '<11*' and a count whose difference from the bar above is small is withheld ('withheld*', no bar), each
    withheld step with a note saying why. ``shown``: the row as its table shows it (e.g. the overall row of
    ``Summary.suppressed_rates``, suppressed beside its groups), so that chart and table withhold the same."""
    from analysis.outcomes import FUNNEL_COMPLEMENTS

    keys = [k for k in fmt.FUNNEL_LABELS if k in counts]
    if shown is None:
        shown = suppress_table(
            pd.DataFrame([{k: counts[k] for k in keys}]), keys, (), threshold, complements=FUNNEL_COMPLEMENTS
        ).iloc[0]
    names, values, text = [], [], []
    previous = None
    withheld = False
    for key, name in fmt.FUNNEL_LABELS.items():
        if key not in counts:
            continue
        n, v = counts[key], shown[key]
        hidden = isinstance(v, str) or v is None or pd.isna(v)
        names.append(name)
        values.append(0 if hidden else int(n))
        share = "" if hidden or previous is None or previous == 0 else f" · {fmt.percent(n / previous, 0)}"
        text.append(f"{v}{MARK}" if isinstance(v, str) else f"{WITHHELD_TEXT}{MARK}" if hidden else f"{int(n)}{share}")
        withheld |= v is None
        previous = None if hidden else n
    fig = go.Figure(
        go.Bar(
            x=values,
            y=names,
            orientation="h",
            text=text,
            textposition="outside",
            cliponaxis=False,
            marker_color=OKABE_ITO["blue"],
            hovertemplate="%{y}: %{text}<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(title_text="Patients", rangemode="tozero", range=[0, max(values + [1]) * 1.45])
    fig.update_yaxes(automargin=True)
    _layout(fig, f"Outcome funnel, {instrument}", height=400)
    caption = (
        "Each bar keeps the patients of the bar above who pass one more step, with its count and its share "
        "of the bar above; response and remission rates are over the evaluable patients."
    )
    why = why_withheld(counts, {k: shown[k] for k in keys}, fmt.FUNNEL_LABELS, threshold)
    hidden_any = withheld or any(isinstance(shown[k], str) for k in keys)
    notes = (*why.values(), footnote(threshold)) if hidden_any else ()
    return Chart(fig, caption, notes)


# --- Durability -------------------------------------------------------------------------------------


def km_chart(
    table: pd.DataFrame,
    at_risk: pd.DataFrame | None = None,
    instrument: str = "",
    threshold: int = SUPPRESSION_THRESHOLD,
    words: Mapping | None = None,
) -> Chart:
    """Kaplan-Meier step curves of 'still responding' with pointwise 95% CI bands, per group, and the
    number at risk under the chart. ``words`` replaces what the chart says of its curves (keys of
    KM_WORDS: title, y, x, state, caption, who), e.g. for the time to the first booster (analysis.booster_charts.BOOSTER_KM_WORDS).

    ``table``: group, time, n_risk, n_event, survival, lower, upper (one row per event/censoring time, as
    R survfit's summary, censoring times included, so that each curve ends at its group's last follow-up).
    ``at_risk``: group, day, n_risk (from KaplanMeier.survival_at). A group whose size (the number at risk
    at its first time) is under the threshold is not drawn, and each curve stops before the first time
    with fewer than threshold responders at risk."""
    w = {**KM_WORDS, **(words or {})}
    t = table.sort_values([GROUP, "time"]) if GROUP in table else table.assign(group="all").sort_values("time")
    sizes = {g: int(d["n_risk"].iloc[0]) for g, d in t.groupby(GROUP, sort=False)} if len(t) else {}
    keep, notes = _drawn_groups(sizes, threshold, w["who"])
    cols = colours(keep)
    rows = 2 if at_risk is not None and len(keep) else 1
    fig = make_subplots(
        rows=rows,
        cols=1,
        shared_xaxes=True,
        row_heights=[1 - _risk_share(len(keep)), _risk_share(len(keep))] if rows == 2 else None,
        vertical_spacing=0.1,
    )
    truncated, last = [], 0.0
    for g in keep:
        d = t[t[GROUP] == g]
        if threshold > 1 and (d["n_risk"] < threshold).any():
            truncated.append(label(g))
            d = d[d["n_risk"] >= threshold]
        x = [0.0] + d["time"].astype(float).tolist()
        last = max(last, x[-1])
        s = [1.0] + d["survival"].astype(float).tolist()
        lo = [1.0] + d["lower"].astype(float).tolist()
        hi = [1.0] + d["upper"].astype(float).tolist()
        c, name = cols[g], label(g)
        for trace in band_traces(x, lo, hi, c, name, shape="hv"):
            fig.add_trace(trace, row=1, col=1)
        nrisk = [sizes[g]] + d["n_risk"].tolist()
        hover = [
            f"{name}: day {xi:.0f}, {fmt.percent(si, 0)} {w['state']} (95% CI {fmt.percent(low, 0)} to {fmt.percent(h, 0)}), "
            f"{show_count(r, threshold)} at risk"
            for xi, si, low, h, r in zip(x, s, lo, hi, nrisk)
        ]
        fig.add_trace(
            go.Scatter(
                x=x,
                y=s,
                mode="lines",
                name=name,
                line=dict(color=c, width=2.5, shape="hv", dash=_dash(g)),
                text=hover,
                hovertemplate="%{text}<extra></extra>",
                legendgroup=name,
            ),
            row=1,
            col=1,
        )
    fig.update_yaxes(title_text=w["y"], tickformat=".0%", range=[0, 1.04], row=1, col=1)
    if rows == 2:
        r = at_risk[at_risk[GROUP].isin(keep)]
        beyond = r.loc[r[DAY] >= last, DAY]  # the axis ends at the first at-risk day past the drawn curves
        if len(beyond):
            r = r[r[DAY] <= beyond.min()]
        order = [label(g) for g in keep]
        fig.add_trace(
            go.Scatter(
                x=r[DAY].astype(float),
                y=[label(g) for g in r[GROUP]],
                mode="text",
                text=[str(show_count(n, threshold)) for n in r["n_risk"]],
                textfont=dict(size=13),
                showlegend=False,
                hoverinfo="skip",
            ),
            row=2,
            col=1,
        )
        fig.update_yaxes(
            type="category",
            categoryorder="array",
            categoryarray=order[::-1],
            range=[-0.7, len(order) - 0.3],  # room above the top row and below the last: none is clipped
            showgrid=False,
            title_text="At risk",
            row=2,
            col=1,
        )
        fig.update_xaxes(showgrid=False, zeroline=False, row=2, col=1)
        days = sorted(r[DAY].unique().tolist())
        fig.update_xaxes(tickvals=days, row=1, col=1)
        fig.update_xaxes(tickvals=days, title_text=w["x"], row=2, col=1)
    else:
        fig.update_xaxes(title_text=w["x"], row=1, col=1)
    if truncated:
        notes = notes + (
            f"Curves stop where fewer than {threshold} {w['who']} remain at risk ({', '.join(truncated)}), "
            "so that no step reveals a small number.",
        )
    if not keep:
        notes = notes + (f"No group has enough {w['who']} to draw a curve.",)
    title = (
        w["title"]
        if words and "title" in words
        else (f"How long response lasts{', ' + instrument if instrument else ''}: share of responders still responding")
    )
    _layout(fig, title, height=(560 + 18 * max(0, len(keep) - 2)) if rows == 2 else 460)
    return Chart(fig, w["caption"], notes)


def _risk_share(groups: int) -> float:
    """The share of a Kaplan-Meier figure's height given to its at-risk rows: 0.22 for up to two groups, more
    for each further group (the figure grows by as much), so that the rows stay apart."""
    extra = 18 * max(0, groups - 2)
    return (0.22 * 560 + extra) / (560 + extra)


#: what km_chart says of its curves (durability of response)
KM_WORDS = {
    "who": RESPONDERS,
    "state": "still responding",
    "y": "Still responding",
    "x": "Days since the response assessment",
    "caption": (
        "Kaplan-Meier estimate of the share of responders still responding, counted from the response "
        "assessment; shaded bands are 95% confidence intervals; the row under the chart is the number "
        "still followed and responding at each day."
    ),
}


def forest_chart(
    params: pd.DataFrame, title: str = "Hazard of losing response (Cox model)", greyed: Mapping | None = None
) -> Chart:
    """Hazard ratios with 95% CIs on a log axis, one row per level vs its reference level.

    ``params``: term, covariate, level, reference, hr, lower, upper, p (CoxResult.params_shown()); a row whose
    ``not_estimable`` or ``withheld`` holds a reason is named in a note ("not estimable (no events in site D)"),
    never drawn.
    ``greyed``: {term: reason} drawn in grey (e.g. too few events), the reason in its hover text. The log axis
    has at least four labelled ticks."""
    greyed = dict(greyed or {})
    p = params.copy()
    ok = p[["hr", "lower", "upper"]].apply(pd.to_numeric, errors="coerce")
    finite = ok.apply(lambda c: c.map(lambda v: v is not None and math.isfinite(v) and v > 0)).all(axis=1)
    reason = pd.Series([coxph.not_shown(r) for r in p.to_dict("records")], index=p.index, dtype=object)
    named = reason.map(lambda v: isinstance(v, str))
    finite &= ~named
    notes = tuple(
        f"{_forest_label(r)}: {why}; no hazard ratio, not drawn."
        for (_, r), why in zip(p[named].iterrows(), reason[named])
    )
    if (~finite & ~named).any():
        notes += (
            f"{int((~finite & ~named).sum())} term(s) without a finite hazard ratio (too few events) are not drawn.",
        )
    p, ok = p[finite], ok[finite]
    row_label = _forest_label

    names = [row_label(r) for _, r in p.iterrows()]
    hover = [
        f"{n}: HR {h:.2f} (95% CI {lo:.2f} to {up:.2f}), p = {fmt.p_value(pv)}"
        + (f"; greyed: {greyed[t]}" if t in greyed else "")
        for n, t, h, lo, up, pv in zip(names, p["term"], ok["hr"], ok["lower"], ok["upper"], p["p"].astype(float))
    ]
    grey = p["term"].isin(list(greyed)).to_numpy()
    fig = go.Figure()
    for mask, colour, name in ((~grey, OKABE_ITO["blue"], "hazard ratio"), (grey, "#B0B0B0", "greyed")):
        if not mask.any():
            continue
        fig.add_trace(
            go.Scatter(
                x=ok["hr"][mask],
                y=[n for n, m in zip(names, mask) if m],
                mode="markers",
                name=name,
                marker=dict(size=10, color=colour, symbol="square"),
                error_x=dict(
                    type="data",
                    symmetric=False,
                    array=(ok["upper"] - ok["hr"])[mask],
                    arrayminus=(ok["hr"] - ok["lower"])[mask],
                    color=colour,
                    thickness=2,
                ),
                text=[h for h, m in zip(hover, mask) if m],
                hovertemplate="%{text}<extra></extra>",
                showlegend=False,
            )
        )
    for n, t, h, lo, up in zip(names, p["term"], ok["hr"], ok["lower"], ok["upper"]):  # the numbers, right of the plot
        fig.add_annotation(
            xref="paper",
            x=1.01,
            y=n,
            xanchor="left",
            showarrow=False,
            text=f"{h:.2f} ({lo:.2f} to {up:.2f})",
            font=dict(size=12, color="#999999" if t in greyed else "#333333"),
        )
    fig.add_vline(x=1, line_dash="dot", line_color=OKABE_ITO["grey"])
    lo_x = float(ok["lower"].min()) if len(ok) else 1.0
    hi_x = float(ok["upper"].max()) if len(ok) else 1.0
    ticks = _log_ticks(min(lo_x, 1.0), max(hi_x, 1.0))
    fig.update_xaxes(
        type="log",
        tickvals=ticks,
        ticktext=[f"{v:g}" for v in ticks],
        range=[math.log10(min(ticks[0], lo_x / 1.15)), math.log10(max(ticks[-1], hi_x * 1.15))],
        minor=dict(showgrid=False),
        title_text="Hazard ratio (log scale; above 1 = response lost sooner)",
    )
    fig.update_yaxes(autorange="reversed", automargin=True)
    _layout(fig, title, height=max(300, 90 + 34 * len(names)))
    fig.update_layout(margin=dict(r=150))  # room for the hazard ratios written beside the rows
    if names:
        fig.add_annotation(
            xref="paper",
            yref="paper",
            x=1.01,
            y=1.0,
            xanchor="left",
            yanchor="bottom",
            showarrow=False,
            text="<b>HR (95% CI)</b>",
            font=dict(size=12),
        )
    caption = (
        "Each square is a hazard ratio against the reference level named in its row, with its 95% "
        "confidence interval (the numbers on the right); the dotted line at 1 means no difference"
        + ("; grey squares rest on too few events." if greyed else ".")
    )
    return Chart(fig, caption, notes)


#: the candidate ticks of a hazard-ratio axis, fine to coarse
_HR_TICKS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 1, 1.5, 2, 3, 5, 7, 10, 20, 50, 100)


def _log_ticks(lo: float, hi: float, least: int = 4, most: int = 9) -> list[float]:
    """Ticks of a log axis from ``lo`` to ``hi``: at least ``least`` (the range widened one tick at a time) and at
    most ``most`` (thinned to 1-2-5 steps)."""
    inside = [v for v in _HR_TICKS if lo <= v <= hi]
    below = [v for v in _HR_TICKS if v < lo][::-1]
    above = [v for v in _HR_TICKS if v > hi]
    while len(inside) < least and (below or above):
        if below:
            inside.insert(0, below.pop(0))
        if len(inside) < least and above:
            inside.append(above.pop(0))
    for step in ((1, 2, 5), (1,)):  # too many: 1-2-5 steps, then powers of ten
        if len(inside) > most:
            coarse = [v for v in inside if round(v / 10 ** math.floor(math.log10(v) + 1e-9), 6) in step]
            inside = coarse if len(coarse) >= least else inside
    return inside


def forest_label(r) -> str:
    """A forest row's name, as the plot and its table write it (see _forest_label)."""
    return _forest_label(r)


def _forest_label(r) -> str:
    """A forest row's name: "Condition: PTSD vs Depression" (a numeric covariate: its name)."""
    cov = str(r.get("covariate", "") or r["term"]).replace("_", " ").capitalize()
    if "level" in r and pd.notna(r.get("level")) and str(r.get("level")) != "":
        ref = f" vs {label(r['reference'])}" if pd.notna(r.get("reference")) and str(r.get("reference")) else ""
        return f"{cov}: {label(r['level'])}{ref}"
    return cov


# --- Trajectories -----------------------------------------------------------------------------------


def trajectory_chart(
    observed: pd.DataFrame,
    predicted: pd.DataFrame | None = None,
    lines: pd.DataFrame | None = None,
    bands: Sequence[tuple[str, float, float]] = (),
    induction_end_day: float | None = None,
    instrument: str = "",
    measure: str = SCORE,
    threshold: int = SUPPRESSION_THRESHOLD,
    by: str = "",
    cutoff: float | None = None,
) -> Chart:
    """Observed mean score by visit (markers, 95% CI bars), the mixed model's mean curves (lines, 95%
    bands), optional individual patient lines, severity bands shaded, the instrument's screening ``cutoff`` as
    a dashed line and the end of induction marked.

    Curves and patient lines stop at each group's last visit with a mean shown (that visit window's last day):
    no line runs on past the data the page shows.

    ``observed``: group, day, n, mean, lower, upper; ``predicted``: group, day, mean, lower, upper;
    ``lines``: patient_id, group, day, score (or value); ``bands``: (label, lower, upper) of the instrument;
    ``by``: what the groups are, for the title (e.g. "condition").
    ``measure="pct_change"``: ``observed`` holds the improvement from baseline as a fraction
    (``Trajectories.observed_pct``) and ``lines`` its ``pct_change`` column (a fraction); both are drawn as
    percent (times 100).
    A group whose largest visit has fewer patients than the threshold is not drawn; single visits with
    fewer patients than the threshold are withheld."""
    obs = observed.copy()
    sizes = obs.groupby(GROUP, sort=False)["n"].max().to_dict() if len(obs) else {}
    keep, notes = _drawn_groups(sizes, threshold, "patients at any visit")
    thin = obs[obs[GROUP].isin(keep) & obs["n"].map(lambda n: is_small(n, threshold))]
    if len(thin):
        notes = notes + (f"{len(thin)} visit mean(s) resting on fewer than {threshold} patients are not shown.",)
    obs = obs[obs[GROUP].isin(keep) & ~obs.index.isin(thin.index)]
    last_shown = _last_visit_days(obs)
    if predicted is not None and len(predicted):
        predicted = predicted[predicted[DAY] <= predicted[GROUP].map(last_shown).fillna(-math.inf)]
    if lines is not None and len(lines):
        lines = lines[lines[DAY] <= lines[GROUP].map(last_shown).fillna(-math.inf)]
    cols = colours(keep)
    pct = measure != SCORE
    if pct:  # fractions in, percent on screen
        obs = obs.assign(**{c: 100 * obs[c].astype("float64") for c in ("mean", "lower", "upper")})
    fig = go.Figure()
    if not pct:
        for i, (name, lo, hi) in enumerate(bands):
            fig.add_hrect(y0=lo, y1=hi, fillcolor=BAND_SHADES[i % len(BAND_SHADES)], line_width=0, layer="below")
            fig.add_annotation(
                xref="paper",
                x=1.01,
                y=(lo + hi) / 2,
                xanchor="left",
                text=name,
                showarrow=False,
                font=dict(size=11, color="#666666"),
            )
    if cutoff is not None and not pct:
        fig.add_hline(
            y=cutoff,
            line_dash="dash",
            line_color=OKABE_ITO["vermillion"],
            line_width=1.5,
            annotation_text=f"cut-off {cutoff:g}",
            annotation_position="top left",
            annotation_font=dict(size=12, color=OKABE_ITO["vermillion"]),
        )
    if lines is not None and len(lines):
        value = SCORE if SCORE in lines else "value"
        if pct and PCT_CHANGE in lines:
            value, lines = "percent", lines.assign(percent=100 * lines[PCT_CHANGE].astype("float64"))
        for _pid, d in lines[lines[GROUP].isin(keep)].groupby(PATIENT_ID, sort=False):
            d = d.sort_values(DAY)
            fig.add_trace(
                go.Scatter(
                    x=d[DAY],
                    y=d[value],
                    mode="lines",
                    line=dict(color=_rgba(cols[d[GROUP].iloc[0]], 0.25), width=1),
                    hoverinfo="skip",
                    showlegend=False,
                    legendgroup=label(d[GROUP].iloc[0]),
                )
            )
    for g in keep:
        c, name = cols[g], label(g)
        if predicted is not None and len(predicted):
            p = predicted[predicted[GROUP] == g].sort_values(DAY)
            if len(p):
                fig.add_traces(band_traces(p[DAY], p["lower"], p["upper"], c, name))
                fig.add_trace(
                    go.Scatter(
                        x=p[DAY],
                        y=p["mean"],
                        mode="lines",
                        name=f"{name} (model)",
                        line=dict(color=c, width=2.5, dash=_dash(g)),
                        legendgroup=name,
                        hovertemplate=f"{fmt.plain(name)}, model: day %{{x:.0f}}, mean %{{y:.1f}}<extra></extra>",
                    )
                )
        o = obs[obs[GROUP] == g].sort_values(DAY)
        unit = "% improvement" if pct else "mean"
        hover = [
            f"{name}: day {d:.0f}, {unit} {m:.1f} (95% CI {lo:.1f} to {hi:.1f}), n = {show_count(n, threshold)}"
            for d, m, lo, hi, n in zip(o[DAY], o["mean"], o["lower"], o["upper"], o["n"])
        ]
        fig.add_trace(
            go.Scatter(
                x=o[DAY],
                y=o["mean"],
                mode="markers" if predicted is not None and len(predicted) else "lines+markers",
                name=f"{name} (observed)",
                marker=dict(color=c, size=8, line=dict(color="white", width=1)),
                line=dict(color=c, dash=_dash(g)),
                error_y=dict(
                    type="data",
                    symmetric=False,
                    array=o["upper"] - o["mean"],
                    arrayminus=o["mean"] - o["lower"],
                    color=c,
                    thickness=1.5,
                    width=3,
                ),
                text=hover,
                hovertemplate="%{text}<extra></extra>",
                legendgroup=name,
            )
        )
    if induction_end_day is not None:
        fig.add_vline(
            x=induction_end_day,
            line_dash="dash",
            line_color="#555555",
            annotation_text="end of induction",
            annotation_position="top left",
            annotation_font_size=12,
        )
    if pct:
        fig.update_yaxes(title_text="Improvement from baseline (%)", ticksuffix="%")
    else:
        fig.update_yaxes(title_text=f"{instrument} score (lower is better)")
    fig.update_xaxes(title_text=DAY_AXIS)
    what = "improvement from baseline" if pct else SCORE
    _layout(fig, f"{instrument} {what} over the course of treatment{', by ' + by if by else ''}".strip(), height=580)
    # the legend under the axis: above the plot it runs into the title on a narrow screen
    fig.update_layout(
        margin=dict(r=130, b=110), legend=dict(orientation="h", yanchor="top", y=-0.16, xanchor="left", x=0)
    )
    caption = (
        "Dots are observed means at each visit with 95% confidence intervals"
        + (
            "; lines and shaded bands are the mixed model's mean of everyone who started (patients who stopped "
            "coming included) with 95% bands"
            if predicted is not None and len(predicted)
            else ""
        )
        + ("; grey bands are the instrument's severity ranges" if bands and not pct else "")
        + (f"; the red dashed line is its screening cut-off ({cutoff:g})" if cutoff is not None and not pct else "")
        + "; the dashed vertical line marks the end of induction; lines stop at the last visit with a mean shown."
    )
    return Chart(fig, caption, notes)


def _last_visit_days(observed: pd.DataFrame) -> dict:
    """Each group's last day with data on the chart: the last day of the window of its last visit shown
    (config.VISIT_WINDOWS; a visit not in them: its own day)."""
    from analysis.config import VISIT_WINDOWS

    ends = {name: last for name, _, _, last in VISIT_WINDOWS}
    if not len(observed):
        return {}
    last = observed.sort_values(DAY).groupby(GROUP, sort=False).tail(1)
    visits = last["visit"] if "visit" in last else pd.Series(None, index=last.index)
    return {g: float(ends.get(v, d)) for g, v, d in zip(last[GROUP], visits, last[DAY])}


# --- Compare cohorts / rates ---------------------------------------------------------------------------


def rates_chart(
    rates: pd.DataFrame,
    group: str = COHORT,
    threshold: int = SUPPRESSION_THRESHOLD,
    title: str = "Response and remission rates",
) -> Chart:
    """Response and remission rates with 95% CIs, side by side per group.

    ``rates``: <group>, evaluable, responders, response_rate, response_lower, response_upper, remitters,
    remission_rate, remission_lower, remission_upper.
    A rate is drawn only where the table shows it: suppressed as analysis.rates.suppress_rates (a small count,
    or a count whose difference from the step before is small, withholds the rates resting on it)."""
    from analysis.outcomes import FUNNEL_COMPLEMENTS, FUNNEL_COUNTS

    r = rates
    shown = suppress_table(rates, FUNNEL_COUNTS, (), threshold, shares=schema.RATES, complements=FUNNEL_COMPLEMENTS)
    shown = shown.set_index(shown[group])
    fig = go.Figure()
    notes = []
    measures = [("response", RESPONDERS, "Response"), ("remission", REMITTERS, "Remission")]
    for g, row in r.set_index(group).iterrows():
        c = colours([g])[g]
        xs, ys, lo, hi, text = [], [], [], [], []
        for key, count, name in measures:
            rate = row.get(f"{key}_rate")
            if rate is None or pd.isna(rate):
                continue
            if is_small(row.get(EVALUABLE), threshold) or is_small(row.get(count), threshold):
                notes.append(f"{label(g)}, {name.lower()}: fewer than {threshold} patients, so not shown.")
                continue
            if shown.loc[g, f"{key}_rate"] is None:  # withheld in the table (complementary suppression)
                notes.append(
                    f"{label(g)}, {name.lower()}: {WITHHELD_TEXT}, as in the table (fewer than {threshold} patients "
                    "between two of its counts), so not shown."
                )
                continue
            xs.append(name), ys.append(float(rate))
            lo.append(float(rate) - float(row[f"{key}_lower"])), hi.append(float(row[f"{key}_upper"]) - float(rate))
            text.append(fmt.percent(rate, 0))
        fig.add_trace(
            go.Bar(
                x=xs,
                y=ys,
                name=label(g),
                marker_color=c,
                text=text,
                textposition="inside",
                insidetextanchor="start",
                textfont=dict(color="white", size=15),
                error_y=dict(type="data", symmetric=False, array=hi, arrayminus=lo, color="#333333"),
                hovertemplate=f"{fmt.plain(label(g))}, %{{x}}: %{{y:.1%}}<extra></extra>",
            )
        )
    fig.update_layout(barmode=GROUP)
    fig.update_yaxes(title_text="Share of evaluable patients", tickformat=".0%", range=[0, 1.1])
    _layout(fig, title, height=420)
    caption = "Bars are rates over the evaluable patients; the black lines are 95% Wilson confidence intervals."
    return Chart(fig, caption, tuple(notes))
