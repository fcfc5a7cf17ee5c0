"""What the Safety page shows of analysis.safety: headline tiles, flag rates by site, start month, route, dose band
and infusion number, the series curves, BP rise by age band, discharge and adverse events (managers and clinicians),
and for clinicians the patients with emergent PHQ-9 item 9 answers first, the flagged sessions by patient key and
day, and the session-monitoring export. Every count passes through analysis.privacy first."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analysis import formatting, privacy, safety, safety_charts
from analysis import schema as S
from ui import cache, show
from ui.session import threshold

DIMENSIONS = {
    "site": "Site",
    "start_month": "Start month",
    "route": "Route",
    "dose_band": "Dose band",
    "infusion_number": "Infusion number (1-6)",
}
HEADLINE = ("surge", "severe_hypertension", "marked_dissociation", "adverse_event")
FLAGGED_ON_SCREEN = 1000  # rows of the flagged sessions drawn on screen (the download holds them all)


def _rate(row) -> str:
    if row is None or row["per_100"] is None or pd.isna(row["per_100"]):
        return formatting.DASH
    return f"{row['per_100']:.1f}"


def headline(res) -> None:
    """Tiles: sessions, then per 100 sessions of the headline flags, and emergent item-9 answers."""
    thr = threshold()
    rates = res.rates_shown(thr)
    overall = rates[rates[S.DIMENSION] == S.OVERALL].set_index("flag")
    cols = [c for _ in range(2) for c in st.columns(3)]  # two rows of three: the labels are read whole
    cols[0].metric("Sessions", show.count(res.sessions), border=True, help="Sessions in the treatments file.")
    for col, flag in zip(cols[1:], HEADLINE):
        row = overall.loc[flag] if flag in overall.index else None
        helptext = (
            "Not recorded in the data."
            if row is None
            else f"{row['events']} of {row['sessions']} sessions; 95% CI "
            + (
                formatting.DASH
                if row["lower"] is None or pd.isna(row["lower"])
                else f"{row['lower']:.1f} to {row['upper']:.1f}"
            )
            + " per 100."
        )
        col.metric(f"{safety.FLAGS[flag]} /100", _rate(row), border=True, help=helptext)
    s = res.suicidality_shown(thr)
    cols[-1].metric(
        "Emergent item 9",
        str(s["emergent"]) if s.get("kept") else formatting.DASH,
        border=True,
        help="Patients with PHQ-9 item 9 at 0 at baseline and 1 or more later (thoughts of self-harm)."
        if s.get("kept")
        else "PHQ-9 item 9 is not in the data.",
    )


def rates_section(res, dimension: str, flags: list[str]) -> None:
    """The chart of the chosen flags by ``dimension`` and the table of every flag by it."""
    thr = threshold()
    shown = res.rates_shown(thr)
    show.plot(safety_charts.flag_rates_chart, shown, flags, dimension)
    table = shown[shown[S.DIMENSION] == dimension].copy()
    table["flag"] = table["flag"].map(safety.FLAGS)
    show.table(
        table.drop(columns=[S.DIMENSION]),
        f"safety_rates_by_{dimension}",
        rename={
            "flag": "Flag",
            S.GROUP: DIMENSIONS[dimension],
            "sessions": "Sessions (told)",
            "events": "Flagged",
            "per_100": "Per 100 sessions (95% CI)",
            "lower": "Lower",
            "upper": "Upper",
            "patients": "Patients (told)",
            "patients_flagged": "Patients flagged",
            "patients_per_100": "% of patients (95% CI)",
            "patients_lower": "Patients lower",
            "patients_upper": "Patients upper",
        },
        ci={"per_100": ("lower", "upper"), "patients_per_100": ("patients_lower", "patients_upper")},
        key=f"safety_rates_{dimension}",
    )


def _means_table(res, table: pd.DataFrame, name: str, group: str, columns: dict) -> None:
    shown = res.means_shown(table, threshold())
    keep = [S.GROUP, S.PATIENTS] + [c for c in columns if c in shown.columns]
    view = shown[keep].copy()
    for c in columns:
        if c in view.columns and not c.endswith("_n"):
            view[c] = view[c].map(lambda v: "" if formatting.missing(v) else f"{float(v):.1f}")
    show.table(view, name, rename={S.GROUP: group, S.PATIENTS: "Patients", **columns}, key=name)


def series_section(res) -> None:
    show.plot(safety_charts.series_chart, res.means_shown(res.by_infusion_number, threshold()))


def bp_by_age(res) -> None:
    cols = {
        "sbp_rise_n": "Sessions",
        "sbp_rise_mean": "Systolic rise",
        "sbp_rise_lower": "Lower",
        "sbp_rise_upper": "Upper",
        "dbp_rise_mean": "Diastolic rise",
        "dbp_rise_lower": "Lower ",
        "dbp_rise_upper": "Upper ",
    }
    _means_table(res, res.bp_by_age, "bp_rise_by_age_band", "Age band", cols)


def discharge(res) -> None:
    cols = {
        "minutes_n": "Sessions",
        "minutes_median": "Median minutes",
        "minutes_q1": "Q1",
        "minutes_q3": "Q3",
        "minutes_mean": "Mean",
        "minutes_lower": "Lower",
        "minutes_upper": "Upper",
    }
    _means_table(res, res.discharge, "minutes_to_discharge_by_route", "Route", cols)


def events(res) -> None:
    if res.events.empty:
        st.caption("The data keep no adverse events.")
        return
    table = privacy.suppress_table(
        res.events.drop(columns=[S.DIMENSION, S.GROUP]),
        safety.RATE_COUNTS,
        (),
        threshold(),
        shares=safety.RATE_SHARES,
        complements=safety.RATE_COMPLEMENTS,
    )
    show.table(
        table,
        "adverse_events",
        rename={
            "flag": "Adverse event",
            "sessions": "Sessions",
            "events": "With it",
            "per_100": "Per 100",
            "lower": "Lower",
            "upper": "Upper",
            "patients": "Patients",
            "patients_flagged": "Patients with it",
            "patients_per_100": "Patients %",
            "patients_lower": "Patients lower",
            "patients_upper": "Patients upper",
        },
        key="adverse_events",
    )


def suicidality(res) -> None:
    """Counts for everyone allowed to see the page; the patients, emergent answers first, for clinicians."""
    s = res.suicidality_shown(threshold())
    if not s.get("kept"):
        st.info("PHQ-9 item 9 is not in the data: upload the PHQ-9 item by item (or with item 9) to see it.")
        return
    st.markdown(
        f"Of **{s['with_item9']}** patients with item 9 at baseline: **{s['at_baseline']}** answered 1 or more at "
        f"baseline (**{s['resolved']}** of them 0 at their latest PHQ-9), and **{s['emergent']}** answered 0 at "
        "baseline and 1 or more later (emergent)."
    )


def clinician_lists(res, treatments, definitions) -> None:
    """Patient-level lists (clinicians only): item-9 answers (emergent first), flagged sessions, the export."""
    table = res.suicidality_patients
    if res.suicidality.get("kept"):
        st.subheader("Patients to call: PHQ-9 item 9")
        shown = table[table["status"] != "none"]
        st.caption("Emergent answers first (0 at baseline, 1 or more later), then 1 or more at baseline.")
        st.dataframe(
            shown.rename(
                columns={
                    S.PATIENT_ID: "Patient key",
                    "baseline_item9": "Item 9 at baseline",
                    "max_later_item9": "Highest later",
                    "first_day_ge1": "First day >= 1",
                    "latest_item9": "Latest",
                    "latest_day": "Latest day",
                    "status": "Status",
                }
            ),
            hide_index=True,
            width="stretch",
        )
    st.subheader("Flagged sessions")
    flagged = cache.cached(safety.Safety.flagged_sessions, res)
    shown = flagged.head(FLAGGED_ON_SCREEN)
    st.caption(
        f"{len(flagged):,} sessions with at least one flag, by patient key and day"
        + (f"; the first {len(shown):,} on screen, all of them in the download." if len(shown) < len(flagged) else ".")
    )
    st.dataframe(shown, hide_index=True, width="stretch")
    show.downloads(flagged, "Flagged sessions", key="flagged_sessions", stem="flagged_sessions", deferred=True)
    st.subheader("Session-monitoring record")
    st.caption(
        "One row per session: the fields a monitoring form asks for (dose, vitals before and at the worst point, "
        "dissociation, sedation, adverse events, rescue medication, minutes to discharge), the rises and the flags. "
        "It holds patient keys and days: keep it inside the practice."
    )
    show.downloads(
        lambda: safety.monitoring_record(treatments, definitions, res.flags),  # (made on the click)
        "Session monitoring",
        key="session_monitoring",
        stem="session_monitoring",
        deferred=True,
    )
