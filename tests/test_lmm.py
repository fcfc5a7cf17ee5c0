"""fit_lmm against lme4::lmer (golden numbers), statsmodels MixedLM and hand-worked cases.

Golden numbers: tests/data/golden/lmm_*.csv, written by tests/data/golden/lmm_clinic.R (R 4.2, lme4 1.1-31)
from tests/data/sleepstudy.csv and the seeded clinic data of tests/data/golden/lmm_clinic_data.py, and by
tests/data/golden/lmm_oxboys.R (nlme::Oxboys, copied to lmm_oxboys.csv; R 4.2.2, lme4 1.1-31, nlme 3.1-162).
Tolerances: fixed effects 1e-4 relative, standard errors and variance components 1e-3 relative,
log-likelihood 1e-4 absolute; against lme4 run to tight optimiser tolerances, 1e-6 relative (Oxboys: variance
components and theta 1e-5 relative, log-likelihood 1e-6 absolute).
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis import lmm
from analysis.errors import DataError
from analysis.trajectory import fit_lmm

DATA = Path(__file__).parent / "data"
GOLDEN = DATA / "golden"
CLINIC_FORMULA = "score ~ condition * (t1 + t2)"

FE_RTOL, SE_RTOL, VC_RTOL, LLF_ATOL = 1e-4, 1e-3, 1e-3, 1e-4


@pytest.fixture(scope="module")
def sleep():
    return pd.read_csv(DATA / "sleepstudy.csv")


@pytest.fixture(scope="module")
def clinic():
    return pd.read_csv(GOLDEN / "lmm_clinic.csv")


def golden(name, method):
    fixef = pd.read_csv(GOLDEN / f"{name}_{method}_fixef.csv").set_index("term")
    fit = pd.read_csv(GOLDEN / f"{name}_{method}_fit.csv").set_index("quantity")["value"]
    return fixef, fit


def rel(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return np.max(np.abs(a - b) / np.abs(b))


# --- the published sleepstudy numbers (shared/reference/README.md) ---------------------------


def test_sleepstudy_reml_equals_the_published_lme4_fit(sleep):
    fit = fit_lmm(sleep, "Reaction ~ Days", "Subject", slope="Days")
    fe = fit.fixed_effects.set_index("term")
    assert fe.loc["(Intercept)", "estimate"] == pytest.approx(251.40510, rel=FE_RTOL)
    assert fe.loc["Days", "estimate"] == pytest.approx(10.46729, rel=FE_RTOL)
    assert fe.loc["(Intercept)", "se"] == pytest.approx(6.824597, rel=SE_RTOL)
    assert fe.loc["Days", "se"] == pytest.approx(1.545790, rel=SE_RTOL)
    sd = np.sqrt(np.diag(fit.cov_re.to_numpy()))
    assert sd == pytest.approx([24.7407, 5.9221], rel=VC_RTOL)
    assert fit.cov_re.iloc[0, 1] / sd.prod() == pytest.approx(0.066, abs=5e-4)
    assert np.sqrt(fit.scale) == pytest.approx(25.5918, rel=VC_RTOL)
    assert fit.deviance == pytest.approx(1743.628, abs=1e-3)  # the REML criterion
    assert fit.converged and not fit.singular and fit.reml


def test_sleepstudy_ml_equals_the_published_lme4_fit(sleep):
    fit = fit_lmm(sleep, "Reaction ~ Days", "Subject", slope="Days", reml=False)
    fe = fit.fixed_effects.set_index("term")
    assert fe["estimate"].tolist() == pytest.approx([251.40510, 10.46729], rel=FE_RTOL)
    assert fe["se"].tolist() == pytest.approx([6.632123, 1.502230], rel=SE_RTOL)
    assert fit.llf == pytest.approx(-875.9697, abs=LLF_ATOL)
    assert fit.converged and not fit.reml


# --- golden files written by lmm_clinic.R -----------------------------------------------------

CASES = {
    "lmm_sleepstudy": ("sleepstudy.csv", "Reaction ~ Days", "Subject", "Days"),
    "lmm_sleepstudy_intercept": ("sleepstudy.csv", "Reaction ~ Days", "Subject", None),
    "lmm_clinic": ("golden/lmm_clinic.csv", CLINIC_FORMULA, "patient_id", "t1"),
    "lmm_singular": ("golden/lmm_singular.csv", CLINIC_FORMULA, "patient_id", "t1"),
    "lmm_oxboys": ("golden/lmm_oxboys.csv", "height ~ age", "Subject", "age"),
}


@pytest.mark.parametrize("method", ["reml", "ml"])
@pytest.mark.parametrize("name", list(CASES))
def test_fit_equals_lme4_on_the_golden_data(name, method):
    path, formula, group, slope = CASES[name]
    fit = fit_lmm(pd.read_csv(DATA / path), formula, group, slope=slope, reml=method == "reml")
    fixef, r = golden(name, method)
    ours = fit.fixed_effects.set_index("term")
    assert list(ours.index) == list(fixef.index)  # R's term names, in R's order
    assert rel(ours["estimate"], fixef["estimate"]) < FE_RTOL
    assert rel(ours["se"], fixef["se"]) < SE_RTOL
    terms = list(fit.cov_re.index)
    assert fit.cov_re.iloc[0, 0] == pytest.approx(r[f"var_{terms[0]}"], rel=VC_RTOL)
    if slope:
        assert fit.cov_re.iloc[1, 1] == pytest.approx(r[f"var_{slope}"], rel=VC_RTOL)
        assert fit.cov_re.iloc[0, 1] == pytest.approx(r[f"cov_(Intercept)_{slope}"], rel=VC_RTOL)
    assert fit.scale == pytest.approx(r["var_residual"], rel=VC_RTOL)
    assert fit.llf == pytest.approx(r["loglik"], abs=LLF_ATOL)
    assert fit.llf >= r["loglik"] - 1e-6  # at least as good an optimum as lme4's
    assert fit.deviance == pytest.approx(r["criterion"], abs=2 * LLF_ATOL)
    assert fit.singular == bool(r["singular"])
    assert fit.converged


@pytest.mark.parametrize("method", ["reml", "ml"])
@pytest.mark.parametrize("name", ["lmm_clinic", "lmm_singular"])
def test_fit_equals_lme4_run_to_tight_tolerances_to_one_in_a_million(name, method):
    fit = fit_lmm(pd.read_csv(GOLDEN / f"{name}.csv"), CLINIC_FORMULA, "patient_id", slope="t1", reml=method == "reml")
    tight = pd.read_csv(GOLDEN / f"{name}_{method}_tight_fixef.csv").set_index("term")
    ours = fit.fixed_effects.set_index("term").loc[tight.index]
    assert rel(ours["estimate"], tight["estimate"]) < 1e-6
    assert rel(ours["se"], tight["se"]) < 1e-6


# --- Oxboys: a flat deviance where an optimiser stops early (tests/data/golden/lmm_oxboys.R) ----------


@pytest.fixture(scope="module")
def oxboys():
    return pd.read_csv(GOLDEN / "lmm_oxboys.csv")


@pytest.mark.parametrize("method", ["reml", "ml"])
def test_oxboys_equals_lme4_run_to_tight_tolerances(oxboys, method):
    """nlme::Oxboys, height ~ age + (age | Subject): the variance components equal lme4's exact optimum to
    1e-5 (an early stop leaves them ~4e-4 off), the fixed effects and standard errors to 1e-6."""
    fit = fit_lmm(oxboys, "height ~ age", "Subject", slope="age", reml=method == "reml")
    fixef, r = golden("lmm_oxboys", f"{method}_tight")
    ours = fit.fixed_effects.set_index("term")
    assert list(ours.index) == ["(Intercept)", "age"]
    assert rel(ours["estimate"], fixef["estimate"]) < 1e-6
    assert rel(ours["se"], fixef["se"]) < 1e-6
    assert rel(fit.theta, r[["theta1", "theta2", "theta3"]]) < 1e-5
    vc = [fit.cov_re.iloc[0, 0], fit.cov_re.iloc[1, 1], fit.cov_re.iloc[0, 1], fit.scale]
    assert rel(vc, r[["var_(Intercept)", "var_age", "cov_(Intercept)_age", "var_residual"]]) < 1e-5
    assert fit.llf == pytest.approx(r["loglik"], abs=1e-6)
    assert fit.deviance == pytest.approx(r["criterion"], abs=2e-6)
    assert fit.converged and not fit.singular and r["converged"] == 1
    assert fit.scaled_gradient < lmm.POLISH_TOLERANCE  # the optimum located to 1e-6, not just to lme4's 2e-3
    assert not any("located to" in n for n in fit.notes)


def _oxboys_deviance(oxboys, reml=True):
    """The profiled deviance of Oxboys in the optimiser's theta (age scaled to unit root-mean-square), and k."""
    age = oxboys["age"].to_numpy(dtype=float)
    k = float(np.sqrt(np.mean(age**2)))
    ut = np.vstack([np.ones(len(age)), age, oxboys["height"].to_numpy(dtype=float)])  # [X | y]'
    codes, groups = lmm._group_codes(oxboys["Subject"])
    return lmm._Deviance(ut, age / k, codes, groups, reml), k


