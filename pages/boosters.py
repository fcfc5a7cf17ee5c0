"""Boosters: how soon patients need a booster after the induction series, how many they have per year, the days
between boosters and whether scores improve after one."""

import streamlit as st

from analysis import boosters
from ui import booster_view, cache, session, widgets

d = session.data("Boosters after the induction series")
c1, c2 = st.columns([3.3, 2])
instrument = widgets.instrument_choice(d, where=c1)
options = {k: v for k, v in widgets.GROUPINGS.items() if k in d.assessments.columns}
by = widgets.grouping_choice(d, key="boosters_by", options=options, where=c2)
defs, thr = session.definitions(), session.threshold()
if d.treatments is None:
    st.warning("Boosters need a treatments file (sessions with their kind: induction, booster); none was given.")
    st.stop()

res = cache.guard(boosters.analyse, d.assessments, d.treatments, instrument, by, defs)
distribution = cache.cached(boosters.interval_distribution, d.treatments, thr)
booster_view.section(res, by, instrument or "Scores", distribution)
