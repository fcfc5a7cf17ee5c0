"""Practice volumes per patient and start month, the ground of the summary and the KPI tiles: patients started,
infusions (sessions), series completion, assessment completion (definitions in ``analysis.metrics``'
docstring), computed once per call from the coded assessments and the treatment sessions (:class:`_PerPatient`).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from analysis import config, instruments, privacy
from analysis.arrays import arrow_text
from analysis.schema import (
    ASSESSMENT_COMPLETION,
    DAY,
    INFUSIONS,
    INSTRUMENT,
    KIND,
    PATIENT_ID,
    PATIENTS,
    PATIENTS_STARTED,
    SCORE,
    SERIES_COMPLETION,
    START_MONTH,
)

#: the practice's counts that need a treatments file (None without one)
TREATMENT_COUNTS = (
    INFUSIONS,
    "induction_infusions",
    "boosters",
    "maintenance",
    "induction_started",
    "series_completed",
    "infusions_dated",
    "infusions_with_score",
)
REQUIRED = (PATIENT_ID, INSTRUMENT, SCORE, DAY)


TREATMENTS_REQUIRED = (PATIENT_ID, DAY, KIND)


#: columns of Summary.by_month
BY_MONTH_COLUMNS = (
    START_MONTH,
    PATIENTS_STARTED,
    INFUSIONS,
    "induction_started",
    "series_completed",
    SERIES_COMPLETION,
    "boosters",
    "infusions_dated",
    "infusions_with_score",
    ASSESSMENT_COMPLETION,
)


def _check_frame(frame, name: str, required: tuple[str, ...]) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{name} must be a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise KeyError(f"{name} column(s) {missing} not found; available: {', '.join(map(str, frame.columns))}")


def _check_inputs(assessments, treatments) -> None:
    _check_frame(assessments, "assessments", REQUIRED)
    if treatments is not None:
        _check_frame(treatments, "treatments", TREATMENTS_REQUIRED)


def _definitions(definitions):
    from analysis.outcomes import Definitions

    return Definitions() if definitions is None else definitions


def _numeric_days(s: pd.Series) -> pd.Series:
    return pd.to_numeric(s, errors="coerce").astype("float64")


def _assessed_infusions(assessments: pd.DataFrame, sessions: pd.DataFrame) -> pd.Series:
    """Per session: True if the patient has a score on that day +-1, False if not, NA without a day."""
    scored = pd.DataFrame({PATIENT_ID: assessments[PATIENT_ID], DAY: _numeric_days(assessments[DAY])})
    scored = scored.dropna().drop_duplicates()
    # patients as integer codes shared by both tables (a missing id is -1 and matches nothing): the merges
    # below then join on numbers, not text
    codes, _ = pd.factorize(pd.concat([scored[PATIENT_ID], sessions[PATIENT_ID]], ignore_index=True))
    scored = pd.DataFrame({PATIENT_ID: codes[: len(scored)], DAY: scored[DAY].to_numpy(), "_hit": True})
    days = _numeric_days(sessions[DAY])
    hit = np.zeros(len(sessions), dtype=bool)
    for offset in (-1, 0, 1):
        probe = pd.DataFrame({PATIENT_ID: codes[len(scored) :], DAY: (days + offset).to_numpy()})
        found = probe.merge(scored, on=[PATIENT_ID, DAY], how="left")["_hit"]
        hit |= found.notna().to_numpy()
    out = pd.Series(hit, index=sessions.index, dtype="boolean")
    out[days.isna().to_numpy()] = pd.NA
    return out


def _scored_sessions(coded, sessions) -> np.ndarray:
    """Per distinct session (:class:`analysis.outcomes.Sessions` over ids that begin with ``coded.ids``): whether
    its patient has any assessment on the session's day +-1 (as :func:`_assessed_infusions`; False without a
    day). Patient and day become one integer key when the days are whole numbers, else the merge above."""
    a_day = coded.numbers[0]
    a_ok = (coded.patient >= 0) & ~np.isnan(a_day)
    s_ok = (sessions.patient >= 0) & ~np.isnan(sessions.day)
    days = np.r_[a_day[a_ok], sessions.day[s_ok]]
    if not len(days) or not (np.isfinite(days).all() and (days == np.round(days)).all()):
        return None
    low, high = days.min() - 1, days.max() + 1
    width = int(high - low) + 1
    scored = coded.patient[a_ok].astype("int64") * width + (a_day[a_ok] - low).astype("int64")
    if not (scored[1:] >= scored[:-1]).all():  # rows by patient and day (export order) are sorted already
        scored = np.sort(scored)
    hit = np.zeros(len(sessions.day), dtype=bool)
    probe = sessions.patient[s_ok].astype("int64") * width + (sessions.day[s_ok] - low).astype("int64")
    found = np.zeros(len(probe), dtype=bool)
    if len(scored):  # the first assessment key from a day before each session's: a hit when at most a day after it
        at = np.searchsorted(scored, probe - 1)
        found = (at < len(scored)) & (scored[np.minimum(at, len(scored) - 1)] <= probe + 1)
    hit[s_ok] = found
    return hit


def _patients(assessments: pd.DataFrame, treatments: pd.DataFrame | None, coded=None) -> pd.DataFrame:
    """One row per patient (with scores, or only in the treatments file): start_month, has_scores, started,
    induction (induction sessions), series_completed, boosters, infusions (sessions of any kind), and
    infusions_dated / infusions_with_score for assessment completion.

    A session is one (patient, day, kind), as in ``outcomes.patient_table``. ``coded``: the
    :class:`analysis.outcomes.Coded` assessments when the caller has them.
    """
    from analysis.outcomes import Coded, Sessions

    coded = Coded(assessments) if coded is None else coded
    people = coded.attributes  # the patients of the assessments, in the order they first appear
    only, sessions = pd.Index([]), None
    if treatments is not None:  # patients only in the treatments file, after them (sorted)
        sessions = Sessions(treatments, coded.ids)
        unmatched = sessions.unmatched
        if len(unmatched) and len(coded.ids) and arrow_text(unmatched) and arrow_text(coded.ids):
            only = unmatched.sort_values()  # what the set difference below gives for such text ids
        elif len(unmatched):
            only = pd.Index(treatments[PATIENT_ID].dropna().unique()).difference(
                pd.Index(assessments[PATIENT_ID].unique())
            )
    out = pd.DataFrame(
        {
            PATIENT_ID: pd.concat(
                [people[PATIENT_ID], pd.Series(only, dtype=people[PATIENT_ID].dtype)], ignore_index=True
            )
        }
    )
    if START_MONTH in people.columns:
        out[START_MONTH] = pd.concat(
            [people[START_MONTH], pd.Series(pd.NA, index=range(len(only)), dtype=people[START_MONTH].dtype)],
            ignore_index=True,
        )
    else:
        out[START_MONTH] = pd.Series(pd.NA, index=out.index)
    out["has_scores"] = np.r_[np.ones(len(people), dtype=bool), np.zeros(len(only), dtype=bool)]
    if treatments is None:
        out["started"] = out["has_scores"]
        for c in ("induction", "series_completed", "boosters", INFUSIONS, "infusions_dated", "infusions_with_score"):
            out[c] = pd.NA
        return out
    if len(only):
        sessions = (
            sessions.appended(only) if only.dtype == coded.ids.dtype else Sessions(treatments, coded.ids.append(only))
        )
    rows = np.r_[coded.attribute_positions, len(coded.ids) + np.arange(len(only))]  # each row's position in ids
    dated = ~np.isnan(sessions.day)
    scored = _scored_sessions(coded, sessions)
    if scored is None:  # days that are not whole numbers: the general merge
        assessed = _assessed_infusions(assessments, treatments[[PATIENT_ID, DAY, KIND]].iloc[sessions.rows])
        scored = assessed.fillna(False).astype(bool).to_numpy()
    out[INFUSIONS] = sessions.count()[rows]
    out["maintenance"] = sessions.count("maintenance")[rows]
    out["infusions_dated"] = sessions.count(where=dated)[rows]
    out["infusions_with_score"] = sessions.count(where=scored)[rows]
    out["induction"] = sessions.count("induction")[rows]
    out["series_completed"] = out["induction"] >= config.INDUCTION_SERIES_LENGTH
    out["boosters"] = sessions.count("booster")[rows]
    out["started"] = out[INFUSIONS] > 0
    return out


def _codes(assessments: pd.DataFrame, coded=None) -> list[str]:
    """Instrument codes present, in registry order (from the ``coded`` assessments' spellings when given)."""
    if coded is not None:
        present = set(coded.lookup)
    else:
        present = {instruments.normalise_code(v) for v in assessments[INSTRUMENT].dropna().unique()}
    return [c for c in instruments.registry() if c in present]


def _share(num, den) -> float:
    return math.nan if den is None or pd.isna(den) or den == 0 else float(num) / float(den)


def _month_rows(patients: pd.DataFrame, has_treatments: bool) -> pd.DataFrame:
    """by_month from the per-patient table (patients with a start month only)."""
    p = patients[patients["started"] & patients[START_MONTH].notna()]
    if not has_treatments:
        g = p.groupby(START_MONTH, sort=True).size().rename(PATIENTS_STARTED).reset_index()
        for c in BY_MONTH_COLUMNS[2:]:
            g[c] = math.nan
        return g[list(BY_MONTH_COLUMNS)]
    p = p.assign(_ind=p["induction"] > 0, _done=p["series_completed"] & (p["induction"] > 0))
    g = (
        p.groupby(START_MONTH, sort=True)
        .agg(
            patients_started=(PATIENT_ID, "size"),
            infusions=(INFUSIONS, "sum"),
            induction_started=("_ind", "sum"),
            series_completed=("_done", "sum"),
            boosters=("boosters", "sum"),
            infusions_dated=("infusions_dated", "sum"),
            infusions_with_score=("infusions_with_score", "sum"),
        )
        .reset_index()
    )
    g[SERIES_COMPLETION] = [_share(a, b) for a, b in zip(g["series_completed"], g["induction_started"])]
    g[ASSESSMENT_COMPLETION] = [_share(a, b) for a, b in zip(g["infusions_with_score"], g["infusions_dated"])]
    return g[list(BY_MONTH_COLUMNS)].astype({c: "int64" for c in BY_MONTH_COLUMNS[1:] if "completion" not in c})


def _practice(
    assessments, treatments, patients: pd.DataFrame, threshold: int, coded=None
) -> tuple[dict, pd.DataFrame, list[str]]:
    """The practice dict, the infusions-per-patient distribution and notes (small counts in them as '<11')."""
    notes = []
    L = config.INDUCTION_SERIES_LENGTH
    months = sorted(m for m in patients[START_MONTH].dropna().unique())
    practice = {
        PATIENTS: int(patients["started"].sum()),
        "patients_with_scores": int(patients["has_scores"].sum()),
        "assessments": int(len(assessments)),
        "instruments": _codes(assessments, coded),
        "first_start_month": months[0] if months else None,
        "last_start_month": months[-1] if months else None,
    }
    dist_index = [str(i) for i in range(1, L)] + [f"{L}+"]
    if treatments is None:
        practice.update(
            {k: None for k in (*TREATMENT_COUNTS, SERIES_COMPLETION, ASSESSMENT_COMPLETION, "median_infusions")}
        )
        practice["infusions_per_patient"] = None
        notes.append(
            "No treatments file: infusions, boosters, series completion and assessment completion need "
            "one; patients started counts patients with any score."
        )
        dist = pd.DataFrame({INFUSIONS: dist_index, PATIENTS: math.nan, "share": math.nan})
        return practice, dist, notes
    started_ind = patients[patients["induction"] > 0]
    counts = started_ind["induction"].clip(upper=L)
    dist_n = [int((counts == i).sum()) for i in range(1, L + 1)]
    dist = pd.DataFrame({INFUSIONS: dist_index, PATIENTS: dist_n})
    dist["share"] = [_share(n, len(started_ind)) for n in dist_n]
    n_dated = int(patients["infusions_dated"].sum())
    n_scored = int(patients["infusions_with_score"].sum())
    practice.update(
        {
            INFUSIONS: int(patients[INFUSIONS].sum()),
            "induction_infusions": int(patients["induction"].sum()),
            "boosters": int(patients["boosters"].sum()),
            "maintenance": int(patients["maintenance"].sum()),
            "induction_started": int(len(started_ind)),
            "series_completed": int(started_ind["series_completed"].sum()),
            SERIES_COMPLETION: _share(started_ind["series_completed"].sum(), len(started_ind)),
            "infusions_dated": n_dated,
            "infusions_with_score": n_scored,
            ASSESSMENT_COMPLETION: _share(n_scored, n_dated),
            "median_infusions": float(started_ind["induction"].median()) if len(started_ind) else None,
            "infusions_per_patient": dict(zip(dist_index, dist_n)),
        }
    )
    no_treat = int((patients["has_scores"] & ~patients["started"]).sum())
    if no_treat:
        notes.append(
            f"{privacy.show_count(no_treat, threshold)} patient(s) have scores but no treatment rows: not counted as started."
        )
    only_treated = int((~patients["has_scores"]).sum())
    if only_treated:
        notes.append(
            f"{privacy.show_count(only_treated, threshold)} patient(s) in the treatments file have no scores: counted as started, "
            "without attributes or a start month."
        )
    undated = practice[INFUSIONS] - n_dated
    if undated:
        notes.append(
            f"{privacy.show_count(undated, threshold)} treatment session(s) have no day: left out of assessment completion."
        )
    return practice, dist, notes


class _PerPatient:
    """What summary and kpis compute per patient, once for both: the coded assessments
    (:class:`analysis.outcomes.Coded`), the patient table (:func:`_patients`), its rows by month and each
    instrument's funnels (on first use)."""

    def __init__(self, assessments: pd.DataFrame, treatments: pd.DataFrame | None, definitions):
        from analysis.outcomes import Coded

        self.coded = Coded(assessments)
        self.patients = _patients(assessments, treatments, self.coded)
        self.has_treatments = treatments is not None
        self.definitions = definitions
        self._by_month = None
        self._funnels: dict[tuple, pd.DataFrame] = {}

    def by_month(self) -> pd.DataFrame:
        """:func:`_month_rows` of the patient table (do not change it)."""
        if self._by_month is None:
            self._by_month = _month_rows(self.patients, self.has_treatments)
        return self._by_month

    def funnel(self, code: str, by: str | None) -> pd.DataFrame:
        """The funnel of the instrument's patient outcomes (``analysis.outcomes.funnel_from_outcomes``), by a
        patient attribute or overall (do not change it)."""
        from analysis.outcomes import coded_funnel

        if (code, by) not in self._funnels:
            self._funnels[(code, by)] = coded_funnel(self.coded, code, self.definitions, by)
        return self._funnels[(code, by)]

    def has_values(self, code: str, column: str) -> bool:
        """Whether some patient with scores of the instrument has a value of the attribute ``column``."""
        if column not in self.coded.attributes.columns:
            return False
        missing = self.coded.groups(column)[2]
        patients = self.coded.outcome_arrays(code, self.definitions)[PATIENTS]
        return not missing[self.coded.attribute_rows(patients)].all()
