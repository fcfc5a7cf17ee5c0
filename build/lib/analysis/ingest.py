"""Import of EHR exports as they really come, into the canonical tables of DESIGN "Canonical data".

Reading: the file type is sniffed first (empty, Excel, ZIP, PDF, HTML-table and binary files are refused
with a message saying what to do); the encoding comes from a byte-order mark, a UTF-16 pattern of zero
bytes, strict UTF-8, else Windows-1252 when the bytes read in it (Mac Roman instead when Windows-1252 puts
punctuation inside words where Mac Roman has letters: Excel's "CSV (Macintosh)"), else charset-normalizer's
guess (non-UTF-8 text is transcoded to UTF-8). The delimiter (comma, semicolon, tab, pipe) is the one that
splits the first lines most consistently; title lines above the header and Excel's "sep=;" line are
skipped, and so are lines repeating the header inside the file (a report's page breaks).
pyarrow parses the file; Python's csv module takes over when pyarrow's rows would not be the rows a
spreadsheet shows (ragged rows, blank lines or line breaks inside the data), so every issue quotes the
right row numbers (header = row 1).

Mapping: column names are matched loosely (case, camelCase and punctuation ignored) against
COLUMN_SYNONYMS; ``overrides`` ({source: target}) win, "ignore" drops a column. Two columns matching the
patient key, instrument, score, day or date (two 'Score' columns) refuse the file unless an override
chooses. Columns like ``PHQ-9 Day 14`` or ``PHQ-9 (Week 4)`` make a wide file, melted to long (visit
labels -> days: baseline/pre/screening -1, the day before the first infusion, so that it does not fall on
inf1; inf1..inf6 the induction days 0, 2, 4, 7, 9, 11; Day N; Week N = 7N; Month N = 30N; an info issue
states these assumptions); a column named after an instrument alone (``PHQ-9``) holds its scores at the
row's day or date.

Days: day 0 is the patient's first treatment (treatments file, by date or day); without treatments,
the ``day`` given; with only dates, the patient's first assessment. A row with both a date and a day takes
its day from the date (the date wins; day 0 is then the date the patient's earliest such row implies, so
consistent days are kept as given), with a warning naming both columns where they disagree. Numbers:
decimal commas are read, but in a whole-number day column of a comma-separated file '1,050' is 1050.
Date formats are decided per column from all its values (ISO, D/M/Y, M/D/Y, month names, Excel serial
numbers); a column that reads both day-first and month-first is refused, never guessed. Dates are not kept: only ``start_month`` (YYYY-MM of
day 0; YYYY with ``strict_dates``). Ages become age bands (over 89: "90+").

Speed (bench/bench_ingest.py): files on disk are memory-mapped, not copied (pyarrow's map, whose pages the
scan for quotes maps once for the parse too, a long file's two halves at once); pyarrow
parses text as plain strings (without a bad-row handler: a row of the wrong width makes pyarrow fail, and the python reader
takes over), then every text column is dictionary-encoded in two threads (a column with long runs of equal
values, as exports grouped by patient have, through the first value of each run, found by comparing each value
with the one before: as integers when all are 1, 2, 4 or 8 bytes long; a column with few values
by looking each row up in the values of the first block), so every value is normalised
through its distinct values and every check works on integer codes, never row by row in Python. A date
column whose first 64 KB hold only ISO dates is parsed by pyarrow as dates (days since 1970, no text to
hash), and read as text again if a later value is not one. A check that finds nothing costs a pass or
two: rows grouped as exports group them (by patient, instrument, day; or by patient and day, the
instruments of a day in any order) are compared with the row before, or the few rows before in their day,
instead of hashed; ranges are checked on the smallest and largest value of each run of one instrument,
ages through the distinct ages, day 0 per patient group by group (the first treatment per patient code,
looked up once per patient key across the files). Columns are gathered before a frame is built
(``frame[c] = array`` copies the array in pandas 3, and each new 1M-row array costs page faults). The
canonical ``str`` columns are built once: a column left as parsed (patient keys, usually) is the parsed
column itself; the others are built from their distinct values in a worker thread (run by run where codes
come in runs; as integers where every text is 1, 2, 4 or 8 bytes long), started as soon as their categorical
exists (while the frame is built and the checks run), and used if no step changed them. The programs that
import (the dashboard, the command line) set malloc to keep freed memory (:mod:`analysis.memory`).
The checks and the PHI guard are in :mod:`analysis.validate`.
"""

from __future__ import annotations

import csv
import ctypes
import datetime as dt
import io
import mmap
import os
import re
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from analysis import schema as S
from analysis import validate as V
from analysis.arrays import long_run_starts, same_values
from analysis.config import MAX_AGE_SHOWN, MAX_UPLOAD_MB
from analysis.instruments import normalise_code
from analysis.validate import FILE, ROW, IssueLog, header_key, quoted, rows_text

# --- column synonyms (compared with validate.header_key: lower case, punctuation -> space) -----------
AGE = "age"
DATE_DMY, DATE_MDY, DATE_YMD = "date_dmy", "date_mdy", "date_ymd"
DATE_TARGETS = (S.DATE, DATE_DMY, DATE_MDY, DATE_YMD)
IGNORE = "ignore"

COLUMN_SYNONYMS: dict[str, tuple[str, ...]] = {
    S.PATIENT_ID: (
        "patient id",
        "patient_id",
        "patientid",
        "pt id",
        "ptid",
        "patient key",
        "pt key",
        "patient",
        "subject",
        "subject id",
        "study id",
        "participant",
        "participant id",
        "client id",
        "pseudonym",
        "pseudo id",
        "patient pseudonym",
        "pseudonymous id",
        "research id",
        "deidentified id",
        "de identified id",
        "record id",
        "patient number",
        "patient no",
        "id",
    ),
    S.INSTRUMENT: (
        "instrument",
        "measure",
        "measure name",
        "scale",
        "scale name",
        "assessment",
        "assessment name",
        "assessment type",
        "questionnaire",
        "survey",
        "instrument name",
        "outcome measure",
        "test",
        "test name",
        "flowsheet row name",
        "flowsheet row",
        "flowsheet name",
        "row name",
        "questionnaire name",
        "form name",
    ),
    S.SCORE: (
        "score",
        "total score",
        "total",
        "score total",
        "value",
        "result",
        "raw score",
        "score value",
        "assessment score",
        "total raw score",
        "sum score",
    ),
    S.DAY: (
        "day",
        "days",
        "study day",
        "day offset",
        "treatment day",
        "days since first treatment",
        "days since first infusion",
        "days from first infusion",
        "days since start",
        "day since first infusion",
        "days from baseline",
        "day number",
    ),
    S.DATE: (
        "date",
        "date administered",
        "administered",
        "administered on",
        "assessment date",
        "visit date",
        "date completed",
        "completed date",
        "completed on",
        "completion date",
        "administration date",
        "encounter date",
        "service date",
        "date of service",
        "dos",
        "session date",
        "survey date",
        "recorded time",
        "recorded date",
        "recorded on",
        "taken time",
        "date taken",
        "entry date",
        "result date",
        "infusion date",
        "treatment date",
        "appointment date",
    ),
    S.CONDITION: (
        "condition",
        "diagnosis",
        "primary diagnosis",
        "dx",
        "primary dx",
        "indication",
        "primary condition",
        "diagnosis category",
        "treatment indication",
    ),
    S.SITE: (
        "site",
        "clinic",
        "clinic location",
        "location",
        "clinic name",
        "practice",
        "facility",
        "office",
        "site name",
        "practice location",
        "department",
        "department name",
        "dept",
        "clinic site",
        "location name",
        "office name",
        "facility name",
        "practice name",
        "service location",
    ),
    AGE: (
        "age",
        "age at start",
        "age years",
        "patient age",
        "age at first infusion",
        "age at baseline",
        "age at intake",
    ),
    S.AGE_BAND: ("age band", "age_band", "age group", "age range", "age bracket"),
    S.SEX: ("sex", "gender", "sex at birth", "birth sex", "sex assigned at birth"),
    S.ROUTE: (
        "route",
        "route of administration",
        "administration route",
        "treatment route",
        "modality",
        "treatment modality",
        "ketamine route",
    ),
    S.START_MONTH: ("start month", "start_month", "month started"),
    S.KIND: (
        "kind",
        "treatment type",
        "treatment kind",
        "session type",
        "infusion type",
        "type",
        "visit type",
        "series",
        "phase",
        "treatment phase",
    ),
    S.DOSE: (
        "dose mg per kg",
        "dose_mg_per_kg",
        "dose mg kg",
        "mg kg",
        "mg per kg",
        "dose",
        "ketamine dose",
        "dose per kg",
        "dose mg/kg",
    ),
}
_SYNONYM_INDEX = {
    header_key(s): (target, rank) for target, names in COLUMN_SYNONYMS.items() for rank, s in enumerate(names)
}
OVERRIDE_TARGETS = tuple(COLUMN_SYNONYMS) + (DATE_DMY, DATE_MDY, DATE_YMD, IGNORE)

#: wide columns: "<instrument> <visit>"; visit labels -> day
INDUCTION_DAYS = (0, 2, 4, 7, 9, 11)
#: a "Baseline" / "Pre" / "Screening" visit column: the day before the first infusion (inf1 is day 0)
BASELINE_VISIT_DAY = -1
_VISIT = re.compile(
    r"^(?P<ins>.*?)[\s_\-.:/]*(?:"
    r"(?P<base>baseline|base|bl|pre|pretreatment|pre treatment|pre infusion|screening|intake)"
    r"|(?:inf|infusion|tx|treatment|session)[\s_\-#]*(?P<inf>\d+)"
    r"|(?:day|d)[\s_\-]*(?P<day>-?\d+)"
    r"|(?:week|wk|w)[\s_\-]*(?P<week>\d+)"
    r"|(?:month|mo|m)[\s_\-]*(?P<month>\d+)"
    r")$",
    re.IGNORECASE,
)

_TEXT_TARGETS = (
    S.PATIENT_ID,
    S.INSTRUMENT,
    S.CONDITION,
    S.SITE,
    S.AGE_BAND,
    S.SEX,
    S.ROUTE,
    S.START_MONTH,
    S.KIND,
) + DATE_TARGETS
_NUMBER_TARGETS = (S.SCORE, S.DAY, AGE, S.DOSE)

_SEXES = {
    "f": "F",
    "female": "F",
    "woman": "F",
    "w": "F",
    "m": "M",
    "male": "M",
    "man": "M",
    "x": "X",
    "other": "X",
    "nonbinary": "X",
    "non binary": "X",
    "nb": "X",
    "intersex": "X",
    "gender diverse": "X",
}
_SEX_BLANK = {"", "u", "unknown", "not reported", "declined", "prefer not to say", "na", "n a", "none"}
_ROUTES = {
    "iv": "IV",
    "intravenous": "IV",
    "iv infusion": "IV",
    "infusion": "IV",
    "im": "IM",
    "intramuscular": "IM",
    "in": "intranasal",
    "intranasal": "intranasal",
    "nasal": "intranasal",
    "nasal spray": "intranasal",
    "oral": "oral",
    "po": "oral",
    "sublingual": "oral",
    "sl": "oral",
    "troche": "oral",
    "lozenge": "oral",
    "esketamine": "esketamine",
    "spravato": "esketamine",
    "esk": "esketamine",
}
_KINDS = (
    ("induct", "induction"),
    ("initial", "induction"),
    ("series", "induction"),
    ("boost", "booster"),
    ("maint", "maintenance"),
)
_ICD10 = (
    ("f32", "depression"),
    ("f33", "depression"),
    ("f31", "bipolar_depression"),
    ("f41", "anxiety"),
    ("f43 1", "ptsd"),
    ("f431", "ptsd"),
    ("f42", "ocd"),
    ("g89", "chronic_pain"),
    ("g90 5", "chronic_pain"),
    ("m79 7", "chronic_pain"),
)
# (#N/A: Excel's failed lookup)
_MISSING_TEXT = {"", "na", "n/a", "nan", "null", "none", "-", "--", ".", "#n/a", "#na", "#null!"}


@dataclass(frozen=True)
class Loaded:
    """What ``load_files`` read: canonical tables, the issues table, and how columns were mapped."""

    assessments: pd.DataFrame
    treatments: pd.DataFrame | None
    issues: pd.DataFrame
    mapping: pd.DataFrame
    rows_read: int
    files: tuple[str, ...]
    ok: bool

    def to_json(self) -> dict:
        a = self.assessments
        return {
            "ok": bool(self.ok),
            "rows_read": int(self.rows_read),
            "rows_kept": int(len(a)),
            "patients": int(a[S.PATIENT_ID].nunique()),
            "instruments": sorted(a[S.INSTRUMENT].dropna().unique().tolist()),
            "issues": [
                {
                    "severity": r["severity"],
                    "code": r["code"],
                    "message": r["message"],
                    "column": r["column"],
                    "rows": list(r["rows"]),
                }
                for r in self.issues.to_dict("records")
            ],
            "mapping": self.mapping.to_dict("records"),
            "files": list(self.files),
        }

    def to_text(self) -> str:
        j = self.to_json()
        lines = []
        if self.ok:
            lines.append(
                f"Usable: {j['rows_kept']:,} scores kept ({j['rows_read']:,} rows read from {len(self.files)} "
                f"file{'s' if len(self.files) > 1 else ''}); {j['patients']:,} patients; instruments "
                f"{', '.join(j['instruments'])}."
            )
            if self.treatments is not None:
                lines.append(f"Treatments: {len(self.treatments):,} sessions.")
        else:
            lines.append("Not usable: nothing was kept. What to fix:")
        used = self.mapping[self.mapping["how"] != "unused"]
        if len(used):
            lines.append("Columns: " + "; ".join(f"'{r.source}' -> {r.target} ({r.how})" for r in used.itertuples()))
        unused = self.mapping[self.mapping["how"] == "unused"]
        if len(unused):
            lines.append("Not used: " + ", ".join(f"'{s}'" for s in unused["source"]))
        for r in self.issues.itertuples():
            lines.append(f"  {r.severity.upper():8s}{r.code}: {r.message}")
        if self.issues.empty:
            lines.append("No problems found.")
        return "\n".join(lines)


