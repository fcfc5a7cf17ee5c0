"""Symptom trajectories of one instrument (:func:`trajectories`, the dashboard's analysis; DESIGN
"Statistics"): observed means with t-based 95% CIs per visit window (score and improvement from baseline, a
fraction), a seeded sample of individual lines, and the model ``score ~ group * (t1 + t2 + ...) + (1 + t1 |
patient_id)`` with piecewise-linear time bent at the card's knots (REML, :func:`analysis.lmm.fit_lmm`, as
``lme4::lmer``) with predicted mean curves per group.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from analysis import config, instruments, privacy
from analysis.arrays import first_rows, isin, pick, run_starts
from analysis.chart_style import label
from analysis.errors import DataError
from analysis.lmm import LmmResult, fit_lmm
from analysis.outcomes import Coded, Definitions, baseline_rows, check_group_column, group_labels
from analysis.schema import CONDITION, CONDITIONS, DATE, DAY, GROUP, INSTRUMENT, PATIENT_ID, PATIENTS, PCT_CHANGE, SCORE

__all__ = ["LmmResult", "Trajectories", "fit_lmm", "time_columns", "trajectories", "visit_windows"]

#: the normal quantile of the 95% bands of predicted means
Z95 = float(stats.norm.ppf(0.975))


OBSERVED_COLUMNS = [GROUP, "visit", DAY, "n", "mean", "sd", "lower", "upper"]
PREDICTED_COLUMNS = [GROUP, DAY, "mean", "lower", "upper"]
LINE_COLUMNS = [PATIENT_ID, GROUP, DAY, SCORE, PCT_CHANGE]
FIXED_COLUMNS = ["term", "estimate", "se"]
FIT_CHECK_COLUMNS = [
    GROUP,
    "visit",
    DAY,
    "n",
    "mean",
    "lower",
    "upper",
    "model_all",
    "model_scored",
    "model_all_inside",
    "model_scored_inside",
]
#: seed of the sample of individual lines
LINES_SEED = 20261121


@dataclass(frozen=True)
class Trajectories:
    """Observed and modelled symptom trajectories of one instrument by group (see :func:`trajectories`).

    ``observed`` / ``observed_pct``: per group and visit window, n patients, mean, sd and t-based 95% CI of
    the score / of the improvement from baseline as a fraction (0.5 = 50%). ``predicted``: model mean curve
    per group with a 95% band (normal, from the fixed-effects covariance). ``lines``: a seeded sample of
    patients' scores (and ``pct_change``, the improvement from baseline as a fraction).
    Counts here are raw; ``to_json`` and ``to_text`` suppress small cells.
    """

    instrument: str
    by: str
    observed: pd.DataFrame
    observed_pct: pd.DataFrame
    fixed_effects: pd.DataFrame
    converged: bool
    predicted: pd.DataFrame
    lines: pd.DataFrame
    groups: pd.DataFrame  # group, patients, in_model
    notes: tuple[str, ...]
    definitions: object = None
    model: LmmResult | None = None
    model_formula: str = ""
    knots: tuple[int, ...] = (config.INDUCTION_END_DAY,)  # the days where the model's time bends
    fit_check: pd.DataFrame | None = None  # per visit: observed mean and CI, the model of everyone and of those scored

    @property
    def _threshold(self) -> int:
        return getattr(self.definitions, "suppression_threshold", config.SUPPRESSION_THRESHOLD)

    def _safe_observed(self, table: pd.DataFrame) -> pd.DataFrame:
        return privacy.suppress_table(
            table, counts=["n"], derived=["mean", "sd", "lower", "upper"], threshold=self._threshold
        )

    def _safe_predicted(self) -> pd.DataFrame:
        small = set(self.groups.loc[self.groups[PATIENTS].map(lambda n: privacy.is_small(n, self._threshold)), GROUP])
        out = self.predicted.astype({c: object for c in ("mean", "lower", "upper")})
        out.loc[out[GROUP].isin(small), ["mean", "lower", "upper"]] = None
        return out

    def fixed_effects_shown(self) -> pd.DataFrame:
        """The fixed effects as they may be shown (``FIXED_COLUMNS``): the terms of a group of fewer patients than
        the threshold withheld (estimate and SE None), since with the other terms they rebuild the curve the
        chart withholds; every term when that group is the model's reference (the intercept and time terms are
        its curve). A term is a group's when it names ``by`` and the group (``conditionptsd``, ``...:t1``)."""
        fe = self.fixed_effects[FIXED_COLUMNS].copy()
        g = self.groups
        small = [str(x) for x in g.loc[g[PATIENTS].map(lambda n: privacy.is_small(n, self._threshold)), GROUP]]
        if fe.empty or not small:
            return fe
        values = [c for c in FIXED_COLUMNS if c != "term"]
        fe[values] = fe[values].astype(object)
        in_model = [str(x) for x in g.loc[g["in_model"].astype(bool), GROUP]] if "in_model" in g else []
        if in_model and in_model[0] in small:
            fe.loc[:, values] = None
            return fe
        names = [re.compile(rf"(^|:){re.escape(str(self.by))}{re.escape(x)}($|:)") for x in small]
        mask = fe["term"].map(lambda t: any(n.search(str(t)) for n in names)).to_numpy(dtype=bool)
        fe.loc[mask, values] = None
        return fe

    def fit_check_shown(self) -> pd.DataFrame:
        """The fit check (``fit_check``) with small cells suppressed (a visit of fewer patients than the
        threshold keeps its count as a suppressed cell and loses its means)."""
        check = self.fit_check if self.fit_check is not None else pd.DataFrame(columns=FIT_CHECK_COLUMNS)
        return privacy.suppress_table(
            check.drop(columns=["model_all_inside", "model_scored_inside"]),
            counts=["n"],
            derived=["mean", "lower", "upper", "model_all", "model_scored"],
            threshold=self._threshold,
        )

    def fit_check_words(self) -> str:
        """The model check in words (plain text), as the page and the report say it under the chart; visits of
        fewer patients than the threshold are left out, as on the chart. Empty without a converged model."""
        check = self.fit_check
        if check is None or not len(check):
            return ""
        check = check[[not privacy.is_small(int(n), self._threshold) for n in check["n"]]]
        if not len(check):
            return ""
        met = int(check["model_scored_inside"].sum())
        words = (
            f"for the patients scored at each visit, the model's mean is within the observed 95% CI at {met} of "
            f"{len(check)} visits."
        )
        off = check[~check["model_all_inside"]]
        if not len(off):
            return words + " The curve, the mean of everyone who started, is within it at every visit."
        where = "; ".join(f"{label(g)} at {', '.join(v)}" for g, v in off.groupby(GROUP, sort=False)["visit"])
        words += f" The curve, the mean of everyone who started, is outside the CI at {len(off)} visits ({where})"
        above = int((off["model_all"] > off["upper"]).sum())
        if not above:
            return words + "."
        some = f"all {above}" if above == len(off) else f"{above} of them"
        return words + (
            f", above the observed mean at {some}: at those visits the patients still being scored are doing "
            "better than the model expects of everyone who started, including those who stopped coming."
        )

    def to_json(self) -> dict:
        """Plain, small-cell-suppressed output of the command line (DESIGN "Interfaces")."""
        m = self.model
        return {
            INSTRUMENT: self.instrument,
            "by": self.by,
            "fixed_effects": self.fixed_effects_shown().to_dict("records"),
            "converged": bool(self.converged),
            "model": None
            if m is None
            else {
                "formula": self.model_formula,
                "knots": list(self.knots),
                "reml": m.reml,
                "optimizer": m.optimizer,
                "scaled_gradient": m.scaled_gradient,  # lme4's convergence measure at the estimates
                "singular": m.singular,
                "observations": m.n_obs,
                PATIENTS: m.n_groups,
                "residual_sd": math.sqrt(m.scale),
                "random_effects_cov": m.cov_re.to_dict(),
                "loglik": m.llf,
            },
            "observed": self._safe_observed(self.observed).drop(columns="sd").to_dict("records"),
            "observed_pct_change": self._safe_observed(self.observed_pct).drop(columns="sd").to_dict("records"),
            "predicted": self._safe_predicted().to_dict("records"),
            "fit_check": self.fit_check_shown().to_dict("records"),
            "notes": list(self.notes),
            "definitions": _definitions_dict(self.definitions),
        }

    def to_text(self) -> str:
        """Human summary for the command line (small cells suppressed)."""
        lines = [f"{self.instrument} trajectories by {self.by}"]
        if self.model is None:
            lines.append("Mixed model: not fitted (see notes).")
        else:
            m = self.model
            status = (
                f"converged (scaled gradient {m.scaled_gradient:.1g})"
                if self.converged
                else "DID NOT CONVERGE: estimates not usable"
            )
            lines.append(
                f"Mixed model (REML, {m.n_obs} scores of {m.n_groups} patients): {self.model_formula}; {status}"
            )
            where = (
                f"a knot at day {self.knots[0]}"
                if len(self.knots) == 1
                else f"knots at days {knots_in_words(self.knots)}"
            )
            lines.append(f"Time is piecewise linear with {where}.")
            fe = privacy.mark(self.fixed_effects_shown(), self._threshold).to_string(
                index=False, float_format=lambda v: f"{v:.4f}"
            )
            lines += ["", "Fixed effects:", fe]
        obs = self._safe_observed(self.observed).drop(columns="sd")
        lines += [
            "",
            "Observed mean score by visit (95% CI):",
            obs.to_string(index=False, float_format=lambda v: f"{v:.1f}") if not obs.empty else "(none)",
        ]
        words = self.fit_check_words()
        if words:
            lines += ["", f"Model check: {words}"]
        if self.notes:
            lines += ["", "Notes:"] + [f"- {n}" for n in self.notes]
        return "\n".join(lines)


