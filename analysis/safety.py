"""Session safety (DESIGN "Session safety"): per session the flags of the monitoring record, their rates per 100
sessions and per patient with Wilson 95% CIs (overall and by site, start month, route, dose band and infusion number
1-6 of the series), the blood-pressure rise by age band and over the series, time to discharge, adverse events by
kind, and suicidality from PHQ-9 item 9 (at baseline, emergent, resolved).

Rules: a flag's denominator is the sessions where it can be told (a blank measurement takes the session out of that
flag's denominator only; a rise needs its pre and peak; a flag with two measures, e.g. systolic or diastolic, is
known when either meets its threshold or both are measured); a blank adverse-events cell means none (when the
file keeps adverse events at all). Per patient: patients with at least one flagged session over patients with at
least one evaluable session. Thresholds are the definition card's ``safety`` settings (card.SAFETY_DEFAULTS).
Rates are Wilson intervals as R ``prop.test(x, n, correct = FALSE)``; mean rises with t intervals as R ``t.test``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from analysis import dose as dose_
from analysis import privacy
from analysis import schema as S
from analysis.card import SAFETY_DEFAULTS, Definitions
from analysis.errors import DataError
from analysis.rates import rate_ci

#: the flags, in the order they are shown, with their words
FLAGS = {
    "surge": "Hypertensive surge",
    "severe_hypertension": "Severe hypertension",
    "emergent_hypertension": "Treatment-emergent hypertension",
    "desaturation": "Desaturation",
    "tachycardia": "Tachycardia",
    "deep_sedation": "Deep sedation",
    "marked_dissociation": "Marked dissociation",
    "adverse_event": "Any adverse event",
    "rescue_medication": "Rescue medication",
    "late_discharge": "Late discharge",
    "any_flag": "Any of these",
}
#: the dimensions of the rates table (besides 'overall'), and the column of the session table each reads
DIMENSIONS = {
    S.SITE: S.SITE,
    S.START_MONTH: S.START_MONTH,
    S.ROUTE: S.ROUTE,
    dose_.DOSE_BAND: dose_.DOSE_BAND,
    dose_.INFUSION_NUMBER: dose_.INFUSION_NUMBER,
}
SERIES = 6  # infusion numbers 1-6 of the induction series
RATE_COUNTS = ("sessions", "events", "patients", "patients_flagged")
RATE_SHARES = {("per_100", "lower", "upper"): ("events", "sessions")} | {
    ("patients_per_100", "patients_lower", "patients_upper"): ("patients_flagged", "patients")
}
RATE_COMPLEMENTS = (("events", "sessions"), ("patients_flagged", "patients"))
SYSTOLIC_RISE, DIASTOLIC_RISE = "sbp_rise", "dbp_rise"
SUICIDALITY = ("with_item9", "at_baseline", "emergent", "resolved")


def _either(a_event, a_known, b_event, b_known):
    """A flag of two measures: event when either meets its threshold; known when it is an event or both are known."""
    event = (a_event & a_known) | (b_event & b_known)
    return event, event | (a_known & b_known)


def _written(column: pd.Series) -> np.ndarray:
    """Whether each cell of a text column holds something other than blanks."""
    text = column.astype("str").str.strip()
    return (text.notna() & (text != "")).to_numpy(dtype=bool)


def session_flags(treatments: pd.DataFrame, definitions: Definitions | None = None) -> pd.DataFrame:
    """Per treatment row, in patient and day order: patient, day, kind, route, dose (mg/kg and mg), dose band,
    infusion number, the rises, CADSS, CADSS-6, minutes to discharge and, per flag, its value (True/False) or NA
    where it cannot be told. The one session table that :func:`analyse`, :func:`monitoring_record` and
    analysis.dose_response read (each takes it ready-made as ``flags``, so that the dashboard makes it once)."""
    d = definitions or Definitions()
    th = d.safety_threshold
    t, pid = dose_.in_session_order(treatments)
    doses = dose_.doses_in_order(t, pid)
    sbp0, sbp1, dbp0, dbp1 = (dose_.numbers(t, c) for c in (S.SBP_PRE, S.SBP_PEAK, S.DBP_PRE, S.DBP_PEAK))
    rise_s, rise_d = sbp1 - sbp0, dbp1 - dbp0
    ks, kd = ~np.isnan(rise_s), ~np.isnan(rise_d)
    flags = {}
    flags["surge"] = _either(rise_s >= th("surge_sbp_rise"), ks, rise_d >= th("surge_dbp_rise"), kd)
    for name, key in (("severe_hypertension", "severe"), ("emergent_hypertension", "emergent")):
        flags[name] = _either(sbp1 >= th(f"{key}_sbp"), ~np.isnan(sbp1), dbp1 >= th(f"{key}_dbp"), ~np.isnan(dbp1))
    spo2, hr, moaas = dose_.numbers(t, S.SPO2_MIN), dose_.numbers(t, S.HR_PEAK), dose_.numbers(t, S.MOAAS_MIN)
    flags["desaturation"] = (spo2 < th("desaturation_spo2_below"), ~np.isnan(spo2))
    flags["tachycardia"] = (hr > th("tachycardia_hr_above"), ~np.isnan(hr))
    flags["deep_sedation"] = (moaas <= th("deep_sedation_moaas_max"), ~np.isnan(moaas))
    cadss, cadss6 = dose_.numbers(t, S.CADSS), dose_.numbers(t, S.CADSS6)
    flags["marked_dissociation"] = _either(
        cadss >= th("dissociation_cadss_min"),
        ~np.isnan(cadss),
        cadss6 >= th("dissociation_cadss6_min"),
        ~np.isnan(cadss6),
    )
    # (two measures of which a session has one: known when that one is measured)
    flags["marked_dissociation"] = (flags["marked_dissociation"][0], ~np.isnan(cadss) | ~np.isnan(cadss6))
    if S.ADVERSE_EVENTS in t.columns:
        flags["adverse_event"] = (_written(t[S.ADVERSE_EVENTS]), np.ones(len(t), bool))
    else:
        flags["adverse_event"] = (np.zeros(len(t), bool), np.zeros(len(t), bool))
    if S.RESCUE_MEDICATION in t.columns:
        rescue = t[S.RESCUE_MEDICATION]
        known = _written(rescue)
        flags["rescue_medication"] = (known & (rescue.astype("str").str.strip().str.lower() != "no").to_numpy(), known)
    else:
        flags["rescue_medication"] = (np.zeros(len(t), bool), np.zeros(len(t), bool))
    disch = dose_.numbers(t, S.MINUTES_TO_DISCHARGE)
    flags["late_discharge"] = (disch > th("discharge_minutes_above"), ~np.isnan(disch))
    events = np.logical_or.reduce([e & k for e, k in flags.values()])
    known = np.logical_or.reduce([k for _, k in flags.values()])
    flags["any_flag"] = (events, known)

    out = pd.DataFrame(
        {
            S.PATIENT_ID: t[S.PATIENT_ID].astype("str").array,
            S.DAY: t[S.DAY].to_numpy(dtype=float, na_value=np.nan),
            S.KIND: t[S.KIND].array,
            S.ROUTE: t[S.ROUTE].fillna("unknown").array if S.ROUTE in t else "unknown",
            S.DOSE: doses[S.DOSE].to_numpy(),
            S.DOSE_MG: doses[S.DOSE_MG].to_numpy(),
            dose_.DOSE_BAND: doses[dose_.DOSE_BAND].to_numpy(),
            dose_.INFUSION_NUMBER: doses[dose_.INFUSION_NUMBER].to_numpy(dtype=float, na_value=np.nan),
            SYSTOLIC_RISE: rise_s,
            DIASTOLIC_RISE: rise_d,
            S.CADSS: cadss,
            S.CADSS6: cadss6,
            S.MINUTES_TO_DISCHARGE: disch,
        }
    )
    if S.ADVERSE_EVENTS in t.columns:
        out[S.ADVERSE_EVENTS] = t[S.ADVERSE_EVENTS].array
    for name, (event, know) in flags.items():
        out[name] = pd.array(np.where(know, event & know, False), dtype="boolean")
        out.loc[~know, name] = pd.NA
    return out


def _attributes(assessments: pd.DataFrame | None, patients: pd.Index) -> pd.DataFrame:
    """Per patient of ``patients`` (distinct keys), in their order: site, start month, age band (first value in the
    assessments), or 'unknown'."""
    cols = [S.SITE, S.START_MONTH, S.AGE_BAND]
    if assessments is None or assessments.empty:
        return pd.DataFrame({c: "unknown" for c in cols}, index=pd.Index(patients.unique(), name=S.PATIENT_ID))
    a = assessments[[S.PATIENT_ID] + [c for c in cols if c in assessments.columns]].copy()
    a[S.PATIENT_ID] = a[S.PATIENT_ID].astype(str)
    first = a.drop_duplicates(S.PATIENT_ID).set_index(S.PATIENT_ID).reindex(patients.unique())
    for c in cols:
        first[c] = first[c].astype(object).fillna("unknown") if c in first.columns else "unknown"
    return first[cols]


def _flag_arrays(frame: pd.DataFrame, names) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per flag of ``names`` (boolean columns of ``frame``, NA: cannot be told): (event, known) as arrays."""
    out = {}
    for name in names:
        known = frame[name].notna().to_numpy()
        out[name] = (frame[name].fillna(False).to_numpy(dtype=bool) & known, known)
    return out


