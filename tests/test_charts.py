"""Chart factories: figure data, colours, captions and small-cell suppression, on hand-made tables."""

import math

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis import charts, instruments, schema


def km_table():
    # two groups: depression with 20 responders, ocd with 4 (under the threshold of 11)
    return pd.DataFrame(
        {
            "group": ["depression"] * 3 + ["ocd"] * 2,
            "time": [10, 30, 60, 5, 40],
            "n_risk": [20, 15, 8, 4, 2],
            "n_event": [2, 3, 1, 1, 1],
            "n_censor": [3, 4, 2, 1, 1],
            "survival": [0.9, 0.72, 0.63, 0.75, 0.375],
            "std_err": [0.07, 0.1, 0.12, 0.2, 0.3],
            "lower": [0.78, 0.55, 0.44, 0.4, 0.1],
            "upper": [1.0, 0.94, 0.9, 1.0, 1.0],
        }
    )


def at_risk():
    return pd.DataFrame(
        {"group": ["depression"] * 3 + ["ocd"] * 3, "day": [0, 28, 56] * 2, "n_risk": [20, 15, 8, 4, 2, 0]}
    )


def traces(fig, name=None):
    return [t for t in fig.data if name is None or t.name == name]


def test_every_condition_has_its_own_fixed_colour_from_the_okabe_ito_palette():
    assert set(charts.CONDITION_COLOURS) == set(schema.CONDITIONS)
    assert len(set(charts.CONDITION_COLOURS.values())) == len(schema.CONDITIONS)
    assert set(charts.CONDITION_COLOURS.values()) <= set(charts.OKABE_ITO.values())


def test_a_condition_keeps_its_colour_whatever_other_groups_are_shown():
    alone = charts.colours(["ptsd"])
    with_others = charts.colours(["depression", "anxiety", "ptsd", "chronic_pain"])
    assert alone["ptsd"] == with_others["ptsd"] == charts.CONDITION_COLOURS["ptsd"]


def test_other_groups_get_colours_by_sorted_name_so_a_site_keeps_its_colour_across_pages():
    a = charts.colours(["Riverside", "Lakeside", "Northside"])
    b = charts.colours(["Northside", "Lakeside", "Riverside"])
    assert a == b and len(set(a.values())) == 3


def test_labels_are_readable():
    assert charts.label("ptsd") == "PTSD" and charts.label("chronic_pain") == "Chronic pain"
    assert charts.label("Northside") == "Northside" and charts.label(None) == "Unknown"
    assert charts.label("A") == "Cohort A"


def test_km_chart_draws_a_step_curve_starting_at_one_and_its_band_for_each_large_group():
    chart = charts.km_chart(km_table(), at_risk(), instrument="PHQ9")
    curve = traces(chart.figure, "Depression")
    assert len(curve) == 1
    # day 60 rests on 8 responders at risk (< 11): the curve stops before it
    assert list(curve[0].x) == [0, 10, 30] and list(curve[0].y) == [1, 0.9, 0.72]
    assert curve[0].line.shape == "hv"
    assert curve[0].line.color == charts.CONDITION_COLOURS["depression"]
    band = [t for t in chart.figure.data if t.fill == "tonexty"]
    assert len(band) == 1 and list(band[0].y) == [1, 0.78, 0.55]
    assert any("Curves stop where fewer than 11" in n for n in chart.notes)


def test_km_chart_draws_a_curve_to_its_last_follow_up_when_every_risk_set_is_large_enough():
    chart = charts.km_chart(km_table(), at_risk(), threshold=5)
    curve = traces(chart.figure, "Depression")[0]
    assert list(curve.x) == [0, 10, 30, 60] and list(curve.y) == [1, 0.9, 0.72, 0.63]
    assert "20 at risk" in curve.text[0] and "8 at risk" in curve.text[-1]


