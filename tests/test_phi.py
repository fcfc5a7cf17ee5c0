"""The PHI guard: identifiers in column names and values refuse a file."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from analysis import phi
from analysis import schema as S
from analysis import validate as V
from analysis.ingest import load_files


@pytest.mark.parametrize(
    "name,kind",
    [
        ("Patient Name", "name"),
        ("First Name", "name"),
        ("LastName", "name"),
        ("Surname", "name"),
        ("E-mail", "e-mail"),
        ("Email Address", "e-mail"),
        ("Phone", "phone"),
        ("Cell Phone", "phone"),
        ("Street Address", "street address"),
        ("SSN", "SSN"),
        ("Social Security Number", "SSN"),
        ("MRN", "medical record number"),
        ("Medical Record Number", "medical record number"),
        ("DOB", "date of birth"),
        ("Date of Birth", "date of birth"),
        ("Zip Code", "ZIP code"),
        ("Clinic Name", None),
        ("Site Address", None),
        ("Measure Name", None),
        ("Patient ID", None),
        ("Total Score", None),
        ("Date Administered", None),
        ("Clinic Location", None),
        ("Diagnosis", None),
        ("Flowsheet Row Name", None),
        ("Department Name", None),
    ],
)
def test_column_names_that_announce_direct_identifiers_are_recognised(name, kind):
    assert phi.phi_column_kind(name) == kind


@pytest.mark.parametrize("name", ["lastname", "PatientName", "DateOfBirth", "eMail", "patient_first_name"])
def test_identifier_names_written_together_or_in_camel_case_are_caught_too(name):
    assert phi.phi_column_kind(name) is not None


def test_a_zip_column_is_phi_only_with_full_five_digit_codes():
    full = pa.table({"ZIP": ["02139", "10001"]})
    three = pa.table({"ZIP": ["021", "100"]})
    assert phi.phi_columns(full) == [("ZIP", "ZIP code")]
    assert phi.phi_columns(three) == []


def test_an_overridden_column_is_exempt_from_the_name_check():
    t = pa.table({"Contact Name": ["North"]})
    assert phi.phi_columns(t) and not phi.phi_columns(t, exempt=["Contact Name"])


# --- PHI: values ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "value",
    [
        "jane.doe@example.com",
        "(555) 123-4567",
        "555-123-4567",
        "+1 555 123 4567",
        "call 555.123.4567 today",
        "123-45-6789",
    ],
)
def test_values_shaped_like_emails_phones_or_ssns_are_found(value):
    found = phi.phi_values(pa.table({"Notes": ["fine", value]}), np.array([2, 3]))
    assert [(c, rows) for c, _, rows in found] == [("Notes", [3])]


@pytest.mark.parametrize(
    "value",
    [
        "Main St Clinic",
        "123 Main St Clinic",
        "2024-01-15",
        "01/15/2024",
        "12.5",
        "P-000123",
        "0.35",
        "2024-01-15T10:30:00",
        "PHQ-9",
        "15.01.2024",
        "ID 2024-123-45",
    ],
)
def test_clinic_names_dates_decimals_and_ids_are_not_phi(value):
    assert phi.phi_values(pa.table({"x": [value]}), np.array([2])) == []


def test_phi_refusal_names_the_columns_and_says_nothing_was_kept():
    lg = V.IssueLog()
    lg.files.append("clinic.csv")
    phi.refuse_phi(lg, "c.csv", [("Patient Name", "name"), ("DOB", "date of birth")], [])
    message = lg.table()["message"].iloc[0]
    assert "'Patient Name', 'DOB'" in message and "Nothing from this file was kept." in message
    assert lg.has_errors


@pytest.mark.parametrize(
    "name,kind",
    [
        ("Postal", "ZIP code"),
        ("Postal Code", "ZIP code"),
        ("ZIP+4", "ZIP code"),
        ("Birth Year", "date of birth"),
        ("Year of Birth", "date of birth"),
        ("YOB", "date of birth"),
        ("Insurance Member ID", "health plan beneficiary number"),
        ("Member #", None),
        ("Policy Number", "health plan beneficiary number"),
        ("Subscriber ID", "health plan beneficiary number"),
        ("Medicaid ID", "health plan beneficiary number"),
        ("Insurance Plan", None),
        ("Program", None),
    ],
)
def test_postal_birth_year_and_health_plan_number_columns_are_identifiers(name, kind):
    assert phi.phi_column_kind(name) == kind


def test_a_postal_column_is_phi_only_with_full_zip_codes():
    full = pa.table({"Postal": ["02139-4307", "94110"]})
    three = pa.table({"Postal": ["021", "941"]})
    assert phi.phi_columns(full) == [("Postal", "ZIP code")] and phi.phi_columns(three) == []


@pytest.mark.parametrize(
    "value,found",
    [
        ("call 5558675309 after 5", True),
        ("5558675309", True),
        ("+1 5558675309", True),
        ("1700000000", False),
        ("0123456789", False),
        ("5551234567", False),
        ("98765432109876543210", False),
        ("id 15558675309", False),
        ("ts 1732200000123", False),
        ("2025-03-14 10:30", False),
    ],
)
def test_ten_bare_digits_are_a_phone_only_when_shaped_like_a_nanp_number(value, found):
    hits = phi.phi_values(pa.table({"Message": [value]}), np.array([2]))
    assert bool(hits) is found


# --- issue 15: identifiers under attack --------------------------------------------------------------
ATTACKS = Path(__file__).parent / "data" / "attacks"


@pytest.mark.parametrize(
    "name,kind",
    [
        ("Apellido paterno", "name"),
        ("Nom de famille", "name"),
        ("Vorname", "name"),
        ("Cognome", "name"),
        ("\uff26\uff49\uff52\uff53\uff54 \uff2e\uff41\uff4d\uff45", "name"),  # full-width 'First Name'
        ("Patient N\u03bfme", "name"),  # a Greek omicron
        ("Em\u0430il", "e-mail"),  # a Cyrillic a
        ("Su\u200brname", "name"),  # a zero-width space
        ("Given", "name"),
        ("Fecha Nac.", "date of birth"),
        ("Data de nascimento", "date of birth"),
        ("Geboortedatum", "date of birth"),
        ("Birthdt", "date of birth"),
        ("B_Date", "date of birth"),
        ("Domicilio", "street address"),
        ("Wohnort", "street address"),
        ("Telefonnummer", "phone"),
        ("Cell #", "phone"),
        ("Chart No.", "medical record number"),
        ("MR No", "medical record number"),
        ("Soc. Sec. No.", "SSN"),
        ("Soc_Sec", "SSN"),
        ("Passport Number", "national ID or licence number"),
        ("Sex at birth", None),
        ("Birth sex", None),
        ("Name of site", None),
        ("Form Name", None),
        ("Office Name", None),
        ("Last Visit Day", None),
        ("First Infusion Date", None),
        ("Pseudonym", None),
    ],
)
def test_identifier_columns_are_recognised_through_unicode_and_other_languages(name, kind):
    assert phi.phi_column_kind(name) == kind


def test_no_synonym_of_a_canonical_column_is_taken_for_an_identifier():
    from analysis.ingest import COLUMN_SYNONYMS

    assert [s for names in COLUMN_SYNONYMS.values() for s in names if phi.phi_column_kind(s)] == []


@pytest.mark.parametrize(
    "value",
    [
        "ring +61 2 9374 4000",
        "303/555-0176",
        "+49 30 901820",
        "mob 07700 900461",
        "ren\u00e9e@h\u00f4pital.fr",
        "\uff4a\uff41\uff4e\uff45\uff20\uff45\uff58\uff41\uff4d\uff50\uff4c\uff45\uff0e\uff43\uff4f\uff4d",  # full-width
        "someone(at)example.org",
        "219 09 9999",
        "219.09.9999",
        "\uff12\uff11\uff19-\uff10\uff19-\uff19\uff19\uff19\uff19",  # full-width digits
        "\u0662\u0661\u0669-\u0660\u0669-\u0669\u0669\u0669\u0669",  # Arabic-Indic digits
    ],
)
def test_phones_e_mails_and_ssns_are_found_however_they_are_written(value):
    found = phi.phi_values(pa.table({"Notes": ["fine", value]}), np.array([2, 3]))
    assert found and {rows[0] for _, _, rows in found} == {3}


@pytest.mark.parametrize(
    "value",
    [
        "15/03/2024 08:00",
        "v1.2.3",
        "0.5 mg/kg",
        "2024-01-15 10:30:00",
        "GAD-7",
        "12/2024",
        "100-200-300",
        "A-1234-5678",
    ],
)
def test_dates_versions_doses_and_codes_are_not_taken_for_phones(value):
    assert phi.phi_values(pa.table({"x": [value]}), np.array([2])) == []


@pytest.mark.parametrize(
    "key",
    [
        "Nakamura, Emi",
        "emi nakamura",
        "NAKAMURA EMI R",
        "D'Souza",
        "Anne-Marie Roux",
        "\u00c9lodie",
        "\u041e\u043b\u044c\u0433\u0430 \u0418\u0432\u0430\u043d\u043e\u0432\u0430",
        "\u738b\u82b3",
        "R. Okoye 1984",
        "Okoye Ruth 7",
    ],
)
def test_patient_keys_shaped_like_names_are_names(key):
    assert phi.name_shaped(key)


@pytest.mark.parametrize(
    "key", ["P00001", "8f3a-22", "c4ca4238a0b923820dcc509a6f75849b", "Patient 12", "SUBJ-0042", "PXQZ", "A", "unknown"]
)
def test_pseudonymous_keys_are_not_names(key):
    assert not phi.name_shaped(key)


@pytest.mark.parametrize(
    "value,month",
    [
        ("2025-04", "2025-04"),
        ("2025/4", "2025-04"),
        ("04/2025", "2025-04"),
        ("2025-04-30", "2025-04"),
        ("30/04/2025", "2025-04"),
        ("04/30/2025 13:00", "2025-04"),
        ("Apr 2025", "2025-04"),
        ("05/04/2025", None),  # May or April: not guessed
        ("1953-08-19", None),  # a date of birth, not a start
        ("Okafor", None),
        ("2025-00", None),
        ("spring 2025", None),
    ],
)
def test_a_start_month_is_a_month_of_the_years_of_treatment_or_nothing(value, month):
    assert phi.start_month(value, last_year=2026) == month


#: (file, whether it is usable, the codes its issues must include)
PHI_ATTACKS = {
    "name_keys.csv": (False, {"PHI_NAME_KEYS"}),
    "name_keys_digits.csv": (False, {"PHI_NAME_KEYS"}),
    "start_month_birth.csv": (True, {"BAD_START_MONTH"}),
    "columns_fullwidth.csv": (False, {"PHI_COLUMNS"}),
    "columns_confusable.csv": (False, {"PHI_COLUMNS"}),
    "columns_multilingual.csv": (False, {"PHI_COLUMNS"}),
    "columns_shorthand.csv": (False, {"PHI_COLUMNS"}),
    "values_phone.csv": (False, {"PHI_VALUES"}),
    "values_email.csv": (False, {"PHI_VALUES"}),
    "values_ssn.csv": (False, {"PHI_VALUES"}),
}


def cells(path: Path) -> set[str]:
    """The values of a file's cells worth keeping out of messages: text beyond instrument names and small numbers."""
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    return {v.strip() for r in rows[1:] for v in r if len(v.strip()) >= 5 and v.strip() not in ("PHQ-9", "GAD-7")}


