"""The import's measured fast path: the same answers as the general path, for less work on long files.

One switch: ``ENABLED`` (``load_files(..., fast=False)`` for one call). With it off, nothing here runs and
every result is the same (tests/test_ingest_fastpaths.py compares the two, row by row and message by message,
with this module's thresholds lowered so that small files take every path). The rest of the import never
imports this module: :mod:`analysis.ingest.frames` calls it where it may stand in for a general step, and
each function here answers exactly as that step would, or None ("take the general path").

What it does (bench/README.md has the measurements):
- Rows proved without counting lines: a file without quotes is parsed with blank lines kept, and a first
  column without a blank value proves there was none (no line to count, no quoted line break possible).
- ISO dates as dates: a date column whose first ``ISO_SAMPLE_BYTES`` hold only ISO dates (YYYY-MM-DD) is
  parsed by pyarrow as ``date32`` (days since 1970, no text to hash), and as text again if a later value is not.
- Runs instead of hashing: a long text column with long runs of equal values (an export grouped by patient) is
  dictionary-encoded through the first value of each run; text output of such codes is decoded run by run.
- A canonical text column no step changed (same distinct values, same code on every row) is the column as
  parsed.
"""

from __future__ import annotations

import csv
import datetime as dt
import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from analysis.arrays import long_run_starts, same_values
from analysis.ingest import read
from analysis.ingest.read import CsvFile, TextTable

#: the switch: False makes every import take the general path
ENABLED = True
#: from this many rows, a text column is first looked at for runs of equal values
RUN_ROWS = 200_000
#: the head of a file whose date values decide whether pyarrow reads the column as dates
ISO_SAMPLE_BYTES = 65536


# --- reading ------------------------------------------------------------------------------------------------
def arrow_rows(csv_file: CsvFile, numeric: set[str], dates: set[str]) -> TextTable | None:
    """``read.pyarrow_rows``, with the ISO date columns of ``dates`` read as dates and, for a file without quotes,
    its rows proved by its first column rather than by counting lines."""
    body, names = csv_file.body, csv_file.names
    # Without quotes, each line (ended by LF, CRLF or a lone CR, as pyarrow and the csv module both end lines) is
    # one row when blank lines are kept as rows, and a blank line would leave the first column blank: a first
    # column without blanks proves there was none. (A lone CR that splits the fields of a row leaves parts with too
    # few fields: pyarrow refuses them, and the careful reader takes over.)
    quotes = read.has_byte(body, b'"')
    simple = not quotes and len(names) > 1
    iso = iso_columns(csv_file, dates)

    def parse(iso, keep_blank_lines):
        raw = read.read_arrow(
            body, names, csv_file.delimiter, quotes, numeric, iso, keep_blank_lines, dictionary, _encode_all
        )
        if raw is not None and any(_before_year_100(raw.table[n]) for n in iso):
            return None  # (years 0-99 are not dates to parse_dates: read as text, and reported as it reports them)
        return raw

    raw = parse(iso, simple)
    if raw is None and iso:  # (a value further down is not an ISO date: the column is text)
        iso = set()
        raw = parse(iso, simple)
    if raw is not None and simple and read.has_blanks(raw, names[0]):
        simple = False
        raw = parse(iso, False)
    if raw is not None and not simple and not read.same_lines(body, raw):
        return None
    return raw


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
#: 0100-01-01 in days since 1970-01-01
_YEAR_100 = dt.date(100, 1, 1).toordinal() - dt.date(1970, 1, 1).toordinal()


def _before_year_100(col: pa.ChunkedArray) -> bool:
    """Whether a date32 column holds a date before the year 100."""
    first = pc.min(col).cast(pa.int32()).as_py()
    return first is not None and first < _YEAR_100


