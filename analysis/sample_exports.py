"""The sample practice in the shapes practices export (issue 16), written to ``sample_data/exports/`` by
``python -m analysis sample --exports`` (:func:`analysis.simulate.write_exports`):

- ``practice.xlsx``: an Excel workbook, a sheet of scores and a sheet of infusions, each under a merged title row
  and a 'Run on' line, dates as Excel dates, sessions named in free text ('Ketamine IV Infusion - Induction #3');
- ``fhir_bundle.json``: a FHIR R4 Bundle of Patient, Condition (ICD-10 and SNOMED CT), Observation (LOINC
  44261-6 PHQ-9 total, 44260-8 item 9, 70274-6 GAD-7 total; the other instruments by name) and
  MedicationAdministration resources;
- ``fhir_bulk/*.ndjson``: the same resources as a bulk export, one NDJSON file per resource type;
- ``items.csv``: PHQ-9 (items named by their question) and GAD-7 (items by number) item by item.

Dates are the sample's calendar (start month + the patient's start day + the day offset), so every export loads to
the days of the canonical CSV and to the same response and remission rates. The FHIR exports hold the first
``FHIR_PATIENTS`` patients (a Bundle of the whole practice would be 10 MB). Names, addresses and identifiers are
never written; the FHIR Patients' birth dates are synthetic (drawn inside the patient's age band) so that the
importer has something to turn into a band. Item answers are drawn from a random stream of their own
(``[seed, 16]``), summing to the canonical totals, item 9 the canonical ``phq9_item9`` where there is one.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd

from analysis import schema as S
from analysis.simulate import VENDOR_DIAGNOSES as DIAGNOSES
from analysis.simulate import VENDOR_MEASURES as MEASURES

#: patients in the FHIR exports (the first of the practice)
FHIR_PATIENTS = 150
#: the date the sample is treated as run on (sample_data/README.md)
RUN_ON = dt.date(2026, 11, 20)
PHQ9_QUESTIONS = (
    "Little interest or pleasure in doing things",
    "Feeling down, depressed, or hopeless",
    "Trouble falling or staying asleep, or sleeping too much",
    "Feeling tired or having little energy",
    "Poor appetite or overeating",
    "Feeling bad about yourself - or that you are a failure or have let yourself or your family down",
    "Trouble concentrating on things, such as reading the newspaper or watching television",
    "Moving or speaking so slowly that other people could have noticed",
    "Thoughts that you would be better off dead, or of hurting yourself in some way",
)
ICD10 = {"depression": "F33.1", "anxiety": "F41.1", "ptsd": "F43.10", "bipolar_depression": "F31.4"}
SNOMED = {"chronic_pain": "82423001"}  # (no ICD-10 F code: SNOMED CT 'chronic pain')
LOINC_TOTAL = {"PHQ9": ("44261-6", "PHQ-9 total score"), "GAD7": ("70274-6", "GAD-7 total score")}
NAMED_TOTAL = {"PCL5": "PCL-5 total score", "PAIN_NRS": "Pain NRS (0-10)", "YMRS": "YMRS total score"}
ROUTE_WORDS = {"IV": "IV", "IM": "IM", "intranasal": "Intranasal", "esketamine": "Spravato"}
FHIR_ROUTE = {"IV": "Intravenous", "IM": "Intramuscular", "intranasal": "Nasal", "esketamine": "Nasal"}
GENDER = {"F": "female", "M": "male", "X": "other"}


def calendar(practice) -> pd.Series:
    """Each patient's day-0 date (start month + the patient's start day), by patient id."""
    p = practice.patients.set_index(S.PATIENT_ID)
    return pd.to_datetime(p[S.START_MONTH] + "-01") + pd.to_timedelta(p["day_of_month"] - 1, unit="D")


def _dates(frame: pd.DataFrame, day0: pd.Series) -> pd.Series:
    return day0.reindex(frame[S.PATIENT_ID]).reset_index(drop=True) + pd.to_timedelta(frame[S.DAY].to_numpy(), unit="D")


def session_names(treatments: pd.DataFrame) -> list[str]:
    """The sessions in free text, as an EHR's appointment type: 'Ketamine IV Infusion - Induction #3', 'Spravato
    84mg - Induction #1', 'Ketamine IM - Booster'."""
    number = treatments.groupby([S.PATIENT_ID, S.KIND]).cumcount() + 1
    out = []
    for route, kind, n, mg in zip(treatments[S.ROUTE], treatments[S.KIND], number, treatments.get(S.DOSE_MG)):
        what = "Ketamine IV Infusion" if route == "IV" else f"Ketamine {ROUTE_WORDS.get(route, route)}"
        if route == "esketamine":
            what = f"Spravato {mg:g}mg" if mg == mg and mg is not None else "Spravato"
        out.append(f"{what} - Induction #{n}" if kind == "induction" else f"{what} - {str(kind).title()}")
    return out


