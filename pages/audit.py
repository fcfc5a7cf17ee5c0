"""Audit log: who signed in, uploaded, opened, saved, renamed, deleted or downloaded what, with their role, newest
first; and whether the log's hash chain is intact (analysis.audit)."""

import streamlit as st

from analysis import access, formatting
from analysis.errors import DataError
from ui import gate, session, show

session.ensure_frame()
st.title("Audit log")
if not access.can_view_audit(gate.role()):
    st.error("The audit log is for managers, clinicians and admins only.")
    st.stop()
st.markdown(
    "Every sign-in (and refusal), upload, opening of a saved data set, save, rename, deletion and download, with "
    "who did it and their role, newest first. A data set is named by the SHA-256 hash of its content, which stays "
    "in the log after a deletion. Each entry carries a hash chained to the one before it, so an entry changed, "
    "removed or inserted afterwards breaks the chain."
)
try:
    chain, log = gate.store().chain(), gate.store().audit_log()
except DataError as e:
    st.error(f"The audit log cannot be read: {show.text(e)}")
    st.stop()
if chain.intact:
    st.success(
        f"The hash chain is intact: {formatting.count(chain.entries)} entries. Head hash `{chain.head}` "
        "(keep a copy elsewhere: a log rewritten whole from some entry on, or cut short, shows only against it)."
    )
else:
    st.error(f"The hash chain is broken, so the log has been tampered with: {show.text(chain.problem)}")
if log.empty:
    st.info("Nothing has been logged yet.")
    st.stop()
log = log.assign(
    at=log["at"].dt.strftime("%Y-%m-%d %H:%M:%S"),
    user=log["user"].fillna("(no sign-in)"),
    role=log["role"].fillna(formatting.DASH),
    action=log["action"].str.replace("_", " "),
    dataset_hash=log["dataset_hash"].fillna(formatting.DASH),  # (an empty cell of text, not a withheld value)
    detail=log["detail"].fillna(""),
)
show.table(
    log,
    "audit log",
    key="audit",
    rename={
        "at": "When (UTC)",
        "user": "Who",
        "role": "Role",
        "action": "Action",
        "dataset_hash": "Data set hash",
        "detail": "Detail",
    },
)
st.caption(f"{formatting.count(len(log))} {'entry' if len(log) == 1 else 'entries'} shown (the latest 1,000 at most).")
