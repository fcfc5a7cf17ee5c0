"""trajectories(): observed means by visit window (checked by hand), the model per instrument (checked
against lme4's golden fit of the same data), sparse data, privacy, and the `trajectories` command.

Model golden numbers: tests/data/golden/lmm_clinic_reml_fixef.csv (lme4, see tests/data/golden/lmm_clinic.R);
predicted means compared to 1e-4 relative.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats

from analysis import config, lmm
from analysis.errors import DataError
from analysis.outcomes import Definitions
from analysis.trajectory import trajectories, visit_windows

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "data" / "golden"
T2 = stats.t.ppf(0.975, 2)  # 4.302653
T1 = stats.t.ppf(0.975, 1)  # 12.706205


def assessments(rows, instrument="PHQ9"):
    """Canonical assessments from (patient_id, day, score, condition) tuples."""
    d = pd.DataFrame(rows, columns=["patient_id", "day", "score", "condition"])
    d.insert(1, "instrument", instrument)
    return d


# three depression patients and one with anxiety; worked by hand below
HAND = assessments(
    [
        ("A", -2, 20, "depression"),
        ("A", 0, 18, "depression"),
        ("A", 2, 12, "depression"),
        ("A", 3, 14, "depression"),
        ("A", 21, 9, "depression"),
        ("B", 0, 16, "depression"),
        ("B", 2, 10, "depression"),
        ("B", 21, 8, "depression"),
        ("C", -1, 20, "depression"),
        ("C", 2, 14, "depression"),
        ("D", 0, 10, "anxiety"),
        ("D", 2, 5, "anxiety"),
    ]
)


@pytest.fixture(scope="module")
def hand():
    return trajectories(HAND, "PHQ9")


@pytest.fixture(scope="module")
def clinic():
    """The golden clinic data (lmm_clinic.csv) as a canonical assessments table."""
    d = pd.read_csv(GOLDEN / "lmm_clinic.csv")
    return assessments(d[["patient_id", "day", "score", "condition"]].itertuples(index=False))


@pytest.fixture(scope="module")
def clinic_traj(clinic):
    # the golden fit (lmm_clinic.R) has one knot at day 14, the end of induction (the default card's knots are [1, 14])
    return trajectories(clinic, "PHQ9", definitions=Definitions(knots=[14]))


def row(table, group, visit):
    r = table[(table["group"] == group) & (table["visit"] == visit)]
    assert len(r) == 1, f"{group} {visit}: {len(r)} rows"
    return r.iloc[0]


# --- observed means, by hand -----------------------------------------------------------------


def test_baseline_window_mean_uses_each_patients_last_pre_treatment_score(hand):
    r = row(hand.observed, "depression", "pre")  # A 18 (not 20), B 16, C 20
    assert (r["n"], r["day"]) == (3, 0)
    assert r["mean"] == pytest.approx(18.0) and r["sd"] == pytest.approx(2.0)
    assert r["lower"] == pytest.approx(18 - T2 * 2 / np.sqrt(3))
    assert r["upper"] == pytest.approx(18 + T2 * 2 / np.sqrt(3))


def test_a_window_counts_each_patient_once_with_the_first_score_in_it(hand):
    r = row(hand.observed, "depression", "infusion 2")  # A 12 (day 2, not 14 on day 3), B 10, C 14
    assert (r["n"], r["mean"], r["sd"]) == (3, pytest.approx(12.0), pytest.approx(2.0))
    w3 = row(hand.observed, "depression", "week 3")  # 9 and 8
    assert (w3["n"], w3["day"], w3["mean"]) == (2, 21, pytest.approx(8.5))
    assert w3["upper"] - w3["mean"] == pytest.approx(T1 * np.sqrt(0.5) / np.sqrt(2))


def test_a_single_patient_has_a_mean_but_no_interval(hand):
    r = row(hand.observed, "anxiety", "pre")
    assert r["n"] == 1 and r["mean"] == 10
    assert np.isnan(r["sd"]) and np.isnan(r["lower"]) and np.isnan(r["upper"])


def test_percent_change_is_the_improvement_from_each_patients_baseline(hand):
    r = row(hand.observed_pct, "depression", "infusion 2")  # 6/18, 6/16, 6/20
    assert r["mean"] == pytest.approx((6 / 18 + 6 / 16 + 6 / 20) / 3)
    w3 = row(hand.observed_pct, "depression", "week 3")  # 9/18 and 8/16: both 50%
    assert (w3["mean"], w3["sd"], w3["lower"], w3["upper"]) == (0.5, 0, 0.5, 0.5)
    assert row(hand.observed_pct, "depression", "pre")["mean"] == 0


def test_windows_come_in_course_order_and_groups_in_schema_order(hand):
    assert hand.observed["group"].tolist() == ["depression"] * 3 + ["anxiety"] * 2
    assert hand.observed["visit"].tolist() == ["pre", "infusion 2", "week 3", "pre", "infusion 2"]
    assert list(hand.observed.columns) == ["group", "visit", "day", "n", "mean", "sd", "lower", "upper"]


def test_visit_windows_do_not_overlap_and_take_the_cards_baseline_window():
    w = visit_windows((-14, 0))
    assert w.iloc[0].tolist() == ["pre", 0, -14, 0]
    assert (w["first"].iloc[1:].to_numpy() == w["last"].iloc[:-1].to_numpy() + 1).all()
    assert w["last"].iloc[-1] == config.TRAJECTORY_MAX_DAY
    assert ((w["day"] >= w["first"]) & (w["day"] <= w["last"])).all()


def test_same_day_scores_are_merged_into_their_mean():
    t = trajectories(assessments([("A", 0, 10, "ocd"), ("A", 0, 14, "ocd"), ("A", 2, 6, "ocd")]), "PHQ9")
    assert row(t.observed, "ocd", "pre")["mean"] == 12
    assert row(t.observed_pct, "ocd", "infusion 2")["mean"] == pytest.approx(0.5)


# --- the model -------------------------------------------------------------------------------


def test_the_model_equals_lme4s_fit_of_the_same_data(clinic_traj):
    """Predicted means per condition equal those of lme4's fixed effects (reference level aside)."""
    r = pd.read_csv(GOLDEN / "lmm_clinic_reml_fixef.csv").set_index("term")["estimate"]
    assert clinic_traj.converged
    assert clinic_traj.model_formula == "score ~ condition * (t1 + t2) + (1 + t1 | patient_id)"
    for cond in ["anxiety", "chronic_pain", "depression", "ptsd"]:
        p = clinic_traj.predicted[clinic_traj.predicted["group"] == cond]
        t1, t2 = np.minimum(p["day"], 14), np.maximum(p["day"] - 14, 0)
        coef = lambda term: r.get(term.format(c=f"condition{cond}"), 0.0)  # noqa: E731
        expected = r["(Intercept)"] + coef("{c}") + (r["t1"] + coef("{c}:t1")) * t1 + (r["t2"] + coef("{c}:t2")) * t2
        assert p["mean"].to_numpy() == pytest.approx(expected.to_numpy(), rel=1e-4)


