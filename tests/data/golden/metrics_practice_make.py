"""Make the clinic-shaped input of the metrics golden test (run from the repository root):

    PYTHONPATH=. .venv/bin/python tests/data/golden/metrics_practice_make.py

A seeded synthetic practice (analysis.simulate, 150 patients, seed 11) plus awkward twins added here, then
written to metrics_practice_assessments.csv and metrics_practice_treatments.csv. metrics_practice.R computes
the expected numbers from those two files with its own implementation of the definitions.
"""

from pathlib import Path

import pandas as pd

from analysis.simulate import simulate

HERE = Path(__file__).parent

p = simulate(patients=150, seed=11)
a, t = p.assessments.copy(), p.treatments.copy()
phq = a[a.instrument == "PHQ9"]
first, second, third = phq.patient_id.unique()[:3]
# two PHQ-9 scores on one day (the same-day rule: their mean), on the first patient's response-window day
day = phq[(phq.patient_id == first) & phq.day.between(14, 31)].day.min()
extra = a[(a.patient_id == first) & (a.instrument == "PHQ9") & (a.day == day)].assign(score=27)
# a PHQ-9 baseline of 0 (not evaluable); a patient without a condition
a.loc[(a.patient_id == second) & (a.instrument == "PHQ9") & (a.day == 0), "score"] = 0
a.loc[a.patient_id == third, "condition"] = pd.NA
a = pd.concat([a, extra], ignore_index=True)
# a patient only in the treatments file, a session without a day, an exactly duplicated row
t = pd.concat(
    [
        t,
        pd.DataFrame(
            {
                "patient_id": ["PX001", first],
                "day": [0, pd.NA],
                "kind": ["induction", "booster"],
                "route": ["IV", "IV"],
                "dose_mg_per_kg": [0.5, 0.5],
            }
        ),
        t.iloc[[0]],
    ],
    ignore_index=True,
)
a.to_csv(HERE / "metrics_practice_assessments.csv", index=False)
t.to_csv(HERE / "metrics_practice_treatments.csv", index=False)
print(len(a), "assessment rows,", len(t), "treatment rows")
