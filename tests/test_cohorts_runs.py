"""The fast paths inside analysis.cohorts, each checked against the plain pandas computation it replaces.

- the patients and their attributes read from runs of consecutive rows equal
  ``groupby(patient_id, sort=False).first()`` (first non-missing value per column, patients in order of first
  appearance), with missing ids, missing values and patients whose rows are split (then grouping is used);
- a selection's tables are exactly the boolean selections of the rows of the chosen patients;
- the rows of a table are taken column by column exactly as ``table[keep]`` would, for every column type;
- comparing cohorts gives the funnel of analysis.outcomes for each cohort.
"""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis import cohorts
from analysis.arrays import isin
from analysis.outcomes import Definitions, funnel_from_outcomes, patient_outcomes
from analysis.schema import CONDITION, PATIENT_ID, SITE

COLUMNS = ["condition", "site", "age_band", "sex", "route", "start_month"]


def _table(rows, text="str"):
    """Assessments from (patient, condition or None, site or None) tuples, text as pyarrow-backed str."""
    d = pd.DataFrame(rows, columns=["patient_id", "condition", "site"])
    d["instrument"], d["score"], d["day"] = "PHQ9", 10.0, np.arange(len(d))
    return d.astype({"patient_id": text, "condition": text, "site": text})


def _reference_people(table, cols):
    return table.groupby(PATIENT_ID, sort=False)[cols].first().reset_index()


def test_runs_give_each_patients_first_value_and_each_rows_patient():
    t = _table(
        [
            ("b", None, "North"),
            ("b", "ptsd", "South"),
            ("a", "depression", None),
            (None, "ocd", "West"),
            ("c", None, None),
            ("c", None, "East"),
        ]
    )
    people, run = cohorts._people(t, ["condition", "site"])
    assert people[PATIENT_ID].tolist() == ["b", "a", "c"]
    assert people["condition"].tolist()[:2] == ["ptsd", "depression"] and pd.isna(people["condition"].iloc[2])
    assert people["site"].iloc[0] == "North" and pd.isna(people["site"].iloc[1]) and people["site"].iloc[2] == "East"
    assert run.tolist() == [0, 0, 1, -1, 2, 2]
    pd.testing.assert_frame_equal(people, _reference_people(t, ["condition", "site"]), check_exact=True)


def test_a_patient_whose_rows_are_split_is_grouped_not_read_from_runs():
    t = _table([("a", "ptsd", "North"), ("b", "ocd", "South"), ("a", "depression", "West")])
    people, run = cohorts._people(t, ["condition"])
    assert run is None
    assert people["condition"].tolist() == ["ptsd", "ocd"]


def test_text_that_is_not_pyarrow_backed_is_grouped():
    t = _table([("a", "ptsd", "North"), ("b", "ocd", "South")]).astype({"condition": object})
    assert cohorts._people(t, ["condition"])[1] is None
    assert cohorts._people(t, ["site"])[1] is not None


patients = st.lists(
    st.tuples(
        st.sampled_from(["P1", "P2", "P3", "P10", "é4", None]),
        st.sampled_from(["depression", "ptsd", "anxiety", None]),
        st.sampled_from(["North", "South", None]),
    ),
    min_size=1,
    max_size=30,
)


@settings(max_examples=60, deadline=None)
@given(patients, st.booleans())
def test_the_patients_equal_pandas_grouping_whatever_the_rows(rows, in_runs):
    if in_runs:  # exports give each patient's rows together
        rows = sorted(rows, key=lambda r: (r[0] is None, r[0] or ""))
    t = _table(rows)
    if t[PATIENT_ID].isna().all():
        return
    for cols in (["condition", "site"], ["site"], []):
        people, run = cohorts._people(t, cols)
        pd.testing.assert_frame_equal(people, _reference_people(t, cols), check_exact=True)
        if run is not None:  # each row's patient
            ids = people[PATIENT_ID].to_numpy(dtype=object)
            expected = [None if pd.isna(p) else p for p in t[PATIENT_ID]]
            assert [ids[r] if r >= 0 else None for r in run] == expected


