"""The monitoring record of a session, in: its optional columns on a treatments row, and the minute-by-minute
vitals file (DESIGN "Canonical data").

* Column names: :data:`MONITORING_SYNONYMS` (merged into ``columns.COLUMN_SYNONYMS``). CADSS total (0-92) and
  CADSS-6 (0-24) are told apart by the column's name ("CADSS-6", "CADSS 6 item") or by the mapping. A blood
  pressure written ``128/82`` in one column (``bp_pre``, ``bp_peak``; ``bp`` in a vitals file) is split into
  its systolic and diastolic columns.
* Values (:func:`session_columns`): numbers outside their plausible range (``schema.MONITORING_RANGES``) are
  flagged like scores: the row is kept, the value left out, the issue in the issues table. Adverse events are
  codes or free text ("Nausea, dizziness" -> ``dizziness;nausea``; words not known -> ``other``, said in an
  issue); a blank cell means none. Rescue medication is ``no``, ``yes`` or the medication's name.
* The vitals file (:func:`is_vitals`, :func:`vitals_frame`) is recognised by its columns: a minute from the start
  of dosing and at least one of systolic, diastolic, heart rate, SpO2 (``frames._read_one`` asks this before it
  asks for a treatments file). :func:`sessions_from_vitals` makes one row per patient and day: pre = the last
  reading at or before minute 0, peak = the highest pressure and heart rate and the lowest SpO2 after it;
  :func:`merge_sessions` puts them on the treatments rows of the same patient and day (a measured value on the
  treatments row wins), or makes them the sessions when there is no treatments file.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from analysis import schema as S
from analysis.ingest import values as values_
from analysis.ingest.read import TextTable
from analysis.validate import FILE, ROW, IssueLog, rows_text

#: a whole blood pressure in one column ('128/82'): split into systolic and diastolic
BP_PRE, BP_PEAK, BP = "bp_pre", "bp_peak", "bp"
BP_SPLIT = {BP_PRE: (S.SBP_PRE, S.DBP_PRE), BP_PEAK: (S.SBP_PEAK, S.DBP_PEAK), BP: (S.SBP, S.DBP)}

MONITORING_SYNONYMS: dict[str, tuple[str, ...]] = {
    S.DOSE_MG: ("dose mg", "dose_mg", "mg", "dose in mg", "total dose mg", "esketamine dose", "spravato dose"),
    S.DURATION_MIN: ("duration min", "duration", "infusion duration", "infusion minutes", "duration minutes"),
    S.SBP_PRE: ("sbp pre", "pre sbp", "systolic pre", "pre systolic", "baseline sbp", "sbp baseline", "sbp before"),
    S.DBP_PRE: ("dbp pre", "pre dbp", "diastolic pre", "pre diastolic", "baseline dbp", "dbp baseline", "dbp before"),
    S.HR_PRE: ("hr pre", "pre hr", "heart rate pre", "pre heart rate", "pulse pre", "pre pulse", "baseline hr"),
    S.SPO2_PRE: ("spo2 pre", "sp o2 pre", "pre spo2", "o2 sat pre", "sat pre", "baseline spo2", "spo2 before"),
    S.SBP_PEAK: ("sbp peak", "peak sbp", "max sbp", "sbp max", "systolic peak", "peak systolic", "highest sbp"),
    S.DBP_PEAK: ("dbp peak", "peak dbp", "max dbp", "dbp max", "diastolic peak", "peak diastolic", "highest dbp"),
    S.HR_PEAK: ("hr peak", "peak hr", "max hr", "hr max", "peak heart rate", "max heart rate", "peak pulse"),
    S.SPO2_MIN: (
        "spo2 min",
        "sp o2 min",
        "min spo2",
        "lowest spo2",
        "spo2 lowest",
        "nadir spo2",
        "spo2 nadir",
        "min o2 sat",
    ),
    S.CADSS: ("cadss", "cadss total", "cadss score", "cadss 23", "dissociation", "dissociation score"),
    S.CADSS6: ("cadss 6", "cadss6", "cadss 6 item", "cadss 6 total", "cadss six", "cadss short"),
    S.MOAAS_MIN: ("moaas min", "moaas", "moaa s", "moaa s min", "sedation", "sedation score", "min moaas"),
    S.ADVERSE_EVENTS: ("adverse events", "adverse event", "side effects", "side effect", "aes", "ae", "reactions"),
    S.RESCUE_MEDICATION: ("rescue medication", "rescue med", "rescue meds", "rescue", "prn given", "prn medication"),
    S.MINUTES_TO_DISCHARGE: (
        "minutes to discharge",
        "time to discharge",
        "discharge minutes",
        "min to discharge",
        "recovery minutes",
        "time to discharge min",
    ),
    BP_PRE: ("bp pre", "pre bp", "blood pressure pre", "pre blood pressure", "baseline bp", "bp before"),
    BP_PEAK: ("bp peak", "peak bp", "max bp", "blood pressure peak", "peak blood pressure", "highest bp"),
    # the vitals file
    S.MINUTE: ("minute", "minutes", "min", "minute from start", "minutes from start", "elapsed min", "time min"),
    S.SBP: ("sbp", "systolic", "systolic bp", "systolic blood pressure"),
    S.DBP: ("dbp", "diastolic", "diastolic bp", "diastolic blood pressure"),
    S.HR: ("hr", "heart rate", "pulse"),
    S.SPO2: ("spo2", "sp o2", "o2 sat", "oxygen saturation", "sao2", "sat"),
    BP: ("bp", "blood pressure", "nibp"),
}
#: the ranges of the vitals file's readings (as the session columns')
VITALS_RANGES = {S.MINUTE: (-240, 1440), S.SBP: (50, 300), S.DBP: (20, 200), S.HR: (20, 250), S.SPO2: (50, 100)}
SESSION_TARGETS = tuple(S.MONITORING_COLUMNS) + (BP_PRE, BP_PEAK)
VITALS_READINGS = (S.SBP, S.DBP, S.HR, S.SPO2)

#: words of free-text adverse events -> code (compared lower-cased, by whole word or phrase)
EVENT_WORDS = {
    "nausea": "nausea",
    "nauseous": "nausea",
    "nauseated": "nausea",
    "vomiting": "vomiting",
    "vomited": "vomiting",
    "vomit": "vomiting",
    "emesis": "vomiting",
    "headache": "headache",
    "head ache": "headache",
    "dizziness": "dizziness",
    "dizzy": "dizziness",
    "lightheaded": "dizziness",
    "light headed": "dizziness",
    "vertigo": "dizziness",
    "drowsiness": "drowsiness",
    "drowsy": "drowsiness",
    "somnolence": "drowsiness",
    "sleepy": "drowsiness",
    "sedation": "drowsiness",
    "hypertension": "hypertension",
    "htn": "hypertension",
    "high bp": "hypertension",
    "elevated bp": "hypertension",
    "high blood pressure": "hypertension",
    "elevated blood pressure": "hypertension",
    "tachycardia": "tachycardia",
    "tachy": "tachycardia",
    "desaturation": "desaturation",
    "desat": "desaturation",
    "hypoxia": "desaturation",
    "low spo2": "desaturation",
    "emergence reaction": "emergence_reaction",
    "emergence": "emergence_reaction",
    "agitation": "emergence_reaction",
    "hallucinations": "emergence_reaction",
    "anxiety": "anxiety",
    "anxious": "anxiety",
    "panic": "anxiety",
    "other": "other",
}
NO_EVENT = {"", "none", "no", "nil", "n a", "na", "nkae", "no ae", "no aes", "0", "denied", "none reported"}
NO_RESCUE = {"", "no", "none", "n", "0", "false", "nil", "not given"}
YES_RESCUE = {"yes", "y", "1", "true", "given"}


def is_sessions(target: dict[str, str]) -> bool:
    """Whether a file's mapped columns hold a session's monitoring record."""
    return any(t in target for t in SESSION_TARGETS)


def is_vitals(target: dict[str, str]) -> bool:
    """Whether a file's mapped columns make it a minute-by-minute vitals file."""
    return S.MINUTE in target and any(t in target for t in (*VITALS_READINGS, BP))


