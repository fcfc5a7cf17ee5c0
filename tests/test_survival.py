"""Kaplan-Meier, log-rank and Cox (analysis.survival) equal R's survival package.

Golden numbers: tests/data/golden/survival_*.R (R 4.2.2, survival 3.5-3) wrote the survival_*_*.csv
files beside them from the data in tests/data/; R is not needed to run these tests.
Tolerances: relative 1e-6 for survival, standard errors, confidence limits, Cox coefficients, standard
errors, hazard ratios, z, p and log-likelihoods, and for log-rank chi-square and p; counts and medians
(which are observed times or midpoints of two) exactly (absolute 1e-9).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import coxph, survival
from analysis.errors import DataError
from analysis.survival import cox, kaplan_meier, logrank

DATA = Path(__file__).parent / "data"
GOLDEN = DATA / "golden"
RTOL = 1e-6  # R's numbers are written with 17 significant digits
EXACT = 1e-9


def golden(case: str, what: str) -> pd.DataFrame:
    return pd.read_csv(GOLDEN / f"survival_{case}_{what}.csv", keep_default_na=True)


def load(name: str) -> pd.DataFrame:
    d = pd.read_csv(DATA / name)
    if name == "gehan_6mp.csv":
        d["arm"] = np.where(d["treated"] == 1, "6-MP", "control")
    if name == "rossi.csv":
        d["aid"] = np.where(d["fin"] == 1, "yes", "no")
    return d


def close(actual, expected, rtol=RTOL, atol=0.0):
    """Equal within tolerance, NaN where R gives NA, inf where R gives Inf."""
    np.testing.assert_allclose(
        np.asarray(actual, dtype=float), np.asarray(expected, dtype=float), rtol=rtol, atol=atol, equal_nan=True
    )


# case, data file, time, event, group (None: one curve), days for survival_at
KM_CASES = [
    ("gehan", "gehan_6mp.csv", "weeks", "relapse", "arm", [8, 23, 28, 56]),
    ("rossi", "rossi.csv", "week", "arrest", "aid", [10, 26, 52, 60]),
    ("lung", "lung.csv", "days", "died", "sex", [28, 56, 84, 365, 1000, 2000]),
    ("lung_ecog", "lung.csv", "days", "died", "ecog", [28, 56, 90]),
    ("lung_all", "lung.csv", "days", "died", None, [180, 365, 1100]),
    ("veteran", "veteran.csv", "days", "died", "celltype", [28, 56, 84, 365]),
    ("clinic", "survival_clinic.csv", "day", "lost", "site", [7, 16, 28, 56, 84, 200]),
    ("clinic_condition", "survival_clinic.csv", "day", "lost", "condition", [28, 56, 84]),
]
KM_IDS = [c[0] for c in KM_CASES]


def fit_km(file, time, event, group):
    d = load(file)
    return kaplan_meier(d[time], d[event], None if group is None else d[group])


@pytest.mark.parametrize("case,file,time,event,group,days", KM_CASES, ids=KM_IDS)
def test_kaplan_meier_table_equals_r_summary_with_censored_times(case, file, time, event, group, days):
    r = golden(case, "km")
    km = fit_km(file, time, event, group).table
    assert km["group"].astype(str).tolist() == r["group"].astype(str).tolist()
    for col in ("time", "n_risk", "n_event", "n_censor"):
        close(km[col], r[col], rtol=0, atol=EXACT)
    for col in ("survival", "std_err", "lower", "upper"):
        close(km[col], r[col])


@pytest.mark.parametrize("case,file,time,event,group,days", KM_CASES, ids=KM_IDS)
def test_medians_and_their_limits_equal_r_print_table(case, file, time, event, group, days):
    r = golden(case, "medians")
    med = fit_km(file, time, event, group).medians
    assert med["group"].astype(str).tolist() == r["group"].astype(str).tolist()
    for col in ("n", "events", "median", "lower", "upper"):
        close(med[col], r[col], rtol=0, atol=EXACT)


@pytest.mark.parametrize("case,file,time,event,group,days", KM_CASES, ids=KM_IDS)
def test_survival_at_days_equals_r_summary_times_and_is_nan_where_r_drops_the_day(case, file, time, event, group, days):
    r = golden(case, "at")
    at = fit_km(file, time, event, group).survival_at(days)
    assert len(at) == len(days) * at["group"].nunique()
    merged = at.assign(group=at["group"].astype(str)).merge(
        r.assign(group=r["group"].astype(str)), on=["group", "day"], how="left", suffixes=("", "_r")
    )
    dropped = merged["survival_r"].isna() & merged["n_risk_r"].isna()
    assert merged.loc[dropped, ["survival", "lower", "upper"]].isna().all().all()
    assert (merged.loc[dropped, "n_risk"] == 0).all()
    kept = merged[~dropped]
    assert len(kept) == len(r)
    close(kept["n_risk"], kept["n_risk_r"], rtol=0, atol=EXACT)
    for col in ("survival", "lower", "upper"):
        close(kept[col], kept[f"{col}_r"])


@pytest.mark.parametrize(
    "case,file,time,event,group,days", [c for c in KM_CASES if c[4]], ids=[c[0] for c in KM_CASES if c[4]]
)
def test_logrank_equals_r_survdiff(case, file, time, event, group, days):
    d = load(file)
    lr = logrank(d[time], d[event], d[group])
    r, rt = golden(case, "logrank"), golden(case, "logrank_table")
    close(lr.chi2, r["chi2"][0])
    close(lr.p, r["p"][0])
    assert lr.df == r["df"][0]
    assert lr.table["group"].astype(str).tolist() == rt["group"].astype(str).tolist()
    close(lr.table["n"], rt["n"], rtol=0, atol=EXACT)
    close(lr.table["observed"], rt["observed"], rtol=0, atol=EXACT)
    close(lr.table["expected"], rt["expected"])


# case, output name, data file, time, event, covariates, reference
COX_CASES = [
    ("gehan", "cox", "gehan_6mp.csv", "weeks", "relapse", ["treated"], None),
    ("gehan", "cox_arm", "gehan_6mp.csv", "weeks", "relapse", ["arm"], None),
    ("rossi", "cox", "rossi.csv", "week", "arrest", ["fin", "age", "race", "wexp", "mar", "paro", "prio"], None),
    ("lung", "cox", "lung.csv", "days", "died", ["age", "sex", "ecog", "wt_loss"], None),
    ("veteran", "cox", "veteran.csv", "days", "died", ["trt", "celltype", "karno", "diagtime", "age", "prior"], None),
    ("veteran", "cox_squamous", "veteran.csv", "days", "died", ["trt", "celltype", "karno"], {"celltype": "squamous"}),
    ("clinic", "cox", "survival_clinic.csv", "day", "lost", ["condition", "age", "route"], None),
]
COX_IDS = [f"{c[0]}-{c[1]}" for c in COX_CASES]


def r_term(term: str) -> str:
    """Our 'condition=ptsd' is R's 'conditionptsd'."""
    return term.replace("=", "")


