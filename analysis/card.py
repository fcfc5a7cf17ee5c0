"""The definition card: every threshold and window of the outcome definitions (:class:`Definitions`), saved to
and loaded from JSON or YAML (:func:`save_card`, :func:`load_card`), with the checks that make a wrong setting
fail with the fix. The definitions themselves are applied by ``analysis.outcomes`` (baseline, response,
remission, funnel) and ``analysis.response_episodes`` (durability episodes); ``from analysis.outcomes import
Definitions, load_card, save_card`` also works.
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

from analysis import config, instruments
from analysis.errors import DataError

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


# --- session safety thresholds (issue 17; DESIGN "Session safety"): the card's ``safety`` holds overrides ----------
#: the defaults: surge = a rise >= 40 systolic or >= 25 diastolic (the esketamine label's figure); severe >= 180/110;
#: treatment-emergent >= 165/100 (a published IV series); SpO2 below 92; HR above 110; MOAA/S <= 2; CADSS >= 30 or
#: CADSS-6 >= 12 (our default); discharge later than 120 minutes
SAFETY_DEFAULTS = {
    "surge_sbp_rise": 40.0,
    "surge_dbp_rise": 25.0,
    "severe_sbp": 180.0,
    "severe_dbp": 110.0,
    "emergent_sbp": 165.0,
    "emergent_dbp": 100.0,
    "desaturation_spo2_below": 92.0,
    "tachycardia_hr_above": 110.0,
    "deep_sedation_moaas_max": 2.0,
    "dissociation_cadss_min": 30.0,
    "dissociation_cadss6_min": 12.0,
    "discharge_minutes_above": 120.0,
}


def _safety(value) -> FrozenMap:
    """The card's safety overrides ({setting: number}), checked."""
    if not isinstance(value, Mapping):
        raise DataError(f"definition card: safety must map settings to numbers, got {value!r}")
    for k, v in value.items():
        if k not in SAFETY_DEFAULTS:
            raise DataError(f"definition card: unknown safety setting {k!r}; available: {', '.join(SAFETY_DEFAULTS)}")
        if not _is_number(v) or float(v) < 0:
            raise DataError(f"definition card: safety.{k} must be a number, 0 or more; got {v!r}")
    # (a saved card writes every threshold in force: those equal to the default are no override)
    return FrozenMap({k: float(v) for k, v in value.items() if float(v) != SAFETY_DEFAULTS[k]})


def _knots(value, induction_end_day: int) -> tuple[int, ...] | None:
    """The card's trajectory knots: different whole days, 0 or more, in order; None when they are the default
    (:func:`default_knots`, which then follows ``induction_end_day``)."""
    if value is None:
        return None
    if (
        not isinstance(value, (list, tuple))
        or not value
        or not all(_is_int(k) and k >= 0 for k in value)
        or len(set(value)) != len(value)
    ):
        raise DataError(
            f"definition card: knots must be a list of different whole days, 0 or more, e.g. [14] or [14, 56]; "
            f"got {value!r}"
        )
    knots = tuple(sorted(int(k) for k in value))
    return None if knots == default_knots(int(induction_end_day)) else knots


def default_knots(induction_end_day: int) -> tuple[int, ...]:
    """The knots of a card that names none: day config.ACUTE_KNOT_DAY (the acute drop within hours of the first
    infusion) and the end of induction, e.g. (1, 14); only the end of induction when it is that early."""
    end = int(induction_end_day)
    return (config.ACUTE_KNOT_DAY, end) if end > config.ACUTE_KNOT_DAY else (end,)


