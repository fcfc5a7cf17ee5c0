"""Small array helpers shared by the analysis modules: runs of equal values, first rows per group, picks
with -1 as "none", group sums, and membership and position look-ups on pandas' pyarrow-backed text.

Conventions: a *group* or *code* is an integer 0..n-1 (-1: none or missing); a position of -1 means "none".
"Sorted" means rows of one group are consecutive (one run each), as :func:`run_starts` finds them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "arrow_text",
    "first_per",
    "first_rows",
    "group_sums",
    "isin",
    "pick",
    "positions",
    "run_numbers",
    "run_starts",
    "same_values",
    "sort_order",
]


def arrow_text(values) -> bool:
    """Whether a Series, Index or array holds pandas' pyarrow-backed text (the importer's text dtype)."""
    return isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow"


def isin(values: pd.Series, ids) -> np.ndarray:
    """``values.isin(ids)`` as a boolean array. On pandas' pyarrow-backed text the ids are handed to pyarrow
    whole: Series.isin there makes one pyarrow scalar per id (about 0.5 s for 100,000 patient ids); ids given
    as such text themselves (a Series or Index) are handed over without a Python loop."""
    if arrow_text(values) and isinstance(ids, (pd.Series, pd.Index)) and arrow_text(ids) and not ids.hasnans:
        arr = pa.array(values.array)
        return np.asarray(pc.is_in(arr, value_set=pa.array(ids.array).cast(arr.type)), dtype=bool)
    ids = list(ids)
    if arrow_text(values) and all(isinstance(i, str) for i in ids):
        arr = pa.array(values.array)
        return np.asarray(pc.is_in(arr, value_set=pa.array(ids, type=arr.type)), dtype=bool)
    return values.isin(ids).to_numpy(dtype=bool)


def positions(ids: pd.Index, values) -> np.ndarray:
    """``ids.get_indexer(values)`` (``ids`` distinct): each value's position in ``ids``, -1 when absent. Ids and
    values that are both pandas' pyarrow-backed text are looked up by pyarrow (a few ms for 100,000 ids, where
    pandas converts both to Python strings)."""
    if arrow_text(ids) and isinstance(values, (pd.Series, pd.Index)) and arrow_text(values) and not values.hasnans:
        arr = pa.array(values.array)
        found = pc.index_in(arr, value_set=pa.array(ids.array).cast(arr.type))
        return found.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.intp)
    return ids.get_indexer(values)


def same_values(a: np.ndarray, b: np.ndarray) -> bool:
    """``np.array_equal(a, b)``, answered without a pass when both are views of the very same memory (codes handed on
    uncopied from step to step)."""
    if (
        a.shape == b.shape
        and a.dtype == b.dtype
        and a.strides == b.strides
        and a.__array_interface__["data"][0] == b.__array_interface__["data"][0]
    ):
        return True
    return bool(np.array_equal(a, b))


def run_starts(*keys: np.ndarray) -> np.ndarray:
    """Where a new run of equal keys starts (True at the first position; a change in any key starts one)."""
    out = np.zeros(len(keys[0]), dtype=bool)
    out[:1] = True
    for key in keys:
        out[1:] |= key[1:] != key[:-1]
    return out


def long_run_starts(codes: np.ndarray) -> np.ndarray | None:
    """Where each run of equal codes starts (0 first), or None when there are no rows or the runs are short
    (more than one row in 8 starts one): work done run by run then saves nothing over row by row."""
    starts = np.flatnonzero(codes[1:] != codes[:-1]) + 1
    if len(codes) == 0 or len(starts) > len(codes) // 8:
        return None
    return np.concatenate([[0], starts])


def run_numbers(starts: np.ndarray) -> tuple[np.ndarray, int]:
    """Each position's run 0..n-1 from the :func:`run_starts` flags, and the number of runs n."""
    numbers = np.cumsum(starts) - 1
    return numbers, int(numbers[-1]) + 1 if len(numbers) else 0


def sort_order(first: np.ndarray, then: np.ndarray) -> np.ndarray:
    """``np.lexsort((then, first))`` (stable), without sorting arrays that are in that order already."""
    if len(first) > 1:
        step = np.diff(first)
        if ((step > 0) | ((step == 0) & (then[1:] >= then[:-1]))).all():
            return np.arange(len(first))
    return np.lexsort((then, first))


def pick(values: np.ndarray, at: np.ndarray) -> np.ndarray:
    """values[at] as floats, NaN where ``at`` is -1 (none)."""
    if not len(values):
        return np.full(len(at), np.nan)
    return np.where(at >= 0, values[np.maximum(at, 0)], np.nan)


def first_per(groups: np.ndarray, mask: np.ndarray, n: int, last: bool = False) -> np.ndarray:
    """Per group 0..n-1 (``groups`` sorted), the first (or last) position where ``mask`` holds; -1 for none."""
    rows = np.flatnonzero(mask)
    g = groups[rows]
    at = np.full(n, -1)
    if len(rows):
        edge = np.r_[g[1:] != g[:-1], True] if last else np.r_[True, g[1:] != g[:-1]]
        at[g[edge]] = rows[edge]
    return at


def first_rows(codes: np.ndarray, n: int, where: np.ndarray | None = None) -> np.ndarray:
    """Per code 0..n-1 (``codes`` in any order, -1 skipped), its first position (where ``where`` holds); -1 for
    none."""
    if where is None:  # a code's first position starts a run: only those are compared
        rows = np.flatnonzero(run_starts(codes) & (codes >= 0))
    else:
        rows = np.flatnonzero(where & (codes >= 0))
    first = np.full(n, len(codes))
    np.minimum.at(first, codes[rows], rows)
    return np.where(first < len(codes), first, -1)


def group_sums(codes: np.ndarray, n: int, values: np.ndarray) -> np.ndarray:
    """Per group 0..n-1 the sum of a 1-D array, or of each row of a 2-D array (rows x groups)."""
    if values.ndim == 1:
        return np.bincount(codes, weights=values, minlength=n)
    return np.vstack([np.bincount(codes, weights=row, minlength=n) for row in values])
