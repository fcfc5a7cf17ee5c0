"""Provenance of downloads (analysis.provenance) and what a changed definition card says about itself
(analysis.card.differences, named, drop_from_percent)."""

import datetime as dt
import io

import pandas as pd
import pytest
from openpyxl import load_workbook

from analysis import card, provenance
from analysis.errors import DataError
from analysis.outcomes import Definitions

WHEN = dt.datetime(2026, 12, 7, 8, 30, tzinfo=dt.UTC)


def test_the_default_card_has_no_differences_and_keeps_its_name():
    assert card.differences(Definitions()) == []
    assert card.named(Definitions()).name == "default"


def test_a_changed_threshold_is_listed_with_its_default_in_percent():
    d = Definitions(response_drop={"PHQ9": 0.4}, remission_max={"GAD7": 6})
    assert card.differences(d) == [
        "PHQ9 response: a drop of at least 40% (default 50%)",
        "GAD7 remission: a score of at most 6 (default a score of at most 4)",
    ]


def test_windows_boosters_and_suppression_are_listed_in_words():
    d = Definitions(response_window=(21, 35), booster_handling="censor", suppression_threshold=5)
    assert card.differences(d) == [
        "Response assessment window: days 21 to 35 (default days 14 to 31)",
        "Boosters: censor at the first booster (default do not stop the clock)",
        "Small-cell threshold: counts under 5 hidden (default counts under 11 hidden)",
    ]


def test_safety_and_quality_measure_settings_are_listed_in_words_each_with_its_default():
    d = Definitions(safety={"surge_sbp_rise": 30, "desaturation_spo2_below": 90}, measure_window_days=30)
    assert card.differences(d) == [
        "Safety surge sbp rise: 30 (default 40)",
        "Safety desaturation spo2 below: 90 (default 92)",
        "Quality-measure windows: +/- 30 days (default +/- 60 days)",
    ]
    assert card.differences(Definitions(safety={"surge_sbp_rise": 40})) == []  # the default, written out
    assert card.differences(Definitions(measure_score="any")) == [
        "Quality-measure score: any PHQ-9 in the window (default the most recent PHQ-9 in the window)"
    ]
    assert card.named(d).name == "default, edited"


def test_a_changed_card_called_default_is_named_default_edited_and_back():
    edited = card.named(Definitions(response_drop={"PHQ9": 0.4}))
    assert edited.name == "default, edited"
    assert card.named(edited).name == "default, edited"  # not 'default, edited, edited'
    assert card.named(edited.replace(response_drop={})).name == "default"


def test_a_card_edited_under_its_own_name_says_so_but_a_new_name_is_kept():
    north = Definitions(name="North clinic", response_drop={"PHQ9": 0.4})
    changed = north.replace(confirm_loss=True)
    assert card.named(changed, north).name == "North clinic, edited"
    assert card.named(changed.replace(name="North, confirmed"), north).name == "North, confirmed"
    assert card.named(north, north).name == "North clinic"  # nothing changed


@pytest.mark.parametrize("typed,fraction", [(40, 0.4), (50.0, 0.5), (100, 1.0), (30, 0.3), (12.5, 0.125)])
def test_a_threshold_typed_as_a_percent_is_the_cards_fraction(typed, fraction):
    assert card.drop_from_percent("PHQ9", typed) == fraction


@pytest.mark.parametrize(
    "typed,says",
    [(140, "at most 100"), (0, "above 0"), (-5, "above 0"), (0.4, "type 40 for 40%"), (None, "blank")],
)
def test_a_threshold_out_of_range_is_refused_with_what_to_type_never_clamped(typed, says):
    with pytest.raises(DataError, match=says):
        card.drop_from_percent("PHQ9", typed)


def prov(defs=None):
    return provenance.make(
        "clinic.csv", "Sites: =HYPERLINK(1), North", defs or Definitions(), practice="North clinic", generated_at=WHEN
    )


def test_the_provenance_names_data_filters_card_differences_date_and_version():
    p = dict(prov(Definitions(response_drop={"PHQ9": 0.4}, name="default, edited")).lines())
    assert p["Practice"] == "North clinic" and p["Data"] == "clinic.csv"
    assert p["Definition card"] == "default, edited"
    assert p["Differences from the default card"] == "PHQ9 response: a drop of at least 40% (default 50%)"
    assert p["Made"] == "2026-12-07 08:30 UTC" and p["Software"].startswith("ketamine-outcomes 0.")
    assert dict(prov().lines())["Differences from the default card"].startswith("none")


