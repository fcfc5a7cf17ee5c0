"""FHIR R4 in (analysis.ingest.fhir): a Bundle and a bulk NDJSON export load to the same rows; LOINC totals, item 9,
QuestionnaireResponse items, Conditions (ICD-10 and SNOMED), MedicationAdministration and Procedure sessions;
patient references become keyed pseudonyms; names, birth dates, identifiers, addresses and phone numbers never
reach a table, a message, the command line's output or a log."""

import json
import logging
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from analysis import schema as S
from analysis.ingest import fhir, load_files

ROOT = Path(__file__).resolve().parents[1]
IDENTIFYING = ["Jane", "Roe", "John", "Doe", "1958-04-02", "1990-11-30", "MRNa199", "MRNb299", "Elm Street",
               "Springfield", "01234", "555-0100", "Patient/a1", "Patient/b2"]  # fmt: skip


def patient(pid, given, family, born, gender):
    return {
        "resourceType": "Patient",
        "id": pid,
        "identifier": [{"system": "urn:mrn", "value": f"MRN{pid}99"}],
        "name": [{"family": family, "given": [given]}],
        "birthDate": born,
        "gender": gender,
        "address": [{"line": ["12 Elm Street"], "city": "Springfield", "postalCode": "01234"}],
        "telecom": [{"system": "phone", "value": "555-0100"}],
    }


def obs(pid, code, display, value, when):
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": code, "display": display}]},
        "subject": {"reference": f"Patient/{pid}"},
        "effectiveDateTime": when,
        "valueInteger": value,
    }


QUESTIONS = ["Little interest or pleasure in doing things", "Feeling down, depressed, or hopeless",
             "Trouble falling or staying asleep", "Feeling tired or having little energy", "Poor appetite or overeating",
             "Feeling bad about yourself", "Trouble concentrating on things", "Moving or speaking so slowly",
             "Thoughts that you would be better off dead"]  # fmt: skip


def resources():
    return [
        patient("a1", "Jane", "Roe", "1958-04-02", "female"),
        patient("b2", "John", "Doe", "1990-11-30", "male"),
        {
            "resourceType": "Condition",
            "subject": {"reference": "Patient/a1"},
            "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "F33.1"}]},
        },
        {
            "resourceType": "Condition",
            "subject": {"reference": "Patient/b2"},
            "code": {"coding": [{"system": "http://snomed.info/sct", "code": "47505003"}]},
        },
        obs("a1", "44261-6", "PHQ-9 total", 20, "2025-01-02T09:00:00-05:00"),
        obs("a1", "44260-8", "PHQ-9 item 9", 1, "2025-01-02T09:00:00-05:00"),
        obs("a1", "44261-6", "PHQ-9 total", 8, "2025-01-23"),
        obs("a1", "44260-8", "Q9", 0, "2025-01-23"),
        obs("a1", "70274-6", "GAD-7 total", 15, "2025-01-02"),
        {
            "resourceType": "QuestionnaireResponse",
            "status": "completed",
            "subject": {"reference": "Patient/b2"},
            "authored": "2025-02-01T10:00:00Z",
            "item": [
                {"linkId": f"phq9_{k}", "answer": [{"valueCoding": {"display": "More than half the days"}}]}
                for k in range(1, 10)
            ],
        },
        {
            "resourceType": "QuestionnaireResponse",
            "status": "completed",
            "subject": {"reference": "Patient/b2"},
            "authored": "2025-02-20",
            "item": [
                {"linkId": str(k), "text": t, "answer": [{"valueInteger": 1}]} for k, t in enumerate(QUESTIONS, 1)
            ],
        },
        {
            "resourceType": "MedicationAdministration",
            "status": "completed",
            "subject": {"reference": "Patient/a1"},
            "effectiveDateTime": "2025-01-02T10:00:00-05:00",
            "medicationCodeableConcept": {"text": "Ketamine HCl"},
            "dosage": {"route": {"text": "Intravenous"}, "dose": {"value": 0.5, "unit": "mg/kg"}},
        },
        {
            "resourceType": "Procedure",
            "status": "completed",
            "subject": {"reference": "Patient/b2"},
            "performedDateTime": "2025-02-01",
            "code": {"text": "Spravato 84 mg nasal spray session"},
        },
    ]


def bundle() -> bytes:
    entries = [{"fullUrl": f"urn:uuid:{i}", "resource": r} for i, r in enumerate(resources())]
    return json.dumps({"resourceType": "Bundle", "type": "collection", "entry": entries}).encode()


def ndjson() -> list[tuple[str, bytes]]:
    by_type: dict[str, list] = {}
    for r in resources():
        by_type.setdefault(r["resourceType"], []).append(json.dumps(r))
    return [(f"{t}.ndjson", ("\n".join(lines) + "\n").encode()) for t, lines in by_type.items()]


@pytest.fixture(autouse=True)
def secret_file(tmp_path, monkeypatch):
    monkeypatch.setenv(fhir.KEY_ENV, str(tmp_path / "pseudonym.key"))
    return tmp_path / "pseudonym.key"