def iso_columns(csv_file: CsvFile, dates: set[str]) -> set[str]:
    """The columns of ``dates`` whose values in the first ISO_SAMPLE_BYTES are ISO dates (YYYY-MM-DD) or blank,
    at least one. pyarrow takes exactly what ``parse_dates`` reads as ISO with two-digit month and day (white
    space around trimmed) and refuses the rest (then the column is read as text)."""
    if not dates:
        return set()
    head = read.head_bytes(csv_file.body, ISO_SAMPLE_BYTES)
    lines = head.decode("utf-8", errors="ignore").splitlines()[1:-1]
    where = {i: n for i, n in enumerate(csv_file.names) if n in dates}
    seen = dict.fromkeys(where.values(), False)
    try:
        for rec in csv.reader(lines, delimiter=csv_file.delimiter):
            for i, n in where.items():
                v = rec[i].strip() if i < len(rec) else ""
                if v and not _ISO_DATE.fullmatch(v):
                    return set()
                seen[n] = seen[n] or bool(v)
    except csv.Error:
        return set()
    return {n for n, found in seen.items() if found}


def _encode_all(raw: TextTable) -> None:
    """Dictionary-encode every text column at once."""
    for name, col in zip(raw.table.column_names, raw.table.columns):
        if read.is_text(col):
            raw.dictionary(name)


# --- runs instead of hashing ---------------------------------------------------------------------------------
def dictionary(col: pa.ChunkedArray) -> tuple[np.ndarray, pa.Array]:
    """``read.dictionary``: for a long column in runs of equal values, the first value of each run encoded and
    its code repeated over the run (a value first appears at a run's start: the same codes, the same order)."""
    if read.is_text(col) and isinstance(col, pa.ChunkedArray) and len(col) >= RUN_ROWS:
        starts = _run_starts(col)
        if starts is not None:
            codes, values = read.dictionary(pa.chunked_array([_take_sorted(col, starts)]))
            return np.repeat(codes, np.diff(np.append(starts, len(col)))), values
    return read.dictionary(col)


def _run_starts(col: pa.ChunkedArray) -> np.ndarray | None:
    """Where each run of equal values starts (a null starts a run of its own), or None when runs are short
    (known after the first chunk, usually): comparing each value with the one before costs a third to a half
    of hashing every value."""
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
    """Positions i where value i + 1 differs from value i (a null differs from everything)."""
    differs = pc.not_equal(chunk.slice(1), chunk.slice(0, len(chunk) - 1))
    if chunk.null_count:
        differs = differs.fill_null(True)
    return pc.indices_nonzero(differs).to_numpy()


def _take_sorted(col: pa.ChunkedArray, rows: np.ndarray) -> pa.Array:
    """``col.take(rows)`` for increasing rows, chunk by chunk (a take on the chunked column joins its chunks first:
    a copy of every value)."""
    bounds = np.cumsum([0] + [len(c) for c in col.chunks])
    cut = np.searchsorted(rows, bounds)
    return pa.concat_arrays([c.take(rows[a:b] - lo) for c, lo, a, b in zip(col.chunks, bounds[:-1], cut[:-1], cut[1:])])


# --- output ---------------------------------------------------------------------------------------------------
def text_output(cat: pd.Categorical, parsed: tuple | None) -> pa.Array | None:
    """The text of a canonical column (large strings), or None: the column as parsed (``parsed``: column as parsed,
    its codes, its distinct values) when the categorical is that column unchanged; else, for codes in long runs,
    the runs' text repeated by pyarrow's run-end decoding."""
    codes, categories = cat.codes, cat.categories
    if parsed is not None and _unchanged(categories, codes, parsed):
        return parsed[0].cast(pa.large_string())
    starts = long_run_starts(codes)
    if starts is None:
        return None
    run_codes = codes[starts]
    missing = run_codes < 0
    texts = pa.array([str(c) for c in categories], pa.large_string())
    values = texts.take(pa.array(run_codes, mask=missing) if missing.any() else pa.array(run_codes))
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