def test_the_reference_group_is_depression_and_the_notes_say_so(clinic_traj):
    terms = clinic_traj.fixed_effects["term"].tolist()
    assert terms[:2] == ["(Intercept)", "conditionanxiety"] and "conditiondepression" not in terms
    assert any("reference group: depression" in n for n in clinic_traj.notes)


def test_the_band_is_the_normal_95_percent_interval_from_the_fixed_effects_covariance(clinic_traj):
    m = clinic_traj.model
    p = clinic_traj.predicted
    r = p[(p["group"] == "ptsd") & (p["day"] == 28)].iloc[0]
    names = m.fixed_effects["term"].tolist()
    x = np.array(
        [
            {
                "(Intercept)": 1,
                "conditionptsd": 1,
                "t1": 14,
                "t2": 14,
                "conditionptsd:t1": 14,
                "conditionptsd:t2": 14,
            }.get(n, 0)
            for n in names
        ],
        dtype=float,
    )
    se = np.sqrt(x @ m.vcov.to_numpy() @ x)
    assert r["mean"] == pytest.approx(x @ m.fixed_effects["estimate"].to_numpy())
    assert (r["upper"] - r["mean"], r["mean"] - r["lower"]) == (
        pytest.approx(1.959964 * se),
        pytest.approx(1.959964 * se),
    )


def test_the_knot_comes_from_the_definition_card(clinic):
    t = trajectories(clinic, "PHQ9", definitions=Definitions(induction_end_day=21))
    days = t.predicted.loc[t.predicted["group"] == "depression", "day"]
    assert set(range(22)) <= set(days.astype(int))
    assert t.definitions.induction_end_day == 21
    default = trajectories(clinic, "PHQ9")
    assert not np.allclose(t.fixed_effects["estimate"], default.fixed_effects["estimate"])