@pytest.mark.parametrize("case,what,file,time,event,covariates,reference", COX_CASES, ids=COX_IDS)
def test_cox_with_efron_ties_equals_r_coxph(case, what, file, time, event, covariates, reference):
    fit = cox(load(file), time, event, covariates, reference=reference)
    r, rf = golden(case, what), golden(case, f"{what}_fit")
    assert [r_term(t) for t in fit.params["term"]] == r["term"].tolist()
    for col in ("coef", "se", "hr", "lower", "upper", "z", "p"):
        close(fit.params[col], r[col])
    close(fit.loglik, [rf["null"][0], rf["fitted"][0]])
    assert (fit.n, fit.events, fit.iterations) == (rf["n"][0], rf["events"][0], rf["iter"][0])
    assert fit.converged


def test_cox_with_a_level_without_events_matches_r_and_says_the_coefficient_may_be_infinite():
    # site D has no events: R warns "Loglik converged before variable 6; coefficient may be infinite"
    fit = cox(load("survival_clinic.csv"), "day", "lost", ["condition", "site"])
    r = golden("clinic", "cox_site")
    ours = fit.params.set_index(fit.params["term"].map(r_term)).loc[r["term"]]
    for col in ("coef", "se", "hr", "lower", "upper", "z", "p"):  # the diverging one too: R's very path
        close(ours[col], r[col])
    assert ours.loc["siteD", "upper"] == np.inf and ours.loc["siteD", "lower"] == 0
    assert any("site=D" in n and "infinite" in n for n in fit.notes)
    assert not any("site=B" in n for n in fit.notes)


