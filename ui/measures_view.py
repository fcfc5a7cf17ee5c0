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
    "numerator": "Met",
    "not_met": "Not met",
    "no_score": "No score in window",
    "rate": "Rate (95% CI)",
}
PATIENT_NAMES = {  # (in the order of the list on screen; the measure is picked above it)
    schema.PATIENT_ID: "Patient",
    "disposition": "Disposition",
    "index_month": "Index month",
    "index_day": "Index day",
    "index_score": "Index PHQ-9",
    "deciding_day": "Deciding score's day",
    "deciding_score": "Deciding PHQ-9",
    "window_from_day": "Window from day",
    "window_to_day": "Window to day",
    "window_state": "Window at the data end",
    "due": "Due for a PHQ-9 now",
    schema.SITE: "Site",
    "measure": "Measure",
}


def inputs(prep, defs):
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
    months = cache.guard(measures.index_months_of, prep)
    if not months:
        return None, None, defs
    if how == "Year":
        years = sorted({m[:4] for m in months}, reverse=True)
        first = measures.default_period(months)[0][:4]
        year = c2.selectbox("Index year", years, index=years.index(first), key="measures_year")
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


#: the measure table's columns on screen and in its downloads: what a submission needs first
TABLE_ORDER = ("measure", "name", "denominator", "numerator", "rate", "lower", "upper", "not_met", "no_score")
TABLE_ORDER += ("excluded", "not_reached", "eligible", "window")


def measure_table(res) -> pd.DataFrame:
    """The measure table as shown (suppressed jointly with the trends), with its CSV and Excel downloads: on
    screen in two tabs (what a submission reports; how the index events were counted), each download whole."""
    table = res.shown()[0][list(TABLE_ORDER)]
    submission, events = st.tabs(["What a submission reports", "How the index events were counted"])
    hidden = {"submission": ("eligible", "excluded", "not_reached", "window"), "events": TABLE_ORDER[4:9]}
    for tab, key in ((submission, "submission"), (events, "events")):
        with tab:
            shown = show.table(
                table,
                "quality measures",
                percent=("rate",),
                ci={"rate": ("lower", "upper")},
                rename=TABLE_NAMES,
                hide=hidden[key],
                key=f"quality_measures_{key}",
            )
    st.caption(
        "Denominator = met + not met + no score in the window; index events = denominator + excluded + window "
        f"not yet closed. A count under {res.threshold} reads '<{res.threshold}', and a value from which one could "
        "be worked out 'withheld'."
    )
    return shown


def rate_in_words(row) -> str:
    """A suppressed measure row's rate with its interval, or why there is none ('<11 met', 'withheld', 'no
    denominator yet')."""
    if not formatting.missing(row["rate"]):
        return formatting.rate_ci(row["rate"], row["lower"], row["upper"])
    if isinstance(row["numerator"], str):
        return f"{row['numerator']} met"
    return "no denominator yet" if row["denominator"] == 0 else "withheld"


def readings(res, ccbhc) -> None:
    """Which row answers which program (analysis.measures.READINGS), with this period's figures; ``ccbhc``:
    the same period read with any PHQ-9 in the window (the CCBHC reading)."""
    table = res.shown()[0].set_index("measure")
    rates = {k: rate_in_words(table.loc[k]) for k in table.index}
    any_row = ccbhc.shown()[0].set_index("measure").loc["MIPS 411"]
    figures = (
        f"MIPS 370: {rates['MIPS 370']}; MIPS 411: {rates['MIPS 411']}",
        f"NQF 1884: {rates['NQF 1884']}; NQF 1885: {rates['NQF 1885']}",
        f"follow-up {rates['DRR-E follow-up']}; remission {rates['DRR-E remission']}; response "
        f"{rates['DRR-E response']}",
        f"{rate_in_words(any_row)} (+/- {ccbhc.window_days} days)",
        "the table above, the trends below",
    )
    lines = ["| Program | What it asks | Here | This period |", "|---|---|---|---|"]
    lines += [f"| {p} | {what} | {where} | {f} |" for (p, what, where), f in zip(measures.READINGS, figures)]
    st.markdown("\n".join(lines))
    variant = (
        ""
        if (res.window_days, res.score_rule) == (60, "most_recent")
        else (
            f" This period is read with the variant picked above (+/- {res.window_days} days, "
            f"{SCORE_RULES[res.score_rule].lower()}), not the programs' own definitions (the CCBHC figure is read as CCBHC reads it)."
        )
    )
    st.caption(
        f"A rate is withheld where its numerator or denominator is under {res.threshold} or would reveal one." + variant
    )


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
        _trend(by_site, key, "site", threshold)
    _trend(by_month, key, "month", threshold)


