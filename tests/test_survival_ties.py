"""Times that differ only by floating-point noise are one time, as R's ``aeqSurv`` (survfit, survdiff and
coxph with their default ``timefix=TRUE``): analysis.survival_data.aeq_times, applied by Kaplan-Meier and
log-rank.

Golden numbers: tests/data/golden/survival_aeq.R (R 4.2.2, survival 3.5-3) wrote tests/data/survival_aeq.csv
(weeks with a few ulp of noise, a chain 2, 2 + 1e-8, 2 + 2e-8, and 0.1 + 0.2 beside 0.3; 17 significant
digits, read back exactly) and the survival_aeq_*.csv numbers of that file. Tolerances as tests/test_survival.py:
relative 1e-6 for estimates, counts and times exactly (absolute 1e-9).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.survival import cox, kaplan_meier, logrank
from analysis.survival_data import AEQ_TOL, aeq_times

DATA = Path(__file__).parent / "data"
GOLDEN = DATA / "golden"
RTOL = 1e-6
EXACT = 1e-9


def golden(what: str) -> pd.DataFrame:
    return pd.read_csv(GOLDEN / f"survival_aeq_{what}.csv")


def close(actual, expected, rtol=RTOL, atol=0.0):
    np.testing.assert_allclose(
        np.asarray(actual, dtype=float), np.asarray(expected, dtype=float), rtol=rtol, atol=atol, equal_nan=True
    )


@pytest.fixture(scope="module")
def data() -> pd.DataFrame:
    d = pd.read_csv(DATA / "survival_aeq.csv", dtype={"weeks": str})
    return d.assign(weeks=d["weeks"].map(float))  # Python's float() reads back exactly the doubles R wrote


def test_the_data_hold_times_that_differ_only_by_noise(data):
    raw = np.unique(data["weeks"])
    assert len(np.unique(aeq_times(data["weeks"].to_numpy()))) < len(raw)  # the golden test can tell
    assert 0.1 + 0.2 in raw and 0.3 in raw


def test_kaplan_meier_merges_noisy_times_as_r_survfit(data):
    km = kaplan_meier(data["weeks"], data["event"], data["arm"]).table
    r = golden("km")
    assert km["group"].tolist() == r["group"].tolist()
    for col in ("time", "n_risk", "n_event", "n_censor"):
        close(km[col], r[col], rtol=0, atol=EXACT)
    for col in ("survival", "std_err", "lower", "upper"):
        close(km[col], r[col])
    med = kaplan_meier(data["weeks"], data["event"], data["arm"]).medians
    close(
        med[["n", "events", "median", "lower", "upper"]], golden("medians")[["n", "events", "median", "lower", "upper"]]
    )


def test_log_rank_merges_noisy_times_as_r_survdiff(data):
    lr = logrank(data["weeks"], data["event"], data["arm"])
    r, rt = golden("logrank"), golden("logrank_table")
    close([lr.chi2, lr.p], [r["chi2"][0], r["p"][0]])
    close(lr.table["expected"], rt["expected"])


def test_cox_on_merged_times_equals_r_coxph(data):
    """coxph.cox merges times apart by rounding only, as R's coxph (timefix=TRUE): raw noisy times give R's fit."""
    fit = cox(data, "weeks", "event", ["arm"])
    r, rf = golden("cox"), golden("cox_fit")
    close(
        fit.params[["coef", "se", "hr", "lower", "upper", "z", "p"]],
        r[["coef", "se", "hr", "lower", "upper", "z", "p"]],
    )
    close(fit.loglik, [rf["null"][0], rf["fitted"][0]])


def test_aeq_times_follows_r_aeqsurv_rules():
    # a chain of neighbours within the tolerance is one time, the first (smallest) of the chain
    close(aeq_times(np.array([2 + 2e-8, 2.0, 2 + 1e-8, 3.0])), [2.0, 2.0, 2.0, 3.0], rtol=0, atol=0)
    # relative to the mean distinct time: large times 1e-9 apart relative are one
    big = np.array([1e9, 1e9 + 1.0, 5e8])
    close(aeq_times(big), [1e9, 1e9, 5e8], rtol=0, atol=0)
    # just over the tolerance apart: two times
    t = np.array([1.0, 1.0 + 2 * AEQ_TOL])
    assert aeq_times(t).tolist() == t.tolist()


def test_whole_days_are_returned_unchanged():
    days = np.arange(0.0, 1000.0)
    assert aeq_times(days) is not None and (aeq_times(days) == days).all()
    assert aeq_times(np.array([5.0])).tolist() == [5.0] and len(aeq_times(np.array([]))) == 0