CHECK_CASES = COX_CASES + [("clinic", "cox_site", "survival_clinic.csv", "day", "lost", ["condition", "site"], None)]


@pytest.mark.parametrize(
    "case,what,file,time,event,covariates,reference", CHECK_CASES, ids=[f"{c[0]}-{c[1]}" for c in CHECK_CASES]
)
def test_proportional_hazards_test_and_concordance_equal_r_cox_zph_and_concordance(
    case, what, file, time, event, covariates, reference
):
    # golden: tests/data/golden/survival_checks.R (cox.zph(fit)$table; concordance(fit), se = sqrt(var));
    # tolerance RTOL on every number, the pair counts exact
    fit = cox(load(file), time, event, covariates, reference=reference)
    z, c = golden(case, f"{what}_zph"), golden(case, f"{what}_concordance")
    assert fit.ph_test["term"].tolist() == z["term"].tolist()
    assert fit.ph_test["df"].tolist() == z["df"].tolist()
    close(fit.ph_test["chisq"], z["chisq"])
    close(fit.ph_test["p"], z["p"])
    close([fit.concordance["c"], fit.concordance["se"]], [c["c"][0], c["se"][0]])
    for k in ("concordant", "discordant", "tied_x"):
        assert fit.concordance[k] == c[k][0]


def test_a_level_without_events_is_not_estimable_and_shown_without_hazard_ratio():
    fit = cox(load("survival_clinic.csv"), "day", "lost", ["condition", "site"])
    assert fit.not_estimable == {"site=D": "no events in site D"}
    shown = fit.params_shown().set_index("term")
    assert shown.loc["site=D", ["hr", "lower", "upper", "p"]].isna().all()
    assert shown.loc["site=D", "not_estimable"] == "no events in site D"
    assert shown.drop(index="site=D")["not_estimable"].isna().all()
    assert (shown.drop(index="site=D")["hr"] == fit.params.set_index("term").drop(index="site=D")["hr"]).all()
    assert any(n.startswith("site=D not estimable (no events in site D)") for n in fit.notes)


def test_a_term_comparing_a_group_under_the_threshold_is_withheld_with_its_reason():
    # sites: A 30 patients (the reference), B 14, C 6; a hazard ratio of C would describe six patients
    rng = np.random.default_rng(7)
    d = pd.DataFrame(
        {"t": rng.integers(1, 200, 50), "e": rng.integers(0, 2, 50), "site": ["A"] * 30 + ["B"] * 14 + ["C"] * 6}
    )
    fit = cox(d, "t", "e", ["site"])
    assert fit.level_sizes == {"site=B": (14, 30), "site=C": (6, 30)}
    shown = fit.params_shown(11).set_index("term")
    assert shown.loc["site=C", "withheld"] == "fewer than 11 patients in site C"
    assert shown.loc["site=C", ["coef", "se", "hr", "lower", "upper", "z", "p"]].isna().all()
    assert coxph.not_shown(shown.loc["site=C"].to_dict()) == "withheld (fewer than 11 patients in site C)"
    assert shown.loc["site=B", "hr"] == fit.params.set_index("term").loc["site=B", "hr"]  # 14 and 30: shown
    assert coxph.not_shown(shown.loc["site=B"].to_dict()) is None
    assert fit.params_shown(15).loc[:, "withheld"].tolist() == [
        "fewer than 15 patients in site B",
        "fewer than 15 patients in site C",
    ]
    assert fit.params_shown()["hr"].notna().all()  # (no threshold: every estimable term)
    # a small reference withholds every term of its covariate
    small_ref = cox(d.assign(site=d["site"].map({"A": "B", "B": "C", "C": "A"})), "t", "e", ["site"])
    assert small_ref.params_shown(11)["withheld"].tolist() == ["fewer than 11 patients in site A"] * 2


def test_a_reference_level_without_events_makes_the_other_levels_not_estimable():
    d = pd.DataFrame({"t": [1, 2, 3, 4, 5, 6, 7], "e": [1, 1, 0, 1, 0, 0, 0], "g": list("bccbaaa")})
    fit = cox(d, "t", "e", ["g"])
    assert fit.not_estimable == {"g=b": "no events in g a, the reference", "g=c": "no events in g a, the reference"}
    assert fit.params_shown()["hr"].isna().all()