def _trend(groups, key: str, by: str, threshold: int) -> None:
    """A trend chart, or a line saying why there is none (no group whose rate may be shown)."""
    c = measures_charts.trend_chart(groups, key, by)
    if measures_charts.drawn_groups(groups, key):
        show.chart(c)
        return
    word = "site" if by == "site" else "index month"
    st.markdown(f"**{key} by {word}**")
    st.info(
        f"No {word} has a rate that may be shown for {key} in this period: each has a numerator or a "
        f"denominator under {threshold}, or no closed window yet. A longer period (Month range) gathers more "
        "patients per group."
    )


def course_beside_measures(d, defs, res) -> None:
    """The ketamine course's PHQ-9 response and remission (the Overview's) beside the 6- and 12-month measures."""
    summary = cache.guard(metrics.summary, d.assessments, d.treatments, defs)
    rates = summary.suppressed_rates()
    row = rates[(rates[schema.INSTRUMENT] == "PHQ9") & (rates[schema.DIMENSION] == schema.OVERALL)]
    table = res.shown()[0].set_index("measure")

    def rate(r, k):
        return formatting.rate_ci(r[f"{k}_rate"], r[f"{k}_lower"], r[f"{k}_upper"]) if len(row) else "—"

    def m(key):
        return rate_in_words(table.loc[key]), formatting.count(table.loc[key, "denominator"])

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
    st.markdown(f"**Why they differ:** {measures.WHY_COURSE_DIFFERS}")


def patients_on_screen(p: pd.DataFrame) -> pd.DataFrame:
    """The patient list as read on screen: a score with its day in one cell, the window as 'from to to' (the
    download keeps every column apart)."""

    def with_day(score, day) -> str:
        return (
            formatting.DASH if formatting.missing(score) else f"{formatting.whole(score)} (day {formatting.whole(day)})"
        )

    return pd.DataFrame(
        {
            "Patient": p[schema.PATIENT_ID].to_numpy(),
            "Disposition": p["disposition"].to_numpy(),
            "Index PHQ-9": [with_day(s, d) for s, d in zip(p["index_score"], p["index_day"])],
            "Deciding PHQ-9": [with_day(s, d) for s, d in zip(p["deciding_score"], p["deciding_day"])],
            "Window, days": [
                f"{formatting.whole(a)} to {formatting.whole(b)}"
                for a, b in zip(p["window_from_day"], p["window_to_day"])
            ],
            "At the data end": p["window_state"].to_numpy(),
            "Due now": p["due"].to_numpy(),
            "Site": p[schema.SITE].astype(object).fillna(formatting.DASH).to_numpy(),
        }
    )


def patients_section(res, key: str) -> None:
    """For clinicians: the patients behind the chosen measure, who is due now, and the list's CSV."""
    if not access.can_view_patient_level(gate.role()):
        st.info("The patients behind each measure are shown to clinicians only.")
        return
    due_only = st.toggle("Only patients due for a PHQ-9 in an open window", value=True, key="measures_due")
    p = measures.patient_list(res, key, due_only=due_only)
    due = int(measures.patient_list(res, key, due_only=True).shape[0])
    st.markdown(
        f"**{due}** patient(s) have an open window for {key} without a PHQ-9 yet: a score before the window "
        "closes still counts. Days are counted from each patient's first treatment (day 0)."
    )
    shown, note = show.first_rows(p)
    st.dataframe(patients_on_screen(shown), hide_index=True, width="stretch")
    st.caption(f"{len(p):,} patients in the list" + note)
    show.csv_download(
        p[list(PATIENT_NAMES)].rename(columns=PATIENT_NAMES),
        "Download the patient list (CSV)",
        f"measure_patients_{key.lower().replace(' ', '_')}.csv",
        key="measures_patients_csv",
    )
