"""Small-cell suppression and safe exports: the one place where both happen.

Suppression (DESIGN "Statistics"): any count from 1 to ``threshold - 1`` that is shown or exported is
replaced by ``"<{threshold}"`` (read "<11*" with a footnote: :func:`mark`, :func:`footnote`), and every value
from which it could be derived is withheld ("withheld*", never blank): percentages, confidence limits and
medians resting on it, and, by complementary (secondary) suppression (:func:`protect`), counts from which it
could be worked out by subtraction: the step before or after it in a funnel (a step whose difference from the
step before is small is never shown beside it), the total beside its groups (overall beside the sites), the
total of a row beside its parts (infusions beside boosters). The rule plays the attacker: bounds of every
hidden count are tightened under all the sums the table shows (each shown count exact, a "<11" in [1, 10], a
withheld count at least 11); while a hidden count (small or withheld, or a small step) is pinned to one value, one more
count beside it is withheld, the smallest of its margin first. A zero is not suppressed: it discloses no one.
What this does not cover (differencing across two outputs) is in README's privacy section.

Safe exports: text cells that begin with ``=``, ``+``, ``-``, ``@``, tab or carriage return are
prefixed with a single quote so that no spreadsheet evaluates them (OWASP "CSV injection").
"""

from __future__ import annotations

import io
from collections import deque
from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from analysis.config import SUPPRESSION_THRESHOLD

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def small_label(threshold: int = SUPPRESSION_THRESHOLD) -> str:
    """The text shown in place of a small count, e.g. '<11'."""
    return f"<{threshold}"


def is_small(n, threshold: int = SUPPRESSION_THRESHOLD) -> bool:
    """True for a count that must not be shown: 1 <= n < threshold."""
    try:
        return n is not None and not pd.isna(n) and 0 < float(n) < threshold
    except (TypeError, ValueError):
        return False


def show_count(n, threshold: int = SUPPRESSION_THRESHOLD):
    """A count as it may be shown: the number itself, or '<11' when it is small."""
    return small_label(threshold) if is_small(n, threshold) else n


def _numeric(v) -> float | None:
    try:
        return None if v is None or pd.isna(v) else float(v)
    except (TypeError, ValueError):
        return None


def suppress_table(
    table: pd.DataFrame,
    counts: Iterable[str],
    derived: Iterable[str] = (),
    threshold: int = SUPPRESSION_THRESHOLD,
    *,
    shares: Mapping[tuple[str, ...], tuple[str, ...]] | None = None,
    complements: Iterable[tuple[str, str]] = (),
    blocks: Iterable[tuple[int, Iterable[int]]] = (),
    sums: Iterable[tuple[str, Iterable[str]]] = (),
) -> pd.DataFrame:
    """Copy of ``table`` as it may be shown; the input is not changed.

    - ``counts``: a count from 1 to ``threshold - 1`` becomes '<11'.
    - ``complements``: pairs (part, whole) shown side by side, e.g. (responders, evaluable), the steps of a
      funnel. Where ``whole - part`` is from 1 to ``threshold - 1`` the part is withheld (None), since
      subtracting would reveal that small count.
    - ``blocks``: (total row, [group rows]) by position: a total beside its groups (overall and by site).
      Complementary suppression (:func:`protect`) then withholds further counts (None) so that no hidden count
      can be worked out from the rest of the table.
    - ``sums``: (total column, [part columns]): a count that is the sum of others in its row (infusions beside
      induction infusions and boosters; patients beside their numbers of infusions), protected the same way.
    - ``derived``: columns withheld in every row where a count was replaced or withheld.
    - ``shares``: {(columns, ...): (count, ...)}: those columns (e.g. a rate and its CI) are withheld only
      where one of the counts they rest on (e.g. numerator and denominator) was replaced or withheld.
    """
    counts = [c for c in counts if c in table.columns]
    out = table.copy()
    if out.empty or not counts:
        return out
    values = np.array([[_numeric(v) for v in out[c]] for c in counts], dtype=float).T
    index = {c: i for i, c in enumerate(counts)}
    chain = [(index[p], index[w]) for p, w in complements if p in index and w in index]
    parts = [(index[t], [index[c] for c in g]) for t, g in sums if t in index and all(c in index for c in g)]
    state = protect(values, [(t, list(g)) for t, g in blocks], chain, threshold, parts)
    small = {c: state[:, i] == SMALL for c, i in index.items()}
    withheld = {c: state[:, i] == WITHHELD for c, i in index.items()}
    hidden = {c: small[c] | withheld[c] for c in counts}
    for c in counts:
        if hidden[c].any():
            out[c] = out[c].astype(object)
            out.loc[small[c], c] = small_label(threshold)
            out.loc[withheld[c], c] = None
    any_hidden = np.logical_or.reduce([hidden[c] for c in counts])
    for c in derived:
        if c in out.columns and any_hidden.any():
            out[c] = out[c].astype(object)
            out.loc[any_hidden, c] = None
    none = np.zeros(len(out), dtype=bool)
    for cols, basis in (shares or {}).items():
        mask = np.logical_or.reduce([hidden.get(c, none) for c in basis] + [none])
        for c in cols:
            if c in out.columns and mask.any():
                out[c] = out[c].astype(object)
                out.loc[mask, c] = None
    return out


