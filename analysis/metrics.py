"""Practice metrics: volumes, series and assessment completion, response and remission rates with CIs.

Definitions used here (also stated in every output, see ``METHODS``):

* **Rate CIs**: Wilson score interval, equal to R ``prop.test(x, n, correct = FALSE)$conf.int``.
* **Comparing two rates**: Pearson chi-square without continuity correction (R ``prop.test(c(x1, x2),
  c(n1, n2), correct = FALSE)``), or Fisher's exact test (R ``fisher.test``) when any expected cell count is
  below 5; the difference in proportions always with prop.test's (Wald) confidence interval.
* **Patients started**: with a treatments file, patients with at least one treatment session (any kind);
  without one, patients with any score. A session is one (patient, day, kind), as in
  ``outcomes.patient_table``: duplicated rows count once.
* **Series completion**: of the patients who started an induction series (>= 1 induction infusion), the
  share with >= ``config.INDUCTION_SERIES_LENGTH`` induction infusions.
* **Assessment completion**: the share of infusions (sessions of any kind, with a day) on whose day, +-1 day,
  the patient has at least one score of any instrument.
* **Months**: the patient's start month (the month of day 0). Dates do not survive import, so infusions are
  counted by the start month of the patient who received them, not by the calendar month they were given.
* **Response and remission** per instrument come from ``analysis.outcomes.funnel`` (DESIGN "Outcome
  definitions"): rates over the evaluable patients.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis import config, instruments, privacy
from analysis import formatting as fmt
from analysis.kpi_tiles import _check_months, _kpis, data_end
from analysis.practice import (
    _check_inputs,
    _definitions,
    _PerPatient,
    _practice,
)
from analysis.rates import add_rates, suppress_rates
from analysis.schema import (
    ASSESSMENT_COMPLETION,
    CONDITION,
    DIMENSION,
    GROUP,
    INFUSIONS,
    INSTRUMENT,
    PATIENTS,
    PATIENTS_STARTED,
    RATE_TABLE_COLUMNS,
    REMITTERS,
    SERIES_COMPLETION,
    SITE,
    START_MONTH,
)

__all__ = [
    "DIMENSIONS",
    "METHODS",
    "RATES_COLUMNS",
    "Summary",
    "summary",
    "summary_and_kpis",
]

#: how each metric is defined; part of every Summary's output
METHODS = {
    "rate_ci": "Wilson score interval (as R prop.test(x, n, correct = FALSE)$conf.int), 95%",
    "rate_comparison": (
        "Pearson chi-square without continuity correction (as R prop.test(correct = FALSE)); Fisher's exact "
        "test (as R fisher.test) when any expected cell count is below 5; difference in proportions with "
        "prop.test's Wald 95% CI"
    ),
    PATIENTS_STARTED: (
        "patients with at least one treatment session (any kind); without a treatments file, patients with any score"
    ),
    SERIES_COMPLETION: (
        f"of the patients who started an induction series (>= 1 induction infusion), the share with "
        f">= {config.INDUCTION_SERIES_LENGTH} induction infusions"
    ),
    ASSESSMENT_COMPLETION: (
        "share of infusions (sessions of any kind, with a day) on whose day, +-1 day, the patient has at least "
        "one score"
    ),
    INFUSIONS: "treatment sessions of any kind; a session is one patient, day and kind",
    "median_infusions": "median number of induction infusions of the patients who started a series",
    "infusions_per_month": "infusions of patients who started in the month (dates do not survive import)",
    "month": "the patient's start month (YYYY-MM of day 0)",
    "response_remission": "over the evaluable patients: a baseline above 0 and a response assessment",
    "period_change": "KPIs: the latest complete months vs the same number of months before; change = value - previous",
}


#: columns of Summary.rates, in order
RATES_COLUMNS = (
    INSTRUMENT,
    DIMENSION,
    GROUP,
    *RATE_TABLE_COLUMNS,
)


#: rate dimensions: name in Summary.rates -> column
DIMENSIONS = {"overall": None, CONDITION: CONDITION, SITE: SITE, START_MONTH: START_MONTH}


def _plain(v):
    """A suppressed cell as the JSON and the pages take it: '<11', None (withheld) or a whole number."""
    if v is None or isinstance(v, str):
        return v
    return None if pd.isna(v) else int(v)


def _hidden(row, columns) -> bool:
    return any(row[c] is None or isinstance(row[c], str) for c in columns)


@dataclass(frozen=True)
class Summary:
    """Practice metrics and, per instrument and dimension, the funnel with response and remission rates.

    ``practice``: counts and shares for the whole practice (see ``METHODS``); ``by_month``: one row per
    start month (``BY_MONTH_COLUMNS``); ``rates``: one row per instrument, dimension ("overall", "condition",
    "site", "start_month") and group (``RATES_COLUMNS``); ``infusions_per_patient``: induction infusions per
    patient who started a series (1 .. L-1, "L+"). All tables hold exact counts; ``to_json`` and ``to_text``
    apply small-cell suppression (``definitions.suppression_threshold``).
    """

    practice: dict
    by_month: pd.DataFrame
    rates: pd.DataFrame
    infusions_per_patient: pd.DataFrame
    notes: tuple[str, ...]
    definitions: object
    methods: dict = field(default_factory=lambda: dict(METHODS))

    @property
    def threshold(self) -> int:
        return int(getattr(self.definitions, "suppression_threshold", config.SUPPRESSION_THRESHOLD))

    def suppressed_rates(self) -> pd.DataFrame:
        """``rates`` as it may be shown (see :func:`suppress_rates`); worked out once per summary (a page asks
        several times), a copy each time."""
        if "_rates_shown" not in self.__dict__:  # (a frozen dataclass: the cache bypasses __setattr__)
            self.__dict__["_rates_shown"] = suppress_rates(self.rates, self.threshold)
        return self.__dict__["_rates_shown"].copy()

    def suppressed_by_month(self) -> pd.DataFrame:
        """``by_month`` as it may be shown: small counts '<11', shares from a small count withheld, and counts
        withheld beside them so that none can be worked out from the practice's totals (:meth:`_suppressed`)."""
        return self._suppressed()[1]

    def suppressed_practice(self) -> dict:
        """``practice`` as it may be shown: as :meth:`suppressed_by_month`, its totals suppressed beside the
        months, beside each other (patients with scores of all patients) and beside their parts (infusions of
        each kind, patients by number of infusions)."""
        return self._suppressed()[0]

    def _suppressed(self) -> tuple[dict, pd.DataFrame]:
        """The practice's totals and the months in one table for analysis.privacy.suppress_table: the practice
        (row 0) the total of the months, so that a month's '<11' cannot be had by subtraction, nor a total's."""
        if "_practice_shown" not in self.__dict__:
            self.__dict__["_practice_shown"] = self._suppress_practice()
        p, months = self.__dict__["_practice_shown"]
        return dict(p), months.copy()

    def _suppress_practice(self) -> tuple[dict, pd.DataFrame]:
        t = self.threshold
        months = self.by_month
        month_counts = [
            c
            for c in (
                PATIENTS_STARTED,
                INFUSIONS,
                "induction_started",
                "series_completed",
                "boosters",
                "infusions_dated",
                "infusions_with_score",
            )
            if c in months.columns
        ]
        bins = {f"infusions_per_patient {k}": v for k, v in (self.practice.get("infusions_per_patient") or {}).items()}
        own = ["patients_with_scores", "assessments", "induction_infusions", "maintenance", *bins]
        total = {c: self.practice.get(PATIENTS if c == PATIENTS_STARTED else c) for c in month_counts}
        total.update({c: self.practice.get(c) for c in own if c not in bins}, **bins)
        table = pd.concat([pd.DataFrame([total]), months], ignore_index=True)
        counts = [*month_counts, *own]
        for c in counts:
            table[c] = pd.to_numeric(table[c], errors="coerce") if c in table.columns else np.nan
        shares = {
            (SERIES_COMPLETION,): ("series_completed", "induction_started"),
            (ASSESSMENT_COMPLETION,): ("infusions_with_score", "infusions_dated"),
        }
        chain = [
            ("series_completed", "induction_started"),
            ("infusions_with_score", "infusions_dated"),
            ("induction_started", PATIENTS_STARTED),
            ("patients_with_scores", PATIENTS_STARTED),
        ]
        sums = [(INFUSIONS, ["induction_infusions", "boosters", "maintenance"]), ("induction_started", list(bins))]
        shown = privacy.suppress_table(
            table,
            counts,
            (),
            t,
            shares=shares,
            complements=chain,
            blocks=[(0, list(range(1, len(table))))] if len(table) > 1 else [],
            sums=sums if bins else sums[:1],
        )
        by_month = shown.iloc[1:][list(months.columns)].reset_index(drop=True)
        row = shown.iloc[0]
        out = dict(self.practice)
        for c in (*month_counts, *own):
            if c in bins:
                continue
            key = PATIENTS if c == PATIENTS_STARTED else c
            if key in out and out[key] is not None:
                out[key] = _plain(row[c])
        for (share,), basis in shares.items():
            if share in out and _hidden(row, basis):
                out[share] = None
        if privacy.is_small(self.practice.get("induction_started"), t):
            out["median_infusions"] = None
        if bins:
            out["infusions_per_patient"] = {
                k: _plain(row[f"infusions_per_patient {k}"]) for k in self.practice["infusions_per_patient"]
            }
        return out, by_month

    def to_json(self) -> dict:
        rates = self.suppressed_rates()
        by_instrument = {}
        keep = [c for c in RATES_COLUMNS if c not in (INSTRUMENT, DIMENSION, GROUP)]
        for code, r in rates.groupby(INSTRUMENT, sort=False):
            entry = {}
            for dim, key in (
                ("overall", "overall"),
                (CONDITION, "by_condition"),
                (SITE, "by_site"),
                (START_MONTH, "by_start_month"),
            ):
                rows = r[r[DIMENSION] == dim]
                if dim == "overall":
                    entry[key] = rows[keep].to_dict("records")[0] if len(rows) else {}
                else:
                    entry[key] = {str(g): rec for g, rec in zip(rows[GROUP], rows[keep].to_dict("records"))}
            by_instrument[code] = entry
        return {
            "definitions": self.definitions.to_dict() if hasattr(self.definitions, "to_dict") else {},
            "methods": dict(self.methods, suppression_threshold=self.threshold),
            "practice": self.suppressed_practice(),
            "by_month": self.suppressed_by_month().to_dict("records"),
            "by_instrument": by_instrument,
            "notes": list(self.notes),
        }

    def to_text(self) -> str:
        p = self.suppressed_practice()

        pct = fmt.percent

        def rate(r, what):
            return fmt.rate_ci(r[f"{what}_rate"], r[f"{what}_lower"], r[f"{what}_upper"])

        lines = ["Practice summary", "================"]
        lines.append(f"Patients started: {p['patients']}   (patients with scores: {p['patients_with_scores']})")
        if p.get(INFUSIONS) is not None:
            lines.append(
                f"Infusions: {p['infusions']} (induction {p['induction_infusions']}, boosters "
                f"{p['boosters']}, maintenance {p['maintenance']})"
            )
            lines.append(
                f"Series completion: {pct(p['series_completion'])} of {p['induction_started']} who started "
                f"an induction series (>= {config.INDUCTION_SERIES_LENGTH} induction infusions)"
            )
            lines.append(
                f"Assessment completion: {pct(p['assessment_completion'])} of {p['infusions_dated']} "
                "infusions had a score that day (+-1 day)"
            )
        else:
            lines.append("Infusions, series and assessment completion: need a treatments file")
        if p.get("first_start_month"):
            lines.append(f"Start months: {p['first_start_month']} to {p['last_start_month']}")
        lines += ["", "Response and remission (95% Wilson CI), over the evaluable patients"]
        rates = self.suppressed_rates()
        for _, r in rates.iterrows():
            if r[DIMENSION] == START_MONTH:
                continue
            label = f"{r['instrument']:<9} {r['dimension']:<10} {str(r['group']):<20}"
            lines.append(
                f"{label} evaluable {str(r['evaluable']):>5}  response {rate(r, 'response'):<26} "
                f"remission {rate(r, 'remission')}"
            )
        lines += ["", "Methods"] + [f"- {k}: {v}" for k, v in self.methods.items()]
        lines.append(
            f"- small cells: counts from 1 to {self.threshold - 1} shown as "
            f"{privacy.small_label(self.threshold)}, rates from them withheld"
        )
        if self.notes:
            lines += ["", "Notes"] + [f"- {n}" for n in self.notes]
        return "\n".join(lines)


