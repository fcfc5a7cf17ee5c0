"""Durability of response: how long response lasts after the response assessment, by group.

Episodes come from :func:`analysis.outcomes.episodes` (responders with follow-up; origin = the
response-assessment day; event = loss of response, or the first booster when booster handling is
"event"). On them, per group of ``by`` (any patient attribute, "baseline_band" or
"induction_completed"; a missing value is the group "unknown"):

* Kaplan-Meier curves (Greenwood variance, log-scale 95% limits, as R ``survfit``), median durability
  with its 95% CI and the share still responding at the card's ``survival_days`` (28/56/84); a day
  after a group's last follow-up has no value;
* the restricted mean durability up to the card's horizon tau (its last survival day, 84 by default) with
  its SE, as R ``print(survfit, rmean = tau)``: the mean number of days responding within the first tau days,
  a summary that exists when the median is not reached; and each group's difference from the largest group
  with its SE, 95% CI and p (:func:`analysis.survival.rmean_differences`);
* the log-rank test (R ``survdiff``, rho = 0) across the groups;
* a Cox model (Efron ties, as R ``coxph``) of condition, age band, sex, baseline severity band and site,
  those present with variation, on the episodes complete for them; each categorical covariate is coded
  against its most common level (ties: the first in alphabetical order), so a practice reads
  "vs depression"; beside it Harrell's concordance and the proportional-hazards test (R ``concordance``,
  ``cox.zph``; a note when a p is below 0.05); a term that is not estimable (a level without events) is shown
  as "not estimable (no events in ...)", never as a number;
* booster intervals, a practice metric: the days between consecutive boosters of a patient (distinct
  booster days), pooled over patients; median and quartiles (numpy's linear rule, R's type 7).

:func:`overall` turns a grouped result into the one ``analyse(..., by=None)`` gives, from its episodes.

The result's tables hold the full numbers; ``to_json`` and ``to_text`` are what is shown or exported,
with small counts suppressed (the card's ``suppression_threshold``) and the values derived from them
withheld.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis import coxph, instruments
from analysis import schema as S
from analysis.arrays import positions
from analysis.boosters import BOOSTER_COLUMNS, booster_intervals  # noqa: F401 (BOOSTER_COLUMNS: the old name)
from analysis.config import AT_RISK_STEP
from analysis.cox_checks import PH_ALPHA
from analysis.outcomes import (
    BASELINE_BAND,
    FUNNEL_COMPLEMENTS,
    INDUCTION_COMPLETED,
    Coded,
    Definitions,
    Sessions,
    check_group_column,
    funnel_from_outcomes,
    group_labels,
    patient_outcomes,
    patient_table_from,
)
from analysis.privacy import show_count, suppress_table
from analysis.response_episodes import episodes_with_notes
from analysis.survival import CoxResult, KaplanMeier, LogRank, cox, kaplan_meier, logrank, rmean_differences

#: the covariates of the Cox model, in this order
COX_COVARIATES = (S.CONDITION, S.AGE_BAND, S.SEX, BASELINE_BAND, S.SITE)
#: columns ``by`` may name
GROUP_COLUMNS = tuple(S.PATIENT_ATTRIBUTES) + (BASELINE_BAND, INDUCTION_COMPLETED)
#: fewer events per Cox term than this earns a note
EVENTS_PER_TERM = 10
RMEAN_DIFFERENCE_SHOWN = ("reference", "difference", "se", "lower", "upper", "p")


def horizon(d: Definitions) -> int:
    """The card's horizon tau for the restricted mean: its last survival day (84 by default)."""
    return max(d.survival_days)


