"""Survival statistics that equal R's ``survival`` package (3.5) on the same data.

* :func:`kaplan_meier`: the product-limit estimate with Greenwood's variance; pointwise 95% limits on
  the log scale (R ``survfit``'s default ``conf.type="log"``); medians and their limits as R's
  print/summary table (``survival:::survmean``: the first time a curve falls to 0.5 or below; when it
  sits exactly at 0.5, the midpoint to the time it next falls).
* :func:`logrank`: the log-rank test, R ``survdiff`` with ``rho=0``.
* :func:`cox`: the Cox proportional hazards model with Efron's ties, fitted by Newton-Raphson with step
  halving exactly as R ``coxph`` (``iter.max=20``, ``eps=1e-9`` on the relative change of the log partial
  likelihood); Wald 95% intervals.

Assumptions: right-censored data (``event`` 1 = event, 0 = censored; times >= 0), non-informative
censoring, and for Cox proportional hazards. Times are used exactly as given (R's ``timefix`` merges
times that differ only by floating-point noise; whole days never do).

Every engine works on whole arrays with cumulative sums: there is no loop over subjects. Kaplan-Meier and
log-rank handle all groups in one pass: labels are coded by hashing (only the distinct labels are sorted),
then subjects and events are counted per (group, time) cell, by np.bincount for whole days and by
sorting for other times (:func:`_cells`); only a short loop over groups remains for each curve's running
product.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import special, stats

from analysis.arrays import run_starts
from analysis.errors import DataError

#: the group label used when ``kaplan_meier`` is called without groups
ALL_GROUP = "all"
#: two-sided 95% normal quantile (R: qnorm(0.975))
Z95 = float(stats.norm.ppf(0.975))
#: R coxph.control() defaults
ITER_MAX = 20
EPS = 1e-9
TOLER_CHOL = np.finfo(float).eps ** 0.75
TOLER_INF = np.sqrt(EPS)
#: R survmean's tolerance for "the curve is exactly at 0.5"
QUANTILE_TOL = np.sqrt(np.finfo(float).eps)

KM_COLUMNS = ("group", "time", "n_risk", "n_event", "n_censor", "survival", "std_err", "lower", "upper")
MEDIAN_COLUMNS = ("group", "n", "events", "median", "lower", "upper")
AT_COLUMNS = ("group", "day", "n_risk", "survival", "lower", "upper")
LOGRANK_COLUMNS = ("group", "n", "observed", "expected")
COX_COLUMNS = ("term", "covariate", "level", "reference", "coef", "se", "hr", "lower", "upper", "z", "p")


# --------------------------------------------------------------------------------------------
# input checks
# --------------------------------------------------------------------------------------------
def _as_array(x, name: str) -> np.ndarray:
    if isinstance(x, (pd.Series, pd.Index)):
        return x.to_numpy()
    if np.isscalar(x) or x is None:
        raise TypeError(f"{name} must be an array or Series of values, got {type(x).__name__}")
    return np.asarray(x)


def _missing(values: np.ndarray) -> np.ndarray:
    return np.asarray(pd.isna(values), dtype=bool)


def _clean_time_event(time: np.ndarray, event: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Float times and 0/1 events, already free of missing values; bad values raise DataError."""
    try:
        t = np.asarray(time, dtype=float)
    except (TypeError, ValueError):
        raise DataError("survival times must be numbers (days); some are not") from None
    if not np.all(np.isfinite(t)):
        raise DataError("survival times must be finite numbers of days; some are infinite")
    if np.any(t < 0):
        raise DataError(f"survival times must be 0 or more days; {int(np.sum(t < 0))} are negative")
    e = np.asarray(event)
    if e.dtype.kind not in "biu":  # integers and booleans are checked as they are
        try:
            e = e.astype(float)
        except (TypeError, ValueError):
            raise DataError(
                "the event indicator must be 1 (event) or 0 (censored); some values are not numbers"
            ) from None
    bad = (e != 0) & (e != 1)
    if bad.any():
        found = sorted(set(e[bad].astype(float).tolist()))[:5]
        raise DataError(f"the event indicator must be 1 (event) or 0 (censored); found {found}")
    return t, e.astype(np.int64)


