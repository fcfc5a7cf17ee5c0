"""One schema for every column name, type and allowed value used by the project.

The canonical data are two long, tidy tables (see DESIGN "Canonical data"):

* ``assessments``: one row per completed scale (patient_id, instrument, score, day, and
  patient attributes that are constant per patient);
* ``treatments`` (optional): one row per infusion or session (patient_id, day, kind, route, dose).

Everything else in ``analysis/`` refers to the names defined here rather than to literals.
"""

from __future__ import annotations

# --- assessments -------------------------------------------------------------------------
PATIENT_ID = "patient_id"
INSTRUMENT = "instrument"
SCORE = "score"
DAY = "day"
DATE = "date"  # accepted at import, converted to DAY, never stored

CONDITION = "condition"
SITE = "site"
AGE_BAND = "age_band"
SEX = "sex"
ROUTE = "route"
START_MONTH = "start_month"  # YYYY-MM of day 0 (YYYY in strict mode); the only date that survives

#: patient attributes: constant per patient, carried on the assessments table
PATIENT_ATTRIBUTES = (CONDITION, SITE, AGE_BAND, SEX, ROUTE, START_MONTH)

ASSESSMENT_COLUMNS = (PATIENT_ID, INSTRUMENT, SCORE, DAY) + PATIENT_ATTRIBUTES
ASSESSMENT_REQUIRED = (PATIENT_ID, INSTRUMENT, SCORE)  # plus DAY or DATE

# --- treatments --------------------------------------------------------------------------
KIND = "kind"
DOSE = "dose_mg_per_kg"
TREATMENT_COLUMNS = (PATIENT_ID, DAY, KIND, ROUTE, DOSE)
TREATMENT_REQUIRED = (PATIENT_ID, KIND)  # plus DAY or DATE

KINDS = ("induction", "booster", "maintenance")

ROUTES = ("IV", "IM", "intranasal", "oral", "esketamine")

# --- allowed values ----------------------------------------------------------------------
CONDITIONS = ("depression", "anxiety", "ptsd", "bipolar_depression", "chronic_pain", "ocd", "other")

CONDITION_LABELS = {
    "depression": "Depression",
    "anxiety": "Anxiety",
    "ptsd": "PTSD",
    "bipolar_depression": "Bipolar depression",
    "chronic_pain": "Chronic pain",
    "ocd": "OCD",
    "other": "Other",
}

#: spellings seen in EHR exports -> canonical condition (keys are compared lower-cased,
#: with punctuation and extra spaces removed; see ingest.normalise_condition)
CONDITION_SYNONYMS = {
    "depression": "depression",
    "major depressive disorder": "depression",
    "major depression": "depression",
    "mdd": "depression",
    "trd": "depression",
    "treatment resistant depression": "depression",
    "treatmentresistant depression": "depression",
    "depressive disorder": "depression",
    "unipolar depression": "depression",
    "anxiety": "anxiety",
    "gad": "anxiety",
    "generalized anxiety disorder": "anxiety",
    "generalised anxiety disorder": "anxiety",
    "anxiety disorder": "anxiety",
    "ptsd": "ptsd",
    "post traumatic stress disorder": "ptsd",
    "posttraumatic stress disorder": "ptsd",
    "cptsd": "ptsd",
    "bipolar depression": "bipolar_depression",
    "bipolar_depression": "bipolar_depression",
    "bipolar disorder depressed": "bipolar_depression",
    "bipolar disorder": "bipolar_depression",
    "bipolar ii": "bipolar_depression",
    "bipolar i": "bipolar_depression",
    "bipolar": "bipolar_depression",
    "chronic pain": "chronic_pain",
    "chronic_pain": "chronic_pain",
    "pain": "chronic_pain",
    "crps": "chronic_pain",
    "complex regional pain syndrome": "chronic_pain",
    "fibromyalgia": "chronic_pain",
    "neuropathic pain": "chronic_pain",
    "ocd": "ocd",
    "obsessive compulsive disorder": "ocd",
    "other": "other",
}

