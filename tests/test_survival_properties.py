"""Invariants of analysis.survival on random small data sets (hypothesis)."""
from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis.survival import cox, kaplan_meier, logrank

SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def cohorts(draw, min_size=1, max_size=40):
    """Integer days (many ties), events, 1-3 groups and a numeric covariate."""
    n = draw(st.integers(min_size, max_size))
    day = draw(st.lists(st.integers(0, 30), min_size=n, max_size=n))
    event = draw(st.lists(st.integers(0, 1), min_size=n, max_size=n))
    group = draw(st.lists(st.sampled_from(["a", "b", "c"]), min_size=n, max_size=n))
    x = draw(st.lists(st.floats(-3, 3, allow_nan=False, width=32), min_size=n, max_size=n))
    return pd.DataFrame({"day": day, "event": event, "group": group, "x": x})


@SETTINGS
@given(cohorts())
def test_survival_never_increases_and_stays_between_zero_and_one(d):
    table = kaplan_meier(d["day"], d["event"], d["group"]).table
    for _, curve in table.groupby("group"):
        s = curve["survival"].to_numpy()
        assert np.all((s >= 0) & (s <= 1))
        assert np.all(np.diff(s) <= 0)
        assert np.all(np.diff(curve["time"].to_numpy()) > 0)


@SETTINGS
@given(cohorts())
def test_limits_enclose_the_curve_wherever_they_exist(d):
    table = kaplan_meier(d["day"], d["event"], d["group"]).table
    has = table["lower"].notna()
    assert (table.loc[has, "lower"] <= table.loc[has, "survival"] + 1e-12).all()
    assert (table.loc[has, "survival"] <= table.loc[has, "upper"] + 1e-12).all()
    assert (table.loc[~has, "survival"] == 0).all()  # no limits only where the curve reached 0


@SETTINGS
@given(cohorts())
def test_counts_add_up_per_group(d):
    km = kaplan_meier(d["day"], d["event"], d["group"])
    for g, curve in km.table.groupby("group"):
        sub = d[d["group"] == g]
        assert curve["n_risk"].iloc[0] == len(sub)
        assert curve["n_event"].sum() == sub["event"].sum()
        assert curve["n_event"].sum() + curve["n_censor"].sum() == len(sub)
    med = km.medians
    assert ((med["median"] >= med["lower"]) | med["lower"].isna() | med["median"].isna()).all()


@SETTINGS
@given(cohorts(min_size=2))
def test_logrank_chi2_is_never_negative_and_expected_equals_observed_in_total(d):
    lr = logrank(d["day"], d["event"], d["group"])
    if np.isnan(lr.chi2):
        assert lr.notes
    else:
        assert lr.chi2 >= 0 and 0 <= lr.p <= 1
    assert np.isclose(lr.table["expected"].sum(), lr.table["observed"].sum())


@SETTINGS
@given(cohorts(min_size=2), st.randoms(use_true_random=False))
def test_cox_is_invariant_to_permuting_rows(d, rnd):
    perm = list(range(len(d)))
    rnd.shuffle(perm)
    a = cox(d, "day", "event", ["x", "group"])
    b = cox(d.iloc[perm], "day", "event", ["x", "group"])
    assert a.params["term"].tolist() == b.params["term"].tolist()
    assert a.n == b.n and a.events == b.events
    np.testing.assert_allclose(a.loglik, b.loglik, rtol=1e-8, atol=1e-10, equal_nan=True)
    separated = any("infinite" in n for n in a.notes + b.notes)
    if a.converged and not separated:  # along a diverging coefficient rounding decides where R stops too
        assert b.converged
        np.testing.assert_allclose(a.params["coef"], b.params["coef"], rtol=1e-6, atol=1e-8, equal_nan=True)
        np.testing.assert_allclose(a.params["se"], b.params["se"], rtol=1e-6, equal_nan=True)


@SETTINGS
@given(cohorts(min_size=2))
def test_survival_at_agrees_with_the_table_at_its_own_times(d):
    km = kaplan_meier(d["day"], d["event"])
    at = km.survival_at(km.table["time"])
    np.testing.assert_array_equal(at["survival"], km.table["survival"])
    np.testing.assert_array_equal(at["n_risk"], km.table["n_risk"])
