"""Dose and frequency of the sessions: dose per session (mg/kg, or mg for intranasal esketamine), dose bands,
cumulative dose and dose changes within a patient, the infusion number within the induction series and the
induction density (infusions in the first 14 and 21 days).

Inputs are the canonical treatments table (schema.TREATMENT_COLUMNS with, where kept, ``dose_mg``); outputs are
new tables, inputs are never changed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis import schema as S

#: per-session dose bands: mg/kg (IV, IM) and mg (intranasal esketamine, racemic intranasal)
MG_PER_KG_BANDS = ((0.5, "<0.5 mg/kg"), (0.75, "0.5-0.74 mg/kg"), (1.0, "0.75-0.99 mg/kg"), (np.inf, ">=1 mg/kg"))
MG_BANDS = ((56, "<=56 mg"), (84, "57-84 mg"), (np.inf, ">84 mg"))
UNKNOWN = "unknown"
INFUSION_NUMBER = "infusion_number"  # 1, 2, ... of a patient's induction sessions in day order (boosters: NaN)
DOSE_BAND = "dose_band"
DENSITY_DAYS = (14, 21)


def dose_band(mg_per_kg, mg) -> np.ndarray:
    """The dose band of each session: by mg/kg where it is known (bands hold their lower edge: 0.5 is in
    0.5-0.74), else by mg (bands hold their upper edge: 56 is in <=56), else 'unknown'."""
    kg = np.asarray(mg_per_kg, dtype=float)
    mg = np.asarray(mg, dtype=float)
    out = np.full(len(kg), UNKNOWN, dtype=object)
    for edges, values, side in ((MG_BANDS, mg, "left"), (MG_PER_KG_BANDS, kg, "right")):  # mg/kg wins
        labels = np.array([label for _, label in edges], dtype=object)
        at = np.searchsorted(np.array([e for e, _ in edges], dtype=float), values, side=side)
        out = np.where(np.isnan(values), out, labels[np.minimum(at, len(labels) - 1)])
    return out


def patient_codes(treatments: pd.DataFrame) -> tuple[np.ndarray, pd.Index]:
    """Each row's patient as a code 0, 1, ... (-1: no key) and the keys in sorted order (code i is key i)."""
    return pd.factorize(treatments[S.PATIENT_ID], sort=True)


def in_session_order(treatments: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """The treatment rows in patient and day order (as a stable ``sort_values([patient_id, day])``), and each
    row's patient as a code 0, 1, ... in that order (for grouping by patient without comparing keys again)."""
    codes = patient_codes(treatments)[0]
    order = np.lexsort((treatments[S.DAY].to_numpy(dtype=float, na_value=np.nan), codes))
    return treatments.take(order).reset_index(drop=True), codes[order]


def session_doses(treatments: pd.DataFrame) -> pd.DataFrame:
    """One row per treatment row, in patient and day order: patient_id, day, kind, route, the dose (mg/kg and mg),
    its band, the infusion number (induction sessions 1, 2, ...), the cumulative dose so far (mg/kg and mg, of the
    sessions with a known dose) and whether the dose changed from the patient's previous session with a dose."""
    return doses_in_order(*in_session_order(treatments))


def doses_in_order(t: pd.DataFrame, pid: np.ndarray) -> pd.DataFrame:
    """:func:`session_doses` of treatments already in session order, with their patient codes
    (:func:`in_session_order`)."""
    kg, mg = (numbers(t, c) for c in (S.DOSE, S.DOSE_MG))
    induction = (t[S.KIND] == "induction").to_numpy()
    out = pd.DataFrame({c: t[c].array for c in (S.PATIENT_ID, S.DAY, S.KIND, S.ROUTE)})
    out[S.DOSE], out[S.DOSE_MG] = kg, mg
    out[DOSE_BAND] = dose_band(kg, mg)
    number = np.full(len(t), np.nan)
    number[induction] = pd.Series(pid[induction]).groupby(pid[induction], sort=False).cumcount().to_numpy() + 1
    out[INFUSION_NUMBER] = pd.array(number, dtype="Float64")
    out["cumulative_mg_per_kg"] = pd.Series(np.nan_to_num(kg)).groupby(pid).cumsum().to_numpy()
    out["cumulative_mg"] = pd.Series(np.nan_to_num(mg)).groupby(pid).cumsum().to_numpy()
    dose = pd.Series(np.where(np.isnan(kg), mg, kg))
    prev = dose.groupby(pid).ffill().groupby(pid).shift()  # the patient's last known dose before this session
    out["dose_changed"] = (dose.notna() & prev.notna() & (dose != prev)).to_numpy()
    return out


def numbers(t: pd.DataFrame, c: str) -> np.ndarray:
    """Column ``c`` of ``t`` as floats (missing: NaN); all NaN when the file did not keep it."""
    return t[c].to_numpy(dtype=float, na_value=np.nan) if c in t.columns else np.full(len(t), np.nan)


def induction_density(treatments: pd.DataFrame) -> pd.DataFrame:
    """Per patient, in key order: infusions (induction sessions) in the first 14 and 21 days (days 0-13 and 0-20)."""
    codes, keys = patient_codes(treatments)
    ind = (treatments[S.KIND] == "induction").to_numpy(dtype=bool, na_value=False) & (codes >= 0)
    day = pd.to_numeric(treatments[S.DAY], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    out = pd.DataFrame({S.PATIENT_ID: keys})
    for d in DENSITY_DAYS:
        within = ind & (day >= 0) & (day < d)
        out[f"infusions_{d}d"] = np.bincount(codes[within], minlength=len(keys)).astype("int64")
    return out
