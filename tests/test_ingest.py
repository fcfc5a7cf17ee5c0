"""analysis.ingest: reading real-world CSVs into the canonical tables."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from analysis import schema as S
from analysis import validate as V
from analysis.ingest import (
    Loaded,
    age_band,
    age_bands,
    load_files,
    normalise_condition,
    parse_dates,
    wide_column,
)

LONG = (
    "Patient ID,Measure,Total Score,Day,Diagnosis,Clinic Location\n"
    "P-1,PHQ-9,20,0,Major Depressive Disorder,Main St Clinic\n"
    "P-1,PHQ-9,8,14,Major Depressive Disorder,Main St Clinic\n"
    "P-2,GAD-7,12,0,Chronic Pain,Northside\n"
)


def load(text, name="clinic.csv", encoding="utf-8", **kw) -> Loaded:
    data = text if isinstance(text, bytes) else text.encode(encoding)
    return load_files([(name, data)], **kw)


def codes(loaded):
    return set(loaded.issues["code"])


# --- the canonical shape ------------------------------------------------------------------------
def test_assessments_have_exactly_the_canonical_columns_in_order_and_types():
    a = load(LONG).assessments
    assert tuple(a.columns) == S.ASSESSMENT_COLUMNS
    assert str(a[S.DAY].dtype) == "Int64"
    assert a[S.SCORE].dtype == np.float64
    assert all(pd.api.types.is_string_dtype(a[c]) for c in S.ASSESSMENT_COLUMNS if c not in (S.SCORE, S.DAY))


@pytest.mark.parametrize("text", [LONG, LONG.replace(",20,", ",20.5,"), LONG.replace(",20,", ",n/a,")])
def test_the_tables_can_be_changed_in_place_like_any_pandas_table(text):
    # (the score column is the import's own array, handed on uncopied: it must be writable)
    loaded = load(text + "P-3,PHQ-9,5,7,Chronic Pain,Northside\n", name="clinic.csv")
    a = loaded.assessments
    a.loc[a[S.PATIENT_ID] == "P-3", S.SCORE] = 6.0
    a.loc[a[S.PATIENT_ID] == "P-3", S.DAY] = 8
    assert a.loc[a[S.PATIENT_ID] == "P-3", [S.SCORE, S.DAY]].values.tolist() == [[6.0, 8]]


def test_a_clean_long_file_is_read_with_every_value_normalised():
    a = load(LONG).assessments
    assert a[S.PATIENT_ID].tolist() == ["P-1", "P-1", "P-2"]
    assert a[S.INSTRUMENT].tolist() == ["PHQ9", "PHQ9", "GAD7"]
    assert a[S.SCORE].tolist() == [20.0, 8.0, 12.0]
    assert a[S.DAY].tolist() == [0, 14, 0]
    assert a[S.CONDITION].tolist() == ["depression", "depression", "chronic_pain"]
    assert a[S.SITE].tolist() == ["Main St Clinic", "Main St Clinic", "Northside"]
    assert a[S.SEX].isna().all()


def test_the_mapping_reports_each_column_and_how_it_was_mapped():
    m = load(LONG + "").mapping
    assert m.columns.tolist() == ["file", "source", "target", "how"]
    assert m.set_index("source").loc["Total Score", "target"] == "score"
    assert set(m["how"]) == {"synonym"}


def test_an_epic_style_flowsheet_export_is_mapped_without_help():
    loaded = load(
        "Patient Pseudonym,Flowsheet Row Name,Value,Recorded Time,Department\n"
        "X1,PHQ-9 Total Score,19,01/15/2024 10:32 AM,NORTH\nX1,PHQ-9 Total Score,7,01/29/2024 9:05 AM,NORTH\n"
    )
    assert loaded.ok, loaded.to_text()
    assert loaded.assessments[[S.INSTRUMENT, S.DAY, S.SITE]].values.tolist() == [
        ["PHQ9", 0, "NORTH"],
        ["PHQ9", 14, "NORTH"],
    ]


def test_an_unused_column_is_listed_as_unused():
    m = load("Patient ID,Measure,Score,Day,Favourite Colour\nA,PHQ-9,3,0,blue\n").mapping
    assert m.set_index("source").loc["Favourite Colour", "how"] == "unused"


def test_patient_keys_keep_their_leading_zeros():
    a = load("Patient ID,Measure,Score,Day\n00123,PHQ-9,3,0\n0042,PHQ-9,4,0\n").assessments
    assert a[S.PATIENT_ID].tolist() == ["00123", "0042"]


def test_rows_read_counts_data_rows_and_files_are_named():
    loaded = load(LONG)
    assert (loaded.rows_read, loaded.files, loaded.ok) == (3, ("clinic.csv",), True)


def test_to_json_has_the_contract_keys_and_counts():
    j = load(LONG).to_json()
    assert {k: j[k] for k in ("ok", "rows_read", "rows_kept", "patients", "instruments")} == {
        "ok": True,
        "rows_read": 3,
        "rows_kept": 3,
        "patients": 2,
        "instruments": ["GAD7", "PHQ9"],
    }
    assert isinstance(j["mapping"], list) and isinstance(j["issues"], list)


# --- encodings, delimiters, line endings ---------------------------------------------------------
def test_utf8_with_bom_reads_the_first_column_name_cleanly():
    loaded = load(b"\xef\xbb\xbf" + LONG.encode())
    assert loaded.ok and loaded.mapping["source"].iloc[0] == "Patient ID"


def test_utf16_tab_separated_excel_unicode_text_is_read():
    loaded = load(LONG.replace(",", "\t").replace("\n", "\r\n"), name="x.txt", encoding="utf-16")
    assert loaded.ok and len(loaded.assessments) == 3
    assert "ENCODING" in codes(loaded)


def test_windows_1252_accents_survive():
    loaded = load(LONG.replace("Northside", "Clínica Peña"), encoding="cp1252")
    assert loaded.assessments[S.SITE].iloc[2] == "Clínica Peña"


def test_windows_1252_accents_far_below_the_sniffed_sample_survive():
    rows = "".join(f"P{i},PHQ-9,5,0,Main St Clinic\n" for i in range(4000))
    loaded = load("Patient ID,Measure,Score,Day,Site\n" + rows + "Z,PHQ-9,5,0,Clínica Peña\n", encoding="cp1252")
    assert loaded.assessments[S.SITE].iloc[-1] == "Clínica Peña"
    assert "ENCODING" in codes(loaded)


def test_semicolons_and_decimal_commas_are_read():
    a = load("Patient ID;Measure;Score;Day\nA;Pain NRS (0-10);7,5;0\nA;Pain NRS (0-10);4;14\n").assessments
    assert a[S.SCORE].tolist() == [7.5, 4.0]
    assert a[S.INSTRUMENT].tolist() == ["PAIN_NRS", "PAIN_NRS"]


def test_crlf_and_trailing_blank_lines_change_nothing():
    plain = load(LONG).assessments
    crlf = load(LONG.replace("\n", "\r\n") + "\r\n\r\n").assessments
    pd.testing.assert_frame_equal(plain, crlf)


def test_rows_are_numbered_as_a_spreadsheet_shows_them_after_a_quoted_newline():
    text = 'Patient ID,Measure,Score,Day,Notes\nA,PHQ-9,3,0,"two\nlines"\nA,PHQ-9,99,14,x\n'
    issue = load(text).issues.set_index("code").loc["OUT_OF_RANGE"]
    assert issue["rows"] == [3]


def test_blank_lines_inside_the_data_keep_the_row_numbers_right():
    text = "Patient ID,Measure,Score,Day\nA,PHQ-9,3,0\n\nA,PHQ-9,99,14\n"
    assert load(text).issues.set_index("code").loc["OUT_OF_RANGE", "rows"] == [4]


def test_title_lines_above_the_header_are_skipped_and_rows_still_numbered_right():
    loaded = load("Scores export\nGenerated today\n\nPatient ID,Measure,Score,Day\nA,PHQ-9,3,0\nA,PHQ-9,99,14\n")
    assert len(loaded.assessments) == 1 and "PREAMBLE_SKIPPED" in codes(loaded)
    assert loaded.issues.set_index("code").loc["OUT_OF_RANGE", "rows"] == [6]


def test_excels_sep_line_sets_the_delimiter():
    loaded = load("sep=;\nPatient ID;Measure;Score;Day\nA;PHQ-9;3,5;0\n")
    assert loaded.assessments[S.SCORE].tolist() == [3.5]


def test_a_row_with_too_many_fields_is_left_out_but_counted_as_read():
    loaded = load("Patient ID,Measure,Score,Day\nA,PHQ-9,3,0\nB,PHQ-9,4,0,extra,fields\n")
    assert loaded.rows_read == 2 and len(loaded.assessments) == 1
    assert loaded.issues.set_index("code").loc["RAGGED_ROWS", "rows"] == [3]


def test_two_columns_with_one_name_are_reported_and_the_first_used():
    # (a column the analysis does not need; two columns for the score are refused: see the test below)
    loaded = load("Patient ID,Measure,Score,Day,Site,Site\nA,PHQ-9,3,0,North,South\n")
    assert loaded.assessments[[S.SCORE, S.SITE]].values.tolist() == [[3.0, "North"]]
    assert "DUPLICATE_COLUMN_NAMES" in codes(loaded)


def test_two_columns_with_one_name_for_a_required_column_are_refused_naming_both_and_map_chooses():
    loaded = load("Patient ID,Measure,Score,Score,Day\nA,PHQ-9,3,4,0\n")
    assert not loaded.ok
    message = loaded.issues.set_index("code").loc["DUPLICATE_COLUMNS", "message"]
    fix = loaded.issues.set_index("code").loc["DUPLICATE_COLUMNS", "fix"]
    assert "'Score' and 'Score.1'" in message and fix == {"column": "Score.1", "targets": ["ignore", "score"]}
    chosen = load("Patient ID,Measure,Score,Score,Day\nA,PHQ-9,3,4,0\n", overrides={"Score.1": "ignore"})
    assert chosen.ok and chosen.assessments[S.SCORE].tolist() == [3.0]


def test_two_differently_named_columns_that_both_look_like_the_date_are_refused_naming_both():
    loaded = load("Patient ID,Measure,Score,Visit Date,Date Completed\nA,PHQ-9,3,2025-03-03,2025-03-04\n")
    message = loaded.issues.set_index("code").loc["DUPLICATE_COLUMNS", "message"]
    assert "'Visit Date' and 'Date Completed'" in message and not loaded.ok
    assert load(
        "Patient ID,Measure,Score,Visit Date,Date Completed\nA,PHQ-9,3,2025-03-03,2025-03-04\n",
        overrides={"Date Completed": "date"},
    ).ok


# --- names and spellings ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "spelling,code", [("PHQ-9", "PHQ9"), ("Pain NRS (0-10)", "PAIN_NRS"), ("gad 7", "GAD7"), ("PCL-5 Total", "PCL5")]
)
def test_instrument_spellings_become_registry_codes(spelling, code):
    assert load(f"Patient ID,Measure,Score,Day\nA,{spelling},3,0\n").assessments[S.INSTRUMENT].tolist() == [code]


@pytest.mark.parametrize(
    "text,condition",
    [
        ("Major Depressive Disorder", "depression"),
        ("Chronic Pain", "chronic_pain"),
        ("Post-traumatic stress disorder", "ptsd"),
        ("TRD", "depression"),
        ("Dépression", "depression"),
        ("F43.10", "ptsd"),
        ("", None),
        ("Long COVID", None),
    ],
)
def test_condition_spellings_are_normalised(text, condition):
    assert normalise_condition(text) == condition


def test_an_unknown_condition_becomes_other_with_a_warning_naming_it():
    loaded = load("Patient ID,Measure,Score,Day,Diagnosis\nA,PHQ-9,3,0,Long COVID\n")
    assert loaded.assessments[S.CONDITION].tolist() == ["other"]
    issue = loaded.issues.set_index("code").loc["UNKNOWN_CONDITION"]
    # (rows and the column are named, never the value: messages are saved)
    assert "Long COVID" not in issue["message"] and "'Diagnosis'" in issue["message"] and issue["rows"] == [2]
    assert issue["severity"] == "warning"


def test_sex_and_route_spellings_are_normalised_and_unknowns_reported():
    loaded = load(
        "Patient ID,Measure,Score,Day,Gender,Route\nA,PHQ-9,3,0,female,Intravenous\n"
        "B,PHQ-9,3,0,Male,Spravato\nC,PHQ-9,3,0,robot,rectal\n"
    )
    a = loaded.assessments
    assert a[S.SEX].tolist()[:2] == ["F", "M"] and pd.isna(a[S.SEX].iloc[2])
    assert a[S.ROUTE].tolist()[:2] == ["IV", "esketamine"] and pd.isna(a[S.ROUTE].iloc[2])
    assert {"UNKNOWN_SEX", "UNKNOWN_ROUTE"} <= codes(loaded)


def test_a_map_override_beats_the_synonyms():
    loaded = load("Patient ID,Measure,Score,Day,Location\nA,PHQ-9,3,0,Room 4\n", overrides={"Location": "ignore"})
    assert loaded.assessments[S.SITE].isna().all()


def test_overrides_match_column_names_whatever_their_case():
    loaded = load("Pt Ref,Measure,Score,Day\nA,PHQ-9,3,0\n", overrides={"pt ref": "patient_id"})
    assert loaded.ok and "OVERRIDE_UNUSED" not in codes(loaded)


def test_an_override_naming_an_absent_column_is_reported():
    loaded = load(LONG, overrides={"Nope": "site"})
    assert "OVERRIDE_UNUSED" in codes(loaded) and loaded.ok


def test_an_override_to_an_unknown_target_fails_fast_naming_the_targets():
    with pytest.raises(KeyError, match="use one of: patient_id"):
        load(LONG, overrides={"Day": "dag"})


# --- ages ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "age,band",
    [
        (18, "18-24"),
        (24.9, "18-24"),
        (25, "25-34"),
        (64, "55-64"),
        (89, "75-89"),
        (90, "90+"),
        (104, "90+"),
        (17, None),
    ],
)
def test_ages_become_bands_and_over_89_is_90_plus(age, band):
    assert age_band(age) == band


def test_vectorised_age_bands_agree_with_age_band():
    ages = np.array([np.nan, 0, 17.9, 18, 24.5, 25, 44, 45, 74.9, 75, 88, 89, 89.5, 90, 120])
    assert [None if pd.isna(b) else b for b in age_bands(ages)] == [age_band(a) for a in ages]


def test_an_age_band_column_keeps_canonical_bands_and_bands_ages():
    text = "Patient ID,Measure,Score,Day,Age Group\n" + "".join(
        f"P{i},PHQ-9,3,0,{b}\n" for i, b in enumerate(["25-34", "18 - 24", "90+", "45", "75-89", "bogus"])
    )
    loaded = load(text)
    assert loaded.assessments[S.AGE_BAND].tolist()[:5] == ["25-34", "18-24", "90+", "45-54", "75-89"]
    assert pd.isna(loaded.assessments[S.AGE_BAND].iloc[5]) and "UNKNOWN_AGE_BAND" in codes(loaded)


def test_an_age_column_is_replaced_by_age_band_and_the_age_is_not_kept():
    loaded = load("Patient ID,Measure,Score,Day,Age\nA,PHQ-9,3,0,93\nB,PHQ-9,3,0,40\n")
    assert loaded.assessments[S.AGE_BAND].tolist() == ["90+", "35-44"]
    assert "93" not in loaded.assessments.astype(str).to_string()
    assert "AGE_90_PLUS" in codes(loaded)


# --- wide files ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "name,expected",
    [
        ("PHQ-9 Day 14", ("PHQ9", 14, "day")),
        ("PHQ9_inf1", ("PHQ9", 0, "infusion 1")),
        ("PHQ9_inf6", ("PHQ9", 11, "infusion 6")),
        ("GAD-7 Baseline", ("GAD7", -1, "baseline")),
        ("PHQ-9 Week 4", ("PHQ9", 28, "week")),
        ("PCL-5 Month 2", ("PCL5", 60, "month")),
        ("PHQ-9", ("PHQ9", None, "")),
        ("Visit Day", None),
        ("PHQ9_inf7", None),
    ],
)
def test_wide_column_names_are_read_as_instrument_and_day(name, expected):
    assert wide_column(name) == expected


def test_a_wide_file_is_melted_to_one_row_per_score_with_visit_days():
    loaded = load(
        "Patient ID,Diagnosis,PHQ-9 Baseline,PHQ9_inf2,PHQ-9 Week 4,GAD-7 Day 14\nA,MDD,20,15,6,9\nB,GAD,,,,11\n"
    )
    a = loaded.assessments
    assert list(zip(a[S.PATIENT_ID], a[S.INSTRUMENT], a[S.SCORE], a[S.DAY])) == [
        ("A", "PHQ9", 20.0, -1),
        ("A", "PHQ9", 15.0, 2),
        ("A", "PHQ9", 6.0, 28),
        ("A", "GAD7", 9.0, 14),
        ("B", "GAD7", 11.0, 14),
    ]
    assert a[S.CONDITION].tolist() == ["depression"] * 4 + ["anxiety"]
    assert "INDUCTION_DAYS_ASSUMED" in codes(loaded)
    assert (loaded.mapping["how"] == "wide").sum() == 4


@pytest.mark.parametrize("label", ["Baseline", "Pre", "Screening"])
def test_a_baseline_visit_column_falls_the_day_before_infusion_1_and_the_assumption_is_stated(label):
    loaded = load(f"Patient ID,PHQ-9 {label},PHQ9_inf1,PHQ9_inf2\nA,21,20,15\n")
    a = loaded.assessments
    assert list(zip(a[S.SCORE], a[S.DAY])) == [(21.0, -1), (20.0, 0), (15.0, 2)]
    assert "DUPLICATE_ROWS" not in codes(loaded)
    issue = loaded.issues.set_index("code").loc["INDUCTION_DAYS_ASSUMED"]
    assert issue["severity"] == "info"
    assert "day -1, the day before the first infusion" in issue["message"]
    assert "induction days 0, 2, 4, 7, 9, 11" in issue["message"]


def test_a_baseline_column_without_infusion_columns_still_states_its_assumed_day():
    loaded = load("Patient ID,PHQ-9 Baseline,PHQ-9 Week 4\nA,21,9\n")
    assert loaded.assessments[S.DAY].tolist() == [-1, 28]
    message = loaded.issues.set_index("code").loc["INDUCTION_DAYS_ASSUMED", "message"]
    assert "day -1" in message and "infusion columns" not in message


# --- dates and day 0 ---------------------------------------------------------------------------------
def test_parse_dates_decides_the_order_from_all_values():
    us, bad = parse_dates(["01/02/2024", "01/16/2024"])
    eu, _ = parse_dates(["02/01/2024", "16/01/2024"])
    assert bad == [] and (us == eu).all()
    assert us[1] - us[0] == 14


def test_parse_dates_reads_iso_two_digit_years_and_month_names():
    days, bad = parse_dates(["2024-01-02", "2024-01-02T10:30", "Jan 9, 2024", "not a date"])
    assert days[1] - days[0] == 0 and days[2] - days[0] == 7
    assert bad == ["not a date"]


def test_excel_serial_dates_are_read():
    days, bad = parse_dates(["45292", "2024-01-01"])
    assert bad == [] and days[0] == days[1]


def test_a_column_mixing_day_first_and_month_first_dates_is_refused():
    loaded = load("Patient ID,Measure,Score,Date\nA,PHQ-9,20,13/01/2024\nA,PHQ-9,8,01/14/2024\n")
    assert not loaded.ok and "MIXED_DATE_FORMATS" in codes(loaded)
    message = loaded.issues["message"].iloc[0]  # (the column is named, never a date: messages are saved)
    assert "'Date'" in message and "13/01/2024" not in message and "01/14/2024" not in message


def test_each_patient_gets_the_month_of_their_own_day_0_at_month_and_year_edges():
    # day 0 on the last and first day of a month, a leap day, before 1970, across a new year: one month text each
    text = (
        "Patient ID,Measure,Score,Visit Date\n"
        "A,PHQ-9,20,2024-01-31\nA,PHQ-9,8,2024-02-01\n"
        "B,PHQ-9,18,2024-02-01\n"
        "C,PHQ-9,15,2024-02-29\nC,PHQ-9,9,2024-03-14\n"
        "D,PHQ-9,14,1969-12-31\nD,PHQ-9,7,1970-01-07\n"
        "E,PHQ-9,13,2023-12-31\nE,PHQ-9,5,2024-01-01\n"
    )
    a = load(text).assessments
    assert a[S.DAY].tolist() == [0, 1, 0, 0, 14, 0, 7, 0, 1]
    assert a[S.START_MONTH].tolist() == [
        "2024-01",
        "2024-01",
        "2024-02",
        "2024-02",
        "2024-02",
        "1969-12",
        "1969-12",
        "2023-12",
        "2023-12",
    ]
    years = load(text, strict_dates=True).assessments[S.START_MONTH].tolist()
    assert years == ["2024", "2024", "2024", "2024", "2024", "1969", "1969", "2023", "2023"]


def test_dates_become_days_from_the_first_assessment_and_are_never_stored():
    loaded = load("Patient ID,Measure,Score,Visit Date\nA,PHQ-9,20,2024-03-30\nA,PHQ-9,8,2024-04-13\n")
    a = loaded.assessments
    assert a[S.DAY].tolist() == [0, 14]
    assert a[S.START_MONTH].tolist() == ["2024-03", "2024-03"]
    assert "2024-03-30" not in a.astype(str).to_string() and S.DATE not in a.columns


def test_ambiguous_dates_refuse_the_file_and_an_override_resolves_them():
    text = "Patient ID,Measure,Score,Visit Date\nA,PHQ-9,20,03/04/2024\nA,PHQ-9,8,05/04/2024\n"
    refused = load(text)
    assert not refused.ok and "AMBIGUOUS_DATES" in codes(refused)
    assert refused.issues["fix"].iloc[0] == {"column": "Visit Date", "targets": ["date_dmy", "date_mdy"]}
    assert refused.issues["column"].iloc[0] == "Visit Date"  # the issue names the column to fix
    dmy = load(text, overrides={"Visit Date": "date_dmy"}).assessments
    mdy = load(text, overrides={"Visit Date": "date_mdy"}).assessments
    assert dmy[S.DAY].tolist() == [0, 2] and mdy[S.DAY].tolist() == [0, 61]


TREATMENTS = (
    "Patient ID,Infusion Date,Treatment Type,Route,Dose (mg/kg)\n"
    "A,2024-01-10,Induction,IV,0.5\nA,2024-01-12,Induction,IV,0.5\nA,2024-02-20,Booster,IV,0.5\n"
)


def test_day_0_is_the_first_treatment_when_a_treatments_file_is_given():
    loaded = load_files(
        [
            ("a.csv", b"Patient ID,Measure,Score,Date\nA,PHQ-9,20,2024-01-08\nA,PHQ-9,8,2024-01-31\n"),
            ("t.csv", TREATMENTS.encode()),
        ]
    )
    assert loaded.assessments[S.DAY].tolist() == [-2, 21]
    t = loaded.treatments
    assert tuple(t.columns) == S.TREATMENT_COLUMNS
    assert t[S.DAY].tolist() == [0, 2, 41] and t[S.KIND].tolist() == ["induction", "induction", "booster"]
    assert t[S.DOSE].tolist() == [0.5, 0.5, 0.5] and str(t[S.DAY].dtype) == "Int64"


def test_days_with_dated_treatments_keep_their_days_and_take_the_start_month():
    loaded = load_files(
        [("a.csv", b"Patient ID,Measure,Score,Day\nA,PHQ-9,20,0\nA,PHQ-9,8,14\n"), ("t.csv", TREATMENTS.encode())]
    )
    assert loaded.assessments[S.DAY].tolist() == [0, 14]
    assert loaded.assessments[S.START_MONTH].tolist() == ["2024-01", "2024-01"]


def test_the_treatments_file_is_recognised_whatever_its_position():
    first = load_files([("t.csv", TREATMENTS.encode()), ("a.csv", b"Patient ID,Measure,Score,Day\nA,PHQ-9,20,0\n")])
    assert first.ok and first.treatments is not None and len(first.treatments) == 3


def test_a_start_month_column_in_the_file_is_kept_as_is():
    a = load("Patient ID,Measure,Score,Day,Start Month\nA,PHQ-9,20,0,2023-11\n").assessments
    assert a[S.START_MONTH].tolist() == ["2023-11"]


def test_strict_dates_cut_a_start_month_column_to_the_year():
    a = load("Patient ID,Measure,Score,Day,Start Month\nA,PHQ-9,20,0,2023-11\n", strict_dates=True).assessments
    assert a[S.START_MONTH].tolist() == ["2023"]


def test_two_assessment_files_are_concatenated():
    loaded = load_files(
        [
            ("a.csv", b"Patient ID,Measure,Score,Day\nA,PHQ-9,20,0\n"),
            ("b.csv", b"Subject,Instrument,Total,Day,Sex\nB,GAD-7,9,0,F\n"),
        ]
    )
    assert loaded.assessments[S.PATIENT_ID].tolist() == ["A", "B"]
    assert loaded.assessments[S.SEX].isna().tolist() == [True, False]
    assert loaded.rows_read == 2


def test_paths_and_uploads_give_the_same_result(tmp_path):
    path = tmp_path / "clinic.csv"
    path.write_text(LONG)
    pd.testing.assert_frame_equal(load_files([path]).assessments, load(LONG).assessments)


@pytest.mark.parametrize(
    "text,rows",
    [
        ("Patient ID,Measure,Score,Day\nA,PHQ-9,3,0\n\nA,PHQ-9,99,14\n", [4]),  # a blank line inside
        ("Patient ID,Measure,Score,Day\nA,PHQ-9,3,0\nA,PHQ-9,99,14\n\n\n", [3]),  # blank lines at the end
        ("Patient ID,Measure,Score,Day\n,PHQ-9,3,0\nA,PHQ-9,99,14\n", [3]),  # a blank first column, no blank line
        ("Patient ID,Measure,Score,Day\r\nA,PHQ-9,3,0\r\n\r\nA,PHQ-9,99,14\r\n", [4]),
    ],
)
def test_a_file_read_from_disk_numbers_rows_as_a_spreadsheet_does(tmp_path, text, rows):
    path = tmp_path / "clinic.csv"
    path.write_bytes(text.encode())
    loaded = load_files([path])
    assert loaded.issues.set_index("code").loc["OUT_OF_RANGE", "rows"] == rows
    assert loaded.rows_read == 2


def test_an_empty_file_on_disk_is_refused_as_empty(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    assert load_files([path]).issues["code"].tolist() == ["EMPTY_FILE"]


def test_long_columns_get_the_same_age_bands_as_one_age_at_a_time():
    rng = np.random.default_rng(7)
    whole = rng.integers(0, 110, 5000).astype(float)
    mixed = np.where(rng.random(5000) < 0.1, np.nan, whole + np.where(rng.random(5000) < 0.1, 0.5, 0))
    for ages in (whole, mixed):
        assert [None if pd.isna(b) else b for b in age_bands(ages)] == [age_band(a) for a in ages]


# --- refusals ------------------------------------------------------------------------------------
def test_a_refused_file_has_empty_canonical_assessments_and_no_treatments():
    loaded = load(b"")
    assert not loaded.ok and loaded.treatments is None
    assert tuple(loaded.assessments.columns) == S.ASSESSMENT_COLUMNS and loaded.assessments.empty
    assert loaded.issues["severity"].tolist() == ["error"]


def test_a_refused_file_among_good_ones_keeps_nothing():
    loaded = load_files(
        [("good.csv", LONG.encode()), ("bad.csv", b"Patient ID,Patient Name,Measure,Score,Day\n1,Jo,PHQ-9,3,0\n")]
    )
    assert not loaded.ok and loaded.assessments.empty


def test_an_excel_file_with_a_csv_name_is_refused_saying_what_to_do():
    loaded = load(b"PK\x03\x04" + b"\x00" * 30 + b"[Content_Types].xml" + b"\x00" * 100)
    assert loaded.issues["message"].iloc[0].endswith("In Excel choose File > Save As > CSV UTF-8 and upload that file.")


def test_a_file_without_patient_keys_is_refused_listing_what_is_missing():
    loaded = load("Measure,Score,Day\nPHQ-9,3,0\n")
    message = loaded.issues.set_index("code").loc["MISSING_COLUMNS", "message"]
    assert "a patient key" in message and "'Measure'" in message


def test_the_upload_bytes_are_not_changed():
    data = bytearray(LONG.encode())
    load_files([("x.csv", data)])
    assert bytes(data) == LONG.encode()


def test_sources_of_the_wrong_type_fail_fast_saying_what_is_expected():
    with pytest.raises(TypeError, match=r"paths or \(file_name, bytes\) tuples"):
        load_files([42])


# --- fixes found by the unseen-export corpus (tests/data/unseen) ----------------------------------
def test_excel_serial_date_times_are_read_as_their_dates_and_the_time_is_dropped():
    days, bad = parse_dates(["45730.4375", "45744.6", "45758.25"])
    epoch = pd.Timestamp("1970-01-01")
    assert [str((epoch + pd.Timedelta(days=d)).date()) for d in days] == ["2025-03-14", "2025-03-28", "2025-04-11"]
    assert bad == []


def test_a_thousands_separator_in_the_day_column_of_a_comma_separated_file_is_not_a_decimal_comma():
    a = load('Patient ID,Measure,Score,Day\nA,PHQ-9,20,0\nA,PHQ-9,7,"1,000"\nA,PHQ-9,11,"1,050"\n').assessments
    assert a[S.DAY].tolist() == [0, 1000, 1050]


def test_decimal_commas_of_scores_in_a_semicolon_file_still_read_as_decimals():
    loaded = load("Patient ID;Measure;Score;Day\nA;PHQ-9;12,5;0\nA;PHQ-9;1,250;14\n")
    # ('1,250' is 1250 or 1.25: which cannot be told, so it is not read as either, issue 15)
    assert loaded.assessments[S.SCORE].tolist() == [12.5]
    assert loaded.issues.set_index("code").loc["NON_NUMERIC_SCORE", "rows"] == [3]


@pytest.mark.parametrize("marker", ["#N/A", "#n/a", "NULL"])
def test_excels_failed_lookup_as_a_patient_key_is_a_missing_key(marker):
    loaded = load(f"Patient ID,Measure,Score,Day\nA,PHQ-9,3,0\n{marker},PHQ-9,4,0\n")
    assert loaded.assessments[S.PATIENT_ID].tolist() == ["A"]
    assert loaded.issues.set_index("code").loc["MISSING_ID", "rows"] == [3]


@pytest.mark.parametrize(
    "name,expected",
    [
        ("PHQ-9 (Week 4)", ("PHQ9", 28, "week")),
        ("GAD-7 (Day 14)", ("GAD7", 14, "day")),
        ("PHQ9 (Baseline)", ("PHQ9", -1, "baseline")),
        ("Pain NRS (0-10)", ("PAIN_NRS", None, "")),
    ],
)
def test_a_visit_label_in_parentheses_is_read_as_the_visit(name, expected):
    assert wide_column(name) == expected


def test_a_wide_column_with_the_visit_in_parentheses_is_melted_not_left_unused():
    loaded = load("Patient ID,PHQ-9 Week 0,PHQ-9 (Week 4)\nA,22,11\n")
    assert loaded.assessments[[S.SCORE, S.DAY]].values.tolist() == [[22.0, 0], [11.0, 28]]


@pytest.mark.parametrize(
    "spelling,code", [("PHQ-9 (Patient Health Questionnaire)", "PHQ9"), ("GAD-7 (General Anxiety Disorder)", "GAD7")]
)
def test_an_instrument_written_as_code_and_long_name_in_parentheses_is_recognised(spelling, code):
    loaded = load(f'Patient ID,Measure,Score,Day\nA,"{spelling}",3,0\n')
    assert loaded.assessments[S.INSTRUMENT].tolist() == [code] and "UNKNOWN_INSTRUMENT" not in codes(loaded)


@pytest.mark.parametrize(
    "head",
    [
        b"<html><head><title>x</title></head><body><table>",
        b"\xef\xbb\xbf<!DOCTYPE html>\n<html>",
        b"  <table border=1><tr><th>Patient ID</th>",
    ],
)
def test_an_html_table_saved_as_xls_or_csv_is_refused_saying_what_it_is_and_how_to_save_a_csv(head):
    loaded = load(head + b"<tr><td>A</td><td>PHQ-9</td></tr></table></body></html>\n", name="export.xls")
    issue = loaded.issues.set_index("code").loc["HTML_FILE"]
    assert issue["severity"] == "error" and "web page" in issue["message"] and "CSV UTF-8" in issue["message"]


def test_a_header_line_repeated_at_a_page_break_is_skipped_with_an_info_only():
    loaded = load("Patient ID,Measure,Score,Day\nA,PHQ-9,21,0\nPatient ID,Measure,Score,Day\nB,GAD-7,15,0\n")
    assert loaded.assessments[[S.PATIENT_ID, S.SCORE]].values.tolist() == [["A", 21.0], ["B", 15.0]]
    assert loaded.issues[["severity", "code", "rows"]].values.tolist() == [["info", "REPEATED_HEADER", [3]]]


def test_a_date_and_a_day_column_that_disagree_are_named_in_a_warning_and_the_date_wins():
    loaded = load(
        "Patient ID,Measure,Score,Date,Day\nA,PHQ-9,20,2025-03-03,0\nA,PHQ-9,12,2025-03-17,14\n"
        "A,PHQ-9,7,2025-04-14,28\n"
    )
    assert loaded.assessments[S.DAY].tolist() == [0, 14, 42]
    issue = loaded.issues.set_index("code").loc["DATE_DAY_DISAGREE"]
    assert issue["severity"] == "warning" and issue["rows"] == [4]
    assert "'Date' and 'Day'" in issue["message"] and "The date was used" in issue["message"]


def test_a_date_and_a_day_column_that_agree_keep_the_days_given_even_when_day_0_is_not_the_first_visit():
    loaded = load("Patient ID,Measure,Score,Date,Day\nA,PHQ-9,20,2025-03-01,-3\nA,PHQ-9,12,2025-03-18,14\n")
    assert loaded.assessments[S.DAY].tolist() == [-3, 14]
    assert "DATE_DAY_DISAGREE" not in codes(loaded)
    assert loaded.assessments[S.START_MONTH].tolist() == ["2025-03", "2025-03"]


@pytest.mark.parametrize("written", ["90+", "> 89", ">89", ">=90", "95+"])
def test_ages_written_as_over_89_are_the_band_90_plus(written):
    loaded = load(f"Patient ID,Measure,Score,Day,Age\nA,PHQ-9,3,0,{written}\nB,PHQ-9,3,0,34\n")
    assert loaded.assessments[S.AGE_BAND].tolist() == ["90+", "25-34"] and "BAD_AGE" not in codes(loaded)


def test_an_age_written_as_over_a_younger_age_is_not_guessed():
    loaded = load("Patient ID,Measure,Score,Day,Age\nA,PHQ-9,3,0,> 30\n")
    assert loaded.assessments[S.AGE_BAND].isna().all() and "BAD_AGE" in codes(loaded)


def test_location_name_is_the_site():
    loaded = load("Client ID,Assessment Name,Total,Day,Location Name\nC-1,PHQ-9,19,0,Downtown Office\n")
    assert loaded.assessments[S.SITE].tolist() == ["Downtown Office"]


def test_vendor_routes_and_doses_per_kg_are_read_and_a_dose_in_mg_is_left_blank_with_a_warning():
    treatments = (
        "Patient ID,Appointment Date,Visit Type,Route,Dose\n"
        "A,2025-03-03,Induction,IV Ketamine,0.5 mg/kg\nA,2025-03-05,Induction,Spravato (esketamine),56 mg\n"
        "A,2025-03-07,Induction,IM ketamine,0.75mg/kg\n"
    )
    loaded = load_files(
        [("a.csv", b"Patient ID,Measure,Score,Date\nA,PHQ-9,20,2025-03-03\n"), ("t.csv", treatments.encode())]
    )
    t = loaded.treatments
    assert t[S.ROUTE].tolist() == ["IV", "esketamine", "IM"]
    assert t[S.DOSE].tolist()[0::2] == [0.5, 0.75] and np.isnan(t[S.DOSE].iloc[1])
    assert loaded.issues.set_index("code").loc["BAD_DOSE", "rows"] == [3]


def test_an_excel_csv_macintosh_file_is_read_as_mac_roman():
    data = (
        "\r".join(
            ["Patient ID,Measure,Score,Day,Clinic Location", "A,PHQ-9,21,0,Clínica Peña", "B,GAD-7,15,0,Northside"]
        ).encode("mac_roman")
        + b"\r"
    )
    loaded = load(data)
    assert loaded.assessments[S.SITE].tolist() == ["Clínica Peña", "Northside"]
    assert "Mac Roman" in loaded.issues.set_index("code").loc["ENCODING", "message"]


def test_windows_1252_apostrophes_in_contractions_are_not_taken_for_mac_roman():
    loaded = load(LONG.replace("Northside", "Peña’s Clinic – don’t"), encoding="cp1252")
    assert loaded.assessments[S.SITE].iloc[2] == "Peña’s Clinic – don’t"


# --- long files: the short cuts give what the general paths give ------------------------------------
def long_export(n_patients=120, visits=12, age=lambda p: 20 + p % 70, key=lambda p: f"P-{p:04d}"):
    lines = ["Patient ID,Measure,Total Score,Day,Age,Clinic Location"]
    for p in range(n_patients):
        for v in range(visits):
            lines.append(f"{key(p)},PHQ-9,{(p + v) % 28},{v * 7},{age(p)},Main St Clinic")
    return "\n".join(lines) + "\n"


def test_a_long_column_of_whole_ages_is_banded_and_reported_as_age_by_age():
    ages = {0: 17, 1: 95, 2: 90, 3: 89}
    loaded = load(long_export(age=lambda p: ages.get(p, 18 + p % 60)))  # 1,440 rows: banded via the distinct ages
    a = loaded.assessments
    want = [age_band(ages.get(p, 18 + p % 60)) for p in range(120) for _ in range(12)]
    assert [None if pd.isna(b) else b for b in a[S.AGE_BAND]] == want
    issues = loaded.issues.set_index("code")
    assert issues.loc["BAD_AGE", "rows"] == list(range(2, 14))  # patient 0, aged 17: the first 12 rows
    assert issues.loc["AGE_90_PLUS", "message"].startswith("clinic.csv: 24 age(s) over 89")


def test_patient_keys_are_output_as_written_unless_a_key_needs_cleaning():
    clean = load(long_export()).assessments[S.PATIENT_ID]
    assert clean.tolist() == [f"P-{p:04d}" for p in range(120) for _ in range(12)]
    assert str(clean.dtype) == "str"
    messy = load(long_export(key=lambda p: "P-0007   x" if p == 7 else f"P-{p:04d}")).assessments[S.PATIENT_ID]
    assert messy.tolist() == ["P-0007 x" if p == 7 else f"P-{p:04d}" for p in range(120) for _ in range(12)]


def test_a_ragged_row_far_down_a_long_file_is_reported_at_its_spreadsheet_row():
    text = long_export(n_patients=400).splitlines()
    text[4000] += ",extra"  # spreadsheet row 4001
    loaded = load("\n".join(text) + "\n")
    assert loaded.issues.set_index("code").loc["RAGGED_ROWS", "rows"] == [4001]
    assert len(loaded.assessments) == 400 * 12 - 1


def test_day_0_from_dates_is_the_same_whether_a_patients_rows_are_together_or_scattered():
    # grouped: day 0 and the start month are worked out run by run of a patient's rows; scattered: row by row
    rows = [(f"K-{p}", f"2024-0{1 + p % 3}-{10 + v:02d}", v) for p in range(30) for v in range(10)]
    header = "Patient ID,Measure,Total Score,Date Administered\n"
    grouped = header + "".join(f"{p},GAD-7,{s},{d}\n" for p, d, s in rows)
    scattered = header + "".join(f"{p},GAD-7,{s},{d}\n" for p, d, s in sorted(rows, key=lambda r: (-r[2], r[0])))
    seen = [
        sorted(zip(a[S.PATIENT_ID], a[S.DAY], a[S.SCORE], a[S.START_MONTH]))
        for a in (load(grouped).assessments, load(scattered).assessments)
    ]
    assert (
        seen[0]
        == seen[1]
        == sorted((f"K-{p}", v, float(v), f"2024-0{1 + p % 3}") for p in range(30) for v in range(10))
    )


def test_the_fast_path_for_long_files_gives_what_the_general_path_gives(monkeypatch):
    # long files encode their text columns by runs and reuse or decode by runs their output columns; here every
    # file counts as long, with rows dropped and attributes resolved after the columns were parsed
    from analysis.ingest import columnar

    text = long_export(key=lambda p: f"P-{p:04d}  " if p == 3 else f"P-{p:04d}")
    text = text.replace("\nP-0005,PHQ-9,5,0,", "\nP-0005,PHQ-9,99,0,")  # out of range: a row dropped
    text = text.replace("\nP-0009,PHQ-9,10,7,", "\nP-0009,PHQ-9,10,7,33,Northside\nP-0009,PHQ-9,10,7,")
    one_thread = load(text, fast=False)
    monkeypatch.setattr(columnar, "RUN_ROWS", 0)
    threads = load(text)
    pd.testing.assert_frame_equal(one_thread.assessments, threads.assessments)
    pd.testing.assert_frame_equal(one_thread.issues, threads.issues)
    assert {"OUT_OF_RANGE", "CONFLICTING_ATTRIBUTES"} <= codes(threads)
    clean = load(long_export())  # nothing dropped: the columns built early are used
    assert clean.assessments[S.PATIENT_ID].tolist() == [f"P-{p:04d}" for p in range(120) for _ in range(12)]


def test_values_first_seen_far_below_the_first_block_of_a_long_file_are_read():
    # pyarrow parses a long file in blocks of 4 MB; text columns whose first block holds every value are
    # encoded by looking values up in that block's values, the others by hashing every row
    line = "P-{p:05d},PHQ-9,{s},{d},Major Depressive Disorder,Main St Clinic,F,IV\n"
    rows = [line.format(p=i // 12, s=i % 28, d=(i % 12) * 7) for i in range(90_000)]  # about 6 MB
    rows[-1] = "P-99999,PHQ-9,3,0,Major Depressive Disorder,Northside,M,IV\n"  # a patient only in the last block
    text = "Patient ID,Measure,Total Score,Day,Diagnosis,Clinic Location,Sex,Route\n" + "".join(rows)
    assert len(text) > 5 * (1 << 20)
    a = load(text).assessments
    assert a[S.SITE].value_counts().to_dict() == {"Main St Clinic": 89_999, "Northside": 1}
    assert a[S.SEX].tolist()[-2:] == ["F", "M"] and a[S.ROUTE].unique().tolist() == ["IV"]
    assert a[S.CONDITION].unique().tolist() == ["depression"] and len(a) == 90_000


def test_a_long_grouped_file_encoded_run_by_run_gives_what_encoding_every_row_gives(monkeypatch):
    # from ingest.RUN_ROWS rows, a text column with long runs of equal values (an export grouped by patient)
    # is encoded from the first value of each run; here runs cross pyarrow's 4 MB blocks, blanks and 'n/a'
    # break them, and one patient comes back after the others
    from analysis.ingest import columnar

    line = "P-{p:05d},{ins},{s},{d},{cond},{site},{sex},IV\n"
    rows = [
        line.format(
            p=i // 24,
            ins="PHQ-9" if i % 24 < 12 else "GAD-7",
            s=i % 22,
            d=(i % 12) * 7,
            cond="PTSD" if (i // 24) % 3 else "Major Depressive Disorder",
            site="Main St Clinic",
            sex="F" if (i // 24) % 2 else "M",
        )
        for i in range(120_000)
    ]  # about 6 MB
    rows[500] = rows[500].replace("Main St Clinic", "")
    rows[501] = rows[501].replace("Main St Clinic", "n/a")
    rows[70_000] = rows[70_000].replace("Main St Clinic", "Northside")
    rows.append(rows[0])  # patient P-00000 again at the end (a repeated row)
    text = "Patient ID,Measure,Total Score,Day,Diagnosis,Clinic Location,Sex,Route\n" + "".join(rows)
    assert len(text) > 4 << 20  # (more than one block)
    monkeypatch.setattr(columnar, "RUN_ROWS", 10**9)
    every_row = load(text)
    monkeypatch.setattr(columnar, "RUN_ROWS", 0)
    by_runs = load(text)
    pd.testing.assert_frame_equal(every_row.assessments, by_runs.assessments, check_exact=True)
    pd.testing.assert_frame_equal(every_row.issues, by_runs.issues, check_exact=True)
    a = by_runs.assessments
    assert a[S.PATIENT_ID].nunique() == 5_000 and len(a) == 120_000  # (the repeated row dropped)
    assert a[S.PATIENT_ID].tolist() == [f"P-{i // 24:05d}" for i in range(120_000)]
    assert a[S.SEX].tolist() == ["F" if (i // 24) % 2 else "M" for i in range(120_000)]
    assert a[S.CONDITION].value_counts().to_dict() == {"ptsd": 3_333 * 24, "depression": 1_667 * 24}


def test_quotes_and_carriage_returns_are_found_anywhere_in_a_file_mapped_or_read(monkeypatch, tmp_path):
    # the scans before the parse read pyarrow's map of the file (numpy, slice by slice) or the bytes of an upload
    import pyarrow as pa

    from analysis.ingest import read

    far = b"x" * (9 << 20)  # past the first 4 MB slice of the numpy scan
    cases = [b"", b"abc", b'a"c', far + b"\r", far + b'"', far]
    found = [(read.has_byte(pa.py_buffer(d), b'"'), read.has_byte(pa.py_buffer(d), b"\r")) for d in cases]
    without = [(read.has_byte(d, b'"'), read.has_byte(d, b"\r")) for d in cases]
    assert (
        found
        == without
        == [(False, False), (False, False), (True, False), (False, True), (True, False), (False, False)]
    )
    # a file on disk: a quoted line break far below the first lines is found, and the rows stay the spreadsheet's
    rows = "".join(f"P-{p:04d},PHQ-9,{p % 27},0\n" for p in range(60_000))
    path = tmp_path / "clinic.csv"
    path.write_text("Patient ID,Measure,Total Score,Day\n" + rows + 'P-9999,PHQ-9,"5\n",0\nP-9998,PHQ-9,x,0\n')
    loaded = load_files([path])
    assert loaded.issues[["code", "rows"]].to_dict("records") == [{"code": "NON_NUMERIC_SCORE", "rows": [60_003]}]
    assert len(loaded.assessments) == 60_001 and loaded.assessments[S.SCORE].iloc[-1] == 5


def test_iso_dates_read_as_dates_give_what_reading_them_as_text_gives_and_a_bad_date_far_down_is_still_named(
    monkeypatch,
):
    # a date column whose first 64 KB are ISO dates is parsed by pyarrow as dates (no text, no hashing);
    # a value further down that is not an ISO date makes the column text again, and it is named as before
    from analysis.ingest import columnar

    rows = [f"P-{i // 10:04d},PHQ-9,{i % 27},2024-{1 + i % 12:02d}-{1 + i % 28:02d}\n" for i in range(8_000)]
    rows[3] = rows[3].replace("2024-04-04", " 2024-04-04 ")  # white space around an ISO date: trimmed by both
    rows[7] = rows[7].replace("2024-08-08", "")  # a blank date
    text = "Patient ID,Measure,Total Score,Date Administered\n" + "".join(rows)
    late = text + "P-0001,PHQ-9,4,31/02/2024\nP-0002,PHQ-9,4,not a date\n"
    assert len(text) > 65536
    as_dates, as_dates_late = load(text), load(late)
    monkeypatch.setattr(columnar, "ISO_SAMPLE_BYTES", 0)  # every date read as text
    as_text, as_text_late = load(text), load(late)
    for a, b in ((as_dates, as_text), (as_dates_late, as_text_late)):
        pd.testing.assert_frame_equal(a.assessments, b.assessments, check_exact=True)
        pd.testing.assert_frame_equal(a.issues, b.issues, check_exact=True)
    assert codes(as_dates) == {"DAY0_FIRST_ASSESSMENT", "MISSING_DAY"}
    bad = as_dates_late.issues.set_index("code").loc["BAD_DATE"]
    assert "31/02/2024" not in bad["message"] and "rows 8002, 8003" in bad["message"] and bad["rows"] == [8_002, 8_003]


def issue(loaded, code):
    found = loaded.issues[loaded.issues["code"] == code]
    assert len(found) == 1, loaded.issues
    return found.iloc[0]


def test_an_unreadable_date_is_reported_once_and_a_blank_one_as_missing():
    loaded = load(
        "Patient ID,Measure,Total Score,Date\nA,PHQ-9,10,2024-01-01\nA,PHQ-9,5,2024-13-45\nA,PHQ-9,6,\n"
        "A,PHQ-9,7,2024-01-15\n"
    )
    assert loaded.assessments[S.SCORE].tolist() == [10, 7]
    assert (
        issue(loaded, "BAD_DATE")["rows"] == [3]
        and "those rows were left out (row 3)" in issue(loaded, "BAD_DATE")["message"]
    )
    assert issue(loaded, "MISSING_DAY")["rows"] == [4]  # (row 3 is not listed again)


def test_a_row_whose_date_or_day_is_unreadable_keeps_the_day_the_other_column_gives():
    loaded = load(
        "Patient ID,Measure,Total Score,Date,Day\n"
        "A,PHQ-9,10,2024-01-01,0\n"
        "A,PHQ-9,5,2024-13-45,7\n"  # row 3: unreadable date, the day column gives day 7
        "A,PHQ-9,6,2024-01-10,x\n"  # row 4: unreadable day, the date gives day 9
        "A,PHQ-9,8,,\n"  # row 5: neither
        "A,PHQ-9,9,2024-99-99,\n"
    )  # row 6: unreadable date, no day
    assert loaded.assessments[[S.SCORE, S.DAY]].values.tolist() == [[10, 0], [5, 7], [6, 9]]
    bad_date, bad_day = issue(loaded, "BAD_DATE"), issue(loaded, "BAD_DAY")
    assert bad_date["rows"] == [3, 6]
    assert "the day column gave the day of 1 of them (row 3); 1 were left out (row 6)" in bad_date["message"]
    assert bad_day["rows"] == [4] and "the date gave the day of those rows (row 4)" in bad_day["message"]
    assert issue(loaded, "MISSING_DAY")["rows"] == [5]


def test_a_treatment_with_an_unreadable_date_keeps_its_day_and_is_not_listed_twice():
    loaded = load_files(
        [
            ("a.csv", b"Patient ID,Measure,Total Score,Day\nA,PHQ-9,10,0\nA,PHQ-9,5,4\n"),
            (
                "t.csv",
                b"Patient ID,Kind,Date,Day\nA,induction,2024-01-01,0\nA,induction,2024-02-30,2\n"
                b"A,induction,bad,\nA,booster,,\n",
            ),
        ]
    )
    assert loaded.treatments[S.DAY].tolist() == [0, 2]
    assert issue(loaded, "BAD_DATE")["rows"] == [3, 4]
    assert issue(loaded, "MISSING_DAY")["rows"] == [5]


def test_rows_of_the_second_file_are_named_as_whole_numbers():
    loaded = load_files(
        [
            ("a.csv", b"Patient ID,Measure,Total Score,Day\nA,PHQ-9,10,0\n"),
            ("b.csv", b"Patient ID,Measure,Total Score,Day\nB,PHQ-9,10,0\nB,PHQ-9,10,0\nB,PHQ-9,6,\n"),
        ]
    )
    assert issue(loaded, "DUPLICATE_ROWS")["message"].endswith("(repeats at row 3).")
    assert issue(loaded, "MISSING_DAY")["message"].endswith("left out (row 4).")
    assert [type(r) for r in issue(loaded, "MISSING_DAY")["rows"]] == [int]


def test_only_a_date_column_whose_first_values_are_all_iso_dates_is_parsed_as_dates():
    from analysis.ingest import columnar, read

    def iso(text, dates=frozenset({"Date"})):
        return columnar.iso_columns(read.open_file(text.encode()), set(dates))

    assert iso("ID,Date\nA,2024-01-05\nB,\nC,2024-02-29\n") == {"Date"}
    assert iso("ID,Date\nA,2024-01-05\nB,1/5/2024\nC,2024-02-29\n") == set()  # one US date: text
    assert iso("ID,Date\nA,2024-1-5\nB,2024-01-06\n") == set()  # one-digit month: text (pyarrow refuses it)
    assert iso("ID,Date\nA,\nB,\nC,x\n", dates={"Date"}) == set()
    assert iso("ID,Date\nA,\nB,\n") == set()  # (no date seen: nothing to gain)
    assert iso("ID,Date\nA,2024-01-05\n", dates=set()) == set()


def test_day_0_from_a_treatments_file_whose_patients_differ_from_the_assessments_is_each_patients_own():
    # the first treatment of each patient is found per patient code and looked up by key across the files
    treat = "patient_id,day,kind\nT-9,5,induction\nP-2,3,induction\nP-2,10,booster\nP-1,-2,induction\n"
    assess = "patient_id,instrument,score,day\nP-1,PHQ9,20,0\nP-2,PHQ9,18,3\nP-3,PHQ9,15,7\nP-2,PHQ9,9,10\n"
    loaded = load_files([("a.csv", assess.encode()), ("t.csv", treat.encode())])
    a = loaded.assessments
    assert list(zip(a[S.PATIENT_ID], a[S.DAY])) == [("P-1", 2), ("P-2", 0), ("P-3", 7), ("P-2", 7)]
    assert loaded.treatments[S.DAY].tolist() == [0, 0, 7, 0]


def test_a_long_buffer_searched_in_slices_finds_the_byte_in_either_slice_and_at_the_boundary():
    import pyarrow as pa

    from analysis.ingest import read

    size = 2 * (1 << 22) + 1  # searched in slices of 4 MB: [0, size // 2) first, the rest after
    half = size // 2
    for at in (0, half - 1, half, size - 1):
        data = bytearray(b"x" * size)
        data[at] = ord('"')
        assert read.has_byte(pa.py_buffer(bytes(data)), b'"'), at
        assert not read.has_byte(pa.py_buffer(bytes(data)), b"\r"), at


def test_output_columns_as_parsed_are_not_used_when_more_files_or_a_wide_file_change_the_rows(monkeypatch):
    # a long file's text output columns are the columns as parsed when no step changed them; two assessments
    # files (rows of both), or a wide file (rows melted), must not end with the first file's columns
    from analysis.ingest import columnar

    first = long_export(n_patients=3, visits=2).encode()
    second = (
        long_export(n_patients=2, visits=2, key=lambda p: f"Q-{p:04d}").replace("Main St Clinic", "Northside").encode()
    )
    wide = b"Patient ID,PHQ-9 Day 0,PHQ-9 Day 7,Clinic Location\nP-1,10,8,Lakeview\nP-2,12,,Lakeview\n"
    cases = [[("a.csv", first), ("b.csv", second)], [("wide.csv", wide)], [("a.csv", first)]]
    one_thread = [load_files(c, fast=False) for c in cases]
    monkeypatch.setattr(columnar, "RUN_ROWS", 0)  # every file counts as long
    threads = [load_files(c) for c in cases]
    for before, after in zip(one_thread, threads):
        pd.testing.assert_frame_equal(before.assessments, after.assessments)
        pd.testing.assert_frame_equal(before.issues, after.issues)
    both = threads[0].assessments
    assert (
        both[S.PATIENT_ID].tolist()
        == ["P-0000"] * 2 + ["P-0001"] * 2 + ["P-0002"] * 2 + ["Q-0000"] * 2 + ["Q-0001"] * 2
    )
    assert both[S.SITE].tolist() == ["Main St Clinic"] * 6 + ["Northside"] * 4
    melted = threads[1].assessments
    assert sorted(zip(melted[S.PATIENT_ID], melted[S.DAY], melted[S.SCORE])) == [
        ("P-1", 0, 10),
        ("P-1", 7, 8),
        ("P-2", 0, 12),
    ]
    assert melted[S.SITE].tolist() == ["Lakeview"] * 3


def test_increasing_rows_taken_chunk_by_chunk_are_the_rows_of_the_whole_column():
    import pyarrow as pa

    from analysis.ingest import columnar

    col = pa.chunked_array([["a", "b", "c"], [], ["d"], ["e", "f"], ["g", "h", "i"]], pa.string())
    for rows in ([0], [0, 3, 4], [2, 3, 6], [8], [1, 2, 5, 7, 8], list(range(9))):
        taken = columnar._take_sorted(col, np.array(rows, dtype=np.int64))
        assert taken.to_pylist() == [col.to_pylist()[r] for r in rows], rows


@given(
    st.lists(st.tuples(st.integers(0, 3), st.one_of(st.floats(-5, 90), st.just(float("nan")))), min_size=1, max_size=30)
)
def test_scores_are_proved_within_range_by_runs_exactly_when_every_row_is(rows):
    # each row repeated 8 times: runs of one instrument, as exports list them; limits 0-27, 1-21, 0-80 and a
    # code without limits (NaN), so the smallest / largest score of all proves a limit only when it may
    lows, highs = np.array([0.0, 1.0, 0.0, np.nan]), np.array([27.0, 21.0, 80.0, np.nan])
    codes = np.repeat(np.array([c for c, _ in rows], dtype=np.int8), 8)
    values = np.repeat(np.array([v for _, v in rows]), 8)
    with np.errstate(invalid="ignore"):
        within = not (
            (values < lows[codes]) | (values > highs[codes]) | np.isnan(lows[codes]) & ~np.isnan(values)
        ).any()
    proved = V._within_by_runs(values, codes, lows, highs)
    assert not proved or within
    if not np.isnan(values).any():
        assert proved == within


# --- structured fixes: each front end phrases them; library messages name none ---------------------------
def _every_corpus_load():
    from pathlib import Path

    root = Path(__file__).resolve().parent / "data"
    for folder in ("bad", "unseen"):
        for path in sorted((root / folder).glob("*")):
            if path.suffix not in (".py", ".json", ".md"):
                yield load_files([path])


def test_no_library_message_names_a_front_end():
    for loaded in _every_corpus_load():
        for message in loaded.issues["message"]:
            assert "--map" not in message and "dashboard" not in message.lower(), message
    refused = load("Patient ID,Measure,Score,Visit Date\nA,PHQ-9,20,03/04/2024\n", overrides={"Nope": "ignore"})
    assert not any("--map" in m for m in refused.issues["message"])


def test_every_fix_maps_a_source_column_of_the_file_to_override_targets():
    from analysis.ingest import OVERRIDE_TARGETS

    fixes = [f for loaded in _every_corpus_load() for f in loaded.issues["fix"] if f is not None]
    assert fixes and all(set(f) == {"column", "targets"} and f["targets"] for f in fixes)
    assert all(t in OVERRIDE_TARGETS for f in fixes for t in f["targets"])


def test_the_override_targets_include_the_date_formats_and_ignore():
    from analysis.ingest import DATE_DMY, DATE_MDY, DATE_YMD, OVERRIDE_TARGETS

    assert {S.PATIENT_ID, S.DATE, DATE_DMY, DATE_MDY, DATE_YMD, "ignore", "age"} <= set(OVERRIDE_TARGETS)


def test_a_refused_file_keeps_the_mapping_of_its_columns_and_its_fix_lets_it_through():
    text = "Patient ID,Measure,Score,Visit Date\nA,PHQ-9,20,03/04/2024\nA,PHQ-9,8,05/04/2024\n"
    refused = load(text)
    assert not refused.ok
    assert refused.mapping[["source", "target"]].values.tolist() == [
        ["Patient ID", S.PATIENT_ID],
        ["Measure", S.INSTRUMENT],
        ["Score", S.SCORE],
        ["Visit Date", S.DATE],
    ]
    fix = issue(refused, "AMBIGUOUS_DATES")["fix"]
    assert load(text, overrides={fix["column"]: fix["targets"][0]}).ok


def test_a_missing_patient_key_suggests_a_column_that_looks_like_one():
    loaded = load("Pt Ref,Measure,Total Score,Day\nA,PHQ-9,20,0\n")
    assert issue(loaded, "MISSING_COLUMNS")["fix"] == {"column": "Pt Ref", "targets": [S.PATIENT_ID]}
    assert issue(load("Measure,Score,Day\nPHQ-9,3,0\n"), "MISSING_COLUMNS")["fix"] is None


def test_the_fast_path_switched_off_gives_the_same_tables():
    text = long_export()
    fast, general = load(text), load(text, fast=False)
    pd.testing.assert_frame_equal(fast.assessments, general.assessments, check_exact=True)
    pd.testing.assert_frame_equal(fast.issues, general.issues, check_exact=True)