def _rate_rows(
    flags: dict[str, tuple[np.ndarray, np.ndarray]], gcode: np.ndarray, labels, dimension: str, pcode: np.ndarray
) -> list[dict]:
    """Per flag (:func:`_flag_arrays`) and group: sessions, events, per 100 with its Wilson limits, and the same per
    patient. ``gcode``: each row's group as a position in ``labels`` (-1: in none); ``pcode``: each row's patient
    as a code 0, 1, ..."""
    m = len(labels)
    npat = int(pcode.max(initial=0)) + 1
    # each (group, patient) pair once: a group's distinct patients among some rows are its distinct pairs there
    pair, pairs = pd.factorize(gcode.astype(np.int64) * npat + pcode)
    pair_group = pairs // npat

    def patients(mask):
        seen = np.zeros(len(pairs), dtype=bool)
        seen[pair[mask]] = True
        return np.bincount(pair_group[seen], minlength=m)

    rows = []
    for flag, (event, known) in flags.items():
        known = known & (gcode >= 0)
        if not known.any():
            continue
        event = event & known
        sessions, events = np.bincount(gcode[known], minlength=m), np.bincount(gcode[event], minlength=m)
        people, flagged = patients(known), patients(event)
        for i in np.flatnonzero(sessions):
            n, x, pn, px = int(sessions[i]), int(events[i]), int(people[i]), int(flagged[i])
            rate, lo, hi = rate_ci(x, n)
            prate, plo, phi = rate_ci(px, pn)
            rows.append(
                {
                    "flag": flag,
                    S.DIMENSION: dimension,
                    S.GROUP: labels[i],
                    "sessions": n,
                    "events": x,
                    "per_100": 100 * rate,
                    "lower": 100 * lo,
                    "upper": 100 * hi,
                    "patients": pn,
                    "patients_flagged": px,
                    "patients_per_100": 100 * prate,
                    "patients_lower": 100 * plo,
                    "patients_upper": 100 * phi,
                }
            )
    return rows