def _definitions_dict(definitions) -> dict:
    return (definitions if definitions is not None else Definitions()).to_dict()


def visit_windows(baseline_window=config.BASELINE_WINDOW) -> pd.DataFrame:
    """The visit windows (config.VISIT_WINDOWS) with the baseline window in force as "pre": visit, day
    (nominal), first, last. A day belongs to the first window that holds it."""
    rows = [(label, day, first, last) for label, day, first, last in config.VISIT_WINDOWS]
    rows[0] = (rows[0][0], rows[0][1], int(baseline_window[0]), int(baseline_window[1]))
    return pd.DataFrame(rows, columns=["visit", DAY, "first", "last"])


def _visit_index(days: np.ndarray, windows: pd.DataFrame) -> np.ndarray:
    """Row of ``windows`` of each day (-1 outside every window); a day belongs to the first window holding it.
    Whole days are looked up in a table of the days the windows span; other days are compared one by one."""
    out = np.full(len(days), -1)
    first, last = windows["first"].to_numpy(dtype="int64"), windows["last"].to_numpy(dtype="int64")
    lo, hi = int(first.min()), int(last.max())
    table = np.full(hi - lo + 1, -1)
    for i in range(len(windows) - 1, -1, -1):  # the first window holding a day is written last
        table[first[i] - lo : last[i] - lo + 1] = i
    inside = (days >= lo) & (days <= hi)
    whole = inside & (days == np.floor(days))
    out[whole] = table[days[whole].astype("int64") - lo]
    other = np.flatnonzero(inside & ~whole)
    for i in range(len(windows)):
        hit = other[(out[other] < 0) & (days[other] >= first[i]) & (days[other] <= last[i])]
        out[hit] = i
    return out


