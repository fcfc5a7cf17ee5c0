"""Trajectories: how scores change over the course, observed and modelled, by group."""

import streamlit as st

import gate
import ui
from analysis import access, charts, instruments, schema, trajectory

d = ui.data("Symptom trajectories")
defs, thr = ui.definitions(), ui.threshold()
c1, c2, c3, c4 = st.columns([2, 2, 2, 1.3], vertical_alignment="bottom")
instrument = ui.instrument_choice(d, where=c1)
by = (
    ui.grouping_choice(
        d, options={k: v for k, v in ui.GROUPINGS.items() if k in ui.ATTRIBUTES}, where=c2, everyone=False
    )
    or schema.CONDITION
)  # no attribute in the data: one group, 'unknown'

measure = (
    c3.segmented_control(
        "Show",
        ["score", "pct_change"],
        default="score",
        key="measure",
        format_func={"score": "Score", "pct_change": "% improvement"}.get,
    )
    or "score"
)
if access.can_view_patient_level(gate.role()):
    lines = c4.toggle("Patient lines", help="A sample of individual patients, drawn faintly behind the means.")
else:
    lines = False
    c4.caption(
        "Individual patient lines are shown to clinicians only.",
        help="Managers see the aggregate view: group means, intervals and the model's curves.",
    )
if instrument is None:
    st.warning("The data hold no scores.")
    st.stop()

res = ui.guard(trajectory.trajectories, d.assessments, instrument, by=by, definitions=defs)
observed = ui.observed(res, measure)
predicted = res.predicted if measure == "score" and res.converged else None
patient_lines = ui.patient_lines(res, measure) if lines else None
if lines and measure != "score" and patient_lines is None:
    st.caption("Patient lines are drawn on the score view only.")
if not res.converged:
    st.warning("The mixed model did not converge on these data, so its curves are not shown; the observed means are.")
ins = instruments.get(instrument)
ui.plot(
    charts.trajectory_chart,
    observed,
    predicted,
    patient_lines,
    ins.band_ranges(),
    defs.induction_end_day,
    instrument,
    measure,
    thr,
    by=ui.GROUPINGS[by].lower(),
)

st.subheader("Observed means by visit")
cols = [c for c in ("group", "visit", "day", "n", "mean", "sd", "lower", "upper") if c in observed.columns]
ui.table(
    observed[cols].assign(group=observed["group"].map(charts.label)).round(2),
    f"{instrument} trajectory {measure}",
    counts=["n"],
    derived=["mean", "sd", "lower", "upper"],
    rename={
        "group": ui.GROUPINGS[by],
        "visit": "Visit",
        "day": "Day",
        "n": "Patients",
        "mean": "Mean",
        "sd": "SD",
        "lower": "95% CI low",
        "upper": "95% CI high",
    },
)
with st.expander("The mixed model: fixed effects"):
    st.markdown(
        f"Linear mixed model, REML: {instrument} score ~ {ui.GROUPINGS[by].lower()} x piecewise-linear "
        f"time (knot at day {defs.induction_end_day}, the end of induction), with a random intercept and "
        f"slope per patient. Converged: **{'yes' if res.converged else 'no'}**."
    )
    st.dataframe(res.fixed_effects.round(4), hide_index=True)
ui.notes(res.notes)