def test_a_csv_download_starts_with_its_provenance_and_reads_back():
    table = pd.DataFrame({"Group": ["Depression", "=cmd"], "Response (95% CI)": ["53.8% (47.9 to 59.6)", ""]})
    raw = provenance.csv_bytes(table, prov())
    text = raw.decode("utf-8-sig")
    first = text.splitlines()[0]
    assert first == '"# Provenance: 8 lines, then the table"'
    assert all(line.startswith('"# ') for line in text.splitlines()[:8])  # one quoted cell: never a formula
    fields, back = provenance.read_csv(io.BytesIO(raw))
    assert fields["Filters"] == "Sites: =HYPERLINK(1), North" and fields["Practice"] == "North clinic"
    assert back.columns.tolist() == ["Group", "Response (95% CI)"]
    assert back["Group"].tolist() == ["Depression", "'=cmd"]  # the table's formulas still neutralised
    assert pd.read_csv(io.BytesIO(raw), skiprows=8, encoding="utf-8-sig").shape == (2, 2)


def test_an_excel_download_has_its_provenance_on_a_sheet_of_its_own():
    table = pd.DataFrame({"Group": ["Depression"], "Patients": [341]})
    book = load_workbook(io.BytesIO(provenance.excel_bytes(table, prov(), sheet="by condition")))
    assert book.sheetnames == ["by condition", "About this file"]
    about = {r[0]: r[1] for r in book["About this file"].iter_rows(values_only=True)}
    assert about["Filters"] == "Sites: =HYPERLINK(1), North" and book["About this file"]["B3"].data_type == "s"
    assert about["Practice"] == "North clinic"


def test_the_practice_name_is_a_setting(monkeypatch):
    monkeypatch.setenv(provenance.PRACTICE_ENV, "  Lakeside Ketamine  ")
    assert provenance.practice_name("fallback") == "Lakeside Ketamine"
    monkeypatch.setenv(provenance.PRACTICE_ENV, " ")
    assert provenance.practice_name("fallback") == "fallback"


def test_numbers_with_decimals_are_rounded_as_on_screen_and_kept_raw_in_a_column_of_their_own():
    from ui import show

    shown = pd.DataFrame(
        {
            "site": ["Lakeside", "Northside"],
            "sessions": [699, 1046],  # whole numbers: as they are
            "per_100": [3.918722, 10.0143],
            "lower": [0.054321, 2.7],
            "p": [0.0004, 0.2345],
            "minutes": [44.0, 40.0],  # whole, though floats: as they are
            "suppressed": pd.Series(["<11", 2.345678], dtype=object),  # beside '<11': rounded too
        }
    )
    assert [c for c in shown.columns if show.fractional(shown[c])] == ["per_100", "lower", "p", "suppressed"]
    assert [show.number(v) for v in (3.918722, 10.0143, 0.054321, 0.0, -12.04)] == [
        "3.9",
        "10.0",
        "0.0543",
        "0.0",
        "-12.0",
    ]
    assert show.is_p_value("p") and show.is_p_value("log-rank p") and not show.is_p_value("per_100")
    assert [show.number(v, p=True) for v in (0.0004, 0.2345)] == ["< 0.001", "0.234"]
    view = shown.copy()
    for c in ("per_100", "lower", "p"):
        view[c] = [show.number(v, show.is_p_value(c)) for v in shown[c]]
    out = show.downloadable(view, shown, rename={"per_100": "Per 100"}, raw=["per_100", "lower", "p"])
    assert out["Per 100"].tolist() == ["3.9", "10.0"] and out["Per 100 (raw)"].tolist() == [3.918722, 10.0143]
    assert out["p"].tolist() == ["< 0.001", "0.234"] and out["p (raw)"].tolist() == [0.0004, 0.2345]
    assert out["minutes"].tolist() == [44.0, 40.0] and "minutes (raw)" not in out.columns


def test_a_rounded_column_beside_suppressed_cells_keeps_them_and_its_raw_column_leaves_them_empty():
    from ui import show

    shown = pd.DataFrame({"rate": pd.Series(["<11", 2.345678, None], dtype=object)})
    view = shown.assign(rate=["<11", show.number(2.345678), ""])
    out = show.downloadable(view, shown, raw=["rate"])
    assert out["rate"].tolist() == ["<11", "2.3", ""]
    raw = out["rate (raw)"]
    assert pd.isna(raw.iloc[0]) and raw.iloc[1] == 2.345678 and pd.isna(raw.iloc[2])
