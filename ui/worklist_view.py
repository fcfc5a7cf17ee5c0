"""What the Worklist page shows of analysis.worklist (clinicians only): a tile per kind, the list most urgent first
with its reasons in words, a link to the Safety page for item-9 answers, and the CSV and Excel downloads (with the
provenance of the data and card, logged with the role)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analysis import schema as S
from analysis import worklist
from ui import show

RENAME = {
    "priority": "Priority",
    S.PATIENT_ID: "Patient key",
    "kind_words": "Why",
    "reason": "Reason",
    S.CONDITION: "Condition",
    S.SITE: "Site",
    "day_now": "Day now (about)",
    "last_seen_day": "Last seen (day)",
    S.BASELINE: "Baseline",
    "latest_score": "Latest score",
    "latest_day": "Latest score (day)",
}
#: rows of the worklist drawn on screen (an HTML table: every row is drawn), the most urgent; the downloads hold all
ON_SCREEN = 100
#: the columns on screen (a table that wraps its text, so the reasons are read whole)
SCREEN = ("priority", S.PATIENT_ID, "kind_words", "reason", "day_now", "last_seen_day")
TILES = {
    worklist.ITEM9: "Item 9 positive",
    worklist.LOSS: "Loss of response?",
    worklist.NO_RESPONSE: "No response at week 3",
    worklist.DUE: "Score due",
}


def headline(table: pd.DataFrame) -> None:
    """One tile per kind: the patients listed under it (their most urgent kind)."""
    n = worklist.counts(table)
    for col, kind in zip(st.columns(len(worklist.KINDS)), worklist.KINDS):
        col.metric(TILES[kind], f"{n[kind]:,}", border=True, help=worklist.KIND_WORDS[kind])


def calendar_note(assessments: pd.DataFrame) -> None:
    """Says so when the data have no start months: without them no patient can be placed in time, so each is taken
    to be at their last record and patients who left treatment long ago are listed too."""
    months = assessments[S.START_MONTH] if S.START_MONTH in assessments.columns else None
    if months is None or not months.notna().any():
        st.warning(
            "The data have no start months, so the worklist cannot tell when the data end: each patient is taken to "
            "be at their last score or session, and patients who left treatment long ago are listed too."
        )


def listing(table: pd.DataFrame, instrument: str) -> None:
    """The worklist as a table (reasons as plain text) with its downloads."""
    if table.empty:
        st.success("No patient needs action on these data.")
        return
    if (table["kind"] == worklist.ITEM9).any():
        st.page_link(
            "pages/safety.py",
            label="Item-9 answers of every patient, with their history: the Safety page",
            icon=":material/health_and_safety:",
        )
    t = table.assign(kind_words=table["kind"].map(worklist.KIND_WORDS))
    t = t[["priority", S.PATIENT_ID, "kind_words", "reason"] + list(worklist.COLUMNS[4:])]
    download = t.rename(columns=RENAME)
    screen = download[[RENAME[c] for c in SCREEN]].head(ON_SCREEN).copy()
    for c in screen.columns:  # (st.table renders Markdown: every cell as plain text)
        screen[c] = ["" if pd.isna(v) else show.text(f"{v:g}" if isinstance(v, float) else v) for v in screen[c]]
    st.table(screen, hide_index=True)
    more = len(download) > ON_SCREEN
    st.caption(
        (
            f"The {ON_SCREEN:,} most urgent of {len(download):,} patients are on screen; the downloads hold every "
            "one, with "
            if more
            else "The downloads add "
        )
        + "each patient's condition, site, baseline and latest score."
    )
    show.downloads(download, f"worklist {instrument}", "worklist", "worklist", deferred=True)  # (made on the click)