# --- values ---------------------------------------------------------------------------------------------------
def _bp(text) -> tuple[float, float, int]:
    """(systolic, diastolic, reason) of '128/82' (reason as values.number: 0 read, 1 empty, 2 not a pressure)."""
    if text is None or str(text).strip() == "":
        return np.nan, np.nan, 1
    m = re.fullmatch(r"\s*(\d{2,3}(?:[.,]\d+)?)\s*/\s*(\d{2,3}(?:[.,]\d+)?)\s*(mm\s*hg)?\s*", str(text), re.IGNORECASE)
    if not m:
        return np.nan, np.nan, 2
    return float(m.group(1).replace(",", ".")), float(m.group(2).replace(",", ".")), 0


def event_codes(text) -> tuple[str | None, list[str]]:
    """(';'-joined sorted codes or None for none, words not known) of one adverse-events cell."""
    if text is None:
        return None, []
    s = re.sub(r"[^0-9a-z;,/|+&]+", " ", str(text).lower().replace("_", " ")).strip()
    if s in NO_EVENT:
        return None, []
    codes, unknown = set(), []
    for part in re.split(r"\s*(?:[;,/|+&]|\band\b)\s*", s):
        part = part.strip()
        if part in NO_EVENT:
            continue
        hit = EVENT_WORDS.get(part) or next((c for w, c in EVENT_WORDS.items() if re.search(rf"\b{w}\b", part)), None)
        if hit is None and part.replace(" ", "_") in S.ADVERSE_EVENT_CODES:
            hit = part.replace(" ", "_")
        if hit is None:
            unknown.append(part)
            hit = "other"
        codes.add(hit)
    return (";".join(sorted(codes)) if codes else None), unknown


