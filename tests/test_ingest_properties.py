"""Properties of the import: it never raises on any bytes, and it never drops a valid row."""

import csv
import io

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis import schema as S
from analysis.ingest import Loaded, columnar, load_files
from analysis.instruments import registry

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def check_shape(loaded: Loaded) -> None:
    assert tuple(loaded.assessments.columns) == S.ASSESSMENT_COLUMNS
    assert tuple(loaded.issues.columns) == S.ISSUE_COLUMNS
    assert loaded.ok == (len(loaded.assessments) > 0 and not (loaded.issues["severity"] == "error").any())
    if not loaded.ok:
        assert loaded.assessments.empty and loaded.treatments is None
    loaded.to_text()
    loaded.to_json()


@SETTINGS
@given(st.binary(max_size=2000))
def test_import_never_raises_on_arbitrary_bytes(data):
    check_shape(load_files([("upload.csv", data)]))


@SETTINGS
@given(
    st.lists(st.lists(st.text(max_size=12), min_size=1, max_size=6), min_size=1, max_size=8),
    st.sampled_from([",", ";", "\t"]),
    st.sampled_from(["utf-8", "utf-16", "cp1252", "utf-8-sig"]),
)
def test_import_never_raises_on_arbitrary_text_tables(rows, delimiter, encoding):
    header = ["Patient ID", "Measure", "Total Score", "Day"][: len(rows[0])]
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter).writerows([header] + rows)
    data = buf.getvalue().encode(encoding, errors="replace")
    check_shape(load_files([("upload.csv", data)]))


SPELLINGS = {code: [code, *ins.synonyms] for code, ins in registry().items()}


@st.composite
def valid_rows(draw):
    """Distinct valid rows: a plausible key, a known instrument spelling, an in-range score, a plausible day."""
    n = draw(st.integers(1, 25))
    rows = []
    for _ in range(n):
        code = draw(st.sampled_from(sorted(SPELLINGS)))
        ins = registry()[code]
        rows.append(
            {
                "patient": "P" + draw(st.from_regex(r"[A-Z0-9]{1,6}", fullmatch=True)),
                "spelling": draw(st.sampled_from(SPELLINGS[code])),
                "code": code,
                "score": draw(st.integers(int(2 * ins.min), int(2 * ins.max))) / 2,  # half points test decimal commas
                "day": draw(st.integers(-365, 1095)),
            }
        )
    table = pd.DataFrame(rows).drop_duplicates(["patient", "code", "score", "day"])
    return table


@SETTINGS
@given(
    valid_rows(),
    st.sampled_from([",", ";", "\t", "|"]),
    st.sampled_from(["utf-8", "utf-16", "cp1252", "utf-8-sig"]),
    st.sampled_from(["\n", "\r\n"]),
    st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]),
    st.booleans(),
)
def test_import_never_drops_a_valid_row(table, delimiter, encoding, eol, quoting, trailing_blank):
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter, lineterminator=eol, quoting=quoting)
    w.writerow(["Patient ID", "Measure", "Total Score", "Day"])
    for r in table.itertuples():
        score = f"{r.score:g}".replace(".", ",") if delimiter == ";" else f"{r.score:g}"
        w.writerow([r.patient, r.spelling, score, r.day])
    data = (buf.getvalue() + (eol * 2 if trailing_blank else "")).encode(encoding)
    loaded = load_files([("upload.csv", data)])
    assert loaded.ok, loaded.to_text()
    got = loaded.assessments[[S.PATIENT_ID, S.INSTRUMENT, S.SCORE, S.DAY]].astype(object)
    want = table[["patient", "code", "score", "day"]].set_axis([S.PATIENT_ID, S.INSTRUMENT, S.SCORE, S.DAY], axis=1)
    assert sorted(map(tuple, got.to_numpy().tolist())) == sorted(map(tuple, want.astype(object).to_numpy().tolist()))
    assert loaded.rows_read == len(table)
    assert not (loaded.issues["severity"] == "warning").any(), loaded.to_text()


@st.composite
def export_rows(draw):
    """Rows of an export with dates, patient attributes (sometimes conflicting) and repeated rows."""
    n = draw(st.integers(1, 40))
    rows = []
    for _ in range(n):
        p = draw(st.integers(0, 5))
        rows.append(
            {
                "Patient ID": f"K-{p}",
                "Measure": draw(st.sampled_from(["PHQ-9", "GAD-7"])),
                "Total Score": draw(st.integers(0, 21)),
                "Date Administered": f"2024-{draw(st.integers(1, 3)):02d}-{draw(st.integers(1, 28)):02d}",
                "Clinic Location": draw(st.sampled_from(["North", "South"]))
                if draw(st.integers(0, 9)) == 0
                else f"Site {p % 2}",
                "Sex": "F" if p % 2 else "M",
            }
        )
    rows += [rows[i] for i in draw(st.lists(st.integers(0, n - 1), max_size=3))]  # exact repeats
    return pd.DataFrame(rows)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(export_rows(), st.randoms(use_true_random=False))