def _dropped_note(n: int, what: str) -> tuple[str, ...]:
    return (f"{n} row{'s' if n != 1 else ''} with a missing {what} dropped",) if n else ()


def _as_series(x, name: str, n: int) -> pd.Series:
    """Labels as a Series (a categorical keeps its categories), one per subject; its index is not used."""
    if np.isscalar(x) or x is None:
        raise TypeError(f"{name} must be an array or Series of labels, got {type(x).__name__}")
    s = x if isinstance(x, pd.Series) else pd.Series(x)
    if len(s) != n:
        raise ValueError(f"{name} must have one label per subject; got {len(s)} labels for {n} subjects")
    return s


def _r_sort_key(value):
    """R's sort order for labels in a UTF-8 locale (ICU): case-insensitive, lower case first on ties."""
    return (value.casefold(), value.swapcase()) if isinstance(value, str) else (str(value).casefold(), str(value))


def _r_order(values: list) -> list[int]:
    """Positions of distinct labels in R's factor order: numbers and booleans by value, text as R sorts it."""
    if all(isinstance(v, (bool, np.bool_)) for v in values) or all(
        isinstance(v, (int, float, np.number)) and not isinstance(v, (bool, np.bool_)) for v in values
    ):
        return sorted(range(len(values)), key=values.__getitem__)
    return sorted(range(len(values)), key=lambda i: _r_sort_key(values[i]))


def _group_codes(group, n: int) -> tuple[np.ndarray, list]:
    """Each subject's group as a code into the levels (-1: missing label) and the levels in R's factor
    order: a categorical's categories, otherwise the distinct values (one hash pass, factorize, then only
    the distinct values are sorted). Categories without subjects are kept."""
    s = _as_series(group, "group", n)
    if isinstance(s.dtype, pd.CategoricalDtype):
        return s.cat.codes.to_numpy().astype(np.int64), s.cat.categories.tolist()
    codes, uniques = s.array.factorize()
    found = uniques.tolist()
    order = _r_order(found)
    rank = np.full(len(found) + 1, -1, dtype=np.int64)  # rank[-1] = -1 keeps missing labels missing
    rank[order] = np.arange(len(found))
    return rank[codes], [found[i] for i in order]


def _group_levels(g: pd.Series) -> list:
    """Levels with subjects in R's factor order: the categories of a categorical, otherwise the sorted
    unique values (numbers and booleans by value, text as R sorts it)."""
    code, levels = _group_codes(g, len(g))
    size = np.bincount(code + 1, minlength=len(levels) + 1)[1:]
    return [level for level, m in zip(levels, size) if m]


def _survival_data(time, event, group, one_group: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, list, list]:
    """Float times, 0/1 events, group codes 0..k-1 and the k levels (R's order; some may have no subject)
    of the complete rows, and a note on the rows dropped. ``one_group``: group None is one group, ALL_GROUP."""
    t_raw, e_raw = _as_array(time, "time"), _as_array(event, "event")
    n = len(t_raw)
    if len(e_raw) != n:
        raise ValueError(f"time and event must have the same length; got {n} and {len(e_raw)}")
    if group is None and one_group:
        code, levels = np.zeros(n, dtype=np.int64), [ALL_GROUP]
    else:
        code, levels = _group_codes(group, n)
    miss = _missing(t_raw) | _missing(e_raw) | (code < 0)
    dropped = int(miss.sum())
    if dropped:
        keep = ~miss
        t_raw, e_raw, code = t_raw[keep], e_raw[keep], code[keep]
    t, e = _clean_time_event(t_raw, e_raw)
    return t, e, code, levels, list(_dropped_note(dropped, "time, event or group"))


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
        group = tab["group"].array
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
                "group": group.take(np.repeat(starts, len(days))),
                "day": np.tile(days, len(starts)),
                "n_risk": n_risk,
                "survival": pick("survival"),
                "lower": pick("lower"),
                "upper": pick("upper"),
            }
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
            "group": labels.take(cell_group),
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
        {"group": labels, "n": n_subjects, "events": events, "median": median, "lower": med_lower, "upper": med_upper},
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
            "group": levels,
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