def test_perfect_separation_without_an_empty_level_is_not_estimable_too():
    d = pd.DataFrame({"t": [1, 2, 3, 4, 5, 6], "e": [1, 1, 1, 1, 1, 0], "x": [1, 1, 1, 0, 0, 0]})
    fit = cox(d, "t", "e", ["x"])
    assert fit.not_estimable == {"x": "perfect separation"}


def test_out_of_iterations_keeps_r_last_accepted_point_and_says_it_did_not_converge(monkeypatch):
    monkeypatch.setattr(coxph, "ITER_MAX", 3)
    fit = cox(load("survival_clinic.csv"), "day", "lost", ["condition", "site"])
    r, rf = golden("clinic", "cox_site_iter3"), golden("clinic", "cox_site_iter3_fit")
    close(fit.params["coef"], r["coef"])
    close(fit.loglik, [rf["null"][0], rf["fitted"][0]])
    assert fit.iterations == rf["iter"][0] and not fit.converged
    assert any("did not converge" in n for n in fit.notes)


def test_cox_on_lung_drops_rows_with_missing_covariates_and_says_how_many():
    fit = cox(load("lung.csv"), "days", "died", ["age", "sex", "ecog", "wt_loss"])
    assert fit.n == 228 - 15
    assert "15 rows with a missing time, event or covariate dropped" in fit.notes


# --- the numbers printed in ../shared/reference/README.md -----------------------------------


def test_gehan_numbers_of_the_reference_readme():
    g = load("gehan_6mp.csv")
    km = kaplan_meier(g["weeks"], g["relapse"], g["arm"])
    med = km.medians.set_index("group")
    assert med.loc["6-MP", ["median", "lower"]].tolist() == [23, 16] and np.isnan(med.loc["6-MP", "upper"])
    assert med.loc["control", ["median", "lower", "upper"]].tolist() == [8, 4, 12]
    at = km.survival_at([8, 23]).set_index(["group", "day"])
    close(at.loc[("6-MP", 8), ["survival", "lower", "upper"]], [0.8067227, 0.6531242, 0.9964437], rtol=1e-6)
    close(at.loc[("control", 8), ["survival", "lower", "upper"]], [0.3809524, 0.2208454, 0.6571327], rtol=1e-6)
    close(at.loc[("6-MP", 23), ["survival", "lower", "upper"]], [0.4481793, 0.2487882, 0.8073720], rtol=1e-6)
    lr = logrank(g["weeks"], g["relapse"], g["arm"])
    assert round(lr.chi2, 2) == 16.79 and lr.df == 1
    close(lr.p, 4.17e-05, rtol=1e-3)
    p = cox(g, "weeks", "relapse", ["treated"]).params.iloc[0]
    close([p["coef"], p["se"], p["hr"], p["p"]], [-1.572125, 0.4123967, 0.2076035, 0.0001377538], rtol=1e-6)
    assert abs(p["coef"] - -1.5091914) > 0.05  # not Breslow


def test_rossi_numbers_of_the_reference_readme():
    fit = cox(load("rossi.csv"), "week", "arrest", ["fin", "age", "race", "wexp", "mar", "paro", "prio"])
    readme = {
        "fin": (-0.37942, 0.19138),
        "age": (-0.05744, 0.02200),
        "race": (0.31390, 0.30799),
        "wexp": (-0.14980, 0.21222),
        "mar": (-0.43370, 0.38187),
        "paro": (-0.08487, 0.19576),
        "prio": (0.09150, 0.02865),
    }
    got = fit.params.set_index("term")
    for term, (coef, se) in readme.items():
        assert round(got.loc[term, "coef"], 5) == coef and round(got.loc[term, "se"], 5) == se
    assert [round(v, 4) for v in fit.loglik] == [-675.3806, -658.7477]


# --- hand-worked small cases ------------------------------------------------------------------


