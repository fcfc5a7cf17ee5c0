"""The inputs that pages share: instrument, grouping, booster handling, the measure of a trajectory, a cohort's
filters. Each returns the value chosen (in analysis/'s terms: column names, instrument codes)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analysis import charts, instruments, schema
from analysis.config import BOOSTER_HANDLINGS
from analysis.outcomes import BASELINE_BAND, INDUCTION_COMPLETED
from ui import cache
from ui.session import Data

#: patient attributes a trajectory may be grouped by
ATTRIBUTES = (schema.CONDITION, schema.SITE, schema.AGE_BAND, schema.SEX, schema.ROUTE)
#: what each grouping selector may offer: column -> label
GROUPINGS = {
    schema.CONDITION: "Condition",
    schema.SITE: "Site",
    schema.AGE_BAND: "Age band",
    schema.SEX: "Sex",
    schema.ROUTE: "Route",
    BASELINE_BAND: "Baseline severity",
    INDUCTION_COMPLETED: "Induction completed",
}
BOOSTERS = {
    "ignore": "Boosters do not stop the clock",
    "censor": "Censor at the first booster",
    "event": "Time to the first booster",
}


def instruments_present(assessments: pd.DataFrame) -> list[str]:
    """The instrument codes of the scores, most scored first (PHQ-9 first when present)."""
    counts = assessments[schema.INSTRUMENT].value_counts()
    return sorted(counts.index, key=lambda c: (c != "PHQ9", -counts[c]))


def instrument_choice(d: Data, key: str = "instrument", where=st) -> str | None:
    """A selector of the instruments present (most scored first; PHQ-9 first when present)."""
    codes = cache.cached(instruments_present, d.assessments)
    if not codes:
        return None
    return where.selectbox(
        "Instrument",
        codes,
        key=key,
        format_func=lambda c: f"{c}: {instruments.get(c).name}" if c in instruments.registry() else c,
    )


def grouping_choice(d: Data, key: str = "by", options=GROUPINGS, where=st, everyone: bool = True) -> str | None:
    """A selector of the patient attributes present in the data (plus "everyone": None, when allowed)."""
    derived = (BASELINE_BAND,) + ((INDUCTION_COMPLETED,) if d.treatments is not None else ())
    present = [c for c in options if c in derived or (c in d.assessments.columns and d.assessments[c].notna().any())]
    if everyone:
        present.append(None)
    if not present:
        return None
    return where.selectbox(
        "Compare by", present, key=key, format_func=lambda c: "No grouping (everyone)" if c is None else options[c]
    )


def attribute_choice(d: Data, where=st) -> str:
    """A selector of the patient attributes a trajectory may be grouped by (condition when none is present:
    one group, 'unknown')."""
    options = {k: v for k, v in GROUPINGS.items() if k in ATTRIBUTES}
    return grouping_choice(d, options=options, where=where, everyone=False) or schema.CONDITION


def booster_choice(default: str, where=st) -> str:
    """How boosters are handled in durability (analysis.config.BOOSTER_HANDLINGS), the card's by default."""
    return where.selectbox(
        "Boosters",
        BOOSTER_HANDLINGS,
        index=BOOSTER_HANDLINGS.index(default),
        format_func=BOOSTERS.get,
        key="boosters",
    )


def measure_choice(where=st) -> str:
    """'score' or 'pct_change': what a trajectory chart shows."""
    return (
        where.segmented_control(
            "Show",
            ["score", "pct_change"],
            default="score",
            key="measure",
            format_func={"score": "Score", "pct_change": "% improvement"}.get,
        )
        or "score"
    )


def patient_lines_choice(allowed: bool, where=st) -> bool:
    """The 'Patient lines' toggle for a role that may see patient-level views; a note for one that may not."""
    if allowed:
        return where.toggle("Patient lines", help="A sample of individual patients, drawn faintly behind the means.")
    where.caption(
        "Individual patient lines are shown to clinicians only.",
        help="Managers see the aggregate view: group means, intervals and the model's curves.",
    )
    return False


def conditions_scored(assessments: pd.DataFrame, instrument: str) -> list:
    """The conditions of the patients scored on ``instrument``, most patients first."""
    scored = assessments.loc[assessments[schema.INSTRUMENT] == instrument, [schema.PATIENT_ID, schema.CONDITION]]
    return scored.drop_duplicates()[schema.CONDITION].value_counts().index.tolist()


def cohort_inputs(name: str, options: dict, d: Data, instrument: str, default_condition: int = 0) -> dict:
    """The filters of one cohort (keyword arguments of analysis.cohorts.select); empty = everyone.

    By default cohort A is the condition with the most patients scored on the instrument, B the next. Only
    conditions with patients scored on the instrument are offered."""
    st.markdown(f"**Cohort {name}**")
    common = cache.cached(conditions_scored, d.assessments, instrument)
    conditions = [c for c in options.get(schema.CONDITION, []) if c in common]
    default = [common[default_condition]] if len(common) > default_condition else []
    k = f"cohort_{name}"
    c1, c2 = st.columns(2)
    out = {
        "conditions": c1.multiselect(
            "Condition",
            conditions,
            default=default,
            format_func=charts.label,
            key=f"{k}_condition_{instrument}",
            placeholder="All",
        ),
        "sites": c2.multiselect("Site", options.get(schema.SITE, []), key=f"{k}_site", placeholder="All"),
        "age_bands": c1.multiselect("Age band", options.get(schema.AGE_BAND, []), key=f"{k}_age", placeholder="All"),
        "sexes": c2.multiselect("Sex", options.get(schema.SEX, []), key=f"{k}_sex", placeholder="All"),
        "routes": c1.multiselect("Route", options.get(schema.ROUTE, []), key=f"{k}_route", placeholder="All"),
        "baseline_bands": c2.multiselect(
            "Baseline severity", options.get(BASELINE_BAND, []), key=f"{k}_band", placeholder="All"
        ),
    }
    months = options.get(schema.START_MONTH, [])
    if len(months) > 1:
        lo, hi = st.select_slider("Start period", months, value=(months[0], months[-1]), key=f"{k}_months")
        out |= {"start_from": None if lo == months[0] else lo, "start_to": None if hi == months[-1] else hi}
    return {key: (v or None) for key, v in out.items()}