def test_the_newton_polish_takes_oxboys_from_an_early_stop_to_the_optimum(oxboys):
    """From the point where L-BFGS-B stopped "ABNORMAL" (a Newton step of 0.85 away) the polish goes on until
    a step is below 1e-6, to lme4's exact optimum; three steps (the old polish) stop short of it."""
    dev, k = _oxboys_deviance(oxboys)
    early = np.array([11.15356713, 0.93413234, 1.24089383])
    _, r = golden("lmm_oxboys", "reml_tight")
    exact = r[["theta1", "theta2", "theta3"]].to_numpy() * np.array([1.0, k, k])
    theta, ok, scaled = lmm._check_and_polish(dev, early, [0.0, None, 0.0])
    assert ok and scaled < lmm.POLISH_TOLERANCE
    assert rel(theta, exact) < 1e-5
    _, _, short_scaled = lmm._check_and_polish(dev, early, [0.0, None, 0.0], 3)
    assert short_scaled > lmm.POLISH_TOLERANCE  # a step still above 1e-6: not polished to the end


def test_the_deviance_is_exact_to_rounding_on_large_responses(oxboys):
    """Heights ~150 cm: centring keeps the deviance's rounding noise near 1e-11 (the polish needs it)."""
    dev, k = _oxboys_deviance(oxboys)
    theta = np.array([12.2461164054, 1.6333088582 * k, 1.9543155980 * k])
    values = [dev.solve(theta * (1 + 1e-13 * i))[0] for i in range(20)]
    assert np.std(values) < 1e-10