def test_kaplan_meier_by_hand_on_five_subjects():
    # times 1, 2, 2+, 3, 4 (+ censored): S = 4/5, 3/5, 3/5 * 1/2, 0
    km = kaplan_meier([1, 2, 2, 3, 4], [1, 1, 0, 1, 1])
    t = km.table
    assert t["group"].tolist() == ["all"] * 4
    assert t["n_risk"].tolist() == [5, 4, 2, 1] and t["n_censor"].tolist() == [0, 1, 0, 0]
    close(t["survival"], [0.8, 0.6, 0.3, 0.0], rtol=1e-12)
    greenwood = np.sqrt(np.cumsum([1 / (5 * 4), 1 / (4 * 3), 1 / (2 * 1)]))
    close(t["std_err"][:3], np.array([0.8, 0.6, 0.3]) * greenwood, rtol=1e-12)
    assert np.isnan(t["std_err"][3]) and np.isnan(t["lower"][3]) and np.isnan(t["upper"][3])
    close(t["lower"][:3], np.exp(np.log([0.8, 0.6, 0.3]) - 1.959963984540054 * greenwood), rtol=1e-12)
    assert (t["upper"][:3] == 1).all()  # capped at 1
    med = km.medians.iloc[0]
    assert (med["median"], med["lower"]) == (3, 2) and np.isnan(med["upper"])


def test_median_is_the_midpoint_when_the_curve_sits_exactly_at_one_half():
    # 6 subjects: S = 5/6, 4/6, 3/6 at day 3, still 3/6 at the censored day 4, 1/4 at day 5: median (3 + 5) / 2
    km = kaplan_meier([1, 2, 3, 4, 5, 6], [1, 1, 1, 0, 1, 0])
    assert km.medians["median"][0] == 4.0
    # a curve that ends at exactly one half never falls lower: the first time it reached it (R survmean)
    assert kaplan_meier([2, 4, 6, 9], [1, 1, 0, 0]).medians["median"][0] == 4.0


def test_survival_at_days_before_between_and_after_the_observed_times():
    km = kaplan_meier([1, 2, 2, 3, 4], [1, 1, 0, 1, 1])
    at = km.survival_at([0, 0.5, 2.5, 4, 5])
    assert at["n_risk"].tolist() == [5, 5, 2, 1, 0]
    close(at["survival"], [1, 1, 0.6, 0.0, np.nan], rtol=1e-12)
    close(at["lower"][:2], [1, 1], rtol=0)
    assert at["lower"][3:].isna().all()


def test_logrank_by_hand_on_four_subjects():
    # one event in each group; at t=1: n=4, a has 2 at risk: E_a = 1/2, V = 1/4; at t=3 only b is at risk
    lr = logrank([1, 2, 3, 4], [1, 0, 1, 0], ["a", "a", "b", "b"])
    close([lr.chi2, lr.df], [1.0, 1], rtol=1e-12)
    close(lr.table["expected"], [0.5, 1.5], rtol=1e-12)
    close(lr.p, 0.31731050786291415, rtol=1e-12)


def test_efron_null_loglik_by_hand_with_two_tied_events():
    # time 1: two events among three at risk: -log(3) - log(3 - 2/2); time 2: censored
    d = pd.DataFrame({"t": [1, 1, 2], "e": [1, 1, 0], "x": [0.0, 1.0, 0.5]})
    close(cox(d, "t", "e", ["x"]).loglik[0], -np.log(6), rtol=1e-12)


def test_efron_score_and_information_at_zero_by_hand():
    d = pd.DataFrame({"t": [1, 1, 2], "e": [1, 1, 0], "x": [0.0, 1.0, 0.5]})
    data = coxph._prepare(d["t"].to_numpy(float), d["e"].to_numpy(), d[["x"]].to_numpy())
    ll, score, info = coxph._efron(data, np.zeros(1))
    # k=0: mean of x over all three = 0.5; k=1: (1.5 - 0.5*1) / 2 = 0.5; score = 1 - 1 = 0
    # information: k=0: var over {0,1,.5} = 1/6; k=1: (S2 - A2/2)/2 - 0.25 = (1.25 - 0.5)/2 - 0.25 = 0.125
    close(score, [0.0], atol=1e-12)
    close(info, [[1 / 6 + 0.125]], rtol=1e-12)


def test_perfect_separation_gives_r_coefficient_and_a_note_not_a_crash():
    # R 4.2 / survival 3.5-3: coef 21.94155, se 24795.06, 20 iterations, "coefficient may be infinite"
    d = pd.DataFrame({"t": [1, 2, 3, 4, 5, 6], "e": [1, 1, 1, 1, 1, 0], "x": [1, 1, 1, 0, 0, 0]})
    fit = cox(d, "t", "e", ["x"])
    close(fit.params[["coef", "se"]].iloc[0], [21.94155, 24795.06], rtol=1e-4)
    close(fit.loglik, [-6.579251, -3.583519], rtol=1e-6)
    assert fit.converged and any("infinite" in n for n in fit.notes)


