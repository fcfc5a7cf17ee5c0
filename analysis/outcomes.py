"""Patient outcomes: baseline, response, remission per patient and instrument, and the outcome funnel.

Model (DESIGN "Outcome definitions"), per patient and instrument, days counted from day 0:

* scores of one instrument on the same day are merged into their **mean** (files have no reliable row
  order, so no "first" or "last" of a day exists); rows without a score or a day are ignored;
* **baseline**: the last score with day in ``baseline_window`` (default [-30, 0]);
* **response assessment**: the first score with day in ``response_window`` (default [14, 31]);
* **percent change** = (baseline - score) / baseline; a baseline of 0 is not evaluable;
* **response**: percent change >= the instrument's response drop; **remission**: score <= remission max;
  both over the **evaluable** (baseline above 0 and a response assessment), NA for the others.
  Comparisons use a tolerance of 1e-9, so that 9 -> 4.5 is a 50% drop;
* **durability episode** (responders with a later score): origin = response-assessment day; **loss of
  response** = the first later score whose percent change is below the response drop; with
  ``confirm_loss`` the next score must be below it too (event day = the first of the two), a drop that
  the next score undoes is no event, and a drop on the last score cannot be confirmed: the episode is
  censored at the score before it; otherwise censored at the last score;
* **boosters** (treatments of kind "booster" on a day after the origin): "ignore" (default), "censor"
  (censor at the first booster when it comes before the end the episode has without boosters; a loss
  on the booster's day, or one whose confirming score follows the booster, still counts) or "event"
  (time to the first booster is the event, whenever it comes; censored at the last score when there is
  none). Boosters on or before the origin play no part.

Every threshold and window is a setting of :class:`Definitions`, the definition card (``analysis.card``: saved
to and loaded from JSON or YAML; its names are importable from here too). The durability episodes are built
by ``analysis.response_episodes``, the treatment sessions counted by ``analysis.sessions``; the assessments
are coded once for all of them (:class:`Coded`).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from analysis import config, instruments
from analysis import schema as S
from analysis.arrays import arrow_text, first_per, first_rows, pick, run_numbers, run_starts, sort_order
from analysis.card import Definitions, load_card, save_card
from analysis.errors import DataError, require_columns
from analysis.sessions import Sessions

__all__ = [
    "BASELINE_BAND",
    "FUNNEL_COMPLEMENTS",
    "FUNNEL_COUNTS",
    "INDUCTION_COMPLETED",
    "TOLERANCE",
    "UNKNOWN_GROUP",
    "Coded",
    "Definitions",
    "Sessions",
    "baseline_bands",
    "baseline_rows",
    "check_group_column",
    "coded_funnel",
    "funnel",
    "funnel_from_outcomes",
    "group_labels",
    "instrument_scores",
    "load_card",
    "patient_outcomes",
    "patient_table",
    "patient_table_from",
    "save_card",
]

#: tolerance of the threshold comparisons (percent change, remission max)
TOLERANCE = 1e-9

#: extra columns of the per-patient tables
BASELINE_BAND = "baseline_band"
INDUCTION_COMPLETED = "induction_completed"
UNKNOWN_GROUP = "unknown"


# --- per-patient tables --------------------------------------------------------------------


def _whole(s: pd.Series) -> pd.Series:
    """Integer days as Int64 when they are whole numbers (they are after validation)."""
    v = s.to_numpy() if s.dtype == np.float64 else None
    if v is not None and np.isfinite(v[~np.isnan(v)]).all():  # the common case, without pandas' conversions
        missing = np.isnan(v)
        if (v[~missing] == np.round(v[~missing])).all():
            whole = np.where(missing, 0, np.round(v)).astype("int64")
            return pd.Series(pd.arrays.IntegerArray(whole, missing), index=s.index, name=s.name)
        return s.astype("Float64")
    v = pd.to_numeric(s, errors="coerce")
    finite = v.dropna()
    if (finite == np.round(finite)).all():
        return v.round().astype("Int64")
    return v.astype("Float64")


def _attributes(assessments: pd.DataFrame) -> pd.DataFrame:
    """One row per patient: patient_id and the patient attributes present (first non-missing value), in the
    order patients first appear."""
    cols = [c for c in S.PATIENT_ATTRIBUTES if c in assessments.columns]
    if not cols:
        return pd.DataFrame({S.PATIENT_ID: assessments[S.PATIENT_ID].dropna().unique()})
    # groupby(sort=False) keeps the order of first appearance and drops missing ids: the unique ids' order
    return assessments[[S.PATIENT_ID] + cols].groupby(S.PATIENT_ID, sort=False).first().reset_index()


class Coded:
    """The assessments as the outcome definitions read them, coded once and shared by every instrument and
    analysis of one call: patient ids as positions in their sorted distinct values (-1 missing), instrument
    spellings as codes, day and score as numbers, and the per-patient attributes (:func:`_attributes`).
    Building it is one pass over the text columns; each instrument's scores are then integer work."""

    def __init__(self, assessments: pd.DataFrame):
        require_columns(assessments, (S.PATIENT_ID, S.INSTRUMENT, S.SCORE, S.DAY), "assessments")
        self.assessments = assessments
        self.spelling, spellings = pd.factorize(assessments[S.INSTRUMENT])
        self.lookup = [instruments.normalise_code(v) for v in spellings]
        self.patient, ids = pd.factorize(assessments[S.PATIENT_ID], sort=True)
        # text ids get the dtype a groupby key infers for them
        self.ids = pd.Index(ids.to_numpy()) if ids.dtype == object else pd.Index(ids)
        self.day = pd.to_numeric(assessments[S.DAY], errors="coerce")
        self.score = pd.to_numeric(assessments[S.SCORE], errors="coerce")
        self._numbers = None
        self._attributes = None
        self._usable = {}
        self._scores = {}
        self._arrays = {}
        self._outcome_arrays = {}
        self._groups = {}
        self._attribute_positions = None
        self._attribute_rows = None

    @property
    def numbers(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(day, score) of every row as floats (NaN missing) and whether the row is usable: a patient, a day and
        a score (computed on first use; do not change them)."""
        if self._numbers is None:
            day = self.day.to_numpy(dtype=float, na_value=np.nan)
            score = self.score.to_numpy(dtype=float, na_value=np.nan)
            self._numbers = (day, score, (self.patient >= 0) & ~np.isnan(day) & ~np.isnan(score))
        return self._numbers

    @property
    def attributes(self) -> pd.DataFrame:
        """:func:`_attributes` of the assessments (computed on first use; from the coded ids when the ids and
        attributes are pyarrow-backed text, as the importer gives them)."""
        if self._attributes is None:
            cols = [c for c in S.PATIENT_ATTRIBUTES if c in self.assessments.columns]
            if cols and all(arrow_text(self.assessments[c]) for c in [S.PATIENT_ID] + cols):
                self._attributes = self._first_values(cols)
            else:
                self._attributes = _attributes(self.assessments)
        return self._attributes

    def _first_values(self, cols: list[str]) -> pd.DataFrame:
        """:func:`_attributes` from the patient codes: each patient's first row (a run start of the codes),
        patients in the order of those rows, and per column the first row with a value (NA for none)."""
        n = len(self.ids)
        first = first_rows(self.patient, n)  # every id has a row
        order = np.argsort(first, kind="stable")  # the patients (positions in ids) in order of first appearance
        self._attribute_positions = order
        out = {S.PATIENT_ID: self.ids.take(order).array}
        for c in cols:
            values = self.assessments[c]
            at = first[order]
            missing = values.isna().to_numpy()
            if missing[at].any():  # patients whose first row has no value: their first row with one, if any
                need = np.zeros(n, dtype=bool)
                need[order[missing[at]]] = True
                found = first_rows(self.patient, n, ~missing & need[np.maximum(self.patient, 0)])
                at = np.where(missing[at], found[order], at)
            out[c] = values.array.take(at, allow_fill=True)
        return pd.DataFrame(out)

    @property
    def attribute_positions(self) -> np.ndarray:
        """The position in :attr:`ids` of each row of :attr:`attributes`."""
        attributes = self.attributes  # from the coded ids, it sets the positions too
        if self._attribute_positions is None:
            self._attribute_positions = self.ids.get_indexer(attributes[S.PATIENT_ID])
        return self._attribute_positions

    def attribute_rows(self, patients: np.ndarray) -> np.ndarray:
        """Rows of :attr:`attributes` of patients given as positions in :attr:`ids`."""
        if self._attribute_rows is None:
            rows = np.full(len(self.ids), -1)
            rows[self.attribute_positions] = np.arange(len(self.attribute_positions))
            self._attribute_rows = rows
        return self._attribute_rows[patients]

    def scores(self, code: str) -> tuple[pd.DataFrame, np.ndarray]:
        """:func:`instrument_scores` of a registry code, and each row's patient as its position in :attr:`ids`
        (computed once per code; do not change the table)."""
        if code not in self._scores:
            self._scores[code] = self._instrument_scores(code)
        return self._scores[code]

    def score_arrays(self, code: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The numbers of :meth:`scores` without its table: (patients as positions in :attr:`ids`, days, scores)
        as float arrays (computed once per code; do not change them)."""
        if code not in self._arrays:
            rows, order, patients, days, first = self._usable_rows(code)
            if first.all():
                self._arrays[code] = (patients, days, self.numbers[1][rows[order]])
            else:  # same-day means: the table's
                table, patients = self.scores(code)
                self._arrays[code] = (
                    patients,
                    table[S.DAY].to_numpy(dtype=float),
                    table[S.SCORE].to_numpy(dtype=float),
                )
        return self._arrays[code]

    def _usable_rows(self, code: str):
        """The instrument's rows with a patient, a day and a score, and their order by patient (sorted ids) and
        day, ties in the rows' order: (rows, order, the sorted rows' patients and days, where each patient-day
        starts among them). Computed once per code."""
        if code not in self._usable:
            day, _, usable = self.numbers
            mine = np.array([c == code for c in self.lookup] + [False])  # this instrument's spellings (-1: none)
            rows = np.flatnonzero(mine[self.spelling] & usable)
            if not len(rows):
                present = sorted({c for c in self.lookup if c is not None})
                raise DataError(
                    f"there are no {code} scores in the data; instruments present: "
                    f"{', '.join(present) if present else 'none'}"
                )
            patients, days = self.patient[rows], day[rows]
            order = sort_order(patients, days)
            patients, days = patients[order], days[order]
            self._usable[code] = (rows, order, patients, days, run_starts(patients, days))
        return self._usable[code]

    def _instrument_scores(self, code: str) -> tuple[pd.DataFrame, np.ndarray]:
        rows, order, patients, days, first = self._usable_rows(code)
        day = self.day.iloc[rows]
        if not pd.api.types.is_numeric_dtype(self.assessments[S.DAY]):  # text days: the dtype of these rows' numbers
            day = pd.to_numeric(self.assessments[S.DAY].iloc[rows], errors="coerce")
        score = self.score.iloc[rows]
        if not first.all():
            # same-day scores: pandas' group mean, whose rounding depends on the rows' order (kept exactly)
            table = pd.DataFrame({S.PATIENT_ID: self.assessments[S.PATIENT_ID].iloc[rows], S.DAY: day, S.SCORE: score})
            merged = table.groupby([S.PATIENT_ID, S.DAY], sort=True)[S.SCORE].agg(["mean", "size"]).reset_index()
            out = merged.rename(columns={"mean": S.SCORE}).sort_values([S.PATIENT_ID, S.DAY], kind="stable")
            out.attrs["same_day"] = int((out.pop("size") > 1).sum())  # patient-days whose scores were averaged
            return out.reset_index(drop=True), patients[first]
        score = score.iloc[order].reset_index(drop=True)
        if score.dtype.kind != "f":  # whole-number scores: the float dtype their mean would have
            score = score.astype("Float64" if isinstance(score.dtype, pd.api.extensions.ExtensionDtype) else "float64")
        out = pd.DataFrame(
            {S.PATIENT_ID: self.ids.take(patients), S.DAY: day.iloc[order].reset_index(drop=True), S.SCORE: score}
        )
        out.attrs["same_day"] = 0
        return out, patients

    def outcome_arrays(self, code: str, definitions: Definitions) -> dict:
        """:func:`_outcome_arrays` of the instrument's :meth:`score_arrays` (computed once per code and card)."""
        key = (code, definitions)
        if key not in self._outcome_arrays:
            self._outcome_arrays[key] = _outcome_arrays(*self.score_arrays(code), instruments.get(code), definitions)
        return self._outcome_arrays[key]

    def groups(self, column: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per row of :attr:`attributes`: its :func:`group_labels` group of ``column`` as a position in the
        sorted distinct labels, the labels, and whether the value is missing (computed once per column)."""
        if column not in self._groups:
            values = self.attributes[column]
            codes, labels = pd.factorize(group_labels(values), sort=True)
            self._groups[column] = (codes, np.asarray(labels, dtype=object), values.isna().to_numpy())
        return self._groups[column]


def instrument_scores(assessments: pd.DataFrame, instrument) -> pd.DataFrame:
    """Scores of one instrument: patient_id, day, score; one row per patient and day (same-day mean), sorted."""
    require_columns(assessments, (S.PATIENT_ID, S.INSTRUMENT, S.SCORE, S.DAY), "assessments")
    return Coded(assessments).scores(instruments.get(instrument).code)[0].copy()


def _achieves_drop(baseline, score, threshold):
    """(baseline - score) / baseline >= threshold, with the comparison tolerance; baseline > 0."""
    return (baseline - score) / baseline >= threshold - TOLERANCE


def patient_outcomes(
    assessments: pd.DataFrame, instrument, definitions: Definitions | None = None, coded: Coded | None = None
) -> pd.DataFrame:
    """One row per patient with any score of the instrument: baseline, response assessment, percent
    change, evaluable, response, remission (NA when not evaluable), baseline band, last day and
    has_follow_up (a responder with a score after the response assessment). ``coded``: the
    :class:`Coded` assessments when the caller already has them (the same result, less work)."""
    d = definitions or Definitions()
    ins = instruments.get(instrument)
    coded = Coded(assessments) if coded is None else coded
    scores, patients = coded.scores(ins.code)
    return _outcomes(scores, patients, ins, d, coded)


def baseline_rows(scores, patients, d):
    """The baseline of the definitions ``d`` found in an instrument's scores (:meth:`Coded.scores` and its
    patients: each patient's scores one run of rows, by day), for analyses built on it: (run starts, each
    row's patient 0..n-1, n, days, scores, each patient's baseline row: the last of its run in the baseline
    window, -1 for none)."""
    days = scores[S.DAY].to_numpy(dtype=float)
    values = scores[S.SCORE].to_numpy(dtype=float)
    return _baseline_arrays(patients, days, values, d)


def _baseline_arrays(patients, days, values, d):
    """:func:`baseline_rows` of the scores as arrays (patients, days, scores)."""
    b0, b1 = d.baseline_window
    starts = run_starts(patients)
    codes, n = run_numbers(starts)
    return starts, codes, n, days, values, first_per(codes, (days >= b0) & (days <= b1), n, last=True)


def _outcome_arrays(patients, days, values, ins, d) -> dict:
    """The outcome definitions on one instrument's scores as arrays (sorted by patient and day, one per
    patient-day; patients as positions in :attr:`Coded.ids`), one value per patient: ``patients``, the
    ``baseline``/``response_score``/``response_day``/``last_day`` (and ``baseline_day``; NaN for none), and the
    booleans ``evaluable``, ``response`` and ``remission`` (False when not evaluable; ``remission`` None without
    a remission rule) and ``follow_up``."""
    (r0, r1) = d.response_window
    starts, codes, n, days, values, base = _baseline_arrays(patients, days, values, d)
    resp = first_per(codes, (days >= r0) & (days <= r1), n)
    end = np.flatnonzero(np.r_[starts[1:], True])  # each patient's last row
    baseline, response_score = pick(values, base), pick(values, resp)
    response_day, last_day = pick(days, resp), pick(days, end)
    evaluable = (baseline > 0) & ~np.isnan(response_score)
    with np.errstate(divide="ignore", invalid="ignore"):
        response = evaluable & _achieves_drop(baseline, response_score, d.response_threshold(ins.code))
        pct_change = np.where(evaluable, (baseline - response_score) / baseline, np.nan)
    rmax = d.remission_threshold(ins.code)
    remission = None if rmax is None else evaluable & (response_score <= rmax + TOLERANCE)
    return {
        S.PATIENTS: patients[starts],
        S.BASELINE: baseline,
        "baseline_day": pick(days, base),
        "response_score": response_score,
        "response_day": response_day,
        "last_day": last_day,
        S.PCT_CHANGE: pct_change,
        S.EVALUABLE: evaluable,
        "response": response,
        "remission": remission,
        "follow_up": response & (last_day > response_day),
    }


def baseline_bands(assessments: pd.DataFrame, instrument, definitions: Definitions | None = None) -> set:
    """The severity bands of the instrument's baselines present (the baseline_band values of
    :func:`patient_outcomes`, without building its table)."""
    d = definitions or Definitions()
    ins = instruments.get(instrument)
    scores, patients = Coded(assessments).scores(ins.code)
    _, _, _, _, values, base = baseline_rows(scores, patients, d)
    baselines = pick(values, base)
    return {b for b in (ins.band(v) for v in np.unique(baselines[~np.isnan(baselines)])) if b is not None}


def _outcomes(scores, patients, ins, d, coded: Coded) -> pd.DataFrame:
    """patient_outcomes from the instrument's scores (:meth:`Coded.scores`: sorted by patient and day) and
    their patients as positions in ``coded.ids``."""
    v = _outcome_arrays(patients, scores[S.DAY].to_numpy(dtype=float), scores[S.SCORE].to_numpy(dtype=float), ins, d)
    attributes = coded.attributes
    if len(attributes.columns) > 1:  # every patient with a score has a row there
        out = attributes.take(coded.attribute_rows(v[S.PATIENTS])).reset_index(drop=True)
    else:
        out = attributes.merge(
            pd.DataFrame({S.PATIENT_ID: scores[S.PATIENT_ID].unique()}), on=S.PATIENT_ID, how="right"
        )
    series = lambda x: pd.Series(x, index=out.index)  # noqa: E731
    not_evaluable = ~v[S.EVALUABLE]
    out[S.INSTRUMENT] = ins.code
    out[S.BASELINE] = v[S.BASELINE].copy()  # the arrays are kept by coded: the table gets its own
    out["baseline_day"] = _whole(series(v["baseline_day"]))
    out["response_score"] = v["response_score"].copy()
    out["response_day"] = _whole(series(v["response_day"]))
    out[S.PCT_CHANGE] = v[S.PCT_CHANGE].copy()
    out[S.EVALUABLE] = v[S.EVALUABLE].copy()
    out["response"] = pd.arrays.BooleanArray(v["response"].copy(), not_evaluable.copy())
    if v["remission"] is None:
        out["remission"] = pd.array([pd.NA] * len(out), dtype="boolean")
    else:
        out["remission"] = pd.arrays.BooleanArray(v["remission"].copy(), not_evaluable.copy())
    bands = {b: ins.band(b) for b in out[S.BASELINE].dropna().unique()}  # each distinct baseline once
    out[BASELINE_BAND] = pd.array(out[S.BASELINE].map(bands), dtype="str")
    out["last_day"] = _whole(series(v["last_day"]))
    out["has_follow_up"] = v["follow_up"].copy()
    return out


def patient_table(assessments: pd.DataFrame, treatments: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per patient of the assessments: attributes, infusions (induction sessions), induction
    completed (at least config.INDUCTION_SERIES_LENGTH), boosters; the last three NA without treatments.
    A session is one (patient, day, kind): duplicated rows of a session count once."""
    require_columns(assessments, (S.PATIENT_ID,), "assessments")
    return patient_table_from(_attributes(assessments), treatments)