# --- public helpers -------------------------------------------------------------------------------------
def normalise_condition(text) -> str | None:
    """Canonical condition for a spelling ('Major Depressive Disorder' -> 'depression', 'F33.1' ->
    'depression'); None when unknown or blank."""
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return None
    raw = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode().strip().lower()
    if raw in _MISSING_TEXT:
        return None
    spaced = re.sub(r"\s+", " ", re.sub(r"[^0-9a-z]+", " ", raw)).strip()
    joined = re.sub(r"\s+", " ", re.sub(r"[^0-9a-z\s]+", "", raw)).strip()
    for key in (spaced, joined, spaced.replace("_", " ")):
        if key in S.CONDITION_SYNONYMS:
            return S.CONDITION_SYNONYMS[key]
    for prefix, condition in _ICD10:
        if spaced.startswith(prefix):
            return condition
    return None


def age_band(age: float) -> str | None:
    """schema.AGE_BANDS band of an age in years; over config.MAX_AGE_SHOWN -> '90+'; under 18 -> None."""
    if age is None or np.isnan(age) or age < 18:
        return None
    if age > MAX_AGE_SHOWN:
        return "90+"
    for band in S.AGE_BANDS[:-1]:
        lo, hi = (int(x) for x in band.split("-"))
        if lo <= age < hi + 1:
            return band
    return None


def age_bands(ages: np.ndarray) -> pd.Categorical:
    """Vectorised ``age_band``: categorical over schema.AGE_BANDS (blank for under 18 or missing)."""
    ages = np.asarray(ages, dtype=float)
    if len(ages) > 1000:  # long columns: the bands of the distinct ages, spread over the rows
        distinct, inverse = _distinct_numbers(ages)
        if distinct is not None:
            return pd.Categorical.from_codes(
                age_bands(distinct).codes[inverse], categories=pd.Index(S.AGE_BANDS, dtype=object), validate=False
            )
    lower = np.array([int(b.split("-")[0]) for b in S.AGE_BANDS[:-1]], dtype=float)
    codes = np.searchsorted(lower, ages, side="right") - 1
    codes = np.where(ages > MAX_AGE_SHOWN, len(S.AGE_BANDS) - 1, codes)
    codes = np.where(np.isnan(ages) | (ages < lower[0]), -1, codes)
    return pd.Categorical.from_codes(codes, categories=pd.Index(S.AGE_BANDS, dtype=object))


def _distinct_numbers(values: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
    """(distinct values, index of each row's value) for whole numbers within a span of 4096 (ages,
    days), by offset rather than hashing; (None, None) otherwise (then the caller works row by row)."""
    if np.isnan(values).any():
        return None, None
    lo, hi = values.min(), values.max()
    if not hi - lo < 4096:
        return None, None
    inverse = (values - lo).astype(np.int64)
    if not (inverse == values - lo).all():
        return None, None
    return np.arange(lo, hi + 1), inverse


def wide_column(name: str) -> tuple[str, int | None, str] | None:
    """(instrument code, day or None, visit label) for a wide column such as 'PHQ-9 Day 14', 'PHQ-9 (Week 4)'
    or 'GAD7'."""
    if "(" in str(name):  # 'PHQ-9 (Week 4)': the visit in parentheses (before the instrument's display-name rule)
        visit = wide_column(re.sub(r"[()]", " ", str(name)))
        if visit is not None and visit[1] is not None:
            return visit
    code = normalise_code(name)
    if code is not None:
        return code, None, ""
    m = _VISIT.match(str(name).strip())
    if not m or not m.group("ins").strip():
        return None
    code = normalise_code(m.group("ins"))
    if code is None:
        return None
    if m.group("base"):
        return code, BASELINE_VISIT_DAY, "baseline"
    if m.group("inf"):
        k = int(m.group("inf"))
        return (code, INDUCTION_DAYS[k - 1], f"infusion {k}") if 1 <= k <= len(INDUCTION_DAYS) else None
    if m.group("day"):
        return code, int(m.group("day")), "day"
    if m.group("week"):
        return code, 7 * int(m.group("week")), "week"
    return code, 30 * int(m.group("month")), "month"


#: below this many rows, per-column work runs in the calling thread (handing it over costs more than it saves)
THREADED_ROWS = 200_000


def _in_threads(func, items, rows: int) -> list:
    """``[func(x) for x in items]``, in two threads for long columns (``rows``): independent per-column work
    (encoding, output columns), where pyarrow and numpy release the GIL."""
    items = list(items)
    if len(items) < 2 or rows < THREADED_ROWS:
        return [func(x) for x in items]
    with ThreadPoolExecutor(2) as pool:
        return list(pool.map(func, items))


# --- reading bytes ---------------------------------------------------------------------------------------
class _Refused(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code, self.message = code, message


@dataclass
class _Raw:
    table: pa.Table  # one column per source column (strings, or numbers pyarrow inferred)
    rows: np.ndarray  # spreadsheet row of each table row (int32: half the memory of int64, rows up to 2**31)
    encoding: str = ""
    delimiter: str = ""
    ragged: tuple = ()  # (row, "short" | "long") of rows whose field count differs from the header
    encoded: dict = field(default_factory=dict)  # column -> (codes, distinct values as a pyarrow array)
    listed: dict = field(default_factory=dict)  # column -> distinct values as a list

    def dictionary(self, name: str) -> tuple[np.ndarray, pa.Array]:
        """(codes, distinct values) of a column, computed once (-1 codes for nulls)."""
        if name not in self.encoded:
            self.encoded[name] = _dictionary(self.table[name])
        return self.encoded[name]

    def distinct(self, name: str) -> tuple[np.ndarray, list]:
        """(codes, distinct values as a list), computed once."""
        codes, values = self.dictionary(name)
        if name not in self.listed:
            self.listed[name] = values.to_pylist()
        return codes, self.listed[name]

    def numbers(self, name: str, **kw) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """``_numbers`` of a column, sharing its dictionary encoding when it is text."""
        col = self.table[name]
        return _numbers(col, dictionary=self.dictionary(name) if _is_text(col) else None, **kw)

    def as_parsed(self, name: str) -> tuple[pa.ChunkedArray, np.ndarray, list]:
        """(column as parsed, codes, distinct values): what ``_output`` reuses for a column left unchanged."""
        return (self.table[name], *self.distinct(name))

    def encode_text(self) -> None:
        """Dictionary-encode every text column at once (in two threads for long files, the costliest first: the
        threads then end together)."""
        names = [
            n for n, c in zip(self.table.column_names, self.table.columns) if n not in self.encoded and _is_text(c)
        ]
        names.sort(key=lambda n: _encoding_cost(self.table[n]), reverse=True)
        for name, encoded in zip(names, _in_threads(lambda n: _dictionary(self.table[n]), names, self.table.num_rows)):
            self.encoded[name] = encoded


def _source_bytes(source) -> tuple[str, bytes]:
    if isinstance(source, tuple) and len(source) == 2:
        name, data = source
        if hasattr(data, "read"):
            data = data.read()
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"upload {name!r}: expected bytes, got {type(data).__name__}")
        return str(name), bytes(data)
    if isinstance(source, (str, Path)):
        path = Path(source)
        return path.name, _mapped_file(path)
    raise TypeError(f"sources must be paths or (file_name, bytes) tuples, got {type(source).__name__}")


class _MappedFile(mmap.mmap):
    """A file's bytes, memory-mapped read-only; ``path`` lets pyarrow map the file itself."""

    path: str = ""


def _mapped_file(path: Path):
    """The file's bytes, memory-mapped (read-only, not copied), or read when it cannot be mapped."""
    if os.name != "posix":
        return path.read_bytes()
    with open(path, "rb") as f:
        if os.fstat(f.fileno()).st_size == 0:
            return f.read()  # (empty, or a pipe or device whose size is unknown)
        try:  # (only the first pages are read through this map: the parse and the scans use pyarrow's map)
            mapped = _MappedFile(f.fileno(), 0, flags=mmap.MAP_SHARED, prot=mmap.PROT_READ)
        except (OSError, ValueError):  # not mappable: read it
            return f.read()
    mapped.path = str(path)
    return mapped


def _sniff(data: bytes) -> None:
    """Refuse what is not a delimited text file, saying what it is and what to do."""
    blank = b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"
    if not data[:65536].strip(blank) and not data[:].strip(blank):
        raise _Refused(
            "EMPTY_FILE", "The file is empty. Export the assessments again from your EHR and upload the new file."
        )
    if len(data) > MAX_UPLOAD_MB * 1024 * 1024:
        raise _Refused(
            "FILE_TOO_LARGE",
            f"The file is larger than {MAX_UPLOAD_MB} MB. Export a shorter date range and upload the parts.",
        )
    head = data[:4096]
    if head.startswith(b"PK\x03\x04"):
        if b"xl/" in data[:200_000] or b"[Content_Types].xml" in data[:200_000]:
            raise _Refused(
                "EXCEL_FILE",
                "This looks like an Excel workbook saved with a .csv name. In Excel choose "
                "File > Save As > CSV UTF-8 and upload that file.",
            )
        raise _Refused(
            "ZIP_FILE", "This is a compressed (ZIP) archive, not a CSV file. Unzip it and upload the CSV inside."
        )
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        raise _Refused(
            "EXCEL_FILE",
            "This looks like an old Excel (.xls) workbook saved with a .csv name. In Excel "
            "choose File > Save As > CSV UTF-8 and upload that file.",
        )
    if head.startswith(b"%PDF"):
        raise _Refused("PDF_FILE", "This is a PDF document, not a CSV file. Export the data from your EHR as CSV.")
    if head.startswith(b"\x1f\x8b"):
        raise _Refused(
            "ZIP_FILE", "This is a compressed (gzip) file, not a CSV file. Decompress it and upload the CSV inside."
        )
    if re.match(rb"(?:\xef\xbb\xbf)?\s*<(?:!doctype\s+html|html|table|\?xml[^>]*>\s*<html)", head, re.IGNORECASE) or (
        re.match(rb"(?:\xef\xbb\xbf)?\s*<", head) and re.search(rb"<table[\s>]", head, re.IGNORECASE)
    ):
        raise _Refused(
            "HTML_FILE",
            "This is a web page (an HTML table), not a CSV file, even if its name ends in .xls or "
            ".csv (many EHRs' 'Export to Excel' write one). Open it in Excel, choose File > Save As > CSV UTF-8, "
            "and upload that file.",
        )


def _binary(message: str = "") -> _Refused:
    return _Refused(
        "BINARY_FILE",
        "This is not a text file (it holds binary data, perhaps an image, a database or a "
        "damaged download). Upload the CSV export of your assessments." + message,
    )


def _encoding(data: bytes) -> str:
    """The encoding, decided on a sample: BOM, UTF-16 zero-byte pattern, strict UTF-8, else charset-normalizer."""
    if data[:3].startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if data[:2].startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    sample = data[:65536]
    even, odd = sample[0::2], sample[1::2]
    if len(sample) >= 4 and odd.count(0) > 0.3 * len(odd) and even.count(0) < 0.05 * len(even):
        return "utf-16-le"
    if len(sample) >= 4 and even.count(0) > 0.3 * len(even) and odd.count(0) < 0.05 * len(odd):
        return "utf-16-be"
    controls = sum(sample.count(bytes([b])) for b in (*range(0, 9), 11, 12, *range(14, 27), *range(28, 32)))
    if controls > max(2, 0.01 * len(sample)):
        raise _binary()
    try:
        sample.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as e:
        if e.start >= len(sample) - 3 and len(data) > len(sample):  # a character cut by the sample's end
            return "utf-8"
    return _guess_8bit(sample)


def _guess_8bit(sample: bytes) -> str:
    """Windows-1252 when the sample reads in it (what Windows exports use; a few accented letters are too
    little for a statistical guess), otherwise charset-normalizer's best guess."""
    try:
        sample.decode("cp1252")
        return "mac_roman" if _mac_roman(sample) else "cp1252"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(sample, cp_isolation=["latin_1", "iso8859_15", "mac_roman", "cp850", "cp1250", "utf_16"]).best()
    if best is None:
        raise _binary()
    return best.encoding


_IN_WORD_8BIT = re.compile(rb"(?<=[A-Za-z])[\x80-\xff](?=[A-Za-z])")
_CONTRACTION = re.compile(rb"(?:s|t|d|m|ll|re|ve)(?![A-Za-z])")


def _mac_roman(sample: bytes) -> bool:
    """Whether 8-bit text that reads in Windows-1252 is Mac Roman (Excel's "CSV (Macintosh)"): its bytes
    between two letters are punctuation in Windows-1252 ('Cl’nica Pe–a') but letters in Mac Roman
    ('Clínica Peña'), more often than letters in Windows-1252 (an apostrophe before s, t, ll, ... is an
    English contraction, plausible in Windows-1252)."""
    implausible = plausible = 0
    for m in _IN_WORD_8BIT.finditer(sample):
        b = m.group()
        windows, mac = b.decode("cp1252"), b.decode("mac_roman")
        if windows.isalpha():
            plausible += 1
        elif mac.isalpha() and not (windows == "\u2019" and _CONTRACTION.match(sample, m.end())):
            implausible += 1
    return implausible > plausible


_ENCODING_NAMES = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8 with BOM",
    "utf_8": "UTF-8",
    "cp1252": "Windows-1252",
    "latin_1": "Latin-1",
    "iso8859_15": "Latin-9",
    "mac_roman": "Mac Roman",
    "cp850": "DOS Latin-1",
    "utf-16": "UTF-16",
    "utf-16-le": "UTF-16",
    "utf-16-be": "UTF-16",
}


def _layout(text: str) -> tuple[str, int]:
    """(delimiter, preamble lines) from the first lines of the text.

    The delimiter splits the lines into the most consistent number of fields (more than one). Leading
    lines that are blank or hold a single field (a report title, Excel's "sep=;" line) are a preamble
    above the header."""
    lines = text.splitlines()[:60]
    lines = lines[:-1] if len(lines) > 1 else lines  # the last line may be cut by the sample
    if lines and (m := re.fullmatch(r'\s*"?sep=(.)"?,*\s*', lines[0])) and m.group(1) in ",;\t|":
        return m.group(1), 1
    best, best_score, best_counts = ",", (-1.0, 0), []
    for d in (",", ";", "\t", "|"):
        try:
            counts = [len(next(csv.reader([line], delimiter=d))) if line.strip() else 0 for line in lines]
        except csv.Error:
            continue
        filled = [c for c in counts if c]
        if not filled:
            continue
        modal = max(set(filled), key=lambda c: (filled.count(c), c))
        if modal < 2:
            continue
        score = (filled.count(modal) / len(filled), modal)
        if score > best_score:
            best, best_score, best_counts = d, score, counts
    skip = 0
    while skip < len(best_counts) - 1 and best_counts[skip] <= 1:
        skip += 1
    return best, skip


