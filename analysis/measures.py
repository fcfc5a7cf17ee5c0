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

from analysis import instruments, privacy
from analysis.card import Definitions
from analysis.errors import DataError
from analysis.outcomes import instrument_scores
from analysis.rates import rate_ci
from analysis.schema import CONDITION, DAY, INSTRUMENT, PATIENT_ID, SITE, START_MONTH

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
    MeasureSpec("MIPS 370", "Depression remission at 12 months", "CMS159, MIPS 370, NQF 0710", 12, "remission"),
    MeasureSpec("MIPS 411", "Depression remission at 6 months", "MIPS 411, NQF 0711, CCBHC DEP-REM-6", 6, "remission"),
    MeasureSpec("NQF 1884", "Depression response at 6 months", "NQF 1884", 6, "response"),
    MeasureSpec("NQF 1885", "Depression response at 12 months", "NQF 1885", 12, "response"),
    MeasureSpec("DRR-E follow-up", "Depression follow-up (PHQ-9 at 4-8 months)", "HEDIS DRR-E", 6, "follow_up"),
    MeasureSpec("DRR-E remission", "Depression remission (HEDIS)", "HEDIS DRR-E", 6, "remission"),
    MeasureSpec("DRR-E response", "Depression response (HEDIS)", "HEDIS DRR-E", 6, "response"),
)
SPECS = {m.key: m for m in MEASURES}

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

    def shown(self, threshold: int | None = None) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        """(measures, by_month, by_site) as they may be shown together: counts from 1 to threshold - 1 as
        '<11', a second count withheld wherever one count of a sum (overall = its groups, eligible = its
        parts, denominator = its parts) would otherwise be worked out by subtraction, and the rate and its
        interval withheld where the numerator or the denominator is."""
        thr = self.threshold if threshold is None else int(threshold)
        return suppress(self.measures, [self.by_month, self.by_site], thr)

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


def _months(calendar_days: pd.Series) -> pd.Series:
    stamps = pd.Timestamp("1970-01-01") + pd.to_timedelta(calendar_days, unit="D")
    return stamps.dt.strftime("%Y-%m")


def _patients(assessments: pd.DataFrame) -> pd.DataFrame:
    cols = [c for c in (CONDITION, SITE, START_MONTH) if c in assessments.columns]
    p = assessments[[PATIENT_ID] + cols].dropna(subset=[PATIENT_ID]).groupby(PATIENT_ID, sort=True).first()
    for c in (CONDITION, SITE, START_MONTH):
        if c not in p.columns:
            p[c] = pd.NA
    p["origin"] = _origins(p[START_MONTH])
    return p


def _data_end(assessments, treatments, patients) -> float:
    """The latest calendar day of any score or treatment (NaN when no row has a start month)."""
    days = []
    for frame in (assessments, treatments):
        if frame is None or frame.empty or DAY not in frame.columns or PATIENT_ID not in frame.columns:
            continue
        origin = patients["origin"].reindex(frame[PATIENT_ID]).to_numpy()
        days.append(origin + pd.to_numeric(frame[DAY], errors="coerce").to_numpy(dtype=float))
    values = np.concatenate(days) if days else np.array([])
    values = values[np.isfinite(values)]
    return float(values.max()) if len(values) else np.nan


def _index_events(phq: pd.DataFrame, patients: pd.DataFrame, lo: str | None, hi: str | None) -> pd.DataFrame:
    s = phq.join(patients[["origin", CONDITION, SITE]], on=PATIENT_ID)
    s = s[s["origin"].notna() & (s["score"] > INDEX_ABOVE + TOLERANCE)]
    s = s.assign(index_month=_months(s["origin"] + s[DAY]))
    if lo is not None:
        s = s[s["index_month"] >= lo]
    if hi is not None:
        s = s[s["index_month"] <= hi]
    s = s[s[CONDITION].isin([DEPRESSION, BIPOLAR])]
    first = s.sort_values([PATIENT_ID, DAY], kind="stable").drop_duplicates(PATIENT_ID)
    return first.rename(columns={DAY: "index_day", "score": "index_score"}).set_index(PATIENT_ID)


