"""Durability: how long response lasts after the induction series, by group, and what shortens it."""

import streamlit as st

from analysis import charts
from ui import cache, durability_view, session, show, widgets

d = session.data("How long response lasts")
c1, c2, c3 = st.columns([3.3, 2, 3])
instrument = widgets.instrument_choice(d, where=c1)
by = widgets.grouping_choice(d, where=c2)
boosters = widgets.booster_choice(session.definitions().booster_handling, where=c3)
defs, thr = session.definitions().replace(booster_handling=boosters), session.threshold()
if instrument is None:
    st.warning("The data hold no scores.")
    st.stop()

# the grouped result, and the ungrouped numbers for the headline from the same episodes (one analysis, not two)
res, overall = cache.guard(durability_view.durability_results, d.assessments, d.treatments, instrument, by, defs)
durability_view.headline(overall, res)
show.plot(charts.km_chart, res.km.table, res.at_risk(), instrument, thr)
st.markdown(durability_view.medians_line(res.groups_shown()))

st.subheader("Median durability and share still responding" + (f", by {widgets.GROUPINGS[by].lower()}" if by else ""))
durability_view.table(res.groups_shown(), by, instrument)

st.subheader("What changes the hazard of losing response")
durability_view.cox_section(res, instrument)
show.definition_card(defs)
show.notes(res.notes)
