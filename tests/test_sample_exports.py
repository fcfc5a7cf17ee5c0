"""The sample practice as practices export it (sample_data/exports/, made by analysis/simulate.py write_exports):
an Excel workbook, a FHIR Bundle, a FHIR bulk export and an item-level CSV each load to the canonical CSV's rows,
response and remission rates, patient attributes and sessions (issue 16)."""

from pathlib import Path

import pandas as pd
import pytest

from analysis import schema as S
from analysis.ingest import fhir, load_files
from analysis.outcomes import patient_outcomes
from analysis.sample_exports import FHIR_PATIENTS
from analysis.simulate import simulate, write_exports

ROOT = Path(__file__).resolve().parents[1]
EXPORTS = ROOT / "sample_data" / "exports"
BULK = sorted((EXPORTS / "fhir_bulk").glob("*.ndjson"))
SHAPES = {  # name: (files, patients (None: all), instruments, with treatments)
    "excel": ([EXPORTS / "practice.xlsx"], None, ("PHQ9", "GAD7", "PCL5", "PAIN_NRS", "YMRS"), True),
    "fhir_bundle": ([EXPORTS / "fhir_bundle.json"], FHIR_PATIENTS, ("PHQ9", "GAD7", "PCL5", "PAIN_NRS", "YMRS"), True),
    "fhir_bulk": (BULK, FHIR_PATIENTS, ("PHQ9", "GAD7", "PCL5", "PAIN_NRS", "YMRS"), True),
    "items": ([EXPORTS / "items.csv"], None, ("PHQ9", "GAD7"), False),
}


@pytest.fixture(scope="module")
def practice():
    return simulate()


@pytest.fixture(autouse=True)
def secret_file(tmp_path, monkeypatch):
    monkeypatch.setenv(fhir.KEY_ENV, str(tmp_path / "pseudonym.key"))


def rates(assessments, instrument):
    o = patient_outcomes(assessments, instrument)
    ev = o[o["evaluable"]]
    return len(ev), int(ev["response"].sum()), int(ev["remission"].sum())


@pytest.mark.parametrize("shape", SHAPES)
def test_each_export_loads_with_the_canonical_rows_and_rates(shape, practice):
    files, patients, instruments, with_treatments = SHAPES[shape]
    loaded = load_files(files)
    assert loaded.ok and not (loaded.issues["severity"] == "error").any(), loaded.issues
    a = practice.assessments
    t = practice.treatments
    if patients is not None:
        keep = set(practice.patients[S.PATIENT_ID].iloc[:patients])
        a, t = a[a[S.PATIENT_ID].isin(keep)], t[t[S.PATIENT_ID].isin(keep)]
    a = a[a[S.INSTRUMENT].isin(instruments)]
    got = loaded.assessments
    assert len(got) == len(a) and got[S.PATIENT_ID].nunique() == a[S.PATIENT_ID].nunique()
    for instrument in instruments:
        assert rates(got, instrument) == rates(a, instrument), instrument
    # the same scores on the same days, per instrument (the keys of a FHIR export are pseudonyms)
    for col in (S.INSTRUMENT, S.DAY, S.SCORE):
        assert sorted(got[col].tolist()) == sorted(a[col].tolist()), col
    # patient attributes as the canonical CSV's (site is not in the FHIR resources read)
    per_patient = got.drop_duplicates(S.PATIENT_ID)
    canon = a.drop_duplicates(S.PATIENT_ID)
    for col in (S.CONDITION, S.SEX, S.AGE_BAND):
        assert per_patient[col].value_counts().to_dict() == canon[col].value_counts().to_dict(), col
    item9 = got[S.PHQ9_ITEM9].dropna() if S.PHQ9_ITEM9 in got else pd.Series(dtype=float)
    if shape == "items":  # every PHQ-9 has its nine items, so item 9 is known for each
        assert len(item9) == (a[S.INSTRUMENT] == "PHQ9").sum()
    else:
        assert sorted(item9) == sorted(a[S.PHQ9_ITEM9].dropna())
    if with_treatments:
        tr = loaded.treatments
        assert len(tr) == len(t)
        assert tr[S.KIND].value_counts().to_dict() == t[S.KIND].value_counts().to_dict()
        assert tr[S.ROUTE].value_counts().to_dict() == t[S.ROUTE].value_counts().to_dict()
        assert sorted(tr[S.DAY]) == sorted(t[S.DAY])


def test_the_committed_exports_are_what_the_code_generates(tmp_path):
    made = write_exports(tmp_path)
    for path in made:
        committed = EXPORTS / path.relative_to(tmp_path)
        if path.suffix == ".xlsx":  # (a workbook's bytes carry the time it was saved: compare its cells)
            from openpyxl import load_workbook

            def cells(p):
                wb = load_workbook(p, read_only=True)
                return {ws.title: list(ws.iter_rows(values_only=True)) for ws in wb.worksheets}

            assert cells(path) == cells(committed)
        else:
            assert path.read_bytes() == committed.read_bytes(), committed


def test_the_exports_hold_no_names_addresses_or_identifiers():
    text = " ".join(p.read_text() for p in [EXPORTS / "fhir_bundle.json", *BULK, EXPORTS / "items.csv"])
    for field in ('"name"', '"address"', '"identifier"', '"telecom"'):
        assert field not in text
