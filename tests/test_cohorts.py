"""analysis.cohorts: selection by filters, filter options, and two cohorts compared.

Uses the hand-worked practice of tests/test_metrics.py (P1..P5; see the table there).
PHQ-9 baseline bands: P1 20 severe, P2 10 moderate, P3 15 moderately severe, P4 0 minimal,
P5 18 moderately severe.
"""

import math

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis import cohorts
from analysis.outcomes import Definitions
from analysis.rates import compare_rates, rate_ci
from tests.test_metrics import practice


def ids(selection):
    return sorted(selection.assessments.patient_id.unique())


def test_no_filter_selects_everyone():
    a, t = practice()
    s = cohorts.select(a, t)
    assert s.patients == 5 and s.description == "All patients"
    assert len(s.assessments) == len(a) and len(s.treatments) == len(t)


def test_condition_and_site_filters_keep_only_matching_patients_and_their_treatments():
    a, t = practice()
    s = cohorts.select(a, t, conditions=["depression"], sites=["Northside"])
    assert ids(s) == ["P1", "P4"] and s.patients == 2
    assert sorted(s.treatments.patient_id.unique()) == ["P1"]
    assert s.description == "Depression, Northside"


def test_a_list_means_any_of_its_values():
    a, t = practice()
    assert ids(cohorts.select(a, t, sites=["Riverside", "Lakeside"])) == ["P2", "P5"]
    assert ids(cohorts.select(a, t, sexes="M")) == ["P2", "P5"]  # one text is one value


def test_an_empty_list_selects_no_one_and_says_so():
    a, t = practice()
    s = cohorts.select(a, t, conditions=[])
    assert s.patients == 0 and s.assessments.empty and s.treatments.empty
    assert "No patient matches" in s.notes[-1]


def test_start_period_is_inclusive():
    a, t = practice()
    s = cohorts.select(a, t, start_from="2026-02", start_to="2026-02")
    assert ids(s) == ["P3", "P4"] and s.description == "started 2026-02"
    assert ids(cohorts.select(a, t, start_from="2026-02")) == ["P3", "P4", "P5"]
    assert ids(cohorts.select(a, t, start_to="2026-01")) == ["P1", "P2"]
    full = cohorts.select(
        a, t, conditions=["depression"], sites=["Northside"], start_from="2026-01", start_to="2026-02"
    )
    assert full.description == "Depression, Northside, started 2026-01 to 2026-02"


def test_year_only_start_months_are_compared_by_year():
    a, t = practice()
    a["start_month"] = a["start_month"].str[:4]
    assert cohorts.select(a, t, start_from="2026-02", start_to="2026-03").patients == 5
    assert cohorts.select(a, t, start_from="2027-01").patients == 0


def test_baseline_band_is_the_band_of_the_baseline_of_the_chosen_instrument():
    a, t = practice()
    s = cohorts.select(a, t, baseline_bands=["moderately severe"], instrument="PHQ9")
    assert ids(s) == ["P3", "P5"] and s.description == "PHQ9 baseline moderately severe"
    assert ids(cohorts.select(a, t, baseline_bands=["minimal", "severe"], instrument="PHQ-9")) == ["P1", "P4"]


def test_a_patient_without_a_baseline_is_left_out_by_the_band_filter_with_a_note():
    a, t = practice()
    a = a[~((a.patient_id == "P2") & (a.day == 0))]
    s = cohorts.select(a, t, baseline_bands=["moderate"], instrument="PHQ9")
    assert s.patients == 0 and any("without a PHQ9 baseline" in n for n in s.notes)


def test_the_baseline_window_follows_the_definition_card():
    a, t = practice()  # P5's baseline is on day -2
    late = Definitions(baseline_window=(-1, 0))
    assert ids(cohorts.select(a, t, baseline_bands=["moderately severe"], instrument="PHQ9", definitions=late)) == [
        "P3"
    ]


def test_a_patient_without_the_filtered_attribute_is_left_out_with_a_note():
    a, t = practice()
    a.loc[a.patient_id == "P1", "site"] = pd.NA
    s = cohorts.select(a, t, sites=["Northside"])
    assert ids(s) == ["P3", "P4"] and "without a site" in s.notes[0]


