"""The checks a reviewer asks for beside a Cox model (analysis.coxph), equal to R's survival 3.5 on the same data:

* the proportional-hazards test of R ``cox.zph(fit)`` (transform "km"): a score test, at the fitted
  coefficients, of adding x * g(t) for each covariate, g = 1 - KM(t-) centred on its mean over the events;
  one row per covariate (its dummy columns together, df = their number) and GLOBAL (all of them);
* Harrell's concordance of R ``concordance(fit)`` (timewt "n"): among the pairs where the shorter time is an
  event (a censored time equal to it counts as longer), the share in which the shorter time has the higher
  linear predictor, ties in the predictor counting one half; its standard error is R's infinitesimal
  jackknife.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

#: p below this earns a note that proportional hazards are doubtful
PH_ALPHA = 0.05
PH_COLUMNS = ("term", "chisq", "df", "p")


def _km_transform(time: np.ndarray, event: np.ndarray) -> np.ndarray:
    """1 - S(t-) per row, S the Kaplan-Meier estimate of all rows (cox.zph's transform "km")."""
    times, inverse = np.unique(time, return_inverse=True)
    n_event = np.bincount(inverse, weights=event, minlength=len(times))
    n_at = np.bincount(inverse, minlength=len(times))
    at_risk = np.cumsum(n_at[::-1])[::-1]
    surv = np.cumprod(1 - n_event / at_risk)
    before = np.concatenate(([1.0], surv[:-1]))  # S just before each distinct time
    return 1 - before[inverse]


def ph_test(time: np.ndarray, event: np.ndarray, x: np.ndarray, beta: np.ndarray, groups: list[list[int]], names):
    """R ``cox.zph(fit)$table`` (Efron ties): rows per term (``groups`` holds each term's columns of ``x``,
    ``names`` their names) and GLOBAL. ``x`` and ``beta`` hold only estimable columns."""
    n, p = x.shape
    g_all = _km_transform(time, event)
    g_all = g_all - g_all[event == 1].mean()
    order = np.argsort(-time, kind="stable")
    t, s, xs, g = time[order], event[order].astype(float), x[order], g_all[order]
    eta = xs @ beta
    r = np.exp(eta - eta.max())
    new = np.concatenate(([True], t[1:] != t[:-1]))
    starts = np.flatnonzero(new)
    ends = np.concatenate((starts[1:], [n])) - 1
    d = np.add.reduceat(s, starts).astype(np.int64)
    ev = np.flatnonzero(d > 0)
    rx = xs * r[:, None]
    rxx = rx[:, :, None] * xs[:, None, :]
    s0, s1, s2 = np.cumsum(r)[ends[ev]], np.cumsum(rx, axis=0)[ends[ev]], np.cumsum(rxx, axis=0)[ends[ev]]
    a0 = np.add.reduceat(r * s, starts)[ev]
    a1 = np.add.reduceat(rx * s[:, None], starts, axis=0)[ev]
    a2 = np.add.reduceat(rxx * s[:, None, None], starts, axis=0)[ev]
    xdead = np.add.reduceat(xs * s[:, None], starts, axis=0)[ev]
    gt = g[starts[ev]]  # g at each event time
    # one entry per event: its time (rep) and Efron's share k / d of the tied events taken out
    rep = np.repeat(np.arange(len(ev)), d[ev])
    first = np.repeat(np.cumsum(np.concatenate(([0], d[ev])))[:-1], d[ev])
    f = (np.arange(len(rep)) - first) / d[ev][rep]
    inv = 1.0 / (s0[rep] - f * a0[rep])
    mean = (s1[rep] - f[:, None] * a1[rep]) * inv[:, None]
    score_t = xdead - np.add.reduceat(mean, np.flatnonzero(np.r_[True, rep[1:] != rep[:-1]]), axis=0)

    def info(w):  # sum over events of w * (Efron variance of x in the risk set)
        c = np.bincount(rep, weights=w * inv, minlength=len(ev))
        e = np.bincount(rep, weights=w * f * inv, minlength=len(ev))
        return np.einsum("j,jab->ab", c, s2) - np.einsum("j,jab->ab", e, a2) - (mean * w[:, None]).T @ mean

    ge = gt[rep]
    i11, i12, i22 = info(np.ones(len(rep))), info(ge), info(ge * ge)
    imat = np.block([[i11, i12], [i12, i22]])
    u = np.concatenate((np.zeros(p), gt @ score_t))

    def test(cols):
        kk = np.concatenate((np.arange(p), p + np.asarray(cols, dtype=int)))
        uk = u[kk]
        try:
            return float(uk @ np.linalg.solve(imat[np.ix_(kk, kk)], uk)), len(cols)
        except np.linalg.LinAlgError:  # e.g. every event at one time: g(t) does not vary, nothing to test
            return np.nan, len(cols)

    rows = [(name, *test(cols)) for name, cols in zip(names, groups)]
    rows.append(("GLOBAL", *test(list(range(p)))))
    out = pd.DataFrame(rows, columns=["term", "chisq", "df"])
    out["p"] = stats.chi2.sf(out["chisq"], out["df"])
    return out


def concordance(time: np.ndarray, event: np.ndarray, lp: np.ndarray) -> dict:
    """R ``concordance(coxph)`` of the linear predictor ``lp``: ``c``, ``se`` (infinitesimal jackknife) and the
    pair counts ``concordant``, ``discordant``, ``tied_x``. Rows with equal (time, event, lp) are one cell
    with a weight (they form no comparable pair with one another). Two sweeps over the distinct times, each
    with the weights seen so far by rank of ``lp``: one gives each event's pairs with the longer times, the
    other each cell's pairs with the shorter event times (the influence of both members of a pair)."""
    cells = pd.DataFrame({"t": time, "e": event.astype(int), "lp": lp}).groupby(["t", "e", "lp"]).size().reset_index()
    ct, ce = cells["t"].to_numpy(float), cells["e"].to_numpy()
    w = cells[0].to_numpy(float)
    rank = np.unique(cells["lp"].to_numpy(float), return_inverse=True)[1]
    infl = np.zeros((len(cells), 3))  # per cell: concordant, discordant, tied pairs of one of its members
    hist = np.zeros(rank.max() + 1 if len(rank) else 0)

    def query(idx, higher_first):  # pairs of cells idx with the weights in hist: (higher lp first, lower, tied)
        if not len(idx):
            return
        below = np.concatenate(([0.0], np.cumsum(hist)))
        r = rank[idx]
        less, tied = below[r], hist[r]
        more = below[-1] - less - tied
        infl[idx] += np.column_stack((less, more, tied) if higher_first else (more, less, tied))

    by_time = np.split(np.argsort(ct, kind="stable"), np.flatnonzero(np.diff(np.sort(ct))) + 1)
    for cell_ids in reversed(by_time):  # longest first: an event against the longer times (and censored ties)
        dead = cell_ids[ce[cell_ids] == 1]
        np.add.at(hist, rank[cell_ids[ce[cell_ids] == 0]], w[cell_ids[ce[cell_ids] == 0]])
        query(dead, True)
        np.add.at(hist, rank[dead], w[dead])
    counts = w @ infl
    hist[:] = 0
    for cell_ids in by_time:  # shortest first: a cell against the events before it (censored: at its time too)
        dead = cell_ids[ce[cell_ids] == 1]
        query(dead, False)
        np.add.at(hist, rank[dead], w[dead])
        query(cell_ids[ce[cell_ids] == 0], False)
    npair = counts.sum()
    if npair == 0:
        return {"c": np.nan, "se": np.nan, "concordant": 0.0, "discordant": 0.0, "tied_x": 0.0}
    somer = (counts[0] - counts[1]) / npair
    dfbeta = (infl[:, 0] - infl[:, 1]) / npair - somer / npair * infl.sum(axis=1)
    var = float(np.sum(w * dfbeta**2)) / 4
    return {
        "c": (somer + 1) / 2,
        "se": float(np.sqrt(var)),
        "concordant": counts[0],
        "discordant": counts[1],
        "tied_x": counts[2],
    }
