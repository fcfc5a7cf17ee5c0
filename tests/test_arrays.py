"""The array helpers (analysis/arrays.py): hand-worked small cases (empty input, one run, several runs, -1 as
"none"), and each helper against the plain pandas or numpy computation it stands for (hypothesis)."""

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis import arrays as A

SETTINGS = settings(max_examples=60, deadline=None)
small_ints = st.lists(st.integers(-1, 3), max_size=12)


# --- runs of equal values ---------------------------------------------------------------------------


def test_run_starts_of_nothing_is_empty():
    assert A.run_starts(np.array([], dtype=int)).tolist() == []


def test_one_run_starts_only_at_the_first_position():
    assert A.run_starts(np.array([7, 7, 7])).tolist() == [True, False, False]
    assert A.run_starts(np.array([4])).tolist() == [True]


def test_several_runs_start_where_the_value_changes_even_to_an_earlier_value():
    assert A.run_starts(np.array([1, 1, 2, 1, 1, 3])).tolist() == [True, False, True, True, False, True]


def test_a_change_in_any_key_starts_a_run():
    patients, days = np.array([0, 0, 0, 1, 1]), np.array([3.0, 3.0, 5.0, 5.0, 5.0])
    assert A.run_starts(patients, days).tolist() == [True, False, True, True, False]


def test_minus_one_is_a_value_like_any_other_for_run_starts():
    assert A.run_starts(np.array([-1, -1, 0, -1])).tolist() == [True, False, True, True]


def test_run_numbers_count_the_runs_from_zero():
    numbers, n = A.run_numbers(np.array([True, False, True, True, False]))
    assert numbers.tolist() == [0, 0, 1, 2, 2] and n == 3


def test_run_numbers_of_nothing_are_no_runs():
    numbers, n = A.run_numbers(np.array([], dtype=bool))
    assert numbers.tolist() == [] and n == 0


def test_run_numbers_of_one_run_are_all_zero():
    numbers, n = A.run_numbers(A.run_starts(np.array([5, 5, 5])))
    assert numbers.tolist() == [0, 0, 0] and n == 1


@SETTINGS
@given(small_ints)
def test_run_starts_and_numbers_equal_the_pandas_shift_comparison(values):
    v = pd.Series(values, dtype="int64")
    want = (v != v.shift()).to_numpy()
    assert A.run_starts(v.to_numpy()).tolist() == want.tolist()
    numbers, n = A.run_numbers(A.run_starts(v.to_numpy()))
    assert numbers.tolist() == (np.cumsum(want) - 1).tolist() and n == int(want.sum())


# --- stable order by two keys -----------------------------------------------------------------------


def test_arrays_in_order_keep_it_and_others_are_sorted_stably():
    patients, days = np.array([0, 0, 1, 1, 1]), np.array([-2.0, 5.0, 0.0, 0.0, 3.0])
    assert A.sort_order(patients, days).tolist() == [0, 1, 2, 3, 4]
    for p, d in ((np.array([1, 0, 1, 0]), np.array([2.0, 2.0, 1.0, 2.0])), (np.array([0, 0]), np.array([3.0, 1.0]))):
        assert A.sort_order(p, d).tolist() == np.lexsort((d, p)).tolist()
    assert A.sort_order(np.array([1, 0, 1, 0]), np.array([2.0, 2.0, 1.0, 2.0])).tolist() == [
        1,
        3,
        2,
        0,
    ]  # ties in row order


def test_sort_order_of_nothing_and_of_one_row():
    assert A.sort_order(np.array([], dtype=int), np.array([])).tolist() == []
    assert A.sort_order(np.array([4]), np.array([1.0])).tolist() == [0]


@SETTINGS
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(-2, 2)), max_size=12))
def test_sort_order_equals_lexsort(pairs):
    first = np.array([p for p, _ in pairs], dtype=int)
    then = np.array([d for _, d in pairs], dtype=float)
    assert A.sort_order(first, then).tolist() == np.lexsort((then, first)).tolist()


# --- picks and first positions ----------------------------------------------------------------------


def test_pick_takes_the_values_and_gives_nan_for_minus_one():
    got = A.pick(np.array([10, 20, 30]), np.array([2, -1, 0]))
    assert got[0] == 30 and np.isnan(got[1]) and got[2] == 10 and got.dtype == float


def test_pick_from_nothing_is_nan_for_every_position():
    assert np.isnan(A.pick(np.array([]), np.array([-1, -1]))).all()
    assert A.pick(np.array([]), np.array([], dtype=int)).tolist() == []


def test_first_per_group_is_the_first_position_where_the_mask_holds():
    groups = np.array([0, 0, 0, 1, 1, 3])
    mask = np.array([False, True, True, False, False, True])
    assert A.first_per(groups, mask, 4).tolist() == [1, -1, -1, 5]  # group 2 has no rows, group 1 no hit
    assert A.first_per(groups, mask, 4, last=True).tolist() == [2, -1, -1, 5]


def test_first_per_of_one_group_and_of_nothing():
    assert A.first_per(np.array([0, 0, 0]), np.array([True, True, True]), 1).tolist() == [0]
    assert A.first_per(np.array([0, 0, 0]), np.array([True, True, True]), 1, last=True).tolist() == [2]
    assert A.first_per(np.array([], dtype=int), np.array([], dtype=bool), 2).tolist() == [-1, -1]
    assert A.first_per(np.array([], dtype=int), np.array([], dtype=bool), 0).tolist() == []


