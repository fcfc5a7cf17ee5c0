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
#: the flagged sessions' columns as headed on screen and in their download
FLAGGED_NAMES = {
    S.PATIENT_ID: "Patient key",
    S.DAY: "Day",
    S.KIND: "Kind",
    S.ROUTE: "Route",
    "infusion_number": "Infusion number",
    "sbp_rise": "Systolic rise",
    "dbp_rise": "Diastolic rise",
    "flags": "Flags",
}


def _rate(row) -> str:
    if row is None or row["per_100"] is None or pd.isna(row["per_100"]):
        return formatting.DASH
    return f"{row['per_100']:.1f}"


def headline(res) -> None:
    """Tiles: sessions, then per 100 sessions of the headline flags, and emergent item-9 answers."""
    thr = threshold()
    rates = cache.cached(safety.Safety.rates_shown, res, thr)  # (complementary suppression: once per data)
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
    shown = cache.cached(safety.Safety.rates_shown, res, thr)
    show.plot(safety_charts.flag_rates_chart, shown, flags, dimension)
    table = shown[shown[S.DIMENSION] == dimension].copy()
    table["flag"] = table["flag"].map(safety.FLAGS)
    per_session, per_patient = st.tabs(["Per 100 sessions", "Per patient"])  # (side by side: too wide to read)
    patients, sessions = ("patients", "patients_flagged", "patients_per_100"), ("sessions", "events", "per_100")
    for tab, hide, key in ((per_session, patients, "sessions"), (per_patient, sessions, "patients")):
        with tab:
            _rates_table(table, dimension, hide, key)


def _rates_table(table: pd.DataFrame, dimension: str, hide: tuple, key: str) -> None:
    show.table(
        table.drop(columns=[S.DIMENSION]),
        f"safety_rates_by_{dimension}",
        hide=hide,
        rename={
            "flag": "Flag",
            S.GROUP: DIMENSIONS[dimension],
            "sessions": "Sessions",
            "events": "Flagged",
            "per_100": "Per 100 (95% CI)",
            "lower": "Lower",
            "upper": "Upper",
            "patients": "Patients",
            "patients_flagged": "Patients flagged",
            "patients_per_100": "% patients (95% CI)",
            "patients_lower": "Patients lower",
            "patients_upper": "Patients upper",
        },
        ci={"per_100": ("lower", "upper"), "patients_per_100": ("patients_lower", "patients_upper")},
        key=f"safety_rates_{dimension}_{key}",
    )


def _means_table(res, table: pd.DataFrame, name: str, group: str, sessions: str, columns: dict) -> None:
    """A table of means (analysis.safety.Safety.means_shown): its groups, patients, ``sessions`` (the count
    column) and ``columns`` {heading: (value, lower, upper)}, each value with its interval in one cell."""
    shown = res.means_shown(table, threshold())
    values = {v: heading for heading, (v, _, _) in columns.items()}
    keep = [S.GROUP, S.PATIENTS, sessions, *(c for triple in columns.values() for c in triple)]
    show.table(
        shown[keep],
        name,
        rename={S.GROUP: group, S.PATIENTS: "Patients", sessions: "Sessions", **values},
        ci={v: (lo, hi) for v, lo, hi in columns.values()},
        key=name,
    )


def series_section(res) -> None:
    show.plot(safety_charts.series_chart, res.means_shown(res.by_infusion_number, threshold()))


def bp_by_age(res) -> None:
    columns = {
        "Systolic rise, mmHg (95% CI)": ("sbp_rise_mean", "sbp_rise_lower", "sbp_rise_upper"),
        "Diastolic rise, mmHg (95% CI)": ("dbp_rise_mean", "dbp_rise_lower", "dbp_rise_upper"),
    }
    _means_table(res, res.bp_by_age, "bp_rise_by_age_band", "Age band", "sbp_rise_n", columns)


def discharge(res) -> None:
    columns = {
        "Median minutes (quartiles)": ("minutes_median", "minutes_q1", "minutes_q3"),
        "Mean minutes (95% CI)": ("minutes_mean", "minutes_lower", "minutes_upper"),
    }
    _means_table(res, res.discharge, "minutes_to_discharge_by_route", "Route", "minutes_n", columns)


def events(res) -> None:
    if res.events.empty:
        st.caption("The data keep no adverse events.")
        return
    events = res.events.assign(flag=res.events["flag"].str.replace("_", " ").str.capitalize())
    table = privacy.suppress_table(
        events.drop(columns=[S.DIMENSION, S.GROUP]),
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
            "per_100": "Per 100 sessions (95% CI)",
            "lower": "Lower",
            "upper": "Upper",
            "patients": "Patients",
            "patients_flagged": "Patients with it",
            "patients_per_100": "% of patients (95% CI)",
            "patients_lower": "Patients lower",
            "patients_upper": "Patients upper",
        },
        ci={"per_100": ("lower", "upper"), "patients_per_100": ("patients_lower", "patients_upper")},
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


#: the item-9 list's columns as shown
ITEM9_NAMES = {
    S.PATIENT_ID: "Patient key",
    "baseline_item9": "Item 9 at baseline",
    "max_later_item9": "Highest later",
    "first_day_ge1": "First day >= 1",
    "latest_item9": "Latest",
    "latest_day": "Latest day",
    "status": "Status",
}


def clinician_lists(res, treatments, definitions) -> None:
    """Patient-level lists (clinicians only): item-9 answers (emergent first), flagged sessions, the export."""
    table = res.suicidality_patients
    if res.suicidality.get("kept"):
        st.subheader("Patients to call: PHQ-9 item 9")
        to_call = table[table["status"] != "none"].rename(columns=ITEM9_NAMES)
        shown, note = show.first_rows(to_call)
        st.caption(
            f"{len(to_call):,} patients with item 9 at 1 or more: emergent answers first (0 at baseline, 1 or more "
            "later), then those with 1 or more at baseline" + note
        )
        st.dataframe(shown, hide_index=True, width="stretch")
        show.downloads(to_call, "Patients to call", key="item9_patients", stem="patients_to_call_item9", deferred=True)
    st.subheader("Flagged sessions")
    flagged = cache.cached(safety.Safety.flagged_sessions, res).rename(columns=FLAGGED_NAMES)
    shown, note = show.first_rows(flagged)
    st.caption(f"{len(flagged):,} sessions with at least one flag, by patient key and day" + note)
    rise = shown["Systolic rise"].map(formatting.whole) + "/" + shown["Diastolic rise"].map(formatting.whole)
    on_screen = shown.drop(columns=["Systolic rise", "Diastolic rise"]).rename(columns={"Infusion number": "Infusion"})
    on_screen.insert(on_screen.columns.get_loc("Flags"), "BP rise, mmHg", rise.to_numpy())
    st.dataframe(on_screen, hide_index=True, width="stretch")
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
