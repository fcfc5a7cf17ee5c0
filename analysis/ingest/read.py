"""Bytes in, a text table out: what a file is, its encoding and delimiter, and its rows as a spreadsheet shows them.

The file type is sniffed first (empty, Excel, ZIP, PDF, HTML-table and binary files are refused with a
message saying what to do); the encoding comes from a byte-order mark, a UTF-16 pattern of zero bytes,
strict UTF-8, else Windows-1252 when the bytes read in it (Mac Roman instead when Windows-1252 puts
punctuation inside words where Mac Roman has letters: Excel's "CSV (Macintosh)"), else charset-normalizer's
guess (non-UTF-8 text is transcoded to UTF-8). The delimiter (comma, semicolon, tab, pipe) is the one that
splits the first lines most consistently; title lines above the header and Excel's "sep=;" line are
skipped. pyarrow parses the file; Python's csv module takes over when pyarrow's rows would not be the rows a
spreadsheet shows (ragged rows, blank lines or line breaks inside the data), so every issue quotes the right
row numbers (header = row 1).

The reader seam: :func:`open_file` sniffs the bytes and returns a reader (today :class:`CsvFile`, the one
kind accepted). A reader has ``names`` (the header, made unique) and ``read(numeric)`` -> :class:`TextTable`
(one column per source column, text or numbers, with each row's spreadsheet row). Another format (an xlsx
sheet, a FHIR bundle) plugs in as another reader returning the same ``TextTable``: nothing after this module
knows which reader read the file.
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from analysis.config import MAX_UPLOAD_MB


class Refused(Exception):
    """A file that cannot be read as it is: ``code`` and a message saying what to do; ``fix`` (see
    :mod:`analysis.ingest.columns`) when mapping a column by hand would let it through."""

    def __init__(self, code: str, message: str, fix: dict | None = None):
        super().__init__(message)
        self.code, self.message, self.fix = code, message, fix


# --- the text table ---------------------------------------------------------------------------------------
def is_text(col) -> bool:
    return pa.types.is_string(col.type) or pa.types.is_large_string(col.type)


def code_dtype(n: int) -> type:
    """The integer type pandas gives the codes of n categories (so that categoricals take codes uncopied)."""
    return np.int8 if n < 127 else np.int16 if n < 32767 else np.int32


def dictionary(col: pa.ChunkedArray) -> tuple[np.ndarray, pa.Array]:
    """(codes, distinct values in order of first appearance) of a column; code -1 for null."""
    if not is_text(col):
        col = pc.cast(col, pa.string())
    arr = pc.dictionary_encode(col)
    if isinstance(arr, pa.ChunkedArray):
        values = arr.chunk(0).dictionary if arr.num_chunks else pa.array([], pa.string())
        indices = pa.chunked_array([c.indices for c in arr.chunks], arr.type.index_type)
    else:
        values, indices = arr.dictionary, arr.indices
    if indices.null_count:
        indices = indices.fill_null(-1)
    codes = indices.to_numpy() if isinstance(indices, pa.ChunkedArray) else indices.to_numpy(zero_copy_only=False)
    return codes.astype(code_dtype(len(values)), copy=False), values


@dataclass
class TextTable:
    """A file as read: one column per source column (text, or numbers pyarrow inferred), the spreadsheet row of
    each table row, and each text column's distinct values, computed once (every value is normalised through
    its distinct values, never row by row)."""

    table: pa.Table
    rows: np.ndarray  # spreadsheet row of each table row (int32: rows up to 2**31)
    encoding: str = ""
    delimiter: str = ""
    ragged: tuple = ()  # (row, "short" | "long") of rows whose field count differs from the header
    encode: Callable = dictionary  # column -> (codes, distinct values)
    encoded: dict = field(default_factory=dict)  # column -> (codes, distinct values as a pyarrow array)
    listed: dict = field(default_factory=dict)  # column -> distinct values as a list

    def dictionary(self, name: str) -> tuple[np.ndarray, pa.Array]:
        """(codes, distinct values) of a column, computed once (-1 codes for nulls)."""
        if name not in self.encoded:
            self.encoded[name] = self.encode(self.table[name])
        return self.encoded[name]

    def distinct(self, name: str) -> tuple[np.ndarray, list]:
        """(codes, distinct values as a list), computed once."""
        codes, values = self.dictionary(name)
        if name not in self.listed:
            self.listed[name] = values.to_pylist()
        return codes, self.listed[name]

    def keep(self, mask: np.ndarray) -> None:
        """Keep only the rows where ``mask`` holds."""
        self.table = self.table.filter(pa.array(mask))
        self.rows = self.rows[mask]
        self.encoded.clear()
        self.listed.clear()


# --- bytes ------------------------------------------------------------------------------------------------
def source_bytes(source) -> tuple[str, bytes]:
    """(file name, bytes) of a path or a (file_name, bytes) upload. A file on disk is memory-mapped by pyarrow
    (read-only, not copied: its pages are read once, by the parse)."""
    if isinstance(source, tuple) and len(source) == 2:
        name, data = source
        if hasattr(data, "read"):
            data = data.read()
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"upload {name!r}: expected bytes, got {type(data).__name__}")
        return str(name), bytes(data)
    if isinstance(source, (str, Path)):
        path = Path(source)
        return path.name, _mapped(path)
    raise TypeError(f"sources must be paths or (file_name, bytes) tuples, got {type(source).__name__}")


def _mapped(path: Path):
    """The file's bytes: pyarrow's memory map of it (a ``pa.Buffer``), or the bytes read when it cannot be mapped."""
    if os.name != "posix" or os.path.getsize(path) == 0:  # (empty, or a pipe or device whose size is unknown)
        return path.read_bytes()
    try:
        with pa.memory_map(str(path)) as mapped:
            return mapped.read_buffer()  # (the buffer keeps the map alive)
    except (OSError, ValueError, pa.ArrowException):
        return path.read_bytes()


def head_bytes(data, n: int) -> bytes:
    """The first n bytes of bytes or a pyarrow buffer, as bytes."""
    return data[:n] if isinstance(data, (bytes, bytearray)) else data.slice(0, min(n, data.size)).to_pybytes()


def _size(data) -> int:
    return data.size if isinstance(data, pa.Buffer) else len(data)


def has_byte(data, byte: bytes) -> bool:
    """Whether a byte occurs in bytes or a pyarrow buffer (numpy's comparison, slice by slice)."""
    if isinstance(data, (bytes, bytearray)):
        return byte in data
    view = np.frombuffer(data, dtype=np.uint8)
    return any(np.any(view[i : i + (1 << 22)] == byte[0]) for i in range(0, len(view), 1 << 22))


def count_newlines(data) -> int:
    """Line feeds in bytes or a pyarrow buffer."""
    if isinstance(data, (bytes, bytearray)):
        return data.count(b"\n")
    view = np.frombuffer(data, dtype=np.uint8)
    return int(sum(np.count_nonzero(view[i : i + (1 << 22)] == 10) for i in range(0, len(view), 1 << 22)))


def lone_carriage_returns(data) -> bool:
    """Whether a carriage return not followed by a line feed ends a line (old Mac files, stray CRs): a
    line break to pyarrow and the csv module, not counted by ``count_newlines``."""
    view = np.frombuffer(data, dtype=np.uint8)
    step = 1 << 22
    for i in range(0, len(view), step):
        part = view[i : i + step + 1]  # (one byte more: the byte after the slice's last CR)
        cr = np.flatnonzero(part[:step] == 13)
        if len(cr) and (cr[-1] + 1 >= len(part) or np.any(part[np.minimum(cr + 1, len(part) - 1)] != 10)):
            return True
    return False


# --- what the file is -------------------------------------------------------------------------------------
def sniff(data) -> None:
    """Refuse what is not a delimited text file, saying what it is and what to do."""
    blank = b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"
    if not head_bytes(data, 65536).strip(blank) and not head_bytes(data, _size(data)).strip(blank):
        raise Refused(
            "EMPTY_FILE", "The file is empty. Export the assessments again from your EHR and upload the new file."
        )
    if _size(data) > MAX_UPLOAD_MB * 1024 * 1024:
        raise Refused(
            "FILE_TOO_LARGE",
            f"The file is larger than {MAX_UPLOAD_MB} MB. Export a shorter date range and upload the parts.",
        )
    head, start = head_bytes(data, 4096), head_bytes(data, 200_000)
    if head.startswith(b"PK\x03\x04"):
        if b"xl/" in start or b"[Content_Types].xml" in start:
            raise Refused(
                "EXCEL_FILE",
                "This looks like an Excel workbook saved with a .csv name. In Excel choose "
                "File > Save As > CSV UTF-8 and upload that file.",
            )
        raise Refused(
            "ZIP_FILE", "This is a compressed (ZIP) archive, not a CSV file. Unzip it and upload the CSV inside."
        )
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        raise Refused(
            "EXCEL_FILE",
            "This looks like an old Excel (.xls) workbook saved with a .csv name. In Excel "
            "choose File > Save As > CSV UTF-8 and upload that file.",
        )
    if head.startswith(b"%PDF"):
        raise Refused("PDF_FILE", "This is a PDF document, not a CSV file. Export the data from your EHR as CSV.")
    if head.startswith(b"\x1f\x8b"):
        raise Refused(
            "ZIP_FILE", "This is a compressed (gzip) file, not a CSV file. Decompress it and upload the CSV inside."
        )
    if re.match(rb"(?:\xef\xbb\xbf)?\s*<(?:!doctype\s+html|html|table|\?xml[^>]*>\s*<html)", head, re.IGNORECASE) or (
        re.match(rb"(?:\xef\xbb\xbf)?\s*<", head) and re.search(rb"<table[\s>]", head, re.IGNORECASE)
    ):
        raise Refused(
            "HTML_FILE",
            "This is a web page (an HTML table), not a CSV file, even if its name ends in .xls or "
            ".csv (many EHRs' 'Export to Excel' write one). Open it in Excel, choose File > Save As > CSV UTF-8, "
            "and upload that file.",
        )


def _binary(message: str = "") -> Refused:
    return Refused(
        "BINARY_FILE",
        "This is not a text file (it holds binary data, perhaps an image, a database or a "
        "damaged download). Upload the CSV export of your assessments." + message,
    )


def _encoding(data) -> str:
    """The encoding, decided on a sample: BOM, UTF-16 zero-byte pattern, strict UTF-8, else charset-normalizer."""
    sample = head_bytes(data, 65536)
    if sample.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if sample.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
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
        if e.start >= len(sample) - 3 and _size(data) > len(sample):  # a character cut by the sample's end
            return "utf-8"
    return guess_8bit(sample)


def guess_8bit(sample: bytes) -> str:
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


ENCODING_NAMES = {
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
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}


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


# --- the CSV reader ---------------------------------------------------------------------------------------
@dataclass
class CsvFile:
    """A delimited text file, its layout decided: ``names`` (header names, made unique) and ``read``."""

    body: bytes  # UTF-8, without a BOM (bytes, or pyarrow's map of a UTF-8 file on disk)
    names: list[str]
    delimiter: str
    encoding: str
    skip: int = 0  # preamble lines above the header (a title, "sep=;")

    def read(self, numeric: set[str], arrow_rows: Callable | None = None) -> TextTable:
        """The text table (numbers for the columns in ``numeric``). ``arrow_rows(csv_file, numeric)``: another way to
        pyarrow's rows (the same answer, or None when they could not be the spreadsheet's), else ``pyarrow_rows``."""
        raw = (arrow_rows or pyarrow_rows)(self, numeric)
        encoding = self.encoding
        if raw is None:
            body = head_bytes(self.body, _size(self.body))
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError as e:  # the sample was plain ASCII; 8-bit characters come later
                guess = guess_8bit(body[max(0, e.start - 65536) : e.start + 65536])
                text, encoding = body.decode(guess, errors="replace"), ENCODING_NAMES.get(guess, guess)
            raw = python_rows(text, self.names, self.delimiter)
        else:
            drop_blank_rows(raw)
        if self.skip:
            raw.rows = raw.rows + self.skip
        if raw.table.num_rows == 0:
            raise Refused(
                "NO_DATA_ROWS",
                "The file has column names but no data rows. Check the date range of the export and export again.",
            )
        raw.encoding, raw.delimiter = encoding, DELIMITER_NAMES[self.delimiter]
        return raw


def open_file(data) -> CsvFile:
    """The reader of a file's bytes: sniffed (refused when it is not text), then its encoding (transcoded to UTF-8
    only when needed), delimiter and header decided. (The seam for other formats: sniff, then their reader.)"""
    sniff(data)
    encoding = _encoding(data)
    if encoding in ("utf-8", "utf-8-sig"):
        body = (
            (data[3:] if isinstance(data, (bytes, bytearray)) else data.slice(3)) if encoding == "utf-8-sig" else data
        )
        head_text = head_bytes(body, 65536).decode("utf-8", errors="ignore")
    else:
        try:
            text = head_bytes(data, _size(data)).decode(encoding)
        except (UnicodeDecodeError, LookupError):
            raise _binary(" (Its characters could not be read in any common encoding.)") from None
        body = text.encode("utf-8")
        head_text = text[:65536]
    if "\x00" in head_text:
        raise _binary()
    delimiter, skip = _layout(head_text)
    if skip:
        cut, whole = -1, head_bytes(body, _size(body)) if not isinstance(body, (bytes, bytearray)) else body
        for _ in range(skip):
            cut = whole.find(b"\n", cut + 1)
            if cut < 0:
                break
        if cut >= 0:
            body, head_text = whole[cut + 1 :], head_text.split("\n", skip)[-1]
        else:
            skip = 0
    try:
        header = next(csv.reader(io.StringIO(head_text, newline=""), delimiter=delimiter), [])
    except csv.Error as e:
        raise Refused(
            "UNREADABLE", f"The column names could not be read as CSV ({e}). Export the file again as CSV."
        ) from None
    if not any(h.strip() for h in header):
        raise Refused(
            "NO_HEADER",
            "The column names could not be found on the first line of the file. Delete "
            "anything above the column names and upload again.",
        )
    return CsvFile(body, _unique_names(header), delimiter, ENCODING_NAMES.get(encoding, encoding), skip)


def pyarrow_rows(csv_file: CsvFile, numeric: set[str]) -> TextTable | None:
    """pyarrow's parse, when its rows are the spreadsheet's: as many as the file has lines after the header (a
    blank line skipped or a quoted line break joined would shift every row number after it), no lone carriage
    return; else None (the careful reader then reads the file)."""
    body = csv_file.body
    raw = read_arrow(body, csv_file.names, csv_file.delimiter, has_byte(body, b'"'), numeric)
    if raw is not None and not same_lines(body, raw):
        return None
    return raw


def same_lines(body, raw: TextTable) -> bool:
    """Whether the file has one line per row of ``raw`` after the header, ended by LF or CRLF (no lone CR)."""
    tail = head_bytes(body, _size(body))[-4096:] if isinstance(body, (bytes, bytearray)) else _tail(body, 4096)
    trailing = tail[len(tail.rstrip(b"\r\n \t")) :].count(b"\n")
    lines = count_newlines(body) - trailing + 1
    return lines == raw.table.num_rows + 1 and not (has_byte(body, b"\r") and lone_carriage_returns(body))


def _tail(buffer: pa.Buffer, n: int) -> bytes:
    return buffer.slice(max(0, buffer.size - n)).to_pybytes()


def read_arrow(
    body,
    names: list[str],
    delimiter: str,
    newlines: bool,
    numeric: set[str],
    dates: set[str] = frozenset(),
    keep_blank_lines: bool = False,
    encode: Callable = dictionary,
    encode_all: Callable | None = None,
) -> TextTable | None:
    """pyarrow's parse (text as plain strings, ``numeric`` as numbers, ``dates`` as dates), every text column's
    distinct values found (``encode``; ``encode_all(raw)`` for all at once). None when pyarrow's rows could not be
    the spreadsheet's: a row with more or fewer fields than the header (pyarrow raises), 8-bit characters
    below the sniffed sample, or a value of ``dates`` that is not an ISO date."""
    types = {n: pa.date32() if n in dates else pa.string() for n in names if n not in numeric}
    source = body if isinstance(body, pa.Buffer) else pa.py_buffer(body)
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
    raw = TextTable(table, np.arange(2, table.num_rows + 2, dtype=np.int32), encode=encode)
    if encode_all is not None:
        encode_all(raw)
    if not _valid_utf8(raw):
        return None  # 8-bit characters below the sniffed sample: the python reader decodes them
    return raw


def _valid_utf8(raw: TextTable) -> bool:
    """Whether every text value is valid UTF-8, checked on the distinct values of the text columns
    (pyarrow's own check, on every row, is switched off while parsing)."""
    for name, col in zip(raw.table.column_names, raw.table.columns):
        if pa.types.is_binary(col.type) or pa.types.is_large_binary(col.type):
            return False
        if not is_text(col):
            continue
        try:
            raw.dictionary(name)[1].validate(full=True)
        except pa.ArrowInvalid:
            return False
    return True


def python_rows(text: str, names: list[str], delimiter: str) -> TextTable:
    """The careful reader: exact spreadsheet rows, blank lines counted, ragged rows padded or reported."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        next(reader)
        records = list(reader)
    except csv.Error as e:
        raise Refused("UNREADABLE", f"The file could not be read as CSV ({e}). Export it again as CSV.") from None
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
    return TextTable(table, np.asarray(rows, dtype=np.int32), ragged=tuple(ragged))


def has_blanks(raw: TextTable, name: str) -> bool:
    """Whether a column has an empty value (null, or "" in a text column: looked up in its distinct values)."""
    col = raw.table[name]
    if col.null_count:
        return True
    if is_text(col):
        return bool(pc.any(pc.equal(raw.dictionary(name)[1], "")).as_py())
    return False


def drop_blank_rows(raw: TextTable) -> None:
    """Remove the rows whose every field is blank (a line of delimiters only, as a spreadsheet saves an empty
    formatted row): blank lines, which the python reader skips. Checked column by column on the distinct
    values, the first column first: usually one look at one dictionary."""
    mask = None
    for name in raw.table.column_names:
        col = raw.table[name]
        if is_text(col):
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
    raw.keep(~mask)


def drop_repeated_headers(raw: TextTable, names: list[str]) -> list[int]:
    """Remove the rows that repeat the header line (every field equal to its column name, as report writers
    print it again at a page break); their spreadsheet rows. Checked column by column on the distinct values,
    the first column first: usually one look at one dictionary."""
    mask = None
    for i, name in enumerate(raw.table.column_names):
        written = names[i]
        col = raw.table[name]
        if not is_text(col):
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
    raw.keep(~mask)
    return rows