def test_km_chart_does_not_draw_a_group_under_the_threshold_and_says_so():
    chart = charts.km_chart(km_table(), at_risk())
    names = {t.name for t in chart.figure.data if t.name}
    assert "OCD" not in names
    assert any("OCD" in n and "not drawn" in n for n in chart.notes)
    # its numbers at risk are not written under the chart either
    text_rows = [t for t in chart.figure.data if t.mode == "text"]
    assert set(text_rows[0].y) == {"Depression"}


def test_km_chart_number_at_risk_row_shows_small_counts_as_less_than_threshold():
    table = km_table()
    risk = pd.DataFrame({"group": ["depression"] * 3, "day": [0, 28, 56], "n_risk": [20, 15, 8]})
    chart = charts.km_chart(table, risk)
    row = [t for t in chart.figure.data if t.mode == "text"][0]
    assert list(row.text) == ["20", "15", "<11"]
    assert list(row.x) == [0, 28, 56]


def test_km_chart_axis_ends_at_the_first_at_risk_day_past_the_drawn_curves():
    # the curve stops at day 30 (fewer than 11 at risk after it); at-risk days run to 392
    risk = pd.DataFrame({"group": ["depression"] * 5, "day": [0, 28, 56, 84, 392], "n_risk": [20, 15, 8, 3, 0]})
    chart = charts.km_chart(km_table(), risk)
    row = [t for t in chart.figure.data if t.mode == "text"][0]
    assert list(row.x) == [0, 28, 56] and list(row.text) == ["20", "15", "<11"]
    assert list(chart.figure.layout.xaxis2.tickvals) == [0, 28, 56]


def test_km_chart_with_a_lower_threshold_draws_the_small_group():
    chart = charts.km_chart(km_table(), at_risk(), threshold=3)
    assert {"Depression", "OCD"} <= {t.name for t in chart.figure.data}


def test_km_chart_title_and_caption_say_what_is_shown():
    chart = charts.km_chart(km_table(), at_risk(), instrument="PHQ9")
    assert "PHQ9" in chart.figure.layout.title.text and "still responding" in chart.figure.layout.title.text
    assert "95% confidence" in chart.caption and chart.caption.endswith(".")


def test_km_chart_with_only_small_groups_draws_nothing_and_explains():
    chart = charts.km_chart(km_table()[lambda d: d.group == "ocd"], at_risk())
    assert not [t for t in chart.figure.data if t.name]
    assert any("No group" in n for n in chart.notes)


def test_forest_chart_uses_a_log_axis_a_line_at_one_and_names_the_reference():
    params = pd.DataFrame(
        {
            "term": ["condition[ptsd]", "sex[M]"],
            "covariate": ["condition", "sex"],
            "level": ["ptsd", "M"],
            "reference": ["depression", "F"],
            "coef": [-0.5, 0.2],
            "se": [0.2, 0.1],
            "hr": [math.exp(-0.5), math.exp(0.2)],
            "lower": [0.41, 1.0],
            "upper": [0.9, 1.48],
            "z": [-2.5, 2],
            "p": [0.012, 0.045],
        }
    )
    chart = charts.forest_chart(params)
    fig = chart.figure
    assert fig.layout.xaxis.type == "log"
    assert list(fig.data[0].y) == ["Condition: PTSD vs Depression", "Sex: M vs F"]
    assert 1 in fig.layout.xaxis.tickvals
    assert fig.data[0].x[0] == pytest.approx(math.exp(-0.5))
    assert fig.data[0].error_x.arrayminus[0] == pytest.approx(math.exp(-0.5) - 0.41)
    assert any(s.x0 == 1 for s in fig.layout.shapes)


def test_forest_chart_leaves_out_infinite_hazard_ratios_with_a_note():
    params = pd.DataFrame(
        {
            "term": ["a", "b"],
            "covariate": ["site", "site"],
            "level": ["x", "y"],
            "reference": ["z", "z"],
            "hr": [2.0, float("inf")],
            "lower": [1.1, 0.0],
            "upper": [3.5, float("inf")],
            "p": [0.02, 0.99],
        }
    )
    chart = charts.forest_chart(params)
    assert list(chart.figure.data[0].y) == ["Site: x vs z"]
    assert chart.notes and "not drawn" in chart.notes[0]


