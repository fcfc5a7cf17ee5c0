"""Excel workbooks (.xlsx) in: every sheet with data is a file of its own, read into the same text table as a
CSV file (:class:`analysis.ingest.read.TextTable`), so that every check after reading is the CSV's.

Per sheet: fully blank rows and columns are left out; title rows above the header (a merged title cell, a
'Report run on ...' line: rows with fewer filled cells than half the header's) are skipped and reported as a
preamble; cells become text as Excel shows them: whole numbers without '.0', dates as ISO dates (YYYY-MM-DD;
the time of day is dropped with the date, which is turned into a day offset later), booleans TRUE/FALSE. A date
typed as a number (an Excel serial such as 45292) is read by :mod:`.days` as the CSV's are. Row numbers are the
sheet's own, as Excel shows them.

openpyxl reads the workbook (read-only, cached values of formulas). A workbook that cannot be opened is refused
with a message saying what to do.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from analysis.ingest.read import Refused, TextTable, _unique_names, head_bytes

#: a workbook's file name and a sheet's name: "book.xlsx [Scores]"
SHEET_NAME = "{book} [{sheet}]"
#: rows looked at to find the header
HEADER_ROWS = 30


def is_workbook(data) -> bool:
    """Whether the bytes are an .xlsx workbook (a ZIP archive holding xl/)."""
    head = head_bytes(data, 200_000)
    return head.startswith(b"PK\x03\x04") and (b"xl/" in head or b"[Content_Types].xml" in head)


@dataclass
class TableReader:
    """A table already in memory (a sheet, a FHIR resource table), as a reader: ``names`` and ``read``, as
    :class:`analysis.ingest.read.CsvFile`'s."""

    names: list[str]
    columns: list[list]  # text or None, one list per column
    rows: np.ndarray  # spreadsheet row of each data row
    encoding: str = "UTF-8"
    delimiter: str = ""
    skip: int = 0  # title rows above the header

    def read(self, numeric=(), arrow_rows=None) -> TextTable:
        table = pa.table({n: pa.array(c, pa.string()) for n, c in zip(self.names, self.columns)})
        if table.num_rows == 0:
            raise Refused(
                "NO_DATA_ROWS",
                "The sheet has column names but no data rows. Check the date range of the export and export again.",
            )
        return TextTable(table, self.rows.astype(np.int32), self.encoding, self.delimiter)


def cell_text(v) -> str | None:
    """A cell as Excel shows it, as text (None for an empty cell)."""
    if v is None:
        return None
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, dt.datetime):
        return v.date().isoformat()
    if isinstance(v, dt.date):
        return v.isoformat()
    if isinstance(v, dt.time):
        return v.isoformat()
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)
    text = str(v)
    return text if text.strip() else None


def sheet_reader(cells: list[tuple]) -> TableReader | None:
    """The reader of one sheet's cell values (rows of tuples, as openpyxl gives them); None for a sheet
    without data (no row with two filled cells)."""
    rows = [[cell_text(v) for v in r] for r in cells]
    filled = [sum(v is not None for v in r) for r in rows]
    if not rows or max(filled, default=0) < 2:
        return None
    widest = max(filled[:HEADER_ROWS])
    header_at = next(i for i, n in enumerate(filled) if n >= max(2, widest / 2))
    used = [
        j for j in range(max(len(r) for r in rows)) if any(j < len(r) and r[j] is not None for r in rows[header_at:])
    ]
    header = [rows[header_at][j] if j < len(rows[header_at]) else None for j in used]
    body = [(i, r) for i, r in enumerate(rows[header_at + 1 :], start=header_at + 2) if any(v is not None for v in r)]
    columns = [[r[j] if j < len(r) else None for _, r in body] for j in used]
    return TableReader(
        _unique_names(["" if n is None else n for n in header]),
        columns,
        np.array([i for i, _ in body], dtype=np.int32),
        skip=header_at,
    )


def sheets(book: str, data, left_out: list[str] | None = None) -> list[tuple[str, TableReader]]:
    """(name, reader) of every sheet with data of a workbook, named 'book.xlsx [Sheet]'; Refused when the
    workbook cannot be read or has no sheet with data. ``left_out`` gets the names of the sheets with something
    written on them but no table (a notes or summary sheet)."""
    from openpyxl import load_workbook

    raw = data if isinstance(data, (bytes, bytearray)) else head_bytes(data, data.size)
    try:
        wb = load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError) as e:
        raise Refused(
            "UNREADABLE_WORKBOOK",
            f"The Excel workbook could not be opened ({type(e).__name__}: it may be damaged, or an older .xls). "
            "Save it again as an Excel workbook (.xlsx) and upload it, or save it as CSV. In Excel choose File > "
            "Save As > CSV UTF-8 and upload that file.",
        ) from None
    out = []
    try:
        for ws in wb.worksheets:
            cells = list(ws.iter_rows(values_only=True))
            reader = sheet_reader(cells)
            if reader is not None:
                out.append((SHEET_NAME.format(book=book, sheet=ws.title), reader))
            elif left_out is not None and any(cell_text(v) is not None for r in cells for v in r):
                left_out.append(SHEET_NAME.format(book=book, sheet=ws.title))
    finally:
        wb.close()
    if not out:
        raise Refused(
            "EMPTY_WORKBOOK",
            "No sheet of the workbook holds a table (a row of column names with rows below it). Check that the "
            "export was saved into the workbook, then upload it again.",
        )
    return out
