"""analysis.metrics: rates with Wilson CIs, rate comparisons (golden against R), practice metrics, KPIs.

Golden numbers: tests/data/golden/metrics_rates.R (R 4.2.2, base stats) wrote metrics_rate_ci.csv and
metrics_compare.csv. Tolerance: 1e-9 absolute for rates, limits and differences, 1e-9 relative for statistics
and p values (R prints 15 significant digits).
"""

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis import kpi_tiles, metrics
from analysis import practice as practice_volumes
from analysis.outcomes import Definitions
from analysis.rates import compare_rates, rate_ci, suppress_rates
from analysis.schema import ASSESSMENT_COLUMNS, TREATMENT_COLUMNS

GOLDEN = Path(__file__).parent / "data" / "golden"
ABS = 1e-9
REL = 1e-9


# --- a hand-worked practice ------------------------------------------------------------------
# P1 depression/Northside/2026-01: induction 0,2,4,7,9,11 + booster 40; PHQ9 20 (d0), 8 (d14), 10 (d40)
# P2 depression/Riverside/2026-01: induction 0,2; PHQ9 10 (d0), 9 (d3), 4 (d20)
# P3 anxiety/Northside/2026-02: induction 0,2,4,7,9,11,12; PHQ9 15 (d0), 12 (d16); GAD7 12 (d0), 3 (d15)
# P4 depression/Northside/2026-02: no treatments; PHQ9 0 (d0), 0 (d14)  (baseline 0: not evaluable)
# P5 depression/Lakeside/2026-03: induction 0; PHQ9 18 (d-2), 9 (d30)    (exactly a 50% drop: response)
PATIENTS = {
    "P1": (
        "depression",
        "Northside",
        "2026-01",
        [0, 2, 4, 7, 9, 11],
        [40],
        [("PHQ9", 0, 20), ("PHQ9", 14, 8), ("PHQ9", 40, 10)],
    ),
    "P2": ("depression", "Riverside", "2026-01", [0, 2], [], [("PHQ9", 0, 10), ("PHQ9", 3, 9), ("PHQ9", 20, 4)]),
    "P3": (
        "anxiety",
        "Northside",
        "2026-02",
        [0, 2, 4, 7, 9, 11, 12],
        [],
        [("PHQ9", 0, 15), ("PHQ9", 16, 12), ("GAD7", 0, 12), ("GAD7", 15, 3)],
    ),
    "P4": ("depression", "Northside", "2026-02", [], [], [("PHQ9", 0, 0), ("PHQ9", 14, 0)]),
    "P5": ("depression", "Lakeside", "2026-03", [0], [], [("PHQ9", -2, 18), ("PHQ9", 30, 9)]),
}
AGE = {"P1": "25-34", "P2": "35-44", "P3": "25-34", "P4": "45-54", "P5": "55-64"}
SEX = {"P1": "F", "P2": "M", "P3": "F", "P4": "F", "P5": "M"}
ROUTE = {"P1": "IV", "P2": "IV", "P3": "IM", "P4": "IV", "P5": "esketamine"}


def practice(patients=PATIENTS):
    """Canonical (assessments, treatments) of the hand-worked practice."""
    a, t = [], []
    for pid, (cond, site, month, induction, boosters, scores) in patients.items():
        for ins, day, score in scores:
            a.append(
                {
                    "patient_id": pid,
                    "instrument": ins,
                    "score": float(score),
                    "day": day,
                    "condition": cond,
                    "site": site,
                    "age_band": AGE.get(pid),
                    "sex": SEX.get(pid),
                    "route": ROUTE.get(pid),
                    "start_month": month,
                }
            )
        t += [
            {"patient_id": pid, "day": d, "kind": "induction", "route": ROUTE.get(pid), "dose_mg_per_kg": 0.5}
            for d in induction
        ]
        t += [
            {"patient_id": pid, "day": d, "kind": "booster", "route": ROUTE.get(pid), "dose_mg_per_kg": 0.5}
            for d in boosters
        ]
    assessments = pd.DataFrame(a, columns=list(ASSESSMENT_COLUMNS)).astype({"day": "Int64"})
    treatments = pd.DataFrame(t, columns=list(TREATMENT_COLUMNS)).astype({"day": "Int64"})
    return assessments, treatments


def row(rates, instrument, dimension, group):
    r = rates[(rates.instrument == instrument) & (rates.dimension == dimension) & (rates.group == group)]
    assert len(r) == 1, (instrument, dimension, group)
    return r.iloc[0]


# --- rate_ci --------------------------------------------------------------------------------


def test_rate_ci_equals_r_prop_test_including_zero_and_all():
    golden = pd.read_csv(GOLDEN / "metrics_rate_ci.csv")
    assert {(0, 10), (10, 10), (0, 1), (1, 1)} <= set(zip(golden.x, golden.n))
    for g in golden.itertuples():
        rate, lower, upper = rate_ci(g.x, g.n, level=g.level)
        assert rate == pytest.approx(g.rate, abs=ABS)
        assert lower == pytest.approx(g.lower, abs=ABS)
        assert upper == pytest.approx(g.upper, abs=ABS)