# --------------------------------------------------------------------------------------------
# Cox proportional hazards, Efron ties
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class CoxResult:
    """Cox model (Efron ties): ``params`` per term (coef, se, hr, Wald 95% limits, z, p), ``loglik``
    (null, fitted) log partial likelihoods, ``n`` subjects, ``events``, ``converged`` and ``notes``."""

    params: pd.DataFrame
    loglik: tuple[float, float]
    n: int
    events: int
    converged: bool
    notes: tuple[str, ...] = ()
    iterations: int = 0  # as R's fit$iter (ITER_MAX + 1 when it ran out)
    covariance: pd.DataFrame = field(default_factory=pd.DataFrame)  # Wald covariance of coef, by term


@dataclass(frozen=True)
class _Sorted:
    """Data sorted by decreasing time (so a risk set is a running sum), with the index arrays that
    every likelihood evaluation reuses."""

    xt: np.ndarray  # p x n, centred and scaled (rows contiguous for fast running sums)
    status: np.ndarray  # n, 0/1 float
    starts: np.ndarray  # m: first row of each distinct time
    tidx: np.ndarray  # n: each row's distinct time (0 = the latest)
    ev: np.ndarray  # E: the distinct times with events (indices into 0..m-1)
    ev_end: np.ndarray  # E: last row of each event time (risk set = rows 0..ev_end)
    rep: np.ndarray  # one entry per event: its event time (0..E-1)
    frac: np.ndarray  # one entry per event: Efron's k / d, k = 0..d-1
    xdead: np.ndarray  # p: sum of x over events
    ties: bool  # some event time has more than one event


def _prepare(time: np.ndarray, status: np.ndarray, x: np.ndarray) -> _Sorted:
    order = np.argsort(-time, kind="stable")
    t, s = time[order], status[order].astype(float)
    xt = np.ascontiguousarray(x[order].T)
    n = len(t)
    new = np.concatenate(([True], t[1:] != t[:-1]))
    starts = np.flatnonzero(new)
    ends = np.concatenate((starts[1:], [n])) - 1
    tidx = np.cumsum(new) - 1
    d = np.add.reduceat(s, starts).astype(np.int64)
    ev = np.flatnonzero(d > 0)
    rep = np.repeat(np.arange(len(ev)), d[ev])
    first = np.repeat(np.cumsum(np.concatenate(([0], d[ev])))[:-1], d[ev])
    frac = (np.arange(len(rep)) - first) / d[ev][rep]
    return _Sorted(
        xt=xt,
        status=s,
        starts=starts,
        tidx=tidx,
        ev=ev,
        ev_end=ends[ev],
        rep=rep,
        frac=frac,
        xdead=xt @ s,
        ties=len(rep) > len(ev),
    )