def _summarise(values: np.ndarray, cells: np.ndarray, windows: pd.DataFrame, groups: list) -> pd.DataFrame:
    """n, mean, sd and t-based 95% CI of ``values`` per group and visit (one value per patient); each
    value's cell is group position * len(windows) + visit position, so the rows come in group then visit
    order."""
    if not len(values):
        return pd.DataFrame(
            {
                c: pd.Series(dtype="str" if c in (GROUP, "visit") else "int64" if c in (DAY, "n") else "float64")
                for c in OBSERVED_COLUMNS
            }
        )
    agg = pd.Series(values, dtype="float64").groupby(cells, sort=True).agg(["count", "mean", "std"])
    group, visit = np.divmod(agg.index.to_numpy(), len(windows))
    stats_ = pd.DataFrame(
        {
            GROUP: pd.Series(np.asarray(groups, dtype=object)[group], dtype="str"),
            "visit": pd.Series(windows["visit"].to_numpy()[visit], dtype="str"),
            DAY: windows[DAY].to_numpy()[visit].astype("int64"),
            "n": agg["count"].to_numpy(dtype="int64"),
            "mean": agg["mean"].to_numpy(),
            "sd": agg["std"].to_numpy(),
        }
    )
    half = stats.t.ppf(0.975, stats_["n"] - 1) * stats_["sd"] / np.sqrt(stats_["n"])
    half = half.where(stats_["n"] > 1)
    stats_["lower"], stats_["upper"] = stats_["mean"] - half, stats_["mean"] + half
    return stats_[OBSERVED_COLUMNS]


