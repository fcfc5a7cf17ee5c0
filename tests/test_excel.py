"""Excel workbooks (analysis.ingest.excel): every sheet with data a file of its own, title rows (a merged title
cell) above the header skipped, Excel dates and serial numbers -> days, the same validation as CSV."""

import datetime as dt
import io

import pandas as pd
import pytest
from openpyxl import Workbook

from analysis import schema as S
from analysis.ingest import excel, load_files

CSV = (
    "Patient ID,Measure,Score,Date Administered,Age Group\n"
    "P1,PHQ-9,20,2025-01-02,65+\nP1,PHQ-9,8,2025-01-25,65+\nP2,PHQ-9,14,2025-01-03,Under 25\n"
    "P2,PHQ-9,4,2025-02-02,Under 25\n"
)


def book(title=True, notes=True, phi=False) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = "PHQ-9 Scores"
    if title:
        ws.append(["Ketamine Clinic — Outcomes report"])
        ws.merge_cells("A1:E1")
        ws.append(["Run on 2025-06-01"])
        ws.append([])
    ws.append(["Patient ID", "Measure", "Score", "Date Administered", "Age Group"] + (["Patient Name"] if phi else []))
    name = ["Jane Roe"] if phi else []
    ws.append(["P1", "PHQ-9", 20, dt.datetime(2025, 1, 2, 9, 30), "65+", *name])
    ws.append(["P1", "PHQ-9", 8, dt.date(2025, 1, 25), "65+", *name])
    ws.append(["P2", "PHQ-9", "14/27", 45660, "Under 25", *name])  # (an Excel serial typed as a number: 2025-01-03)
    ws.append(["P2", "PHQ-9", 4.0, 45690, "Under 25", *name])
    ws.append([])
    t = wb.create_sheet("Infusions")
    t.append(["Patient ID", "Session Date", "Service"])
    t.append(["P1", dt.date(2025, 1, 2), "Ketamine IV Infusion - Induction #1"])
    t.append(["P2", dt.date(2025, 1, 3), "Spravato 84mg"])
    if notes:
        n = wb.create_sheet("Notes")
        n.append(["Exported by", "EHR v5"])
        n.append(["Rows", "4"])
    wb.create_sheet("Empty")
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_each_sheet_with_data_is_a_file_and_the_rows_equal_the_same_data_as_csv():
    loaded = load_files([("report.xlsx", book())])
    assert loaded.ok, loaded.to_text()
    assert loaded.files == ("report.xlsx [PHQ-9 Scores]", "report.xlsx [Infusions]", "report.xlsx [Notes]")
    as_csv = load_files([("report.csv", CSV.encode())])
    columns = [S.PATIENT_ID, S.INSTRUMENT, S.SCORE, S.AGE_BAND, S.START_MONTH]
    pd.testing.assert_frame_equal(loaded.assessments[columns], as_csv.assessments[columns])
    assert loaded.assessments[S.DAY].tolist() == [0, 23, 0, 30]  # (day 0: the first infusion, from the sheet)
    assert loaded.treatments[S.ROUTE].tolist() == ["IV", "esketamine"]
    codes = set(loaded.issues["code"])
    assert {"PREAMBLE_SKIPPED", "SHEET_LEFT_OUT", "SCORE_OUT_OF"} <= codes
    roles = {r["file"]: r["role"] for r in loaded.roles}
    assert roles["report.xlsx [Infusions]"] == "treatments" and roles["report.xlsx [PHQ-9 Scores]"] == "assessments"


def test_a_sheets_rows_are_numbered_as_excel_shows_them():
    wb = Workbook()
    ws = wb.active
    ws.append(["Quarterly export"])
    ws.append(["Patient ID", "Measure", "Score", "Day"])
    ws.append(["P1", "PHQ-9", 12, 0])
    ws.append(["P1", "PHQ-9", 99, 14])  # (out of range: reported at Excel row 4)
    out = io.BytesIO()
    wb.save(out)
    loaded = load_files([("x.xlsx", out.getvalue())])
    bad = loaded.issues[loaded.issues["code"] == "OUT_OF_RANGE"]
    assert bad["rows"].tolist() == [[4]]


def test_a_sheet_with_identifiers_refuses_the_workbook_as_a_csv_would():
    loaded = load_files([("report.xlsx", book(phi=True))])
    assert not loaded.ok and "PHI_COLUMNS" in set(loaded.issues["code"])
    assert "Jane Roe" not in loaded.to_text()


@pytest.mark.parametrize(
    "value,text",
    [(3.0, "3"), (2.5, "2.5"), (True, "TRUE"), (dt.datetime(2025, 3, 1, 14, 5), "2025-03-01"), (" ", None)],
)
def test_cells_become_text_as_excel_shows_them(value, text):
    assert excel.cell_text(value) == text


def test_a_damaged_or_empty_workbook_is_refused_with_a_message():
    damaged = book()[:2000]
    loaded = load_files([("broken.xlsx", damaged)])
    assert not loaded.ok and set(loaded.issues["code"]) & {"UNREADABLE_WORKBOOK"}
    wb = Workbook()
    out = io.BytesIO()
    wb.save(out)
    empty = load_files([("empty.xlsx", out.getvalue())])
    assert not empty.ok and "EMPTY_WORKBOOK" in set(empty.issues["code"])
    assert "Traceback" not in empty.to_text()
