"""The PHI guard: identifiers in column names and values refuse a file."""

import numpy as np
import pyarrow as pa
import pytest

from analysis import phi
from analysis import validate as V


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
