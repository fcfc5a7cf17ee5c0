"""Data: what was read from the files, how the columns were mapped, and every problem found."""

import streamlit as st

from ui import data_view, saved_view, session, show

session.data("Your data", need_ok=False)
loaded, saved = session.loaded(), session.saved()
st.markdown(
    "Upload your EHR export with the **file picker in the sidebar**: CSV files, Excel workbooks (.xlsx) or a FHIR "
    "export (.json, .ndjson) of scores (one row per completed scale, or item by item), plus the treatments (one "
    "row per infusion) if you have them. Each file's role is decided from what it holds, and you can change it. "
    "Column names may be your EHR's own: they are matched to the names below, and you can correct the "
    "match here. Without an upload the dashboard shows a synthetic sample practice."
)
if loaded is None:
    st.stop()

if loaded.ok:
    st.success(f"**{show.text(session.source())}**: usable.")
else:
    data_view.refusal(loaded)
info, text = data_view.report(loaded)
data_view.counts(loaded, info)
if saved is not None:
    st.info(saved_view.note(saved))
elif session.uploaded() and loaded.ok:
    saved_view.save_form(loaded)
st.subheader("Saved data sets")
saved_view.saved_list()

st.subheader("What each file holds")
data_view.roles_editor(loaded)
st.subheader("Column mapping")
st.caption(
    "How each column of your files was read. Change a **target** and press *Apply* to correct it; "
    "choose *ignore* to leave a column out."
)
data_view.mapping_editor(loaded)
st.subheader("Validation report")
data_view.issues_table(loaded)
data_view.report_text(text)
