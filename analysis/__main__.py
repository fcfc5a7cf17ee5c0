"""The command line: ``python -m analysis COMMAND FILES ... [--json]``.

Exit codes: 0 usable (warnings allowed), 1 not usable (bad data: a clear message, never a
traceback), 2 wrong usage. See DESIGN "Interfaces".
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.schema import CONDITION


class UsageError(Exception):
    """Wrong usage of the command line (exit 2)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse exits 2 with usage; keep that, without its own traceback paths
        self.print_usage(sys.stderr)
        print(f"{self.prog}: error: {message}", file=sys.stderr)
        raise SystemExit(2)


def jsonable(obj):
    """Plain JSON types: NaN/inf and pandas NA become null, numpy scalars become Python numbers."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, pd.DataFrame):
        return [jsonable(r) for r in obj.to_dict("records")]
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (np.floating, float)):
        return None if not math.isfinite(float(obj)) else float(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    if obj is None or obj is pd.NA or obj is pd.NaT:
        return None
    if isinstance(obj, (str, int, bool)):
        return obj
    try:
        if pd.isna(obj):
            return None
    except (TypeError, ValueError):
        pass
    return str(obj)


def phrase_fix(fix: dict) -> str:
    """An issue's fix ({"column": source, "targets": [...]}) in the command line's terms: --map 'SOURCE=TARGET'."""
    return "Fix: " + " or ".join(f"--map '{fix['column']}={target}'" for target in fix["targets"]) + "."


def _emit(result, as_json: bool) -> None:
    if as_json:
        print(json.dumps(jsonable(result.to_json()), indent=2))
    elif hasattr(result, "issues") and hasattr(result, "mapping"):  # (the import's report: its fixes as --map)
        print(result.to_text(phrase_fix))
    else:
        print(result.to_text())


def _overrides(pairs: list[str] | None) -> dict[str, str]:
    out = {}
    for p in pairs or []:
        if "=" not in p:
            raise UsageError(f"--map takes SOURCE=TARGET (e.g. --map 'Pt Key=patient_id'), got {p!r}")
        source, target = p.split("=", 1)
        out[source.strip()] = target.strip()
    return out


def _roles(pairs: list[str] | None) -> dict[str, str]:
    """--role FILE=ROLE (assessments, treatments, vitals) as the import's role overrides (issue 16)."""
    from analysis.ingest.roles import ROLE_KEY, ROLES

    out = {}
    for p in pairs or []:
        file, _, role = p.partition("=")
        if not role or role.strip() not in ROLES:
            raise UsageError(
                f"--role takes FILE=ROLE with ROLE one of {', '.join(ROLES)} (e.g. --role visits.csv=treatments), got {p!r}"
            )
        out[ROLE_KEY + Path(file.strip()).name] = role.strip()
    return out


def _check_files(paths: list[str]) -> None:
    for p in paths:
        if not Path(p).is_file():
            raise UsageError(f"file not found: {p}")


def _load(args):
    from analysis.ingest import load_files

    _check_files(args.files)
    overrides = {**_overrides(args.map), **_roles(getattr(args, "role", None))}
    loaded = load_files(args.files, overrides=overrides, strict_dates=args.strict_dates)
    return loaded


def _definitions(args):
    from analysis.outcomes import Definitions, load_card

    d = load_card(args.definitions) if args.definitions else Definitions()
    if getattr(args, "boosters", None):
        d = d.replace(booster_handling=args.boosters)
    return _sharing_floor(d, args)


def _sharing_floor(d, args):
    """The card with the command line's threshold rule applied (analysis.access.cli_threshold): output may be
    redirected and shared, so it never shows counts under 11 unless --not-for-sharing (never for the PDF)."""
    from analysis.access import cli_threshold

    requested, private = getattr(args, "threshold", None), getattr(args, "not_for_sharing", False)
    if private and args.command == "report":
        raise UsageError("--not-for-sharing does not apply to the PDF report: it leaves the practice (never under 11)")
    if requested is not None and requested < 0:
        raise UsageError("--threshold must be 0 or more")
    from analysis.errors import DataError

    try:
        threshold, note = cli_threshold(d.suppression_threshold, requested, private)
    except DataError as e:
        raise UsageError(str(e)) from None
    if note:
        print(f"python -m analysis {args.command}: {note}", file=sys.stderr)
    return d.replace(suppression_threshold=threshold)