@np.errstate(over="ignore", invalid="ignore")  # (a diverging coefficient overflows, as in R's C code: not converged)
def _efron(data: _Sorted, beta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Log partial likelihood (Efron), score and information at beta, in a few array passes.

    At an event time with d tied events, the k-th (k = 0..d-1) sees the risk-set sums less k/d of the
    tied events' share: denominator D_k = S0 - (k/d) A0, mean M_k = (S1 - (k/d) A1) / D_k. The sums over
    k reduce to per-time scalars (sum 1/D_k, sum (k/d)/D_k, ...), and the information's
    sum_j S2_j sum_k 1/D_k is X' diag(r_i C_i) X with C_i the sum over event times <= t_i: no p x p
    matrix per time or per event is ever formed.
    """
    xt, s, ev = data.xt, data.status, data.ev
    eta = np.einsum("p,pn->n", beta, xt)  # not BLAS: its threads only contend at this size
    shift = eta.max() if len(eta) else 0.0
    r = np.exp(eta - shift)  # exact rescaling: cancels in every ratio, added back in the log
    rx = xt * r
    s0 = np.cumsum(r)[data.ev_end]  # risk set at each event time: time >= t_j
    s1 = np.cumsum(rx, axis=1)[:, data.ev_end]  # p x E
    if data.ties:
        a0 = np.add.reduceat(r * s, data.starts)[ev]  # the tied events at t_j
        a1 = np.add.reduceat(rx * s, data.starts, axis=1)[:, ev]
        rep, f = data.rep, data.frac
        inv = 1.0 / (s0[rep] - f * a0[rep])
        n_ev = len(ev)

        def per_time(weights):
            return np.bincount(rep, weights=weights, minlength=n_ev)

        inv2 = inv * inv
        c, e = per_time(inv), per_time(f * inv)
        c2, e2, g2 = per_time(inv2), per_time(f * inv2), per_time(f * f * inv2)
        score = data.xdead - (s1 @ c - a1 @ e)
        cross = (s1 * e2) @ a1.T
        means2 = (s1 * c2) @ s1.T - cross - cross.T + (a1 * g2) @ a1.T
    else:
        inv = 1.0 / s0
        c, e = inv, None
        score = data.xdead - s1 @ c
        means2 = (s1 * (inv * inv)) @ s1.T
    loglik = float(eta @ s + np.sum(np.log(inv)) - len(inv) * shift)
    c_all = np.zeros(len(data.starts))
    c_all[ev] = c
    weight = np.cumsum(c_all[::-1])[::-1][data.tidx]  # sum of c over event times <= t_i
    if e is not None:
        e_all = np.zeros(len(data.starts))
        e_all[ev] = e
        weight -= s * e_all[data.tidx]
    info = (xt * (r * weight)) @ xt.T - means2
    return loglik, score, info


def _cholesky2(a: np.ndarray, toler: float = TOLER_CHOL) -> tuple[np.ndarray, np.ndarray]:
    """R survival's cholesky2: LDL' with pivots below toler * max(diag) set to 0 (singular)."""
    a = a.copy()
    p = len(a)
    diag_max = max(float(np.max(np.diag(a), initial=0.0)), 0.0)
    eps = toler if diag_max == 0 else diag_max * toler
    sing = np.zeros(p, dtype=bool)
    for i in range(p):  # p covariates: a short loop
        pivot = a[i, i]
        if not np.isfinite(pivot) or pivot < eps:
            sing[i] = True
            a[i, i] = 0.0
            continue
        col = a[i + 1 :, i] / pivot
        a[i + 1 :, i + 1 :] -= np.outer(col, a[i + 1 :, i])
        a[i + 1 :, i] = col
    return a, sing


def _solve_and_inverse(info: np.ndarray, u: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Newton step and inverse information over the non-singular columns (zeros elsewhere, as R)."""
    _, sing = _cholesky2(info)
    ok = ~sing
    step, inv = np.zeros_like(u), np.zeros_like(info)
    if ok.any():
        sub = info[np.ix_(ok, ok)]
        inv_sub = np.linalg.inv(sub)
        inv[np.ix_(ok, ok)] = inv_sub
        step[ok] = inv_sub @ u[ok]
    return step, inv, sing


def _newton(data: _Sorted, p: int) -> dict:
    """R coxfit6's Newton-Raphson: after a step that lowers the log-likelihood, retreat towards the
    last accepted point (to 1/2, then 1/3 of the remaining step, ...); converged when a full step
    changes the log-likelihood by at most EPS relative. Out of iterations: the last accepted point,
    and ``iter`` = ITER_MAX + 1 as R reports it."""
    beta = np.zeros(p)
    loglik0, u, info = _efron(data, beta)
    best = loglik0
    new = beta + _solve_and_inverse(info, u)[0]
    halving = 0
    for it in range(1, ITER_MAX + 1):
        newlk, new_u, new_info = _efron(data, new)
        if not np.isfinite(newlk):  # a step so bad that exp() overflowed: treat it as a worse one
            newlk = -np.inf
        with np.errstate(divide="ignore", invalid="ignore"):  # as C: x/0 is inf, 0/0 NaN (not converged)
            change = abs(1 - np.float64(best) / np.float64(newlk))
        if halving == 0 and change <= EPS:
            _, inv, sing = _solve_and_inverse(new_info, new_u)
            return dict(beta=new, loglik0=loglik0, loglik=newlk, u=new_u, var=inv, sing=sing, converged=True, iter=it)
        if newlk < best:
            halving += 1
            new = (new + halving * beta) / (halving + 1)
        else:
            halving = 0
            best, beta, u, info = newlk, new, new_u, new_info
            new = beta + _solve_and_inverse(info, u)[0]
    _, inv, sing = _solve_and_inverse(info, u)
    return dict(beta=beta, loglik0=loglik0, loglik=best, u=u, var=inv, sing=sing, converged=False, iter=ITER_MAX + 1)


def _design(
    data: pd.DataFrame, covariates: list[str], reference: dict[str, str]
) -> tuple[np.ndarray, list[dict], list[str]]:
    """Numeric columns as they are; categorical ones dummy-coded against a reference level."""
    columns, terms, notes = [], [], []
    for cov in covariates:
        col = data[cov]
        is_cat = not pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col)
        if not is_cat:
            if cov in reference:
                raise ValueError(f"reference given for numeric covariate '{cov}'; only categorical ones have levels")
            values = col.to_numpy(dtype=float)
            if not np.all(np.isfinite(values)):
                raise DataError(f"covariate '{cov}' has infinite values; only finite numbers can be used")
            if len(values) == 0 or np.all(values == values[0]):
                notes.append(f"covariate '{cov}' has no variation and was left out")
                continue
            columns.append(values)
            terms.append(dict(term=cov, covariate=cov, level=None, reference=None))
            continue
        levels = _group_levels(col)
        if cov in reference:
            ref = reference[cov]
            match = [lv for lv in levels if lv == ref or str(lv) == str(ref)]
            if not match:
                raise ValueError(
                    f"reference level {ref!r} of '{cov}' not found; available: " + ", ".join(map(str, levels))
                )
            ref = match[0]
        elif levels:
            ref = levels[0]
        if len(levels) < 2:
            notes.append(
                f"covariate '{cov}' has only one level" + (f" ({levels[0]})" if levels else "") + " and was left out"
            )
            continue
        dropped_levels = [lv for lv in _all_levels(col) if lv not in levels]
        if dropped_levels:
            notes.append(f"levels of '{cov}' with no subjects left out: " + ", ".join(map(str, dropped_levels)))
        for lv in levels:
            if lv == ref:
                continue
            columns.append((col == lv).to_numpy(dtype=float))
            terms.append(dict(term=f"{cov}={lv}", covariate=cov, level=str(lv), reference=str(ref)))
    x = np.column_stack(columns) if columns else np.zeros((len(data), 0))
    return x, terms, notes


