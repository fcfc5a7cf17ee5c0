"""What the Safety page shows of analysis.dose_response ("Dose and frequency"): response by dose band or induction
density with Wilson CIs, the Kaplan-Meier curves of durability by the same groups with the log-rank test, the Cox
model of both together (forest plot and its numbers), and the first infusion's systolic rise and dissociation against
response (odds ratios, worded as association). Everything shown is already suppressed by analysis/."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analysis import charts, dose_response, formatting
from analysis.errors import DataError
from ui import cache, durability_view, show
from ui.session import threshold

GROUPINGS = dose_response.GROUPINGS


def results(assessments, treatments, instrument: str, definitions, flags=None):
    """(analysis.dose_response.analyse, cached; None) or (None, why) when the data cannot answer. ``flags``: the
    session table (analysis.safety.session_flags, shared with the Safety page), so that it is not made again."""
    try:
        return cache.cached(dose_response.analyse, assessments, treatments, instrument, definitions, flags=flags), None
    except DataError as e:
        return None, str(e)


def response_table(res, grouping: str) -> None:
    shown = res.response_shown(threshold())
    table = shown[shown["grouping"] == grouping].drop(columns=["grouping"])
    show.table(
        table,
        f"response_by_{grouping}",
        percent=("rate",),
        ci={"rate": ("lower", "upper")},
        rename={"group": GROUPINGS[grouping], "evaluable": "Evaluable", "responders": "Responders", "rate": "Response"},
        key=f"dose_response_{grouping}",
    )


def durability(res, grouping: str) -> None:
    """The Kaplan-Meier curves by ``grouping`` (groups under the threshold not drawn) and the log-rank test."""
    dur = res.durability[grouping]
    show.plot(charts.km_chart, dur.km.table, dur.at_risk(), res.instrument, threshold())
    lr = dur.to_json()["logrank"]
    st.markdown(
        f"Log-rank test across the {GROUPINGS[grouping].lower()} groups: "
        + (
            f"chi-squared {lr['chi2']:.2f} on {lr['df']} df, p = {formatting.p_value(lr['p'])}."
            if lr
            else "not available (one group)."
        )
    )


def cox(res) -> None:
    """The Cox model of dose band and density together: forest plot and its numbers."""
    params = res.cox_shown(threshold())
    if params.empty:
        st.info("The Cox model of dose band and density could not be fitted on these data (see the notes).")
        return
    show.plot(
        charts.forest_chart, params, f"Hazard of losing {res.instrument} response by dose band and induction density"
    )
    st.table(durability_view.hazard_table(params, {}).map(show.text), hide_index=True)  # (notes wrapped)
    line = durability_view.model_checks_line(res.cox)
    if line:
        st.caption(line)


def first_infusion(res) -> None:
    """Odds ratios of response for the first infusion's systolic rise and marked dissociation, as association."""
    f = res.logit_shown(threshold())
    if f is None:
        st.info("No first-infusion model: the data hold no systolic rise or dissociation at infusion 1 that varies.")
        return
    rows = [
        {
            "At the first infusion": r["label"],
            "Odds ratio of response (95% CI)": formatting.DASH
            if r["odds_ratio"] is None
            else f"{r['odds_ratio']:.2f} ({r['lower']:.2f} to {r['upper']:.2f})",
            "p": formatting.DASH if r["p"] is None else formatting.p_value(r["p"]),
        }
        for r in f["terms"]
    ]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    st.caption(
        f"Logistic model of response on {res.instrument} among {f['patients']} evaluable patients with both recorded "
        f"({f['responders']} responders). An odds ratio above 1 means response was more common with a larger rise or "
        "with marked dissociation: an association in the practice's data, not proof that either causes response."
    )
