"""The PHI guard: a file holding direct identifiers is refused as a whole.

The PHI guard (HIPAA Safe Harbor, the identifiers an EHR export is likely to carry): a column whose
name says it holds names, e-mail, phone, street address, SSN, medical record number, date of birth (or
birth year), a full ZIP code or a health plan member / policy number, or any text value shaped like an
e-mail address, a US phone number (also ten bare digits shaped like one) or an SSN, refuses the whole
upload. Clinic names ("Main St Clinic"), dates, decimals and keys such as "P-000123" are not PHI.

Column names are compared loosely (:func:`header_key`: camelCase split, case and punctuation ignored); values
are checked through each column's distinct values with RE2 patterns (pyarrow), so the guard is cheap on long
files.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from analysis.validate import IssueLog, quoted, rows_text


def header_key(name: str) -> str:
    """A column name compared loosely: camelCase split, lower case, runs of punctuation and spaces -> one space."""
    name = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", str(name))
    return re.sub(r"[^0-9a-z]+", " ", name.lower()).strip()


_NOT_A_PERSON = re.compile(
    r"\b(clinic|site|instrument|measure|assessment|scale|location|practice|facility|provider|clinician|doctor|"
    r"physician|therapist|file|drug|medication|test|questionnaire|survey|program|insurance|payer|plan|staff|"
    r"nurse|diagnosis|condition|device|vendor|product|study|protocol|row|flowsheet|column|field|item|component|"
    r"event|department|dept|encounter|order|procedure|visit|appointment|form|question|score|outcome|med|room|unit)\b"
)
PHI_COLUMN_PATTERNS = (
    (
        "name",
        re.compile(r"\b(name|names|surname|firstname|lastname|fullname|patientname|ptname|fname|lname|initials)\b"),
    ),
    ("e-mail", re.compile(r"\b(e ?mail|email address|e mail address)\b")),
    ("phone", re.compile(r"\b(phone|telephone|tel|mobile|cell|cellphone|fax|phone number|contact number)\b")),
    ("street address", re.compile(r"\b(address|street|addr|address line \d)\b")),
    ("SSN", re.compile(r"\b(ssn|social security|social sec|ss number|ss no|sin)\b")),
    (
        "medical record number",
        re.compile(r"\b(mrn|medical record|med rec|medrec|mr number|mr no|chart number|chart no|hospital number)\b"),
    ),
    (
        "date of birth",
        re.compile(
            r"\b(dob|d o b|date of birth|birth date|birthdate|birthday|born|birth year|birthyear|"
            r"birth yr|year of birth|yob|yr of birth)\b"
        ),
    ),
    ("ZIP code", re.compile(r"\b(zip|zipcode|zip code|postal|postal code|postcode|post code)\b")),
    (
        "health plan beneficiary number",
        re.compile(
            r"\b(member|subscriber|policy|beneficiary|insurance|insured|medicaid|medicare|health plan) (id|number|no|num|nbr)\b|"
            r"\b(memberid|subscriberid|policyid|policynumber|policyno|beneficiaryid)\b"
        ),
    ),
)
_FULL_ZIP = r"\b\d{5}(-\d{4})?\b"


def phi_column_kind(name: str) -> str | None:
    """What identifier a column name announces ('name', 'phone', ...), or None."""
    key = header_key(name)
    for kind, pattern in PHI_COLUMN_PATTERNS:
        if pattern.search(key):
            if kind in ("name", "street address") and _NOT_A_PERSON.search(key):
                continue  # "Clinic Name", "Site Address": not the patient's
            return kind
    return None


# RE2 (pyarrow) patterns for values; anchors by character classes, RE2 has no look-behind.
PHI_VALUE_PATTERNS = (
    ("e-mail addresses", r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}"),
    ("social security numbers", r"(^|[^0-9A-Za-z\-])\d{3}-\d{2}-\d{4}([^0-9\-]|$)"),
    # written with separators; or ten bare digits, a NANP number (area code and exchange start with 2-9: not an id
    # or an epoch time starting with 0 or 1), not part of a longer run of digits
    (
        "phone numbers",
        r"(^|[^0-9A-Za-z\-/.])(\+?1[ .\-]?)?(\(\d{3}\) ?|\d{3}[ .\-])\d{3}[ .\-]\d{4}([^0-9\-/.]|$)"
        r"|(^|[^0-9A-Za-z\-/.])(\+1 ?)?[2-9]\d{2}[2-9]\d{6}([^0-9\-/.]|$)",
    ),
)
#: any of the patterns (a value matches it if and only if it matches one of them)
_PHI_ANY = "|".join(f"(?:{pattern})" for _, pattern in PHI_VALUE_PATTERNS)


def phi_columns(table: pa.Table, exempt: Iterable[str] = ()) -> list[tuple[str, str]]:
    """(column, kind) of the columns whose names announce a direct identifier.

    A ZIP column is flagged only when it holds full 5-digit codes (3-digit ZIPs are not identifying)."""
    exempt = set(exempt)
    found = []
    for name in table.column_names:
        kind = phi_column_kind(name)
        if kind is None or name in exempt:
            continue
        if kind == "ZIP code":
            values = pc.cast(table[name], pa.string())
            if not pc.any(pc.match_substring_regex(values, _FULL_ZIP)).as_py():
                continue
        found.append((name, kind))
    return found


def phi_values(table: pa.Table, rows: np.ndarray, dictionary=None) -> list[tuple[str, str, list[int]]]:
    """(column, what, first rows) for text columns holding values shaped like e-mails, phones or SSNs.

    Works on the distinct values of each column (``dictionary(name)`` -> (codes, distinct values) lets the
    caller share its dictionary encoding), so it is cheap on long files."""
    found = []
    for name in table.column_names:
        col = table[name]
        if pa.types.is_dictionary(col.type) and dictionary is None:
            col = pc.cast(col, col.type.value_type)
        value_type = col.type.value_type if pa.types.is_dictionary(col.type) else col.type
        if not (pa.types.is_string(value_type) or pa.types.is_large_string(value_type)):
            continue
        if dictionary is None:
            encoded = pc.dictionary_encode(col).combine_chunks()
            codes, uniques = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False), encoded.dictionary
        else:
            codes, uniques = dictionary(name)
        if not pc.any(pc.match_substring_regex(uniques, _PHI_ANY)).as_py():
            continue  # (one pass of the patterns together: most columns match none)
        for what, pattern in PHI_VALUE_PATTERNS:
            hit = pc.match_substring_regex(uniques, pattern).to_numpy(zero_copy_only=False)
            if hit.any():
                where = np.flatnonzero(np.isin(codes, np.flatnonzero(hit)))
                found.append((name, what, [int(r) for r in rows[where[:5]]]))
    return found


def refuse_phi(
    log: IssueLog, file: str, columns: list[tuple[str, str]], values: list[tuple[str, str, list[int]]]
) -> None:
    """The error issues that refuse a file holding PHI: they name the columns and the first rows."""
    if columns:
        log.add(
            "error",
            "PHI_COLUMNS",
            f"{file}: This file contains columns that look like direct identifiers: {quoted(c for c, _ in columns)} "
            f"({', '.join(sorted({k for _, k in columns}))}). Remove them (keep only a pseudonymous patient key) and "
            "upload again. Nothing from this file was kept.",
            column=", ".join(c for c, _ in columns),
        )
    for column, what, rows in values:
        log.add(
            "error",
            "PHI_VALUES",
            f"{file}: Column '{column}' contains what look like {what} ({rows_text(rows)}). Uploads must be "
            "de-identified: remove that text (or leave the column out of the export) and upload again. "
            "Nothing from this file was kept.",
            column=column,
            rows=rows,
        )
