"""What the Compare cohorts page shows of analysis.cohorts: the two cohorts' sizes and tests, their rates table,
their trajectories on one chart and their durability compared (hazard ratio, log-rank test)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analysis import charts, cohorts, formatting, instruments, privacy, schema
from analysis.errors import DataError
from analysis.outcomes import FUNNEL_COMPLEMENTS, FUNNEL_COUNTS
from ui import cache, durability_view, show
from ui.session import threshold

COHORT_RATES = schema.RATE_COLUMNS
#: the rates of analysis.cohorts.compare and the counts each rests on (as analysis.rates.suppress_rates)
COHORT_SHARES = schema.RATES
#: column headings of the cohorts' table
COHORT_NAMES = {
    **formatting.LABELS,
    schema.COHORT: "Cohort",
    "description": "Patients selected",
    schema.PATIENTS: "With scores",
    schema.RESPONSE_RATE: formatting.ci_label(schema.RESPONSE_RATE),
    schema.REMISSION_RATE: formatting.ci_label(schema.REMISSION_RATE),
}


def labels(sel_a, sel_b) -> tuple[str, str]:
    """What each cohort is, for legends and tables: 'A: Depression', 'B: Bipolar depression, age 25-34'."""
    return f"A: {sel_a.description}", f"B: {sel_b.description}"


def summary(cmp) -> None:
    """Sizes of the two cohorts (each with its filters in words) and the tests of their response and remission
    rates."""
    thr = threshold()
    cols = st.columns(4)
    for col, letter, (_, s) in zip(cols, "AB", cmp.sizes.iterrows()):
        col.metric(
            f"Cohort {letter}: patients",
            str(privacy.show_count(int(s[schema.PATIENTS]), thr)),
            help=show.text(s["description"]),
            border=True,
        )
        col.caption(show.text(s["description"]))
    rates = cmp.rates.set_index(schema.COHORT)

    def small(count):
        return any(
            privacy.is_small(rates.loc[c, k], thr)
            for c in rates.index
            for k in (schema.EVALUABLE, count)
            if not pd.isna(rates.loc[c, k])
        )

    for col, (what, count, test) in zip(
        cols[2:],
        (("Response", schema.RESPONDERS, cmp.response_test), ("Remission", schema.REMITTERS, cmp.remission_test)),
    ):
        if small(count) or test.test == "none" or pd.isna(test.p):
            col.metric(
                f"{what}: A - B", formatting.DASH, help="Withheld: too few patients, or no such rule.", border=True
            )
            continue
        p = formatting.p_value(test.p)
        col.metric(
            f"{what}: A - B",
            formatting.points(test.difference),
            border=True,
            help=f"95% CI {formatting.points(test.lower)} to {formatting.points(test.upper)}; {test.test} test, p = {p}.",
        )
        col.caption(f"{test.test}, p = {p}")


def rates_table(cmp, instrument: str) -> None:
    """The funnel and rates of the two cohorts, suppressed, with downloads."""
    show.table(
        cmp.rates,
        f"{instrument} cohorts",
        counts=FUNNEL_COUNTS,
        shares=COHORT_SHARES,
        complements=FUNNEL_COMPLEMENTS,
        percent=COHORT_RATES,
        ci={
            schema.RESPONSE_RATE: (schema.RESPONSE_LOWER, schema.RESPONSE_UPPER),
            schema.REMISSION_RATE: (schema.REMISSION_LOWER, schema.REMISSION_UPPER),
        },
        rename={**COHORT_NAMES, schema.WITH_FOLLOW_UP: "Followed up"},  # (short: the table fits 1280 px)
        key="cohort_rates",
        hide=(schema.WITH_BASELINE, schema.WITH_RESPONSE_ASSESSMENT, "description"),
    )
    st.caption("Followed up: responders with a later score, whose durability can be measured.")


def combined(sel_a, sel_b, instrument: str, names=("A", "B")) -> pd.DataFrame:
    """The two cohorts' scores of one instrument (patient, instrument, day, score) in one table with a 'cohort'
    column (``names``, A/B by default); patient ids are prefixed so that a patient in both cohorts counts once
    in each."""
    columns = [schema.PATIENT_ID, schema.INSTRUMENT, schema.SCORE, schema.DAY]
    parts = []
    for c, s in zip(names, (sel_a, sel_b)):
        scores = s.assessments.loc[cohorts.instrument_rows(s.assessments, instrument), columns]
        parts.append(scores.assign(cohort=c, **{schema.PATIENT_ID: c + ":" + scores[schema.PATIENT_ID].astype(str)}))
    return pd.concat(parts, ignore_index=True)


def trajectories(sel_a, sel_b, instrument: str, defs, names=("A", "B")):
    """Trajectories of the two cohorts on one chart (analysis.trajectory grouped by cohort, named ``names``),
    cached by the two selections (the combined table is built only when they are new)."""
    return cache.guard(_trajectories, sel_a, sel_b, instrument, defs, names)


def _trajectories(sel_a, sel_b, instrument: str, defs, names=("A", "B")):
    from analysis import trajectory

    code = instruments.get(instrument).code
    return trajectory.trajectories(combined(sel_a, sel_b, code, names), code, by=schema.COHORT, definitions=defs)


def durability(sel_a, sel_b, instrument: str, defs):
    """(analysis.cohorts.compare_durability, cached; None) or (None, why) when the data cannot answer."""
    try:
        return cache.cached(cohorts.compare_durability, sel_a, sel_b, instrument, defs), None
    except DataError as e:
        return None, f"Durability cannot be compared: {show.text(e)}"


def durability_comparison(km, why_not: str | None, instrument: str, names=("A", "B")) -> None:
    """The Kaplan-Meier curves of the two cohorts (legends: ``names``), and their hazard ratio and log-rank
    test in words (or why they are withheld)."""
    if km is not None and len(km.km.table):
        rename = dict(zip(("A", "B"), names))
        table = km.km.table.assign(group=km.km.table["group"].map(lambda g: rename.get(g, g)))
        at_risk = km.at_risk()
        at_risk = at_risk.assign(group=at_risk["group"].map(lambda g: rename.get(g, g)))
        show.plot(charts.km_chart, table, at_risk, instrument, threshold())
    st.markdown(why_not or comparison_text(km))
    if not why_not and km.comparison_shown() is not None:
        checks = durability_view.model_checks_line(km.cox)
        if checks:
            st.caption(checks)


def comparison_text(res) -> str:
    """The hazard ratio of B vs A and the log-rank test in words (CohortDurability.comparison_shown), or why
    they are withheld."""
    c = res.comparison_shown()
    if c is None:
        return show.text(res.withheld or "")
    p = formatting.p_value
    hr = (
        f"**Hazard ratio of losing response, B vs A: not estimable** ({show.text(c['not_estimable'])}; Cox model, Efron ties)."
        if c["hr"] is None
        else f"**Hazard ratio of losing response, B vs A: {c['hr']:.2f}** (95% CI {c['lower']:.2f} to "
        f"{c['upper']:.2f}, p = {p(c['p'])}; Cox model, Efron ties)."
    )
    return (
        f"{hr} Log-rank test: chi-square {c['chi2']:.2f} on {c['df']} df, "
        f"p = {p(c['logrank_p'])}. Above 1: cohort B loses response sooner."
    )


def legend_below(c: charts.Chart) -> charts.Chart:
    """A copy of a chart with its legend under the plot: the cohorts' descriptions are too long to sit beside
    the title."""
    import plotly.graph_objects as go

    fig = go.Figure(c.figure)
    fig.update_layout(
        legend=dict(orientation="h", yanchor="top", y=-0.18, xanchor="left", x=0),
        margin=dict(b=max(fig.layout.margin.b or 0, 110)),
    )
    return charts.Chart(fig, c.caption, c.notes)


#: notes a clinician comparing two cohorts does not need: the per-cohort models the page does not show, and
#: what the page already says (the tests' names, the model's reference cohort)
_NOT_FOR_THIS_PAGE = ("Cox model", "log-rank test not done", "model reference group", "see each test's notes")


def clinician_notes(*groups) -> list[str]:
    """The notes of the page's results that a clinician needs (who was left out and why, shared patients, a
    missing rule), without those about models the page does not show; each once."""
    out = []
    for n in (str(n) for g in groups for n in g):
        if not any(k.lower() in n.lower() for k in _NOT_FOR_THIS_PAGE) and n not in out:
            out.append(n)
    return out
