"""analysis.manager: the manager's one table (every condition on its main scale) and the response trend by start
month or quarter, built from the rates of analysis.metrics.summary and suppressed as everywhere."""

from pathlib import Path

import pandas as pd
import pytest

from analysis import manager, metrics, schema
from analysis.rates import rate_ci

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"


def row(instrument, dimension, group, patients, evaluable, responders, remitters):
    r, lo, hi = rate_ci(responders, evaluable)
    m, mlo, mhi = rate_ci(remitters, evaluable) if remitters is not None else (None, None, None)
    return {
        schema.INSTRUMENT: instrument,
        schema.DIMENSION: dimension,
        schema.GROUP: group,
        schema.PATIENTS: patients,
        schema.WITH_BASELINE: patients,
        schema.WITH_RESPONSE_ASSESSMENT: evaluable,
        schema.EVALUABLE: evaluable,
        schema.RESPONDERS: responders,
        schema.RESPONSE_RATE: r,
        schema.RESPONSE_LOWER: lo,
        schema.RESPONSE_UPPER: hi,
        schema.REMITTERS: remitters,
        schema.REMISSION_RATE: m,
        schema.REMISSION_LOWER: mlo,
        schema.REMISSION_UPPER: mhi,
    }


RATES = pd.DataFrame(
    [
        row("PHQ9", schema.CONDITION, "depression", 120, 90, 50, 30),
        row("GAD7", schema.CONDITION, "depression", 40, 30, 15, 12),  # fewer patients: not the main scale
        row("GAD7", schema.CONDITION, "anxiety", 60, 45, 20, 5),  # 5 remitters: '<11', remission withheld
        row("PHQ9", schema.CONDITION, "anxiety", 20, 15, 12, 11),
        row("PCL5", schema.CONDITION, "ptsd", 200, 150, 80, 60),
        row("PHQ9", schema.CONDITION, "ocd", 30, 20, 10, 10),  # a tie with GAD7: the registry's order (PHQ9)
        row("GAD7", schema.CONDITION, "ocd", 30, 20, 12, 12),
        row("PAIN_NRS", schema.CONDITION, "chronic_pain", 50, 40, 18, None),  # no remission rule
        row("PHQ9", schema.SITE, "Northside", 500, 400, 200, 100),  # another dimension: ignored
    ]
)


def test_each_condition_is_shown_on_the_scale_most_of_its_patients_have_with_its_own_numbers():
    t = manager.condition_table(RATES).set_index(schema.CONDITION)
    assert list(t.index) == ["ptsd", "depression", "anxiety", "chronic_pain", "ocd"]  # most patients first
    assert t[schema.INSTRUMENT].to_dict() == {
        "ptsd": "PCL5",
        "depression": "PHQ9",
        "anxiety": "GAD7",
        "chronic_pain": "PAIN_NRS",
        "ocd": "PHQ9",
    }
    dep = t.loc["depression"]
    assert (dep[schema.PATIENTS], dep[schema.EVALUABLE], dep[schema.RESPONDERS], dep[schema.REMITTERS]) == (
        120,
        90,
        50,
        30,
    )
    assert (dep[schema.RESPONSE_RATE], dep[schema.RESPONSE_LOWER], dep[schema.RESPONSE_UPPER]) == pytest.approx(
        rate_ci(50, 90)
    )
    assert (dep[schema.REMISSION_RATE], dep[schema.REMISSION_LOWER], dep[schema.REMISSION_UPPER]) == pytest.approx(
        rate_ci(30, 90)
    )


def test_small_counts_read_under_11_and_the_rates_resting_on_them_are_withheld():
    t = manager.condition_table(RATES).set_index(schema.CONDITION)
    anx = t.loc["anxiety"]
    assert anx[schema.REMITTERS] == "<11" and pd.isna(anx[schema.REMISSION_RATE])
    assert anx[schema.RESPONSE_RATE] == pytest.approx(20 / 45)  # its response stands
    assert pd.isna(t.loc["chronic_pain", schema.REMISSION_RATE])  # no remission rule: no rate
    ocd = t.loc["ocd"]
    assert ocd[schema.RESPONDERS] == "<11" and pd.isna(ocd[schema.RESPONSE_RATE])
    # a lower threshold (an admin's screen) shows them
    low = manager.condition_table(RATES, threshold=5).set_index(schema.CONDITION)
    assert low.loc["anxiety", schema.REMITTERS] == 5 and low.loc["anxiety", schema.REMISSION_RATE] == pytest.approx(
        5 / 45
    )


def months(counts: dict[str, tuple[int, int]], instrument="PHQ9") -> pd.DataFrame:
    return pd.DataFrame(
        [row(instrument, schema.START_MONTH, m, n, n, x, 0) for m, (n, x) in counts.items()]
        + [row(instrument, schema.START_MONTH, "unknown", 5, 5, 1, 0)]  # not a month: left out
    )