def test_rate_ci_is_exactly_zero_or_one_at_the_edges():
    assert rate_ci(0, 25)[1] == 0.0
    assert rate_ci(25, 25)[2] == 1.0


def test_rate_ci_of_nobody_is_nan():
    assert all(math.isnan(v) for v in rate_ci(0, 0))
    assert all(math.isnan(v) for v in rate_ci(pd.NA, 10))


@pytest.mark.parametrize("x, n, message", [(5, 3, "cannot exceed"), (-1, 3, "whole number"), (1.5, 3, "whole number")])
def test_rate_ci_refuses_impossible_counts_and_says_why(x, n, message):
    with pytest.raises(ValueError, match=message):
        rate_ci(x, n)


def test_rate_ci_hand_worked_wilson_for_three_of_ten():
    z = 1.959963984540054
    p, n = 0.3, 10
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    assert rate_ci(3, 10) == pytest.approx((0.3, centre - half, centre + half), abs=1e-12)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 5000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_rate_ci_contains_the_rate_and_mirrors_its_complement(xn):
    x, n = xn
    rate, lower, upper = rate_ci(x, n)
    assert 0 <= lower <= rate <= upper <= 1
    _, lower_c, upper_c = rate_ci(n - x, n)
    assert lower == pytest.approx(1 - upper_c, abs=1e-12) and upper == pytest.approx(1 - lower_c, abs=1e-12)
    assert rate_ci(x, n, level=0.99)[1] <= lower + 1e-15


# --- compare_rates --------------------------------------------------------------------------


def test_compare_rates_equals_r_prop_test_and_fisher_test():
    golden = pd.read_csv(GOLDEN / "metrics_compare.csv")
    assert set(golden.test) == {"chi-square", "fisher"}
    for g in golden.itertuples():
        c = compare_rates(g.x1, g.n1, g.x2, g.n2)
        assert c.test == g.test, (g.x1, g.n1, g.x2, g.n2)
        assert c.p == pytest.approx(g.p, rel=REL, abs=1e-15)
        assert c.difference == pytest.approx(g.difference, abs=ABS)
        assert c.lower == pytest.approx(g.lower, abs=ABS)
        assert c.upper == pytest.approx(g.upper, abs=ABS)
        assert c.min_expected == pytest.approx(g.min_expected, rel=REL)
        if g.test == "chi-square":
            assert c.statistic == pytest.approx(g.statistic, rel=REL)
        else:
            assert math.isnan(c.statistic)


def test_an_expected_count_of_exactly_five_still_uses_chi_square():
    c = compare_rates(3, 10, 8, 12)  # expected counts 5, 6, 5, 6
    assert c.min_expected == pytest.approx(5) and c.test == "chi-square"
    assert compare_rates(1, 20, 4, 20).test == "fisher"


def test_compare_rates_names_its_test_in_the_notes():
    assert "Fisher" in compare_rates(1, 20, 4, 20).notes[0]
    assert "chi-square" in compare_rates(54, 100, 40, 100).notes[0]


def test_comparing_with_an_empty_group_is_no_test():
    c = compare_rates(3, 10, 0, 0)
    assert c.test == "none" and math.isnan(c.p) and "no patients" in c.notes[0]


@settings(max_examples=150, deadline=None)
@given(st.integers(1, 300), st.integers(1, 300), st.data())
def test_swapping_the_groups_negates_the_difference_and_keeps_the_p_value(n1, n2, data):
    x1, x2 = data.draw(st.integers(0, n1)), data.draw(st.integers(0, n2))
    a, b = compare_rates(x1, n1, x2, n2), compare_rates(x2, n2, x1, n1)
    assert a.test == b.test
    assert a.p == pytest.approx(b.p, rel=1e-9, abs=1e-300)
    assert a.difference == pytest.approx(-b.difference, abs=1e-12)
    assert (a.lower, a.upper) == pytest.approx((-b.upper, -b.lower), abs=1e-12)
    assert -1 <= a.lower <= a.difference <= a.upper <= 1 and 0 <= a.p <= 1


# --- summary ----------------------------------------------------------------------------------


def test_practice_metrics_of_the_hand_worked_practice():
    a, t = practice()
    p = metrics.summary(a, t).practice
    assert p["patients"] == 4  # P4 has scores but no treatment
    assert p["patients_with_scores"] == 5
    assert (p["infusions"], p["induction_infusions"], p["boosters"], p["maintenance"]) == (17, 16, 1, 0)
    assert (p["induction_started"], p["series_completed"], p["series_completion"]) == (4, 2, 0.5)
    assert p["infusions_per_patient"] == {"1": 1, "2": 1, "3": 0, "4": 0, "5": 0, "6+": 2}
    assert p["median_infusions"] == 4.0  # induction infusions 6, 2, 7, 1
    # scores on the infusion day +-1: P1 days 0 and 40 of 7; P2 0 and 2 (score day 3); P3 day 0 of 7; P5 none
    assert (p["infusions_with_score"], p["infusions_dated"]) == (5, 17)
    assert p["assessment_completion"] == pytest.approx(5 / 17)
    assert (p["first_start_month"], p["last_start_month"]) == ("2026-01", "2026-03")
    assert p["instruments"] == ["PHQ9", "GAD7"]


