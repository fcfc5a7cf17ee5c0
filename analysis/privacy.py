"""Small-cell suppression and safe exports: the one place where both happen.

Suppression (DESIGN "Statistics"): any count from 1 to ``threshold - 1`` that is shown or exported is
replaced by ``"<{threshold}"``, and every value from which it could be derived in the same row
(percentages, confidence limits, complements, medians of that group) is withheld (shown empty).
A zero is not suppressed: it discloses no one.

Safe exports: text cells that begin with ``=``, ``+``, ``-``, ``@``, tab or carriage return are
prefixed with a single quote so that no spreadsheet evaluates them (OWASP "CSV injection").
"""
from __future__ import annotations

import io
from collections.abc import Iterable

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


def suppress_table(
    table: pd.DataFrame,
    counts: Iterable[str],
    derived: Iterable[str] = (),
    threshold: int = SUPPRESSION_THRESHOLD,
) -> pd.DataFrame:
    """Copy of ``table`` with small counts replaced by '<11' and, in any row where a count was
    replaced, the ``derived`` columns withheld (None). The input is not changed."""
    counts = [c for c in counts if c in table.columns]
    derived = [c for c in derived if c in table.columns]
    out = table.copy()
    if out.empty or not counts:
        return out
    small = np.zeros(len(out), dtype=bool)
    for c in counts:
        mask = out[c].map(lambda v: is_small(v, threshold)).to_numpy(dtype=bool)
        small |= mask
        if mask.any():
            out[c] = out[c].astype(object)
            out.loc[mask, c] = small_label(threshold)
    for c in derived:
        if small.any():
            out[c] = out[c].astype(object)
            out.loc[small, c] = None
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
    return neutralise_formulas(table).to_csv(index=False).encode("utf-8-sig")


def to_excel_bytes(table: pd.DataFrame, sheet: str = "data") -> bytes:
    """An .xlsx workbook of a table, formulas neutralised and every text cell stored as text."""
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as writer:
        neutralise_formulas(table).to_excel(writer, index=False, sheet_name=sheet[:31])
    return buf.getvalue()
