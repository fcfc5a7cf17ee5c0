"""Overview, for practice managers: volumes, completion, response and remission, by site and condition."""

import streamlit as st

from analysis import metrics
from ui import cache, overview_view, session, show, widgets

d = session.data("Practice overview")
defs = session.definitions()
instrument = widgets.instrument_choice(d, where=st.columns([2, 3])[0])
if instrument is None:
    st.warning("The data hold no scores.")
    st.stop()

summary, kpis = cache.guard(metrics.summary_and_kpis, d.assessments, d.treatments, defs, instrument=instrument)

st.markdown(overview_view.practice_line(summary, instrument))
overview_view.kpi_tiles(kpis)
overview_view.at_a_glance(summary, kpis, instrument)
overview_view.monthly_and_funnel(summary, instrument)
overview_view.rate_tables(summary, instrument)
st.caption(
    "Rates are over the evaluable patients (a baseline above 0 and a response assessment), with 95% "
    "Wilson confidence intervals. Followed up: responders with a later score, whose durability can be measured. "
    "Months are start months: the month of each patient's first infusion."
)
show.notes(summary.notes)

st.subheader("Printable report")
st.caption(
    "A PDF of the practice's outcomes for owners, referrers and payers, for the data and filters in force, "
    "with small counts suppressed as on screen."
)
overview_view.report_button(d, defs, instrument)
