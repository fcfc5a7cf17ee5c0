"""A differential red team of the import's fast path: every fast path taken on small files gives, to the
last row number, dtype and message, what the general path gives.

The reference is ``load_files`` with the switch off (``slow_paths``: ``columnar.ENABLED = False``, which also
turns off the run-based duplicate / range / attribute checks of analysis.validate). The subject
(``fast_paths``) lowers the thresholds the columnar module owns so that a file of a few dozen rows takes every
fast path: every column counts as long (``RUN_ROWS``), the ISO sample is a few hundred bytes
(``ISO_SAMPLE_BYTES``: a bad date falls "far below" it), and pyarrow parses it in blocks of a few hundred bytes
(so runs and type inference meet block boundaries). A third reading (``python_reader``) parses every file with
the careful csv-module reader: the spreadsheet rows pyarrow's rows must equal.
"""

from __future__ import annotations

import csv
import io
from contextlib import contextmanager

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis import ingest
from analysis import schema as S
from analysis import validate as V
from analysis.ingest import columnar, read

#: rows from which the subject takes the run-based paths
LOW_ROWS = 8
#: the subject's pyarrow block size (bytes): a file of a few dozen rows comes in several chunks
SMALL_BLOCK = 256
#: the subject's ISO-date sample (bytes), standing in for the 64 KB of ``columnar.ISO_SAMPLE_BYTES``
SMALL_ISO_SAMPLE = 200

_read_csv = pacsv.read_csv


def _read_csv_in_blocks(block_size):
    def read_csv(source, read_options=None, **kw):
        read_options.block_size = block_size
        return _read_csv(source, read_options=read_options, **kw)

    return read_csv


@contextmanager
def slow_paths():
    """The fast path switched off."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(columnar, "ENABLED", False)
        yield


@contextmanager
def fast_paths(block_size=SMALL_BLOCK, iso_sample=SMALL_ISO_SAMPLE, rows=LOW_ROWS):
    """Every threshold lowered: small files take the run-based and ISO paths, in small blocks."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(columnar, "RUN_ROWS", rows)
        mp.setattr(columnar, "ISO_SAMPLE_BYTES", iso_sample)
        mp.setattr(pacsv, "read_csv", _read_csv_in_blocks(block_size))
        yield