def test_forest_chart_names_a_term_that_is_not_estimable_and_draws_no_square_for_it():
    params = pd.DataFrame(
        {
            "term": ["site=North", "site=East"],
            "covariate": ["site", "site"],
            "level": ["North", "East"],
            "reference": ["South", "South"],
            "hr": [2.0, float("nan")],
            "lower": [1.1, float("nan")],
            "upper": [3.5, float("nan")],
            "p": [0.02, float("nan")],
            "not_estimable": [None, "no events in site East"],
        }
    )
    chart = charts.forest_chart(params)
    assert list(chart.figure.data[0].y) == ["Site: North vs South"] and len(chart.figure.data[0].x) == 1
    assert chart.notes == ("Site: East vs South: not estimable (no events in site East); no hazard ratio, not drawn.",)


def observed():
    return pd.DataFrame(
        {
            "group": ["depression"] * 3 + ["ptsd"] * 3,
            "visit": ["pre", "week 3", "week 8"] * 2,
            "day": [0, 21, 56] * 2,
            "n": [40, 30, 5, 9, 8, 6],
            "mean": [18.0, 9.0, 8.0, 50.0, 30.0, 28.0],
            "lower": [17.0, 7.5, 4.0, 45.0, 22.0, 20.0],
            "upper": [19.0, 10.5, 12.0, 55.0, 38.0, 36.0],
        }
    )


def test_trajectory_chart_shows_observed_means_with_ci_and_withholds_thin_visits_and_small_groups():
    chart = charts.trajectory_chart(observed(), instrument="PHQ9")
    obs = traces(chart.figure, "Depression (observed)")
    assert len(obs) == 1
    assert list(obs[0].x) == [0, 21]  # the week-8 mean of 5 patients is withheld
    assert list(obs[0].error_y.array) == [1.0, 1.5]
    assert not traces(chart.figure, "PTSD (observed)")  # no visit with 11 or more
    assert any("PTSD" in n for n in chart.notes) and any("1 visit mean" in n for n in chart.notes)


def test_trajectory_chart_shades_the_severity_bands_and_marks_the_end_of_induction():
    bands = instruments.get("PHQ9").band_ranges()
    chart = charts.trajectory_chart(observed(), bands=bands, induction_end_day=14, instrument="PHQ9")
    rects = [s for s in chart.figure.layout.shapes if s.type == "rect"]
    assert [(r.y0, r.y1) for r in rects] == [(lo, hi) for _, lo, hi in bands]
    assert any(s.type == "line" and s.x0 == 14 for s in chart.figure.layout.shapes)
    assert "end of induction" in chart.caption


def test_trajectory_chart_draws_model_curves_with_bands_and_patient_lines_when_given():
    predicted = pd.DataFrame(
        {
            "group": ["depression"] * 3,
            "day": [0, 14, 56],
            "mean": [18, 10, 9],
            "lower": [17, 9, 7],
            "upper": [19, 11, 11],
        }
    )
    lines = pd.DataFrame(
        {
            "patient_id": ["P1", "P1", "P2", "P2", "P3"],
            "group": ["depression"] * 4 + ["ptsd"],
            "day": [0, 21, 0, 21, 0],
            "score": [20, 10, 15, 5, 60],
        }
    )
    chart = charts.trajectory_chart(observed(), predicted, lines, instrument="PHQ9")
    model = traces(chart.figure, "Depression (model)")
    assert list(model[0].y) == [18, 10]  # the curve stops at the last visit shown (day 21's window ends on day 24)
    thin = [
        t for t in chart.figure.data if t.name is None and t.mode == "lines" and t.fill is None and t.line.width == 1
    ]
    assert len(thin) == 2  # the PTSD patient's line belongs to a group that is not drawn
    assert "mixed model" in chart.caption


def test_percent_change_trajectory_has_no_severity_bands():
    chart = charts.trajectory_chart(observed(), bands=instruments.get("PHQ9").band_ranges(), measure="pct_change")
    assert not [s for s in chart.figure.layout.shapes if s.type == "rect"]
    assert chart.figure.layout.yaxis.ticksuffix == "%"


