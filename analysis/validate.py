"""Validation: every problem into one issues table, and the row checks that fill it.

Bad data is data, not an exception: each check returns the rows it keeps and records what it dropped
in an :class:`IssueLog` (severity, code, column, rows, message), with rows numbered as a spreadsheet
shows them (the header is row 1). Errors make an upload unusable; warnings drop rows; infos explain.
The guard against direct identifiers is :mod:`analysis.phi`.

The internal frame the row checks work on is long, one row per score, with columns ``_file`` (index of
the file), ``_row`` (spreadsheet row), the canonical names of :mod:`analysis.schema` as pandas
categoricals (text) or float64 (score, day), and the row checks never change their input. A check that
finds nothing costs a pass or two over the rows: rows in the order exports list them (grouped by patient,
instrument, day; or by patient and day, the instruments of a day in any order) are compared with the row
before, or with the few rows before in their day, instead of hashed, and ranges are checked on the
smallest and largest value of each run; other orders take the general path, with the same answer.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import numpy as np
import pandas as pd

from analysis import schema as S
from analysis.arrays import long_run_starts
from analysis.config import PLAUSIBLE_DAYS
from analysis.instruments import registry

FILE = "_file"
ROW = "_row"

SHOWN_ROWS = 8  # row numbers quoted in a message (the issue's `rows` holds them all)


# --- the issues table ----------------------------------------------------------------------------
class IssueLog:
    """Collects issues; knows the file names and, per file, which source column fed each canonical one."""

    def __init__(self) -> None:
        self.files: list[str] = []
        self.sources: dict[tuple[int, str], str] = {}
        self._items: list[dict] = []

    def add(
        self,
        severity: str,
        code: str,
        message: str,
        column: str | None = None,
        rows: Iterable[int] = (),
        fix: dict | None = None,
    ) -> None:
        """Record an issue. ``message`` says what is wrong and what would fix it, in no front end's terms; ``fix``:
        None, or {"column": source column, "targets": [target, ...]}, "map this column to one of these targets"
        (the first is the suggestion), which each front end phrases in its own terms."""
        if severity not in S.SEVERITIES:
            raise ValueError(f"severity {severity!r} unknown; use one of {S.SEVERITIES}")
        self._items.append(
            {
                "severity": severity,
                "code": code,
                "column": column,
                "rows": [int(r) for r in rows],
                "message": message,
                "fix": fix,
            }
        )

    def add_rows(
        self,
        severity: str,
        code: str,
        target: str | None,
        frame: pd.DataFrame,
        describe: Callable[[int, str], str],
        where: np.ndarray | None = None,
    ) -> None:
        """One issue per file for the rows of ``frame`` (those where ``where`` holds, if given: no selection
        at all when it holds nowhere); ``describe(n, rows_text)`` writes the sentence."""
        if where is not None:
            if not where.any():
                return
            frame = frame[where]
        if frame.empty:
            return
        for f, part in frame.groupby(FILE, sort=True, observed=True):
            rows = np.sort(part[ROW].to_numpy())
            column = self.sources.get((int(f), target)) if target else None
            self.add(
                severity, code, f"{self.files[int(f)]}: {describe(len(rows), rows_text(rows))}", column, rows.tolist()
            )

    @property
    def has_errors(self) -> bool:
        return any(i["severity"] == "error" for i in self._items)

    def table(self) -> pd.DataFrame:
        order = {s: i for i, s in enumerate(S.SEVERITIES)}
        items = sorted(self._items, key=lambda i: order[i["severity"]])  # stable: errors first
        return pd.DataFrame(
            {
                c: pd.Series([i.get(c) for i in items], dtype=object if c in ("rows", "fix") else None)
                for c in S.ISSUE_COLUMNS
            }
        )


def rows_text(rows) -> str:
    """'row 5', 'rows 5, 9, 12' or 'rows 5, 9, ... (40 rows)'."""
    rows = list(rows)
    if len(rows) == 1:
        return f"row {rows[0]}"
    shown = ", ".join(str(r) for r in rows[:SHOWN_ROWS])
    return f"rows {shown}" + (f", ... ({len(rows)} rows)" if len(rows) > SHOWN_ROWS else "")


def quoted(values, limit: int = 6) -> str:
    values = list(values)
    text = ", ".join(f"'{v}'" for v in values[:limit])
    return text + (f" and {len(values) - limit} more" if len(values) > limit else "")


# --- row checks on the internal long frame -----------------------------------------------------------
def keep(frame: pd.DataFrame, mask: np.ndarray) -> pd.DataFrame:
    """The rows of ``frame`` where ``mask`` holds (the frame itself when that is every row)."""
    return frame if mask.all() else frame[mask]


def duplicated(frame: pd.DataFrame, columns: list[str], grouped_by: list[str] = (), fast: bool = True) -> np.ndarray:
    """Rows equal to an earlier row on ``columns``: one integer key per row from the category codes
    (and factorised numbers), hashed once; pandas' own method when the key would overflow.

    Rows in order on ``columns`` are compared with the row before; rows in order on ``grouped_by`` (some
    of ``columns``, e.g. patient then day: an export whose instruments of one day come in any order) with
    the few rows before them in their group (see ``_duplicated_in_runs``); neither hashes anything.
    Otherwise the key is built column by column, the first most significant. Once it increases strictly
    from row to row, no row can repeat another whatever the remaining columns: the answer is "none"
    without hashing; a key that never decreases (rows sorted by the columns) has its repeats side by side.
    ``fast=False`` (the import's switch, analysis.ingest.columnar): the key, hashed, whatever the order."""
    n = len(frame)
    if not set(grouped_by) <= set(columns):
        raise ValueError(f"grouped_by {list(grouped_by)} must be some of the columns compared, {list(columns)}")
    if fast:
        sorted_dup = _duplicated_sorted(frame, columns)
        if sorted_dup is None and grouped_by:
            sorted_dup = _duplicated_in_runs(frame, columns, list(grouped_by))
        if sorted_dup is not None:
            return sorted_dup
    key = np.zeros(n, dtype=np.int64)
    room = 1
    for c in columns:
        col = frame[c]
        if isinstance(col.dtype, pd.CategoricalDtype):
            codes, card = col.array.codes + np.int64(1), len(col.cat.categories) + 1
        else:
            values = col.to_numpy(dtype=float)
            nan = np.isnan(values)
            any_nan = nan.any()
            known = values[~nan] if any_nan else values
            if not len(known):
                continue
            lo, hi = known.min(), known.max()
            if hi - lo < 2**53 and (known == np.round(known)).all():  # whole numbers: a range
                offset = values - lo + 1  # 1, 2, ...; NaN -> 0
                codes, card = (np.where(nan, 0, offset) if any_nan else offset).astype(np.int64), int(hi - lo) + 2
            else:
                codes, uniques = pd.factorize(col.to_numpy(), use_na_sentinel=True)
                codes, card = codes.astype(np.int64) + 1, len(uniques) + 1
        room *= card
        if room >= 2**62:
            return frame.duplicated(subset=columns, keep="first").to_numpy()
        key *= card
        key += codes
        if _increasing(key, strict=True):
            return np.zeros(n, dtype=bool)
    if _increasing(key, strict=False):
        return np.concatenate([[False], key[1:] == key[:-1]])[:n]
    return pd.Series(key).duplicated(keep="first").to_numpy()


def _duplicated_sorted(frame: pd.DataFrame, columns: list[str]) -> np.ndarray | None:
    """``duplicated`` for rows already in order on ``columns`` (category codes, numbers without NaN), found
    by comparing each row with the one before, column by column in their own dtypes (no key, no hashing):
    once no row ties with the one before it, none repeats. None when the rows are not in that order."""
    tied = _tied(frame, columns, stop_untied=True)
    return None if tied is None else np.concatenate([[False], tied])[: len(frame)]


def _tied(frame: pd.DataFrame, columns: list[str], stop_untied: bool = False) -> np.ndarray | None:
    """For rows in order on ``columns`` (never going back, the first column most significant; category codes,
    numbers without NaN): whether each row but the first equals the row before on all of them. None when
    the rows are not in that order (or there is no column). ``stop_untied``: stop at the first column after
    which no row ties (the answer is then all False whatever the other columns)."""
    tied = None  # rows equal to the row before on the columns so far
    for c in columns:
        values = _comparable(frame[c])
        if values is None or (values.dtype.kind == "f" and np.isnan(values).any()):
            return None  # (the general path says what to do with it)
        after, before = values[1:], values[:-1]
        if (after < before if tied is None else tied & (after < before)).any():
            return None
        tied = (after == before) if tied is None else tied & (after == before)
        if stop_untied and not tied.any():
            return tied
    return tied


#: the longest group of rows (equal on ``grouped_by``) in which ``_duplicated_in_runs`` compares rows pairwise
MAX_RUN_COMPARED = 16


def _comparable(col: pd.Series) -> np.ndarray | None:
    """Category codes or float values of a column (what the row-before comparisons use); None for others."""
    if isinstance(col.dtype, pd.CategoricalDtype):
        return col.array.codes
    if pd.api.types.is_numeric_dtype(col.dtype):
        return col.to_numpy(dtype=float)
    return None


def _duplicated_in_runs(frame: pd.DataFrame, columns: list[str], by: list[str]) -> np.ndarray | None:
    """``duplicated`` for rows in order on ``by`` (some of ``columns``; no NaN): rows equal on ``by`` then form
    one run, and a row can only repeat one of the rows before it in its run. Each row is compared with the
    row k places before (k = 1 ... longest run - 1) where both are in one run, on the first other column,
    and on the rest only where that ties (a handful of rows). None when the rows are not in that order or a
    run is longer than MAX_RUN_COMPARED (e.g. a file without days)."""
    n = len(frame)
    tied = _tied(frame, by)  # rows in the run of the row before
    if tied is None:
        return None
    breaks = np.flatnonzero(~tied)
    longest = int(np.diff(breaks, prepend=-1, append=n - 1).max())
    if longest > MAX_RUN_COMPARED:
        return None
    rest = [_comparable(frame[c]) for c in columns if c not in by]
    if any(v is None for v in rest):
        return None
    dup = np.zeros(n, dtype=bool)
    same_run = tied  # row i + k in the run of row i (k = 1 here)
    for k in range(1, longest):
        if k > 1:
            same_run = same_run[:-1] & tied[k - 1 :]
        ties = same_run if not rest else same_run & _equal(rest[0][k:], rest[0][:-k])
        at = np.flatnonzero(ties)
        for values in rest[1:]:
            at = at[_equal(values[at + k], values[at])]
        dup[at + k] = True
    return dup


def _equal(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Elementwise equality, NaN equal to NaN (as ``duplicated`` counts them)."""
    eq = a == b
    if a.dtype.kind == "f":
        eq |= np.isnan(a) & np.isnan(b)
    return eq


def _increasing(key: np.ndarray, strict: bool) -> bool:
    """Whether ``key`` increases (strictly, or never decreases) along the rows; a sample is tried first."""
    if len(key) < 2:
        return True
    step = np.greater if strict else np.greater_equal
    return bool(step(key[1:1001], key[:1000][: len(key) - 1]).all() and step(key[1:], key[:-1]).all())


def drop_missing_ids(frame: pd.DataFrame, log: IssueLog) -> pd.DataFrame:
    """Rows without a patient key cannot be attributed to anyone: dropped, warning."""
    bad = frame[S.PATIENT_ID].isna().to_numpy()
    log.add_rows(
        "warning",
        "MISSING_ID",
        S.PATIENT_ID,
        frame,
        lambda n, r: f"{n} row(s) have no patient key and were left out ({r}).",
        where=bad,
    )
    return keep(frame, ~bad)


def drop_unknown_instruments(frame: pd.DataFrame, raw: pd.Series, log: IssueLog) -> pd.DataFrame:
    """Rows whose instrument is not in the registry: dropped, warning naming the spellings.

    ``raw`` is the instrument as written (aligned with ``frame``; may be None when no code is NA);
    ``frame[instrument]`` is the code or NA."""
    bad = frame[S.INSTRUMENT].isna().to_numpy()
    if bad.any():
        spellings = len(pd.unique(raw[bad].astype(object).fillna(""))) if raw is not None else 1
        known = ", ".join(registry())
        log.add_rows(
            "warning",
            "UNKNOWN_INSTRUMENT",
            S.INSTRUMENT,
            frame[bad],
            lambda n, r: (
                f"{n} row(s) name an instrument the analysis does not know ({spellings} spelling(s); {r}); "
                f"they were left out. Known instruments: {known}."
            ),
        )
    return keep(frame, ~bad)


def drop_bad_scores(
    frame: pd.DataFrame, reason: np.ndarray, bad_values: list[str], log: IssueLog, *, wide: bool = False
) -> pd.DataFrame:
    """Scores that are empty (1) or not numbers (2), per ``reason``: dropped, warning naming the values.

    In a wide file an empty cell is a visit not done: dropped with an info, not a warning."""
    if not reason.any():
        return frame
    empty, text = reason == 1, reason == 2
    if wide:
        log.add_rows(
            "info",
            "EMPTY_CELLS",
            S.SCORE,
            frame,
            lambda n, r: f"{n} empty visit cell(s) skipped (visits not done).",
            where=empty,
        )
    else:
        log.add_rows(
            "warning",
            "MISSING_SCORE",
            S.SCORE,
            frame,
            lambda n, r: f"{n} row(s) have no score and were left out ({r}).",
            where=empty,
        )
    log.add_rows(
        "warning",
        "NON_NUMERIC_SCORE",
        S.SCORE,
        frame,
        lambda n, r: f"{n} score(s) are not one clean number and were left out ({r}).",
        where=text,
    )
    return keep(frame, reason == 0)


def drop_out_of_range(frame: pd.DataFrame, log: IssueLog, fast: bool = True) -> pd.DataFrame:
    """Scores outside the instrument's range (registry min..max): dropped, warning per instrument. ``fast``: proved
    within range on runs of one instrument first (``_within_by_runs``)."""
    reg = registry()
    ins = frame[S.INSTRUMENT].array  # (a Categorical: its codes without a copy, unlike Series.cat.codes)
    cats = [str(c) for c in ins.categories]
    codes = ins.codes
    lows, highs = np.array([reg[c].min for c in cats] + [np.nan]), np.array([reg[c].max for c in cats] + [np.nan])
    score = frame[S.SCORE].to_numpy(dtype=float)
    if fast and _within_by_runs(score, codes, lows, highs):
        return frame
    bad = (score < lows[codes]) | (score > highs[codes])
    if not bad.any():
        return frame
    codes = frame[S.INSTRUMENT].to_numpy()
    for code in pd.unique(codes[bad]):
        ins = reg[code]
        sub = frame[bad & (codes == code)]
        log.add_rows(
            "warning",
            "OUT_OF_RANGE",
            S.SCORE,
            sub,
            lambda n, r, ins=ins: (
                f"{n} {ins.code} score(s) are outside its range {ins.min:g}-{ins.max:g} and were left out ({r})."
            ),
        )
    return keep(frame, ~bad)


def _within_by_runs(values: np.ndarray, codes: np.ndarray, lows: np.ndarray, highs: np.ndarray) -> bool:
    """True when every value lies within [lows, highs] of its code, proved on runs of equal codes (an export
    lists each patient's scores of one instrument together): the smallest and largest value of each run
    against its code's limits. False when that is not proved (then every row is looked at)."""
    n = len(values)
    if n == 0:
        return True
    starts = long_run_starts(codes)
    if starts is None:  # short runs: no gain
        return False
    run = codes[starts]
    low, high = lows[run], highs[run]
    # (each limit first against the smallest / largest value of all, one fast pass: instruments starting at 0
    # share their lower limit; a missing limit is NaN, which proves nothing)
    with np.errstate(invalid="ignore"):  # (NaN values are never out of range; fmin/fmax skip them)
        return bool(
            (np.fmin.reduce(values) >= low.max() or (np.fmin.reduceat(values, starts) >= low).all())
            and (np.fmax.reduce(values) <= high.min() or (np.fmax.reduceat(values, starts) <= high).all())
        )


def drop_implausible_days(frame: pd.DataFrame, log: IssueLog, what: str = "score") -> pd.DataFrame:
    """Days outside config.PLAUSIBLE_DAYS (a year before to three years after day 0): dropped, warning."""
    day = frame[S.DAY].to_numpy(dtype=float)
    if len(day) and PLAUSIBLE_DAYS[0] <= np.fmin.reduce(day) and np.fmax.reduce(day) <= PLAUSIBLE_DAYS[1]:
        return frame  # (the smallest and largest days are plausible: no row to look at)
    bad = (day < PLAUSIBLE_DAYS[0]) | (day > PLAUSIBLE_DAYS[1])
    log.add_rows(
        "warning",
        "IMPLAUSIBLE_DAY",
        S.DAY,
        frame,
        lambda n, r: (
            f"{n} {what}(s) fall more than a year before the first treatment or more than three years "
            f"after it (allowed days {PLAUSIBLE_DAYS[0]} to {PLAUSIBLE_DAYS[1]}); they were left out ({r})."
        ),
        where=bad,
    )
    return keep(frame, ~bad)


def drop_duplicates(
    frame: pd.DataFrame, columns: Iterable[str], log: IssueLog, grouped_by: Iterable[str] = (), fast: bool = True
) -> pd.DataFrame:
    """Exact duplicates (same patient, instrument, score, day and attributes): kept once, warning.
    ``grouped_by``, ``fast``: as ``duplicated``."""
    dup = duplicated(frame, list(columns), list(grouped_by), fast)
    log.add_rows(
        "warning",
        "DUPLICATE_ROWS",
        None,
        frame,
        lambda n, r: f"{n} row(s) repeat an earlier row exactly; each was kept once (repeats at {r}).",
        where=dup,
    )
    return keep(frame, ~dup)


def _varies(pid: np.ndarray, codes: np.ndarray) -> bool:
    """True when some patient has two values, or a blank beside a value."""
    known = codes >= 0
    if not known.any():
        return False
    first = np.full(int(pid.max()) + 1, -1, dtype=np.int64)
    first[pid[known][::-1]] = codes[known][::-1]  # each patient's first known value
    return bool((codes[known] != first[pid[known]]).any() or ((~known) & (first[pid] >= 0)).any())


def _constant_per_patient(frame: pd.DataFrame, attributes: list[str]) -> bool:
    """True when every patient has one combination of the attributes (blank counts as a value) on all
    rows: then there is nothing to resolve. When each patient's rows are together (patient codes never
    decrease, as in an export sorted by patient), each row is compared with the one before; otherwise one
    integer per row from the category codes is compared with the value stored for the patient (any of the
    patient's rows: if one differs, the check fails)."""
    pid = frame[S.PATIENT_ID].array.codes
    if not (pid[1:] < pid[:-1]).any():  # each patient's rows together: compare each row with the one before
        same = pid[1:] == pid[:-1]
        for attr in attributes:
            codes = frame[attr].array.codes
            if (same & (codes[1:] != codes[:-1])).any():
                return False
        return True
    cards = [len(frame[attr].cat.categories) + 1 for attr in attributes]
    room = math.prod(cards)
    if room >= 2**62:
        return False  # too many combinations for one key: let the full check decide
    key = np.zeros(len(frame), dtype=np.int32 if room < 2**31 else np.int64)
    for attr, card in zip(attributes, cards):
        key *= card
        key += frame[attr].array.codes
        key += 1
    stored = np.full(len(frame[S.PATIENT_ID].cat.categories) + 1, -1, dtype=np.int64)
    stored[pid] = key  # one of each patient's rows (code -1 lands on the spare last place)
    return bool((stored[pid] == key).all())


def resolve_conflicts(frame: pd.DataFrame, attributes: Iterable[str], log: IssueLog, fast: bool = True) -> pd.DataFrame:
    """Patient attributes must be constant per patient. Where a patient has two values, keep the most
    frequent (ties: the first seen), warning naming the patients; blanks take the patient's value. ``fast``:
    a patient's rows in a run are compared with the row before first (``_constant_per_patient``)."""
    attributes = [a for a in attributes if a in frame.columns]
    if frame.empty or not attributes or (fast and _constant_per_patient(frame, attributes)):
        return frame
    # the checks run on the distinct (patient, attributes) rows: usually one per patient
    distinct = keep(frame[[S.PATIENT_ID, *attributes]], ~duplicated(frame, [S.PATIENT_ID, *attributes], fast=fast))
    out = frame
    pid = frame[S.PATIENT_ID].array.codes.astype(np.int64)
    for attr in attributes:
        if not _varies(
            distinct[S.PATIENT_ID].array.codes.astype(np.int64), distinct[attr].array.codes.astype(np.int64)
        ):
            continue
        codes = frame[attr].array.codes.astype(np.int64)
        known = codes >= 0
        k = len(frame[attr].cat.categories) + 1
        key = pid[known] * k + codes[known]
        uk, first, counts = np.unique(key, return_index=True, return_counts=True)
        table = pd.DataFrame({"p": uk // k, "a": uk % k, "n": counts, "first": first})
        table = table.sort_values(["p", "n", "first"], ascending=[True, False, True])
        chosen = table.drop_duplicates("p").set_index("p")["a"]
        many = table["p"].value_counts()
        conflicted = many[many > 1].index.to_numpy()
        lookup = np.full(int(pid.max()) + 1, -1, dtype=np.int64)
        lookup[chosen.index.to_numpy()] = chosen.to_numpy()
        new_codes = lookup[pid]
        cats = frame[attr].cat.categories
        if out is frame:
            out = frame.copy()
        out[attr] = pd.Categorical.from_codes(new_codes, categories=cats)
        if len(conflicted):
            k = len(conflicted)
            rows_frame = frame[np.isin(pid, conflicted)]
            log.add_rows(
                "warning",
                "CONFLICTING_ATTRIBUTES",
                attr,
                rows_frame,
                lambda n, r, k=k, attr=attr: (
                    f"{k} patient(s) have more than one {attr}. A patient's {attr} must be the same on every row: the "
                    f"most frequent value was kept (ties: the first seen). Rows involved: {r}."
                ),
            )
    return out