def _group_order(values) -> list:
    def key(v):
        try:
            return (0, float(v), "")
        except (TypeError, ValueError):
            return (1, 0.0, str(v))

    return sorted(values, key=key)


def _mean_ci(values: np.ndarray) -> tuple[int, float, float, float, float]:
    """(n, mean, sd, lower, upper): the mean with its t 95% interval, as R t.test(x)$conf.int."""
    v = values[~np.isnan(values)]
    n = len(v)
    if n == 0:
        return 0, math.nan, math.nan, math.nan, math.nan
    m = float(v.mean())
    if n < 2:
        return n, m, math.nan, math.nan, math.nan
    sd = float(v.std(ddof=1))
    half = stats.t.ppf(0.975, n - 1) * sd / math.sqrt(n)
    return n, m, sd, m - half, m + half


def _means(group: np.ndarray, pcode: np.ndarray, values: dict[str, np.ndarray]) -> pd.DataFrame:
    """Per group (``group``: each row's, missing: in none) its patients and, per column of ``values`` (floats,
    NaN: not kept), n, mean, sd and the t 95% limits (:func:`_mean_ci`). ``pcode``: each row's patient as a code."""
    codes, labels = pd.factorize(group)
    position = {g: i for i, g in enumerate(labels)}
    rows = []
    for g in _group_order(labels):
        at = codes == position[g]
        row = {S.GROUP: g, S.PATIENTS: int(np.count_nonzero(np.bincount(pcode[at])))}
        for c, v in values.items():
            n, m, sd, lo, hi = _mean_ci(v[at])
            row |= {f"{c}_n": n, f"{c}_mean": m, f"{c}_sd": sd, f"{c}_lower": lo, f"{c}_upper": hi}
        rows.append(row)
    return pd.DataFrame(rows)