def _group_order(by: str, labels: pd.Series) -> list:
    """Groups in display order (also the model's reference first): conditions in schema order, else sorted."""
    present = list(pd.unique(labels))
    if by == CONDITION:
        known = [c for c in CONDITIONS if c in present]
        return known + sorted(g for g in present if g not in known)
    return sorted(present)


def _run_groups(
    assessments: pd.DataFrame, by: str, coded: Coded, scores: pd.DataFrame, patient: np.ndarray, starts: np.ndarray
) -> tuple[pd.Series, int]:
    """The group label of each patient of the instrument's ``scores`` (:meth:`Coded.scores` and its ``patient``
    codes; ``starts``: where each patient's run of rows starts): group_labels of the patient's first
    non-missing value of ``by``, 'unknown' without one; and how many patients have none."""
    values = assessments[by]
    patients = patient[starts]
    if isinstance(values.dtype, pd.StringDtype):  # found on the integer patient codes
        row = first_rows(coded.patient, len(coded.ids))[patients]  # each patient's first row
        missing = values.isna().to_numpy()
        if missing[row].any():  # a first row without a value: the patient's first row with one (-1: none)
            row = first_rows(coded.patient, len(coded.ids), ~missing)[patients]
        return group_labels(pd.Series(values.array.take(row, allow_fill=True))), int((row < 0).sum())
    ids = scores[PATIENT_ID][starts]
    per_patient = assessments.loc[assessments[PATIENT_ID].notna(), [PATIENT_ID, by]].dropna()
    attr = per_patient.groupby(PATIENT_ID, sort=False)[by].first()
    return group_labels(ids.map(attr)), int((~isin(ids, attr.index)).sum())


def _safe_name(by: str) -> str:
    plain = re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", by) and not re.fullmatch(r"t[0-9]+", by)
    return by if plain and by not in {SCORE, PATIENT_ID} else GROUP


def knots_in_words(knots) -> str:
    """'14', '14 and 56', '7, 14 and 56'."""
    days = [str(int(k)) for k in knots]
    return days[0] if len(days) == 1 else f"{', '.join(days[:-1])} and {days[-1]}"


def time_columns(day, knots) -> dict[str, np.ndarray]:
    """The piecewise-linear time of the trajectory model (DESIGN "Statistics"), t1, t2, ..., one more than the
    knots k1 < k2 < ...: t1 = min(max(day, 0), k1) (days before day 0 count as day 0: no treatment yet),
    t_j = min(max(day - k_(j-1), 0), k_j - k_(j-1)), and the last max(day - k_last, 0)."""
    day = np.asarray(day, dtype=float)
    edges = [0.0, *(float(k) for k in knots)]
    out = {}
    for j in range(len(edges)):
        upper = edges[j + 1] - edges[j] if j + 1 < len(edges) else np.inf
        out[f"t{j + 1}"] = np.clip(day - edges[j], 0.0, upper)
    return out