def _window_scores(phq: pd.DataFrame, index: pd.DataFrame, window: tuple[int, int]) -> pd.DataFrame:
    """Per index patient: the last score in the window (day, score), the first score in it, and the first that
    is a remission and a response."""
    j = phq.join(index[["index_day", "index_score"]], on=PATIENT_ID, how="inner").reset_index(drop=True)
    rel = j[DAY] - j["index_day"]
    w = j[(rel >= window[0]) & (rel <= window[1])].sort_values([PATIENT_ID, DAY], kind="stable")
    g = w.groupby(PATIENT_ID, sort=True)
    out = pd.DataFrame(index=index.index)
    out["last_day"], out["last_score"] = g[DAY].last(), g["score"].last()
    out["first_day"], out["first_score"] = g[DAY].first(), g["score"].first()
    remit = w[w["score"] < REMISSION_BELOW - TOLERANCE].groupby(PATIENT_ID)
    out["remit_day"], out["remit_score"] = remit[DAY].first(), remit["score"].first()
    resp = w[w["score"] <= RESPONSE_SHARE * w["index_score"] + TOLERANCE].groupby(PATIENT_ID)
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
    disposition = np.select(
        [excluded, not_reached, ~has, met], [EXCLUDED, NOT_REACHED, NO_SCORE, MET], default=NOT_MET
    ).astype(object)
    decided = (disposition == MET) | (disposition == NOT_MET)
    use_first = (rule == "any") & met
    deciding_day = np.where(use_first, first_day, scores["last_day"])
    deciding_score = np.where(use_first, first_score, scores["last_score"])
    state = np.where(
        ~not_reached, "closed", np.where(data_end >= (start + lo).to_numpy(), "open", "not yet open")
    ).astype(object)
    out = pd.DataFrame(
        {
            PATIENT_ID: index.index.to_numpy(),
            "measure": spec.key,
            SITE: index[SITE].to_numpy(),
            "index_month": index["index_month"].to_numpy(),
            "index_day": index["index_day"].to_numpy(),
            "index_score": index["index_score"].to_numpy(),
            "window_from_day": (index["index_day"] + lo).to_numpy(),
            "window_to_day": (index["index_day"] + hi).to_numpy(),
            "disposition": disposition,
            "deciding_day": np.where(decided, deciding_day, np.nan),
            "deciding_score": np.where(decided, deciding_score, np.nan),
            "window_state": np.where(excluded, "", state),
            "due": ~excluded & (state == "open") & ~has,
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


def quality_measures(
    assessments: pd.DataFrame,
    treatments: pd.DataFrame | None = None,
    definitions: Definitions | None = None,
    period_from: str | None = None,
    period_to: str | None = None,
) -> MeasuresResult:
    """The quality measures (``MEASURES``) of the reporting period [period_from, period_to] (index months
    'YYYY-MM', either open), with the card's window (+/- ``measure_window_days``) and score rule."""
    d = definitions or Definitions()
    lo, hi = check_month(period_from, "the first index month"), check_month(period_to, "the last index month")
    if lo and hi and lo > hi:
        raise DataError(f"the reporting period runs from {lo} to {hi}: the first month must not be after the last")
    for col in (PATIENT_ID, DAY):
        if col not in assessments.columns:
            raise DataError(f"assessments have no {col} column; the quality measures need patient_id, day and score")
    half, rule, thr = d.measure_window_days, d.measure_score, d.suppression_threshold
    notes = []
    patients = _patients(assessments)
    if not patients[START_MONTH].astype("string").str.match(MONTH.pattern).fillna(False).any():
        notes.append(
            "No start month (YYYY-MM) in the data: index months, the reporting period and the data end cannot be "
            "placed in the calendar, so no patient can be counted."
        )
    elif patients["origin"].isna().any():
        notes.append("Patients without a start month (YYYY-MM) are left out: their index month cannot be placed.")
    if assessments[CONDITION].isna().all() if CONDITION in assessments.columns else True:
        notes.append("No condition in the data: no patient can be identified as having depression.")
    phq = pd.DataFrame(
        {PATIENT_ID: pd.Series(dtype=object), DAY: pd.Series(dtype=float), "score": pd.Series(dtype=float)}
    )
    has_phq = INSTRUMENT in assessments.columns and (
        assessments[INSTRUMENT].dropna().astype(str).map(instruments.normalise_code).eq("PHQ9").any()
    )
    if has_phq:
        phq = instrument_scores(assessments, "PHQ9")[[PATIENT_ID, DAY, "score"]]
    else:
        notes.append("No PHQ-9 scores in the data: the measures are all about the PHQ-9.")
    data_end = _data_end(assessments, treatments, patients)
    index = _index_events(phq, patients, lo, hi)
    frames = []
    cache = {}
    for spec in MEASURES:
        window = spec.window(half)
        if window not in cache:
            cache[window] = _window_scores(phq, index, window)
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
    data_end_month = None if not np.isfinite(data_end) else _months(pd.Series([data_end])).iloc[0]
    return MeasuresResult(
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


# --- what may be shown ------------------------------------------------------------------------------------


def suppress(measures: pd.DataFrame, groupings: list[pd.DataFrame], threshold: int) -> tuple[pd.DataFrame, ...]:
    """The measure table and its group tables (by month, by site: each partitions the overall row) as they may
    be shown on one screen: small counts as '<11' (``privacy.show_count``), and complementary suppression on
    every sum (a row's eligible = excluded + not_reached + denominator and denominator = numerator + not_met +
    no_score; a measure's overall count = the sum of its groups): where exactly one term of a sum is hidden,
    the smallest other term is withheld too, until no hidden count can be worked out by subtraction. Rates
    and intervals are withheld where the numerator or the denominator is hidden."""
    tables = [measures.reset_index(drop=True)] + [g.reset_index(drop=True) for g in groupings]
    values = {(t, i, c): tables[t].at[i, c] for t in range(len(tables)) for i in tables[t].index for c in COUNTS}
    hidden = {k for k, v in values.items() if privacy.is_small(v, threshold)}
    sums = []
    for t, table in enumerate(tables):
        for i in table.index:
            sums += [((t, i, total), [(t, i, p) for p in parts]) for total, parts in SUMS]
    for t in range(1, len(tables)):
        for i, m in enumerate(tables[0]["measure"]):
            rows = tables[t].index[tables[t]["measure"] == m]
            if len(rows):
                sums += [((0, i, c), [(t, r, c) for r in rows]) for c in COUNTS]
    changed = True
    while changed:
        changed = False
        for total, parts in sums:
            terms = [total] + parts
            if sum(k in hidden for k in terms) != 1:
                continue
            visible = [k for k in parts if k not in hidden]
            nonzero = [k for k in visible if values[k] != 0]
            pick = min(nonzero, key=lambda k: values[k]) if nonzero else (total if total not in hidden else None)
            if pick is None and visible:
                pick = visible[0]
            if pick is not None:
                hidden.add(pick)
                changed = True
    out = []
    for t, table in enumerate(tables):
        shown = table.copy()
        for c in COUNTS + ("rate", "lower", "upper"):
            shown[c] = shown[c].astype(object)
        for i in shown.index:
            for c in COUNTS:
                if (t, i, c) in hidden:
                    shown.at[i, c] = privacy.show_count(values[(t, i, c)], threshold)
                    if not privacy.is_small(values[(t, i, c)], threshold):
                        shown.at[i, c] = None
            if (t, i, "numerator") in hidden or (t, i, "denominator") in hidden:
                for c in ("rate", "lower", "upper"):
                    shown.at[i, c] = None
        out.append(shown)
    return tuple(out)


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
