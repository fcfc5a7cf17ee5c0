"""Benchmark: the project's statistics engines against R and statsmodels, on the same data, in one run.

For synthetic practices of 1,000, 10,000 and 100,000 patients (analysis.simulate, seeded) it fits what the
dashboard fits:
- Cox proportional hazards (Efron ties) on the PHQ-9 durability episodes, covariates condition, age band, sex,
  site and baseline severity band (R: survival::coxph; statsmodels: PHReg(ties="efron"));
- Kaplan-Meier and log-rank by condition on the same episodes (R: survfit, survdiff);
- the trajectory mixed model on every PHQ-9 score, score ~ condition * (t1 + t2) + (1 + t1 | patient), REML
  (R: lme4::lmer; statsmodels: MixedLM).
Each engine is timed as the best of a few repetitions of the fit alone (data already in memory, in R and in
Python alike), its peak memory measured (tracemalloc in Python, gc() in R), and its estimates compared with R's.
R and its packages are installed from Debian when absent (the benchmark says so).

    .venv/bin/python bench/bench_models.py                  # 1,000 / 10,000 / 100,000 patients -> BENCHMARKS.md
    .venv/bin/python bench/bench_models.py --sizes 1000     # a quick run
"""

from __future__ import annotations

import argparse
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import statsmodels.api as sm  # noqa: E402
import statsmodels.formula.api as smf  # noqa: E402
from statsmodels.duration.survfunc import survdiff  # noqa: E402

from analysis import survival, trajectory  # noqa: E402
from analysis.config import INDUCTION_END_DAY  # noqa: E402
from analysis.outcomes import Definitions  # noqa: E402
from analysis.response_episodes import episodes  # noqa: E402
from analysis.simulate import simulate  # noqa: E402

COX_COVARIATES = ["condition", "age_band", "sex", "site", "baseline_band"]
LMM_FORMULA = "score ~ condition * (t1 + t2)"
R_PACKAGES = ["r-base-core", "r-cran-survival", "r-cran-lme4"]


def ensure_r() -> str:
    """Rscript with survival and lme4; installs them from Debian when absent, and says so."""
    ok = (
        shutil.which("Rscript")
        and subprocess.run(["Rscript", "-e", "library(survival); library(lme4)"], capture_output=True).returncode == 0
    )
    if not ok:
        print(f"R with survival and lme4 not found: installing {' '.join(R_PACKAGES)} from Debian ...", flush=True)
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", *R_PACKAGES], check=True, capture_output=True)
    out = subprocess.run(
        [
            "Rscript",
            "-e",
            'cat(R.version.string, "survival", as.character(packageVersion("survival")), '
            '"lme4", as.character(packageVersion("lme4")))',
        ],
        capture_output=True,
        text=True,
    )
    return out.stdout.strip()


def best_of(reps: int, fn):
    """(best seconds, peak MB, result) of fn() over reps runs after one untimed warm-up run (as R's times
    exclude loading its packages); memory from one extra traced run."""
    fn()
    best, result = float("inf"), None
    for _ in range(reps):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return best, peak, result


def model_data(patients: int, seed: int) -> tuple[dict[str, tuple[pd.DataFrame, list[str]]], pd.DataFrame]:
    """Survival data sets {name: (frame, covariates)} and the mixed-model frame for a simulated practice:
    - "episodes": the PHQ-9 durability episodes (one row per responder with follow-up), as the Durability page;
    - "patients": one row per patient, time to the first booster (censored at the last score or treatment),
      a practice metric whose size grows with the practice itself."""
    practice = simulate(patients=patients, seed=seed)
    a, t = practice.assessments, practice.treatments
    ep = episodes(a, t, "PHQ9", Definitions())
    surv = {"episodes": (ep[["time", "event", *COX_COVARIATES]].dropna().reset_index(drop=True), COX_COVARIATES)}
    attrs = ["condition", "age_band", "sex", "site"]
    people = a.groupby("patient_id")[attrs].first()
    last = pd.concat([a[["patient_id", "day"]], t[["patient_id", "day"]]]).groupby("patient_id")["day"].max()
    first_booster = t[t["kind"] == "booster"].groupby("patient_id")["day"].min()
    people["event"] = people.index.isin(first_booster.index).astype(int)
    people["time"] = first_booster.reindex(people.index).fillna(last.reindex(people.index)).clip(lower=0).astype(float)
    surv["patients"] = (people[["time", "event", *attrs]].dropna().reset_index(drop=True), attrs)
    lm = a[(a["instrument"] == "PHQ9") & a["day"].between(-30, 182)][["patient_id", "condition", "day", "score"]].copy()
    day = lm["day"].astype(float)
    lm["t1"] = np.clip(day, 0, INDUCTION_END_DAY)  # as analysis.trajectory codes it
    lm["t2"] = np.maximum(day - INDUCTION_END_DAY, 0.0)
    return surv, lm.drop(columns="day").reset_index(drop=True)


