"""Worklist (clinicians only): the patients who need something done now, most urgent first, each with its reason."""

import streamlit as st

from analysis import access, worklist
from ui import cache, gate, session, widgets, worklist_view

if not access.can_view_patient_level(gate.role()):
    st.title("Clinician's worklist")
    st.info("The worklist names patients: it is shown to clinicians only.")
    st.stop()

d = session.data("Clinician's worklist")
c1, _ = st.columns([3.3, 4])
instrument = widgets.instrument_choice(d, key="worklist_instrument", where=c1)
defs = session.definitions()
if instrument is None:
    st.warning("The data hold no scores.")
    st.stop()

table = cache.guard(worklist.worklist, d.assessments, d.treatments, instrument, defs)
worklist_view.headline(table)
worklist_view.calendar_note(d.assessments)
r0, r1 = defs.response_window
st.caption(
    f"Most urgent first: PHQ-9 item 9 answered 1 or more, then responders whose latest {instrument} no longer meets "
    f"the response threshold, then patients without a response at the response assessment (days {r0} to {r1}), "
    f"then patients inside that window without a score yet. Only patients seen in the last {worklist.ACTIVE_DAYS} "
    "days are listed. 'Now' is where the data end; a patient's day now is counted from the first day of their start "
    "month (only the month is kept), so it may be up to a month ahead."
)
worklist_view.listing(table, instrument)