def _all_levels(col: pd.Series) -> list:
    return col.cat.categories.tolist() if isinstance(col.dtype, pd.CategoricalDtype) else []


def _empty_params() -> pd.DataFrame:
    return pd.DataFrame(
        {c: pd.Series(dtype=object if c in ("term", "covariate", "level", "reference") else float) for c in COX_COLUMNS}
    )


def cox(
    data: pd.DataFrame, time: str, event: str, covariates: list[str], reference: dict[str, str] | None = None
) -> CoxResult:
    """Cox proportional hazards model, Efron ties, as R ``coxph(Surv(time, event) ~ covariates)``.

    Model: hazard h(t | x) = h0(t) exp(x'beta), h0 unspecified. Numeric covariates enter as they are;
    str/object/category/bool ones are dummy-coded against a reference level (R's default: the first
    level in sorted order, or the first category of a categorical; override with ``reference``).
    Fitted by Newton-Raphson with step halving (at most 20 iterations; converged when the log partial
    likelihood changes by at most 1e-9 relative). HR = exp(coef), Wald 95% limits exp(coef -/+ 1.96 se).
    """
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    if isinstance(covariates, str):
        covariates = [covariates]
    covariates = list(covariates)
    reference = dict(reference or {})
    for name in [time, event, *covariates]:
        if name not in data.columns:
            raise KeyError(f"column '{name}' not found; available: " + ", ".join(map(str, data.columns)))
    unknown = set(reference) - set(covariates)
    if unknown:
        raise ValueError(
            f"reference given for {sorted(unknown)}, which are not covariates; covariates: " + ", ".join(covariates)
        )
    if len(set(covariates)) != len(covariates):
        raise ValueError("each covariate may be named only once; got " + ", ".join(covariates))
    cols = [time, event, *covariates]
    miss = data[cols].isna().any(axis=1).to_numpy()
    notes = list(_dropped_note(int(miss.sum()), "time, event or covariate"))
    used = data.loc[~miss, cols]
    t, e = _clean_time_event(used[time].to_numpy(), used[event].to_numpy())
    x, terms, design_notes = _design(used, covariates, reference)
    notes += design_notes
    n, events = len(t), int(e.sum())
    params = _empty_params()

    def result(params, loglik, converged, iterations=0, cov=None):
        return CoxResult(
            params=params,
            loglik=loglik,
            n=n,
            events=events,
            converged=converged,
            notes=tuple(notes),
            iterations=iterations,
            covariance=pd.DataFrame() if cov is None else cov,
        )

    if n == 0:
        notes.append("no subjects to analyse")
        return result(params, (np.nan, np.nan), False)
    if events == 0:
        notes.append("no events: the Cox model cannot be estimated")
        if terms:
            params = pd.DataFrame(terms)
            for c in COX_COLUMNS[4:]:
                params[c] = np.nan
            params = params[list(COX_COLUMNS)]
        return result(params, (0.0, 0.0), False)
    if x.shape[1] == 0:
        notes.append("no covariate left to estimate")
        data_sorted = _prepare(t, e, np.zeros((n, 1)))
        ll0 = _efron(data_sorted, np.zeros(1))[0]
        return result(params, (ll0, ll0), True)

    # centre (and scale, except -1/0/1 columns) as R coxfit6; the Newton path is affine-invariant
    zero_one = np.all((x == 0) | (x == 1) | (x == -1), axis=0)
    means = np.where(zero_one, 0.0, x.mean(axis=0))
    xc = x - means
    mad = np.abs(xc).mean(axis=0)
    scale = np.where(zero_one | (mad == 0), 1.0, 1.0 / np.where(mad > 0, mad, 1.0))
    fit = _newton(_prepare(t, e, xc * scale), x.shape[1])
    beta = fit["beta"] * scale
    var = fit["var"] * np.outer(scale, scale)
    u = fit["u"] / scale
    sing = fit["sing"]
    coef = np.where(sing, np.nan, beta)
    se = np.where(sing, np.nan, np.sqrt(np.diag(var)))
    if sing.any():
        notes.append(
            "not estimable (collinear with other terms or without events): "
            + ", ".join(terms[i]["term"] for i in np.flatnonzero(sing))
        )
    if not fit["converged"]:
        notes.append(f"the Cox model did not converge in {ITER_MAX} iterations; estimates are unreliable")
    else:
        infs = np.abs(u @ var)
        infs = ~np.isfinite(u) | ((infs > EPS) & (infs > TOLER_INF * np.abs(beta)))
        if infs.any():
            notes.append(
                "the likelihood converged before "
                + ", ".join(terms[i]["term"] for i in np.flatnonzero(infs))
                + " did: the coefficient may be infinite (perfect separation); its hazard ratio "
                "and interval are not meaningful"
            )
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        z = coef / se
        params = pd.DataFrame(terms)
        params["coef"] = coef
        params["se"] = se
        params["hr"] = np.exp(coef)
        params["lower"] = np.exp(coef - Z95 * se)
        params["upper"] = np.exp(coef + Z95 * se)
        params["z"] = z
        params["p"] = 2 * stats.norm.sf(np.abs(z))
    names = [tm["term"] for tm in terms]
    cov = pd.DataFrame(np.where(sing[:, None] | sing[None, :], np.nan, var), index=names, columns=names)
    return result(params[list(COX_COLUMNS)], (fit["loglik0"], fit["loglik"]), bool(fit["converged"]), fit["iter"], cov)
