"""What the Trajectories page shows of analysis.trajectory: the observed means (score or percent change), the
sample of patient lines, the table of observed means and the mixed model's fixed effects."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analysis import charts, privacy, schema
from analysis.card import default_knots
from analysis.trajectory import knots_in_words
from ui import show
from ui.session import threshold
from ui.widgets import GROUPINGS

PCT_CHANGE = "pct_change"
#: the columns of Trajectories.observed_pct that hold fractions
PERCENT_COLUMNS = ("mean", "sd", "lower", "upper")
OBSERVED_NAMES = {
    "visit": "Visit",
    "day": "Day",
    "n": "Patients",
    "mean": "Mean",
    "sd": "SD",
    "lower": "95% CI low",
    "upper": "95% CI high",
}


def observed(res, measure: str) -> pd.DataFrame:
    """The observed means of a Trajectories result for 'score' or 'pct_change' (a fraction, as in analysis/)."""
    return res.observed if measure == "score" else res.observed_pct


def patient_lines(res, measure: str) -> pd.DataFrame | None:
    """The sample of individual patient lines (their score, and their improvement from baseline as a fraction:
    analysis.charts.trajectory_chart draws the one the measure asks for)."""
    lines = res.lines
    if lines is None or not len(lines) or (measure != "score" and PCT_CHANGE not in lines.columns):
        return None
    return lines


def observed_table(frame: pd.DataFrame, by: str, instrument: str, measure: str) -> None:
    """The observed means by visit, suppressed (patients are counts; means and intervals rest on them)."""
    cols = [c for c in (schema.GROUP, *OBSERVED_NAMES) if c in frame.columns]
    if measure != "score":  # the improvement from baseline in percent, on screen and in the downloads
        frame = frame.assign(**{c: 100 * frame[c].astype("float64") for c in PERCENT_COLUMNS if c in frame.columns})
    show.table(
        frame[cols].assign(group=frame[schema.GROUP].map(charts.label)).round(2),
        f"{instrument} trajectory {measure}",
        counts=["n"],
        derived=["mean", "sd", "lower", "upper"],
        rename={"group": GROUPINGS[by], **OBSERVED_NAMES},
    )


def patients_per_visit(frame: pd.DataFrame, by: str) -> None:
    """The number of patients behind each visit's mean, one row per group and one column per visit, under the
    chart (counts from 1 to the threshold minus 1 shown as '<11')."""
    if not len(frame):
        return
    thr = threshold()
    t = frame.assign(
        where=[str(int(d)) for d in frame[schema.DAY]],
        shown=[privacy.show_count(int(n), thr) for n in frame["n"]],
        name=frame[schema.GROUP].map(charts.label),
    )
    order = list(dict.fromkeys(t.sort_values(schema.DAY)["where"]))
    wide = t.pivot_table(index="name", columns="where", values="shown", aggfunc="first", sort=False)
    wide = (
        wide.reindex(columns=order)
        .fillna("0")
        .reset_index()
        .rename(columns={"name": f"{GROUPINGS.get(by, 'Group')} / day"})
    )
    st.markdown("**Patients per visit**, by day since the first infusion (the number behind each mean on the chart)")
    st.table(wide.astype(str).map(show.text), hide_index=True)  # (wraps: fits 1280 px; cells as plain text)


def knots_caption(knots, induction_end_day: int) -> str:
    """Which knots the model's piecewise-linear time bends at, as the page says it under the chart."""
    days = knots_in_words(knots)
    if tuple(knots) == (induction_end_day,):
        return f"Model time bends at day {days}, the end of induction (the card's knots: [{days}])."
    if tuple(knots) == default_knots(induction_end_day):
        return (
            f"Model time bends at days {days}: after the first day (ketamine acts within hours, so the first "
            f"day's drop is a straight piece of its own) and at the end of induction (the card's knots, the "
            f"default: [{', '.join(map(str, knots))}])."
        )
    return f"Model time bends at days {days} (the card's knots: one more straight piece per knot)."


def fit_check(res) -> None:
    """The model check under the chart (:meth:`analysis.trajectory.Trajectories.fit_check_words`; group names
    are from the data: made safe for Markdown); nothing without a converged model."""
    words = res.fit_check_words()
    if words:
        st.caption(f"**Model check**: {show.text(words)}")


def convergence(res) -> str:
    """lme4's convergence measure of the fit, in words (empty without a model)."""
    m = res.model
    if m is None or m.scaled_gradient != m.scaled_gradient:  # no model, or no measure (nan)
        return ""
    return f" (scaled gradient {m.scaled_gradient:.1g} at the estimates; lme4 asks for less than 0.002)"


def fixed_effects(res, by: str, instrument: str, knots) -> None:
    """The mixed model in words and its fixed effects, in an expander."""
    with st.expander("The mixed model: fixed effects"):
        where = (
            f"knot at day {knots[0]}, the end of induction"
            if len(knots) == 1
            else f"knots at days {knots_in_words(knots)}"
        )
        st.markdown(
            f"Linear mixed model, REML: {instrument} score ~ {GROUPINGS[by].lower()} x piecewise-linear "
            f"time ({where}), with a random intercept and "
            f"slope per patient. Converged: **{'yes' if res.converged else 'no'}**{convergence(res)}."
        )
        if res.model_formula:
            st.caption(f"Fitted as `{res.model_formula}`.")
        fe = privacy.mark(res.fixed_effects_shown(), threshold())  # a small group's terms: 'withheld*'
        for c in ("estimate", "se"):
            fe[c] = fe[c].map(lambda v: v if isinstance(v, str) else f"{v:.4f}")
        st.dataframe(fe, hide_index=True)
        if privacy.any_marked(fe):
            st.caption(
                f"{privacy.MARK} withheld: the terms of a group of fewer than {threshold()} patients, which would "
                "rebuild the curve the chart withholds."
            )
