"""analysis.measures: dispositions that read as DESIGN's sentences, the reporting period, bad input, and the
suppression of what may be shown (no hidden count can be worked out by subtraction)."""

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis.card import Definitions, load_card
from analysis.errors import DataError
from analysis.measures import COUNTS, MEASURES, SUMS, patient_list, quality_measures, suppress

ROOT = Path(__file__).resolve().parents[1]
PRACTICE = ROOT / "tests" / "data" / "measures_practice.csv"
PRACTICE_T = ROOT / "tests" / "data" / "measures_practice_treatments.csv"


@pytest.fixture(scope="module")
def practice():
    return pd.read_csv(PRACTICE, dtype={"start_month": str}), pd.read_csv(PRACTICE_T)


def disposition(result, patient, measure):
    p = result.patients
    row = p[(p["patient_id"] == patient) & (p["measure"] == measure)]
    return row.iloc[0] if len(row) else None


def test_the_most_recent_score_decides_by_default_and_any_score_in_the_variant(practice):
    default = quality_measures(*practice)
    anyscore = quality_measures(*practice, Definitions(measure_score="any"))
    assert disposition(default, "M02", "MIPS 411")["disposition"] == "not met"  # most recent: 12 on day 230
    met = disposition(anyscore, "M02", "MIPS 411")
    assert met["disposition"] == "met" and met["deciding_day"] == 150 and met["deciding_score"] == 3


def test_a_narrower_window_changes_who_has_a_score(practice):
    wide = quality_measures(*practice)
    narrow = quality_measures(*practice, Definitions(measure_window_days=30))
    assert disposition(wide, "M11", "DRR-E follow-up")["disposition"] == "met"  # scores on days 120 and 240
    assert disposition(narrow, "M11", "DRR-E follow-up")["disposition"] == "no score in window"
    assert disposition(wide, "M12", "DRR-E follow-up")["disposition"] == "no score in window"  # days 119, 241


def test_the_index_event_is_the_first_phq9_above_9(practice):
    r = quality_measures(*practice)
    assert disposition(r, "M09", "MIPS 411")["index_day"] == 10  # a 9 on day 0 is no index event
    assert disposition(r, "M17", "MIPS 411") is None  # never above 9
    assert disposition(r, "M08", "MIPS 411") is None  # anxiety: in no measure
    assert disposition(r, "M04", "MIPS 411")["disposition"] == "excluded"  # bipolar
    assert disposition(r, "M10", "MIPS 411")["index_score"] == 10.5  # same-day scores averaged


def test_response_is_at_most_half_the_index_score(practice):
    r = quality_measures(*practice)
    assert disposition(r, "M16", "DRR-E response")["disposition"] == "met"  # 12 <= 25 / 2
    assert disposition(r, "M09", "NQF 1885")["disposition"] == "met"  # 6 == 12 / 2
    assert disposition(r, "M09", "MIPS 370")["disposition"] == "not met"  # 6 is not below 5


def test_a_window_closing_after_the_data_end_is_not_reached_and_an_open_one_without_a_score_is_due(practice):
    r = quality_measures(*practice)
    m06, m05, m07 = (disposition(r, p, "MIPS 411") for p in ("M06", "M05", "M07"))
    assert m06["disposition"] == "not reached" and m06["window_state"] == "open" and m06["due"]
    assert m05["window_state"] == "open" and not m05["due"]  # a score in the open window already
    assert m07["window_state"] == "not yet open" and not m07["due"]
    assert set(patient_list(r, "MIPS 411", due_only=True)["patient_id"]) == {"M06"}
    assert r.data_end_month == "2026-10"


def test_the_reporting_period_is_a_range_of_index_months(practice):
    r = quality_measures(*practice, period_from="2025-02", period_to="2025-02")
    assert set(r.patients["patient_id"]) == {"M03", "M04", "M13"}  # M13's index is on day 40: February
    assert set(r.patients["index_month"]) == {"2025-02"}
    may = quality_measures(*practice, period_from="2025-05", period_to="2025-05")
    assert "M15" in set(may.patients["patient_id"])  # day -5 of a June start


def test_counts_add_up_and_follow_up_has_no_not_met(practice):
    for d in (Definitions(), Definitions(measure_score="any", measure_window_days=30)):
        t = quality_measures(*practice, d).measures
        assert (t["eligible"] == t["excluded"] + t["not_reached"] + t["denominator"]).all()
        assert (t["denominator"] == t["numerator"] + t["not_met"] + t["no_score"]).all()
        assert t.loc[t["measure"] == "DRR-E follow-up", "not_met"].item() == 0
        assert list(t["measure"]) == [m.key for m in MEASURES]


@pytest.mark.parametrize(
    "lo, hi, message",
    [("2025-13", None, "YYYY-MM"), ("2025", None, "YYYY-MM"), ("2025-05", "2025-01", "must not be after")],
)
def test_a_bad_reporting_period_says_the_form(practice, lo, hi, message):
    with pytest.raises(DataError, match=message):
        quality_measures(*practice, period_from=lo, period_to=hi)