def test_a_score_two_days_from_an_infusion_does_not_count_as_assessed():
    a, t = practice({"P1": ("depression", "Northside", "2026-01", [0, 5], [], [("PHQ9", 0, 20), ("PHQ9", 7, 9)])})
    p = metrics.summary(a, t).practice
    assert (p["infusions_with_score"], p["infusions_dated"]) == (1, 2)


def test_a_duplicated_treatment_row_is_one_session():
    a, t = practice()
    doubled = pd.concat([t, t.iloc[[0]]], ignore_index=True)
    assert metrics.summary(a, doubled).practice["infusions"] == 17


def test_by_month_counts_infusions_by_the_start_month_of_the_patient():
    a, t = practice()
    m = metrics.summary(a, t).by_month.set_index("start_month")
    assert list(m.index) == ["2026-01", "2026-02", "2026-03"]
    assert m["patients_started"].tolist() == [2, 1, 1]
    assert m["infusions"].tolist() == [9, 7, 1]
    assert m["series_completed"].tolist() == [1, 1, 0]
    assert m["series_completion"].tolist() == [0.5, 1.0, 0.0]
    assert m["boosters"].tolist() == [1, 0, 0]
    assert m["assessment_completion"].tolist() == pytest.approx([4 / 9, 1 / 7, 0.0])


def test_without_treatments_volumes_are_none_and_patients_are_those_with_scores():
    a, _ = practice()
    s = metrics.summary(a)
    assert s.practice["patients"] == 5
    assert s.practice["series_completion"] is None and s.practice["assessment_completion"] is None
    assert s.practice["infusions"] is None
    assert any("treatments file" in n for n in s.notes)
    assert s.by_month["patients_started"].tolist() == [2, 2, 1]
    assert s.by_month["infusions"].isna().all()


def test_response_and_remission_rates_of_the_hand_worked_practice():
    a, t = practice()
    rates = metrics.summary(a, t).rates
    o = row(rates, "PHQ9", "overall", "all")
    assert (o.patients, o.with_baseline, o.with_response_assessment, o.evaluable) == (5, 5, 5, 4)
    assert (o.responders, o.remitters, o.with_follow_up) == (3, 1, 1)
    assert (o.response_rate, o.response_lower, o.response_upper) == pytest.approx(rate_ci(3, 4))
    assert (o.remission_rate, o.remission_lower, o.remission_upper) == pytest.approx(rate_ci(1, 4))
    d = row(rates, "PHQ9", "condition", "depression")
    assert (d.evaluable, d.responders, d.remitters) == (3, 3, 1)
    assert row(rates, "PHQ9", "condition", "anxiety").responders == 0
    assert row(rates, "PHQ9", "site", "Northside").patients == 3
    assert row(rates, "PHQ9", "start_month", "2026-03").responders == 1
    g = row(rates, "GAD7", "overall", "all")
    assert (g.evaluable, g.responders, g.remitters) == (1, 1, 1)
    assert list(rates.columns) == list(metrics.RATES_COLUMNS)


def test_an_instrument_without_a_remission_rule_has_no_remission_rate():
    a, t = practice(
        {"P1": ("chronic_pain", "Northside", "2026-01", [0], [], [("PAIN_NRS", 0, 8), ("PAIN_NRS", 14, 2)])}
    )
    s = metrics.summary(a, t)
    r = row(s.rates, "PAIN_NRS", "overall", "all")
    assert r.responders == 1 and pd.isna(r.remitters) and math.isnan(r.remission_rate)
    assert any("PAIN_NRS has no remission rule" in n for n in s.notes)


def test_a_patient_without_a_condition_is_in_an_unknown_group_and_the_overall_rate():
    a, t = practice()
    a.loc[a.patient_id == "P5", "condition"] = pd.NA
    rates = metrics.summary(a, t).rates
    assert row(rates, "PHQ9", "condition", "unknown").patients == 1
    assert row(rates, "PHQ9", "overall", "all").patients == 5


def test_summary_does_not_change_its_inputs():
    a, t = practice()
    a0, t0 = a.copy(), t.copy()
    metrics.summary(a, t)
    kpi_tiles.kpis(a, t, as_of="2026-04")
    pd.testing.assert_frame_equal(a, a0)
    pd.testing.assert_frame_equal(t, t0)


def test_a_missing_column_is_named_with_the_available_ones():
    a, t = practice()
    with pytest.raises(KeyError, match="'score'.*available: patient_id"):
        metrics.summary(a.drop(columns="score"), t)


