"""Audit log: who saved, renamed or deleted which data set (by content hash), and who signed in, newest first."""

import streamlit as st

from analysis import access, formatting
from ui import gate, session, show

session.ensure_frame()
st.title("Audit log")
if not access.can_view_audit(gate.role()):
    st.error("The audit log is for managers and clinicians only.")
    st.stop()
st.markdown(
    "Every save, rename and deletion of a saved data set, and every sign-in (and refusal), newest first. "
    "A data set is named by the SHA-256 hash of its content, which stays in the log after a deletion."
)
log = gate.store().audit_log()
if log.empty:
    st.info("Nothing has been logged yet.")
    st.stop()
log = log.assign(
    at=log["at"].dt.strftime("%Y-%m-%d %H:%M:%S"),
    user=log["user"].fillna("(no sign-in)"),
    action=log["action"].str.replace("_", " "),
)
show.table(
    log,
    "audit log",
    key="audit",
    rename={"at": "When (UTC)", "user": "Who", "action": "Action", "dataset_hash": "Data set hash", "detail": "Detail"},
)
st.caption(f"{formatting.count(len(log))} {'entry' if len(log) == 1 else 'entries'} shown (the latest 1,000 at most).")