def _refuse(loaded, as_json: bool) -> int:
    _emit(loaded, as_json)
    return 1


def cmd_validate(args) -> int:
    loaded = _load(args)
    _emit(loaded, args.json)
    return 0 if loaded.ok else 1


def cmd_summary(args) -> int:
    from analysis.metrics import summary

    loaded = _load(args)
    if not loaded.ok:
        return _refuse(loaded, args.json)
    _emit(summary(loaded.assessments, loaded.treatments, _definitions(args)), args.json)
    return 0


def cmd_durability(args) -> int:
    from analysis.durability import analyse

    loaded = _load(args)
    if not loaded.ok:
        return _refuse(loaded, args.json)
    by = None if args.by.strip().lower() == "none" else args.by  # --by none: everyone together (one group, 'all')
    _emit(
        analyse(loaded.assessments, loaded.treatments, args.instrument, by=by, definitions=_definitions(args)),
        args.json,
    )
    return 0


def cmd_trajectories(args) -> int:
    from analysis.trajectory import trajectories

    loaded = _load(args)
    if not loaded.ok:
        return _refuse(loaded, args.json)
    _emit(trajectories(loaded.assessments, args.instrument, by=args.by, definitions=_definitions(args)), args.json)
    return 0


def cmd_safety(args) -> int:
    from analysis.safety import analyse

    loaded = _load(args)
    if not loaded.ok:
        return _refuse(loaded, args.json)
    _emit(analyse(loaded.assessments, loaded.treatments, by=args.by, definitions=_definitions(args)), args.json)
    return 0


def cmd_dose(args) -> int:
    from analysis.dose_response import analyse

    loaded = _load(args)
    if not loaded.ok:
        return _refuse(loaded, args.json)
    result = analyse(loaded.assessments, loaded.treatments, args.instrument, definitions=_definitions(args))
    _emit(result, args.json)
    return 0


def cmd_report(args) -> int:
    from analysis.report import write_report

    loaded = _load(args)
    if not loaded.ok:
        return _refuse(loaded, args.json)
    path = write_report(loaded, args.out, definitions=_definitions(args))
    print(json.dumps({"ok": True, "out": str(path)}) if args.json else f"report written to {path}")
    return 0


def cmd_measures(args) -> int:
    from analysis.errors import DataError
    from analysis.measures import check_month, quality_measures

    for value, option in ((args.from_, "--from"), (args.to, "--to")):
        try:
            check_month(value, option)
        except DataError as e:
            raise UsageError(str(e)) from None
    loaded = _load(args)
    if not loaded.ok:
        return _refuse(loaded, args.json)
    result = quality_measures(
        loaded.assessments, loaded.treatments, _definitions(args), period_from=args.from_, period_to=args.to
    )
    if args.json:
        print(json.dumps(jsonable(result.to_json(patients=args.patients)), indent=2))
    else:
        print(result.to_text(patients=args.patients))
    return 0


