"""analysis.validate: the issues table, the PHI guard and the row checks."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import schema as S
from analysis import validate as V


def frame(**cols):
    """An internal long frame: _file 0, spreadsheet rows from 2, text columns as categoricals."""
    n = len(next(iter(cols.values())))
    data = {V.FILE: np.zeros(n, dtype=np.int16), V.ROW: np.arange(2, n + 2)}
    for k, v in cols.items():
        data[k] = np.asarray(v, dtype=float) if k in (S.SCORE, S.DAY) else pd.Categorical(v)
    return pd.DataFrame(data)


def log():
    lg = V.IssueLog()
    lg.files.append("clinic.csv")
    lg.sources[(0, S.SCORE)] = "Total Score"
    return lg


# --- the issues table ---------------------------------------------------------------------------
def test_the_issues_table_has_the_schema_columns_and_errors_come_first():
    lg = log()
    lg.add("info", "A", "a")
    lg.add("error", "B", "b", column="x", rows=[3])
    t = lg.table()
    assert tuple(t.columns) == S.ISSUE_COLUMNS
    assert t["code"].tolist() == ["B", "A"] and t["rows"].iloc[0] == [3]


def test_an_empty_log_gives_an_empty_table_with_the_columns():
    assert tuple(V.IssueLog().table().columns) == S.ISSUE_COLUMNS


def test_an_unknown_severity_fails_fast():
    with pytest.raises(ValueError, match="use one of"):
        log().add("fatal", "X", "x")


def test_rows_text_shortens_long_lists():
    assert V.rows_text([5]) == "row 5"
    assert V.rows_text(range(2, 22)) == "rows 2, 3, 4, 5, 6, 7, 8, 9, ... (20 rows)"


# --- PHI: column names ----------------------------------------------------------------------------
# --- row checks ---------------------------------------------------------------------------------------
def test_missing_ids_are_dropped_with_their_rows():
    lg = log()
    f = frame(patient_id=["A", None, "B"], score=[1, 2, 3])
    out = V.drop_missing_ids(f, lg)
    assert out[S.PATIENT_ID].tolist() == ["A", "B"]
    assert lg.table()["rows"].iloc[0] == [3]
    assert len(f) == 3  # input untouched


def test_scores_outside_the_instrument_range_are_dropped_per_instrument():
    lg = log()
    f = frame(patient_id=["A"] * 5, instrument=["PHQ9", "PHQ9", "GAD7", "GAD7", "PAIN_NRS"], score=[27, 28, 21, -1, 10])
    out = V.drop_out_of_range(f, lg)
    assert out[S.SCORE].tolist() == [27, 21, 10]
    t = lg.table()
    assert t["rows"].tolist() == [[3], [5]] and t["column"].tolist() == ["Total Score", "Total Score"]
    assert "outside its range 0-27" in t["message"].iloc[0]


def test_bad_scores_are_dropped_and_their_rows_named_never_their_values():
    lg = log()
    f = frame(patient_id=["A", "A", "A"], score=[np.nan, np.nan, 3])
    out = V.drop_bad_scores(f, np.array([1, 2, 0]), ["refused"], lg)
    assert out[S.SCORE].tolist() == [3]
    t = lg.table().set_index("code")
    assert t.loc["MISSING_SCORE", "rows"] == [2] and t.loc["NON_NUMERIC_SCORE", "rows"] == [3]
    assert "refused" not in t.loc["NON_NUMERIC_SCORE", "message"] and "(row 3)" in t.loc["NON_NUMERIC_SCORE", "message"]


def test_implausible_days_are_dropped_at_the_configured_limits():
    lg = log()
    out = V.drop_implausible_days(frame(day=[-365, -366, 1095, 1096, 0]), lg)
    assert out[S.DAY].tolist() == [-365, 1095, 0]
    assert lg.table()["rows"].iloc[0] == [3, 5]


def test_exact_duplicates_are_kept_once_and_near_duplicates_kept():
    lg = log()
    f = frame(patient_id=["A", "A", "A", "A"], instrument=["PHQ9"] * 4, score=[5, 5, 6, 5], day=[0, 0, 0, 0])
    out = V.drop_duplicates(f, [S.PATIENT_ID, S.INSTRUMENT, S.SCORE, S.DAY], lg)
    assert out[S.SCORE].tolist() == [5, 6]
    assert lg.table()["rows"].iloc[0] == [3, 5]


def test_conflicting_attributes_keep_the_most_frequent_value_and_name_the_rows_not_the_patient():
    lg = log()
    f = frame(patient_id=["A", "A", "A", "B"], site=["North", "South", "South", "North"])
    out = V.resolve_conflicts(f, [S.SITE], lg)
    assert out[S.SITE].tolist() == ["South", "South", "South", "North"]
    issue = lg.table().iloc[0]
    assert issue["code"] == "CONFLICTING_ATTRIBUTES" and issue["rows"] == [2, 3, 4]
    assert "rows 2, 3, 4" in issue["message"] and not {"A:", "North", "South"} & set(issue["message"].split())
    assert f[S.SITE].tolist() == ["North", "South", "South", "North"]  # input untouched


def test_a_tie_between_attribute_values_keeps_the_first_seen():
    lg = log()
    out = V.resolve_conflicts(frame(patient_id=["A", "A"], site=["South", "North"]), [S.SITE], lg)
    assert out[S.SITE].tolist() == ["South", "South"]


def test_blanks_take_the_patients_value_without_a_warning():
    lg = log()
    out = V.resolve_conflicts(frame(patient_id=["A", "A", "B"], sex=["F", None, None]), [S.SEX], lg)
    assert out[S.SEX].tolist()[:2] == ["F", "F"] and pd.isna(out[S.SEX].iloc[2])
    assert lg.table().empty


def test_constant_attributes_pass_unchanged():
    lg = log()
    f = frame(patient_id=["A", "A", "B"], site=["N", "N", "S"])
    assert V.resolve_conflicts(f, [S.SITE], lg) is f and lg.table().empty


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["A", "B", None]),
            st.sampled_from([0.0, 1.0, 2.5, np.nan]),
            st.sampled_from([-3.0, 0.0, 14.0, np.nan]),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_the_fast_duplicate_key_agrees_with_pandas(rows):
    f = frame(patient_id=[r[0] for r in rows], score=[r[1] for r in rows], day=[r[2] for r in rows])
    cols = [S.PATIENT_ID, S.SCORE, S.DAY]
    assert V.duplicated(f, cols).tolist() == f.duplicated(subset=cols).tolist()


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["A", "B", "C"]),
            st.sampled_from(["PHQ9", "GAD7"]),
            st.sampled_from([0.0, 1.0, 2.5]),
            st.sampled_from([-3.0, 0.0, 14.0, np.nan]),
        ),
        min_size=1,
        max_size=30,
    )
)
def test_the_duplicate_key_agrees_with_pandas_on_rows_sorted_as_exports_are(rows):
    rows = sorted(rows, key=lambda r: (r[0], r[1], -1e9 if np.isnan(r[3]) else r[3], r[2]))
    f = frame(
        patient_id=[r[0] for r in rows],
        instrument=[r[1] for r in rows],
        score=[r[2] for r in rows],
        day=[r[3] for r in rows],
    )
    cols = [S.PATIENT_ID, S.INSTRUMENT, S.DAY, S.SCORE]
    assert V.duplicated(f, cols).tolist() == f.duplicated(subset=cols).tolist()


def test_a_repeat_two_rows_apart_within_one_day_is_found_in_rows_grouped_by_patient_and_day():
    # rows by patient then day, instruments of a day in any order: the PHQ9 of row 5 repeats row 3, not the row before
    f = frame(
        patient_id=["A", "A", "A", "A", "A", "B"],
        instrument=["GAD7", "PHQ9", "GAD7", "PHQ9", "PHQ9", "PHQ9"],
        day=[0.0, 0.0, 7.0, 7.0, 7.0, 0.0],
        score=[5.0, 9.0, 4.0, 8.0, 8.0, 8.0],
    )
    f = f.iloc[[0, 1, 3, 2, 4, 5]].reset_index(drop=True)  # day 7: PHQ9 8, GAD7 4, PHQ9 8
    cols = [S.PATIENT_ID, S.INSTRUMENT, S.DAY, S.SCORE]
    assert V._duplicated_sorted(f, cols) is None  # (not in order on the columns: the grouped path answers)
    assert V._duplicated_in_runs(f, cols, [S.PATIENT_ID, S.DAY]).tolist() == [False, False, False, False, True, False]
    assert V.duplicated(f, cols, grouped_by=[S.PATIENT_ID, S.DAY]).tolist() == [False, False, False, False, True, False]


def test_rows_not_grouped_or_in_too_long_groups_are_left_to_the_general_path():
    f = frame(
        patient_id=["A", "B", "A"], instrument=["PHQ9", "PHQ9", "PHQ9"], day=[0.0, 0.0, 0.0], score=[1.0, 1.0, 1.0]
    )
    cols = [S.PATIENT_ID, S.INSTRUMENT, S.DAY, S.SCORE]
    assert V._duplicated_in_runs(f, cols, [S.PATIENT_ID, S.DAY]) is None  # patient A comes back after B
    n = V.MAX_RUN_COMPARED + 1
    long = frame(patient_id=["A"] * n, instrument=["PHQ9"] * n, day=[0.0] * n, score=np.arange(n, dtype=float))
    assert V._duplicated_in_runs(long, cols, [S.PATIENT_ID, S.DAY]) is None
    assert not V.duplicated(long, cols, grouped_by=[S.PATIENT_ID, S.DAY]).any()


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["A", "B", "C"]),
            st.sampled_from(["PHQ9", "GAD7", "PCL5", None]),
            st.sampled_from([0.0, 1.0, np.nan]),
            st.sampled_from([0.0, 7.0, 14.0]),
            st.sampled_from(["F", "M", None]),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_the_duplicate_check_on_rows_grouped_by_patient_and_day_agrees_with_pandas(rows):
    rows = sorted(rows, key=lambda r: (r[0], r[3]))  # by patient, then day; within a day as drawn
    f = frame(
        patient_id=[r[0] for r in rows],
        instrument=[r[1] for r in rows],
        score=[r[2] for r in rows],
        day=[r[3] for r in rows],
        sex=[r[4] for r in rows],
    )
    cols = [S.PATIENT_ID, S.INSTRUMENT, S.DAY, S.SCORE, S.SEX]
    got = V._duplicated_in_runs(f, cols, [S.PATIENT_ID, S.DAY])
    want = f.duplicated(subset=cols).tolist()
    assert got is None or got.tolist() == want  # (None: a group longer than MAX_RUN_COMPARED)
    assert V.duplicated(f, cols, grouped_by=[S.PATIENT_ID, S.DAY]).tolist() == want


def test_grouping_by_a_column_that_is_not_compared_fails_fast_naming_the_columns():
    f = frame(patient_id=["A", "A"], day=[0.0, 0.0], score=[1.0, 1.0])
    with pytest.raises(ValueError, match=r"grouped_by \['site'\] must be some of the columns compared"):
        V.duplicated(f, [S.PATIENT_ID, S.SCORE], grouped_by=[S.SITE])


def test_duplicates_in_a_long_unsorted_frame_are_found_by_hashing():
    rng = np.random.default_rng(3)
    n = 3000
    f = frame(
        patient_id=rng.choice(["A", "B", "C"], n).tolist(), score=rng.integers(0, 5, n), day=rng.integers(0, 9, n)
    )
    cols = [S.PATIENT_ID, S.SCORE, S.DAY]
    assert V.duplicated(f, cols).tolist() == f.duplicated(subset=cols).tolist()


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["A", "B"]), st.sampled_from(["North", "South", None]), st.sampled_from(["F", None])),
        min_size=1,
        max_size=12,
    )
)
def test_conflicts_are_resolved_exactly_when_a_patient_has_more_than_one_value(rows):
    f = frame(patient_id=[r[0] for r in rows], site=[r[1] for r in rows], sex=[r[2] for r in rows])
    lg = log()
    out = V.resolve_conflicts(f, [S.SITE, S.SEX], lg)
    by_patient = pd.DataFrame(rows, columns=["p", "site", "sex"]).astype(object).fillna("(blank)").groupby("p")
    constant = bool((by_patient.nunique() == 1).all().all())
    assert (out is f) == constant
    two_sites = bool(
        (
            pd.DataFrame(rows, columns=["p", "site", "sex"]).dropna(subset=["site"]).groupby("p")["site"].nunique() > 1
        ).any()
    )
    assert ("CONFLICTING_ATTRIBUTES" in set(lg.table()["code"])) == two_sites
    assert out.groupby(S.PATIENT_ID, observed=True)[S.SITE].nunique().le(1).all()


# --- fixes found by the unseen-export corpus (tests/data/unseen) ----------------------------------
def test_a_score_below_the_minimum_is_found_and_a_missing_score_is_not_out_of_range():
    lg = log()
    f = frame(patient_id=["A"] * 4, instrument=["PCL5", "PCL5", "PHQ9", "PHQ9"], score=[80, np.nan, 0, -0.5])
    out = V.drop_out_of_range(f, lg)
    assert out[V.ROW].tolist() == [2, 3, 4]
    assert lg.table()["rows"].tolist() == [[5]]


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["A", "B", "C"]), st.sampled_from(["North", "South", None])), min_size=1, max_size=12
    )
)
def test_conflicts_in_rows_grouped_by_patient_are_found_exactly_as_in_any_order(rows):
    rows = sorted(rows, key=lambda r: r[0])  # an export sorted by patient: each row compared with the one before
    f = frame(patient_id=[r[0] for r in rows], site=[r[1] for r in rows])
    out = V.resolve_conflicts(f, [S.SITE], log())
    constant = pd.DataFrame(rows, columns=["p", "site"]).fillna("(blank)").groupby("p")["site"].nunique().eq(1).all()
    assert (out is f) == bool(constant)


@pytest.mark.parametrize("bad_score,bad_at", [(28.0, 57), (-1.0, 3), (None, None)])
def test_out_of_range_scores_inside_long_runs_of_one_instrument_are_found(bad_score, bad_at):
    # runs of one instrument (as exports list them) are checked by their smallest and largest score
    instrument = ["PHQ9"] * 60 + ["PCL5"] * 60
    score = np.r_[np.arange(60) % 28, np.arange(60) + 20].astype(float)
    score[10] = np.nan  # a missing score is never out of range
    if bad_score is not None:
        score[bad_at] = bad_score
    lg = log()
    f = frame(patient_id=["A"] * 120, instrument=instrument, score=score)
    out = V.drop_out_of_range(f, lg)
    if bad_score is None:
        assert out is f and lg.table().empty
    else:
        assert len(out) == 119 and lg.table()["rows"].tolist() == [[bad_at + 2]]


# --- issue 15: values never re-read, summary rows dropped --------------------------------------------
ATTACKS = Path(__file__).parent / "data" / "attacks"


@pytest.mark.parametrize(
    "value,thousands,expected",
    [
        ("17", False, 17.0),
        (" 17 ", False, 17.0),
        ("12,5", False, 12.5),
        ("0,750", False, 0.75),
        ("-3", False, -3.0),
        ("1,050", True, 1050.0),
        ("3 1", False, None),
        ("4_2", False, None),
        ("2,000", False, None),  # a thousands separator or a decimal comma: not guessed
        ("1\u00a0200", False, None),
        ("1 2", True, None),
        ("\uff11\uff12", False, None),  # full-width digits
        ("\u0661\u0662", False, None),  # Arabic-Indic digits
        ("1.2.3", False, None),
        ("12-", False, None),
        ("nan", False, None),
        ("1,2,3", True, None),
    ],
)
def test_a_value_is_one_clean_number_or_not_a_number(value, thousands, expected):
    from analysis.ingest.values import number

    x, reason = number(value, thousands=thousands)
    assert (reason, x) == (0, expected) if expected is not None else (reason == 2 and np.isnan(x))


def test_scores_and_days_that_are_not_one_clean_number_are_flagged_and_left_out():
    from analysis.ingest import load_files

    loaded = load_files(str(ATTACKS / "values" / "joined_numbers.csv"))
    a = loaded.assessments
    assert loaded.ok and sorted(a[S.SCORE]) == [13.0, 17.0, 18.0] and set(a[S.DAY]) == {0}
    issues = loaded.issues.set_index("code")
    assert issues.loc["NON_NUMERIC_SCORE", "rows"] == [3, 4, 6]
    assert issues.loc["BAD_DAY", "rows"] == [7, 9]
    for value in ("1 9", "2_2", "1,500", "2 8", "1_4"):
        assert value not in loaded.to_text()


def test_summary_rows_of_a_report_are_dropped_with_an_info_and_never_become_patients():
    from analysis.ingest import load_files

    loaded = load_files(str(ATTACKS / "values" / "summary_rows.csv"))
    assert loaded.ok and set(loaded.assessments[S.PATIENT_ID]) == {"V-11", "V-12"}
    issue = loaded.issues.set_index("code").loc["SUMMARY_ROWS"]
    assert issue["severity"] == "info" and issue["rows"] == [6, 7, 8, 9] and "rows 6, 7, 8, 9" in issue["message"]
    assert set(loaded.issues["code"]) == {"SUMMARY_ROWS"}


@pytest.mark.parametrize(
    "label,summary",
    [
        ("TOTALS", True),
        ("Sub-total:", True),
        ("Average of 3 patients", True),
        ("avg", True),
        ("Std Dev", True),
        ("Count:", True),
        ("n=14", True),
        ("Gesamt", True),
        ("Total Wellness Clinic", False),
        ("Max Health Center", False),
        ("P-0012", False),
        ("Mean Street", False),
    ],
)
def test_summary_labels_are_told_from_sites_and_keys(label, summary):
    from analysis.ingest.frames import SUMMARY_LABEL

    assert bool(SUMMARY_LABEL.match(label.casefold())) is summary


@pytest.mark.parametrize("name", ["joined_numbers.csv", "summary_rows.csv"])
def test_the_command_line_reads_the_values_attacks_without_a_traceback_or_a_value(name):
    done = subprocess.run(
        [sys.executable, "-m", "analysis", "validate", str(ATTACKS / "values" / name), "--json"],
        capture_output=True,
        text=True,
        cwd=Path(__file__).parent.parent,
        timeout=120,
    )
    assert done.returncode == 0 and "Traceback" not in done.stderr
    out = json.loads(done.stdout)
    assert out["ok"] and out["patients"] in (2, 3)
    assert not any(v in m["message"] for m in out["issues"] for v in ("1 9", "2_2", "1,500", "Grand Total", "Mean"))