def test_the_trend_by_quarter_sums_its_months_and_gives_the_wilson_interval_of_the_sum():
    rates = months(
        {
            "2026-01": (10, 6),
            "2026-02": (12, 5),
            "2026-03": (15, 9),
            "2026-04": (25, 12),
            "2026-06": (22, 10),
            "2026-07": (8, 4),
        }
    )
    q = manager.response_trend(rates, "PHQ9")
    assert q["months"].tolist() == ["2026 Q1", "2026 Q2", "2026 Q3"]
    assert q[schema.START_MONTH].tolist() == ["2026-03", "2026-06", "2026-07"]
    first = q.iloc[0]
    assert (first[schema.EVALUABLE], first[schema.RESPONDERS]) == (37, 20)
    assert (first[schema.RESPONSE_RATE], first[schema.RESPONSE_LOWER], first[schema.RESPONSE_UPPER]) == pytest.approx(
        rate_ci(20, 37)
    )
    assert q.iloc[1][schema.RESPONSE_RATE] == pytest.approx(22 / 47)
    last = q.iloc[2]  # 8 evaluable, 4 responders: both small
    assert last[schema.EVALUABLE] == "<11" and last[schema.RESPONDERS] == "<11" and last[schema.RESPONSE_RATE] is None
    # by month: one row per month, its own counts; 2026-01 has 10 evaluable -> '<11'
    m = manager.response_trend(rates, "PHQ9", by="month").set_index("months")
    assert list(m.index) == ["2026-01", "2026-02", "2026-03", "2026-04", "2026-06", "2026-07"]
    assert m.loc["2026-01", schema.EVALUABLE] == "<11" and m.loc["2026-01", schema.RESPONSE_RATE] is None
    assert m.loc["2026-04", schema.RESPONSE_RATE] == pytest.approx(12 / 25)
    assert m.loc["2026-04", schema.RESPONDERS] == 12


def test_responders_whose_complement_is_small_are_withheld_so_it_cannot_be_worked_out():
    q = manager.response_trend(months({"2026-01": (20, 8), "2026-02": (20, 8)}), "PHQ9")
    assert q.iloc[0][schema.EVALUABLE] == 40 and q.iloc[0][schema.RESPONDERS] == 16  # 24 non-responders
    q = manager.response_trend(months({"2026-01": (30, 25)}), "PHQ9")
    assert q.iloc[0][schema.EVALUABLE] == 30 and q.iloc[0][schema.RESPONDERS] is None  # 5 non-responders
    assert q.iloc[0][schema.RESPONSE_RATE] is None


def test_bad_arguments_are_refused_with_a_message():
    with pytest.raises(ValueError, match="month' or 'quarter"):
        manager.response_trend(months({"2026-01": (20, 10)}), "PHQ9", by="week")
    with pytest.raises(KeyError, match="rates table"):
        manager.condition_table(pd.DataFrame({"x": [1]}))


def test_the_chart_leaves_withheld_periods_without_a_point_and_draws_late_ones_hollow():
    q = manager.response_trend(
        months({"2025-10": (30, 15), "2026-01": (30, 14), "2026-04": (8, 4), "2026-07": (30, 18)}), "PHQ9"
    )
    c = manager.response_trend_chart(q, "PHQ9", incomplete_from="2026-07")
    points = c.figure.data[-1]
    assert list(points.x) == ["2025 Q4", "2026 Q1", "2026 Q3"]  # 2026 Q2 withheld
    assert list(points.y) == pytest.approx([50.0, 100 * 14 / 30, 60.0])
    assert list(points.marker.color)[-1] == "white" and list(points.marker.color)[0] != "white"
    assert "by start quarter" in c.figure.layout.title.text and "Hollow points" in c.caption
    assert any("1 quarter(s) without a point" in n for n in c.notes)
    monthly = manager.response_trend_chart(
        manager.response_trend(months({"2026-01": (30, 15)}), "PHQ9", by="month"), "PHQ9"
    )
    assert "by start month" in monthly.figure.layout.title.text and "Hollow" not in monthly.caption


@pytest.mark.skipif(not (SAMPLE / "assessments.csv").exists(), reason="sample_data/ not generated yet")
def test_on_the_sample_each_condition_row_equals_the_overview_s_table_of_its_scale():
    a, t = pd.read_csv(SAMPLE / "assessments.csv"), pd.read_csv(SAMPLE / "treatments.csv")
    s = metrics.summary(a, t)
    table = manager.condition_table(s.rates)
    assert set(table[schema.CONDITION]) == set(a["condition"].dropna())
    rates = s.suppressed_rates() if hasattr(s, "suppressed_rates") else s.rates
    for r in table.to_dict("records"):
        same = rates[
            (rates[schema.INSTRUMENT] == r[schema.INSTRUMENT])
            & (rates[schema.DIMENSION] == schema.CONDITION)
            & (rates[schema.GROUP] == r[schema.CONDITION])
        ].iloc[0]
        for c in (schema.PATIENTS, schema.EVALUABLE, schema.RESPONDERS, schema.REMITTERS):
            mine, theirs = (v if isinstance(v, str) else None if pd.isna(v) else int(v) for v in (r[c], same[c]))
            assert mine == theirs, (r[schema.CONDITION], c)
    # the trend's evaluable patients add up to those of the months with a start month
    q = manager.response_trend(s.rates, "PHQ9", threshold=1)
    by_month = s.rates[(s.rates[schema.DIMENSION] == schema.START_MONTH) & (s.rates[schema.INSTRUMENT] == "PHQ9")]
    assert q[schema.EVALUABLE].sum() == by_month[schema.EVALUABLE].sum()
