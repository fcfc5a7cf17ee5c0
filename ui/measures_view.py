"""What the Measures page shows of analysis.measures: the reporting-period and variant inputs, the measure table
(suppressed, with its CSV), each measure's definition in words, the timeline, funnel and trends, the
ketamine-course rates beside the 6- and 12-month measures, and, for clinicians, the patients behind each
measure (who is due for a PHQ-9 in an open window)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analysis import access, formatting, measures, measures_charts, metrics, schema
from analysis.card import MEASURE_SCORES
from ui import cache, gate, show

SCORE_RULES = {"most_recent": "Most recent PHQ-9 in the window", "any": "Any PHQ-9 in the window (CCBHC)"}
TABLE_NAMES = {
    "measure": "Measure",
    "name": "Name",
    "window": "Window after the index event",
    "eligible": "Index events",
    "excluded": "Excluded",
    "not_reached": "Window not yet closed",
    "denominator": "Denominator",
    "numerator": "Numerator (met)",
    "not_met": "Not met",
    "no_score": "No score in window",
    "rate": "Rate (95% CI)",
}
PATIENT_NAMES = {
    schema.PATIENT_ID: "Patient",
    "measure": "Measure",
    schema.SITE: "Site",
    "index_month": "Index month",
    "index_day": "Index day",
    "index_score": "Index PHQ-9",
    "window_from_day": "Window from day",
    "window_to_day": "Window to day",
    "disposition": "Disposition",
    "deciding_day": "Deciding score's day",
    "deciding_score": "Deciding PHQ-9",
    "window_state": "Window at the data end",
    "due": "Due for a PHQ-9 now",
}


def index_months(d, defs) -> list[str]:
    """The index months present in the data (every patient's first PHQ-9 above 9 and later ones)."""
    res = cache.guard(measures.quality_measures, d.assessments, d.treatments, defs)
    return sorted(set(res.patients["index_month"].dropna()))


def inputs(d, defs):
    """Reporting period and the card's two measure settings (defaulting to the card): (from, to, definitions)."""
    c1, c2, c3, c4 = st.columns([1.2, 2.4, 2.2, 1.4])
    how = c1.radio("Reporting period", ("Year", "Month range"), key="measures_period_kind")
    rule = c3.selectbox(
        "Score that decides",
        MEASURE_SCORES,
        index=MEASURE_SCORES.index(defs.measure_score),
        format_func=SCORE_RULES.get,
        key="measures_rule",
    )
    width = c4.selectbox(
        "Window", (60, 30), index=(60, 30).index(defs.measure_window_days), format_func=lambda w: f"+/- {w} days"
    )
    defs = defs.replace(measure_score=rule, measure_window_days=width)
    months = index_months(d, defs)
    if not months:
        return None, None, defs
    if how == "Year":
        years = sorted({m[:4] for m in months}, reverse=True)
        # default: the year before the latest (whose 6-month windows have mostly closed)
        year = c2.selectbox("Index year", years, index=min(1, len(years) - 1), key="measures_year")
        return f"{year}-01", f"{year}-12", defs
    lo, hi = c2.select_slider("Index months", options=months, value=(months[0], months[-1]), key="measures_months")
    return lo, hi, defs


def definitions_in_words(res) -> None:
    """Each measure's denominator and numerator in words (text of this module, not of the data)."""
    with st.expander("The measures' definitions", expanded=False):
        st.markdown(
            "**Denominator:** patients with depression (not bipolar: excluded and counted apart) whose first "
            "PHQ-9 above 9 in the reporting period (the *index event*) falls in an index month of the period, and "
            "whose window has closed by the data's last day. A patient with no PHQ-9 in the window stays in the "
            "denominator and is not met."
        )
        lines = []
        for m in measures.MEASURES:
            lo, hi = m.window(res.window_days)
            lines.append(
                f"- **{m.key}**, {m.name} ({m.programs}): window days {lo}-{hi} after the index event; "
                f"met when {m.numerator_in_words(res.score_rule)}."
            )
        st.markdown("\n".join(lines))


def measure_table(res) -> pd.DataFrame:
    """The measure table as shown (suppressed jointly with the trends), with its CSV and Excel downloads."""
    table, _, _ = res.shown()
    return show.table(table, "quality measures", percent=("rate",), ci={"rate": ("lower", "upper")}, rename=TABLE_NAMES)


def pick_measure() -> str:
    names = measures_charts.measure_names()
    return st.selectbox("Measure", list(names), format_func=names.get, key="measures_pick")


def funnel_and_trends(res, key: str, threshold: int) -> None:
    table, by_month, by_site = res.shown()
    row = table[table["measure"] == key].iloc[0].to_dict()
    left, right = st.columns(2)
    with left:
        show.chart(measures_charts.disposition_funnel(row, threshold))
    with right:
        show.chart(measures_charts.trend_chart(by_site, key, "site"))
    show.chart(measures_charts.trend_chart(by_month, key, "month"))


def course_beside_measures(d, defs, res) -> None:
    """The ketamine course's PHQ-9 response and remission (the Overview's) beside the 6- and 12-month measures."""
    summary = cache.guard(metrics.summary, d.assessments, d.treatments, defs)
    rates = summary.suppressed_rates()
    row = rates[(rates[schema.INSTRUMENT] == "PHQ9") & (rates[schema.DIMENSION] == schema.OVERALL)]
    table = res.shown()[0].set_index("measure")

    def rate(r, k):
        return formatting.rate_ci(r[f"{k}_rate"], r[f"{k}_lower"], r[f"{k}_upper"]) if len(row) else "—"

    def m(key):
        t = table.loc[key]
        return formatting.rate_ci(t["rate"], t["lower"], t["upper"]), show.text(t["denominator"])

    r = row.iloc[0] if len(row) else None
    lo, hi = defs.response_window
    lines = [
        "| | window | denominator | response | remission |",
        "|---|---|---|---|---|",
        f"| Ketamine course (Overview) | days {lo}-{hi} after the first infusion | "
        f"{'—' if r is None else show.text(r[schema.EVALUABLE])} evaluable | "
        f"{'—' if r is None else rate(r, 'response')} | {'—' if r is None else rate(r, 'remission')} |",
    ]
    for label, resp, remit in (("6 months", "NQF 1884", "MIPS 411"), ("12 months", "NQF 1885", "MIPS 370")):
        (rr, den), (rm, _) = m(resp), m(remit)
        lines.append(
            f"| {label} ({resp} / {remit}) | {table.loc[resp, 'window']} after the index event | {den} | {rr} | {rm} |"
        )
    st.markdown("\n".join(lines))
    st.caption(
        "Why they differ: the course figures read the first PHQ-9 two to four weeks after the first infusion, "
        "among patients with a baseline and that score; the measures read the PHQ-9 6 or 12 months after the "
        "first PHQ-9 above 9, when the effect of an induction series has often faded, and their denominator "
        "counts every patient whose window has closed, a patient without a score in it as not met."
    )


def patients_section(res, key: str) -> None:
    """For clinicians: the patients behind the chosen measure, who is due now, and the list's CSV."""
    if not access.can_view_patient_level(gate.role()):
        st.info("The patients behind each measure are shown to clinicians only.")
        return
    due_only = st.toggle("Only patients due for a PHQ-9 in an open window", key="measures_due")
    p = measures.patient_list(res, key, due_only=due_only)
    due = int(measures.patient_list(res, key, due_only=True).shape[0])
    st.markdown(
        f"**{due}** patient(s) have an open window without a PHQ-9 yet: a score before the window closes still counts."
    )
    st.dataframe(p.rename(columns=PATIENT_NAMES), hide_index=True, width="stretch")
    show.csv_download(
        p.rename(columns=PATIENT_NAMES),
        "Download the patient list (CSV)",
        f"measure_patients_{key.lower().replace(' ', '_')}.csv",
        key="measures_patients_csv",
    )
