"""Compare cohorts: two groups of patients side by side: response, remission, trajectories, durability."""

import streamlit as st

import ui
from analysis import charts, cohorts, instruments
from analysis.outcomes import FUNNEL_COMPLEMENTS

d = ui.data("Compare two cohorts")
defs, thr = ui.definitions(), ui.threshold()
instrument = ui.instrument_choice(d)
if instrument is None:
    st.warning("The data hold no scores.")
    st.stop()
options = ui.guard(cohorts.filter_options, d.assessments, d.treatments, instrument=instrument, definitions=defs)
col_a, col_b = st.columns(2, gap="large")
with col_a:
    a = ui.cohort_inputs("A", options, d, instrument, default_condition=0)
with col_b:
    b = ui.cohort_inputs("B", options, d, instrument, default_condition=1)
sel_a = ui.guard_shared(cohorts.select, d.assessments, d.treatments, instrument=instrument, definitions=defs, **a)
sel_b = ui.guard_shared(cohorts.select, d.assessments, d.treatments, instrument=instrument, definitions=defs, **b)
if sel_a.patients == 0 or sel_b.patients == 0:
    st.warning("One cohort has no patients: widen its filters.")
    st.stop()

cmp = ui.guard(cohorts.compare, sel_a, sel_b, instrument, defs)
st.subheader(f"{instrument} response and remission")
ui.compare_summary(cmp)
ui.plot(charts.rates_chart, cmp.rates, "cohort", thr, f"{instrument} response and remission: cohort A vs cohort B")
ui.table(
    cmp.rates,
    f"{instrument} cohorts",
    counts=ui.FUNNEL,
    shares=ui.COHORT_SHARES,
    complements=FUNNEL_COMPLEMENTS,
    percent=ui.COHORT_RATES,
    ci={
        "response_rate": ("response_lower", "response_upper"),
        "remission_rate": ("remission_lower", "remission_upper"),
    },
    rename=ui.COHORT_NAMES,
    key="cohort_rates",
    hide=("with_baseline", "with_response_assessment"),
)

st.subheader("Trajectories")
traj = ui.cohort_trajectories(sel_a, sel_b, instrument, defs)
ui.plot(
    charts.trajectory_chart,
    traj.observed,
    traj.predicted if traj.converged else None,
    None,
    instruments.get(instrument).band_ranges(),
    defs.induction_end_day,
    instrument,
    threshold=thr,
    by="cohort",
)
st.subheader("How long response lasts")
km, why_not = ui.cohort_durability(sel_a, sel_b, instrument, defs)
if km is not None and len(km.km.table):
    ui.plot(charts.km_chart, km.km.table, km.at_risk(), instrument, thr)
st.markdown(why_not or ui.durability_comparison_text(km))
ui.notes([*sel_a.notes, *sel_b.notes, *cmp.notes, *traj.notes, *(km.notes if km is not None else ())])
