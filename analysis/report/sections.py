"""The sections of the PDF report, in the order they print, each laying out results of a
:class:`analysis.report.ReportInputs` on an :class:`analysis.report.pdf.Pdf` page: the title page with the KPIs and
practice totals, the outcome funnel and the rate tables, the trajectory figure, durability (Kaplan-Meier, medians,
Cox), the definitions and methods, and the data quality. Nothing is computed here: numbers come from the results
and become text through ``analysis.formatting``; figures are ``analysis.charts``' own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from analysis import charts, coxph, instruments, methods, privacy
from analysis import formatting as fmt
from analysis.schema import (
    ASSESSMENT_COMPLETION,
    CONDITION,
    DIMENSION,
    EVALUABLE,
    GROUP,
    INFUSIONS,
    INSTRUMENT,
    PATIENTS,
    REMISSION_RATE,
    REMITTERS,
    RESPONDERS,
    RESPONSE_RATE,
    SCORE,
    SERIES_COMPLETION,
    SITE,
)

if TYPE_CHECKING:
    from analysis.report import DataFacts, ReportInputs


def kpi_cells(kpis: pd.DataFrame, threshold: int) -> pd.DataFrame:
    """The KPI tiles as text (label, value, previous, change, of), after ``kpi_tiles.kpis_shown`` (the one
    suppression rule of the tiles): '<11' for a small count, '—' for a value withheld or missing."""
    from analysis.kpi_tiles import kpis_shown

    rows = []
    for k in kpis_shown(kpis, threshold).to_dict("records"):
        share = k["unit"] == "share"
        if share:  # a share withheld beside its count reads 'withheld*' (the footnote says why), never '—'
            value = privacy.marked(None) if k["value"] is None and k["n"] is not None else fmt.percent(k["value"])
            previous = (
                privacy.marked(None)
                if k["previous"] is None and k["previous_n"] is not None
                else fmt.percent(k["previous"])
            )
            change = fmt.DASH if k["change"] is None else fmt.points(k["change"])
            of = fmt.count(privacy.marked(k["n"], threshold))
        else:
            value = fmt.count(privacy.marked(k["value"], threshold) if k["value"] is not None else None)
            previous = fmt.count(privacy.marked(k["previous"], threshold) if k["previous"] is not None else None)
            change = fmt.DASH if k["change"] is None else f"{k['change']:+d}"
            of = ""
        rows.append(
            {
                "kpi": k["kpi"],
                "label": k["label"],
                "value": value,
                "previous": previous,
                "change": change,
                "of": of,
                "note": k["note"],
            }
        )
    return pd.DataFrame(rows, columns=["kpi", "label", "value", "previous", "change", "of", "note"])


def _n(v, threshold: int) -> str:
    """A count of a suppressed table as the report writes it: '1,234', '<11*', 'withheld*'."""
    return fmt.count(privacy.marked(v, threshold))


def _grid(pdf, header, rows, threshold: int, also=(), **kw) -> None:
    """A table, and under it the footnote of its suppressed values (analysis.privacy.footnote) if it (or the
    rows ``also``, of a table above it on the page) has any."""
    pdf.grid(header, rows, **kw)
    if privacy.has_mark(rows) or privacy.has_mark(also):
        pdf.para(privacy.footnote(threshold), size=7, colour=90)


def funnel_rows(row: dict, threshold: int, shown: dict | None = None) -> list[tuple[str, str, str]]:
    """(stage, count as shown, share of the stage above) of one funnel row; a share is withheld when
    either count is hidden. ``shown``: the row as the rate tables show it (``Summary.suppressed_rates``, with
    its complementary suppression); without it, the row's small counts only."""
    out, previous = [], None
    for key, name in fmt.FUNNEL_LABELS.items():
        if key not in row:
            continue
        n = shown[key] if shown is not None else privacy.show_count(row[key], threshold)
        share = ""
        if previous is not None:
            if any(v is None or isinstance(v, str) or fmt.missing(v) for v in (n, previous)) or previous == 0:
                share = fmt.DASH
            else:
                share = fmt.percent(float(n) / float(previous))
        out.append((name, _n(n, threshold), share))
        previous = n
    return out


