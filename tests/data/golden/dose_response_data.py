"""Writes the inputs of the dose-and-frequency golden tests (tests/test_dose_response.py) from the sample practice
as it was when they were made (never edit the CSVs by hand):

    .venv/bin/python tests/data/golden/dose_response_data.py   # -> dose_response_{assessments,treatments}.csv,
                                                                #    dose_response_outcomes.csv, _episodes.csv
    Rscript tests/data/golden/dose_response.R                   # -> dose_response_r_*.csv

dose_response_assessments.csv / _treatments.csv: the sample practice's PHQ-9 scores and its sessions (the columns
the dose, the density and the first infusion need), frozen so that a new sample does not move the golden numbers.
dose_response_outcomes.csv: per patient with PHQ-9 scores, evaluable and response (analysis.outcomes, golden-tested
on its own); dose_response_episodes.csv: the durability episodes (time, event) of the responders. The R script
computes dose band, density and the first infusion's rise and dissociation from the raw sessions by itself.
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
sys.path.insert(0, str(ROOT))

from analysis.ingest import load_files  # noqa: E402
from analysis.outcomes import patient_outcomes  # noqa: E402
from analysis.response_episodes import episodes_with_notes  # noqa: E402

TREATMENT_COLUMNS = ["patient_id", "day", "kind", "route", "dose_mg_per_kg", "dose_mg", "sbp_pre", "dbp_pre",
                     "sbp_peak", "dbp_peak", "cadss", "cadss6"]  # fmt: skip


def main() -> None:
    import pandas as pd

    a = pd.read_csv(ROOT / "sample_data" / "assessments.csv")
    a = a[a["instrument"] == "PHQ9"][["patient_id", "instrument", "score", "day", "condition", "site"]]
    t = pd.read_csv(ROOT / "sample_data" / "treatments.csv")[TREATMENT_COLUMNS]
    a.to_csv(HERE / "dose_response_assessments.csv", index=False)
    t.to_csv(HERE / "dose_response_treatments.csv", index=False)
    loaded = load_files([HERE / "dose_response_assessments.csv", HERE / "dose_response_treatments.csv"])
    o = patient_outcomes(loaded.assessments, "PHQ9")
    out = o[["patient_id", "evaluable", "response"]].copy()
    out["evaluable"] = out["evaluable"].astype(bool).astype(int)
    out["response"] = out["response"].astype("boolean").fillna(False).astype(int)
    out.to_csv(HERE / "dose_response_outcomes.csv", index=False)
    ep, _ = episodes_with_notes(loaded.assessments, loaded.treatments, "PHQ9")
    ep[["patient_id", "time", "event"]].astype({"event": int}).to_csv(HERE / "dose_response_episodes.csv", index=False)


if __name__ == "__main__":
    main()