def trajectories(assessments: pd.DataFrame, instrument, by: str = CONDITION, definitions=None) -> Trajectories:
    """Observed and modelled trajectories of one instrument by a patient attribute.

    Observed: scores (same-day scores merged into their mean, as analysis.outcomes) are put in the visit
    windows of :func:`visit_windows`; each patient counts once per window (the baseline of
    analysis.outcomes in "pre", else the first score in the window); n, mean, sd and a t-based 95% CI per
    group and window, for the score and for the improvement from baseline as a fraction, (baseline -
    score) / baseline (patients with a baseline above 0), as analysis.outcomes' ``pct_change``.

    Model: ``score ~ group * (t1 + t2) + (1 + t1 | patient_id)``, REML (:func:`fit_lmm`), on the scores
    from the baseline window start to day config.TRAJECTORY_MAX_DAY, with t1 = min(max(day, 0), knot), the
    induction time (days before day 0 count as day 0: no treatment yet), and t2 = max(day - knot, 0), the
    time after induction; knot = the card's induction_end_day (14). The default card's knots are [1, 14]
    (analysis.card.default_knots: the first day's acute drop is a piece of its own, so the model meets the
    observed baseline). With more knots on the card (``knots``, e.g. [14, 56]) time has one more piece per knot, t1 + t2 + t3 (:func:`time_columns`), so the curve can
    follow a slow return of symptoms after induction. The random slope is on t1: patients
    differ most in how fast they respond during the series. Groups with fewer than
    config.TRAJECTORY_MIN_PATIENTS patients are left out of the model; when the data cannot carry a random
    slope the model falls back to a random intercept. Predicted means per group come with a 95% band
    from the fixed-effects covariance (normal approximation), and are only given for a converged fit.

    Lines: every score of up to config.TRAJECTORY_LINES_PER_GROUP patients per group (seeded sample), for
    groups of at least the suppression threshold. Patients without a value of ``by`` form the group
    'unknown'. ``to_json``/``to_text`` suppress small cells.
    """
    if not isinstance(assessments, pd.DataFrame):
        raise TypeError(f"assessments must be a pandas DataFrame, got {type(assessments).__name__}")
    code = instruments.get(instrument).code
    defs = definitions if definitions is not None else Definitions()
    knots = tuple(int(k) for k in getattr(defs, "trajectory_knots", (defs.induction_end_day,)))
    b0, _ = defs.baseline_window
    attributes = [c for c in assessments.columns if c not in (PATIENT_ID, INSTRUMENT, SCORE, DAY, DATE)]
    check_group_column(assessments, by, attributes)
    threshold = getattr(defs, "suppression_threshold", config.SUPPRESSION_THRESHOLD)
    notes: list[str] = []  # shown text: small counts in them as '<11'

    coded = Coded(assessments)  # patient ids as integer codes, once
    scores, patient = coded.scores(code)  # patient_id, day, score; DataError when there are none
    # each patient's scores are one run of rows, by day: run = the row's patient 0..runs-1 (in id order)
    starts, run, n_runs, days, values, base = baseline_rows(scores, patient, defs)
    labels, missing = _run_groups(assessments, by, coded, scores, patient, starts)
    if missing:
        notes.append(f"{privacy.show_count(missing, threshold)} patients without a {by} are shown as 'unknown'.")
    order = _group_order(by, labels)
    run_group = pd.Index(order).get_indexer(labels)  # each patient's group as its position in ``order``
    row_group = run_group[run]
    patients = pd.Series(np.bincount(run_group, minlength=len(order)), index=order, name=PATIENT_ID)

    # observed means per visit window: each patient's baseline (analysis.outcomes) in "pre", then in each
    # later window the patient's first score in it (the rows are by patient and day)
    windows = visit_windows(defs.baseline_window)
    base_values = pick(values, base)
    has = ~np.isnan(base_values)
    later = np.flatnonzero(days > windows["last"].iloc[0])
    visit = _visit_index(days[later], windows)
    later, visit = later[visit >= 0], visit[visit >= 0]
    first = run_starts(patient[later], visit)
    later, visit = later[first], visit[first]
    # one row per patient and window: the "pre" rows (patients with a baseline) first, then the later ones
    visit_value = np.r_[base_values[has], values[later]]
    visit_base = np.r_[base_values[has], base_values[run[later]]]
    cells = np.r_[run_group[has] * len(windows), row_group[later] * len(windows) + visit]
    visit_rows = np.r_[base[has], later]  # the score behind each of those values
    observed = _summarise(visit_value, cells, windows, order)
    positive = visit_base > 0
    pct_change = (visit_base[positive] - visit_value[positive]) / visit_base[positive]
    observed_pct = _summarise(pct_change, cells[positive], windows, order)
    no_base = int((~has).sum())
    if no_base:
        notes.append(
            f"{privacy.show_count(no_base, threshold)} of {privacy.show_count(n_runs, threshold)} patients have no baseline (a score from day {b0} to day "
            f"{defs.baseline_window[1]}): they are not in the percent-change means."
        )
    outside = int(((days < b0) | (days > windows["last"].iloc[-1])).sum())
    if outside:
        notes.append(
            f"{privacy.show_count(outside, threshold)} scores before day {b0} or after day {windows['last'].iloc[-1]} are outside "
            f"every visit window and the model."
        )

    # individual lines: a seeded sample of patients of each group large enough to be shown (patients in id
    # order, so the sample is that of the sorted ids)
    rng = np.random.default_rng(LINES_SEED)
    in_range = (days >= b0) & (days <= config.TRAJECTORY_MAX_DAY)
    picked = np.zeros(n_runs, dtype=bool)
    shown = np.zeros(n_runs, dtype=bool)  # patients with a score in the range
    shown[run[in_range]] = True
    for i in range(len(order)):
        ids = np.flatnonzero(shown & (run_group == i))
        if privacy.is_small(len(ids), threshold):
            continue
        k = min(config.TRAJECTORY_LINES_PER_GROUP, len(ids))
        picked[rng.choice(ids, size=k, replace=False)] = True
    rows = np.flatnonzero(in_range & picked[run])
    lines = scores[[PATIENT_ID, DAY, SCORE]].take(rows).reset_index(drop=True)
    lines[GROUP] = pd.Series(np.asarray(order, dtype=object)[row_group[rows]], dtype="str")
    base = pd.Series(base_values[run[rows]])
    lines[PCT_CHANGE] = ((base - lines[SCORE]) / base).where(base > 0)
    lines = lines[LINE_COLUMNS]
    hidden = [g for g in order if privacy.is_small(patients.get(g, 0), threshold)]
    if hidden:
        notes.append(
            f"individual lines are not drawn for groups of fewer than {threshold} patients "
            f"({', '.join(map(str, hidden))})."
        )

    in_range = np.flatnonzero(in_range)
    model_group, model_day = row_group[in_range], days[in_range]
    model, formula, model_notes, in_model = _model(
        model_group, model_day, values[in_range], patient[in_range], by, order, knots, patients, b0
    )
    notes += model_notes
    groups = pd.DataFrame(
        {GROUP: order, PATIENTS: [int(patients[g]) for g in order], "in_model": [g in in_model for g in order]}
    )
    empty_fixed = pd.DataFrame({c: pd.Series(dtype=float if c != "term" else str) for c in FIXED_COLUMNS})
    fixed = model.fixed_effects[FIXED_COLUMNS] if model is not None else empty_fixed
    converged = bool(model is not None and model.converged)
    last_day = pd.Series(model_day).groupby(model_group).max()  # each group's last day with a score in the range
    last_day.index = [order[i] for i in last_day.index]
    dense_to = defs.induction_end_day if defs.induction_end_day in knots else knots[0]
    predicted = (
        _predicted(model, by, in_model, knots, last_day, dense_to)
        if converged
        else pd.DataFrame(columns=PREDICTED_COLUMNS)
    )
    fit_check = pd.DataFrame(columns=FIT_CHECK_COLUMNS)
    if converged:
        scored = _scored_means(model, by, in_model, order, knots, visit_rows, cells, row_group, days, patient, in_range)
        fit_check = _fit_check(model, by, in_model, knots, observed, scored, order, windows)
    return Trajectories(
        instrument=code,
        by=by,
        observed=observed,
        observed_pct=observed_pct,
        fixed_effects=fixed,
        converged=converged,
        predicted=predicted,
        lines=lines,
        groups=groups,
        notes=tuple(notes),
        definitions=definitions if definitions is not None else defs,
        model=model,
        model_formula=formula,
        knots=knots,
        fit_check=fit_check,
    )