def _unique_names(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for i, n in enumerate(names):
        n = str(n).strip().lstrip("\ufeff") or f"column {i + 1}"
        if n in seen:
            seen[n] += 1
            n = f"{n}.{seen[n]}"
        else:
            seen[n] = 0
        out.append(n)
    return out


@dataclass
class _Prepared:
    body: bytes  # UTF-8, without a BOM
    names: list[str]  # header names, made unique
    delimiter: str
    encoding: str
    skip: int = 0  # preamble lines above the header (a title, "sep=;")


def _prepare(data: bytes) -> _Prepared:
    """Sniff, decide the encoding (transcoding to UTF-8 only when needed), the delimiter and the header."""
    _sniff(data)
    encoding = _encoding(data)
    if encoding in ("utf-8", "utf-8-sig"):
        body = data[3:] if encoding == "utf-8-sig" else data
        head_text = body[:65536].decode("utf-8", errors="ignore")
    else:
        try:
            text = data[:].decode(encoding)
        except (UnicodeDecodeError, LookupError):
            raise _binary(" (Its characters could not be read in any common encoding.)") from None
        body = text.encode("utf-8")
        head_text = text[:65536]
    if "\x00" in head_text:
        raise _binary()
    delimiter, skip = _layout(head_text)
    if skip:
        cut = -1
        for _ in range(skip):
            cut = body.find(b"\n", cut + 1)
            if cut < 0:
                break
        if cut >= 0:
            body, head_text = body[cut + 1 :], head_text.split("\n", skip)[-1]
        else:
            skip = 0
    try:
        header = next(csv.reader(io.StringIO(head_text, newline=""), delimiter=delimiter), [])
    except csv.Error as e:
        raise _Refused(
            "UNREADABLE", f"The column names could not be read as CSV ({e}). Export the file again as CSV."
        ) from None
    if not any(h.strip() for h in header):
        raise _Refused(
            "NO_HEADER",
            "The column names could not be found on the first line of the file. Delete "
            "anything above the column names and upload again.",
        )
    return _Prepared(body, _unique_names(header), delimiter, _ENCODING_NAMES.get(encoding, encoding), skip)


def _parse(prep: _Prepared, numeric: set[str], dates: set[str] = frozenset()) -> _Raw:
    """Parse into a table of text (plain strings, each column dictionary-encoded once; numbers for the
    columns in ``numeric``; dates for the columns of ``dates`` whose first values are all ISO dates,
    read as text again if a later value is not), with spreadsheet rows."""
    body = prep.body
    source = _arrow_buffer(body)  # (a file on disk: pyarrow's own map, whose pages the scans map for the parse)
    quotes = _has_byte(source, b'"')
    # pyarrow's rows are the spreadsheet's only if no line was skipped (blank) or joined (quoted line
    # break). Without quotes, each line (ended by LF, CRLF or a lone CR, as pyarrow and the csv module
    # both end lines) is one row when blank lines are kept as rows, and a blank line would leave the first
    # column blank: a first column without blanks proves there was none, with no counting of lines.
    # Otherwise blank lines are skipped and lines counted. (A lone CR that splits the fields of a row leaves
    # parts with too few fields: pyarrow refuses them, and the careful reader takes over.)
    simple = not quotes and len(prep.names) > 1
    iso = _iso_columns(prep, dates)
    raw = _read_arrow(source, prep.names, prep.delimiter, quotes, numeric, iso, keep_blank_lines=simple)
    if raw is None and iso:  # (a value further down is not an ISO date: the column is text)
        iso = set()
        raw = _read_arrow(source, prep.names, prep.delimiter, quotes, numeric, iso, keep_blank_lines=simple)
    if raw is not None and simple and _has_blanks(raw, raw.table.column_names[0]):
        simple = False
        raw = _read_arrow(source, prep.names, prep.delimiter, quotes, numeric, iso, keep_blank_lines=False)
    if raw is not None and not simple:
        tail = body[-4096:]
        trailing = tail[len(tail.rstrip(b"\r\n \t")) :].count(b"\n")
        lines = _count_newlines(source) - trailing + 1
        if lines != raw.table.num_rows + 1 or _has_byte(source, b"\r") and _lone_carriage_returns(source):
            raw = None
    encoding = prep.encoding
    if raw is None:
        body = bytes(body)
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as e:  # the sample was plain ASCII; 8-bit characters come later
            guess = _guess_8bit(body[max(0, e.start - 65536) : e.start + 65536])
            text, encoding = body.decode(guess, errors="replace"), _ENCODING_NAMES.get(guess, guess)
        raw = _read_python(text, prep.names, prep.delimiter)
    else:
        _drop_blank_rows(raw)
    if prep.skip:
        raw.rows = raw.rows + prep.skip
    if raw.table.num_rows == 0:
        raise _Refused(
            "NO_DATA_ROWS",
            "The file has column names but no data rows. Check the date range of the export and export again.",
        )
    raw.encoding = encoding
    raw.delimiter = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}[prep.delimiter]
    return raw


def _is_text(col) -> bool:
    return pa.types.is_string(col.type) or pa.types.is_large_string(col.type)


def _drop_blank_rows(raw: _Raw) -> None:
    """Remove pyarrow's rows whose every field is blank (a line of delimiters only, as a spreadsheet saves an
    empty formatted row): blank lines, which the python reader skips. Checked column by column on the
    distinct values, the first column first: usually one look at one dictionary."""
    mask = None
    for name in raw.table.column_names:
        col = raw.table[name]
        if _is_text(col):
            codes, values = raw.dictionary(name)
            blank = np.flatnonzero(
                pc.equal(pc.utf8_trim_whitespace(values), "").fill_null(True).to_numpy(zero_copy_only=False)
            )
            at = (codes < 0) | np.isin(codes, blank) if len(blank) else codes < 0
        else:  # numbers and dates: a blank field is null
            at = col.is_null().to_numpy(zero_copy_only=False)
        mask = at if mask is None else mask & at
        if not mask.any():
            return
    raw.table = raw.table.filter(pa.array(~mask))
    raw.rows = raw.rows[~mask]
    raw.encoded.clear()
    raw.listed.clear()


def _has_blanks(raw: _Raw, name: str) -> bool:
    """Whether a parsed column has an empty value (null, or "" in a text column: looked up in its distinct values)."""
    col = raw.table[name]
    if col.null_count:
        return True
    if _is_text(col):
        return bool(pc.any(pc.equal(raw.dictionary(name)[1], "")).as_py())
    return False


def _valid_utf8(raw: _Raw) -> bool:
    """Whether every text value is valid UTF-8, checked on the distinct values of the text columns
    (pyarrow's own check, on every row, is switched off while parsing)."""
    for name, col in zip(raw.table.column_names, raw.table.columns):
        if pa.types.is_binary(col.type) or pa.types.is_large_binary(col.type):
            return False
        if not _is_text(col):
            continue
        try:
            raw.dictionary(name)[1].validate(full=True)
        except pa.ArrowInvalid:
            return False
    return True


def _arrow_buffer(body) -> pa.Buffer:
    """The bytes as a pyarrow buffer, not copied. A whole file on disk is pyarrow's own memory map of it:
    its pages are then mapped once, by the scans, for the parse too (a second map of the file, faulted in
    again by the parse, cost ~7 ms per 60 MB); and pyarrow's threads hold no Python object (releasing one
    needs the GIL, which can abort the process at exit)."""
    if isinstance(body, _MappedFile):
        with pa.memory_map(body.path) as mapped:
            return mapped.read_buffer()  # (the buffer keeps the map alive)
    return pa.py_buffer(body)


def _memchr():
    """The C library's memchr (ctypes releases the GIL during the call), or None where there is none."""
    try:
        func = ctypes.CDLL(None).memchr
    except (OSError, AttributeError, TypeError):
        return None
    func.restype, func.argtypes = ctypes.c_void_p, (ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t)
    return func


_MEMCHR = _memchr() if os.name == "posix" else None


#: from this size, a buffer is searched in two halves at once (a fresh map's page faults are most of the cost)
SPLIT_SCAN_BYTES = 8 << 20


def _has_byte(buffer: pa.Buffer, byte: bytes) -> bool:
    """Whether a byte occurs in the buffer (memchr, as ``bytes.find`` uses, on pyarrow's memory, the second half of a
    long buffer in a thread; numpy's comparison in slices where there is no memchr)."""
    if buffer.size == 0:
        return False
    if _MEMCHR is None:
        view = np.frombuffer(buffer, dtype=np.uint8)
        return any(np.any(view[i : i + (1 << 22)] == byte[0]) for i in range(0, len(view), 1 << 22))
    if buffer.size < SPLIT_SCAN_BYTES:
        return _MEMCHR(buffer.address, byte[0], buffer.size) is not None
    half = buffer.size // 2
    with ThreadPoolExecutor(1) as pool:
        second = pool.submit(_MEMCHR, buffer.address + half, byte[0], buffer.size - half)
        first = _MEMCHR(buffer.address, byte[0], half)
        return first is not None or second.result() is not None


def _lone_carriage_returns(body) -> bool:
    """Whether a carriage return not followed by a line feed ends a line (old Mac files, stray CRs): a
    line break to pyarrow and the csv module, not counted by ``_count_newlines``."""
    view = np.frombuffer(body, dtype=np.uint8)
    step = 1 << 22
    for i in range(0, len(view), step):
        part = view[i : i + step + 1]  # (one byte more: the byte after the slice's last CR)
        cr = np.flatnonzero(part[:step] == 13)
        if len(cr) and (cr[-1] + 1 >= len(part) or np.any(part[np.minimum(cr + 1, len(part) - 1)] != 10)):
            return True
    return False


def _count_newlines(body) -> int:
    """Line feeds in the bytes (numpy's vectorised comparison, in slices: several times bytes.count)."""
    view = np.frombuffer(body, dtype=np.uint8)
    step = 1 << 22
    return int(sum(np.count_nonzero(view[i : i + step] == 10) for i in range(0, len(view), step)))


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
#: 0100-01-01 in days since 1970-01-01
_YEAR_100 = dt.date(100, 1, 1).toordinal() - dt.date(1970, 1, 1).toordinal()


def _before_year_100(col: pa.ChunkedArray) -> bool:
    """Whether a date32 column holds a date before the year 100."""
    first = pc.min(col).cast(pa.int32()).as_py()
    return first is not None and first < _YEAR_100


def _iso_columns(prep: _Prepared, dates: set[str]) -> set[str]:
    """The columns of ``dates`` whose values in the first 64 KB are ISO dates (YYYY-MM-DD) or blank, at
    least one: pyarrow reads them as dates (``date32``: days since 1970-01-01, blank -> null), which
    costs no more than text and spares the hashing of every row. pyarrow takes exactly what
    ``parse_dates`` reads as ISO with two-digit month and day (white space around trimmed) and refuses
    the rest (then the column is read as text)."""
    if not dates:
        return set()
    lines = bytes(prep.body[:65536]).decode("utf-8", errors="ignore").splitlines()[1:-1]
    where = {i: n for i, n in enumerate(prep.names) if n in dates}
    seen = dict.fromkeys(where.values(), False)
    try:
        for rec in csv.reader(lines, delimiter=prep.delimiter):
            for i, n in where.items():
                v = rec[i].strip() if i < len(rec) else ""
                if v and not _ISO_DATE.fullmatch(v):
                    return set()
                seen[n] = seen[n] or bool(v)
    except csv.Error:
        return set()
    return {n for n, found in seen.items() if found}