SEXES = ("F", "M", "X")
AGE_BANDS = ("18-24", "25-34", "35-44", "45-54", "55-64", "65-74", "75-89", "90+")

# --- the issues table (validation) -------------------------------------------------------
ISSUE_COLUMNS = ("severity", "code", "column", "rows", "message", "fix")
SEVERITIES = ("error", "warning", "info")

# --- result columns shared by the analyses, the charts, the report and the pages ------------------------
GROUP = "group"  # a group's label in a result table (a condition, a site, a cohort, 'unknown')
DIMENSION = "dimension"  # what the groups of a rates table are: 'overall', 'condition', 'site', 'start_month'
COHORT = "cohort"  # "A" or "B" in a comparison of cohorts
OVERALL = "overall"  # the dimension (and group) of every patient together

#: the outcome funnel, per instrument and group: each count a subset of the one before (remitters and
#: with_follow_up are subsets of the responders' and the evaluable's)
PATIENTS = "patients"
WITH_BASELINE = "with_baseline"
WITH_RESPONSE_ASSESSMENT = "with_response_assessment"
EVALUABLE = "evaluable"
RESPONDERS = "responders"
REMITTERS = "remitters"
WITH_FOLLOW_UP = "with_follow_up"
FUNNEL_COUNTS = (PATIENTS, WITH_BASELINE, WITH_RESPONSE_ASSESSMENT, EVALUABLE, RESPONDERS, REMITTERS, WITH_FOLLOW_UP)
#: (part, whole) pairs of the funnel shown side by side: whole - part must not reveal a small count
FUNNEL_COMPLEMENTS = (
    (WITH_BASELINE, PATIENTS),
    (WITH_RESPONSE_ASSESSMENT, WITH_BASELINE),
    (EVALUABLE, WITH_RESPONSE_ASSESSMENT),
    (RESPONDERS, EVALUABLE),
    (REMITTERS, EVALUABLE),
    (WITH_FOLLOW_UP, RESPONDERS),
)

#: rates over the evaluable patients with their Wilson 95% limits (fractions)
RESPONSE_RATE = "response_rate"
RESPONSE_LOWER = "response_lower"
RESPONSE_UPPER = "response_upper"
REMISSION_RATE = "remission_rate"
REMISSION_LOWER = "remission_lower"
REMISSION_UPPER = "remission_upper"
RATE_COLUMNS = (RESPONSE_RATE, RESPONSE_LOWER, RESPONSE_UPPER, REMISSION_RATE, REMISSION_LOWER, REMISSION_UPPER)
#: each rate's (rate, lower, upper) columns and the (numerator, denominator) counts it rests on
RATES = {
    (RESPONSE_RATE, RESPONSE_LOWER, RESPONSE_UPPER): (RESPONDERS, EVALUABLE),
    (REMISSION_RATE, REMISSION_LOWER, REMISSION_UPPER): (REMITTERS, EVALUABLE),
}

#: the columns of a rates table after its group columns (metrics' Summary.rates, cohorts' comparison)
RATE_TABLE_COLUMNS = (
    PATIENTS,
    WITH_BASELINE,
    WITH_RESPONSE_ASSESSMENT,
    EVALUABLE,
    RESPONDERS,
    RESPONSE_RATE,
    RESPONSE_LOWER,
    RESPONSE_UPPER,
    REMITTERS,
    REMISSION_RATE,
    REMISSION_LOWER,
    REMISSION_UPPER,
    WITH_FOLLOW_UP,
)

#: per-patient outcome columns (analysis.outcomes.patient_outcomes)
BASELINE = "baseline"
PCT_CHANGE = "pct_change"  # (baseline - score) / baseline: a fraction, everywhere in analysis/