def test_count_and_sort_paths_find_the_same_cells_by_hand():
    # times 2, 0, 2, 5, 0; events 1, 0, 0, 1, 1; groups 1, 0, 1, 1, 0
    # group 0: day 0 (2 subjects, 1 event); group 1: day 2 (2, 1), day 5 (1, 1)
    t, e, code = np.array([2.0, 0, 2, 5, 0]), np.array([1, 0, 0, 1, 1]), np.array([1, 0, 1, 1, 0])
    expected = ([0, 1, 1], [0.0, 2.0, 5.0], [2, 2, 1], [1, 1, 1])
    for cells in (survival._count_cells(t.astype(np.int64), e, code, 2), survival._sort_cells(t, e, code)):
        for got, want in zip(cells, expected):
            np.testing.assert_array_equal(got, want)
            assert got.dtype == np.asarray(want).dtype


def test_whole_days_are_counted_without_sorting(monkeypatch):
    def no_sort(*args):
        raise AssertionError("sorted")

    monkeypatch.setattr(survival, "_sort_cells", no_sort)
    km = kaplan_meier([1, 2, 2, 3, 4], [1, 1, 0, 1, 1])
    close(km.table["survival"], [0.8, 0.6, 0.3, 0.0], rtol=1e-12)
    assert logrank([1, 2, 3, 4], [1, 0, 1, 0], ["a", "a", "b", "b"]).chi2 == pytest.approx(1.0, rel=1e-12)


def test_fractional_times_and_sparse_day_ranges_are_sorted(monkeypatch):
    def no_count(*args):
        raise AssertionError("counted")

    monkeypatch.setattr(survival, "_count_cells", no_count)
    km = kaplan_meier([0.5, 1.5, 1.5, 2.5], [1, 1, 0, 1])
    assert km.table["time"].tolist() == [0.5, 1.5, 2.5] and km.table["n_risk"].tolist() == [4, 3, 1]
    close(km.table["survival"], [0.75, 0.5, 0.0], rtol=1e-12)
    km = kaplan_meier([1, 10**9], [1, 0])  # whole days, but a grid of a billion cells: sorted
    assert km.table["time"].tolist() == [1.0, 1e9] and km.table["survival"].tolist() == [0.5, 0.5]


def test_a_level_whose_rows_are_all_dropped_is_left_out():
    t, e, g = [1, 2, np.nan, 3, 4], [1, 0, 1, 1, 0], ["a", "a", "b", "c", "c"]
    km = kaplan_meier(t, e, g)
    assert km.medians["group"].tolist() == ["a", "c"] and km.table["group"].unique().tolist() == ["a", "c"]
    assert "1 row with a missing time, event or group dropped" in km.notes
    lr = logrank(t, e, g)
    assert lr.table["group"].tolist() == ["a", "c"] and lr.table["n"].tolist() == [2, 2]


def test_text_groups_are_ordered_as_r_orders_them_in_every_table():
    t, e, g = [1, 2, 3, 4, 5, 6], [1, 1, 1, 1, 1, 1], ["b", "B", "a", "b", "B", "a"]
    km = kaplan_meier(t, e, g)
    assert km.medians["group"].tolist() == ["a", "b", "B"]
    assert km.table["group"].tolist() == ["a", "a", "b", "b", "B", "B"]
    assert km.survival_at([2])["group"].tolist() == ["a", "b", "B"]
    assert logrank(t, e, g).table["group"].tolist() == ["a", "b", "B"]


def test_event_values_other_than_0_and_1_are_listed_whatever_their_type():
    for event in ([0, 2, 3], np.array([0, 2, 3], dtype=np.int8), [0.0, 2.0, 3.0]):
        with pytest.raises(DataError, match=r"found \[2.0, 3.0\]"):
            kaplan_meier([1, 2, 3], event)
    assert kaplan_meier([1, 2, 3], np.array([True, False, True])).table["n_event"].tolist() == [1, 0, 1]


# --- awkward data: notes and NaN, never a crash --------------------------------------------