@contextmanager
def python_reader():
    """Every file read by the csv-module reader (the spreadsheet's rows), other paths as they are."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(read, "read_arrow", lambda *a, **k: None)
        yield


def load(files, mode, **kw):
    sources = [(name, data.encode("utf-8") if isinstance(data, str) else data) for name, data in files]
    with mode():
        return ingest.load_files(sources, **kw)


def assert_same(a: ingest.Loaded, b: ingest.Loaded) -> None:
    """The whole result: tables (dtypes, row order, values), issues, mapping, ok, rows read, report text."""
    assert a.ok == b.ok
    assert a.rows_read == b.rows_read
    pd.testing.assert_frame_equal(a.issues, b.issues, check_exact=True)
    pd.testing.assert_frame_equal(a.assessments, b.assessments, check_exact=True)
    if a.treatments is None or b.treatments is None:
        assert a.treatments is None and b.treatments is None
    else:
        pd.testing.assert_frame_equal(a.treatments, b.treatments, check_exact=True)
    pd.testing.assert_frame_equal(a.mapping, b.mapping, check_exact=True)
    assert a.to_text() == b.to_text()


def differential(files, **kw) -> ingest.Loaded:
    """The fast and slow readings of the files are the same; the slow one is returned."""
    slow = load(files, slow_paths, **kw)
    fast = load(files, fast_paths, **kw)
    assert_same(slow, fast)
    return slow


def csv_text(rows, header, delimiter=",", newline="\n") -> str:
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter, lineterminator=newline)
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def codes(loaded):
    return set(loaded.issues["code"])


# --- the harness itself ------------------------------------------------------------------------------------
HEADER = ["Patient ID", "Measure", "Total Score", "Day", "Diagnosis", "Clinic Location", "Sex"]


def grouped_export(patients=12, visits=8, sites=("Main St Clinic",)):
    """An export grouped by patient then day (PHQ-9 and GAD-7 each visit): long runs in every text column."""
    rows = []
    for p in range(patients):
        for v in range(visits):
            for ins in ("PHQ-9", "GAD-7"):
                rows.append(
                    [
                        f"P-{p:04d}",
                        ins,
                        (p + v) % 20,
                        v * 7,
                        "MDD" if p % 3 else "PTSD",
                        sites[p % len(sites)],
                        "F" if p % 2 else "M",
                    ]
                )
    return rows


def test_the_subject_really_takes_the_fast_paths_and_the_reference_does_not():
    grouped = csv_text(grouped_export(), HEADER)
    dated = "Patient ID,Measure,Total Score,Date\n" + "".join(
        f"P-{i // 4},PHQ-9,{i % 20},2024-03-{1 + i % 4:02d}\n" for i in range(60)
    )
    taken = {}
    watched = [
        (columnar, "_run_starts", lambda out: out is not None),
        (columnar, "iso_columns", bool),
        (columnar, "text_output", lambda out: out is not None),
        (V, "_duplicated_sorted", lambda out: out is not None),
        (V, "_duplicated_in_runs", lambda out: out is not None),
        (V, "_within_by_runs", bool),
    ]

    def watch(module, name, took):
        func = getattr(module, name)

        def wrapped(*a, **k):
            out = func(*a, **k)
            taken[name] = taken.get(name, False) or bool(took(out))
            return out

        return wrapped

    for mode in (fast_paths, slow_paths):
        with mode(), pytest.MonkeyPatch.context() as mp:  # (the counters wrap what the mode put in place)
            for module, name, took in watched:
                mp.setattr(module, name, watch(module, name, took))
            taken.clear()
            ingest.load_files([("a.csv", grouped.encode())])
            ingest.load_files([("a.csv", dated.encode())])
            seen = dict(taken)
        if mode is fast_paths:
            assert all(seen.get(name) for _, name, _ in watched), seen
        else:
            assert not any(seen.values()), seen
    with fast_paths():
        table = pacsv.read_csv(pa.py_buffer(grouped.encode()), read_options=pacsv.ReadOptions(block_size=1 << 22))
    assert table.column(0).num_chunks > 4  # (the small blocks: runs and first-block values meet chunk edges)


def test_a_byte_is_found_at_every_place_of_a_buffer():
    with fast_paths():
        for size in (1, 2, 3, 64, 65):
            assert not read.has_byte(pa.py_buffer(b"x" * size), b'"')
            for at in range(size):
                data = b"x" * at + b'"' + b"x" * (size - at - 1)
                assert read.has_byte(pa.py_buffer(data), b'"'), (size, at)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(["", "a", "b", "ab", "ba", "abcd", "abce", "abcdefgh", "abcdefgi", "é", None]),
        min_size=2,
        max_size=40,
    ),
    st.integers(0, 3),
)
def test_values_of_one_width_compared_as_integers_change_where_pyarrow_says(values, cut):
    chunk = pa.array(values, pa.string()).slice(cut)  # (a slice: offsets not starting at 0)
    if len(chunk) < 2:
        return
    expected = pc.indices_nonzero(pc.not_equal(chunk.slice(1), chunk.slice(0, len(chunk) - 1)).fill_null(True))
    assert columnar._changes(chunk).tolist() == expected.to_pylist()


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from([1, 2, 3, 4, 8]).flatmap(
        lambda w: st.lists(
            st.text(alphabet="abé", min_size=w, max_size=w).filter(lambda v: len(v.encode()) == w),
            min_size=2,
            max_size=40,
        )
    ),
    st.integers(0, 3),
)
def test_values_all_of_one_width_change_where_pyarrow_says_for_1_2_4_and_8_bytes(values, cut):
    chunk = pa.array(values, pa.string()).slice(cut)
    if len(chunk) < 2:
        return
    expected = pc.indices_nonzero(pc.not_equal(chunk.slice(1), chunk.slice(0, len(chunk) - 1)))
    assert columnar._changes(chunk).tolist() == expected.to_pylist()


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(["PHQ9", "GAD7", "ab", "F", "M", "abcdefgh", "é", "", "PCL-5"]),
        min_size=1,
        max_size=6,
        unique=True,
    ),
    st.lists(st.integers(-1, 5), max_size=60),
)
def test_codes_decoded_to_text_equal_pyarrows_take(categories, codes):
    categories = pa.array(categories, pa.large_string())
    codes = np.array([c if c < len(categories) else -1 for c in codes], dtype=np.int8)
    # (texts of one width or not, codes missing or not; short runs, and runs of 9: decoded run by run)
    for rows in (codes, np.repeat(codes, 9)):
        cat = pd.Categorical.from_codes(rows, categories=pd.Index(categories.to_pylist(), dtype=object))
        decoded = columnar.text_output(cat, None)  # (None: no long runs, the general path's take)
        if rows is not codes and len(rows):
            assert decoded is not None  # runs of 9 or more are decoded run by run
        assert decoded is None or decoded.equals(categories.take(pa.array(rows, mask=rows < 0)))


def test_a_difference_in_any_part_of_the_result_is_caught():
    text = csv_text(grouped_export(3, 2), HEADER)
    a = load([("a.csv", text)], slow_paths)
    b = load([("a.csv", text.replace("P-0001,GAD-7,2", "P-0001,GAD-7,3"))], slow_paths)
    with pytest.raises(AssertionError):
        assert_same(a, b)
    c = load([("a.csv", text + "P-0002,PHQ-9,99,0,MDD,Main St Clinic,M\n")], slow_paths)
    with pytest.raises(AssertionError):
        assert_same(a, c)  # (an extra issue)


# --- hostile exports, by hand ----------------------------------------------------------------------------
def case_runs_broken_everywhere():
    rows = grouped_export(patients=20)
    rows[5][5] = ""  # a blank site inside a run
    rows[6][5] = "n/a"
    rows[40][0] = ""  # a blank key inside a run
    rows[41][0] = "P-0002 "  # the same key with a trailing space (cleaned: the run continues)
    rows[90][6] = "female"  # another spelling of the sex inside a run
    rows[-1][5] = "Northside"  # a site only in the last block
    rows.insert(200, list(rows[3]))  # patient P-0000 again, far down (a patient's rows in two places)
    return [("clinic.csv", csv_text(rows, HEADER))]


def case_patient_split_in_two_places():
    rows = grouped_export(patients=10)
    moved = rows[16:32]  # P-0001's rows
    rows = rows[:16] + rows[32:100] + moved + rows[100:]
    return [("clinic.csv", csv_text(rows, HEADER))]


def case_new_values_after_the_first_block():
    rows = grouped_export(patients=20)
    rows[150][1] = "PHQ9"  # another spelling of an instrument
    rows[151][1] = "Beck Depression Inventory"  # an unknown instrument, late
    rows[200][4] = "Bipolar depression"
    rows[201][6] = "X"
    rows[300][5] = "Clínica Peña"
    return [("clinic.csv", csv_text(rows, HEADER))]


def case_interleaved_instruments_and_repeats():
    rows = []
    for p in range(8):
        for v in range(5):
            day = [
                [f"P-{p}", ins, (p * v + k) % 20, v * 3, "MDD", "Main", "F"]
                for k, ins in enumerate(("PHQ-9", "GAD-7", "PCL-5", "PHQ-9", "MADRS"))
            ]
            rows += day
    for gap in (2, 3, 7, 12, 15, 16, 17, 20):  # exact repeats 2-20 rows later, inside and across days
        at = 10 + gap * 7
        rows.insert(at + gap, list(rows[at]))
    rows.insert(60, list(rows[59]))  # next to each other
    return [("clinic.csv", csv_text(rows, HEADER))]


def case_long_day_runs():
    # more than MAX_RUN_COMPARED rows of one patient's day (a file without days, or a busy day)
    rows = [[f"P-{p}", "PHQ-9", s % 28, 0, "MDD", "Main", "F"] for p in range(3) for s in range(40)]
    rows.insert(30, list(rows[2]))  # a repeat 28 rows later
    return [("clinic.csv", csv_text(rows, HEADER))]


def case_conflicting_attributes_within_a_run():
    rows = grouped_export(patients=10)
    rows[3][5] = "Northside"  # one row's site differs in P-0000's run
    rows[20][6] = "M"  # P-0001 is F elsewhere
    rows[21][6] = ""  # a blank beside a value
    rows[40][4] = "GAD"
    rows[41][4] = "GAD"
    rows[42][4] = "GAD"
    return [("clinic.csv", csv_text(rows, HEADER))]


def case_out_of_range_inside_runs():
    rows = grouped_export(patients=10)
    rows[7][2] = 28  # GAD-7 over 21 inside a run
    rows[50][2] = -1
    rows[99][2] = 27.5
    return [("clinic.csv", csv_text(rows, HEADER))]


def _dated(patients=12, visits=6, fmt="{y}-{m:02d}-{d:02d}"):
    rows = []
    for p in range(patients):
        for v in range(visits):
            rows.append([f"P-{p:03d}", "PHQ-9", (p + v) % 27, fmt.format(y=2024, m=1 + p % 9, d=1 + 3 * v), "MDD"])
    return rows


DATED = ["Patient ID", "Measure", "Total Score", "Date Administered", "Diagnosis"]


def case_iso_then_us_date_far_down():
    rows = _dated()
    rows[-3][3] = "3/15/2024"
    return [("clinic.csv", csv_text(rows, DATED))]


def case_iso_then_bad_date_far_down():
    rows = _dated()
    rows[-5][3] = "2024-02-30"
    rows[-4][3] = "2024-13-01"
    rows[-2][3] = "soon"
    return [("clinic.csv", csv_text(rows, DATED))]


def case_iso_then_blank_and_na_far_down():
    rows = _dated()
    rows[-5][3] = ""
    rows[-4][3] = "NA"
    rows[-3][3] = "  "
    rows[-2][3] = " 2024-05-06 "
    return [("clinic.csv", csv_text(rows, DATED))]


def case_iso_with_time_far_down():
    rows = _dated()
    rows[-2][3] = "2024-05-06T10:30:00"
    rows[-1][3] = "2024/05/07"
    return [("clinic.csv", csv_text(rows, DATED))]


def case_iso_two_digit_year_like():
    rows = _dated()
    rows[-2][3] = "0024-05-06"  # a mistyped year: is it year 24 or 2024?
    return [("clinic.csv", csv_text(rows, DATED))]


def case_iso_year_zero():
    rows = _dated()
    rows[-2][3] = "0000-05-06"
    return [("clinic.csv", csv_text(rows, DATED))]


def case_many_patients_and_ages_past_a_thousand_rows():
    # over 64 distinct keys (the bulk check of plain text) and over 1000 rows (ages banded through distinct ages)
    rows = [r + [5 + (int(r[0][2:]) * 7) % 100] for r in grouped_export(patients=70)]
    rows[100][0] = " P-0006"
    rows[200][0] = "P-0012  x"
    rows[300][0] = "N/A"
    rows[400][-1] = 17
    rows[450][-1] = -3  # (a negative age: the band table then starts below 0)
    return [("clinic.csv", csv_text(rows, HEADER + ["Age"]))]


def case_ages_as_text_past_a_thousand_rows():
    rows = [r + [18 + int(r[0][2:]) % 80] for r in grouped_export(patients=70)]
    rows[500][-1] = "90+"
    rows[501][-1] = "unknown"
    rows[502][-1] = ""
    return [("clinic.csv", csv_text(rows, HEADER + ["Age"]))]


def case_eight_bit_text_below_the_sniffed_sample():
    # over 64 KB of ASCII, then Windows-1252 letters and a UTF-8-looking byte pair far below the sample
    rows = grouped_export(patients=300)
    text = csv_text(rows, HEADER)
    assert len(text) > 65536
    return [("clinic.csv", text.encode() + "P-9999,PHQ-9,5,0,MDD,Clínica Peña,F\n".encode("cp1252"))]


def case_utf8_character_cut_by_the_sample_end():
    # a two-byte letter whose first byte is the last of the sniffed 64 KB
    head = csv_text(grouped_export(patients=300), HEADER).encode()[:65000]
    head = head[: head.rindex(b"\n") + 1]
    pad = 65535 - len(head) - len(b"P-0999,PHQ-9,5,0,MDD,")
    data = head + f"P-0999,PHQ-9,5,0,MDD,{'x' * pad}í Peña,F\n".encode() + b"P-0999,GAD-7,5,0,MDD,Main,F\n"
    assert data[65535:65537] == "í".encode()
    return [("clinic.csv", data)]


def case_iso_dates_past_the_real_64_kb_sample():
    rows = _dated(patients=300, visits=10)
    rows[-3][3] = "03/15/2024"
    rows[-2][3] = "2024-02-30"
    text = csv_text(rows, DATED)
    assert text.index("03/15/2024") > 65536
    return [("clinic.csv", text)]


def case_quoted_line_break_far_down():
    rows = grouped_export(patients=10)
    text = csv_text(rows, HEADER)
    return [("clinic.csv", text + 'P-0099,PHQ-9,"5\n",0,MDD,"Main\nSt",F\nP-0098,PHQ-9,x,0,MDD,Main,F\n')]


def case_carriage_return_far_down():
    rows = grouped_export(patients=10)
    text = csv_text(rows, HEADER)
    return [("clinic.csv", text + "P-0099,PHQ-9,5,0,MDD,Main,F\r\nP-0098,PHQ-9,x,0,MDD,Main,F\n")]


def case_windows_line_endings():
    rows = grouped_export(patients=10)
    rows[40][2] = "x"
    return [("clinic.csv", csv_text(rows, HEADER, newline="\r\n"))]


def case_windows_line_endings_and_a_blank_line():
    lines = csv_text(grouped_export(patients=10), HEADER, newline="\r\n").splitlines(keepends=True)
    lines.insert(60, "\r\n")
    return [("clinic.csv", "".join(lines) + "P-0099,PHQ-9,x,0,MDD,Main,F\r\n")]


def case_old_mac_line_endings():
    rows = grouped_export(patients=10)
    rows[40][2] = "x"
    return [("clinic.csv", csv_text(rows, HEADER, newline="\r"))]


def case_lone_carriage_return_ending_one_line():
    lines = csv_text(grouped_export(patients=10), HEADER).splitlines(keepends=True)
    lines[30] = lines[30].replace("\n", "\r")
    return [("clinic.csv", "".join(lines) + "P-0099,PHQ-9,x,0,MDD,Main,F\n")]


def case_lone_carriage_return_inside_a_value():
    lines = csv_text(grouped_export(patients=10), HEADER).splitlines(keepends=True)
    lines[30] = lines[30].replace("Main", "Ma\rin")
    return [("clinic.csv", "".join(lines))]


def case_keys_of_one_width():
    # keys, sexes and codes of 1, 2, 4 and 8 bytes (compared as integers), one key of another width far down,
    # a sex changing within a patient, a repeated row
    rows = [
        [f"P-{p:06d}", ins, (p + v) % 20, v * 7, "MD" if p % 3 else "PT", "S1", "F" if p % 2 else "M"]
        for p in range(12)
        for v in range(6)
        for ins in ("PHQ9", "GAD7")
    ]
    rows[40][6] = "M" if rows[40][6] == "F" else "F"
    rows.insert(70, list(rows[69]))
    rows.append(["P-12", "PHQ9", 3, 0, "MD", "S1", "F"])
    return [("clinic.csv", csv_text(rows, HEADER))]


def case_blank_lines_in_the_middle():
    rows = grouped_export(patients=10)
    lines = csv_text(rows, HEADER).splitlines(keepends=True)
    lines.insert(50, "\n")
    lines.insert(120, "\n\n")
    return [("clinic.csv", "".join(lines))]


def case_blank_lines_and_quotes():
    rows = grouped_export(patients=10)
    lines = csv_text(rows, HEADER).splitlines(keepends=True)
    lines.insert(50, "\n")
    lines[70] = lines[70].replace("Main St Clinic", '"Main St Clinic"')
    return [("clinic.csv", "".join(lines))]


def case_blank_first_column_no_blank_line():
    rows = grouped_export(patients=10)
    rows[30][0] = ""
    rows[31][0] = "  "
    return [("clinic.csv", csv_text(rows, HEADER))]


def case_delimiter_only_line():
    rows = grouped_export(patients=10)
    lines = csv_text(rows, HEADER).splitlines(keepends=True)
    lines.insert(50, ",,,,,,\n")
    return [("clinic.csv", "".join(lines))]


def case_lone_carriage_return_and_blank_line():
    # a lone CR (one more row than line feeds) and a blank line (one fewer): the line count still matches
    lines = csv_text(grouped_export(patients=6), HEADER, newline="\r\n").splitlines(keepends=True)
    lines[10] = lines[10].replace("\r\n", "\r")
    lines.insert(40, "\r\n")
    return [("clinic.csv", "".join(lines) + "P-0099,PHQ-9,x,0,MDD,Main,F\r\n")]


def case_trailing_blank_lines_crlf():
    rows = grouped_export(patients=6)
    return [("clinic.csv", csv_text(rows, HEADER, newline="\r\n") + "\r\n\r\n")]


def case_ragged_row_far_down():
    rows = grouped_export(patients=10)
    text = csv_text(rows, HEADER)
    return [("clinic.csv", text + "P-0099,PHQ-9,5,0,MDD,Main,F,extra\nP-0098,PHQ-9,5,0\n")]


def case_score_text_after_the_first_block():
    rows = grouped_export(patients=10)
    rows[150][2] = "refused"
    rows[151][2] = "12.5"
    rows[152][3] = "1,050"
    return [("clinic.csv", csv_text(rows, HEADER))]


def case_day_fraction_after_the_first_block():
    rows = grouped_export(patients=10)
    rows[150][3] = "7.5"
    return [("clinic.csv", csv_text(rows, HEADER))]


def case_unicode_text():
    rows = grouped_export(patients=10, sites=("Clínica Peña", "Zürich Süd", "東京"))
    rows[100][0] = "P-0010\u00a0"
    rows[101][0] = "P-0010"
    return [("clinic.csv", csv_text(rows, HEADER))]


def case_cp1252_late():
    rows = grouped_export(patients=30)
    rows[-2][5] = "Clínica Peña"
    return [("clinic.csv", csv_text(rows, HEADER).encode("cp1252"))]


def case_semicolon_decimal_comma():
    rows = grouped_export(patients=10)
    for r in rows[::7]:
        r[2] = f"{r[2]},5" if r[2] < 20 else r[2]
    return [("clinic.csv", csv_text(rows, HEADER, delimiter=";"))]


def case_wide_file():
    header = ["Patient ID", "Diagnosis", "Clinic", "PHQ-9 Baseline", "PHQ9_inf1", "PHQ-9 Day 14", "GAD-7 Week 4"]
    rows = [
        [f"P-{p}", "MDD", "Main" if p % 5 else "North", 20 - p % 7, "" if p % 4 == 0 else 15, 10, p % 22]
        for p in range(40)
    ]
    rows.insert(20, list(rows[3]))
    return [("wide.csv", csv_text(rows, header))]


def case_age_column():
    header = HEADER + ["Age"]
    rows = [r + [17 + (int(r[0][2:]) * 7) % 80] for r in grouped_export(patients=20)]
    rows[100][-1] = "92"
    return [("clinic.csv", csv_text(rows, header))]


def case_treatments_with_dates():
    assess = _dated(patients=10)
    treat = [
        [f"P-{p:03d}", f"2024-{1 + p % 9:02d}-{d:02d}", "induction" if d < 12 else "booster", "0.5 mg/kg"]
        for p in range(10)
        for d in (1, 3, 5, 8, 10, 12, 26)
    ]
    treat[-3][1] = "2024-09-31"
    treat[-2][2] = "maint"
    return [
        ("assessments.csv", csv_text(assess, DATED)),
        ("treatments.csv", csv_text(treat, ["Patient ID", "Treatment Date", "Treatment Type", "Dose"])),
    ]


def case_treatments_with_days():
    assess = grouped_export(patients=10)
    treat = [[f"P-{p:04d}", d + (p % 3), "induction", "IV"] for p in range(12) for d in (0, 2, 4, 7, 9, 11)]
    treat[5][2] = ""
    return [
        ("assessments.csv", csv_text(assess, HEADER)),
        ("treatments.csv", csv_text(treat, ["Patient ID", "Day", "Kind", "Route"])),
    ]


def case_two_files():
    a = grouped_export(patients=10)
    b = grouped_export(patients=14)[100:]
    b[3][5] = "Northside"
    return [("january.csv", csv_text(a, HEADER)), ("february.csv", csv_text(b, HEADER))]


def case_date_and_day():
    rows = _dated()
    header = DATED + ["Day"]
    rows = [r + [3 * (i % 6)] for i, r in enumerate(rows)]
    rows[40][-1] = 99
    return [("clinic.csv", csv_text(rows, header))]


def case_repeated_header_far_down():
    rows = grouped_export(patients=10)
    rows.insert(120, list(HEADER))
    return [("clinic.csv", csv_text(rows, HEADER))]


HAND_CASES = {name[5:]: func for name, func in globals().items() if name.startswith("case_")}


@pytest.mark.parametrize("name", sorted(HAND_CASES))
def test_each_hostile_export_reads_the_same_through_the_fast_and_the_slow_paths(name):
    differential(HAND_CASES[name]())


@pytest.mark.parametrize("name", sorted(HAND_CASES))
def test_each_hostile_export_reads_the_same_through_pyarrow_and_the_careful_reader(name):
    assert_same(load(HAND_CASES[name](), python_reader), load(HAND_CASES[name](), _as_it_is))


@pytest.mark.parametrize(
    "name",
    [
        "iso_then_us_date_far_down",
        "treatments_with_dates",
        "two_files",
        "date_and_day",
        "runs_broken_everywhere",
        "wide_file",
    ],
)
def test_strict_dates_read_the_same_through_the_fast_and_the_slow_paths(name):
    loaded = differential(HAND_CASES[name](), strict_dates=True)
    assert loaded.assessments[S.START_MONTH].dropna().str.fullmatch(r"\d{4}").all()


def test_a_column_mapping_chosen_by_the_user_reads_the_same_through_the_fast_and_the_slow_paths():
    rows = [r + ["seen"] for r in _dated()]
    for r in rows[40:]:
        r[3] = "{2}/{1}/{0}".format(*r[3].split("-"))  # day/month/year below the first rows; 03/01 is ambiguous alone
    files = [("clinic.csv", csv_text(rows, DATED + ["Notes"]))]
    loaded = differential(
        files, overrides={"Date Administered": "date_dmy", "Diagnosis": "ignore", "Total Score": "score"}
    )
    assert loaded.ok and codes(loaded) == {"DAY0_FIRST_ASSESSMENT"}
    assert set(loaded.mapping["how"]) == {"override", "ignored", "synonym", "unused"}


@contextmanager
def _as_it_is():
    yield


def test_a_year_below_100_in_an_iso_date_is_read_as_the_text_path_reads_it():
    # (a year below 100 is not a date to parse_dates) the same row, read as a date (every date
    # ISO) and as text (one US date elsewhere in the column), must give the same day
    head = "Patient ID,Measure,Total Score,Date\nA,PHQ-9,10,2024-01-01\nA,PHQ-9,5,0024-01-15\n"
    as_dates = ingest.load_files([("a.csv", head.encode())])
    as_text = ingest.load_files([("a.csv", (head + "B,PHQ-9,7,1/20/2024\n").encode())])
    mine = as_text.assessments[as_text.assessments[S.PATIENT_ID] == "A"].reset_index(drop=True)
    pd.testing.assert_frame_equal(as_dates.assessments, mine)


def test_a_line_of_delimiters_only_is_read_alike_with_or_without_a_quoted_line_break_elsewhere():
    # (',,,' is how a spreadsheet saves an empty formatted row: a blank line to both readers)
    text = "Patient ID,Measure,Total Score,Day\nA,PHQ-9,10,0\n,,,\nA,PHQ-9,5,14\n"
    quoted = 'B,PHQ-9,"7\n",0\n'
    plain, careful = (
        ingest.load_files([("a.csv", text.encode())]),
        ingest.load_files([("a.csv", (text + quoted).encode())]),
    )
    assert careful.rows_read - 1 == plain.rows_read
    pd.testing.assert_frame_equal(plain.issues, careful.issues)


def test_a_lone_carriage_return_and_a_blank_line_do_not_shift_the_reported_rows():
    # a lone CR ends a line (and a blank line is skipped): 'x' is on spreadsheet row 5
    text = "Patient ID,Measure,Total Score,Day\r\nA,PHQ-9,10,0\rA,PHQ-9,5,14\r\n\r\nB,PHQ-9,x,0\r\n"
    loaded = ingest.load_files([("a.csv", text.encode())])
    assert loaded.issues[["code", "rows"]].to_dict("records") == [{"code": "NON_NUMERIC_SCORE", "rows": [5]}]


def test_an_iso_date_of_year_zero_is_reported_not_raised():
    text = "Patient ID,Measure,Total Score,Date\nA,PHQ-9,10,0000-01-01\nA,PHQ-9,5,2024-01-15\n"
    loaded = ingest.load_files([("a.csv", text.encode())])
    assert "BAD_DATE" in codes(loaded) and len(loaded.assessments) == 1


# --- hostile exports, generated ----------------------------------------------------------------------------
SPELLINGS = ["PHQ-9", "PHQ9", "phq 9", "GAD-7", "GAD7", "PCL-5", "MADRS", "Beck Inventory", ""]
SITES = ["Main St Clinic", "Northside", "Clínica Peña", "", "n/a", "  Main St  Clinic "]
SEXES = ["F", "M", "female", "", "unknown", "X", "?"]
CONDITIONS = ["MDD", "PTSD", "F33.1", "Generalized anxiety", "", "long covid"]


@st.composite
def exports(draw):
    """A hostile export: patients in runs (sometimes split or shuffled), instruments interleaved in a day,
    exact repeats a few rows later, blanks and new values late, dates or days, and a layout
    (delimiter, line endings, quoting, blank lines) aimed at the fast paths' edges."""
    dated = draw(st.booleans())
    rng_rows = []
    n_patients = draw(st.integers(1, 8))
    for p in range(n_patients):
        site, sex, cond = (
            draw(st.sampled_from(SITES[:3])),
            draw(st.sampled_from(SEXES[:2])),
            draw(st.sampled_from(CONDITIONS[:3])),
        )
        key = draw(st.sampled_from([f"P-{p:03d}", f"K{p}", f"{p:05d}", f"Pé{p}"]))
        for v in range(draw(st.integers(1, 6))):
            day = draw(st.integers(-40, 400)) if v == 0 else 3 * v + draw(st.integers(0, 2))
            for _ in range(draw(st.integers(1, 4))):  # instruments of the day, in any order
                rng_rows.append(
                    [key, draw(st.sampled_from(SPELLINGS[:6])), draw(st.integers(0, 21)), day, cond, site, sex]
                )
    rows = rng_rows
    # damage: each a list of (position fraction, what)
    for what in draw(
        st.lists(
            st.sampled_from(
                ["repeat", "site", "sex", "condition", "instrument", "key", "score", "day", "split", "swap"]
            ),
            max_size=8,
        )
    ):
        i = draw(st.integers(0, len(rows) - 1))
        if what == "repeat":
            rows.insert(min(len(rows), i + draw(st.integers(1, 20))), list(rows[i]))
        elif what == "site":
            rows[i][5] = draw(st.sampled_from(SITES))
        elif what == "sex":
            rows[i][6] = draw(st.sampled_from(SEXES))
        elif what == "condition":
            rows[i][4] = draw(st.sampled_from(CONDITIONS))
        elif what == "instrument":
            rows[i][1] = draw(st.sampled_from(SPELLINGS))
        elif what == "key":
            rows[i][0] = draw(st.sampled_from(["", "n/a", rows[i][0] + " ", " " + rows[i][0], rows[0][0]]))
        elif what == "score":
            rows[i][2] = draw(st.sampled_from(["", "x", "99", "-1", "12,5", "7.5", "1e1"]))
        elif what == "day":
            rows[i][3] = draw(st.sampled_from(["", "7.5", "2000", "-500", "abc"]))
        elif what == "split":  # a patient's rows in two places
            j = draw(st.integers(0, len(rows) - 1))
            rows.insert(j, rows.pop(i))
        elif what == "swap":
            j = draw(st.integers(0, len(rows) - 1))
            rows[i], rows[j] = rows[j], rows[i]
    header = list(HEADER)
    if dated:
        header[3] = "Date Administered"
        fmt = draw(st.sampled_from(["iso", "iso", "iso_late_us", "iso_late_bad", "us"]))
        late = len(rows) - 1 - draw(st.integers(0, min(3, len(rows) - 1)))
        for i, r in enumerate(rows):
            if not isinstance(r[3], int):
                continue
            d = pd.Timestamp("2024-03-01") + pd.Timedelta(days=r[3])
            if fmt == "us" or (fmt == "iso_late_us" and i == late):
                r[3] = f"{d.month}/{d.day}/{d.year}"
            elif fmt == "iso_late_bad" and i == late:
                r[3] = draw(st.sampled_from(["2024-02-30", "soon", "2024-13-01", "", " 2024-05-06 "]))
            else:
                r[3] = d.strftime("%Y-%m-%d")
    delimiter = draw(st.sampled_from([",", ",", ";", "\t"]))
    if delimiter == ";":
        for r in rows:
            r[2] = str(r[2]).replace(".", ",")
    newline = draw(st.sampled_from(["\n", "\n", "\r\n"]))
    quoting = draw(st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_MINIMAL, csv.QUOTE_ALL]))
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter, lineterminator=newline, quoting=quoting)
    w.writerow(header)
    w.writerows(rows)
    lines = buf.getvalue().splitlines(keepends=True)
    for _ in range(draw(st.integers(0, 2)) if draw(st.booleans()) else 0):  # blank lines in the middle
        lines.insert(draw(st.integers(1, len(lines))), newline)
    if draw(st.integers(0, 5)) == 0:  # a quoted line break far down
        lines.append(
            f'P-999{delimiter}PHQ-9{delimiter}"5\n"{delimiter}{"2024-03-01" if dated else 0}{delimiter}MDD'
            f'{delimiter}"Main{newline}St"{delimiter}F{newline}'
        )
    text = "".join(lines)
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "cp1252", "utf-8-sig"]))
    data = text.encode(encoding, errors="replace")
    treatments = None
    if draw(st.integers(0, 3)) == 0:
        keys = sorted({r[0] for r in rows if r[0]})
        t_rows = [
            [k, 2 * j, draw(st.sampled_from(["induction", "booster", "Infusion series", "x"]))]
            for k in keys[: draw(st.integers(0, len(keys)))]
            for j in range(draw(st.integers(1, 3)))
        ]
        if t_rows:
            treatments = ("treatments.csv", csv_text(t_rows, ["Patient ID", "Day", "Kind"]).encode())
    files = [("clinic.csv", data)] + ([treatments] if treatments else [])
    if draw(st.integers(0, 5)) == 0:  # a second assessments file with some of the same patients
        files.append(("more.csv", csv_text(rows[len(rows) // 2 :], header).encode()))
    return files, draw(st.sampled_from([64, 128, 256, 1000])), draw(st.sampled_from([1, 8, 40]))


GENERATED = settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@GENERATED
@given(exports())
def test_generated_hostile_exports_read_the_same_through_the_fast_and_the_slow_paths(case):
    files, block_size, rows = case
    slow = load(files, slow_paths)
    with_blocks = lambda: fast_paths(block_size=block_size, rows=rows)  # noqa: E731
    assert_same(slow, load(files, with_blocks))


@settings(GENERATED, max_examples=60)
@given(exports())
def test_generated_hostile_exports_read_the_same_through_pyarrow_and_the_careful_reader(case):
    files, _, _ = case
    assert_same(load(files, python_reader), load(files, _as_it_is))
