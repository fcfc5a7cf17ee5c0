"""Files recognised by what they hold (analysis.ingest.roles), sessions read from free text, and values as
practices write them (age bands, sex and route spellings, scores with a stated maximum): issue 16, items 1-2."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import schema as S
from analysis.ingest import load_files
from analysis.ingest import written as V
from analysis.ingest.roles import ROLE_KEY

ROOT = Path(__file__).resolve().parents[1]

SCORES = "Pt Key,Form,Pts,Day\n" + "".join(
    f"P{p},{'PHQ-9' if i % 2 == 0 else 'GAD-7'},{s},{d}\n"
    for p in (1, 2)
    for i, (s, d) in enumerate([(20, 0), (15, 0), (8, 21), (6, 21)])
)
SESSIONS = (
    "Pt Key,Appt,Service Description,Provider\n"
    "P1,2025-03-03,Ketamine IV Infusion - Induction #1,Dr A\n"
    "P1,2025-03-05,Ketamine IV Infusion - Induction #2,Dr A\n"
    "P1,2025-04-20,Booster,Dr A\n"
    "P2,2025-03-10,Spravato 84mg,Dr B\n"
    "P2,2025-03-13,IV ketamine 0.5 mg/kg maintenance,Dr B\n"
)


def files(*pairs):
    return [(name, text.encode()) for name, text in pairs]


def role_of(loaded, name):
    return next(r for r in loaded.roles if r["file"] == name)


def test_a_file_whose_column_names_are_unknown_is_read_by_what_its_columns_hold():
    loaded = load_files(files(("scores.csv", SCORES), ("visits.csv", SESSIONS)))
    assert loaded.ok, loaded.to_text()
    a, t = loaded.assessments, loaded.treatments
    assert sorted(a[S.INSTRUMENT].unique()) == ["GAD7", "PHQ9"] and len(a) == 8
    scores, visits = role_of(loaded, "scores.csv"), role_of(loaded, "visits.csv")
    assert scores["role"] == "assessments" and "'Form' (by its values)" in scores["why"]
    assert visits["role"] == "treatments" and "'Service Description' (by its values)" in visits["why"]
    how = dict(zip(loaded.mapping["source"], loaded.mapping["how"]))
    assert how["Form"] == how["Pts"] == how["Service Description"] == how["Appt"] == "values"
    assert t[S.KIND].tolist() == ["induction", "induction", "booster", "induction", "maintenance"]
    assert t[S.ROUTE].tolist()[:2] == ["IV", "IV"] and pd.isna(t[S.ROUTE].iloc[2])
    assert t[S.ROUTE].iloc[3] == "esketamine" and t[S.ROUTE].iloc[4] == "IV"
    assert t[S.DOSE_MG].iloc[3] == 84 and np.isnan(t[S.DOSE_MG].iloc[0])
    assert t[S.DOSE].iloc[4] == 0.5 and np.isnan(t[S.DOSE].iloc[3])
    assert t[S.DAY].tolist() == [0, 2, 48, 0, 3]
    assumed = loaded.issues[loaded.issues["code"] == "KIND_ASSUMED_FROM_TEXT"]
    assert len(assumed) == 1 and "Spravato 84mg" in assumed["message"].iloc[0]
    text = loaded.to_text()
    assert "File 'visits.csv': treatments" in text and "File 'scores.csv': assessments" in text


@pytest.mark.parametrize(
    "text,kind,route,per_kg,mg",
    [
        ("Ketamine IV Infusion - Induction #3", "induction", "IV", None, None),
        ("Booster", "booster", None, None, None),
        ("Spravato 84mg", None, "esketamine", None, 84),
        ("Spravato (esketamine) 56 mg - maintenance", "maintenance", "esketamine", None, 56),
        ("IM ketamine 0,75 mg/kg booster", "booster", "IM", 0.75, None),
    ],
)
def test_a_session_written_in_words_gives_its_kind_route_and_dose(text, kind, route, per_kg, mg):
    k, r, d, m, treatment = V.session_text(text)
    assert (k, r) == (kind, route) and treatment
    assert (np.isnan(d) if per_kg is None else d == per_kg) and (np.isnan(m) if mg is None else m == mg)


def test_the_user_chooses_a_role_and_the_choice_wins_and_is_said():
    # a treatments file whose session column is coded in a way no rule reads: without a choice, not recognised
    odd = "Pt Key,Visit Date,Dose\nP1,2025-03-03,35\nP2,2025-03-10,40\n"
    loaded = load_files(files(("scores.csv", SCORES), ("odd.csv", odd)))
    assert role_of(loaded, "odd.csv")["role"] == "treatments"  # a dose column: treatments by its name
    chosen = load_files(
        files(("scores.csv", SCORES), ("odd.csv", odd)), overrides={ROLE_KEY + "odd.csv": "assessments"}
    )
    r = role_of(chosen, "odd.csv")
    assert r["role"] == "assessments" and r["chosen"] and r["why"] == "chosen by hand"
    assert not chosen.ok and "MISSING_COLUMNS" in set(chosen.issues["code"])
    with pytest.raises(KeyError, match="assessments, treatments, vitals"):
        load_files(files(("scores.csv", SCORES)), overrides={ROLE_KEY + "scores.csv": "visits"})
    unused = load_files(files(("scores.csv", SCORES)), overrides={ROLE_KEY + "nope.csv": "treatments"})
    assert "ROLE_UNUSED" in set(unused.issues["code"])


def test_a_minute_by_minute_vitals_file_is_recognised_as_vitals_and_said_so():
    vitals = "Patient ID,Date,Minute,SBP,DBP,HR,SpO2\nP1,2025-03-03,0,128,82,70,98\nP1,2025-03-03,5,140,88,75,97\n"
    loaded = load_files(files(("scores.csv", SCORES), ("vitals.csv", vitals)))
    assert role_of(loaded, "vitals.csv")["role"] == "vitals"
    assert "minute" in role_of(loaded, "vitals.csv")["why"]


def test_the_command_line_says_each_files_role_and_takes_role_by_hand(tmp_path):
    (tmp_path / "scores.csv").write_text(SCORES)
    (tmp_path / "visits.csv").write_text(SESSIONS)
    cmd = [sys.executable, "-m", "analysis", "validate", str(tmp_path / "scores.csv"), str(tmp_path / "visits.csv")]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.returncode == 0 and "File 'visits.csv': treatments (sessions in 'Service Description'" in done.stdout
    done = subprocess.run(
        cmd + ["--json", "--role", "visits.csv=assessments"], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    report = json.loads(done.stdout)
    assert (
        done.returncode == 1
        and {"file": "visits.csv", "role": "assessments", "why": "chosen by hand", "chosen": True} in (report["roles"])
    )
    bad = subprocess.run(cmd + ["--role", "visits.csv=visits"], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


# --- values as practices write them ---------------------------------------------------------------------------
def test_well_formed_age_bands_are_kept_as_written_and_ordered():
    bands = ["65+", "60 and over", "18-29", "Under 25", "30 - 44", "45-54", ">= 70", "bogus", "95+", "12-15"]
    text = "Patient ID,Measure,Score,Day,Age Group\n" + "".join(f"P{i},PHQ-9,3,0,{b}\n" for i, b in enumerate(bands))
    loaded = load_files(files(("a.csv", text)))
    got = loaded.assessments[S.AGE_BAND].tolist()
    assert got[:7] == ["65+", "60 and over", "18-29", "Under 25", "30 - 44", "45-54", ">= 70"]
    assert pd.isna(got[7]) and got[8] == "90+" and pd.isna(got[9])  # (95+: ages over 89 are '90+'; under 18: none)
    assert "UNKNOWN_AGE_BAND" in set(loaded.issues["code"])
    order = sorted(["65+", "18-29", "Under 25", "60 and over", "45-54", "90+", "25-34"], key=V.age_band_key)
    assert order == ["Under 25", "18-29", "25-34", "45-54", "60 and over", "65+", "90+"]


@pytest.mark.parametrize(
    "written,sex", [("Female", "F"), ("Cis woman", "F"), ("MALE", "M"), ("Non-binary", "X"), ("Genderqueer", "X")]
)
def test_sex_spellings(written, sex):
    assert V.sex_spelling(V.value_key(written)) == sex


@pytest.mark.parametrize(
    "written,route",
    [("I.V.", "IV"), ("IV drip", "IV"), ("by mouth", "oral"), ("Spravato Nasal Spray", "esketamine"), ("NS", None)],
)
def test_route_spellings(written, route):
    assert V.route_spelling(V.value_key(written)) == route


def test_a_score_with_its_maximum_is_read_only_when_the_maximum_is_the_instruments():
    text = (
        "Patient ID,Measure,Score,Day\n"
        "P1,PHQ-9,14/27,0\nP1,PHQ-9,6 / 27,21\nP1,GAD-7,12 out of 21,0\nP1,GAD-7,9/27,21\nP1,PHQ-9,14/30,28\n"
    )
    loaded = load_files(files(("a.csv", text)))
    a = loaded.assessments
    assert a[S.SCORE].tolist() == [14, 6, 12] and a[S.DAY].tolist() == [0, 21, 0]
    codes = set(loaded.issues["code"])
    assert {"SCORE_OUT_OF", "SCORE_MAXIMUM_MISMATCH"} <= codes
    mismatch = loaded.issues[loaded.issues["code"] == "SCORE_MAXIMUM_MISMATCH"].iloc[0]
    assert mismatch["rows"] == [5, 6] and "(GAD7, PHQ9)" in mismatch["message"]
    assert "9/27" not in mismatch["message"] and "14/30" not in mismatch["message"]
