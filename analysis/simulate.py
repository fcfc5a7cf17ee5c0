"""A synthetic ketamine practice: seeded, vectorised, realistic enough for every page to tell a story.

Model (one latent "improvement fraction" f(t) per patient; 0 = baseline, 1 = symptom-free):

* Patients start over ``months`` months ending 2026-10, with volume growing over time; the data are
  extracted on 2026-11-20, so recent patients have short follow-up (administrative censoring).
* Peak improvement ``P`` ~ Normal(condition + site + baseline-severity effects, 0.30), clipped. Conditions
  differ (PTSD and depression best, chronic pain worst); sites differ modestly; a higher baseline lowers
  ``P`` a little.
* Induction: 6 infusions planned on days 0, 2, 4, 7, 9, 11 (+-1 day after day 0). The number attended
  follows ``INDUCTION_SHARES`` (20% stop after one, about half finish six) and is correlated with ``P``
  (non-responders stop sooner). The effect builds with each infusion (``DOSE_FRACTION``); a shorter series
  reaches a lower peak ``Peff``.
* Durability: response holds until a relapse start ``last infusion + D`` (Weibull ``D``), then ``f``
  declines linearly over 1-5 weeks to a residual. Some responders get boosters when they start to lose
  response (first 7-28 days after the relapse start, then every 2-12 weeks); each booster gives a
  transient improvement that decays exponentially (time constant 14-30 days).
* Scores: ``round(baseline * (1 - f(t) * sensitivity) + noise)`` clipped to the instrument's range, on
  day 0 (sometimes also day -7..-1), at each infusion attended (before it is given), weekly to week 4, then
  around weeks 6, 8, 12, 16, 20, 24, with missed visits and loss to follow-up. Depression: PHQ-9 and
  GAD-7; anxiety: GAD-7; PTSD: PCL-5; chronic pain: pain NRS; bipolar depression: PHQ-9 and YMRS (low,
  a few transient flags).

Only ``start_month`` survives as a date in the canonical tables; ``vendor_export`` makes real-looking
dates from it for the messy EHR-style file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import ndtr

from analysis import instruments
from analysis import schema as S

#: the last start month, and the (synthetic) extraction date that censors follow-up of recent patients
LAST_START_MONTH = "2026-10"
EXTRACT_DATE = "2026-11-20"
SITE_NAMES = ("Northside", "Riverside", "Lakeside", "Hillcrest", "Bayview", "Westgate", "Eastwood", "Southpoint")

CONDITION_SHARES = {"depression": 0.56, "anxiety": 0.10, "ptsd": 0.13, "chronic_pain": 0.11, "bipolar_depression": 0.10}
AGE_SHARES = (0.08, 0.22, 0.25, 0.20, 0.15, 0.08, 0.02, 0.0)  # over schema.AGE_BANDS
SEX_SHARES = {"F": 0.58, "M": 0.40, "X": 0.02}
ROUTE_SHARES = {"IV": 0.72, "IM": 0.10, "esketamine": 0.12, "intranasal": 0.06}

INDUCTION_DAYS = (0, 2, 4, 7, 9, 11)
#: share of patients attending 1, 2, ..., 6 induction infusions
INDUCTION_SHARES = (0.20, 0.09, 0.08, 0.07, 0.06, 0.50)
#: share of the full-series peak reached after 1..6 infusions
DOSE_FRACTION = (0.45, 0.62, 0.75, 0.85, 0.94, 1.0)
#: probability of no follow-up at all after the last infusion, by infusions attended (1..6)
NO_FOLLOW_UP = (0.60, 0.45, 0.35, 0.28, 0.22, 0.07)
#: follow-up visits: planned day and jitter (low, high) in days
FOLLOW_UPS = (
    (14, -1, 3),
    (21, -2, 2),
    (28, -2, 3),
    (42, -4, 4),
    (56, -4, 4),
    (84, -5, 5),
    (112, -5, 5),
    (140, -5, 5),
    (168, -6, 6),
)
MAX_BOOSTERS = 8
LAST_DAY = 182  # six months

#: per condition: primary instrument, baseline mean and sd, and the shift of the latent peak improvement
CONDITIONS = {
    "depression": ("PHQ9", 18.0, 4.0, 0.00),
    "bipolar_depression": ("PHQ9", 18.5, 4.0, -0.06),
    "anxiety": ("GAD7", 15.0, 3.5, -0.06),
    "ptsd": ("PCL5", 55.0, 11.0, 0.00),
    "chronic_pain": ("PAIN_NRS", 6.8, 1.5, -0.10),
}
#: sensitivity of each instrument to the latent improvement, and measurement noise (sd, score points)
SENSITIVITY = {"PHQ9": 1.0, "GAD7": 0.95, "PCL5": 0.65, "PAIN_NRS": 0.55, "YMRS": 0.3}
NOISE_SD = {"PHQ9": 1.7, "GAD7": 1.6, "PCL5": 5.5, "PAIN_NRS": 0.8, "YMRS": 1.3}

PEAK_MEAN = 0.575
PEAK_SD = 0.30
SITE_EFFECT = 0.025  # the first site is this much better than the average, the last this much worse
#: days from the last infusion to the start of relapse: shift + scale * Weibull(shape), full series / shorter
RELAPSE_GAP = {"complete": (7.0, 62.0, 2.4), "incomplete": (7.0, 45.0, 2.4)}


@dataclass(frozen=True)
class Practice:
    """A synthetic practice: canonical ``assessments`` and ``treatments`` tables (schema columns, days not
    dates), and ``patients`` (one row per patient: attributes, ``day_of_month`` of day 0 (only for the
    vendor export's dates), ``induction_infusions`` and ``boosters`` given)."""

    assessments: pd.DataFrame
    treatments: pd.DataFrame
    patients: pd.DataFrame
    seed: int
    notes: tuple[str, ...] = ()


def _choice(rng: np.random.Generator, n: int, shares) -> np.ndarray:
    """Indices 0..k-1 drawn with the given shares (normalised)."""
    p = np.asarray(shares, dtype=float)
    return np.searchsorted(np.cumsum(p / p.sum()), rng.random(n), side="right").clip(0, len(p) - 1)


def _start_months(months: int) -> list[str]:
    last = pd.Period(LAST_START_MONTH, freq="M")
    return [str(last - (months - 1 - i)) for i in range(months)]


def _site_names(sites: int) -> list[str]:
    return [SITE_NAMES[i] if i < len(SITE_NAMES) else f"Site {i + 1}" for i in range(sites)]


def _strings(values, index: np.ndarray) -> pd.Series:
    """A text column: ``values[index]`` (a fast take from the few distinct values)."""
    return pd.Series(pd.array(np.asarray(values), dtype="str").take(index))


def _check(patients: int, seed: int, sites: int, months: int) -> None:
    for name, value, least in (
        (S.PATIENTS, patients, 1),
        ("seed", seed, 0),
        ("sites", sites, 1),
        ("months", months, 1),
    ):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < least:
            raise ValueError(f"{name} must be a whole number of at least {least}, got {value!r}")


def simulate(patients: int = 600, seed: int = 20261121, sites: int = 3, months: int = 24) -> Practice:
    """A seeded synthetic practice (see the module docstring for the model)."""
    _check(patients, seed, sites, months)
    rng = np.random.default_rng(seed)
    n = int(patients)

    # --- who starts when, where --------------------------------------------------------------
    month_labels = _start_months(months)
    month = _choice(rng, n, 1.0 + 1.5 * np.arange(months) / max(months - 1, 1))
    month_start = pd.PeriodIndex(month_labels, freq="M").to_timestamp().to_numpy().astype("datetime64[D]")[month]
    month_len = pd.PeriodIndex(month_labels, freq="M").days_in_month.to_numpy()[month]
    day_of_month = np.floor(rng.random(n) * month_len).astype(int)
    order = np.lexsort((day_of_month, month))  # patient ids in order of starting
    month, month_start, day_of_month = month[order], month_start[order], day_of_month[order]
    start_date = month_start + day_of_month.astype("timedelta64[D]")
    admin_end = (np.datetime64(EXTRACT_DATE) - start_date).astype(int)

    cond_names = list(CONDITION_SHARES)
    cond = _choice(rng, n, list(CONDITION_SHARES.values()))
    site_names = _site_names(sites)
    site = _choice(rng, n, 1.0 / (1.0 + 0.35 * np.arange(sites)))
    age = _choice(rng, n, AGE_SHARES)
    sex = _choice(rng, n, list(SEX_SHARES.values()))
    route = _choice(rng, n, list(ROUTE_SHARES.values()))

    # --- baseline severity of the primary instrument, and the latent peak improvement -----------
    cinfo = [CONDITIONS[c] for c in cond_names]
    base_mean = np.array([c[1] for c in cinfo])[cond]
    base_sd = np.array([c[2] for c in cinfo])[cond]
    severity = rng.standard_normal(n)
    primary_code = np.array([c[0] for c in cinfo])[cond]
    hi = np.array([instruments.get(c[0]).max for c in cinfo])[cond]
    base_primary = np.clip(base_mean + base_sd * severity, 0.25 * hi, hi)
    site_shift = SITE_EFFECT * (1 - 2 * np.arange(sites) / max(sites - 1, 1)) if sites > 1 else np.zeros(1)
    z = rng.standard_normal(n)
    peak = (PEAK_MEAN + np.array([c[3] for c in cinfo])[cond] + site_shift[site] - 0.03 * severity + PEAK_SD * z).clip(
        -0.25, 0.97
    )

    # --- induction series: how many infusions (correlated with the peak), on which days ----------
    rho = 0.35
    u = ndtr(rho * z + np.sqrt(1 - rho**2) * rng.standard_normal(n))
    planned = np.searchsorted(np.cumsum(INDUCTION_SHARES), u, side="right").clip(0, 5) + 1
    inf_day = np.tile(np.array(INDUCTION_DAYS), (n, 1)) + np.c_[np.zeros(n, int), rng.integers(-1, 2, (n, 5))]
    for j in range(1, 6):  # keep the days strictly increasing after the jitter
        inf_day[:, j] = np.maximum(inf_day[:, j], inf_day[:, j - 1] + 1)
    inf_mask = (np.arange(6)[None, :] < planned[:, None]) & (inf_day <= admin_end[:, None])
    n_inf = inf_mask.sum(axis=1)
    last_inf = np.where(inf_mask, inf_day, 0).max(axis=1)
    dose_frac = np.array(DOSE_FRACTION)
    peak_eff = peak * dose_frac[planned - 1]

    # --- durability: relapse start, decline, residual -----------------------------------------
    complete = planned == 6
    (c0, c1, c2), (i0, i1, i2) = RELAPSE_GAP["complete"], RELAPSE_GAP["incomplete"]
    relapse_gap = np.where(complete, c0 + c1 * rng.weibull(c2, n), i0 + i1 * rng.weibull(i2, n))
    relapse_start = last_inf + relapse_gap
    decline_days = rng.uniform(7, 35, n)
    residual = peak_eff * rng.uniform(0.0, 0.5, n)

    # --- last contact: no follow-up, or loss to follow-up -------------------------------------
    no_fu = rng.random(n) < np.array(NO_FOLLOW_UP)[planned - 1]
    fu_mean = np.where(complete, 150.0, 60.0) * np.where(peak_eff >= 0.5, 1.3, 1.0)
    last_contact = np.where(no_fu, last_inf, 14 + rng.exponential(fu_mean))
    horizon = np.minimum(np.minimum(last_contact, admin_end), LAST_DAY)

    # --- boosters -------------------------------------------------------------------------
    gets = (peak_eff >= 0.45) & (n_inf >= 5) & (rng.random(n) < 0.5)
    gaps = np.c_[rng.integers(7, 29, (n, 1)), rng.integers(14, 85, (n, MAX_BOOSTERS - 1))]
    b_day = np.floor(relapse_start)[:, None] + np.cumsum(gaps, axis=1)
    b_mask = gets[:, None] & (b_day <= horizon[:, None])
    b_day = np.where(b_mask, b_day, 10_000).astype(int)
    b_gain = rng.uniform(0.8, 1.0, (n, MAX_BOOSTERS))
    b_tau = rng.uniform(14, 30, (n, MAX_BOOSTERS))

    def f_base(t):
        """Latent improvement without boosters at days t (n x m)."""
        received = sum((inf_mask[:, j, None] & (inf_day[:, j, None] < t)).astype(int) for j in range(6))
        build = peak[:, None] * np.concatenate([[0.0], dose_frac])[received]
        frac = np.clip((t - relapse_start[:, None]) / decline_days[:, None], 0, 1)
        return build - (peak_eff - residual)[:, None] * frac

    b_amp = b_gain * np.clip(peak_eff[:, None] - f_base(b_day.astype(float)), 0, None) * b_mask

    def latent(t):
        bump = np.zeros(t.shape)
        for k in range(MAX_BOOSTERS):  # loops over booster slots, not patients
            since = t - b_day[:, k, None]
            bump += np.where(since > 0, b_amp[:, k, None] * np.exp(-np.clip(since, 0, None) / b_tau[:, k, None]), 0)
        return np.minimum(f_base(t) + bump, np.maximum(peak_eff, 0)[:, None] + 0.05)

    # --- visits: (n x slots) days and masks ------------------------------------------------------
    pre_day = -rng.integers(1, 8, n)
    has_pre = rng.random(n) < 0.3
    fu_day = np.column_stack([d + rng.integers(lo, hi_ + 1, n) for d, lo, hi_ in FOLLOW_UPS])
    near_booster = np.zeros(fu_day.shape, dtype=bool)
    for k in range(MAX_BOOSTERS):
        near_booster |= np.abs(fu_day - b_day[:, k, None]) <= 3
    attend = np.array([0.9, 0.85, 0.85, 0.8, 0.8, 0.78, 0.75, 0.75, 0.75])
    fu_mask = (
        (fu_day > last_inf[:, None])
        & (fu_day <= horizon[:, None])
        & ~near_booster
        & (rng.random(fu_day.shape) < attend)
    )
    scored_inf = inf_mask & (rng.random((n, 6)) < np.r_[0.97, [0.92] * 5])
    visit_day = np.column_stack([pre_day, inf_day, fu_day, b_day])
    visit_mask = np.column_stack([has_pre, scored_inf, fu_mask, b_mask])
    f = latent(visit_day.astype(float))
    f[:, 0] = 0.0  # before treatment

    # --- scores per instrument ---------------------------------------------------------------
    cond_arr = np.array(cond_names)[cond]
    codes = sorted(SENSITIVITY)  # rows of one day are ordered by instrument code
    frames = []

    def add(code: str, who: np.ndarray, baseline: np.ndarray, sens: np.ndarray, extra_mask=None, shift=None):
        ins = instruments.get(code)
        mean = baseline[:, None] * (1 - f * sens[:, None])
        if shift is not None:
            mean = mean + shift
        score = np.clip(np.rint(mean + NOISE_SD[code] * rng.standard_normal(f.shape)), ins.min, ins.max).astype(int)
        mask = visit_mask & who[:, None]
        if extra_mask is not None:
            mask &= extra_mask
        pi, si = np.nonzero(mask)
        frames.append((pi, np.full(len(pi), codes.index(code)), score[pi, si], visit_day[pi, si]))

    ones = np.ones(n)
    for code in ("PHQ9", "GAD7", "PCL5", "PAIN_NRS"):
        add(code, primary_code == code, base_primary, SENSITIVITY[code] * ones)
    depressed = cond_arr == "depression"
    gad_base = np.clip(0.6 * base_primary + 3 + 2.5 * rng.standard_normal(n), 3, 21)
    add("GAD7", depressed, gad_base, SENSITIVITY["GAD7"] * rng.uniform(0.75, 1.1, n), rng.random(f.shape) < 0.95)
    bipolar = cond_arr == "bipolar_depression"
    ymrs_base = np.minimum(rng.poisson(3.5, n), 10).astype(float) + 0.5
    flag_slot = rng.integers(2, visit_day.shape[1], n)
    flagged = bipolar & (rng.random(n) < 0.08)
    shift = np.zeros(f.shape)
    shift[np.arange(n), flag_slot] = np.where(flagged, rng.uniform(8, 15, n), 0)
    add("YMRS", bipolar, ymrs_base, SENSITIVITY["YMRS"] * ones, rng.random(f.shape) < 0.8, shift)

    pi = np.concatenate([fr[0] for fr in frames])
    code = np.concatenate([fr[1] for fr in frames])
    score = np.concatenate([fr[2] for fr in frames])
    day = np.concatenate([fr[3] for fr in frames])
    order = np.lexsort((code, day, pi))
    pi, code, score, day = pi[order], code[order], score[order], day[order]

    width = max(5, len(str(n)))
    ids = np.char.add("P", np.char.zfill(np.arange(1, n + 1).astype(str), width))
    attrs = {  # column: (distinct values, index of each patient's value)
        S.CONDITION: (cond_names, cond),
        S.SITE: (site_names, site),
        S.AGE_BAND: (S.AGE_BANDS, age),
        S.SEX: (list(SEX_SHARES), sex),
        S.ROUTE: (list(ROUTE_SHARES), route),
        S.START_MONTH: (month_labels, month),
    }
    assessments = pd.DataFrame(
        {
            S.PATIENT_ID: _strings(ids, pi),
            S.INSTRUMENT: _strings(codes, code),
            S.SCORE: score.astype("int64"),
            S.DAY: day.astype("int64"),
        }
    )
    for col, (values, index) in attrs.items():
        assessments[col] = _strings(values, index[pi])
    assessments = assessments[list(S.ASSESSMENT_COLUMNS)]

    # --- treatments ---------------------------------------------------------------------------
    route_arr = np.array(list(ROUTE_SHARES))[route]
    escalate = np.minimum(np.cumsum(rng.random((n, 6)) < 0.25, axis=1), 2)
    iv_dose = np.array([0.5, 0.6, 0.75])[escalate]
    dose = np.where(
        (route_arr == "IV")[:, None],
        iv_dose,
        np.where((route_arr == "IM")[:, None], np.array([0.75, 0.9, 1.0])[escalate], np.nan),
    )
    ti, tj = np.nonzero(inf_mask)
    bi, bj = np.nonzero(b_mask)
    t_pi = np.concatenate([ti, bi])
    t_day = np.concatenate([inf_day[ti, tj], b_day[bi, bj]])
    t_kind = np.concatenate([np.zeros(len(ti), int), np.ones(len(bi), int)])
    t_dose = np.concatenate([dose[ti, tj], dose[bi, 5]])
    order = np.lexsort((t_day, t_pi))
    t_pi, t_day, t_kind, t_dose = t_pi[order], t_day[order], t_kind[order], t_dose[order]
    treatments = pd.DataFrame(
        {
            S.PATIENT_ID: _strings(ids, t_pi),
            S.DAY: t_day.astype("int64"),
            S.KIND: _strings(["induction", "booster"], t_kind),
            S.ROUTE: _strings(list(ROUTE_SHARES), route[t_pi]),
            S.DOSE: t_dose.astype(float),
        }
    )[list(S.TREATMENT_COLUMNS)]

    patients_table = pd.DataFrame(
        {S.PATIENT_ID: _strings(ids, np.arange(n))}
        | {c: _strings(values, index) for c, (values, index) in attrs.items()}
        | {"day_of_month": day_of_month + 1, "induction_infusions": n_inf, "boosters": b_mask.sum(axis=1)}
    )
    treatments = add_monitoring(treatments, patients_table, seed)
    assessments = add_phq9_item9(assessments, patients_table, seed)
    assessments = with_long_follow_up(assessments, patients_table, seed)
    notes = (
        f"synthetic practice: {n} patients, {sites} sites, start months {month_labels[0]} to {month_labels[-1]}, seed {seed}",
        f"follow-up is censored at the extraction date {EXTRACT_DATE}: recent patients have short follow-up",
    )
    return Practice(assessments, treatments, patients_table, int(seed), notes)


# --- the monitoring record of every session and item 9 of the PHQ-9 (issue 17) ---------------------------------
#: drawn from streams of their own (``[seed, 17]``, ``[seed, 17, 9]``), so the rows and values above never move
MONITORING_STREAM = 17
#: per patient: share with each adverse event at least once in the series (published ketamine series:
#: drowsiness ~56%, dizziness ~45%, nausea ~13% of patients), and the chance per session when susceptible
ADVERSE_EVENT_PATIENTS = {
    "drowsiness": 0.56,
    "dizziness": 0.45,
    "nausea": 0.13,
    "headache": 0.10,
    "anxiety": 0.06,
    "vomiting": 0.02,
    "emergence_reaction": 0.02,
}
ADVERSE_EVENT_SESSION = 0.55
#: mean peak rise (systolic, diastolic) mmHg at the first session of a 35-44-year-old; + per age band, and the
#: fraction lost per later session of the series (the rise is smaller as the series goes on)
BP_RISE = (17.0, 11.5)
BP_RISE_PER_AGE_BAND = (2.2, 1.2)
BP_RISE_SERIES_DROP = 0.05
#: a site that records CADSS total (the first), the others CADSS-6; the last site keeps no CADSS at all
ESKETAMINE_MG = (56.0, 84.0)
INTRANASAL_MG = (50.0, 75.0, 100.0)


def add_monitoring(treatments: pd.DataFrame, patients: pd.DataFrame, seed: int) -> pd.DataFrame:
    """``treatments`` with the monitoring record of every session (schema.MONITORING_COLUMNS), realistic from
    published figures: mean peak rise about +16/+11 mmHg, larger with age and smaller over the series; surges
    of >= 40/25 mmHg in about a tenth of patients; a peak of >= 180/110 in about 1% of sessions; drowsiness,
    dizziness and nausea in about 56%, 45% and 13% of patients. Draws from the stream ``[seed, 17]`` only."""
    rng = np.random.default_rng([int(seed), MONITORING_STREAM])
    t = treatments
    m = len(t)
    info = patients.set_index(S.PATIENT_ID)
    pid = pd.Categorical(t[S.PATIENT_ID], categories=info.index)
    codes = pid.codes
    n = len(info)
    age_p = pd.Categorical(info[S.AGE_BAND], categories=S.AGE_BANDS).codes.astype(float)
    age = age_p[codes]
    sites = [s for s in SITE_NAMES if s in set(info[S.SITE])] or sorted(set(info[S.SITE]))
    site = pd.Categorical(info[S.SITE], categories=sites).codes[codes]
    route = t[S.ROUTE].to_numpy(dtype=object)
    number = t.groupby(S.PATIENT_ID, sort=False).cumcount().to_numpy() + 1  # 1, 2, ... in day order
    series = np.minimum(number, 6) - 1

    # blood pressure and heart rate before dosing: a patient's own level and a session's noise
    sbp0 = 117 + 2.5 * age_p + 9 * rng.standard_normal(n)
    dbp0 = 72 + 0.8 * age_p + 5 * rng.standard_normal(n)
    hr0 = 74 + 8 * rng.standard_normal(n)
    sbp_pre = np.rint(sbp0[codes] + 6 * rng.standard_normal(m))
    dbp_pre = np.rint(dbp0[codes] + 4 * rng.standard_normal(m))
    hr_pre = np.rint(hr0[codes] + 6 * rng.standard_normal(m))
    spo2_pre = np.clip(np.rint(98 + 0.8 * rng.standard_normal(m)), 94, 100)

    # the rise at the worst point: larger with age, smaller over the series, a patient's own tendency
    fade = 1 - BP_RISE_SERIES_DROP * series
    lean = rng.standard_normal(n)[codes]
    sys_mean = (BP_RISE[0] + BP_RISE_PER_AGE_BAND[0] * (age - 2)) * fade
    dia_mean = (BP_RISE[1] + BP_RISE_PER_AGE_BAND[1] * (age - 2)) * fade
    sys_rise = sys_mean + 6.5 * lean + 8 * rng.standard_normal(m)
    dia_rise = dia_mean + 4.0 * lean + 5 * rng.standard_normal(m)
    sbp_peak = np.maximum(sbp_pre, np.rint(sbp_pre + sys_rise))
    dbp_peak = np.maximum(dbp_pre, np.rint(dbp_pre + dia_rise))
    hr_peak = np.maximum(hr_pre, np.rint(hr_pre + 9 + 0.2 * sys_rise + 6 * rng.standard_normal(m)))
    drop = np.abs(1 + 1.2 * rng.standard_normal(m)) + np.where(rng.random(m) < 0.006, rng.uniform(4, 9, m), 0)
    spo2_min = np.clip(np.rint(spo2_pre - drop), 80, spo2_pre)

    # dissociation and sedation: dose-related, smaller over the series
    iv = np.isin(route, ["IV", "IM"])
    dose = t[S.DOSE].to_numpy(dtype=float)
    strength = np.where(iv, np.nan_to_num(dose, nan=0.5) / 0.5, 1.0) * (1 - 0.06 * series)
    dissociate = np.exp(rng.standard_normal(n)[codes] * 0.45 + rng.standard_normal(m) * 0.35)
    cadss_total = np.clip(np.rint(16 * strength * dissociate), 0, 92)
    cadss_six = np.clip(np.rint(4.6 * strength * dissociate), 0, 24)
    sites_n = len(sites)
    keeps_total = site == 0
    keeps_none = (site == sites_n - 1) & (sites_n > 2)
    cadss = np.where(keeps_total, cadss_total, np.nan)
    cadss6 = np.where(~keeps_total & ~keeps_none, cadss_six, np.nan)
    moaas = np.clip(5 - rng.poisson(0.35 * strength, m), 0, 5).astype(float)

    # adverse events: patients susceptible to each, then each session
    events = np.full(m, "", dtype=object)
    for code, share in ADVERSE_EVENT_PATIENTS.items():
        prone = rng.random(n) < min(share * 1.15, 1.0)
        happens = prone[codes] & (rng.random(m) < ADVERSE_EVENT_SESSION * (1 - 0.06 * series))
        events = np.where(happens, np.where(events == "", code, events + ";" + code), events)
    severe = (sbp_peak >= 180) | (dbp_peak >= 110)
    events = np.where(
        severe & (rng.random(m) < 0.7), np.where(events == "", "hypertension", events + ";hypertension"), events
    )
    desat = spo2_min < 92
    events = np.where(desat, np.where(events == "", "desaturation", events + ";desaturation"), events)
    rescue = np.full(m, "no", dtype=object)
    nauseous = np.char.find(events.astype(str), "nausea") >= 0
    rescue = np.where(nauseous & (rng.random(m) < 0.4), "ondansetron", rescue)
    rescue = np.where(severe & (rng.random(m) < 0.5), "labetalol", rescue)
    emergence = np.char.find(events.astype(str), "emergence") >= 0
    rescue = np.where(emergence & (rng.random(m) < 0.6), "midazolam", rescue)

    # timing and dose in mg
    duration = np.where(
        route == "IV",
        np.rint(rng.uniform(40, 55, m)),
        np.where(route == "IM", 1.0, np.where(route == "esketamine", 10.0, 5.0)),
    )
    slow = 1 + 0.4 * (moaas <= 2) + 0.3 * (events != "")
    discharge = np.rint(np.clip(rng.lognormal(np.log(38), 0.38, m) * slow, 15, 300))
    dose_mg = np.full(m, np.nan)
    esk = route == "esketamine"
    dose_mg[esk] = np.where(number[esk] <= 2, ESKETAMINE_MG[0], np.where(rng.random(esk.sum()) < 0.7, 84.0, 56.0))
    nasal = route == "intranasal"
    dose_mg[nasal] = np.array(INTRANASAL_MG)[np.minimum((number[nasal] - 1) // 2, 2)]

    # a few blanks, as real records have
    def blank(values, share):
        return np.where(rng.random(m) < share, np.nan, values)

    out = t.copy()
    columns = {
        S.DOSE_MG: dose_mg,
        S.DURATION_MIN: duration,
        S.SBP_PRE: blank(sbp_pre, 0.01),
        S.DBP_PRE: None,
        S.HR_PRE: blank(hr_pre, 0.02),
        S.SPO2_PRE: blank(spo2_pre, 0.02),
        S.SBP_PEAK: blank(sbp_peak, 0.01),
        S.DBP_PEAK: None,
        S.HR_PEAK: blank(hr_peak, 0.02),
        S.SPO2_MIN: blank(spo2_min, 0.02),
        S.CADSS: blank(cadss, 0.03),
        S.CADSS6: blank(cadss6, 0.03),
        S.MOAAS_MIN: blank(moaas, 0.03),
        S.MINUTES_TO_DISCHARGE: blank(discharge, 0.02),
    }
    columns[S.DBP_PRE] = np.where(np.isnan(columns[S.SBP_PRE]), np.nan, dbp_pre)
    columns[S.DBP_PEAK] = np.where(np.isnan(columns[S.SBP_PEAK]), np.nan, dbp_peak)
    for c in S.MONITORING_RANGES:  # whole numbers but the dose in mg
        values = np.asarray(columns[c], dtype=float)
        out[c] = values if c == S.DOSE_MG else pd.array(np.where(np.isnan(values), None, values), dtype="Int64")
    events = np.array([";".join(sorted(e.split(";"))) if e else None for e in events], dtype=object)
    out[S.ADVERSE_EVENTS] = pd.array(events, dtype="str")  # codes in order; blank: none
    out[S.RESCUE_MEDICATION] = pd.array(rescue.astype(str), dtype="str")
    return out[list(S.TREATMENT_COLUMNS) + list(S.MONITORING_COLUMNS)]


#: sites whose PHQ-9 is kept item by item (item 9 on the row): the first two
ITEM9_SITES = 2


def add_phq9_item9(assessments: pd.DataFrame, patients: pd.DataFrame, seed: int) -> pd.DataFrame:
    """``assessments`` with ``phq9_item9`` (0-3) on the PHQ-9 rows of the practice's first two sites (blank
    elsewhere): consistent with the total (never above it, and the other eight items hold the rest, at most
    24), more often >= 1 the higher the total, with a patient's own tendency (some answers emerge after a
    baseline of 0). Draws from the stream ``[seed, 17, 9]`` only."""
    rng = np.random.default_rng([int(seed), MONITORING_STREAM, 9])
    a = assessments
    sites = [s for s in SITE_NAMES if s in set(patients[S.SITE])] or sorted(set(patients[S.SITE]))
    info = patients.set_index(S.PATIENT_ID)
    codes = pd.Categorical(a[S.PATIENT_ID], categories=info.index).codes
    tendency = rng.standard_normal(len(info))[codes] * 1.3
    total = a[S.SCORE].to_numpy(dtype=float)
    chance = 1 / (1 + np.exp(-(-4.2 + 0.22 * total + tendency)))
    level = 1 + (rng.random(len(a)) < 0.18 + 0.2 * total / 27) + (rng.random(len(a)) < 0.05)
    item9 = np.where(rng.random(len(a)) < chance, level, 0)
    item9 = np.clip(item9, np.maximum(total - 24, 0), np.minimum(total, 3))
    kept = (a[S.INSTRUMENT] == "PHQ9").to_numpy() & a[S.SITE].isin(sites[:ITEM9_SITES]).to_numpy()
    out = a.copy()
    out[S.PHQ9_ITEM9] = pd.array(np.where(kept, item9, np.nan), dtype="Int64")
    return out


#: long follow-up (quality measures at 6 and 12 months): planned day and jitter of the visits around months 6,
#: 9, 12 and 14; who is eligible (a PHQ-9 on or after this day), the share of them kept on, and visit attendance
LONG_FOLLOW_UPS = ((190, 7), (274, 14), (365, 14), (426, 14))
LONG_FOLLOW_UP_FROM_DAY = 84
LONG_FOLLOW_UP_SHARE = 0.8
LONG_FOLLOW_UP_ATTEND = 0.8


def with_long_follow_up(assessments: pd.DataFrame, patients: pd.DataFrame, seed: int) -> pd.DataFrame:
    """``assessments`` with PHQ-9 follow-up to 14 months for part of the practice, for the quality measures.

    Patients with a PHQ-9 on or after day ``LONG_FOLLOW_UP_FROM_DAY`` are kept on with probability
    ``LONG_FOLLOW_UP_SHARE`` and scored around months 6, 9, 12 and 14 (``LONG_FOLLOW_UPS``; each visit attended
    with probability ``LONG_FOLLOW_UP_ATTEND``), only after their last existing row (and after ``LAST_DAY``) and
    only where the visit's date is on or before the extraction date. A score drifts from the patient's last
    PHQ-9 towards a long-run level ``baseline * Uniform(0.05, 0.85)`` (time constant 90 days) plus noise.
    Every value is drawn from a random stream of its own (``[seed, 18]``), so the rows and values of the rest
    of the practice are exactly those without it; the new rows are placed after each patient's rows."""
    rng = np.random.default_rng([int(seed), 18])
    phq = assessments[assessments[S.INSTRUMENT] == "PHQ9"]
    if phq.empty:
        return assessments
    ids = patients[S.PATIENT_ID].to_numpy()
    n = len(ids)
    pos = pd.Index(ids).get_indexer(phq[S.PATIENT_ID])
    last_any = assessments.groupby(S.PATIENT_ID, sort=False)[S.DAY].max().reindex(ids).to_numpy()
    last_phq_day = np.full(n, -1)
    last_phq_score = np.zeros(n)
    baseline = np.full(n, np.nan)
    order = np.lexsort((phq[S.DAY].to_numpy(), pos))
    p_sorted, d_sorted, s_sorted = pos[order], phq[S.DAY].to_numpy()[order], phq[S.SCORE].to_numpy()[order]
    last_phq_day[p_sorted] = d_sorted  # the last write of each patient is its latest day
    last_phq_score[p_sorted] = s_sorted
    first = np.r_[True, p_sorted[1:] != p_sorted[:-1]]
    baseline[p_sorted[first]] = s_sorted[first]
    keep_on = rng.random(n) < LONG_FOLLOW_UP_SHARE
    level = baseline * rng.uniform(0.05, 0.85, n)
    start = pd.to_datetime(patients[S.START_MONTH].to_numpy() + "-01") + pd.to_timedelta(
        patients["day_of_month"].to_numpy() - 1, unit="D"
    )
    admin_end = (pd.Timestamp(EXTRACT_DATE) - start).days.to_numpy()
    k = len(LONG_FOLLOW_UPS)
    day = np.column_stack([d + rng.integers(-j, j + 1, n) for d, j in LONG_FOLLOW_UPS])
    attend = rng.random((n, k)) < LONG_FOLLOW_UP_ATTEND
    noise = rng.standard_normal((n, k))
    after = np.maximum(np.nan_to_num(last_any, nan=0), LAST_DAY)
    mask = (
        (keep_on & (last_phq_day >= LONG_FOLLOW_UP_FROM_DAY))[:, None]
        & attend
        & (day > after[:, None])
        & (day <= admin_end[:, None])
    )
    drift = 1 - np.exp(-(day - last_phq_day[:, None]) / 90.0)
    mean = last_phq_score[:, None] + (level - last_phq_score)[:, None] * drift
    ins = instruments.get("PHQ9")
    score = np.clip(np.rint(mean + NOISE_SD["PHQ9"] * noise), ins.min, ins.max)
    pi, vi = np.nonzero(mask)
    if len(pi) == 0:
        return assessments
    attrs = assessments.drop_duplicates(S.PATIENT_ID).set_index(S.PATIENT_ID)
    new = pd.DataFrame(
        {
            S.PATIENT_ID: _strings(ids, pi),
            S.INSTRUMENT: _strings(["PHQ9"], np.zeros(len(pi), int)),
            S.SCORE: score[pi, vi].astype("int64"),
            S.DAY: day[pi, vi].astype("int64"),
        }
    )
    for col in assessments.columns:
        if col not in new.columns:
            new[col] = attrs[col].reindex(new[S.PATIENT_ID]).to_numpy() if col in S.PATIENT_ATTRIBUTES else pd.NA
    out = pd.concat([assessments, new[list(assessments.columns)]], ignore_index=True)
    rank = pd.Index(ids).get_indexer(out[S.PATIENT_ID])
    out = out.iloc[np.argsort(rank, kind="stable")].reset_index(drop=True)
    return out.astype(assessments.dtypes.to_dict())


def write_sample(out_dir, patients: int = 600, seed: int = 20261121) -> list[Path]:
    """Write ``assessments.csv`` and ``treatments.csv`` of ``simulate(patients, seed)`` into ``out_dir``
    (created if needed) and return their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    practice = simulate(patients=patients, seed=seed)
    paths = [out / "assessments.csv", out / "treatments.csv"]
    practice.assessments.to_csv(paths[0], index=False)
    practice.treatments.to_csv(paths[1], index=False, float_format="%.2f")
    return paths


#: how the vendor export spells things
VENDOR_COLUMNS = {
    S.PATIENT_ID: "Patient ID",
    "visit": "Encounter Type",
    S.INSTRUMENT: "Measure",
    S.SCORE: "Total Score",
    S.DATE: "Date Administered",
    S.CONDITION: "Diagnosis",
    S.SITE: "Clinic Location",
    S.AGE_BAND: "Age Group",
    S.SEX: "Sex",
    S.ROUTE: "Route",
}
VENDOR_MEASURES = {"PHQ9": "PHQ-9", "GAD7": "GAD-7", "PCL5": "PCL-5", "PAIN_NRS": "Pain NRS (0-10)", "YMRS": "YMRS"}
VENDOR_DIAGNOSES = {
    "depression": "Major Depressive Disorder",
    "anxiety": "Generalized Anxiety Disorder",
    "ptsd": "Posttraumatic Stress Disorder",
    "chronic_pain": "Chronic Pain",
    "bipolar_depression": "Bipolar Disorder, Depressed",
}


def vendor_export(practice: Practice, first: int = 60) -> pd.DataFrame:
    """The first ``first`` patients' assessments as a messy EHR export: vendor column names, spelled-out
    diagnoses and measures, US dates (start month + the patient's start day + day offset), an encounter
    type, rows in date order. Pre-treatment screening scores are left out, so that each patient's first
    date is the first infusion (the importer's day 0 when no treatments file is given)."""
    keep = practice.patients[S.PATIENT_ID].iloc[:first]
    a = practice.assessments[practice.assessments[S.PATIENT_ID].isin(keep) & (practice.assessments[S.DAY] >= 0)]
    p = practice.patients.set_index(S.PATIENT_ID).loc[a[S.PATIENT_ID]]
    start = pd.to_datetime(p[S.START_MONTH].to_numpy() + "-01") + pd.to_timedelta(
        p["day_of_month"].to_numpy() - 1, unit="D"
    )
    when = start + pd.to_timedelta(a[S.DAY].to_numpy(), unit="D")
    t = practice.treatments
    kinds = dict(zip(zip(t[S.PATIENT_ID], t[S.DAY]), t[S.KIND]))
    visit = [
        {"induction": "Ketamine Infusion", "booster": "Booster Infusion"}.get(kinds.get((pid, d)), "Follow-up Visit")
        for pid, d in zip(a[S.PATIENT_ID], a[S.DAY])
    ]
    out = pd.DataFrame(
        {
            "Patient ID": a[S.PATIENT_ID].to_numpy(),
            "Encounter Type": visit,
            "Measure": a[S.INSTRUMENT].map(VENDOR_MEASURES).to_numpy(),
            "Total Score": a[S.SCORE].to_numpy(),
            "Date Administered": when.strftime("%m/%d/%Y"),
            "Diagnosis": a[S.CONDITION].map(VENDOR_DIAGNOSES).to_numpy(),
            "Clinic Location": a[S.SITE].to_numpy(),
            "Age Group": a[S.AGE_BAND].to_numpy(),
            "Sex": a[S.SEX].to_numpy(),
            "Route": a[S.ROUTE].to_numpy(),
            "_sort": when,
        }
    )
    return out.sort_values(["_sort", "Patient ID"], kind="stable").drop(columns="_sort").reset_index(drop=True)


def write_vendor_export(out_dir, patients: int = 600, seed: int = 20261121, first: int = 60) -> Path:
    """Write ``vendor_export.csv`` (see ``vendor_export``) of ``simulate(patients, seed)`` into ``out_dir``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    path = out / "vendor_export.csv"
    vendor_export(simulate(patients=patients, seed=seed), first=first).to_csv(path, index=False)
    return path


def write_exports(out_dir, patients: int = 600, seed: int = 20261121) -> list[Path]:
    """Write the practice of ``simulate(patients, seed)`` as EHRs export it (issue 16) into ``out_dir``: an Excel
    workbook, a FHIR R4 Bundle, a FHIR bulk export (NDJSON) and an item-level CSV (analysis/sample_exports.py)."""
    from analysis import sample_exports

    return sample_exports.write(simulate(patients=patients, seed=seed), out_dir, seed)
