"""Durability analysis (analysis/durability.py): golden numbers from R, small and degenerate groups, output.

Golden: tests/data/golden/durability_golden.R computes the episodes of tests/data/durability_clinic*.csv
by an independent R implementation of DESIGN's definitions, then survfit / survdiff / coxph (Efron);
its output is durability_<variant>.json beside it. Tolerance: 1e-6 absolute on every number (the
episodes must be identical).
"""

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import durability as D
from analysis.errors import DataError
from analysis.outcomes import Definitions

DATA = Path(__file__).resolve().parent / "data"
GOLDEN = DATA / "golden"
TOL = 1e-6
VARIANTS = {
    "default": {},
    "confirm": {"confirm_loss": True},
    "censor": {"booster_handling": "censor"},
    "event": {"booster_handling": "event"},
}


@pytest.fixture(scope="module")
def clinic():
    return pd.read_csv(DATA / "durability_clinic.csv"), pd.read_csv(DATA / "durability_clinic_treatments.csv")


@pytest.fixture(scope="module", params=list(VARIANTS))
def golden(request, clinic):
    expected = json.loads((GOLDEN / f"durability_{request.param}.json").read_text())
    result = D.analyse(*clinic, "PHQ9", by="condition", definitions=Definitions(**VARIANTS[request.param]))
    return expected, result


def close(a, b):
    if b is None:
        return a is None or (isinstance(a, float) and math.isnan(a))
    return a is not None and not math.isnan(a) and abs(a - b) <= TOL


# --- golden: R ----------------------------------------------------------------------------------


def test_episodes_equal_the_independent_r_implementation(golden):
    expected, result = golden
    want = pd.DataFrame(expected["episodes"]).sort_values("patient_id").reset_index(drop=True)
    got = result.episodes.sort_values("patient_id").reset_index(drop=True)
    assert got["patient_id"].tolist() == want["patient_id"].tolist()
    assert got["origin"].astype(float).tolist() == want["origin"].astype(float).tolist()
    assert got["time"].astype(float).tolist() == want["time"].astype(float).tolist()
    assert got["event"].tolist() == want["event"].tolist()
    assert got["censor_reason"].fillna("-").tolist() == want["censor_reason"].fillna("-").tolist()


def test_medians_and_their_confidence_limits_equal_survfit(golden):
    expected, result = golden
    groups = result.groups.set_index("group")
    assert sorted(groups.index) == sorted(r["group"] for r in expected["medians"])
    for r in expected["medians"]:
        g = groups.loc[r["group"]]
        assert (g["n"], g["events"]) == (r["n"], r["events"])
        for ours, theirs in (("median", "median"), ("median_lower", "lower"), ("median_upper", "upper")):
            assert close(g[ours], r[theirs]), (r["group"], ours, g[ours], r[theirs])


def test_survival_at_28_56_84_days_equals_summary_survfit(golden):
    expected, result = golden
    groups = result.groups.set_index("group")
    checked = 0
    for r in expected["survival_at"]:
        g = groups.loc[r["group"]]
        day = int(r["day"])
        if r["n_risk"] == 0:  # after the group's last follow-up: no value (R extends the curve)
            assert math.isnan(g[f"s{day}"])
            continue
        for ours, theirs in (("", "survival"), ("_lower", "lower"), ("_upper", "upper")):
            assert close(g[f"s{day}{ours}"], r[theirs]), (r["group"], day, ours)
        checked += 1
    assert checked >= 6


def test_logrank_equals_survdiff(golden):
    expected, result = golden
    assert close(result.logrank.chi2, expected["logrank"]["chi2"])
    assert result.logrank.df == expected["logrank"]["df"]
    assert close(result.logrank.p, expected["logrank"]["p"])


def test_cox_hazard_ratios_equal_coxph_with_the_most_common_level_as_reference(golden):
    expected, result = golden
    params = result.cox.params
    assert result.cox.converged
    refs = params.groupby("covariate")["reference"].first().to_dict()
    assert refs == expected["cox_reference"]
    want = {r["term"]: r for r in expected["cox"]}
    assert len(params) == len(want)
    for r in params.to_dict("records"):
        w = want[r["covariate"] + r["level"]]  # R names a term covariate + level
        for k in ("coef", "se", "hr", "lower", "upper", "p"):
            assert close(r[k], w[k]), (r["term"], k, r[k], w[k])
    assert close(result.cox.loglik[1], expected["cox_loglik"][1])