@SETTINGS
@given(st.lists(st.tuples(st.integers(0, 3), st.booleans()), max_size=12), st.booleans())
def test_first_per_equals_a_loop_over_the_sorted_groups(rows, last):
    groups = np.array(sorted(g for g, _ in rows), dtype=int)
    mask = np.array([m for _, m in rows], dtype=bool)
    want = [-1] * 4
    for i in reversed(range(len(groups))) if not last else range(len(groups)):
        if mask[i]:
            want[groups[i]] = i
    assert A.first_per(groups, mask, 4, last=last).tolist() == want


def test_first_rows_finds_each_codes_first_position_in_any_order():
    codes = np.array([2, -1, 0, 2, 0, -1])
    assert A.first_rows(codes, 4).tolist() == [2, -1, 0, -1]  # code 1 and 3 never occur: -1


def test_first_rows_where_a_condition_holds_skip_the_other_rows():
    codes = np.array([2, -1, 0, 2, 0, 1])
    where = np.array([False, True, False, True, True, False])
    assert A.first_rows(codes, 3, where).tolist() == [4, -1, 3]  # the -1 row is never a code's row


def test_first_rows_of_nothing_and_of_one_run():
    assert A.first_rows(np.array([], dtype=int), 2).tolist() == [-1, -1]
    assert A.first_rows(np.array([1, 1, 1]), 2).tolist() == [-1, 0]
    assert A.first_rows(np.array([-1, -1]), 1).tolist() == [-1]


@SETTINGS
@given(st.lists(st.tuples(st.integers(-1, 3), st.booleans()), max_size=12))
def test_first_rows_equal_the_first_row_of_a_pandas_group(rows):
    codes = np.array([c for c, _ in rows], dtype=int)
    where = np.array([w for _, w in rows], dtype=bool)
    for mask in (None, where):
        keep = (codes >= 0) if mask is None else (codes >= 0) & mask
        first = pd.Series(np.flatnonzero(keep)).groupby(codes[keep]).min()
        want = [int(first.get(c, -1)) for c in range(4)]
        assert A.first_rows(codes, 4, mask).tolist() == want


# --- group sums -------------------------------------------------------------------------------------


def test_group_sums_of_one_row_and_of_several_rows():
    codes = np.array([0, 2, 0, 2])
    assert A.group_sums(codes, 3, np.array([1.0, 2.0, 3.0, 4.0])).tolist() == [4.0, 0.0, 6.0]
    rows = np.array([[1.0, 2.0, 3.0, 4.0], [1.0, 1.0, 1.0, 1.0]])
    assert A.group_sums(codes, 3, rows).tolist() == [[4.0, 0.0, 6.0], [2.0, 0.0, 2.0]]


def test_group_sums_of_nothing_are_zeros():
    assert A.group_sums(np.array([], dtype=int), 2, np.array([])).tolist() == [0.0, 0.0]


# --- text look-ups ----------------------------------------------------------------------------------


def test_arrow_text_is_only_pandas_pyarrow_backed_text():
    assert A.arrow_text(pd.Series(["a"], dtype="str"))
    assert A.arrow_text(pd.Index(["a"], dtype="string[pyarrow]"))
    assert not A.arrow_text(pd.Series(["a"], dtype="object"))
    assert not A.arrow_text(pd.Series(["a"], dtype="string[python]"))
    assert not A.arrow_text(pd.Series([1]))


def test_isin_of_text_ids_given_as_a_series_equals_pandas_isin():
    values = pd.Series(["a", "b", None, "c", "a"], dtype="str")
    for ids in (
        pd.Series(["a", "c"], dtype="str"),
        pd.Index(["c"], dtype="str"),
        ["b"],
        {"a", "z"},
        pd.Series([], dtype="str"),
    ):
        assert A.isin(values, ids).tolist() == values.isin(list(ids)).tolist()
    assert A.isin(values, ["a", "c"]).tolist() == [True, False, False, True, True]


def test_isin_of_other_values_is_pandas_isin():
    values = pd.Series([1, 2, None, 4])
    assert A.isin(values, [2, 4]).tolist() == [False, True, False, True]
    assert A.isin(pd.Series([], dtype="str"), ["a"]).tolist() == []


def test_positions_of_text_ids_equal_pandas_get_indexer():
    ids = pd.Index(["a", "b", "c", "ü"], dtype="str")
    for values in (
        pd.Index(["c", "x", "a", "ü"], dtype="str"),
        pd.Index(["b"], dtype="object"),
        pd.Index([], dtype="str"),
        pd.Index(["a", None], dtype="str"),
    ):
        assert A.positions(ids, values).tolist() == ids.get_indexer(values).tolist()
    assert A.positions(ids, pd.Index(["c", "x"], dtype="str")).tolist() == [2, -1]
    assert A.positions(pd.Index([3, 1]), pd.Index([1, 2])).tolist() == [1, -1]


@SETTINGS
@given(
    st.lists(st.sampled_from(["a", "b", "c", "ü", None]), max_size=8),
    st.lists(st.sampled_from(["a", "b", "c", "ü"]), unique=True, max_size=4),
)
def test_isin_and_positions_on_pyarrow_text_equal_pandas(values, ids):
    v, i = pd.Series(values, dtype="str"), pd.Index(ids, dtype="str")
    assert A.isin(v, i).tolist() == v.isin(list(ids)).tolist()
    if None not in values:
        assert A.positions(i, pd.Index(v)).tolist() == i.get_indexer(pd.Index(v)).tolist()


def test_long_run_starts_are_where_each_run_begins_and_none_for_short_runs_or_no_rows():
    codes = np.array([3] * 8 + [1] * 8)
    np.testing.assert_array_equal(A.long_run_starts(codes), [0, 8])
    assert A.long_run_starts(np.array([0, 1, 0, 1, 0, 1, 0, 1])) is None  # every row starts a run
    assert A.long_run_starts(np.array([], dtype=int)) is None
    np.testing.assert_array_equal(A.long_run_starts(np.array([5])), [0])