@dataclass(frozen=True)
class Definitions:
    """The definition card: every window and threshold of the outcome definitions.

    Defaults come from analysis/config.py and the instrument registry; ``response_drop`` and
    ``remission_max`` hold per-instrument overrides of the registry ({code: value}). ``knots``: the days where
    the trajectory model's piecewise-linear time bends (:attr:`trajectory_knots`); None (the default) is
    :func:`default_knots`: day 1 and ``induction_end_day``, so the default card's knots are [1, 14].
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
    knots: tuple[int, ...] | None = None
    safety: Mapping[str, float] = field(default_factory=FrozenMap)  # session safety overrides (SAFETY_DEFAULTS)
    # --- quality measures (analysis.measures, DESIGN "Quality measures"): the window around 6 and 12 months is
    # +/- measure_window_days (60, or 30), and the deciding score is the most recent in it or any score in it
    # (the CCBHC reading); checked by _check_measure_settings, written by to_dict, in words in description
    measure_window_days: int = 60
    measure_score: str = "most_recent"

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
        put("knots", _knots(self.knots, self.induction_end_day))
        if not _is_int(self.suppression_threshold) or self.suppression_threshold < 0:
            raise DataError(
                f"definition card: suppression_threshold must be a whole number, 0 or more (11 by "
                f"default); got {self.suppression_threshold!r}"
            )
        put("suppression_threshold", int(self.suppression_threshold))
        put("response_drop", _overrides("response_drop", self.response_drop, _check_drop))
        put("remission_max", _overrides("remission_max", self.remission_max, _check_remission))
        put("safety", _safety(self.safety))
        if not isinstance(self.name, str) or not self.name.strip():
            raise DataError(f"definition card: name must be a non-empty text; got {self.name!r}")
        _check_measure_settings(self)

    def replace(self, **changes) -> Definitions:
        """A copy with some settings changed (validated like a loaded card)."""
        unknown = sorted(set(changes) - set(FIELDS))
        if unknown:
            raise TypeError(f"unknown definition setting(s) {', '.join(unknown)}; available: {', '.join(FIELDS)}")
        return dataclasses.replace(self, **changes)

    @property
    def trajectory_knots(self) -> tuple[int, ...]:
        """The knots in force: the card's ``knots``, or :func:`default_knots` when it names none."""
        return self.knots if self.knots is not None else default_knots(self.induction_end_day)

    def safety_threshold(self, name: str) -> float:
        """A session-safety threshold in force (the card's override or SAFETY_DEFAULTS)."""
        if name not in SAFETY_DEFAULTS:
            raise KeyError(f"unknown safety setting {name!r}; available: {', '.join(SAFETY_DEFAULTS)}")
        return float(self.safety.get(name, SAFETY_DEFAULTS[name]))

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
            "knots": list(self.trajectory_knots),
            "suppression_threshold": self.suppression_threshold,
            "response_drop": dict(self.response_drop),
            "remission_max": dict(self.remission_max),
            "safety": {k: self.safety_threshold(k) for k in SAFETY_DEFAULTS},
            "thresholds": {
                code: {"response_drop": self.response_threshold(code), "remission_max": self.remission_threshold(code)}
                for code in instruments.registry()
            },
            "measure_window_days": self.measure_window_days,
            "measure_score": self.measure_score,
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
            _measure_rule_in_words(self),
        ]


# --- quality measures: the card's two settings, checked and in words -----------------------------------------
MEASURE_WINDOW_DAYS = (60, 30)
MEASURE_SCORES = ("most_recent", "any")


def _check_measure_settings(d: Definitions) -> None:
    if not _is_int(d.measure_window_days) or int(d.measure_window_days) not in MEASURE_WINDOW_DAYS:
        raise DataError(
            f"definition card: measure_window_days must be 60 (12 months +/- 60 days, as CMS159) or 30; "
            f"got {d.measure_window_days!r}"
        )
    object.__setattr__(d, "measure_window_days", int(d.measure_window_days))
    if d.measure_score not in MEASURE_SCORES:
        raise DataError(
            f"definition card: measure_score must be 'most_recent' (the most recent PHQ-9 in the window decides) "
            f"or 'any' (any PHQ-9 in the window, the CCBHC reading); got {d.measure_score!r}"
        )


def _measure_rule_in_words(d: Definitions) -> str:
    w = d.measure_window_days
    score = "the most recent PHQ-9 in the window" if d.measure_score == "most_recent" else "any PHQ-9 in the window"
    return (
        f"Quality measures: index event = the first PHQ-9 above 9 of a patient with depression in the reporting "
        f"period; windows 6 months (day {180 - w} to {180 + w}) and 12 months (day {365 - w} to {365 + w}) after "
        f"it; {score} decides (remission: below 5; response: at most half the index score)."
    )


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
    for key in ("baseline_window", "response_window", "survival_days", "knots"):
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


def _names_a_file(text: str) -> bool:
    try:
        return Path(text).is_file()
    except OSError:  # (e.g. a name too long for the file system: text, not a file)
        return False