def test_convergence_is_checked_at_the_estimates_not_taken_from_the_optimiser(oxboys, monkeypatch):
    """An optimiser that claims convergence far from the optimum: the fit says it did not converge."""
    monkeypatch.setattr(lmm, "_optimise", lambda f, start, bounds: (np.array([11.0, 0.9, 1.2]), True, "L-BFGS-B", ()))
    fit = fit_lmm(oxboys, "height ~ age", "Subject", slope="age")
    assert not fit.converged
    assert fit.scaled_gradient > lmm.GRADIENT_TOLERANCE
    assert any("did NOT converge" in n for n in fit.notes)


def test_an_optimum_located_less_tightly_than_the_polish_is_noted(oxboys, monkeypatch):
    """Within lme4's check (2e-3) but not to 1e-6: converged, with a note saying how tightly."""
    dev, k = _oxboys_deviance(oxboys)
    near = np.array([12.2461164054, 1.6333088582 * k, 1.9543155980 * k]) * (1 + 5e-5)
    monkeypatch.setattr(lmm, "_optimise", lambda f, start, bounds: (near, True, "L-BFGS-B", ()))
    fit = fit_lmm(oxboys, "height ~ age", "Subject", slope="age")
    assert fit.converged
    assert lmm.POLISH_TOLERANCE < fit.scaled_gradient < lmm.GRADIENT_TOLERANCE
    assert any("The optimum is located to" in n for n in fit.notes)