def _read_arrow(
    source: pa.Buffer,
    names: list[str],
    delimiter: str,
    newlines: bool,
    numeric: set[str],
    dates: set[str] = frozenset(),
    keep_blank_lines: bool = False,
) -> _Raw | None:
    """pyarrow's parse (text as plain strings, ``dates`` as dates), then every text column dictionary-encoded,
    in two threads. None when pyarrow's rows could not be the spreadsheet's: a row with more or fewer fields
    than the header (pyarrow raises: no row handler, which would cost ~15% of the parse), 8-bit characters
    below the sniffed sample, or a value of ``dates`` that is not an ISO date; the python reader then reports
    them exactly (or the caller parses the dates as text)."""
    types = {n: pa.date32() if n in dates else pa.string() for n in names if n not in numeric}
    try:
        table = pacsv.read_csv(
            source,
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=1, block_size=1 << 22),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter, newlines_in_values=newlines, ignore_empty_lines=not keep_blank_lines
            ),
            convert_options=pacsv.ConvertOptions(
                column_types=types,
                null_values=[""],
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
                check_utf8=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return None
    if any(_before_year_100(table[n]) for n in dates):
        return None  # (years 0-99 are not dates to parse_dates: read as text, and reported as it reports them)
    raw = _Raw(table, np.arange(2, table.num_rows + 2, dtype=np.int32))
    raw.encode_text()
    if not _valid_utf8(raw):
        return None  # 8-bit characters below the sniffed sample: the python reader decodes them
    return raw


def _read_python(text: str, names: list[str], delimiter: str) -> _Raw:
    """The careful reader: exact spreadsheet rows, blank lines counted, ragged rows padded or reported."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        next(reader)
        records = list(reader)
    except csv.Error as e:
        raise _Refused("UNREADABLE", f"The file could not be read as CSV ({e}). Export it again as CSV.") from None
    width = len(names)
    keep, rows, ragged = [], [], []
    for i, rec in enumerate(records):
        row = i + 2
        if not rec or all(not f.strip() for f in rec):
            continue
        if len(rec) != width:
            if len(rec) > width and not any(f.strip() for f in rec[width:]):
                rec = rec[:width]
            elif len(rec) < width:
                rec = rec + [""] * (width - len(rec))
                ragged.append((row, "short"))
            else:
                ragged.append((row, "long"))
                continue
        keep.append(rec)
        rows.append(row)
    cols = list(zip(*keep)) if keep else [()] * width
    table = pa.table({n: pa.array(list(c), pa.string()) for n, c in zip(names, cols)})
    return _Raw(table, np.asarray(rows, dtype=np.int32), ragged=tuple(ragged))


# --- column mapping --------------------------------------------------------------------------------------
@dataclass
class _Columns:
    target: dict[str, str]  # canonical target -> source column
    wide: list[tuple[str, str, int | None, str]]  # (source, instrument code, day or None, visit label)
    rows: list[dict]  # mapping rows
    twice: dict[str, list[str]] = field(default_factory=dict)  # required target -> the sources that all match it


#: the columns a file cannot have two of (which one holds the scores would be a guess)
_REQUIRED_ONCE = (S.PATIENT_ID, S.INSTRUMENT, S.SCORE, S.DAY, S.DATE)


def _map_columns(file: str, names: list[str], overrides: dict[str, str]) -> _Columns:
    lowered = {k.strip().lower(): v for k, v in overrides.items()}
    chosen: dict[str, tuple[int, str, str]] = {}  # target -> (rank, source, how)
    matches: dict[str, list[str]] = {}  # required target -> every source whose name matches it
    wide, rows, used = [], [], set()
    plain = set(names)
    for name in names:
        override = overrides.get(name, lowered.get(name.lower()))
        if override is not None:
            if override == IGNORE:
                rows.append({"file": file, "source": name, "target": "", "how": "ignored"})
                used.add(name)
                continue
            code = normalise_code(override) if override not in OVERRIDE_TARGETS else None
            if code is not None:
                wide.append((name, code, None, ""))
                rows.append({"file": file, "source": name, "target": f"{code} score", "how": "override"})
            else:
                chosen[override] = (-1, name, "override")
            used.add(name)
            continue
        key = header_key(name)
        if key not in _SYNONYM_INDEX and (m := re.fullmatch(r"(.+)\.\d+", name)) and m.group(1) in plain:
            key = header_key(m.group(1))  # a repeated name ('Score', 'Score.1'): it matches what the first matches
        if key in _SYNONYM_INDEX:
            target, rank = _SYNONYM_INDEX[key]
            required = S.DATE if target in DATE_TARGETS else target
            if required in _REQUIRED_ONCE:
                matches.setdefault(required, []).append(name)
            if target not in chosen or rank < chosen[target][0]:
                chosen[target] = (rank, name, "synonym")
            continue
        w = wide_column(name)
        if w is not None:
            wide.append((name,) + w)
            label = f"{w[0]} day {w[1]}" if w[1] is not None else f"{w[0]} score"
            rows.append({"file": file, "source": name, "target": label, "how": "wide"})
            used.add(name)
    target = {t: src for t, (_, src, _) in chosen.items()}
    dates = [t for t in DATE_TARGETS if t in target]
    for t in dates[1:]:  # one date column: an explicit format wins over the plain synonym
        if chosen[t][2] == "override" or chosen[dates[0]][2] != "override":
            target.pop(dates[0], None)
            dates[0] = t
        else:
            target.pop(t, None)
    if AGE in target and S.AGE_BAND in target:
        target.pop(AGE)
    for t, src in target.items():
        rows.append({"file": file, "source": src, "target": t, "how": chosen[t][2]})
        used.add(src)
    for name in names:
        if name not in used:
            rows.append({"file": file, "source": name, "target": "", "how": "unused"})
    order = {n: i for i, n in enumerate(names)}
    rows.sort(key=lambda r: order[r["source"]])
    overridden = {S.DATE if t in DATE_TARGETS else t for t, (_, _, how) in chosen.items() if how == "override"}
    twice = {t: src for t, src in matches.items() if len(src) > 1 and t not in overridden}
    return _Columns(target, wide, rows, twice)


# --- distinct-value helpers ------------------------------------------------------------------------------
def _dictionary(col: pa.ChunkedArray) -> tuple[np.ndarray, pa.Array]:
    """(codes, distinct values) of a column; codes -1 for null. Dictionary columns (as parsed) are only
    unified across chunks; other columns are encoded."""
    if pa.types.is_dictionary(col.type):
        arr = col.unify_dictionaries() if isinstance(col, pa.ChunkedArray) else col
    else:
        if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
            col = pc.cast(col, pa.string())
        starts = _run_starts(col) if isinstance(col, pa.ChunkedArray) and len(col) >= RUN_ROWS else None
        if starts is not None:  # the first value of each run encoded, its code repeated over the run
            codes, dictionary = _dictionary(_take_sorted(col, starts))
            return np.repeat(codes, np.diff(np.append(starts, len(col)))), dictionary
        looked_up = _few_values(col)
        if looked_up is not None:
            return looked_up
        arr = pc.dictionary_encode(col)
    if isinstance(arr, pa.ChunkedArray):
        dictionary = arr.chunk(0).dictionary if arr.num_chunks else pa.array([], pa.string())
        indices = pa.chunked_array([c.indices for c in arr.chunks], arr.type.index_type)
    else:
        dictionary, indices = arr.dictionary, arr.indices
    if indices.null_count:
        indices = indices.fill_null(-1)
    codes = indices.to_numpy() if isinstance(indices, pa.ChunkedArray) else indices.to_numpy(zero_copy_only=False)
    return codes.astype(_code_dtype(len(dictionary)), copy=False), dictionary


#: from this many rows, a text column is first looked at for runs of equal values
RUN_ROWS = 200_000


def _run_starts(col: pa.ChunkedArray) -> np.ndarray | None:
    """Where each run of equal values starts (a null starts a run of its own), or None when runs are short
    (known after the first chunk, usually). An export grouped by patient (and instrument) has long runs in
    the patient key and in every patient attribute: comparing each value with the one before costs a
    third to a half of hashing every value (dictionary encoding; ``_few_values``), and the first values of
    the runs, encoded, give the same codes and distinct values (a value first appears at a run's start)."""
    parts, offset, last = [np.zeros(1, np.int64)], 0, None
    for chunk in col.chunks:
        m = len(chunk)
        if m == 0:
            continue
        if last is not None and not (last.is_valid and chunk[0].is_valid and last == chunk[0]):
            parts.append(np.array([offset], np.int64))
        if m > 1:
            starts = _changes(chunk).astype(np.int64) + (offset + 1)
            if len(parts) == 1 and len(starts) > m // 8:
                return None
            parts.append(starts)
        last = chunk[m - 1]
        offset += m
    starts = np.concatenate(parts)
    return starts if len(starts) <= len(col) // 8 else None


def _changes(chunk: pa.Array) -> np.ndarray:
    """Positions i where value i + 1 differs from value i (a null differs from everything). Values all 1, 2, 4
    or 8 bytes long (a pseudonymous key such as 'P-000123', a sex code) are compared as integers (~10 times
    faster than pyarrow's comparison of strings)."""
    fixed = _fixed_width(chunk)
    if fixed is not None:
        return np.flatnonzero(fixed[1:] != fixed[:-1])
    differs = pc.not_equal(chunk.slice(1), chunk.slice(0, len(chunk) - 1))
    if chunk.null_count:
        differs = differs.fill_null(True)
    return pc.indices_nonzero(differs).to_numpy()


def _fixed_width(chunk: pa.Array) -> np.ndarray | None:
    """The values of a string chunk without nulls, every one 1, 2, 4 or 8 bytes long, as unsigned integers (a view
    of its bytes); else None."""
    if chunk.null_count or not pa.types.is_string(chunk.type) or len(chunk) < 2:
        return None
    _, offsets, data = chunk.buffers()
    ends = np.frombuffer(offsets, dtype=np.int32)[chunk.offset : chunk.offset + len(chunk) + 1]
    width = int(ends[1] - ends[0])
    if width not in (1, 2, 4, 8) or int(ends[-1] - ends[0]) != width * len(chunk) or (np.diff(ends) != width).any():
        return None
    return np.frombuffer(data, dtype=np.uint8)[ends[0] : ends[-1]].view(f"<u{width}")


def _encoding_cost(col: pa.ChunkedArray) -> int:
    """How long ``_dictionary`` takes on a column, roughly: its size, or nothing when its values are all of one
    width (compared as integers)."""
    return 0 if col.num_chunks and _fixed_width(col.chunk(0)) is not None else col.nbytes


def _take_sorted(col: pa.ChunkedArray, rows: np.ndarray) -> pa.Array:
    """``col.take(rows)`` for increasing rows, chunk by chunk (a take on the chunked column joins its chunks first:
    a copy of every value)."""
    bounds = np.cumsum([0] + [len(c) for c in col.chunks])
    cut = np.searchsorted(rows, bounds)
    return pa.concat_arrays([c.take(rows[a:b] - lo) for c, lo, a, b in zip(col.chunks, bounds[:-1], cut[:-1], cut[1:])])


def _few_values(col: pa.ChunkedArray) -> tuple[np.ndarray, pa.Array] | None:
    """``_dictionary`` of a long text column whose first chunk already holds every distinct value (site, sex,
    instrument, ...): the values are looked up in that chunk's distinct values (in order of first appearance,
    as dictionary encoding numbers them), cheaper than hashing every row into a growing table. None when the
    column is short, has many distinct values, or values (or nulls) the first chunk lacks."""
    if not isinstance(col, pa.ChunkedArray) or col.num_chunks < 2 or col.null_count:
        return None
    values = pc.unique(col.chunk(0))
    if len(values) > 64:
        return None
    indices = pc.index_in(col, value_set=values)
    if indices.null_count:
        return None
    codes = np.concatenate([c.to_numpy() for c in indices.chunks]) if indices.num_chunks else np.zeros(0, np.int32)
    return codes.astype(_code_dtype(len(values)), copy=False), values


def _code_dtype(n: int) -> type:
    """The integer type pandas gives the codes of n categories (so that categoricals take codes uncopied)."""
    return np.int8 if n < 127 else np.int16 if n < 32767 else np.int32


def _encode(col: pa.ChunkedArray) -> tuple[np.ndarray, list]:
    codes, values = _dictionary(col)
    return codes, values.to_pylist()


def _categorical(codes: np.ndarray, values: list, func) -> pd.Categorical:
    """Categorical of func(value) for each code: the function runs once per distinct value."""
    return _recode(codes, [func(v) for v in values])


def _recode(codes: np.ndarray, mapped: list) -> pd.Categorical:
    """Categorical whose row i is ``mapped[codes[i]]`` (None: missing; code -1: missing)."""
    new_codes, uniques = pd.factorize(pd.Series(mapped, dtype=object), use_na_sentinel=True)
    dtype = pd.CategoricalDtype(pd.Index(uniques, dtype=object))
    if not np.array_equal(new_codes, np.arange(len(mapped))):  # not one-to-one: the codes change
        codes = np.append(new_codes, -1)[codes]  # code -1 -> -1
    return pd.Categorical.from_codes(codes, dtype=dtype, validate=False)  # codes are in range by construction


def _clean_text(v):
    if v is None:
        return None
    v = " ".join(str(v).split())
    return None if v.lower() in _MISSING_TEXT else v


_THOUSANDS = re.compile(r"[+-]?\d{1,3}(,\d{3})+")
_MG_PER_KG = re.compile(r"(?i)\s*mg\s*/\s*kg$")


def _number(v, thousands: bool = False, unit: re.Pattern | None = None) -> tuple[float, int]:
    """(value, reason): reason 0 a number, 1 empty, 2 not a number. Decimal commas accepted; with
    ``thousands`` (a whole-number column of a comma-separated file) a comma before exactly three digits
    ('1,050') is a thousands separator instead; ``unit`` is a trailing unit removed first ('0.5 mg/kg')."""
    if v is None:
        return np.nan, 1
    s = str(v).strip().replace("\u00a0", "").replace(" ", "")
    if s == "":
        return np.nan, 1
    if unit is not None:
        s = unit.sub("", s)
    if thousands and _THOUSANDS.fullmatch(s):
        s = s.replace(",", "")
    elif re.fullmatch(r"[+-]?\d+,\d+", s):
        s = s.replace(",", ".")
    try:
        x = float(s)
    except ValueError:
        return np.nan, 2
    return (x, 0) if np.isfinite(x) else (np.nan, 2)


def _numbers(
    col: pa.ChunkedArray, thousands: bool = False, unit: re.Pattern | None = None, dictionary=None
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(float64 values, reason per row, distinct non-numbers) of a column (``_number`` of each distinct value);
    ``dictionary``: the text column's (codes, distinct values), when already encoded."""
    if pa.types.is_integer(col.type) or pa.types.is_floating(col.type):
        values = _floats(col)
        if col.null_count == 0 and pa.types.is_integer(col.type):
            return values, np.zeros(len(values), dtype=np.int8), []
        reason = np.isnan(values).astype(np.int8)
        return values, reason, []
    codes, distinct = _encode(col) if dictionary is None else (dictionary[0], dictionary[1].to_pylist())
    parsed = [_number(v, thousands, unit) for v in distinct]
    vals = np.array([p[0] for p in parsed] + [np.nan])
    reasons = np.array([p[1] for p in parsed] + [1], dtype=np.int8)
    bad = [str(v).strip() for v, p in zip(distinct, parsed) if p[1] == 2]
    return vals[codes], reasons[codes], bad


def _floats(col: pa.ChunkedArray) -> np.ndarray:
    """A numeric column as a new (writable) float64 array, nulls NaN: each chunk converted straight into it (one
    pass, one new array)."""
    out = np.empty(len(col))
    at = 0
    for chunk in col.chunks:
        if chunk.null_count:
            chunk = pc.cast(chunk, pa.float64())  # (null -> NaN below)
        out[at : at + len(chunk)] = chunk.to_numpy(zero_copy_only=False)
        at += len(chunk)
    return out


# --- dates -----------------------------------------------------------------------------------------------
_ISO = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[T ].*)?$")
_NUMERIC = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4}|\d{2})(?:[T ,].*)?$")
_EPOCH = dt.date(1970, 1, 1).toordinal()
EXCEL_EPOCH_OFFSET = 25569  # Excel serial day of 1970-01-01


def _ordinal(y: int, m: int, d: int) -> float:
    if y < 100:
        y += 2000 if y < 70 else 1900
    try:
        return float(dt.date(y, m, d).toordinal() - _EPOCH)
    except ValueError:
        return np.nan


class _AmbiguousDates(Exception):
    def __init__(self, example: str, mixed: bool = False):
        self.example, self.mixed = example, mixed