def suicidality(assessments: pd.DataFrame, definitions: Definitions | None = None) -> tuple[dict, pd.DataFrame]:
    """PHQ-9 item 9 per patient: ({with_item9, at_baseline, emergent, resolved}, per-patient table).

    Baseline item 9: that of the PHQ-9 baseline (the last score in the card's baseline window). At baseline: >= 1
    there; emergent: 0 at baseline and >= 1 at a later PHQ-9; resolved: >= 1 at baseline and 0 at the last later
    one. ``with_item9``: patients with an item 9 at baseline (the denominator of all three)."""
    d = definitions or Definitions()
    empty = pd.DataFrame(
        columns=[
            S.PATIENT_ID,
            "baseline_item9",
            "latest_item9",
            "latest_day",
            "max_later_item9",
            "first_day_ge1",
            "status",
        ]
    )
    if S.PHQ9_ITEM9 not in assessments.columns:
        return {k: 0 for k in SUICIDALITY} | {"kept": False}, empty
    kept = (assessments[S.INSTRUMENT] == "PHQ9") & assessments[S.PHQ9_ITEM9].notna()
    a = assessments.loc[kept, [S.PATIENT_ID, S.DAY, S.PHQ9_ITEM9]].dropna()
    a = a.astype({S.PATIENT_ID: str, S.DAY: float, S.PHQ9_ITEM9: float})
    a = a.sort_values([S.PATIENT_ID, S.DAY], kind="stable")
    lo, hi = d.baseline_window
    base = a[(a[S.DAY] >= lo) & (a[S.DAY] <= hi)].groupby(S.PATIENT_ID).last()
    later = a[a[S.DAY] > hi]
    table = pd.DataFrame(index=base.index)
    table["baseline_item9"] = base[S.PHQ9_ITEM9]
    g = later.groupby(S.PATIENT_ID)
    table["latest_item9"] = g[S.PHQ9_ITEM9].last()
    table["latest_day"] = g[S.DAY].last()
    table["max_later_item9"] = g[S.PHQ9_ITEM9].max()
    table["first_day_ge1"] = later[later[S.PHQ9_ITEM9] >= 1].groupby(S.PATIENT_ID)[S.DAY].min()
    b = table["baseline_item9"]
    status = np.where(
        b >= 1,
        np.where(table["latest_item9"] == 0, "resolved", "at baseline"),
        np.where(table["max_later_item9"] >= 1, "emergent", "none"),
    )
    table["status"] = status
    counts = {
        "with_item9": int(len(table)),
        "at_baseline": int((b >= 1).sum()),
        "emergent": int((status == "emergent").sum()),
        "resolved": int((status == "resolved").sum()),
        "kept": True,
    }
    order = {"emergent": 0, "at baseline": 1, "resolved": 2, "none": 3}
    table = table.reset_index().sort_values(
        ["status", "first_day_ge1", S.PATIENT_ID], key=lambda s: s.map(order) if s.name == "status" else s
    )
    return counts, table.reset_index(drop=True)