def _fit_check(model, by, in_model, knots, observed, scored: pd.Series, order: list, windows) -> pd.DataFrame:
    """Per modelled group and visit: the observed mean and its CI beside the model's mean of everyone (the
    curve, at the visit's day) and its mean of the patients scored at the visit (:func:`_scored_means`), with
    whether each lies within the observed CI."""
    cell = pd.Index([str(g) for g in order]).get_indexer(observed[GROUP]) * len(windows) + pd.Index(
        windows["visit"]
    ).get_indexer(observed["visit"])
    out = observed[[GROUP, "visit", DAY, "n", "mean", "lower", "upper"]].assign(
        model_scored=scored.reindex(cell).to_numpy()
    )
    out = out.dropna(subset=["model_scored"]).reset_index(drop=True)  # (the groups in the model)
    position = pd.Index([str(g) for g in in_model]).get_indexer(out[GROUP])
    out["model_all"] = _fixed_part(model, by, in_model, knots, position, out[DAY].to_numpy(dtype=float))
    for c in ("model_all", "model_scored"):
        out[f"{c}_inside"] = (out[c] >= out["lower"]) & (out[c] <= out["upper"])
    return out[FIT_CHECK_COLUMNS]


def _model(
    group: np.ndarray,
    day: np.ndarray,
    score: np.ndarray,
    patient: np.ndarray,
    by: str,
    order: list,
    knots: tuple[int, ...],
    patients: pd.Series,
    first_day: int,
):
    """Fit the trajectory model on the scores from first_day to TRAJECTORY_MAX_DAY (their group as a position
    in ``order``, day, score and the patient's integer code): (LmmResult or None, formula in words, notes,
    groups in the model)."""
    notes = []
    if not len(group):
        return (
            None,
            "",
            [f"The mixed model was not fitted: no scores from day {first_day} to day {config.TRAJECTORY_MAX_DAY}."],
            [],
        )
    small = [g for g in order if patients.get(g, 0) < config.TRAJECTORY_MIN_PATIENTS]
    if small:
        notes.append(
            f"left out of the model (fewer than {config.TRAJECTORY_MIN_PATIENTS} patients): "
            f"{', '.join(map(str, small))}."
        )
    in_model = [g for g in order if g not in small]
    position = np.full(len(order), -1)  # each group's position among the groups in the model (-1: left out)
    position[[order.index(g) for g in in_model]] = np.arange(len(in_model))
    group = position[group]
    keep = group >= 0
    if not keep.any():
        return None, "", notes + ["The mixed model was not fitted: no group has enough patients."], []
    name = _safe_name(by)
    day = pd.Series(day[keep])
    frame = pd.DataFrame(
        {
            # patients as integer codes (their order is the ids' sorted order): the same groups as the ids
            PATIENT_ID: patient[keep],
            name: pd.Categorical.from_codes(group[keep], categories=in_model),
            **time_columns(day, knots),
            SCORE: score[keep],
        }
    )
    pieces = [f"t{j + 1}" for j in range(len(knots) + 1)]
    varies = {c: frame[c].min() < frame[c].max() for c in (SCORE, *pieces)}  # (no missing values here)
    if not varies[SCORE]:
        return None, "", notes + ["The mixed model was not fitted: every score is the same."], in_model
    time_terms = [t for t in pieces if varies[t]]
    if len(knots) == 1 and "t2" not in time_terms:
        notes.append(f"no scores after day {knots[0]} (the end of induction): the model has no post-induction slope.")
    elif len(knots) > 1:
        missing = [j for j in range(1, len(pieces)) if pieces[j] not in time_terms]
        if missing:
            notes.append(
                f"no scores after day {knots[missing[0] - 1]} (a knot of the card): the model has no slope "
                f"after it ({', '.join(pieces[j] for j in missing)} left out)."
            )
    if not time_terms:
        return (
            None,
            "",
            notes
            + [
                "The mixed model was not fitted: all scores are at one point of the course "
                "(e.g. all before the first infusion)."
            ],
            in_model,
        )
    time = " + ".join(time_terms)
    rhs = f"{name} * ({time})" if len(in_model) > 1 else time
    formula = f"{SCORE} ~ {rhs}"
    slope = "t1" if "t1" in time_terms else None
    for s in [slope, None] if slope else [None]:
        try:
            fit = fit_lmm(frame, formula, PATIENT_ID, slope=s, reml=True)
        except DataError as e:
            if s is not None:
                notes.append(
                    f"too few repeated scores for a random induction slope ({e}); the model has a "
                    f"random intercept only."
                )
                continue
            return None, "", notes + [f"The mixed model was not fitted: {e}."], in_model
        random = f"(1 + {s} | {PATIENT_ID})" if s else f"(1 | {PATIENT_ID})"
        if len(in_model) > 1:
            notes.append(f"model reference group: {in_model[0]} (the other {by} terms are differences from it).")
        return fit, f"{formula} + {random}", notes + list(fit.notes), in_model
    return None, "", notes, in_model  # pragma: no cover (the loop always returns)