# ---------------------------------------------------------------------------------------------------------------
# Complementary (secondary) suppression
# ---------------------------------------------------------------------------------------------------------------

#: the state of a cell: shown, replaced by '<11', or withheld (complementary suppression)
SHOWN, SMALL, WITHHELD = 0, 1, 2
_BIG = 1e12


def _closure(chain) -> list[tuple[int, int]]:
    """Every (part, whole) pair of a chain of (part, whole) steps, including steps over steps."""
    pairs = set(chain)
    while True:
        more = {(p, w2) for p, w in pairs for p2, w2 in pairs if p2 == w} - pairs
        if not more:
            return sorted(pairs)
        pairs |= more


def _propagate(lo: np.ndarray, hi: np.ndarray, sums: list[tuple[int, list[int]]]) -> None:
    """An attacker's reasoning: tighten the bounds [lo, hi] of the variables to a fixed point under the sums
    ``x[total] = sum(x[parts])`` (all variables >= 0). A worklist: a sum is looked at again only when one of its
    variables' bounds moved (at most 100 passes' worth of work)."""
    low, high = lo.tolist(), hi.tolist()
    where: dict[int, list[int]] = {}
    for i, (t, parts) in enumerate(sums):
        for x in (t, *parts):
            where.setdefault(x, []).append(i)
    queue, queued = deque(range(len(sums))), [True] * len(sums)
    budget = 100 * len(sums) + 100
    while queue and budget:
        budget -= 1
        i = queue.popleft()
        queued[i] = False
        t, parts = sums[i]
        plo, phi = sum(low[p] for p in parts), sum(high[p] for p in parts)
        moved = []
        if plo > low[t]:
            low[t] = plo
            moved.append(t)
        if phi < high[t]:
            high[t] = phi
            moved.append(t)
        for p in parts:
            a, b = low[t] - (phi - high[p]), high[t] - (plo - low[p])
            if a > low[p]:
                low[p] = a
                moved.append(p)
            if b < high[p]:
                high[p] = b
                moved.append(p)
        for x in moved:
            for j in where[x]:
                if not queued[j]:
                    queued[j] = True
                    queue.append(j)
    lo[:], hi[:] = low, high


def _independent_rows(n_rows: int, row_blocks) -> list[list[int]]:
    """The rows of a table in groups that no block ties to each other (each block's total with its groups)."""
    root = list(range(n_rows))

    def find(r):
        while root[r] != r:
            root[r] = root[root[r]]
            r = root[r]
        return r

    for total, groups in row_blocks:
        for g in groups:
            root[find(g)] = find(total)
    parts: dict[int, list[int]] = {}
    for r in range(n_rows):
        parts.setdefault(find(r), []).append(r)
    return list(parts.values())


