"""Plain constants: the defaults that a definition card or a page setting can override."""
from __future__ import annotations

#: small-cell suppression: counts from 1 to SUPPRESSION_THRESHOLD - 1 are shown as "<11"
SUPPRESSION_THRESHOLD = 11

#: outcome windows (days since day 0), DESIGN "Outcome definitions"
BASELINE_WINDOW = (-30, 0)
RESPONSE_WINDOW = (14, 31)
#: the end of the induction series: the knot of the piecewise-linear trajectory model
INDUCTION_END_DAY = 14
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