def rescue_value(text) -> str | None:
    """'no', 'yes' or the medication's name (lower case); None for a blank cell."""
    if text is None:
        return None
    s = re.sub(r"\s+", " ", str(text).strip().lower())
    if s in NO_RESCUE:
        return "no" if s else None
    return "yes" if s in YES_RESCUE else s


def _flag_range(
    values: np.ndarray, target: str, limits: tuple[float, float], source: str, rows, log, file
) -> np.ndarray:
    lo, hi = limits
    out = (values < lo) | (values > hi)
    if out.any():
        log.add(
            "warning",
            "MONITORING_OUT_OF_RANGE",
            f"{file}: {int(out.sum())} {target} value(s) are outside {lo:g}-{hi:g}; the sessions were "
            f"kept without them ({rows_text(rows[out])}).",
            source,
            rows[out].tolist(),
        )
        values = np.where(out, np.nan, values)
    return values


def _numbers(raw: TextTable, source: str, target: str, limits, log: IssueLog, file: str) -> np.ndarray:
    values, reason, bad = values_.numbers(raw, source)
    if bad:
        rows = raw.rows[reason == 2]
        log.add(
            "warning",
            "BAD_MONITORING_VALUE",
            f"{file}: {len(rows)} {target} value(s) are not numbers; the sessions were kept without "
            f"them ({rows_text(rows)}).",
            source,
            rows.tolist(),
        )
    return _flag_range(values, target, limits, source, raw.rows, log, file)


def _split_bp(raw: TextTable, source: str, pair, ranges, log: IssueLog, file: str) -> dict[str, np.ndarray]:
    codes, distinct = raw.distinct(source)
    parsed = [_bp(v) for v in distinct] + [(np.nan, np.nan, 1)]
    arr = np.array([(p[0], p[1]) for p in parsed], dtype=float)[codes]
    reason = np.array([p[2] for p in parsed], dtype=np.int8)[codes]
    if (reason == 2).any():
        rows = raw.rows[reason == 2]
        log.add(
            "warning",
            "BAD_BLOOD_PRESSURE",
            f"{file}: {len(rows)} blood pressure(s) are not written as systolic/diastolic, e.g. 128/82; "
            f"the sessions were kept without them ({rows_text(rows)}).",
            source,
            rows.tolist(),
        )
    return {t: _flag_range(arr[:, k], t, ranges[t], source, raw.rows, log, file) for k, t in enumerate(pair)}


def session_columns(raw: TextTable, target: dict[str, str], log: IssueLog, file: str) -> dict:
    """The monitoring columns of a treatments file, as internal-frame columns ({canonical column: values})."""
    out: dict = {}
    for bp, pair in BP_SPLIT.items():
        if bp in target and bp != BP:
            out.update(_split_bp(raw, target[bp], pair, S.MONITORING_RANGES, log, file))
    for c, limits in S.MONITORING_RANGES.items():
        if c in target:
            out[c] = _numbers(raw, target[c], c, limits, log, file)
    if S.ADVERSE_EVENTS in target:
        codes, parsed = _per_distinct(raw, target[S.ADVERSE_EVENTS], event_codes)
        out[S.ADVERSE_EVENTS] = pd.array(np.array([p[0] for p in parsed], dtype=object)[codes], dtype="str")
        unknown = raw.rows[np.array([bool(p[1]) for p in parsed], dtype=bool)[codes]]
        if len(unknown):  # (the rows, never the words: a free-text cell may name someone)
            log.add(
                "info",
                "ADVERSE_EVENT_OTHER",
                f"{file}: adverse events not among the known codes were counted as 'other' ({rows_text(unknown)}); "
                f"the codes are {', '.join(S.ADVERSE_EVENT_CODES)}.",
                target[S.ADVERSE_EVENTS],
                unknown.tolist(),
            )
    if S.RESCUE_MEDICATION in target:
        codes, parsed = _per_distinct(raw, target[S.RESCUE_MEDICATION], rescue_value)
        out[S.RESCUE_MEDICATION] = pd.array(np.array(parsed, dtype=object)[codes], dtype="str")
    return out