def excel_workbook(practice, path: Path) -> Path:
    """The workbook: 'Scores' and 'Infusions' sheets under merged title rows, and a 'Notes' sheet without data."""
    from openpyxl import Workbook

    day0 = calendar(practice)
    a, t = practice.assessments, practice.treatments
    wb = Workbook()
    wb.properties.created = wb.properties.modified = dt.datetime(2026, 11, 20)
    scores = wb.active
    scores.title = "Scores"
    header = ["Patient ID", "Measure", "Total Score", "Date Administered", "Diagnosis", "Clinic Location"]
    header += ["Age Group", "Sex", "Route", "PHQ9_Item9"]
    _titles(scores, "Outcome measures by patient", len(header))
    scores.append(header)
    when = _dates(a, day0)
    for r, d in zip(a.itertuples(index=False), when):
        item9 = getattr(r, S.PHQ9_ITEM9)
        scores.append(
            [r.patient_id, MEASURES[r.instrument], int(r.score), d.date(), DIAGNOSES.get(r.condition, r.condition)]
            + [r.site, r.age_band, r.sex, r.route, None if pd.isna(item9) else int(item9)]
        )
    infusions = wb.create_sheet("Infusions")
    _titles(infusions, "Ketamine sessions", 5)
    infusions.append(["Patient ID", "Appointment Date", "Appointment Type", "Route", "Dose (mg/kg)"])
    for r, d, name in zip(t.itertuples(index=False), _dates(t, day0), session_names(t)):
        dose = getattr(r, S.DOSE)
        infusions.append([r.patient_id, d.date(), name, r.route, None if pd.isna(dose) else float(dose)])
    for ws in (scores, infusions):
        for row in ws.iter_rows(min_row=5):
            for cell in row:
                if isinstance(cell.value, dt.date):
                    cell.number_format = "mm/dd/yyyy"
    notes = wb.create_sheet("Notes")
    notes.append(["Synthetic data: no real patient is in this workbook."])
    wb.save(path)
    return path


def _titles(ws, title: str, width: int) -> None:
    ws.append([f"Sample Ketamine Practice - {title}"])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    ws.append([f"Run on {RUN_ON:%m/%d/%Y}"])
    ws.append([])


# --- FHIR ---------------------------------------------------------------------------------------------------
def _birth_date(first: dt.date, band: str) -> str | None:
    """A birth date whose age on ``first`` falls in the middle of the band."""
    if not isinstance(band, str):
        return None
    low, _, high = band.partition("-")
    age = (int(low) + int(high)) // 2 if high else int(low.rstrip("+")) + 2
    return (first - dt.timedelta(days=round((age + 0.5) * 365.25))).isoformat()


def fhir_resources(practice, patients: int = FHIR_PATIENTS) -> list[dict]:
    """The first ``patients`` patients as FHIR R4 resources (JSON objects)."""
    keep = set(practice.patients[S.PATIENT_ID].iloc[:patients])
    a = practice.assessments[practice.assessments[S.PATIENT_ID].isin(keep)].reset_index(drop=True)
    t = practice.treatments[practice.treatments[S.PATIENT_ID].isin(keep)].reset_index(drop=True)
    day0 = calendar(practice)
    a_when, t_when = _dates(a, day0), _dates(t, day0)
    first = a.assign(when=a_when).groupby(S.PATIENT_ID)["when"].min()
    out: list[dict] = []
    attrs = a.drop_duplicates(S.PATIENT_ID).set_index(S.PATIENT_ID)
    for pid in practice.patients[S.PATIENT_ID].iloc[:patients]:
        res = {"resourceType": "Patient", "id": pid.lower()}
        if pid in attrs.index:
            r = attrs.loc[pid]
            res["gender"] = GENDER.get(r[S.SEX], "unknown")
            born = _birth_date(first[pid].date(), r[S.AGE_BAND])
            if born:
                res["birthDate"] = born
            condition = r[S.CONDITION]
            coding = (
                {"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": ICD10[condition]}
                if condition in ICD10
                else {"system": "http://snomed.info/sct", "code": SNOMED.get(condition, "")}
            )
            out.append(res)
            out.append(
                {
                    "resourceType": "Condition",
                    "id": f"{pid.lower()}-dx",
                    "subject": {"reference": f"Patient/{pid.lower()}"},
                    "code": {"coding": [{**coding, "display": DIAGNOSES.get(condition, condition)}]},
                }
            )
        else:
            out.append(res)
    for i, (r, when) in enumerate(zip(a.itertuples(index=False), a_when)):
        ref = {"reference": f"Patient/{r.patient_id.lower()}"}
        if r.instrument in LOINC_TOTAL:
            code, display = LOINC_TOTAL[r.instrument]
            concept = {"coding": [{"system": "http://loinc.org", "code": code, "display": display}]}
        else:
            concept = {"text": NAMED_TOTAL[r.instrument]}
        stamp = f"{when.date().isoformat()}T09:30:00-05:00"
        obs = {"resourceType": "Observation", "id": f"obs-{i}", "status": "final", "code": concept}
        out.append({**obs, "subject": ref, "effectiveDateTime": stamp, "valueInteger": int(r.score)})
        item9 = getattr(r, S.PHQ9_ITEM9)
        if r.instrument == "PHQ9" and not pd.isna(item9):
            concept = {"coding": [{"system": "http://loinc.org", "code": "44260-8", "display": "PHQ-9 item 9"}]}
            obs = {"resourceType": "Observation", "id": f"obs-{i}-9", "status": "final", "code": concept}
            out.append({**obs, "subject": ref, "effectiveDateTime": stamp, "valueInteger": int(item9)})
    for i, (r, when, name) in enumerate(zip(t.itertuples(index=False), t_when, session_names(t))):
        dose, mg = getattr(r, S.DOSE), getattr(r, S.DOSE_MG)
        amount = {"value": float(dose), "unit": "mg/kg"} if not pd.isna(dose) else None
        if amount is None and not pd.isna(mg):
            amount = {"value": float(mg), "unit": "mg"}
        med = "Esketamine (Spravato) nasal spray" if r.route == "esketamine" else "Ketamine hydrochloride"
        out.append(
            {
                "resourceType": "MedicationAdministration",
                "id": f"ma-{i}",
                "status": "completed",
                "medicationCodeableConcept": {"text": med},
                "subject": {"reference": f"Patient/{r.patient_id.lower()}"},
                "effectiveDateTime": f"{when.date().isoformat()}T10:00:00-05:00",
                "category": {"text": name.rsplit(" - ", 1)[-1]},
                "dosage": {"route": {"text": FHIR_ROUTE[r.route]}, **({"dose": amount} if amount else {})},
            }
        )
    return out


