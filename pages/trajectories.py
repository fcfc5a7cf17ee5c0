"""Trajectories: how scores change over the course, observed and modelled, by group."""

import streamlit as st

from analysis import access, charts, instruments, trajectory
from ui import cache, gate, session, show, trajectory_view, widgets

d = session.data("Symptom trajectories")
defs, thr = session.definitions(), session.threshold()
c1, c2, c3 = st.columns([3.3, 2.2, 2.5], vertical_alignment="bottom")
instrument = widgets.instrument_choice(d, where=c1)
by = widgets.attribute_choice(d, where=c2)
measure = widgets.measure_choice(where=c3)
lines = widgets.patient_lines_choice(access.can_view_patient_level(gate.role()))
if instrument is None:
    st.warning("The data hold no scores.")
    st.stop()

res = cache.guard(trajectory.trajectories, d.assessments, instrument, by=by, definitions=defs)
observed = trajectory_view.observed(res, measure)
patient_lines = trajectory_view.patient_lines(res, measure) if lines else None
if lines and measure != "score" and patient_lines is None:
    st.caption("Patient lines are drawn on the score view only.")
if not res.converged:
    st.warning("The mixed model did not converge on these data, so its curves are not shown; the observed means are.")
show.plot(
    charts.trajectory_chart,
    observed,
    res.predicted if measure == "score" and res.converged else None,
    patient_lines,
    instruments.get(instrument).band_ranges(),
    defs.induction_end_day,
    instrument,
    measure,
    thr,
    by=widgets.GROUPINGS[by].lower(),
    cutoff=instruments.get(instrument).cutoff,
)
trajectory_view.patients_per_visit(observed, by)
if res.model is not None:
    st.caption(trajectory_view.knots_caption(res.knots, defs.induction_end_day))
if measure == "score":
    trajectory_view.fit_check(res)

st.subheader("Observed means by visit")
trajectory_view.observed_table(observed, by, instrument, measure)
trajectory_view.fixed_effects(res, by, instrument, res.knots)
show.notes(res.notes)
