"""What the Trajectories page shows of analysis.trajectory: the observed means (score or percent change), the
sample of patient lines, the table of observed means and the mixed model's fixed effects."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analysis import charts
from ui import show
from ui.widgets import GROUPINGS

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
    """The observed means of a Trajectories result for 'score' or 'pct_change'."""
    frame = res.observed
    if "measure" in frame.columns:
        return frame[frame["measure"] == measure]
    if measure != "score":
        return res.observed_pct
    return frame


def patient_lines(res, measure: str) -> pd.DataFrame | None:
    """The sample of individual patient lines (score or percent change)."""
    lines = res.lines
    if lines is None or not len(lines):
        return None
    if measure != "score":
        col = next((c for c in ("pct_change", "percent_change") if c in lines.columns), None)
        return (
            None
            if col is None
            else lines.assign(score=100 * lines[col] if lines[col].abs().max() <= 1.5 else lines[col])
        )
    return lines


def observed_table(frame: pd.DataFrame, by: str, instrument: str, measure: str) -> None:
    """The observed means by visit, suppressed (patients are counts; means and intervals rest on them)."""
    cols = [c for c in ("group", *OBSERVED_NAMES) if c in frame.columns]
    show.table(
        frame[cols].assign(group=frame["group"].map(charts.label)).round(2),
        f"{instrument} trajectory {measure}",
        counts=["n"],
        derived=["mean", "sd", "lower", "upper"],
        rename={"group": GROUPINGS[by], **OBSERVED_NAMES},
    )


def fixed_effects(res, by: str, instrument: str, knot: int) -> None:
    """The mixed model in words and its fixed effects, in an expander."""
    with st.expander("The mixed model: fixed effects"):
        st.markdown(
            f"Linear mixed model, REML: {instrument} score ~ {GROUPINGS[by].lower()} x piecewise-linear "
            f"time (knot at day {knot}, the end of induction), with a random intercept and "
            f"slope per patient. Converged: **{'yes' if res.converged else 'no'}**."
        )
        st.dataframe(res.fixed_effects.round(4), hide_index=True)
