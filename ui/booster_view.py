"""What the Boosters page shows of analysis.boosters: the time to the first booster (a Kaplan-Meier chart),
boosters per patient-year, the days between boosters and the scores just before and after a booster, each as
Boosters' ``*_shown`` tables let them be shown."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analysis import booster_charts, charts, formatting, schema
from analysis.boosters import AFTER_DAYS, BEFORE_DAYS
from analysis.durability import at_risk
from ui import show
from ui.session import threshold
from ui.widgets import GROUPINGS

#: what a cell withheld by the small-cell rule reads
WITHHELD = "withheld"


def section(res, by: str | None, instrument: str, distribution: pd.DataFrame) -> None:
    """The boosters page below its choices: the time to the first booster (chart, per-group table), boosters per
    patient-year, the days between boosters (``distribution``: analysis.boosters.interval_distribution) and the
    instrument's scores around a booster."""
    if res.groups.empty:
        st.info("Boosters need a treatments file (sessions with their kind: induction, booster).")
        show.notes(res.notes)
        return
    st.subheader("Time to the first booster")
    show.plot(charts.km_chart, res.km.table, at_risk(res.km), "", threshold(), words=booster_charts.BOOSTER_KM_WORDS)
    group = GROUPINGS.get(by, "Group") if by else "Group"
    g = res.groups_shown()
    st.markdown(rates_line(g))
    t = g.assign(group=g[schema.GROUP].map(charts.label))
    t["median"] = [_median_text(r) for r in g.to_dict("records")]
    t["median_lower"] = t["median_upper"] = ""  # (in the median's cell)
    t["patient_years"] = [WITHHELD if formatting.missing(v) else round(float(v), 1) for v in t["patient_years"]]
    t["rate_text"] = [_rate_text(r) for r in g.to_dict("records")]
    show.table(
        t[
            [schema.GROUP, schema.PATIENTS, "with_booster", "median", "median_lower", "median_upper", "boosters"]
            + ["patient_years", "rate_text", "rate", "rate_lower", "rate_upper"]
        ],
        "boosters by group",
        ci={"median": ("median_lower", "median_upper")},
        hide=("rate", "rate_lower", "rate_upper"),
        rename={
            schema.GROUP: group,
            schema.PATIENTS: "Patients",
            "with_booster": "Had a booster",
            "median": "Median days to the first (95% CI)",
            "boosters": "Boosters",
            "patient_years": "Patient-years",
            "rate_text": "Per patient-year (95% CI)",
        },
        key="boosters",
    )
    st.subheader("Days between boosters")
    st.markdown(intervals_line(res.intervals_shown()))
    show.plot(booster_charts.interval_chart, distribution, threshold())
    st.subheader(f"{instrument} just before and after a booster")
    sc = res.scores_shown()
    st.markdown(scores_line(sc, instrument))
    if len(sc):
        one = ["before", "after", "change", "lower", "upper"]
        sc = sc.assign(group=sc[schema.GROUP].map(charts.label), p=[formatting.p_value(v) for v in sc["p"]])
        for c in one:
            sc[c] = [WITHHELD if v is None else round(float(v), 1) for v in sc[c]]
        show.table(
            sc,
            "scores around a booster",
            rename={
                schema.GROUP: group,
                "pairs": "Patients (pairs)",
                "before": "Mean before",
                "after": "Mean after",
                "change": "Mean change",
                "lower": "Change 95% CI low",
                "upper": "Change 95% CI high",
                "p": "Paired p",
            },
            key="booster_scores",
        )
    show.notes(res.notes)


def _median_text(r) -> str:
    """'130 (83 to not reached)', 'not reached' (neither it nor its lower limit reached), or 'withheld'."""
    if r["median"] is None:
        return WITHHELD
    m, lo, hi = (formatting.days(r[c]) for c in ("median", "median_lower", "median_upper"))
    return m if formatting.missing(r["median"]) and formatting.missing(r["median_lower"]) else f"{m} ({lo} to {hi})"


def _rate_text(r) -> str:
    if formatting.missing(r["rate"]):
        return WITHHELD
    return f"{r['rate']:.2f} ({r['rate_lower']:.2f} to {r['rate_upper']:.2f})"


def rates_line(groups: pd.DataFrame) -> str:
    """'**Boosters per patient-year:** Depression 1.42 (95% CI 1.11 to 1.81); ...' (withheld groups say so)."""
    parts = []
    for r in groups.to_dict("records"):
        name = show.text(charts.label(r[schema.GROUP]))
        if r["rate"] is None or pd.isna(r["rate"]):
            parts.append(f"{name} withheld (fewer than {threshold()})")
        else:
            parts.append(f"{name} **{r['rate']:.2f}** (95% CI {r['rate_lower']:.2f} to {r['rate_upper']:.2f})")
    return "**Boosters per patient-year** (exact Poisson 95% CI): " + "; ".join(parts) + "."


def intervals_line(iv: pd.DataFrame) -> str:
    """'**Days between boosters:** median 38.5 (IQR 24 to 54) over 60 intervals of 43 patients.'"""
    if iv.empty:
        return "**Days between boosters:** no patient has two boosters."
    r = iv.iloc[0]
    if r["median_days"] is None or pd.isna(r["median_days"]):
        return f"**Days between boosters:** withheld (fewer than {threshold()} intervals)."
    return (
        f"**Days between boosters:** median **{r['median_days']:g}** (IQR {r['q1_days']:g} to {r['q3_days']:g}) over "
        f"{formatting.count(r['intervals'])} intervals of {formatting.count(r[schema.PATIENTS])} patients."
    )


def scores_line(scores: pd.DataFrame, instrument: str) -> str:
    """The paired change of the instrument's score around a booster in words."""
    if scores.empty:
        return ""
    r = scores.iloc[0]
    if r["change"] is None or pd.isna(r["change"]):
        return (
            f"**{instrument} before and after a booster:** withheld or not enough pairs (a score up to {BEFORE_DAYS} "
            f"days before and one up to {AFTER_DAYS} days after; fewer than {threshold()} patients)."
        )
    better = "lower (better)" if r["change"] < 0 else "higher (worse)"
    return (
        f"**{instrument} before and after a booster:** {r['before']:.1f} before and {r['after']:.1f} after, on "
        f"average **{abs(r['change']):.1f} points {better}** (95% CI {r['lower']:.1f} to {r['upper']:.1f}; paired "
        f"p = {formatting.p_value(r['p'])}; {formatting.count(r['pairs'])} patients with a score up to "
        f"{BEFORE_DAYS} days before and one up to {AFTER_DAYS} days after their first such booster)."
    )
