"""What the Durability page shows of analysis.durability: the headline tiles and under them the restricted mean
durability and how the groups differ in it, the medians in words, the table of medians, restricted means and shares still
responding (all as Durability.groups_shown() and rmean_differences_shown() let them be shown)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analysis import charts, formatting, schema
from ui import show
from ui.session import threshold
from ui.widgets import GROUPINGS


def durability_results(assessments, treatments, instrument: str, by: str | None, definitions):
    """(analysis.durability.analyse by ``by``, the same without grouping): one analysis, the ungrouped
    numbers taken from its episodes (durability.overall; the same result when ``by`` is None)."""
    from analysis import durability

    res = durability.analyse(assessments, treatments, instrument, by=by, definitions=definitions)
    return res, durability.overall(res)


def headline(overall, res) -> None:
    """Tiles: responders followed, median durability, share still responding at the card's days, log-rank p; under
    them the restricted mean durability and the groups' differences in it (rmean_caption)."""
    from analysis.durability import horizon

    shown = overall.groups_shown()
    g = shown.iloc[0] if len(shown) else None
    days = overall.definitions.survival_days
    cols = st.columns(2 + len(days) + 1)
    small = g is None or isinstance(g["n"], str)
    cols[0].metric(
        "Responders",
        "0" if g is None else str(g["n"]),
        help="Responders followed: responders with a score after their response assessment (the durability episodes).",
        border=True,
    )
    med = formatting.DASH if small or g["median"] is None else formatting.days(g["median"])
    ci = (
        ""
        if med in (formatting.DASH, formatting.NOT_REACHED)
        else f"95% CI {formatting.days(g['median_lower'], unit=True)} to {formatting.days(g['median_upper'], unit=True)}"
    )
    cols[1].metric(
        "Median (days)",
        med,
        help=f"Median durability: half of the responders still respond at this day. {ci}".strip(),
        border=True,
    )
    for col, day in zip(cols[2:], days):
        v = None if small else g[f"s{day}"]
        col.metric(
            f"At {day // 7} weeks" if day % 7 == 0 else f"At day {day}",
            formatting.percent(v),
            help="Withheld: too few responders still followed."
            if v is None
            else None
            if pd.isna(v)
            else f"Still responding at day {day}; 95% CI {formatting.percent(g[f's{day}_lower'])} to {formatting.percent(g[f's{day}_upper'])}.",
            border=True,
        )
    lr = res.logrank
    p = formatting.DASH if lr is None else formatting.p_value(lr.p)
    cols[-1].metric(
        "Log-rank p",
        p,
        border=True,
        help="Do the groups differ? "
        + ("" if lr is None or pd.isna(lr.chi2) else f"Chi-square {lr.chi2:.2f} on {lr.df} df."),
    )
    if g is not None:
        st.caption(rmean_caption(None if small else g, res.rmean_differences_shown(), horizon(res.definitions)))


def rmean_caption(overall, diff: pd.DataFrame, tau: int) -> str:
    """'Restricted mean durability to day 84: 53.6 days (SE 2.3) on average within the first 84 days; PTSD 5.8
    days more than Depression (95% CI -4.6 to 16.2; p = 0.27).' from the overall row of
    Durability.groups_shown() (None: withheld) and Durability.rmean_differences_shown(); withheld values say so.
    The restricted mean exists when the median is not reached."""
    v = None if overall is None else overall["rmean"]
    if v is None or pd.isna(v):
        parts = [f"withheld overall (fewer than {threshold()})"]
    else:
        parts = [f"**{v:.1f} days** (SE {overall['rmean_se']:.1f}) on average within the first {tau} days"]
    for r in diff.to_dict("records"):
        name, ref = show.text(charts.label(r[schema.GROUP])), show.text(charts.label(r["reference"]))
        if r["difference"] is None or pd.isna(r["difference"]):
            parts.append(f"{name} vs {ref} withheld (fewer than {threshold()})")
        else:
            more = "more" if r["difference"] >= 0 else "fewer"
            parts.append(
                f"{name} {abs(r['difference']):.1f} days {more} than {ref} (95% CI {r['lower']:.1f} to "
                f"{r['upper']:.1f}; p = {formatting.p_value(r['p'])})"
            )
    return f"Restricted mean durability to day {tau}: " + "; ".join(parts) + "."