@settings(max_examples=40, deadline=None)
@given(patients, st.sets(st.sampled_from(["depression", "ptsd", "anxiety"])), st.booleans())
def test_a_selection_is_the_boolean_selection_of_its_patients_rows(rows, conditions, in_runs):
    if in_runs:
        rows = sorted(rows, key=lambda r: (r[0] is None, r[0] or ""))
    t = _table(rows)
    if t[PATIENT_ID].isna().all():
        return
    s = cohorts.select(t, conditions=sorted(conditions))
    people = _reference_people(t, ["condition"])
    chosen = people.loc[people["condition"].isin(sorted(conditions)).fillna(False).astype(bool), PATIENT_ID]
    expected = t[isin(t[PATIENT_ID], chosen)]
    pd.testing.assert_frame_equal(s.assessments, expected, check_exact=True, check_index_type=True)
    assert type(s.assessments.index) is type(expected.index)
    assert s.patient_ids == tuple(chosen)


@pytest.mark.parametrize("keep", [[True, False, True, True], [False] * 4, [True] * 4, [False, True, True, False]])
def test_rows_are_taken_exactly_as_boolean_indexing_for_every_column_type(keep):
    t = pd.DataFrame(
        {
            "text": pd.array(["a", None, "c", "d"], dtype="str"),
            "python_text": pd.array(["a", None, "c", "d"], dtype="string[python]"),
            "object": pd.Series(["a", None, 3, "d"], dtype=object),
            "category": pd.Categorical(["x", "y", None, "x"]),
            "whole": pd.array([1, None, 3, 4], dtype="Int64"),
            "float": [0.5, np.nan, 2.0, -1.0],
            "flag": [True, False, True, False],
        },
        index=[10, 11, 12, 13],
    )
    t.attrs["source"] = "test"
    keep = np.array(keep)
    out = cohorts._rows(t, keep)
    pd.testing.assert_frame_equal(out, t[keep], check_exact=True, check_index_type=True, check_column_type=True)
    assert out.attrs == {"source": "test"} and out is not t
    if len(out):  # a new table: changing it leaves the input as it was
        out.iloc[0, 5] = 99.0
    assert t["float"].iloc[0] == 0.5


def test_rows_of_a_table_with_repeated_column_names_are_taken_by_pandas():
    t = pd.DataFrame([[1, 2], [3, 4]], columns=["a", "a"])
    pd.testing.assert_frame_equal(cohorts._rows(t, np.array([False, True])), t[np.array([False, True])])


def test_comparing_cohorts_gives_each_cohorts_funnel_of_the_outcomes():
    rng = np.random.default_rng(2)
    rows = []
    for p in range(80):
        base = int(rng.integers(5, 27))
        for day, score in ((-1, base), (0, base), (21, int(rng.integers(0, base + 1))), (60, int(rng.integers(0, 27)))):
            rows.append(
                (f"P{p:02d}", "PHQ9", float(score), day, ["depression", "ptsd"][p % 2], ["North", "South"][p % 3 == 0])
            )
    a = pd.DataFrame(rows, columns=["patient_id", "instrument", "score", "day", CONDITION, SITE]).astype(
        {"patient_id": "str", "instrument": "str", CONDITION: "str", SITE: "str"}
    )
    d = Definitions()
    sa, sb = cohorts.select(a, conditions=["depression"]), cohorts.select(a, sites=["South"])
    cmp = cohorts.compare(sa, sb, "PHQ9", d)
    for label, s in (("A", sa), ("B", sb)):
        f = funnel_from_outcomes(patient_outcomes(s.assessments, "PHQ9", d)).iloc[0]
        mine = cmp.rates.set_index("cohort").loc[label]
        for c in (
            "patients",
            "with_baseline",
            "with_response_assessment",
            "evaluable",
            "responders",
            "remitters",
            "with_follow_up",
        ):
            assert mine[c] == f[c], c
    assert any("share" in n for n in cmp.notes)  # P00 is depression and South: in both
