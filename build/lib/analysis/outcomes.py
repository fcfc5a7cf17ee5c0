"""Outcome definitions: baseline, response, remission, durability episodes, funnel, definition card.

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

Every threshold and window is a setting of :class:`Definitions`, the definition card, which can be
saved to and loaded from JSON or YAML.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from analysis import config, instruments
from analysis import schema as S
from analysis.arrays import arrow_text, first_per, first_rows, pick, positions, run_numbers, run_starts, sort_order
from analysis.errors import DataError
from analysis.privacy import show_count

#: tolerance of the threshold comparisons (percent change, remission max)
TOLERANCE = 1e-9

#: extra columns of the per-patient tables
BASELINE_BAND = "baseline_band"
INDUCTION_COMPLETED = "induction_completed"
UNKNOWN_GROUP = "unknown"

SAME_DAY_RULE = (
    "Two or more scores of one instrument on the same day are replaced by their mean "
    "(files have no reliable row order)."
)


class FrozenMap(Mapping):
    """A small immutable, hashable mapping (instrument code -> number) for the definition card."""

    __slots__ = ("_items",)

    def __init__(self, items=()):
        pairs = items.items() if isinstance(items, Mapping) else items
        object.__setattr__(self, "_items", tuple(sorted(dict(pairs).items())))

    def __getitem__(self, key):
        for k, v in self._items:
            if k == key:
                return v
        raise KeyError(key)

    def __iter__(self):
        return (k for k, _ in self._items)

    def __len__(self):
        return len(self._items)

    def __hash__(self):
        return hash(self._items)

    def __eq__(self, other):
        return isinstance(other, Mapping) and dict(self._items) == dict(other.items())

    def __repr__(self):
        return f"FrozenMap({dict(self._items)!r})"


def _is_int(v) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def _is_number(v) -> bool:
    return (_is_int(v) or isinstance(v, (float, np.floating))) and math.isfinite(float(v))


def _window(name, value) -> tuple[int, int]:
    if not isinstance(value, (list, tuple)) or len(value) != 2 or not all(_is_int(v) for v in value):
        raise DataError(f"definition card: {name} must be two whole numbers of days [from, to], got {value!r}")
    lo, hi = int(value[0]), int(value[1])
    if lo > hi:
        raise DataError(f"definition card: {name} runs from {lo} to {hi}; the first day must not be after the second")
    return lo, hi


def _code(name, code) -> str:
    canonical = instruments.normalise_code(code)
    if canonical is None:
        raise DataError(
            f"definition card: {name} names instrument {code!r}, which is not in the registry; "
            f"known: {', '.join(instruments.registry())}"
        )
    return canonical


def _overrides(name, value, check) -> FrozenMap:
    if value is None:
        return FrozenMap()
    if not isinstance(value, Mapping):
        raise DataError(
            f'definition card: {name} must map instrument codes to numbers, e.g. {{"PHQ9": 0.5}}; got {value!r}'
        )
    out = {}
    for code, v in value.items():
        c = _code(name, code)
        out[c] = check(c, v)
    return FrozenMap(out)


def _check_drop(code, v) -> float:
    if not _is_number(v) or not 0 < float(v) <= 1:
        raise DataError(
            f"definition card: response_drop for {code} must be a fraction above 0 and at most 1 "
            f"(0.5 = a 50% drop), got {v!r}"
        )
    return float(v)


def _check_remission(code, v) -> float | None:
    if v is None:
        return None
    ins = instruments.get(code)
    if not _is_number(v) or not ins.min <= float(v) <= ins.max:
        raise DataError(
            f"definition card: remission_max for {code} must be a score from {ins.min:g} to "
            f"{ins.max:g} (or null for no remission rule), got {v!r}"
        )
    return float(v)


@dataclass(frozen=True)
class Definitions:
    """The definition card: every window and threshold of the outcome definitions.

    Defaults come from analysis/config.py and the instrument registry; ``response_drop`` and
    ``remission_max`` hold per-instrument overrides of the registry ({code: value}).
    """

    baseline_window: tuple[int, int] = config.BASELINE_WINDOW
    response_window: tuple[int, int] = config.RESPONSE_WINDOW
    confirm_loss: bool = False
    booster_handling: str = config.BOOSTER_HANDLING
    induction_end_day: int = config.INDUCTION_END_DAY
    survival_days: tuple[int, ...] = config.SURVIVAL_DAYS
    suppression_threshold: int = config.SUPPRESSION_THRESHOLD
    response_drop: Mapping[str, float] = field(default_factory=FrozenMap)
    remission_max: Mapping[str, float | None] = field(default_factory=FrozenMap)
    name: str = "default"

    def __post_init__(self):
        put = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731 (frozen dataclass)
        put("baseline_window", _window("baseline_window", self.baseline_window))
        put("response_window", _window("response_window", self.response_window))
        if self.response_window[0] <= self.baseline_window[1]:
            raise DataError(
                f"definition card: the response window {list(self.response_window)} must start after "
                f"the baseline window {list(self.baseline_window)} ends"
            )
        if not isinstance(self.confirm_loss, (bool, np.bool_)):
            raise DataError(f"definition card: confirm_loss must be true or false, got {self.confirm_loss!r}")
        put("confirm_loss", bool(self.confirm_loss))
        if self.booster_handling not in config.BOOSTER_HANDLINGS:
            raise DataError(
                f"definition card: booster_handling must be one of {', '.join(config.BOOSTER_HANDLINGS)}; "
                f"got {self.booster_handling!r}"
            )
        if not _is_int(self.induction_end_day) or self.induction_end_day < 0:
            raise DataError(
                f"definition card: induction_end_day must be a whole number of days, 0 or more; "
                f"got {self.induction_end_day!r}"
            )
        put("induction_end_day", int(self.induction_end_day))
        days = self.survival_days
        if (
            not isinstance(days, (list, tuple))
            or not days
            or not all(_is_int(d) and d > 0 for d in days)
            or len(set(days)) != len(days)
        ):
            raise DataError(
                f"definition card: survival_days must be a list of different whole days above 0, "
                f"e.g. [28, 56, 84]; got {days!r}"
            )
        put("survival_days", tuple(sorted(int(d) for d in days)))
        if not _is_int(self.suppression_threshold) or self.suppression_threshold < 0:
            raise DataError(
                f"definition card: suppression_threshold must be a whole number, 0 or more (11 by "
                f"default); got {self.suppression_threshold!r}"
            )
        put("suppression_threshold", int(self.suppression_threshold))
        put("response_drop", _overrides("response_drop", self.response_drop, _check_drop))
        put("remission_max", _overrides("remission_max", self.remission_max, _check_remission))
        if not isinstance(self.name, str) or not self.name.strip():
            raise DataError(f"definition card: name must be a non-empty text; got {self.name!r}")

    def replace(self, **changes) -> Definitions:
        """A copy with some settings changed (validated like a loaded card)."""
        unknown = sorted(set(changes) - set(FIELDS))
        if unknown:
            raise TypeError(f"unknown definition setting(s) {', '.join(unknown)}; available: {', '.join(FIELDS)}")
        return dataclasses.replace(self, **changes)

    def response_threshold(self, code) -> float:
        """The relative drop from baseline that counts as response for this instrument."""
        ins = instruments.get(code)
        return self.response_drop.get(ins.code, ins.response_drop)

    def remission_threshold(self, code) -> float | None:
        """The score at or below which a patient is in remission (None: the instrument has no such rule)."""
        ins = instruments.get(code)
        return self.remission_max[ins.code] if ins.code in self.remission_max else ins.remission_max

    def to_dict(self) -> dict:
        """JSON-ready card: the settings, the effective thresholds per instrument and the rules in words."""
        return {
            "name": self.name,
            "baseline_window": list(self.baseline_window),
            "response_window": list(self.response_window),
            "confirm_loss": self.confirm_loss,
            "booster_handling": self.booster_handling,
            "induction_end_day": self.induction_end_day,
            "survival_days": list(self.survival_days),
            "suppression_threshold": self.suppression_threshold,
            "response_drop": dict(self.response_drop),
            "remission_max": dict(self.remission_max),
            "thresholds": {
                code: {"response_drop": self.response_threshold(code), "remission_max": self.remission_threshold(code)}
                for code in instruments.registry()
            },
            "description": self.description(),
        }

    def description(self) -> list[str]:
        """The definitions in words, as shown on the card."""
        b, r = self.baseline_window, self.response_window
        loss = (
            "Loss of response: the first later score below the response threshold, confirmed by the next "
            "score (event on the first of the two); a drop undone by the next score is no event; a drop on "
            "the last score cannot be confirmed, so the episode is censored at the score before it."
            if self.confirm_loss
            else "Loss of response: the first later score below the response threshold (no confirmation)."
        )
        boosters = {
            "ignore": "Boosters do not stop the clock.",
            "censor": "An episode is censored at the first booster after the response assessment when it comes "
            "before the loss of response.",
            "event": "The event is the first booster after the response assessment (time to first booster); "
            "patients without one are censored at their last score.",
        }[self.booster_handling]
        return [
            SAME_DAY_RULE,
            f"Baseline: the last score from day {b[0]} to day {b[1]}.",
            f"Response assessment: the first score from day {r[0]} to day {r[1]}.",
            "Percent change = (baseline - score) / baseline; a baseline of 0 is not evaluable.",
            "Response: percent change at or above the instrument's response threshold; remission: score at or "
            "below its remission maximum; both over patients with a baseline above 0 and a response assessment.",
            "Durability: from the response assessment (origin) of responders with a later score. " + loss,
            "Otherwise censored at the last score. " + boosters + " Boosters on or before the origin are ignored.",
            f"Counts from 1 to {max(self.suppression_threshold - 1, 0)} are shown as <{self.suppression_threshold}."
            if self.suppression_threshold > 1
            else "Small counts are not suppressed.",
        ]


FIELDS = tuple(f.name for f in dataclasses.fields(Definitions))
#: keys written by to_dict that are derived, not settings (accepted when a saved card is loaded back)
_DERIVED_KEYS = ("thresholds", "description")


def _from_mapping(data) -> Definitions:
    if not isinstance(data, Mapping):
        raise DataError(
            f"definition card: expected a JSON object / YAML mapping of settings, got {type(data).__name__}"
        )
    unknown = sorted(set(map(str, data)) - set(FIELDS) - set(_DERIVED_KEYS))
    if unknown:
        raise DataError(f"definition card: unknown setting(s) {', '.join(unknown)}; available: {', '.join(FIELDS)}")
    settings = {k: v for k, v in data.items() if k in FIELDS}
    for key in ("baseline_window", "response_window", "survival_days"):
        if isinstance(settings.get(key), list):
            settings[key] = tuple(settings[key])
    d = Definitions(**settings)
    saved = data.get("thresholds")
    if saved is not None:  # a saved card carries its effective thresholds: they must still agree
        effective = d.to_dict()["thresholds"]
        if not isinstance(saved, Mapping):
            raise DataError("definition card: thresholds must map instrument codes to their thresholds")
        for code, t in saved.items():
            c = _code("thresholds", code)
            if not isinstance(t, Mapping) or any(k not in effective[c] for k in t):
                raise DataError(f"definition card: thresholds of {code} must hold response_drop and remission_max")
            for k, v in t.items():
                want = effective[c][k]
                if (v is None) != (want is None) or (
                    v is not None and not (_is_number(v) and abs(float(v) - want) < 1e-12)
                ):
                    raise DataError(
                        f"definition card: thresholds.{code}.{k} is {v!r} but the card's settings give "
                        f"{want!r}; change response_drop / remission_max instead (thresholds is derived)"
                    )
    return d


def load_card(path_or_text) -> Definitions:
    """A definition card from a JSON or YAML file (a Path, or a str naming a .json/.yaml/.yml or existing
    file) or from the card's text. Unknown keys or bad values: DataError saying which."""
    text = None
    if isinstance(path_or_text, Path):
        path = path_or_text
    elif (
        isinstance(path_or_text, str)
        and "\n" not in path_or_text
        and (Path(path_or_text).suffix.lower() in (".json", ".yaml", ".yml") or Path(path_or_text).is_file())
    ):
        path = Path(path_or_text)
    else:
        path = None
    if path is not None:
        if not path.is_file():
            raise DataError(f"definition card not found: {path}")
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as e:
            raise DataError(f"definition card {path} cannot be read as text: {e}") from None
    else:
        text = str(path_or_text)
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as e:
            raise DataError(f"definition card is neither valid JSON nor valid YAML: {e}") from None
    return _from_mapping(data)


