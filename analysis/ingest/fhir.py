"""FHIR R4 in: a Bundle (JSON), single resources, or a bulk export (NDJSON, one file per resource type), read
with the resource models of ``fhir.resources`` (R4B, the R4 maintenance release: the same Patient, Observation,
QuestionnaireResponse, Condition, MedicationAdministration and Procedure) into text tables the rest of the
import reads as it reads a CSV file.

- **Observation** with LOINC codes: PHQ-9 total 44261-6, GAD-7 total 70274-6 (-> scores); PHQ-9 item 9
  44260-8 (-> ``phq9_item9`` of the PHQ-9 of that patient and day); other instruments by the code's display or
  text (PCL-5, MADRS, ... as the instrument registry spells them). Item observations (PHQ-9 44250-9 ... 44253-3,
  GAD-7 69725-0 ...) without a total are summed as item-level scales (:mod:`.items`).
- **QuestionnaireResponse**: item-level answers (by LOINC code, linkId or question text) -> summed totals.
- **Condition** (ICD-10 F32/F33, F31, F41.1, F43.1, ... and SNOMED CT equivalents) -> the patient's condition.
- **MedicationAdministration** / **Procedure** of ketamine, esketamine (Spravato) -> treatment sessions.
- **Patient**: sex (gender) and the age band at the first score; nothing else of it is read.

Privacy: a patient reference becomes a pseudonymous key, ``FP-`` and the first 16 hex digits of HMAC-SHA256
of the reference with a per-installation secret (:func:`pseudonym_key`, a file beside the data folder, made on
first use, never logged or shown). Names, birth dates, identifiers, addresses, telecom and free-text notes are
never copied into a table, a message or a log: the tables hold the key, dates (turned into day offsets by
:mod:`.days` as for CSV), codes and numbers only; validation problems name the resource type, its position and
the field, never a value.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
from collections import defaultdict
from datetime import date, datetime
from pathlib import Path

import numpy as np

from analysis import schema as S
from analysis.config import DATA_DIR_ENV, DEFAULT_DATA_DIR
from analysis.ingest.excel import TableReader
from analysis.ingest.items import SCALES, item_of
from analysis.ingest.read import Refused, head_bytes
from analysis.ingest.values import age_band, normalise_condition
from analysis.instruments import normalise_code

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
#: LOINC codes of instrument totals (-> instrument code)
LOINC_TOTALS = {"44261-6": "PHQ9", "70274-6": "GAD7"}
#: LOINC codes of scale items (-> (instrument, item number)): the PHQ-9 panel 44249-1, the GAD-7 panel 69737-5
LOINC_ITEMS = {
    "44250-9": ("PHQ9", 1),
    "44255-8": ("PHQ9", 2),
    "44259-0": ("PHQ9", 3),
    "44254-1": ("PHQ9", 4),
    "44251-7": ("PHQ9", 5),
    "44258-2": ("PHQ9", 6),
    "44252-5": ("PHQ9", 7),
    "44253-3": ("PHQ9", 8),
    "44260-8": ("PHQ9", 9),
    "69725-0": ("GAD7", 1),
    "68509-9": ("GAD7", 2),
    "69733-4": ("GAD7", 3),
    "69734-2": ("GAD7", 4),
    "69735-9": ("GAD7", 5),
    "69689-8": ("GAD7", 6),
    "69736-7": ("GAD7", 7),
}
#: SNOMED CT concepts of the conditions (ICD-10 codes are read by values.normalise_condition)
SNOMED_CONDITIONS = {
    "35489007": "depression",  # depressive disorder
    "370143000": "depression",  # major depressive disorder
    "36923009": "depression",  # major depression, single episode
    "66344007": "depression",  # recurrent major depression
    "13746004": "bipolar_depression",  # bipolar disorder
    "21897009": "anxiety",  # generalized anxiety disorder
    "47505003": "ptsd",  # posttraumatic stress disorder
    "191736004": "ocd",  # obsessive-compulsive disorder
    "82423001": "chronic_pain",  # chronic pain
}
#: a patient with several conditions: the first of this order (bipolar first: it is excluded from the measures)
CONDITION_ORDER = ("bipolar_depression", "ptsd", "depression", "anxiety", "ocd", "chronic_pain", "other")
GENDER = {"female": "F", "male": "M", "other": "X"}
KEPT_STATUS = {"final", "amended", "corrected", "completed", "registered", "preliminary", "in-progress"}
TREATMENT_WORDS = ("ketamine", "esketamine", "spravato", "ketalar")
RESOURCE_TYPES = (
    "Patient",
    "Observation",
    "QuestionnaireResponse",
    "Condition",
    "MedicationAdministration",
    "Procedure",
)
#: the tables' names (a FHIR export is read as these files)
SCORES, ITEMS, SESSIONS = "FHIR scores", "FHIR questionnaire items", "FHIR treatment sessions"
#: the secret's file name beside the data folder; $OUTCOMES_PSEUDONYM_KEY names another file
KEY_ENV = "OUTCOMES_PSEUDONYM_KEY"


# --- what the bytes are -------------------------------------------------------------------------------------
def is_fhir(name: str, data) -> bool:
    """Whether a file is FHIR JSON: a resource or a Bundle, or NDJSON of resources."""
    head = head_bytes(data, 4096).lstrip(b"\xef\xbb\xbf \t\r\n")
    return head.startswith(b"{") and b'"resourceType"' in head


def _documents(name: str, data) -> list[dict]:
    """The JSON objects of a file: one (a resource, a Bundle) or one per line (NDJSON)."""
    raw = data if isinstance(data, (bytes, bytearray)) else head_bytes(data, data.size)
    text = bytes(raw).decode("utf-8-sig", errors="strict")
    try:
        return [json.loads(text)]
    except json.JSONDecodeError:
        pass
    out = []
    for i, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            raise Refused(
                "UNREADABLE_FHIR",
                f"Line {i} of the FHIR export is not JSON. Export the resources again (a Bundle as one JSON "
                "file, or a bulk export as NDJSON: one resource per line).",
            ) from None
    return out


# --- the pseudonymous key -----------------------------------------------------------------------------------
def key_path() -> Path:
    """Where the installation's secret lives: $OUTCOMES_PSEUDONYM_KEY, else 'pseudonym.key' beside the data
    folder ($OUTCOMES_DATA_DIR, else ./data)."""
    if os.environ.get(KEY_ENV):
        return Path(os.environ[KEY_ENV])
    data_dir = Path(os.environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR).resolve()
    return data_dir.parent / f"{data_dir.name}.pseudonym.key"


def secret() -> bytes:
    """The per-installation secret (32 random bytes), made on first use (readable by its owner only)."""
    path = key_path()
    try:
        return bytes.fromhex(path.read_text().strip())
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_bytes(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # (made meanwhile by another process)
        return bytes.fromhex(path.read_text().strip())
    with os.fdopen(fd, "w") as f:
        f.write(value.hex())
    return value


def pseudonym_key(reference: str, key: bytes) -> str:
    """The pseudonymous patient key of a reference ('Patient/123'): FP- and 16 hex digits of its HMAC-SHA256."""
    return "FP-" + hmac.new(key, reference.encode("utf-8"), hashlib.sha256).hexdigest()[:16].upper()


# --- resources ------------------------------------------------------------------------------------------------
def _model(resource_type: str):
    from fhir.resources.R4B import get_fhir_model_class

    return get_fhir_model_class(resource_type)


def resources(files: list[tuple[str, bytes]], problems: list[str]) -> dict[str, list]:
    """{resource type: [validated resource model, ...]} of the files' resources (Bundles opened); a resource
    that does not validate is left out and counted in ``problems`` (type, position, field: never a value)."""
    from pydantic import ValidationError

    out: dict[str, list] = defaultdict(list)
    skipped: dict[str, int] = defaultdict(int)
    urls: dict[str, str] = {}
    for name, data in files:
        for i, doc in enumerate(_documents(name, data), start=1):
            entries = [(None, doc)]
            if isinstance(doc, dict) and doc.get("resourceType") == "Bundle":
                entries = [(e.get("fullUrl"), e.get("resource")) for e in doc.get("entry") or [] if isinstance(e, dict)]
            for j, (full_url, res) in enumerate(entries, start=1):
                kind = res.get("resourceType") if isinstance(res, dict) else None
                if kind not in RESOURCE_TYPES:
                    skipped[str(kind)] += 1
                    continue
                try:
                    model = _model(kind).model_validate(res)
                except ValidationError as e:
                    fields = sorted({".".join(str(p) for p in err["loc"][:2]) for err in e.errors(include_input=False)})
                    where = f"entry {j}" if len(entries) > 1 else f"resource {i}"
                    problems.append(f"{name}: {kind} ({where}) does not follow FHIR R4 ({', '.join(fields[:4])})")
                    continue
                if full_url and kind == "Patient" and model.id:
                    urls[full_url] = f"Patient/{model.id}"
                out[kind].append(model)
    out["_urls"] = [urls]
    out["_skipped"] = [dict(skipped)]
    return out


def _patient_reference(ref, urls: dict[str, str]) -> str | None:
    """'Patient/<id>' of a reference (relative, absolute URL, or a Bundle's urn:uuid), or None."""
    text = getattr(ref, "reference", None) if ref is not None else None
    if not text:
        return None
    if text in urls:
        return urls[text]
    parts = text.rstrip("/").split("/")
    if "Patient" in parts:
        at = len(parts) - 1 - parts[::-1].index("Patient")
        return f"Patient/{parts[at + 1]}" if at + 1 < len(parts) else None
    return None


def _day(value) -> str | None:
    """The calendar date of a FHIR date or dateTime (as written: its own time zone), ISO; None for a partial
    date (a year or a month only)."""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = str(value) if value is not None else ""
    return text[:10] if len(text) >= 10 else None


def _codings(concept) -> list:
    return list(getattr(concept, "coding", None) or []) if concept is not None else []


def _words(concept) -> str:
    """A CodeableConcept in words: its text and its codings' displays."""
    if concept is None:
        return ""
    return " ".join([str(concept.text or "")] + [str(c.display or "") for c in _codings(concept)]).strip()


def _number(obs) -> float | None:
    for field in ("valueQuantity", "valueInteger", "valueDecimal"):
        v = getattr(obs, field, None)
        if v is not None:
            v = getattr(v, "value", v)
            return float(v) if v is not None else None
    if obs.valueCodeableConcept is not None:  # an item answered with a coded answer ('Nearly every day')
        from analysis.ingest.items import answer

        x, ok = answer(_words(obs.valueCodeableConcept))
        return x if ok and not np.isnan(x) else None
    return None


def _status_kept(res) -> bool:
    return str(getattr(res, "status", "") or "final") in KEPT_STATUS


class Tables:
    """The rows read from the resources: scores, item answers and sessions, and per patient sex, birth year
    band and conditions (held only as far as the tables need them)."""

    def __init__(self):
        self.scores: list[dict] = []  # patient, instrument, score, date
        self.item9: dict[tuple[str, str], float] = {}  # (patient, date) -> PHQ-9 item 9
        self.items: dict[tuple[str, str], dict[str, float]] = defaultdict(dict)  # (patient, date) -> {PHQ9_1: 2}
        self.sessions: list[dict] = []
        self.sex: dict[str, str] = {}
        self.born: dict[str, date] = {}  # (kept only to work out the age band; never in a table)
        self.conditions: dict[str, set] = defaultdict(set)
        self.left_out: dict[str, int] = defaultdict(int)  # reason -> count


def read(res: dict[str, list], key: bytes) -> Tables:
    """The rows of the resources, patient references replaced by pseudonymous keys."""
    urls = res["_urls"][0]
    out = Tables()

    def patient(ref):
        reference = _patient_reference(ref, urls)
        return pseudonym_key(reference, key) if reference else None

    for p in res["Patient"]:
        if not p.id:
            continue
        k = pseudonym_key(f"Patient/{p.id}", key)
        if p.gender in GENDER:
            out.sex[k] = GENDER[p.gender]
        if isinstance(p.birthDate, date):
            out.born[k] = p.birthDate
    for c in res["Condition"]:
        k = patient(c.subject)
        if k is None or str(getattr(c.verificationStatus, "text", "") or "") == "entered-in-error":
            continue
        found = None
        for coding in _codings(c.code):
            if coding.system == SNOMED and coding.code in SNOMED_CONDITIONS:
                found = SNOMED_CONDITIONS[coding.code]
            elif coding.system and "icd-10" in coding.system.lower():
                found = normalise_condition(coding.code)
            if found:
                break
        out.conditions[k].add(found or normalise_condition(_words(c.code)) or "other")
    for o in res["Observation"]:
        _observation(o, patient(o.subject), out)
    for q in res["QuestionnaireResponse"]:
        _questionnaire(q, patient(q.subject), out)
    for m in res["MedicationAdministration"]:
        _medication(m, patient(m.subject), out)
    for pr in res["Procedure"]:
        _procedure(pr, patient(pr.subject), out)
    return out


def _observation(o, k, out: Tables) -> None:
    if k is None or not _status_kept(o):
        out.left_out["no patient, or entered in error / cancelled"] += 1
        return
    day = _day(o.effectiveDateTime or (o.effectivePeriod.start if o.effectivePeriod else None) or o.issued)
    value = _number(o)
    if day is None or value is None:
        out.left_out["no full date or no value"] += 1
        return
    codes = [c.code for c in _codings(o.code) if c.system == LOINC]
    total = next((LOINC_TOTALS[c] for c in codes if c in LOINC_TOTALS), None)
    item = next((LOINC_ITEMS[c] for c in codes if c in LOINC_ITEMS), None)
    if total is None and item is None:
        item = item_of(_words(o.code))
        total = normalise_code(_words(o.code)) if item is None else None
    if item is not None:
        out.items[(k, day)][f"{item[0]}_{item[1]}"] = value
        if item == ("PHQ9", 9):
            out.item9[(k, day)] = value
    elif total is not None:
        out.scores.append({"patient": k, "instrument": total, "score": value, "date": day})
    else:
        out.left_out["not a score of a known instrument"] += 1


def _walk(items):
    for it in items or []:
        yield it
        yield from _walk(getattr(it, "item", None))
        for a in getattr(it, "answer", None) or []:
            yield from _walk(getattr(a, "item", None))


def _answer_value(a) -> float | None:
    from analysis.ingest.items import answer

    for field in ("valueInteger", "valueDecimal"):
        v = getattr(a, field, None)
        if v is not None:
            return float(v)
    if a.valueCoding is not None:
        for text in (a.valueCoding.code, a.valueCoding.display):
            x, ok = answer(text)
            if ok and text is not None and not np.isnan(x):
                return x
    if a.valueString is not None:
        x, ok = answer(a.valueString)
        return x if ok and not np.isnan(x) else None
    return None


def _questionnaire(q, k, out: Tables) -> None:
    if k is None or not _status_kept(q):
        out.left_out["no patient, or entered in error / cancelled"] += 1
        return
    day = _day(q.authored)
    if day is None:
        out.left_out["no full date or no value"] += 1
        return
    for it in _walk(q.item):
        which = LOINC_ITEMS.get(str(it.linkId)) or item_of(it.linkId) or item_of(it.text)
        if which is None:
            continue
        for a in it.answer or []:
            value = _answer_value(a)
            if value is not None:
                out.items[(k, day)][f"{which[0]}_{which[1]}"] = value


def _dose_words(dosage) -> str:
    if dosage is None:
        return ""
    route = _words(dosage.route)
    dose = dosage.dose
    amount = f"{dose.value:g} {dose.unit or dose.code or ''}" if dose is not None and dose.value is not None else ""
    return f"{route} {amount}".strip()


def _medication(m, k, out: Tables) -> None:
    med = _words(m.medicationCodeableConcept)
    if k is None or not any(w in med.lower() for w in TREATMENT_WORDS) or not _status_kept(m):
        out.left_out["not a ketamine or esketamine session"] += 1
        return
    day = _day(m.effectiveDateTime or (m.effectivePeriod.start if m.effectivePeriod else None))
    if day is None:
        out.left_out["no full date or no value"] += 1
        return
    words = " ".join(_words(c) for c in (m.category,) if c is not None)
    out.sessions.append({"patient": k, "date": day, "session": f"{med} {_dose_words(m.dosage)} {words}".strip()})


def _procedure(p, k, out: Tables) -> None:
    what = _words(p.code)
    if k is None or not any(w in what.lower() for w in (*TREATMENT_WORDS, "infusion")) or not _status_kept(p):
        out.left_out["not a ketamine or esketamine session"] += 1
        return
    day = _day(p.performedDateTime or (p.performedPeriod.start if p.performedPeriod else None))
    if day is None:
        out.left_out["no full date or no value"] += 1
        return
    out.sessions.append({"patient": k, "date": day, "session": what})


# --- the tables ---------------------------------------------------------------------------------------------
def _attributes(t: Tables, k: str, first_day: str | None) -> dict:
    conditions = t.conditions.get(k, set())
    condition = next((c for c in CONDITION_ORDER if c in conditions), None)
    band = None
    if k in t.born and first_day:
        d = date.fromisoformat(first_day)
        born = t.born[k]
        band = age_band(float(d.year - born.year - ((d.month, d.day) < (born.month, born.day))))
    return {"condition": condition, "sex": t.sex.get(k), "age_band": band}


def _reader(names: list[str], rows: list[dict]) -> TableReader:
    return TableReader(
        names,
        [[None if r.get(n) is None else str(r[n]) for r in rows] for n in names],
        np.arange(2, len(rows) + 2, dtype=np.int32),
        delimiter="FHIR",
    )


def _fmt(x: float) -> str:
    return f"{x:g}"


def tables(t: Tables) -> list[tuple[str, TableReader]]:
    """(name, reader) of each table with rows: scores (with item 9), questionnaire items (summed by :mod:`.items`),
    treatment sessions. Column names are the canonical ones, so that they map by their names."""
    firsts: dict[str, str] = {}
    for r in t.scores:
        firsts[r["patient"]] = min(firsts.get(r["patient"], r["date"]), r["date"])
    for k, day in t.items:
        firsts[k] = min(firsts.get(k, day), day)
    out = []
    totals = {(r["patient"], r["date"]) for r in t.scores if r["instrument"] == "PHQ9"}
    if t.scores:
        rows = []
        for r in t.scores:
            item9 = t.item9.get((r["patient"], r["date"])) if r["instrument"] == "PHQ9" else None
            rows.append(
                {
                    S.PATIENT_ID: r["patient"],
                    S.INSTRUMENT: r["instrument"],
                    S.SCORE: _fmt(r["score"]),
                    S.DATE: r["date"],
                    S.PHQ9_ITEM9: None if item9 is None else _fmt(item9),
                    **_attributes(t, r["patient"], firsts.get(r["patient"])),
                }
            )
        names = [S.PATIENT_ID, S.INSTRUMENT, S.SCORE, S.DATE, S.PHQ9_ITEM9, S.CONDITION, S.SEX, S.AGE_BAND]
        out.append((SCORES, _reader(names, rows)))
    # items: forms without a total of that instrument on that day (item 9 beside a total is kept on the total)
    item_rows = []
    for (k, day), answers in t.items.items():
        kept = {c: v for c, v in answers.items() if not (c.startswith("PHQ9") and (k, day) in totals)}
        if kept:
            item_rows.append({S.PATIENT_ID: k, S.DATE: day, **kept, **_attributes(t, k, firsts.get(k))})
    if item_rows:
        item_names = [f"{code}_{i}" for code, s in SCALES.items() for i in range(1, len(s.questions) + 1)]
        present = [n for n in item_names if any(n in r for r in item_rows)]
        rows = [{**r, **{n: _fmt(r[n]) for n in present if n in r}} for r in item_rows]
        names = [S.PATIENT_ID, S.DATE, *present, S.CONDITION, S.SEX, S.AGE_BAND]
        out.append((ITEMS, _reader(names, rows)))
    if t.sessions:
        rows = [{S.PATIENT_ID: r["patient"], S.DATE: r["date"], "session type": r["session"]} for r in t.sessions]
        out.append((SESSIONS, _reader([S.PATIENT_ID, S.DATE, "session type"], rows)))
    return out


def parts(files: list[tuple[str, bytes]], notes: list[tuple[str, str, str]]) -> list[tuple[str, object]]:
    """The tables of a FHIR export as (name, opener) parts of the import; ``notes`` gets (severity, code,
    message) of what was left out. A FHIR export that cannot be read is one part whose opener raises."""
    problems: list[str] = []
    try:
        res = resources(files, problems)
        rows = read(res, secret())
        found = tables(rows)
    except Refused as e:
        return [(files[0][0], _raises(e))]
    except UnicodeDecodeError:
        return [
            (files[0][0], _raises(Refused("UNREADABLE_FHIR", "The FHIR export is not UTF-8 JSON. Export it again.")))
        ]
    if problems:
        notes.append(
            (
                "warning",
                "FHIR_INVALID",
                f"{len(problems)} resource(s) do not follow FHIR R4 and were left out: {'; '.join(problems[:5])}"
                + (" ..." if len(problems) > 5 else ""),
            )
        )
    skipped = res["_skipped"][0]
    if skipped:
        notes.append(
            (
                "info",
                "FHIR_NOT_READ",
                "Resources of these types are not read: "
                + ", ".join(f"{k} ({v})" for k, v in sorted(skipped.items()))
                + ".",
            )
        )
    if rows.left_out:  # (reasons and counts only: never a value)
        notes.append(
            (
                "info",
                "FHIR_LEFT_OUT",
                "Resources left out: " + "; ".join(f"{v} {k}" for k, v in sorted(rows.left_out.items())) + ".",
            )
        )
    if not found:
        return [
            (
                files[0][0],
                _raises(
                    Refused(
                        "NO_FHIR_SCORES",
                        "The FHIR export holds no scores: no Observation with a PHQ-9 (LOINC 44261-6), GAD-7 "
                        "(70274-6) or another instrument's total, and no QuestionnaireResponse with PHQ-9 or GAD-7 "
                        "items. Export the Observation and QuestionnaireResponse resources too.",
                    )
                ),
            )
        ]
    return [(name, (lambda r=reader: r)) for name, reader in found]


def _raises(e: Refused):
    def opener():
        raise e

    return opener