def protect(
    values,
    row_blocks=(),
    chain=(),
    threshold: int = SUPPRESSION_THRESHOLD,
    col_blocks=(),
) -> np.ndarray:
    """Which counts of a table may be shown: an array of SHOWN, SMALL ('<11') or WITHHELD, one per cell.

    ``values``: rows x columns of counts (NaN: a cell that does not exist, e.g. remitters without a remission
    rule); ``row_blocks``: (total row, [group rows]) where each column of the total row is the sum of the
    groups' (checked: a sum that does not hold is not used); ``chain``: (part column, whole column) steps with
    part <= whole in every row (a funnel), whose differences are counts of patients too; ``col_blocks``: (total
    column, [part columns]) where, in a row, the total is the sum of the parts (checked as the row blocks).
    The rule is in the module docstring."""
    v = np.asarray(values, dtype=float)
    if v.ndim != 2:
        raise ValueError("values must be a table (rows x columns)")
    n_rows, n_cols = v.shape
    state = np.full(v.shape, SHOWN, dtype=np.int8)
    if threshold <= 1 or v.size == 0:
        return state
    row_blocks = [(total, list(groups)) for total, groups in row_blocks]
    parts = _independent_rows(n_rows, row_blocks)
    if len(parts) > 1:  # rows tied by no block share no sum: each part is protected on its own
        for rows in parts:
            at = {r: i for i, r in enumerate(rows)}
            blocks = [(at[t], [at[g] for g in groups]) for t, groups in row_blocks if t in at]
            state[rows] = protect(v[rows], blocks, chain, threshold, col_blocks)
        return state
    exists = ~np.isnan(v)
    val = np.where(exists, v, 0.0)
    state[exists & (val >= 1) & (val < threshold)] = SMALL
    pairs = [(p, w) for p, w in _closure(list(chain)) if p < n_cols and w < n_cols]
    # variables: every cell, then every (row, pair) difference whole - part
    cell = np.arange(v.size).reshape(v.shape)
    diff = {(r, k): v.size + r * len(pairs) + k for r in range(n_rows) for k in range(len(pairs))}
    n_var = v.size + len(diff)
    true = np.concatenate([val.ravel(), np.zeros(len(diff))])
    sums = []
    for r in range(n_rows):
        for k, (p, w) in enumerate(pairs):
            if exists[r, p] and exists[r, w] and val[r, p] <= val[r, w]:
                true[diff[r, k]] = val[r, w] - val[r, p]
                sums.append((cell[r, w], [cell[r, p], diff[r, k]]))
    margins = []  # (column, total row, group rows) of the sums that hold
    for total, groups in row_blocks:
        groups = list(groups)
        for c in range(n_cols):
            if exists[total, c] and exists[groups, c].all() and val[total, c] == val[groups, c].sum():
                sums.append((cell[total, c], [cell[g, c] for g in groups]))
                margins.append((c, total, groups))
        for k, (p, w) in enumerate(pairs):
            rows = [total, *groups]
            if exists[rows, p].all() and exists[rows, w].all() and (val[rows, p] <= val[rows, w]).all():
                if true[diff[total, k]] == sum(true[diff[g, k]] for g in groups):
                    sums.append((diff[total, k], [diff[g, k] for g in groups]))
    for total, parts in col_blocks:
        parts = list(parts)
        for r in range(n_rows):
            if exists[r, total] and exists[r, parts].all() and val[r, total] == val[r, parts].sum():
                sums.append((cell[r, total], [cell[r, c] for c in parts]))
                margins.append(("row", r, total, parts))
    sensitive = [(r, k) for r in range(n_rows) for k, (p, w) in enumerate(pairs) if 1 <= true[diff[r, k]] < threshold]

    def bounds(st):
        lo, hi = np.zeros(n_var), np.full(n_var, _BIG)
        flat, vals, ex = st.ravel(), val.ravel(), exists.ravel()
        shown = (flat == SHOWN) | ~ex
        lo[: v.size][shown], hi[: v.size][shown] = vals[shown], vals[shown]
        lo[: v.size][flat == SMALL], hi[: v.size][flat == SMALL] = 1.0, threshold - 1.0
        lo[: v.size][(flat == WITHHELD) & ex] = float(threshold)
        _propagate(lo, hi, sums)
        return lo, hi

    def exposed(st) -> list[tuple[int, int]]:
        """Hidden cells an attacker could pin down: the small cells, the withheld ones, and the hidden ends of a
        small step."""
        lo, hi = bounds(st)
        out = [divmod(i, n_cols) for i in range(v.size) if st.flat[i] == SMALL and hi[i] - lo[i] < 1]
        # a withheld count that can be worked out is no longer withheld: it may not be pinned either
        out += [
            divmod(i, n_cols) for i in range(v.size) if st.flat[i] == WITHHELD and exists.flat[i] and hi[i] - lo[i] < 1
        ]
        for r, k in sensitive:
            if hi[diff[r, k]] - lo[diff[r, k]] < 1:
                out += [(r, c) for c in pairs[k] if st[r, c] != SHOWN]
        return list(dict.fromkeys(out))

    def candidates(r, c):
        """Shown cells (above 0) beside (r, c): its column's groups and total first, then its row's steps."""
        near = []
        for margin in margins:
            if margin[0] == "row":  # a total column beside its parts, in row r
                _, row, total, parts = margin
                if row == r and c in (total, *parts):
                    near += [(0, o == total, val[r, o], r, o) for o in (total, *parts) if o != c]
                continue
            col, total, groups = margin
            if col == c and r in (total, *groups):
                near += [(0, g == total, val[g, c], g, c) for g in (total, *groups) if g != r]
        near += [(1, False, val[r, o], r, o) for p, w in pairs if c in (p, w) for o in (p, w) if o != c]
        return [(g, cc) for *_, g, cc in sorted(set(near)) if state[g, cc] == SHOWN and val[g, cc] >= threshold]

    links: dict[int, list[int]] = {}  # variable -> the sums it is in
    for i, (t, parts) in enumerate(sums):
        for x in (t, *parts):
            links.setdefault(x, []).append(i)

    def further(r, c) -> list[tuple[int, int]]:
        """Shown cells (from the threshold up) tied to (r, c) through sums over hidden cells and funnel steps,
        nearest first: what frees a cell when its own margins cannot (a denominator withheld beside a small
        part is worked out from the eligible count of the same row: the eligible count is the next to go)."""
        start = cell[r, c]
        seen, frontier, out = {start}, [start], []
        while frontier:
            after = []
            for x in frontier:
                for i in links.get(x, ()):
                    t, parts = sums[i]
                    for y in (t, *parts):
                        if y in seen:
                            continue
                        seen.add(y)
                        if y < v.size and (state.flat[y] == SHOWN or not exists.flat[y]):
                            if exists.flat[y] and val.flat[y] >= threshold:
                                out.append(divmod(int(y), n_cols))
                        else:
                            after.append(y)
            frontier = after
        return out

    for _ in range(v.size + 10):
        step = False  # a step whose difference from the step before is small is never shown beside it
        for r, k in sensitive:
            p, w = pairs[k]
            if state[r, p] == SHOWN and state[r, w] == SHOWN:
                state[r, p] = WITHHELD
                step = True
        if step:
            continue
        open_ = [(rc, list(dict.fromkeys(candidates(*rc) + further(*rc)))) for rc in exposed(state)]
        open_ = [(rc, options) for rc, options in open_ if options]
        if not open_:
            break
        (r, c), options = open_[0]
        chosen = options[0]
        for g, cc in options[:12]:  # the first (smallest, nearest) whose withholding frees the cell
            trial = state.copy()
            trial[g, cc] = WITHHELD
            if (r, c) not in exposed(trial):
                chosen = (g, cc)
                break
        state[chosen] = WITHHELD
    return state