def parse_dates(values: list, order: str | None = None) -> tuple[np.ndarray, list[str]]:
    """Days since 1970-01-01 of date strings, and the values that are not dates.

    The format is decided from all values: ISO (YYYY-MM-DD) always; D/M/Y or M/D/Y (separators / . -)
    when some day-of-month exceeds 12 in one position. ``order`` ('dmy', 'mdy', 'ymd') forces it.
    Five-digit numbers from 20000 to 80000 are Excel serial dates (a fraction, the time of day, is
    dropped). Raises _AmbiguousDates when both
    orders fit and would give different dates, or when the column mixes the two orders."""
    out = np.full(len(values), np.nan)
    numeric = []
    for i, v in enumerate(values):
        s = "" if v is None else str(v).strip()
        m = _ISO.match(s)
        if m:  # (four digits below 100, such as 0000 or 0024, are not a year: not a date)
            y = int(m.group(1))
            out[i] = _ordinal(y, int(m.group(2)), int(m.group(3))) if y >= 100 else np.nan
            continue
        if re.fullmatch(r"\d{5}(\.\d+)?", s) and 20000 <= float(s) < 80000:  # an Excel serial date (1954-2119)
            out[i] = np.floor(float(s)) - EXCEL_EPOCH_OFFSET  # (the fraction is the time of day)
            continue
        m = _NUMERIC.match(s)
        if m:
            numeric.append((i, int(m.group(1)), int(m.group(2)), int(m.group(3))))
        elif s and re.search(r"[A-Za-z]{3}", s):
            out[i] = _named_month(s)
    if numeric and order not in ("dmy", "mdy"):
        first_big = any(a > 12 for _, a, _, _ in numeric)
        second_big = any(b > 12 for _, _, b, _ in numeric)
        if first_big and not second_big:
            order = "dmy"
        elif second_big and not first_big:
            order = "mdy"
        elif not first_big and not second_big:
            if any(a != b for _, a, b, _ in numeric):
                ex = next(values[i] for i, a, b, _ in numeric if a != b)
                raise _AmbiguousDates(str(ex).strip())
            order = "dmy"
        else:  # both positions exceed 12 somewhere: two formats in one column
            first = next(values[i] for i, a, _, _ in numeric if a > 12)
            second = next(values[i] for i, _, b, _ in numeric if b > 12)
            raise _AmbiguousDates(f"{str(first).strip()}' and '{str(second).strip()}", mixed=True)
    for i, a, b, y in numeric:
        if order == "dmy":
            out[i] = _ordinal(y, b, a)
        elif order == "mdy":
            out[i] = _ordinal(y, a, b)
    bad = [
        str(v).strip()
        for v, x in zip(values, out)
        if np.isnan(x) and v is not None and str(v).strip() and str(v).strip().lower() not in _MISSING_TEXT
    ]
    return out, bad


def _named_month(s: str) -> float:
    from dateutil import parser

    try:
        d = parser.parse(s, default=dt.datetime(1900, 1, 1))
    except (ValueError, OverflowError):
        return np.nan
    if d.year == 1900:
        return np.nan
    return float(d.date().toordinal() - _EPOCH)


def _month_text(days: float, strict: bool) -> str | None:
    if np.isnan(days):
        return None
    d = dt.date.fromordinal(int(days) + _EPOCH)
    return f"{d.year:04d}" if strict else f"{d.year:04d}-{d.month:02d}"


# --- building the internal long frame ------------------------------------------------------------------
def _text_column(raw: _Raw, source: str) -> pd.Categorical:
    """A free-text column (patient key, site): blanks and 'n/a' missing, runs of white space one space."""
    codes, values = raw.dictionary(source)
    listed = raw.distinct(source)[1]
    cleaned = _clean_texts(values, listed)
    if cleaned is listed:  # every value as written: the distinct values are the categories, the codes stay
        return pd.Categorical.from_codes(
            codes, dtype=pd.CategoricalDtype(pd.Index(listed, dtype=object)), validate=False
        )
    return _recode(codes, cleaned)


_PLAIN = r"^[!-~]+( [!-~]+)*$"  # printable ASCII words, single spaces: what _clean_text leaves as it is


def _clean_texts(values: pa.Array, listed: list) -> list:
    """``_clean_text`` of each distinct value (``values``, also as a list); the values it would leave
    unchanged are found in bulk."""
    if len(listed) < 64:
        return [_clean_text(v) for v in listed]
    plain = pc.and_(
        pc.match_substring_regex(values, _PLAIN),
        pc.invert(pc.is_in(pc.utf8_lower(values), pa.array(sorted(_MISSING_TEXT)))),
    )
    changed = np.flatnonzero(~plain.fill_null(False).to_numpy(zero_copy_only=False))
    if not len(changed):
        return listed  # (the very list: _recode knows it is distinct values)
    out = list(listed)
    for i in changed:
        out[i] = _clean_text(out[i])
    return out


def _dates(raw: _Raw, source: str, target: str) -> tuple[np.ndarray, np.ndarray | None, list[str]]:
    """(days since 1970-01-01 of a date column, NaN where blank or unreadable; the rows whose date could not be
    read, None if none; those dates as written)."""
    col = raw.table[source]
    if pa.types.is_date32(col.type):  # (read as ISO dates: every value is a date or blank)
        return pc.cast(pc.cast(col, pa.int32()), pa.float64()).to_numpy(), None, []  # (null -> NaN)
    codes, values = raw.distinct(source)
    order = {DATE_DMY: "dmy", DATE_MDY: "mdy", DATE_YMD: "ymd"}.get(target)
    try:
        days, bad = parse_dates(values, order)
    except _AmbiguousDates as e:
        if e.mixed:
            raise _Refused(
                "MIXED_DATE_FORMATS",
                f"Column '{source}' mixes day/month/year and month/day/year dates (e.g. '{e.example}'), so no date in "
                "it can be trusted. Export the dates again in one format, preferably YYYY-MM-DD, and upload again.",
            ) from None
        raise _Refused(
            "AMBIGUOUS_DATES",
            f"Column '{source}' has dates such as '{e.example}' that read both as day/month/year and as "
            "month/day/year, and no date in the file tells which; nothing was guessed. Export dates as YYYY-MM-DD, or "
            f"say which it is: --map '{source}={DATE_DMY}' (day/month/year) or --map '{source}={DATE_MDY}' "
            "(month/day/year); in the dashboard, choose the date format of that column.",
        ) from None
    unreadable = np.isin(codes, [values.index(b) for b in bad if b in values]) if bad else None
    return np.append(days, np.nan)[codes], unreadable, bad


def _unreadable_days(
    columns: dict,
    bad_day: tuple | None,
    bad_date: tuple | None,
    t: dict,
    date_target: str | None,
    rows: np.ndarray,
    log: IssueLog,
    file: str,
) -> None:
    """Report unreadable days and dates (each ``(rows, problem)`` or None): a row keeps its day when the other
    column gives one (the date of a row wins over its day; a row without a readable date keeps its day). The rows
    left out are marked in ``columns`` (UNREADABLE), so that MISSING_DAY does not list them again."""
    left_out = None
    if bad_day is not None:
        rescued = ~np.isnan(columns[S.DATE]) if S.DATE in columns else None
        left_out = _report_unreadable(log, file, "BAD_DAY", t[S.DAY], rows, bad_day[1], bad_day[0], rescued, "the date")
    if bad_date is not None:
        rescued = ~np.isnan(columns[S.DAY]) if S.DAY in columns else None
        lost = _report_unreadable(
            log, file, "BAD_DATE", t[date_target], rows, bad_date[1], bad_date[0], rescued, "the day column"
        )
        left_out = lost if left_out is None else left_out | lost
    if left_out is not None and left_out.any():
        columns[UNREADABLE] = left_out.astype(float)  # (a float: files without it get NaN when frames are joined)


def _report_unreadable(
    log: IssueLog,
    file: str,
    code: str,
    source: str,
    rows: np.ndarray,
    problem: str,
    unreadable: np.ndarray,
    rescued: np.ndarray | None,
    other: str,
) -> np.ndarray:
    """One warning for the rows whose day (or date) could not be read (``problem`` says how): those where ``other``
    (the date, or the day column) gives the day instead (``rescued``) are kept, the others left out. Returns the
    rows left out, which MISSING_DAY then does not list again."""
    left_out = unreadable & ~rescued if rescued is not None else unreadable
    kept = unreadable & ~left_out
    bad, lost, saved = rows[unreadable], rows[left_out], rows[kept]
    if not len(saved):
        outcome = f"those rows were left out ({V.rows_text(lost)})"
    elif not len(lost):
        outcome = f"{other} gave the day of those rows ({V.rows_text(saved)})"
    else:
        outcome = (
            f"{other} gave the day of {len(saved)} of them ({V.rows_text(saved)}); {len(lost)} were left out "
            f"({V.rows_text(lost)})"
        )
    log.add("warning", code, f"{file}: {len(bad)} {problem}; {outcome}.", source, bad.tolist())
    return left_out


def _patient_attributes(raw: _Raw, cols: _Columns, log: IssueLog, file: str) -> dict[str, pd.Categorical]:
    out = {}
    t = cols.target
    if S.CONDITION in t:
        codes, values = raw.distinct(t[S.CONDITION])
        unknown = sorted({str(v).strip() for v in values if _clean_text(v) and normalise_condition(v) is None})
        if unknown:
            rows = raw.rows[
                np.isin(codes, [i for i, v in enumerate(values) if _clean_text(v) and normalise_condition(v) is None])
            ]
            log.add(
                "warning",
                "UNKNOWN_CONDITION",
                f"{file}: condition(s) {quoted(unknown)} are not among "
                f"{', '.join(S.CONDITIONS)}; they were counted as 'other' ({V.rows_text(rows)}).",
                t[S.CONDITION],
                rows.tolist(),
            )
        out[S.CONDITION] = _categorical(
            codes, values, lambda v: normalise_condition(v) or ("other" if _clean_text(v) else None)
        )
    if S.SITE in t:
        out[S.SITE] = _text_column(raw, t[S.SITE])
    if S.SEX in t:
        out[S.SEX] = _mapped(raw, t[S.SEX], lambda k: _SEXES.get(k), _SEX_BLANK, "sex", ", ".join(S.SEXES), log, file)
    if S.ROUTE in t:
        out[S.ROUTE] = _mapped(raw, t[S.ROUTE], _route, {""}, "route", ", ".join(S.ROUTES), log, file)
    if S.AGE_BAND in t:
        out[S.AGE_BAND] = _mapped(raw, t[S.AGE_BAND], _band_text, {""}, "age band", ", ".join(S.AGE_BANDS), log, file)
    elif AGE in t:
        out[S.AGE_BAND] = _age_column(raw, t[AGE], log, file)
    if S.START_MONTH in t:
        out[S.START_MONTH] = _text_column(raw, t[S.START_MONTH])
    return out


def _age_column(raw: _Raw, source: str, log: IssueLog, file: str) -> pd.Categorical:
    """Age bands of an age column, with the AGE_90_PLUS info and BAD_AGE warning. A long column of whole
    numbers is banded through its distinct ages (their counts say what to report), never row by row."""
    col = raw.table[source]
    if len(col) > 1000 and pa.types.is_integer(col.type) and col.null_count == 0:
        bounds = pc.min_max(col)
        lo, hi = bounds["min"].as_py(), bounds["max"].as_py()
        if hi - lo < 4096:
            start = min(lo, 0)  # (a table indexed by the age itself when no age is negative)
            lookup = age_bands(np.arange(start, hi + 1)).codes  # the band of each possible age
            codes = np.empty(len(col), dtype=lookup.dtype)
            at = 0
            for chunk in col.chunks:  # (chunk by chunk: the ages are not copied into one array first)
                ints = chunk.to_numpy()
                codes[at : at + len(ints)] = lookup[ints - start if start else ints]
                at += len(ints)
            over = int(np.count_nonzero(codes == len(S.AGE_BANDS) - 1))  # '90+': over MAX_AGE_SHOWN
            bad_rows = raw.rows[codes < 0]  # (whole numbers: blank only when under 18)
            _report_ages(over, bad_rows, source, log, file)
            return pd.Categorical.from_codes(codes, categories=pd.Index(S.AGE_BANDS, dtype=object), validate=False)
    values, reason, bad = raw.numbers(source)
    if bad:  # "90+", "> 89": how de-identified exports write ages over 89
        codes, distinct = raw.distinct(source)
        over = [i for i, v in enumerate(distinct) if v is not None and _NINETY_PLUS.match(str(v).strip())]
        if over:
            at = np.isin(codes, over)
            values, reason = np.where(at, MAX_AGE_SHOWN + 1.0, values), np.where(at, 0, reason)
    _report_ages(int((values > MAX_AGE_SHOWN).sum()), raw.rows[(values < 18) | (reason == 2)], source, log, file)
    return age_bands(values)


def _report_ages(over: int, bad_rows: np.ndarray, source: str, log: IssueLog, file: str) -> None:
    if over:
        log.add(
            "info",
            "AGE_90_PLUS",
            f"{file}: {over} age(s) over {MAX_AGE_SHOWN} are shown as '90+'; "
            "ages themselves are not kept, only age bands.",
            source,
        )
    if len(bad_rows):
        log.add(
            "warning",
            "BAD_AGE",
            f"{file}: {len(bad_rows)} age(s) are under 18 or not numbers; their age band "
            f"is left blank ({V.rows_text(bad_rows)}).",
            source,
            bad_rows.tolist(),
        )


def _route(k: str) -> str | None:
    """A route as written ('IV', 'IV Ketamine', 'Spravato (esketamine)'); ``k`` is a _mapped key. Whole
    spelling first, then by its words: esketamine (Spravato) wins, other words must agree ('in' alone only)."""
    if k in _ROUTES:
        return _ROUTES[k]
    words = [w for w in k.split() if w != "ketamine"]
    if " ".join(words) in _ROUTES:
        return _ROUTES[" ".join(words)]
    found = {_ROUTES[w] for w in words if w in _ROUTES and w != "in"}
    if "esketamine" in found:
        return "esketamine"
    return found.pop() if len(found) == 1 else None


_NINETY_PLUS = re.compile(
    r"^(?:(?:>|&gt;)\s*=?\s*(?:89|9\d)|(?:≥|>=)\s*9\d|9\d\s*\+|9\d\s*(?:or|and)\s*(?:older|over|above))$", re.IGNORECASE
)


def _band_text(k: str) -> str | None:
    """An age band as written ('25-34', '25 - 34', '90+', '>89') or an age ('45'); ``k`` is a _mapped key."""
    band = re.sub(r"\s+", "-", k.strip())
    if band in S.AGE_BANDS:
        return band
    if band in ("90", ">89", "89+", "90-plus", ">=90", "90-+") or _NINETY_PLUS.match(k.strip()):
        return "90+"
    v, reason = _number(k) if " " not in k.strip() else (np.nan, 2)
    return age_band(v) if reason == 0 else None