def fhir_bundle(resources: list[dict]) -> dict:
    entries = [{"fullUrl": f"urn:uuid:{r['resourceType'].lower()}-{r['id']}", "resource": r} for r in resources]
    return {"resourceType": "Bundle", "type": "collection", "entry": entries}


# --- item-level ---------------------------------------------------------------------------------------------
def _split(total: int, items: int, rng: np.random.Generator, fixed: int | None = None) -> list[int]:
    """``items`` answers 0-3 summing to ``total``; the last answer is ``fixed`` when given."""
    last = fixed if fixed is not None else int(rng.integers(max(0, total - 3 * (items - 1)), min(3, total) + 1))
    answers = [0] * (items - 1)
    for _ in range(total - last):
        open_ = [k for k, v in enumerate(answers) if v < 3]
        answers[open_[int(rng.integers(len(open_)))]] += 1
    return answers + [last]


def item_level(practice, seed: int) -> pd.DataFrame:
    """PHQ-9 and GAD-7 item by item, one row per patient and day: PHQ-9 items named by their question, GAD-7's
    'GAD7_1' ... 'GAD7_7'; answers drawn from their own stream, summing to the canonical totals."""
    rng = np.random.default_rng([seed, 16])
    a = practice.assessments
    a = a[a[S.INSTRUMENT].isin(["PHQ9", "GAD7"])]
    rows: dict[tuple, dict] = {}
    for r in a.itertuples(index=False):
        row = rows.setdefault(
            (r.patient_id, r.day),
            {
                "Patient ID": r.patient_id,
                "Day": r.day,
                "Diagnosis": r.condition,
                "Site": r.site,
                "Age Group": r.age_band,
                "Sex": r.sex,
            },
        )
        item9 = getattr(r, S.PHQ9_ITEM9)
        if r.instrument == "PHQ9":
            fixed = None if pd.isna(item9) else int(item9)
            row.update(dict(zip(PHQ9_QUESTIONS, _split(int(r.score), 9, rng, fixed))))
        else:
            row.update({f"GAD7_{k}": v for k, v in enumerate(_split(int(r.score), 7, rng), start=1)})
    columns = [
        "Patient ID",
        "Day",
        *PHQ9_QUESTIONS,
        *(f"GAD7_{k}" for k in range(1, 8)),
        "Diagnosis",
        "Site",
        "Age Group",
        "Sex",
    ]
    out = pd.DataFrame(list(rows.values()), columns=columns)
    return out.astype({c: "Int64" for c in columns[2:-4]})


def write(practice, out_dir, seed: int) -> list[Path]:
    """Write every export of ``practice`` into ``out_dir`` (created if needed); their paths."""
    out = Path(out_dir)
    (out / "fhir_bulk").mkdir(parents=True, exist_ok=True)
    paths = [excel_workbook(practice, out / "practice.xlsx")]
    resources = fhir_resources(practice)
    paths.append(out / "fhir_bundle.json")
    paths[-1].write_text(json.dumps(fhir_bundle(resources), separators=(",", ":")) + "\n")
    by_type: dict[str, list[str]] = {}
    for r in resources:
        by_type.setdefault(r["resourceType"], []).append(json.dumps(r, separators=(",", ":")))
    for kind, lines in by_type.items():
        paths.append(out / "fhir_bulk" / f"{kind}.ndjson")
        paths[-1].write_text("\n".join(lines) + "\n")
    paths.append(out / "items.csv")
    item_level(practice, seed).to_csv(paths[-1], index=False)
    return paths
