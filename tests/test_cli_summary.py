"""`python -m analysis summary FILES --json`, through a subprocess, on canonical and vendor-format files.

The hand-worked practice is the one of tests/test_metrics.py; a card with suppression_threshold 0 shows exact
numbers (the default card shows counts 1-10 as "<11"). Each subprocess pays a full Python start (several
seconds on a loaded machine), so the cheaper checks call ``analysis.__main__.main`` in-process.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_metrics import practice

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"


def main(*args) -> int:
    from analysis.__main__ import main as cli

    return cli(["summary", *map(str, args)])


def run(*args):
    p = subprocess.run(
        [sys.executable, "-m", "analysis", "summary", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "Traceback" not in p.stderr, p.stderr
    return p


@pytest.fixture
def canonical(tmp_path):
    a, t = practice()
    a.to_csv(tmp_path / "assessments.csv", index=False)
    t.to_csv(tmp_path / "treatments.csv", index=False)
    card = tmp_path / "exact.json"
    card.write_text(json.dumps({"name": "exact", "suppression_threshold": 0}))
    return tmp_path / "assessments.csv", tmp_path / "treatments.csv", card


def test_summary_json_of_canonical_files_gives_the_hand_worked_numbers(canonical):
    a, t, card = canonical
    p = run(a, t, "--json", "--definitions", card, "--not-for-sharing")
    assert p.returncode == 0, p.stderr
    j = json.loads(p.stdout)
    assert set(j) >= {"definitions", "practice", "by_month", "by_instrument", "notes"}
    assert j["definitions"]["name"] == "exact"
    assert (j["practice"]["patients"], j["practice"]["infusions"], j["practice"]["series_completion"]) == (4, 17, 0.5)
    assert j["practice"]["assessment_completion"] == pytest.approx(5 / 17)
    phq = j["by_instrument"]["PHQ9"]
    assert (phq["overall"]["evaluable"], phq["overall"]["responders"], phq["overall"]["response_rate"]) == (4, 3, 0.75)
    assert phq["overall"]["remission_rate"] == 0.25
    assert phq["by_condition"]["depression"]["response_rate"] == 1.0
    assert set(phq["by_site"]) == {"Lakeside", "Northside", "Riverside"}
    assert [m["infusions"] for m in j["by_month"]] == [9, 7, 1]


def test_summary_json_suppresses_small_counts_by_default(canonical, capsys):
    a, t, _ = canonical
    assert main(a, t, "--json") == 0
    j = json.loads(capsys.readouterr().out)
    assert j["practice"]["patients"] == "<11" and j["by_instrument"]["PHQ9"]["overall"]["response_rate"] is None


def test_summary_without_json_prints_the_report(canonical, capsys):
    a, t, card = canonical
    assert main(a, t, "--definitions", card, "--not-for-sharing") == 0
    out = capsys.readouterr().out
    assert "Practice summary" in out and "Series completion: 50.0%" in out


VENDOR = """Patient ID,Measure,Total Score,Date Administered,Diagnosis,Clinic Location
V1,PHQ-9,20,2025-03-03,Major Depressive Disorder,Northside
V1,PHQ-9,8,2025-03-17,Major Depressive Disorder,Northside
V2,PHQ-9,10,2025-03-05,Major Depressive Disorder,Riverside
V2,PHQ-9,6,2025-03-25,Major Depressive Disorder,Riverside
V3,PHQ-9,15,2025-04-01,Generalized Anxiety Disorder,Northside
V3,PHQ-9,3,2025-04-20,Generalized Anxiety Disorder,Northside
V3,GAD-7,12,2025-04-01,Generalized Anxiety Disorder,Northside
V3,GAD-7,5,2025-04-20,Generalized Anxiety Disorder,Northside
"""


def test_summary_reads_a_vendor_export_with_dates(tmp_path, canonical):
    _, _, card = canonical
    f = tmp_path / "ehr_export.csv"
    f.write_text(VENDOR)
    p = run(f, "--json", "--definitions", card, "--not-for-sharing")
    assert p.returncode == 0, p.stderr
    j = json.loads(p.stdout)
    # V1 20 -> 8 (day 14): response; V2 10 -> 6 (day 20): no; V3 15 -> 3 (day 19): response and remission
    phq = j["by_instrument"]["PHQ9"]
    assert (phq["overall"]["evaluable"], phq["overall"]["responders"], phq["overall"]["remitters"]) == (3, 2, 1)
    assert set(phq["by_condition"]) == {"depression", "anxiety"}
    gad = j["by_instrument"]["GAD7"]["overall"]  # V3 12 -> 5: a 58% drop, but 5 is above the remission max 4
    assert (gad["response_rate"], gad["remission_rate"]) == (1.0, 0.0)
    assert j["practice"]["patients"] == 3 and j["practice"]["series_completion"] is None
    assert [(m["start_month"], m["patients_started"]) for m in j["by_month"]] == [("2025-03", 2), ("2025-04", 1)]
    assert any("treatments file" in n for n in j["notes"])


def test_summary_of_the_sample_files_equals_the_library_on_the_same_data():
    from analysis.__main__ import jsonable
    from analysis.ingest import load_files
    from analysis.metrics import summary

    files = [SAMPLE / "assessments.csv", SAMPLE / "treatments.csv"]
    if not all(f.is_file() for f in files):
        pytest.skip("sample_data/ not generated")
    p = run(*files, "--json")
    assert p.returncode == 0, p.stderr
    loaded = load_files(files)
    assert json.loads(p.stdout) == json.loads(
        json.dumps(jsonable(summary(loaded.assessments, loaded.treatments).to_json()))
    )
    assert json.loads(p.stdout)["practice"]["patients"] > 500


def test_a_file_with_no_usable_rows_ends_in_a_message_and_exit_1(tmp_path, capsys):
    f = tmp_path / "empty.csv"
    f.write_text("patient_id,instrument,score,day\n")
    assert main(f, "--json") == 1
    assert json.loads(capsys.readouterr().out)["ok"] is False


def test_a_missing_file_is_a_usage_error(tmp_path, capsys):
    assert main(tmp_path / "nope.csv") == 2
    assert "file not found" in capsys.readouterr().err
