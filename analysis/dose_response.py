"""Dose and frequency against outcome (issue 17, item 3): does a patient's dose band or induction density go with
response and with longer durability, and does a larger blood-pressure rise or marked dissociation at the first
infusion go with response?

Per patient (from the treatments table):

* **dose band**: the band (analysis.dose) of the median dose of the patient's induction sessions (mg/kg where it is
  known, else mg for intranasal esketamine); 'unknown' without a dose;
* **induction density**: induction infusions in the first 14 days (days 0-13), banded 1-3, 4-5 and 6 or more (the
  usual series gives 6 in under 14 days); the count in the first 21 days beside it;
* **first infusion**: the systolic rise and marked dissociation (the card's threshold, CADSS or CADSS-6) of infusion
  number 1 (analysis.safety.session_flags).

On them, for one instrument and the definition card in force:

* response among the evaluable by dose band and by density, Wilson 95% CIs (as R ``prop.test``, no correction);
* durability by dose band and by density: Kaplan-Meier curves, medians, survival at the card's days, restricted
  means and the log-rank test, by the durability engine itself (analysis.durability, analysis.survival);
* one Cox model (Efron ties, as R ``coxph``) of dose band and density together, on the episodes with both known,
  each against its largest group, Wald 95% CIs;
* a logistic model (as R ``glm(response ~ sbp_rise_10 + marked_dissociation, family = binomial)``) of response on
  the first infusion's systolic rise per 10 mmHg and marked dissociation (yes/no), odds ratios with Wald 95% CIs
  (R ``exp(confint.default(fit))``). These are associations in observational data, not effects of the dose.

Small cells as everywhere: counts 1-10 '<11' and what rests on them withheld; a Cox term or an odds ratio of a group
under the threshold is withheld, as is a model with fewer patients (or responders, or non-responders) than that.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats

from analysis import coxph, instruments, privacy
from analysis import dose as dose_
from analysis import schema as S
from analysis.boosters import booster_intervals
from analysis.durability import Durability, _grouped, _most_common, cox_checks_json
from analysis.errors import DataError
from analysis.outcomes import Coded, Definitions, funnel_from_outcomes, group_labels, patient_outcomes
from analysis.rates import rate_ci
from analysis.response_episodes import episodes_with_notes
from analysis.safety import SYSTOLIC_RISE, session_flags
from analysis.survival import CoxResult, cox

DENSITY = "induction_density"
DENSITY_BANDS = ((3, "1-3 in 14 days"), (5, "4-5 in 14 days"), (math.inf, "6+ in 14 days"))
GROUPINGS = {dose_.DOSE_BAND: "Dose band", DENSITY: "Induction density"}
SBP_RISE_10 = "sbp_rise_10"  # the first infusion's systolic rise in units of 10 mmHg
DISSOCIATION = "marked_dissociation"
LOGIT_TERMS = {
    SBP_RISE_10: "systolic rise at infusion 1 (per 10 mmHg)",
    DISSOCIATION: "marked dissociation at infusion 1",
}
Z95 = stats.norm.ppf(0.975)
RESPONSE_COUNTS = ("evaluable", "responders")
RESPONSE_SHARES = {("rate", "lower", "upper"): ("evaluable", "responders")}


#: the groups of each grouping in their natural order (bands low to high; 'unknown' last)
ORDER = {
    dose_.DOSE_BAND: [lab for _, lab in dose_.MG_PER_KG_BANDS] + [lab for _, lab in dose_.MG_BANDS] + [dose_.UNKNOWN],
    DENSITY: [lab for _, lab in DENSITY_BANDS] + [dose_.UNKNOWN],
}


def _rank(grouping: str, group) -> int:
    order = ORDER[grouping]
    return order.index(group) if group in order else len(order)


def _density_band(n14) -> np.ndarray:
    n = np.asarray(n14, dtype=float)
    edges = np.array([e for e, _ in DENSITY_BANDS])
    labels = np.array([lab for _, lab in DENSITY_BANDS], dtype=object)
    out = labels[np.minimum(np.searchsorted(edges, n, side="left"), len(labels) - 1)]
    return np.where(n >= 1, out, dose_.UNKNOWN)


def patient_table(
    treatments: pd.DataFrame, definitions: Definitions | None = None, flags: pd.DataFrame | None = None
) -> pd.DataFrame:
    """One row per patient of the treatments: dose band, infusions in 14 and 21 days, density band, and the first
    infusion's systolic rise (per 10 mmHg) and marked dissociation (1/0, NaN where it cannot be told). ``flags``:
    analysis.safety.session_flags of the treatments and definitions, when the caller has it."""
    flags = session_flags(treatments, definitions or Definitions()) if flags is None else flags
    out = dose_.induction_density(flags)
    codes = dose_.patient_codes(flags)[0]  # each session's row of ``out`` (its patients in key order)
    n = len(out)
    ind = (flags[S.KIND] == "induction").to_numpy(dtype=bool, na_value=False)
    doses = pd.DataFrame({c: dose_.numbers(flags, c) for c in (S.DOSE, S.DOSE_MG)})
    med = doses[ind].groupby(codes[ind]).median().reindex(range(n))  # the median induction dose
    out[dose_.DOSE_BAND] = dose_.dose_band(med[S.DOSE].to_numpy(float), med[S.DOSE_MG].to_numpy(float))
    out[DENSITY] = _density_band(out["infusions_14d"])
    firsts = np.flatnonzero(dose_.numbers(flags, dose_.INFUSION_NUMBER) == 1)
    patient, at = np.unique(codes[firsts], return_index=True)  # each patient's first infusion 1 (in session order)
    for column, values in (
        (SBP_RISE_10, dose_.numbers(flags, SYSTOLIC_RISE) / 10),
        (DISSOCIATION, dose_.numbers(flags, "marked_dissociation")),
    ):
        out[column] = np.full(n, np.nan)
        out.loc[patient, column] = values[firsts[at]]  # (``out`` is indexed 0, 1, ...: its rows)
    return out


@dataclass(frozen=True)
class Logistic:
    """A logistic model of response: per term coef, se, odds ratio with Wald 95% limits, z, p; n and responders."""

    params: pd.DataFrame
    n: int
    responders: int
    converged: bool


def logistic(data: pd.DataFrame, outcome: str, terms: list[str]) -> Logistic:
    """R ``glm(outcome ~ terms, family = binomial)`` on the complete rows: odds ratios exp(coef) with Wald limits
    exp(coef -/+ 1.96 se) (R ``confint.default``), Wald z and p (R ``summary``)."""
    rows = data[[outcome, *terms]].dropna()
    y = rows[outcome].astype(float).to_numpy()
    x = sm.add_constant(rows[terms].astype(float).to_numpy(), has_constant="add")
    fit = sm.GLM(y, x, family=sm.families.Binomial()).fit()
    coef, se = np.asarray(fit.params), np.asarray(fit.bse)
    z = coef / se
    table = pd.DataFrame(
        {
            "term": ["(Intercept)", *terms],
            "coef": coef,
            "se": se,
            "odds_ratio": np.exp(coef),
            "lower": np.exp(coef - Z95 * se),
            "upper": np.exp(coef + Z95 * se),
            "z": z,
            "p": 2 * stats.norm.sf(np.abs(z)),
        }
    )
    converged = bool(fit.converged) and bool(np.all(np.isfinite(se)))
    return Logistic(table, int(len(rows)), int(y.sum()), converged)


@dataclass(frozen=True)
class DoseResponse:
    """Response and durability by dose band and induction density, their Cox model and the first-infusion logistic
    model (see the module docstring). Full numbers here; ``*_shown`` and ``to_json`` are what may be shown."""

    instrument: str
    patients: pd.DataFrame  # patient_table joined to the outcomes (exact: for the golden tests)
    response: pd.DataFrame  # grouping, group, evaluable, responders, rate, lower, upper
    durability: dict[str, Durability]  # grouping -> the durability engine's result by that grouping
    cox: CoxResult | None
    cox_data: pd.DataFrame
    logit: Logistic | None
    logit_counts: dict  # dissociation yes / no among the model's patients
    definitions: Definitions
    notes: tuple[str, ...] = ()

    def threshold(self, threshold: int | None = None) -> int:
        return self.definitions.suppression_threshold if threshold is None else int(threshold)

    def response_shown(self, threshold: int | None = None) -> pd.DataFrame:
        return privacy.suppress_table(
            self.response,
            RESPONSE_COUNTS,
            (),
            self.threshold(threshold),
            shares=RESPONSE_SHARES,
            complements=(("responders", "evaluable"),),
        )

    def cox_shown(self, threshold: int | None = None) -> pd.DataFrame:
        """The Cox terms: hazard ratio of loss of response vs the reference; None where the level or its reference
        has fewer episodes than the threshold (the reason under ``withheld``) or the term is not estimable (the
        reason under ``not_estimable``), as analysis.coxph.CoxResult.params_shown."""
        cols = [
            *("term", "covariate", "level", "reference", "episodes", "hr", "lower", "upper", "p"),
            *("not_estimable", "withheld"),
        ]
        if self.cox is None or self.cox.params.empty:
            return pd.DataFrame(columns=cols)
        thr = self.threshold(threshold)
        p = self.cox.params_shown(thr)
        p["episodes"] = [privacy.show_count(self.cox.level_sizes[t][0], thr) for t in p["term"]]
        return p[cols].astype(object).where(p[cols].notna(), None)

    def logit_shown(self, threshold: int | None = None) -> dict | None:
        """The logistic model as it may be shown: None without one; its odds ratios withheld when the patients,
        responders or non-responders in it are under the threshold (a term of dissociation: also either group)."""
        if self.logit is None:
            return None
        thr = self.threshold(threshold)
        m = self.logit
        whole_small = min(m.n, m.responders, m.n - m.responders) < thr
        rows = []
        for r in m.params.to_dict("records"):
            if r["term"] == "(Intercept)":
                continue
            hidden = whole_small or (
                r["term"] == DISSOCIATION and min(self.logit_counts.get("yes", 0), self.logit_counts.get("no", 0)) < thr
            )
            rows.append(
                {
                    "term": r["term"],
                    "label": LOGIT_TERMS[r["term"]],
                    **{k: None if hidden else float(r[k]) for k in ("odds_ratio", "lower", "upper", "p")},
                }
            )
        return {
            "patients": privacy.show_count(m.n, thr),
            "responders": privacy.show_count(m.responders, thr),
            "converged": m.converged,
            "terms": rows,
        }

    def to_json(self, threshold: int | None = None) -> dict:
        thr = self.threshold(threshold)
        durability = {}
        for g, res in self.durability.items():
            j = res.to_json()
            groups = sorted(j["groups"], key=lambda r: _rank(g, r[S.GROUP]))
            durability[g] = {"groups": groups, "logrank": j["logrank"]}
        return {
            S.INSTRUMENT: self.instrument,
            "response": self.response_shown(thr),
            "durability": durability,
            "cox": self.cox_shown(thr),
            **cox_checks_json(self.cox),
            "first_infusion": self.logit_shown(thr),
            "notes": list(self.notes),
        }

    def to_text(self, threshold: int | None = None) -> str:
        j = self.to_json(threshold)

        def num(v, fmt="{:.2f}"):
            return (
                "-"
                if v is None or (isinstance(v, float) and math.isnan(v))
                else (v if isinstance(v, str) else fmt.format(v))
            )

        lines = [f"Dose and frequency against response on {self.instrument} (associations, not effects)"]
        for g, label in GROUPINGS.items():
            lines += ["", f"{label}: responders / evaluable, rate (95% CI); durability median, log-rank"]
            for r in j["response"][j["response"]["grouping"] == g].to_dict("records"):
                lines.append(
                    f"  {r[S.GROUP]:<20}{num(r['responders'], '{}'):>6} / {num(r['evaluable'], '{}'):<6}"
                    f"{num(r['rate'], '{:.1%}')} ({num(r['lower'], '{:.1%}')} to {num(r['upper'], '{:.1%}')})"
                )
            dur = j["durability"].get(g)
            if dur:
                for r in dur["groups"]:
                    lines.append(
                        f"  durability {str(r[S.GROUP]):<20} n {num(r['n'], '{}')}, median {num(r['median'], '{:.0f}')} days"
                    )
                lr = dur["logrank"]
                lines.append(
                    "  log-rank: "
                    + (f"chi2 {lr['chi2']:.3f} on {lr['df']} df, p = {lr['p']:.4g}" if lr else "not available")
                )
        lines += ["", "Cox model (Efron ties) of loss of response, dose band and density together: HR (95% CI), p"]
        for r in j["cox"].to_dict("records"):
            what = f"  {r['term']} (vs {r['reference']})"
            lines.append(
                f"{what}: {coxph.not_shown(r)}"
                if r["hr"] is None
                else f"{what}: {r['hr']:.2f} ({r['lower']:.2f} to {r['upper']:.2f}), p = {r['p']:.4g}"
            )
        f = j["first_infusion"]
        lines += ["", "Response and the first infusion (logistic model, odds ratios with 95% CI):"]
        if f is None:
            lines.append("  not fitted")
        else:
            lines.append(f"  {f['patients']} patients, {f['responders']} responders")
            for r in f["terms"]:
                lines.append(
                    f"  {r['label']}: withheld"
                    if r["odds_ratio"] is None
                    else f"  {r['label']}: OR {r['odds_ratio']:.2f} ({r['lower']:.2f} to {r['upper']:.2f}), p = {r['p']:.4g}"
                )
        lines += [f"Note: {n}" for n in self.notes]
        return "\n".join(lines)


def _response_rows(o: pd.DataFrame) -> pd.DataFrame:
    rows = []
    ev = o[o[S.EVALUABLE].fillna(False).astype(bool)]
    for g in GROUPINGS:
        for level, sub in sorted(ev.groupby(g), key=lambda kv: _rank(g, kv[0])):
            x, n = int(sub["response"].astype(bool).sum()), len(sub)
            rate, lo, hi = rate_ci(x, n)
            rows.append(
                {"grouping": g, S.GROUP: level, "evaluable": n, "responders": x, "rate": rate, "lower": lo, "upper": hi}
            )
    return pd.DataFrame(rows, columns=["grouping", S.GROUP, "evaluable", "responders", "rate", "lower", "upper"])


def _cox(ep: pd.DataFrame) -> tuple[CoxResult | None, pd.DataFrame, list[str]]:
    data = ep.loc[
        (ep[dose_.DOSE_BAND] != dose_.UNKNOWN) & (ep[DENSITY] != dose_.UNKNOWN), ["time", "event", *GROUPINGS]
    ]
    data = data.assign(time=data["time"].astype(float), event=data["event"].astype(int))
    covs = [c for c in GROUPINGS if data[c].nunique() >= 2]
    if not covs or data["event"].sum() == 0:
        return None, data, ["Cox model of dose band and density not fitted: no variation or no events."]
    reference = {c: _most_common(data[c]) for c in covs}
    fit = cox(data, "time", "event", covs, reference=reference)
    notes = [
        "Cox model of dose band and density: each against its largest group ("
        + ", ".join(f"{GROUPINGS[c].lower()} {r}" for c, r in reference.items())
        + "); episodes with an unknown dose band or density are left out."
    ]
    return fit, data, notes + [f"Cox model: {n}" for n in fit.notes]


def analyse(
    assessments: pd.DataFrame,
    treatments: pd.DataFrame | None,
    instrument,
    definitions: Definitions | None = None,
    flags: pd.DataFrame | None = None,
) -> DoseResponse:
    """Dose and frequency against response and durability on ``instrument`` (see the module docstring). ``flags``:
    analysis.safety.session_flags of the treatments and definitions, when the caller has it."""
    d = definitions or Definitions()
    code = instruments.get(instrument).code
    if treatments is None or treatments.empty:
        raise DataError(
            "Dose and frequency need a treatments file with the sessions (and their doses); none was given."
        )
    coded = Coded(assessments)
    outcomes = patient_outcomes(assessments, code, d, coded=coded)
    if outcomes.empty:
        raise DataError(f"No {code} scores in the data: response by dose cannot be told.")
    pt = patient_table(treatments, d, flags).set_index(S.PATIENT_ID).reindex(outcomes[S.PATIENT_ID])
    for c in (dose_.DOSE_BAND, DENSITY):
        outcomes[c] = group_labels(pd.Series(pt[c].to_numpy(), index=outcomes.index).replace({dose_.UNKNOWN: None}))
    for c in (SBP_RISE_10, DISSOCIATION):
        outcomes[c] = pt[c].to_numpy(dtype=float)
    response = _response_rows(outcomes)
    ep, ep_notes = episodes_with_notes(assessments, treatments, code, d, outcomes=outcomes, coded=coded)
    row = pd.Index(outcomes[S.PATIENT_ID]).get_indexer(ep[S.PATIENT_ID])  # each episode's patient in ``outcomes``
    for c in GROUPINGS:
        ep[c] = np.where(row >= 0, outcomes[c].to_numpy(dtype=object)[row], dose_.UNKNOWN)
    fit, cox_data, cox_notes = _cox(ep)
    funnel_all = funnel_from_outcomes(outcomes, None)
    durability = {}
    for g in GROUPINGS:
        boosters = booster_intervals(treatments, outcomes[[S.PATIENT_ID, g]], g)
        fun = funnel_from_outcomes(outcomes, g)
        durability[g] = _grouped(
            code, g, ep, tuple(ep_notes), fit, tuple(cox_notes), boosters, fun, funnel_all, True, d
        )
    notes = list(ep_notes) + cox_notes
    logit, counts = None, {}
    ev = outcomes[outcomes[S.EVALUABLE].fillna(False).astype(bool)].assign(
        response=lambda o: o["response"].astype(bool).astype(float)
    )
    terms = [t for t in (SBP_RISE_10, DISSOCIATION) if ev[t].notna().any() and ev[t].dropna().nunique() >= 2]
    complete = ev.dropna(subset=terms) if terms else ev.iloc[:0]
    if terms and complete["response"].nunique() == 2:
        logit = logistic(ev, "response", terms)
        if DISSOCIATION in terms:
            counts = {"yes": int((complete[DISSOCIATION] == 1).sum()), "no": int((complete[DISSOCIATION] == 0).sum())}
        notes.append(
            "First infusion: a logistic model of response on the systolic rise (per 10 mmHg) and marked dissociation "
            "at infusion 1, among the evaluable patients with both recorded; odds ratios are associations in "
            "observational data (sicker or more sensitive patients may differ in both), not effects."
        )
    else:
        notes.append("First infusion: no logistic model (no rise or dissociation recorded at infusion 1 that varies).")
    return DoseResponse(code, outcomes, response, durability, fit, cox_data, logit, counts, d, tuple(notes))
