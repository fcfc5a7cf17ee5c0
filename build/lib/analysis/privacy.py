"""Small-cell suppression and safe exports: the one place where both happen.

Suppression (DESIGN "Statistics"): any count from 1 to ``threshold - 1`` that is shown or exported is
replaced by ``"<{threshold}"``, and every value from which it could be derived in the same row
(percentages, confidence limits, medians of that group, and a count whose difference from the count
beside it is small: the complement) is withheld (shown empty). A zero is not suppressed: it discloses
no one.

Safe exports: text cells that begin with ``=``, ``+``, ``-``, ``@``, tab or carriage return are
prefixed with a single quote so that no spreadsheet evaluates them (OWASP "CSV injection").
"""

from __future__ import annotations

import io
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
) -> pd.DataFrame:
    """Copy of ``table`` as it may be shown; the input is not changed.

    - ``counts``: a count from 1 to ``threshold - 1`` becomes '<11'.
    - ``complements``: pairs (part, whole) shown side by side, e.g. (responders, evaluable). Where
      ``whole - part`` is from 1 to ``threshold - 1`` the part is withheld (None), since subtracting would
      reveal that small count.
    - ``derived``: columns withheld in every row where a count was replaced or withheld.
    - ``shares``: {(columns, ...): (count, ...)}: those columns (e.g. a rate and its CI) are withheld only
      where one of the counts they rest on (e.g. numerator and denominator) was replaced or withheld.
    """
    counts = [c for c in counts if c in table.columns]
    out = table.copy()
    if out.empty or not counts:
        return out
    value = {c: [_numeric(v) for v in out[c]] for c in counts}
    small = {c: np.array([is_small(v, threshold) for v in value[c]], dtype=bool) for c in counts}
    withheld = {c: np.zeros(len(out), dtype=bool) for c in counts}
    for part, whole in complements:
        if part in value and whole in value:
            gap = [None if a is None or b is None else b - a for a, b in zip(value[part], value[whole])]
            withheld[part] |= np.array([is_small(g, threshold) for g in gap], dtype=bool) & ~small[part]
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
