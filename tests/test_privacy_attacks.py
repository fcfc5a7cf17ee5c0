"""Issue 15 item 2, tried as an attacker would: each example of "suppressed counts recovered by subtraction"
reproduced on a practice built for it, and the attack shown to fail on what one output shows (the summary's
JSON, the Overview's funnel and tables, the PDF's text read back with pypdf, two cohorts on Compare).

The attacker of tests/test_privacy_properties.py (``solved``: an integer program over what is shown) is used
wherever a table has margins; the rest check the subtraction of the issue itself."""

from __future__ import annotations

import io
import re

import numpy as np
import pandas as pd
import pytest

from analysis import charts, cohorts, metrics, privacy, schema
from analysis.outcomes import FUNNEL_COMPLEMENTS, FUNNEL_COUNTS
from analysis.report import sections
from tests.test_privacy_properties import CHAIN, json_system, solved

T = 11


def practice(groups, month="2025-01") -> pd.DataFrame:
    """Canonical assessments: per group ``n`` PHQ-9 patients of a site (and condition, age band), each with a
    score on day -40; all but ``no_baseline`` a baseline of 20 on day 0 and a score on days 21 and 60: 3 for the
    first ``remit`` (remission), 8 for the next ``resp`` (response), 15 for the rest; on day 60 15 for the first
    ``lose`` (loss of response)."""
    rows, k = [], 0
    for g in groups:
        for i in range(g["n"]):
            k += 1
            c = {
                "patient_id": f"{g['site'][:1]}{k}",
                "instrument": "PHQ9",
                "condition": g.get("condition", "depression"),
                "site": g["site"],
                "age_band": g.get("age_band", "35-44"),
                "start_month": g.get("month", month),
            }
            rows.append({**c, "score": 20, "day": -40})
            if i < g.get("no_baseline", 0):
                continue
            j = i - g.get("no_baseline", 0)
            s = 3 if j < g.get("remit", 0) else 8 if j < g.get("remit", 0) + g.get("resp", 0) else 15
            later = 15 if j < g.get("lose", 0) else s  # the first ``lose`` responders lose response by day 60
            rows += [{**c, "score": 20, "day": 0}, {**c, "score": s, "day": 21}, {**c, "score": later, "day": 60}]
    return pd.DataFrame(rows)


#: 397 PHQ-9 patients at three sites: East has 5 remitters; South has 10 patients without a baseline
SITES = [
    dict(site="North", n=150, remit=40, resp=30),
    dict(site="South", n=150, remit=35, resp=40, no_baseline=10),
    dict(site="East", n=97, remit=5, resp=40),
]


def treatments_for(assessments: pd.DataFrame, extra: int = 0) -> pd.DataFrame:
    """Six induction infusions per patient of ``assessments``, and ``extra`` patients with infusions and no
    score (patients started 398, with scores 397)."""
    ids = list(dict.fromkeys(assessments["patient_id"])) + [f"X{i}" for i in range(extra)]
    return pd.DataFrame(
        [{"patient_id": p, "day": d, "kind": "induction", "route": "IV"} for p in ids for d in (0, 2, 4, 7, 9, 11)]
    )


@pytest.fixture(scope="module")
def sites_summary():
    a = practice(SITES)
    return a, metrics.summary(a)


# -- summary --json: a site's "<11" from the overall minus the other sites ----------------------------------------


def test_summary_json_site_remitters_cannot_be_had_by_subtraction(sites_summary):
    a, s = sites_summary
    j = s.to_json()
    by_site = j["by_instrument"]["PHQ9"]["by_site"]
    assert by_site["East"]["remitters"] == "<11"  # the count the attacker wants (5)
    overall = j["by_instrument"]["PHQ9"]["overall"]["remitters"]
    others = [by_site[g]["remitters"] for g in ("North", "South")]
    # the attack: overall minus the other sites. One of them is withheld now.
    assert not all(isinstance(v, int) for v in [overall, *others]), (overall, others)
    # and no other way round: the attacker's integer program over everything the JSON shows
    shown, blocks = json_system(j)
    true = s.rates[s.rates["instrument"] == "PHQ9"][list(FUNNEL_COUNTS)].astype(float).to_numpy()
    assert solved(true, shown, blocks, CHAIN) == []


