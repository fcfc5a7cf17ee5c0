"""The Cox proportional hazards model with Efron's ties, equal to R ``coxph`` (survival 3.5) on the same data:
fitted by Newton-Raphson with step halving exactly as R (``iter.max=20``, ``eps=1e-9`` on the relative change of
the log partial likelihood); Wald 95% intervals; each factor against its reference level. Assumptions:
right-censored data, non-informative censoring, proportional hazards. The public face is
``analysis.survival.cox`` (this module is its engine).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from analysis import cox_checks
from analysis.errors import DataError
from analysis.survival_data import Z95, _clean_time_event, _dropped_note, _group_levels, aeq_times

#: R coxph.control() defaults
ITER_MAX = 20
EPS = 1e-9
TOLER_CHOL = np.finfo(float).eps ** 0.75
TOLER_INF = np.sqrt(EPS)
COX_COLUMNS = ("term", "covariate", "level", "reference", "coef", "se", "hr", "lower", "upper", "z", "p")


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
    #: term -> why it is not estimable (e.g. "no events in site D"): its coefficient diverges (R's huge number)
    not_estimable: dict = field(default_factory=dict)
    #: R cox.zph(fit)$table: term (per covariate, then GLOBAL), chisq, df, p (analysis.cox_checks.ph_test)
    ph_test: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: R concordance(fit): c, se, concordant, discordant, tied_x (analysis.cox_checks.concordance)
    concordance: dict = field(default_factory=dict)
    #: term of a level -> (subjects at the level, subjects at its reference level)
    level_sizes: dict = field(default_factory=dict)

    def params_shown(self, threshold: int = 0) -> pd.DataFrame:
        """``params`` as they may be shown. A term that is not estimable keeps its row with coef, se, hr, lower,
        upper, z and p missing (NaN) and the reason in the column ``not_estimable`` ("no events in site D"); so
        does a term comparing groups of which one has fewer than ``threshold`` subjects (small-cell suppression:
        its hazard ratio would describe a handful of patients), the reason in the column ``withheld`` ("fewer
        than 11 patients in age band 18-24"). Both columns are None for a term shown; :func:`not_shown` words
        either. The engine's ``params`` keep R's numbers."""
        p = self.params.copy()
        p["not_estimable"] = [self.not_estimable.get(t) for t in p["term"]]
        withheld = []
        for r in p.to_dict("records"):
            level, reference = self.level_sizes.get(r["term"], (threshold, threshold))
            small = r["level"] if level < threshold else r["reference"] if reference < threshold else None
            what = str(r["covariate"]).replace("_", " ")
            withheld.append(None if small is None else f"fewer than {threshold} patients in {what} {small}")
        p["withheld"] = withheld
        hidden = p["not_estimable"].notna() | p["withheld"].notna()
        p.loc[hidden, ["coef", "se", "hr", "lower", "upper", "z", "p"]] = np.nan
        return p


def not_shown(row) -> str | None:
    """Why a row of :meth:`CoxResult.params_shown` has no hazard ratio, in words ("not estimable (no events in
    site D)", "withheld (fewer than 11 patients in age band 18-24)"); None when it has one."""
    if isinstance(row.get("not_estimable"), str):
        return f"not estimable ({row['not_estimable']})"
    if isinstance(row.get("withheld"), str):
        return f"withheld ({row['withheld']})"
    return None


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
    t = aeq_times(t)  # times apart by rounding only are one time (R's aeqSurv)
    x, terms, design_notes = _design(used, covariates, reference)
    notes += design_notes
    n, events = len(t), int(e.sum())
    params = _empty_params()
    level_sizes = _level_sizes(terms, x)

    def result(params, loglik, converged, iterations=0, cov=None, not_estimable=None, checks=(None, None)):
        return CoxResult(
            params=params,
            loglik=loglik,
            n=n,
            events=events,
            converged=converged,
            notes=tuple(notes),
            iterations=iterations,
            covariance=pd.DataFrame() if cov is None else cov,
            not_estimable=dict(not_estimable or {}),
            ph_test=pd.DataFrame() if checks[0] is None else checks[0],
            concordance=dict(checks[1] or {}),
            level_sizes=level_sizes,
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
    infs = np.zeros(len(terms), dtype=bool)
    if not fit["converged"]:
        notes.append(f"the Cox model did not converge in {ITER_MAX} iterations; estimates are unreliable")
    else:
        infs = np.abs(u @ var)
        infs = ~np.isfinite(u) | ((infs > EPS) & (infs > TOLER_INF * np.abs(beta)))
    not_estimable = _not_estimable(terms, x, e, infs & ~sing)
    notes += [
        f"{term} not estimable ({why}): its coefficient is infinite (R reports a huge one), so no hazard "
        "ratio or interval is given"
        for term, why in not_estimable.items()
    ]
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
    loglik = (fit["loglik0"], fit["loglik"])
    checks = _checks(t, e, x, beta, sing, terms)
    return result(params[list(COX_COLUMNS)], loglik, bool(fit["converged"]), fit["iter"], cov, not_estimable, checks)


def _level_sizes(terms: list[dict], x: np.ndarray) -> dict[str, tuple[int, int]]:
    """Per term of a categorical covariate: (subjects at its level, subjects at the covariate's reference)."""
    out = {}
    for cov in dict.fromkeys(tm["covariate"] for tm in terms if tm["level"] is not None):
        cols = [j for j, tm in enumerate(terms) if tm["covariate"] == cov]
        reference = int((x[:, cols] == 0).all(axis=1).sum())
        out.update({terms[j]["term"]: (int(x[:, j].sum()), reference) for j in cols})
    return out


def _checks(time, event, x, beta, sing, terms) -> tuple[pd.DataFrame, dict]:
    """The proportional-hazards test (one row per covariate and GLOBAL) and the concordance of the fitted
    model, as R ``cox.zph`` and ``concordance`` (analysis.cox_checks); columns not estimable are left out."""
    keep = np.flatnonzero(~sing)
    b = beta[keep]
    names = list(dict.fromkeys(terms[i]["covariate"] for i in keep))
    groups = [[k for k, i in enumerate(keep) if terms[i]["covariate"] == name] for name in names]
    ph = cox_checks.ph_test(time, event.astype(float), x[:, keep], b, groups, names) if len(keep) else None
    return ph, cox_checks.concordance(time, event, x[:, keep] @ b)


def _not_estimable(terms: list[dict], x: np.ndarray, event: np.ndarray, diverging: np.ndarray) -> dict[str, str]:
    """Terms whose coefficient diverges (the likelihood is monotone in it), with the reason: a level with
    no events ("no events in site D"), a reference level with no events (every other level of its covariate
    diverges: "no events in site A, the reference"), or, flagged by R's test for a coefficient that has not
    converged with the likelihood (``diverging``), "perfect separation"."""
    out = {}
    for i, tm in enumerate(terms):
        cov = tm["covariate"].replace("_", " ")
        if tm["level"] is not None:
            own = [j for j, other in enumerate(terms) if other["covariate"] == tm["covariate"]]
            if event[x[:, i] == 1].sum() == 0:
                out[tm["term"]] = f"no events in {cov} {tm['level']}"
                continue
            in_reference = ~(x[:, own] == 1).any(axis=1)
            if in_reference.any() and event[in_reference].sum() == 0:
                out[tm["term"]] = f"no events in {cov} {tm['reference']}, the reference"
                continue
        if diverging[i]:
            out[tm["term"]] = "perfect separation"
    return out