def r_term(covariate: str, level) -> str:
    return covariate if level is None or pd.isna(level) else f"{covariate}{level}"


def _lmm_key(term: str) -> str:
    return ":".join(sorted(term.replace(" ", "").split(":")))


def max_rel_diff(ours: pd.Series, theirs: pd.Series) -> float:
    both = pd.concat([ours.rename("a"), theirs.rename("b")], axis=1)
    if both.isna().any().any():
        missing = both.index[both.isna().any(axis=1)].tolist()
        raise AssertionError(f"terms not in both fits: {missing}")
    return float((both["a"] - both["b"]).abs().div(both["b"].abs()).max())


def run_size(patients: int, seed: int, reps: int, sm_cox_max: int, sm_lmm_max: int, workdir: Path) -> list[dict]:
    surv, lmm_df = model_data(patients, seed)
    d = workdir / str(patients)
    d.mkdir(parents=True, exist_ok=True)
    for name, (frame, _) in surv.items():
        frame.to_csv(d / f"{name}.csv", index=False)
    lmm_df.to_csv(d / "lmm.csv", index=False)
    r = subprocess.run(["Rscript", str(ROOT / "bench" / "models.R"), str(d), str(reps)], capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"R failed:\n{r.stderr}")
    r_times = pd.read_csv(d / "r_times.csv").set_index("model")
    r_est = pd.read_csv(d / "r_estimates.csv")

    rows = []
    n_pat_lmm = lmm_df["patient_id"].nunique()
    for name, (df, covariates) in surv.items():
        label = {"episodes": "durability episodes", "patients": "time to first booster"}[name]

        def row(model, t, mem, statsmodels, diff):
            return dict(
                patients=patients,
                model=f"{model}, {label}",
                rows=len(df),
                ours=t,
                r=r_times.loc[f"{name}:{model_key[model]}", "seconds"],
                statsmodels=statsmodels,
                diff=diff,
                mem=mem,
                r_mem=r_times.loc[f"{name}:{model_key[model]}", "peak_mb"],
            )

        model_key = {"Cox PH (Efron)": "cox", "Kaplan-Meier": "kaplan_meier", "log-rank": "logrank"}
        t, mem, fit = best_of(reps, lambda: survival.cox(df, "time", "event", covariates))
        ours = fit.params.assign(key=[r_term(c, lv) for c, lv in zip(fit.params["covariate"], fit.params["level"])])
        theirs = r_est[r_est["model"] == f"{name}:cox"].set_index("term")["estimate"]
        diff = max_rel_diff(ours.set_index("key")["coef"], theirs)
        sm_t = None
        if len(df) <= sm_cox_max:
            exog = pd.get_dummies(df[covariates], drop_first=True, dtype=float)
            sm_t = best_of(1, lambda: sm.PHReg(df["time"], exog, status=df["event"], ties="efron").fit())[0]
        rows.append(row("Cox PH (Efron)", t, mem, sm_t, diff))

        t, mem, km = best_of(reps, lambda: survival.kaplan_meier(df["time"], df["event"], df["condition"]))
        theirs = r_est[r_est["model"] == f"{name}:kaplan_meier"].assign(
            group=lambda x: x["term"].str.replace("median:", "")
        )
        a_, b_ = km.medians.set_index("group")["median"].astype(float).align(theirs.set_index("group")["estimate"])
        both = (a_ - b_).abs().where(~(a_.isna() & b_.isna()), 0.0).fillna(np.inf)  # both "not reached": equal
        sm_t = best_of(reps, lambda: [sm.SurvfuncRight(g["time"], g["event"]) for _, g in df.groupby("condition")])[0]
        rows.append(row("Kaplan-Meier", t, mem, sm_t, float(both.max())))

        t, mem, lr = best_of(reps, lambda: survival.logrank(df["time"], df["event"], df["condition"]))
        r_chi2 = float(r_est.loc[r_est["model"] == f"{name}:logrank", "estimate"].iloc[0])
        sm_t = best_of(reps, lambda: survdiff(df["time"], df["event"], df["condition"]))[0]
        rows.append(row("log-rank", t, mem, sm_t, abs(lr.chi2 - r_chi2) / r_chi2))

    # Mixed model
    t, mem, fit = best_of(reps, lambda: trajectory.fit_lmm(lmm_df, LMM_FORMULA, "patient_id", slope="t1", reml=True))
    if not fit.converged:
        raise AssertionError(f"fit_lmm did not converge at {patients} patients: {fit.notes}")
    ours = fit.fixed_effects.assign(key=lambda x: x["term"].map(_lmm_key)).set_index("key")["estimate"]
    theirs = r_est[r_est["model"] == "lmm"].assign(key=lambda x: x["term"].map(_lmm_key)).set_index("key")["estimate"]
    diff = max_rel_diff(ours, theirs)
    sm_t = None
    if n_pat_lmm <= sm_lmm_max:
        model = smf.mixedlm(LMM_FORMULA, lmm_df, groups=lmm_df["patient_id"], re_formula="~t1")
        sm_t, _, _ = best_of(1, lambda: model.fit(reml=True, method="lbfgs"))
    rows.append(
        dict(
            patients=patients,
            model="mixed model (REML)",
            rows=len(lmm_df),
            ours=t,
            r=r_times.loc["lmm", "seconds"],
            statsmodels=sm_t,
            diff=diff,
            mem=mem,
            r_mem=r_times.loc["lmm", "peak_mb"],
        )
    )
    return rows


