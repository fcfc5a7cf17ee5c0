"""Write the vendor corpus (tests/data/vendors/): one small practice, written down by hand below, exported in the
shapes EHRs and practice software give (issue 16), and expected.json: what each shape must load to.

The practice: eight patients, PHQ-9 at the first infusion (day 0) and three weeks later (day 21; V08 only on day 45,
after the response window), GAD-7 for three of them, three induction infusions each (days 0, 2, 4) and a booster on
day 35 for V01. By DESIGN's definitions, worked out by hand:

- PHQ-9: evaluable 7 (V08 has no score in days 14-31); responders 4 (V01 20->8 60%, V02 18->4, V04 16->3, V06 15->7
  53%; V05 24->13 is 46%, V07 19->10 47%, V03 22->15 32%); remitters 2 (V02 4, V04 3; V01's 8 and V06's 7 are > 4).
- GAD-7: evaluable 3; responders 2 (V01 14->5 64%, V02 12->3 75%; V03 10->9); remitters 1 (V02 3; V01's 5 > 4).

Every shape of it must load to these rates and counts: 22 scores (16 PHQ-9, 6 GAD-7) of 8 patients and, where the
shape has sessions, 25 sessions (24 induction, 1 booster). Run ``python tests/data/vendors/make_vendors.py`` after
changing it; tests/test_vendor_exports.py checks the files on disk are what this writes.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

PHQ9 = {
    "V01": [(0, 20), (21, 8)],
    "V02": [(0, 18), (21, 4)],
    "V03": [(0, 22), (21, 15)],
    "V04": [(0, 16), (21, 3)],
    "V05": [(0, 24), (21, 13)],
    "V06": [(0, 15), (21, 7)],
    "V07": [(0, 19), (21, 10)],
    "V08": [(0, 12), (45, 6)],
}
GAD7 = {"V01": [(0, 14), (21, 5)], "V02": [(0, 12), (21, 3)], "V03": [(0, 10), (21, 9)]}
SESSIONS = {p: [(0, "induction"), (2, "induction"), (4, "induction")] for p in PHQ9}
SESSIONS["V01"] = [*SESSIONS["V01"], (35, "booster")]
#: condition (as written by the vendor, canonical), sex, age in years at day 0
PATIENTS = {
    "V01": ("Major Depressive Disorder", "depression", "F", 67),
    "V02": ("Major Depressive Disorder", "depression", "M", 23),
    "V03": ("Generalized Anxiety Disorder", "anxiety", "F", 41),
    "V04": ("PTSD", "ptsd", "F", 35),
    "V05": ("Major Depressive Disorder", "depression", "M", 58),
    "V06": ("Bipolar Depression", "bipolar_depression", "F", 72),
    "V07": ("Major Depressive Disorder", "depression", "M", 30),
    "V08": ("Major Depressive Disorder", "depression", "F", 49),
}
ICD10 = {"depression": "F33.1", "anxiety": "F41.1", "ptsd": "F43.10", "bipolar_depression": "F31.4"}
START = {p: dt.date(2025, 1, 6) + dt.timedelta(days=9 * k) for k, p in enumerate(PHQ9)}
PHQ9_QUESTIONS = (
    "Little interest or pleasure in doing things",
    "Feeling down, depressed, or hopeless",
    "Trouble falling or staying asleep, or sleeping too much",
    "Feeling tired or having little energy",
    "Poor appetite or overeating",
    "Feeling bad about yourself - or that you are a failure",
    "Trouble concentrating on things",
    "Moving or speaking so slowly that other people could have noticed",
    "Thoughts that you would be better off dead or of hurting yourself",
)
GAD7_QUESTIONS = (
    "Feeling nervous, anxious, or on edge",
    "Not being able to stop or control worrying",
    "Worrying too much about different things",
    "Trouble relaxing",
    "Being so restless that it is hard to sit still",
    "Becoming easily annoyed or irritable",
    "Feeling afraid as if something awful might happen",
)
WORDS = ("Not at all", "Several days", "More than half the days", "Nearly every day")
LOINC_PHQ9_ITEMS = ("44250-9", "44255-8", "44259-0", "44254-1", "44251-7", "44258-2", "44252-5", "44253-3", "44260-8")
LOINC_GAD7_ITEMS = ("69725-0", "68509-9", "69733-4", "69734-2", "69735-9", "69689-8", "69736-7")

ALL = {"assessments": 22, "patients": 8, "instruments": ["GAD7", "PHQ9"]}
RATES = {"PHQ9": [7, 4, 2], "GAD7": [3, 2, 1]}  # evaluable, responders, remitters
SESSIONS_EXPECTED = {"treatments": 25, "kinds": {"induction": 24, "booster": 1}}
NAMES = {"V01": ("Jane", "Roe"), "V02": ("John", "Doe"), "V03": ("Mary", "Major"), "V04": ("Ann", "Smithers")}
IDENTIFYING = ["Jane", "Roe", "Mary", "Major", "Smithers", "MRN-7781", "Elm Street", "Springfield", "555-0142"]


def date(p: str, day: int) -> dt.date:
    return START[p] + dt.timedelta(days=day)


def scores():
    """(patient, instrument, day, score) of every assessment."""
    return [(p, "PHQ9", d, s) for p, v in PHQ9.items() for d, s in v] + [
        (p, "GAD7", d, s) for p, v in GAD7.items() for d, s in v
    ]


def items(total: int, n: int) -> list[int]:
    """``n`` answers 0-3 summing to ``total``: as evenly as they go, the larger answers first."""
    return [total // n + (1 if k < total % n else 0) for k in range(n)]


def csv(rows: list[list], sep: str = ",") -> bytes:
    def cell(v):
        v = "" if v is None else str(v)
        return f'"{v}"' if sep in v or '"' in v else v

    return ("\r\n".join(sep.join(cell(v) for v in r) for r in rows) + "\r\n").encode()


def fixed_xlsx(wb) -> bytes:
    """The workbook's bytes with fixed timestamps (reproducible)."""
    wb.properties.created = wb.properties.modified = dt.datetime(2025, 6, 1)
    buf = io.BytesIO()
    wb.save(buf)
    fixed = io.BytesIO()
    with zipfile.ZipFile(buf) as src, zipfile.ZipFile(fixed, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                data = re.sub(
                    rb"<dcterms:modified[^>]*>[^<]*</dcterms:modified>",
                    b'<dcterms:modified xsi:type="dcterms:W3CDTF">2025-06-01T00:00:00Z</dcterms:modified>',
                    data,
                )
            out.writestr(zipfile.ZipInfo(info.filename, date_time=(2025, 6, 1, 0, 0, 0)), data, zipfile.ZIP_DEFLATED)
    return fixed.getvalue()


# --- the shapes ---------------------------------------------------------------------------------------------
def excel_merged_titles() -> bytes:
    """A practice-management report: a merged title and a 'Run on' line above each sheet's header, Excel dates,
    sessions in free text under 'Appointment Type', and a summary sheet that is not a table of rows."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "Outcome Measures"
    ws.append(["Riverbend Ketamine Clinic - Outcome Measures Report"])
    ws.merge_cells("A1:F1")
    ws.append(["Run on 06/01/2025 by front desk"])
    ws.append([])
    ws.append(["Patient ID", "Assessment", "Total Score", "Date Completed", "Primary Dx", "Gender"])
    for p, ins, d, s in scores():
        ws.append([p, {"PHQ9": "PHQ-9", "GAD7": "GAD-7"}[ins], s, date(p, d), PATIENTS[p][0], PATIENTS[p][2]])
    for row in ws.iter_rows(min_row=5, min_col=4, max_col=4):
        row[0].number_format = "mm/dd/yyyy"
    v = wb.create_sheet("Appointments")
    v.append(["Riverbend Ketamine Clinic - Appointments"])
    v.merge_cells("A1:C1")
    v.append([])
    v.append(["Patient ID", "Appt Date", "Appointment Type"])
    for p, sessions in SESSIONS.items():
        for n, (d, kind) in enumerate(sessions, start=1):
            name = f"Ketamine IV Infusion - Induction #{n}" if kind == "induction" else "Ketamine IV Booster"
            v.append([p, date(p, d), name])
    summary = wb.create_sheet("Summary")
    summary.append(["Appointments this period: 25"])
    summary.append(["Completed measures: 22"])
    return fixed_xlsx(wb)


def free_text_sessions() -> list[tuple[str, bytes]]:
    """Scores, and a visits file whose sessions sit under a column on no list ('Service Rendered'), Spravato's
    dose written in the name."""
    a = [["Patient ID", "Measure", "Total Score", "Date Administered"]]
    a += [[p, {"PHQ9": "PHQ-9", "GAD7": "GAD-7"}[i], s, date(p, d).strftime("%m/%d/%Y")] for p, i, d, s in scores()]
    v = [["Patient ID", "Visit Date", "Service Rendered"]]
    for p, sessions in SESSIONS.items():
        for n, (d, kind) in enumerate(sessions, start=1):
            esk = p in ("V03", "V07")
            if kind == "booster":
                name = "Booster"
            else:
                name = f"Spravato {56 if n < 3 else 84}mg" if esk else f"Ketamine IV Infusion - Induction #{n}"
            v.append([p, date(p, d).strftime("%m/%d/%Y"), name])
    return [("ff_scores.csv", csv(a)), ("ff_visits.csv", csv(v))]


def bands_65_plus() -> bytes:
    """Age written as the practice's own bands ('Under 25', '25-44', '45-64', '65+'), sex spelled out."""

    def band(age):
        return "Under 25" if age < 25 else "25-44" if age < 45 else "45-64" if age < 65 else "65+"

    rows = [["Client ID", "Instrument", "Score", "Date", "Age Range", "Sex", "Program"]]
    sex = {"F": "Female", "M": "Male"}
    for p, i, d, s in scores():
        rows.append([p, i, s, date(p, d).isoformat(), band(PATIENTS[p][3]), sex[PATIENTS[p][2]], "Ketamine"])
    return csv(rows)


def scores_with_maximum() -> bytes:
    """Scores written with the instrument's maximum ('14/27', '5/21'), dates with a time under a name on no list
    (found by their values), a notes column, and a key column on no list ('patient_ref': the user maps it)."""
    rows = [["patient_ref", "questionnaire", "result", "completed_at", "notes"]]
    top = {"PHQ9": 27, "GAD7": 21}
    for p, i, d, s in scores():
        rows.append([p, {"PHQ9": "PHQ9", "GAD7": "GAD7"}[i], f"{s}/{top[i]}", f"{date(p, d).isoformat()} 09:15", ""])
    return csv(rows)


def items_by_question() -> bytes:
    """A patient-portal questionnaire export: one row per form, the items named by their question text (PHQ-9)
    or number ('GAD-7 Q1'), answers 0-3."""
    head = ["Patient ID", "Date Completed", "Form", *PHQ9_QUESTIONS, *(f"GAD-7 Q{k}" for k in range(1, 8))]
    rows = [head]
    for p, i, d, s in scores():
        phq = items(s, 9) if i == "PHQ9" else [None] * 9
        gad = items(s, 7) if i == "GAD7" else [None] * 7
        rows.append([p, date(p, d).isoformat(), {"PHQ9": "PHQ-9", "GAD7": "GAD-7"}[i], *phq, *gad])
    return csv(rows)


def item_rows() -> bytes:
    """Item rows: one row per question answered, the answer in the form's words, semicolon-separated."""
    rows = [["Patient", "Date", "Question", "Answer"]]
    for p, i, d, s in scores():
        questions = PHQ9_QUESTIONS if i == "PHQ9" else GAD7_QUESTIONS
        for q, a in zip(questions, items(s, len(questions))):
            rows.append([p, date(p, d).strftime("%d.%m.%Y"), q, WORDS[a]])
    return csv(rows, ";")


def wide_by_visit() -> bytes:
    """One row per patient, one column per instrument and visit named by its week (no dates: the visit is the
    day); V08's second PHQ-9 falls in week 6."""
    rows = [["Patient ID", "PHQ-9 Baseline", "PHQ-9 Week 3", "PHQ-9 Week 6", "GAD-7 Baseline", "GAD-7 Week 3"]]
    for p in PHQ9:
        phq, g = dict(PHQ9[p]), dict(GAD7.get(p, []))
        rows.append([p, phq[0], phq.get(21), phq.get(45), g.get(0), g.get(21)])
    return csv(rows)


def tab_practice_software() -> bytes:
    """Tab-separated, from practice software: abbreviated names, dates as 06-Jan-2025."""
    rows = [["Pt ID", "Survey", "Raw Score", "Svc Date", "Loc"]]
    for p, i, d, s in scores():
        rows.append([p, {"PHQ9": "PHQ 9", "GAD7": "GAD 7"}[i], s, date(p, d).strftime("%d-%b-%Y"), "Main St"])
    return csv(rows, "\t")


def excel_scores_csv_sessions() -> list[tuple[str, bytes]]:
    """Scores from the EHR as a workbook (Excel dates, one sheet), sessions from the billing system as CSV with
    the route spelled out ('Intramuscular') and the session in free text."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "PHQ GAD"
    ws.append(["MRN-free export", None, None, None])
    ws.append(["Patient ID", "Measure", "Score", "Date"])
    for p, i, d, s in scores():
        ws.append([p, {"PHQ9": "PHQ-9", "GAD7": "GAD-7"}[i], s, dt.datetime.combine(date(p, d), dt.time(9, 30))])
    v = [["Patient ID", "DOS", "Description", "Route"]]
    for p, sessions in SESSIONS.items():
        for n, (d, kind) in enumerate(sessions, start=1):
            what = f"Ketamine IM injection, induction {n} of 6" if kind == "induction" else "Ketamine IM booster"
            v.append([p, date(p, d).isoformat(), what, "Intramuscular"])
    return [("ehr_scores.xlsx", fixed_xlsx(wb)), ("billing_sessions.csv", csv(v))]


def _fhir_patient(p: str) -> dict:
    born = date(p, 0) - dt.timedelta(days=round((PATIENTS[p][3] + 0.5) * 365.25))
    res = {"resourceType": "Patient", "id": p.lower(), "gender": {"F": "female", "M": "male"}[PATIENTS[p][2]]}
    res["birthDate"] = born.isoformat()
    if p in NAMES:  # what an EHR's Patient holds: none of it may reach the dashboard
        res["name"] = [{"family": NAMES[p][1], "given": [NAMES[p][0]]}]
        res["identifier"] = [{"system": "urn:oid:1.2.3.4", "value": "MRN-7781" + p[-1]}]
        res["address"] = [{"line": ["12 Elm Street"], "city": "Springfield", "postalCode": "01234"}]
        res["telecom"] = [{"system": "phone", "value": "555-0142"}]
    return res


def _fhir_condition(p: str) -> dict:
    code = ICD10[PATIENTS[p][1]]
    system = "http://hl7.org/fhir/sid/icd-10-cm"
    return {"resourceType": "Condition", "subject": {"reference": f"Patient/{p.lower()}"},
            "code": {"coding": [{"system": system, "code": code}]}}  # fmt: skip


def _fhir_total(p: str, ins: str, d: int, s: int) -> dict:
    code = {"PHQ9": "44261-6", "GAD7": "70274-6"}[ins]
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
        "subject": {"reference": f"Patient/{p.lower()}"},
        "effectiveDateTime": f"{date(p, d).isoformat()}T14:05:00-06:00",
        "valueQuantity": {"value": s, "unit": "{score}"},
    }


def _fhir_session(p: str, d: int, kind: str) -> dict:
    return {
        "resourceType": "MedicationAdministration",
        "status": "completed",
        "medicationCodeableConcept": {
            "coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "6130", "display": "ketamine"}]
        },  # fmt: skip
        "subject": {"reference": f"Patient/{p.lower()}"},
        "effectiveDateTime": f"{date(p, d).isoformat()}T10:00:00-06:00",
        "category": {"text": kind.title()},
        "dosage": {"route": {"text": "Intravenous"}, "dose": {"value": 0.5, "unit": "mg/kg"}},
    }


def fhir_bundle() -> bytes:
    """A FHIR R4 Bundle (searchset, absolute fullUrls) of Patients with names and identifiers, Conditions,
    Observations (LOINC totals) and MedicationAdministrations."""
    res = [_fhir_patient(p) for p in PHQ9] + [_fhir_condition(p) for p in PHQ9]
    res += [_fhir_total(p, i, d, s) for p, i, d, s in scores()]
    res += [_fhir_session(p, d, k) for p, v in SESSIONS.items() for d, k in v]
    entries = [
        {"fullUrl": f"https://ehr.example/fhir/{r['resourceType']}/{n}", "resource": r} for n, r in enumerate(res)
    ]
    return json.dumps({"resourceType": "Bundle", "type": "searchset", "total": len(res), "entry": entries},
                      indent=1).encode()  # fmt: skip


def fhir_bulk() -> list[tuple[str, bytes]]:
    """A bulk export ($export): one NDJSON file per type; PHQ-9 totals as Observations, GAD-7 as
    QuestionnaireResponses answered item by item (LOINC item codes as linkIds), sessions as Procedures."""

    def nd(resources):
        return ("\n".join(json.dumps(r) for r in resources) + "\n").encode()

    qr = []
    for p, v in GAD7.items():
        for d, s in v:
            its = [{"linkId": c, "answer": [{"valueCoding": {"system": "http://loinc.org", "display": WORDS[a]}}]}
                   for c, a in zip(LOINC_GAD7_ITEMS, items(s, 7))]  # fmt: skip
            qr.append({"resourceType": "QuestionnaireResponse", "status": "completed",
                       "subject": {"reference": f"Patient/{p.lower()}"}, "authored": f"{date(p, d).isoformat()}T08:00:00Z",
                       "item": its})  # fmt: skip
    proc = [
        {"resourceType": "Procedure", "status": "completed", "subject": {"reference": f"Patient/{p.lower()}"},
         "code": {"text": f"Ketamine IV infusion - {k}"}, "performedDateTime": date(p, d).isoformat()}
        for p, v in SESSIONS.items() for d, k in v
    ]  # fmt: skip
    return [
        ("bulk_Patient.ndjson", nd([_fhir_patient(p) for p in PHQ9])),
        ("bulk_Condition.ndjson", nd([_fhir_condition(p) for p in PHQ9])),
        ("bulk_Observation.ndjson", nd([_fhir_total(p, i, d, s) for p, i, d, s in scores() if i == "PHQ9"])),
        ("bulk_QuestionnaireResponse.ndjson", nd(qr)),
        ("bulk_Procedure.ndjson", nd(proc)),
    ]


def excel_notes_only() -> bytes:
    """A workbook saved before the report was pasted in: no sheet holds a table."""
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.append(["Paste the outcome report here"])
    return fixed_xlsx(wb)


def fhir_patients_only() -> bytes:
    """A FHIR export of Patients only (the Observations were not exported)."""
    return ("\n".join(json.dumps(_fhir_patient(p)) for p in PHQ9) + "\n").encode()


def cases() -> list[dict]:
    """Each shape: its files (name, bytes) and what it must load to."""
    usable = {"ok": True, **ALL, "rates": RATES}
    bands_written = {"Under 25": 1, "25-44": 3, "45-64": 2, "65+": 2}
    bands_fhir = {"18-24": 1, "25-34": 1, "35-44": 2, "45-54": 1, "55-64": 1, "65-74": 2}
    return [
        {"name": "excel_merged_titles", "files": [("riverbend_report.xlsx", excel_merged_titles())], **usable,
         **SESSIONS_EXPECTED, "codes": ["PREAMBLE_SKIPPED", "SHEET_LEFT_OUT"], "sex": {"F": 5, "M": 3},
         "conditions": {"depression": 5, "anxiety": 1, "ptsd": 1, "bipolar_depression": 1}},
        {"name": "free_text_sessions", "files": free_text_sessions(), **usable, **SESSIONS_EXPECTED,
         "routes": {"IV": 18, "esketamine": 6}},  # ('Booster' names no route)
        {"name": "bands_65_plus", "files": [("bands_65_plus.csv", bands_65_plus())], **usable,
         "age_bands": bands_written, "sex": {"F": 5, "M": 3}},
        {"name": "scores_with_maximum", "files": [("scores_out_of.csv", scores_with_maximum())], **usable,
         "overrides": {"patient_ref": "patient_id"}},  # (refused without: 'patient_ref' suggested as the key)
        {"name": "items_by_question", "files": [("portal_forms.csv", items_by_question())], **usable,
         "codes": ["ITEMS_SUMMED"], "item9": 16},
        {"name": "item_rows", "files": [("item_rows.csv", item_rows())], **usable, "codes": ["ITEMS_SUMMED"],
         "item9": 16},
        {"name": "wide_by_visit", "files": [("wide_by_visit.csv", wide_by_visit())], **usable},
        {"name": "tab_practice_software", "files": [("practice_software.tsv", tab_practice_software())], **usable},
        {"name": "excel_scores_csv_sessions", "files": excel_scores_csv_sessions(), **usable, **SESSIONS_EXPECTED,
         "routes": {"IM": 25}},
        {"name": "fhir_bundle", "files": [("ehr_bundle.json", fhir_bundle())], **usable, **SESSIONS_EXPECTED,
         "age_bands": bands_fhir, "sex": {"F": 5, "M": 3},
         "conditions": {"depression": 5, "anxiety": 1, "ptsd": 1, "bipolar_depression": 1},
         "absent": IDENTIFYING},
        {"name": "fhir_bulk", "files": fhir_bulk(), **usable, **SESSIONS_EXPECTED, "age_bands": bands_fhir,
         "absent": IDENTIFYING},
        {"name": "excel_notes_only", "files": [("empty_report.xlsx", excel_notes_only())], "ok": False,
         "codes": ["EMPTY_WORKBOOK"], "words": ["No sheet of the workbook holds a table"]},
        {"name": "fhir_patients_only", "files": [("Patient.ndjson", fhir_patients_only())], "ok": False,
         "codes": ["NO_FHIR_SCORES"], "words": ["Export the Observation"], "absent": IDENTIFYING},
    ]  # fmt: skip


def main() -> None:
    expected = []
    for case in cases():
        for name, data in case["files"]:
            (HERE / name).write_bytes(data)
        expected.append({**case, "files": [name for name, _ in case["files"]]})
    (HERE / "expected.json").write_text(json.dumps(expected, indent=1) + "\n")
    print(f"wrote {len(expected)} shapes to {HERE}")


if __name__ == "__main__":
    main()