def test_percent_change_trajectory_draws_the_fractions_of_the_analysis_as_percent():
    fractions = pd.DataFrame(
        {"group": ["depression"] * 2, "day": [0, 21], "n": [40, 30], "mean": [0.0, 0.5], "lower": [0.0, 0.4]}
    ).assign(upper=[0.0, 0.6])
    lines = pd.DataFrame(
        {
            "patient_id": ["P1", "P1"],
            "group": ["depression"] * 2,
            "day": [0, 21],
            "score": [20, 15],
            "pct_change": [0.0, 0.25],
        }
    )
    chart = charts.trajectory_chart(fractions, lines=lines, measure="pct_change")
    obs = traces(chart.figure, "Depression (observed)")[0]
    assert list(obs.y) == [0, 50] and list(obs.error_y.array) == pytest.approx([0, 10])
    assert "% improvement 50.0 (95% CI 40.0 to 60.0)" in obs.text[1]
    line = [t for t in chart.figure.data if t.name is None and t.mode == "lines" and t.line.width == 1]
    assert list(line[0].y) == [0, 25]


def test_monthly_chart_hides_small_months_behind_less_than_threshold():
    by_month = pd.DataFrame(
        {"start_month": ["2025-01", "2025-02", "2025-03"], "patients_started": [25, 7, 0], "infusions": [120, 30, 0]}
    )
    chart = charts.monthly_chart(by_month)
    starts, infusions = chart.figure.data
    # a small month reads '<11*' (the footnote marker, issue 20)
    assert list(starts.y) == [25, None, 0] and list(starts.text) == ["25", "<11*", "0"]
    assert list(infusions.y) == [120, 30, 0]
    assert chart.notes and "<11" in chart.notes[0]


def test_monthly_chart_withholds_a_month_its_shown_table_withholds():
    """Beside the practice's total, one small month would be recovered from the others: the month its table
    (Summary.suppressed_by_month) withholds reads 'withheld*' with no bar, as in the table."""
    by_month = pd.DataFrame(
        {"start_month": ["2025-01", "2025-02", "2025-03"], "patients_started": [25, 7, 30], "infusions": [120, 30, 99]}
    )
    shown = by_month.astype(object)
    shown.loc[1, "patients_started"], shown.loc[0, "patients_started"] = "<11", None
    starts = charts.monthly_chart(by_month, 11, shown).figure.data[0]
    assert list(starts.text) == ["withheld*", "<11*", "30"] and list(starts.y) == [None, None, 30]


def test_monthly_chart_without_treatments_has_one_panel():
    by_month = pd.DataFrame({"start_month": ["2025-01"], "patients_started": [25], "infusions": [None]})
    chart = charts.monthly_chart(by_month)
    assert len(chart.figure.data) == 1


def test_funnel_chart_labels_each_step_with_count_and_share_and_suppresses_small_ones():
    counts = {
        "patients": 100,
        "with_baseline": 85,
        "with_response_assessment": 45,
        "evaluable": 44,
        "responders": 24,
        "with_follow_up": 8,
    }
    chart = charts.funnel_chart(counts, "PHQ9")
    bar = chart.figure.data[0]
    assert list(bar.x) == [100, 85, 45, 0, 24, 0]
    assert bar.text[1] == "85 · 85%" and bar.text[-1] == "<11*"
    # 44 evaluable of 45 would reveal 1 patient without an evaluable baseline: withheld, with the reason
    assert bar.text[3] == "withheld*" and any("differs from 'With a response assessment'" in n for n in chart.notes)
    assert "PHQ9" in chart.figure.layout.title.text