def cohorts_too_close(ids_a, ids_b, threshold: int = SUPPRESSION_THRESHOLD) -> str | None:
    """Why two groups of patients may not be shown side by side, or None when they may: the patients of one that
    are not in the other number from 1 to ``threshold - 1`` (e.g. cohort A and A without one age band, 56 vs 55),
    so that subtracting any count of one from the other's would tell about those few patients."""
    a, b = set(ids_a), set(ids_b)
    if threshold <= 1:
        return None
    for only, x, y in ((len(a - b), "A", "B"), (len(b - a), "B", "A")):
        if is_small(only, threshold):
            return (
                f"Not shown side by side: cohort {x} has fewer than {threshold} patients who are not in cohort {y}, "
                "so the difference between the two would describe those few patients. Choose cohorts that differ "
                f"by at least {threshold} patients (or by none)."
            )
    return None


def neutralise_formulas(table: pd.DataFrame) -> pd.DataFrame:
    """Copy of ``table`` whose text cells (and column names) cannot run as spreadsheet formulas."""

    def safe(v):
        if isinstance(v, str) and v.startswith(FORMULA_PREFIXES):
            return "'" + v
        return v

    out = table.copy()
    out.columns = [safe(str(c)) for c in out.columns]
    for c in out.columns:
        if out[c].dtype == object or pd.api.types.is_string_dtype(out[c]):
            out[c] = out[c].astype(object).map(safe)
    return out


def to_csv_bytes(table: pd.DataFrame) -> bytes:
    """UTF-8 CSV (with BOM, so that Excel reads accents) of a table, formulas neutralised."""
    # CRLF rows, so that a field holding a bare CR or LF is quoted and cannot start a row of its own
    return neutralise_formulas(table).to_csv(index=False, lineterminator="\r\n").encode("utf-8-sig")


def to_excel_bytes(table: pd.DataFrame, sheet: str = "data") -> bytes:
    """An .xlsx workbook of a table, formulas neutralised and every text cell stored as text."""
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as writer:
        neutralise_formulas(table).to_excel(writer, index=False, sheet_name=sheet[:31])
    return buf.getvalue()


