"""The Overview's period comparison (analysis.kpi_tiles): complete months only, recent starters left out until
they are past their series and response window, and a test behind every change."""

import math

import pandas as pd
import pytest
from scipy import stats

from analysis import kpi_tiles
from analysis.outcomes import Definitions
from analysis.rates import compare_rates


def practice(per_month: dict[str, int], last_day: int = 60, responders: dict[str, int] | None = None):
    """Each month's patients: PHQ-9 20 on day 0 and 8 (responder) or 18 on day 20, and a last score on
    ``last_day``; induction on days 0-11."""
    a, t = [], []
    for month, n in per_month.items():
        r = (responders or {}).get(month, n // 2)
        for i in range(n):
            pid = f"{month}-{i}"
            for day, score in ((0, 20), (20, 8 if i < r else 18), (last_day, 10)):
                a.append({"patient_id": pid, "instrument": "PHQ9", "score": score, "day": day, "start_month": month})
            t += [{"patient_id": pid, "day": d, "kind": "induction"} for d in (0, 2, 4, 7, 9, 11)]
    return pd.DataFrame(a), pd.DataFrame(t)


def kpi(table, name):
    return table.set_index("kpi").loc[name]


def test_the_data_end_is_the_latest_start_month_plus_the_last_day():
    a, t = practice({"2026-01": 3, "2026-05": 3}, last_day=61)
    end = kpi_tiles.data_end(a, t)
    assert end == pytest.approx(2026 * 12 + 4 + 61 / (365.25 / 12))  # May + 61 days: early July
    assert kpi_tiles.data_end(a.drop(columns="start_month"), t) is None


def test_starters_still_inside_their_response_window_are_left_out():
    # the data end in early July 2026: June is incomplete, May's starters may not have reached day 31
    a, t = practice({m: 20 for m in ("2026-01", "2026-02", "2026-03", "2026-04", "2026-05")}, last_day=61)
    assert kpi_tiles.last_mature_month(kpi_tiles.data_end(a, t), Definitions()) == "2026-04"
    k = kpi_tiles.kpis(a, t, months=1, as_of="2026-12")
    row = kpi(k, "patients_started")
    assert (row.period, row.previous_period, row.data_end_month, row.left_out_from) == (
        "2026-04",
        "2026-03",
        "2026-07",
        "2026-05",
    )
    # a longer response window leaves one more month out
    late = kpi_tiles.kpis(a, t, Definitions(response_window=(14, 70)), months=1, as_of="2026-12")
    assert kpi(late, "patients_started").period == "2026-03"
    # without the rule, the latest month before as_of is compared (the rule's reason to exist)
    assert kpi(kpi_tiles.kpis(a, t, months=1, as_of="2026-12", mature=False), "patients_started").period == "2026-05"


def test_a_share_carries_its_counts_and_the_test_of_its_change():
    a, t = practice({"2026-01": 40, "2026-02": 40, "2026-03": 40}, last_day=120, responders={"2026-01": 10})
    k = kpi_tiles.kpis(a, t, months=1, as_of="2026-12")
    r = kpi(k, "response_rate")
    assert (r.period, r.previous_period) == ("2026-03", "2026-02")
    assert (r["count"], r.n, r.previous_count, r.previous_n) == (20, 40, 20, 40)
    assert r.change == 0 and r.test == "chi-square" and r.p == pytest.approx(1.0) and not r.beyond_noise
    k2 = kpi_tiles.kpis(a, t, months=1, as_of="2026-03", mature=False)  # February against January: 20/40 vs 10/40
    r2 = kpi(k2, "response_rate")
    want = compare_rates(20, 40, 10, 40)
    assert r2.p == pytest.approx(want.p) and r2.beyond_noise == (want.p < 0.05)


def test_patients_started_are_compared_by_an_exact_binomial_test_and_infusions_are_not_tested():
    a, t = practice({"2026-01": 12, "2026-02": 30}, last_day=120)
    k = kpi_tiles.kpis(a, t, months=1, as_of="2026-12")
    row = kpi(k, "patients_started")
    assert (row.value, row.previous) == (30, 12)
    assert row.test == "exact binomial" and row.p == pytest.approx(stats.binomtest(30, 42, 0.5).pvalue)
    assert row.beyond_noise  # p = 0.008
    assert math.isnan(kpi(k, "infusions").p) and not kpi(k, "infusions").beyond_noise


def test_the_shown_tiles_carry_the_counts_only_where_the_share_is_shown():
    a, t = practice({"2026-01": 40, "2026-02": 8}, last_day=120)
    s = kpi_tiles.kpis_shown(kpi_tiles.kpis(a, t, months=1, as_of="2026-12"), 11).set_index("kpi")
    r = s.loc["response_rate"]
    assert r["value"] is None and r["count"] is None and r["n"] == "<11"  # February: 8 patients
    assert r["previous_count"] == 20 and r["previous_n"] == 40
    assert r["p"] is None and r["beyond_noise"] is False  # no change shown, no test shown