def test_no_events_at_all_gives_flat_curves_nan_tests_and_notes():
    t, e, g = [1, 2, 3, 4], [0, 0, 0, 0], ["a", "a", "b", "b"]
    km = kaplan_meier(t, e, g)
    assert (km.table["survival"] == 1).all() and km.medians["median"].isna().all()
    assert any("no events" in n for n in km.notes)
    lr = logrank(t, e, g)
    assert np.isnan(lr.chi2) and np.isnan(lr.p) and any("no events" in n for n in lr.notes)
    fit = cox(pd.DataFrame({"t": t, "e": e, "x": [1.0, 2, 3, 4]}), "t", "e", ["x"])
    assert fit.params["coef"].isna().all() and not fit.converged and any("no events" in n for n in fit.notes)


def test_one_subject():
    km = kaplan_meier([5], [1])
    assert km.table["survival"].tolist() == [0.0] and km.medians["median"][0] == 5
    lr = logrank([5], [1], ["a"])
    assert np.isnan(lr.chi2) and any("two groups" in n for n in lr.notes)
    fit = cox(pd.DataFrame({"t": [5], "e": [1], "x": [2.0]}), "t", "e", ["x"])
    assert fit.params.empty and any("no variation" in n for n in fit.notes)


def test_a_group_without_events_keeps_survival_one_and_is_noted():
    km = kaplan_meier([1, 2, 3, 4, 5, 6], [1, 1, 0, 0, 0, 0], ["a", "a", "a", "b", "b", "b"])
    b = km.table[km.table["group"] == "b"]
    assert (b["survival"] == 1).all() and np.isnan(km.medians.set_index("group").loc["b", "median"])
    assert any("group b: no events" in n for n in km.notes)


def test_covariates_without_variation_or_with_one_level_are_dropped_with_a_note():
    d = pd.DataFrame(
        {
            "t": [1, 2, 3, 4, 5, 6],
            "e": [1, 0, 1, 1, 0, 1],
            "x": [1.0, 2, 1, 3, 2, 5],
            "const": [7.0] * 6,
            "site": ["A"] * 6,
        }
    )
    fit = cox(d, "t", "e", ["x", "const", "site"])
    assert fit.params["term"].tolist() == ["x"]
    assert any("'const' has no variation" in n for n in fit.notes)
    assert any("'site' has only one level (A)" in n for n in fit.notes)


def test_unused_categories_are_left_out_with_a_note():
    d = pd.DataFrame(
        {
            "t": [1, 2, 3, 4, 5, 6],
            "e": [1, 0, 1, 1, 0, 1],
            "g": pd.Categorical(["b", "a", "b", "a", "a", "b"], categories=["b", "a", "c"]),
        }
    )
    fit = cox(d, "t", "e", ["g"])
    assert fit.params["term"].tolist() == ["g=a"] and fit.params["reference"].tolist() == ["b"]
    assert any("'g' with no subjects left out: c" in n for n in fit.notes)


def test_collinear_terms_are_not_estimable_and_say_so():
    d = pd.DataFrame({"t": [1, 2, 3, 4, 5, 6, 7], "e": [1, 0, 1, 1, 0, 1, 1], "x": [1.0, 2, 1, 3, 2, 5, 4]})
    d["y"] = 2 * d["x"]
    fit = cox(d, "t", "e", ["x", "y"])
    assert np.isfinite(fit.params["coef"][0]) and np.isnan(fit.params["coef"][1])
    assert any("not estimable" in n and "y" in n for n in fit.notes)


def test_missing_rows_are_dropped_with_a_count():
    km = kaplan_meier(pd.Series([1, 2, np.nan, 4]), pd.Series([1, None, 1, 1]), pd.Series(["a", "a", "b", None]))
    assert len(km.table) == 1 and "3 rows with a missing time, event or group dropped" in km.notes


def test_bool_events_and_categorical_groups_keep_category_order():
    km = kaplan_meier([3, 1, 2, 4], [True, False, True, True], pd.Categorical(["y", "x", "y", "x"], ["y", "x"]))
    assert km.medians["group"].tolist() == ["y", "x"]


