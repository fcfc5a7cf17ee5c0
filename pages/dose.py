"""Dose and frequency: response and durability by dose band and induction density, their Cox model, and whether the
blood-pressure rise or dissociation at the first infusion goes with response."""

import streamlit as st

from analysis import safety
from ui import cache, dose_view, session, show, widgets

d = session.data("Dose and frequency")
defs = session.definitions()
if d.treatments is None:
    st.warning("Dose and frequency need a treatments file with the sessions and their doses; none was given.")
    st.stop()
c1, c2 = st.columns([3, 2])
instrument = widgets.instrument_choice(d, key="dose_instrument", where=c1)
grouping = c2.radio(
    "By", list(dose_view.GROUPINGS), format_func=dose_view.GROUPINGS.get, key="dose_by", horizontal=True
)
st.caption(
    "Each patient's dose band is the median dose of their induction sessions (mg/kg; mg for intranasal "
    "esketamine); induction density is the number of infusions in their first 14 days. What goes with response "
    "here is an association in this practice's data (patients who stop early have fewer infusions), not an effect "
    "of the dose."
)
flags = cache.guard_shared(safety.session_flags, d.treatments, defs)  # (one row a session: shared with Safety)
dose, why = (
    dose_view.results(d.assessments, d.treatments, instrument, defs, flags) if instrument else (None, "No scores.")
)
if dose is None:
    st.info(show.text(why))
    st.stop()
st.markdown(f"**Response on {instrument}**")
dose_view.response_table(dose, grouping)
dose_view.durability(dose, grouping)
dose_view.cox(dose)
st.markdown("**Blood-pressure rise and dissociation at the first infusion, and response**")
dose_view.first_infusion(dose)
show.definition_card(defs)
show.notes(dose.notes)