def test_golden_variants_differ_so_each_setting_is_really_tested(clinic):
    events = {
        v: int(json.loads((GOLDEN / f"durability_{v}.json").read_text())["logrank"]["chi2"] * 1e6) for v in VARIANTS
    }
    assert len(set(events.values())) == len(VARIANTS)
    reasons = set(
        D.analyse(*clinic, "PHQ9", definitions=Definitions(confirm_loss=True)).episodes["censor_reason"].dropna()
    )
    assert reasons == {"last score", "unconfirmed last score"}
    reasons = set(
        D.analyse(*clinic, "PHQ9", definitions=Definitions(booster_handling="censor"))
        .episodes["censor_reason"]
        .dropna()
    )
    assert reasons == {"last score", "booster"}


# --- small, hand-worked data ----------------------------------------------------------------------


def practice(groups: dict[str, list[tuple[int, int]]], **attrs) -> pd.DataFrame:
    """Assessments where each (loss_day or None, last_day) gives one responder: baseline 20 on day 0,
    5 on day 20 (origin), 15 on the loss day (an event) and a good score on the last day."""
    rows, i = [], 0
    for cond, spec in groups.items():
        for loss, last in spec:
            i += 1
            pid = f"{cond}{i}"
            days = [(0, 20), (20, 5)] + ([(loss, 15)] if loss else []) + ([(last, 4)] if last and not loss else [])
            rows += [
                {
                    "patient_id": pid,
                    "instrument": "PHQ9",
                    "score": s,
                    "day": d,
                    "condition": cond,
                    **{k: (v[i - 1] if isinstance(v, list) else v) for k, v in attrs.items()},
                }
                for d, s in days
            ]
    return pd.DataFrame(rows)


def test_a_hand_worked_kaplan_meier():
    # four responders: losses 14 and 28 days after the origin, censored at 21 and 42
    a = practice({"depression": [(34, None), (None, 41), (48, None), (None, 62)]})
    r = D.analyse(a, None, "PHQ9", by=None)
    g = r.groups.iloc[0]
    assert (g["group"], g["n"], g["events"]) == ("all", 4, 2)
    # S(14) = 3/4; at 21 one censored; S(28) = 3/4 * (1 - 1/2) = 3/8
    assert g["s28"] == pytest.approx(0.375) and g["median"] == 28
    assert r.logrank is None and any("only one group" in n for n in r.notes)


def test_no_events_gives_notes_and_nulls_not_a_crash():
    a = practice({"depression": [(None, 40)] * 3, "anxiety": [(None, 50)] * 3})
    r = D.analyse(a, None, "PHQ9", definitions=Definitions(suppression_threshold=0))
    assert r.groups["events"].tolist() == [0, 0] and r.groups["median"].isna().all()
    assert r.cox is None and any("no events" in n for n in r.notes)
    j = r.to_json()
    assert j["logrank"] is None and j["cox"] == [] and j["groups"][0]["median"] is None


def test_a_one_patient_group_is_analysed_and_its_numbers_suppressed_on_output():
    a = practice({"depression": [(34, None)] * 12 + [(None, 60)] * 3, "ocd": [(40, None)]})
    r = D.analyse(a, None, "PHQ9")
    assert r.groups.set_index("group").loc["ocd", "n"] == 1
    shown = {g["group"]: g for g in r.to_json()["groups"]}
    assert shown["ocd"]["n"] == "<11" and shown["ocd"]["median"] is None
    assert all(v is None for v in shown["ocd"]["survival_at"].values())
    assert shown["depression"]["n"] == 15 and shown["depression"]["events"] == 12
    assert any("fewer than 11 episodes in group(s) ocd" in n for n in r.notes)


