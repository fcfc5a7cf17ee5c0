"""analysis.boosters against R (tests/data/golden/boosters.R, R 4.2 survival 3.5-3: survfit, poisson.test,
quantile, t.test paired) on the sample practice copied to tests/data/golden/boosters_*.csv; tolerances 1e-8
relative (the same arithmetic), and hand-worked cases."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import boosters
from analysis.outcomes import Definitions

GOLDEN = Path(__file__).resolve().parent / "data" / "golden"


@pytest.fixture(scope="module")
def sample():
    a = pd.read_csv(GOLDEN / "boosters_assessments.csv")
    t = pd.read_csv(GOLDEN / "boosters_treatments.csv")
    return boosters.analyse(a, t, "PHQ9")


def test_time_to_first_booster_equals_r_survfit(sample):
    r = pd.read_csv(GOLDEN / "boosters_km.csv")
    ours = sample.km.table
    for g, want in r.groupby("group"):
        got = ours[ours["group"] == g].reset_index(drop=True)
        want = want.reset_index(drop=True)
        assert got["time"].tolist() == want["time"].tolist(), g
        assert got["n_risk"].tolist() == want["n_risk"].tolist()
        assert got["n_event"].tolist() == want["n_event"].tolist()
        assert np.allclose(got["survival"], want["survival"], rtol=1e-8)
        assert np.allclose(got["lower"], want["lower"], rtol=1e-8, equal_nan=True)
        assert np.allclose(got["upper"], want["upper"], rtol=1e-8, equal_nan=True)
    med = pd.read_csv(GOLDEN / "boosters_medians.csv").set_index("group")
    ours = sample.groups.set_index("group")
    for g in med.index:
        for a, b in (("median", "median"), ("median_lower", "lower"), ("median_upper", "upper")):
            assert ours.loc[g, a] == pytest.approx(med.loc[g, b], nan_ok=True), (g, a)


def test_boosters_per_patient_year_equal_r_poisson_test(sample):
    r = pd.read_csv(GOLDEN / "boosters_rates.csv").set_index("group")
    ours = sample.groups.set_index("group").loc[r.index]
    assert ours["boosters"].tolist() == r["boosters"].tolist()
    assert np.allclose(ours["patient_years"], r["patient_years"], rtol=1e-10)
    for a, b in (("rate", "rate"), ("rate_lower", "lower"), ("rate_upper", "upper")):
        assert np.allclose(ours[a], r[b], rtol=1e-8), a


def test_intervals_and_scores_around_a_booster_equal_r(sample):
    iv = pd.read_csv(GOLDEN / "boosters_intervals.csv").iloc[0]
    ours = sample.intervals.set_index("group").loc["all"]
    assert ours["intervals"] == iv["intervals"]
    assert (ours["median_days"], ours["q1_days"], ours["q3_days"]) == pytest.approx((iv["median"], iv["q1"], iv["q3"]))
    sc = pd.read_csv(GOLDEN / "boosters_scores.csv").iloc[0]
    ours = sample.scores.set_index("group").loc["all"]
    assert ours["pairs"] == sc["pairs"]
    for c in ("before", "after", "change", "lower", "upper", "p"):
        assert ours[c] == pytest.approx(sc[c], rel=1e-8), c


def hand():
    a = pd.DataFrame(
        {
            "patient_id": ["A", "A", "A", "B", "B", "C"],
            "instrument": "PHQ9",
            "day": [0, 40, 45, 0, 100, 0],
            "score": [20, 14, 8, 18, 9, 22],
            "condition": ["depression", "depression", "depression", "ptsd", "ptsd", "ptsd"],
        }
    )
    t = pd.DataFrame(
        {
            "patient_id": ["A", "A", "A", "A", "B", "B", "C"],
            "day": [0, 11, 42, 70, 0, 9, 5],
            "kind": ["induction", "induction", "booster", "booster", "induction", "induction", "booster"],
        }
    )
    return a, t


def test_hand_worked_origin_event_censoring_and_rates():
    a, t = hand()
    r = boosters.analyse(a, t, "PHQ9", definitions=Definitions(suppression_threshold=0))
    p = r.patients.set_index("patient_id")
    assert p.loc["A", ["origin", "time", "event", "boosters"]].tolist() == [11, 31, 1, 2]  # first booster day 42
    assert p.loc["B", ["origin", "time", "event", "boosters"]].tolist() == [9, 91, 0, 0]  # censored at day 100
    assert "C" not in p.index and any("no induction session" in n for n in r.notes)
    g = r.groups.set_index("group")
    assert g.loc["depression", "rate"] == pytest.approx(2 / ((70 - 11) / 365.25))
    s = r.scores.set_index("group").loc["all"]  # A: 14 on day 40 (before day 42), 8 on day 45 (after)
    assert (s["pairs"], s["before"], s["after"], s["change"]) == (1, 14, 8, -6)
    assert r.intervals.set_index("group").loc["all", "median_days"] == 28


def test_small_groups_are_suppressed_in_the_json():
    a, t = hand()
    out = json.loads(json.dumps(boosters.analyse(a, t, "PHQ9").to_json(), default=str))
    rows = {r["group"]: r for r in out["time_to_first_booster"]}
    assert rows["depression"]["patients"] == "<11" and rows["depression"]["rate"] is None
    assert out["scores_around_booster"][0]["pairs"] == "<11" and out["scores_around_booster"][0]["change"] is None


def test_without_a_treatments_file_the_tables_are_empty_with_a_note():
    a, _ = hand()
    r = boosters.analyse(a, None, "PHQ9")
    assert r.groups.empty and r.intervals.empty and r.scores.empty
    assert any("treatments file" in n for n in r.notes)


def _boosters_every(gaps: list[int]) -> pd.DataFrame:
    """One patient per gap, each with two boosters ``gap`` days apart (one interval of that many days)."""
    rows = []
    for i, gap in enumerate(gaps):
        pid = f"P{i:03d}"
        rows += [(pid, 0, "induction"), (pid, 30, "booster"), (pid, 30 + gap, "booster")]
    return pd.DataFrame(rows, columns=["patient_id", "day", "kind"])


def test_interval_distribution_merges_bins_until_none_is_small():
    # 12 intervals in days 0-13, 5 in 14-27, 8 in 28-41, 3 in 70-83: the 14-27 bin (5) is small, so it is joined
    # with 28-41 (13); the 3 at 70-83 are a leftover joining the bin before them
    gaps = [7] * 12 + [20] * 5 + [30] * 8 + [75] * 3
    d = boosters.interval_distribution(_boosters_every(gaps), threshold=11)
    assert d.values.tolist() == [[0, 13, 12], [14, 83, 16]]
    assert d["intervals"].sum() == len(gaps)
    assert (d["intervals"] >= 11).all()
    assert d["intervals"].tolist() == [12, 16]


def test_interval_distribution_of_ample_bins_keeps_two_week_bins():
    gaps = [5] * 11 + [15] * 11 + [40] * 20
    d = boosters.interval_distribution(_boosters_every(gaps), threshold=11)
    assert d.values.tolist() == [[0, 13, 11], [14, 27, 11], [28, 41, 20]]


def test_interval_distribution_with_fewer_intervals_than_the_threshold_is_empty():
    assert boosters.interval_distribution(_boosters_every([10] * 10), threshold=11).empty
    assert len(boosters.interval_distribution(_boosters_every([10] * 11), threshold=11)) == 1
    assert boosters.interval_distribution(None).empty


def test_the_interval_chart_draws_each_bin_with_its_count_and_says_when_withheld():
    from analysis import booster_charts

    c = booster_charts.interval_chart(boosters.interval_distribution(_boosters_every([5] * 11 + [40] * 20)), 11)
    bar = c.figure.data[0]
    assert list(bar.x) == ["0-13", "14-41"] and list(bar.y) == [11, 20]
    empty = booster_charts.interval_chart(boosters.interval_distribution(_boosters_every([5] * 3)), 11)
    assert not empty.figure.data and "Fewer than 11 intervals" in empty.notes[0]