def period_of(summary) -> str:
    """The period of the report: its first to last start month ('2024-11 to 2026-10')."""
    p = summary.suppressed_practice()
    first, last = p.get("first_start_month"), p.get("last_start_month")
    return f"{first} to {last}" if first and last and first != last else (first or "not known")


def title_page(pdf, r: ReportInputs, practice, filters, stamp, prov=None):
    """The title (the practice and the period), the provenance (data, filters, card and its differences from the
    default card, software) and the key figures."""
    summary, kpis, code, t = r.summary, r.kpis, r.instrument, r.threshold
    p = summary.suppressed_practice()
    period = period_of(summary)
    pdf.ln(18)
    pdf.para("Outcomes report", size=11, colour=90)
    pdf.heading(practice, level=0)
    pdf.para(f"Patients who started {period}", size=11, colour=60)
    pdf.ln(2)
    about = dict(prov.lines()) if prov is not None else {}
    lines = [
        ("Period (start months)", period),
        *([("Data", about["Data"])] if "Data" in about else []),
        ("Patients", filters),
        ("Main instrument", f"{code}: {instruments.get(code).name}"),
        *(
            [
                ("Definition card", about["Definition card"]),
                ("Changed from default", about["Differences from the default card"]),
                ("Software", about["Software"]),
            ]
            if prov is not None
            else []
        ),
        ("Generated", stamp),
    ]
    for k, v in lines:
        pdf.set_font(pdf.family, "B", 10)
        pdf.cell(45, 6, pdf.text_safe(k))
        pdf.set_font(pdf.family, "", 10)
        pdf.multi_cell(0, 6, pdf.text_safe(v), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.para(
        "De-identified practice data: days are counted from each patient's first treatment and only start "
        "months are kept. Rates are over the evaluable patients with 95% confidence intervals. Counts "
        f"from 1 to {t - 1} are shown as <{t}* and anything they could be worked out from is withheld*; "
        "a dash (—) is a value that does not exist."
        if t > 1
        else "De-identified practice data; small counts are not suppressed in this report.",
        size=8.5,
        colour=70,
    )
    pdf.notes(r.notes)

    pdf.heading("Key figures", level=1)
    period_now, previous = kpis["period"].iloc[0], kpis["previous_period"].iloc[0]
    cells = kpi_cells(kpis, t)
    has_previous = isinstance(previous, str)
    pdf.para(
        f"Patients who started {period_now}, against {previous}."
        if has_previous
        else "All patients: start months are not known month by month, so there is no comparison period.",
        size=8.5,
    )
    header = ["", str(period_now)] + ([str(previous), "Change"] if has_previous else []) + ["Out of"]
    rows = [[r.label, r.value] + ([r.previous, r.change] if has_previous else []) + [r.of] for r in cells.itertuples()]
    pdf.grid(header, rows)  # (its footnote is the one under the totals below, on the same page)
    caveats = sorted({f"{r.label}: {r.note}" for r in cells.itertuples() if r.note})
    pdf.notes(caveats, "Caveats")

    pdf.heading("All start months", level=2)
    share = lambda s, n: f"{fmt.percent(s)} of {_n(n, t)}" if not fmt.missing(s) else privacy.marked(None)  # noqa: E731
    totals = [
        ["Patients started", _n(p[PATIENTS], t)],
        ["Patients with scores", _n(p["patients_with_scores"], t)],
        ["Scores kept", fmt.count(privacy.show_count(r.data.scores, t))],
    ]
    if p.get(INFUSIONS) is not None and not fmt.missing(p.get(INFUSIONS)):
        totals += [
            [
                "Infusions (induction / booster / maintenance)",
                f"{_n(p['infusions'], t)} ({_n(p['induction_infusions'], t)} / {_n(p['boosters'], t)}"
                f" / {_n(p['maintenance'], t)})",
            ],
            [
                "Series completion (of patients who started a series)",
                share(p[SERIES_COMPLETION], p["induction_started"]),
            ],
            ["Infusions with a score that day (±1 day)", share(p[ASSESSMENT_COMPLETION], p["infusions_dated"])],
        ]
        if not fmt.missing(p.get("median_infusions")):
            totals.append(["Median induction infusions per patient", f"{float(p['median_infusions']):g}"])
    else:
        totals.append(["Infusions, series and assessment completion", "need a treatments file"])
    _grid(pdf, ["", "Value"], totals, t, also=rows)


def outcomes(pdf, summary, code, t):
    rates = summary.suppressed_rates()
    pdf.add_page()
    pdf.heading(f"Outcome funnel, {code}", level=1)
    overall = summary.rates[(summary.rates[INSTRUMENT] == code) & (summary.rates[DIMENSION] == "overall")]
    if len(overall):
        row = overall.iloc[0].to_dict()
        # the overall row as the tables by condition and site beside it withhold it (complementary suppression)
        shown = rates[(rates[INSTRUMENT] == code) & (rates[DIMENSION] == "overall")].iloc[0].to_dict()
        chart = charts.funnel_chart(row, code, t, shown)
        pdf.figure(chart)
        # (the footnote is in the chart's notes just above)
        pdf.grid(["Stage", "Patients", "Share of the stage above"], [list(r) for r in funnel_rows(row, t, shown)])
    else:
        pdf.para(f"No {code} scores.")

    pdf.heading("Response and remission by condition", level=1)
    pdf.para(
        "Per instrument, overall and by condition: rates over the evaluable patients (a baseline above 0 and a "
        "response assessment) with 95% Wilson confidence intervals.",
        size=8.5,
        colour=70,
    )
    part = rates[rates[DIMENSION].isin(["overall", CONDITION])]
    header = ["Instrument", "Condition", *RATE_HEADER]
    _grid(pdf, header, _rate_rows(part, True, t), t, align=["LEFT", "LEFT"] + ["RIGHT"] * 6, size=7.5)
    by_site = rates[(rates[INSTRUMENT] == code) & (rates[DIMENSION] == SITE)]
    if len(by_site):
        pdf.heading(f"{code} response and remission by site", level=2)
        _grid(pdf, ["Site", *RATE_HEADER], _rate_rows(by_site, False, t), t, size=7.5)
    pdf.notes(summary.notes)


#: the headings of the rate tables' columns after the group (the cells of :func:`_rate_rows`)
RATE_HEADER = [
    fmt.LABELS[PATIENTS],
    fmt.LABELS[EVALUABLE],
    fmt.LABELS[RESPONDERS],
    fmt.ci_label(RESPONSE_RATE),
    fmt.LABELS[REMITTERS],
    fmt.ci_label(REMISSION_RATE),
]


def _rate_rows(part: pd.DataFrame, with_instrument: bool, t: int) -> list[list[str]]:
    def rate(r, k):  # withheld (None) reads 'withheld*'; a rate that does not exist (NaN) '—'
        if r[f"{k}_rate"] is None:
            return privacy.marked(None, t)
        return fmt.rate_ci(r[f"{k}_rate"], r[f"{k}_lower"], r[f"{k}_upper"])

    rows = []
    for r in part.to_dict("records"):
        group = "All" if r[DIMENSION] == "overall" else charts.label(r[GROUP])
        rows.append(
            ([r[INSTRUMENT]] if with_instrument else [])
            + [
                group,
                _n(r[PATIENTS], t),
                _n(r[EVALUABLE], t),
                _n(r[RESPONDERS], t),
                rate(r, "response"),
                _n(r[REMITTERS], t),
                rate(r, "remission"),
            ]
        )
    return rows


def trajectories(pdf, traj, error, code, defs, t):
    pdf.heading(f"{code} scores over time", level=1, need=120)
    if traj is None:
        pdf.para(f"Trajectories are not available: {error}")
        return
    predicted = traj.predicted if traj.converged else None
    chart = charts.trajectory_chart(
        traj.observed, predicted, None, instruments.get(code).band_ranges(), defs.induction_end_day, code, SCORE, t
    )
    pdf.figure(chart)
    if traj.model is None:
        pdf.para("The mixed model was not fitted (see the notes); the observed means are shown.", size=8.5)
    elif not traj.converged:
        pdf.para(
            "The mixed model did not converge on these data, so its curves are not shown; the observed means are.",
            size=8.5,
            style="B",
        )
    else:
        pdf.para(f"Mixed model (REML): {traj.model_formula}; converged.", size=8)
        words = traj.fit_check_words()
        if words:
            pdf.para(f"Model check: {words}", size=8)
    pdf.notes(traj.notes)


def durability(pdf, res, overall, error, code, defs, t):
    pdf.add_page()
    pdf.heading(f"How long {code} response lasts", level=1)
    if res is None or overall is None:
        pdf.para(f"Durability is not available: {error}")
        return
    days = defs.survival_days
    g = overall._groups_shown().iloc[0] if len(overall.groups) else None
    lr = res.logrank
    small = g is None or isinstance(g["n"], str) or fmt.missing(g["n"]) or g["n"] == 0
    header = ["Responders followed", "Median days (95% CI)"] + [_day_label(d) for d in days] + ["Log-rank p"]
    cells = [
        fmt.count(0 if g is None else g["n"]),
        fmt.DASH if small else fmt.median_ci(g["median"], g["median_lower"], g["median_upper"]),
    ]
    cells += [fmt.DASH if small else fmt.rate_ci(g[f"s{d}"], g[f"s{d}_lower"], g[f"s{d}_upper"]) for d in days]
    cells.append(fmt.DASH if lr is None else fmt.p_value(lr.p))
    pdf.grid(header, [cells], align=["CENTER"] * len(header), size=7.5)

    pdf.figure(charts.km_chart(res.km.table, res.at_risk(), code, t))

    pdf.heading("Median durability and share still responding, by condition", level=2)
    shown = pd.concat([overall._groups_shown().assign(group="All"), res._groups_shown()], ignore_index=True)
    rows = []
    for r in shown.to_dict("records"):
        hidden = isinstance(r["n"], str)
        rows.append(
            [
                charts.label(r[GROUP]) if r[GROUP] != "All" else "All",
                fmt.count(r["n"]),
                fmt.count(r["events"]),
                fmt.DASH if hidden else fmt.median_ci(r["median"], r["median_lower"], r["median_upper"]),
            ]
            + [fmt.DASH if hidden else fmt.rate_ci(r[f"s{d}"], r[f"s{d}_lower"], r[f"s{d}_upper"]) for d in days]
        )
    head = ["Condition", "Followed", "Lost response", "Median days (95% CI)"] + [_day_label(d) for d in days]
    pdf.grid(head, rows, size=7.5)
    if lr is not None and not fmt.missing(lr.chi2):
        pdf.para(
            f"Log-rank test across conditions: chi-square {lr.chi2:.2f} on {lr.df} df, p = {fmt.p_value(lr.p)}.",
            size=8.5,
        )

    pdf.heading("What changes the hazard of losing response (Cox model)", level=2, need=50)
    fit = res.cox
    if fit is None or not len(fit.params):
        pdf.para("The Cox model could not be fitted on these data (see the notes).", size=8.5)
    elif privacy.is_small(fit.n, t):
        pdf.para(f"Not shown: the model rests on fewer than {t} episodes (small-cell suppression).", size=8.5)
    else:
        pdf.para(
            f"Cox proportional-hazards model with Efron ties, fitted on "
            f"{fmt.count(privacy.show_count(fit.n, t))} episodes with {fmt.count(privacy.show_count(fit.events, t))}"
            " losses of response; a hazard ratio above 1 means response is lost sooner than in the reference "
            "level.",
            size=8.5,
        )
        rows = []
        for r in fit.params_shown(t).to_dict("records"):
            covariate = str(r.get("covariate") or r["term"]).replace("_", " ").capitalize()
            level = charts.label(r["level"]) if not fmt.missing(r.get("level")) else ""
            reference = charts.label(r["reference"]) if not fmt.missing(r.get("reference")) else ""
            hr = fmt.hazard_ratio(r["hr"], r["lower"], r["upper"])
            hr = coxph.not_shown(r) or hr
            rows.append([covariate, level, reference, hr, fmt.p_value(r["p"])])
        pdf.grid(
            ["Covariate", "Level", "Against", "Hazard ratio (95% CI)", "p"],
            rows,
            align=["LEFT", "LEFT", "LEFT", "RIGHT", "RIGHT"],
            size=7.5,
        )
        checks = _model_checks(fit)
        if checks:
            pdf.para(checks, size=8.5)
    pdf.notes(res.notes)


def _model_checks(fit) -> str:
    """The Cox model's concordance and proportional-hazards test in one sentence ('' when there is neither)."""
    from analysis.durability import cox_checks_json

    j, parts = cox_checks_json(fit), []
    if j["concordance"] is not None:
        parts.append(f"concordance (Harrell's C) {j['concordance']['c']:.2f} (SE {j['concordance']['se']:.2f})")
    if j["proportional_hazards"] is not None:
        parts.append(
            f"proportional-hazards test (R cox.zph) global p = {fmt.p_value(j['proportional_hazards']['global']['p'])}"
        )
    return ("Model checks: " + "; ".join(parts) + ".") if parts else ""


def _day_label(day: int) -> str:
    return f"At {day // 7} weeks" if day % 7 == 0 else f"At day {day}"


def methods_section(pdf, defs, summary, traj, t):
    pdf.heading("Definitions and methods", level=1, need=80)
    pdf.heading(f"The definition card in force: '{defs.name}'", level=2)
    from analysis.card import differences

    changed = differences(defs)
    if changed:
        pdf.para("Changed from the default card:", size=8.5, style="B")
        pdf.bullets(changed)
    else:
        pdf.para("The default card: no setting is changed.", size=8.5)
    pdf.bullets(defs.description())
    codes = list(summary.practice.get("instruments") or [])
    reg = instruments.registry()
    rows = []
    for c in codes:
        ins = reg[c]
        rem = defs.remission_threshold(c)
        bands = ", ".join(f"{lab} {lo:g}–{hi:g}" for lab, lo, hi in ins.band_ranges()) or "none validated"
        rows.append(
            [
                c,
                ins.name,
                f"≥ {100 * defs.response_threshold(c):g}% drop",
                f"≤ {rem:g}" if rem is not None else "none",
                bands,
            ]
        )
    if rows:
        pdf.ln(1)
        pdf.grid(["Code", "Instrument", "Response", "Remission", "Severity bands"], rows, align=["LEFT"] * 5, size=7.5)
    pdf.heading("Methods", level=2)
    pdf.para(
        methods.methods_text(defs, codes, t, None if traj is None or traj.model is None else traj.converged), size=8.5
    )
    pdf.heading("Citations", level=2)
    cites = [f"{what}: {ref}" if what else ref for what, ref in methods.citations(codes)]
    pdf.bullets(cites, size=7.5)


def data_quality(pdf, data: DataFacts, issues, rows_read, t):
    pdf.heading("Data quality", level=1)
    facts = []
    if rows_read is not None:
        facts.append(["Rows read from the files", fmt.count(privacy.show_count(int(rows_read), t))])
    facts += [
        ["Scores kept (after the filters)", fmt.count(privacy.show_count(data.scores, t))],
        ["Patients with scores", fmt.count(privacy.show_count(data.patients, t))],
        ["Instruments", ", ".join(data.instruments) or fmt.DASH],
        [
            "Treatment sessions",
            "no treatments file" if data.sessions is None else fmt.count(privacy.show_count(data.sessions, t)),
        ],
    ]
    facts += [[f"Patients without a {what}", fmt.count(privacy.show_count(n, t))] for what, n in data.without]
    pdf.grid(["", "Value"], facts)
    if issues is None:
        pdf.para("The validation issues were not supplied with these data.", size=8.5)
        return
    if issues.empty:
        pdf.para("Validation found no problems in the files.", size=8.5)
        return
    pdf.para(
        "Problems found when the files were read, by kind (errors stop a file from being used; warnings and "
        "notes describe rows that were corrected or left out). Messages are not printed here because they "
        "quote patient keys and row numbers: `python -m analysis validate` or the Data page shows them.",
        size=8.5,
    )
    order = {s: i for i, s in enumerate(("error", "warning", "info"))}
    grouped = []
    for (severity, code), part in issues.groupby(["severity", "code"], sort=False):
        rows = sum(
            0 if r is None or isinstance(r, float) else (1 if isinstance(r, (int, str)) else len(r))
            for r in part["rows"]
        )
        columns = ", ".join(sorted({str(c) for c in part["column"] if not fmt.missing(c) and str(c)})) or fmt.DASH
        grouped.append((order.get(severity, 9), str(severity), str(code), columns, rows))
    grouped.sort()
    pdf.grid(
        ["Severity", "Problem", "Column", "Rows affected"],
        [[s, c, cols, fmt.count(privacy.show_count(r, t))] for _, s, c, cols, r in grouped],
        align=["LEFT", "LEFT", "LEFT", "RIGHT"],
        size=7.5,
    )


# --- quality measures (issue 18) ---------------------------------------------------------------------------------


def measures_section(pdf, res, error, t):
    """The quality measures of a reporting period (analysis.measures): the measure table, which row answers
    which program, the rates by site, and why the course's rates differ. Suppressed as on the Quality measures
    page (the table and its groups together), never under the shared threshold."""
    from analysis import access, measures

    t = access.shared_threshold(t)  # (the PDF leaves the practice)
    pdf.heading("Quality measures (MIPS, NQF, HEDIS, CCBHC)", level=1, need=80)
    if res is None:
        pdf.para(f"No quality measures: {error}", size=9, colour=70)
        return
    table, _, by_site = res.shown(t)
    lo, hi = res.period
    rule = "the most recent PHQ-9" if res.score_rule == "most_recent" else "any PHQ-9"
    pdf.para(
        f"Index events from {lo} to {hi} (the first PHQ-9 above 9 of a patient with depression in those months); "
        f"the data end in {res.data_end_month}. Windows of +/- {res.window_days} days around 6 and 12 months, "
        f"{rule} in the window deciding. Denominator = met + not met + no score in the window; index events = "
        "denominator + excluded (bipolar) + window not yet closed. Rates with 95% Wilson intervals.",
        size=8.5,
        colour=70,
    )
    header = ["Measure", "Window", "Denominator", "Met", "Rate (95% CI)", "Not met", "No score"]
    header += ["Excluded", "Not yet closed", "Index events"]
    rows = [
        [
            f"{r['measure']}: {r['name']}",
            r["window"].replace("days ", ""),
            *(fmt.count(r[c]) for c in ("denominator", "numerator")),
            _measure_rate(r),
            *(fmt.count(r[c]) for c in ("not_met", "no_score", "excluded", "not_reached", "eligible")),
        ]
        for r in table.to_dict("records")
    ]
    pdf.grid(header, rows, align=["LEFT"] + ["RIGHT"] * 9, size=7)
    pdf.para(
        f"A count under {t} is shown as <{t}; a blank ('—') is withheld so that it cannot be worked out from the "
        "others in this report.",
        size=7.5,
        colour=90,
    )
    pdf.heading("Which row answers which program", level=2)
    pdf.bullets([f"{p}: {what}. Here: {where}." for p, what, where in measures.READINGS], size=8)
    pdf.heading("Why the course's response and remission differ", level=2)
    pdf.para(measures.WHY_COURSE_DIFFERS[0].upper() + measures.WHY_COURSE_DIFFERS[1:], size=8.5)
    shown = by_site[[not fmt.missing(v) for v in by_site["rate"]]]
    pdf.heading("Rates by site", level=2)
    if len(shown):
        rows = [
            [r["measure"], charts.label(r["group"]), fmt.count(r["denominator"]), _measure_rate(r)]
            for r in shown.to_dict("records")
        ]
        pdf.grid(["Measure", "Site", "Denominator", "Rate (95% CI)"], rows, align=["LEFT", "LEFT", "RIGHT", "RIGHT"])
    left_out = len(by_site) - len(shown)
    if left_out or not len(shown):
        pdf.para(
            f"{left_out} measure and site pair(s) not listed: no denominator yet, or a count under {t}.",
            size=7.5,
            colour=90,
        )
    pdf.notes(res.notes)


def _measure_rate(r) -> str:
    if not fmt.missing(r["rate"]):
        return fmt.rate_ci(r["rate"], r["lower"], r["upper"])
    return f"{r['numerator']} met" if isinstance(r["numerator"], str) else fmt.DASH


# --- session safety (issue 17) -----------------------------------------------------------------------------------
def _per_100(value, lower, upper) -> str:
    """'9.2 (8.2 to 10.4)' per 100 (sessions or patients); '—' when withheld or missing."""
    if fmt.missing(value):
        return fmt.DASH
    if fmt.missing(lower) or fmt.missing(upper):
        return f"{float(value):.1f}"
    return f"{float(value):.1f} ({float(lower):.1f} to {float(upper):.1f})"


def safety_section(pdf, res, error, t):
    """Session safety (analysis.safety): the flags' rates per 100 sessions and per patient with their Wilson
    intervals, the blood-pressure rise and dissociation over the series, and the PHQ-9 item 9 counts, at the report's
    threshold ``t`` as every section (its callers hold it at the shared 11 for a PDF that leaves the practice:
    analysis.access; only --not-for-sharing lowers it)."""
    from analysis import safety_charts
    from analysis.safety import FLAGS
    from analysis.schema import OVERALL

    pdf.add_page()
    pdf.heading("Session safety", level=1)
    if res is None:
        pdf.para(f"Session safety is not available: {error}")
        return
    j = res.to_json(t)
    pdf.para(
        f"{fmt.count(j['sessions'])} sessions of {fmt.count(j['patients'])} patients. A flag's rate is over the "
        "sessions (and patients) where it can be told from the monitoring record; Wilson 95% confidence intervals.",
        size=8.5,
        colour=70,
    )
    rates = j["rates"]
    overall = rates[rates[DIMENSION] == OVERALL].set_index("flag")
    rows = []
    for flag, words in FLAGS.items():
        if flag not in overall.index:
            rows.append([words, fmt.DASH, fmt.DASH, "not recorded", fmt.DASH, fmt.DASH])
            continue
        r = overall.loc[flag]
        rows.append(
            [
                words,
                fmt.count(r["sessions"]),
                fmt.count(r["events"]),
                _per_100(r["per_100"], r["lower"], r["upper"]),
                fmt.count(r["patients_flagged"]),
                _per_100(r["patients_per_100"], r["patients_lower"], r["patients_upper"]),
            ]
        )
    pdf.grid(
        ["Flag", "Sessions told", "Flagged", "Per 100 sessions (95% CI)", "Patients flagged", "% of patients (95% CI)"],
        rows,
        align=["LEFT"] + ["RIGHT"] * 5,
        size=7.5,
    )
    pdf.figure(safety_charts.series_chart(res.means_shown(res.by_infusion_number, t)))
    pdf.heading("Suicidality: PHQ-9 item 9", level=2, need=30)
    s = j["suicidality"]
    if not s.get("kept"):
        pdf.para("PHQ-9 item 9 is not in the data: suicidality cannot be told.", size=8.5)
    else:
        pdf.grid(
            [
                "Patients with item 9 at baseline",
                ">= 1 at baseline",
                "of them 0 at the latest",
                "Emergent (0, then >= 1)",
            ],
            [
                [
                    fmt.count(s["with_item9"]),
                    fmt.count(s["at_baseline"]),
                    fmt.count(s["resolved"]),
                    fmt.count(s["emergent"]),
                ]
            ],
            align=["CENTER"] * 4,
            size=7.5,
        )
        pdf.para(
            "Emergent: item 9 (thoughts of self-harm) 0 at baseline and 1 or more at a later PHQ-9. The patients "
            "themselves are listed for clinicians on the dashboard's Safety page, never in this report.",
            size=8.5,
        )
    pdf.notes(j["notes"])