def _mapped(
    raw: _Raw, source: str, func, blanks: set, what: str, allowed: str, log: IssueLog, file: str
) -> pd.Categorical:
    codes, values = raw.distinct(source)

    def key(v):
        return re.sub(r"\s+", " ", re.sub(r"[^0-9a-z+<>=]+", " ", str(v).lower())).strip() if v is not None else ""

    unknown = [i for i, v in enumerate(values) if key(v) not in blanks and func(key(v)) is None]
    if unknown:
        rows = raw.rows[np.isin(codes, unknown)]
        log.add(
            "warning",
            f"UNKNOWN_{what.upper().replace(' ', '_')}",
            f"{file}: {what} value(s) "
            f"{quoted(sorted({str(values[i]).strip() for i in unknown}))} are not one of {allowed}; left blank "
            f"({V.rows_text(rows)}).",
            source,
            rows.tolist(),
        )
    return _categorical(codes, values, lambda v: func(key(v)) if key(v) not in blanks else None)


def _assessment_frame(
    raw: _Raw,
    cols: _Columns,
    fi: int,
    file: str,
    log: IssueLog,
    early: _EarlyText | None = None,
    parsed: dict | None = None,
) -> pd.DataFrame:
    """The long internal frame of one assessments file (rows checked, dates still dates). Its text columns'
    output is started in ``early`` (``parsed``: as ``_output``'s) as soon as they are made."""
    t = cols.target
    instrument = None
    if S.INSTRUMENT in t and S.SCORE in t:
        codes, values = raw.distinct(t[S.INSTRUMENT])
        instrument = _categorical(codes, values, normalise_code)
    base: dict = {
        FILE: np.full(raw.table.num_rows, fi, dtype=np.int16),
        ROW: raw.rows,
        S.PATIENT_ID: _text_column(raw, t[S.PATIENT_ID]),
    }
    early = early if early is not None and not cols.wide else None  # (a wide file's rows are made again below)
    if early is not None:
        early.start({S.INSTRUMENT: instrument, S.PATIENT_ID: base[S.PATIENT_ID]}, parsed or {})
    base.update(_patient_attributes(raw, cols, log, file))
    if early is not None:
        early.start(base, parsed or {})  # (the patient attributes)
    bad_day, bad_date = None, None
    if S.DAY in t:
        day, reason, bad = raw.numbers(t[S.DAY], thousands=raw.delimiter == "comma")
        whole = pa.types.is_integer(raw.table[t[S.DAY]].type)  # (parsed as integers: no fraction to look for)
        nonint = np.zeros(len(day), dtype=bool) if whole else (reason == 0) & (day != np.round(day))
        if bad or nonint.any():
            bad_day = (
                (reason == 2) | nonint,
                f"day value(s) are not whole numbers ({quoted(bad) if bad else 'fractions'})",
            )
            day = np.where(bad_day[0], np.nan, day)
        base[S.DAY] = day
    date_target = next((d for d in DATE_TARGETS if d in t), None)
    if date_target:
        base[S.DATE], unreadable, bad = _dates(raw, t[date_target], date_target)
        if unreadable is not None:
            bad_date = (unreadable, f"date(s) could not be read ({quoted(sorted(set(bad)))})")
    _unreadable_days(base, bad_day, bad_date, t, date_target, raw.rows, log, file)
    parts = []
    if S.INSTRUMENT in t and S.SCORE in t:
        score, reason, bad = raw.numbers(t[S.SCORE])
        part = pd.DataFrame({**base, S.INSTRUMENT: instrument, S.SCORE: score}, copy=False)
        n = len(part)
        part = V.drop_missing_ids(part, log)
        kept = part.index.to_numpy() if len(part) < n else None  # the raw rows left (None: all)
        raw_ins = None  # the instrument as written, needed only to name the unknown ones
        if part[S.INSTRUMENT].isna().any():
            written = pd.Categorical.from_codes(codes, categories=pd.Index(values, dtype=object))
            raw_ins = pd.Series((written if kept is None else written[kept]) if values else [None] * len(part))
        n = len(part)
        part = V.drop_unknown_instruments(part.reset_index(drop=True), raw_ins, log)
        if len(part) < n:
            kept = part.index.to_numpy() if kept is None else kept[part.index.to_numpy()]
        part = V.drop_bad_scores(part.reset_index(drop=True), reason if kept is None else reason[kept], bad, log)
        parts.append(part)
    if cols.wide:
        frame = pd.DataFrame(base, copy=False)
        frame = V.drop_missing_ids(frame, log)
        kept = frame.index.to_numpy()
        wide_parts, reasons, bads = [], [], []
        for source, code, day, _label in cols.wide:
            score, reason, bad = raw.numbers(source)
            p = frame.copy()
            p[S.INSTRUMENT] = pd.Categorical([code] * len(p))
            p[S.SCORE] = score[kept]
            if day is not None:
                p[S.DAY] = float(day)
                p = p.drop(columns=S.DATE, errors="ignore")
            wide_parts.append(p)
            reasons.append(reason[kept])
            bads += bad
        assumed = []
        if any(d is not None and lab == "baseline" for _, _, d, lab in cols.wide):
            assumed.append(
                f"baseline columns (Baseline, Pre, Screening) on day {BASELINE_VISIT_DAY}, the day before the "
                "first infusion"
            )
        if any(d is not None and lab.startswith("infusion") for _, _, d, lab in cols.wide):
            assumed.append(
                f"infusion columns (inf1 ... inf6) on the usual induction days "
                f"{', '.join(map(str, INDUCTION_DAYS))} after the first infusion"
            )
        if assumed:
            log.add(
                "info",
                "INDUCTION_DAYS_ASSUMED",
                f"{file}: visit columns were placed on assumed days: {'; '.join(assumed)}.",
            )
        wide = pd.concat(wide_parts, ignore_index=True)
        wide[S.INSTRUMENT] = wide[S.INSTRUMENT].astype("category")
        parts.append(V.drop_bad_scores(wide, np.concatenate(reasons), sorted(set(bads)), log, wide=True))
    frame = _concat(parts)
    if S.DAY not in frame.columns and S.DATE not in frame.columns:
        frame[S.DAY] = np.nan
    return frame


def _treatment_frame(raw: _Raw, cols: _Columns, fi: int, file: str, log: IssueLog) -> pd.DataFrame:
    t = cols.target
    # (columns gathered first, then one frame: ``frame[c] = array`` would copy each array)
    data = {
        FILE: np.full(raw.table.num_rows, fi, dtype=np.int16),
        ROW: raw.rows,
        S.PATIENT_ID: _text_column(raw, t[S.PATIENT_ID]),
    }
    if S.KIND in t:
        data[S.KIND] = _mapped(raw, t[S.KIND], _kind, {""}, "kind", ", ".join(S.KINDS), log, file)
    else:
        data[S.KIND] = pd.Categorical(["induction"] * raw.table.num_rows)
        log.add(
            "info",
            "KIND_ASSUMED",
            f"{file}: the treatments file has no kind column; every session was counted as induction.",
        )
    if S.ROUTE in t:
        data[S.ROUTE] = _mapped(raw, t[S.ROUTE], _route, {""}, "route", ", ".join(S.ROUTES), log, file)
    if S.DOSE in t:
        dose, reason, bad = raw.numbers(t[S.DOSE], unit=_MG_PER_KG)
        data[S.DOSE] = dose
        if bad:
            rows = raw.rows[reason == 2]
            log.add(
                "warning",
                "BAD_DOSE",
                f"{file}: {len(rows)} dose(s) are not numbers ({quoted(bad)}); the sessions "
                f"were kept without a dose ({V.rows_text(rows)}).",
                t[S.DOSE],
                rows.tolist(),
            )
    if S.DAY in t:
        data[S.DAY] = raw.numbers(t[S.DAY], thousands=raw.delimiter == "comma")[0]
    date_target = next((d for d in DATE_TARGETS if d in t), None)
    if date_target:
        data[S.DATE], unreadable, bad = _dates(raw, t[date_target], date_target)
        bad_date = (
            None if unreadable is None else (unreadable, f"date(s) could not be read ({quoted(sorted(set(bad)))})")
        )
        _unreadable_days(data, None, bad_date, t, date_target, raw.rows, log, file)
    frame = pd.DataFrame(data, copy=False)
    frame = V.drop_missing_ids(frame, log)
    no_kind = frame[S.KIND].isna().to_numpy()
    log.add_rows(
        "warning",
        "MISSING_KIND",
        S.KIND,
        frame,
        lambda n, r: f"{n} treatment row(s) have no recognisable kind and were left out ({r}).",
        where=no_kind,
    )
    return V.keep(frame, ~no_kind)


def _kind(k: str) -> str | None:
    for stem, kind in _KINDS:
        if stem in k:
            return kind
    return None


