"""Cohort selection and comparison: the filters of every dashboard page and of the report.

A **selection** keeps the patients whose attributes match every filter given (None means "all"; a list
means "any of these"; an empty list matches no one). Attributes are per patient (constant, from the
assessments table); a patient without a value for a filtered attribute is not selected. The **start
period** is the start month from ``start_from`` to ``start_to`` inclusive (YYYY-MM; a start month stored as a
year only, in strict-dates mode, is compared by year). The **baseline band** is the severity band of the
patient's baseline score of the chosen instrument (``analysis.outcomes.patient_outcomes``).

**Comparing two cohorts**: funnel counts and response and remission rates with Wilson 95% CIs per cohort,
and the two rates compared with ``analysis.rates.compare_rates`` (chi-square, or Fisher's exact test when
an expected count is below 5). The tests assume two independent groups: cohorts that share patients get
a note.

**Comparing durability** (``compare_durability``): each cohort's durability episodes
(``analysis.durability.analyse``, by=None) pooled with a ``cohort`` column; on them Kaplan-Meier curves per
cohort, the log-rank test (R ``survdiff``) and a Cox model of ``cohort`` (Efron ties, R ``coxph``): the hazard
ratio of losing response of B vs A. A patient in both cohorts contributes an episode to each.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from analysis import instruments
from analysis.arrays import arrow_text, first_per, isin, run_numbers
from analysis.config import SUPPRESSION_THRESHOLD
from analysis.outcomes import BASELINE_BAND, FUNNEL_COUNTS, Coded, baseline_bands, coded_funnel, patient_outcomes
from analysis.privacy import cohorts_too_close, is_small, show_count
from analysis.rates import RateComparison, add_rates, compare_rates
from analysis.schema import (
    AGE_BAND,
    AGE_BANDS,
    COHORT,
    CONDITION,
    CONDITION_LABELS,
    CONDITIONS,
    EVALUABLE,
    GROUP,
    INSTRUMENT,
    PATIENT_ID,
    PATIENTS,
    RATE_TABLE_COLUMNS,
    REMITTERS,
    RESPONDERS,
    ROUTE,
    ROUTES,
    SEX,
    SEXES,
    SITE,
    START_MONTH,
)

#: the columns a cohort can be filtered on, in the order selectors are shown
FILTER_COLUMNS = (CONDITION, SITE, AGE_BAND, SEX, ROUTE, BASELINE_BAND, START_MONTH)
#: the filters of :func:`select` on a patient attribute, and their column
_ATTRIBUTE_FILTERS = (
    ("conditions", CONDITION),
    ("sites", SITE),
    ("age_bands", AGE_BAND),
    ("sexes", SEX),
    ("routes", ROUTE),
)
_PERIOD = re.compile(r"^\d{4}(-(0[1-9]|1[0-2]))?$")


@dataclass(frozen=True)
class Selection:
    """The rows of the selected patients. ``patients``: how many; ``description``: the filters in words;
    ``filters``: the filters given (None = all); ``notes``: what was left out and why."""

    assessments: pd.DataFrame
    treatments: pd.DataFrame | None
    patients: int
    description: str
    filters: dict = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    instrument: str | None = None
    patient_ids: tuple[str, ...] = ()


def _values(name: str, value, allowed=None) -> tuple | None:
    """A filter as a tuple (None = all). A single text is one value; unknown allowed values fail fast."""
    if value is None:
        return None
    if isinstance(value, str):
        value = (value,)
    try:
        values = tuple(value)
    except TypeError:
        raise TypeError(f"{name} must be a list of values (or None for all), got {value!r}") from None
    if allowed is not None:
        bad = [v for v in values if v not in allowed]
        if bad:
            raise ValueError(f"{name}: {', '.join(map(repr, bad))} not allowed; use any of: {', '.join(allowed)}")
    return values


def _period(name: str, value) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not _PERIOD.match(value):
        raise ValueError(f"{name} must be a start month 'YYYY-MM' (or a year 'YYYY'), got {value!r}")
    return value


def _in_period(months: pd.Series, start_from: str | None, start_to: str | None) -> pd.Series:
    """Start months within [start_from, start_to]; a year-only month or bound is compared by year."""

    def inside(m) -> bool:
        if not isinstance(m, str):
            return False
        for bound, ok in ((start_from, lambda a, b: a >= b), (start_to, lambda a, b: a <= b)):
            if bound is None:
                continue
            k = min(len(m), len(bound))
            if not ok(m[:k], bound[:k]):
                return False
        return True

    return months.map(inside).astype(bool)


def _codes_present(spellings: pd.Series) -> set:
    """The instrument codes of the spellings present (each distinct spelling normalised once, not each row)."""
    return {instruments.normalise_code(v) for v in spellings.unique() if not pd.isna(v)}


def _threshold(definitions) -> int:
    """The suppression threshold of a definition card (the default without one)."""
    return int(getattr(definitions, "suppression_threshold", SUPPRESSION_THRESHOLD))


def _attributes(assessments: pd.DataFrame) -> pd.DataFrame:
    """One row per patient of the assessments: the first non-missing value of each filter attribute."""
    return _people(assessments, [c for c in FILTER_COLUMNS if c in assessments.columns and c != BASELINE_BAND])[0]


def _people(assessments: pd.DataFrame, cols: list[str]) -> tuple[pd.DataFrame, np.ndarray | None]:
    """(one row per patient in order of first appearance with the first non-missing value of each of ``cols``,
    as ``groupby(patient_id, sort=False).first()``; each row's patient as a row of it, -1 without an id). When
    each patient's rows are one run of consecutive rows (as exports give them) and the columns are
    pyarrow-backed text (as the importer gives them), the runs give both without grouping; otherwise the
    rows' patients are None."""
    runs = _patient_runs(assessments[PATIENT_ID]) if all(arrow_text(assessments[c]) for c in cols) else None
    if runs is None:
        return assessments.groupby(PATIENT_ID, sort=False)[cols].first().reset_index(), None
    starts, run = runs
    out = {PATIENT_ID: assessments[PATIENT_ID].array.take(starts)}
    for c in cols:
        values = assessments[c].array
        out[c] = values.take(starts)  # each patient's first row
        if out[c].isna().any():  # patients whose first row has no value: their first row with one (NA for none)
            at = first_per(run, ~values.isna() & (run >= 0), len(starts))
            out[c] = values.take(at, allow_fill=True)
    return pd.DataFrame(out), run


def _patient_runs(ids: pd.Series) -> tuple[np.ndarray, np.ndarray] | None:
    """(where each patient's run of rows starts, each row's run: 0.. in order, -1 for a missing id) when the ids
    are pyarrow-backed text and no patient has two runs; else None."""
    if not arrow_text(ids) or len(ids) < 2:
        return None
    arr = pa.array(ids.array)
    new = np.ones(len(arr), dtype=bool)  # where a run of equal ids starts
    new[1:] = ~pc.fill_null(pc.equal(arr[1:], arr[:-1]), False).to_numpy(zero_copy_only=False)
    present = arr.is_valid().to_numpy(zero_copy_only=False) if arr.null_count else None
    if present is not None:
        new &= present
    starts = np.flatnonzero(new)
    first = arr.take(starts)
    ascending = len(first) < 2 or pc.all(pc.greater(first[1:], first[:-1])).as_py()  # then no id repeats
    if not ascending and pc.count_distinct(first).as_py() < len(first):  # a patient's rows in two places
        return None
    run, _ = run_numbers(new)
    if present is not None:
        run[~present] = -1
    return starts, run


def _rows(table: pd.DataFrame, keep: np.ndarray) -> pd.DataFrame:
    """``table[keep]`` (a new table: the inputs stay as they are), one column at a time: filtering pyarrow text
    split in chunks (as the importer gives it) is faster than taking rows from it."""
    if keep.all():  # every row: a new table on the same data (copy-on-write)
        return table.copy(deep=False)
    if not table.columns.is_unique:
        return table[keep]
    index = table.index[keep]
    out = pd.DataFrame(
        {
            i: pd.Series(table.iloc[:, i].array[keep], index=index, dtype=dtype, copy=False)
            for i, dtype in enumerate(table.dtypes)
        },
        index=index,
        copy=False,
    )
    out.columns = table.columns
    return out.__finalize__(table)


def _describe(f: dict, instrument: str | None) -> str:
    parts = []
    if f["conditions"] is not None:
        parts.append(" or ".join(CONDITION_LABELS.get(c, c) for c in f["conditions"]) or "no condition")
    if f["sites"] is not None:
        parts.append(" or ".join(f["sites"]) or "no site")
    if f["age_bands"] is not None:
        parts.append("age " + (" or ".join(f["age_bands"]) or "none"))
    if f["sexes"] is not None:
        parts.append("sex " + (" or ".join(f["sexes"]) or "none"))
    if f["routes"] is not None:
        parts.append("route " + (" or ".join(f["routes"]) or "none"))
    if f["baseline_bands"] is not None:
        parts.append(f"{instrument} baseline " + (" or ".join(f["baseline_bands"]) or "none"))
    a, b = f["start_from"], f["start_to"]
    if a and b:
        parts.append(f"started {a} to {b}" if a != b else f"started {a}")
    elif a:
        parts.append(f"started from {a}")
    elif b:
        parts.append(f"started up to {b}")
    return ", ".join(parts) if parts else "All patients"


def select(
    assessments: pd.DataFrame,
    treatments: pd.DataFrame | None = None,
    *,
    conditions=None,
    sites=None,
    age_bands=None,
    sexes=None,
    routes=None,
    baseline_bands=None,
    instrument=None,
    start_from=None,
    start_to=None,
    definitions=None,
) -> Selection:
    """The patients matching every filter given (None = all; a list = any of its values).

    ``baseline_bands`` needs ``instrument``: the band of the patient's baseline of that instrument (baseline
    window from ``definitions``); patients without a baseline of it are then left out. ``instrument`` alone
    does not filter. Patients only in the treatments file (no scores, so no attributes) are kept only when no
    filter is given. Inputs are not changed.
    """
    if not isinstance(assessments, pd.DataFrame):
        raise TypeError(f"assessments must be a pandas DataFrame, got {type(assessments).__name__}")
    if PATIENT_ID not in assessments.columns:
        raise KeyError(
            f"assessments has no {PATIENT_ID!r} column; available: {', '.join(map(str, assessments.columns))}"
        )
    code = instruments.get(instrument).code if instrument is not None else None
    f = {
        "conditions": _values("conditions", conditions, CONDITIONS),
        "sites": _values("sites", sites),
        "age_bands": _values("age_bands", age_bands, AGE_BANDS),
        "sexes": _values("sexes", sexes, SEXES),
        "routes": _values("routes", routes, ROUTES),
        "baseline_bands": _values(
            "baseline_bands", baseline_bands, instruments.get(code).band_labels if code else None
        ),
        "start_from": _period("start_from", start_from),
        "start_to": _period("start_to", start_to),
    }
    if f["baseline_bands"] is not None and code is None:
        raise ValueError("baseline_bands needs instrument=... (the instrument whose baseline band is meant)")
    if code and f["baseline_bands"] is not None and not instruments.get(code).band_labels:
        raise ValueError(f"{code} has no validated severity bands; baseline_bands cannot be used with it")
    if f["start_from"] and f["start_to"] and f["start_from"][:7] > f["start_to"][:7]:
        raise ValueError(f"start_from {f['start_from']} is after start_to {f['start_to']}")

    threshold = _threshold(definitions)
    attribute_filters = [(key, column) for key, column in _ATTRIBUTE_FILTERS if f[key] is not None]
    period = bool(f["start_from"] or f["start_to"])
    needed = [column for _, column in attribute_filters] + ([START_MONTH] if period else [])
    people, run = _people(assessments, [c for c in needed if c in assessments.columns])  # the attributes filtered on
    keep = pd.Series(True, index=people.index)
    notes = []
    for key, column in attribute_filters:
        if column not in people.columns:
            raise KeyError(
                f"{key} filter: assessments has no {column!r} column; available: "
                f"{', '.join(map(str, assessments.columns))}"
            )
        keep &= people[column].isin(f[key]).fillna(False).astype(bool)
        missing = int(people[column].isna().sum())
        if missing:
            notes.append(
                f"{show_count(missing, threshold)} patient(s) without a {column} are left out by the {column} filter."
            )
    if period:
        if START_MONTH not in people.columns:
            raise KeyError(f"start period filter: assessments has no {START_MONTH!r} column")
        keep &= _in_period(people[START_MONTH], f["start_from"], f["start_to"])
    if f["baseline_bands"] is not None:
        if code in _codes_present(assessments[INSTRUMENT]):
            bands = patient_outcomes(assessments, code, definitions).set_index(PATIENT_ID)[BASELINE_BAND]
            band = people[PATIENT_ID].map(bands)
        else:
            band = pd.Series(None, index=people.index, dtype="object")
        keep &= band.isin(f["baseline_bands"]).fillna(False).astype(bool)
        without = int(band.isna().sum())
        if without:
            notes.append(
                f"{show_count(without, threshold)} patient(s) without a {code} baseline are left out by the baseline band filter."
            )

    keep = keep.to_numpy()
    chosen = people.loc[keep, PATIENT_ID]
    filtered = any(v is not None for v in f.values())
    if treatments is not None and not filtered:  # then also the patients only in the treatments file
        treated = pd.Series(pd.unique(treatments[PATIENT_ID].dropna()))
        chosen = pd.concat([chosen, treated[~isin(treated, people[PATIENT_ID])]], ignore_index=True)
    ids = chosen.tolist()
    # the rows of the chosen patients (patients only in the treatments have none in the assessments)
    rows = isin(assessments[PATIENT_ID], chosen) if run is None else np.r_[keep, False][run]
    a = _rows(assessments, rows)
    t = _rows(treatments, isin(treatments[PATIENT_ID], chosen)) if treatments is not None else None
    if not ids:
        notes.append("No patient matches these filters.")
    return Selection(a, t, len(ids), _describe(f, code), f, tuple(notes), code, tuple(ids))


def filter_options(
    assessments: pd.DataFrame, treatments: pd.DataFrame | None = None, *, instrument=None, definitions=None
) -> dict[str, list]:
    """The values present per filter column, for selectors: conditions in schema order, age bands in their
    order, other values sorted; "instrument": the instrument codes present (registry order). With
    ``instrument``, "baseline_band": the bands of that instrument's baselines present (in band order)."""
    people = _attributes(assessments)
    orders = {CONDITION: CONDITIONS, AGE_BAND: AGE_BANDS, SEX: SEXES, ROUTE: ROUTES}
    out: dict[str, list] = {}
    for column in FILTER_COLUMNS:
        if column == BASELINE_BAND:
            continue
        present = set(people[column].dropna().unique()) if column in people.columns else set()
        order = orders.get(column)
        out[column] = [v for v in order if v in present] + sorted(present - set(order)) if order else sorted(present)
    codes = _codes_present(assessments[INSTRUMENT]) if INSTRUMENT in assessments else set()
    out[INSTRUMENT] = [c for c in instruments.registry() if c in codes]
    if instrument is not None:
        code = instruments.get(instrument).code
        labels = instruments.get(code).band_labels
        bands = baseline_bands(assessments, code, definitions) if code in codes else set()
        out[BASELINE_BAND] = [b for b in labels if b in bands]
    return out


@dataclass(frozen=True)
class CohortComparison:
    """Two cohorts side by side for one instrument.

    ``sizes``: cohort, description, patients (selected), with_scores (patients with a score of the
    instrument); ``rates``: per cohort the funnel counts and response_rate with its Wilson 95% CI (``lower``,
    ``upper``), remission_rate with ``remission_lower``/``remission_upper``; ``response_test`` and
    ``remission_test``: :class:`analysis.rates.RateComparison` of cohort A vs B (difference = A - B).
    """

    instrument: str
    sizes: pd.DataFrame
    rates: pd.DataFrame
    response_test: RateComparison
    remission_test: RateComparison
    notes: tuple[str, ...]
    definitions: object = None
    #: why the two cohorts may not be shown side by side (analysis.privacy.cohorts_too_close), None when they may
    withheld: str | None = None

    def to_json(self) -> dict:
        if self.withheld is not None:
            return {INSTRUMENT: self.instrument, "withheld": self.withheld}
        return {
            INSTRUMENT: self.instrument,
            "sizes": self.sizes,
            "rates": self.rates,
            "response_test": self.response_test.to_dict(),
            "remission_test": self.remission_test.to_dict(),
            "notes": list(self.notes),
        }


RATES_COLUMNS = (
    COHORT,
    "description",
    *RATE_TABLE_COLUMNS,
)


def compare(a: Selection, b: Selection, instrument, definitions=None, labels=("A", "B")) -> CohortComparison:
    """Response and remission of cohort ``a`` vs cohort ``b`` for one instrument (rates over the evaluable,
    Wilson 95% CIs; tests by :func:`analysis.rates.compare_rates`; difference = a - b)."""
    from analysis.outcomes import Definitions

    for name, s in (("a", a), ("b", b)):
        if not isinstance(s, Selection):
            raise TypeError(f"{name} must be a Selection from cohorts.select(), got {type(s).__name__}")
    definitions = definitions or Definitions()
    code = instruments.get(instrument).code
    has_remission = definitions.remission_threshold(code) is not None
    notes, sizes, rows = [], [], []
    for label, s in zip(labels, (a, b)):
        if code in _codes_present(s.assessments[INSTRUMENT]):
            f = coded_funnel(Coded(s.assessments), code, definitions)  # funnel_from_outcomes(patient_outcomes(...))
        else:
            f = pd.DataFrame({GROUP: ["all"], **{c: [0] for c in FUNNEL_COUNTS}})
            notes.append(f"Cohort {label} ({s.description}) has no {code} scores.")
        if not has_remission:
            f[REMITTERS] = pd.NA
        f = add_rates(f, remission=has_remission)
        f = f.assign(cohort=label, description=s.description, patients_selected=s.patients)
        rows.append(f)
        sizes.append(
            {
                COHORT: label,
                "description": s.description,
                PATIENTS: s.patients,
                "with_scores": int(f[PATIENTS].iloc[0]),
            }
        )
    rates = pd.concat(rows, ignore_index=True)[list(RATES_COLUMNS)]
    ra, rb = rates.iloc[0], rates.iloc[1]
    response = compare_rates(ra[RESPONDERS], ra[EVALUABLE], rb[RESPONDERS], rb[EVALUABLE])
    if has_remission:
        remission = compare_rates(ra[REMITTERS], ra[EVALUABLE], rb[REMITTERS], rb[EVALUABLE])
    else:
        remission = RateComparison("none", *([float("nan")] * 5), (f"{code} has no remission rule",))
        notes.append(f"{code} has no remission rule: remission is not compared.")
    shared = len(set(a.patient_ids) & set(b.patient_ids))
    if shared:
        notes.append(
            f"The cohorts share {show_count(shared, _threshold(definitions))} patient(s); the tests assume two separate groups, so their p "
            "values are not reliable."
        )
    notes.append(f"Response: {response.test}; remission: {remission.test} (see each test's notes).")
    withheld = cohorts_too_close(_scored(a, code), _scored(b, code), _threshold(definitions))
    return CohortComparison(code, pd.DataFrame(sizes), rates, response, remission, tuple(notes), definitions, withheld)


def _scored(s: Selection, code: str) -> set:
    """The patients of a selection with a score of the instrument (those its counts are of)."""
    t = s.assessments
    return set(t.loc[instrument_rows(t, code), PATIENT_ID].astype(str).unique().tolist())


def instrument_rows(assessments: pd.DataFrame, code: str) -> np.ndarray:
    """Which rows of the assessments are of the instrument ``code`` (a registry code), whatever their spelling:
    each distinct spelling is read once."""
    kinds, spellings = pd.factorize(assessments[INSTRUMENT])
    wanted = [i for i, v in enumerate(spellings) if instruments.normalise_code(v) == code]
    return np.isin(kinds, wanted)


@dataclass(frozen=True)
class CohortDurability:
    """Durability of response of cohort A vs cohort B for one instrument (see the module docstring).

    ``episodes``: cohort, time, event (exact); ``km``: Kaplan-Meier per cohort (groups "A", "B");
    ``logrank`` and ``cox`` (the hazard ratio of B vs A, term ``cohort``): None when they cannot be computed
    (a cohort without episodes, or no event at all); ``withheld``: why the comparison may not be shown
    (also when a cohort has fewer episodes than the suppression threshold), None when it may.
    """

    instrument: str
    episodes: pd.DataFrame
    km: object  # analysis.survival.KaplanMeier
    logrank: object | None  # analysis.survival.LogRank
    cox: object | None  # analysis.survival.CoxResult
    withheld: str | None
    notes: tuple[str, ...]
    definitions: object = None

    def at_risk(self, days=None) -> pd.DataFrame:
        """The number at risk per cohort under the chart (analysis.durability.at_risk; exact counts)."""
        from analysis.durability import at_risk

        return at_risk(self.km, days)

    def comparison_shown(self) -> dict | None:
        """The comparison as it may be shown: hazard ratio of B vs A with its Wald 95% CI and p, and the
        log-rank chi-square, df and p; None when ``withheld``. A hazard ratio that is not estimable (a cohort
        without events) is None with its reason under ``not_estimable`` ("no events in cohort B")."""
        if self.withheld is not None or self.cox is None or self.logrank is None:
            return None
        hr = self.cox.params_shown().iloc[0]
        if isinstance(hr["not_estimable"], str):  # a cohort without events: no number, the reason instead
            return {
                "hr": None,
                "lower": None,
                "upper": None,
                "p": None,
                "not_estimable": hr["not_estimable"],
                "chi2": float(self.logrank.chi2),
                "df": int(self.logrank.df),
                "logrank_p": float(self.logrank.p),
            }
        return {
            "hr": float(hr["hr"]),
            "lower": float(hr["lower"]),
            "upper": float(hr["upper"]),
            "p": float(hr["p"]),
            "chi2": float(self.logrank.chi2),
            "df": int(self.logrank.df),
            "logrank_p": float(self.logrank.p),
        }


def compare_durability(a: Selection, b: Selection, instrument, definitions=None) -> CohortDurability:
    """Kaplan-Meier curves of cohorts ``a`` ("A") and ``b`` ("B"), the log-rank test and the Cox hazard ratio
    of B vs A on their pooled durability episodes. Raises DataError when a cohort has no score of the
    instrument (as analysis.durability.analyse)."""
    from analysis.outcomes import Definitions, patient_outcomes
    from analysis.response_episodes import episodes_with_notes
    from analysis.survival import cox, kaplan_meier, logrank

    for name, s in (("a", a), ("b", b)):
        if not isinstance(s, Selection):
            raise TypeError(f"{name} must be a Selection from cohorts.select(), got {type(s).__name__}")
    definitions = definitions or Definitions()
    threshold = _threshold(definitions)
    code = instruments.get(instrument).code
    episodes, notes = {}, []
    for c, s in (("A", a), ("B", b)):  # each cohort's durability episodes (as analysis.durability.analyse has them)
        coded = Coded(s.assessments)
        outcomes = patient_outcomes(s.assessments, code, definitions, coded=coded)  # (DataError: no scores)
        episodes[c], ep_notes = episodes_with_notes(s.assessments, s.treatments, code, definitions, outcomes, coded)
        notes += [f"Cohort {c}: {n}" for n in ep_notes]
    ep = pd.concat([e[["time", "event"]].assign(**{COHORT: c}) for c, e in episodes.items()], ignore_index=True)
    ep = ep[[COHORT, "time", "event"]].astype({"time": "float64"})
    km = kaplan_meier(ep["time"], ep["event"], ep[COHORT])
    notes += list(km.notes)
    sizes = {c: len(e) for c, e in episodes.items()}
    lr = fit = None
    if min(sizes.values()) > 0 and ep["event"].sum() > 0:
        lr = logrank(ep["time"], ep["event"], ep[COHORT])
        fit = cox(ep, "time", "event", [COHORT], reference={COHORT: "A"})
    withheld = None
    if fit is None or any(is_small(n, threshold) for n in sizes.values()):
        withheld = "Too few responders with follow-up (or no loss of response) in a cohort to compare durability."
    elif too_close := cohorts_too_close(_scored(a, code), _scored(b, code), threshold):  # (the curves too)
        withheld = too_close
    elif set(a.patient_ids) & set(b.patient_ids):
        notes.append("The cohorts share patients: the hazard ratio and log-rank test assume separate groups.")
    return CohortDurability(code, ep, km, lr, fit, withheld, tuple(notes), definitions)
