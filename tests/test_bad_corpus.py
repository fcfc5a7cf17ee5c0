"""The hostile-input corpus (tests/data/bad/, made by make_corpus.py) through the command line.

Each case must end as expected.json says: usable (exit 0) or refused (exit 1), the number of scores kept,
the issue codes that must appear, and never a traceback.

One subprocess runs every case as `python -m analysis validate --json FILES` does (runpy, as `-m` itself,
with sys.argv set, stdout and stderr captured, an escaping exception printed as its traceback): starting
45 Pythons would take most of a minute on a busy machine. test_cli_validate.py starts the real command."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BAD = ROOT / "tests" / "data" / "bad"
CASES = json.loads((BAD / "expected.json").read_text())


def case_id(case):
    return "+".join(case["files"]) + ("[" + " ".join(case["args"]) + "]" if case["args"] else "")


def test_the_corpus_has_at_least_twenty_hostile_files():
    files = {f for case in CASES for f in case["files"]}
    assert len(files) >= 20
    assert all((BAD / f).is_file() for f in files)


def test_the_corpus_has_usable_and_refused_cases():
    assert {case["ok"] for case in CASES} == {True, False}


DRIVER = r"""
import contextlib, io, json, runpy, sys, traceback
out = []
for argv in json.load(sys.stdin):
    stdout, stderr = io.StringIO(), io.StringIO()
    sys.argv = ["python -m analysis", *argv]
    code = 0
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        try:
            runpy.run_module("analysis", run_name="__main__", alter_sys=True)
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        except BaseException:
            traceback.print_exc()
            code = 1
    out.append({"returncode": code, "stdout": stdout.getvalue(), "stderr": stderr.getvalue()})
print(json.dumps(out))
"""


def argv(case):
    return ["validate", "--json", *[str(BAD / f) for f in case["files"]], *case["args"]]


@pytest.fixture(scope="module")
def results():
    done = subprocess.run(
        [sys.executable, "-c", DRIVER],
        input=json.dumps([argv(c) for c in CASES]),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return dict(zip(map(case_id, CASES), json.loads(done.stdout)))


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_each_corpus_file_ends_as_expected_through_the_command_line(case, results):
    done = results[case_id(case)]
    assert "Traceback" not in done["stderr"], done["stderr"]
    assert done["returncode"] == (0 if case["ok"] else 1), done["stdout"] + done["stderr"]
    report = json.loads(done["stdout"])
    assert report["ok"] is case["ok"]
    assert report["rows_kept"] == case["rows_kept"]
    codes = {issue["code"] for issue in report["issues"]}
    assert set(case["codes"]) <= codes, codes
    assert all(issue["message"] for issue in report["issues"])
    if not case["ok"]:
        assert any(issue["severity"] == "error" for issue in report["issues"])
        assert report["patients"] == 0 and report["instruments"] == []
    else:
        assert not any(issue["severity"] == "error" for issue in report["issues"])


def test_the_corpus_on_disk_is_what_make_corpus_writes():
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_corpus", BAD / "make_corpus.py")
    make_corpus = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_corpus)
    cases = make_corpus.cases()
    for case in cases:
        for name, data in zip(case["files"], case["data"] or []):
            assert (BAD / name).read_bytes() == data, name
    assert [{k: v for k, v in c.items() if k != "data"} for c in cases] == CASES
