"""Writes the clinic-shaped data of the mixed-model golden tests (seeded; never edit the CSVs by hand).

    .venv/bin/python tests/data/golden/lmm_clinic_data.py     # -> tests/data/golden/lmm_clinic.csv, lmm_singular.csv
    Rscript tests/data/golden/lmm_clinic.R                      # -> lmm_clinic_*.csv, lmm_singular_*.csv

lmm_clinic.csv: a ketamine practice, 4 conditions (depression 60, anxiety 30, ptsd 25, chronic_pain 15
patients), a PHQ-9-like score (integers 0-27) at baseline (day -14..0), infusions 2-6 (days 2, 4, 7, 9, 11,
+-1), and follow-ups at weeks 3, 4, 6, 8, 12, 16, 20, 24 with random misses and dropout; a steep drop over
induction (knot day 14) and a slow return after it, a random intercept and induction slope per patient.
lmm_singular.csv: 12 patients, no slope variance at all: lme4 reports a boundary (singular) fit.
Columns: patient_id, condition, day, t1 = min(max(day, 0), 14), t2 = max(day - 14, 0), score.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
KNOT = 14
VISITS = [2, 4, 7, 9, 11, 21, 28, 42, 56, 84, 112, 140, 168]
# condition: (patients, baseline mean, induction slope per day, slope per day after the knot)
CONDITIONS = {
    "depression": (60, 18.0, -0.55, 0.020),
    "anxiety": (30, 15.0, -0.40, 0.015),
    "ptsd": (25, 19.0, -0.35, 0.030),
    "chronic_pain": (15, 14.0, -0.25, 0.010),
}


def clinic(seed: int, conditions=CONDITIONS, sd_intercept=4.0, sd_slope=0.25, sd_resid=2.5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    pid = 0
    for cond, (n, base, s1, s2) in conditions.items():
        for _ in range(n):
            pid += 1
            b0 = rng.normal(0, sd_intercept)
            b1 = rng.normal(0, sd_slope) if sd_slope > 0 else 0.0
            days = [int(rng.integers(-14, 1))]
            last = VISITS[int(rng.integers(3, len(VISITS)))]  # dropout
            for v in VISITS:
                if v <= last and rng.random() > 0.15:
                    d = v + int(rng.integers(-1, 2)) if v < KNOT else v + int(rng.integers(-3, 4))
                    if d not in days:  # one score a day (the dashboard merges same-day scores)
                        days.append(d)
            for d in days:
                t1 = min(max(d, 0), KNOT)
                t2 = max(d - KNOT, 0)
                mu = base + b0 + (s1 + b1) * t1 + s2 * t2
                score = int(np.clip(np.rint(mu + rng.normal(0, sd_resid)), 0, 27))
                rows.append((f"P{pid:04d}", cond, d, t1, t2, score))
    return pd.DataFrame(rows, columns=["patient_id", "condition", "day", "t1", "t2", "score"])


def main() -> None:
    clinic(20261123).to_csv(HERE / "lmm_clinic.csv", index=False)
    small = {"depression": (6, 18.0, -0.5, 0.02), "anxiety": (6, 15.0, -0.4, 0.02)}
    clinic(1, small, sd_slope=0.0, sd_intercept=3.0).to_csv(HERE / "lmm_singular.csv", index=False)


if __name__ == "__main__":
    main()