def _scored_means(
    model: LmmResult, by: str, in_model: list, order: list, knots, rows, cells, group, day, patient, model_rows
) -> pd.Series:
    """The model's mean for the patients scored in each visit cell: the mean over the cell's rows (``rows``, their
    ``cells`` as in :func:`_summarise`) of the fixed part at the row's group and day plus the patient's
    conditional modes (``model.random_effects``), for rows of a modelled group from the baseline window start
    to TRAJECTORY_MAX_DAY; indexed by cell. Beside the observed mean it checks the model's fit on the patients
    actually scored, whoever stopped coming."""
    positions = pd.Index(in_model).get_indexer(np.asarray(order, dtype=object))  # each group's (-1: left out)
    model_rows = model_rows[positions[group[model_rows]] >= 0]  # the rows the model was fitted on
    used = np.isin(rows, model_rows)
    rows, cells, position = rows[used], cells[used], positions[group[rows[used]]]
    fixed = _fixed_part(model, by, in_model, knots, position, day[rows])
    modelled = np.unique(patient[model_rows])  # the model's patients, in the order of its random effects
    b = model.random_effects[np.searchsorted(modelled, patient[rows])]
    value = fixed + b[:, 0]
    if b.shape[1] == 2:
        value += b[:, 1] * time_columns(pd.Series(day[rows], dtype=float), knots)["t1"]
    return pd.Series(value).groupby(cells).mean()