def _rates(per: _PerPatient, definitions, codes) -> tuple[pd.DataFrame, list[str]]:
    """Funnel with rates per instrument and dimension (groups without a value are 'unknown'): the funnels in one
    table, then every row's rates at once. An instrument without a remission rule has no remitters (NA), so
    no remission rate."""
    parts, keys, notes = [], [], []
    for code in codes:
        has_remission = definitions.remission_threshold(code) is not None
        if not has_remission:
            notes.append(f"{code} has no remission rule: remission rates are not given.")
        for dim, column in DIMENSIONS.items():
            if column is not None and not per.has_values(code, column):
                continue
            parts.append(per.funnel(code, column))
            keys.append((code, dim, has_remission))
    if not parts:
        return pd.DataFrame(columns=list(RATES_COLUMNS)), notes
    table = pd.concat(parts, ignore_index=True)
    sizes = [len(f) for f in parts]
    table[INSTRUMENT] = pd.array(np.repeat([k[0] for k in keys], sizes), dtype="str")
    table[DIMENSION] = pd.array(np.repeat([k[1] for k in keys], sizes), dtype="str")
    no_rule = np.repeat([not k[2] for k in keys], sizes)
    if no_rule.any():
        remitters = table[REMITTERS].astype(object)
        remitters[no_rule] = pd.NA
        table[REMITTERS] = remitters
    return add_rates(table)[list(RATES_COLUMNS)], notes


