"""Data: what was read from the files, how the columns were mapped, and every problem found."""

import streamlit as st

import ui
from analysis import privacy, schema

ui.data("Your data", need_ok=False)
loaded, source = st.session_state.get("_loaded"), st.session_state.get("_source")
st.markdown(
    "Upload your EHR export with the **file picker in the sidebar**: one or more CSV files of scores "
    "(one row per completed scale), plus a treatments file (one row per infusion) if you have one. "
    "Column names may be your EHR's own: they are matched to the names below, and you can correct the "
    "match here. Without an upload the dashboard shows a synthetic sample practice."
)
if loaded is None:
    st.stop()

if not loaded.ok:
    st.error("**These files were not used.**\n\n" + "\n\n".join(ui.errors(loaded)))
    if loaded.issues["code"].astype(str).str.startswith("PHI").any():
        ui.phi_explained()
else:
    st.success(f"**{source}**: usable.")
info, text = ui.cached(ui.load_report, loaded)
c = st.columns(4)
c[0].metric("Rows read (all files)", f"{info['rows_read']:,}")
c[1].metric("Score rows kept", f"{info['rows_kept']:,}")
c[2].metric("Treatment rows", "none" if loaded.treatments is None else f"{len(loaded.treatments):,}")
c[3].metric("Patients with scores", privacy.show_count(info["patients"], ui.threshold()))
st.markdown(f"**Instruments found:** {', '.join(info['instruments']) or 'none'}")
saved = st.session_state.get("_saved")
if saved is not None:
    st.info(ui.saved_note(saved))
elif st.session_state.get("files") and loaded.ok:
    ui.save_form(loaded)
st.subheader("Saved data sets")
ui.saved_list()

st.subheader("Column mapping")
st.caption(
    "How each column of your files was read. Change a **target** and press *Apply* to correct it; "
    "choose *ignore* to leave a column out."
)
mapping = loaded.mapping.astype(str)
targets = sorted(
    {*schema.ASSESSMENT_COLUMNS, *schema.TREATMENT_COLUMNS, schema.DATE, "age", "ignore", *mapping["target"].unique()}
)
if mapping.empty:
    st.write("No columns were read.")
elif saved is not None:  # as saved: a correction needs the files, uploaded again
    st.dataframe(mapping, hide_index=True, width="stretch")
else:
    edited = st.data_editor(
        mapping,
        hide_index=True,
        width="stretch",
        key=f"mapping_{len(mapping)}",
        height=min(36 * (len(mapping) + 1) + 4, 640),
        disabled=[c for c in mapping.columns if c != "target"],
        column_config={"target": st.column_config.SelectboxColumn("target", options=targets)},
    )
    overrides = {**st.session_state.get("overrides", {}), **ui.changed_targets(mapping, edited)}
    a, b, _ = st.columns([1, 1, 4])
    if a.button("Apply", type="primary", disabled=overrides == st.session_state.get("overrides", {})):
        st.session_state["overrides"] = overrides
        st.rerun()
    if b.button("Reset mapping", disabled=not st.session_state.get("overrides")):
        st.session_state["overrides"] = {}
        st.rerun()
st.subheader("Validation report")
issues = loaded.issues.assign(rows=loaded.issues["rows"].map(ui.rows_text))
if saved is not None:
    st.caption(
        f"As found when the files were imported and saved ({saved.uploaded_at:%Y-%m-%d %H:%M} UTC)."
        if saved.issues is not None
        else "Not kept: this data set was saved before validation reports were kept."
    )
if issues.empty:
    if saved is None or saved.issues is not None:
        st.write("No problems found.")
else:
    ui.table(issues, "validation report", key="issues")
with st.expander("The report as text"):
    st.code(text, language=None)
