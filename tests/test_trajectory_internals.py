"""The fast paths inside analysis.trajectory, each checked against the plain computation it replaces.

- the profiled REML/ML deviance of fit_lmm (per-group sufficient statistics, rows of U' side by side) equals
  the deviance computed from the dense marginal covariance V = sigma^2 (I + Z Lambda Lambda' Z'), to 1e-9
  relative, on a small hand-made clinic;
- each theta's deviance is computed once (the optimiser and the convergence check ask again for some);
- the observed means per group and visit (one grouping on integer cells) equal pandas' grouping on the
  text labels, to the last bit; and the trajectories do not depend on the order of the input rows;
- the individual lines are the documented seeded sample of each group's sorted patient ids.
"""

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats

from analysis import config, lmm, trajectory
from analysis.trajectory import LINES_SEED, fit_lmm, trajectories, visit_windows


def _clinic(seed=3, patients=9):
    """A small clinic: score ~ condition * t with a random intercept and slope per patient."""
    rng = np.random.default_rng(seed)
    rows = []
    for p in range(patients):
        b0, b1 = rng.normal(0, 3), rng.normal(0, 0.4)
        for day in sorted(rng.choice([0, 2, 4, 7, 9, 11, 21, 28], size=int(rng.integers(2, 7)), replace=False)):
            rows.append((f"p{p}", "ab"[p % 2], float(day), 18 + b0 + (-0.6 + b1) * day + rng.normal(0, 2)))
    return pd.DataFrame(rows, columns=["patient_id", "condition", "t", "score"])


def _dense_deviance(data, theta, slope, reml):
    """-2 (RE)ML log-likelihood at theta from the dense V (the textbook formula, O(n^3))."""
    x = np.column_stack(
        [
            np.ones(len(data)),
            (data["condition"] == "b").to_numpy(float),
            data["t"],
            (data["condition"] == "b").to_numpy(float) * data["t"],
        ]
    )
    y = data["score"].to_numpy(float)
    codes, _ = pd.factorize(data["patient_id"], sort=True)
    z0 = np.eye(codes.max() + 1)[codes]
    if slope:
        z = np.hstack([z0, z0 * data["t"].to_numpy()[:, None]])
        a, b, c = theta
        lam_one = np.array([[a, 0.0], [b, c]])
        lam = np.kron(lam_one, np.eye(z0.shape[1]))
    else:
        z, lam = z0, theta[0] * np.eye(z0.shape[1])
    n, p = x.shape
    v = np.eye(n) + z @ lam @ lam.T @ z.T  # V / sigma^2
    vinv = np.linalg.inv(v)
    xvx = x.T @ vinv @ x
    beta = np.linalg.solve(xvx, x.T @ vinv @ y)
    r = y - x @ beta
    r2 = r @ vinv @ r
    logdet = np.linalg.slogdet(v)[1]
    if reml:
        return logdet + np.linalg.slogdet(xvx)[1] + (n - p) * (1 + np.log(2 * np.pi * r2 / (n - p)))
    return logdet + n * (1 + np.log(2 * np.pi * r2 / n))


@pytest.mark.parametrize("slope", [True, False])
@pytest.mark.parametrize("reml", [True, False])
def test_the_deviance_from_group_statistics_equals_the_dense_formula(slope, reml, monkeypatch):
    data = _clinic()
    fit = fit_lmm(data, "score ~ condition * t", "patient_id", slope="t" if slope else None, reml=reml)
    assert fit.deviance == pytest.approx(_dense_deviance(data, fit.theta, slope, reml), rel=1e-9)
    # and away from the optimum too
    other = (0.7, -0.05, 0.3) if slope else (0.4,)
    deviance = _objective(monkeypatch, data, slope="t" if slope else None, reml=reml)
    k = float(np.sqrt(np.mean(data["t"] ** 2)))  # the optimiser's theta is that of the slope scaled by k
    scaled = np.array(other) * (np.array([1.0, k, k]) if slope else 1.0)
    assert deviance(scaled) == pytest.approx(_dense_deviance(data, other, slope, reml), rel=1e-9)


def _objective(monkeypatch, data, **fit_kwargs):
    """The deviance function fit_lmm hands its optimiser (on ``data``, formula score ~ condition * t)."""
    captured = {}
    real = lmm._optimise

    def spy(f, start, bounds):
        captured["f"] = f
        return real(f, start, bounds)

    with monkeypatch.context() as mp:
        mp.setattr(lmm, "_optimise", spy)
        fit_lmm(data, "score ~ condition * t", "patient_id", **fit_kwargs)
    return captured["f"]


def test_each_thetas_deviance_is_computed_once(monkeypatch):
    data = _clinic()
    dev = _objective(monkeypatch, data, slope="t")
    calls = []
    solve = dev.solve
    dev.solve = lambda theta, with_inverse=False: calls.append(1) or solve(theta, with_inverse)
    theta = np.array([0.91, 0.02, 0.33])
    first = dev(theta)
    assert dev(theta.copy()) == first and dev(list(theta)) == first
    assert len(calls) == 1
    assert dev(theta + [0.0, 0.0, 1e-9]) != first and len(calls) == 2