def test_the_rows_kept_do_not_depend_on_the_order_of_the_rows_in_the_file(table, rnd):
    # an export grouped by patient takes the short cuts (rows compared with the row before, day 0 group by
    # group); a shuffled one the general paths: both must keep the same rows with the same values (but the
    # site, whose conflicts are resolved by the first value seen on a tie)
    grouped = table.sort_values(["Patient ID", "Measure", "Date Administered"], kind="stable")
    order = list(range(len(table)))
    rnd.shuffle(order)
    results = []
    for t in (grouped, table.iloc[order]):
        loaded = load_files([("upload.csv", t.to_csv(index=False).encode())])
        check_shape(loaded)
        a = loaded.assessments.drop(columns=S.SITE).astype(object)
        a = a.where(a.notna(), None)
        codes = sorted(loaded.issues["code"])
        results.append((sorted(map(tuple, a.to_numpy().tolist()), key=repr), codes))
    assert results[0][0] == results[1][0]
    assert results[0][1] == results[1][1]


@st.composite
def chunked_runs(draw):
    """A chunked text column of runs of equal values (nulls and blanks too), cut at random places."""
    runs = draw(
        st.lists(
            st.tuples(st.sampled_from(["K-1", "K-2", "Main St", "", None]), st.integers(1, 40)), min_size=1, max_size=25
        )
    )
    values = [v for v, n in runs for _ in range(n)]
    cuts = sorted(set(draw(st.lists(st.integers(0, len(values)), max_size=5))) | {0, len(values)})
    return pa.chunked_array([pa.array(values[a:b], pa.string()) for a, b in zip(cuts[:-1], cuts[1:])], pa.string())


@settings(max_examples=200, deadline=None)
@given(chunked_runs())
def test_encoding_the_first_value_of_each_run_gives_the_codes_of_encoding_every_value(col):
    values = col.to_pylist()
    starts = columnar._run_starts(col)
    if starts is not None:  # runs: each starts where the value changes (a null starts its own), and only there
        assert starts.tolist() == [
            i for i in range(len(values)) if i == 0 or values[i] is None or values[i] != values[i - 1]
        ]
    every = pc.dictionary_encode(col.combine_chunks())
    expected_codes = every.indices.fill_null(-1).to_numpy(zero_copy_only=False).tolist()
    before = columnar.RUN_ROWS
    columnar.RUN_ROWS = 0  # (every column counts as long)
    try:
        codes, distinct = columnar.dictionary(col)
    finally:
        columnar.RUN_ROWS = before
    assert codes.tolist() == expected_codes
    assert distinct.to_pylist() == every.dictionary.to_pylist()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.one_of(
            st.dates(min_value=pd.Timestamp("2020-01-01").date(), max_value=pd.Timestamp("2027-12-31").date()).map(
                lambda d: d.isoformat()
            ),
            st.sampled_from(["", " 2024-03-05 ", "2024-02-30", "2024-3-5", "05/03/2024", "n/a"]),
        ),
        min_size=1,
        max_size=30,
    ),
    st.booleans(),
)
def test_dates_read_by_pyarrow_as_dates_give_exactly_what_reading_them_as_text_gives(dates, with_treatments):
    # an ISO-looking date column is parsed as dates (read as text again when a value is not an ISO date);
    # days, start months, kept rows and every issue must be those of the text path
    from unittest import mock

    rows = "".join(f"K-{i % 4},PHQ-9,{i % 27},{d}\n" for i, d in enumerate(dates))
    files = [("a.csv", ("Patient ID,Measure,Total Score,Date Administered\n" + rows).encode())]
    if with_treatments:
        files.append(
            (
                "t.csv",
                "".join(["patient_id,date,kind\n"] + [f"K-{p},2024-01-1{p},induction\n" for p in range(3)]).encode(),
            )
        )
    as_dates = load_files(files)
    with mock.patch.object(columnar, "ISO_SAMPLE_BYTES", 0):
        as_text = load_files(files)
    check_shape(as_dates)
    pd.testing.assert_frame_equal(as_dates.assessments, as_text.assessments, check_exact=True)
    pd.testing.assert_frame_equal(as_dates.issues, as_text.issues, check_exact=True)
    assert (as_dates.treatments is None) == (as_text.treatments is None)
    if as_dates.treatments is not None:
        pd.testing.assert_frame_equal(as_dates.treatments, as_text.treatments, check_exact=True)
