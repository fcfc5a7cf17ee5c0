"""Saved data sets on the Data page (analysis.store, opened through ui.gate.store()): where the one in use came
from, Save for a usable upload, the list with Open, Rename and Delete, and the store's check (a damaged data set
is marked in the list, says why, and can be deleted)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analysis import formatting
from analysis.config import MAX_DATASET_NAME_LENGTH
from analysis.errors import DataError
from ui import gate, session
from ui.show import count, text

_CHECKED = "_store_checked"  # session state: the store was checked in this session


def note(info) -> str:
    """Where a saved data set came from, in one line."""
    by = f" by {text(info.uploaded_by)}" if info.uploaded_by else ""
    return (
        f"**{text(info.name)}** is a saved data set: {count(info.rows)} scores of {count(info.patients)} patients, uploaded "
        f"{info.uploaded_at:%Y-%m-%d %H:%M} UTC{by}. It was checked when it was uploaded: "
        + (
            "the validation report below is that check."
            if info.issues is not None
            else "that report was not kept (saved before reports were kept)."
        )
    )


def save_form(loaded) -> None:
    """A name and Save for a usable upload; the saved data set becomes the one in use."""
    with st.form("save_dataset", border=False):
        left, right = st.columns([3, 1], vertical_alignment="bottom")
        name = left.text_input(
            "Save this upload as", max_chars=MAX_DATASET_NAME_LENGTH, placeholder="e.g. North clinic, November"
        )
        saving = right.form_submit_button("Save", type="primary", icon=":material/save:")
    if saving:
        try:
            info = gate.store().save(name, loaded, user=gate.user(), role=gate.role())
            session.use_saved(info)
        except DataError as e:
            st.error(text(e))
            return
        message = (
            f"Saved as **{text(info.name)}** ({count(info.rows)} scores, {count(info.patients)} patients). The dashboard "
            "opens on it next time."
            if info.created
            else text(info.notes[0])
        )
        session.flash("success" if info.created else "info", message)
        st.rerun()


def saved_list() -> None:
    """The saved data sets, with Open, Rename and Delete (Delete asks for a confirmation)."""
    session.show_flash()
    store = gate.store(warn_in=st)
    if store is None:
        return
    try:
        if st.session_state.get(_CHECKED) is None:  # once per session, and on request: every block is read
            found = store.check()
            st.session_state[_CHECKED] = [p for p in found.problems if not p.startswith("data set #")]
        saved = store.list()
    except DataError as e:
        st.error(f"The saved data sets cannot be listed: {text(e)}")
        return
    for problem in st.session_state[_CHECKED]:
        st.warning(f"The check of the saved data sets found: {text(problem)}")
    damaged = store.damaged()
    for dataset_id, reason in damaged.items():
        name = saved.loc[saved["id"] == dataset_id, "name"]
        if len(name):
            st.error(
                f"**{text(name.iloc[0])}** (#{dataset_id}) is damaged and cannot be opened: {text(reason)} "
                "Delete it below and upload its files again."
            )
    if saved.empty:
        st.write("No saved data sets yet: upload an export in the sidebar, then save it here.")
        return
    current = session.dataset_in_use()
    st.dataframe(
        pd.DataFrame(
            {
                "Name": [n + (" (in use)" if i == current else "") for i, n in zip(saved["id"], saved["name"])],
                "Status": ["damaged" if i in damaged else "ok" for i in saved["id"]],
                "Uploaded (UTC)": saved["uploaded_at"].dt.strftime("%Y-%m-%d %H:%M"),
                "By": saved["uploaded_by"].fillna(formatting.DASH),
                "Scores": [count(n) for n in saved["rows"]],
                "Patients": [count(n) for n in saved["patients"]],
            }
        ),
        hide_index=True,
        width="stretch",
    )
    labels = {
        int(i): f"{n} ({t:%Y-%m-%d %H:%M})" + (" (damaged)" if i in damaged else "")
        for i, n, t in zip(saved["id"], saved["name"], saved["uploaded_at"])
    }
    chosen = st.selectbox("Data set", list(labels), format_func=labels.get, key="saved_choice")
    c1, c2, c3 = st.columns(3)
    try:
        if c1.button(
            "Open", type="primary", icon=":material/folder_open:", disabled=chosen == current or chosen in damaged
        ):
            session.use_saved(store.info(chosen))
            st.rerun()
        new_name = c2.text_input("New name", key=f"rename_{chosen}")
        if c2.button("Rename"):  # an empty name: the store's DataError says so
            renamed = store.rename(chosen, new_name, user=gate.user(), role=gate.role())
            session.flash("success", f"Renamed to **{text(renamed.name)}**.")
            st.rerun()
        sure = c3.checkbox("Yes, delete it for everyone", key=f"confirm_delete_{chosen}")
        if c3.button("Delete", disabled=not sure, icon=":material/delete:"):
            old = store.delete(chosen, user=gate.user(), role=gate.role())
            session.forget_saved(chosen)
            session.flash("success", f"Deleted **{text(old.name)}**.")
            st.rerun()
    except DataError as e:
        st.error(text(e))
    if st.button(
        "Check every saved data set", icon=":material/fact_check:", help="Reads every block of every data set"
    ):
        st.session_state[_CHECKED] = None
        st.rerun()
