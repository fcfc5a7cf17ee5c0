"""What the Overview page shows of analysis.metrics' summary and KPIs: the practice's line, the KPI tiles, the
response and remission tables by condition and site, and the PDF report's button."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from analysis import charts, formatting, privacy, schema
from analysis.errors import DataError
from analysis.kpi_tiles import kpis_shown
from ui import cache, gate, session, show
from ui.session import threshold

#: the rates tables' column headings: the funnel and rate labels, a rate with its interval in one cell
RATE_NAMES = {
    **formatting.LABELS,
    schema.RESPONSE_RATE: formatting.ci_label(schema.RESPONSE_RATE),
    schema.REMISSION_RATE: formatting.ci_label(schema.REMISSION_RATE),
    schema.WITH_FOLLOW_UP: "Followed up",  # (short: the tables fit 1280 px; the page's caption says what it is)
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
    """The period's heading and KPI tiles (analysis.kpi_tiles.kpis): value, the counts behind it, the change
    against the previous period, as analysis.kpi_tiles.kpis_shown lets them be shown ('<11', withheld shares and
    changes as '—'). A change is coloured only when its test says it is beyond noise; a caption says which months
    are compared and why the latest are left out."""
    period, previous = kpis["period"].iloc[0], kpis["previous_period"].iloc[0]
    st.subheader(f"Patients who started {period}" + (f", against {previous}" if isinstance(previous, str) else ""))
    per_row = 3
    cols = [c for _ in range(0, len(kpis), per_row) for c in st.columns(per_row)]
    shown = kpis_shown(kpis, threshold())
    marked = False
    for col, k in zip(cols, shown.to_dict("records")):
        value, delta, counts, verdict = tile_text(k)
        marked |= value.endswith(privacy.MARK)
        help_ = f"{k['label']}: {k['period']}" + (
            f" vs {k['previous_period']}." if isinstance(k["previous_period"], str) else "."
        )
        if k["note"]:
            help_ += f" {k['note'][0].upper()}{k['note'][1:]}."
        flat = delta is None or not k["beyond_noise"] or k["change"] == 0 or delta.lstrip("+-").startswith("0.0 ")
        col.metric(
            formatting.LABELS.get(k["kpi"], k["label"]),
            value,
            delta,
            delta_color="normal" if not flat else "off",
            delta_arrow="auto" if not flat else "off",
            help=help_,
            border=True,
            delta_description=verdict or None,
        )
        if counts:
            col.caption(counts)
    st.caption(period_caption(shown))
    if marked:
        st.caption(privacy.footnote(threshold()))


def tile_text(k: dict) -> tuple[str, str | None, str, str]:
    """(value, change, the counts behind them, the change's test in words) of one row of kpis_shown."""
    if k["unit"] == "share":
        value = formatting.percent(k["value"])
        delta = None if k["change"] is None else formatting.points(k["change"])
        now = "" if k["n"] is None else f"{formatting.count(k['count'])} of {formatting.count(k['n'])}"
        if k["n"] is not None and k["value"] is None:  # withheld, never blank (the footnote says why)
            value = privacy.marked(None)
            now = f"withheld: a count under {threshold()} behind it (of {formatting.count(k['n'])})"
        before = (
            ""
            if k["previous_n"] is None
            else f"{formatting.count(k['previous_count'])} of {formatting.count(k['previous_n'])}"
        )
        if k["previous"] is not None and before:
            before += f" ({formatting.percent(k['previous'])})"
        elif k["previous_n"] is not None:
            before = f"withheld (of {formatting.count(k['previous_n'])})"
    else:
        value = formatting.DASH if k["value"] is None else formatting.count(privacy.marked(k["value"], threshold()))
        delta = None if k["change"] is None else f"{k['change']:+,d}"
        now, before = "", "" if k["previous"] is None else formatting.count(k["previous"])
    parts = [now] if now else []
    if before:
        parts.append(f"before: {before}")
    verdict = ""
    if k["p"] is not None:
        verdict = "beyond noise" if k["beyond_noise"] else "within noise"
        parts.append(f"{k['test']} p = {formatting.p_value(k['p'])}")
    return value, delta, " · ".join(parts), verdict


def period_caption(shown: pd.DataFrame) -> str:
    """Which start months the tiles compare and why the latest are left out, and how a change is judged."""
    k = shown.iloc[0]
    out = []
    if isinstance(k["left_out_from"], str):
        out.append(
            f"Complete start months only: the data end in {k['data_end_month']} (a month not yet complete), and "
            f"patients who started in {k['left_out_from']} or later may still be inside their induction series or "
            f"response window, so they are left out of this comparison (they count in the line above)."
        )
    out.append(
        "A change is coloured only when it is beyond noise (p < 0.05): a two-proportion test for rates "
        "(chi-square, or Fisher's exact test when counts are small), an exact binomial test for patients started; "
        "infusions are never coloured (a patient's infusions are not independent)."
    )
    return " ".join(out)


def at_a_glance(summary, kpis: pd.DataFrame, instrument: str) -> None:
    """The manager's one table (analysis.manager): every condition with its main scale, response and remission
    with counts and CIs; then the monthly trend of the instrument's response with its CIs."""
    from analysis import manager

    thr = threshold()
    st.subheader("Every condition at a glance")
    table = cache.cached(manager.condition_table, summary.rates, thr)
    if len(table):
        table = table.assign(**{schema.CONDITION: table[schema.CONDITION].map(charts.label)})
        show.table(
            table,
            "conditions at a glance",
            percent=schema.RATE_COLUMNS,
            ci={
                schema.RESPONSE_RATE: (schema.RESPONSE_LOWER, schema.RESPONSE_UPPER),
                schema.REMISSION_RATE: (schema.REMISSION_LOWER, schema.REMISSION_UPPER),
            },
            rename={**RATE_NAMES, schema.CONDITION: "Condition", schema.INSTRUMENT: "Main scale"},
            key="glance",
        )
        no_rule = sorted({c for c in table[schema.INSTRUMENT] if defs_remission(c) is None})
        st.caption(
            "Each condition on its main scale: the instrument most of its patients were scored on. Rates are over "
            "the evaluable patients, with 95% Wilson confidence intervals."
            + (f" {', '.join(no_rule)}: no remission rule, so no remission." if no_rule else "")
        )
    trend_by_period(summary, kpis, instrument)


def trend_by_period(summary, kpis: pd.DataFrame, instrument: str) -> None:
    """The instrument's response by start month, or by quarter when fewer than half of the months have enough
    patients to show a rate (the user can switch); the counts behind each point in a table under the chart."""
    from analysis import manager

    thr = threshold()
    monthly = cache.cached(manager.response_trend, summary.rates, instrument, thr, by="month")
    if not len(monthly):
        return
    shown = pd.to_numeric(monthly[schema.RESPONSE_RATE], errors="coerce").notna().mean()
    st.subheader(f"{instrument} response over time")
    by = st.segmented_control(
        "Patients grouped by their start",
        ["month", "quarter"],
        default="month" if shown >= 0.5 else "quarter",
        format_func=lambda b: f"by {b}",
        key="trend_by",
        help="A month alone often holds too few patients to show a rate; a quarter gathers three months.",
    )
    trend = (
        monthly if (by or "month") == "month" else cache.cached(manager.response_trend, summary.rates, instrument, thr)
    )
    late = kpis["left_out_from"].iloc[0] if "left_out_from" in kpis.columns else None
    show.plot(manager.response_trend_chart, trend, instrument, late if isinstance(late, str) else None)
    show.table(
        trend.drop(columns=[schema.START_MONTH]),
        f"{instrument} response by start {by or 'month'}",
        percent=(schema.RESPONSE_RATE,),
        ci={schema.RESPONSE_RATE: (schema.RESPONSE_LOWER, schema.RESPONSE_UPPER)},
        rename={**RATE_NAMES, "months": f"Start {by or 'month'}"},
        key="trend_table",
    )


def defs_remission(code: str):
    """The remission maximum of an instrument under the card in force (None: no remission rule)."""
    from ui.session import definitions

    return definitions().remission_threshold(code)


def monthly_and_funnel(summary, instrument: str) -> None:
    """Patients started by month (left) and the instrument's funnel (right)."""
    thr = threshold()
    left, right = st.columns(2, gap="large")
    with left:
        show.plot(charts.monthly_chart, summary.by_month, thr, summary.suppressed_by_month())
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
    """The practice's name for the title (the setting OUTCOMES_PRACTICE_NAME, changeable here for this session),
    'Prepare the PDF report', then its download: analysis.report laid out from the results of the cached calls
    the pages make (report.report_inputs through ui.cache.cached), for the data and filters in force."""
    from analysis import provenance

    default = provenance.practice_name(d.source if d.source == session.SAMPLE_NAME else "Your practice")
    practice = st.text_input(
        "Practice name on the report",
        value=default,
        key="practice_name",
        max_chars=120,
        help=f"Set it for everyone with the environment variable {provenance.PRACTICE_ENV} when starting the server.",
    )
    if st.button("Prepare the PDF report", key="prepare_report"):
        from analysis import report  # (the PDF library takes ~0.6 s to import: only when a report is asked for)

        defs = defs.replace(
            suppression_threshold=session.shared_threshold()
        )  # (it leaves the practice: never below 11)
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
            st.warning(show.text(e))
            st.stop()
        st.download_button(
            "Download the PDF report",
            report.build_report(inputs, practice=practice.strip() or default, filters=d.filters, data=d.source),
            file_name="outcomes_report.pdf",
            mime="application/pdf",
            key="report_pdf",
            type="primary",
            on_click=gate.log_download,
            args=("PDF", "outcomes_report.pdf"),
        )