def test_the_phi_corpus_holds_one_file_per_listed_attack():
    assert {p.name for p in (ATTACKS / "phi").glob("*.csv")} == set(PHI_ATTACKS)


@pytest.mark.parametrize("name", sorted(PHI_ATTACKS))
def test_each_phi_attack_is_refused_or_dropped_and_no_message_quotes_a_value(name):
    path = ATTACKS / "phi" / name
    loaded = load_files(str(path))
    usable, codes = PHI_ATTACKS[name]
    assert loaded.ok is usable and codes <= set(loaded.issues["code"])
    text = loaded.to_text() + json.dumps(loaded.to_json(), ensure_ascii=False)
    leaked = {v for v in cells(path) if v in text or v.casefold() in text.casefold()}
    assert leaked <= {"Start Month"}, leaked
    if not usable:
        assert loaded.assessments.empty
        assert any(i["rows"] or i["column"] for i in loaded.to_json()["issues"])


def test_a_start_month_column_keeps_months_of_treatment_only_and_never_a_date():
    loaded = load_files(str(ATTACKS / "phi" / "start_month_birth.csv"))
    months = loaded.assessments.set_index(S.PATIENT_ID)[S.START_MONTH]
    assert months.dropna().to_dict() == {"K-104": "2025-02", "K-105": "2025-06"}
    assert loaded.issues.set_index("code").loc["BAD_START_MONTH", "rows"] == [2, 3, 4, 5]


