"""Symptom trajectories: observed means by visit window, and the linear mixed model (as ``lme4::lmer``).

``fit_lmm`` fits ``y = X beta + Z b + e`` with one random intercept (and optionally one random slope)
per group, ``b ~ N(0, sigma^2 Lambda Lambda')``, ``e ~ N(0, sigma^2 I)``, by (RE)ML. As in lme4, beta
and sigma^2 are profiled out and the deviance is minimised over ``theta``, the lower-triangular factor
``Lambda`` (``[L11, L21, L22]``, diagonal >= 0). Each evaluation uses per-group sufficient statistics
(Z'Z, Z'X, Z'y, each 1x1 or 2x2 per group) and a 1x1 or 2x2 Cholesky per group, so a fit costs a few
passes over the data plus O(groups x p^2) per evaluation.

``trajectories`` is the per-instrument analysis of the dashboard (DESIGN "Statistics"):
observed means with t-based 95% CIs per visit window (score and percent change from baseline), a seeded
sample of individual lines, and the model ``score ~ group * (t1 + t2) + (1 + t1 | patient_id)`` (REML)
with predicted mean curves per group.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize, stats

from analysis import config, instruments, privacy
from analysis.arrays import first_rows, group_sums, isin, pick, run_numbers, run_starts
from analysis.errors import DataError
from analysis.outcomes import Coded, Definitions, baseline_rows, check_group_column, group_labels
from analysis.schema import CONDITION, CONDITIONS, DATE, DAY, INSTRUMENT, PATIENT_ID, SCORE

__all__ = ["LmmResult", "Trajectories", "fit_lmm", "trajectories", "visit_windows"]

#: the optimiser's convergence check (as lme4's check.conv.grad: |H^-1 g| below this, on the deviance)
GRADIENT_TOLERANCE = 2e-3
#: a diagonal element of theta below this is a boundary (singular) fit, as lme4::isSingular
SINGULAR_TOLERANCE = 1e-4
#: the normal quantile of the 95% bands of predicted means
Z95 = float(stats.norm.ppf(0.975))


# ----------------------------------------------------------------------------------------------
# The mixed model
# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LmmResult:
    """A fitted linear mixed model. ``llf`` is the REML log-likelihood (-REMLcrit/2) for REML fits."""

    fixed_effects: pd.DataFrame  # term, estimate, se, t
    vcov: pd.DataFrame  # covariance of the fixed effects (term x term)
    cov_re: pd.DataFrame  # random-effects covariance (1x1 or 2x2)
    scale: float  # residual variance sigma^2
    llf: float
    theta: tuple[float, ...]  # relative covariance factor, lme4's getME(fit, "theta")
    converged: bool
    singular: bool
    optimizer: str
    reml: bool
    n_obs: int
    n_groups: int
    formula: str
    notes: tuple[str, ...] = ()
    design: object = field(default=None, repr=False, compare=False)  # formulaic model spec, to predict

    @property
    def deviance(self) -> float:
        """-2 llf: the REML criterion for REML fits, the deviance for ML fits (as lme4)."""
        return -2.0 * self.llf

    def predict_fixed(self, newdata: pd.DataFrame) -> pd.DataFrame:
        """Population (fixed-effects) prediction with its standard error (from ``vcov``) for new rows."""
        x = self.design.get_model_matrix(newdata)
        x = x.rename(columns=_r_name)[self.fixed_effects["term"].tolist()].to_numpy(dtype=float)
        beta = self.fixed_effects["estimate"].to_numpy()
        se = np.sqrt(np.einsum("ij,jk,ik->i", x, self.vcov.to_numpy(), x))
        return pd.DataFrame({"fit": x @ beta, "se": se}, index=newdata.index)


def _r_name(name: str) -> str:
    """formulaic's column name -> R's: 'Intercept' -> '(Intercept)', 'condition[T.ptsd]' -> 'conditionptsd'."""
    if name == "Intercept":
        return "(Intercept)"
    return re.sub(r"([A-Za-z_.][\w.]*)\[T\.(.*?)\]", r"\1\2", name)


def _require_columns(data: pd.DataFrame, columns: list[str], what: str) -> None:
    for c in columns:
        if c not in data.columns:
            raise KeyError(f"{what} column {c!r} not found; available: {', '.join(map(str, data.columns))}")


def _group_codes(values: pd.Series) -> tuple[np.ndarray, int]:
    """Each row's group as its position in the sorted distinct values (``pd.factorize(sort=True)``), and the
    number of groups; integer groups already in order (trajectories gives patients so) are read as runs."""
    plain_integers = isinstance(values.dtype, np.dtype) and values.dtype.kind in "iu"
    if plain_integers and values.is_monotonic_increasing:
        return run_numbers(run_starts(values.to_numpy()))
    codes, uniques = pd.factorize(values, sort=True)
    return codes, len(uniques)


def _full_rank_columns(x: np.ndarray, tol: float = 1e-7) -> list[int]:
    """Indices of the columns kept when each column whose part not explained by the columns kept before
    it is below ``tol`` of its length is dropped, left to right (lme4's rank check, tolerance 1e-7)."""
    xtx = x.T @ x
    keep: list[int] = []
    for j in range(x.shape[1]):
        norm2 = xtx[j, j]
        if norm2 <= 0:
            continue
        c = xtx[keep, j]
        explained = c @ np.linalg.solve(xtx[np.ix_(keep, keep)], c) if keep else 0.0
        if norm2 - explained > tol**2 * norm2:
            keep.append(j)
    return keep


class _Deviance:
    """The profiled (RE)ML deviance of theta, from per-group sufficient statistics.

    With U = [X | y], V = sigma^2 (I + Z Lambda Lambda' Z') and M_i = Lambda' Z_i'Z_i Lambda + I = L_i L_i'
    per group: U'V^-1U sigma^2 = U'U - sum_i W_i'W_i with W_i = L_i^-1 Lambda' Z_i'U_i, and
    log|V / sigma^2| = sum_i log|M_i|. One ((p+1) x 2 groups) matrix product per evaluation. The per-group
    statistics are kept one row per column of U (long rows: fast elementwise work), and the deviance of
    each theta is computed once (optimisers and the convergence check ask for some points again).
    """

    def __init__(self, x, y, z_slope, codes, n_groups, reml):
        self.n, self.p = x.shape
        self.q = 1 if z_slope is None else 2
        self.reml = reml
        ut = np.vstack([x.T, y])  # U', one row per column of U
        self.utu = ut @ ut.T
        self.s00 = np.bincount(codes, minlength=n_groups).astype(float)
        self.u0 = group_sums(codes, n_groups, ut)  # (Z0'U)' per group (Z0 = 1): (p+1) x groups
        if self.q == 2:
            s = z_slope
            self.s01 = np.bincount(codes, weights=s, minlength=n_groups)
            self.s11 = np.bincount(codes, weights=s * s, minlength=n_groups)
            self.u1 = group_sums(codes, n_groups, ut * s)  # (Z1'U)' per group
        self.w = np.empty((self.p + 1, self.q * n_groups))  # W' = [W_0' | W_1'], the groups' rows side by side
        self.scratch = np.empty((self.p + 1, n_groups))
        self.memo: dict[bytes, float] = {}

    def solve(self, theta, with_inverse=False):
        """(deviance, beta, r2, inverse of X'V^-1 X or None) at theta (V relative to sigma^2)."""
        theta = np.asarray(theta, dtype=float)
        w, g = self.w, self.s00.shape[0]
        w0, w1 = w[:, :g], w[:, g:]
        if self.q == 1:
            a = theta[0]
            l11 = np.sqrt(1.0 + a * a * self.s00)
            np.multiply(self.u0, a / l11, out=w0)
            logdet = 2.0 * np.log(l11).sum()
        else:
            a, b, c = theta
            m00 = 1.0 + a * a * self.s00 + 2 * a * b * self.s01 + b * b * self.s11
            m01 = c * (a * self.s01 + b * self.s11)
            m11 = 1.0 + c * c * self.s11
            l11 = np.sqrt(m00)
            l21 = m01 / l11
            l22 = np.sqrt(m11 - l21 * l21)
            tmp = self.scratch
            np.multiply(self.u0, a / l11, out=w0)
            w0 += np.multiply(self.u1, b / l11, out=tmp)
            np.multiply(self.u1, c / l22, out=w1)
            w1 -= np.multiply(w0, l21 / l22, out=tmp)
            logdet = 2.0 * (np.log(l11).sum() + np.log(l22).sum())
        uvu = self.utu - w @ w.T
        p = self.p
        xvx, xvy, yvy = uvu[:p, :p], uvu[:p, p], uvu[p, p]
        chol = np.linalg.cholesky(xvx)
        beta = np.linalg.solve(xvx, xvy)
        r2 = max(yvy - beta @ xvy, 1e-300)
        if self.reml:
            dof = self.n - self.p
            dev = logdet + 2.0 * np.log(np.diag(chol)).sum() + dof * (1.0 + np.log(2 * np.pi * r2 / dof))
        else:
            dev = logdet + self.n * (1.0 + np.log(2 * np.pi * r2 / self.n))
        return float(dev), beta, r2, (np.linalg.inv(xvx) if with_inverse else None)

    def __call__(self, theta) -> float:
        key = np.asarray(theta, dtype=float).tobytes()
        if key not in self.memo:
            try:
                self.memo[key] = self.solve(theta)[0]
            except np.linalg.LinAlgError:
                self.memo[key] = np.inf
        return self.memo[key]


def _gradient_hessian(f, theta, free):
    """Central-difference gradient and Hessian of f at theta over the coordinates ``free``."""
    k = len(theta)
    h = 1e-4 * np.maximum(np.abs(theta), 1e-2)
    f0 = f(theta)
    grad, hess = np.zeros(k), np.zeros((k, k))
    for i in free:
        e = np.zeros(k)
        e[i] = h[i]
        fp, fm = f(theta + e), f(theta - e)
        grad[i] = (fp - fm) / (2 * h[i])
        hess[i, i] = (fp - 2 * f0 + fm) / h[i] ** 2
        for j in free:
            if j < i:
                d = np.zeros(k)
                d[j] = h[j]
                cross = f(theta + e + d) - f(theta + e - d) - f(theta - e + d) + f(theta - e - d)
                hess[i, j] = hess[j, i] = cross / (4 * h[i] * h[j])
    return grad[free], hess[np.ix_(free, free)]


def _check_and_polish(f, theta, lower, steps=3):
    """lme4's convergence test, |H^-1 g| < GRADIENT_TOLERANCE on the parameters not at a bound, after up
    to ``steps`` Newton steps that lower f (they tighten the optimum well below the optimiser's own
    tolerance). Returns (theta, ok, scaled gradient)."""
    lo = np.array([-np.inf if v is None else v for v in lower])

    def snap(theta):  # values near a bound go on it when that is no worse (a boundary optimum)
        for i in np.flatnonzero(theta - lo < SINGULAR_TOLERANCE):
            snapped = theta.copy()
            snapped[i] = lo[i]
            if f(snapped) <= f(theta) + 1e-12:
                theta = snapped
        return theta

    theta = snap(np.asarray(theta, dtype=float).copy())
    scaled = math.inf
    for step in range(steps + 1):
        free = [i for i in range(len(theta)) if theta[i] - lo[i] > 1e-6]
        if not free:
            return theta, True, 0.0
        g, hh = _gradient_hessian(f, theta, free)
        if not (np.all(np.isfinite(g)) and np.all(np.isfinite(hh))):
            return theta, False, math.inf
        try:
            newton = np.linalg.solve(hh, g)
        except np.linalg.LinAlgError:
            return theta, False, float(np.max(np.abs(g)))
        scaled = float(np.max(np.abs(newton)))
        positive = bool(np.all(np.linalg.eigvalsh(hh) > 0))
        if step == steps or not positive:
            break
        trial = theta.copy()
        trial[free] = np.maximum(theta[free] - newton, lo[free])
        if not f(trial) < f(theta):
            break
        theta = trial
    snapped = snap(theta)
    if not np.array_equal(snapped, theta):
        return _check_and_polish(f, snapped, lower, steps=0)
    return theta, scaled < GRADIENT_TOLERANCE, scaled


def _optimise(f, start, bounds):
    """Minimise f over theta: L-BFGS-B; if that fails the convergence check, Nelder-Mead then L-BFGS-B
    again from the better point. Returns (theta, converged, optimizer name, notes)."""
    with np.errstate(over="ignore", invalid="ignore"):  # a diverging search is reported, not warned about
        return _optimise_steps(f, start, bounds)


def _optimise_steps(f, start, bounds):
    lower = [lo for lo, _ in bounds]
    opts = {"ftol": 1e-12, "gtol": 1e-7, "maxiter": 2000}  # then Newton steps polish the optimum
    r1 = optimize.minimize(f, start, method="L-BFGS-B", bounds=bounds, options=opts)
    theta, ok, grad = _check_and_polish(f, r1.x, lower)
    if ok and np.isfinite(f(theta)):
        return theta, True, "L-BFGS-B", ()
    r2 = optimize.minimize(
        f,
        theta if np.isfinite(f(theta)) else start,
        method="Nelder-Mead",
        bounds=bounds,
        options={"xatol": 1e-8, "fatol": 1e-10, "maxiter": 5000, "maxfev": 5000},
    )
    r3 = optimize.minimize(f, r2.x, method="L-BFGS-B", bounds=bounds, options=opts)
    best = min((theta, r2.x, r3.x), key=f)
    theta2, ok2, grad2 = _check_and_polish(f, best, lower)
    note = (f"L-BFGS-B did not pass the convergence check (scaled gradient {grad:.2g}); refitted with Nelder-Mead.",)
    if ok2 and np.isfinite(f(theta2)):
        return theta2, True, "Nelder-Mead+L-BFGS-B", note
    return (
        theta2,
        False,
        "Nelder-Mead+L-BFGS-B",
        note
        + (
            f"The model did NOT converge (scaled gradient {grad2:.2g} > {GRADIENT_TOLERANCE}); do not use its estimates.",
        ),
    )


def fit_lmm(data: pd.DataFrame, formula: str, group: str, slope: str | None = None, reml: bool = True) -> LmmResult:
    """Linear mixed model with a random intercept (and a random slope on column ``slope``) per ``group``.

    Equal to ``lme4::lmer(formula + (1 + slope | group), REML = reml)``: fixed effects from the
    formula (formulaic; treatment contrasts, first level as reference, R's term names), correlated
    random intercept and slope, profiled (RE)ML deviance minimised over lme4's theta. Standard errors
    are ``sigma^2 (X' V^-1 X)^-1`` at the fitted theta, as ``vcov(lmer)``. Rows with a missing value in
    a used column are dropped (noted); rank-deficient fixed-effect columns are dropped (noted), as lme4.
    """
    import formulaic

    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    parsed = formulaic.Formula(formula)
    if not hasattr(parsed, "lhs"):
        raise ValueError(f"formula {formula!r} needs a response on the left, e.g. 'score ~ condition * (t1 + t2)'")
    variables = sorted(str(v) for v in parsed.required_variables)
    _require_columns(data, variables, "formula")
    _require_columns(data, [group], "group")
    if slope is not None:
        _require_columns(data, [slope], "slope")
    used = list(dict.fromkeys(variables + [group] + ([slope] if slope else [])))
    frame = data[used]
    complete = frame.notna().all(axis=1)
    notes = []
    if not complete.all():
        notes.append(f"{int((~complete).sum())} rows with a missing value in {', '.join(used)} were left out.")
        frame = frame[complete]
    if slope is not None and not pd.api.types.is_numeric_dtype(frame[slope]):
        raise TypeError(f"slope column {slope!r} must be numeric, got {frame[slope].dtype}")

    codes, n_groups = _group_codes(frame[group])
    mm = formulaic.model_matrix(parsed, frame, na_action="ignore")
    y = mm.lhs.to_numpy(dtype=float).ravel()
    xframe = mm.rhs
    names = [_r_name(c) for c in xframe.columns]
    x = xframe.to_numpy(dtype=float)
    n, q = len(y), 1 if slope is None else 2
    if n == 0:
        raise DataError("no complete rows to fit the mixed model")
    keep = _full_rank_columns(x)
    if len(keep) < x.shape[1]:
        dropped = [names[j] for j in range(x.shape[1]) if j not in keep]
        notes.append(
            f"fixed-effect model matrix is rank deficient: dropped {', '.join(dropped)} (no data to estimate it)."
        )
        x, names = x[:, keep], [names[j] for j in keep]
    p = x.shape[1]
    if n <= q * n_groups:
        raise DataError(
            f"too few observations for the random effects: {n} observations for {q * n_groups} random "
            f"effects ({n_groups} {group} x {q}); each {group} needs repeated measurements"
        )
    if n <= p:
        raise DataError(f"too few observations ({n}) for {p} fixed effects")

    # the optimiser works on a slope scaled to unit root-mean-square (theta of similar size); the model,
    # deviance and results are those of the unscaled slope: theta = (a, b / k, c / k)
    k = 1.0
    z_slope = None
    if slope is not None:
        z_slope = frame[slope].to_numpy(dtype=float)
        k = float(np.sqrt(np.mean(z_slope**2))) or 1.0
        z_slope = z_slope / k
    dev = _Deviance(x, y, z_slope, codes, n_groups, reml)
    start = np.array([1.0]) if q == 1 else np.array([1.0, 0.0, 1.0])
    bounds = [(0.0, None)] if q == 1 else [(0.0, None), (None, None), (0.0, None)]
    theta_scaled, converged, optimizer, opt_notes = _optimise(dev, start, bounds)
    notes += opt_notes
    deviance, beta, r2, xvx_inv = dev.solve(theta_scaled, with_inverse=True)
    theta = theta_scaled if q == 1 else theta_scaled / np.array([1.0, k, k])
    sigma2 = r2 / (n - p if reml else n)
    vcov = sigma2 * xvx_inv
    se = np.sqrt(np.diag(vcov))

    lam = np.array([[theta[0]]]) if q == 1 else np.array([[theta[0], 0.0], [theta[1], theta[2]]])
    re_names = ["(Intercept)"] + ([slope] if slope else [])
    cov_re = pd.DataFrame(sigma2 * lam @ lam.T, index=re_names, columns=re_names)
    singular = bool(theta[0] < SINGULAR_TOLERANCE or (q == 2 and theta[2] < SINGULAR_TOLERANCE))
    if singular:
        notes.append(
            "boundary (singular) fit: a random-effect variance or correlation is at its limit; the fixed "
            "effects stand, but the data do not support this random-effects structure."
        )
    fixed = pd.DataFrame({"term": names, "estimate": beta, "se": se, "t": beta / se})
    return LmmResult(
        fixed_effects=fixed,
        vcov=pd.DataFrame(vcov, index=names, columns=names),
        cov_re=cov_re,
        scale=float(sigma2),
        llf=-0.5 * deviance,
        theta=tuple(float(t) for t in theta),
        converged=converged,
        singular=singular,
        optimizer=optimizer,
        reml=reml,
        n_obs=n,
        n_groups=n_groups,
        formula=formula,
        notes=tuple(notes),
        design=xframe.model_spec,
    )


# ----------------------------------------------------------------------------------------------
# Trajectories of one instrument
# ----------------------------------------------------------------------------------------------
OBSERVED_COLUMNS = ["group", "visit", "day", "n", "mean", "sd", "lower", "upper"]
PREDICTED_COLUMNS = ["group", "day", "mean", "lower", "upper"]
LINE_COLUMNS = [PATIENT_ID, "group", DAY, SCORE, "pct_change"]
FIXED_COLUMNS = ["term", "estimate", "se"]
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

    @property
    def _threshold(self) -> int:
        return getattr(self.definitions, "suppression_threshold", config.SUPPRESSION_THRESHOLD)

    def _safe_observed(self, table: pd.DataFrame) -> pd.DataFrame:
        return privacy.suppress_table(
            table, counts=["n"], derived=["mean", "sd", "lower", "upper"], threshold=self._threshold
        )

    def _safe_predicted(self) -> pd.DataFrame:
        small = set(
            self.groups.loc[self.groups["patients"].map(lambda n: privacy.is_small(n, self._threshold)), "group"]
        )
        out = self.predicted.astype({c: object for c in ("mean", "lower", "upper")})
        out.loc[out["group"].isin(small), ["mean", "lower", "upper"]] = None
        return out

    def to_json(self) -> dict:
        """Plain, small-cell-suppressed output of the command line (DESIGN "Interfaces")."""
        m = self.model
        return {
            "instrument": self.instrument,
            "by": self.by,
            "fixed_effects": self.fixed_effects[FIXED_COLUMNS].to_dict("records"),
            "converged": bool(self.converged),
            "model": None
            if m is None
            else {
                "formula": self.model_formula,
                "reml": m.reml,
                "optimizer": m.optimizer,
                "singular": m.singular,
                "observations": m.n_obs,
                "patients": m.n_groups,
                "residual_sd": math.sqrt(m.scale),
                "random_effects_cov": m.cov_re.to_dict(),
                "loglik": m.llf,
            },
            "observed": self._safe_observed(self.observed).drop(columns="sd").to_dict("records"),
            "observed_pct_change": self._safe_observed(self.observed_pct).drop(columns="sd").to_dict("records"),
            "predicted": self._safe_predicted().to_dict("records"),
            "notes": list(self.notes),
            "definitions": _definitions_dict(self.definitions),
        }

    def to_text(self) -> str:
        """Human summary for the command line (small cells suppressed)."""
        lines = [f"{self.instrument} trajectories by {self.by}"]
        if self.model is None:
            lines.append("Mixed model: not fitted (see notes).")
        else:
            status = "converged" if self.converged else "DID NOT CONVERGE: estimates not usable"
            m = self.model
            lines.append(
                f"Mixed model (REML, {m.n_obs} scores of {m.n_groups} patients): {self.model_formula}; {status}"
            )
            fe = self.fixed_effects[FIXED_COLUMNS].to_string(index=False, float_format=lambda v: f"{v:.4f}")
            lines += ["", "Fixed effects:", fe]
        obs = self._safe_observed(self.observed).drop(columns="sd")
        lines += [
            "",
            "Observed mean score by visit (95% CI):",
            obs.to_string(index=False, float_format=lambda v: f"{v:.1f}") if not obs.empty else "(none)",
        ]
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
    return pd.DataFrame(rows, columns=["visit", "day", "first", "last"])


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
                c: pd.Series(dtype="str" if c in ("group", "visit") else "int64" if c in ("day", "n") else "float64")
                for c in OBSERVED_COLUMNS
            }
        )
    agg = pd.Series(values, dtype="float64").groupby(cells, sort=True).agg(["count", "mean", "std"])
    group, visit = np.divmod(agg.index.to_numpy(), len(windows))
    stats_ = pd.DataFrame(
        {
            "group": pd.Series(np.asarray(groups, dtype=object)[group], dtype="str"),
            "visit": pd.Series(windows["visit"].to_numpy()[visit], dtype="str"),
            "day": windows["day"].to_numpy()[visit].astype("int64"),
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
    return (
        by if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", by) and by not in {"t1", "t2", "score", "patient_id"} else "group"
    )


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
    time after induction; knot = the card's induction_end_day (14). The random slope is on t1: patients
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
    knot = int(defs.induction_end_day)
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
    lines["group"] = pd.Series(np.asarray(order, dtype=object)[row_group[rows]], dtype="str")
    base = pd.Series(base_values[run[rows]])
    lines["pct_change"] = ((base - lines[SCORE]) / base).where(base > 0)
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
        model_group, model_day, values[in_range], patient[in_range], by, order, knot, patients, b0
    )
    notes += model_notes
    groups = pd.DataFrame(
        {"group": order, "patients": [int(patients[g]) for g in order], "in_model": [g in in_model for g in order]}
    )
    empty_fixed = pd.DataFrame({c: pd.Series(dtype=float if c != "term" else str) for c in FIXED_COLUMNS})
    fixed = model.fixed_effects[FIXED_COLUMNS] if model is not None else empty_fixed
    converged = bool(model is not None and model.converged)
    last_day = pd.Series(model_day).groupby(model_group).max()  # each group's last day with a score in the range
    last_day.index = [order[i] for i in last_day.index]
    predicted = (
        _predicted(model, by, in_model, knot, last_day) if converged else pd.DataFrame(columns=PREDICTED_COLUMNS)
    )
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
    )


