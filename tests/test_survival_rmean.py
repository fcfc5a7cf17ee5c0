"""Restricted mean survival time (analysis.survival: KaplanMeier.rmean, rmean_differences) equals R's
``print(survfit, rmean = tau)``.

Golden numbers: tests/data/golden/survival_rmean.R (R 4.2.2, survival 3.5-3) wrote survival_rmean_<case>.csv
(per group and tau: rmean and se(rmean) of summary(fit, rmean = tau)$table) and
survival_rmean_<case>_difference.csv (each group minus the largest: difference, SE sqrt(se1^2 + se2^2), 95% CI,
z-test p) from the data in tests/data/; R is not needed to run these tests. Tolerance: relative 1e-6
(R's numbers are written with 17 significant digits), absolute 1e-9 where R gives 0.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.survival import kaplan_meier, rmean_differences

DATA = Path(__file__).parent / "data"
GOLDEN = DATA / "golden"
RTOL = 1e-6
ATOL = 1e-9

# case, data file, time, event, group (None: one curve)
CASES = [
    ("gehan", "gehan_6mp.csv", "weeks", "relapse", "arm"),
    ("lung", "lung.csv", "days", "died", "sex"),
    ("lung_all", "lung.csv", "days", "died", None),
    ("veteran", "veteran.csv", "days", "died", "celltype"),
    ("clinic", "survival_clinic.csv", "day", "lost", "condition"),
]
IDS = [c[0] for c in CASES]


def fit(file, time, event, group):
    d = pd.read_csv(DATA / file)
    if file == "gehan_6mp.csv":
        d["arm"] = np.where(d["treated"] == 1, "6-MP", "control")
    return kaplan_meier(d[time], d[event], None if group is None else d[group])


def close(actual, expected):
    np.testing.assert_allclose(
        np.asarray(actual, dtype=float), np.asarray(expected, dtype=float), rtol=RTOL, atol=ATOL, equal_nan=True
    )


@pytest.mark.parametrize("case,file,time,event,group", CASES, ids=IDS)
def test_rmean_and_its_se_equal_r_print_survfit(case, file, time, event, group):
    r = pd.read_csv(GOLDEN / f"survival_rmean_{case}.csv")
    km = fit(file, time, event, group)
    ours = pd.concat([km.rmean(tau) for tau in r["tau"].unique()], ignore_index=True)
    assert ours["group"].astype(str).tolist() == r["group"].astype(str).tolist()
    close(ours["tau"], r["tau"])
    close(ours["rmean"], r["rmean"])
    close(ours["se"], r["se"])


@pytest.mark.parametrize("case,file,time,event,group", [c for c in CASES if c[4]], ids=[c[0] for c in CASES if c[4]])
def test_rmean_differences_from_the_largest_group_equal_r(case, file, time, event, group):
    r = pd.read_csv(GOLDEN / f"survival_rmean_{case}_difference.csv")
    km = fit(file, time, event, group)
    ours = pd.concat([rmean_differences(km, tau) for tau in r["tau"].unique()], ignore_index=True)
    assert ours["group"].astype(str).tolist() == r["group"].astype(str).tolist()
    assert ours["reference"].astype(str).tolist() == r["reference"].astype(str).tolist()
    for col in ("tau", "difference", "se", "lower", "upper", "p"):
        close(ours[col], r[col])


def test_rmean_exists_where_the_median_is_not_reached():
    km = fit("gehan_6mp.csv", "weeks", "relapse", "arm")
    assert np.isnan(km.medians.set_index("group").loc["6-MP", "upper"])  # the median's upper limit never reached
    rm = km.rmean(35).set_index("group")
    assert 0 < rm.loc["6-MP", "rmean"] <= 35 and rm.loc["6-MP", "se"] > 0


def test_rmean_below_the_first_time_is_tau_with_no_variance():
    """R's summary refuses a tau below the smallest time; the area is then simply tau."""
    rm = kaplan_meier([5, 8, 9], [1, 0, 1]).rmean(2)
    assert rm[["tau", "rmean", "se"]].iloc[0].tolist() == [2.0, 2.0, 0.0]


def test_rmean_difference_against_a_named_reference_and_bad_input():
    km = fit("gehan_6mp.csv", "weeks", "relapse", "arm")
    d = rmean_differences(km, 23, reference="control")
    assert d["group"].tolist() == ["6-MP"] and d["difference"].iloc[0] == pytest.approx(17.909244 - 8.666667, 1e-6)
    with pytest.raises(ValueError, match="no subjects"):
        rmean_differences(km, 23, reference="placebo")
    with pytest.raises(ValueError, match="tau"):
        km.rmean(-1)
    assert rmean_differences(kaplan_meier([1, 2], [1, 1]), 10).empty  # one group: nothing to compare
