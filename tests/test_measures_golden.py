"""Golden tests of analysis/measures.py: an independent implementation of DESIGN "Quality measures" in base R
(tests/data/golden/measures/measures.R, rerun by run.sh beside it) on the committed small practice
(tests/data/measures_practice.csv: every disposition occurs, in both score rules) and on the sample practice.
Counts and dispositions must be equal; rates and Wilson intervals (R prop.test, correct = FALSE) to 1e-12."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.card import Definitions
from analysis.measures import DISPOSITIONS, quality_measures

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
GOLDEN = DATA / "golden" / "measures"
PRACTICE = DATA / "measures_practice.csv"
PRACTICE_T = DATA / "measures_practice_treatments.csv"
SAMPLE = ROOT / "sample_data" / "assessments.csv"
SAMPLE_T = ROOT / "sample_data" / "treatments.csv"

CASES = {  # golden prefix: (assessments, treatments, window half-width, score rule, from, to)
    "practice_default": (PRACTICE, PRACTICE_T, 60, "most_recent", None, None),
    "practice_any": (PRACTICE, PRACTICE_T, 60, "any", None, None),
    "practice_w30": (PRACTICE, PRACTICE_T, 30, "most_recent", None, None),
    "practice_any_w30_period": (PRACTICE, PRACTICE_T, 30, "any", "2025-02", "2025-04"),
    "practice_no_treatments": (PRACTICE, None, 60, "most_recent", None, None),
    "sample_default": (SAMPLE, SAMPLE_T, 60, "most_recent", None, None),
    "sample_any_w30_2025": (SAMPLE, SAMPLE_T, 30, "any", "2025-01", "2025-12"),
}
COUNTS = ["eligible", "excluded", "not_reached", "denominator", "numerator", "not_met", "no_score"]


def _read(path):
    return pd.read_csv(path, dtype={"patient_id": str, "start_month": str}) if path else None


def _run(case):
    a, t, w, rule, lo, hi = CASES[case]
    d = Definitions(measure_window_days=w, measure_score=rule)
    return quality_measures(_read(a), _read(t), d, period_from=lo, period_to=hi)


@pytest.mark.parametrize("case", sorted(CASES))
def test_measure_counts_and_rates_equal_r(case):
    got = _run(case).measures.set_index("measure")
    want = pd.read_csv(GOLDEN / f"{case}_measures.csv").set_index("measure")
    assert list(got.index) == list(want.index)
    assert (got[COUNTS].to_numpy() == want[COUNTS].to_numpy()).all(), (got[COUNTS], want[COUNTS])
    for c in ("rate", "lower", "upper"):
        np.testing.assert_allclose(got[c].astype(float), want[c].astype(float), rtol=0, atol=1e-12, equal_nan=True)


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_patients_disposition_equals_r(case):
    got = _run(case).patients.drop(columns="site").sort_values(["measure", "patient_id"]).reset_index(drop=True)
    want = pd.read_csv(GOLDEN / f"{case}_patients.csv", dtype={"patient_id": str}, keep_default_na=False)
    want = want.sort_values(["measure", "patient_id"]).reset_index(drop=True)
    assert len(got) == len(want) > 0
    for c in ("patient_id", "measure", "index_month", "disposition", "window_state"):
        assert got[c].tolist() == want[c].tolist(), c
    assert got["due"].tolist() == (want["due"].astype(str).str.upper() == "TRUE").tolist()
    for c in ("index_day", "index_score", "window_from_day", "window_to_day", "deciding_day", "deciding_score"):
        w = pd.to_numeric(want[c].replace("NA", np.nan))
        np.testing.assert_allclose(got[c].astype(float), w.astype(float), rtol=0, atol=1e-12, equal_nan=True)


@pytest.mark.parametrize("rule", ["most_recent", "any"])
def test_every_disposition_occurs_in_the_committed_practice(rule):
    r = _run("practice_default" if rule == "most_recent" else "practice_any")
    assert set(r.patients["disposition"]) == set(DISPOSITIONS)
    assert set(r.patients.loc[r.patients["measure"] == "MIPS 370", "disposition"]) == set(DISPOSITIONS)
    assert set(r.patients["window_state"]) == {"", "closed", "open", "not yet open"}
