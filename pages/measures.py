"""Quality measures, for practice managers and payers: MIPS 370/411, NQF 1884/1885 and HEDIS DRR-E for a
reporting period, with the patients behind each (clinicians only)."""

import streamlit as st

from analysis import measures, measures_charts
from ui import cache, measures_view, session, show

d = session.data("Quality measures")
prep = cache.guard_shared(measures.prepare, d.assessments, d.treatments)  # (once for every period and variant)
period_from, period_to, defs = measures_view.inputs(prep, session.definitions())
if period_from is None:
    st.warning(
        "No patient with depression has a PHQ-9 above 9 placed in a calendar month (a start month YYYY-MM is "
        "needed), so there is no index event to measure from."
    )
    st.stop()

res = cache.guard(measures.quality_measures, d.assessments, d.treatments, defs, period_from, period_to, prepared=prep)
st.markdown(
    f"Index events from **{res.period[0]}** to **{res.period[1]}**; the data end in "
    f"**{res.data_end_month}**. Small counts are suppressed on screen and in the download."
)
measures_view.measure_table(res)
measures_view.definitions_in_words(res)
st.subheader("Which row answers which program")
any_score = defs.replace(measure_score="any", measure_window_days=60)  # (the CCBHC reading)
measures_view.readings(
    res,
    cache.guard(
        measures.quality_measures, d.assessments, d.treatments, any_score, period_from, period_to, prepared=prep
    ),
)
show.chart(measures_charts.timeline_chart(res.window_days, res.score_rule))

st.subheader("One measure: who is counted, by site and by index month")
key = measures_view.pick_measure()
measures_view.funnel_and_trends(res, key, session.threshold())

st.subheader("The ketamine course beside the 6- and 12-month measures")
measures_view.course_beside_measures(d, defs, res)

st.subheader("Patients behind the measure")
measures_view.patients_section(res, key)
show.definition_card(defs)
show.notes(res.notes)