def _model(
    group: np.ndarray,
    day: np.ndarray,
    score: np.ndarray,
    patient: np.ndarray,
    by: str,
    order: list,
    knot: int,
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
            "t1": np.clip(day, 0, knot).to_numpy(),
            "t2": np.maximum(day - knot, 0).to_numpy(),
            SCORE: score[keep],
        }
    )
    varies = {c: frame[c].min() < frame[c].max() for c in (SCORE, "t1", "t2")}  # (no missing values here)
    if not varies[SCORE]:
        return None, "", notes + ["The mixed model was not fitted: every score is the same."], in_model
    time_terms = [t for t in ("t1", "t2") if varies[t]]
    if "t2" not in time_terms:
        notes.append(f"no scores after day {knot} (the end of induction): the model has no post-induction slope.")
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


def _predicted(model: LmmResult, by: str, groups: list, knot: int, last_day: pd.Series) -> pd.DataFrame:
    """Model mean per group on a grid of days (every day to the knot, then every 7 days, and the group's
    last day with a score: no curve beyond a group's data), with a 95% normal band."""
    name = _safe_name(by)
    out = []
    for g in groups:
        if g not in last_day.index:  # no score from the baseline window to TRAJECTORY_MAX_DAY: nothing to draw
            continue
        last = int(min(max(last_day[g], 0), config.TRAJECTORY_MAX_DAY))
        grid = np.unique(np.r_[np.arange(0, min(knot, last) + 1), np.arange(knot, last + 1, 7), last]).astype(float)
        new = pd.DataFrame(
            {
                name: pd.Categorical([g] * len(grid), categories=groups),
                "t1": np.minimum(grid, knot),
                "t2": np.maximum(grid - knot, 0),
            }
        )
        pred = model.predict_fixed(new)
        out.append(
            pd.DataFrame(
                {
                    "group": g,
                    "day": grid,
                    "mean": pred["fit"],
                    "lower": pred["fit"] - Z95 * pred["se"],
                    "upper": pred["fit"] + Z95 * pred["se"],
                }
            )
        )
    return pd.concat(out, ignore_index=True)[PREDICTED_COLUMNS]