def test_a_covariate_without_variation_is_left_out_of_cox_with_a_note():
    a = practice(
        {"depression": [(34, None), (None, 60), (48, None)], "anxiety": [(30, None), (44, None), (None, 70)]},
        sex="F",
        site=["North", "South", "North", "South", "South", "North"],
    )
    r = D.analyse(a, None, "PHQ9")
    assert set(r.cox.params["covariate"]) == {"condition", "site"}
    assert any("sex left out (no variation" in n for n in r.notes)
    assert any("events for 2 terms" in n for n in r.notes)


def test_a_missing_covariate_value_drops_the_episode_from_cox_only():
    a = practice(
        {"depression": [(34, None), (None, 60), (48, None)], "anxiety": [(30, None), (44, None), (None, 70)]},
        site=["North", None, "North", "South", "South", "North"],
    )
    r = D.analyse(a, None, "PHQ9", by="site")
    assert r.cox.n == 5 and any("<11 episode(s) left out for a missing" in n for n in r.notes)
    assert "unknown" in r.groups["group"].tolist() and r.groups["n"].sum() == 6


def test_no_responder_with_follow_up_gives_empty_results_and_a_note():
    a = pd.DataFrame(
        {
            "patient_id": ["p", "p", "q", "q"],
            "instrument": "PHQ9",
            "score": [20, 18, 20, 5],
            "day": [0, 20, 0, 20],
            "condition": "depression",
        }
    )
    r = D.analyse(a, None, "PHQ9")
    assert r.episodes.empty and r.groups.empty and r.cox is None and r.logrank is None
    assert any("no durability episodes" in n for n in r.notes)
    j = r.to_json()
    assert j["groups"] == [] and j["funnel"]["overall"]["responders"] == "<11"
    assert "Durability of response" in r.to_text()


def test_an_unknown_group_column_is_a_key_error_naming_the_available_ones():
    a = practice({"depression": [(34, None)]})
    with pytest.raises(
        KeyError, match="group column 'clinc' not found; available: condition, baseline_band, induction_completed"
    ):
        D.analyse(a, None, "PHQ9", by="clinc")


def test_no_scores_of_the_instrument_is_a_data_error():
    with pytest.raises(DataError, match="no GAD7 scores"):
        D.analyse(practice({"depression": [(34, None)]}), None, "GAD7")


def test_grouping_by_induction_completed_uses_the_treatments(clinic):
    r = D.analyse(*clinic, "PHQ9", by="induction_completed")
    assert r.groups["group"].tolist() == ["no", "yes"]
    assert r.groups["n"].sum() == len(r.episodes)
    r = D.analyse(clinic[0], None, "PHQ9", by="induction_completed")
    assert r.groups["group"].tolist() == ["unknown"] and any("without a treatments file" in n for n in r.notes)


def test_grouping_by_baseline_band(clinic):
    r = D.analyse(*clinic, "PHQ9", by="baseline_band")
    assert set(r.groups["group"]) <= {"moderate", "moderately severe", "severe"}
    assert r.funnel["group"].tolist() == sorted(r.funnel["group"])


def test_booster_intervals_hand_worked():
    a = practice({"depression": [(34, None), (None, 60)], "anxiety": [(30, None)]})
    t = pd.DataFrame(
        {
            "patient_id": ["depression1"] * 4 + ["anxiety3"] * 2 + ["depression2"],
            "day": [40, 61, 89, 89, 50, 100, 70],
            "kind": "booster",
        }
    )
    b = D.analyse(a, t, "PHQ9").booster_intervals.set_index("group")
    # depression1: 21, 28 (the repeated day 89 counts once); anxiety3: 50; depression2: one booster, no interval
    assert b.loc["all", "intervals"] == 3 and b.loc["all", "patients"] == 2 and b.loc["all", "median_days"] == 28
    assert b.loc["depression", "median_days"] == 24.5 and b.loc["anxiety", "q1_days"] == 50