def test_treatment_only_patients_are_kept_only_without_filters():
    a, t = practice()
    extra = pd.DataFrame(
        {
            "patient_id": ["P9"],
            "day": pd.array([0], dtype="Int64"),
            "kind": ["induction"],
            "route": ["IV"],
            "dose_mg_per_kg": [0.5],
        }
    )
    t2 = pd.concat([t, extra], ignore_index=True)
    assert cohorts.select(a, t2).patients == 6
    assert "P9" not in set(cohorts.select(a, t2, sexes=["F", "M"]).treatments.patient_id)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"conditions": ["depresion"]}, "not allowed; use any of: depression"),
        ({"age_bands": ["18-25"]}, "use any of: 18-24"),
        ({"baseline_bands": ["severe"]}, "needs instrument"),
        ({"baseline_bands": ["severe"], "instrument": "PCL5"}, "not allowed"),
        ({"start_from": "2026/01"}, "YYYY-MM"),
        ({"start_from": "2026-05", "start_to": "2026-01"}, "after start_to"),
    ],
)
def test_programmer_errors_say_the_fix(kwargs, message):
    a, t = practice()
    with pytest.raises(ValueError, match=message):
        cohorts.select(a, t, **kwargs)


def test_an_unknown_instrument_names_the_known_ones():
    a, t = practice()
    with pytest.raises(KeyError, match="known: PHQ9"):
        cohorts.select(a, t, baseline_bands=["severe"], instrument="HAMD")


def test_select_does_not_change_its_inputs():
    a, t = practice()
    a0, t0 = a.copy(), t.copy()
    cohorts.select(a, t, conditions=["depression"], baseline_bands=["severe"], instrument="PHQ9")
    pd.testing.assert_frame_equal(a, a0)
    pd.testing.assert_frame_equal(t, t0)


def test_filter_options_list_the_values_present_in_a_sensible_order():
    a, t = practice()
    o = cohorts.filter_options(a, t, instrument="PHQ9")
    assert o["condition"] == ["depression", "anxiety"]  # schema order
    assert o["site"] == ["Lakeside", "Northside", "Riverside"]
    assert o["age_band"] == ["25-34", "35-44", "45-54", "55-64"]
    assert o["route"] == ["IV", "IM", "esketamine"]
    assert o["start_month"] == ["2026-01", "2026-02", "2026-03"]
    assert o["instrument"] == ["PHQ9", "GAD7"]
    assert o["baseline_band"] == ["minimal", "moderate", "moderately severe", "severe"]
    assert "baseline_band" not in cohorts.filter_options(a, t)
    assert set(cohorts.FILTER_COLUMNS) - {"baseline_band"} <= set(o)


def test_comparing_two_cohorts_gives_their_rates_and_the_right_test():
    a, t = practice()
    dep = cohorts.select(a, t, conditions=["depression"])
    anx = cohorts.select(a, t, conditions=["anxiety"])
    c = cohorts.compare(dep, anx, "PHQ9", Definitions())
    r = c.rates.set_index("cohort")
    assert (r.loc["A", "evaluable"], r.loc["A", "responders"], r.loc["A", "remitters"]) == (3, 3, 1)
    assert (r.loc["B", "evaluable"], r.loc["B", "responders"]) == (1, 0)
    assert (r.loc["A", "response_rate"], r.loc["A", "response_lower"], r.loc["A", "response_upper"]) == pytest.approx(
        rate_ci(3, 3)
    )
    assert (r.loc["A", "remission_lower"], r.loc["A", "remission_upper"]) == pytest.approx(rate_ci(1, 3)[1:])
    expected = compare_rates(3, 3, 0, 1)
    assert (c.response_test.p, c.response_test.lower, c.response_test.upper) == (
        expected.p,
        expected.lower,
        expected.upper,
    )
    assert c.response_test.test == "fisher" and c.response_test.difference == 1.0
    assert c.sizes["patients"].tolist() == [4, 1]
    assert not any("share" in n for n in c.notes)


def test_overlapping_cohorts_are_flagged():
    a, t = practice()
    off = Definitions(suppression_threshold=0)  # suppression off: the note gives the exact number
    c = cohorts.compare(cohorts.select(a, t), cohorts.select(a, t, sites=["Northside"]), "PHQ9", off)
    assert any("The cohorts share 3 patient(s)" in n for n in c.notes)


def test_a_small_number_of_shared_patients_shows_as_less_than_11_in_the_note():
    a, t = practice()
    c = cohorts.compare(cohorts.select(a, t), cohorts.select(a, t, sites=["Northside"]), "PHQ9")
    assert any(n.startswith("The cohorts share <11 patient(s);") for n in c.notes)
    assert not any("3 patient" in n for n in c.notes)


def test_a_cohort_without_scores_of_the_instrument_is_compared_as_empty():
    a, t = practice()
    c = cohorts.compare(
        cohorts.select(a, t, conditions=["anxiety"]), cohorts.select(a, t, conditions=["depression"]), "GAD7"
    )
    assert c.rates["evaluable"].tolist() == [1, 0]
    assert c.response_test.test == "none" and any("no GAD7 scores" in n for n in c.notes)


