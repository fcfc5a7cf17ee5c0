"""Import of the session monitoring record (analysis/ingest/monitoring.py): optional columns of a treatments file,
blood pressure written 128/82, adverse events as free text, CADSS vs CADSS-6, out-of-range vitals, the vitals file."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis import schema as S
from analysis.ingest import load_files
from analysis.ingest.monitoring import event_codes, rescue_value

SCORES = b"patient_id,instrument,score,day\nA1,PHQ9,20,0\nA1,PHQ9,8,21\nB2,PHQ9,18,0\nB2,PHQ9,15,21\n"


def load(treatments: bytes, *more, overrides=None):
    files = [("scores.csv", SCORES), ("sessions.csv", treatments), *more]
    return load_files(files, overrides=overrides)


def issue(loaded, code):
    rows = loaded.issues[loaded.issues["code"] == code]
    assert len(rows) == 1, loaded.issues[["code", "message"]].to_string()
    return rows.iloc[0]


def test_blood_pressure_written_as_one_value_is_split_into_systolic_and_diastolic():
    loaded = load(
        b"Patient ID,Day,Kind,BP pre,Peak BP,Heart rate pre\n"
        b"A1,0,induction,128/82,151/95 mmHg,70\n"
        b"B2,0,induction,, 140 / 90 ,81\n"
    )
    t = loaded.treatments
    assert loaded.ok
    assert t[S.SBP_PRE].tolist()[0] == 128 and t[S.DBP_PRE].tolist()[0] == 82
    assert t[S.SBP_PEAK].tolist() == [151, 140] and t[S.DBP_PEAK].tolist() == [95, 90]
    assert np.isnan(t[S.SBP_PRE].iloc[1]) and t[S.HR_PRE].tolist() == [70, 81]


def test_a_pressure_that_is_not_systolic_over_diastolic_is_left_out_with_an_issue():
    loaded = load(b"patient_id,day,kind,bp_pre\nA1,0,induction,high\nB2,0,induction,120/80\n")
    r = issue(loaded, "BAD_BLOOD_PRESSURE")
    assert r["rows"] == [2] and "high" not in r["message"] and r["column"] == "bp_pre"
    assert np.isnan(loaded.treatments[S.SBP_PRE].iloc[0]) and loaded.treatments[S.SBP_PRE].iloc[1] == 120
    assert len(loaded.treatments) == 2  # the session is kept


def test_out_of_range_vitals_are_flagged_like_scores_the_session_kept_the_value_left_out():
    loaded = load(
        b"patient_id,day,kind,sbp_pre,sbp_peak,spo2_min,cadss\n"
        b"A1,0,induction,120,400,96,10\nB2,0,induction,118,150,130,95\n"
    )
    t = loaded.treatments
    assert len(t) == 2 and loaded.ok
    assert np.isnan(t[S.SBP_PEAK].iloc[0]) and t[S.SBP_PEAK].iloc[1] == 150
    assert np.isnan(t[S.SPO2_MIN].iloc[1]) and np.isnan(t[S.CADSS].iloc[1]) and t[S.CADSS].iloc[0] == 10
    flagged = loaded.issues[loaded.issues["code"] == "MONITORING_OUT_OF_RANGE"]
    assert sorted(flagged["column"]) == ["cadss", "sbp_peak", "spo2_min"]
    assert flagged.set_index("column").loc["sbp_peak", "rows"] == [2]
    assert (flagged["severity"] == "warning").all()


def test_cadss_6_is_told_apart_from_the_cadss_total_by_the_column_name_or_the_mapping():
    six = load(b"patient_id,day,kind,CADSS-6\nA1,0,induction,14\nB2,0,induction,3\n").treatments
    assert six[S.CADSS6].tolist() == [14, 3] and S.CADSS not in six.columns
    total = load(b"patient_id,day,kind,CADSS total\nA1,0,induction,40\nB2,0,induction,3\n").treatments
    assert total[S.CADSS].tolist() == [40, 3] and S.CADSS6 not in total.columns
    mapped = load(
        b"patient_id,day,kind,Dissoc\nA1,0,induction,14\nB2,0,induction,3\n", overrides={"Dissoc": S.CADSS6}
    ).treatments
    assert mapped[S.CADSS6].tolist() == [14, 3]
    too_high = load(b"patient_id,day,kind,cadss6\nA1,0,induction,30\nB2,0,induction,3\n")
    assert issue(too_high, "MONITORING_OUT_OF_RANGE")["column"] == "cadss6"


@pytest.mark.parametrize(
    ("text", "codes", "unknown"),
    [
        ("Nausea, dizziness", "dizziness;nausea", []),
        ("nausea;vomiting", "nausea;vomiting", []),
        ("felt dizzy and nauseous", "dizziness;nausea", []),
        ("None", None, []),
        ("", None, []),
        (None, None, []),
        ("emergence_reaction", "emergence_reaction", []),
        ("High BP / tachy", "hypertension;tachycardia", []),
        ("itchy nose", "other", ["itchy nose"]),
        ("Drowsy; headache", "drowsiness;headache", []),
    ],
)
def test_adverse_events_as_codes_or_free_text(text, codes, unknown):
    assert event_codes(text) == (codes, unknown)


def test_free_text_adverse_events_in_a_file_become_codes_and_unknown_words_are_said():
    loaded = load(
        b"patient_id,day,kind,Side effects,Rescue med\n"
        b'A1,0,induction,"Nausea, dizziness",Ondansetron 4 mg\nB2,0,induction,itchy nose,No\nB2,2,induction,,\n'
    )
    t = loaded.treatments
    assert t[S.ADVERSE_EVENTS].tolist()[:2] == ["dizziness;nausea", "other"] and pd.isna(t[S.ADVERSE_EVENTS].iloc[2])
    assert t[S.RESCUE_MEDICATION].tolist()[:2] == ["ondansetron 4 mg", "no"]
    other = issue(loaded, "ADVERSE_EVENT_OTHER")
    assert other["rows"] == [3] and "row 3" in other["message"] and "itchy" not in other["message"]


def test_rescue_medication_yes_no_or_a_name():
    assert [rescue_value(v) for v in ("Yes", "N", "none", "Labetalol", None, "")] == [
        "yes",
        "no",
        "no",
        "labetalol",
        None,
        None,
    ]


VITALS = (
    b"Patient ID,Day,Minute,Systolic,Diastolic,Heart rate,SpO2\n"
    b"A1,0,-5,130,80,72,98\nA1,0,0,126,78,70,99\nA1,0,20,150,92,88,96\nA1,0,40,158,90,95,94\nA1,0,60,140,85,80,97\n"
    b"B2,0,0,118,70,66,98\nB2,0,30,125,79,70,97\n"
    b"B2,2,-10,120,71,,98\nB2,2,15,170,84,90,91\n"
)


def test_the_vitals_file_is_recognised_and_gives_pre_and_peak_per_session():
    loaded = load(b"patient_id,day,kind\nA1,0,induction\nB2,0,induction\nB2,2,induction\n", ("vitals.csv", VITALS))
    assert loaded.ok, loaded.issues
    t = loaded.treatments.set_index([S.PATIENT_ID, S.DAY])
    # pre: the reading at or before minute 0 (the last one); peak: the worst after it
    assert t.loc[("A1", 0), [S.SBP_PRE, S.DBP_PRE, S.HR_PRE, S.SPO2_PRE]].tolist() == [126, 78, 70, 99]
    assert t.loc[("A1", 0), [S.SBP_PEAK, S.DBP_PEAK, S.HR_PEAK, S.SPO2_MIN]].tolist() == [158, 92, 95, 94]
    assert t.loc[("B2", 2), [S.SBP_PRE, S.SBP_PEAK, S.SPO2_MIN]].tolist() == [120, 170, 91]
    assert np.isnan(t.loc[("B2", 2), S.HR_PRE])  # no heart rate before dosing that day
    assert "3 session(s)" in issue(loaded, "VITALS_DERIVED")["message"]


def test_a_value_measured_on_the_treatments_row_wins_over_the_vitals_file():
    loaded = load(b"patient_id,day,kind,sbp_peak\nA1,0,induction,200\nB2,0,induction,\n", ("vitals.csv", VITALS))
    t = loaded.treatments.set_index([S.PATIENT_ID, S.DAY])
    assert t.loc[("A1", 0), S.SBP_PEAK] == 200 and t.loc[("B2", 0), S.SBP_PEAK] == 125
    assert "1 patient-day(s)" in issue(loaded, "VITALS_WITHOUT_SESSION")["message"]  # B2 day 2 has no session


def test_vitals_on_dates_without_a_treatments_file_make_the_sessions():
    vitals = (
        b"patient_id,date,minute,bp,hr,spo2\n"
        b"A1,2026-03-02,0,120/80,70,98\nA1,2026-03-02,40,160/100,90,96\n"
        b"A1,2026-03-04,0,118/78,72,97\nA1,2026-03-04,40,140/90,85,95\n"
        b"B2,2026-03-05,0,110/70,60,99\nB2,2026-03-05,30,125/80,65,98\n"
    )
    loaded = load_files([("scores.csv", SCORES), ("vitals.csv", vitals)])
    assert loaded.ok, loaded.issues
    t = loaded.treatments.sort_values([S.PATIENT_ID, S.DAY])
    assert t[S.DAY].tolist() == [0, 2, 0] and set(t[S.KIND]) == {"induction"}
    assert t[S.SBP_PEAK].tolist() == [160, 140, 125] and t[S.DBP_PRE].tolist() == [80, 78, 70]
    issue(loaded, "SESSIONS_FROM_VITALS")


def test_out_of_range_readings_of_the_vitals_file_are_left_out_and_said():
    vitals = b"patient_id,day,minute,sbp,dbp\nA1,0,0,120,80\nA1,0,30,999,90\nA1,0,45,150,95\n"
    loaded = load(b"patient_id,day,kind\nA1,0,induction\nB2,0,induction\n", ("vitals.csv", vitals))
    t = loaded.treatments.set_index(S.PATIENT_ID)
    assert t.loc["A1", S.SBP_PEAK] == 150
    assert issue(loaded, "MONITORING_OUT_OF_RANGE")["rows"] == [3]


def test_the_sample_treatments_file_keeps_its_monitoring_record():
    from pathlib import Path

    root = Path(__file__).resolve().parents[1] / "sample_data"
    loaded = load_files([root / "assessments.csv", root / "treatments.csv"])
    t = loaded.treatments
    assert list(t.columns) == list(S.TREATMENT_COLUMNS) + list(S.MONITORING_COLUMNS)
    raw = pd.read_csv(root / "treatments.csv")
    assert np.allclose(t[S.SBP_PEAK].to_numpy(float), raw[S.SBP_PEAK].to_numpy(float), equal_nan=True)
    assert t[S.ADVERSE_EVENTS].fillna("").tolist() == raw[S.ADVERSE_EVENTS].fillna("").tolist()
    assert not loaded.issues["severity"].eq("warning").any()


def test_a_session_file_with_minutes_to_discharge_and_vitals_is_treatments_not_a_vitals_file():
    loaded = load(
        b"patient_id,day,kind,sbp_pre,dbp_pre,sbp_peak,dbp_peak,minutes_to_discharge\n"
        b"A1,0,induction,120,80,150,95,60\nB2,0,induction,130,85,140,90,45\n"
    )
    role = next(r for r in loaded.roles if r["file"] == "sessions.csv")
    assert role["role"] == "treatments"
    assert loaded.treatments.set_index(S.PATIENT_ID).loc["A1", S.MINUTES_TO_DISCHARGE] == 60