@dataclass(frozen=True)
class Durability:
    """Durability of response for one instrument, by one group column (see the module docstring)."""

    instrument: str
    by: str | None
    episodes: pd.DataFrame
    km: KaplanMeier
    groups: pd.DataFrame
    logrank: LogRank | None
    cox: CoxResult | None
    booster_intervals: pd.DataFrame
    funnel: pd.DataFrame
    funnel_overall: pd.DataFrame
    notes: tuple[str, ...]
    definitions: Definitions
    # what every grouping of the same episodes shares (for :func:`overall`): the episodes' and the Cox model's
    # notes, and whether there was a treatments file
    episode_notes: tuple[str, ...] = field(default=(), repr=False, compare=False)
    cox_notes: tuple[str, ...] = field(default=(), repr=False, compare=False)
    has_treatments: bool = field(default=True, repr=False, compare=False)

    # --- shown / exported (small counts suppressed) ----------------------------------------
    def _threshold(self) -> int:
        return self.definitions.suppression_threshold

    def groups_shown(self) -> pd.DataFrame:
        """``groups`` as it may be shown: small counts as '<11', the values derived from them withheld."""
        days = self.definitions.survival_days
        at_risk = [f"n{d}" for d in days]
        shares = {("median", "median_lower", "median_upper"): ("n", "events")}
        # the share still responding at a day also rests on the responders still at risk then, as the curve
        # does (it stops where fewer than the threshold remain)
        shares.update({(f"s{d}", f"s{d}_lower", f"s{d}_upper"): ("n", "events", f"n{d}") for d in days})
        # the restricted mean is the area under the curve up to the horizon: withheld as the curve is there
        shares[("rmean", "rmean_se")] = ("n", "events", f"n{horizon(self.definitions)}")
        return suppress_table(self.groups, ["n", "events", *at_risk], (), self._threshold(), shares=shares)

    _groups_shown = groups_shown  # the name analysis/report.py uses

    def rmean_differences(self) -> pd.DataFrame:
        """Each group's restricted mean up to the horizon minus the largest group's (the reference, as in every
        model here), with SE, 95% CI and p: :func:`analysis.survival.rmean_differences`. Full numbers."""
        return rmean_differences(self.km, horizon(self.definitions), _largest(self.groups))

    def rmean_differences_shown(self) -> pd.DataFrame:
        """``rmean_differences`` as it may be shown: withheld (None) where either group's restricted mean is."""
        diff = self.rmean_differences()
        if diff.empty:
            return diff
        shown = self.groups_shown().set_index(S.GROUP)["rmean"]
        hidden = [shown[g] is None or shown[r] is None for g, r in zip(diff[S.GROUP], diff["reference"])]
        out = diff.astype({c: object for c in ("difference", "se", "lower", "upper", "p")})
        out.loc[hidden, ["difference", "se", "lower", "upper", "p"]] = None
        return out

    def at_risk(self, days=None) -> pd.DataFrame:
        """The number at risk per group on ``days`` (default: every AT_RISK_STEP days up to the last follow-up),
        exact (a chart suppresses it): see :func:`at_risk`."""
        return at_risk(self.km, days)

    def to_json(self) -> dict:
        """The DESIGN "Interfaces" document (null where a value does not exist)."""
        days = self.definitions.survival_days
        tau = horizon(self.definitions)
        diff = {r[S.GROUP]: r for r in self.rmean_differences_shown().to_dict("records")}
        groups = [
            {
                S.GROUP: r[S.GROUP],
                "n": r["n"],
                "events": r["events"],
                "median": r["median"],
                "median_lower": r["median_lower"],
                "median_upper": r["median_upper"],
                "survival_at": {str(d): r[f"s{d}"] for d in days},
                "rmean": {"tau": tau, "value": r["rmean"], "se": r["rmean_se"]},
                "rmean_difference": None
                if r[S.GROUP] not in diff
                else {k: diff[r[S.GROUP]][k] for k in RMEAN_DIFFERENCE_SHOWN},
            }
            for r in self.groups_shown().to_dict("records")
        ]
        lr = None
        if self.logrank is not None and np.isfinite(self.logrank.chi2):
            lr = {"chi2": self.logrank.chi2, "df": self.logrank.df, "p": self.logrank.p}
        cox_rows = (
            []
            if self.cox is None
            else [
                {k: r[k] for k in ("term", "hr", "lower", "upper", "p")}  # (withheld or not estimable: None)
                for r in self.cox.params_shown(self._threshold()).to_dict("records")
            ]
        )
        t = self._threshold()
        boosters = suppress_table(
            self.booster_intervals, [S.PATIENTS, "intervals"], ["median_days", "q1_days", "q3_days"], t
        ).to_dict("records")
        counts = [c for c in self.funnel.columns if c != S.GROUP]
        overall = suppress_table(self.funnel_overall, counts, (), t, complements=FUNNEL_COMPLEMENTS).to_dict("records")
        return _plain(
            {
                S.INSTRUMENT: self.instrument,
                "by": self.by,
                "definitions": self.definitions.to_dict(),
                "groups": groups,
                "logrank": lr,
                "cox": cox_rows,
                **cox_checks_json(self.cox),
                "booster_intervals": {"overall": boosters[0] if boosters else None, "groups": boosters[1:]},
                "funnel": {
                    "overall": overall[0] if overall else None,
                    "groups": suppress_table(self.funnel, counts, (), t, complements=FUNNEL_COMPLEMENTS).to_dict(
                        "records"
                    ),
                },
                "notes": list(self.notes),
            }
        )

    def to_text(self) -> str:
        """A plain-text report of the same numbers as ``to_json``."""

        def num(v, fmt="{:.0f}"):
            if isinstance(v, str):
                return v
            return "-" if v is None or pd.isna(v) else fmt.format(v)

        j = self.to_json()
        days = self.definitions.survival_days
        lines = [
            f"Durability of response: {self.instrument}, by {self.by or 'all'} "
            f"(definition card '{self.definitions.name}', boosters: {self.definitions.booster_handling}, "
            f"confirmed loss: {'yes' if self.definitions.confirm_loss else 'no'})",
            "",
        ]
        head = f"{'group':<22}{'n':>6}{'events':>8}  {'median (95% CI)':<22}" + "".join(
            f"{'S(' + str(d) + ')':>10}" for d in days
        )
        lines += [head, "-" * len(head)]
        for g in j["groups"]:
            ci = f"{num(g['median'])} ({num(g['median_lower'])} to {num(g['median_upper'])})"
            lines.append(
                f"{str(g['group']):<22}{num(g['n']):>6}{num(g['events']):>8}  {ci:<22}"
                + "".join(f"{num(g['survival_at'][str(d)], '{:.3f}'):>10}" for d in days)
            )
        lines += self._rmean_lines(j["groups"], num)
        lr = j["logrank"]
        lines += [
            "",
            "Log-rank: " + (f"chi2 = {lr['chi2']:.3f} on {lr['df']} df, p = {lr['p']:.4g}" if lr else "not available"),
        ]
        if self.cox is not None and len(self.cox.params):
            lines += ["", "Cox model (Efron ties), hazard ratio of loss of response (95% CI), p:"]
            for r in self.cox.params_shown(self._threshold()).to_dict("records"):
                lines.append(
                    f"  {r['term']} (vs {r['reference']}): {coxph.not_shown(r)}"
                    if coxph.not_shown(r)
                    else f"  {r['term']} (vs {r['reference']}): {num(r['hr'], '{:.3f}')} "
                    f"({num(r['lower'], '{:.3f}')} to {num(r['upper'], '{:.3f}')}), p = {num(r['p'], '{:.4g}')}"
                )
        lines += cox_checks_text(j)
        b = j["booster_intervals"]["overall"]
        if b is not None:
            lines += [
                "",
                f"Booster intervals: {num(b['median_days'])} days median "
                f"({num(b['q1_days'])} to {num(b['q3_days'])}), {num(b['intervals'])} intervals "
                f"in {num(b['patients'])} patients",
            ]
        f = j["funnel"]["overall"]
        if f is not None:
            lines += [
                "",
                "Funnel: "
                + " -> ".join(f"{k.replace('_', ' ')} {num(f[k])}" for k in f if k not in (S.GROUP, S.REMITTERS)),
            ]
        if self.notes:
            lines += ["", "Notes:"] + [f"- {n}" for n in self.notes]
        return "\n".join(lines)

    def _rmean_lines(self, groups: list[dict], num) -> list[str]:
        """The text report's restricted means (from ``to_json``'s groups): value (SE) per group, then each
        group's difference from the reference with its 95% CI and p; 'withheld' where they are."""
        if not groups:
            return []
        tau = horizon(self.definitions)
        lines = ["", f"Restricted mean durability to day {tau} (days responding within the first {tau}; SE):"]
        for g in groups:
            rm, d = g["rmean"], g["rmean_difference"]
            if rm["value"] is None:
                lines.append(f"  {str(g[S.GROUP]):<20}withheld (counts under {self._threshold()})")
                continue
            text = f"  {str(g[S.GROUP]):<20}{num(rm['value'], '{:.1f}'):>6} ({num(rm['se'], '{:.1f}')})"
            if d is not None and d["difference"] is None:
                text += f"; vs {d['reference']}: withheld"
            elif d is not None:
                text += (
                    f"; vs {d['reference']}: {num(d['difference'], '{:+.1f}')} "
                    f"({num(d['lower'], '{:.1f}')} to {num(d['upper'], '{:.1f}')}), p = {num(d['p'], '{:.4g}')}"
                )
            lines.append(text)
        return lines


