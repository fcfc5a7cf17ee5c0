"""Where a download comes from: the data set, the filters, the definition card and how it differs from the
default card, when it was made and by which version of the software (:class:`Provenance`, made by :func:`make`).
Every download carries it: a CSV as header lines (:func:`csv_bytes`), an Excel workbook as a sheet of its own
(:func:`excel_bytes`), the PDF report on its title page. The practice's name, printed on the PDF's title, is the
setting ``OUTCOMES_PRACTICE_NAME`` (:func:`practice_name`).
"""

from __future__ import annotations

import csv
import datetime as _dt
import functools
import io
import os
import subprocess
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analysis import privacy

#: the environment variable naming the practice on the PDF report's title (and in every download's header)
PRACTICE_ENV = "OUTCOMES_PRACTICE_NAME"
#: the mark that starts each provenance line of a CSV: each line is one quoted cell, '"# field: value"'
MARK = "# "
ROOT = Path(__file__).resolve().parents[1]


def practice_name(default: str | None = None) -> str | None:
    """The practice's name: the setting ``OUTCOMES_PRACTICE_NAME`` (blank or unset: ``default``)."""
    name = (os.environ.get(PRACTICE_ENV) or "").strip()
    return name or default


@functools.lru_cache(maxsize=1)
def software_version() -> str:
    """'ketamine-outcomes 0.2.0' and, in a git checkout, the commit ('... (commit f2d0c88)')."""
    try:
        meta = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
        version = f"{meta['name']} {meta['version']}"
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        from importlib import metadata

        try:
            version = f"ketamine-outcomes {metadata.version('ketamine-outcomes')}"
        except metadata.PackageNotFoundError:
            version = "ketamine-outcomes (version unknown)"
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, timeout=5
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = ""
    return f"{version} (commit {commit})" if commit else version


@dataclass(frozen=True)
class Provenance:
    """What a download was made from. ``differences``: the definition card's settings that differ from the
    default card, in words (empty: the default card)."""

    data: str
    filters: str
    card: str
    differences: tuple[str, ...]
    generated: str  # UTC, 'YYYY-MM-DD HH:MM UTC'
    version: str
    practice: str | None = None

    def lines(self) -> list[tuple[str, str]]:
        """(field, value) pairs, in the order every download prints them."""
        out = [("Practice", self.practice)] if self.practice else []
        out += [
            ("Data", self.data),
            ("Filters", self.filters),
            ("Definition card", self.card),
            (
                "Differences from the default card",
                "; ".join(self.differences) if self.differences else "none (the default definitions)",
            ),
            ("Made", self.generated),
            ("Software", self.version),
        ]
        return out


def make(data: str, filters: str, definitions, *, practice: str | None = None, generated_at=None) -> Provenance:
    """The provenance of a download of ``data`` (the data set's name) after ``filters`` (in words) under the
    definition card ``definitions``; ``generated_at`` a datetime (default now, UTC)."""
    from analysis.card import differences

    when = generated_at or _dt.datetime.now(_dt.UTC)
    if when.tzinfo is not None:
        when = when.astimezone(_dt.UTC)
    return Provenance(
        data=str(data),
        filters=str(filters),
        card=str(definitions.name),
        differences=tuple(differences(definitions)),
        generated=f"{when:%Y-%m-%d %H:%M} UTC",
        version=software_version(),
        practice=practice,
    )


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def header_text(prov: Provenance) -> str:
    """The CSV header: one line a field, each one quoted cell '"# field: value"' (a spreadsheet shows it in
    one cell; it starts with '#', so it cannot run as a formula), the first saying how many lines come before
    the table (``pandas.read_csv(path, skiprows=n)``), CRLF line ends as the table under it."""
    pairs = prov.lines()
    lines = [f"{MARK}Provenance: {len(pairs) + 1} lines, then the table"]
    lines += [f"{MARK}{field}: {_one_line(value)}" for field, value in pairs]
    buf = io.StringIO()
    csv.writer(buf, quoting=csv.QUOTE_ALL, lineterminator="\r\n").writerows([line] for line in lines)
    return buf.getvalue()


def csv_bytes(table: pd.DataFrame, prov: Provenance) -> bytes:
    """UTF-8 CSV (with BOM) of ``table`` (analysis.privacy.to_csv_bytes) under its provenance lines, each
    starting with '# '."""
    body = privacy.to_csv_bytes(table).decode("utf-8-sig")
    return (header_text(prov) + body).encode("utf-8-sig")


def excel_bytes(table: pd.DataFrame, prov: Provenance, sheet: str = "data") -> bytes:
    """An .xlsx workbook of ``table`` (analysis.privacy.to_excel_bytes) with a second sheet, 'About this file',
    of its provenance (every cell text, formulas neutralised)."""
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(privacy.to_excel_bytes(table, sheet=sheet)))
    about = book.create_sheet("About this file")
    rows = privacy.neutralise_formulas(pd.DataFrame(prov.lines(), columns=["field", "value"]))
    for r, (field, value) in enumerate(rows.itertuples(index=False), start=1):
        for c, v in enumerate((field, _one_line(value)), start=1):
            cell = about.cell(row=r, column=c, value=v)
            cell.data_type = "s"
    about.column_dimensions["A"].width = 34
    about.column_dimensions["B"].width = 100
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def read_csv(path_or_buffer) -> tuple[dict, pd.DataFrame]:
    """(provenance {field: value}, table) of a CSV written by :func:`csv_bytes`."""
    if isinstance(path_or_buffer, (str, Path)):
        text = Path(path_or_buffer).read_text(encoding="utf-8-sig")
    else:
        raw = path_or_buffer.read()
        text = raw.decode("utf-8-sig") if isinstance(raw, bytes) else raw
    rows = list(csv.reader(io.StringIO(text)))
    n = int(rows[0][0].split(": ", 1)[1].split()[0])
    fields = dict(r[0][len(MARK) :].split(": ", 1) for r in rows[1:n])
    body = io.StringIO(text)
    return fields, pd.read_csv(body, skiprows=n, dtype=str, keep_default_na=False)
