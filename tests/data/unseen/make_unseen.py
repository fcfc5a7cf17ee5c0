"""Writes the "unseen exports" set (this folder) and expected.json: exports the importer's author never saw.

Run from the repository root: .venv/bin/python tests/data/unseen/make_unseen.py
Every file is written byte for byte by this script, so the set is reproducible.

Each case is a realistic file (or pair of files) as an EHR or practice-management system, a spreadsheet or a
report writer produces it, with the outcome DESIGN.md and issue 2 call for, worked out by hand from those
texts (not by running the importer). Keys of a case in expected.json:

- files, args: what `python -m analysis validate --json FILES ARGS` is given;
- ok, rows_kept, patients, instruments: the JSON report's values (instruments as a sorted list);
- codes: issue codes that must appear; codes_any: at least one of these must appear;
- issue_rows: {code: rows} the spreadsheet row numbers (header = row 1) that issues of that code must list;
- words: words that must appear (case-sensitive) in one single issue message; for a refusal that issue
  must be an error (what the office manager reads);
- unused: source columns that must not be mapped to anything (the mapping says "unused");
- no_warnings: the file is clean, so no warning or error may be reported;
- rows: the exact canonical assessments [patient_id, instrument, score, day], sorted;
- attributes: {patient_id: {column: value or null}} on the canonical assessments;
- treatments: the exact canonical treatments [patient_id, day, kind, route, dose_mg_per_kg], sorted;
- why: the decision, with the DESIGN text that makes it;
- xfail: {"cli": reason, "rows": reason}: a disagreement that is an importer bug (filled after running).
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent


def csv(*rows: str, eol: str = "\n", final: bool = True) -> bytes:
    return (eol.join(rows) + (eol if final else "")).encode("utf-8")


def cases() -> list[dict]:
    c: list[dict] = []

    def add(files, ok, kept, patients, instruments, why, **extra):
        """files: [(name, bytes)]; the rest is the expected outcome."""
        c.append(
            {
                "files": [f[0] for f in files],
                "data": [f[1] for f in files],
                "args": extra.pop("args", []),
                "ok": ok,
                "rows_kept": kept,
                "patients": patients,
                "instruments": sorted(instruments),
                "codes": extra.pop("codes", []),
                "codes_any": extra.pop("codes_any", []),
                "issue_rows": extra.pop("issue_rows", {}),
                "words": extra.pop("words", []),
                "unused": extra.pop("unused", []),
                "no_warnings": extra.pop("no_warnings", False),
                "rows": extra.pop("rows", None),
                "attributes": extra.pop("attributes", None),
                "treatments": extra.pop("treatments", None),
                "why": why,
                "xfail": XFAIL.get(files[0][0], {}),
            }
        )
        assert not extra, extra

    # ---- the control -------------------------------------------------------------------------------------
    add(
        [
            (
                "control_clean_export.csv",
                csv(
                    "Patient ID,Measure,Total Score,Day,Diagnosis,Clinic Location,Sex",
                    "K-0101,PHQ-9,22,-3,Major Depressive Disorder,Main St Clinic,F",
                    "K-0101,PHQ-9,11,16,Major Depressive Disorder,Main St Clinic,F",
                    "K-0101,PHQ-9,4,45,Major Depressive Disorder,Main St Clinic,F",
                    "K-0102,GAD-7,17,0,Generalized Anxiety Disorder,Northside,M",
                    "K-0102,GAD-7,8,21,Generalized Anxiety Disorder,Northside,M",
                    "K-0103,PCL-5,61,-1,PTSD,Northside,X",
                    "K-0103,PCL-5,38,28,PTSD,Northside,X",
                ),
            )
        ],
        True,
        7,
        3,
        ["PHQ9", "GAD7", "PCL5"],
        "A clean file with known synonyms: every row kept as is, nothing to report.",
        no_warnings=True,
        rows=[
            ["K-0101", "PHQ9", 22, -3],
            ["K-0101", "PHQ9", 11, 16],
            ["K-0101", "PHQ9", 4, 45],
            ["K-0102", "GAD7", 17, 0],
            ["K-0102", "GAD7", 8, 21],
            ["K-0103", "PCL5", 61, -1],
            ["K-0103", "PCL5", 38, 28],
        ],
        attributes={
            "K-0101": {"condition": "depression", "site": "Main St Clinic", "sex": "F"},
            "K-0103": {"condition": "ptsd", "sex": "X"},
        },
    )

    # ---- vendor column names -----------------------------------------------------------------------------
    add(
        [
            (
                "vendor_client_id_assessment_name.csv",
                csv(
                    "Client ID,Assessment Name,Total,Day,Location Name,Provider,Program",
                    'C-1001,PHQ-9,19,0,Downtown Office,"Dr. Maria Lopez",Ketamine IV',
                    'C-1001,PHQ-9,8,21,Downtown Office,"Dr. Maria Lopez",Ketamine IV',
                    'C-1002,GAD-7,14,0,Westside,"Sam Patel, NP",Ketamine IV',
                    'C-1002,GAD-7,5,28,Westside,"Sam Patel, NP",Ketamine IV',
                ),
            )
        ],
        True,
        4,
        2,
        ["PHQ9", "GAD7"],
        "Practice-management names (SimplePractice/TherapyNotes style): 'Client ID' is the patient key, "
        "'Assessment Name' the instrument, 'Total' the score, 'Location Name' the site (DESIGN: the importer maps "
        "known synonyms). 'Provider' is the clinician, not the patient: not a direct identifier of the patient, "
        "so not refused; it and 'Program' are simply not used.",
        unused=["Provider", "Program"],
        rows=[
            ["C-1001", "PHQ9", 19, 0],
            ["C-1001", "PHQ9", 8, 21],
            ["C-1002", "GAD7", 14, 0],
            ["C-1002", "GAD7", 5, 28],
        ],
        attributes={"C-1001": {"site": "Downtown Office"}, "C-1002": {"site": "Westside"}},
    )

    # ---- dates as exports write them ---------------------------------------------------------------------
    add(
        [
            (
                "completed_on_us_datetime.csv",
                csv(
                    "Patient ID,Measure,Score,Completed On",
                    "P-01,PHQ-9,22,03/14/2025 10:32 AM",
                    "P-01,PHQ-9,15,03/21/2025 9:05 AM",
                    "P-01,PHQ-9,9,03/28/2025 2:45 PM",
                    "P-02,GAD-7,17,03/17/2025 11:00 AM",
                    "P-02,GAD-7,12,04/15/2025 4:30 PM",
                ),
            )
        ],
        True,
        5,
        2,
        ["PHQ9", "GAD7"],
        "US dates with a 12-hour time (day-of-month > 12 proves month-first). The time is dropped; day 0 is "
        "the first assessment date (no treatments file): 03/14 -> 0, 03/21 -> 7, 03/28 -> 14; 03/17 -> 0, "
        "04/15 -> 29.",
        codes=["DAY0_FIRST_ASSESSMENT"],
        rows=[
            ["P-01", "PHQ9", 22, 0],
            ["P-01", "PHQ9", 15, 7],
            ["P-01", "PHQ9", 9, 14],
            ["P-02", "GAD7", 17, 0],
            ["P-02", "GAD7", 12, 29],
        ],
        attributes={"P-01": {"start_month": "2025-03"}, "P-02": {"start_month": "2025-03"}},
    )

    add(
        [
            (
                "us_datetime_all_days_under_13.csv",
                csv(
                    "Patient ID,Measure,Score,Completed On",
                    "P-01,PHQ-9,22,03/04/2025 10:32 AM",
                    "P-01,PHQ-9,15,03/11/2025 9:00 AM",
                    "P-01,PHQ-9,9,04/01/2025 2:00 PM",
                ),
            )
        ],
        False,
        0,
        0,
        [],
        "Every day-of-month is <= 12, so 03/04 may be March 4 or April 3: the lead's rule is to refuse rather "
        "than guess (AMBIGUOUS_DATES), also when the dates carry a time, naming the column.",
        codes=["AMBIGUOUS_DATES"],
        words=["Completed On"],
    )

    add(
        [
            (
                "iso_datetime_utc.csv",
                csv(
                    "Patient ID,Measure,Score,Date Administered",
                    "P-01,PHQ-9,20,2025-03-14T15:32:00Z",
                    "P-01,PHQ-9,11,2025-03-28T16:05:10.123Z",
                    "P-01,PHQ-9,6,2025-04-11T15:00:00+00:00",
                ),
            )
        ],
        True,
        3,
        1,
        ["PHQ9"],
        "ISO 8601 timestamps (T, fractional seconds, Z or +00:00) as APIs and FHIR exports write them; times "
        "are mid-afternoon UTC so the calendar date is the same in every US time zone: days 0, 14, 28.",
        rows=[["P-01", "PHQ9", 20, 0], ["P-01", "PHQ9", 11, 14], ["P-01", "PHQ9", 6, 28]],
        attributes={"P-01": {"start_month": "2025-03"}},
    )

    add(
        [
            (
                "month_name_dates.csv",
                csv(
                    "Patient ID,Measure,Score,Visit Date",
                    "P-01,PHQ-9,18,14-Mar-2025",
                    "P-01,PHQ-9,10,28-Mar-2025",
                    "P-01,PHQ-9,7,04-Apr-2025",
                    "P-02,PCL-5,52,03-Mar-2025",
                    "P-02,PCL-5,30,24-Mar-2025",
                ),
            )
        ],
        True,
        5,
        2,
        ["PHQ9", "PCL5"],
        "Dates with month names (Excel's d-mmm-yyyy) are unambiguous: 14-Mar -> 0, 28-Mar -> 14, 04-Apr -> 21; "
        "03-Mar -> 0, 24-Mar -> 21.",
        rows=[
            ["P-01", "PHQ9", 18, 0],
            ["P-01", "PHQ9", 10, 14],
            ["P-01", "PHQ9", 7, 21],
            ["P-02", "PCL5", 52, 0],
            ["P-02", "PCL5", 30, 21],
        ],
    )

    add(
        [
            (
                "two_digit_year_dates.csv",
                csv(
                    "Patient ID,Measure,Score,Date",
                    "P-01,GAD-7,16,3/14/25",
                    "P-01,GAD-7,9,3/28/25",
                    "P-01,GAD-7,4,4/25/25",
                ),
            )
        ],
        True,
        3,
        1,
        ["GAD7"],
        "Excel's short US format m/d/yy: 25 is 2025 (not 0025 nor 1925), so the start month is 2025-03; "
        "days 0, 14, 42.",
        rows=[["P-01", "GAD7", 16, 0], ["P-01", "GAD7", 9, 14], ["P-01", "GAD7", 4, 42]],
        attributes={"P-01": {"start_month": "2025-03"}},
    )

    add(
        [
            (
                "excel_serial_with_time.csv",
                csv(
                    "Patient ID,Measure,Score,Date Completed",
                    "P-01,PHQ-9,21,45730.4375",
                    "P-01,PHQ-9,12,45744.6",
                    "P-01,PHQ-9,8,45758.25",
                ),
            )
        ],
        True,
        3,
        1,
        ["PHQ9"],
        "Excel serial date-times (a date column pasted as General): 45730 is 2025-03-14, the fraction is the "
        "time of day: days 0, 14, 28.",
        rows=[["P-01", "PHQ9", 21, 0], ["P-01", "PHQ9", 12, 14], ["P-01", "PHQ9", 8, 28]],
        attributes={"P-01": {"start_month": "2025-03"}},
    )

    add(
        [
            (
                "date_and_day_disagree.csv",
                csv(
                    "Patient ID,Measure,Score,Date,Day",
                    "P-01,PHQ-9,20,2025-03-03,0",
                    "P-01,PHQ-9,12,2025-03-17,14",
                    "P-01,PHQ-9,7,2025-04-14,28",
                ),
            )
        ],
        True,
        3,
        1,
        ["PHQ9"],
        "Both a date and a day column, and the third date is 42 days after the first, not 28: one of the two "
        "columns is wrong and the office manager must be told (a warning naming both columns), not left to find "
        "out later. The lead's decision (2026-11-21): the Date wins when a row has both, since day 0 is computed "
        "from dates consistently (the warning says so), so the days are 0, 14, 42.",
        codes=["DATE_DAY_DISAGREE"],
        issue_rows={"DATE_DAY_DISAGREE": [4]},
        words=["Date", "Day", "used"],
        rows=[["P-01", "PHQ9", 20, 0], ["P-01", "PHQ9", 12, 14], ["P-01", "PHQ9", 7, 42]],
    )

    # ---- report writers, spreadsheets, Macs ------------------------------------------------------------------
    add(
        [
            (
                "report_title_block_and_totals.csv",
                csv(
                    "Ketamine Clinic - Outcome Measures Report",
                    "Run Date: 04/01/2025 08:00",
                    "Department: INTERVENTIONAL PSYCHIATRY",
                    "",
                    "Patient ID,Measure,Score,Day",
                    "P-01,PHQ-9,21,0",
                    "P-01,PHQ-9,10,14",
                    "P-02,PHQ-9,17,0",
                    "P-02,PHQ-9,7,21",
                    "",
                    "Total,,55,",
                    "Average,,13.75,",
                    eol="\r\n",
                ),
            )
        ],
        True,
        4,
        2,
        ["PHQ9"],
        "A report-writer export: a title block above the header (skipped, PREAMBLE_SKIPPED) and a Total and an "
        "Average line at the bottom, which are not patients: 4 scores of 2 patients.",
        codes=["PREAMBLE_SKIPPED"],
        rows=[["P-01", "PHQ9", 21, 0], ["P-01", "PHQ9", 10, 14], ["P-02", "PHQ9", 17, 0], ["P-02", "PHQ9", 7, 21]],
    )

    add(
        [
            (
                "google_sheets_trailing_empty_columns.csv",
                csv(
                    "Patient ID,Measure,Score,Date,,,",
                    "P-01,PHQ-9,19,3/14/2025,,,",
                    "P-01,PHQ-9,9,3/28/2025,,,",
                    "P-02,GAD-7,13,3/20/2025,,,",
                    eol="\r\n",
                    final=False,
                ),
            )
        ],
        True,
        3,
        2,
        ["PHQ9", "GAD7"],
        "Google Sheets' File > Download > CSV: CRLF, no newline at the end, and empty columns (with empty "
        "headers) that the sheet had: the empty columns are ignored, nothing is refused. Days 0, 14; 0.",
        rows=[["P-01", "PHQ9", 19, 0], ["P-01", "PHQ9", 9, 14], ["P-02", "GAD7", 13, 0]],
    )

    add(
        [
            (
                "numbers_mac_bom_semicolon.csv",
                b"\xef\xbb\xbf"
                + csv(
                    '"Patient ID";"Measure";"Score";"Date";"Diagnosis"',
                    '"P-01";"PHQ-9";"21";"14.03.2025";"Depression"',
                    '"P-01";"PHQ-9";"9";"28.03.2025";"Depression"',
                    '"P-02";"Pain NRS";"6,5";"17.03.2025";"Chronic Pain"',
                    '"P-02";"Pain NRS";"3,5";"07.04.2025";"Chronic Pain"',
                ),
            )
        ],
        True,
        4,
        2,
        ["PHQ9", "PAIN_NRS"],
        "Apple Numbers in a European locale: UTF-8 BOM, every field quoted, semicolons, decimal commas, "
        "dd.mm.yyyy (day 14/28/17 > 12 proves day-first). Days 0, 14; 0, 21; pain 6.5 and 3.5.",
        rows=[
            ["P-01", "PHQ9", 21, 0],
            ["P-01", "PHQ9", 9, 14],
            ["P-02", "PAIN_NRS", 6.5, 0],
            ["P-02", "PAIN_NRS", 3.5, 21],
        ],
        attributes={"P-02": {"condition": "chronic_pain"}},
    )

    # ---- scores as people write them ---------------------------------------------------------------------
    add(
        [
            (
                "score_text_forms.csv",
                csv(
                    "Patient ID,Measure,Score,Day",
                    "P-01,PHQ-9,21,0",
                    "P-01,PHQ-9,9/27,14",
                    "P-01,PHQ-9,15 (moderately severe),21",
                    "P-01,PHQ-9,Moderate,28",
                    "P-01,PHQ-9,6,35",
                ),
            )
        ],
        True,
        3,
        1,
        ["PHQ9"],
        "Issue 2 lists the score forms accepted (numbers, decimal commas, whitespace); anything else is "
        "'non-numeric: row dropped with a warning listing the rows'. Issue 16 accepts a score with its stated "
        "maximum when the maximum is the instrument's ('9/27' of a PHQ-9: 9). '15 (moderately severe)' and a "
        "severity word are not plain numbers: rows 4-5 dropped, not guessed.",
        codes=["NON_NUMERIC_SCORE", "SCORE_OUT_OF"],
        issue_rows={"NON_NUMERIC_SCORE": [4, 5]},
        rows=[["P-01", "PHQ9", 21, 0], ["P-01", "PHQ9", 9, 14], ["P-01", "PHQ9", 6, 35]],
    )

    add(
        [("percent_scores.csv", csv("Patient ID,Measure,Score,Day", "P-01,PCL-5,55%,0", "P-01,PCL-5,30%,28"))],
        False,
        0,
        0,
        [],
        "Scores as percentages of the maximum: '55%' is not a PCL-5 total (stripping the % would silently keep "
        "55 and 30, in range, and wrong). Non-numeric rows are dropped; none is left: refused.",
        codes=["NON_NUMERIC_SCORE", "NO_ROWS_KEPT"],
    )

    add(
        [
            (
                "negative_and_fractional_scores.csv",
                csv(
                    "Patient ID,Measure,Score,Day",
                    "P-01,PHQ-9,21,0",
                    "P-01,PHQ-9,-3,14",
                    "P-01,PHQ-9,27.5,21",
                    "P-01,PHQ-9,9,28",
                    "P-02,Pain NRS,7.5,0",
                    "P-02,Pain NRS,10.5,14",
                ),
            )
        ],
        True,
        3,
        2,
        ["PHQ9", "PAIN_NRS"],
        "Out of the instrument's range (PHQ-9 0-27, NRS 0-10) -> dropped with OUT_OF_RANGE (rows 3, 4, 7); "
        "7.5 on the NRS is inside the range and kept.",
        codes=["OUT_OF_RANGE"],
        issue_rows={"OUT_OF_RANGE": [3, 4, 7]},
        rows=[["P-01", "PHQ9", 21, 0], ["P-01", "PHQ9", 9, 28], ["P-02", "PAIN_NRS", 7.5, 0]],
    )

    add(
        [
            (
                "null_markers.csv",
                csv(
                    "Patient ID,Measure,Score,Day,Clinic Location",
                    "P-01,PHQ-9,21,0,NULL",
                    "P-01,PHQ-9,NULL,7,NULL",
                    "P-01,PHQ-9,None,14,NULL",
                    "P-01,PHQ-9,#N/A,21,NULL",
                    "P-01,PHQ-9,-,28,NULL",
                    "P-01,PHQ-9,?,35,NULL",
                    "P-01,PHQ-9,9,42,NULL",
                    "#N/A,PHQ-9,12,0,Northside",
                    "NULL,GAD-7,10,0,Northside",
                ),
            )
        ],
        True,
        2,
        1,
        ["PHQ9"],
        "Database and spreadsheet spellings of 'missing' (NULL, None, #N/A, -, ?): the scores of rows 3-7 are "
        "missing or not numbers (dropped, listed); ids '#N/A' (a failed VLOOKUP) and 'NULL' are missing ids, "
        "not patients (rows 9, 10, MISSING_ID); a site 'NULL' is no site.",
        codes=["MISSING_ID"],
        codes_any=["MISSING_SCORE", "NON_NUMERIC_SCORE"],
        issue_rows={"MISSING_ID": [9, 10]},
        rows=[["P-01", "PHQ9", 21, 0], ["P-01", "PHQ9", 9, 42]],
        attributes={"P-01": {"site": None}},
    )

    add(
        [
            (
                "phq9_items_and_total.csv",
                csv(
                    "Patient ID,Measure,Date Completed,Q1,Q2,Q3,Q4,Q5,Q6,Q7,Q8,Q9,Total Score",
                    "P-01,PHQ-9,2025-03-03,3,3,2,3,2,2,3,2,1,21",
                    "P-01,PHQ-9,2025-03-17,1,1,1,1,1,1,1,1,0,8",
                ),
            )
        ],
        True,
        2,
        1,
        ["PHQ9"],
        "Item columns beside the total: the total is the score (DESIGN: score = total score), the items are "
        "not used. Days 0, 14.",
        unused=[f"Q{i}" for i in range(1, 10)],
        rows=[["P-01", "PHQ9", 21, 0], ["P-01", "PHQ9", 8, 14]],
    )

    add(
        [
            (
                "phq9_item_columns_no_total.csv",
                csv(
                    "Patient ID,Date Completed,PHQ9_1,PHQ9_2,PHQ9_3,PHQ9_4,PHQ9_5,PHQ9_6,PHQ9_7,PHQ9_8,PHQ9_9",
                    "P-01,2025-03-03,3,3,2,3,2,2,3,2,1",
                    "P-01,2025-03-17,1,1,1,1,1,1,1,1,0",
                ),
            )
        ],
        True,
        2,
        1,
        ["PHQ9"],
        "REDCap-style item columns phq9_1..phq9_9 and no total: the items must not be read as a wide file with "
        "visits 1..9 (that would invent 18 PHQ-9 totals of 0-3). Issue 16 scores item-level scales: the nine "
        "items are summed to the total (21 and 8), item 9 kept as phq9_item9.",
        codes=["ITEMS_SUMMED"],
        rows=[["P-01", "PHQ9", 21, 0], ["P-01", "PHQ9", 8, 14]],
    )

    # ---- treatments as vendors write them ----------------------------------------------------------------
    add(
        [
            (
                "vendor_assessments_for_treatments.csv",
                csv(
                    "Patient ID,Measure,Score,Date Administered",
                    "P-01,PHQ-9,22,03/01/2025",
                    "P-01,PHQ-9,10,03/17/2025",
                    "P-01,PHQ-9,12,04/28/2025",
                    "P-02,PHQ-9,19,03/10/2025",
                    "P-02,PHQ-9,9,03/31/2025",
                ),
            ),
            (
                "vendor_treatments_visit_types.csv",
                csv(
                    "Patient ID,Appointment Date,Infusion #,Visit Type,Route,Dose",
                    "P-01,03/03/2025,1,Induction,IV Ketamine,0.5 mg/kg",
                    "P-01,03/05/2025,2,Induction,IV Ketamine,0.5 mg/kg",
                    "P-01,03/07/2025,3,Induction,IV Ketamine,0.75 mg/kg",
                    "P-01,04/18/2025,4,Booster,IV Ketamine,0.75 mg/kg",
                    "P-02,03/10/2025,1,Induction,Spravato (esketamine),56 mg",
                    "P-02,03/13/2025,2,Induction,Spravato (esketamine),84 mg",
                ),
            ),
        ],
        True,
        5,
        2,
        ["PHQ9"],
        "A treatments file recognised by its columns ('Visit Type' = kind, 'Appointment Date' = date); routes "
        "'IV Ketamine' -> IV, 'Spravato (esketamine)' -> esketamine; doses '0.5 mg/kg' -> 0.5, but '56 mg' is "
        "not per kg and must not become 56 mg/kg (missing). Day 0 = first treatment: P-01 03/03 (assessments "
        "-2, 14, 56; treatments 0, 2, 4, 46), P-02 03/10 (assessments 0, 21; treatments 0, 3).",
        unused=["Infusion #"],
        rows=[
            ["P-01", "PHQ9", 10, 14],
            ["P-01", "PHQ9", 12, 56],
            ["P-01", "PHQ9", 22, -2],
            ["P-02", "PHQ9", 9, 21],
            ["P-02", "PHQ9", 19, 0],
        ],
        treatments=[
            ["P-01", 0, "induction", "IV", 0.5],
            ["P-01", 2, "induction", "IV", 0.5],
            ["P-01", 4, "induction", "IV", 0.75],
            ["P-01", 46, "booster", "IV", 0.75],
            ["P-02", 0, "induction", "esketamine", None],
            ["P-02", 3, "induction", "esketamine", None],
        ],
        attributes={"P-01": {"start_month": "2025-03"}},
    )

    # ---- two exports of the same practice ----------------------------------------------------------------
    header = "Patient ID,Measure,Score,Date Administered"
    add(
        [
            (
                "january_export.csv",
                csv(
                    header,
                    "P-01,PHQ-9,21,2025-01-06",
                    "P-01,PHQ-9,12,2025-01-20",
                    "P-02,PHQ-9,18,2025-01-13",
                    "P-02,PHQ-9,11,2025-01-27",
                ),
            ),
            (
                "february_export.csv",
                csv(
                    header,
                    "P-01,PHQ-9,12,2025-01-20",
                    "P-01,PHQ-9,8,2025-02-03",
                    "P-02,PHQ-9,11,2025-01-27",
                    "P-02,PHQ-9,9,2025-02-10",
                    "P-03,PHQ-9,15,2025-02-05",
                ),
            ),
        ],
        True,
        7,
        3,
        ["PHQ9"],
        "Two monthly exports whose date ranges overlap: day 0 is the patient's first assessment over both "
        "files (P-01 01-06, P-02 01-13), so the repeated rows are exact duplicates (kept once, DUPLICATE_ROWS): "
        "7 scores, not 9.",
        codes=["DUPLICATE_ROWS"],
        rows=[
            ["P-01", "PHQ9", 8, 28],
            ["P-01", "PHQ9", 12, 14],
            ["P-01", "PHQ9", 21, 0],
            ["P-02", "PHQ9", 9, 28],
            ["P-02", "PHQ9", 11, 14],
            ["P-02", "PHQ9", 18, 0],
            ["P-03", "PHQ9", 15, 0],
        ],
    )

    # ---- patient attributes --------------------------------------------------------------------------------
    add(
        [
            (
                "age_column_90_plus.csv",
                csv(
                    "Patient ID,Measure,Score,Day,Age",
                    "P-01,PHQ-9,20,0,34",
                    "P-02,PHQ-9,18,0,90+",
                    "P-03,PHQ-9,16,0,> 89",
                    "P-04,PHQ-9,14,0,67",
                    "P-05,PHQ-9,12,0,89",
                ),
            )
        ],
        True,
        5,
        5,
        ["PHQ9"],
        "An age column becomes age_band (ages over 89 -> '90+'); EHRs already write '90+' or '> 89' for them "
        "(Safe Harbor), which are the band 90+, not unreadable values.",
        unused=[],
        attributes={
            "P-01": {"age_band": "25-34"},
            "P-02": {"age_band": "90+"},
            "P-03": {"age_band": "90+"},
            "P-04": {"age_band": "65-74"},
            "P-05": {"age_band": "75-89"},
        },
    )

    add(
        [
            (
                "gender_spellings.csv",
                csv(
                    "Patient ID,Measure,Score,Day,Gender",
                    "P-01,GAD-7,15,0,Female",
                    "P-02,GAD-7,12,0,male",
                    "P-03,GAD-7,18,0,Non-binary",
                    "P-04,GAD-7,9,0,Unknown",
                ),
            )
        ],
        True,
        4,
        4,
        ["GAD7"],
        "'Gender' spelt out as EHRs do: Female -> F, male -> M, Non-binary -> X (schema.SEXES), Unknown -> "
        "missing; never four new categories.",
        attributes={"P-01": {"sex": "F"}, "P-02": {"sex": "M"}, "P-03": {"sex": "X"}, "P-04": {"sex": None}},
    )

    # ---- patient ids ---------------------------------------------------------------------------------------
    add(
        [
            (
                "leading_zero_and_long_ids.csv",
                csv(
                    "Patient ID,Measure,Score,Day",
                    "000123,PHQ-9,20,0",
                    "000123,PHQ-9,9,14",
                    "000124,PHQ-9,17,0",
                    "98765432109876543210,PHQ-9,15,0",
                ),
            )
        ],
        True,
        4,
        3,
        ["PHQ9"],
        "Ids are text (schema: patient_id str): '000123' stays '000123', and a 20-digit id (beyond int64) is "
        "not turned into a float.",
        rows=[
            ["000123", "PHQ9", 9, 14],
            ["000123", "PHQ9", 20, 0],
            ["000124", "PHQ9", 17, 0],
            ["98765432109876543210", "PHQ9", 15, 0],
        ],
    )

    add(
        [
            (
                "scientific_notation_ids.csv",
                csv(
                    "Patient ID,Measure,Score,Day",
                    "1e5,PHQ-9,20,0",
                    "1e5,PHQ-9,8,14",
                    "2E3,PHQ-9,17,0",
                    "100000,PHQ-9,13,0",
                ),
            )
        ],
        True,
        4,
        3,
        ["PHQ9"],
        "'1e5' is an id, not 100000.0: three patients (1e5, 2E3, 100000), not two.",
        rows=[["100000", "PHQ9", 13, 0], ["1e5", "PHQ9", 20, 0], ["1e5", "PHQ9", 8, 14], ["2E3", "PHQ9", 17, 0]],
    )

    add(
        [
            (
                "padded_ids.csv",
                csv(
                    "Patient ID,Measure,Score,Day",
                    " P1,PHQ-9,20,0",
                    "P1 ,PHQ-9,11,14",
                    "P1,PHQ-9,6,28",
                    "P2\u00a0,PHQ-9,18,0",
                    "P2,PHQ-9,9,21",
                ),
            )
        ],
        True,
        5,
        2,
        ["PHQ9"],
        "Decision: spaces around an id (including Excel's non-breaking space) are padding, not part of the key: "
        "' P1', 'P1 ' and 'P1' are one patient, 'P2\\u00a0' and 'P2' another (the id is stored stripped).",
        rows=[
            ["P1", "PHQ9", 11, 14],
            ["P1", "PHQ9", 20, 0],
            ["P1", "PHQ9", 6, 28],
            ["P2", "PHQ9", 18, 0],
            ["P2", "PHQ9", 9, 21],
        ],
    )

    # ---- PHI --------------------------------------------------------------------------------------------------
    add(
        [
            (
                "patient_mrn_as_key.csv",
                csv("Patient MRN,Measure,Score,Day", "PSN-0001,PHQ-9,20,0", "PSN-0001,PHQ-9,9,14"),
            )
        ],
        False,
        0,
        0,
        [],
        "A column named MRN is PHI by the lead's rule even when its values look pseudonymous (the importer "
        "cannot know): refused, naming the column; it must not be taken as the patient key.",
        codes=["PHI_COLUMNS"],
        words=["Patient MRN"],
    )

    add(
        [
            (
                "names_in_notes.csv",
                csv(
                    "Patient ID,Measure,Score,Day,Notes",
                    "P-01,PHQ-9,20,0,pt John Smith called re nausea",
                    "P-01,PHQ-9,9,14,spoke w/ wife Mary",
                    "P-02,GAD-7,12,0,",
                ),
            )
        ],
        True,
        3,
        2,
        ["PHQ9", "GAD7"],
        "Decision by issue 2 item 5: values are refused when they look like e-mails, phones or SSNs; names in "
        "free text cannot be recognised reliably and are not in that list. The Notes column is not a canonical "
        "column, so it is not used and nothing of it is stored.",
        unused=["Notes"],
    )

    add(
        [
            (
                "phone_formats_in_messages.csv",
                csv(
                    "Patient ID,Measure,Score,Day,Message",
                    "P-01,PHQ-9,20,0,left vm 555.867.5309",
                    "P-01,PHQ-9,9,14,ok",
                    "P-02,GAD-7,12,0,cb +1 555 867 5309",
                    "P-02,GAD-7,5,21,call 5558675309 after 5",
                ),
            )
        ],
        False,
        0,
        0,
        [],
        "Phone numbers written with dots, with +1 and spaces, and as ten bare digits: PHI values, refused "
        "naming the column; rows 2, 4, 5.",
        codes=["PHI_VALUES"],
        words=["Message"],
        issue_rows={"PHI_VALUES": [2, 4, 5]},
    )

    add(
        [
            (
                "clinical_notes_without_phi.csv",
                csv(
                    "Patient ID,Measure,Score,Date Administered,Notes",
                    "P-000123,PHQ-9,20,2025-03-03,0.5 mg/kg over 40 min; BP 128/82 -> 122/80; HR 72",
                    "P-000123,PHQ-9,9,2025-03-17,F33.2; next visit 2025-03-31 10:30; Rm 101",
                    "P-000124,GAD-7,12,2025-03-04,dose 35 mg; 2 of 6; SpO2 98%",
                ),
            )
        ],
        True,
        3,
        2,
        ["PHQ9", "GAD7"],
        "Ordinary clinical shorthand (doses, blood pressure, ICD-10 codes, ISO dates with times, room numbers) "
        "is not a phone, e-mail or SSN (issue 2: don't flag dates, ISO dates, decimals or ids): usable.",
        unused=["Notes"],
        codes=["DAY0_FIRST_ASSESSMENT"],
        rows=[["P-000123", "PHQ9", 20, 0], ["P-000123", "PHQ9", 9, 14], ["P-000124", "GAD7", 12, 0]],
    )

    add(
        [
            (
                "birth_year.csv",
                csv("Patient ID,Measure,Score,Day,Birth Year", "P-01,PHQ-9,20,0,1961", "P-02,PHQ-9,18,0,1930"),
            )
        ],
        False,
        0,
        0,
        [],
        "Decision: HIPAA Safe Harbor allows the year of birth except where it reveals an age over 89, and the "
        "DESIGN keeps no date of the patient but the start month (ages become bands, DOB refused). 1930 reveals "
        "an age of 95 at a 2025 visit, so a birth-year column is a date-of-birth element: refused naming it.",
        codes=["PHI_COLUMNS"],
        words=["Birth Year"],
    )

    add(
        [
            (
                "postal_code_full.csv",
                csv("Patient ID,Measure,Score,Day,Postal", "P-01,PHQ-9,20,0,02139-4307", "P-02,PHQ-9,18,0,94110"),
            )
        ],
        False,
        0,
        0,
        [],
        "A full ZIP (5 digits or ZIP+4) under the name 'Postal' is still a full ZIP: PHI column, refused naming it.",
        codes=["PHI_COLUMNS"],
        words=["Postal"],
    )

    add(
        [
            (
                "zip_column_three_digits.csv",
                csv(
                    "Patient ID,Measure,Score,Day,Zip",
                    "P-01,PHQ-9,20,0,021",
                    "P-01,PHQ-9,9,14,021",
                    "P-02,PHQ-9,18,0,941",
                ),
            )
        ],
        True,
        3,
        2,
        ["PHQ9"],
        "A 'Zip' column holding only 3-digit prefixes is a ZIP3 (allowed, as zip3_is_fine.csv), not a full ZIP: "
        "the guard must look at the values, not only at the name 'Zip'. The column is not used.",
        unused=["Zip"],
    )
    # ---- more shapes real exports take --------------------------------------------------------------------
    add(
        [
            (
                "wide_week_labels.csv",
                csv(
                    "Patient ID,Diagnosis,PHQ-9 Week 0,PHQ-9 (Week 4),PHQ9 - Week 8",
                    "P-01,MDD,22,11,9",
                    "P-02,MDD,18,,7",
                ),
            )
        ],
        True,
        5,
        2,
        ["PHQ9"],
        "A wide file whose visit columns are written three ways ('PHQ-9 Week 0', 'PHQ-9 (Week 4)', "
        "'PHQ9 - Week 8'): the lead's rule 'Week N -> 7N' gives days 0, 28, 56; the empty cell is no score.",
        rows=[
            ["P-01", "PHQ9", 22, 0],
            ["P-01", "PHQ9", 11, 28],
            ["P-01", "PHQ9", 9, 56],
            ["P-02", "PHQ9", 18, 0],
            ["P-02", "PHQ9", 7, 56],
        ],
    )

    add(
        [
            (
                "repeated_header_page_break.csv",
                csv(
                    "Patient ID,Measure,Score,Day",
                    "P-01,PHQ-9,21,0",
                    "P-01,PHQ-9,10,14",
                    "Patient ID,Measure,Score,Day",
                    "P-02,GAD-7,15,0",
                    "P-02,GAD-7,6,21",
                ),
            )
        ],
        True,
        4,
        2,
        ["PHQ9", "GAD7"],
        "A report exported page by page repeats its header line: that line is not a data row, so it must not "
        "be reported to the office manager as an unknown instrument 'Measure' or a score 'Score' that is not "
        "a number (an info note is fine); 4 scores of 2 patients.",
        no_warnings=True,
        rows=[["P-01", "PHQ9", 21, 0], ["P-01", "PHQ9", 10, 14], ["P-02", "GAD7", 15, 0], ["P-02", "GAD7", 6, 21]],
    )

    add(
        [
            (
                "instrument_display_names.csv",
                csv(
                    "Patient ID,Measure,Score,Day",
                    'P-01,"PHQ-9 (Patient Health Questionnaire)",20,0',
                    'P-01,"PHQ-9 (Patient Health Questionnaire)",9,14',
                    'P-02,"GAD-7 (General Anxiety Disorder)",15,0',
                    'P-02,"GAD-7 (General Anxiety Disorder)",6,21',
                ),
            )
        ],
        True,
        4,
        2,
        ["PHQ9", "GAD7"],
        "Practice-management systems show a measure as 'CODE (long name)'; the code in front is a registry "
        "spelling (issue 2: instrument spellings normalised), so these are PHQ9 and GAD7, not unknown instruments.",
        rows=[["P-01", "PHQ9", 20, 0], ["P-01", "PHQ9", 9, 14], ["P-02", "GAD7", 15, 0], ["P-02", "GAD7", 6, 21]],
    )

    add(
        [
            (
                "html_table_named_xls.xls",
                csv(
                    '<html><head><meta charset="utf-8"><title>Outcome Measures</title></head><body>',
                    '<table border="1"><tr><th>Patient ID</th><th>Measure</th><th>Score</th><th>Day</th></tr>',
                    "<tr><td>P-01</td><td>PHQ-9</td><td>21</td><td>0</td></tr>",
                    "<tr><td>P-01</td><td>PHQ-9</td><td>10</td><td>14</td></tr>",
                    "</table></body></html>",
                ),
            )
        ],
        False,
        0,
        0,
        [],
        "Many EHRs' 'Export to Excel' write an HTML table with an .xls name. It is not a CSV: refused with a "
        "message that says what to do (open it and save it as CSV), never read as one column of tags.",
        words=["CSV"],
    )

    add(
        [
            (
                "excel_csv_macintosh.csv",
                "\r".join(
                    [
                        "Patient ID,Measure,Score,Day,Clinic Location",
                        "P-01,PHQ-9,21.0,-2.0,Clínica Peña",
                        "P-01,PHQ-9,9.0,14.0,Clínica Peña",
                        "P-02,GAD-7,15.0,0.0,Northside",
                    ]
                ).encode("mac_roman")
                + b"\r",
            )
        ],
        True,
        3,
        2,
        ["PHQ9", "GAD7"],
        "Excel's Save As 'CSV (Macintosh)' writes Mac Roman text with lines ended by CR alone; a script wrote "
        "the numbers as floats ('14.0'): whole-number days are days, and the site is 'Clínica Peña' (read as "
        "Windows-1252 it would become 'Cl’nica Pe–a', a silently wrong site name).",
        rows=[["P-01", "PHQ9", 21, -2], ["P-01", "PHQ9", 9, 14], ["P-02", "GAD7", 15, 0]],
        attributes={"P-01": {"site": "Clínica Peña"}},
    )

    add(
        [
            (
                "maintenance_days_thousands.csv",
                csv(
                    "Patient ID,Measure,Score,Days Since First Infusion",
                    "P-01,PHQ-9,20,0",
                    "P-01,PHQ-9,9,14",
                    'P-01,PHQ-9,7,"1,000"',
                    'P-01,PHQ-9,11,"1,050"',
                ),
            )
        ],
        True,
        4,
        1,
        ["PHQ9"],
        "A long maintenance patient, days formatted by Excel with a thousands separator in a comma-delimited "
        "(US) file: '1,000' is day 1000 (inside config.PLAUSIBLE_DAYS), not day 1 read with a decimal comma; a "
        "day count has no decimals, so a comma followed by three digits is a thousands separator.",
        rows=[["P-01", "PHQ9", 20, 0], ["P-01", "PHQ9", 9, 14], ["P-01", "PHQ9", 7, 1000], ["P-01", "PHQ9", 11, 1050]],
    )

    add(
        [
            (
                "duplicate_measure_score_columns.csv",
                csv(
                    "Patient ID,Day,Measure,Score,Measure,Score", "P-01,0,PHQ-9,20,GAD-7,15", "P-01,14,PHQ-9,9,GAD-7,6"
                ),
            )
        ],
        False,
        0,
        0,
        [],
        "Two measures side by side under the same headers ('Measure', 'Score' twice): which score belongs to "
        "which measure is a guess, and keeping only the first pair would silently lose the GAD-7. Refused, "
        "naming the repeated column.",
        words=["Score"],
    )

    add(
        [
            (
                "patient_initials.csv",
                csv("Patient ID,Patient Initials,Measure,Score,Day", "P-01,J.S.,PHQ-9,20,0", "P-01,J.S.,PHQ-9,9,14"),
            )
        ],
        False,
        0,
        0,
        [],
        "Initials are part of the name (HIPAA Safe Harbor: names), so a 'Patient Initials' column is a direct "
        "identifier: refused naming it.",
        codes=["PHI_COLUMNS"],
        words=["Patient Initials"],
    )

    add(
        [
            (
                "insurance_member_id.csv",
                csv(
                    "Patient ID,Insurance Member ID,Measure,Score,Day",
                    "P-01,XGH123456789,PHQ-9,20,0",
                    "P-01,XGH123456789,PHQ-9,9,14",
                ),
            )
        ],
        False,
        0,
        0,
        [],
        "Health plan beneficiary numbers are one of Safe Harbor's 18 identifiers (issue 2: uploads must be "
        "de-identified; the listed kinds are examples): refused naming the column.",
        codes=["PHI_COLUMNS"],
        words=["Insurance Member ID"],
    )
    return c


#: disagreements found by running the set (2026-11-21, analysis/ingest.py and validate.py at commit 1ee1616), each
#: judged by DESIGN and issue 2 to be an importer bug: {first file: {"cli" | "rows": reason}}. Remove an entry
#: with its fix (the strict xfail turns XPASS and fails until then).
XFAIL: dict[str, dict[str, str]] = {}


def main() -> None:
    expected = []
    for case in cases():
        for name, data in zip(case["files"], case["data"]):
            (HERE / name).write_bytes(data)
        expected.append({k: v for k, v in case.items() if k != "data"})
    (HERE / "expected.json").write_text(json.dumps(expected, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {len(expected)} cases ({sum(len(c['files']) for c in expected)} files) to {HERE}")


if __name__ == "__main__":
    main()