EXPECTED = [  # (patient, instrument, score, day, condition, age band, sex, item 9)
    ("a", "PHQ9", 20.0, 0, "depression", "65-74", "F", 1),
    ("a", "PHQ9", 8.0, 21, "depression", "65-74", "F", 0),
    ("a", "GAD7", 15.0, 0, "depression", "65-74", "F", None),
    ("b", "PHQ9", 18.0, 0, "ptsd", "25-34", "M", 2),
    ("b", "PHQ9", 9.0, 19, "ptsd", "25-34", "M", 1),
]


def rows(loaded):
    a = loaded.assessments
    letters = {k: chr(ord("a") + i) for i, k in enumerate(dict.fromkeys(a[S.PATIENT_ID]))}
    return [
        (letters[r.patient_id], r.instrument, r.score, r.day, r.condition, r.age_band, r.sex,
         None if pd.isna(r.phq9_item9) else int(r.phq9_item9))
        for r in a.itertuples()
    ]  # fmt: skip


@pytest.mark.parametrize("shape", ["bundle", "ndjson"])
def test_a_bundle_and_a_bulk_export_load_to_the_expected_rows(shape):
    loaded = load_files([("export.json", bundle())] if shape == "bundle" else ndjson())
    assert loaded.ok, loaded.to_text()
    assert rows(loaded) == EXPECTED
    t = loaded.treatments
    assert t[S.DAY].tolist() == [0, 0] and t[S.ROUTE].tolist() == ["IV", "esketamine"]
    assert t[S.DOSE].iloc[0] == 0.5 and t[S.DOSE_MG].iloc[1] == 84
    assert {r["file"]: r["role"] for r in loaded.roles} == {
        fhir.SCORES: "assessments",
        fhir.ITEMS: "assessments",
        fhir.SESSIONS: "treatments",
    }


def test_patient_keys_are_keyed_hashes_stable_with_the_installations_secret_and_made_on_first_use(secret_file):
    assert not secret_file.exists()
    first = load_files([("export.json", bundle())]).assessments[S.PATIENT_ID].unique().tolist()
    assert secret_file.exists() and (secret_file.stat().st_mode & 0o777) == 0o600
    again = load_files(ndjson()).assessments[S.PATIENT_ID].unique().tolist()
    assert first == again and all(k.startswith("FP-") and len(k) == 19 for k in first)
    key = bytes.fromhex(secret_file.read_text())
    assert first[0] == fhir.pseudonym_key("Patient/a1", key)
    assert fhir.pseudonym_key("Patient/a1", b"another installation") != first[0]


def test_nothing_identifying_reaches_a_table_a_message_the_command_line_or_a_log(secret_file, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    invalid = json.dumps(
        {"resourceType": "Observation", "status": "final", "code": {"text": "PHQ-9"}, "valueInteger": "Jane Roe"}
    ).encode()
    loaded = load_files([("export.json", bundle()), ("bad.json", invalid)])
    assert "FHIR_INVALID" in set(loaded.issues["code"])
    outputs = [
        loaded.to_text(),
        json.dumps(loaded.to_json(), default=str),
        loaded.assessments.to_csv(),
        loaded.treatments.to_csv(),
        loaded.mapping.to_csv(),
        loaded.issues.to_csv(),
        caplog.text,
    ]
    (tmp_path / "export.json").write_bytes(bundle())
    for args in (["validate"], ["validate", "--json"], ["summary", "--json"]):
        done = subprocess.run(
            [sys.executable, "-m", "analysis", *args, str(tmp_path / "export.json")],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=120,
            env={**__import__("os").environ, fhir.KEY_ENV: str(secret_file)},
        )
        assert done.returncode == 0, done.stderr
        outputs += [done.stdout, done.stderr]
    secret = secret_file.read_text().strip()
    for text in outputs:
        for value in [*IDENTIFYING, secret]:
            assert value not in text, value


def test_an_export_without_scores_and_broken_json_are_refused_with_a_message():
    only_patients = json.dumps(patient("a1", "Jane", "Roe", "1958-04-02", "female")).encode()
    loaded = load_files([("Patient.ndjson", only_patients)])
    assert not loaded.ok and "NO_FHIR_SCORES" in set(loaded.issues["code"]) and "Jane" not in loaded.to_text()
    broken = load_files([("Observation.ndjson", b'{"resourceType": "Observation"}\n{"resourceType": \n')])
    assert not broken.ok and "UNREADABLE_FHIR" in set(broken.issues["code"])


def test_resources_left_out_are_counted_with_their_reason_never_a_value():
    extra = [
        {**obs("a1", "8867-4", "Heart rate", 72, "2025-01-02"), "code": {"text": "Heart rate Jane"}},
        {**obs("a1", "44261-6", "PHQ-9 total", 9, "2025-01-09"), "status": "entered-in-error"},
    ]
    entries = [{"resource": r} for r in resources() + extra]
    loaded = load_files([("export.json", json.dumps({"resourceType": "Bundle", "entry": entries}).encode())])
    message = loaded.issues.set_index("code").loc["FHIR_LEFT_OUT", "message"]
    assert message == (
        "Resources left out: 1 no patient, or entered in error / cancelled; 1 not a score of a known instrument."
    )
    assert len(loaded.assessments) == len(EXPECTED) and "Jane" not in loaded.to_text()