#: the KPI tiles (analysis.kpi_tiles.kpis' ``kpi``)
PATIENTS_STARTED = "patients_started"
INFUSIONS = "infusions"
SERIES_COMPLETION = "series_completion"
ASSESSMENT_COMPLETION = "assessment_completion"
KPIS = (PATIENTS_STARTED, INFUSIONS, SERIES_COMPLETION, ASSESSMENT_COMPLETION, RESPONSE_RATE, REMISSION_RATE)

# --- session monitoring (issue 17; DESIGN "Canonical data": optional columns of a treatments row) ------------
DOSE_MG = "dose_mg"  # mg per session (intranasal esketamine 56 / 84 mg; racemic intranasal)
DURATION_MIN = "duration_min"
SBP_PRE, DBP_PRE, HR_PRE, SPO2_PRE = "sbp_pre", "dbp_pre", "hr_pre", "spo2_pre"
SBP_PEAK, DBP_PEAK, HR_PEAK, SPO2_MIN = "sbp_peak", "dbp_peak", "hr_peak", "spo2_min"
CADSS = "cadss"  # CADSS total, 0-92
CADSS6 = "cadss6"  # CADSS-6, 0-24 (the column name or the mapping says which of the two a file holds)
MOAAS_MIN = "moaas_min"  # deepest sedation, MOAA/S 0-5 (5 = awake)
ADVERSE_EVENTS = "adverse_events"  # ';'-separated codes of ADVERSE_EVENT_CODES ('' = none)
RESCUE_MEDICATION = "rescue_medication"  # 'no', 'yes' or the medication's name
MINUTES_TO_DISCHARGE = "minutes_to_discharge"
VITALS_PRE = (SBP_PRE, DBP_PRE, HR_PRE, SPO2_PRE)
VITALS_PEAK = (SBP_PEAK, DBP_PEAK, HR_PEAK, SPO2_MIN)
#: the numeric monitoring columns with their plausible range (outside it: flagged like a score out of range)
MONITORING_RANGES = {
    DOSE_MG: (0, 1000),
    DURATION_MIN: (0, 600),
    SBP_PRE: (50, 260),
    DBP_PRE: (20, 160),
    HR_PRE: (20, 250),
    SPO2_PRE: (50, 100),
    SBP_PEAK: (50, 300),
    DBP_PEAK: (20, 200),
    HR_PEAK: (20, 250),
    SPO2_MIN: (50, 100),
    CADSS: (0, 92),
    CADSS6: (0, 24),
    MOAAS_MIN: (0, 5),
    MINUTES_TO_DISCHARGE: (0, 1440),
}
MONITORING_COLUMNS = (*MONITORING_RANGES, ADVERSE_EVENTS, RESCUE_MEDICATION)
#: adverse-event codes of DESIGN, and drowsiness (the commonest event of the published series; an addition)
ADVERSE_EVENT_CODES = (
    "nausea",
    "vomiting",
    "headache",
    "dizziness",
    "drowsiness",
    "hypertension",
    "tachycardia",
    "desaturation",
    "emergence_reaction",
    "anxiety",
    "other",
)
#: the long vitals file: one reading per row, minutes from the start of dosing
MINUTE = "minute"
SBP, DBP, HR, SPO2 = "sbp", "dbp", "hr", "spo2"
VITALS_COLUMNS = (PATIENT_ID, DAY, MINUTE, SBP, DBP, HR, SPO2)

# --- item-level PHQ-9 ----------------------------------------------------------------------------------------
PHQ9_ITEM9 = "phq9_item9"  # thoughts of self-harm, 0-3, on the PHQ-9 assessment row

# --- optional columns of real exports: present in a table only when a file holds them ----------------------------
OPTIONAL_ASSESSMENT_COLUMNS = (PHQ9_ITEM9,)
OPTIONAL_TREATMENT_COLUMNS = (DOSE_MG,)  # (also a monitoring column: the dose read from "Spravato 84mg")
