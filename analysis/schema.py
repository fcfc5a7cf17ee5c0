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

# --- optional columns of real exports (issue 16): present in a table only when a file holds them ---------------
PHQ9_ITEM9 = "phq9_item9"  # PHQ-9 item 9 (thoughts of self-harm, 0-3), on the PHQ-9 assessment row
DOSE_MG = "dose_mg"  # a session's dose in mg where the export gives mg, not mg/kg (esketamine: mg per session)
OPTIONAL_ASSESSMENT_COLUMNS = (PHQ9_ITEM9,)
OPTIONAL_TREATMENT_COLUMNS = (DOSE_MG,)
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
