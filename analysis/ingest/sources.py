"""The files an upload holds, before any of them is read: a CSV file is itself; an Excel workbook is one file per
sheet with data (:mod:`.excel`); the FHIR files of an upload are pooled (a bulk export is one NDJSON file per
resource type) and are one file per table they give (:mod:`.fhir`). Each file is (name, opener): the opener gives
the file's reader, or raises the refusal of a source that cannot be split."""

from __future__ import annotations

from analysis.ingest import excel, fhir
from analysis.ingest.read import Refused, open_file
from analysis.validate import IssueLog


def _raises(e: Refused):
    def opener():
        raise e

    return opener


def split(name: str, data, log: IssueLog | None = None) -> list[tuple[str, object]]:
    """The files of one non-FHIR source: a CSV file itself, or each sheet with data of a workbook
    ('book.xlsx [Scores]'; a sheet without a table is noted in ``log``)."""
    try:
        if excel.is_workbook(data):
            left_out: list[str] = []
            found = [(sheet, (lambda r=reader: r)) for sheet, reader in excel.sheets(name, data, left_out)]
            for sheet in left_out if log is not None else []:
                log.add(
                    "info",
                    "SHEET_LEFT_OUT",
                    f"{sheet}: the sheet holds no table (a row of column names with rows below it); it was left out.",
                )
            return found
    except Refused as e:
        return [(name, _raises(e))]
    return [(name, lambda: open_file(data))]


def parts(named: list[tuple[str, object]], log: IssueLog) -> list[list[tuple[str, object]]]:
    """The files of every source (``named``: (name, bytes)), a list per source, the FHIR files pooled into one
    list at the end; what the FHIR reader left out is logged."""
    fhir_files = [(n, d) for n, d in named if fhir.is_fhir(n, d)]
    out = [split(n, d, log) for n, d in named if not fhir.is_fhir(n, d)]
    if fhir_files:
        notes: list[tuple[str, str, str]] = []
        out.append(fhir.parts(fhir_files, notes))
        for severity, code, message in notes:
            log.add(severity, code, message)
    return out