def _per_distinct(raw: TextTable, source: str, parse) -> tuple[np.ndarray, list]:
    """``parse`` of each distinct cell of ``source`` (a practice writes few distinct event lists), and each row's
    index into them: (codes, parsed values; the last one is a blank cell's)."""
    codes, distinct = raw.distinct(source)
    parsed = [parse(v) for v in distinct] + [parse(None)]
    return np.where(codes < 0, len(distinct), codes), parsed


def attach(treatments: pd.DataFrame, internal: pd.DataFrame) -> pd.DataFrame:
    """The canonical treatments table with the monitoring columns the file held (numbers float64, text str),
    in the order of ``schema.MONITORING_COLUMNS``."""
    present = [c for c in S.MONITORING_COLUMNS if c in internal.columns]
    if not present:
        return treatments
    out = treatments.copy()
    for c in present:
        v = internal[c]
        if c in S.MONITORING_RANGES:
            out[c] = np.asarray(v, dtype=float)
        else:
            out[c] = pd.array(v.astype(object).where(v.notna(), None).to_numpy(), dtype="str")
    return out


# --- the vitals file ------------------------------------------------------------------------------------------
def vitals_frame(raw: TextTable, cols, fi: int, file: str, log: IssueLog) -> pd.DataFrame:
    """The internal frame of a vitals file (``cols``: its columns.Columns): file, row, patient, day and/or date,
    minute and the readings."""
    from analysis.ingest import days as D

    target = cols.target
    data: dict = {
        FILE: np.full(raw.table.num_rows, fi, dtype=np.int16),
        ROW: raw.rows,
        S.PATIENT_ID: values_.text_column(raw, target[S.PATIENT_ID]),
    }
    if BP in target:
        data.update(_split_bp(raw, target[BP], BP_SPLIT[BP], VITALS_RANGES, log, file))
    for c, limits in VITALS_RANGES.items():
        if c in target:
            data[c] = _numbers(raw, target[c], c, limits, log, file)
    if S.DAY in target:
        data[S.DAY] = values_.numbers(raw, target[S.DAY], thousands=raw.delimiter == "comma")[0]
    if cols.date_target:
        data[S.DATE], unreadable, _ = D.date_column(raw, target[cols.date_target], cols.date_target)
        bad_date = None if unreadable is None else (unreadable, "date(s) could not be read")
        D.unreadable_days(data, None, bad_date, target, cols.date_target, raw.rows, log, file)
    frame = pd.DataFrame(data, copy=False)
    no_minute = np.isnan(frame[S.MINUTE].to_numpy(dtype=float))
    log.add_rows(
        "warning",
        "MISSING_MINUTE",
        S.MINUTE,
        frame,
        lambda n, r: f"{n} vitals reading(s) have no minute and were left out ({r}).",
        where=no_minute,
    )
    return frame[~no_minute]


def sessions_from_vitals(vitals: pd.DataFrame, key: str) -> pd.DataFrame:
    """One row per (patient, ``key``: day or date) of a vitals frame: pre = the last reading at or before minute 0
    (each vital on its own), peak = the highest systolic, diastolic and heart rate and the lowest SpO2 after it."""
    v = vitals.copy()
    v[S.PATIENT_ID] = v[S.PATIENT_ID].astype(object)
    keys = [S.PATIENT_ID, key]
    v = v[v[key].notna()].sort_values(keys + [S.MINUTE], kind="stable")
    before, after = v[v[S.MINUTE] <= 0], v[v[S.MINUTE] > 0]
    names = {S.SBP: (S.SBP_PRE, S.SBP_PEAK), S.DBP: (S.DBP_PRE, S.DBP_PEAK), S.HR: (S.HR_PRE, S.HR_PEAK)}
    names[S.SPO2] = (S.SPO2_PRE, S.SPO2_MIN)
    parts = []
    for reading, (pre, peak) in names.items():
        if reading not in v.columns:
            continue
        parts.append(before.dropna(subset=[reading]).groupby(keys)[reading].last().rename(pre))
        worst = after.groupby(keys)[reading]
        parts.append((worst.min() if reading == S.SPO2 else worst.max()).rename(peak))
    sessions = pd.concat(parts, axis=1).reset_index() if parts else pd.DataFrame(columns=keys)
    return sessions


