"""Writes the hostile-input corpus (this folder) and expected.json, its expected outcomes.

Run from the repository root: .venv/bin/python tests/data/bad/make_corpus.py
Every file is written byte for byte by this script (seeded), so the corpus is reproducible.
expected.json lists, per case: the files (one or more), extra command-line arguments, whether the upload
is usable (ok, exit code 0) or refused (exit 1), how many scores are kept, and the issue codes that must
appear. tests/test_bad_corpus.py runs each case through `python -m analysis validate --json`.
"""

from __future__ import annotations

import io
import json
import random
import re
from pathlib import Path

HERE = Path(__file__).resolve().parent
HEADER = "Patient ID,Measure,Total Score,Day,Diagnosis,Clinic Location"


def lines(*rows: str, header: str = HEADER, eol: str = "\n") -> bytes:
    return (eol.join((header,) + rows) + eol).encode("utf-8")


GOOD = (
    "P-001,PHQ-9,21,0,Major Depressive Disorder,Main St Clinic",
    "P-001,PHQ-9,9,14,Major Depressive Disorder,Main St Clinic",
    "P-002,GAD-7,15,0,Generalized Anxiety Disorder,Northside",
    "P-002,GAD-7,6,21,Generalized Anxiety Disorder,Northside",
)


def xlsx_bytes() -> bytes:
    """A real .xlsx workbook (openpyxl), with fixed timestamps so that the bytes are reproducible."""
    import datetime as dt
    import zipfile

    from openpyxl import Workbook

    wb = Workbook()
    wb.properties.created = wb.properties.modified = dt.datetime(2024, 1, 1)
    ws = wb.active
    for row in [HEADER.split(",")] + [r.split(",") for r in GOOD]:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    fixed = io.BytesIO()
    with zipfile.ZipFile(buf) as src, zipfile.ZipFile(fixed, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":  # openpyxl stamps the save time in here
                data = re.sub(
                    rb"<dcterms:modified[^>]*>[^<]*</dcterms:modified>",
                    b'<dcterms:modified xsi:type="dcterms:W3CDTF">2024-01-01T00:00:00Z</dcterms:modified>',
                    data,
                )
            out.writestr(zipfile.ZipInfo(info.filename, date_time=(2024, 1, 1, 0, 0, 0)), data, zipfile.ZIP_DEFLATED)
    return fixed.getvalue()


def cases() -> list[dict]:
    rnd = random.Random(20261121)
    c = []

    def add(name, data, ok, kept, codes=(), args=(), extra=None):
        files = [name] if extra is None else [name] + [e[0] for e in extra]
        c.append(
            {
                "files": files,
                "data": [data] + [e[1] for e in (extra or [])],
                "args": list(args),
                "ok": ok,
                "rows_kept": kept,
                "codes": list(codes),
            }
        )

    # encodings, delimiters, line endings
    add("bom_utf8.csv", b"\xef\xbb\xbf" + lines(*GOOD), True, 4)
    utf16 = (
        "\r\n".join(
            ["Patient ID\tMeasure\tTotal Score\tDay\tDiagnosis\tClinic Location"] + [r.replace(",", "\t") for r in GOOD]
        )
        + "\r\n"
    )
    add("excel_unicode_text_utf16.txt", utf16.encode("utf-16"), True, 4, ["ENCODING"])
    cp = (
        lines(
            "P-001,PHQ-9,21,0,Dépression,Clínica Señora Peña",
            "P-001,PHQ-9,9,14,Dépression,Clínica Señora Peña",
            "P-002,GAD-7,15,0,Anxiété,Zürich Straße",
        )
        .decode()
        .encode("cp1252")
    )
    add("cp1252_accents.csv", cp, True, 3, ["ENCODING", "UNKNOWN_CONDITION"])
    add(
        "semicolon_decimal_comma.csv",
        b"Patient ID;Measure;Total Score;Date Administered;Diagnosis\n"
        b"P-001;Pain NRS (0-10);7,5;15.01.2024;Chronic Pain\n"
        b"P-001;Pain NRS (0-10);4,0;29.01.2024;Chronic Pain\n"
        b"P-002;PHQ-9;18;02.02.2024;MDD\n",
        True,
        3,
    )
    add("crlf.csv", lines(*GOOD, eol="\r\n"), True, 4)
    add(
        "quoted_newline.csv",
        lines(
            'P-001,PHQ-9,21,0,"Major Depressive Disorder","Main St Clinic"',
            'P-001,PHQ-9,9,14,"Major Depressive\nDisorder","Main St\r\nClinic"',
            "P-002,GAD-7,99,0,Generalized Anxiety Disorder,Northside",  # row 4 in a spreadsheet: out of range
            "P-002,GAD-7,6,21,Generalized Anxiety Disorder,Northside",
        ),
        True,
        3,
        ["OUT_OF_RANGE"],
    )
    add("trailing_blank_lines.csv", lines(*GOOD) + b"\n\n\r\n  \n", True, 4)
    add(
        "blank_lines_inside.csv",
        lines(GOOD[0], "", GOOD[1], "", "P-002,GAD-7,refused,0,GAD,Northside", GOOD[3]),
        True,
        3,
        ["NON_NUMERIC_SCORE"],
    )
    add(
        "title_above_header.csv",
        b"Outcome scores export\r\nGenerated 2024-05-01 by EHR\r\n\r\n"
        + lines(GOOD[0], "P-001,PHQ-9,99,14,MDD,Main St Clinic", *GOOD[2:], eol="\r\n"),
        True,
        3,
        ["PREAMBLE_SKIPPED", "OUT_OF_RANGE"],
    )
    add(
        "excel_sep_line.csv",
        b"sep=;\n" + lines(*(r.replace(",", ";") for r in GOOD), header=HEADER.replace(",", ";")),
        True,
        4,
        ["PREAMBLE_SKIPPED"],
    )
    add("tab_separated.tsv", lines(*(r.replace(",", "\t") for r in GOOD), header=HEADER.replace(",", "\t")), True, 4)
    # not CSV at all
    add("empty.csv", b"", False, 0, ["EMPTY_FILE"])
    add("whitespace_only.csv", b"\r\n\r\n   \n", False, 0, ["EMPTY_FILE"])
    add("header_only.csv", (HEADER + "\r\n").encode(), False, 0, ["NO_DATA_ROWS"])
    add("binary_junk.csv", bytes(rnd.randrange(256) for _ in range(4096)), False, 0, ["BINARY_FILE"])
    add("excel_saved_as.csv", xlsx_bytes(), True, 4)  # (a workbook is read whatever its name: issue 16)
    add("old_excel_saved_as.csv", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504), False, 0, ["EXCEL_FILE"])
    add(
        "pdf_saved_as.csv",
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n",
        False,
        0,
        ["PDF_FILE"],
    )
    add("one_column.csv", b"Patient ID\nP-001\nP-002\n", False, 0, ["MISSING_COLUMNS"])
    add(
        "no_patient_column.csv",
        lines("PHQ-9,21,0", "PHQ-9,9,14", header="Measure,Total Score,Day"),
        False,
        0,
        ["MISSING_COLUMNS"],
    )
    # PHI
    add(
        "phi_columns.csv",
        lines(
            "P-001,Jane Doe,1980-02-03,PHQ-9,21,0",
            "P-001,Jane Doe,1980-02-03,PHQ-9,9,14",
            header="Patient ID,Patient Name,DOB,Measure,Total Score,Day",
        ),
        False,
        0,
        ["PHI_COLUMNS"],
    )
    add(
        "phi_mrn_email.csv",
        lines("P-001,00012345,a@b.org,PHQ-9,21,0", header="Patient ID,MRN,Email,Measure,Total Score,Day"),
        False,
        0,
        ["PHI_COLUMNS"],
    )
    add(
        "phi_values_in_notes.csv",
        lines(
            "P-001,PHQ-9,21,0,felt better",
            "P-001,PHQ-9,9,14,call back on (555) 123-4567",
            "P-002,GAD-7,15,0,wrote to jane.doe@example.com",
            header="Patient ID,Measure,Total Score,Day,Notes",
        ),
        False,
        0,
        ["PHI_VALUES"],
    )
    add(
        "phi_ssn_value.csv",
        lines("123-45-6789,PHQ-9,21,0", "P-2,PHQ-9,9,14", header="Patient ID,Measure,Total Score,Day"),
        False,
        0,
        ["PHI_VALUES"],
    )
    add(
        "phi_full_zip.csv",
        lines("P-001,PHQ-9,21,0,02139", "P-001,PHQ-9,9,14,02139", header="Patient ID,Measure,Total Score,Day,ZIP"),
        False,
        0,
        ["PHI_COLUMNS"],
    )
    add(
        "zip3_is_fine.csv",
        lines("P-001,PHQ-9,21,0,021", "P-001,PHQ-9,9,14,021", header="Patient ID,Measure,Total Score,Day,ZIP3"),
        True,
        2,
    )
    add(
        "main_st_clinic_passes.csv",
        lines(
            "P-000123,PHQ-9,21,2024-03-04,Main St Clinic,12.5",
            "P-000123,PHQ-9,9,2024-03-18,Main St Clinic,12.5",
            "P-000124,Pain NRS (0-10),6.5,2024-03-05,123 Main St Clinic,0.35",
            header="Patient ID,Measure,Total Score,Date Administered,Clinic Name,Dose",
        ),
        True,
        3,
        ["DAY0_FIRST_ASSESSMENT"],
    )
    # dates
    add(
        "ambiguous_dates.csv",
        lines(
            "P-001,PHQ-9,21,03/04/2024", "P-001,PHQ-9,9,05/04/2024", header="Patient ID,Measure,Total Score,Visit Date"
        ),
        False,
        0,
        ["AMBIGUOUS_DATES"],
    )
    c.append(
        {
            **c[-1],
            "files": ["ambiguous_dates.csv"],
            "args": ["--map", "Visit Date=date_dmy"],
            "ok": True,
            "rows_kept": 2,
            "codes": [],
            "data": None,
        }
    )
    add(
        "us_dates.csv",
        lines(
            "P-001,PHQ-9,21,01/02/2024",
            "P-001,PHQ-9,9,01/16/2024",
            "P-001,PHQ-9,7,2/13/2024",
            header="Patient ID,Measure,Total Score,Date Completed",
        ),
        True,
        3,
    )
    add(
        "eu_dates.csv",
        lines(
            "P-001,PHQ-9,21,02/01/2024",
            "P-001,PHQ-9,9,16/01/2024",
            "P-001,PHQ-9,7,13/2/2024",
            header="Patient ID,Measure,Total Score,Date Completed",
        ),
        True,
        3,
    )
    add(
        "mixed_date_formats.csv",
        lines(
            "P-001,PHQ-9,21,13/01/2024",
            "P-001,PHQ-9,9,01/27/2024",
            header="Patient ID,Measure,Total Score,Date Completed",
        ),
        False,
        0,
        ["MIXED_DATE_FORMATS"],
    )
    add(
        "excel_serial_dates.csv",
        lines("P-001,PHQ-9,21,45292", "P-001,PHQ-9,9,45306", header="Patient ID,Measure,Total Score,Date Completed"),
        True,
        2,
    )
    add(
        "bad_dates.csv",
        lines(
            "P-001,PHQ-9,21,2024-01-02",
            "P-001,PHQ-9,9,2024-02-30",
            "P-001,PHQ-9,7,soon",
            header="Patient ID,Measure,Total Score,Date Completed",
        ),
        True,
        1,
        ["BAD_DATE"],
    )
    # shapes
    add(
        "wide.csv",
        lines(
            "P-001,MDD,21,20,18,15,12,10,8,7,12,9",
            "P-002,PTSD,,,,,,,,,14,",
            header="Patient ID,Diagnosis,PHQ-9 Baseline,PHQ9_inf1,PHQ9_inf2,PHQ9_inf3,PHQ9_inf4,PHQ9_inf5,"
            "PHQ9_inf6,PHQ-9 Day 14,GAD-7 Baseline,GAD-7 Week 4",
        ),
        True,
        11,
        ["INDUCTION_DAYS_ASSUMED", "EMPTY_CELLS"],
    )
    add(
        "one_column_per_instrument.csv",
        lines("P-001,2024-01-05,21,15", "P-001,2024-01-19,9,", header="Patient ID,Date,PHQ-9,GAD-7"),
        True,
        3,
    )
    # row problems
    add(
        "na_refused_scores.csv",
        lines(
            GOOD[0],
            "P-001,PHQ-9,n/a,14,MDD,Main St Clinic",
            "P-002,GAD-7,refused,0,GAD,Northside",
            "P-002,GAD-7,,21,GAD,Northside",
            GOOD[3],
        ),
        True,
        2,
        ["NON_NUMERIC_SCORE", "MISSING_SCORE"],
    )
    add(
        "all_scores_bad.csv",
        lines("P-001,PHQ-9,n/a,0", "P-001,PHQ-9,refused,14", header="Patient ID,Measure,Total Score,Day"),
        False,
        0,
        ["NON_NUMERIC_SCORE", "NO_ROWS_KEPT"],
    )
    add(
        "out_of_range.csv",
        lines(GOOD[0], "P-001,PHQ-9,28,14,MDD,Main St Clinic", "P-002,GAD-7,-1,0,GAD,Northside", GOOD[3]),
        True,
        2,
        ["OUT_OF_RANGE"],
    )
    add(
        "unknown_instrument.csv",
        lines(*GOOD, "P-003,HAM-D,18,0,MDD,Northside", "P-003,,12,0,MDD,Northside"),
        True,
        4,
        ["UNKNOWN_INSTRUMENT"],
    )
    add("duplicates.csv", lines(*GOOD, GOOD[0], GOOD[0], GOOD[2]), True, 4, ["DUPLICATE_ROWS"])
    add(
        "conflicting_attributes.csv",
        lines(
            *GOOD,
            "P-001,PHQ-9,7,28,Major Depressive Disorder,Northside",
            "P-001,PHQ-9,6,35,Major Depressive Disorder,Main St Clinic",
        ),
        True,
        6,
        ["CONFLICTING_ATTRIBUTES"],
    )
    add(
        "implausible_days.csv",
        lines(*GOOD, "P-001,PHQ-9,5,5000,MDD,Main St Clinic", "P-002,GAD-7,5,-400,GAD,Northside"),
        True,
        4,
        ["IMPLAUSIBLE_DAY"],
    )
    add("empty_formatted_rows.csv", lines(GOOD[0], ",,,,,", *GOOD[1:3], ";;;;;".replace(";", ","), GOOD[3]), True, 4)
    add(
        "iso_year_zero.csv",
        lines(
            "P-001,PHQ-9,21,2024-01-05,Major Depressive Disorder,Main St Clinic",
            "P-001,PHQ-9,9,0000-01-19,Major Depressive Disorder,Main St Clinic",
            "P-002,GAD-7,15,2024-02-01,Generalized Anxiety Disorder,Northside",
            "P-002,GAD-7,6,2024-02-22,Generalized Anxiety Disorder,Northside",
            header=HEADER.replace("Day", "Date Administered"),
        ),
        True,
        3,
        ["BAD_DATE"],
    )
    add(
        "missing_ids.csv",
        lines(*GOOD, ",PHQ-9,5,0,MDD,Main St Clinic", "  ,GAD-7,5,0,GAD,Northside"),
        True,
        4,
        ["MISSING_ID"],
    )
    add(
        "ragged_rows.csv",
        lines(GOOD[0], "P-001,PHQ-9,9,14,Major Depressive Disorder,Main St, Clinic", *GOOD[2:]),
        True,
        3,
        ["RAGGED_ROWS"],
    )
    add(
        "unknown_condition.csv",
        lines("P-001,PHQ-9,21,0,Long COVID,Main St Clinic", "P-002,PHQ-9,11,0,F33.1,Main St Clinic"),
        True,
        2,
        ["UNKNOWN_CONDITION"],
    )
    # treatments
    treatments = lines(
        "P-001,2024-01-10,Induction,IV,0.5",
        "P-001,2024-01-12,Induction,IV,0.5",
        "P-002,2024-01-11,Booster infusion,IM,0.75",
        header="Patient ID,Infusion Date,Treatment Type,Route,Dose (mg/kg)",
    )
    add("treatments_alone.csv", treatments, False, 0, ["NO_ASSESSMENTS"])
    add(
        "assessments_with_treatments.csv",
        lines(
            "P-001,PHQ-9,21,2024-01-08",
            "P-001,PHQ-9,8,2024-01-31",
            "P-002,GAD-7,16,2024-01-11",
            header="Patient ID,Measure,Total Score,Date Administered",
        ),
        True,
        3,
        extra=[("treatments_for_pair.csv", treatments)],
    )
    return c


def main() -> None:
    expected = []
    for case in cases():
        if case["data"] is not None:
            for name, data in zip(case["files"], case["data"]):
                (HERE / name).write_bytes(data)
        expected.append({k: v for k, v in case.items() if k != "data"})
    (HERE / "expected.json").write_text(json.dumps(expected, indent=1) + "\n")
    print(f"wrote {len(expected)} cases to {HERE}")


if __name__ == "__main__":
    main()
