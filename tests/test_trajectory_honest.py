"""Issue 20 item 4 on the sample practice: the default knots let the model meet the observed means, and every
instrument with severity bands or a screening cut-off gets them on the Trajectories page."""

import json
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from analysis import instruments, trajectory

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"
INSTRUMENTS = ["PHQ9", "GAD7", "PCL5", "PAIN_NRS", "YMRS"]  # (those of the sample)

pytestmark = pytest.mark.skipif(not (SAMPLE / "assessments.csv").exists(), reason="sample_data/ not generated yet")


@pytest.fixture(scope="module")
def visits():
    """Per instrument, condition and visit with 11 or more patients: the observed mean with its 95% CI beside the
    default model's mean on the same day."""
    a = pd.read_csv(SAMPLE / "assessments.csv")
    out = []
    for code in INSTRUMENTS:
        r = trajectory.trajectories(a, code, by="condition")
        assert r.converged, code
        m = r.observed.merge(r.predicted, on=["group", "day"], suffixes=("_obs", "_mod"))
        out.append(m[m["n"] >= 11].assign(instrument=code))
    m = pd.concat(out, ignore_index=True)
    m["inside"] = (m["mean_mod"] >= m["lower_obs"]) & (m["mean_mod"] <= m["upper_obs"])
    m["gap"] = (m["mean_mod"] - m["upper_obs"]).clip(lower=0) + (m["lower_obs"] - m["mean_mod"]).clip(lower=0)
    return m


def test_the_model_meets_the_observed_baseline_of_every_group_within_its_ci(visits):
    pre = visits[visits["visit"] == "pre"]
    assert len(pre) == 7  # (every condition of every instrument)
    assert pre["inside"].all(), pre[~pre["inside"]]


def test_the_model_meets_most_observed_means_and_misses_none_by_more_than_its_ci_width(visits):
    # measured on the sample: 79 of 93 visit means inside; the misses are depression's induction visits (the model's
    # mean of everyone, dropouts included, sits up to 1.2 points above the mean of those still scored) and weeks 6,
    # 8 and 24; none is further from its CI than the CI is wide
    assert len(visits) == 93
    assert visits["inside"].mean() >= 0.8, visits.loc[~visits["inside"], ["instrument", "group", "visit"]]
    assert (visits["gap"] <= visits["upper_obs"] - visits["lower_obs"]).all()
    for code in ("PCL5", "PAIN_NRS"):  # the smaller practices' instruments: every visit inside
        assert visits.loc[visits["instrument"] == code, "inside"].all(), code


def test_every_instrument_gets_its_severity_bands_and_cut_off_on_the_trajectories_page():
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=180).run()
    at.switch_page("pages/trajectories.py").run()
    seen = set()
    for code in INSTRUMENTS:
        at.selectbox(key="instrument").set_value(code).run()
        assert not at.exception, code
        ins = instruments.get(code)
        spec = json.loads(at.get("plotly_chart")[0].proto.spec)
        shapes = spec["layout"].get("shapes", [])
        rects = [(s["y0"], s["y1"]) for s in shapes if s["type"] == "rect"]
        assert rects == [(lo, hi) for _, lo, hi in ins.band_ranges()], code
        cut = [s for s in shapes if s["type"] == "line" and s.get("y0") == s.get("y1") and s.get("y0") == ins.cutoff]
        assert len(cut) == (1 if ins.cutoff is not None else 0), code
        seen.add((bool(rects), ins.cutoff is not None))
        per_visit = next(t.value for t in at.table if "Condition / day" in t.value.columns)
        assert per_visit.columns[1] == "0" and len(per_visit), code  # the patients behind each mean, under the chart
    assert (False, True) in seen  # PCL-5: its cut-off (33) without validated bands
    assert (True, True) in seen and (True, False) in seen
