"""Dose and frequency against outcome (analysis/dose_response.py): every number against R on a frozen copy of the
sample practice (tests/data/golden/dose_response.R computes the dose band, the density and the first infusion by
itself from the raw sessions; prop.test, survfit, survdiff, coxph with Efron ties, glm binomial); suppression; the
command line."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from analysis import dose_response as dr
from analysis.__main__ import main
from analysis.card import Definitions
from analysis.errors import DataError
from analysis.ingest import load_files
from tests.conftest import ROOT

GOLDEN = ROOT / "tests" / "data" / "golden"
FILES = [GOLDEN / "dose_response_assessments.csv", GOLDEN / "dose_response_treatments.csv"]


def r_csv(name: str) -> pd.DataFrame:
    return pd.read_csv(GOLDEN / f"dose_response_r_{name}.csv", keep_default_na=False, na_values=[""])


@pytest.fixture(scope="module")
def loaded():
    return load_files(FILES)


@pytest.fixture(scope="module")
def result(loaded):
    return dr.analyse(loaded.assessments, loaded.treatments, "PHQ9")


def test_the_frozen_inputs_still_give_the_outcomes_and_episodes_r_was_given(result):
    o = pd.read_csv(GOLDEN / "dose_response_outcomes.csv").set_index("patient_id")
    mine = result.patients.set_index("patient_id")
    assert (mine.loc[o.index, "evaluable"].astype(bool).to_numpy() == o["evaluable"].astype(bool).to_numpy()).all()
    ep = pd.read_csv(GOLDEN / "dose_response_episodes.csv")
    got = result.durability["dose_band"].episodes
    assert got["patient_id"].tolist() == ep["patient_id"].tolist()
    assert np.allclose(got["time"].astype(float), ep["time"]) and (got["event"].astype(int) == ep["event"]).all()


def test_dose_band_density_and_first_infusion_per_patient_equal_rs_own_computation(result):
    r = r_csv("patients").set_index("patient_id")
    mine = result.patients.set_index("patient_id").loc[r.index]
    assert mine["dose_band"].tolist() == r["dose_band"].tolist()
    assert mine["induction_density"].tolist() == r["induction_density"].tolist()
    assert np.allclose(mine["sbp_rise_10"], r["sbp_rise_10"], equal_nan=True)
    assert np.allclose(mine["marked_dissociation"], r["marked_dissociation"], equal_nan=True)
    assert set(r["dose_band"]) >= {"0.5-0.74 mg/kg", "<=56 mg"} and r["marked_dissociation"].eq(1).sum() > 10


def test_response_by_dose_band_and_density_equal_prop_test(result):
    r = r_csv("rates").set_index(["grouping", "group"])
    mine = result.response.set_index(["grouping", "group"])
    assert sorted(mine.index) == sorted(r.index)
    mine = mine.loc[r.index]
    assert (mine["evaluable"].to_numpy() == r["evaluable"].to_numpy()).all()
    assert (mine["responders"].to_numpy() == r["responders"].to_numpy()).all()
    for c in ("rate", "lower", "upper"):
        assert np.allclose(mine[c].astype(float), r[c], atol=1e-10), c
    # shown in band order, low to high
    assert result.response[result.response["grouping"] == "induction_density"]["group"].tolist() == [
        "1-3 in 14 days",
        "4-5 in 14 days",
        "6+ in 14 days",
    ]


@pytest.mark.parametrize("grouping", ["dose_band", "induction_density"])
def test_kaplan_meier_and_log_rank_by_band_equal_survfit_and_survdiff(result, grouping):
    r = r_csv("km")
    r = r[r["grouping"] == grouping].set_index("group")
    res = result.durability[grouping]
    g = res.groups.set_index("group").loc[r.index]
    assert (g["n"].to_numpy() == r["n"].to_numpy()).all() and (g["events"].to_numpy() == r["events"].to_numpy()).all()
    for c in ("median", "median_lower", "median_upper"):
        assert np.allclose(g[c].astype(float), r[c], equal_nan=True, atol=1e-10), c
    compared = 0
    for d in (28, 56, 84):
        for c in (f"s{d}", f"s{d}_lower", f"s{d}_upper"):
            mine = g[c].astype(float).to_numpy()
            have = np.isfinite(mine)  # after a group's last follow-up we give no value (R's extend = TRUE carries on)
            assert np.allclose(mine[have], r[c].to_numpy(float)[have], atol=1e-10), c
            compared += int(have.sum())
    assert compared >= 3 * 3 * 2
    assert math.isclose(res.logrank.chi2, r["logrank_chi2"].iloc[0], rel_tol=1e-9)
    assert res.logrank.df == r["logrank_df"].iloc[0]


def test_cox_of_dose_band_and_density_equals_coxph_efron_against_the_largest_groups(result):
    r = r_csv("cox")
    p = result.cox.params
    assert set(p["reference"]) == {"0.5-0.74 mg/kg", "6+ in 14 days"}
    r_terms = {t: row for t, row in zip(r["term"], r.to_dict("records"))}
    assert len(p) == len(r)
    for row in p.to_dict("records"):
        want = r_terms[f"{row['covariate']}{row['level']}"]
        for c in ("coef", "se", "hr", "lower", "upper", "p"):
            assert math.isclose(row[c], want[c], rel_tol=1e-6, abs_tol=1e-9), (row["term"], c)


def test_the_first_infusion_logistic_model_equals_glm_binomial(result):
    r = r_csv("glm").set_index("term")
    p = result.logit.params.set_index("term").loc[r.index]
    for c in ("coef", "se", "odds_ratio", "lower", "upper", "z", "p"):
        assert np.allclose(p[c], r[c], rtol=1e-6, atol=1e-9), c
    assert result.logit.n == r["n"].iloc[0] and result.logit.responders == r["responders"].iloc[0]
    assert result.logit.converged


def test_shown_numbers_keep_small_cells_out(result):
    j = result.to_json()
    resp = j["response"].set_index(["grouping", "group"])
    assert resp.loc[("dose_band", ">=1 mg/kg"), "evaluable"] == "<11"  # 7 evaluable
    assert resp.loc[("dose_band", ">=1 mg/kg"), "rate"] is None
    assert resp.loc[("dose_band", "<=56 mg"), "responders"] == "<11"
    assert resp.loc[("dose_band", "57-84 mg"), "responders"] is None  # 31 - 21 = 10 non-responders: withheld
    cox = j["cox"].set_index("level")
    assert cox.loc[">=1 mg/kg", "hr"] is None and cox.loc[">=1 mg/kg", "withheld"].startswith("fewer than 11")
    assert cox.loc["<=56 mg", "hr"] is None and cox.loc["<=56 mg", "episodes"] == "<11"  # 7 episodes
    assert cox.loc["0.75-0.99 mg/kg", "hr"] == pytest.approx(0.936520524790187)
    groups = {g["group"]: g for g in j["durability"]["dose_band"]["groups"]}
    assert groups[">=1 mg/kg"]["n"] == "<11" and groups[">=1 mg/kg"]["median"] is None
    assert [t["odds_ratio"] is not None for t in j["first_infusion"]["terms"]] == [True, True]
    # a threshold above the model's non-responders (86) withholds every odds ratio
    hidden = result.logit_shown(threshold=100)
    assert [t["odds_ratio"] for t in hidden["terms"]] == [None, None] and hidden["patients"] == 190
    text = json.dumps(j, default=str)
    for small in ('"evaluable": 7', '"responders": 7', '"n": 3,', '"n": 7,'):
        assert small not in text


def test_the_words_say_association_not_effect(result):
    text = result.to_text()
    assert "associations, not effects" in text and "OR 1.03 (0.79 to 1.36)" in text


def test_no_treatments_is_a_clear_message(loaded):
    with pytest.raises(DataError, match="treatments file"):
        dr.analyse(loaded.assessments, None, "PHQ9")


def test_the_command_line_prints_the_dose_json(capsys):
    assert main(["dose", *map(str, FILES), "--json"]) == 0
    j = json.loads(capsys.readouterr().out)
    assert set(j) >= {"instrument", "response", "durability", "cox", "first_infusion", "concordance"}
    r = r_csv("glm").set_index("term")
    t = {x["term"]: x for x in j["first_infusion"]["terms"]}
    assert t["marked_dissociation"]["odds_ratio"] == pytest.approx(r.loc["marked_dissociation", "odds_ratio"])
    assert main(["dose", str(FILES[0])]) == 1
    assert "treatments file" in capsys.readouterr().err


def test_a_card_with_a_higher_dissociation_threshold_changes_the_first_infusion_flag(loaded):
    card = Definitions(safety={"dissociation_cadss_min": 60, "dissociation_cadss6_min": 24})
    res = dr.analyse(loaded.assessments, loaded.treatments, "PHQ9", definitions=card)
    assert res.patients["marked_dissociation"].eq(1).sum() < 11


def test_the_safety_results_session_table_handed_on_gives_the_same_answers(loaded, result):
    from analysis import safety

    flags = safety.session_safety(loaded.assessments, loaded.treatments).flags  # (as the Safety page passes it)
    again = dr.analyse(loaded.assessments, loaded.treatments, "PHQ9", flags=flags)
    assert again.to_text() == result.to_text()
    pd.testing.assert_frame_equal(again.patients, result.patients)
    mine = safety.monitoring_record(loaded.treatments, flags=flags)
    pd.testing.assert_frame_equal(mine, safety.monitoring_record(loaded.treatments))