def summary(assessments: pd.DataFrame, treatments: pd.DataFrame | None = None, definitions=None) -> Summary:
    """Practice metrics (``METHODS`` states each definition) and response and remission rates per instrument,
    overall and by condition, site and start month, with Wilson 95% CIs.

    ``assessments`` and ``treatments`` are canonical tables (analysis.schema); inputs are not changed.
    """
    _check_inputs(assessments, treatments)
    definitions = _definitions(definitions)
    return _summary(assessments, treatments, definitions, _PerPatient(assessments, treatments, definitions))


def summary_and_kpis(
    assessments: pd.DataFrame,
    treatments: pd.DataFrame | None = None,
    definitions=None,
    instrument: str = "PHQ9",
    months: int = 3,
    *,
    as_of: str | None = None,
    mature: bool = True,
) -> tuple[Summary, pd.DataFrame]:
    """``(summary(assessments, treatments, definitions), kpis(assessments, treatments, definitions, instrument,
    months, as_of=as_of, mature=mature))`` from one per-patient computation: what the overview page shows, in
    about the time of one of them."""
    _check_inputs(assessments, treatments)
    _check_months(months)
    code = instruments.get(instrument).code
    definitions = _definitions(definitions)
    per = _PerPatient(assessments, treatments, definitions)
    return (
        _summary(assessments, treatments, definitions, per),
        _kpis(
            assessments,
            treatments,
            definitions,
            code,
            int(months),
            as_of,
            per,
            data_end(assessments, treatments) if mature else None,
        ),
    )


def _summary(assessments, treatments, definitions, per: _PerPatient) -> Summary:
    patients = per.patients
    threshold = int(getattr(definitions, "suppression_threshold", config.SUPPRESSION_THRESHOLD))
    practice, dist, notes = _practice(assessments, treatments, patients, threshold, per.coded)
    by_month = per.by_month()
    no_month = int((patients["started"] & patients[START_MONTH].isna()).sum())
    if no_month:
        notes.append(
            f"{privacy.show_count(no_month, threshold)} started patient(s) have no start month: counted in the totals, not by month."
        )
    rates, rate_notes = _rates(per, definitions, practice["instruments"])
    notes += rate_notes
    notes.append("Infusions by month are infusions of patients who started in that month.")
    return Summary(practice, by_month, rates, dist, tuple(notes), definitions)
