"""Overview, for practice managers: volumes, completion, response and remission, by site and condition."""

import streamlit as st

import ui
from analysis import charts, metrics, report

d = ui.data("Practice overview")
defs, thr = ui.definitions(), ui.threshold()
top = st.columns([2, 3])
instrument = ui.instrument_choice(d, where=top[0])
if instrument is None:
    st.warning("The data hold no scores.")
    st.stop()

summary, kpis = ui.guard(metrics.summary_and_kpis, d.assessments, d.treatments, defs, instrument=instrument)

st.markdown(ui.practice_line(summary, instrument))
period = kpis["period"].iloc[0]
previous = kpis["previous_period"].iloc[0]
st.subheader(f"Patients who started {period}" + (f", against {previous}" if isinstance(previous, str) else ""))
ui.kpi_tiles(kpis)

left, right = st.columns(2, gap="large")
with left:
    ui.plot(charts.monthly_chart, summary.by_month, thr)
rates = summary.rates[summary.rates["instrument"] == instrument]
overall = rates[rates["dimension"] == "overall"]
with right:
    if len(overall):
        ui.plot(charts.funnel_chart, overall.iloc[0].to_dict(), instrument, thr)

show = ["group", *metrics.FUNNEL_COUNTS, *metrics.RATE_COLUMNS]
names = {
    "group": "Group",
    "patients": "Patients",
    "with_baseline": "With baseline",
    "with_response_assessment": "With response assessment",
    "evaluable": "Evaluable",
    "responders": "Responders",
    "response_rate": "Response (95% CI)",
    "response_lower": "Response 95% CI low",
    "response_upper": "Response 95% CI high",
    "remitters": "Remitters",
    "remission_rate": "Remission (95% CI)",
    "remission_lower": "Remission 95% CI low",
    "remission_upper": "Remission 95% CI high",
    "with_follow_up": "Responders with follow-up",
}
response = ["response_rate", "response_lower", "response_upper"]
remission = ["remission_rate", "remission_lower", "remission_upper"]
for dimension, title in (("condition", "By condition"), ("site", "By site")):
    part = rates[rates["dimension"] == dimension][show]
    if len(part):
        st.subheader(f"{instrument} response and remission, {title.lower()}")
        if dimension == "condition":
            part = part.assign(group=part["group"].map(charts.label))
        ui.table(
            metrics.suppress_rates(part, thr),
            f"{instrument} {title}",
            percent=metrics.RATE_COLUMNS,
            ci={"response_rate": response[1:], "remission_rate": remission[1:]},
            rename={**names, "group": title.split()[-1].capitalize()},
            hide=("with_baseline", "with_response_assessment"),
        )
st.caption(
    "Rates are over the evaluable patients (a baseline above 0 and a response assessment), with 95% "
    "Wilson confidence intervals. Months are start months: the month of each patient's first infusion."
)
ui.notes(summary.notes)

st.subheader("Printable report")
st.caption(
    "A PDF of the practice's outcomes for owners, referrers and payers, for the data and filters in force, "
    "with small counts suppressed as on screen."
)
if st.button("Prepare the PDF report", key="prepare_report"):
    inputs = report.report_inputs(
        d.assessments,
        d.treatments,
        defs,
        instrument=instrument,
        issues=getattr(d.loaded, "issues", None),
        rows_read=getattr(d.loaded, "rows_read", None),
        call=ui.cached,  # the pages' cached calls: the report lays out the results shown above
    )
    pdf = report.build_report(inputs, practice=d.source, filters=d.filters)
    st.download_button(
        "Download the PDF report",
        pdf,
        file_name="outcomes_report.pdf",
        mime="application/pdf",
        key="report_pdf",
        type="primary",
    )