# ---------------------------------------------------------------------------------------------------------------
# How a suppressed value reads (screen, downloads, PDF): never blank
# ---------------------------------------------------------------------------------------------------------------

#: the footnote marker of every suppressed value
MARK = "*"
#: a value withheld (a rate, an interval, a count that would reveal a small one)
WITHHELD_TEXT = "withheld"


def footnote(threshold: int = SUPPRESSION_THRESHOLD) -> str:
    """The footnote line under every table with a suppressed value."""
    return (
        f"{MARK} {small_label(threshold)}: a count from 1 to {threshold - 1}, not shown. {WITHHELD_TEXT}: a value "
        f"that would reveal such a count: a rate or interval resting on it, or a count from which it could be "
        "worked out by subtraction (from the total beside its groups, or from the step before in a funnel)."
    )


def is_withheld(v) -> bool:
    """True for a cell withheld by :func:`suppress_table` (it writes None; a value that does not exist is NaN)."""
    return v is None


def marked(v, threshold: int = SUPPRESSION_THRESHOLD):
    """One suppressed cell as it reads: '<11*' for '<11', 'withheld*' for a withheld value (None); any other value
    as it is."""
    if v is None:
        return f"{WITHHELD_TEXT}{MARK}"
    if isinstance(v, str) and v == small_label(threshold):
        return f"{v}{MARK}"
    return v


def has_mark(rows) -> bool:
    """True when a list of rows of text cells holds a marked (suppressed) value."""
    return any(isinstance(v, str) and v.endswith(MARK) for r in rows for v in r)


def mark(table: pd.DataFrame, threshold: int = SUPPRESSION_THRESHOLD) -> pd.DataFrame:
    """Copy of a suppressed table (:func:`suppress_table`) as it reads: '<11*' for a small count, 'withheld*' for a
    withheld value; other cells unchanged."""
    label = small_label(threshold)
    out = table.copy()
    for c in out.columns:
        col = out[c]
        if col.dtype != object:
            continue
        # a column of results (numbers, '<11', None where withheld), not text from the data (None: no value)
        results = all(v is None or v == label or _is_number(v) for v in col)
        out[c] = col.map(
            lambda v: f"{label}{MARK}" if v == label else f"{WITHHELD_TEXT}{MARK}" if v is None and results else v
        )
    return out


def _is_number(v) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)


def any_marked(table: pd.DataFrame) -> bool:
    """True when a marked table (:func:`mark`) holds a suppressed value."""
    return any(isinstance(v, str) and v.endswith(MARK) for c in table.columns for v in table[c])


def with_footnote(table: pd.DataFrame, threshold: int = SUPPRESSION_THRESHOLD) -> pd.DataFrame:
    """A marked table (:func:`mark`) for a download: the footnote as a last row (first column) when a value is
    suppressed."""
    if table.empty or not any_marked(table):
        return table
    # (the other cells '' rather than missing: a missing cell would turn a column of whole numbers into floats)
    row = pd.DataFrame(
        [{**dict.fromkeys(table.columns, ""), table.columns[0]: footnote(threshold)}], columns=table.columns
    )
    return pd.concat([table.astype(object), row.astype(object)], ignore_index=True)


def why_withheld(counts: Mapping, shown: Mapping, steps: Mapping[str, str], threshold: int) -> dict[str, str]:
    """For each step of a funnel withheld in ``shown`` (None), why, in words: its difference from the step before
    is small, or it is withheld beside a hidden count elsewhere (complementary suppression). ``counts``: the exact
    counts; ``steps``: {column: label} in funnel order."""
    out, previous = {}, None
    for key, name in steps.items():
        if key not in shown:
            continue
        if is_withheld(shown[key]):
            gap = None if previous is None else _numeric(counts[previous[0]]) - (_numeric(counts[key]) or 0)
            if gap is not None and is_small(gap, threshold):
                out[key] = (
                    f"{name}: {WITHHELD_TEXT}, because it differs from '{previous[1]}' by fewer than {threshold} "
                    "patients; showing both would reveal that number."
                )
            else:
                out[key] = (
                    f"{name}: {WITHHELD_TEXT}, so that a count under {threshold} shown as {small_label(threshold)} "
                    "beside it (in this funnel or in the tables by group) cannot be worked out by subtraction."
                )
        previous = (key, name)
    return out