def cmd_sample(args) -> int:
    from analysis.simulate import write_sample, write_vendor_export

    if args.patients < 1:
        raise UsageError("--patients must be at least 1")
    if args.seed < 0:
        raise UsageError("--seed must be 0 or more")
    paths = write_sample(args.out, patients=args.patients, seed=args.seed)
    if args.vendor_export:
        paths.append(write_vendor_export(args.out, patients=args.patients, seed=args.seed))
    if args.exports:  # (issue 16: the practice as an Excel workbook, FHIR and item by item)
        from analysis.simulate import write_exports

        paths += write_exports(Path(args.out) / "exports", patients=args.patients, seed=args.seed)
    print(
        json.dumps({"ok": True, "files": [str(p) for p in paths]})
        if args.json
        else "\n".join(f"wrote {p}" for p in paths)
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m analysis", description="Outcomes of a ketamine / interventional-psychiatry practice.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def data_command(name, func, help_, definitions=True):
        c = sub.add_parser(name, help=help_)
        c.add_argument("files", nargs="+", help="CSV files: assessments, and optionally treatments")
        c.add_argument("--json", action="store_true", help="machine-readable output")
        c.add_argument("--map", action="append", metavar="SOURCE=TARGET", help="map a column by hand (repeatable)")
        c.add_argument("--role", action="append", metavar="FILE=ROLE", help="a file's role by hand (repeatable)")
        c.add_argument("--strict-dates", action="store_true", help="keep only the start year, not the month")
        if definitions:
            c.add_argument("--definitions", metavar="CARD", help="a definition card (JSON or YAML)")
            c.add_argument(
                "--threshold",
                type=int,
                metavar="N",
                help="small-cell threshold (overrides the card's); under 11 only with --not-for-sharing",
            )
            c.add_argument(
                "--not-for-sharing",
                action="store_true",
                help="allow a threshold under 11 (from --threshold or the card): output that stays in the practice",
            )
        c.set_defaults(func=func)
        return c

    data_command("validate", cmd_validate, "check files and print the validation report", definitions=False)
    data_command("summary", cmd_summary, "practice metrics, response and remission")
    d = data_command(
        "durability", cmd_durability, "durability of response (Kaplan-Meier, restricted mean, log-rank, Cox)"
    )
    d.add_argument("--instrument", required=True)
    d.add_argument(
        "--by",
        default=CONDITION,
        help="group column (default: condition); 'none' for everyone together (one group, 'all', as the "
        "Durability page's headline tiles)",
    )
    d.add_argument("--boosters", choices=("ignore", "censor", "event"), help="booster handling (overrides the card)")
    t = data_command("trajectories", cmd_trajectories, "symptom trajectories (observed means, mixed model)")
    t.add_argument("--instrument", required=True)
    t.add_argument("--by", default=CONDITION, help="group column (default: condition)")
    sf = data_command("safety", cmd_safety, "session safety: flags, rates per 100 sessions and per patient, item 9")
    sf.add_argument(
        "--by",
        choices=("site", "start_month", "route", "dose_band", "infusion_number"),
        help="one grouping of the rates besides overall (default: all of them)",
    )
    dr = data_command(
        "dose", cmd_dose, "dose and frequency: response and durability by dose band and induction density"
    )
    dr.add_argument("--instrument", default="PHQ9", help="the instrument of response (default: PHQ9)")
    r = data_command("report", cmd_report, "the printable PDF report")
    r.add_argument("--out", required=True, metavar="PATH.pdf")

    m = data_command("measures", cmd_measures, "quality measures (MIPS 370/411, NQF 1884/1885, HEDIS DRR-E)")
    m.add_argument("--from", dest="from_", metavar="YYYY-MM", help="first index month of the reporting period")
    m.add_argument("--to", metavar="YYYY-MM", help="last index month of the reporting period")
    m.add_argument("--patients", action="store_true", help="also the per-patient dispositions (for clinicians)")

    s = sub.add_parser("sample", help="write a realistic synthetic practice")
    s.add_argument("--patients", type=int, default=600)
    s.add_argument("--seed", type=int, default=20261121)
    s.add_argument("--out", default="sample_data")
    s.add_argument(
        "--vendor-export",
        action="store_true",
        help="also write vendor_export.csv: the first 60 patients as a messy EHR export",
    )
    s.add_argument(
        "--exports",
        action="store_true",
        help="also write exports/: the practice as an Excel workbook, a FHIR Bundle and bulk NDJSON, item by item",
    )
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_sample)
    return p


def main(argv: list[str] | None = None) -> int:
    from analysis.errors import DataError

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except UsageError as e:
        print(f"python -m analysis {args.command}: error: {e}", file=sys.stderr)
        return 2
    except KeyError as e:  # an unknown instrument or column named on the command line
        print(f"python -m analysis {args.command}: error: {e.args[0] if e.args else e}", file=sys.stderr)
        return 2
    except DataError as e:
        print(f"python -m analysis {args.command}: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    from analysis import memory

    memory.reuse_freed_memory()  # (a program's setting: see analysis/memory.py)
    sys.exit(main())