def test_json_has_exactly_the_design_keys(clinic):
    j = D.analyse(*clinic, "PHQ9").to_json()
    assert list(j) == [
        "instrument",
        "by",
        "definitions",
        "groups",
        "logrank",
        "cox",
        "concordance",
        "proportional_hazards",
        "booster_intervals",
        "funnel",
        "notes",
    ]
    assert set(j["groups"][0]) == {
        "group",
        "n",
        "events",
        "median",
        "median_lower",
        "median_upper",
        "survival_at",
        "rmean",
        "rmean_difference",
    }
    assert set(j["groups"][0]["rmean"]) == {"tau", "value", "se"}
    assert list(j["groups"][0]["survival_at"]) == ["28", "56", "84"]
    assert set(j["logrank"]) == {"chi2", "df", "p"}
    assert set(j["cox"][0]) == {"term", "hr", "lower", "upper", "p"}
    assert j["definitions"]["name"] == "default" and "thresholds" in j["definitions"]
    exact = D.analyse(*clinic, "PHQ9", definitions=Definitions(suppression_threshold=0))
    assert exact.to_json()["funnel"]["overall"]["with_follow_up"] == len(exact.episodes)
    # with suppression on, a count that reveals a small complement (responders without follow-up) is withheld
    overall = exact.funnel_overall.iloc[0]
    assert 0 < overall["responders"] - overall["with_follow_up"] < 11
    assert j["funnel"]["overall"]["with_follow_up"] is None


def test_survival_days_of_the_card_are_the_json_keys(clinic):
    j = D.analyse(*clinic, "PHQ9", definitions=Definitions(survival_days=(30, 90))).to_json()
    assert list(j["groups"][0]["survival_at"]) == ["30", "90"]


def test_an_upper_limit_never_reached_is_null():
    a = practice({"depression": [(34, None), (None, 60), (48, None), (None, 90), (None, 100)] * 3})
    j = D.analyse(a, None, "PHQ9", definitions=Definitions(suppression_threshold=0)).to_json()
    assert j["groups"][0]["median"] is None and j["groups"][0]["median_upper"] is None


def test_the_text_report_shows_the_numbers(clinic):
    text = D.analyse(*clinic, "PHQ9").to_text()
    assert "depression" in text and "59 (52 to 91)" in text and "Log-rank: chi2 = 9.605 on 2 df" in text
    assert "condition=anxiety (vs depression)" in text


def test_inputs_are_not_changed(clinic):
    a, t = clinic[0].copy(), clinic[1].copy()
    D.analyse(a, t, "PHQ9", by="site", definitions=Definitions(booster_handling="censor"))
    pd.testing.assert_frame_equal(a, clinic[0])
    pd.testing.assert_frame_equal(t, clinic[1])


def test_the_result_is_frozen(clinic):
    r = D.analyse(*clinic, "PHQ9")
    with pytest.raises(AttributeError):
        r.notes = ()
    assert np.all(np.diff(r.km.table.query("group == 'depression'")["survival"]) <= 0)


def test_the_number_at_risk_is_given_every_28_days_to_the_last_follow_up():
    # losses 14 and 28 days after the origin, censored at 21 and 42: last follow-up on day 42
    a = practice({"depression": [(34, None), (None, 41), (48, None), (None, 62)], "anxiety": [(30, None)]})
    r = D.analyse(a, None, "PHQ9")
    risk = r.at_risk().set_index(["group", "day"])["n_risk"]
    assert risk.to_dict() == {("anxiety", 0): 1, ("anxiety", 28): 0, ("depression", 0): 4, ("depression", 28): 2}
    assert r.at_risk(days=[0, 21, 22]).query("group == 'depression'")["n_risk"].tolist() == [4, 3, 2]
    pd.testing.assert_frame_equal(r.at_risk(), D.at_risk(r.km))


def test_the_number_at_risk_of_no_episodes_is_an_empty_day_0():
    a = pd.DataFrame(
        {"patient_id": ["p", "p"], "instrument": "PHQ9", "score": [20, 5], "day": [0, 20], "condition": "depression"}
    )
    risk = D.analyse(a, None, "PHQ9").at_risk()
    assert list(risk.columns) == ["group", "day", "n_risk"] and risk.empty


def test_a_small_number_of_cox_events_shows_as_less_than_11_in_the_note():
    a = practice({"depression": [(34, None), (None, 60), (48, None)], "anxiety": [(30, None), (44, None), (None, 70)]})
    notes = D.analyse(a, None, "PHQ9").notes
    assert any(n.startswith("Cox model: <11 events for 1 terms") for n in notes)
    exact = D.analyse(a, None, "PHQ9", definitions=Definitions(suppression_threshold=0)).notes
    assert any(n.startswith("Cox model: 4 events for 1 terms") for n in exact)