def test_json_has_the_design_keys_and_suppresses_small_counts():
    a, t = practice()
    j = metrics.summary(a, t).to_json()
    assert set(j) >= {"definitions", "practice", "by_month", "by_instrument", "notes"}
    overall = j["by_instrument"]["PHQ9"]["overall"]
    assert {
        "patients",
        "with_baseline",
        "with_response_assessment",
        "evaluable",
        "responders",
        "response_rate",
        "response_lower",
        "response_upper",
        "remission_rate",
        "remission_lower",
        "remission_upper",
    } <= set(overall)
    assert overall["patients"] == "<11" and overall["response_rate"] is None
    assert set(j["by_instrument"]["PHQ9"]["by_condition"]) == {"anxiety", "depression"}
    assert j["practice"]["patients"] == "<11" and j["practice"]["series_completion"] is None
    assert j["definitions"]["response_window"] == [14, 31]
    assert "Wilson" in j["methods"]["rate_ci"]


def test_json_shows_exact_numbers_when_the_card_turns_suppression_off():
    a, t = practice()
    j = metrics.summary(a, t, Definitions(suppression_threshold=0)).to_json()
    overall = j["by_instrument"]["PHQ9"]["overall"]
    assert overall["evaluable"] == 4 and overall["response_rate"] == 0.75
    assert j["practice"]["series_completion"] == 0.5


def test_a_rate_is_withheld_only_when_its_own_counts_are_small():
    t = pd.DataFrame(
        {
            # 45 -> 30 (was 40 -> 30: a step of 10 that reveals a small count, now withheld with evaluable)
            "patients": [45, 45],
            "with_baseline": [45, 45],
            "with_response_assessment": [30, 30],
            "evaluable": [30, 30],
            "responders": [15, 5],
            "remitters": [3, 12],
            "with_follow_up": [12, 4],
            "response_rate": [0.5, 1 / 6],
            "response_lower": [0.3, 0.1],
            "response_upper": [0.7, 0.3],
            "remission_rate": [0.1, 0.4],
            "remission_lower": [0.0, 0.2],
            "remission_upper": [0.2, 0.6],
        }
    )
    out = suppress_rates(t)
    assert out["response_rate"].tolist() == [0.5, None]
    assert out["remission_rate"].tolist() == [None, 0.4]
    assert out["remitters"].tolist() == ["<11", 12]
    # 12 of 15 responders with follow-up would reveal the 3 without: withheld (complement)
    assert out["with_follow_up"].tolist() == [None, "<11"]


def test_text_report_states_the_methods():
    a, t = practice()
    text = metrics.summary(a, t, Definitions(suppression_threshold=0)).to_text()
    assert "Series completion: 50.0%" in text and "Wilson" in text and "75.0%" in text


def test_sample_practice_gives_rates_within_their_intervals():
    from analysis.simulate import simulate

    p = simulate(patients=200, seed=7)
    # suppression off, so that the note gives the exact number of started patients without a start month
    s = metrics.summary(p.assessments, p.treatments, Definitions(suppression_threshold=0))
    r = s.rates.dropna(subset=["response_rate"])
    assert len(r) > 5
    assert ((r.response_lower <= r.response_rate) & (r.response_rate <= r.response_upper)).all()
    overall = s.rates[s.rates.dimension == "overall"].set_index("instrument")
    by_cond = (
        s.rates[s.rates.dimension == "condition"].groupby("instrument")[["patients", "evaluable", "responders"]].sum()
    )
    pd.testing.assert_frame_equal(
        by_cond, overall.loc[by_cond.index, ["patients", "evaluable", "responders"]], check_dtype=False
    )
    assert (
        s.by_month["patients_started"].sum() + sum(int(n.split()[0]) for n in s.notes if "have no start month" in n)
        == s.practice["patients"]
    )


# --- kpis -------------------------------------------------------------------------------------


def kpi(table, name):
    return table.set_index("kpi").loc[name]


def test_kpis_compare_the_latest_complete_month_with_the_one_before():
    a, t = practice()
    k = kpi_tiles.kpis(a, t, months=1, as_of="2026-04", mature=False)
    assert list(k.columns[:8]) == ["kpi", "label", "value", "previous", "change", "unit", "n", "note"]
    assert (kpi(k, "patients_started").value, kpi(k, "patients_started").previous) == (1, 1)
    assert (kpi(k, "infusions").value, kpi(k, "infusions").previous, kpi(k, "infusions").change) == (1, 7, -6)
    assert (kpi(k, "series_completion").value, kpi(k, "series_completion").previous) == (0.0, 1.0)
    r = kpi(k, "response_rate")
    assert (r.value, r.previous, r.change, r.n, r.unit) == (1.0, 0.0, 1.0, 1, "share")
    assert (r.lower, r.upper) == pytest.approx(rate_ci(1, 1)[1:])
    assert (r.period, r.previous_period) == ("2026-03", "2026-02")


