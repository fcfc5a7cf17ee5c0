"""Safety: how often sessions go wrong, where and when, whether the series gets easier, and (clinicians) who needs a
call about suicidal thoughts."""

import streamlit as st

from analysis import access, safety
from ui import cache, gate, safety_view, session, show

d = session.data("Session safety")
defs = session.definitions()
c1, c2 = st.columns([2, 3])
dimension = c1.selectbox(
    "Rates by", list(safety_view.DIMENSIONS), format_func=safety_view.DIMENSIONS.get, key="safety_by"
)
flags = c2.multiselect(
    "Flags on the chart",
    list(safety.FLAGS),
    default=["surge", "emergent_hypertension", "marked_dissociation"],
    format_func=safety.FLAGS.get,
    key="safety_flags",
)
if d.treatments is None:
    st.warning("Session safety needs a treatments file with the sessions' monitoring record; none was given.")
    st.stop()

sessions = cache.guard_shared(safety.session_flags, d.treatments, defs)  # (one row a session: shared with Dose)
res = cache.guard_shared(safety.session_safety, d.assessments, d.treatments, defs, flags=sessions)
safety_view.headline(res)
safety_view.rates_section(res, dimension, flags)

st.subheader("Does the series get easier?")
safety_view.series_section(res)
st.page_link(
    "pages/dose.py",
    label="Dose and frequency against response and durability: the Dose and frequency page",
    icon=":material/medication:",
)
st.markdown("**Blood-pressure rise by age band**")
safety_view.bp_by_age(res)
st.markdown("**Minutes to discharge by route**")
safety_view.discharge(res)
st.subheader("Adverse events")
safety_view.events(res)
st.subheader("Suicidality (PHQ-9 item 9)")
safety_view.suicidality(res)
if access.can_view_patient_level(gate.role()):
    safety_view.clinician_lists(res, d.treatments, defs)
else:
    st.caption("The lists of flagged sessions and of patients to call are shown to clinicians only.")
show.definition_card(defs)
show.notes(res.notes)