def _concat(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate internal frames, unifying categoricals."""
    parts = [p for p in parts if p is not None]
    if len(parts) == 1:
        return parts[0].reset_index(drop=True)
    columns = list(dict.fromkeys(c for p in parts for c in p.columns))
    data = {}
    for c in columns:
        cols = [p[c] if c in p.columns else None for p in parts]
        if any(isinstance(x.dtype, pd.CategoricalDtype) for x in cols if x is not None):
            data[c] = pd.api.types.union_categoricals(
                [_object_categorical(x, len(p)) for x, p in zip(cols, parts)], ignore_order=True
            )
        elif all(x is not None and pd.api.types.is_integer_dtype(x.dtype) for x in cols):  # (file, row: kept whole)
            data[c] = np.concatenate([x.to_numpy() for x in cols])
        else:
            data[c] = np.concatenate(
                [x.to_numpy(dtype=float) if x is not None else np.full(len(p), np.nan) for x, p in zip(cols, parts)]
            )
    return pd.DataFrame(data)


def _object_categorical(x: pd.Series | None, n: int) -> pd.Categorical:
    if x is None:
        return pd.Categorical.from_codes(np.full(n, -1), categories=pd.Index([], dtype=object))
    if not isinstance(x.dtype, pd.CategoricalDtype):
        x = x.astype(object).astype("category")
    return pd.Categorical.from_codes(x.array.codes, categories=pd.Index(x.cat.categories.astype(object), dtype=object))


# --- days ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Origins:
    """Per patient of the treatments file (its patient categories): the first treatment date (days since
    epoch) and the first treatment day; NaN where the patient has none (None: no such column)."""

    patients: pd.Index
    first_date: np.ndarray | None
    first_day: np.ndarray | None


def _origins(treat: pd.DataFrame | None) -> _Origins | None:
    """The first treatment date and day of each patient of the treatments frame (None without one)."""
    if treat is None or treat.empty:
        return None
    cat = treat[S.PATIENT_ID].array
    n = len(cat.categories)
    first = {
        c: _min_per_code(cat.codes, treat[c].to_numpy(dtype=float), n) if c in treat else None for c in (S.DATE, S.DAY)
    }
    return _Origins(cat.categories, first[S.DATE], first[S.DAY])


def _min_per_code(codes: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Smallest non-NaN value per code (n places and NaN last, where code -1 points); NaN where a code has
    none. Rows grouped by code are reduced run by run."""
    least = _per_patient_min(codes, np.where(np.isnan(values), np.inf, values), n + 1, long_run_starts(codes))
    least[n] = np.inf
    return np.where(np.isinf(least), np.nan, least)


def _per_patient(frame: pd.DataFrame, patients: pd.Index, values: np.ndarray | None) -> np.ndarray:
    """A per-patient value (``values[i]`` for ``patients[i]``, another file's patients) for each patient
    category of the frame, and NaN last (where code -1 points); NaN for a patient not in ``patients``."""
    cats = frame[S.PATIENT_ID].cat.categories
    if values is None:
        return np.full(len(cats) + 1, np.nan)
    if cats.equals(patients):  # (the same patients in the same order: no lookup)
        return np.append(values[: len(cats)], np.nan)
    # (patient keys are text: pyarrow's lookup is a third of pandas' on Python strings)
    at = pc.index_in(pa.array(cats.to_numpy(), pa.string()), value_set=pa.array(patients.to_numpy(), pa.string()))
    at = at.fill_null(-1).to_numpy(zero_copy_only=False)
    return np.append(np.where(at >= 0, values[at], np.nan), np.nan)


_DAY_SOURCE = "day source"  # IssueLog.sources key of a file's day column (S.DAY's may be its date column)


def _spread_new(per_patient: np.ndarray, pid: np.ndarray) -> np.ndarray:
    """``per_patient[pid]`` as a new writable array from pyarrow's memory pool, which reuses freed pages (a new
    1M-row numpy array often costs page faults on this VM: see bench/README.md, "Round 5" and "Round 6")."""
    if len(pid) and pid.min() < 0:  # (code -1: the last value, as numpy indexes)
        return per_patient[pid]
    taken = pa.array(per_patient).take(pa.array(pid))
    out = np.frombuffer(taken.buffers()[1], dtype=per_patient.dtype)[taken.offset : taken.offset + len(taken)]
    return out if out.flags.writeable else out.copy()


def _spread(per_patient: np.ndarray, pid: np.ndarray, starts: np.ndarray | None) -> np.ndarray:
    """``per_patient[pid]``: each row gets its patient's value."""
    if starts is None:
        return per_patient[pid]
    return np.repeat(per_patient[pid[starts]], np.diff(np.append(starts, len(pid))))


def _per_patient_min(pid: np.ndarray, values: np.ndarray, n: int, starts: np.ndarray | None) -> np.ndarray:
    """Smallest value per patient code (n places; inf where a code has no row)."""
    out = np.full(n, np.inf)
    if starts is None:
        np.minimum.at(out, pid, values)
    else:
        np.minimum.at(out, pid[starts], np.minimum.reduceat(values, starts))
    return out


def _day_anchors(frame: pd.DataFrame, pid: np.ndarray, date: np.ndarray, day: np.ndarray, n: int) -> np.ndarray:
    """Per patient code (n of them, NaN last): day 0 as a date implied by the patient's earliest row that has both
    a date and a day (date - day); NaN without such a row."""
    both = ~np.isnan(date) & ~np.isnan(day)
    anchor = np.full(n + 1, np.nan)
    if both.any():
        rows = pd.DataFrame({"p": pid[both], "date": date[both], "origin": date[both] - day[both]})
        first = rows.sort_values("date", kind="stable").groupby("p", sort=False)["origin"].first()
        anchor[first.index.to_numpy()] = first.to_numpy()
    return anchor


def _warn_date_day(frame: pd.DataFrame, disagree: np.ndarray, log: IssueLog) -> None:
    """Warning per file: rows whose date and day columns disagree (the date was used)."""
    for f, part in frame[disagree].groupby(FILE, sort=True, observed=True):
        rows = np.sort(part[ROW].to_numpy())
        date_col, day_col = log.sources.get((int(f), S.DATE), "date"), log.sources.get((int(f), _DAY_SOURCE), "day")
        log.add(
            "warning",
            "DATE_DAY_DISAGREE",
            f"{log.files[int(f)]}: the '{date_col}' and '{day_col}' columns disagree on "
            f"{len(rows)} row(s) ({rows_text(rows)}): the day counted from the date in '{date_col}' is not the one in "
            f"'{day_col}'. The date was used ('{date_col}' wins when a row has both, so that day 0 comes from the dates "
            f"in the same way for every patient); check which column is right.",
            f"{date_col}, {day_col}",
            rows.tolist(),
        )


def _assign_days(
    frame: pd.DataFrame, first: _Origins | None, has_treatments: bool, strict: bool, log: IssueLog
) -> pd.DataFrame:
    """Replace dates by day offsets from day 0 and derive start_month; never keeps a date.

    Day 0 is worked out per patient (an array over the patient codes), then spread over the rows: the first
    treatment date; else, when rows have both a date and a day, the date the patient's earliest such row implies
    (date - day), so consistent days are kept as given; else the first assessment date. A row with a date gets
    its day from the date (the date wins over a disagreeing day column, with a warning). ``first``: the
    treatments' _origins (None without treatments, or with none), ``has_treatments``: whether a treatments file came."""
    patients, first_date, first_day = (
        (first.patients, first.first_date, first.first_day) if first else (None, None, None)
    )
    pid = frame[S.PATIENT_ID].array.codes
    origin = _per_patient(frame, patients, first_date)  # day 0 as a date, per patient code
    starts = (
        long_run_starts(pid) if S.DATE in frame.columns or not np.isnan(origin).all() else None
    )  # (needed with dates only)
    has_day = S.DAY in frame.columns
    if has_day:
        day = given = frame[S.DAY].to_numpy(dtype=float)
    else:  # (with dates, the days come from them)
        day = given = None if S.DATE in frame.columns else np.full(len(frame), np.nan)
    if S.DATE in frame.columns:
        date = frame[S.DATE].to_numpy(dtype=float)
        no_date = np.isnan(date)
        no_origin = np.isnan(origin)
        # (a scalar when it is the same for every patient: no pass over the rows)
        same = no_origin[:-1].all() or not (no_origin[:-1].any() or (pid < 0).any())
        no_treatment = np.bool_(no_origin[:-1].all()) if same else no_origin[pid]
        both = (~no_date & ~np.isnan(day)) if has_day else np.bool_(False)
        if both.any():
            anchor = _day_anchors(frame, pid, date, day, len(origin) - 1)
            origin = np.where(np.isnan(origin), anchor, origin)
        if no_treatment.any():
            first_seen = _per_patient_min(
                pid, np.where(no_date, np.inf, date) if no_date.any() else date, len(origin), starts
            )
            origin = np.where(np.isnan(origin), np.where(np.isinf(first_seen), np.nan, first_seen), origin)
        if has_day:
            from_first_assessment = no_treatment & np.isnan(day) & ~no_date
        elif no_treatment.ndim == 0:  # (the same for every patient: one pass)
            from_first_assessment = ~no_date if no_treatment else no_treatment
        else:
            from_first_assessment = no_treatment & ~no_date
        if from_first_assessment.any():
            if not has_treatments:
                log.add(
                    "info",
                    "DAY0_FIRST_ASSESSMENT",
                    "Without a treatments file, day 0 is each patient's first assessment date.",
                )
            else:
                log.add(
                    "info",
                    "DAY0_FIRST_ASSESSMENT",
                    f"{int(pd.unique(frame[S.PATIENT_ID][from_first_assessment]).size)} "
                    "patient(s) have no treatments: their day 0 is their first assessment date.",
                )
        from_date = _spread_new(origin, pid)
        np.subtract(date, from_date, out=from_date)
        if both.any():
            disagree = both & ~np.isnan(from_date) & (from_date != day)
            if disagree.any():
                _warn_date_day(frame, disagree, log)
        day = np.where(np.isnan(from_date), day, from_date) if has_day else from_date
    elif first_day is not None and not np.isnan(first_day).all():
        shift = np.nan_to_num(_per_patient(frame, patients, first_day))[pid]
        day = np.subtract(day, shift, out=shift)  # (one new array, not two)
    if not has_day or day is not given or S.DATE in frame.columns:  # (a day column used as it is needs no setting)
        frame = _with_columns(frame, {S.DAY: day}, drop=S.DATE)
    missing = np.isnan(day)
    if missing.any():
        log.add_rows(
            "warning",
            "MISSING_DAY",
            S.DAY,
            frame,
            lambda n, r: f"{n} score(s) have no day or readable date and were left out ({r}).",
            where=missing & ~_reported(frame),
        )
        frame = frame[~missing]
        pid = pid[~missing]
        starts = long_run_starts(pid) if starts is not None else None
    if S.START_MONTH not in frame.columns or frame[S.START_MONTH].isna().all():
        if not np.isnan(origin).all() and (~np.isnan(origin))[pid if starts is None else pid[starts]].any():
            codes, uniques = pd.factorize(origin)  # per patient code
            to_month, firsts = pd.factorize(_month_starts(uniques))  # (the first day of each month: one text per month)
            months = _categorical(np.append(to_month, -1)[codes], list(firsts), lambda d: _month_text(d, strict))
            month = pd.Categorical.from_codes(_spread(months.codes, pid, starts), dtype=months.dtype, validate=False)
            frame = _with_columns(frame, {S.START_MONTH: month})
    elif strict:
        months = frame[S.START_MONTH].array
        years = _categorical(months.codes, list(months.categories), lambda m: str(m)[:4])
        frame = _with_columns(frame, {S.START_MONTH: years})
    return frame


def _month_starts(days: np.ndarray) -> np.ndarray:
    """The first day of the month of each day (days since 1970-01-01; NaN stays NaN): one text per month, not per date."""
    known = ~np.isnan(days)
    out = np.full(len(days), np.nan)
    months = days[known].astype(np.int64).astype("datetime64[D]").astype("datetime64[M]")
    out[known] = months.astype("datetime64[D]").astype(np.int64)
    return out


#: internal column: 1 on rows left out for an unreadable day or date, already reported (BAD_DAY, BAD_DATE)
UNREADABLE = "_unreadable"


def _reported(frame: pd.DataFrame) -> np.ndarray:
    """The rows whose missing day was already reported as unreadable (see ``_unreadable_days``)."""
    if UNREADABLE not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    return frame[UNREADABLE].to_numpy() == 1


def _with_columns(frame: pd.DataFrame, columns: dict, drop: str | None = None) -> pd.DataFrame:
    """A new frame: ``frame`` with ``columns`` set (in place of a column of that name, else added last) and
    ``drop`` left out. The arrays are used as they are (``frame[c] = array`` copies them in pandas 3: a new
    1M-row array costs 2-5 ms of page faults), and so are the other columns."""
    data = {c: frame[c] for c in frame.columns if c != drop}
    data.update(columns)
    return pd.DataFrame(data, index=frame.index, copy=False)


def _treatment_days(treat: pd.DataFrame, origins: _Origins | None, log: IssueLog) -> pd.DataFrame:
    """Days of the treatments from their first treatment per patient (``origins``: their _origins, None when
    there is no row; a row's day, if given, wins over its date); rows with neither are left out, implausible
    days too."""
    pid = treat[S.PATIENT_ID].array.codes
    if treat.empty:
        day = np.full(0, np.nan)
    elif S.DATE in treat.columns:
        date = treat[S.DATE].to_numpy(dtype=float)
        first = origins.first_date[pid]
        day = treat[S.DAY].to_numpy(dtype=float) if S.DAY in treat.columns else np.full(len(treat), np.nan)
        day = np.where(np.isnan(day), date - first, day)
    elif S.DAY in treat.columns:
        day = treat[S.DAY].to_numpy(dtype=float)
        shift = origins.first_day[pid]
        day = np.subtract(day, shift, out=shift)
    else:
        day = np.full(len(treat), np.nan)
    treat = _with_columns(treat, {S.DAY: day}, drop=S.DATE)
    missing = np.isnan(day)
    log.add_rows(
        "warning",
        "MISSING_DAY",
        S.DAY,
        treat,
        lambda n, r: f"{n} treatment row(s) have no day or readable date and were left out ({r}).",
        where=missing & ~_reported(treat),
    )
    return V.drop_implausible_days(V.keep(treat, ~missing), log, what="treatment")


# --- output -----------------------------------------------------------------------------------------------
def _str_array(values, n: int, parsed: tuple | None = None):
    """A canonical text column (pandas ``str``) from a categorical (built from its distinct values), other
    values, or None (all missing); returned as a function that builds it, for a worker thread.

    ``parsed`` (column as parsed, its codes, its distinct values): when the categorical is that column
    unchanged (same distinct values, same code on every row), the parsed column itself is the output."""
    if values is None:
        return lambda: pd.array(pa.nulls(n, pa.large_string()), dtype="str")
    cat = values.array if isinstance(values, pd.Series) else values
    if isinstance(cat, pd.Categorical):
        codes, categories = cat.codes, cat.categories

        def build():
            if parsed is not None and _unchanged(categories, codes, parsed):
                return pd.array(parsed[0].cast(pa.large_string()), dtype="str")  # (pandas keeps large strings)
            return pd.array(_decoded(codes, pa.array([str(c) for c in categories], pa.large_string())), dtype="str")

        return build
    arr = pa.array(pd.Series(values).astype(object).where(pd.notna(values), None), pa.string())
    return lambda: pd.array(arr, dtype="str")


def _decoded(codes: np.ndarray, categories: pa.Array) -> pa.Array:
    """The text of each code (-1: null). Texts all 1, 2, 4 or 8 bytes long ('PHQ9', 'GAD7'), with no code missing, are
    taken as integers (offsets then a plain count); codes in long runs (an export grouped by patient) are decoded
    run by run, the runs' text repeated by pyarrow's run-end decoding; each about twice as fast as taking every
    row's text."""
    fixed = _fixed_width(pa.array(categories, pa.string()))
    if fixed is not None and len(codes) and codes.min() >= 0:
        width = fixed.itemsize
        offsets = np.arange(0, (len(codes) + 1) * width, width, dtype=np.int64)
        return pa.LargeStringArray.from_buffers(len(codes), pa.py_buffer(offsets), pa.py_buffer(fixed[codes]))
    starts = long_run_starts(codes)
    if starts is None:
        missing = codes < 0
        return categories.take(pa.array(codes, mask=missing) if missing.any() else pa.array(codes))
    run_codes = codes[starts]
    missing = run_codes < 0
    values = categories.take(pa.array(run_codes, mask=missing) if missing.any() else pa.array(run_codes))
    ends = pa.array(np.append(starts[1:], len(codes)), pa.int64())
    return pc.run_end_decode(pa.RunEndEncodedArray.from_arrays(ends, values))


def _unchanged(categories: pd.Index, codes: np.ndarray, parsed: tuple) -> bool:
    """Whether a categorical is the parsed column as it was: same distinct values in the same order and
    the same code on every row (no row dropped, none changed)."""
    _, raw_codes, raw_values = parsed
    return (
        len(codes) == len(raw_codes)
        and len(categories) == len(raw_values)
        and categories.tolist() == raw_values
        and same_values(codes, raw_codes)
    )


class _EarlyText:
    """Text output columns of a long file built in worker threads while the rest of the import runs, each
    started as soon as its categorical exists; at the end a column is taken from here only if its categories
    and every code are still the same (a clean export: no row dropped, nothing resolved; one file), otherwise
    built again."""

    def __init__(self, pool: ThreadPoolExecutor):
        self.pool, self.started = pool, {}

    def start(self, columns: dict, parsed: dict) -> None:
        """Start building the categoricals among ``columns`` ({column: values}; ``parsed`` as ``_output``'s)."""
        for c, values in columns.items():
            cat = values.array if isinstance(values, pd.Series) else values
            if c in self.started or not isinstance(cat, pd.Categorical) or len(cat) < THREADED_ROWS:
                continue
            self.started[c] = (cat.codes, cat.categories, self.pool.submit(_str_array(cat, len(cat), parsed.get(c))))

    def get(self, frame: pd.DataFrame, c: str):
        """The future of the column built early, if it is still the column of ``frame``; else None."""
        if c not in self.started or c not in frame.columns or not isinstance(frame[c].dtype, pd.CategoricalDtype):
            return None
        codes, categories, future = self.started[c]
        cat = frame[c].array
        same = (cat.categories is categories or cat.categories.equals(categories)) and same_values(cat.codes, codes)
        return future if same else None


def _number_array(values: np.ndarray, dtype: str):
    if dtype == "Int64":
        missing = np.isnan(values)
        if not missing.any():
            with np.errstate(invalid="ignore"):  # (a value too large for an integer is found unequal below)
                whole = values.astype(np.int64)
            if (whole == values).all():
                return pd.arrays.IntegerArray(whole, missing)
        else:
            whole = np.where(missing, 0.0, values)
            if (whole == np.round(whole)).all():
                return pd.arrays.IntegerArray(whole.astype(np.int64), missing)
        return pd.Series(values).astype("Int64").array  # (raises as it always did)
    if values.dtype == dtype and values.flags.writeable:
        return values  # (the internal frame's own array: the frame is dropped once the output is made)
    return np.array(values, dtype=dtype)


def _output(
    frame: pd.DataFrame | None,
    columns: tuple[str, ...],
    numbers: dict[str, str],
    parsed: dict | None = None,
    early: _EarlyText | None = None,
) -> pd.DataFrame:
    """The canonical table, built once: text columns from their categoricals (``parsed``: {column: (column
    as parsed, codes, distinct values)}, reused where unchanged; ``early``: columns already started), numbers
    as ``numbers`` says; the per-column work in two threads (with ``early``: text in its threads, after the columns
    it has started, numbers in this one meanwhile)."""
    n = 0 if frame is None else len(frame)
    parsed = parsed or {}
    started, build = {}, {}
    for c in columns:
        present = frame is not None and c in frame.columns
        future = early.get(frame, c) if early is not None and present else None
        if future is not None:
            started[c] = future
        elif c in numbers:
            values = (
                np.asarray(frame[c].array, dtype=float) if present else np.full(n, np.nan)
            )  # (writable: not a view)
            build[c] = lambda values=values, dtype=numbers[c]: _number_array(values, dtype)
        else:
            build[c] = _str_array(frame[c] if present else None, n, parsed.get(c))
    if early is not None and n >= THREADED_ROWS:  # text queued after the columns started early; numbers built here
        started.update({c: early.pool.submit(f) for c, f in build.items() if c not in numbers})
        built = {c: f() for c, f in build.items() if c in numbers}
    else:
        built = dict(zip(build, _in_threads(lambda f: f(), build.values(), n)))
    built.update({c: future.result() for c, future in started.items()})
    return pd.DataFrame({c: built[c] for c in columns}, index=pd.RangeIndex(n), copy=False)  # (the arrays are new)


def _empty_assessments() -> pd.DataFrame:
    return _output(None, S.ASSESSMENT_COLUMNS, {S.SCORE: "float64", S.DAY: "Int64"})


def _mapping_table(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["file", "source", "target", "how"])


# --- the entry point --------------------------------------------------------------------------------------
def load_files(sources, overrides: dict[str, str] | None = None, strict_dates: bool = False) -> Loaded:
    """Read one or more assessments files and at most one treatments file into the canonical tables.

    sources: paths or (file_name, bytes) tuples; overrides: {source column: canonical target or 'ignore'}
    (targets: the canonical names, 'age', 'date', 'date_dmy', 'date_mdy', 'date_ymd', or an instrument code
    for a column of that instrument's scores). Bad data never raises: it ends in ``issues`` and ``ok``."""
    if isinstance(sources, (str, Path)) or (
        isinstance(sources, tuple) and len(sources) == 2 and isinstance(sources[1], (bytes, bytearray))
    ):
        sources = [sources]
    overrides = dict(overrides or {})
    for src, target in overrides.items():
        if target not in OVERRIDE_TARGETS and normalise_code(target) is None:
            raise KeyError(
                f"--map {src}={target}: unknown target {target!r}; use one of: {', '.join(OVERRIDE_TARGETS)} "
                "or an instrument code (e.g. PHQ9)"
            )
    with ThreadPoolExecutor(2) as pool:  # (a long file's text output columns are built in it while the import goes on)
        return _load(sources, overrides, strict_dates, _EarlyText(pool))


def _load(sources: list, overrides: dict[str, str], strict_dates: bool, early: _EarlyText) -> Loaded:
    """``load_files``, with ``early`` for the output columns started while the files are read."""
    log = IssueLog()
    mapping: list[dict] = []
    assessment_parts, treatment_parts, assessment_parsed, treatment_parsed = [], [], [], []
    rows_read, refused = 0, False
    seen_sources: set[str] = set()
    for fi, source in enumerate(sources):
        name, data = _source_bytes(source)
        log.files.append(name)
        try:
            frame, kind, n, cols, parsed = _load_one(name, data, fi, overrides, log, early)
        except _Refused as e:
            if e.code:  # (PHI refusals log their own issues)
                log.add("error", e.code, f"{name}: {e.message}")
            refused = True
            continue
        rows_read += n
        mapping += cols.rows
        seen_sources |= {r["source"].strip().lower() for r in cols.rows if r["how"] in ("override", "ignored")}
        (assessment_parts if kind == "assessments" else treatment_parts).append(frame)
        (assessment_parsed if kind == "assessments" else treatment_parsed).append(parsed)
    for src in overrides:
        if src.strip().lower() not in seen_sources and not refused:
            log.add(
                "warning", "OVERRIDE_UNUSED", f"--map {src}={overrides[src]}: no file has a column named '{src}'.", src
            )
    if len(treatment_parts) > 1:
        log.add(
            "error",
            "TWO_TREATMENT_FILES",
            "More than one treatments file was given; combine them into one file and upload again.",
        )
        refused = True
    if not assessment_parts and not refused:
        log.add(
            "error",
            "NO_ASSESSMENTS",
            "No assessments file was found: the files hold no instrument scores (a "
            "treatments file alone cannot be analysed). Upload the assessments export too (patient key, instrument, "
            "score, day or date).",
        )
        refused = True
    names = tuple(log.files)
    if refused or log.has_errors:
        return Loaded(_empty_assessments(), None, log.table(), _mapping_table(mapping), rows_read, names, False)

    treat_raw = treatment_parts[0] if treatment_parts else None
    origins = _origins(treat_raw)  # (each patient's first treatment: for the treatments' days and day 0)
    treat = _treatment_days(treat_raw, origins, log) if treat_raw is not None else None
    frame = _concat(assessment_parts)
    resorted = len(assessment_parts) > 1 or any(r["how"] == "wide" for r in mapping)  # rows sorted back at the end
    parsed = assessment_parsed[0] if len(assessment_parsed) == 1 else {}
    frame = _assign_days(frame, origins, treat_raw is not None, strict_dates, log)
    if not resorted and S.START_MONTH in frame.columns:  # (derived from day 0, unless the file has it)
        early.start({S.START_MONTH: frame[S.START_MONTH]}, parsed)
    frame = V.drop_out_of_range(frame, log)
    frame = V.drop_implausible_days(frame, log)
    # (patient, instrument, day, score) first: an export sorted by them is checked without hashing
    present = [c for c in (S.PATIENT_ID, S.INSTRUMENT, S.DAY, S.SCORE, *S.PATIENT_ATTRIBUTES) if c in frame.columns]
    frame = V.drop_duplicates(frame, present, log, grouped_by=[c for c in (S.PATIENT_ID, S.DAY) if c in frame.columns])
    frame = V.resolve_conflicts(frame, S.PATIENT_ATTRIBUTES, log)
    frame = frame.sort_values([FILE, ROW], kind="stable") if resorted else frame
    assessments = _output(frame, S.ASSESSMENT_COLUMNS, {S.SCORE: "float64", S.DAY: "Int64"}, parsed, early)
    treatments = None
    if treat is not None:
        treatments = _output(treat, S.TREATMENT_COLUMNS, {S.DAY: "Int64", S.DOSE: "float64"}, treatment_parsed[0])
    ok = len(assessments) > 0
    if not ok:
        log.add("error", "NO_ROWS_KEPT", "No usable scores are left after the checks below; fix them and upload again.")
        assessments, treatments = _empty_assessments(), None
    return Loaded(assessments, treatments, log.table(), _mapping_table(mapping), rows_read, names, ok)


def _load_one(name: str, data: bytes, fi: int, overrides: dict[str, str], log: IssueLog, early: _EarlyText):
    """Read, guard, map and reshape one file: (internal frame, "assessments"|"treatments", rows read, columns,
    {canonical text column: its column as parsed, codes, distinct values} for `_output`); an assessments file's
    text output columns are started in ``early``."""
    prep = _prepare(data)
    cols = _map_columns(name, prep.names, overrides)
    t = cols.target
    if cols.twice:
        raise _Refused("DUPLICATE_COLUMNS", _twice_message(cols.twice))
    raw = _parse(prep, {t[c] for c in (S.SCORE, S.DAY, AGE, S.DOSE) if c in t}, {t[d] for d in DATE_TARGETS if d in t})
    repeated = _drop_repeated_headers(raw, prep.names)
    if repeated:
        log.add(
            "info",
            "REPEATED_HEADER",
            f"{name}: the line of column names appears again inside the file (a page "
            f"break of a report); skipped ({V.rows_text(repeated)}).",
            None,
            repeated,
        )
    exempt = [r["source"] for r in cols.rows if r["how"] == "override" and r["target"] != S.PATIENT_ID]
    phi_cols = V.phi_columns(raw.table, exempt=exempt)
    phi_vals = V.phi_values(raw.table, raw.rows, raw.dictionary)
    if phi_cols or phi_vals:
        V.refuse_phi(log, name, phi_cols, phi_vals)
        raise _Refused("", "")  # the issues are logged
    for target, src in t.items():
        log.sources[(fi, S.DAY if target in DATE_TARGETS else target)] = src
        if target in DATE_TARGETS:
            log.sources[(fi, S.DATE)] = src
    if S.DAY in t:
        log.sources[(fi, _DAY_SOURCE)] = t[S.DAY]
    for source, _, _, _ in cols.wide:
        log.sources.setdefault((fi, S.SCORE), source)
        log.sources.setdefault((fi, S.INSTRUMENT), source)
    duplicated_names = sorted(
        {n for n in prep.names if re.fullmatch(r".+\.\d+", n) and n.rsplit(".", 1)[0] in prep.names}
    )
    if duplicated_names:
        log.add(
            "warning",
            "DUPLICATE_COLUMN_NAMES",
            f"{name}: more than one column is named "
            f"{quoted(sorted({n.rsplit('.', 1)[0] for n in duplicated_names}))}; the first of each was used, the others "
            f"are listed as {quoted(duplicated_names)}.",
            ", ".join(duplicated_names),
        )
    long = [r for r, w in raw.ragged if w == "long"]
    short = [r for r, w in raw.ragged if w == "short"]
    if long:
        log.add(
            "warning",
            "RAGGED_ROWS",
            f"{name}: {len(long)} row(s) have more fields than the header and were left "
            f"out ({V.rows_text(long)}); a delimiter inside an unquoted value is the usual cause.",
            None,
            long,
        )
    if short:
        log.add(
            "info",
            "SHORT_ROWS",
            f"{name}: {len(short)} row(s) have fewer fields than the header; the missing "
            f"fields were read as blank ({V.rows_text(short)}).",
            None,
            short,
        )
    if prep.skip:
        log.add("info", "PREAMBLE_SKIPPED", f"{name}: {prep.skip} line(s) above the column names were skipped.")
    if raw.encoding not in ("UTF-8", "UTF-8 with BOM"):
        log.add("info", "ENCODING", f"{name}: read as {raw.encoding} text, {raw.delimiter}-separated.")
    has_date = S.DAY in t or any(d in t for d in DATE_TARGETS)
    long_format = S.INSTRUMENT in t and S.SCORE in t
    if long_format or cols.wide:
        missing = []
        if S.PATIENT_ID not in t:
            missing.append("a patient key (e.g. 'Patient ID')")
        dated_visits = cols.wide and all(d is not None for _, _, d, _ in cols.wide) and not long_format
        if not has_date and not dated_visits:
            missing.append("a day or date column (e.g. 'Day' or 'Date Administered')")
        if missing:
            raise _Refused("MISSING_COLUMNS", _missing_message(missing, prep.names))
        parsed = _parsed_text(raw, t, S.ASSESSMENT_COLUMNS)
        frame = _assessment_frame(raw, cols, fi, name, log, early, parsed)
        return frame, "assessments", raw.table.num_rows + len(long), cols, parsed
    if (S.KIND in t or S.DOSE in t) and S.PATIENT_ID in t and has_date:
        parsed = _parsed_text(raw, t, S.TREATMENT_COLUMNS)
        return _treatment_frame(raw, cols, fi, name, log), "treatments", raw.table.num_rows + len(long), cols, parsed
    missing = [
        m
        for m, ok in (
            ("a patient key (e.g. 'Patient ID')", S.PATIENT_ID in t),
            ("the instrument (e.g. 'Measure': PHQ-9, GAD-7, ...)", S.INSTRUMENT in t),
            ("the score (e.g. 'Total Score')", S.SCORE in t),
            ("a day or date (e.g. 'Date Administered')", has_date),
        )
        if not ok
    ]
    raise _Refused("MISSING_COLUMNS", _missing_message(missing, prep.names))


def _parsed_text(raw: _Raw, target: dict[str, str], columns: tuple[str, ...]) -> dict:
    """{canonical text column: (column as parsed, codes, distinct values)} of the file's text columns among
    ``columns``: what ``_output`` reuses for a column no step changed."""
    return {c: raw.as_parsed(src) for c, src in target.items() if c in columns and _is_text(raw.table[src])}


def _twice_message(twice: dict[str, list[str]]) -> str:
    what = {
        S.PATIENT_ID: "the patient key",
        S.INSTRUMENT: "the instrument",
        S.SCORE: "the score",
        S.DAY: "the day",
        S.DATE: "the date",
    }

    def names(sources):  # 'Score.1' is how the second column named 'Score' is listed
        return " and ".join(
            f"'{s}'"
            + (
                f" (the second column named '{s.rsplit('.', 1)[0]}')"
                if re.fullmatch(r".+\.\d+", s) and s.rsplit(".", 1)[0] in sources
                else ""
            )
            for s in sources
        )

    found = "; ".join(
        f"{names(sources)} are {'both' if len(sources) == 2 else 'all'} {what[target]} ({target})"
        for target, sources in twice.items()
    )
    target, sources = next(iter(twice.items()))
    return (
        f"More than one column holds the same thing: {found}. Which one to use would be a guess, so nothing was "
        f"read. Choose the column to use in the Data page's column mapping, or on the command line with --map (e.g. "
        f"--map '{sources[1]}=ignore' or --map '{sources[0]}={target}'); or export one measure per row and upload again."
    )


def _drop_repeated_headers(raw: _Raw, names: list[str]) -> list[int]:
    """Remove the rows that repeat the header line (every field equal to its column name, as report
    writers print it again at a page break) from ``raw``; their spreadsheet rows. Checked column by
    column on the distinct values, the first column first: usually one look at one dictionary."""
    mask = None
    for i, name in enumerate(raw.table.column_names):
        written = names[i]
        col = raw.table[name]
        if not (pa.types.is_dictionary(col.type) or pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
            return []  # a column pyarrow read as numbers cannot hold its name
        codes, values = raw.dictionary(name)
        trimmed = pc.utf8_trim_whitespace(values)
        blank = written == f"column {i + 1}"  # a header left blank: its repeat is blank too
        hits = np.flatnonzero(
            pc.equal(trimmed, "" if blank else written).fill_null(False).to_numpy(zero_copy_only=False)
        )
        hits = np.append(hits, -1) if blank else hits
        if not len(hits):
            return []
        at = np.isin(codes, hits)
        mask = at if mask is None else mask & at
        if not mask.any():
            return []
    rows = raw.rows[mask].tolist()
    raw.table = raw.table.filter(pa.array(~mask))
    raw.rows = raw.rows[~mask]
    raw.encoded.clear()
    raw.listed.clear()
    return rows


def _missing_message(missing: list[str], names: list[str]) -> str:
    return (
        f"The columns this dashboard needs were not found: {'; '.join(missing)}. The file's columns are "
        f"{quoted(names, 12)}. Rename the columns in the export, or say which is which, e.g. "
        "--map 'Your Column=patient_id' (targets: " + ", ".join(OVERRIDE_TARGETS) + ")."
    )