def test_the_current_month_is_incomplete_and_left_out():
    a, t = practice()
    k = kpi_tiles.kpis(a, t, months=1, as_of="2026-03", mature=False)
    assert (kpi(k, "infusions").period, kpi(k, "infusions").value, kpi(k, "infusions").previous) == ("2026-02", 7, 9)


def test_kpis_over_two_months_sum_their_months():
    a, t = practice()
    k = kpi_tiles.kpis(a, t, months=2, as_of="2026-04", mature=False)
    s = kpi(k, "assessment_completion")
    assert s.period == "2026-02 to 2026-03" and s.previous_period == "2025-12 to 2026-01"
    assert (s.value, s.n, s.previous, s.previous_n) == pytest.approx((1 / 8, 8, 4 / 9, 9))
    assert kpi(k, "patients_started").value == 2 and kpi(k, "patients_started").previous == 2


def test_kpis_without_treatments_say_a_treatments_file_is_needed():
    a, _ = practice()
    k = kpi_tiles.kpis(a, months=1, as_of="2026-04", mature=False)
    assert math.isnan(kpi(k, "series_completion").value)
    assert "treatments file" in kpi(k, "infusions").note
    assert kpi(k, "patients_started").value == 1


def test_year_only_start_months_give_values_without_a_change():
    a, t = practice()
    a["start_month"] = "2026"
    k = kpi_tiles.kpis(a, t, as_of="2026-04")
    assert kpi(k, "patients_started").value == 4 and math.isnan(kpi(k, "patients_started").previous)
    assert kpi(k, "patients_started").period == "all start months"
    k = kpi_tiles.kpis(a.drop(columns="start_month"), t, as_of="2026-04")
    assert (kpi(k, "patients_started").value, kpi(k, "response_rate").value) == (4, 0.75)


def test_kpis_of_an_instrument_not_in_the_data_say_so():
    a, t = practice()
    k = kpi_tiles.kpis(a, t, instrument="PCL5", as_of="2026-04")
    assert math.isnan(kpi(k, "response_rate").value) and "no PCL5 scores" in kpi(k, "response_rate").note


def test_kpis_refuse_a_bad_period_length_or_instrument():
    a, t = practice()
    with pytest.raises(ValueError, match="months must be"):
        kpi_tiles.kpis(a, t, months=0)
    with pytest.raises(KeyError, match="known: PHQ9"):
        kpi_tiles.kpis(a, t, instrument="HAMD")
    with pytest.raises(ValueError, match="YYYY-MM"):
        kpi_tiles.kpis(a, t, as_of="April")


def test_kpi_counts_add_up_over_the_two_periods():
    a, t = practice()
    k = kpi_tiles.kpis(a, t, months=1, as_of="2026-04", mature=False)
    k2 = kpi_tiles.kpis(a, t, months=2, as_of="2026-04", mature=False)
    assert kpi(k2, "infusions").value == kpi(k, "infusions").value + kpi(k, "infusions").previous
    assert np.isfinite(kpi(k2, "response_rate").value)


# --- golden: a clinic-shaped practice against an independent R implementation -------------------


def golden_practice():
    text = {
        c: "str"
        for c in ("patient_id", "instrument", "condition", "site", "age_band", "sex", "route", "start_month", "kind")
    }
    a = pd.read_csv(GOLDEN / "metrics_practice_assessments.csv", dtype=text).astype({"day": "Int64", "score": float})
    t = pd.read_csv(GOLDEN / "metrics_practice_treatments.csv", dtype=text).astype({"day": "Int64"})
    return a, t


def test_summary_of_a_clinic_shaped_practice_equals_r():
    a, t = golden_practice()
    s = metrics.summary(a, t)
    totals = pd.read_csv(GOLDEN / "metrics_practice_totals.csv").set_index("key")["value"]
    for key, value in totals.items():
        assert s.practice[key] == pytest.approx(value, abs=ABS), key
    by_month = pd.read_csv(GOLDEN / "metrics_practice_by_month.csv", dtype={"start_month": "str"})
    pd.testing.assert_frame_equal(s.by_month[list(by_month.columns)], by_month, check_dtype=False)
    expected = pd.read_csv(GOLDEN / "metrics_practice_rates.csv", dtype={"group": "str"})
    got = s.rates.set_index(["instrument", "dimension", "group"])
    want = expected.set_index(["instrument", "dimension", "group"])
    assert sorted(got.index) == sorted(want.index)
    got = got.loc[want.index, list(want.columns)].apply(pd.to_numeric).astype(float)
    pd.testing.assert_frame_equal(got, want.astype(float), check_exact=False, atol=ABS, rtol=0)


# --- what may be shown --------------------------------------------------------------------------


def test_a_small_count_in_a_note_shows_as_less_than_11():
    a, t = practice()  # P4 has scores but no treatment rows
    notes = metrics.summary(a, t).notes
    assert "<11 patient(s) have scores but no treatment rows: not counted as started." in notes
    exact = metrics.summary(a, t, Definitions(suppression_threshold=0)).notes
    assert "1 patient(s) have scores but no treatment rows: not counted as started." in exact