def patient_table_from(
    attributes: pd.DataFrame,
    treatments: pd.DataFrame | None,
    coded: Coded | None = None,
    sessions: Sessions | None = None,
) -> pd.DataFrame:
    """:func:`patient_table` from the assessments' per-patient attributes (:func:`_attributes`); or, for a
    caller that has them, from ``coded`` (``attributes`` being its :attr:`Coded.attributes`) and the
    treatments' ``sessions`` over ``coded.ids``."""
    out = attributes.copy()
    if treatments is None:
        out[S.INFUSIONS] = pd.array([pd.NA] * len(out), dtype="Int64")
        out[INDUCTION_COMPLETED] = pd.array([pd.NA] * len(out), dtype="boolean")
        out["boosters"] = pd.array([pd.NA] * len(out), dtype="Int64")
        return out
    if sessions is None:
        sessions, rows = Sessions(treatments, pd.Index(out[S.PATIENT_ID])), slice(None)
    else:
        rows = coded.attribute_positions
    out[S.INFUSIONS] = pd.array(sessions.count("induction")[rows], dtype="Int64")
    out[INDUCTION_COMPLETED] = pd.array(out[S.INFUSIONS] >= config.INDUCTION_SERIES_LENGTH, dtype="boolean")
    out["boosters"] = pd.array(sessions.count("booster")[rows], dtype="Int64")
    return out