def _fixed_part(model: LmmResult, by: str, in_model: list, knots, position: np.ndarray, day: np.ndarray) -> np.ndarray:
    """The model's fixed part (its mean of everyone) for each row's group (``position`` in ``in_model``) and day,
    computed on the distinct (group, day) pairs and read back per row."""
    day_codes, distinct_days = pd.factorize(day)
    pair_codes, pairs = pd.factorize(position * len(distinct_days) + day_codes)
    pair_group, pair_day = pairs // len(distinct_days), distinct_days[pairs % len(distinct_days)]
    new = pd.DataFrame(
        {
            _safe_name(by): pd.Categorical.from_codes(pair_group, categories=in_model),
            **time_columns(pd.Series(pair_day, dtype=float), knots),
        }
    )
    return model.predict_fixed(new)["fit"].to_numpy()[pair_codes]


def _predicted(
    model: LmmResult, by: str, groups: list, knots: tuple[int, ...], last_day: pd.Series, dense_to: int | None = None
) -> pd.DataFrame:
    """Model mean per group on a grid of days (every day to ``dense_to``, the end of induction when it is a knot,
    else the first knot; then every 7 days, the knots and the group's last day with a score: no curve beyond a
    group's data), with a 95% normal band."""
    name = _safe_name(by)
    out = []
    for g in groups:
        if g not in last_day.index:  # no score from the baseline window to TRAJECTORY_MAX_DAY: nothing to draw
            continue
        last = int(min(max(last_day[g], 0), config.TRAJECTORY_MAX_DAY))
        knot = knots[0] if dense_to is None else dense_to
        later = [k for k in knots if k <= last]
        grid = np.unique(np.r_[np.arange(0, min(knot, last) + 1), np.arange(knot, last + 1, 7), later, last])
        grid = grid.astype(float)
        new = pd.DataFrame(
            {name: pd.Categorical([g] * len(grid), categories=groups), **time_columns(grid, knots)},
            index=range(len(grid)),
        )
        pred = model.predict_fixed(new)
        out.append(
            pd.DataFrame(
                {
                    GROUP: g,
                    DAY: grid,
                    "mean": pred["fit"],
                    "lower": pred["fit"] - Z95 * pred["se"],
                    "upper": pred["fit"] + Z95 * pred["se"],
                }
            )
        )
    return pd.concat(out, ignore_index=True)[PREDICTED_COLUMNS]