def test_rates_chart_draws_rates_with_wilson_error_bars_and_skips_small_groups():
    rates = pd.DataFrame(
        {
            "cohort": ["A", "B"],
            "evaluable": [50, 8],
            "responders": [25, 4],
            "response_rate": [0.5, 0.5],
            "response_lower": [0.37, 0.2],
            "response_upper": [0.63, 0.8],
            "remitters": [12, 1],
            "remission_rate": [0.24, 0.125],
            "remission_lower": [0.14, 0.02],
            "remission_upper": [0.37, 0.47],
        }
    )
    chart = charts.rates_chart(rates)
    a, b = chart.figure.data
    assert list(a.y) == [0.5, 0.24] and a.error_y.array[0] == pytest.approx(0.13)
    assert list(b.y) == [] and len(chart.notes) == 2


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(min_value=0, max_value=200), min_size=1, max_size=12), st.integers(min_value=2, max_value=20)
)
def test_no_chart_bar_ever_shows_a_count_between_one_and_the_threshold(counts, threshold):
    by_month = pd.DataFrame(
        {
            "start_month": [f"2025-{i + 1:02d}" for i in range(len(counts))],
            "patients_started": counts,
            "infusions": [None] * len(counts),
        }
    )
    bar = charts.monthly_chart(by_month, threshold=threshold).figure.data[0]
    shown = [y for y in bar.y if y is not None]
    assert not [y for y in shown if 0 < y < threshold]
    assert not [t for t in bar.text if t.isdigit() and 0 < int(t) < threshold]


def test_trajectory_curves_and_patient_lines_stop_at_the_last_visit_shown():
    """Week 8 rests on 5 patients (withheld): nothing is drawn past week 3's window (days 15-24)."""
    predicted = pd.DataFrame(
        {"group": ["depression"] * 4, "day": [0, 14, 24, 56], "mean": [18, 10, 9, 12], "lower": 0, "upper": 30}
    )
    lines = pd.DataFrame(
        {"patient_id": ["P1"] * 3, "group": ["depression"] * 3, "day": [0, 22, 50], "score": [20, 10, 16]}
    )
    chart = charts.trajectory_chart(observed(), predicted, lines, instrument="PHQ9")
    assert max(traces(chart.figure, "Depression (model)")[0].x) == 24
    patient = [t for t in chart.figure.data if t.name is None and t.mode == "lines" and t.line.width == 1]
    assert [list(t.x) for t in patient] == [[0, 22]]
    assert "stop at the last visit" in chart.caption


def test_trajectory_chart_draws_the_instruments_cut_off_on_the_score_view_only():
    pcl5 = instruments.get("PCL5")
    assert pcl5.cutoff == 33 and pcl5.band_ranges() == []  # PCL-5 has a cut-off and no validated bands
    chart = charts.trajectory_chart(observed(), instrument="PCL5", cutoff=pcl5.cutoff)
    cut = [s for s in chart.figure.layout.shapes if s.type == "line" and s.y0 == 33 and s.y1 == 33]
    assert len(cut) == 1
    assert any("cut-off 33" in a.text for a in chart.figure.layout.annotations)
    assert "cut-off (33)" in chart.caption
    pct = charts.trajectory_chart(observed(), instrument="PCL5", cutoff=33, measure="pct_change")
    assert not [s for s in pct.figure.layout.shapes if s.type == "line" and s.y0 == 33]


def test_km_chart_gives_each_further_group_its_own_room_in_the_at_risk_rows():
    from analysis.durability import at_risk
    from analysis.survival import kaplan_meier

    def figure(groups: int):
        n = 30
        g = pd.Series([f"g{i}" for i in range(groups) for _ in range(n)])
        time = pd.Series([float(d) for _ in range(groups) for d in range(1, n + 1)])
        km = kaplan_meier(time, pd.Series([1] * len(time)), g)
        return charts.km_chart(km.table, at_risk(km), threshold=1).figure

    two, five = figure(2), figure(5)
    assert five.layout.height - two.layout.height == 3 * 18
    rows = lambda f: f.layout.yaxis2.domain[1] - f.layout.yaxis2.domain[0]  # noqa: E731
    px_per_group = lambda f, k: rows(f) * f.layout.height / k  # noqa: E731
    # at least 25 px a row with five groups (a fixed share gave 22 px, rows nearly touching at 14 px text)
    assert px_per_group(five, 5) >= 25 and px_per_group(two, 2) >= 25
    assert rows(five) > rows(two)