# --- funnel ---------------------------------------------------------------------------------

FUNNEL_COUNTS = S.FUNNEL_COUNTS
FUNNEL_COMPLEMENTS = S.FUNNEL_COMPLEMENTS


def group_labels(values: pd.Series) -> pd.Series:
    """Text group labels: booleans as 'yes'/'no', missing values as 'unknown'."""

    def label(v):
        if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
            return UNKNOWN_GROUP
        if isinstance(v, (bool, np.bool_)):
            return "yes" if v else "no"
        return str(v)

    if isinstance(values.dtype, pd.StringDtype):  # text already: only the missing values change (no loop)
        return values.fillna(UNKNOWN_GROUP).astype("str").rename(None)
    return pd.Series([label(v) for v in values], index=values.index, dtype="str")


def check_group_column(table: pd.DataFrame, by: str, allowed) -> None:
    """KeyError naming the available group columns when ``by`` is not one of them."""
    available = [c for c in allowed if c in table.columns]
    if by not in available:
        raise KeyError(f"group column {by!r} not found; available: {', '.join(available)}")


def funnel_from_outcomes(outcomes: pd.DataFrame, by: str | None = None) -> pd.DataFrame:
    """The funnel of a patient_outcomes table (see :func:`funnel`)."""
    o = outcomes
    with_baseline = o[S.BASELINE].notna().to_numpy()
    flags = {
        S.WITH_BASELINE: with_baseline,
        S.WITH_RESPONSE_ASSESSMENT: with_baseline & o["response_score"].notna().to_numpy(),
        S.EVALUABLE: o[S.EVALUABLE].to_numpy(dtype=bool, na_value=False),
        S.RESPONDERS: o["response"].to_numpy(dtype=bool, na_value=False),
        S.REMITTERS: o["remission"].to_numpy(dtype=bool, na_value=False),
        S.WITH_FOLLOW_UP: o["has_follow_up"].to_numpy(dtype=bool, na_value=False),
    }
    if by is None:
        group, labels = np.zeros(len(o), dtype=np.intp), np.array(["all"], dtype=object)
    else:
        group, labels = pd.factorize(group_labels(o[by]), sort=True)
    return _funnel_table(flags, group, labels)