@dataclass(frozen=True)
class Safety:
    """Session safety of a practice. ``flags``: one row per session (patient key and day: for clinicians only);
    ``rates``: per flag and group (dimension 'overall' and those asked for) sessions, events, per 100 with Wilson
    95% limits, and the same per patient; ``by_infusion_number``: mean rises and dissociation by infusion 1-6 with t
    intervals; ``bp_by_age``: mean rises by age band; ``discharge``: minutes to discharge by route; ``events``: each
    adverse event's sessions and patients; ``suicidality`` counts and ``suicidality_patients``."""

    flags: pd.DataFrame
    rates: pd.DataFrame
    by_infusion_number: pd.DataFrame
    bp_by_age: pd.DataFrame
    discharge: pd.DataFrame
    events: pd.DataFrame
    suicidality: dict
    suicidality_patients: pd.DataFrame
    definitions: Definitions
    notes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def sessions(self) -> int:
        return int(len(self.flags))

    @property
    def patients(self) -> int:
        return int(self.flags[S.PATIENT_ID].nunique())

    def threshold(self, threshold: int | None = None) -> int:
        return self.definitions.suppression_threshold if threshold is None else int(threshold)

    def rates_shown(self, threshold: int | None = None) -> pd.DataFrame:
        """The rates table as it may be shown: counts 1-10 '<11', rates and limits resting on them withheld, and
        complementary suppression beside each flag's overall row (analysis.rates.rate_blocks), so that no hidden
        count of a site or month can be worked out from the overall and the other groups."""
        from analysis.rates import rate_blocks

        rates = self.rates
        return privacy.suppress_table(
            rates,
            RATE_COUNTS,
            (),
            self.threshold(threshold),
            shares=RATE_SHARES,
            complements=RATE_COMPLEMENTS,
            blocks=rate_blocks(rates.reset_index(drop=True), key="flag"),
        )

    def means_shown(self, table: pd.DataFrame, threshold: int | None = None) -> pd.DataFrame:
        """A table of means (by infusion number, age band, route) with the means of groups under the threshold
        withheld: their counts '<11', their means and limits empty."""
        counts = [S.PATIENTS] + [c for c in table.columns if c.endswith("_n")]
        derived = [c for c in table.columns if c not in counts and c != S.GROUP]
        return privacy.suppress_table(table, counts, derived, self.threshold(threshold))

    def suicidality_shown(self, threshold: int | None = None) -> dict:
        thr = self.threshold(threshold)
        return {k: privacy.show_count(v, thr) if k != "kept" else v for k, v in self.suicidality.items()}

    def flagged_sessions(self) -> pd.DataFrame:
        """The sessions with at least one flag, by patient key and day, with the flags they have (clinicians)."""
        f = self.flags[self.flags["any_flag"].fillna(False).astype(bool)]
        names = [k for k in FLAGS if k != "any_flag"]
        flags = _flag_words(f[names].fillna(False).astype(bool).to_numpy(), names, ", ")
        cols = [S.PATIENT_ID, S.DAY, S.KIND, S.ROUTE, dose_.INFUSION_NUMBER, SYSTOLIC_RISE, DIASTOLIC_RISE]
        return f[cols].assign(flags=flags).reset_index(drop=True)

    def to_json(self, threshold: int | None = None) -> dict:
        """Suppressed: every count 1-10 '<11' and what rests on it withheld (DESIGN Interfaces ``safety``)."""
        thr = self.threshold(threshold)
        return {
            "sessions": privacy.show_count(self.sessions, thr),
            "patients": privacy.show_count(self.patients, thr),
            "rates": self.rates_shown(thr),
            "by_infusion_number": self.means_shown(self.by_infusion_number, thr),
            "bp_by_age": self.means_shown(self.bp_by_age, thr),
            "discharge": self.means_shown(self.discharge, thr),
            "events": privacy.suppress_table(
                self.events, RATE_COUNTS, (), thr, shares=RATE_SHARES, complements=RATE_COMPLEMENTS
            ),
            "suicidality": self.suicidality_shown(thr),
            "thresholds": {k: self.definitions.safety_threshold(k) for k in SAFETY_DEFAULTS},
            "notes": list(self.notes),
        }

    def to_text(self, threshold: int | None = None) -> str:
        j = self.to_json(threshold)
        lines = [f"Session safety: {j['sessions']} sessions of {j['patients']} patients."]
        rates = j["rates"]
        for flag in FLAGS:
            r = rates[(rates["flag"] == flag) & (rates[S.DIMENSION] == S.OVERALL)]
            if r.empty:
                lines.append(f"  {FLAGS[flag]}: not recorded.")
                continue
            r = r.iloc[0]
            per = (
                "withheld"
                if r["per_100"] is None
                else f"{r['per_100']:.1f} per 100 ({r['lower']:.1f}-{r['upper']:.1f})"
            )
            pp = (
                "withheld"
                if r["patients_per_100"] is None
                else f"{r['patients_per_100']:.1f}% of patients ({r['patients_lower']:.1f}-{r['patients_upper']:.1f})"
            )
            lines.append(f"  {FLAGS[flag]}: {r['events']} of {r['sessions']} sessions, {per}; {pp}.")
        s = j["suicidality"]
        if s.get("kept"):
            lines.append(
                f"PHQ-9 item 9 (of {s['with_item9']} patients with it at baseline): >= 1 at baseline {s['at_baseline']}, "
                f"emergent {s['emergent']}, resolved {s['resolved']}."
            )
        else:
            lines.append("PHQ-9 item 9 is not in the data: suicidality cannot be told.")
        lines += [f"Note: {n}" for n in self.notes]
        return "\n".join(lines)