def medians_line(groups: pd.DataFrame) -> str:
    """'Median durability: Depression 64 days (95% CI 49 to 69); ...' from Durability.groups_shown()."""
    thr, parts = threshold(), []
    for _, g in groups.iterrows():
        name = show.text(charts.label(g[schema.GROUP]))
        if g["median"] is None or isinstance(g["n"], str):
            parts.append(f"{name} withheld (fewer than {thr})")
        elif pd.isna(g["median"]):
            parts.append(f"{name} not reached")
        else:
            parts.append(
                f"{name} **{formatting.days(g['median'], unit=True)}** (95% CI {formatting.days(g['median_lower'])} "
                f"to {formatting.days(g['median_upper'])})"
            )
    return "**Median durability:** " + "; ".join(parts) + "." if parts else ""


def table(groups: pd.DataFrame, by: str, instrument: str) -> None:
    """Durability.groups_shown() (already suppressed) as a table with downloads."""
    days = [int(c[1:]) for c in groups.columns if c.startswith("s") and c[1:].isdigit()]
    t = groups.assign(group=groups[schema.GROUP].map(charts.label))
    rename = {
        schema.GROUP: GROUPINGS.get(by, "Group"),
        "n": "Responders followed",
        "events": "Lost response",
        "median": "Median (days)",
        "median_lower": "Median 95% CI low",
        "median_upper": "Median 95% CI high",
    }
    for d in days:
        rename |= {
            f"n{d}": f"At risk on day {d}",
            f"s{d}": f"Still responding at day {d} (95% CI)",
            f"s{d}_lower": f"Day {d} 95% CI low",
            f"s{d}_upper": f"Day {d} 95% CI high",
        }
    for c in ("median", "median_lower", "median_upper"):
        t[c] = [None if v is None else formatting.days(v) for v in t[c]]
    rename["median"] = "Median days (95% CI)"
    tau = max(days) if days else None
    rename |= {"rmean": f"Mean days of first {tau}", "rmean_se": "Mean days SE"}
    for c in ("rmean", "rmean_se"):
        if c in t.columns:
            t[c] = [None if v is None or pd.isna(v) else round(float(v), 1) for v in t[c]]
    show.table(
        t,
        f"{instrument} durability" + (f" by {by}" if by else ""),
        hide=[f"n{d}" for d in days],
        percent=[c for c in t.columns if c.startswith("s") and c[1:2].isdigit()],
        ci={"median": ("median_lower", "median_upper"), **{f"s{d}": (f"s{d}_lower", f"s{d}_upper") for d in days}},
        rename=rename,
        key="durability",
    )


def cox_section(res, instrument: str) -> None:
    """The Cox model: the forest plot of its hazard ratios (a term that is not estimable named in a note, never
    drawn), or why there is none."""
    if res.cox is None:
        st.info("The Cox model could not be fitted on these data (see the notes).")
        return
    show.plot(
        charts.forest_chart, res.cox.params_shown(), f"Hazard of losing {instrument} response (Cox model, Efron ties)"
    )
    text = model_checks_line(res.cox)
    if text:
        st.markdown(text)


def model_checks_line(fit) -> str:
    """The concordance and the proportional-hazards test of the Cox model in words (analysis.durability's
    cox_checks_json), '' when there is neither."""
    from analysis.durability import PH_ALPHA, cox_checks_json

    j, parts = cox_checks_json(fit), []
    c = j["concordance"]
    if c is not None:
        parts.append(
            f"concordance (Harrell's C) **{c['c']:.2f}** (SE {c['se']:.2f}; 0.5 = no better than chance, 1 = the "
            "model always ranks who loses response first)"
        )
    ph = j["proportional_hazards"]
    if ph is not None:
        p = formatting.p_value
        terms = "; ".join(f"{show.text(str(t['term']).replace('_', ' '))} p = {p(t['p'])}" for t in ph["terms"])
        doubtful = any(t["p"] is not None and t["p"] < PH_ALPHA for t in [ph["global"], *ph["terms"]])
        parts.append(
            f"proportional-hazards test (R cox.zph): global p = {p(ph['global']['p'])} ({terms})"
            + (
                ": **proportional hazards are doubtful**, so a hazard ratio is an average over follow-up"
                if doubtful
                else ""
            )
        )
    return ("**Model checks:** " + "; ".join(parts) + ".") if parts else ""