def test_a_level_without_events_is_not_estimable_in_json_text_and_notes_never_a_number():
    # ocd: three responders, none loses response; R coxph gives ocd a coefficient near -20 (HR ~1e-9, CI 0 to Inf)
    a = practice(
        {
            "depression": [(34, None), (None, 60), (48, None), (52, None), (40, None)],
            "anxiety": [(30, None), (44, None), (None, 70), (38, None)],
            "ocd": [(None, 60), (None, 70), (None, 80)],
        }
    )
    r = D.analyse(a, None, "PHQ9", definitions=Definitions(suppression_threshold=0))
    assert r.cox.params.set_index("term").loc["condition=ocd", "coef"] < -10  # the engine keeps R's number
    rows = {row["term"]: row for row in r.to_json()["cox"]}
    assert set(rows["condition=ocd"]) == {"term", "hr", "lower", "upper", "p"}
    assert all(rows["condition=ocd"][k] is None for k in ("hr", "lower", "upper", "p"))
    assert rows["condition=anxiety"]["hr"] > 0
    assert any("condition=ocd not estimable (no events in condition ocd)" in n for n in r.to_json()["notes"])
    text = r.to_text()
    assert "condition=ocd (vs depression): not estimable (no events in condition ocd)" in text
    ocd_line = next(line for line in text.splitlines() if line.startswith("  condition=ocd"))
    assert not any(ch.isdigit() for ch in ocd_line.split("not estimable")[0].replace("condition=ocd", ""))


def test_json_and_text_give_the_concordance_and_the_proportional_hazards_test_of_the_cox_model(clinic):
    # the numbers are the engine's, golden-tested against R cox.zph and concordance in tests/test_survival.py
    from analysis.survival import cox

    r = D.analyse(*clinic, "PHQ9")
    covs, data, _ = D._cox_data(r.episodes, 11)
    fit = cox(data, "time", "event", covs, reference={c: D._most_common(data[c]) for c in covs})
    j = r.to_json()
    assert j["concordance"] == {"c": fit.concordance["c"], "se": fit.concordance["se"]}
    ph = j["proportional_hazards"]
    assert ph["global"] == {k: fit.ph_test.iloc[-1][k] for k in ("chisq", "df", "p")}
    assert [t["term"] for t in ph["terms"]] == ["condition", "age_band", "sex", "baseline_band", "site"]
    assert all(set(t) == {"term", "chisq", "df", "p"} for t in ph["terms"])
    text = r.to_text()
    assert f"Concordance (Harrell's C): {fit.concordance['c']:.3f} (SE {fit.concordance['se']:.3f})" in text
    assert "Proportional hazards (R cox.zph): global chi2 = " in text and "    site: chi2 = " in text
    # site's p is below 0.05 on these data: a note says proportional hazards are doubtful for it
    assert ph["terms"][-1]["p"] < 0.05 and ph["global"]["p"] > 0.05
    assert any(n.startswith("Cox model: proportional hazards are doubtful for site (p = ") for n in j["notes"])


def test_the_page_line_gives_the_concordance_the_ph_test_and_says_when_ph_is_doubtful(clinic):
    from ui.durability_view import model_checks_line

    r = D.analyse(*clinic, "PHQ9")
    line = model_checks_line(r.cox)
    assert line.startswith(f"**Model checks:** concordance (Harrell's C) **{r.cox.concordance['c']:.2f}**")
    assert "proportional-hazards test (R cox.zph): global p = 0.110" in line and "site p = 0.009" in line
    assert "**proportional hazards are doubtful**" in line
    assert model_checks_line(None) == ""


def test_without_a_cox_model_the_checks_are_null():
    a = practice({"depression": [(None, 40)] * 3, "anxiety": [(None, 50)] * 3})
    j = D.analyse(a, None, "PHQ9", definitions=Definitions(suppression_threshold=0)).to_json()
    assert j["concordance"] is None and j["proportional_hazards"] is None


# --- overall(res): the by=None result from a grouped one ------------------------------------------


