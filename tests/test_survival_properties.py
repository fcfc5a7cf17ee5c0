"""Invariants of analysis.survival on random small data sets (hypothesis)."""

from __future__ import annotations

from unittest.mock import patch

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis import survival
from analysis.survival import cox, kaplan_meier, logrank

SETTINGS = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MORE = settings(SETTINGS, max_examples=100)


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


# --- one pass over all groups equals the per-group computation ---------------------------------


def sorting_only():
    """Within it, every time goes through the sorting path: no counting grid is ever small enough."""
    return patch.multiple(survival, COUNT_GRID_MAX=-1, COUNT_GRID_PER_SUBJECT=0)


def reference_kaplan_meier(time, event, group):
    """The straightforward per-group product-limit estimate (one sort, one curve, one median search per
    group): the definition the one-pass engine must reproduce bit for bit."""
    t, e, g = np.asarray(time, dtype=float), np.asarray(event, dtype=np.int64), pd.Series(group)
    keep = g.notna().to_numpy() & ~np.isnan(t)
    t, e, g = t[keep], e[keep], g[keep].reset_index(drop=True)
    if isinstance(g.dtype, pd.CategoricalDtype):
        levels = [c for c in g.cat.categories if (g == c).any()]
    elif all(isinstance(v, str) for v in g):
        levels = sorted(g.unique().tolist(), key=lambda v: (v.casefold(), v.swapcase()))  # R: a, b, B
    else:
        levels = sorted(g.unique().tolist())
    tables, medians = [], []
    for level in levels:
        sel = (g == level).to_numpy()
        order = np.argsort(t[sel], kind="stable")
        ts, es = t[sel][order], e[sel][order]
        times, first, counts = np.unique(ts, return_index=True, return_counts=True)
        n_event = np.add.reduceat(es, first)
        n_risk = len(ts) - np.concatenate(([0], np.cumsum(counts)[:-1]))
        with np.errstate(divide="ignore", invalid="ignore"):
            s = np.cumprod(1.0 - n_event / n_risk)
            se = np.sqrt(np.cumsum(np.where(n_event > 0, n_event / (n_risk * (n_risk - n_event).astype(float)), 0.0)))
            log_s = np.log(np.where(s > 0, s, np.nan))
            lower, upper = np.exp(log_s - survival.Z95 * se), np.minimum(np.exp(log_s + survival.Z95 * se), 1.0)
            std_err = s * se
        tab = pd.DataFrame(
            dict(
                time=times,
                n_risk=n_risk,
                n_event=n_event,
                n_censor=counts - n_event,
                survival=s,
                std_err=std_err,
                lower=lower,
                upper=upper,
            )
        )
        tab.insert(0, "group", [level] * len(tab))
        tables.append(tab)
        row = {"group": level, "n": int(sel.sum()), "events": int(es.sum())}
        for name, curve in (("median", s), ("lower", lower), ("upper", upper)):
            ok = ~np.isnan(curve) & (curve < 0.5 + survival.QUANTILE_TOL)
            x, y = times[ok], curve[ok]
            row[name] = (
                np.nan
                if not ok.any()
                else (
                    float((x[0] + x[np.argmax(y < y[0])]) / 2)
                    if abs(y[0] - 0.5) < survival.QUANTILE_TOL and np.any(y < y[0])
                    else float(x[0])
                )
            )
        medians.append(row)
    return pd.concat(tables, ignore_index=True), pd.DataFrame(medians).astype(
        {"median": float, "lower": float, "upper": float}
    )


def reference_logrank(time, event, group):
    """Observed, expected and the variance matrix from one subject x time pass per group: (levels,
    n, observed, expected, variance)."""
    t, e, g = np.asarray(time, dtype=float), np.asarray(event, dtype=float), pd.Series(group)
    keep = g.notna().to_numpy()
    t, e, g = t[keep], e[keep], g[keep].reset_index(drop=True)
    levels = reference_kaplan_meier(t, e, g)[1]["group"].tolist()
    times = np.unique(t)
    n_risk = np.array([[np.sum((g == lv).to_numpy() & (t >= tj)) for lv in levels] for tj in times], dtype=float)
    dead = np.array([[np.sum(e[(g == lv).to_numpy() & (t == tj)]) for lv in levels] for tj in times])
    n_all, d_all = n_risk.sum(axis=1), dead.sum(axis=1)
    share = n_risk / n_all[:, None]
    w = np.where(n_all > 1, d_all * (n_all - d_all) / np.maximum(n_all - 1, 1), 0.0)
    var = np.diag((w[:, None] * share).sum(axis=0)) - (share * w[:, None]).T @ share
    n = [int((g == lv).sum()) for lv in levels]
    return levels, n, dead.sum(axis=0), (share * d_all[:, None]).sum(axis=0), var