def test_bool_covariate_is_categorical_with_false_as_reference():
    d = load("gehan_6mp.csv").assign(treated=lambda x: x["treated"] == 1)
    p = cox(d, "weeks", "relapse", ["treated"]).params.iloc[0]
    assert p["term"] == "treated=True" and p["reference"] == "False"
    close(p["coef"], -1.572125, rtol=1e-6)


def test_inputs_are_not_mutated():
    d = load("survival_clinic.csv")
    before = d.copy()
    cox(d, "day", "lost", ["condition", "age"], reference={"condition": "ptsd"})
    kaplan_meier(d["day"], d["lost"], d["site"])
    logrank(d["day"], d["lost"], d["site"])
    pd.testing.assert_frame_equal(d, before)


# --- wrong usage and bad data: clear messages ----------------------------------------------


def test_unknown_column_names_the_fix():
    with pytest.raises(KeyError, match="column 'clinc' not found; available: t, e, x"):
        cox(pd.DataFrame({"t": [1], "e": [1], "x": [1]}), "t", "e", ["clinc"])


def test_unknown_reference_level_lists_the_levels():
    d = load("survival_clinic.csv")
    with pytest.raises(ValueError, match="reference level 'PTSD' of 'condition' not found; available: anxiety"):
        cox(d, "day", "lost", ["condition"], reference={"condition": "PTSD"})


def test_bad_times_and_events_are_data_errors():
    with pytest.raises(DataError, match="negative"):
        kaplan_meier([1, -2], [1, 1])
    with pytest.raises(DataError, match="1 \\(event\\) or 0 \\(censored\\)"):
        logrank([1, 2], [1, 2], ["a", "b"])
    with pytest.raises(ValueError, match="same length"):
        kaplan_meier([1, 2], [1])


# --- cross-check with statsmodels -------------------------------------------------------------


def test_cox_and_kaplan_meier_agree_with_statsmodels():
    from statsmodels.duration.hazard_regression import PHReg
    from statsmodels.duration.survfunc import SurvfuncRight

    r = load("rossi.csv")
    cols = ["fin", "age", "race", "wexp", "mar", "paro", "prio"]
    sm = PHReg(r["week"], r[cols], status=r["arrest"], ties="efron").fit()
    ours = cox(r, "week", "arrest", cols)
    close(ours.params["coef"], sm.params, rtol=1e-5)
    close(ours.params["se"], sm.bse, rtol=1e-5)
    close(ours.loglik[1], sm.llf, rtol=1e-8)

    g = load("gehan_6mp.csv")
    ctl = g[g["arm"] == "control"]
    sf = SurvfuncRight(ctl["weeks"], ctl["relapse"])
    km = kaplan_meier(ctl["weeks"], ctl["relapse"]).table
    close(km["survival"], sf.surv_prob, rtol=1e-10)
    close(km["std_err"][:-1], sf.surv_prob_se[:-1], rtol=1e-10)


def test_a_log_likelihood_that_reaches_zero_is_not_a_crash():
    # the only event is the only subject with x = 1, all at day 0: the partial likelihood tends to 1
    d = pd.DataFrame({"t": [0] * 6, "e": [0, 0, 0, 1, 0, 0], "x": [0.0, 0, 0, 1, 0, 0]})
    fit = cox(d, "t", "e", ["x"])
    # R 4.2 / survival 3.5-3: coef 25.0195, se 121180.1, loglik -1.791759, -6.809842e-11, iter 21,
    # "Ran out of iterations and did not converge"
    close(fit.params[["coef", "se"]].iloc[0], [25.0195, 121180.1], rtol=1e-5)
    close(fit.loglik, [-1.791759, -6.809842e-11], rtol=1e-5)
    assert fit.iterations == 21 and not fit.converged and any("did not converge" in n for n in fit.notes)


def test_text_levels_sort_as_r_does_ignoring_case():
    # R (ICU collation) orders IM, intranasal, IV: the reference is IM and the terms follow that order
    d = load("survival_clinic.csv")
    p = cox(d, "day", "lost", ["route"]).params
    assert p["term"].tolist() == ["route=intranasal", "route=IV"] and set(p["reference"]) == {"IM"}


def test_infinite_covariate_values_are_a_data_error():
    d = pd.DataFrame({"t": [1, 2, 3], "e": [1, 0, 1], "x": [1.0, np.inf, 2.0]})
    with pytest.raises(DataError, match="'x' has infinite values"):
        cox(d, "t", "e", ["x"])