def test_overview_rate_tables_and_their_downloads_hold_the_same_protected_cells(sites_summary):
    _, s = sites_summary
    shown = s.suppressed_rates()
    site = shown[shown["dimension"] == "site"].set_index("group")
    assert site.loc["East", "remitters"] == "<11" and site.loc["South", "remitters"] is None
    # the download (a marked table with the footnote) reads the same, never blank
    marked = privacy.with_footnote(privacy.mark(shown[shown["dimension"] == "site"]))
    csv = privacy.to_csv_bytes(marked).decode()
    assert "<11*" in csv and "withheld*" in csv and "worked out by subtraction" in csv
    assert ",," not in csv.splitlines()[2]  # South's row: no blank cell


# -- the funnel: 397 -> 387 beside a note saying such steps are withheld ---------------------------------------


def test_the_funnel_never_shows_a_step_and_the_step_before_that_differ_by_under_11(sites_summary):
    _, s = sites_summary
    row = s.rates[(s.rates["dimension"] == "overall")].iloc[0].to_dict()
    assert (row["patients"], row["with_baseline"]) == (397, 387)  # the attack: 397 - 387 = 10
    shown = s.suppressed_rates()
    shown = shown[shown["dimension"] == "overall"].iloc[0].to_dict()
    for text in (
        [r[1] for r in sections.funnel_rows(row, T, shown)],  # the PDF's table
        list(charts.funnel_chart(row, "PHQ9", T, shown).figure.data[0].text),  # the chart, screen and PDF
    ):
        numbers = [int(re.match(r"[\d,]+", t).group().replace(",", "")) if t[0].isdigit() else None for t in text]
        assert "withheld*" in text
        for before, after in zip(numbers, numbers[1:]):
            assert before is None or after is None or not 0 < before - after < T, text
    notes = charts.funnel_chart(row, "PHQ9", T, shown).notes
    assert any("With a baseline: withheld, because it differs from 'Patients with a score'" in n for n in notes)


def test_patients_started_beside_patients_with_scores_do_not_reveal_the_one_without(sites_summary):
    a, _ = sites_summary
    s = metrics.summary(a, treatments_for(a, extra=1))
    assert (s.practice["patients"], s.practice["patients_with_scores"]) == (398, 397)
    p = s.suppressed_practice()
    assert p["patients"] == 398 and p["patients_with_scores"] is None
    assert s.to_json()["practice"]["patients_with_scores"] is None
    assert "397" not in s.to_text().split("Patients started:")[1].splitlines()[0]


def test_a_small_month_cannot_be_had_from_the_practice_total_minus_the_other_months():
    a = practice(
        [
            dict(site="North", n=60, remit=20, resp=20, month="2025-01"),
            dict(site="North", n=4, remit=1, resp=1, month="2025-02"),
            dict(site="North", n=50, remit=20, resp=20, month="2025-03"),
        ]
    )
    s = metrics.summary(a, treatments_for(a))
    months = s.suppressed_by_month().set_index("start_month")
    p = s.suppressed_practice()
    assert months.loc["2025-02", "patients_started"] == "<11"
    shown = [p["patients"], months.loc["2025-01", "patients_started"], months.loc["2025-03", "patients_started"]]
    assert not all(isinstance(v, (int, np.integer)) for v in shown), shown
    # (the month's infusions, 24, are shown: infusions are not patients; README names this residual risk)


# -- the PDF, read back as text -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pdf_text(sites_summary):
    from pypdf import PdfReader

    from analysis import report

    a, _ = sites_summary
    inputs = report.report_inputs(a, treatments_for(a, extra=1), instrument="PHQ9")
    pdf = report.build_report(inputs, practice="Attack test")
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def _line(text: str, start: str) -> str:
    return next(line for line in text.splitlines() if line.startswith(start))


def test_pdf_funnel_totals_and_site_table_resist_subtraction(pdf_text):
    # patients started 398 / with scores 397
    assert _line(pdf_text, "Patients with scores").split()[-1] == "withheld*"
    # the funnel: 397 -> 387 not both printed
    assert _line(pdf_text, "With a baseline").split()[3] == "withheld*"

    # the site table beside the overall row: East's remitters '<11*', and one more remitters count withheld
    def remitters_of(line: str, first: int) -> str:  # after the response rate: 'withheld*' or '54.7% (43.4 to 65.4)'
        tokens = line.split()[first:]
        return tokens[1] if tokens[0] == "withheld*" else tokens[4]

    remitters = [remitters_of(_line(pdf_text, f"{site} "), 4) for site in ("North", "South", "East")]
    overall = remitters_of(_line(pdf_text, "PHQ9 All"), 5)
    assert remitters[2] == "<11*" and "withheld*" in [*remitters[:2], overall], (remitters, overall)
    # every suppressed value is explained by a footnote, never blank
    assert "* <11: a count from 1 to 10, not shown" in pdf_text
    assert "withheld, because it differs from 'Patients with a score' by fewer than 11" in pdf_text