def test_without_a_remission_rule_remission_is_not_compared():
    a = pd.DataFrame(
        {
            "patient_id": ["A", "A", "B", "B"],
            "instrument": "PAIN_NRS",
            "score": [8.0, 2, 6, 5],
            "day": pd.array([0, 14, 0, 14], dtype="Int64"),
            "condition": "chronic_pain",
            "site": ["X", "X", "Y", "Y"],
            "age_band": pd.NA,
            "sex": pd.NA,
            "route": pd.NA,
            "start_month": "2026-01",
        }
    )
    c = cohorts.compare(cohorts.select(a, sites=["X"]), cohorts.select(a, sites=["Y"]), "PAIN_NRS")
    assert c.remission_test.test == "none" and math.isnan(c.rates["remission_rate"].iloc[0])
    assert c.rates["responders"].tolist() == [1, 0]


@settings(max_examples=25, deadline=None)
@given(
    st.sets(st.sampled_from(["depression", "anxiety"])),
    st.sets(st.sampled_from(["Northside", "Riverside", "Lakeside"])),
)
def test_selections_by_one_value_add_up_to_the_selection_by_several(conditions, sites):
    a, t = practice()
    whole = cohorts.select(a, t, conditions=sorted(conditions), sites=sorted(sites))
    parts = [cohorts.select(a, t, conditions=[c], sites=[s]) for c in conditions for s in sites]
    assert whole.patients == sum(p.patients for p in parts)
    assert sorted(whole.patient_ids) == sorted(i for p in parts for i in p.patient_ids)


# --- durability of two cohorts ----------------------------------------------------------------------------


def responders(spec: dict[str, list[tuple[int | None, int | None]]]) -> pd.DataFrame:
    """PHQ-9 assessments: per condition, responders given as (loss day or None, last day or None): baseline
    20 on day 0, 5 on day 20 (the response assessment: the origin), 15 on the loss day (an event) or 4 on
    the last day (censored)."""
    rows = []
    for cond, episodes in spec.items():
        for i, (loss, last) in enumerate(episodes):
            days = [(0, 20), (20, 5)] + ([(loss, 15)] if loss else [(last, 4)])
            rows += [
                {"patient_id": f"{cond}{i}", "instrument": "PHQ9", "score": s, "day": d, "condition": cond}
                for d, s in days
            ]
    return pd.DataFrame(rows)


# cohort A (depression): a loss 14 days after the origin, one censored at 21;
# cohort B (anxiety): losses at 5 and 10 days, one censored at 30
HAND_DURABILITY = responders({"depression": [(34, None), (None, 41)], "anxiety": [(25, None), (30, None), (None, 50)]})
OFF = Definitions(suppression_threshold=0)


def two_cohorts(a=HAND_DURABILITY):
    return cohorts.select(a, None, conditions=["depression"]), cohorts.select(a, None, conditions=["anxiety"])


def test_compare_durability_hand_worked_curves_and_log_rank():
    res = cohorts.compare_durability(*two_cohorts(), "PHQ9", OFF)
    ep = res.episodes.sort_values(["cohort", "time"])
    assert ep.values.tolist() == [["A", 14.0, 1], ["A", 21.0, 0], ["B", 5.0, 1], ["B", 10.0, 1], ["B", 30.0, 0]]
    events = res.km.table[res.km.table["n_event"] > 0].set_index(["group", "time"])["survival"]
    assert events.to_dict() == pytest.approx({("A", 14.0): 1 / 2, ("B", 5.0): 2 / 3, ("B", 10.0): 1 / 3})
    # log-rank by hand: event times 5 (B; at risk 2 + 3), 10 (B; 2 + 2), 14 (A; 2 + 1)
    # O_A - E_A = 1 - (2/5 + 2/4 + 2/3) = -17/30; V = 6/25 + 1/4 + 2/9 = 641/900; chi2 = 289/641
    assert res.logrank.chi2 == pytest.approx(289 / 641, abs=1e-12) and res.logrank.df == 1
    assert res.withheld is None
    shown = res.comparison_shown()
    assert shown["chi2"] == pytest.approx(289 / 641) and shown["logrank_p"] == pytest.approx(res.logrank.p)
    assert shown["hr"] > 1  # cohort B loses response sooner: its hazard against A's is above 1


def test_compare_durability_equals_survival_on_the_pooled_episodes():
    from analysis.survival import cox, kaplan_meier, logrank

    res = cohorts.compare_durability(*two_cohorts(), "PHQ9", OFF)
    ep = res.episodes
    pd.testing.assert_frame_equal(res.km.table, kaplan_meier(ep["time"], ep["event"], ep["cohort"]).table)
    lr = logrank(ep["time"], ep["event"], ep["cohort"])
    assert (res.logrank.chi2, res.logrank.p) == (lr.chi2, lr.p)
    fit = cox(ep, "time", "event", ["cohort"], reference={"cohort": "A"})
    pd.testing.assert_frame_equal(res.cox.params, fit.params)
    row = fit.params.iloc[0]
    assert res.comparison_shown() == {
        "hr": row["hr"],
        "lower": row["lower"],
        "upper": row["upper"],
        "p": row["p"],
        "chi2": lr.chi2,
        "df": lr.df,
        "logrank_p": lr.p,
    }