def _reference_summary(values, groups, visits, windows, order):
    """The observed means as pandas computes them on text labels (the definition)."""
    frame = pd.DataFrame(
        {"group": pd.Series(groups, dtype="str"), "visit": pd.Series(visits, dtype="str"), "value": values}
    )
    s = frame.groupby(["group", "visit"], sort=False)["value"].agg(["count", "mean", "std"]).reset_index()
    s = s.rename(columns={"count": "n", "std": "sd"})
    half = (stats.t.ppf(0.975, s["n"] - 1) * s["sd"] / np.sqrt(s["n"])).where(s["n"] > 1)
    s["lower"], s["upper"] = s["mean"] - half, s["mean"] + half
    s = s.merge(windows[["visit", "day"]], on="visit", how="left")
    vorder = {v: i for i, v in enumerate(windows["visit"])}
    gorder = {g: i for i, g in enumerate(order)}
    s = s.sort_values(["group", "visit"], key=lambda c: c.map(gorder if c.name == "group" else vorder))
    s["n"] = s["n"].astype("int64")
    return s[trajectory.OBSERVED_COLUMNS].reset_index(drop=True)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 3), st.integers(0, 6), st.floats(-50, 80, allow_nan=False)), min_size=1, max_size=60
    )
)
def test_observed_means_on_integer_cells_equal_pandas_on_the_labels_to_the_last_bit(rows):
    windows = visit_windows()
    order = ["depression", "ptsd", "zeta", "unknown"]
    g = np.array([r[0] for r in rows])
    v = np.array([r[1] for r in rows]) % len(windows)
    values = np.array([r[2] for r in rows])
    ours = trajectory._summarise(values, g * len(windows) + v, windows, order)
    ref = _reference_summary(values, np.asarray(order, dtype=object)[g], windows["visit"].to_numpy()[v], windows, order)
    pd.testing.assert_frame_equal(ours, ref, check_exact=True)


def test_no_values_give_an_empty_table_with_the_documented_columns():
    out = trajectory._summarise(np.array([]), np.array([], dtype=int), visit_windows(), ["depression"])
    assert list(out.columns) == trajectory.OBSERVED_COLUMNS and out.empty
    assert out["n"].dtype == "int64" and out["mean"].dtype == "float64"


def _practice(patients=60, seed=5):
    rng = np.random.default_rng(seed)
    rows = []
    for p in range(patients):
        condition = ["depression", "anxiety", "ptsd"][p % 3]
        base = rng.integers(8, 27)
        for day in sorted(
            rng.choice([-3, 0, 2, 4, 7, 11, 14, 21, 28, 42, 56, 90], size=int(rng.integers(2, 9)), replace=False)
        ):
            score = int(np.clip(base - 0.3 * max(day, 0) + rng.normal(0, 3), 0, 27))
            rows.append((f"P{p:03d}", "PHQ9", float(score), int(day), condition))
    return pd.DataFrame(rows, columns=["patient_id", "instrument", "score", "day", "condition"])


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 10_000))
def test_the_order_of_the_input_rows_changes_nothing(seed):
    data = _practice()
    shuffled = data.sample(frac=1, random_state=seed).reset_index(drop=True)
    a, b = trajectories(data, "PHQ9"), trajectories(shuffled, "PHQ9")
    for table in ("observed", "observed_pct", "lines", "groups", "fixed_effects"):
        pd.testing.assert_frame_equal(getattr(a, table), getattr(b, table), check_exact=True)
    assert a.notes == b.notes


def test_lines_are_the_seeded_sample_of_each_groups_sorted_patient_ids():
    data = _practice(patients=150)
    t = trajectories(data, "PHQ9")
    rng = np.random.default_rng(LINES_SEED)
    in_range = data[data["day"].between(config.BASELINE_WINDOW[0], config.TRAJECTORY_MAX_DAY)]
    for group in t.groups["group"]:  # display order: the order the sample is drawn in
        ids = np.sort(in_range.loc[in_range["condition"] == group, "patient_id"].unique())
        expected = rng.choice(ids, size=min(config.TRAJECTORY_LINES_PER_GROUP, len(ids)), replace=False)
        drawn = t.lines.loc[t.lines["group"] == group, "patient_id"].unique()
        assert sorted(drawn) == sorted(expected)
    assert len(t.lines["patient_id"].unique()) == 3 * config.TRAJECTORY_LINES_PER_GROUP


def test_a_group_whose_scores_are_all_outside_the_model_days_gets_no_curve_instead_of_a_crash():
    data = _practice()
    late = data[data["condition"] == "ptsd"].assign(day=lambda d: d["day"] + 400)
    t = trajectories(pd.concat([data[data["condition"] != "ptsd"], late]), "PHQ9")
    assert "ptsd" in set(t.groups["group"]) and "ptsd" not in set(t.lines["group"])
    assert t.converged and set(t.predicted["group"]) == {"depression", "anxiety"}
    assert any("outside every visit window" in n for n in t.notes)


def _reference_visit_index(days, windows):
    """A day's window: the first whose first..last holds it (-1 for none), compared one window at a time."""
    out = np.full(len(days), -1)
    for i, (first, last) in enumerate(zip(windows["first"], windows["last"])):
        out[(out < 0) & (days >= first) & (days <= last)] = i
    return out


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.one_of(st.integers(-60, 250).map(float), st.floats(-60, 250), st.just(float("nan"))), max_size=80),
    st.tuples(st.integers(-40, 0), st.integers(0, 20)),
)
def test_a_days_visit_window_is_the_first_window_holding_it(days, baseline_window):
    windows = visit_windows(baseline_window)  # a wide baseline window overlaps the first infusion windows
    days = np.array(days, dtype=float)
    assert trajectory._visit_index(days, windows).tolist() == _reference_visit_index(days, windows).tolist()
