"""Compare cohorts: two groups of patients side by side: response, remission, trajectories, durability."""

import streamlit as st

from analysis import charts, cohorts, instruments, schema
from ui import cache, cohort_view, session, show, trajectory_view, widgets

d = session.data("Compare two cohorts")
defs, thr = session.definitions(), session.threshold()
instrument = widgets.instrument_choice(d)
if instrument is None:
    st.warning("The data hold no scores.")
    st.stop()
options = cache.guard(cohorts.filter_options, d.assessments, d.treatments, instrument=instrument, definitions=defs)
col_a, col_b = st.columns(2, gap="large")
with col_a:
    a = widgets.cohort_inputs("A", options, d, instrument, default_condition=0)
with col_b:
    b = widgets.cohort_inputs("B", options, d, instrument, default_condition=1)
sel_a = cache.guard_shared(cohorts.select, d.assessments, d.treatments, instrument=instrument, definitions=defs, **a)
sel_b = cache.guard_shared(cohorts.select, d.assessments, d.treatments, instrument=instrument, definitions=defs, **b)
if sel_a.patients == 0 or sel_b.patients == 0:
    st.warning("One cohort has no patients: widen its filters.")
    st.stop()

names = cohort_view.labels(sel_a, sel_b)  # what each cohort is, in the legends and tables
cmp = cache.guard(cohorts.compare, sel_a, sel_b, instrument, defs, labels=names)
if cmp.withheld:  # cohorts too close to be shown side by side (analysis.privacy.cohorts_too_close)
    st.warning(cmp.withheld)
    st.stop()
st.subheader(f"{instrument} response and remission")
cohort_view.summary(cmp)
show.plot(charts.rates_chart, cmp.rates, schema.COHORT, thr, f"{instrument} response and remission by cohort")
cohort_view.rates_table(cmp, instrument)

st.subheader("Trajectories")
traj = cohort_view.trajectories(sel_a, sel_b, instrument, defs, names)
show.chart(
    cohort_view.legend_below(
        cache.chart(
            charts.trajectory_chart,
            traj.observed,
            traj.predicted if traj.converged else None,
            None,
            instruments.get(instrument).band_ranges(),
            defs.induction_end_day,
            instrument,
            threshold=thr,
            by=schema.COHORT,
        )
    )
)
trajectory_view.fit_check(traj)
st.subheader("How long response lasts")
km, why_not = cohort_view.durability(sel_a, sel_b, instrument, defs)
cohort_view.durability_comparison(km, why_not, instrument, names)
show.notes(cohort_view.clinician_notes(sel_a.notes, sel_b.notes, cmp.notes, traj.notes, km.notes if km else ()))