def cox_checks_json(fit: CoxResult | None) -> dict:
    """The checks beside the Cox rows (DESIGN "Interfaces"): ``concordance`` {c, se} (R concordance(coxph)) and
    ``proportional_hazards`` {global: {chisq, df, p}, terms: [{term, chisq, df, p}]} (R cox.zph); null when there
    is no model or nothing to check."""
    conc = ph = None
    if fit is not None and fit.concordance and np.isfinite(fit.concordance["c"]):
        conc = {"c": fit.concordance["c"], "se": fit.concordance["se"]}
    if fit is not None and len(fit.ph_test):
        rows = fit.ph_test.to_dict("records")
        ph = {
            "global": {k: rows[-1][k] for k in ("chisq", "df", "p")},
            "terms": [{k: r[k] for k in ("term", "chisq", "df", "p")} for r in rows[:-1]],
        }
    return {"concordance": conc, "proportional_hazards": ph}


def cox_checks_text(j: dict) -> list[str]:
    """The lines of ``to_text`` for the concordance and the proportional-hazards test of ``to_json`` ``j``."""
    lines = []
    c = j.get("concordance")
    if c is not None:
        lines.append(f"  Concordance (Harrell's C): {c['c']:.3f} (SE {c['se']:.3f})")
    ph = j.get("proportional_hazards")
    if ph is not None:

        def test(r):
            return (
                "not testable" if r["chisq"] is None else f"chi2 = {r['chisq']:.3f} on {r['df']} df, p = {r['p']:.4g}"
            )

        lines.append(f"  Proportional hazards (R cox.zph): global {test(ph['global'])}")
        lines += [f"    {r['term']}: {test(r)}" for r in ph["terms"]]
    return lines