def analyse(
    assessments: pd.DataFrame | None,
    treatments: pd.DataFrame | None,
    by: str | None = None,
    definitions: Definitions | None = None,
    flags: pd.DataFrame | None = None,
) -> Safety:
    """Session safety of the treatments' monitoring record (see the module docstring). ``by``: one dimension of
    the rates table besides 'overall' (site, start_month, route, dose_band, infusion_number); None: all of them.
    ``flags``: :func:`session_flags` of the treatments and definitions, when the caller has it."""
    d = definitions or Definitions()
    if by is not None and by not in DIMENSIONS:
        raise KeyError(f"safety by {by!r}: unknown grouping; use one of {', '.join(DIMENSIONS)}")
    if treatments is None or treatments.empty:
        raise DataError("Session safety needs a treatments file with the sessions' monitoring record; none was given.")
    kept = [c for c in S.MONITORING_COLUMNS if c in treatments.columns and treatments[c].notna().any()]
    notes = []
    if not kept:
        notes.append(
            "The treatments hold no monitoring record (vitals, CADSS, MOAA/S, adverse events, rescue medication, "
            "minutes to discharge): no flag can be told."
        )
    flags = session_flags(treatments, d) if flags is None else flags
    pcode, patients = pd.factorize(flags[S.PATIENT_ID])  # (once for every table of rates)
    attrs = _attributes(assessments, patients)
    flags = flags.assign(**{c: attrs[c].to_numpy()[pcode] for c in attrs.columns})
    arrays = _flag_arrays(flags, FLAGS)
    rows = _rate_rows(arrays, np.zeros(len(flags), dtype=np.int64), [S.OVERALL], S.OVERALL, pcode)
    number = flags[dose_.INFUSION_NUMBER].to_numpy(dtype=float, na_value=np.nan)
    in_series = pd.array(np.where(number <= SERIES, number, np.nan), dtype="Int64")  # 1-6 of the series
    for dim in [by] if by else list(DIMENSIONS):
        if dim == dose_.INFUSION_NUMBER:
            gcode, labels = pd.factorize(in_series)
            labels = [int(v) for v in labels]
        elif DIMENSIONS[dim] in attrs.columns:  # a patient's attribute: coded once per patient
            codes, labels = pd.factorize(attrs[DIMENSIONS[dim]])
            gcode = codes[pcode]
        else:
            gcode, labels = pd.factorize(flags[DIMENSIONS[dim]])
        labels = list(labels)
        order = {g: i for i, g in enumerate(_group_order(labels))}
        sub = _rate_rows(arrays, gcode, labels, dim, pcode)
        rows += sorted(sub, key=lambda r: (list(FLAGS).index(r["flag"]), order[r[S.GROUP]]))
    rates = pd.DataFrame(rows)
    rises = {c: flags[c].to_numpy(dtype=float, na_value=np.nan) for c in (SYSTOLIC_RISE, DIASTOLIC_RISE)}
    by_number = _means(in_series, pcode, rises)
    if len(by_number):
        cad = {c: flags[c].to_numpy(dtype=float, na_value=np.nan) for c in (S.CADSS, S.CADSS6)}
        by_number = by_number.merge(_means(in_series, pcode, cad).drop(columns=S.PATIENTS), on=S.GROUP, how="left")
    bp_by_age = _means(flags[S.AGE_BAND].to_numpy(dtype=object), pcode, rises)
    discharge = _discharge(flags)
    events = _events(flags, pcode)
    counts, patients = suicidality(assessments, d) if assessments is not None else suicidality(pd.DataFrame(), d)
    if not counts.get("kept"):
        notes.append("PHQ-9 item 9 is not in the data (phq9_item9): suicidality cannot be told.")
    notes.append(
        "Per 100 sessions: flagged sessions over the sessions where the flag can be told; per patient: patients with a "
        "flagged session over patients with a session where it can be told. Wilson 95% intervals."
    )
    # a copy of the card: the result is shared read-only by the dashboard (ui/cache.py), which keys the objects in
    # it after the call that made them; the caller's card must keep its own key
    own = d.replace()
    return Safety(flags, rates, by_number, bp_by_age, discharge, events, counts, patients, own, tuple(notes))


