"""Benchmark: import of a 1,000,000-row assessments file beside pandas.read_csv(engine="pyarrow").

Usage: .venv/bin/python bench/bench_ingest.py [--rows 1000000] [--repeats 15] [--dates] [--general]
       [--default-allocator]
       .venv/bin/python bench/bench_ingest.py --sample [--patients 100000] [--repeats 15]

Writes a realistic EHR export (vendor column names, instrument and condition spellings, patient
attributes constant per patient, one score per patient, instrument and visit) into a temporary directory,
then times, in the same run and alternating, ``pandas.read_csv(path, engine="pyarrow")`` and
``analysis.ingest.load_files([path])``, and prints rows/s for both, the best-of ratio and the budget (2.0),
then the same as one row to paste into the results table of bench/README.md.
``--dates`` writes visit dates (``Date Administered``, ISO) instead of day numbers; ``--general`` times the
import with its fast path switched off (``analysis.ingest.columnar.ENABLED = False``).
``--sample`` times instead the dashboard's own practice (``simulate.write_sample``, 100,000 patients: an
assessments file of ~1.26M rows, canonical column names, rows by patient then day with the instruments of a
day interleaved, and a treatments file): ``load_files`` of both files beside read_csv of both.
The process's malloc is set as the dashboard and the command line set theirs (``analysis.memory``: freed memory
kept for reuse); ``--default-allocator`` leaves it as glibc has it.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis import memory, simulate  # noqa: E402
from analysis import schema as S  # noqa: E402
from analysis.ingest import columnar, columns, load_files, read  # noqa: E402


def parse_only(path: Path) -> None:
    """The reading part of load_files alone: bytes (memory-mapped), sniffing, encoding, delimiter, pyarrow parse
    and the dictionary encoding of every text column (the fast path, as load_files takes it)."""
    reader = read.open_file(read.source_bytes(path)[1])
    t = columns.map_columns(path.name, reader.names, {}).target
    dates = {t[d] for d in columns.DATE_TARGETS if d in t}
    numeric = {t[c] for c in (S.SCORE, S.DAY, columns.AGE, S.DOSE) if c in t}
    reader.read(numeric, (lambda f, n: columnar.arrow_rows(f, n, dates)) if columnar.ENABLED else None)


TARGET = 2.0
VISIT_DAYS = np.array([-3, 0, 2, 4, 7, 9, 11, 14, 21, 28, 42, 56, 70, 84, 112, 140, 168, 196, 224, 252])


def write_file(path: Path, rows: int, dates: bool, seed: int = 20261121) -> None:
    rng = np.random.default_rng(seed)
    instruments = np.array(["PHQ-9", "GAD-7", "PCL-5"])
    per_patient = len(instruments) * len(VISIT_DAYS)
    patients = -(-rows // per_patient)
    pid = np.repeat(np.arange(patients), per_patient)[:rows]
    ins = np.tile(np.repeat(np.arange(len(instruments)), len(VISIT_DAYS)), patients)[:rows]
    day = np.tile(VISIT_DAYS, patients * len(instruments))[:rows]
    top = np.array([27, 21, 80])[ins]
    score = np.clip(np.round(top * (0.7 - 0.3 * np.minimum(day, 28) / 28) + rng.normal(0, 3, rows)), 0, top).astype(int)
    conditions = np.array(["Major Depressive Disorder", "PTSD", "Chronic Pain", "Generalized Anxiety Disorder"])
    sites = np.array(["Main St Clinic", "Northside", "Lakeview"])
    ages = rng.integers(18, 95, patients)
    sexes = np.array(["F", "M"])
    routes = np.array(["IV", "IM", "Intranasal"])
    p_cond, p_site, p_sex, p_route = (rng.integers(0, len(a), patients) for a in (conditions, sites, sexes, routes))
    table = pd.DataFrame(
        {
            "Patient ID": pd.Series(pid).map(lambda i: f"P-{i:06d}"),
            "Measure": instruments[ins],
            "Total Score": score,
        }
    )
    if dates:
        start = np.datetime64("2023-01-01") + rng.integers(0, 700, patients).astype("timedelta64[D]")
        table["Date Administered"] = (start[pid] + (day - VISIT_DAYS[0]).astype("timedelta64[D]")).astype(str)
    else:
        table["Day"] = day
    table["Diagnosis"] = conditions[p_cond][pid]
    table["Clinic Location"] = sites[p_site][pid]
    table["Age"] = ages[pid]
    table["Sex"] = sexes[p_sex][pid]
    table["Route"] = routes[p_route][pid]
    table.to_csv(path, index=False)


def best_time(func, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        func()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--dates", action="store_true", help="visit dates instead of day numbers")
    ap.add_argument("--sample", action="store_true", help="the simulated practice's two files (simulate.write_sample)")
    ap.add_argument("--patients", type=int, default=100_000, help="patients of --sample")
    ap.add_argument(
        "--default-allocator",
        action="store_true",
        help="leave glibc's malloc as it is (the dashboard and the command line set it to keep freed memory)",
    )
    ap.add_argument("--general", action="store_true", help="the fast path switched off (columnar.ENABLED = False)")
    args = ap.parse_args()
    columnar.ENABLED = not args.general
    tuned = not args.default_allocator and memory.reuse_freed_memory()
    with tempfile.TemporaryDirectory() as tmp:
        if args.sample:
            paths = simulate.write_sample(tmp, patients=args.patients)
            label = f"sample {args.patients:,} patients, both files"
        else:
            paths = [Path(tmp) / "assessments.csv"]
            write_file(paths[0], args.rows, args.dates)
            label = ("dates" if args.dates else "days") + (", general path" if args.general else "")
        size = sum(f.stat().st_size for f in paths) / 1e6
        loaded = load_files(paths)  # also warms caches (imports, registry)
        rows = len(loaded.assessments)
        assert loaded.ok and (args.sample or rows == args.rows), loaded.to_text()
        load_before = os.getloadavg()[0]  # (other work on the machine: compare rows of like load only)
        base, ours, parse = [], [], []
        for _ in range(args.repeats):  # alternate, so that load on the machine hits both alike
            base.append(best_time(lambda: [pd.read_csv(f, engine="pyarrow") for f in paths], 1))
            ours.append(best_time(lambda: load_files(paths), 1))
            parse.append(best_time(lambda: [parse_only(f) for f in paths], 1))
        b, o, p = min(base), min(ours), min(parse)
        load = sorted((load_before, os.getloadavg()[0]))
        print(
            f"file: {rows:,} assessment rows, {size:.1f} MB ({label}), best of {args.repeats}; malloc "
            f"{'keeps freed memory (analysis.memory, as the dashboard and the command line set it)' if tuned else 'as it is'}"
        )
        print(f"pandas.read_csv(engine='pyarrow'): {b:.3f} s  {rows / b:,.0f} rows/s")
        print(f"analysis.ingest.load_files:        {o:.3f} s  {rows / o:,.0f} rows/s")
        print(
            f"  of which reading (bytes, sniffing, pyarrow parse, dictionary encoding): {p:.3f} s ({p / b:.2f} x read_csv); "
            "the rest is mapping, normalisation, PHI guard, checks and output"
        )
        print(
            f"ratio load_files / read_csv: {o / b:.2f} (budget <= {TARGET}); load average {load[0]:.1f}-{load[1]:.1f}"
        )
        # one row for the results table of bench/README.md, ready to paste
        print(
            f"README row: | {time.strftime('%Y-%m-%d')} | {label} | {rows:,} | "
            f"{rows / b:,.0f} | {rows / o:,.0f} | {p / b:.2f} | {o / b:.2f} | best of {args.repeats}; "
            f"{'' if tuned else 'malloc as it is; '}"
            f"load {load[0]:.1f}-{load[1]:.1f} |"
        )


if __name__ == "__main__":
    main()