def test_every_count_note_of_the_practice_shows_a_small_count_as_less_than_11():
    a, t = practice()
    t = pd.concat(
        [
            t,
            pd.DataFrame(
                [
                    {"patient_id": "P9", "day": 0, "kind": "induction"},  # treatments only
                    {"patient_id": "P1", "day": pd.NA, "kind": "booster"},
                ]
            ),
        ],
        ignore_index=True,
    )
    a = a.assign(start_month=a["start_month"].where(a["patient_id"] != "P2"))  # P2: no start month
    notes = metrics.summary(a, t).notes
    for start in (
        "<11 patient(s) have scores but no treatment rows",
        "<11 patient(s) in the treatments file have no scores",
        "<11 treatment session(s) have no day",
        "<11 started patient(s) have no start month",
    ):
        assert any(n.startswith(start) for n in notes), start


KPIS = pd.DataFrame(
    [
        {
            "kpi": "patients_started",
            "label": "Patients started",
            "value": 104.0,
            "previous": 9.0,
            "change": 95.0,
            "unit": "count",
            "n": np.nan,
            "previous_n": np.nan,
            "note": "",
            "lower": np.nan,
            "upper": np.nan,
            "period": "2026-03",
            "previous_period": "2026-02",
        },
        {
            "kpi": "infusions",
            "label": "Infusions",
            "value": 300.0,
            "previous": 250.0,
            "change": 50.0,
            "unit": "count",
            "n": np.nan,
            "previous_n": np.nan,
            "note": "",
            "lower": np.nan,
            "upper": np.nan,
            "period": "2026-03",
            "previous_period": "2026-02",
        },
        # 12 of 24 shown; previous 5 of 40: numerator small
        {
            "kpi": "response_rate",
            "label": "Response",
            "value": 12 / 24,
            "previous": 5 / 40,
            "change": 0.375,
            "unit": "share",
            "n": 24.0,
            "previous_n": 40.0,
            "note": "recent",
            "lower": 0.39,
            "upper": 0.78,
            "period": "2026-03",
            "previous_period": "2026-02",
        },
        # 15 of 20: the complement (5 not remitted) is small
        {
            "kpi": "remission_rate",
            "label": "Remission",
            "value": 15 / 20,
            "previous": 20 / 40,
            "change": 0.25,
            "unit": "share",
            "n": 20.0,
            "previous_n": 40.0,
            "note": "",
            "lower": 0.53,
            "upper": 0.89,
            "period": "2026-03",
            "previous_period": "2026-02",
        },
        # 0 of 30 and 11 of 30: zero is not small, both shown
        {
            "kpi": "series_completion",
            "label": "Series completion",
            "value": 0.0,
            "previous": 11 / 30,
            "change": -11 / 30,
            "unit": "share",
            "n": 30.0,
            "previous_n": 30.0,
            "note": np.nan,
            "lower": 0.0,
            "upper": 0.11,
            "period": "2026-03",
            "previous_period": "2026-02",
        },
        # needs a treatments file: nothing exists
        {
            "kpi": "assessment_completion",
            "label": "Assessment completion",
            "value": np.nan,
            "previous": np.nan,
            "change": np.nan,
            "unit": "share",
            "n": np.nan,
            "previous_n": np.nan,
            "note": "needs a treatments file",
            "lower": np.nan,
            "upper": np.nan,
            "period": "2026-03",
            "previous_period": "2026-02",
        },
    ]
)


def test_kpis_shown_hand_worked():
    before = KPIS.copy()
    s = kpi_tiles.kpis_shown(KPIS, 11).set_index("kpi")
    pd.testing.assert_frame_equal(KPIS, before)  # the input is not changed
    assert s.loc["patients_started", ["value", "previous", "change"]].tolist() == [104, "<11", None]
    assert s.loc["infusions", ["value", "previous", "change", "n"]].tolist() == [300, 250, 50, None]
    r = s.loc["response_rate"]
    assert (r.value, r.previous, r.change, r.n, r.previous_n, r.lower, r.upper) == (0.5, None, None, 24, 40, 0.39, 0.78)
    m = s.loc["remission_rate"]  # 5 not remitted: the share would reveal them
    assert (m.value, m.previous, m.change, m.lower, m.upper) == (None, 0.5, None, None, None)
    c = s.loc["series_completion"]
    assert (c.value, c.previous, c.change, c.note) == (0.0, pytest.approx(11 / 30), pytest.approx(-11 / 30), "")
    x = s.loc["assessment_completion"]
    assert (x.value, x.previous, x.change, x.n, x.note) == (None, None, None, None, "needs a treatments file")
    assert list(s.reset_index().columns) == list(kpi_tiles.KPI_SHOWN_COLUMNS)


def test_kpis_shown_with_suppression_off_shows_every_number():
    s = kpi_tiles.kpis_shown(KPIS, 0).set_index("kpi")
    assert s.loc["patients_started", ["value", "previous", "change"]].tolist() == [104, 9, 95]
    assert s.loc["remission_rate", ["value", "previous"]].tolist() == [0.75, 0.5]