def save_card(definitions: Definitions, path) -> Path:
    """Write the card as JSON (.json) or YAML (.yaml/.yml), chosen by the file's suffix."""
    path = Path(path)
    data = definitions.to_dict()
    if path.suffix.lower() == ".json":
        path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    elif path.suffix.lower() in (".yaml", ".yml"):
        path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    else:
        raise ValueError(f"a definition card is saved as .json or .yaml, not {path.suffix or 'no suffix'!r}: {path}")
    return path


# --- per-patient tables --------------------------------------------------------------------


def _require(table: pd.DataFrame, columns, what: str) -> None:
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"{what} must be a pandas DataFrame, got {type(table).__name__}")
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise DataError(
            f"the {what} table has no {', '.join(repr(c) for c in missing)} column; "
            f"columns present: {', '.join(map(str, table.columns))}"
        )


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
        _require(assessments, (S.PATIENT_ID, S.INSTRUMENT, S.SCORE, S.DAY), "assessments")
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
    _require(assessments, (S.PATIENT_ID, S.INSTRUMENT, S.SCORE, S.DAY), "assessments")
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
        "patients": patients[starts],
        "baseline": baseline,
        "baseline_day": pick(days, base),
        "response_score": response_score,
        "response_day": response_day,
        "last_day": last_day,
        "pct_change": pct_change,
        "evaluable": evaluable,
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
        out = attributes.take(coded.attribute_rows(v["patients"])).reset_index(drop=True)
    else:
        out = attributes.merge(
            pd.DataFrame({S.PATIENT_ID: scores[S.PATIENT_ID].unique()}), on=S.PATIENT_ID, how="right"
        )
    series = lambda x: pd.Series(x, index=out.index)  # noqa: E731
    not_evaluable = ~v["evaluable"]
    out[S.INSTRUMENT] = ins.code
    out["baseline"] = v["baseline"].copy()  # the arrays are kept by coded: the table gets its own
    out["baseline_day"] = _whole(series(v["baseline_day"]))
    out["response_score"] = v["response_score"].copy()
    out["response_day"] = _whole(series(v["response_day"]))
    out["pct_change"] = v["pct_change"].copy()
    out["evaluable"] = v["evaluable"].copy()
    out["response"] = pd.arrays.BooleanArray(v["response"].copy(), not_evaluable.copy())
    if v["remission"] is None:
        out["remission"] = pd.array([pd.NA] * len(out), dtype="boolean")
    else:
        out["remission"] = pd.arrays.BooleanArray(v["remission"].copy(), not_evaluable.copy())
    bands = {b: ins.band(b) for b in out["baseline"].dropna().unique()}  # each distinct baseline once
    out[BASELINE_BAND] = pd.array(out["baseline"].map(bands), dtype="str")
    out["last_day"] = _whole(series(v["last_day"]))
    out["has_follow_up"] = v["follow_up"].copy()
    return out