def _discharge(extra: pd.DataFrame) -> pd.DataFrame:
    """Minutes to discharge by route: n, mean with t interval, median, quartiles."""
    rows = []
    for g in _group_order(pd.unique(extra[S.ROUTE].dropna())):
        at = extra[S.ROUTE] == g
        v = extra.loc[at, S.MINUTES_TO_DISCHARGE].to_numpy(dtype=float)
        v = v[~np.isnan(v)]
        if not len(v):
            continue
        n, m, sd, lo, hi = _mean_ci(v)
        q1, med, q3 = np.percentile(v, [25, 50, 75])
        rows.append(
            {
                S.GROUP: g,
                S.PATIENTS: int(extra.loc[at & extra[S.MINUTES_TO_DISCHARGE].notna(), S.PATIENT_ID].nunique()),
                "minutes_n": n,
                "minutes_mean": m,
                "minutes_lower": lo,
                "minutes_upper": hi,
                "minutes_median": float(med),
                "minutes_q1": float(q1),
                "minutes_q3": float(q3),
            }
        )
    return pd.DataFrame(rows)


def _events(flags: pd.DataFrame, pcode: np.ndarray) -> pd.DataFrame:
    """Each adverse event: sessions and patients with it, over the sessions and patients with the record.
    ``pcode``: each session's patient as a code."""
    if S.ADVERSE_EVENTS not in flags.columns:
        return pd.DataFrame(columns=["flag", *RATE_COUNTS])
    # each distinct cell split once (a practice writes few distinct combinations), then taken per session
    cell, distinct = pd.factorize(flags[S.ADVERSE_EVENTS].astype(object).fillna("").astype(str))
    parts = [set(str(v).split(";")) for v in distinct]
    every = np.ones(len(flags), dtype=bool)
    members = {code: (np.array([code in p for p in parts], dtype=bool)[cell], every) for code in S.ADVERSE_EVENT_CODES}
    rows = _rate_rows(members, np.zeros(len(flags), dtype=np.int64), [S.OVERALL], S.OVERALL, pcode)
    return pd.DataFrame([r for r in rows if r["events"]])


