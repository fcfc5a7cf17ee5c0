"""Survival statistics that equal R's ``survival`` package (3.5) on the same data.

* :func:`kaplan_meier`: the product-limit estimate with Greenwood's variance; pointwise 95% limits on
  the log scale (R ``survfit``'s default ``conf.type="log"``); medians and their limits as R's
  print/summary table (``survival:::survmean``: the first time a curve falls to 0.5 or below; when it
  sits exactly at 0.5, the midpoint to the time it next falls).
* :func:`logrank`: the log-rank test, R ``survdiff`` with ``rho=0``.
* :meth:`KaplanMeier.rmean` and :func:`rmean_differences`: the restricted mean survival time up to tau (the area
  under each curve from 0 to tau) with its standard error, as R ``print(survfit, rmean = tau)``
  (``survival:::survmean``), and the difference between two groups' restricted means with its SE (the groups
  are independent: the variances add), 95% CI and z-test p. Below the first time the restricted mean is tau
  with SE 0 (R's summary refuses such a tau).
* :func:`cox`: the Cox proportional hazards model with Efron's ties, fitted by Newton-Raphson with step
  halving exactly as R ``coxph`` (``iter.max=20``, ``eps=1e-9`` on the relative change of the log partial
  likelihood); Wald 95% intervals. Its engine is ``analysis.coxph``; the input checks shared by the three
  are ``analysis.survival_data``.

Assumptions: right-censored data (``event`` 1 = event, 0 = censored; times >= 0), non-informative
censoring, and for Cox proportional hazards. As R's ``timefix=TRUE`` (the default), Kaplan-Meier and
log-rank make times that differ only by floating-point noise one time (``survival_data.aeq_times``, R
``aeqSurv``); whole days never differ so.

Every engine works on whole arrays with cumulative sums: there is no loop over subjects. Kaplan-Meier and
log-rank handle all groups in one pass: labels are coded by hashing (only the distinct labels are sorted),
then subjects and events are counted per (group, time) cell, by np.bincount for whole days and by
sorting for other times (:func:`_cells`); only a short loop over groups remains for each curve's running
product.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special

from analysis.arrays import run_starts
from analysis.coxph import CoxResult, cox
from analysis.schema import DAY, GROUP
from analysis.survival_data import Z95, _survival_data

__all__ = ["CoxResult", "KaplanMeier", "LogRank", "cox", "kaplan_meier", "logrank", "rmean_differences"]

#: R survmean's tolerance for "the curve is exactly at 0.5"
QUANTILE_TOL = np.sqrt(np.finfo(float).eps)

KM_COLUMNS = (GROUP, "time", "n_risk", "n_event", "n_censor", "survival", "std_err", "lower", "upper")
MEDIAN_COLUMNS = (GROUP, "n", "events", "median", "lower", "upper")
AT_COLUMNS = (GROUP, DAY, "n_risk", "survival", "lower", "upper")
LOGRANK_COLUMNS = (GROUP, "n", "observed", "expected")
RMEAN_COLUMNS = (GROUP, "tau", "rmean", "se")
RMEAN_DIFFERENCE_COLUMNS = (GROUP, "reference", "tau", "difference", "se", "lower", "upper", "p")


# --------------------------------------------------------------------------------------------
# counts per group and distinct time
# --------------------------------------------------------------------------------------------
#: whole-day times are counted on a groups x (last day + 1) grid when it has at most
#: COUNT_GRID_MAX + COUNT_GRID_PER_SUBJECT * subjects cells; other times are sorted
COUNT_GRID_MAX = 4096
COUNT_GRID_PER_SUBJECT = 2


def _whole_days(t: np.ndarray, k: int) -> np.ndarray | None:
    """The times as int64 days when all are whole numbers and the k x (last day + 1) grid is small."""
    if len(t) == 0 or k * (float(t.max()) + 1) > COUNT_GRID_MAX + COUNT_GRID_PER_SUBJECT * len(t):
        return None
    days = t.astype(np.int64)
    return days if (days == t).all() else None


def _count_cells(days: np.ndarray, e: np.ndarray, code: np.ndarray, k: int) -> tuple[np.ndarray, ...]:
    """_cells for whole days: one np.bincount over a group x day x event grid, no sort."""
    width = int(days.max()) + 1
    grid = np.bincount((code * width + days) * 2 + e, minlength=k * width * 2).reshape(-1, 2)  # censored, events
    n_at = grid[:, 0] + grid[:, 1]
    cell = np.flatnonzero(n_at)
    return cell // width, (cell % width).astype(float), n_at[cell], grid[cell, 1]


def _sort_cells(t: np.ndarray, e: np.ndarray, code: np.ndarray) -> tuple[np.ndarray, ...]:
    """_cells for any times: sorted by group, then time (np.lexsort), one cell per run."""
    order = np.lexsort((t, code))
    t, e, code = t[order], e[order], code[order]
    first = np.flatnonzero(run_starts(t, code))
    counts = np.diff(np.append(first, len(t)))
    return code[first], t[first], counts, np.add.reduceat(e, first).astype(np.int64)


def _cells(t: np.ndarray, e: np.ndarray, code: np.ndarray, levels: list) -> tuple[list, np.ndarray, ...]:
    """One cell per group and distinct time with subjects, ordered by group then time: the levels that
    have subjects, then per cell its group (a code into those levels), time, subjects and events. Whole
    days are counted (_count_cells), other times sorted (_sort_cells); both give the same cells."""
    k = len(levels)
    days = _whole_days(t, k)
    group, time, n_at, n_event = _sort_cells(t, e, code) if days is None else _count_cells(days, e, code, k)
    size = np.bincount(group, minlength=k)
    if not size.all():  # unused categories, or every row of a level dropped
        keep = np.flatnonzero(size)
        renumber = np.full(k, -1, dtype=np.int64)
        renumber[keep] = np.arange(len(keep))
        group, levels = renumber[group], [levels[i] for i in keep]
    return levels, group, time, n_at, n_event


# --------------------------------------------------------------------------------------------
# Kaplan-Meier
# --------------------------------------------------------------------------------------------
def _medians(
    time: np.ndarray, curve: np.ndarray, starts: np.ndarray, stops: np.ndarray, tol: float = QUANTILE_TOL
) -> np.ndarray:
    """R survival:::survmean's median of each group's curve (rows starts[g]:stops[g]; used for the curve
    and for each limit): the first time the curve is at or below 0.5; if it is exactly 0.5 there (within
    tol) and falls lower later, the midpoint between that time and the first time it does. NaN when never
    reached."""
    below = np.flatnonzero(curve < 0.5 + tol)  # NaN (no limit) never is
    pos = np.searchsorted(below, starts)
    first = below[np.minimum(pos, len(below) - 1)] if len(below) else starts
    found = (pos < len(below)) & (first < stops)
    median = np.where(found, time[first], np.nan)
    for g in np.flatnonzero(found & (np.abs(curve[first] - 0.5) < tol)):  # rare: exactly one half
        i = first[g]
        lower = np.flatnonzero(curve[i + 1 : stops[g]] < curve[i])
        if len(lower):
            median[g] = (time[i] + time[i + 1 + lower[0]]) / 2
    return median


@dataclass(frozen=True)
class KaplanMeier:
    """Kaplan-Meier curves: ``table`` (one row per distinct time per group, as R
    ``summary(survfit(...), censored=TRUE)``), ``medians`` (as R's print table) and ``notes``."""

    table: pd.DataFrame
    medians: pd.DataFrame
    notes: tuple[str, ...] = ()

    def survival_at(self, days) -> pd.DataFrame:
        """Survival (and 95% limits) at the given days per group, as R ``summary(fit, times=days)``:
        the step function's value at each day; before the first time 1 (limits 1); ``n_risk`` = subjects
        with time >= day. After a group's last observed time R drops the day (``extend=FALSE``): here
        survival and limits are NaN and ``n_risk`` is 0."""
        days = np.atleast_1d(np.asarray(days, dtype=float))
        tab = self.table
        if tab.empty:
            return pd.DataFrame({c: [] for c in AT_COLUMNS})
        group = tab[GROUP].array
        time = tab["time"].to_numpy(dtype=float)
        codes = pd.factorize(group)[0]  # groups are runs of rows, times increasing within each
        starts = np.flatnonzero(run_starts(codes))
        stops = np.append(starts[1:], len(tab))
        last, nxt, before, beyond = [], [], [], []
        for a, b in zip(starts.tolist(), stops.tolist()):  # one short step per group, all days at once
            pos = np.searchsorted(time[a:b], days, side="right") - 1  # last time <= day
            last.append(a + np.maximum(pos, 0))
            before.append(pos < 0)
            nxt.append(a + np.minimum(np.searchsorted(time[a:b], days, side="left"), b - a - 1))  # first >= day
            beyond.append(days > time[b - 1])
        last, nxt, before, beyond = (np.concatenate(x) for x in (last, nxt, before, beyond))

        def pick(col):
            v = np.where(before, 1.0, tab[col].to_numpy(dtype=float)[last])
            return np.where(beyond, np.nan, v)

        n_risk = np.where(beyond, 0, tab["n_risk"].to_numpy()[nxt]).astype(np.int64)
        return pd.DataFrame(
            {
                GROUP: group.take(np.repeat(starts, len(days))),
                DAY: np.tile(days, len(starts)),
                "n_risk": n_risk,
                "survival": pick("survival"),
                "lower": pick("lower"),
                "upper": pick("upper"),
            }
        )

    def rmean(self, tau: float) -> pd.DataFrame:
        """Restricted mean survival time up to ``tau`` per group (columns RMEAN_COLUMNS), as R
        ``print(survfit, rmean = tau)``: the area under the curve from 0 to tau (the curve held at its last
        value after the last time), and its SE, sqrt(sum over times t_i <= tau of A_i^2 d_i / (n_i (n_i - d_i))),
        A_i the area from t_i to tau (a term is 0 where n_i = d_i, as R)."""
        tau = float(tau)
        if not np.isfinite(tau) or tau < 0:
            raise ValueError(f"tau must be a finite number of days, 0 or more; got {tau}")
        tab = self.table
        if tab.empty:
            return pd.DataFrame({c: [] for c in RMEAN_COLUMNS})
        codes = pd.factorize(tab[GROUP].array)[0]  # groups are runs of rows, times increasing within each
        starts = np.flatnonzero(run_starts(codes))
        stops = np.append(starts[1:], len(tab))
        time = tab["time"].to_numpy(dtype=float)
        surv = tab["survival"].to_numpy(dtype=float)
        n_risk = tab["n_risk"].to_numpy(dtype=float)
        n_event = tab["n_event"].to_numpy(dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            hh = np.where(n_risk > n_event, n_event / (n_risk * (n_risk - n_event)), 0.0)
        value, se = np.empty(len(starts)), np.empty(len(starts))
        for g, (a, b) in enumerate(zip(starts.tolist(), stops.tolist())):
            m = int(np.searchsorted(time[a:b], tau, side="right"))  # times <= tau
            edges = np.concatenate(([0.0], time[a : a + m], [tau]))
            heights = np.concatenate(([1.0], surv[a : a + m]))  # the curve on each stretch between edges
            rectangles = np.diff(edges) * heights
            after = np.cumsum(rectangles[::-1])[::-1][1:]  # the area from each time t_i to tau
            value[g] = rectangles.sum()
            se[g] = np.sqrt(np.sum(after**2 * hh[a : a + m]))
        return pd.DataFrame(
            {GROUP: tab[GROUP].array.take(starts), "tau": tau, "rmean": value, "se": se}, columns=list(RMEAN_COLUMNS)
        )


def rmean_differences(km: KaplanMeier, tau: float, reference=None) -> pd.DataFrame:
    """Each group's restricted mean up to ``tau`` minus the reference group's (default: the group with the
    most subjects, the first on ties), one row per other group (columns RMEAN_DIFFERENCE_COLUMNS): the SE is
    sqrt(se1^2 + se2^2) (independent groups), the 95% CI difference -/+ 1.96 SE, p the two-sided z-test."""
    rm = km.rmean(tau)
    if len(rm) < 2:
        return pd.DataFrame({c: [] for c in RMEAN_DIFFERENCE_COLUMNS})
    groups = rm[GROUP].tolist()
    if reference is None:
        n = km.medians.set_index(GROUP)["n"]
        reference = max(groups, key=lambda g: (n[g], -groups.index(g)))
    if reference not in groups:
        raise ValueError(f"reference group {reference!r} has no subjects")
    ref = rm[rm[GROUP] == reference].iloc[0]
    other = rm[rm[GROUP] != reference]
    diff = other["rmean"].to_numpy() - ref["rmean"]
    se = np.sqrt(other["se"].to_numpy() ** 2 + ref["se"] ** 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = np.where(se > 0, 2 * special.ndtr(-np.abs(diff / se)), np.nan)  # no test without variance, as R
    return pd.DataFrame(
        {
            GROUP: other[GROUP].array,
            "reference": reference,
            "tau": float(tau),
            "difference": diff,
            "se": se,
            "lower": diff - Z95 * se,
            "upper": diff + Z95 * se,
            "p": p,
        },
        columns=list(RMEAN_DIFFERENCE_COLUMNS),
    )


def kaplan_meier(time, event, group=None) -> KaplanMeier:
    """Kaplan-Meier estimate per group (``group=None``: one curve labelled ``"all"``).

    Survival S(t) = prod over event times <= t of (1 - d/n); Greenwood variance of log S,
    sum d / (n (n - d)); 95% limits exp(log S -/+ 1.96 SE), upper capped at 1 (R ``conf.type="log"``);
    no limits where S = 0. Rows with a missing time, event or group are dropped with a note.
    All groups in one pass: counts per (group, time) cell (_cells), then per group a running product
    and sum over its cells.
    """
    t, e, code, levels, notes = _survival_data(time, event, group, one_group=True)
    levels, cell_group, time_, n_at, n_event = _cells(t, e, code, levels)
    k = len(levels)
    if k == 0:
        notes.append("no subjects to analyse")
        table = pd.DataFrame({c: pd.Series(dtype=float) for c in KM_COLUMNS})
        med_df = pd.DataFrame([], columns=list(MEDIAN_COLUMNS))
        for c in ("median", "lower", "upper"):
            med_df[c] = med_df[c].astype(float)
        return KaplanMeier(table=table, medians=med_df, notes=tuple(notes))
    size = np.bincount(cell_group, minlength=k)  # cells per group
    stops = np.cumsum(size)
    starts = stops - size
    n_subjects = np.add.reduceat(n_at, starts)
    left = np.cumsum(n_at) - n_at  # subjects in earlier cells (all groups)
    n_risk = n_subjects[cell_group] - (left - left[starts][cell_group])
    n_censor = n_at - n_event
    survival, cumhaz_var = np.empty(len(n_at)), np.empty(len(n_at))
    with np.errstate(divide="ignore", invalid="ignore"):
        factor = 1.0 - n_event / n_risk
        term = np.where(n_event > 0, n_event / (n_risk * (n_risk - n_event).astype(float)), 0.0)
        for a, b in zip(starts.tolist(), stops.tolist()):  # one curve per group: a few steps
            np.cumprod(factor[a:b], out=survival[a:b])
            np.cumsum(term[a:b], out=cumhaz_var[a:b])
        se_cumhaz = np.sqrt(cumhaz_var)  # R's survfit()$std.err: Greenwood SE of -log S
        std_err = survival * se_cumhaz  # R's summary()$std.err: SE of S (NaN where S = 0)
        log_s = np.log(np.where(survival > 0, survival, np.nan))
        lower = np.exp(log_s - Z95 * se_cumhaz)
        upper = np.minimum(np.exp(log_s + Z95 * se_cumhaz), 1.0)
    events = np.add.reduceat(n_event, starts)
    median, med_lower, med_upper = (_medians(time_, c, starts, stops) for c in (survival, lower, upper))
    for level, ev, med in zip(levels, events.tolist(), median.tolist()):
        if ev == 0:
            notes.append(f"group {level}: no events, so survival stays at 1 and the median is not reached")
        elif np.isnan(med):
            notes.append(f"group {level}: survival never fell to 0.5, so the median is not reached")
    labels = pd.Index(levels).array  # the dtype pandas infers for these labels
    table = pd.DataFrame(
        {
            GROUP: labels.take(cell_group),
            "time": time_,
            "n_risk": n_risk,
            "n_event": n_event,
            "n_censor": n_censor,
            "survival": survival,
            "std_err": std_err,
            "lower": lower,
            "upper": upper,
        },
        copy=False,
    )
    med_df = pd.DataFrame(
        {GROUP: labels, "n": n_subjects, "events": events, "median": median, "lower": med_lower, "upper": med_upper},
        copy=False,
    )
    return KaplanMeier(table=table, medians=med_df, notes=tuple(notes))


# --------------------------------------------------------------------------------------------
# log-rank
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LogRank:
    """Log-rank test (R ``survdiff``, rho = 0): ``chi2`` on ``df`` degrees of freedom, ``p``; ``table``
    of observed and expected events per group."""

    chi2: float
    df: int
    p: float
    table: pd.DataFrame
    notes: tuple[str, ...] = ()


def logrank(time, event, group) -> LogRank:
    """Log-rank test of equal hazards across groups.

    At each distinct event time j with n_j at risk and d_j events, group g expects d_j n_gj / n_j events;
    the variance is the hypergeometric one. Groups with no expected events are left out of the test
    (as R). chi2 = (O - E)' V^-1 (O - E) over all groups but the first, df = groups - 1.
    """
    t, e, code, levels, notes = _survival_data(time, event, group, one_group=False)
    levels, cell_group, cell_time, n_at, n_event = _cells(t, e, code, levels)
    k = len(levels)
    times, row = np.unique(cell_time, return_inverse=True)
    m = len(times)
    at, dead = np.zeros((m, k)), np.zeros((m, k))  # leaving at t_j, events at t_j, per group
    at[row, cell_group] = n_at
    dead[row, cell_group] = n_event
    n_risk = np.cumsum(at[::-1], axis=0)[::-1]  # per group, time >= t_j
    n_all, d_all = n_risk.sum(axis=1), dead.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(n_all[:, None] > 0, n_risk / n_all[:, None], 0.0)
        w = np.where(n_all > 1, d_all * (n_all - d_all) / (n_all - 1), 0.0)
    observed = dead.sum(axis=0)
    expected = (share * d_all[:, None]).sum(axis=0)
    var = np.diag((w[:, None] * share).sum(axis=0)) - (share * w[:, None]).T @ share
    table = pd.DataFrame(
        {
            GROUP: levels,
            "n": np.bincount(cell_group, weights=n_at, minlength=k).astype(np.int64),
            "observed": observed,
            "expected": expected,
        },
        columns=list(LOGRANK_COLUMNS),
        copy=False,
    )
    if k < 2:
        notes.append("the log-rank test needs at least two groups")
        return LogRank(np.nan, 0, np.nan, table, tuple(notes))
    if d_all.sum() == 0:
        notes.append("no events in any group: the log-rank test is not defined")
        return LogRank(np.nan, 0, np.nan, table, tuple(notes))
    use = expected > 0
    if not use.all():
        notes.append(
            "left out of the log-rank test (no subject at risk at any event time): "
            + ", ".join(str(levels[i]) for i in np.flatnonzero(~use))
        )
    idx = np.flatnonzero(use)[1:]
    df = len(idx)
    if df == 0:
        notes.append("fewer than two groups have subjects at risk at an event time: no log-rank test")
        return LogRank(np.nan, 0, np.nan, table, tuple(notes))
    diff = (observed - expected)[idx]
    vv = var[np.ix_(idx, idx)]
    try:
        chi2 = float(diff @ np.linalg.solve(vv, diff))
    except np.linalg.LinAlgError:
        chi2 = float(diff @ np.linalg.pinv(vv) @ diff)
        notes.append("the log-rank variance matrix is singular; a generalised inverse was used")
    chi2 = max(chi2, 0.0)
    return LogRank(chi2, df, float(special.chdtrc(df, chi2)), table, tuple(notes))