@st.composite
def labelled(draw, max_size=40, whole_days=False):
    """Whole (or, unless whole_days, quarter) days with many ties, labels of several kinds (text, a
    categorical with unused categories, numbers, some missing), and now and then a group without events."""
    n = draw(st.integers(1, max_size))
    day = np.array(draw(st.lists(st.integers(0, 30), min_size=n, max_size=n)), dtype=float)
    if not whole_days and draw(st.booleans()):
        day = day / 4
    event = np.array(draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)))
    pool = draw(st.sampled_from([["a", "B", "b"], [3, 1, 2], ["x", None]]))
    labels = draw(st.lists(st.sampled_from(pool), min_size=n, max_size=n))
    group = pd.Series(labels, dtype=object if None in pool else None)
    if isinstance(pool[0], str) and draw(st.booleans()):
        group = pd.Series(pd.Categorical(labels, categories=["z", "b", "B", "a", "x"]))  # z: no subjects
    if draw(st.booleans()):
        event[(group == pool[0]).to_numpy()] = 0  # an all-censored group
    return day, event, group


@MORE
@given(labelled())
def test_kaplan_meier_equals_the_per_group_computation_bit_for_bit(data):
    day, event, group = data
    km = kaplan_meier(day, event, group)
    if group.notna().any():
        table, medians = reference_kaplan_meier(day, event, group)
        pd.testing.assert_frame_equal(km.table, table, check_exact=True)
        pd.testing.assert_frame_equal(km.medians, medians, check_exact=True)
    else:
        assert km.table.empty and km.medians.empty and "no subjects to analyse" in km.notes


@MORE
@given(labelled(whole_days=True))
def test_counting_whole_days_and_sorting_give_identical_results(data):
    day, event, group = data
    counted = kaplan_meier(day, event, group), logrank(day, event, group)
    with sorting_only():
        sorted_ = kaplan_meier(day, event, group), logrank(day, event, group)
    pd.testing.assert_frame_equal(counted[0].table, sorted_[0].table, check_exact=True)
    pd.testing.assert_frame_equal(counted[0].medians, sorted_[0].medians, check_exact=True)
    assert counted[0].notes == sorted_[0].notes and counted[1].notes == sorted_[1].notes
    pd.testing.assert_frame_equal(counted[1].table, sorted_[1].table, check_exact=True)
    np.testing.assert_array_equal([counted[1].chi2, counted[1].p], [sorted_[1].chi2, sorted_[1].p])


@MORE
@given(labelled())
def test_logrank_equals_the_counts_per_group_and_time_done_one_by_one(data):
    day, event, group = data
    lr = logrank(day, event, group)
    if group.notna().sum() == 0:
        assert lr.table.empty and np.isnan(lr.chi2)
        return
    levels, n, observed, expected, var = reference_logrank(day, event, group)
    assert lr.table["group"].tolist() == levels and lr.table["n"].tolist() == n
    np.testing.assert_array_equal(lr.table["observed"], observed)
    np.testing.assert_allclose(lr.table["expected"], expected, rtol=1e-12)
    idx = np.flatnonzero(expected > 0)[1:]
    if len(levels) < 2 or observed.sum() == 0 or len(idx) == 0:
        assert np.isnan(lr.chi2) and lr.df == 0 and lr.notes
    else:
        assert lr.df == len(idx)
        vv, diff = var[np.ix_(idx, idx)], (observed - expected)[idx]
        if np.linalg.cond(vv) < 1e8:  # (a singular matrix: a generalised inverse, whose answer hangs on rounding)
            np.testing.assert_allclose(lr.chi2, diff @ np.linalg.solve(vv, diff), rtol=1e-9, atol=1e-12)


@SETTINGS
@given(labelled(), st.lists(st.sampled_from([0, 0.5, 1, 2.25, 7, 30, 31]), min_size=1, max_size=5))
def test_survival_at_equals_a_step_function_lookup_per_group(data, days):
    day, event, group = data
    km = kaplan_meier(day, event, group)
    at = km.survival_at(days)
    assert len(at) == len(days) * len(km.medians)
    for (level, d), row in at.set_index(["group", "day"]).iterrows():
        curve = km.table[km.table["group"] == level]
        past = curve[curve["time"] <= d]
        if d > curve["time"].max():
            assert row["n_risk"] == 0 and np.isnan(row["survival"]) and np.isnan(row["lower"])
            continue
        assert row["n_risk"] == curve.loc[curve["time"] >= d, "n_risk"].iloc[0]
        expected = past[["survival", "lower", "upper"]].iloc[-1] if len(past) else pd.Series([1.0] * 3)
        np.testing.assert_array_equal(row[["survival", "lower", "upper"]].to_numpy(float), expected.to_numpy(float))
