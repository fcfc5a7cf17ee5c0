"""analysis.formatting: numbers as the dashboard and the report print them."""

import math

import numpy as np
import pandas as pd
import pytest

from analysis import formatting as fmt
from analysis.kpi_tiles import kpis
from analysis.schema import FUNNEL_COUNTS, RATE_COLUMNS


def test_numbers_are_formatted_as_the_dashboard_prints_them():
    assert fmt.rate_ci(0.538182, 0.479138, 0.596173) == "53.8% (47.9 to 59.6)"
    assert fmt.rate_ci(None, None, None) == "—"
    assert fmt.percent(1.0) == "100.0%"
    assert fmt.median_ci(67.0, 55.0, float("nan")) == "67 (55 to not reached)"
    assert fmt.p_value(0.0004) == "< 0.001" and fmt.p_value(0.7364) == "0.736"
    assert fmt.hazard_ratio(8.8e-07, 0.0, float("inf")) == "not estimable"
    assert fmt.hazard_ratio(2.671191, 1.465611, 4.868457) == "2.67 (1.47 to 4.87)"
    assert fmt.count("<11") == "<11" and fmt.count(2708) == "2,708"
    assert fmt.whole(-7.0) == "-7" and fmt.whole(19.6) == "20" and fmt.whole(1234) == "1234"


@pytest.mark.parametrize("nothing", [None, pd.NA, float("nan"), np.nan, pd.NaT])
def test_every_kind_of_missing_value_prints_as_a_dash_or_not_reached(nothing):
    assert fmt.missing(nothing)
    assert fmt.count(nothing) == fmt.percent(nothing) == fmt.p_value(nothing) == fmt.points(nothing) == fmt.DASH
    assert fmt.whole(nothing) == fmt.DASH
    assert fmt.rate_ci(nothing, 0.1, 0.2) == fmt.DASH
    assert fmt.days(nothing) == fmt.days(nothing, unit=True) == "not reached"
    assert fmt.hazard_ratio(nothing, 1, 2) == "not estimable"


def test_strings_and_zero_are_values_not_missing():
    assert not fmt.missing("<11") and not fmt.missing(0) and not fmt.missing("")
    assert fmt.count(0) == "0" and fmt.percent(0) == "0.0%"


def test_a_rate_without_both_limits_prints_alone():
    assert fmt.rate_ci(0.5, None, 0.6) == "50.0%"


def test_days_with_and_without_the_unit():
    assert fmt.days(64.2) == "64" and fmt.days(64.2, unit=True) == "64 days"


def test_percent_takes_the_number_of_decimals():
    assert fmt.percent(0.8549, 0) == "85%" and fmt.percent(0.8549) == "85.5%"


def test_a_change_of_a_share_is_in_signed_percentage_points():
    assert fmt.points(0.012) == "+1.2 pts" and fmt.points(-0.225) == "-22.5 pts" and fmt.points(0) == "+0.0 pts"


def test_a_hazard_ratio_of_zero_or_infinity_is_not_estimable():
    assert fmt.hazard_ratio(0.0, 0.0, 1.0) == fmt.hazard_ratio(1.0, 0.5, math.inf) == "not estimable"


def test_every_funnel_count_rate_column_and_kpi_has_a_label():
    from pathlib import Path

    from analysis.ingest import load_files

    sample = Path(__file__).resolve().parents[1] / "sample_data"
    loaded = load_files([str(sample / "assessments.csv"), str(sample / "treatments.csv")])
    names = set(kpis(loaded.assessments, loaded.treatments)["kpi"])
    assert set(FUNNEL_COUNTS) | set(RATE_COLUMNS) | names <= set(fmt.LABELS)
    assert set(fmt.FUNNEL_LABELS) <= set(FUNNEL_COUNTS)
    assert fmt.ci_label("response_rate") == "Response (95% CI)"
