"""Treatment sessions: the distinct sessions of a treatments table, one per (patient, day, kind) as written
(duplicated rows count once), with each patient as a position in the ids of the analysis (:class:`Sessions`);
counts per patient and kind for the practice metrics, the patient tables and the durability episodes.
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd

from analysis import schema as S
from analysis.arrays import positions
from analysis.errors import require_columns


class Sessions:
    """The distinct treatment sessions, one per (patient, day, kind) as written (duplicated rows count once),
    with each session's ``patient`` as its position in ``ids`` (-1: a missing id or one not in ``ids``),
    ``day`` as a number (NaN when missing) and ``kind`` as the text's code in ``kinds`` (-1 missing).
    ``unmatched``: the treatments' ids (not missing) that are not in ``ids``, in order of first appearance."""

    def __init__(self, treatments: pd.DataFrame, ids: pd.Index):
        require_columns(treatments, (S.PATIENT_ID, S.KIND, S.DAY), "treatments")
        patient, patient_ids = pd.factorize(treatments[S.PATIENT_ID])
        day, _ = pd.factorize(treatments[S.DAY], sort=True)
        kind, self.kinds = pd.factorize(treatments[S.KIND])
        key = (patient.astype("int64") * (day.max(initial=0) + 2) + day + 1) * (len(self.kinds) + 1) + kind + 1
        if (key[1:] > key[:-1]).all():  # rows by patient and day (export order): every session once, no hashing
            distinct = np.ones(len(key), dtype=bool)
        else:
            distinct = ~pd.Series(key).duplicated().to_numpy()  # one number per (patient, day, kind) as written
        found = positions(ids, patient_ids)
        self.unmatched = patient_ids[found < 0]
        position = np.r_[found, -1]  # patient code -1 (missing) -> -1
        self.rows = np.flatnonzero(distinct)  # the sessions' first rows in the treatments
        self.patient = position[patient[distinct]]
        self.day = pd.to_numeric(treatments[S.DAY], errors="coerce").to_numpy(dtype=float, na_value=np.nan)[distinct]
        self.kind = kind[distinct]
        self.n = len(ids)
        self._found, self._code = found, patient[distinct]

    def appended(self, more: pd.Index) -> Sessions:
        """These sessions over ``ids`` followed by ``more`` (ids not in ``ids``, of their dtype), as
        ``Sessions(treatments, ids.append(more))`` numbers them, without coding the treatments again."""
        out = copy.copy(self)
        at = positions(more, self.unmatched)
        out._found = self._found.copy()
        out._found[self._found < 0] = np.where(at >= 0, self.n + at, -1)
        out.patient = np.r_[out._found, -1][self._code]
        out.unmatched = self.unmatched[at < 0]
        out.n = self.n + len(more)
        return out

    def of_kind(self, kind: str) -> np.ndarray:
        """Which sessions are of this kind."""
        codes = np.flatnonzero(np.asarray(self.kinds == kind))
        return self.kind == (codes[0] if len(codes) else -2)

    def count(self, kind: str | None = None, where: np.ndarray | None = None) -> np.ndarray:
        """Sessions per patient of ``ids`` (of one kind, and where ``where`` holds), as int64."""
        keep = self.patient >= 0
        if kind is not None:
            keep &= self.of_kind(kind)
        if where is not None:
            keep &= where
        return np.bincount(self.patient[keep], minlength=self.n).astype("int64")
