"""Durability: how long response lasts after the induction series, by group, and what shortens it."""

import streamlit as st

import ui
from analysis import charts
from analysis.config import BOOSTER_HANDLINGS

BOOSTERS = {
    "ignore": "Boosters do not stop the clock",
    "censor": "Censor at the first booster",
    "event": "Time to the first booster",
}

d = ui.data("How long response lasts")
c1, c2, c3 = st.columns([2, 2, 3])
instrument = ui.instrument_choice(d, where=c1)
by = ui.grouping_choice(d, where=c2)
boosters = c3.selectbox(
    "Boosters",
    BOOSTER_HANDLINGS,
    index=BOOSTER_HANDLINGS.index(ui.definitions().booster_handling),
    format_func=BOOSTERS.get,
    key="boosters",
)
defs, thr = ui.definitions().replace(booster_handling=boosters), ui.threshold()
if instrument is None:
    st.warning("The data hold no scores.")
    st.stop()

# the grouped result, and the ungrouped numbers for the headline from the same episodes (one analysis, not two)
res, overall = ui.guard(ui.durability_results, d.assessments, d.treatments, instrument, by, defs)
ui.durability_headline(overall, res)
ui.plot(charts.km_chart, res.km.table, res.at_risk(), instrument, thr)
st.markdown(ui.medians_line(res.groups_shown()))

st.subheader("Median durability and share still responding" + (f", by {ui.GROUPINGS[by].lower()}" if by else ""))
ui.durability_table(res.groups_shown(), by, instrument)

st.subheader("What changes the hazard of losing response")
if res.cox is None:
    st.info("The Cox model could not be fitted on these data (see the notes).")
else:
    ui.plot(charts.forest_chart, res.cox.params, f"Hazard of losing {instrument} response (Cox model, Efron ties)")
with st.expander("The definition card in force"):
    st.markdown("\n".join(f"- {line}" for line in defs.description()))
    st.json(defs.to_dict(), expanded=False)
ui.notes(res.notes)
