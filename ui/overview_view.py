"""What the Overview page shows of analysis.metrics' summary and KPIs: the practice's line, the KPI tiles, the
response and remission tables by condition and site, and the PDF report's button."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analysis import charts, formatting, report, schema
from analysis.errors import DataError
from analysis.kpi_tiles import kpis_shown
from ui import cache, show
from ui.session import threshold

#: the rates tables' column headings: the funnel and rate labels, a rate with its interval in one cell
RATE_NAMES = {
    **formatting.LABELS,
    schema.RESPONSE_RATE: formatting.ci_label(schema.RESPONSE_RATE),
    schema.REMISSION_RATE: formatting.ci_label(schema.REMISSION_RATE),
}


def practice_line(summary, instrument: str) -> str:
    """One line on the whole period: patients started, infusions, completion, response and remission."""
    p = summary.suppressed_practice()
    rates = summary.suppressed_rates()
    row = rates[(rates[schema.INSTRUMENT] == instrument) & (rates[schema.DIMENSION] == schema.OVERALL)]
    span = f"{p['first_start_month']} to {p['last_start_month']}" if p.get("first_start_month") else "All start months"
    parts = [f"**{p['patients']}** patients started"]
    if p.get("infusions") is not None:
        parts += [
            f"**{p['infusions']}** infusions",
            f"series completion **{formatting.percent(p.get('series_completion'))}**",
            f"assessment completion **{formatting.percent(p.get('assessment_completion'))}**",
        ]
    if len(row):
        r = row.iloc[0]

        def ci(k):
            return (
                ""
                if pd.isna(r[f"{k}_rate"])
                else f" (95% CI {formatting.percent(r[f'{k}_lower'])} to {formatting.percent(r[f'{k}_upper'])})"
            )

        parts += [
            f"{instrument} response **{formatting.percent(r['response_rate'])}**{ci('response')}",
            f"remission **{formatting.percent(r['remission_rate'])}**{ci('remission')}"
            + ("" if r[schema.EVALUABLE] is None else f" of {r['evaluable']} evaluable"),
        ]
    return f"**{span}:** " + " · ".join(parts) + "."


def kpi_tiles(kpis: pd.DataFrame) -> None:
    """The period's heading and KPI tiles (analysis.kpi_tiles.kpis): value, change against the previous period,
    as analysis.kpi_tiles.kpis_shown lets them be shown ('<11', withheld shares and changes as '—')."""
    period, previous = kpis["period"].iloc[0], kpis["previous_period"].iloc[0]
    st.subheader(f"Patients who started {period}" + (f", against {previous}" if isinstance(previous, str) else ""))
    per_row = 3
    cols = [c for _ in range(0, len(kpis), per_row) for c in st.columns(per_row)]
    for col, k in zip(cols, kpis_shown(kpis, threshold()).to_dict("records")):
        share = k["unit"] == "share"
        if share:
            value = formatting.percent(k["value"])
            delta = None if k["change"] is None else formatting.points(k["change"])
        else:
            value = formatting.DASH if k["value"] is None else str(k["value"])
            delta = None if k["change"] is None else f"{k['change']:+d}"
        help_ = f"{k['label']}: {k['period']}" + (
            f" vs {k['previous_period']}." if isinstance(k["previous_period"], str) else "."
        )
        if share and k["n"] is not None:
            help_ += f" Out of {k['n']}."
        if k["note"]:
            help_ += f" {k['note'][0].upper()}{k['note'][1:]}."
        col.metric(formatting.LABELS.get(k["kpi"], k["label"]), value, delta, help=help_, border=True)


def monthly_and_funnel(summary, instrument: str) -> None:
    """Patients started by month (left) and the instrument's funnel (right)."""
    thr = threshold()
    left, right = st.columns(2, gap="large")
    with left:
        show.plot(charts.monthly_chart, summary.by_month, thr)
    rates = summary.rates[summary.rates[schema.INSTRUMENT] == instrument]
    overall = rates[rates[schema.DIMENSION] == schema.OVERALL]
    shown = summary.suppressed_rates()  # the overall row as the tables by group withhold it
    shown = shown[(shown[schema.INSTRUMENT] == instrument) & (shown[schema.DIMENSION] == schema.OVERALL)]
    with right:
        if len(overall):
            show.plot(charts.funnel_chart, overall.iloc[0].to_dict(), instrument, thr, shown.iloc[0].to_dict())


def rate_tables(summary, instrument: str) -> None:
    """Response and remission by condition and by site, suppressed with the overall row beside them
    (Summary.suppressed_rates: a hidden count cannot be worked out from the total and the other groups)."""
    rates = summary.suppressed_rates()
    rates = rates[rates[schema.INSTRUMENT] == instrument]
    columns = [schema.GROUP, *schema.FUNNEL_COUNTS, *schema.RATE_COLUMNS]
    for dimension, title in ((schema.CONDITION, "By condition"), (schema.SITE, "By site")):
        part = rates[rates[schema.DIMENSION] == dimension][columns]
        if len(part):
            st.subheader(f"{instrument} response and remission, {title.lower()}")
            if dimension == schema.CONDITION:
                part = part.assign(group=part[schema.GROUP].map(charts.label))
            show.table(
                part,
                f"{instrument} {title}",
                percent=schema.RATE_COLUMNS,
                ci={
                    schema.RESPONSE_RATE: (schema.RESPONSE_LOWER, schema.RESPONSE_UPPER),
                    schema.REMISSION_RATE: (schema.REMISSION_LOWER, schema.REMISSION_UPPER),
                },
                rename={**RATE_NAMES, schema.GROUP: title.split()[-1].capitalize()},
                hide=(schema.WITH_BASELINE, schema.WITH_RESPONSE_ASSESSMENT),
            )


def report_button(d, defs, instrument: str) -> None:
    """'Prepare the PDF report', then its download: analysis.report laid out from the results of the cached calls
    the pages make (report.report_inputs through ui.cache.cached), for the data and filters in force."""
    if st.button("Prepare the PDF report", key="prepare_report"):
        try:
            inputs = report.report_inputs(
                d.assessments,
                d.treatments,
                defs,
                instrument=instrument,
                issues=getattr(d.loaded, "issues", None),
                rows_read=getattr(d.loaded, "rows_read", None),
                call=cache.cached,
            )
        except DataError as e:
            st.warning(str(e))
            st.stop()
        st.download_button(
            "Download the PDF report",
            report.build_report(inputs, practice=d.source, filters=d.filters),
            file_name="outcomes_report.pdf",
            mime="application/pdf",
            key="report_pdf",
            type="primary",
        )