def test_compare_durability_gives_the_number_at_risk_every_28_days():
    res = cohorts.compare_durability(*two_cohorts(), "PHQ9", OFF)
    risk = res.at_risk().set_index(["group", "day"])["n_risk"]
    assert risk.to_dict() == {("A", 0): 2, ("A", 28): 0, ("B", 0): 3, ("B", 28): 1}


def test_compare_durability_withholds_the_comparison_of_cohorts_under_the_threshold():
    res = cohorts.compare_durability(*two_cohorts(), "PHQ9")  # 2 and 3 episodes, threshold 11
    assert res.comparison_shown() is None and "Too few responders" in res.withheld
    assert res.logrank.chi2 == pytest.approx(289 / 641)  # the result keeps the exact numbers


def test_compare_durability_with_a_cohort_without_events_shows_the_hazard_ratio_as_not_estimable():
    a = responders({"depression": [(34, None), (None, 41)], "anxiety": [(None, 45), (None, 50), (None, 60)]})
    res = cohorts.compare_durability(*two_cohorts(a), "PHQ9", OFF)
    shown = res.comparison_shown()
    assert res.cox.params["coef"].iloc[0] < -10  # R's huge coefficient stays in the engine's result
    assert shown["hr"] is None and shown["lower"] is None and shown["upper"] is None and shown["p"] is None
    assert shown["not_estimable"] == "no events in cohort B" and shown["chi2"] > 0
    from ui.cohort_view import comparison_text

    text = comparison_text(res)
    assert "B vs A: not estimable** (no events in cohort B" in text and "Log-rank" in text


def test_compare_durability_of_a_cohort_without_events_or_episodes_has_no_test():
    a = responders({"depression": [(None, 41), (None, 50)], "anxiety": [(None, 45)]})
    res = cohorts.compare_durability(*two_cohorts(a), "PHQ9", OFF)
    assert len(res.episodes) == 3 and res.episodes["event"].sum() == 0
    assert res.logrank is None and res.cox is None and res.comparison_shown() is None and res.withheld
    no_follow_up = pd.concat(
        [responders({"depression": [(34, None), (None, 41)]}), responders({"anxiety": [(25, None)]}).query("day <= 20")]
    )  # a responder, no later score
    res = cohorts.compare_durability(*two_cohorts(no_follow_up), "PHQ9", OFF)
    assert res.episodes["cohort"].tolist() == ["A", "A"] and list(res.km.table["group"].unique()) == ["A"]
    assert res.logrank is None and res.cox is None and res.comparison_shown() is None


def test_compare_durability_notes_patients_in_both_cohorts():
    everyone = cohorts.select(HAND_DURABILITY, None)
    res = cohorts.compare_durability(
        everyone, cohorts.select(HAND_DURABILITY, None, conditions=["anxiety"]), "PHQ9", OFF
    )
    assert any("The cohorts share patients" in n for n in res.notes)
    assert not any("share patients" in n for n in cohorts.compare_durability(*two_cohorts(), "PHQ9", OFF).notes)


def test_compare_durability_of_a_cohort_without_the_instrument_is_a_data_error():
    from analysis.errors import DataError

    a = pd.concat(
        [HAND_DURABILITY, HAND_DURABILITY.assign(patient_id="g", instrument="GAD7", condition="ocd").iloc[:2]]
    )
    with pytest.raises(DataError, match="no PHQ9 scores"):
        cohorts.compare_durability(cohorts.select(a, None, conditions=["ocd"]), cohorts.select(a, None), "PHQ9")


def test_compare_durability_says_the_fix_for_a_wrong_argument():
    with pytest.raises(TypeError, match="a must be a Selection from cohorts.select"):
        cohorts.compare_durability(HAND_DURABILITY, cohorts.select(HAND_DURABILITY, None), "PHQ9")


def test_filter_notes_show_a_small_count_as_less_than_11():
    a, t = practice()
    a.loc[a.patient_id == "P1", "site"] = pd.NA
    s = cohorts.select(a, t, sites=["Northside"])
    assert s.notes[0] == "<11 patient(s) without a site are left out by the site filter."
    exact = cohorts.select(a, t, sites=["Northside"], definitions=Definitions(suppression_threshold=0))
    assert exact.notes[0] == "1 patient(s) without a site are left out by the site filter."
    a2 = practice()[0]
    a2 = a2[~((a2.patient_id == "P2") & (a2.day == 0))]
    band = cohorts.select(a2, t, baseline_bands=["moderate"], instrument="PHQ9")
    assert "<11 patient(s) without a PHQ9 baseline are left out by the baseline band filter." in band.notes