def fmt_s(x) -> str:
    return "not run" if x is None or pd.isna(x) else f"{x:.3f}"


def markdown(rows: list[dict], header: str, notes: list[str]) -> str:
    lines = [
        header,
        "",
        "| patients | model | rows | project (s) | R (s) | statsmodels (s) | project / R | statsmodels / project "
        "| largest relative difference from R | project peak MB | R peak MB |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        sm_ratio = "" if r["statsmodels"] is None else f"{r['statsmodels'] / r['ours']:.1f}x"
        lines.append(
            f"| {r['patients']:,} | {r['model']} | {r['rows']:,} | {fmt_s(r['ours'])} | {fmt_s(r['r'])} | "
            f"{fmt_s(r['statsmodels'])} | {r['ours'] / r['r']:.2f} | {sm_ratio} | {r['diff']:.1e} | "
            f"{r['mem']:.0f} | {r['r_mem']:.0f} |"
        )
    return "\n".join(lines + [""] + [f"- {n}" for n in notes]) + "\n"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--statsmodels-cox-max", type=int, default=200_000, help="largest Cox data set given to statsmodels")
    p.add_argument("--statsmodels-lmm-max", type=int, default=10_000, help="most patients given to statsmodels MixedLM")
    p.add_argument("--out", default=str(ROOT / "BENCHMARKS.md"))
    args = p.parse_args(argv)

    r_version = ensure_r()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            print(f"-- {n:,} patients", flush=True)
            for row in run_size(n, args.seed, args.reps, args.statsmodels_cox_max, args.statsmodels_lmm_max, Path(tmp)):
                rows.append(row)
                print(
                    f"{row['model']:<20} rows {row['rows']:>9,}  project {row['ours']:.4f} s  R {row['r']:.4f} s  "
                    f"ratio {row['ours'] / row['r']:.2f}  statsmodels {fmt_s(row['statsmodels'])} s  "
                    f"max rel diff {row['diff']:.1e}  peak {row['mem']:.0f} MB (R {row['r_mem']:.0f} MB)",
                    flush=True,
                )
    header = (
        f"# Benchmarks\n\nOne run of `python bench/bench_models.py` on {platform.node() or 'this machine'} "
        f"({platform.processor() or platform.machine()}, {__import__('os').cpu_count()} cores), "
        f"{time.strftime('%Y-%m-%d')}. Python {platform.python_version()}, numpy {np.__version__}, "
        f"{r_version}."
    )
    notes = [
        "Times are the best of the repetitions of the fit alone, data already in memory, in both languages; "
        "R's time is `system.time()` inside one R process.",
        "Survival models on two data sets: the PHQ-9 durability episodes (one row per responder with follow-up; "
        "Cox covariates condition, age band, sex, site, baseline band), as the Durability page fits them, and time "
        "to the first booster for every patient (censored at the last score or treatment; covariates condition, "
        'age band, sex, site). R: `coxph(..., ties = "efron")`, `survfit`, `survdiff`; statsmodels: '
        '`PHReg(ties="efron")`, `SurvfuncRight` per group (no confidence limits or medians table), `survdiff`.',
        "Mixed model: `lmer(score ~ condition * (t1 + t2) + (1 + t1 | patient_id), REML = TRUE)` on every PHQ-9 "
        f"score from day -30 to 182, t1 = min(max(day, 0), {INDUCTION_END_DAY}), t2 = max(day - {INDUCTION_END_DAY}, 0).",
        "Largest relative difference: over Cox coefficients, mixed-model fixed effects, the log-rank chi-square; "
        "for Kaplan-Meier the largest absolute difference of the median by condition (days).",
        f"statsmodels MixedLM is run up to {args.statsmodels_lmm_max:,} patients (above that it takes many minutes).",
    ]
    text = markdown(rows, header, notes)
    Path(args.out).write_text(text)
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