def test_a_group_of_three_patients_is_left_out_of_the_model_with_a_note(clinic):
    extra = assessments([(f"X{i}", d, 15 - d // 4, "ocd") for i in range(3) for d in (0, 4, 9, 28)])
    t = trajectories(pd.concat([clinic, extra], ignore_index=True), "PHQ9")
    assert t.converged
    assert "ocd" in t.observed["group"].tolist()
    assert not any("ocd" in term for term in t.fixed_effects["term"])
    assert "ocd" not in t.predicted["group"].tolist()
    assert t.groups.set_index("group").loc["ocd"].tolist() == [3, False]
    assert any("fewer than 5 patients" in n and "ocd" in n for n in t.notes)


def test_one_score_per_patient_gives_notes_not_a_crash():
    one = assessments([(f"P{i}", i % 30, 10 + i % 7, "depression") for i in range(40)])
    t = trajectories(one, "PHQ9")
    assert t.model is None and not t.converged
    assert t.fixed_effects.empty and t.predicted.empty
    assert any("not fitted" in n for n in t.notes)
    assert any("random intercept only" in n for n in t.notes)
    assert t.observed["n"].sum() == 40  # everyone is still in the observed means


def test_two_scores_per_patient_fall_back_to_a_random_intercept():
    rows = [(f"P{i}", d, s, "depression") for i in range(12) for d, s in ((0, 18 + i % 5), (10 + 3 * i, 9 + i % 4))]
    t = trajectories(assessments(rows), "PHQ9")
    assert t.converged  # (the default knots [1, 14]: three pieces of time)
    assert t.model_formula == "score ~ t1 + t2 + t3 + (1 | patient_id)"
    assert t.fixed_effects["term"].tolist() == ["(Intercept)", "t1", "t2", "t3"]
    assert any("random intercept only" in n for n in t.notes)


def test_no_scores_after_induction_means_no_post_induction_slope():
    rng = np.random.default_rng(3)
    rows = [(f"P{i}", d, round(18 - d + i % 3 + rng.normal(0, 2)), "anxiety") for i in range(8) for d in (0, 4, 7, 11)]
    t = trajectories(assessments(rows), "PHQ9", definitions=Definitions(knots=[14]))
    assert t.converged and t.model_formula.startswith("score ~ t1 +")
    assert "t2" not in t.fixed_effects["term"].tolist()
    assert any("no post-induction slope" in n for n in t.notes)
    default = trajectories(assessments(rows), "PHQ9")  # knots [1, 14]: the piece after day 14 is left out
    assert "t3" not in default.fixed_effects["term"].tolist()
    assert any("no scores after day 14" in n for n in default.notes)


def test_a_fit_that_did_not_converge_is_never_shown_as_one(clinic, monkeypatch):
    real = lmm._check_and_polish
    monkeypatch.setattr(lmm, "_check_and_polish", lambda f, theta, lower: (real(f, theta, lower)[0], False, 0.5))
    t = trajectories(clinic, "PHQ9")
    assert not t.converged and t.predicted.empty
    assert "DID NOT CONVERGE" in t.to_text()
    assert t.to_json()["converged"] is False and t.to_json()["predicted"] == []
    assert any("did NOT converge" in n for n in t.notes)


def test_every_instrument_of_a_simulated_practice_gives_a_converged_model():
    from analysis.simulate import simulate

    a = simulate(patients=200, seed=11).assessments
    for code in sorted(a["instrument"].unique()):
        t = trajectories(a, code)
        assert t.converged, (code, t.notes)
        assert set(t.predicted["group"]) == set(t.groups.loc[t.groups["in_model"], "group"])


# --- grouping --------------------------------------------------------------------------------


def test_any_patient_attribute_or_derived_column_can_group(clinic):
    d = clinic.assign(site=np.where(clinic["patient_id"].str[-1].isin(list("01234")), "North", "South"))
    t = trajectories(d, "PHQ9", by="site")
    assert set(t.observed["group"]) == {"North", "South"}
    assert t.fixed_effects["term"].tolist()[1] == "siteSouth" and t.converged
    derived = d.assign(**{"baseline band": np.where(d["patient_id"] < "P0060", "low", "high")})
    t2 = trajectories(derived, "PHQ9", by="baseline band")
    assert t2.fixed_effects["term"].tolist()[1] == "grouplow"  # a column name that is no identifier


def test_patients_without_the_attribute_are_shown_as_unknown(hand):
    d = HAND.assign(condition=HAND["condition"].where(HAND["patient_id"] != "C"))
    t = trajectories(d, "PHQ9")
    assert row(t.observed, "unknown", "pre")["n"] == 1
    assert any("1 patients without a condition" in n for n in t.notes)


def test_a_wrong_group_column_names_the_available_ones():
    with pytest.raises(KeyError, match="group column 'clinc' not found; available: condition"):
        trajectories(HAND, "PHQ9", by="clinc")


def test_an_instrument_with_no_scores_is_a_data_error_and_an_unknown_one_a_key_error():
    with pytest.raises(DataError, match="no GAD7 scores"):
        trajectories(HAND, "GAD-7")
    with pytest.raises(KeyError, match="not in the registry"):
        trajectories(HAND, "XYZ")


def test_the_input_is_not_changed(clinic):
    before = clinic.copy()
    trajectories(clinic, "PHQ9")
    pd.testing.assert_frame_equal(clinic, before)


# --- lines and privacy -----------------------------------------------------------------------


def test_lines_are_a_seeded_sample_of_30_patients_per_group(clinic_traj, clinic):
    lines = clinic_traj.lines
    per_group = lines.groupby("group")["patient_id"].nunique()
    patients = clinic_traj.groups.set_index("group")["patients"]  # depression 60, anxiety 30, ptsd 25, pain 15
    assert per_group.to_dict() == patients.clip(upper=30).to_dict()
    assert list(lines.columns) == ["patient_id", "group", "day", "score", "pct_change"]
    first = lines[lines["patient_id"] == lines["patient_id"].iloc[0]].sort_values("day")
    base = first.loc[first["day"] <= 0, "score"].iloc[-1]
    assert first["pct_change"].to_numpy() == pytest.approx(((base - first["score"]) / base).to_numpy())
    again = trajectories(clinic, "PHQ9").lines
    pd.testing.assert_frame_equal(lines, again)


def test_small_groups_are_suppressed_in_the_output_and_get_no_lines(hand):
    out = hand.to_json()
    dep = [r for r in out["observed"] if r["group"] == "depression"][0]
    assert dep["n"] == "<11" and dep["mean"] is None and dep["lower"] is None
    assert hand.lines.empty
    assert "<11" in hand.to_text() and "18.0" not in hand.to_text()


def test_json_has_the_documented_keys_and_plain_values(clinic_traj):
    out = json.loads(json.dumps(clinic_traj.to_json(), default=float))
    assert {"instrument", "by", "fixed_effects", "converged", "observed", "predicted", "notes", "definitions"} <= set(
        out
    )
    assert set(out["fixed_effects"][0]) == {"term", "estimate", "se"}
    assert {"group", "day", "n", "mean", "lower", "upper"} <= set(out["observed"][0])
    assert out["definitions"]["induction_end_day"] == 14
    small = clinic_traj.groups.query("patients < 11")
    assert small.empty  # every clinic group is shown
    assert all(r["mean"] is not None for r in out["predicted"])
    # the model check per visit: a visit of fewer than 11 patients keeps '<11' and none of its means
    check = pd.DataFrame(out["fit_check"])
    assert list(check.columns) == ["group", "visit", "day", "n", "mean", "lower", "upper", "model_all", "model_scored"]
    assert len(check) == len(clinic_traj.fit_check) == len(clinic_traj.observed) == 56  # (every visit)
    small = check["n"] == "<11"
    assert small.sum() == 17 and check.loc[small, ["mean", "model_all", "model_scored"]].isna().all().all()
    big = check[~small]
    assert big["model_scored"].between(big["lower"], big["upper"]).mean() > 0.95  # (one miss: pain, infusion 3)


# --- invariants ------------------------------------------------------------------------------


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.tuples(st.sampled_from("ABCDEFGH"), st.integers(-30, 182), st.integers(0, 27)), min_size=1, max_size=40)
)
def test_observed_means_lie_within_the_scores_and_inside_their_interval(rows):
    d = assessments([(p, day, s, "depression" if p < "E" else "ptsd") for p, day, s in rows])
    t = trajectories(d, "PHQ9")
    assert (t.observed["n"] >= 1).all()
    assert t.observed.groupby("group")["n"].max().le(d.groupby("condition")["patient_id"].nunique()).all()
    assert t.observed["mean"].between(0, 27).all()
    ci = t.observed.dropna(subset=["lower"])
    assert ((ci["lower"] <= ci["mean"] + 1e-9) & (ci["mean"] <= ci["upper"] + 1e-9)).all()
    assert (t.observed_pct["mean"] <= 1 + 1e-9).all()


# --- the command line ------------------------------------------------------------------------


def test_the_trajectories_command_prints_the_model_and_the_observed_means(clinic, tmp_path, capsys):
    from analysis.__main__ import main

    path = tmp_path / "clinic.csv"
    clinic.to_csv(path, index=False)
    card = tmp_path / "one_knot.json"  # the golden fit (lmm_clinic.R) has one knot at day 14
    card.write_text('{"knots": [14]}')
    assert main(["trajectories", str(path), "--instrument", "PHQ9", "--definitions", str(card), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["converged"] is True
    r = pd.read_csv(GOLDEN / "lmm_clinic_reml_fixef.csv").set_index("term")
    ours = {f["term"]: f["estimate"] for f in out["fixed_effects"]}
    # depression is our reference, anxiety R's: our t1 is R's t1 + conditiondepression:t1
    assert ours["t1"] == pytest.approx(r.loc["t1", "estimate"] + r.loc["conditiondepression:t1", "estimate"], rel=1e-4)
    assert ours["conditionanxiety"] == pytest.approx(-r.loc["conditiondepression", "estimate"], rel=1e-4)
    dep = [o for o in out["observed"] if o["group"] == "depression" and o["visit"] == "pre"][0]
    assert dep["n"] == int((clinic.groupby("patient_id")["condition"].first() == "depression").sum())


def test_the_trajectories_command_refuses_a_wrong_column_with_exit_2(tmp_path, capsys):
    from analysis.__main__ import main

    path = tmp_path / "hand.csv"
    HAND.to_csv(path, index=False)
    assert main(["trajectories", str(path), "--instrument", "PHQ9", "--by", "clinc"]) == 2
    err = capsys.readouterr().err
    assert "group column 'clinc' not found" in err and "Traceback" not in err


def test_the_trajectories_command_prints_a_readable_summary(tmp_path, capsys):
    from analysis.__main__ import main

    path = tmp_path / "hand.csv"
    HAND.to_csv(path, index=False)
    assert main(["trajectories", str(path), "--instrument", "PHQ9"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("PHQ9 trajectories by condition")
    assert "Mixed model: not fitted" in text and "Notes:" in text


def test_small_counts_in_the_notes_show_as_less_than_11():
    # C has no condition; E has no baseline and one score on day 300, outside every visit window
    d = HAND.assign(condition=HAND["condition"].where(HAND["patient_id"] != "C"))
    d = pd.concat(
        [
            d,
            pd.DataFrame(
                [{"patient_id": "E", "instrument": "PHQ9", "day": 300, "score": 9, "condition": "depression"}]
            ),
        ],
        ignore_index=True,
    )  # no baseline; a late score
    notes = trajectories(d, "PHQ9").notes
    assert "<11 patients without a condition are shown as 'unknown'." in notes
    assert any(n.startswith("<11 of <11 patients have no baseline") for n in notes)
    assert any(n.startswith("<11 scores before day -30 or after day") for n in notes)
    exact = trajectories(d, "PHQ9", definitions=Definitions(suppression_threshold=0)).notes
    assert "1 patients without a condition are shown as 'unknown'." in exact
    assert any(n.startswith("1 of 5 patients have no baseline") for n in exact)
    assert any(n.startswith("1 scores before day -30 or after day") for n in exact)


def test_the_fit_check_of_a_model_that_leaves_a_small_group_out(clinic):
    """Chronic pain cut to 3 patients is left out of the model (fewer than TRAJECTORY_MIN_PATIENTS): the other
    groups' check is that of the model fitted without it, patient by patient, and the small group has none."""
    pain = clinic[clinic["condition"] == "chronic_pain"]["patient_id"].unique()
    cut = clinic[~clinic["patient_id"].isin(pain[3:])]
    cut = cut.assign(patient_id=cut["patient_id"].where(~cut["patient_id"].isin(pain), "A" + cut["patient_id"]))
    assert cut["patient_id"].min().startswith("A")  # (the left-out patients' ids sort before the others')
    without = clinic[~clinic["patient_id"].isin(pain)]
    knots = Definitions(knots=[14])
    small, none = trajectories(cut, "PHQ9", definitions=knots), trajectories(without, "PHQ9", definitions=knots)
    assert not small.groups.set_index("group").loc["chronic_pain", "in_model"]
    assert "chronic_pain" not in set(small.fit_check["group"])
    pd.testing.assert_frame_equal(small.fit_check, none.fit_check, rtol=1e-6)