def _flag_words(which: np.ndarray, names: list[str], sep: str) -> np.ndarray:
    """Per row of the boolean matrix ``which`` (rows x flags ``names``) the words of its flags joined by ``sep``
    ('' for none); each distinct combination written once."""
    if not len(which):
        return np.array([], dtype=object)
    bits = 1 << np.arange(len(names), dtype=np.int64)
    combos, row = np.unique(which.astype(np.int64) @ bits, return_inverse=True)  # each combination as one number
    words = [sep.join(FLAGS[k].lower() for k, b in zip(names, bits) if c & b) for c in combos]
    return np.array(words, dtype=object)[np.asarray(row).reshape(-1)]


#: the session-monitoring export: one row per session, the fields a monitoring form asks for
RECORD_COLUMNS = (
    S.PATIENT_ID,
    S.DAY,
    S.KIND,
    S.ROUTE,
    dose_.INFUSION_NUMBER,
    S.DOSE,
    S.DOSE_MG,
    S.DURATION_MIN,
    *S.VITALS_PRE,
    *S.VITALS_PEAK,
    SYSTOLIC_RISE,
    DIASTOLIC_RISE,
    S.CADSS,
    S.CADSS6,
    S.MOAAS_MIN,
    S.ADVERSE_EVENTS,
    S.RESCUE_MEDICATION,
    S.MINUTES_TO_DISCHARGE,
    "flags",
)


def monitoring_record(
    treatments: pd.DataFrame, definitions: Definitions | None = None, flags: pd.DataFrame | None = None
) -> pd.DataFrame:
    """The session-monitoring export (clinicians: patient keys and days): one row per session in patient and day
    order with the monitoring form's fields (blank where not kept), the rises and the flags in words. ``flags``:
    :func:`session_flags` of the treatments and definitions, when the caller has it."""
    flags = session_flags(treatments, definitions) if flags is None else flags
    t = dose_.in_session_order(treatments)[0]
    out = flags[[S.PATIENT_ID, S.DAY, S.KIND, S.ROUTE, dose_.INFUSION_NUMBER, SYSTOLIC_RISE, DIASTOLIC_RISE]].copy()
    for c in RECORD_COLUMNS:
        if c not in out.columns and c != "flags":
            out[c] = t[c].to_numpy() if c in t.columns else np.nan
    names = [k for k in FLAGS if k != "any_flag"]
    out["flags"] = _flag_words(flags[names].fillna(False).astype(bool).to_numpy(), names, "; ")
    return out[list(RECORD_COLUMNS)]


def session_safety(
    assessments: pd.DataFrame | None,
    treatments: pd.DataFrame | None,
    definitions: Definitions | None = None,
    flags: pd.DataFrame | None = None,
) -> Safety:
    """:func:`analyse` over every dimension: the one call the Safety page and the PDF report make (one cached
    result for both)."""
    return analyse(assessments, treatments, definitions=definitions, flags=flags)
