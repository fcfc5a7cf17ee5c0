"""Quality measures that payers and accreditors ask for (DESIGN "Quality measures"), from the same upload.

Index event: the first PHQ-9 above 9 (same-day scores averaged, as everywhere) of a patient with depression
whose calendar month lies in the reporting period (a range of index months). A patient's calendar day is
taken to be the first day of the start month plus the day offset: only the start month survives the import,
so months and the data end are read on that one scale for every patient. Each measure has a window after the
index event (6 months: days 180 +/- w, 12 months: 365 +/- w; w = 60 or 30, the card's
``measure_window_days``), both end days included, and per patient one disposition:

* ``excluded``: bipolar depression (out of the denominator, counted apart);
* ``not reached``: the upload's data end (its latest calendar day of any score or treatment) comes before
  the window closes (out of the denominator, counted apart: the practice may still act);
* ``no score in window``: in the denominator, not met;
* ``met`` / ``not met``: the most recent PHQ-9 in the window (or, with ``measure_score = "any"``, any PHQ-9
  in it) is below 5 (remission), or at most half the index score (response); follow-up: any PHQ-9 in it.

Rates are numerator / denominator with Wilson 95% intervals (R ``prop.test(correct = FALSE)``). Counts are
exact in the result; :meth:`MeasuresResult.shown` is what may be shown (small cells and their complements
suppressed).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis import privacy
from analysis.arrays import first_rows
from analysis.card import Definitions
from analysis.errors import DataError
from analysis.outcomes import Coded
from analysis.rates import rate_ci
from analysis.schema import CONDITION, DAY, INSTRUMENT, PATIENT_ID, SCORE, SITE, START_MONTH

#: dispositions, in the order of the funnel
EXCLUDED, NOT_REACHED, NO_SCORE, NOT_MET, MET = "excluded", "not reached", "no score in window", "not met", "met"
DISPOSITIONS = (MET, NOT_MET, NO_SCORE, NOT_REACHED, EXCLUDED)
#: who is in a measure at all, and who of them is excluded
DEPRESSION, BIPOLAR = "depression", "bipolar_depression"
INDEX_ABOVE = 9  # index event: a PHQ-9 above this
REMISSION_BELOW = 5
RESPONSE_SHARE = 0.5
TOLERANCE = 1e-9
MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


@dataclass(frozen=True)
class MeasureSpec:
    """One measure: ``key`` (as payers name it), ``name``, the ``programs`` that use it, the window's centre in
    ``months`` (6 or 12) and ``kind`` (remission, response or follow_up)."""

    key: str
    name: str
    programs: str
    months: int
    kind: str

    def window(self, half_width: int) -> tuple[int, int]:
        """The window in days after the index event, both ends included."""
        centre = 180 if self.months == 6 else 365
        return centre - half_width, centre + half_width

    def numerator_in_words(self, score_rule: str = "most_recent") -> str:
        which = "the most recent PHQ-9 in the window" if score_rule == "most_recent" else "any PHQ-9 in the window"
        return {
            "remission": f"{which} is below 5",
            "response": f"{which} is at most half the index score (a drop of 50% or more)",
            "follow_up": "a PHQ-9 in the window",
        }[self.kind]


MEASURES = (
    MeasureSpec("MIPS 370", "Remission at 12 months", "CMS159, MIPS 370, NQF 0710", 12, "remission"),
    MeasureSpec("MIPS 411", "Remission at 6 months", "MIPS 411, NQF 0711, CCBHC DEP-REM-6", 6, "remission"),
    MeasureSpec("NQF 1884", "Response at 6 months", "NQF 1884", 6, "response"),
    MeasureSpec("NQF 1885", "Response at 12 months", "NQF 1885", 12, "response"),
    MeasureSpec("DRR-E follow-up", "Follow-up PHQ-9 at 4-8 months", "HEDIS DRR-E", 6, "follow_up"),
    MeasureSpec("DRR-E remission", "Remission at 4-8 months", "HEDIS DRR-E", 6, "remission"),
    MeasureSpec("DRR-E response", "Response at 4-8 months", "HEDIS DRR-E", 6, "response"),
)
SPECS = {m.key: m for m in MEASURES}

#: what each program asks for, in terms of the measures computed here: (program, what it asks, where it is)
READINGS = (
    (
        "CMS MIPS 370 / 411 (CMS159, NQF 0710 / 0711)",
        "remission (PHQ-9 below 5) 12 and 6 months after the index event, +/- 60 days, the most recent PHQ-9 "
        "in the window deciding",
        "the MIPS 370 and MIPS 411 rows with the default card",
    ),
    (
        "NQF 1884 / 1885",
        "response (PHQ-9 at most half the index score) at 6 and 12 months",
        "the NQF 1884 and NQF 1885 rows",
    ),
    (
        "HEDIS DRR-E",
        "a PHQ-9 4-8 months after the index event (follow-up), and remission and response on the most recent one",
        "the three DRR-E rows (days 120-240)",
    ),
    (
        "CCBHC DEP-REM-6",
        "remission at 6 months (+/- 60 days), a PHQ-9 below 5 at any time in the window counting",
        "the MIPS 411 row read with 'any PHQ-9 in the window' (the card's measure_score = any)",
    ),
    (
        "Joint Commission CTS.03.01.09",
        "no rate: outcomes measured with a standardised instrument, aggregated and evaluated across the "
        "population served",
        "the PHQ-9 is the instrument; the measure table with its trends by index month and by site is the "
        "aggregation; the practice's written review of them is the evaluation",
    ),
)

#: the measure table's count columns; eligible = excluded + not_reached + denominator and
#: denominator = numerator + not_met + no_score (the sums that complementary suppression protects)
COUNTS = ("eligible", "excluded", "not_reached", "denominator", "numerator", "not_met", "no_score")
SUMS = (("eligible", ("excluded", "not_reached", "denominator")), ("denominator", ("numerator", "not_met", "no_score")))
TABLE_COLUMNS = ("measure", "name", "window") + COUNTS + ("rate", "lower", "upper")
PATIENT_COLUMNS = (
    PATIENT_ID,
    "measure",
    SITE,
    "index_month",
    "index_day",
    "index_score",
    "window_from_day",
    "window_to_day",
    "disposition",
    "deciding_day",
    "deciding_score",
    "window_state",
    "due",
)


@dataclass(frozen=True)
class MeasuresResult:
    """The measures of one reporting period.

    ``measures``: one row per measure (``TABLE_COLUMNS``, exact counts); ``by_month`` and ``by_site``: the
    same per index month / site (a ``group`` column after ``measure``); ``patients``: one row per patient and
    measure (``PATIENT_COLUMNS``: days are day offsets since the patient's first treatment; ``window_state``
    closed / open / not yet open at the data end; ``due``: an open window without a PHQ-9 yet, so the practice
    can still act). ``period``: the index months (from, to), None where open; ``data_end_month``: the month
    of the upload's latest day."""

    measures: pd.DataFrame
    by_month: pd.DataFrame
    by_site: pd.DataFrame
    patients: pd.DataFrame
    period: tuple[str | None, str | None]
    data_end_month: str | None
    window_days: int
    score_rule: str
    threshold: int
    notes: tuple[str, ...] = field(default_factory=tuple)
    _shown: dict = field(default_factory=dict, compare=False, repr=False)  # (threshold -> shown(), made once)

    def shown(self, threshold: int | None = None) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        """(measures, by_month, by_site) as they may be shown together: counts from 1 to threshold - 1 as
        '<11', a second count withheld wherever one count of a sum (overall = its groups, eligible = its
        parts, denominator = its parts) would otherwise be worked out by subtraction, and the rate and its
        interval withheld where the numerator or the denominator is."""
        thr = self.threshold if threshold is None else int(threshold)
        if thr not in self._shown:
            self._shown[thr] = suppress(self.measures, [self.by_month, self.by_site], thr)
        return tuple(t.copy() for t in self._shown[thr])

    def to_json(self, patients: bool = False) -> dict:
        table, by_month, by_site = self.shown()
        out = {
            "period": {"from": self.period[0], "to": self.period[1]},
            "data_end_month": self.data_end_month,
            "window_days": self.window_days,
            "score_rule": self.score_rule,
            "suppression_threshold": self.threshold,
            "measures": table,
            "by_month": by_month,
            "by_site": by_site,
            "notes": list(self.notes),
        }
        if patients:
            out["patients"] = self.patients
        return out

    def to_text(self, patients: bool = False) -> str:
        table = self.shown()[0]
        lo, hi = self.period
        lines = [
            f"Quality measures, index months {lo or 'first'} to {hi or 'last'} (data end {self.data_end_month or '-'}); "
            f"window +/- {self.window_days} days, {self.score_rule.replace('_', ' ')} score decides",
            f"{'measure':<16} {'window':>12} {'eligible':>8} {'excl':>5} {'not_reached':>11} {'denom':>6} "
            f"{'num':>6} {'no_score':>8}  rate (95% CI)",
        ]
        for r in table.itertuples(index=False):
            rate = "-" if _missing(r.rate) else f"{100 * r.rate:.1f}% ({100 * r.lower:.1f}-{100 * r.upper:.1f})"
            lines.append(
                f"{r.measure:<16} {r.window:>12} {_c(r.eligible):>8} {_c(r.excluded):>5} {_c(r.not_reached):>11} "
                f"{_c(r.denominator):>6} {_c(r.numerator):>6} {_c(r.no_score):>8}  {rate}"
            )
        if patients:
            lines.append("")
            lines.append(self.patients.to_string(index=False))
        lines += [f"Note: {n}" for n in self.notes]
        return "\n".join(lines)


