"""The linear mixed model, equal to ``lme4::lmer`` on the same data: :func:`fit_lmm`.

``fit_lmm`` fits ``y = X beta + Z b + e`` with one random intercept (and optionally one random slope)
per group, ``b ~ N(0, sigma^2 Lambda Lambda')``, ``e ~ N(0, sigma^2 I)``, by (RE)ML. As in lme4, beta
and sigma^2 are profiled out and the deviance is minimised over ``theta``, the lower-triangular factor
``Lambda`` (``[L11, L21, L22]``, diagonal >= 0). Each evaluation uses per-group sufficient statistics
(Z'Z, Z'X, Z'y, each 1x1 or 2x2 per group) and a 1x1 or 2x2 Cholesky per group, so a fit costs a few
passes over the data plus O(groups x p^2) per evaluation. The trajectories of an instrument
(``analysis.trajectory``) are its main user; ``from analysis.trajectory import fit_lmm`` also works.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize

from analysis.arrays import group_sums, run_numbers, run_starts
from analysis.errors import DataError

__all__ = ["LmmResult", "fit_lmm"]

#: the optimiser's convergence check (as lme4's check.conv.grad: |H^-1 g| below this, on the deviance)
GRADIENT_TOLERANCE = 2e-3
#: Newton steps polish the optimum until a step (|H^-1 g|, in theta) is below this, well inside the check
POLISH_TOLERANCE = 1e-6
#: at most this many Newton steps per polish
POLISH_STEPS = 30
#: a diagonal element of theta below this is a boundary (singular) fit, as lme4::isSingular
SINGULAR_TOLERANCE = 1e-4


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
    #: lme4's convergence measure at the returned theta, max |H^-1 g| (0 when every parameter is on a bound):
    #: below GRADIENT_TOLERANCE for a converged fit, and below POLISH_TOLERANCE when the optimum is exact
    scaled_gradient: float = math.nan
    #: each group's conditional modes (lme4's ``ranef``), groups x (intercept[, slope]), groups in the sorted
    #: order of their values
    random_effects: np.ndarray | None = field(default=None, repr=False, compare=False)

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


def _full_rank_columns(xt: np.ndarray, tol: float = 1e-7) -> list[int]:
    """Indices of the columns of X (the rows of ``xt`` = X') kept when each column whose part not explained by
    the columns kept before it is below ``tol`` of its length is dropped, left to right (lme4's rank check,
    tolerance 1e-7)."""
    xtx = xt @ xt.T
    keep: list[int] = []
    for j in range(xt.shape[0]):
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

    With an intercept column, y and the other columns of X are centred first (an exact reparametrisation,
    X = Xc A with A unit triangular, undone on beta and (X'V^-1X)^-1): U'U - W'W then loses far fewer digits
    to cancellation (on Oxboys' heights, the deviance is exact to ~1e-11 instead of ~1e-9), which the Newton
    polish of the optimum needs.
    """

    def __init__(self, ut, z_slope, codes, n_groups, reml):
        """``ut``: U' = [X | y]', one row per column of X and y last (long rows: fast elementwise work); it is
        centred in place."""
        self.p, self.n = ut.shape[0] - 1, ut.shape[1]
        self.q = 1 if z_slope is None else 2
        self.reml = reml
        self._centre(ut)
        self.utu = ut @ ut.T
        self.s00 = np.bincount(codes, minlength=n_groups).astype(float)
        self.u0 = group_sums(codes, n_groups, ut)  # (Z0'U)' per group (Z0 = 1): (p+1) x groups
        if self.q == 2:
            s = z_slope
            self.s01 = np.bincount(codes, weights=s, minlength=n_groups)
            self.s11 = np.bincount(codes, weights=s * s, minlength=n_groups)
            self.u1 = np.vstack([np.bincount(codes, weights=row * s, minlength=n_groups) for row in ut])  # (Z1'U)'
        self.w = np.empty((self.p + 1, self.q * n_groups))  # W' = [W_0' | W_1'], the groups' rows side by side
        self.scratch = np.empty((self.p + 1, n_groups))
        self.memo: dict[bytes, float] = {}

    def _centre(self, ut):
        """The rows of X and y centred in place on an intercept row (if any); sets ``back`` (beta = back @ beta_c
        + shift)."""
        p = self.p
        self.back, self.shift = np.eye(p), np.zeros(p)
        ones = [j for j in range(p) if np.all(ut[j] == 1.0)] if self.n else []
        if not ones:
            return
        j = ones[0]
        m = ut[:p].mean(axis=1)
        m[j] = 0.0
        c = float(ut[p].mean())
        self.back[j] -= m  # A^-1 = I - e_j m'
        self.shift[j] = c
        ut[:p] -= m[:, None]
        ut[p] -= c

    def conditional_modes(self, lam: np.ndarray, beta) -> np.ndarray:
        """Each group's conditional modes at ``lam`` (Lambda, on this object's slope) and ``beta``, as lme4's
        ``ranef``: b_i = Lambda u_i, u_i = (Lambda' Z_i'Z_i Lambda + I)^-1 Lambda' Z_i'r_i with r = y - X beta;
        groups x q, from the per-group sums (Z_i'r_i = Z_i'U_i [-beta_c, 1], the centred rows giving the same
        residuals)."""
        q, g = self.q, len(self.s00)
        coef = np.r_[-np.linalg.solve(self.back, beta - self.shift), 1.0]
        ztz, ztr = np.empty((g, q, q)), np.empty((g, q))
        ztz[:, 0, 0], ztr[:, 0] = self.s00, coef @ self.u0
        if q == 2:
            ztz[:, 0, 1] = ztz[:, 1, 0] = self.s01
            ztz[:, 1, 1], ztr[:, 1] = self.s11, coef @ self.u1
        m = lam.T @ ztz @ lam + np.eye(q)
        u = np.linalg.solve(m, (ztr @ lam)[..., None])[..., 0]
        return u @ lam.T

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
        beta_c = np.linalg.solve(xvx, xvy)
        r2 = max(yvy - beta_c @ xvy, 1e-300)
        beta = self.back @ beta_c + self.shift
        if self.reml:
            dof = self.n - self.p
            dev = logdet + 2.0 * np.log(np.diag(chol)).sum() + dof * (1.0 + np.log(2 * np.pi * r2 / dof))
        else:
            dev = logdet + self.n * (1.0 + np.log(2 * np.pi * r2 / self.n))
        inverse = self.back @ np.linalg.inv(xvx) @ self.back.T if with_inverse else None
        return float(dev), beta, r2, inverse

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


def _newton_step(f, theta, lo):
    """The Newton step H^-1 g of f at theta over the coordinates not on their lower bound ``lo``: (free
    coordinates, step, whether H is positive definite); the step is None when g or H is not finite or H is
    singular, and empty when every coordinate is on its bound."""
    free = [i for i in range(len(theta)) if theta[i] - lo[i] > 1e-6]
    if not free:
        return free, np.zeros(0), True
    g, hh = _gradient_hessian(f, theta, free)
    if not (np.all(np.isfinite(g)) and np.all(np.isfinite(hh))):
        return free, None, False
    try:
        step = np.linalg.solve(hh, g)
    except np.linalg.LinAlgError:
        return free, None, False
    return free, step, bool(np.all(np.linalg.eigvalsh(hh) > 0))


def _scaled_gradient(f, theta, lower) -> float:
    """lme4's convergence measure at theta: max |H^-1 g| over the parameters not at a bound (inf if it
    cannot be computed, 0 when all are at a bound)."""
    lo = np.array([-np.inf if v is None else v for v in lower])
    _, step, _ = _newton_step(f, np.asarray(theta, dtype=float), lo)
    return math.inf if step is None else float(np.max(np.abs(step), initial=0.0))


def _check_and_polish(f, theta, lower, steps=POLISH_STEPS):
    """lme4's convergence test, |H^-1 g| < GRADIENT_TOLERANCE on the parameters not at a bound, after
    Newton steps that lower f until a step is below POLISH_TOLERANCE (at most ``steps``; a step that does
    not lower f is halved, up to 10 times). Where the deviance is flat an optimiser can stop ~1e-3 short of
    the optimum in theta; the polish takes it to ~1e-7. Returns (theta, ok, scaled gradient at the returned
    theta)."""
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
        free, newton, positive = _newton_step(f, theta, lo)
        if newton is None:
            return theta, False, math.inf
        scaled = float(np.max(np.abs(newton), initial=0.0))
        if not free:
            return theta, True, 0.0
        if scaled < POLISH_TOLERANCE or step == steps or not positive:
            break
        for _ in range(10):
            trial = theta.copy()
            trial[free] = np.maximum(theta[free] - newton, lo[free])
            if f(trial) < f(theta):
                break
            newton = newton / 2
        else:
            break  # no step lowers f any more: f is flat to rounding here
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
    if ok and grad > POLISH_TOLERANCE:  # polished, but not to the end: refit from the polished point
        r = optimize.minimize(f, theta, method="L-BFGS-B", bounds=bounds, options=opts)
        refit, ok_r, grad_r = _check_and_polish(f, r.x, lower)
        if ok_r and f(refit) <= f(theta):
            theta, grad = refit, grad_r
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


def _report_convergence(dev, theta, bounds, converged, notes) -> tuple[float, bool]:
    """lme4's convergence measure, computed afresh at the theta returned (not taken from the optimiser's
    path), and whether the fit counts as converged: only when the optimiser says so and the measure is below
    GRADIENT_TOLERANCE. A converged fit whose optimum is located less tightly than POLISH_TOLERANCE gets a
    note saying how tightly (its estimates are then good to about that much in theta)."""
    with np.errstate(over="ignore", invalid="ignore"):
        scaled = _scaled_gradient(dev, theta, [lo for lo, _ in bounds])
    if converged and not scaled < GRADIENT_TOLERANCE:
        notes.append(
            f"The model did NOT converge (scaled gradient {scaled:.2g} > {GRADIENT_TOLERANCE} at the estimates); "
            "do not use its estimates."
        )
        return scaled, False
    if converged and scaled > POLISH_TOLERANCE:
        notes.append(
            f"The optimum is located to {scaled:.1g} in the variance parameters (lme4's check: below "
            f"{GRADIENT_TOLERANCE}); the estimates are good to about that much."
        )
    return scaled, converged


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
    xframe = mm.rhs
    names = [_r_name(c) for c in xframe.columns]
    n, q = len(xframe), 1 if slope is None else 2
    if n == 0:
        raise DataError("no complete rows to fit the mixed model")
    # U' = [X | y]': one row per column of X (R's order), y last
    ut = np.empty((xframe.shape[1] + 1, n))
    for j, column in enumerate(xframe.columns):
        ut[j] = xframe[column].to_numpy(dtype=float)
    ut[-1] = mm.lhs.to_numpy(dtype=float).ravel()
    keep = _full_rank_columns(ut[:-1])
    if len(keep) < len(names):
        dropped = [names[j] for j in range(len(names)) if j not in keep]
        notes.append(
            f"fixed-effect model matrix is rank deficient: dropped {', '.join(dropped)} (no data to estimate it)."
        )
        ut, names = ut[[*keep, len(names)]], [names[j] for j in keep]
    p = len(names)
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
    dev = _Deviance(ut, z_slope, codes, n_groups, reml)
    start = np.array([1.0]) if q == 1 else np.array([1.0, 0.0, 1.0])
    bounds = [(0.0, None)] if q == 1 else [(0.0, None), (None, None), (0.0, None)]
    theta_scaled, converged, optimizer, opt_notes = _optimise(dev, start, bounds)
    notes += opt_notes
    scaled_gradient, converged = _report_convergence(dev, theta_scaled, bounds, converged, notes)
    deviance, beta, r2, xvx_inv = dev.solve(theta_scaled, with_inverse=True)
    theta = theta_scaled if q == 1 else theta_scaled / np.array([1.0, k, k])
    sigma2 = r2 / (n - p if reml else n)
    vcov = sigma2 * xvx_inv
    se = np.sqrt(np.diag(vcov))

    lam = _lambda(theta)
    re_names = ["(Intercept)"] + ([slope] if slope else [])
    cov_re = pd.DataFrame(sigma2 * lam @ lam.T, index=re_names, columns=re_names)
    singular = bool(theta[0] < SINGULAR_TOLERANCE or (q == 2 and theta[2] < SINGULAR_TOLERANCE))
    if singular:
        notes.append(
            "boundary (singular) fit: a random-effect variance or correlation is at its limit; the fixed "
            "effects stand, but the data do not support this random-effects structure."
        )
    fixed = pd.DataFrame({"term": names, "estimate": beta, "se": se, "t": beta / se})
    modes = dev.conditional_modes(_lambda(theta_scaled), beta) / np.array([1.0, k][:q])  # (slope back to its units)
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
        scaled_gradient=scaled_gradient,
        random_effects=modes,
    )


def _lambda(theta) -> np.ndarray:
    """Lambda, the lower-triangular relative covariance factor, from theta ([L11] or [L11, L21, L22])."""
    return np.array([[theta[0]]]) if len(theta) == 1 else np.array([[theta[0], 0.0], [theta[1], theta[2]]])
