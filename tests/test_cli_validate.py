"""`python -m analysis validate`: exit codes 0 / 1 / 2, --json keys, --map, and no tracebacks."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from analysis.__main__ import main

ROOT = Path(__file__).resolve().parents[1]
BAD = ROOT / "tests" / "data" / "bad"

GOOD = b"Patient ID,Measure,Total Score,Day\nP-1,PHQ-9,20,0\nP-1,PHQ-9,8,14\nP-2,GAD-7,12,0\n"


@pytest.fixture
def good(tmp_path):
    path = tmp_path / "clinic.csv"
    path.write_bytes(GOOD)
    return path


def run(capsys, *argv):
    code = main(["validate", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_usable_file_exits_0_and_reports_the_design_json_keys(capsys, good):
    code, out, _ = run(capsys, good, "--json")
    report = json.loads(out)
    assert code == 0
    assert {"ok", "rows_read", "rows_kept", "patients", "instruments", "issues"} <= set(report)
    assert (report["ok"], report["rows_read"], report["rows_kept"], report["patients"]) == (True, 3, 3, 2)
    assert report["instruments"] == ["GAD7", "PHQ9"]


def test_each_issue_in_the_json_has_severity_code_message_column_and_rows(capsys, tmp_path):
    path = tmp_path / "x.csv"
    path.write_bytes(GOOD + b"P-3,PHQ-9,n/a,0\n")
    code, out, _ = run(capsys, path, "--json")
    issue = next(i for i in json.loads(out)["issues"] if i["code"] == "NON_NUMERIC_SCORE")
    assert code == 0
    assert issue == {
        "severity": "warning",
        "code": "NON_NUMERIC_SCORE",
        "message": issue["message"],
        "column": "Total Score",
        "rows": [5],
        "fix": None,
    }


def test_the_text_report_says_usable_and_names_the_mapping(capsys, good):
    code, out, _ = run(capsys, good)
    assert code == 0
    assert out.startswith("Usable: 3 scores kept (3 rows read from 1 file); 2 patients; instruments GAD7, PHQ9.")
    assert "'Total Score' -> score (synonym)" in out


def test_a_refused_file_exits_1_with_its_message_in_the_text_report(capsys):
    code, out, err = run(capsys, BAD / "old_excel_saved_as.csv")
    assert code == 1
    assert "File > Save As > CSV UTF-8" in out
    assert "Traceback" not in err


def test_map_source_equals_target_maps_an_unknown_column(capsys, tmp_path):
    path = tmp_path / "odd.csv"
    path.write_bytes(b"Pt Ref,Measure,Total Score,Day\nA,PHQ-9,20,0\n")
    assert run(capsys, path)[0] == 1
    code, out, _ = run(capsys, path, "--json", "--map", "Pt Ref=patient_id")
    assert code == 0
    assert {"file": "odd.csv", "source": "Pt Ref", "target": "patient_id", "how": "override"} in json.loads(out)[
        "mapping"
    ]


def test_map_to_ignore_drops_a_column(capsys, tmp_path):
    path = tmp_path / "odd.csv"
    path.write_bytes(b"Patient ID,Measure,Total Score,Day,Clinic\nA,PHQ-9,20,0,North\n")
    code, out, _ = run(capsys, path, "--json", "--map", "Clinic=ignore")
    assert code == 0
    assert {"file": "odd.csv", "source": "Clinic", "target": "", "how": "ignored"} in json.loads(out)["mapping"]


def test_a_map_without_equals_sign_is_a_usage_error_exit_2(capsys, good):
    code, _, err = run(capsys, good, "--map", "nonsense")
    assert code == 2
    assert "SOURCE=TARGET" in err


def test_a_map_to_an_unknown_target_is_a_usage_error_naming_the_targets(capsys, good):
    code, _, err = run(capsys, good, "--map", "Day=dayz")
    assert code == 2
    assert "unknown target 'dayz'" in err and "patient_id" in err


def test_a_missing_file_is_a_usage_error_exit_2(capsys, tmp_path):
    assert run(capsys, tmp_path / "nope.csv")[0] == 2


def test_no_files_at_all_is_a_usage_error_exit_2(capsys):
    with pytest.raises(SystemExit) as e:
        main(["validate"])
    assert e.value.code == 2


def test_strict_dates_keeps_only_the_start_year(capsys, tmp_path):
    path = tmp_path / "dated.csv"
    path.write_bytes(b"Patient ID,Measure,Total Score,Date\nA,PHQ-9,20,2024-03-01\nA,PHQ-9,8,2024-03-20\n")
    from analysis.ingest import load_files

    assert load_files([path], strict_dates=True).assessments["start_month"].tolist() == ["2024", "2024"]
    assert load_files([path]).assessments["start_month"].tolist() == ["2024-03", "2024-03"]


def test_the_real_command_line_prints_no_traceback_on_binary_junk():
    done = subprocess.run(
        [sys.executable, "-m", "analysis", "validate", str(BAD / "binary_junk.csv")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=60,
    )
    assert done.returncode == 1
    assert "not a text file" in done.stdout
    assert "Traceback" not in done.stderr


def test_the_text_report_phrases_each_fix_as_a_map_option(capsys):
    code, out, _ = run(capsys, BAD / "ambiguous_dates.csv")
    assert code == 1
    assert "AMBIGUOUS_DATES" in out and "Fix: --map 'Visit Date=date_dmy' or --map 'Visit Date=date_mdy'." in out


def test_the_json_report_carries_each_fix(capsys):
    code, out, _ = run(capsys, BAD / "ambiguous_dates.csv", "--json")
    issue = next(i for i in json.loads(out)["issues"] if i["code"] == "AMBIGUOUS_DATES")
    assert code == 1 and issue["fix"] == {"column": "Visit Date", "targets": ["date_dmy", "date_mdy"]}
    assert "--map" not in issue["message"]