def _funnel_table(flags: dict[str, np.ndarray], group: np.ndarray, labels) -> pd.DataFrame:
    """The funnel table: per patient the ``flags`` of FUNNEL_COUNTS (all but "patients") and the ``group``, a
    position in the sorted distinct ``labels``; one row per label with patients, in that order. The flags of
    a patient are one number (a bit each): one count of (group, number) gives every column."""
    k, steps = len(labels), FUNNEL_COUNTS[1:]
    state = np.zeros(len(group), dtype=np.int64)
    for bit, c in enumerate(steps):
        state |= flags[c].astype(np.int64) << bit
    table = np.bincount(group * (1 << len(steps)) + state, minlength=k << len(steps)).reshape(k, 1 << len(steps))
    numbers = np.arange(1 << len(steps))
    counts = {S.PATIENTS: table.sum(axis=1)}
    counts.update({c: table[:, (numbers >> bit) & 1 == 1].sum(axis=1) for bit, c in enumerate(steps)})
    present = counts[S.PATIENTS] > 0
    out = {S.GROUP: pd.array(np.asarray(labels, dtype=object)[present], dtype="str")}
    out.update({c: counts[c][present].astype("int64") for c in FUNNEL_COUNTS})
    return pd.DataFrame(out)


def coded_funnel(
    coded: Coded, instrument, definitions: Definitions | None = None, by: str | None = None
) -> pd.DataFrame:
    """``funnel_from_outcomes(patient_outcomes(coded.assessments, instrument, definitions, coded=coded), by)``
    from the :class:`Coded` assessments' arrays, without building the outcomes table (``by``: a patient
    attribute present in the assessments, or None)."""
    d = definitions or Definitions()
    v = coded.outcome_arrays(instruments.get(instrument).code, d)
    flags = {
        S.WITH_BASELINE: ~np.isnan(v[S.BASELINE]),
        S.EVALUABLE: v[S.EVALUABLE],
        S.RESPONDERS: v["response"],
        S.WITH_FOLLOW_UP: v["follow_up"],
    }
    flags[S.WITH_RESPONSE_ASSESSMENT] = flags[S.WITH_BASELINE] & ~np.isnan(v["response_score"])
    flags[S.REMITTERS] = v["remission"] if v["remission"] is not None else np.zeros(len(v[S.PATIENTS]), dtype=bool)
    if by is None:
        return _funnel_table(flags, np.zeros(len(v[S.PATIENTS]), dtype=np.intp), np.array(["all"], dtype=object))
    codes, labels, _ = coded.groups(by)
    return _funnel_table(flags, codes[coded.attribute_rows(v[S.PATIENTS])], labels)


def funnel(
    assessments: pd.DataFrame, instrument, definitions: Definitions | None = None, by: str | None = None
) -> pd.DataFrame:
    """Denominators per group (one row "all" when ``by`` is None): patients with a score of the
    instrument -> with baseline -> with response assessment (and baseline) -> evaluable (baseline above 0)
    -> responders -> with follow-up; remitters (<= evaluable) beside the chain. Missing group: 'unknown'."""
    outcomes = patient_outcomes(assessments, instrument, definitions)
    if by is not None:
        check_group_column(outcomes, by, list(S.PATIENT_ATTRIBUTES) + [BASELINE_BAND])
    return funnel_from_outcomes(outcomes, by)
