"""Benchmark: the dashboard's analysis calls on a 100,000-patient practice (issue 6).

Target: ``metrics.summary_and_kpis`` (the Overview's one call) in at most 0.35 s at 100,000 patients.

The practice is written by ``analysis.simulate.write_sample`` into a temporary folder (100,000 patients:
1.26 million score rows, 443,000 treatment rows) and loaded with ``analysis.ingest.load_files``, as the
dashboard does. Each call is then timed, best of ``--repeats``, wall and process CPU time, alternating with a
baseline run in the same process: one pandas pass over the same rows (``groupby(patient_id).size()`` of the
assessments), so that a busy machine shows as a slower baseline and the ratio stays comparable between runs.

    .venv/bin/python bench/bench_analysis.py                      # 100,000 patients, best of 5
    .venv/bin/python bench/bench_analysis.py --patients 20000 --repeats 3
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET = 0.35  # seconds, summary_and_kpis at 100,000 patients


def calls(a, t):
    """(label, function) of the analysis calls of the Overview and Durability pages, default inputs."""
    from analysis import durability, metrics, outcomes, response_episodes
    from analysis.outcomes import Definitions

    d = Definitions()
    return [
        ("metrics.summary_and_kpis", lambda: metrics.summary_and_kpis(a, t, d, instrument="PHQ9")),
        ("metrics.summary_and_kpis, no treatments", lambda: metrics.summary_and_kpis(a, None, d, instrument="PHQ9")),
        ("durability.analyse by condition", lambda: durability.analyse(a, t, "PHQ9", by="condition", definitions=d)),
        ("outcomes.patient_outcomes", lambda: outcomes.patient_outcomes(a, "PHQ9", d)),
        ("response_episodes.episodes", lambda: response_episodes.episodes(a, t, "PHQ9", d)),
    ]


def timed(func) -> tuple[float, float]:
    """(wall, CPU) seconds of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    func()
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()

    from analysis import memory, simulate
    from analysis.ingest import load_files

    memory.reuse_freed_memory()  # (as the dashboard's server process sets it)

    with tempfile.TemporaryDirectory() as tmp:
        paths = simulate.write_sample(tmp, patients=args.patients)
        loaded = load_files(paths)
    a, t = loaded.assessments, loaded.treatments
    baseline = lambda: a.groupby("patient_id", sort=False).size()  # noqa: E731 (one pandas pass over the rows)
    print(f"{args.patients:,} patients: {len(a):,} score rows, {len(t):,} treatment rows; best of {args.repeats}")
    print(f"{'call':42s} {'wall s':>7s} {'cpu s':>7s} {'baseline s':>10s} {'ratio':>6s}")
    for label, func in calls(a, t):
        runs, base = [], []
        for _ in range(args.repeats):
            base.append(timed(baseline)[0])
            runs.append(timed(func))
        wall, cpu, ref = min(r[0] for r in runs), min(r[1] for r in runs), min(base)
        note = ""
        if label == "metrics.summary_and_kpis" and args.patients == 100_000:
            note = "  (target <= {:.2f} s: {})".format(TARGET, "met" if wall <= TARGET else "NOT met")
        print(f"{label:42s} {wall:7.3f} {cpu:7.3f} {ref:10.3f} {wall / ref:6.1f}{note}")


if __name__ == "__main__":
    main()