def test_kpis_shown_of_the_hand_worked_practice():
    a, t = practice()
    s = kpi_tiles.kpis_shown(kpi_tiles.kpis(a, t, months=1, as_of="2026-04", mature=False), 11).set_index("kpi")
    # one patient started in 2026-03 and one in 2026-02: every count and share is small
    assert s.loc["patients_started", ["value", "previous", "change"]].tolist() == ["<11", "<11", None]
    assert s.loc["response_rate", ["value", "previous", "change", "n"]].tolist() == [None, None, None, "<11"]


def test_kpis_shown_needs_the_kpis_table():
    with pytest.raises(KeyError, match="missing column"):
        kpi_tiles.kpis_shown(KPIS.drop(columns=["previous_n"]), 11)


@given(st.integers(0, 60), st.integers(0, 60), st.integers(1, 60), st.integers(0, 15))
@settings(max_examples=200, deadline=None)
def test_a_shown_share_never_rests_on_a_small_count(x, prev_x, n, threshold):
    x, prev_x = min(x, n), min(prev_x, n)
    k = KPIS.iloc[[2]].assign(
        value=x / n, previous=prev_x / n, change=(x - prev_x) / n, n=float(n), previous_n=float(n)
    )
    s = kpi_tiles.kpis_shown(k, threshold).iloc[0]
    small = lambda v: 0 < v < threshold  # noqa: E731
    if s.value is not None:
        assert not (small(n) or small(x) or small(n - x))
    else:
        assert small(n) or small(x) or small(n - x)
    if s.change is not None:
        assert s.value is not None and s.previous is not None


# --- one per-patient computation for the overview page --------------------------------------------


def assert_same_summary(got, want):
    for name in ("by_month", "rates", "infusions_per_patient"):
        pd.testing.assert_frame_equal(getattr(got, name), getattr(want, name), check_exact=True)
    assert got.practice == want.practice and got.notes == want.notes and got.definitions == want.definitions


@pytest.mark.parametrize("with_treatments", [True, False])
@pytest.mark.parametrize("instrument,months", [("PHQ9", 3), ("GAD7", 1)])
def test_summary_and_kpis_equal_summary_and_kpis_called_apart(with_treatments, instrument, months):
    a, t = practice()
    t = t if with_treatments else None
    both, tiles = metrics.summary_and_kpis(a, t, None, instrument, months, as_of="2026-04")
    assert_same_summary(both, metrics.summary(a, t))
    pd.testing.assert_frame_equal(
        tiles, kpi_tiles.kpis(a, t, None, instrument, months, as_of="2026-04"), check_exact=True
    )
    assert tiles.set_index("kpi").loc["patients_started", "value"] > 0


def test_summary_and_kpis_on_the_sample_practice_equal_the_separate_calls():
    root = Path(__file__).resolve().parents[1] / "sample_data"
    a, t = pd.read_csv(root / "assessments.csv"), pd.read_csv(root / "treatments.csv")
    both, tiles = metrics.summary_and_kpis(a, t, as_of="2026-01")
    assert_same_summary(both, metrics.summary(a, t))
    pd.testing.assert_frame_equal(tiles, kpi_tiles.kpis(a, t, as_of="2026-01"), check_exact=True)


def test_summary_and_kpis_check_their_arguments_as_kpis_does():
    a, t = practice()
    with pytest.raises(ValueError, match="months must be a whole number"):
        metrics.summary_and_kpis(a, t, months=0)
    with pytest.raises(KeyError, match="available"):
        metrics.summary_and_kpis(a.drop(columns="score"), t)


def test_assessment_completion_counts_a_score_one_day_away_on_either_side_only():
    # sessions on days 5, 10, 20 and one without a day; scores on days 4 (5 - 1), 11 (10 + 1) and 22 (20 + 2)
    a = pd.DataFrame(
        {
            "patient_id": "P",
            "instrument": "PHQ9",
            "score": [20.0, 10.0, 8.0],
            "day": [4, 11, 22],
            "start_month": "2026-01",
        }
    ).astype({"day": "Int64"})
    t = pd.DataFrame({"patient_id": "P", "day": [5, 10, 20, None], "kind": "induction"}).astype({"day": "Int64"})
    p = metrics.summary(a, t).practice
    assert (p["infusions"], p["infusions_dated"], p["infusions_with_score"]) == (4, 3, 2)


def test_assessment_completion_with_days_that_are_not_whole_numbers_matches_exactly():
    a = pd.DataFrame({"patient_id": "P", "instrument": "PHQ9", "score": [20.0, 10.0], "day": [4.5, 11.0]})
    t = pd.DataFrame({"patient_id": "P", "day": [5.5, 10.0, 12.5], "kind": "induction"})
    p = metrics.summary(a, t).practice
    assert (p["infusions_dated"], p["infusions_with_score"]) == (3, 2)  # 5.5 - 1 = 4.5 and 10 + 1 = 11