def load_card(path_or_text) -> Definitions:
    """A definition card from a JSON or YAML file (a Path, or a str naming a .json/.yaml/.yml or existing
    file) or from the card's text. Unknown keys or bad values: DataError saying which."""
    text = None
    if isinstance(path_or_text, Path):
        path = path_or_text
    elif (
        isinstance(path_or_text, str)
        and "\n" not in path_or_text
        and not path_or_text.lstrip().startswith("{")  # (a card on one line: JSON text, never a file's name)
        and (Path(path_or_text).suffix.lower() in (".json", ".yaml", ".yml") or _names_a_file(path_or_text))
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


# --- how a card differs from the default card; its honest name; thresholds entered as percents (issue 20) -------

DEFAULT_NAME = "default"
EDITED = ", edited"


def _days(window) -> str:
    return f"days {window[0]} to {window[1]}"


def _drop_text(v) -> str:
    return f"a drop of at least {100 * float(v):g}%"


def _remission_text(v) -> str:
    return "no remission rule" if v is None else f"a score of at most {float(v):g}"


def differences(definitions: Definitions, base: Definitions | None = None) -> list[str]:
    """The settings of ``definitions`` that differ from ``base`` (the default card), in words with the default
    beside each: ['PHQ9 response: a drop of at least 40% (default 50%)', ...]. Empty when they agree; the name
    is not a setting. Settings added to the card later are listed by their name and values."""
    base = base or Definitions()
    out = []
    words = {
        "baseline_window": ("Baseline window", _days),
        "response_window": ("Response assessment window", _days),
        "confirm_loss": ("Loss of response confirmed by the next score", lambda v: "yes" if v else "no"),
        "booster_handling": (
            "Boosters",
            {
                "ignore": "do not stop the clock",
                "censor": "censor at the first booster",
                "event": "time to the first booster",
            }.get,
        ),
        "induction_end_day": ("End of induction", lambda v: f"day {v}"),
        "survival_days": ("Survival reported at days", lambda v: ", ".join(map(str, v))),
        "suppression_threshold": ("Small-cell threshold", lambda v: f"counts under {v} hidden" if v > 1 else "off"),
        "measure_window_days": ("Quality-measure windows", lambda v: f"+/- {v} days"),
        "measure_score": (
            "Quality-measure score",
            {"most_recent": "the most recent PHQ-9 in the window", "any": "any PHQ-9 in the window"}.get,
        ),
    }
    for key in FIELDS:
        if key in ("name", "response_drop", "remission_max"):
            continue
        if key == "safety":  # each safety threshold that differs, by its name
            for name in SAFETY_DEFAULTS:
                mine, theirs = definitions.safety_threshold(name), base.safety_threshold(name)
                if mine != theirs:
                    out.append(f"Safety {name.replace('_', ' ')}: {mine:g} (default {theirs:g})")
            continue
        if key == "knots":
            mine, theirs = definitions.trajectory_knots, base.trajectory_knots
            if mine != theirs:
                out.append(
                    f"Trajectory knots: days {', '.join(map(str, mine))} (default {', '.join(map(str, theirs))})"
                )
            continue
        mine, theirs = getattr(definitions, key), getattr(base, key)
        if mine != theirs:
            label, fmt = words.get(key, (key.replace("_", " ").capitalize(), str))
            out.append(f"{label}: {fmt(mine) or mine} (default {fmt(theirs) or theirs})")
    for code in instruments.registry():
        mine, theirs = definitions.response_threshold(code), base.response_threshold(code)
        if mine != theirs:
            out.append(f"{code} response: {_drop_text(mine)} (default {100 * float(theirs):g}%)")
        mine, theirs = definitions.remission_threshold(code), base.remission_threshold(code)
        if mine != theirs:
            out.append(f"{code} remission: {_remission_text(mine)} (default {_remission_text(theirs)})")
    return out


def named(definitions: Definitions, previous: Definitions | None = None) -> Definitions:
    """The card with a name that says whether it was changed: a card that differs from the default card but is
    called 'default', or is called as the card ``previous`` it was edited from while its settings changed, is
    renamed '<name>, edited' (e.g. 'default, edited'); a card 'default, edited' whose settings are the
    default ones again is 'default'. Any other name a user chose is kept."""
    name = definitions.name
    changed = bool(differences(definitions))
    if not changed and name == DEFAULT_NAME + EDITED:
        return definitions.replace(name=DEFAULT_NAME)
    if name.endswith(EDITED) or not changed and name == DEFAULT_NAME:
        return definitions
    if name == DEFAULT_NAME and changed:
        return definitions.replace(name=DEFAULT_NAME + EDITED)
    if previous is not None and name == previous.name and differences(definitions, previous):
        return definitions.replace(name=name + EDITED)
    return definitions


def drop_from_percent(code: str, value) -> float:
    """A response threshold entered as a percent drop (40 means 40%) as the card's fraction (0.4). A value
    outside above-0-to-100, blank or below 1 (most likely a fraction typed where a percent is asked) is refused
    with a DataError that says what to type; it is never clamped."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        raise DataError(f"{code} response threshold is blank: enter a percent drop from baseline, e.g. 50 for 50%.")
    if not _is_number(value):
        raise DataError(f"{code} response threshold must be a number of percent (50 means 50%); got {value!r}.")
    v = float(value)
    if not 0 < v <= 100:
        raise DataError(
            f"{code} response threshold must be a percent drop above 0 and at most 100 (50 means 50%); got {v:g}. "
            "Nothing was changed."
        )
    if v < 1:
        raise DataError(
            f"{code} response threshold {v:g} means a drop of {v:g}%: thresholds are entered as percents, so type "
            f"{100 * v:g} for {100 * v:g}%. Nothing was changed."
        )
    return round(v / 100, 10)