def assert_same_durability(got, want):
    """Every field of two Durability results equal (tables exactly, the KM/log-rank/Cox results field by field)."""
    import dataclasses

    def same(x, y, name):
        if isinstance(x, pd.DataFrame):
            pd.testing.assert_frame_equal(x, y, check_exact=True, obj=name)
        elif dataclasses.is_dataclass(x) and not isinstance(x, type):
            assert type(x) is type(y), name
            for f in dataclasses.fields(x):
                same(getattr(x, f.name), getattr(y, f.name), f"{name}.{f.name}")
        elif isinstance(x, float) and math.isnan(x):
            assert isinstance(y, float) and math.isnan(y), name
        else:
            assert x == y, name

    for f in __import__("dataclasses").fields(want):
        same(getattr(got, f.name), getattr(want, f.name), f.name)


def sample_practice():
    root = Path(__file__).resolve().parents[1] / "sample_data"
    return pd.read_csv(root / "assessments.csv"), pd.read_csv(root / "treatments.csv")


@pytest.mark.parametrize("by", ["condition", "site", "induction_completed"])
def test_overall_of_a_grouped_result_equals_analyse_by_none_on_the_sample(by):
    a, t = sample_practice()
    grouped = D.analyse(a, t, "PHQ9", by=by)
    assert grouped.logrank is not None  # the sample has several groups: the test compares two different paths
    assert_same_durability(D.overall(grouped), D.analyse(a, t, "PHQ9", by=None))


@pytest.mark.parametrize("variant", ["censor", "event", "confirm"])
def test_overall_equals_analyse_by_none_with_boosters(clinic, variant):
    d = Definitions(**VARIANTS[variant])
    grouped = D.analyse(*clinic, "PHQ9", by="condition", definitions=d)
    want = D.analyse(*clinic, "PHQ9", by=None, definitions=d)
    assert want.booster_intervals["intervals"].iloc[0] > 0 and want.episodes["censor_reason"].notna().any()
    assert_same_durability(D.overall(grouped), want)
    assert D.overall(grouped).to_json() == want.to_json()


def test_overall_without_treatments_keeps_the_notes_of_the_missing_file(clinic):
    grouped = D.analyse(clinic[0], None, "PHQ9", by="induction_completed")
    want = D.analyse(clinic[0], None, "PHQ9", by=None)
    assert_same_durability(D.overall(grouped), want)
    assert "booster intervals need a treatments file." in D.overall(grouped).notes
    assert not any("induction completed is unknown" in n for n in D.overall(grouped).notes)


def test_overall_of_no_episodes_equals_analyse_by_none():
    a = pd.DataFrame(
        {
            "patient_id": ["p", "p", "q", "q"],
            "instrument": "PHQ9",
            "score": [20, 18, 20, 5],
            "day": [0, 20, 0, 20],
            "condition": "depression",
        }
    )
    assert_same_durability(D.overall(D.analyse(a, None, "PHQ9")), D.analyse(a, None, "PHQ9", by=None))


def test_overall_of_an_overall_result_is_itself_and_of_anything_else_a_type_error(clinic):
    r = D.analyse(*clinic, "PHQ9", by=None)
    assert D.overall(r) is r
    with pytest.raises(TypeError, match="result of durability.analyse"):
        D.overall(clinic[0])


# --- restricted mean durability (golden: durability_rmean.R, R print(survfit, rmean = 84)) -------------------
@pytest.fixture(scope="module")
def rmean_golden():
    return json.loads((GOLDEN / "durability_rmean.json").read_text())


def test_restricted_mean_per_group_and_differences_equal_r_print_survfit(clinic, rmean_golden):
    r = D.analyse(*clinic, "PHQ9", definitions=Definitions(suppression_threshold=0))  # every number exact
    assert D.horizon(r.definitions) == rmean_golden["tau"] == 84
    groups = r.groups.set_index("group")
    for g in rmean_golden["groups"]:
        assert close(groups.loc[g["group"], "rmean"], g["rmean"]) and close(groups.loc[g["group"], "rmean_se"], g["se"])
    diff = r.rmean_differences().set_index("group")
    assert sorted(diff.index) == sorted(d["group"] for d in rmean_golden["differences"])
    for d in rmean_golden["differences"]:
        assert diff.loc[d["group"], "reference"] == d["reference"] == "depression"  # the largest group
        for col in ("difference", "se", "lower", "upper", "p"):
            assert close(diff.loc[d["group"], col], d[col]), col
    (overall,) = D.overall(r).groups.to_dict("records")
    assert close(overall["rmean"], rmean_golden["overall"]["rmean"])
    assert close(overall["rmean_se"], rmean_golden["overall"]["se"])


