"""Survival data in: the checks and coding of times, events and groups shared by the survival engines
(``analysis.survival``: Kaplan-Meier and log-rank; ``analysis.coxph``: the Cox model). Bad values raise
DataError saying what is wrong; rows with a missing value are dropped with a note; times that differ only by
floating-point noise are one time (:func:`aeq_times`, R ``aeqSurv``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from analysis.errors import DataError

#: the group label used when ``kaplan_meier`` is called without groups
ALL_GROUP = "all"
#: two-sided 95% normal quantile (R: qnorm(0.975))
Z95 = float(stats.norm.ppf(0.975))
#: R aeqSurv's tolerance (sqrt(.Machine$double.eps)): times closer than this, absolutely or relative to the
#: mean of the distinct times, are one time
AEQ_TOL = float(np.sqrt(np.finfo(float).eps))


def _as_array(x, name: str) -> np.ndarray:
    if isinstance(x, (pd.Series, pd.Index)):
        return x.to_numpy()
    if np.isscalar(x) or x is None:
        raise TypeError(f"{name} must be an array or Series of values, got {type(x).__name__}")
    return np.asarray(x)


def _missing(values: np.ndarray) -> np.ndarray:
    return np.asarray(pd.isna(values), dtype=bool)


def _clean_time_event(time: np.ndarray, event: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Float times and 0/1 events, already free of missing values; bad values raise DataError."""
    try:
        t = np.asarray(time, dtype=float)
    except (TypeError, ValueError):
        raise DataError("survival times must be numbers (days); some are not") from None
    if not np.all(np.isfinite(t)):
        raise DataError("survival times must be finite numbers of days; some are infinite")
    if np.any(t < 0):
        raise DataError(f"survival times must be 0 or more days; {int(np.sum(t < 0))} are negative")
    e = np.asarray(event)
    if e.dtype.kind not in "biu":  # integers and booleans are checked as they are
        try:
            e = e.astype(float)
        except (TypeError, ValueError):
            raise DataError(
                "the event indicator must be 1 (event) or 0 (censored); some values are not numbers"
            ) from None
    bad = (e != 0) & (e != 1)
    if bad.any():
        found = sorted(set(e[bad].astype(float).tolist()))[:5]
        raise DataError(f"the event indicator must be 1 (event) or 0 (censored); found {found}")
    return t, e.astype(np.int64)


def aeq_times(t: np.ndarray, tol: float = AEQ_TOL) -> np.ndarray:
    """Times that differ only by floating-point noise made one time, as R ``aeqSurv`` (survfit, survdiff and
    coxph call it by default, ``timefix=TRUE``): among the sorted distinct times, a time within ``tol`` of the
    one before it (absolutely, or relative to the mean absolute distinct time) joins it, and every time becomes
    the first (smallest) time of its chain. Whole days below 1 / tol (about 67 million) never merge and are
    returned unchanged without a sort."""
    t = np.asarray(t, dtype=float)
    if len(t) < 2 or tol <= 0:
        return t
    whole = np.abs(t).max() * tol < 1 and (t == np.round(t)).all()  # consecutive whole days differ by >= 1
    if whole:
        return t
    y = np.unique(t[np.isfinite(t)])
    if len(y) < 2:
        return t
    dy = np.diff(y)
    tied = (dy <= tol) | (dy / np.mean(np.abs(y)) <= tol)
    if not tied.any():
        return t
    cuts = y[np.concatenate(([True], ~tied))]
    return cuts[np.searchsorted(cuts, t, side="right") - 1]


def _dropped_note(n: int, what: str) -> tuple[str, ...]:
    return (f"{n} row{'s' if n != 1 else ''} with a missing {what} dropped",) if n else ()


def _as_series(x, name: str, n: int) -> pd.Series:
    """Labels as a Series (a categorical keeps its categories), one per subject; its index is not used."""
    if np.isscalar(x) or x is None:
        raise TypeError(f"{name} must be an array or Series of labels, got {type(x).__name__}")
    s = x if isinstance(x, pd.Series) else pd.Series(x)
    if len(s) != n:
        raise ValueError(f"{name} must have one label per subject; got {len(s)} labels for {n} subjects")
    return s


def _r_sort_key(value):
    """R's sort order for labels in a UTF-8 locale (ICU): case-insensitive, lower case first on ties."""
    return (value.casefold(), value.swapcase()) if isinstance(value, str) else (str(value).casefold(), str(value))


def _r_order(values: list) -> list[int]:
    """Positions of distinct labels in R's factor order: numbers and booleans by value, text as R sorts it."""
    if all(isinstance(v, (bool, np.bool_)) for v in values) or all(
        isinstance(v, (int, float, np.number)) and not isinstance(v, (bool, np.bool_)) for v in values
    ):
        return sorted(range(len(values)), key=values.__getitem__)
    return sorted(range(len(values)), key=lambda i: _r_sort_key(values[i]))


def _group_codes(group, n: int) -> tuple[np.ndarray, list]:
    """Each subject's group as a code into the levels (-1: missing label) and the levels in R's factor
    order: a categorical's categories, otherwise the distinct values (one hash pass, factorize, then only
    the distinct values are sorted). Categories without subjects are kept."""
    s = _as_series(group, "group", n)
    if isinstance(s.dtype, pd.CategoricalDtype):
        return s.cat.codes.to_numpy().astype(np.int64), s.cat.categories.tolist()
    codes, uniques = s.array.factorize()
    found = uniques.tolist()
    order = _r_order(found)
    rank = np.full(len(found) + 1, -1, dtype=np.int64)  # rank[-1] = -1 keeps missing labels missing
    rank[order] = np.arange(len(found))
    return rank[codes], [found[i] for i in order]


def _group_levels(g: pd.Series) -> list:
    """Levels with subjects in R's factor order: the categories of a categorical, otherwise the sorted
    unique values (numbers and booleans by value, text as R sorts it)."""
    code, levels = _group_codes(g, len(g))
    size = np.bincount(code + 1, minlength=len(levels) + 1)[1:]
    return [level for level, m in zip(levels, size) if m]


def _survival_data(time, event, group, one_group: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, list, list]:
    """Float times, 0/1 events, group codes 0..k-1 and the k levels (R's order; some may have no subject)
    of the complete rows, and a note on the rows dropped. ``one_group``: group None is one group, ALL_GROUP."""
    t_raw, e_raw = _as_array(time, "time"), _as_array(event, "event")
    n = len(t_raw)
    if len(e_raw) != n:
        raise ValueError(f"time and event must have the same length; got {n} and {len(e_raw)}")
    if group is None and one_group:
        code, levels = np.zeros(n, dtype=np.int64), [ALL_GROUP]
    else:
        code, levels = _group_codes(group, n)
    miss = _missing(t_raw) | _missing(e_raw) | (code < 0)
    dropped = int(miss.sum())
    if dropped:
        keep = ~miss
        t_raw, e_raw, code = t_raw[keep], e_raw[keep], code[keep]
    t, e = _clean_time_event(t_raw, e_raw)
    return aeq_times(t), e, code, levels, list(_dropped_note(dropped, "time, event or group"))