def patient_table(assessments: pd.DataFrame, treatments: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per patient of the assessments: attributes, infusions (induction sessions), induction
    completed (at least config.INDUCTION_SERIES_LENGTH), boosters; the last three NA without treatments.
    A session is one (patient, day, kind): duplicated rows of a session count once."""
    _require(assessments, (S.PATIENT_ID,), "assessments")
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
        out["infusions"] = pd.array([pd.NA] * len(out), dtype="Int64")
        out[INDUCTION_COMPLETED] = pd.array([pd.NA] * len(out), dtype="boolean")
        out["boosters"] = pd.array([pd.NA] * len(out), dtype="Int64")
        return out
    if sessions is None:
        sessions, rows = Sessions(treatments, pd.Index(out[S.PATIENT_ID])), slice(None)
    else:
        rows = coded.attribute_positions
    out["infusions"] = pd.array(sessions.count("induction")[rows], dtype="Int64")
    out[INDUCTION_COMPLETED] = pd.array(out["infusions"] >= config.INDUCTION_SERIES_LENGTH, dtype="boolean")
    out["boosters"] = pd.array(sessions.count("booster")[rows], dtype="Int64")
    return out


class Sessions:
    """The distinct treatment sessions, one per (patient, day, kind) as written (duplicated rows count once),
    with each session's ``patient`` as its position in ``ids`` (-1: a missing id or one not in ``ids``),
    ``day`` as a number (NaN when missing) and ``kind`` as the text's code in ``kinds`` (-1 missing).
    ``unmatched``: the treatments' ids (not missing) that are not in ``ids``, in order of first appearance."""

    def __init__(self, treatments: pd.DataFrame, ids: pd.Index):
        _require(treatments, (S.PATIENT_ID, S.KIND, S.DAY), "treatments")
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


# --- durability episodes --------------------------------------------------------------------


def episodes_with_notes(
    assessments, treatments, instrument, definitions=None, outcomes=None, coded=None, sessions=None
):
    """(:func:`episodes`, the notes that explain them: boosters ignored, unconfirmed last drops, same-day
    means, responders without follow-up; small counts suppressed). ``coded``: the :class:`Coded`
    assessments when the caller has them, ``sessions`` the treatments' :class:`Sessions` over ``coded.ids``;
    ``outcomes``: their patient_outcomes (with, optionally, induction_completed)."""
    d = definitions or Definitions()
    ins = instruments.get(instrument)
    coded = Coded(assessments) if coded is None else coded
    scores, patients = coded.scores(ins.code)
    outcomes = _outcomes(scores, patients, ins, d, coded) if outcomes is None else outcomes
    threshold = d.response_threshold(ins.code)
    notes = []
    handling = d.booster_handling
    if handling != "ignore" and treatments is None:
        notes.append(
            f"booster handling '{handling}' needs a treatments file; without one boosters have no effect "
            "and episodes end at the loss of response or the last score."
        )
        handling = "ignore"

    followed = outcomes[outcomes["has_follow_up"]]
    m = len(followed)
    # the scores after the origin of each responder with follow-up (k = 0..m-1), as flat arrays in day order
    who = positions(coded.ids, followed[S.PATIENT_ID])
    origin = followed["response_day"].to_numpy(dtype=float, na_value=np.nan)
    baseline = followed["baseline"].to_numpy(dtype=float)
    lo, hi = np.searchsorted(patients, who, "left"), np.searchsorted(patients, who, "right")
    k = np.repeat(np.arange(m), hi - lo)
    row = np.arange(len(k)) - np.repeat(np.cumsum(hi - lo) - (hi - lo), hi - lo) + np.repeat(lo, hi - lo)
    all_days = scores[S.DAY].to_numpy(dtype=float, na_value=np.nan)
    later = all_days[row] > origin[k]
    k, row = k[later], row[later]
    days = all_days[row]
    lost = ~_achieves_drop(baseline[k], scores[S.SCORE].to_numpy(dtype=float)[row], threshold)
    last = first_per(k, np.ones(len(k), dtype=bool), m, last=True)  # every responder here has a later score
    last_day = pick(days, last)

    # loss of response: the first lost score, or with confirm_loss the first lost score whose next score is
    # lost too (a drop undone by the next score is no event); a lost last score without a confirmed loss
    # before it cannot be confirmed: censored at the score before it (or the origin)
    if d.confirm_loss:
        confirmed = lost & np.r_[lost[1:] & (k[1:] == k[:-1]), False]
        first = first_per(k, confirmed, m)
        unconfirmed = (first < 0) & lost[last]
    else:
        first = first_per(k, lost, m)
        unconfirmed = np.zeros(m, dtype=bool)
    event = first >= 0
    end = np.where(event, pick(days, first), last_day)
    before_last = pick(days, last - 1)
    has_before = (last - 1 >= 0) & (pick(k, last - 1) == np.arange(m))
    end = np.where(unconfirmed, np.where(has_before, before_last, origin), end)
    reason = np.where(event, None, np.where(unconfirmed, "unconfirmed last score", "last score")).astype(object)
    unconfirmed_last = int(unconfirmed.sum())

    early_boosters = 0
    b = None if treatments is None else Sessions(treatments, coded.ids) if sessions is None else sessions
    if b is not None:
        take = b.of_kind("booster") & (b.patient >= 0) & ~np.isnan(b.day)
        bp, bd = b.patient[take], b.day[take]
        order = sort_order(bp, bd)
        bp, bd = bp[order], bd[order]
        distinct = run_starts(bp, bd)
        bp, bd = bp[distinct], bd[distinct]
        # each booster's responder (k), if any; boosters of patients without an episode play no part
        of = np.full(len(coded.ids), -1)
        of[who] = np.arange(m)
        bk = of[bp]
        bp, bd, bk = bp[bk >= 0], bd[bk >= 0], bk[bk >= 0]
        early = np.zeros(m, dtype=bool)
        early[bk[bd <= origin[bk]]] = True
        early_boosters = int(early.sum())
        after = first_per(bk, bd > origin[bk], m)
        booster = pick(bd, after)
        if handling == "censor":
            censor = (after >= 0) & (booster < end)
            end = np.where(censor, booster, end)
            event &= ~censor
            reason[censor] = "booster"
        elif handling == "event":
            has = after >= 0
            end = np.where(has, booster, last_day)
            event = has
            reason = np.where(has, None, "last score").astype(object)

    cols = [S.PATIENT_ID] + [c for c in S.PATIENT_ATTRIBUTES if c in outcomes.columns]
    attrs = cols[1:]
    cols += [
        BASELINE_BAND,
        INDUCTION_COMPLETED,
        "baseline",
        "response_score",
        "origin",
        "time",
        "event",
        "event_day",
        "end_day",
        "censor_reason",
    ]
    if m:
        ep = pd.DataFrame(
            {
                S.PATIENT_ID: followed[S.PATIENT_ID].to_numpy(),
                "origin": origin,
                "end_day": end,
                "event": event.astype("int64"),
                "censor_reason": reason,
            }
        )
    else:
        ep = pd.DataFrame([], columns=[S.PATIENT_ID, "origin", "end_day", "event", "censor_reason"])
    known = [INDUCTION_COMPLETED] if INDUCTION_COMPLETED in followed.columns else []
    ep = followed[[S.PATIENT_ID] + attrs + [BASELINE_BAND, "baseline", "response_score"] + known].merge(
        ep, on=S.PATIENT_ID
    )
    if not known and b is None:  # without a treatments file: unknown
        ep[INDUCTION_COMPLETED] = pd.array([pd.NA] * len(ep), dtype="boolean")
    elif not known:
        series = b.count("induction")[positions(coded.ids, ep[S.PATIENT_ID])]
        ep[INDUCTION_COMPLETED] = pd.array(series >= config.INDUCTION_SERIES_LENGTH, dtype="boolean")
    ep["time"] = ep["end_day"] - ep["origin"]
    ep["event"] = ep["event"].astype("int64")
    ep["event_day"] = ep["end_day"].where(ep["event"] == 1)
    ep["censor_reason"] = ep["censor_reason"].astype("str").where(ep["event"] == 0)
    for c in ("origin", "time", "event_day", "end_day"):
        ep[c] = _whole(ep[c])
    ep = ep[cols]

    if early_boosters and handling != "ignore":
        notes.append(
            f"{show_count(early_boosters, d.suppression_threshold)} responder(s) had a booster on or before the response assessment; "
            "those boosters were ignored."
        )
    if unconfirmed_last:
        notes.append(
            f"{show_count(unconfirmed_last, d.suppression_threshold)} episode(s) end in a drop on the last score that could not be confirmed; "
            "they are censored at the score before it."
        )
    if scores.attrs.get("same_day"):
        notes.append(
            f"{show_count(scores.attrs['same_day'], d.suppression_threshold)} patient-day(s) had two or "
            f"more {ins.code} scores; their mean was used."
        )
    no_follow = int((outcomes["response"].fillna(False).astype(bool) & ~outcomes["has_follow_up"]).sum())
    if no_follow:
        notes.append(
            f"{show_count(no_follow, d.suppression_threshold)} responder(s) have no score after the response assessment (no follow-up) "
            "and have no episode."
        )
    return ep.reset_index(drop=True), tuple(notes)


def episodes(
    assessments: pd.DataFrame, treatments: pd.DataFrame | None, instrument, definitions: Definitions | None = None
) -> pd.DataFrame:
    """One row per responder with follow-up: patient_id, attributes, baseline_band, induction_completed,
    origin (response-assessment day), time (end - origin), event (1 loss of response, or first booster
    when booster_handling is "event"; 0 censored), event_day (NA when censored), end_day and
    censor_reason ("last score", "booster", "unconfirmed last score"; NA for events)."""
    return episodes_with_notes(assessments, treatments, instrument, definitions)[0]


# --- funnel ---------------------------------------------------------------------------------

FUNNEL_COUNTS = (
    "patients",
    "with_baseline",
    "with_response_assessment",
    "evaluable",
    "responders",
    "remitters",
    "with_follow_up",
)
#: (part, whole) pairs of the funnel shown side by side: whole - part must not reveal a small count
FUNNEL_COMPLEMENTS = (
    ("with_baseline", "patients"),
    ("with_response_assessment", "with_baseline"),
    ("evaluable", "with_response_assessment"),
    ("responders", "evaluable"),
    ("remitters", "evaluable"),
    ("with_follow_up", "responders"),
)


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
    with_baseline = o["baseline"].notna().to_numpy()
    flags = {
        "with_baseline": with_baseline,
        "with_response_assessment": with_baseline & o["response_score"].notna().to_numpy(),
        "evaluable": o["evaluable"].to_numpy(dtype=bool, na_value=False),
        "responders": o["response"].to_numpy(dtype=bool, na_value=False),
        "remitters": o["remission"].to_numpy(dtype=bool, na_value=False),
        "with_follow_up": o["has_follow_up"].to_numpy(dtype=bool, na_value=False),
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
    counts = {"patients": table.sum(axis=1)}
    counts.update({c: table[:, (numbers >> bit) & 1 == 1].sum(axis=1) for bit, c in enumerate(steps)})
    present = counts["patients"] > 0
    out = {"group": pd.array(np.asarray(labels, dtype=object)[present], dtype="str")}
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
        "with_baseline": ~np.isnan(v["baseline"]),
        "evaluable": v["evaluable"],
        "responders": v["response"],
        "with_follow_up": v["follow_up"],
    }
    flags["with_response_assessment"] = flags["with_baseline"] & ~np.isnan(v["response_score"])
    flags["remitters"] = v["remission"] if v["remission"] is not None else np.zeros(len(v["patients"]), dtype=bool)
    if by is None:
        return _funnel_table(flags, np.zeros(len(v["patients"]), dtype=np.intp), np.array(["all"], dtype=object))
    codes, labels, _ = coded.groups(by)
    return _funnel_table(flags, codes[coded.attribute_rows(v["patients"])], labels)


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