def test_a_boundary_fit_is_reported_as_singular_like_lme4():
    fit = fit_lmm(pd.read_csv(GOLDEN / "lmm_singular.csv"), CLINIC_FORMULA, "patient_id", slope="t1")
    _, r = golden("lmm_singular", "reml")
    assert r["singular"] == 1 and fit.singular
    assert fit.theta[2] == 0.0  # the correlation is estimated at +-1, as in lme4
    assert abs(fit.cov_re.iloc[0, 1]) == pytest.approx(np.sqrt(fit.cov_re.iloc[0, 0] * fit.cov_re.iloc[1, 1]))
    assert any("singular" in n for n in fit.notes)
    assert fit.converged  # singular is not the same as not converged


# --- statsmodels cross-check -----------------------------------------------------------------


def test_fit_agrees_with_statsmodels_mixedlm(clinic):
    import statsmodels.formula.api as smf

    sm = smf.mixedlm(CLINIC_FORMULA, clinic, groups=clinic["patient_id"], re_formula="~t1").fit(reml=True)
    ours = fit_lmm(clinic, CLINIC_FORMULA, "patient_id", slope="t1")
    sm_fe = sm.fe_params.rename(index=lmm._r_name)  # statsmodels: "condition[T.ptsd]:t1"
    sm_se = sm.bse_fe.rename(index=lmm._r_name)
    fe = ours.fixed_effects.set_index("term")
    assert rel(fe.loc[sm_fe.index, "estimate"], sm_fe) < 1e-4
    # statsmodels' standard errors come from its numerical Hessian of all parameters, not from
    # sigma^2 (X'V^-1X)^-1 as lme4: they agree to a few in a thousand only
    assert rel(fe.loc[sm_se.index, "se"], sm_se) < 5e-3
    assert ours.llf == pytest.approx(sm.llf, abs=1e-4)
    assert ours.scale == pytest.approx(sm.scale, rel=1e-3)


# --- hand-worked -----------------------------------------------------------------------------


def test_balanced_one_way_random_intercept_reml_equals_the_anova_estimates():
    # three groups of two: means 2, 5, 9; grand mean 16/3; within SS 6 on 3 df -> MSW 2;
    # MSB = 2 * ((2-16/3)^2 + (5-16/3)^2 + (9-16/3)^2) / 2 = 74/3; tau^2 = (MSB - MSW) / 2 = 34/3;
    # se(mean) = sqrt(MSB / 6)
    d = pd.DataFrame({"y": [1.0, 3, 4, 6, 8, 10], "g": ["a", "a", "b", "b", "c", "c"]})
    fit = fit_lmm(d, "y ~ 1", "g")
    assert fit.fixed_effects["estimate"].iloc[0] == pytest.approx(16 / 3, rel=1e-8)
    assert fit.scale == pytest.approx(2.0, rel=1e-6)
    assert fit.cov_re.iloc[0, 0] == pytest.approx(34 / 3, rel=1e-6)
    assert fit.fixed_effects["se"].iloc[0] == pytest.approx(np.sqrt(74 / 3 / 6), rel=1e-6)
    assert list(fit.cov_re.index) == ["(Intercept)"]


def test_term_names_follow_r():
    assert lmm._r_name("Intercept") == "(Intercept)"
    assert lmm._r_name("condition[T.ptsd]") == "conditionptsd"
    assert lmm._r_name("condition[T.ptsd]:t1") == "conditionptsd:t1"
    assert lmm._r_name("t2") == "t2"


# --- awkward inputs --------------------------------------------------------------------------


