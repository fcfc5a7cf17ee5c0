"""The vendor corpus (tests/data/vendors/, made by make_vendors.py): one small practice worked out by hand, exported
in the shapes EHRs give (Excel with merged title rows, FHIR Bundle and bulk NDJSON, items by question text and as
rows, free-text sessions, written age bands, scores out of the maximum, one column per visit). Each shape loads to
the rows, rates and attributes expected.json gives, or is refused with its message (issue 16)."""

import importlib.util
import json
from pathlib import Path

import pytest

from analysis import schema as S
from analysis.ingest import fhir, load_files
from analysis.outcomes import patient_outcomes

VENDORS = Path(__file__).resolve().parent / "data" / "vendors"
CASES = json.loads((VENDORS / "expected.json").read_text())


@pytest.fixture(autouse=True)
def secret_file(tmp_path, monkeypatch):
    monkeypatch.setenv(fhir.KEY_ENV, str(tmp_path / "pseudonym.key"))


def test_the_corpus_has_at_least_ten_usable_shapes_and_refusals():
    assert sum(c["ok"] for c in CASES) >= 10 and not all(c["ok"] for c in CASES)
    assert all((VENDORS / f).is_file() for c in CASES for f in c["files"])


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_each_vendor_shape_loads_to_its_expected_rows_and_rates(case):
    files = [VENDORS / f for f in case["files"]]
    if "overrides" in case:  # refused without the user's mapping, which the refusal suggests
        refused = load_files(files)
        fix = refused.issues.set_index("code").loc["MISSING_COLUMNS", "fix"]
        assert not refused.ok and {fix["column"]: fix["targets"][0]} == case["overrides"]
    loaded = load_files(files, overrides=case.get("overrides"))
    codes = set(loaded.issues["code"])
    assert set(case.get("codes", [])) <= codes, loaded.issues[["code", "message"]].to_string()
    texts = [
        loaded.to_text(),
        json.dumps(loaded.to_json(), default=str),
        loaded.issues.to_csv(),
        loaded.mapping.to_csv(),
    ]
    texts += [loaded.assessments.to_csv()] + ([loaded.treatments.to_csv()] if loaded.treatments is not None else [])
    for value in case.get("absent", []):
        assert not any(value in t for t in texts), value
    for words in case.get("words", []):
        assert words in " ".join(loaded.issues["message"])
    assert loaded.ok is case["ok"], loaded.issues[["code", "message"]].to_string()
    if not case["ok"]:
        assert (loaded.issues["severity"] == "error").any()
        return
    assert not (loaded.issues["severity"] == "error").any()
    a = loaded.assessments
    assert len(a) == case["assessments"] and a[S.PATIENT_ID].nunique() == case["patients"]
    assert sorted(a[S.INSTRUMENT].unique()) == case["instruments"]
    for instrument, (evaluable, responders, remitters) in case["rates"].items():
        o = patient_outcomes(a, instrument)
        ev = o[o["evaluable"]]
        assert (len(ev), int(ev["response"].sum()), int(ev["remission"].sum())) == (evaluable, responders, remitters)
    per_patient = a.drop_duplicates(S.PATIENT_ID)
    for key, col in (("age_bands", S.AGE_BAND), ("sex", S.SEX), ("conditions", S.CONDITION)):
        if key in case:
            assert per_patient[col].astype(str).value_counts().to_dict() == case[key], col
    if "item9" in case:
        assert a[S.PHQ9_ITEM9].notna().sum() == case["item9"]
    if "treatments" in case:
        t = loaded.treatments
        assert len(t) == case["treatments"]
        assert t[S.KIND].value_counts().to_dict() == case["kinds"]
        if "routes" in case:
            assert t[S.ROUTE].value_counts().to_dict() == case["routes"]
    else:
        assert loaded.treatments is None or loaded.treatments.empty


def test_the_corpus_on_disk_is_what_make_vendors_writes():
    spec = importlib.util.spec_from_file_location("make_vendors", VENDORS / "make_vendors.py")
    make_vendors = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_vendors)
    for case in make_vendors.cases():
        for name, data in case["files"]:
            assert (VENDORS / name).read_bytes() == data, name