# -- Compare: cohort A and A without one age band ---------------------------------------------------------------


def _cohort_data():
    return practice(
        [
            dict(site="North", n=45, remit=10, resp=15, lose=12, age_band="35-44"),
            dict(site="North", n=10, remit=3, resp=2, lose=2, age_band="45-54"),
            dict(site="North", n=1, remit=0, resp=1, age_band="55-64"),
        ]
    )


def test_cohort_a_and_a_minus_one_age_band_are_not_shown_side_by_side():
    a = _cohort_data()
    sel_a = cohorts.select(a, instrument="PHQ9")
    sel_b = cohorts.select(a, instrument="PHQ9", age_bands=["35-44", "45-54"])
    assert (sel_a.patients, sel_b.patients) == (56, 55)
    cmp = cohorts.compare(sel_a, sel_b, "PHQ9")
    assert cmp.withheld and "fewer than 11 patients who are not in cohort B" in cmp.withheld
    assert cmp.to_json() == {"instrument": "PHQ9", "withheld": cmp.withheld}
    dur = cohorts.compare_durability(sel_a, sel_b, "PHQ9")
    assert dur.comparison_shown() is None and "side by side" in dur.withheld
    # cohorts that differ by 11 or more (or not at all) are shown
    sel_c = cohorts.select(a, instrument="PHQ9", age_bands=["35-44"])
    assert cohorts.compare(sel_a, sel_c, "PHQ9").withheld is None
    assert cohorts.compare(sel_a, sel_a, "PHQ9").withheld is None


def test_the_rates_chart_never_draws_a_rate_the_table_withholds():
    rates = pd.DataFrame(
        {
            "cohort": ["A", "B"],
            "patients": [40, 40],
            "with_baseline": [40, 40],
            "with_response_assessment": [40, 40],
            "evaluable": [40, 40],
            "responders": [37, 20],  # 3 non-responders in A: its response rate is withheld in the table
            "remitters": [20, 20],
            "with_follow_up": [20, 20],
        }
    )
    from analysis.rates import add_rates

    rates = add_rates(rates)
    table = privacy.suppress_table(
        rates, FUNNEL_COUNTS, (), T, shares=schema.RATES, complements=FUNNEL_COMPLEMENTS
    ).set_index("cohort")
    assert table.loc["A", "response_rate"] is None and table.loc["B", "response_rate"] is not None
    chart = charts.rates_chart(rates, "cohort", T)
    drawn = {bar.name: list(bar.x) for bar in chart.figure.data}
    assert drawn["Cohort A"] == ["Remission"] and drawn["Cohort B"] == ["Response", "Remission"]
    assert any("withheld" in n for n in chart.notes)


# -- Trajectories: the fixed effects of a group whose curve is withheld ---------------------------------------


def test_the_fixed_effects_of_a_group_under_11_are_withheld_with_its_curve():
    from analysis import trajectory

    a = practice(
        [
            dict(site="N", n=60, remit=20, resp=20, condition="depression"),
            dict(site="N", n=7, remit=2, resp=2, condition="ptsd"),  # 7 patients: its curve is withheld
            dict(site="N", n=30, remit=5, resp=10, condition="anxiety"),
        ]
    )
    r = trajectory.trajectories(a, "PHQ9", by="condition")
    assert "conditionptsd:t1" in set(r.fixed_effects["term"])  # the model has it (5 patients and up)
    shown = r.fixed_effects_shown().set_index("term")
    ptsd = [t for t in shown.index if "conditionptsd" in t]
    assert ptsd and shown.loc[ptsd, "estimate"].isna().all() and shown.loc[ptsd, "se"].isna().all()
    assert shown.loc["conditionanxiety:t1", "estimate"] == pytest.approx(
        r.fixed_effects.set_index("term").loc["conditionanxiety:t1", "estimate"]
    )
    j = r.to_json()
    assert all(f["estimate"] is None for f in j["fixed_effects"] if "conditionptsd" in f["term"])
    assert all(p["mean"] is None for p in j["predicted"] if p["group"] == "ptsd")
