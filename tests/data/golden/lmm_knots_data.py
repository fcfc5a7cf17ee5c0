"""Writes the data of the two-knot trajectory golden test (seeded; never edit the CSV by hand).

    .venv/bin/python tests/data/golden/lmm_knots_data.py     # -> tests/data/golden/lmm_knots.csv
    Rscript tests/data/golden/lmm_knots.R                      # -> lmm_knots_*.csv

lmm_knots.csv: a ketamine practice as lmm_clinic.csv (depression 60, anxiety 30, ptsd 25 patients, a PHQ-9-like
score 0-27 at baseline, infusions 2-6 and follow-ups at weeks 3 to 24 with misses and dropout), but with the
course clinicians see: a steep drop over induction (to day 14), a return of symptoms over the next six weeks
(to day 56) and a plateau after it. One knot at day 14 draws the return as a straight line to week 24 and
overshoots the late observed means; knots at days 14 and 56 follow them.
Columns: patient_id, condition, day, score.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
KNOTS = (14, 56)
VISITS = [2, 4, 7, 9, 11, 21, 28, 42, 56, 84, 112, 140, 168]
# condition: (patients, baseline mean, slope per day to day 14, from 14 to 56, after 56)
CONDITIONS = {
    "depression": (60, 18.0, -0.60, 0.080, 0.000),
    "anxiety": (30, 15.0, -0.45, 0.060, 0.005),
    "ptsd": (25, 19.0, -0.40, 0.090, -0.005),
}


def knots_data(seed: int, sd_intercept=4.0, sd_slope=0.25, sd_resid=2.5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    pid = 0
    k1, k2 = KNOTS
    for cond, (n, base, s1, s2, s3) in CONDITIONS.items():
        for _ in range(n):
            pid += 1
            b0 = rng.normal(0, sd_intercept)
            b1 = rng.normal(0, sd_slope)
            days = [int(rng.integers(-14, 1))]
            last = VISITS[int(rng.integers(6, len(VISITS)))]  # dropout, after week 4
            for v in VISITS:
                if v <= last and rng.random() > 0.15:
                    d = v + int(rng.integers(-1, 2)) if v < k1 else v + int(rng.integers(-3, 4))
                    if d not in days:  # one score a day (the dashboard merges same-day scores)
                        days.append(d)
            for d in days:
                t1 = min(max(d, 0), k1)
                t2 = min(max(d - k1, 0), k2 - k1)
                t3 = max(d - k2, 0)
                mu = base + b0 + (s1 + b1) * t1 + s2 * t2 + s3 * t3
                score = int(np.clip(np.rint(mu + rng.normal(0, sd_resid)), 0, 27))
                rows.append((f"P{pid:04d}", cond, d, score))
    return pd.DataFrame(rows, columns=["patient_id", "condition", "day", "score"])


def main() -> None:
    knots_data(20261207).to_csv(HERE / "lmm_knots.csv", index=False)


if __name__ == "__main__":
    main()