def test_without_start_months_or_conditions_nobody_is_counted_and_a_note_says_why(practice):
    a = practice[0].drop(columns=["start_month"])
    r = quality_measures(a)
    assert r.patients.empty and (r.measures["eligible"] == 0).all()
    assert any("start month" in n for n in r.notes)
    r = quality_measures(practice[0].drop(columns=["condition"]))
    assert r.patients.empty and any("No condition" in n for n in r.notes)


def test_no_phq9_at_all_gives_empty_measures():
    a = pd.DataFrame({"patient_id": ["A"], "instrument": ["GAD7"], "score": [12], "day": [0],
                      "condition": ["depression"], "start_month": ["2025-01"]})  # fmt: skip
    r = quality_measures(a)
    assert len(r.measures) == len(MEASURES) and (r.measures["denominator"] == 0).all()
    assert r.measures["rate"].isna().all()


def test_the_card_checks_the_measure_settings():
    with pytest.raises(DataError, match="measure_window_days"):
        Definitions(measure_window_days=45)
    with pytest.raises(DataError, match="measure_score"):
        Definitions(measure_score="first")
    d = load_card(json.dumps(Definitions(measure_score="any", measure_window_days=30).to_dict(), indent=2))
    assert (d.measure_score, d.measure_window_days) == ("any", 30)
    assert any("day 150 to 210" in line for line in d.description())


# --- what may be shown ---------------------------------------------------------------------------------------


def _derivable(tables, threshold=11):
    """Cells hidden on their own in some sum (the others all shown): those could be worked out."""
    measures, *groups = tables
    bad = []

    def hidden(v):  # (a row of only text and None comes out of iterrows as strings with NaN: pandas' string inference)
        return v is None or isinstance(v, str) or (isinstance(v, float) and v != v)

    for t in tables:
        for _, row in t.iterrows():
            for total, parts in SUMS:
                terms = [row[total]] + [row[p] for p in parts]
                if sum(map(hidden, terms)) == 1:
                    bad.append((row["measure"], total))
    for g in groups:
        for i, m in enumerate(measures["measure"]):
            rows = g[g["measure"] == m]
            for c in COUNTS:
                terms = [measures.iloc[i][c]] + list(rows[c])
                if len(rows) and sum(map(hidden, terms)) == 1:
                    bad.append((m, c, "groups"))
    return bad


def test_the_sample_shown_hides_small_counts_and_nothing_can_be_worked_out():
    a = pd.read_csv(ROOT / "sample_data" / "assessments.csv", dtype={"start_month": str})
    t = pd.read_csv(ROOT / "sample_data" / "treatments.csv")
    r = quality_measures(a, t)
    tables = r.shown()
    for table in tables:
        for c in COUNTS:
            shown = [v for v in table[c] if not isinstance(v, str) and v is not None]
            assert all(v == 0 or v >= 11 for v in shown)
        withheld = table["numerator"].map(lambda v: v is None or isinstance(v, str))
        assert table.loc[withheld, "rate"].isna().all()
    assert _derivable(tables) == []
    assert (tables[0]["numerator"] == "<11").any()  # the sample has small numerators: the test has teeth


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["A", "B", "C"]), st.sampled_from(["met", "not met", "none", "nr", "ex"]),
                          st.integers(1, 40)), min_size=1, max_size=8))  # fmt: skip
def test_suppression_leaves_no_count_derivable_by_subtraction(cells):
    per_site = {}
    for site, kind, n in cells:
        per_site.setdefault(site, {}).setdefault(kind, 0)
        per_site[site][kind] += n

    def row(counts, group=None):
        n = {k: counts.get(k, 0) for k in ("met", "not met", "none", "nr", "ex")}
        den = n["met"] + n["not met"] + n["none"]
        out = {"measure": "MIPS 370", "name": "", "window": ""}
        if group:
            out["group"] = group
        return out | {"eligible": den + n["nr"] + n["ex"], "excluded": n["ex"], "not_reached": n["nr"],
                      "denominator": den, "numerator": n["met"], "not_met": n["not met"], "no_score": n["none"],
                      "rate": 0.5, "lower": 0.1, "upper": 0.9}  # fmt: skip

    total = {}
    for counts in per_site.values():
        for k, v in counts.items():
            total[k] = total.get(k, 0) + v
    tables = suppress(pd.DataFrame([row(total)]), [pd.DataFrame([row(c, s) for s, c in per_site.items()])], 11)
    assert _derivable(tables) == []
    for t in tables:
        for c in COUNTS:
            assert all(v is None or v == "<11" or v == 0 or v >= 11 for v in t[c])


def test_the_command_line_prints_the_measures_and_the_patients_on_request():
    run = [sys.executable, "-m", "analysis", "measures", str(PRACTICE), str(PRACTICE_T), "--json", "--patients"]
    out = subprocess.run(run, capture_output=True, text=True, cwd=ROOT, check=True)
    j = json.loads(out.stdout)
    assert [m["measure"] for m in j["measures"]] == [m.key for m in MEASURES]
    assert j["measures"][0]["numerator"] == "<11"  # a small practice: suppressed
    assert {"M06"} <= {p["patient_id"] for p in j["patients"] if p["due"]}
    bad = subprocess.run(run[:-2] + ["--from", "2025/01"], capture_output=True, text=True, cwd=ROOT)
    assert bad.returncode == 2 and "YYYY-MM" in bad.stderr and "Traceback" not in bad.stderr