@pytest.mark.parametrize("name", sorted(PHI_ATTACKS))
def test_the_command_line_refuses_each_phi_attack_without_a_traceback_or_a_value(name):
    path = ATTACKS / "phi" / name
    done = subprocess.run(
        [sys.executable, "-m", "analysis", "validate", str(path), "--json"],
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=Path(__file__).parent.parent,
        timeout=120,
    )
    assert "Traceback" not in done.stderr
    assert done.returncode == (0 if PHI_ATTACKS[name][0] else 1)
    out = json.loads(done.stdout)
    assert not {v for v in cells(path) if v in json.dumps(out["issues"], ensure_ascii=False)}


def test_a_refusal_names_rows_and_columns_only():
    lg = V.IssueLog()
    lg.files.append("x.csv")
    phi.refuse_name_keys(lg, "x.csv", "Client ID", [2, 5])
    issue = lg.table().iloc[0]
    assert issue["code"] == "PHI_NAME_KEYS" and issue["rows"] == [2, 5] and issue["column"] == "Client ID"
    assert "rows 2, 5" in issue["message"] and "Nothing from this file was kept." in issue["message"]


@given(st.from_regex(phi._CODE, fullmatch=True))
def test_a_key_of_letters_and_digits_is_never_name_shaped_so_it_skips_the_rules(key):
    assert not phi._name_shaped_by_rules(key) and not phi.name_shaped(key)