def test_rows_with_missing_values_are_left_out_with_a_note_and_the_input_is_untouched(sleep):
    holed = sleep.copy()
    holed.loc[[3, 50], "Reaction"] = np.nan
    before = holed.copy()
    fit = fit_lmm(holed, "Reaction ~ Days", "Subject", slope="Days")
    expected = fit_lmm(holed.dropna(), "Reaction ~ Days", "Subject", slope="Days")
    assert fit.n_obs == 178
    assert any("2 rows with a missing value" in n for n in fit.notes)
    assert fit.fixed_effects["estimate"].tolist() == pytest.approx(expected.fixed_effects["estimate"].tolist())
    pd.testing.assert_frame_equal(holed, before)


def test_a_column_without_data_is_dropped_as_lme4_does(clinic):
    d = clinic.copy()
    d.loc[d["condition"] == "ptsd", "t2"] = 0.0  # no ptsd scores after the knot: conditionptsd:t2 is all zero
    fit = fit_lmm(d, CLINIC_FORMULA, "patient_id", slope="t1")
    assert "conditionptsd:t2" not in fit.fixed_effects["term"].tolist()
    assert len(fit.fixed_effects) == 11
    assert any("rank deficient" in n and "conditionptsd:t2" in n for n in fit.notes)
    assert fit.converged


def test_a_missing_group_column_says_which_columns_exist(sleep):
    with pytest.raises(KeyError, match="group column 'Subjct' not found; available: Reaction, Days, Subject"):
        fit_lmm(sleep, "Reaction ~ Days", "Subjct")
    with pytest.raises(KeyError, match="formula column 'Dayz' not found"):
        fit_lmm(sleep, "Reaction ~ Dayz", "Subject")
    with pytest.raises(KeyError, match="slope column 'day' not found"):
        fit_lmm(sleep, "Reaction ~ Days", "Subject", slope="day")


def test_one_score_per_patient_cannot_carry_random_effects():
    d = pd.DataFrame({"y": [1.0, 2, 3, 4], "t": [0.0, 1, 2, 3], "p": ["a", "b", "c", "d"]})
    with pytest.raises(DataError, match="too few observations for the random effects"):
        fit_lmm(d, "y ~ t", "p")
    with pytest.raises(DataError, match="each p needs repeated measurements"):
        fit_lmm(d.assign(p=["a", "a", "b", "b"]), "y ~ t", "p", slope="t")


def test_a_text_slope_is_a_programmer_error(sleep):
    with pytest.raises(TypeError, match="slope column 'Subject' must be numeric"):
        fit_lmm(sleep.astype({"Subject": str}), "Reaction ~ Days", "Days", slope="Subject")


# --- convergence -----------------------------------------------------------------------------


def test_a_fit_that_fails_the_convergence_check_is_refitted_with_nelder_mead(sleep, monkeypatch):
    real = lmm._check_and_polish
    calls = []

    def fail_first_check(f, theta, lower, steps=3):
        calls.append(theta)
        theta, ok, grad = real(f, theta, lower, steps)
        return (theta, False, 0.5) if len(calls) == 1 else (theta, ok, grad)

    monkeypatch.setattr(lmm, "_check_and_polish", fail_first_check)
    fit = fit_lmm(sleep, "Reaction ~ Days", "Subject", slope="Days")
    assert len(calls) == 2
    assert fit.converged and fit.optimizer == "Nelder-Mead+L-BFGS-B"
    assert any("refitted with Nelder-Mead" in n for n in fit.notes)
    assert fit.fixed_effects["se"].tolist() == pytest.approx([6.824597, 1.545790], rel=SE_RTOL)


def test_a_fit_that_fails_every_check_is_reported_as_not_converged(sleep, monkeypatch):
    real = lmm._check_and_polish
    monkeypatch.setattr(lmm, "_check_and_polish", lambda f, theta, lower: (real(f, theta, lower)[0], False, 0.5))
    fit = fit_lmm(sleep, "Reaction ~ Days", "Subject", slope="Days")
    assert not fit.converged
    assert any("did NOT converge" in n for n in fit.notes)


def test_a_fit_that_never_converges_says_so():
    def unbounded(theta):  # no minimum: every optimiser walks away
        return -float(theta[1]) - float(theta[0])

    theta, converged, optimizer, notes = lmm._optimise(
        unbounded, np.array([1.0, 0.0, 1.0]), [(0.0, None), (None, None), (0.0, None)]
    )
    assert not converged
    assert "did NOT converge" in notes[-1]


