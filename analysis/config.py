"""Plain constants: the defaults that a definition card or a page setting can override."""

from __future__ import annotations

#: small-cell suppression: counts from 1 to SUPPRESSION_THRESHOLD - 1 are shown as "<11"
SUPPRESSION_THRESHOLD = 11

#: outcome windows (days since day 0), DESIGN "Outcome definitions"
BASELINE_WINDOW = (-30, 0)
RESPONSE_WINDOW = (14, 31)
#: the end of the induction series: the knot of the piecewise-linear trajectory model
INDUCTION_END_DAY = 14
#: the trajectory model's first knot by default: ketamine acts within hours, so the first day's drop is a piece of
#: its own (without it the model's line from day 0 to day 14 misses the baseline by ~2 PHQ-9 points on the sample)
ACUTE_KNOT_DAY = 1
#: survival reported at these days (4, 8 and 12 weeks)
SURVIVAL_DAYS = (28, 56, 84)
#: booster handling for durability: "ignore" | "censor" | "event"
BOOSTER_HANDLING = "ignore"
BOOSTER_HANDLINGS = ("ignore", "censor", "event")

#: a complete induction series
INDUCTION_SERIES_LENGTH = 6

#: import limits
MAX_UPLOAD_MB = 200
#: plausible day offsets (before the first treatment, after it)
PLAUSIBLE_DAYS = (-365, 3 * 365)
#: ages above this are reported as "90+"
MAX_AGE_SHOWN = 89

#: saved data sets (analysis.store): the data directory is $OUTCOMES_DATA_DIR, else ./data
DATA_DIR_ENV = "OUTCOMES_DATA_DIR"
DEFAULT_DATA_DIR = "data"
MAX_DATASET_NAME_LENGTH = 100

#: visit windows of the observed trajectories (analysis.trajectory): (label, nominal day, first day, last day),
#: non-overlapping. "pre" is the baseline window (replaced by the definition card's baseline window);
#: infusions 2-6 at nominal days 2, 4, 7, 9, 11; then weeks 3 to 24 (to day 182). Each patient counts
#: once per window: the baseline score in "pre", the first score in every later window.
VISIT_WINDOWS = (
    ("pre", 0, -30, 0),
    ("infusion 2", 2, 1, 3),
    ("infusion 3", 4, 4, 5),
    ("infusion 4", 7, 6, 8),
    ("infusion 5", 9, 9, 10),
    ("infusion 6", 11, 11, 14),
    ("week 3", 21, 15, 24),
    ("week 4", 28, 25, 35),
    ("week 6", 42, 36, 49),
    ("week 8", 56, 50, 70),
    ("week 12", 84, 71, 98),
    ("week 16", 112, 99, 126),
    ("week 20", 140, 127, 154),
    ("week 24", 168, 155, 182),
)
#: the trajectory model uses scores from the baseline window start to this day
TRAJECTORY_MAX_DAY = 182
#: a group with fewer patients than this is left out of the trajectory model (with a note)
TRAJECTORY_MIN_PATIENTS = 5
#: individual patient lines drawn per group (seeded sample)
TRAJECTORY_LINES_PER_GROUP = 30
#: the number at risk under a Kaplan-Meier chart is given every this many days (analysis.durability.at_risk)
AT_RISK_STEP = 28
