"""Exports the importer has never seen (tests/data/unseen/, made by make_unseen.py), each with its expected outcome.

Every case runs through the real command line (`python -m analysis validate --json FILES`, one subprocess per
case) and must end as expected.json says: usable (exit 0) or refused (exit 1), scores kept, patients,
instruments, the issue codes and rows that must be reported and, for a refusal, the words the office manager
reads; never a traceback. Cases with exact rows are also loaded in-process (load_files) to compare the
canonical rows, patient attributes and treatments value by value.

A case that fails because of an importer bug is marked xfail(strict=True) with the bug in its reason (the
"xfail" key of expected.json): when the importer is fixed the test turns XPASS and fails, so that the marker is
removed (in make_unseen.py) together with the fix."""

import json
import math
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis import schema as S
from analysis.ingest import load_files

ROOT = Path(__file__).resolve().parents[1]
UNSEEN = ROOT / "tests" / "data" / "unseen"
CASES = json.loads((UNSEEN / "expected.json").read_text(encoding="utf-8"))
ROW_CASES = [c for c in CASES if c["rows"] is not None or c["attributes"] is not None or c["treatments"] is not None]


def case_id(case):
    return "+".join(case["files"]) + ("[" + " ".join(case["args"]) + "]" if case["args"] else "")


def params(cases, which):
    return [
        pytest.param(
            c,
            id=case_id(c),
            marks=[pytest.mark.xfail(strict=True, reason=c["xfail"][which])] if which in c["xfail"] else [],
        )
        for c in cases
    ]


def overrides(case):
    args = case["args"]
    return dict(args[i + 1].split("=", 1) for i, a in enumerate(args) if a == "--map")


def test_the_unseen_set_has_at_least_25_new_files_none_of_them_in_the_old_corpus():
    files = [f for case in CASES for f in case["files"]]
    old = {p.name for p in (ROOT / "tests" / "data" / "bad").iterdir()}
    assert len(set(files)) == len(files) >= 25
    assert all((UNSEEN / f).is_file() for f in files)
    assert not set(files) & old


def test_the_unseen_set_has_usable_and_refused_cases_and_every_case_says_why():
    assert {case["ok"] for case in CASES} == {True, False}
    assert all(len(case["why"]) > 40 for case in CASES)


def test_the_files_on_disk_are_what_make_unseen_writes():
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_unseen", UNSEEN / "make_unseen.py")
    make_unseen = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_unseen)
    cases = make_unseen.cases()
    for case in cases:
        for name, data in zip(case["files"], case["data"]):
            assert (UNSEEN / name).read_bytes() == data, name
    assert [{k: v for k, v in c.items() if k != "data"} for c in cases] == CASES


def one_issue_says(issues, words, severity=None):
    return any(
        all(w in i["message"] for w in words) and (severity is None or i["severity"] == severity) for i in issues
    )


@pytest.mark.parametrize("case", params(CASES, "cli"))
def test_each_unseen_export_ends_as_the_design_says_through_the_command_line(case):
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "analysis",
            "validate",
            "--json",
            *[str(UNSEEN / f) for f in case["files"]],
            *case["args"],
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == (0 if case["ok"] else 1), done.stdout + done.stderr
    report = json.loads(done.stdout)
    issues = report["issues"]
    codes = {i["code"] for i in issues}
    summary = [(i["severity"], i["code"], i["rows"], i["message"]) for i in issues]
    assert report["ok"] is case["ok"], summary
    assert (report["rows_kept"], report["patients"]) == (case["rows_kept"], case["patients"]), summary
    assert report["instruments"] == case["instruments"]
    assert set(case["codes"]) <= codes, summary
    if case["codes_any"]:
        assert set(case["codes_any"]) & codes, summary
    for code, rows in case["issue_rows"].items():
        listed = sorted({r for i in issues if i["code"] == code for r in i["rows"]})
        assert listed == rows, (code, summary)
    if case["words"]:
        assert one_issue_says(issues, case["words"], None if case["ok"] else "error"), summary
    mapped = {(m["source"], m["how"]) for m in report.get("mapping", [])}
    for column in case["unused"]:
        assert (column, "unused") in mapped and all(how == "unused" for source, how in mapped if source == column), (
            column,
            mapped,
        )
    if case["no_warnings"]:
        assert not [s for s in summary if s[0] != "info"], summary
    assert all(i["message"] for i in issues)
    if case["ok"]:
        assert not [s for s in summary if s[0] == "error"], summary
    else:
        assert any(i["severity"] == "error" for i in issues)
        assert report["patients"] == 0 and report["instruments"] == []


def value(v):
    if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
        return None
    return v.item() if hasattr(v, "item") else v


@pytest.mark.parametrize("case", params(ROW_CASES, "rows"))
def test_each_usable_unseen_export_is_loaded_with_exactly_the_right_rows(case):
    loaded = load_files([UNSEEN / f for f in case["files"]], overrides=overrides(case))
    a = loaded.assessments
    assert loaded.ok, loaded.issues.to_dict("records")
    if case["rows"] is not None:
        got = sorted(
            [str(p), str(i), float(s), int(d)]
            for p, i, s, d in a[[S.PATIENT_ID, S.INSTRUMENT, S.SCORE, S.DAY]].itertuples(index=False)
        )
        want = sorted([p, i, float(s), int(d)] for p, i, s, d in case["rows"])
        assert got == want
    for patient, attributes in (case["attributes"] or {}).items():
        rows = a[a[S.PATIENT_ID] == patient]
        assert len(rows), f"patient {patient!r} not found among {sorted(a[S.PATIENT_ID].unique())}"
        for column, expected in attributes.items():
            assert {value(v) for v in rows[column]} == {expected}, (patient, column)
    if case["treatments"] is not None:
        t = loaded.treatments
        assert t is not None, "the treatments file was not recognised"
        got = sorted(
            ([value(v) for v in r] for r in t[list(S.TREATMENT_COLUMNS)].itertuples(index=False)),
            key=lambda r: (r[0], r[1]),
        )
        assert got == sorted(case["treatments"], key=lambda r: (r[0], r[1]))


# ids as exports write them: digits with leading zeros, exponents, dots, dashes, surrounding spaces
ID_TEXT = st.text(alphabet="0123456789eEP.-", min_size=1, max_size=8).filter(lambda s: any(ch.isalnum() for ch in s))


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(
    ids=st.lists(
        st.tuples(ID_TEXT, st.sampled_from(["", " ", "  ", "\u00a0"]), st.sampled_from(["", " "])),
        min_size=1,
        max_size=6,
    )
)
def test_a_patient_key_comes_back_as_the_text_written_without_its_padding(ids):
    body = "".join(f"{pad_left}{key}{pad_right},PHQ-9,{n},0\n" for n, (key, pad_left, pad_right) in enumerate(ids))
    data = ("Patient ID,Measure,Score,Day\n" + body).encode("utf-8")
    loaded = load_files([("ids.csv", data)])
    assert loaded.ok, loaded.issues.to_dict("records")
    assert sorted(loaded.assessments[S.PATIENT_ID].unique()) == sorted({key for key, _, _ in ids})