# --- invariants ------------------------------------------------------------------------------


def _small_clinic(seed):
    rng = np.random.default_rng(seed)
    rows = []
    for p in range(12):
        b0, b1 = rng.normal(0, 3), rng.normal(0, 0.3)
        for day in sorted(rng.choice([0, 2, 4, 7, 9, 11, 21, 28, 42, 56], size=int(rng.integers(3, 8)), replace=False)):
            t1, t2 = min(day, 14), max(day - 14, 0)
            rows.append((f"p{p}", "ab"[p % 2], t1, t2, 18 + b0 + (-0.5 + b1) * t1 + 0.03 * t2 + rng.normal(0, 2)))
    return pd.DataFrame(rows, columns=["patient_id", "condition", "t1", "t2", "score"])


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), shift=st.floats(-50, 50), order=st.integers(0, 10_000))
def test_row_order_does_not_matter_and_a_shift_of_the_score_moves_only_the_intercept(seed, shift, order):
    d = _small_clinic(seed)
    base = fit_lmm(d, CLINIC_FORMULA, "patient_id", slope="t1")
    shuffled = d.sample(frac=1, random_state=order).assign(score=lambda x: x["score"] + shift)
    moved = fit_lmm(shuffled, CLINIC_FORMULA, "patient_id", slope="t1")
    expected = base.fixed_effects["estimate"].to_numpy().copy()
    expected[0] += shift
    assert moved.fixed_effects["estimate"].to_numpy() == pytest.approx(expected, rel=1e-5, abs=1e-5)
    assert moved.fixed_effects["se"].to_numpy() == pytest.approx(base.fixed_effects["se"].to_numpy(), rel=1e-4)
    assert moved.llf == pytest.approx(base.llf, abs=1e-6)


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), k=st.floats(0.05, 20))
def test_rescaling_the_slope_variable_rescales_its_coefficients_and_keeps_the_likelihood(seed, k):
    d = _small_clinic(seed)
    base = fit_lmm(d, "score ~ t1 + t2", "patient_id", slope="t1", reml=False)
    scaled = fit_lmm(d.assign(t1=d["t1"] * k), "score ~ t1 + t2", "patient_id", slope="t1", reml=False)
    assert scaled.llf == pytest.approx(base.llf, abs=1e-6)
    fe_b, fe_s = base.fixed_effects.set_index("term"), scaled.fixed_effects.set_index("term")
    assert fe_s.loc["t1", "estimate"] == pytest.approx(fe_b.loc["t1", "estimate"] / k, rel=1e-4, abs=1e-8)
    assert fe_s.loc["(Intercept)", "estimate"] == pytest.approx(fe_b.loc["(Intercept)", "estimate"], rel=1e-5)
    assert scaled.cov_re.iloc[1, 1] == pytest.approx(base.cov_re.iloc[1, 1] / k**2, rel=1e-3, abs=1e-8)


# --- conditional modes (lme4's ranef; tests/data/golden/lmm_ranef.R) ------------------------------


def ranef_gap(fit, stem) -> float:
    """Largest difference between our conditional modes and lme4's, relative to their spread (per column)."""
    r = pd.read_csv(GOLDEN / f"{stem}_ranef.csv")
    ours = fit.random_effects
    theirs = r.drop(columns="group").to_numpy()
    assert ours.shape == theirs.shape
    return float(np.max(np.abs(ours - theirs) / theirs.std(axis=0)))


@pytest.mark.parametrize(("stem", "slope"), [("lmm_sleepstudy", "Days"), ("lmm_sleepstudy_intercept", None)])
def test_conditional_modes_equal_lme4s_ranef(sleep, stem, slope):
    fit = fit_lmm(sleep, "Reaction ~ Days", "Subject", slope=slope)
    assert ranef_gap(fit, stem) < 1e-4  # (groups in the sorted order of their ids, as R's factor levels)