# --- the shortcuts of large practices equal the general paths ---------------------------------------


def as_objects(table):
    """Text columns as Python objects: the summary then takes pandas' general paths (groupby for the patients'
    attributes, get_indexer, the set difference of ids) instead of the pyarrow ones."""
    return table.astype({c: object for c in table.columns if table[c].dtype == "str"})


def test_patients_only_in_the_treatments_file_come_after_the_others_sorted_whatever_the_text_type():
    a, t = practice()
    extra = pd.DataFrame({"patient_id": ["Z9", "A0", "Z9"], "day": [0, 0, 2], "kind": "induction"}).astype(
        {"day": "Int64"}
    )
    t = pd.concat([t, extra], ignore_index=True)
    patients = practice_volumes._patients(a, t)
    assert patients["patient_id"].tolist() == ["P1", "P2", "P3", "P4", "P5", "A0", "Z9"]
    assert patients["infusions"].tolist()[-2:] == [1, 2] and not patients["has_scores"].tolist()[-1]
    s = metrics.summary(a, t)
    assert (s.practice["patients"], s.practice["infusions"]) == (6, 20)
    assert "<11 patient(s) in the treatments file have no scores: counted as started" in " ".join(s.notes)
    assert_same_summary(s, metrics.summary(as_objects(a), as_objects(t)))


def test_rates_skip_a_dimension_whose_values_are_all_missing_for_that_instrument():
    a, t = practice()
    a.loc[a["patient_id"] == "P3", "site"] = None  # P3 is the only GAD7 patient
    dims = metrics.summary(a, t).rates.groupby("instrument")["dimension"].unique()
    assert "site" not in dims["GAD7"] and "site" in dims["PHQ9"]


PEOPLE = ["p1", "p2", "p3", "p4", "q"]
small_practices = st.tuples(
    st.lists(
        st.tuples(
            st.sampled_from(PEOPLE),
            st.sampled_from(["PHQ9", "GAD7", "PHQ-9"]),
            st.integers(-35, 60),
            st.integers(0, 21),
        ),
        min_size=1,
        max_size=25,
    ),
    # each patient's attributes (constant per patient, as the importer checks): condition, start month
    st.fixed_dictionaries(
        {
            p: st.tuples(
                st.sampled_from(["depression", "anxiety", None]),
                st.sampled_from(["2026-01", "2026-02", "2026-03", None]),
            )
            for p in PEOPLE
        }
    ),
)
small_treatments = st.lists(
    st.tuples(
        st.sampled_from(["p1", "p2", "p3", "t1", "t2"]),
        st.integers(-2, 60),
        st.sampled_from(["induction", "booster", "maintenance"]),
    ),
    max_size=25,
)


def small_tables(practice, sessions):
    rows, people = practice
    a = pd.DataFrame(
        [r + people[r[0]] for r in rows],
        columns=["patient_id", "instrument", "day", "score", "condition", "start_month"],
    )
    a = a.astype({"day": "Int64", "score": "float64"})
    t = pd.DataFrame(sessions, columns=["patient_id", "day", "kind"]).astype({"day": "Int64"})
    return a, t


@settings(max_examples=40, deadline=None)
@given(small_practices, small_treatments, st.randoms(use_true_random=False))
def test_summary_and_kpis_do_not_depend_on_row_order_or_on_the_text_type(rows, sessions, rnd):
    a, t = small_tables(rows, sessions)
    exact = Definitions(suppression_threshold=0)
    want, want_kpis = metrics.summary_and_kpis(a, t, exact, as_of="2026-04")
    order = list(range(len(a)))
    rnd.shuffle(order)
    got, got_kpis = metrics.summary_and_kpis(a.iloc[order].reset_index(drop=True), t, exact, as_of="2026-04")
    assert_same_summary(got, want)
    pd.testing.assert_frame_equal(got_kpis, want_kpis, check_exact=True)
    # Python objects take other paths and give other dtypes (object, not str): the same numbers shown
    got, got_kpis = metrics.summary_and_kpis(as_objects(a), as_objects(t), exact, as_of="2026-04")
    assert json.dumps(got.to_json(), sort_keys=True) == json.dumps(want.to_json(), sort_keys=True)
    pd.testing.assert_frame_equal(got_kpis, want_kpis, check_exact=True)


@settings(max_examples=60, deadline=None)
@given(small_practices, small_treatments, st.booleans())
def test_assessment_completion_by_integer_keys_equals_the_merge_of_the_definition(rows, sessions, shuffle):
    from analysis.outcomes import Coded, Sessions

    a, t = small_tables(rows, sessions)
    if shuffle:
        a = a.iloc[::-1].reset_index(drop=True)
    coded = Coded(a)
    s = Sessions(t, coded.ids)
    want = practice_volumes._assessed_infusions(a, t.iloc[s.rows]).fillna(False).astype(bool).to_numpy()
    assert practice_volumes._scored_sessions(coded, s).tolist() == want.tolist()