def vitals_days(vitals: pd.DataFrame, origins) -> np.ndarray:
    """The day of each vitals row from its patient's first treatment (``origins`` of days.origins)."""
    pid = pd.Categorical(vitals[S.PATIENT_ID].astype(object), categories=origins.patients).codes
    inside = pid >= 0
    day = np.full(len(vitals), np.nan)
    if S.DAY in vitals.columns and origins.first_day is not None:
        shift = np.where(inside, origins.first_day[np.where(inside, pid, 0)], np.nan)
        day = vitals[S.DAY].to_numpy(dtype=float) - shift
    if S.DATE in vitals.columns and origins.first_date is not None:
        first = np.where(inside, origins.first_date[np.where(inside, pid, 0)], np.nan)
        day = np.where(np.isnan(day), vitals[S.DATE].to_numpy(dtype=float) - first, day)
    if S.DAY in vitals.columns and origins.first_day is None:
        day = np.where(np.isnan(day), vitals[S.DAY].to_numpy(dtype=float), day)
    return day


def merge_sessions(treat: pd.DataFrame, sessions: pd.DataFrame, log: IssueLog) -> pd.DataFrame:
    """The internal treatments frame (with days) with the sessions derived from a vitals file on its rows of the
    same patient and day; a value measured on the treatments row wins. Sessions without a treatments row are said
    in an issue and left out."""
    t = treat.copy()
    key = pd.Series(list(zip(t[S.PATIENT_ID].astype(object), t[S.DAY].to_numpy(dtype=float))))
    s = sessions.set_index([S.PATIENT_ID, S.DAY])
    matched = key.isin(s.index).to_numpy()
    for c in s.columns:
        derived = s[c].reindex(pd.MultiIndex.from_tuples(key.tolist()) if len(key) else s.index[:0]).to_numpy()
        derived = np.asarray(derived, dtype=float)
        if c in t.columns:
            t[c] = np.where(np.isnan(t[c].to_numpy(dtype=float)), derived, t[c].to_numpy(dtype=float))
        else:
            t[c] = derived
    unmatched = len(s) - int(pd.Index(key).isin(s.index).sum() if len(key) else 0)
    unmatched = len(set(s.index) - set(key.tolist()))
    if unmatched:
        log.add(
            "warning",
            "VITALS_WITHOUT_SESSION",
            f"The vitals file has readings on {unmatched} patient-day(s) with no session in the treatments file; "
            "they were left out. Add those sessions to the treatments file, or check the days or dates.",
            S.MINUTE,
        )
    if matched.any():
        log.add(
            "info",
            "VITALS_DERIVED",
            f"Vitals before dosing and at the worst point of {int(matched.sum())} session(s) were taken from the "
            "vitals file (pre: the last reading at or before minute 0; peak: the highest pressure and heart rate and "
            "the lowest SpO2 after it).",
        )
    return t


def sessions_as_treatments(vitals_parts: list[pd.DataFrame], log: IssueLog) -> pd.DataFrame:
    """Without a treatments file: the sessions of the vitals file as the internal treatments frame (kind
    'induction', said in an issue), so that day 0 is the first monitored session."""
    v = pd.concat(vitals_parts, ignore_index=True)
    key = S.DATE if S.DATE in v.columns else S.DAY
    first = v.dropna(subset=[key]).drop_duplicates([S.PATIENT_ID, key])
    out = pd.DataFrame(
        {
            FILE: first[FILE].to_numpy(),
            ROW: first[ROW].to_numpy(),
            S.PATIENT_ID: pd.Categorical(first[S.PATIENT_ID].astype(object)),
            S.KIND: pd.Categorical(["induction"] * len(first)),
            key: first[key].to_numpy(dtype=float),
        }
    )
    log.add(
        "info",
        "SESSIONS_FROM_VITALS",
        f"There is no treatments file: the {len(out)} patient-days of the vitals file were counted as sessions "
        "(kind induction; day 0 is each patient's first).",
    )
    return out


def merge_vitals(treat: pd.DataFrame, vitals_parts: list[pd.DataFrame], origins, log: IssueLog) -> pd.DataFrame:
    """The internal treatments frame (with days) with the pre and peak vitals of the vitals file's sessions."""
    v = pd.concat(vitals_parts, ignore_index=True)
    v = v.assign(**{S.PATIENT_ID: v[S.PATIENT_ID].astype(object)})
    day = vitals_days(v, origins) if origins is not None else v.get(S.DAY, pd.Series(np.nan, index=v.index))
    v = v.assign(**{S.DAY: np.asarray(day, dtype=float)}).drop(columns=S.DATE, errors="ignore")
    return merge_sessions(treat, sessions_from_vitals(v, S.DAY), log)
