"""Trajectory knots as a card setting: the card's ``knots`` (default [1, 14]: the first day's acute drop and the end
of induction; lmm_knots_default.R), the model's
piecewise-linear time with two knots against lme4, and what the result says of the knots in force.

Golden numbers: tests/data/golden/lmm_knots_*.csv, written by tests/data/golden/lmm_knots.R (R 4.2, lme4 1.1-31)
from tests/data/golden/lmm_knots.csv (seeded, lmm_knots_data.py). Tolerances: fixed effects 1e-4 relative,
standard errors and variance components 1e-3 relative, log-likelihood 1e-4 absolute (as tests/test_lmm.py);
against lme4 run to tight optimiser tolerances, 1e-6 relative.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.card import Definitions, load_card, save_card
from analysis.errors import DataError
from analysis.lmm import fit_lmm
from analysis.trajectory import time_columns, trajectories

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "data" / "golden"
TWO_KNOTS = "score ~ condition * (t1 + t2 + t3) + (1 + t1 | patient_id)"


@pytest.fixture(scope="module")
def knots_data():
    d = pd.read_csv(GOLDEN / "lmm_knots.csv")
    d.insert(1, "instrument", "PHQ9")
    return d


@pytest.fixture(scope="module")
def two(knots_data):
    return trajectories(knots_data, "PHQ9", definitions=Definitions(knots=[14, 56]))


@pytest.fixture(scope="module")
def one(knots_data):
    return trajectories(knots_data, "PHQ9", definitions=Definitions(knots=[14]))


def golden(stem):
    fixef = pd.read_csv(GOLDEN / f"{stem}_fixef.csv").set_index("term")
    fit = pd.read_csv(GOLDEN / f"{stem}_fit.csv").set_index("quantity")["value"]
    return fixef, fit


def rel(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return np.max(np.abs(a - b) / np.abs(b))


# --- the card ---------------------------------------------------------------------------------


def test_the_default_card_has_a_knot_after_the_first_day_and_at_the_end_of_induction():
    assert Definitions().trajectory_knots == (1, 14)
    assert Definitions().to_dict()["knots"] == [1, 14]
    assert Definitions(induction_end_day=21).trajectory_knots == (1, 21)  # follows the end of induction
    assert Definitions(knots=[1, 14]) == Definitions()  # the default named is the default


def test_the_default_knots_give_lme4s_fit(knots_data):
    """The default card ([1, 14]) against lme4 (tests/data/golden/lmm_knots_default.R)."""
    t = trajectories(knots_data, "PHQ9")
    fixef = pd.read_csv(GOLDEN / "lmm_knots_1_14_reml_fixef.csv").set_index("term")
    fit = pd.read_csv(GOLDEN / "lmm_knots_1_14_reml_fit.csv").set_index("quantity")["value"]
    ours = t.fixed_effects.set_index("term")
    assert t.knots == (1, 14) and t.model_formula == TWO_KNOTS and t.converged
    assert list(ours.index) == list(fixef.index)
    assert rel(ours["estimate"], fixef["estimate"]) < 1e-4
    assert rel(ours["se"], fixef["se"]) < 1e-3
    assert t.model.llf == pytest.approx(fit["loglik"], abs=1e-4)
    # each patient's conditional modes, as lme4's ranef (tests/data/golden/lmm_knots_default.R): patients in id order
    ranef = pd.read_csv(GOLDEN / "lmm_knots_1_14_ranef.csv")
    assert list(ranef["group"]) == sorted(knots_data["patient_id"].unique())
    theirs = ranef[["intercept", "slope"]].to_numpy()
    assert np.max(np.abs(t.model.random_effects - theirs) / theirs.std(axis=0)) < 1e-3


def test_knots_are_sorted_and_a_card_with_two_loads_back_equal(tmp_path):
    d = Definitions(knots=[56, 14])
    assert d.trajectory_knots == (14, 56)
    for suffix in ("json", "yaml"):
        assert load_card(save_card(d, tmp_path / f"card.{suffix}")) == d
    assert load_card("knots: [14, 56]\n").trajectory_knots == (14, 56)
    assert load_card(save_card(Definitions(), tmp_path / "default.json")) == Definitions()
    assert Definitions(knots=[1, 14]) == Definitions() and Definitions(knots=[14]) != Definitions()


@pytest.mark.parametrize("bad", [[], [14, 14], [-1], [14.5], "14", [True]])
def test_a_bad_list_of_knots_says_what_is_wrong(bad):
    with pytest.raises(DataError, match="knots must be a list of different whole days"):
        Definitions(knots=bad)


def test_time_columns_follow_the_design():
    day = np.array([-3, 0, 7, 14, 20, 56, 60, 100])
    t = time_columns(day, (14, 56))
    assert list(t) == ["t1", "t2", "t3"]
    assert t["t1"].tolist() == [0, 0, 7, 14, 14, 14, 14, 14]
    assert t["t2"].tolist() == [0, 0, 0, 0, 6, 42, 42, 42]
    assert t["t3"].tolist() == [0, 0, 0, 0, 0, 0, 4, 44]
    one = time_columns(day, (14,))
    assert one["t1"].tolist() == np.clip(day, 0, 14).tolist()
    assert one["t2"].tolist() == np.maximum(day - 14, 0).tolist()


# --- the model against lme4 -------------------------------------------------------------------


def test_two_knots_give_lme4s_fit(two):
    fixef, r = golden("lmm_knots_14_56_reml")
    assert two.converged and two.knots == (14, 56)
    assert two.model_formula == TWO_KNOTS
    ours = two.fixed_effects.set_index("term")
    assert list(ours.index) == list(fixef.index)  # R's names and order, t3 among them
    assert rel(ours["estimate"], fixef["estimate"]) < 1e-4
    assert rel(ours["se"], fixef["se"]) < 1e-3
    m = two.model
    assert m.cov_re.iloc[0, 0] == pytest.approx(r["var_(Intercept)"], rel=1e-3)
    assert m.cov_re.iloc[1, 1] == pytest.approx(r["var_t1"], rel=1e-3)
    assert m.cov_re.iloc[0, 1] == pytest.approx(r["cov_(Intercept)_t1"], rel=1e-3)
    assert m.scale == pytest.approx(r["var_residual"], rel=1e-3)
    assert m.llf == pytest.approx(r["loglik"], abs=1e-4)
    assert m.llf >= r["loglik"] - 1e-6
    tight = pd.read_csv(GOLDEN / "lmm_knots_14_56_reml_tight_fixef.csv").set_index("term")
    assert rel(ours.loc[tight.index, "estimate"], tight["estimate"]) < 1e-6
    assert rel(ours.loc[tight.index, "se"], tight["se"]) < 1e-6


def test_fit_lmm_on_the_time_columns_gives_the_same_numbers(knots_data):
    frame = knots_data.assign(**time_columns(knots_data["day"], (14, 56)))
    frame["condition"] = pd.Categorical(frame["condition"], categories=["depression", "anxiety", "ptsd"])
    fit = fit_lmm(frame, "score ~ condition * (t1 + t2 + t3)", "patient_id", slope="t1")
    fixef, _ = golden("lmm_knots_14_56_reml")
    assert rel(fit.fixed_effects.set_index("term")["estimate"], fixef["estimate"]) < 1e-4


def test_one_knot_gives_lme4s_one_knot_fit(one):
    fixef, r = golden("lmm_knots_14_reml")
    ours = one.fixed_effects.set_index("term")
    assert one.knots == (14,) and one.model_formula == "score ~ condition * (t1 + t2) + (1 + t1 | patient_id)"
    assert list(ours.index) == list(fixef.index)
    assert rel(ours["estimate"], fixef["estimate"]) < 1e-4
    assert one.model.llf == pytest.approx(r["loglik"], abs=1e-4)


def test_predicted_means_are_the_two_knot_curve_of_lme4s_coefficients(two):
    r = pd.read_csv(GOLDEN / "lmm_knots_14_56_reml_fixef.csv").set_index("term")["estimate"]
    for cond in ["depression", "anxiety", "ptsd"]:
        p = two.predicted[two.predicted["group"] == cond]
        assert 56 in set(p["day"]) or p["day"].max() < 56  # the curve bends where the card says
        t = time_columns(p["day"], (14, 56))
        coef = lambda term: r.get(term.format(c=f"condition{cond}"), 0.0)  # noqa: E731
        expected = r["(Intercept)"] + coef("{c}")
        for piece in ("t1", "t2", "t3"):
            expected = expected + (r[piece] + coef("{c}:" + piece)) * t[piece]
        assert p["mean"].to_numpy() == pytest.approx(np.asarray(expected), rel=1e-4)


def test_two_knots_follow_the_slow_return_where_one_knot_overshoots(one, two):
    """After day 56 symptoms plateau: the one-knot line keeps rising past the late observed means."""
    late = one.observed[(one.observed["group"] == "depression") & (one.observed["day"] >= 84)]

    def error(res):
        p = res.predicted[res.predicted["group"] == "depression"].set_index("day")["mean"]
        curve = np.interp(late["day"], p.index, p.to_numpy())
        return float(np.average(np.abs(curve - late["mean"]), weights=late["n"])), curve

    e1, c1 = error(one)
    e2, c2 = error(two)
    assert e2 < 0.8 * e1  # closer to the late observed means (0.91 against 1.26 points on average)
    assert c1[-1] > late["mean"].iloc[-1] + 2  # the one-knot curve overshoots the latest observed mean
    assert c1[-1] > c2[-1]


# --- what the result says of the knots ------------------------------------------------------------


def test_the_json_and_text_name_the_knots_in_force(two, one):
    out = json.loads(json.dumps(two.to_json(), default=float))
    assert out["model"]["knots"] == [14, 56]
    assert out["model"]["formula"] == TWO_KNOTS
    assert out["definitions"]["knots"] == [14, 56]
    assert "knots at days 14 and 56" in two.to_text() and "a knot at day 14." in one.to_text()
    assert one.to_json()["model"]["knots"] == [14]


def test_a_knot_after_every_score_leaves_its_piece_out_with_a_note(knots_data):
    t = trajectories(knots_data, "PHQ9", definitions=Definitions(knots=[14, 300]))
    assert t.converged
    assert "t3" not in " ".join(t.fixed_effects["term"])
    assert any("no scores after day 300" in n for n in t.notes)


# --- the Trajectories page ----------------------------------------------------------------------


@pytest.mark.skipif(not (ROOT / "sample_data" / "assessments.csv").exists(), reason="sample_data/ not generated yet")
def test_the_trajectories_page_shows_the_knots_in_force_and_the_convergence_measure():
    from streamlit.testing.v1 import AppTest

    from ui.session import DEFINITIONS

    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120).run()
    at.session_state[DEFINITIONS] = Definitions(knots=(14, 56))
    at.switch_page("pages/trajectories.py").run()
    assert not at.exception, [e.message for e in at.exception]
    captions = [str(c.value) for c in at.caption]
    assert any("Model time bends at days 14 and 56" in c for c in captions)
    markdown = " ".join(str(m.value) for m in at.markdown)
    assert "knots at days 14 and 56" in markdown
    assert "scaled gradient" in markdown
    assert any("t3" in c for c in captions)  # the formula fitted, with its third piece of time