def _ph_note(fit: CoxResult) -> list[str]:
    """A note when the proportional-hazards test (cox.zph) rejects at PH_ALPHA, globally or for a term."""
    if not len(fit.ph_test):
        return []
    doubtful = fit.ph_test[fit.ph_test["p"] < PH_ALPHA]
    if doubtful.empty:
        return []
    parts = [
        ("all terms together" if r["term"] == "GLOBAL" else str(r["term"]).replace("_", " ")) + f" (p = {r['p']:.3g})"
        for r in doubtful.to_dict("records")
    ]
    return [
        "Cox model: proportional hazards are doubtful for "
        + ", ".join(parts)
        + " (R cox.zph test): the hazard ratio is an average over follow-up, and the effect may change with time."
    ]


def at_risk(km: KaplanMeier, days=None) -> pd.DataFrame:
    """Number at risk (group, day, n_risk) under a Kaplan-Meier chart: on ``days``, by default every
    ``config.AT_RISK_STEP`` days (0, 28, 56, ...) up to the last time in ``km.table``. Exact counts: the
    chart (analysis.charts.km_chart) shows small ones as '<11'."""
    if days is None:
        last = float(km.table["time"].max()) if len(km.table) else 0.0
        days = list(range(0, int(last // AT_RISK_STEP) * AT_RISK_STEP + 1, AT_RISK_STEP)) or [0]
    return km.survival_at(list(days))[[S.GROUP, S.DAY, "n_risk"]]


def _plain(obj):
    """JSON-ready values: NaN and NA become None, numpy scalars Python numbers."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return float(obj) if np.isfinite(obj) else None
    if obj is pd.NA or obj is pd.NaT:
        return None
    return obj


def _largest(groups: pd.DataFrame):
    """The group with the most episodes (the first in order on ties); None without groups."""
    return None if groups.empty else groups[S.GROUP].iloc[int(np.argmax(groups["n"].to_numpy()))]


def _group_table(km: KaplanMeier, days) -> pd.DataFrame:
    """Per group: n, events, median and its CI, and at each day the number at risk and the share still
    responding with its CI; then the restricted mean up to the horizon (the last day) and its SE."""
    med = km.medians.rename(columns={"lower": "median_lower", "upper": "median_upper"})
    out = med[[S.GROUP, "n", "events", "median", "median_lower", "median_upper"]].copy()
    at = km.survival_at(days)
    for d in days:
        rows = at[at[S.DAY] == d].set_index(S.GROUP)
        out[f"n{d}"] = out[S.GROUP].map(rows["n_risk"]).fillna(0).astype("int64")
        for col, name in (("survival", f"s{d}"), ("lower", f"s{d}_lower"), ("upper", f"s{d}_upper")):
            out[name] = out[S.GROUP].map(rows[col]).astype(float)
    rm = km.rmean(max(days)).set_index(S.GROUP)
    out["rmean"] = out[S.GROUP].map(rm["rmean"]).astype(float)
    out["rmean_se"] = out[S.GROUP].map(rm["se"]).astype(float)
    return out


def _cox_data(ep: pd.DataFrame, threshold: int) -> tuple[list[str], pd.DataFrame, list[str]]:
    """Covariates present with variation, the complete episodes for them, and notes."""
    notes = []
    covs = [c for c in COX_COVARIATES if c in ep.columns and ep[c].notna().any()]
    while True:
        keep = ep[covs].notna().all(axis=1) if covs else pd.Series(True, index=ep.index)
        varying = [c for c in covs if ep.loc[keep, c].nunique() >= 2]
        if varying == covs:
            break
        covs = varying
    for c in COX_COVARIATES:
        if c in ep.columns and c not in covs:
            notes.append(f"Cox model: {c.replace('_', ' ')} left out (no variation among the episodes).")
    dropped = int((~keep).sum())
    if dropped:
        notes.append(
            f"Cox model: {show_count(dropped, threshold)} episode(s) left out for a missing "
            f"{' / '.join(c.replace('_', ' ') for c in covs)}."
        )
    data = ep.loc[keep, ["time", "event"] + covs].copy()
    for c in covs:
        data[c] = data[c].astype(object).map(str)
    data["time"] = data["time"].astype(float)
    return covs, data, notes


def _most_common(values: pd.Series) -> str:
    counts = values.value_counts()
    top = counts.max()
    return sorted(counts.index[counts == top])[0]


def _fit_cox(ep: pd.DataFrame, threshold: int) -> tuple[CoxResult | None, list[str]]:
    covs, data, notes = _cox_data(ep, threshold)
    if not covs:
        return None, notes + ["Cox model not fitted: no covariate varies among the episodes."]
    if data["event"].sum() == 0:
        return None, notes + ["Cox model not fitted: no events."]
    reference = {c: _most_common(data[c]) for c in covs}
    fit = cox(data, "time", "event", covs, reference=reference)
    notes.append(
        "Cox model reference levels (the most common): "
        + ", ".join(f"{c.replace('_', ' ')} = {r}" for c, r in reference.items())
        + "."
    )
    terms = len(fit.params)
    if terms and fit.events < EVENTS_PER_TERM * terms:
        notes.append(
            f"Cox model: {show_count(fit.events, threshold)} events for {terms} terms (fewer than {EVENTS_PER_TERM} per term); "
            "hazard ratios are unstable."
        )
    notes += [f"Cox model: {n}" for n in fit.notes]
    notes += _ph_note(fit)
    return fit, notes


def cox_term_events(res: Durability) -> pd.DataFrame:
    """Per Cox term (a level against its reference): ``events``, the losses of response among the episodes at that
    level (exact: a page suppresses it), and ``reason``, why the term's hazard ratio is weak (None when it is not):
    the model as a whole has fewer than EVENTS_PER_TERM events per term, or the level itself has fewer than
    EVENTS_PER_TERM events. Empty without a Cox model."""
    cols = ["term", "events", "reason"]
    fit = res.cox
    if fit is None or fit.params.empty:
        return pd.DataFrame(columns=cols)
    ep = res.episodes
    terms = len(fit.params)
    overall = fit.events < EVENTS_PER_TERM * terms
    rows = []
    for r in fit.params.to_dict("records"):
        cov, level = r.get("covariate"), r.get("level")
        if cov in ep.columns and level is not None and not pd.isna(level):
            events = int(ep.loc[ep[cov].astype(object).map(str) == str(level), "event"].sum())
        else:
            events = int(fit.events)
        reason = None
        if events < EVENTS_PER_TERM:
            reason = f"fewer than {EVENTS_PER_TERM} losses of response in this group"
        elif overall:
            reason = f"fewer than {EVENTS_PER_TERM} events per term in the model"
        rows.append({"term": r["term"], "events": events, "reason": reason})
    return pd.DataFrame(rows, columns=cols)


def events_per_term_line(res: Durability) -> str:
    """'90 losses of response for 15 terms: 6.0 per term, fewer than the 10 per term a Cox model needs for
    steady hazard ratios, so every hazard ratio is greyed as uncertain.' ('' when there are enough, or no model.)
    The counts are the model's totals (never a group's)."""
    fit = res.cox
    if fit is None or fit.params.empty:
        return ""
    terms = len(fit.params)
    if fit.events >= EVENTS_PER_TERM * terms:
        return ""
    events = show_count(fit.events, res.definitions.suppression_threshold)
    return (
        f"{events} losses of response for {terms} terms: fewer than the {EVENTS_PER_TERM} per term a Cox model needs "
        "for steady hazard ratios, so every hazard ratio is greyed as uncertain (a rough guide to which factors "
        "matter, not a measure of how much)."
    )


def analyse(
    assessments: pd.DataFrame,
    treatments: pd.DataFrame | None,
    instrument,
    by: str | None = S.CONDITION,
    definitions: Definitions | None = None,
) -> Durability:
    """Durability of response of one instrument by ``by`` (see the module docstring).

    Raises KeyError when ``by`` is not an available group column, DataError when the data hold no
    score of the instrument. Small or degenerate groups give notes, not errors.
    """
    d = definitions or Definitions()
    code = instruments.get(instrument).code
    coded = Coded(assessments)  # the assessments and treatments coded once for the outcomes and the episodes
    outcomes = patient_outcomes(assessments, code, d, coded=coded)
    sessions = Sessions(treatments, coded.ids) if treatments is not None else None
    ptable = patient_table_from(coded.attributes, treatments, coded, sessions)
    # every patient of the outcomes is in the patient table: its induction_completed aligned by position
    outcomes[INDUCTION_COMPLETED] = ptable[INDUCTION_COMPLETED].array.take(
        positions(pd.Index(ptable[S.PATIENT_ID]), outcomes[S.PATIENT_ID])
    )
    if by is not None:
        check_group_column(outcomes, by, GROUP_COLUMNS)
    ep, ep_notes = episodes_with_notes(
        assessments, treatments, code, d, outcomes=outcomes, coded=coded, sessions=sessions
    )
    fit, cox_notes = _fit_cox(ep, d.suppression_threshold) if not ep.empty else (None, [])
    # booster intervals by group need each patient's group (by=None: one row "all")
    patients = (
        ptable.merge(outcomes[[S.PATIENT_ID, BASELINE_BAND]], on=S.PATIENT_ID, how="left") if by is not None else ptable
    )
    boosters = booster_intervals(treatments, patients, by)
    funnel_all = funnel_from_outcomes(outcomes, None)
    fun = funnel_from_outcomes(outcomes, by) if by is not None else funnel_all
    return _grouped(
        code, by, ep, tuple(ep_notes), fit, tuple(cox_notes), boosters, fun, funnel_all, treatments is not None, d
    )


def overall(res: Durability) -> Durability:
    """What ``analyse(..., by=None)`` returns for the data and card of ``res`` (any ``by``), from its episodes:
    one curve "all", no log-rank test, the same Cox model and overall funnel, the booster intervals' row "all".
    No pass over the data."""
    if not isinstance(res, Durability):
        raise TypeError(f"overall needs the result of durability.analyse, got {type(res).__name__}")
    if res.by is None:
        return res
    boosters = res.booster_intervals.iloc[:1].reset_index(drop=True)
    return _grouped(
        res.instrument,
        None,
        res.episodes,
        res.episode_notes,
        res.cox,
        res.cox_notes,
        boosters,
        res.funnel_overall,
        res.funnel_overall,
        res.has_treatments,
        res.definitions,
    )


def _grouped(code, by, ep, ep_notes, fit, cox_notes, boosters, fun, funnel_all, has_treatments, d) -> Durability:
    """The Durability of episodes ``ep`` by ``by``: curves, group table, log-rank test and the notes, in order."""
    t = d.suppression_threshold
    notes = list(ep_notes)
    if by == INDUCTION_COMPLETED and not has_treatments:
        notes.append("induction completed is unknown without a treatments file: every patient is in group 'unknown'.")

    labels = group_labels(ep[by]) if by is not None else pd.Series(["all"] * len(ep), index=ep.index, dtype="str")
    km = kaplan_meier(ep["time"].astype(float), ep["event"], labels)
    groups = _group_table(km, d.survival_days)
    notes += list(km.notes)
    if ep.empty:
        notes.append(f"no durability episodes: no responder on {code} has a score after the response assessment.")
    small = groups.loc[groups["n"] < t, S.GROUP].tolist()
    if small and t > 1:
        notes.append(
            f"fewer than {t} episodes in group(s) {', '.join(small)}: their counts are shown as <{t} "
            "and their curves withheld."
        )

    lr = None
    if labels.nunique() >= 2:
        lr = logrank(ep["time"].astype(float), ep["event"], labels)
        notes += [f"log-rank: {n}" for n in lr.notes]
    elif not ep.empty:
        notes.append("log-rank test not done: only one group.")
    notes += cox_notes
    if not has_treatments:
        notes.append("booster intervals need a treatments file.")
    return Durability(
        instrument=code,
        by=by,
        episodes=ep,
        km=km,
        groups=groups,
        logrank=lr,
        cox=fit,
        booster_intervals=boosters,
        funnel=fun,
        funnel_overall=funnel_all,
        notes=tuple(notes),
        definitions=d,
        episode_notes=ep_notes,
        cox_notes=cox_notes,
        has_treatments=has_treatments,
    )