def _missing(v) -> bool:
    return v is None or (isinstance(v, float) and np.isnan(v))


def _c(v) -> str:
    return "-" if _missing(v) else str(v)


def check_month(value, name: str) -> str | None:
    """A reporting-period bound 'YYYY-MM' (None passes); anything else: DataError saying the form."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not MONTH.match(value.strip()):
        raise DataError(f"{name} must be a month written YYYY-MM (e.g. 2025-01), got {value!r}")
    return value.strip()


def _origins(start_months: pd.Series) -> pd.Series:
    """Days since 1970-01-01 of the first day of each start month (NaN where it is not YYYY-MM)."""
    text = start_months.astype("string")
    ok = text.str.match(MONTH.pattern).fillna(False).astype(bool)
    out = pd.Series(np.nan, index=start_months.index)
    if ok.any():
        stamps = pd.to_datetime(text[ok] + "-01", format="%Y-%m-%d")
        out[ok] = (stamps - pd.Timestamp("1970-01-01")).dt.days.astype(float)
    return out


def _months(calendar_days) -> np.ndarray:
    """'YYYY-MM' of calendar days (days since 1970-01-01; finite), each distinct month written once."""
    months = np.datetime64("1970-01-01", "D") + np.floor(np.asarray(calendar_days, float)).astype("timedelta64[D]")
    distinct, where = np.unique(months.astype("datetime64[M]"), return_inverse=True)
    return np.array([str(m) for m in distinct], dtype=object)[where.reshape(-1)]


def _codes(keys: pd.Series, among: pd.Index) -> np.ndarray:
    """The position of each key in ``among`` (-1: missing or not there), each distinct key hashed once."""
    codes, distinct = pd.factorize(keys)
    where = np.append(among.get_indexer(distinct), -1)
    return where[codes]  # (code -1, a missing key, takes the appended -1)


def _first_per(codes: np.ndarray, values: pd.Series, n: int) -> np.ndarray:
    """Per code 0..n-1, the first value that is not missing (None where none is), as groupby().first()."""
    out = np.full(n, None, dtype=object)
    first = first_rows(codes, n, values.notna().to_numpy())
    found = np.flatnonzero(first >= 0)
    out[found] = values.iloc[first[found]].to_numpy(dtype=object)
    return out


def _patients(assessments: pd.DataFrame, codes: np.ndarray, keys) -> pd.DataFrame:
    """One row per patient, in patient_id order (``keys``, each assessment row's position in them ``codes``):
    patient_id, condition, site, start_month and origin (the calendar day of the start month's first day)."""
    n = len(keys)
    p = pd.DataFrame({PATIENT_ID: np.asarray(keys, dtype=object)})
    for c in (CONDITION, SITE, START_MONTH):
        p[c] = _first_per(codes, assessments[c], n) if c in assessments.columns else None
    months = pd.Series(pd.unique(p[START_MONTH].dropna()), dtype=object)
    origin = dict(zip(months, _origins(months)))
    p["origin"] = p[START_MONTH].map(origin).astype(float)
    return p


def _data_end(assessments, treatments, patients, codes) -> float:
    """The latest calendar day of any score or treatment (NaN when no row has a start month)."""
    origin = np.append(patients["origin"].to_numpy(dtype=float), np.nan)  # (code -1: no origin)
    days = []
    for frame, rows in ((assessments, codes), (treatments, None)):
        if frame is None or frame.empty or DAY not in frame.columns or PATIENT_ID not in frame.columns:
            continue
        rows = _codes(frame[PATIENT_ID], pd.Index(patients[PATIENT_ID])) if rows is None else rows
        days.append(origin[rows] + pd.to_numeric(frame[DAY], errors="coerce").to_numpy(dtype=float, na_value=np.nan))
    values = np.concatenate(days) if days else np.array([])
    values = values[np.isfinite(values)]
    return float(values.max()) if len(values) else np.nan


def _texts(labels, codes=None):
    """Text labels as a pandas text array, or the labels picked by integer ``codes`` (each label converted once:
    a column of 10^5 rows is not converted string by string)."""
    labels = pd.array(np.asarray(labels, dtype=object))
    return labels if codes is None else labels.take(np.asarray(codes, dtype=int))


def _index_events(phq: dict, patients: pd.DataFrame, lo: str | None, hi: str | None) -> pd.DataFrame:
    """Per patient with depression (or bipolar depression, to be excluded) the first PHQ-9 above 9 whose
    calendar month is in [lo, hi]: a frame indexed by the patient's position, in patient_id order."""
    code, day, score = phq["code"], phq["day"], phq["score"]
    origin = np.append(patients["origin"].to_numpy(dtype=float), np.nan)[code]
    condition = np.append(patients[CONDITION].to_numpy(dtype=object), None)[code]
    keep = np.isfinite(origin) & (score > INDEX_ABOVE + TOLERANCE) & pd.Series(condition).isin([DEPRESSION, BIPOLAR])
    rows = np.flatnonzero(keep.to_numpy())
    month = _months(origin[rows] + day[rows])
    inside = np.ones(len(rows), dtype=bool)
    if lo is not None:
        inside &= month >= lo
    if hi is not None:
        inside &= month <= hi
    rows, month = rows[inside], month[inside]
    order = np.lexsort((day[rows], code[rows]))  # by patient, then day
    rows, month = rows[order], month[order]
    who, first = np.unique(code[rows], return_index=True)
    p = patients.iloc[who]
    return pd.DataFrame(
        {
            PATIENT_ID: p[PATIENT_ID].array,
            CONDITION: p[CONDITION].array,
            SITE: p[SITE].array,
            "origin": p["origin"].to_numpy(),
            "index_day": day[rows[first]],
            "index_score": score[rows[first]],
            "index_month": _texts(month[first]),
        },
        index=pd.Index(who, name="code"),
    )


def _window_scores(phq: dict, index: pd.DataFrame, window: tuple[int, int], n: int) -> pd.DataFrame:
    """Per index patient: the last score in the window (day, score), the first score in it, and the first that
    is a remission and a response."""
    index_day, index_score = np.full(n + 1, np.nan), np.full(n + 1, np.nan)
    index_day[index.index], index_score[index.index] = index["index_day"], index["index_score"]
    code, day, score = phq["code"], phq["day"], phq["score"]
    rel = day - index_day[code]
    rows = np.flatnonzero((rel >= window[0]) & (rel <= window[1]))
    rows = rows[np.lexsort((day[rows], code[rows]))]
    w = pd.DataFrame({"code": code[rows], DAY: day[rows], "score": score[rows], "index_score": index_score[code[rows]]})
    g = w.groupby("code", sort=True)
    out = pd.DataFrame(index=index.index)
    out["last_day"], out["last_score"] = g[DAY].last(), g["score"].last()
    out["first_day"], out["first_score"] = g[DAY].first(), g["score"].first()
    remit = w[w["score"] < REMISSION_BELOW - TOLERANCE].groupby("code")
    out["remit_day"], out["remit_score"] = remit[DAY].first(), remit["score"].first()
    resp = w[w["score"] <= RESPONSE_SHARE * w["index_score"] + TOLERANCE].groupby("code")
    out["resp_day"], out["resp_score"] = resp[DAY].first(), resp["score"].first()
    return out


def _dispositions(spec: MeasureSpec, index, scores, data_end: float, half: int, rule: str) -> pd.DataFrame:
    lo, hi = spec.window(half)
    start = index["origin"] + index["index_day"]
    has = scores["last_day"].notna()
    if spec.kind == "follow_up":
        met = has
        first_day, first_score = scores["first_day"], scores["first_score"]
    elif spec.kind == "remission":
        met = (
            scores["last_score"] < REMISSION_BELOW - TOLERANCE if rule == "most_recent" else scores["remit_day"].notna()
        )
        first_day, first_score = scores["remit_day"], scores["remit_score"]
    else:
        limit = RESPONSE_SHARE * index["index_score"] + TOLERANCE
        met = scores["last_score"] <= limit if rule == "most_recent" else scores["resp_day"].notna()
        first_day, first_score = scores["resp_day"], scores["resp_score"]
    excluded = index[CONDITION].eq(BIPOLAR).to_numpy()
    not_reached = (data_end < start + hi).to_numpy() if np.isfinite(data_end) else np.ones(len(index), bool)
    has, met = has.to_numpy(), met.fillna(False).to_numpy(dtype=bool)
    disposition = np.select([excluded, not_reached, ~has, met], [0, 1, 2, 3], default=4)
    decided = disposition >= 3
    use_first = (rule == "any") & met
    deciding_day = np.where(use_first, first_day, scores["last_day"])
    deciding_score = np.where(use_first, first_score, scores["last_score"])
    state = np.where(~not_reached, 1, np.where(data_end >= (start + lo).to_numpy(), 2, 3))  # closed, open, not yet
    out = pd.DataFrame(
        {
            PATIENT_ID: index[PATIENT_ID].array,
            "measure": _texts([spec.key], np.zeros(len(index), dtype=int)),
            SITE: index[SITE].array,
            "index_month": index["index_month"].array,
            "index_day": index["index_day"].to_numpy(),
            "index_score": index["index_score"].to_numpy(),
            "window_from_day": (index["index_day"] + lo).to_numpy(),
            "window_to_day": (index["index_day"] + hi).to_numpy(),
            "disposition": _texts([EXCLUDED, NOT_REACHED, NO_SCORE, MET, NOT_MET], disposition),
            "deciding_day": np.where(decided, deciding_day, np.nan),
            "deciding_score": np.where(decided, deciding_score, np.nan),
            "window_state": _texts(["", "closed", "open", "not yet open"], np.where(excluded, 0, state)),
            "due": ~excluded & (state == 2) & ~has,
        }
    )
    return out


def _count_rows(patients: pd.DataFrame, by: str | None, half: int) -> pd.DataFrame:
    rows = []
    keys = ["measure"] + ([by] if by else [])
    seen = {}
    if len(patients):
        counts = patients.groupby(keys + ["disposition"], sort=False, dropna=False).size()
        for key, n in counts.items():
            seen.setdefault(key[:-1], {})[key[-1]] = int(n)
    if by is None:  # every measure has a row, even with no patients
        seen = {(m.key,): seen.get((m.key,), {}) for m in MEASURES}
    order = {m.key: i for i, m in enumerate(MEASURES)}
    for key in sorted(seen, key=lambda k: (order[k[0]],) + tuple(str(x) for x in k[1:])):
        n = {d: seen[key].get(d, 0) for d in DISPOSITIONS}
        den = n[MET] + n[NOT_MET] + n[NO_SCORE]
        rate, lower, upper = rate_ci(n[MET], den)
        spec = SPECS[key[0]]
        lo, hi = spec.window(half)
        row = {"measure": spec.key, "name": spec.name, "window": f"days {lo}-{hi}"}
        if by:
            row["group"] = "unknown" if pd.isna(key[1]) else str(key[1])
        row |= {
            "eligible": sum(n.values()),
            "excluded": n[EXCLUDED],
            "not_reached": n[NOT_REACHED],
            "denominator": den,
            "numerator": n[MET],
            "not_met": n[NOT_MET],
            "no_score": n[NO_SCORE],
            "rate": rate,
            "lower": lower,
            "upper": upper,
        }
        rows.append(row)
    cols = list(TABLE_COLUMNS[:3]) + (["group"] if by else []) + list(TABLE_COLUMNS[3:])
    return pd.DataFrame(rows, columns=cols)


@dataclass(frozen=True)
class Prepared:
    """What every reporting period of one data set shares, computed once by :func:`prepare`: ``patients`` (one
    row per patient in patient_id order: condition, site, start month, calendar origin), ``phq`` (the PHQ-9
    scores as arrays: each row's patient position, day, score; same-day scores averaged), the ``data_end``
    (calendar day) and the ``notes`` about the data. Read only."""

    patients: pd.DataFrame
    phq: dict
    data_end: float
    notes: tuple[str, ...]


def prepare(assessments: pd.DataFrame, treatments: pd.DataFrame | None = None) -> Prepared:
    """The data's part of the measures (:class:`Prepared`), for several calls of :func:`quality_measures` on
    the same data (a page's periods and variants)."""
    for col in (PATIENT_ID, DAY):
        if col not in assessments.columns:
            raise DataError(f"assessments have no {col} column; the quality measures need patient_id, day and score")
    notes = []
    coded = Coded(assessments) if all(c in assessments.columns for c in (INSTRUMENT, SCORE)) else None
    if coded is not None:  # (the patient codes and PHQ-9 scores as the outcomes read them, coded once)
        codes, keys = coded.patient, coded.ids
    else:
        codes, keys = pd.factorize(assessments[PATIENT_ID], sort=True)
    patients = _patients(assessments, codes, keys)
    if not patients["origin"].notna().any():
        notes.append(
            "No start month (YYYY-MM) in the data: index months, the reporting period and the data end cannot be "
            "placed in the calendar, so no patient can be counted."
        )
    elif patients["origin"].isna().any():
        notes.append("Patients without a start month (YYYY-MM) are left out: their index month cannot be placed.")
    if assessments[CONDITION].isna().all() if CONDITION in assessments.columns else True:
        notes.append("No condition in the data: no patient can be identified as having depression.")
    phq = {"code": np.zeros(0, dtype=np.intp), "day": np.zeros(0), "score": np.zeros(0)}
    if coded is not None and "PHQ9" in coded.lookup:  # (same-day scores averaged, as everywhere)
        phq = dict(zip(("code", "day", "score"), coded.score_arrays("PHQ9")))
    else:
        notes.append("No PHQ-9 scores in the data: the measures are all about the PHQ-9.")
    return Prepared(patients, phq, _data_end(assessments, treatments, patients, codes), tuple(notes))


def quality_measures(
    assessments: pd.DataFrame,
    treatments: pd.DataFrame | None = None,
    definitions: Definitions | None = None,
    period_from: str | None = None,
    period_to: str | None = None,
    *,
    prepared: Prepared | None = None,
) -> MeasuresResult:
    """The quality measures (``MEASURES``) of the reporting period [period_from, period_to] (index months
    'YYYY-MM', either open), with the card's window (+/- ``measure_window_days``) and score rule.
    ``prepared``: :func:`prepare` of the same assessments and treatments, when the caller has it."""
    d = definitions or Definitions()
    lo, hi = check_month(period_from, "the first index month"), check_month(period_to, "the last index month")
    if lo and hi and lo > hi:
        raise DataError(f"the reporting period runs from {lo} to {hi}: the first month must not be after the last")
    prep = prepare(assessments, treatments) if prepared is None else prepared
    half, rule, thr = d.measure_window_days, d.measure_score, d.suppression_threshold
    patients, phq, data_end, notes = prep.patients, prep.phq, prep.data_end, list(prep.notes)
    index = _index_events(phq, patients, lo, hi)
    frames = []
    cache = {}
    for spec in MEASURES:
        window = spec.window(half)
        if window not in cache:
            cache[window] = _window_scores(phq, index, window, len(patients))
        frames.append(_dispositions(spec, index, cache[window], data_end, half, rule))
    per_patient = pd.concat(frames, ignore_index=True)[list(PATIENT_COLUMNS)]
    per_patient["due"] = per_patient["due"].astype(bool)
    notes.append(
        "Calendar months are the start month plus the day offset, counted from the first day of the start month "
        "(only the start month survives the import); the data end is the latest such day of any score or treatment."
    )
    notes.append(
        "Patients whose window closes after the data end are 'not reached': out of the denominator, counted "
        "apart; a patient with no PHQ-9 in a closed window stays in the denominator as not met."
    )
    if len(index) == 0:
        notes.append("No patient with depression has a PHQ-9 above 9 in the reporting period.")
    data_end_month = None if not np.isfinite(data_end) else _months([data_end])[0]
    result = MeasuresResult(
        measures=_count_rows(per_patient, None, half),
        by_month=_count_rows(per_patient, "index_month", half),
        by_site=_count_rows(per_patient, SITE, half),
        patients=per_patient,
        period=(lo, hi),
        data_end_month=data_end_month,
        window_days=half,
        score_rule=rule,
        threshold=thr,
        notes=tuple(notes),
    )
    result.shown()  # (made once here, so that every copy of a cached result has it)
    return result


# --- what may be shown ------------------------------------------------------------------------------------


def suppress(measures: pd.DataFrame, groupings: list[pd.DataFrame], threshold: int) -> tuple[pd.DataFrame, ...]:
    """The measure table and its group tables (by month, by site: each partitions the overall row) as they may
    be shown on one screen, by the one rule of analysis.privacy (``suppress_table``): small counts as '<11',
    and complementary suppression on every sum (a row's eligible = excluded + not_reached + denominator and
    denominator = numerator + not_met + no_score; a measure's overall count = the sum of its groups) until no
    hidden count can be worked out from what is shown. Rates and intervals are withheld where the numerator or
    the denominator is hidden."""
    tables = [measures.reset_index(drop=True)] + [g.reset_index(drop=True) for g in groupings]
    stacked = pd.concat([t.assign(_part=k) for k, t in enumerate(tables)], ignore_index=True)
    blocks = []
    for i in stacked.index[stacked["_part"] == 0]:
        m = stacked.at[i, "measure"]
        for k in range(1, len(tables)):
            rows = stacked.index[(stacked["_part"] == k) & (stacked["measure"] == m)]
            if len(rows):
                blocks.append((int(i), [int(r) for r in rows]))
    shown = privacy.suppress_table(
        stacked,
        COUNTS,
        (),
        threshold,
        shares={("rate", "lower", "upper"): ("numerator", "denominator")},
        blocks=blocks,
        sums=[(total, list(parts)) for total, parts in SUMS],
    )
    out = []
    for k, table in enumerate(tables):
        part = shown[shown["_part"] == k].drop(columns="_part").reset_index(drop=True)
        for c in COUNTS + ("rate", "lower", "upper"):
            part[c] = part[c].astype(object)
        out.append(part[list(table.columns)])
    return tuple(out)


def index_months(result: MeasuresResult) -> list[str]:
    """The index months of a result's patients, in order (of a result over every month: all there are)."""
    return sorted(set(result.patients["index_month"].dropna()))


def index_months_of(prepared: Prepared) -> list[str]:
    """Every index month of the data (:func:`prepare`), in order: ``index_months`` of the measures over all
    months, without computing them."""
    return sorted(set(_index_events(prepared.phq, prepared.patients, None, None)["index_month"]))


def default_period(months: list[str]) -> tuple[str | None, str | None]:
    """The reporting period shown first: the calendar year before the latest index year (its 6-month windows
    have mostly closed by the data end), or the only year there is; (None, None) without index months."""
    years = sorted({m[:4] for m in months}, reverse=True)
    if not years:
        return None, None
    year = years[min(1, len(years) - 1)]
    return f"{year}-01", f"{year}-12"


#: why the ketamine course's response and remission (Overview) differ from the 6- and 12-month measures
WHY_COURSE_DIFFERS = (
    "the course figures read the first PHQ-9 two to four weeks after the first infusion, among patients with a "
    "baseline and that score; the measures read the PHQ-9 6 or 12 months after the first PHQ-9 above 9, when "
    "the effect of an induction series has often faded, and their denominator counts every patient whose "
    "window has closed, a patient without a score in it as not met."
)


def patient_list(result: MeasuresResult, measure: str | None = None, due_only: bool = False) -> pd.DataFrame:
    """The per-patient dispositions (for clinicians), optionally of one measure and only those due."""
    p = result.patients
    if measure is not None:
        if measure not in SPECS:
            raise KeyError(f"measure {measure!r} not known; available: {', '.join(SPECS)}")
        p = p[p["measure"] == measure]
    if due_only:
        p = p[p["due"]]
    return p.reset_index(drop=True)