def test_restricted_mean_in_the_json_is_withheld_where_the_curve_is(clinic, rmean_golden):
    """Shown as R's, except where fewer than 11 are still followed on day 84 (the curve stops there, and
    S(84) is withheld too): then the group's rmean and every difference involving it are null."""
    j = {g["group"]: g for g in D.analyse(*clinic, "PHQ9").to_json()["groups"]}
    diffs = {d["group"]: d for d in rmean_golden["differences"]}
    for g in rmean_golden["groups"]:
        ours = j[g["group"]]
        assert ours["rmean"]["tau"] == 84
        if g["n_risk_tau"] < 11:
            assert ours["rmean"]["value"] is None and ours["rmean"]["se"] is None
            assert ours["survival_at"]["84"] is None
            assert set(ours["rmean_difference"].values()) == {None, "depression"}
            continue
        assert close(ours["rmean"]["value"], g["rmean"]) and close(ours["rmean"]["se"], g["se"])
        if g["group"] == "depression":
            assert ours["rmean_difference"] is None  # the reference
        else:
            d = ours["rmean_difference"]
            assert d["reference"] == "depression"
            assert all(close(d[k], diffs[g["group"]][k]) for k in ("difference", "se", "lower", "upper", "p"))
    assert any(g["n_risk_tau"] < 11 for g in rmean_golden["groups"])  # the withheld case is really tested


def test_the_horizon_is_the_last_survival_day_of_the_card(clinic):
    r = D.analyse(*clinic, "PHQ9", definitions=Definitions(survival_days=(30, 90), suppression_threshold=0))
    assert D.horizon(r.definitions) == 90
    assert {g["rmean"]["tau"] for g in r.to_json()["groups"]} == {90}
    assert (r.groups["rmean"] <= 90).all() and (r.groups["rmean"] > 0).all()


def test_the_text_report_shows_the_restricted_means(clinic):
    text = D.analyse(*clinic, "PHQ9").to_text()
    assert "Restricted mean durability to day 84" in text
    assert "65.5 (4.5); vs depression: +5.8 (-4.6 to 16.2), p = 0.2748" in text
    assert "anxiety             withheld" in text


def test_the_durability_page_shows_the_restricted_mean_and_differences_under_the_tiles_and_in_the_table():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(DATA.parents[1] / "dashboard.py"), default_timeout=120).run()
    at.switch_page("pages/durability.py").run()
    assert not at.exception
    (line,) = [c.value for c in at.caption if c.value.startswith("Restricted mean durability to day 84: ")]
    assert "on average within the first 84 days" in line  # the sample practice's overall restricted mean
    assert "Depression 52.6 days (SE " in line  # each group's own (left off the table so that it fits 1280 px)


def test_a_cox_term_of_a_group_under_the_threshold_is_withheld_in_the_json_and_the_text():
    a, t = sample_practice()
    res = D.analyse(a, t, "PHQ9")
    assert res.cox.level_sizes["age_band=18-24"][0] < 11 <= res.cox.level_sizes["age_band=25-34"][0]
    cox = {r["term"]: r for r in res.to_json()["cox"]}
    assert all(cox["age_band=18-24"][k] is None for k in ("hr", "lower", "upper", "p"))
    assert cox["age_band=25-34"]["hr"] > 0
    assert "age_band=18-24 (vs 35-44): withheld (fewer than 11 patients in age band 18-24)" in res.to_text()
    lower = D.analyse(a, t, "PHQ9", definitions=Definitions(suppression_threshold=5))
    assert {r["term"]: r for r in lower.to_json()["cox"]}["age_band=18-24"]["hr"] > 0  # (10 patients: over 5)
