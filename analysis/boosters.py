"""Boosters after the induction series (DESIGN "Who it is for": how boosters change durability): time to the first
booster (Kaplan-Meier, :func:`analysis.survival.kaplan_meier`, as R ``survfit``), boosters per patient-year with an
exact Poisson 95% CI (as R ``poisson.test``), the days between consecutive boosters (median and IQR, R's default
quantiles) and the scores just before and after a booster (paired mean change with a t-based 95% CI, as R
``t.test(paired = TRUE)``).

Rules (constants below):

* a patient's **origin** is the last induction session (the end of the series); patients without an induction
  session are left out (notes say how many);
* **time to the first booster**: the first booster after the origin is the event; otherwise censored at the
  patient's last record (a score or a session);
* **patient-years**: origin to the last record; boosters after the origin are counted;
* **scores around a booster**: for each patient's first booster with a score of the instrument from
  BEFORE_DAYS days before to the booster's day (the last of them: scores are taken before dosing) and one from the
  day after to AFTER_DAYS days after (the first of them): one pair per patient, so pairs are independent.

Counts here are exact; ``*_shown`` and ``to_json`` suppress small cells (analysis.privacy).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from analysis import schema as S
from analysis.config import SUPPRESSION_THRESHOLD
from analysis.outcomes import Definitions, group_labels
from analysis.privacy import show_count, suppress_table
from analysis.survival import KaplanMeier, kaplan_meier

#: a score this many days before a booster (to the booster's day) counts as "before"
BEFORE_DAYS = 14
#: a score from the day after a booster to this many days after counts as "after"
AFTER_DAYS = 14
#: days in a year, for patient-years
YEAR_DAYS = 365.25
#: the width in days of the bars of the distribution of days between boosters (merged until none is small)
INTERVAL_BIN_DAYS = 14
#: the days at which the share still without a booster is given
WITHOUT_BOOSTER_DAYS = (28, 56, 84, 182)
BOOSTER_COLUMNS = (S.GROUP, S.PATIENTS, "intervals", "median_days", "q1_days", "q3_days")
GROUP_COLUMNS = [
    S.GROUP,
    S.PATIENTS,
    "with_booster",
    "median",
    "median_lower",
    "median_upper",
    "boosters",
    "patient_years",
    "rate",
    "rate_lower",
    "rate_upper",
]
SCORE_COLUMNS = [S.GROUP, "pairs", "before", "after", "change", "lower", "upper", "p"]


def booster_intervals(treatments: pd.DataFrame | None, patients: pd.DataFrame, by: str | None) -> pd.DataFrame:
    """Days between consecutive distinct booster days of a patient, pooled: row "all", then per group
    (``patients`` maps patient_id to the group column ``by``): patients, intervals, median and quartiles (R's
    default type 7). Empty without treatments."""
    if treatments is None:
        return pd.DataFrame(columns=list(BOOSTER_COLUMNS))
    iv = _intervals(treatments)
    groups = group_labels(patients.set_index(S.PATIENT_ID)[by]) if by else None
    iv = iv.assign(group=iv[S.PATIENT_ID].map(groups).fillna("unknown") if by else "all")

    def row(name, x):
        v = x["interval"].to_numpy(dtype=float)
        q = np.percentile(v, [50, 25, 75]) if len(v) else [np.nan] * 3
        return {
            S.GROUP: name,
            S.PATIENTS: int(x[S.PATIENT_ID].nunique()),
            "intervals": len(v),
            "median_days": q[0],
            "q1_days": q[1],
            "q3_days": q[2],
        }

    rows = [row("all", iv)] + ([row(g, x) for g, x in iv.groupby(S.GROUP, sort=True)] if by else [])
    return pd.DataFrame(rows, columns=list(BOOSTER_COLUMNS))


def _intervals(treatments: pd.DataFrame) -> pd.DataFrame:
    """Each interval between consecutive distinct booster days of a patient: patient_id, day (the later booster),
    interval (days)."""
    b = treatments.loc[treatments[S.KIND] == "booster", [S.PATIENT_ID, S.DAY]].copy()
    b[S.DAY] = pd.to_numeric(b[S.DAY], errors="coerce")
    b = b.dropna().drop_duplicates().sort_values([S.PATIENT_ID, S.DAY])
    b["interval"] = b.groupby(S.PATIENT_ID)[S.DAY].diff()
    return b.dropna(subset=["interval"])


def interval_distribution(
    treatments: pd.DataFrame | None, threshold: int = SUPPRESSION_THRESHOLD, bin_days: int = INTERVAL_BIN_DAYS
) -> pd.DataFrame:
    """The distribution of the days between consecutive boosters (all patients): from_day, to_day (inclusive),
    intervals. Bins are ``bin_days`` wide, and neighbouring bins are merged (from the shortest intervals up) until
    each holds at least ``threshold`` intervals, the last leftover joining the bin before it: no bin is a small
    count, and none can be found by subtracting the others from the total. Empty when there are fewer than
    ``threshold`` intervals in all (or no treatments)."""
    cols = ["from_day", "to_day", "intervals"]
    if treatments is None or not len(treatments):
        return pd.DataFrame(columns=cols)
    v = _intervals(treatments)["interval"].to_numpy(dtype=float)
    if len(v) < threshold:
        return pd.DataFrame(columns=cols)
    edges = np.arange(0, v.max() + bin_days + 1, bin_days)
    counts, _ = np.histogram(v, bins=edges)
    rows: list[list] = []
    start, n = 0, 0
    for i, c in enumerate(counts):
        n += int(c)
        if n >= threshold:
            rows.append([int(edges[start]), int(edges[i + 1]) - 1, n])
            start, n = i + 1, 0
    if n:  # the leftover (fewer than threshold) joins the last bin
        rows[-1][1], rows[-1][2] = int(edges[-1]) - 1, rows[-1][2] + n
    return pd.DataFrame(rows, columns=cols)


def poisson_ci(count: int, exposure: float, level: float = 0.95) -> tuple[float, float]:
    """Exact (Garwood) CI of a rate count / exposure, as R ``poisson.test(count, exposure)$conf.int``."""
    a = (1 - level) / 2
    lower = stats.chi2.ppf(a, 2 * count) / 2 if count > 0 else 0.0
    upper = stats.chi2.ppf(1 - a, 2 * count + 2) / 2
    return lower / exposure, upper / exposure


@dataclass(frozen=True)
class Boosters:
    """Boosters of a practice by group (see the module docstring). ``patients``: patient_id, group, origin,
    time, event, boosters, years; ``km``: time to the first booster; ``groups``: GROUP_COLUMNS; ``intervals``:
    BOOSTER_COLUMNS; ``scores``: SCORE_COLUMNS (the instrument's scores around a booster; empty without one)."""

    by: str | None
    instrument: str | None
    patients: pd.DataFrame
    km: KaplanMeier
    groups: pd.DataFrame
    intervals: pd.DataFrame
    scores: pd.DataFrame
    notes: tuple[str, ...]
    definitions: Definitions

    @property
    def _threshold(self) -> int:
        return self.definitions.suppression_threshold

    def groups_shown(self) -> pd.DataFrame:
        """``groups`` with small counts as '<11' and what rests on them withheld."""
        shares = {
            ("median", "median_lower", "median_upper"): (S.PATIENTS, "with_booster"),
            ("rate", "rate_lower", "rate_upper", "patient_years"): (S.PATIENTS, "boosters"),
        }
        return suppress_table(self.groups, [S.PATIENTS, "with_booster", "boosters"], (), self._threshold, shares=shares)

    def intervals_shown(self) -> pd.DataFrame:
        return suppress_table(
            self.intervals, [S.PATIENTS, "intervals"], ["median_days", "q1_days", "q3_days"], self._threshold
        )

    def scores_shown(self) -> pd.DataFrame:
        return suppress_table(
            self.scores, ["pairs"], ["before", "after", "change", "lower", "upper", "p"], self._threshold
        )

    def without_booster(self) -> pd.DataFrame:
        """The share still without a booster at WITHOUT_BOOSTER_DAYS per group (group, day, n_risk, survival,
        lower, upper), withheld (None) where fewer than the threshold are at risk."""
        t = self.km.survival_at(list(WITHOUT_BOOSTER_DAYS))
        out = t.astype({c: object for c in ("survival", "lower", "upper")})
        small = out["n_risk"] < self._threshold
        out.loc[small, ["survival", "lower", "upper"]] = None
        out["n_risk"] = [show_count(int(n), self._threshold) for n in out["n_risk"]]
        return out

    def to_json(self) -> dict:
        """Small-cell-suppressed JSON of the command line (``boosters``)."""
        return {
            "instrument": self.instrument,
            "by": self.by,
            "time_to_first_booster": self.groups_shown().to_dict("records"),
            "without_booster_at": self.without_booster().to_dict("records"),
            "intervals": self.intervals_shown().to_dict("records"),
            "scores_around_booster": self.scores_shown().to_dict("records"),
            "windows": {"before_days": BEFORE_DAYS, "after_days": AFTER_DAYS},
            "notes": list(self.notes),
        }

    def to_text(self) -> str:
        """Human summary for the command line (small cells suppressed)."""
        g = self.groups_shown()
        lines = ["Boosters after the induction series", "", "Time to the first booster and boosters per patient-year:"]
        lines.append(g.to_string(index=False, float_format=lambda v: f"{v:.2f}") if len(g) else "(none)")
        lines += ["", "Days between boosters:", self.intervals_shown().to_string(index=False)]
        if self.instrument:
            lines += ["", f"{self.instrument} before and after a booster:", self.scores_shown().to_string(index=False)]
        if self.notes:
            lines += ["", "Notes:"] + [f"- {n}" for n in self.notes]
        return "\n".join(lines)


def _patient_groups(assessments: pd.DataFrame, by: str | None) -> pd.Series:
    """Each patient's group: the first non-missing value of ``by`` ('unknown' without one; 'all' when None)."""
    ids = pd.Index(assessments[S.PATIENT_ID].dropna().unique())
    if by is None:
        return pd.Series("all", index=ids, dtype=object)
    if by not in assessments.columns:
        available = [c for c in S.PATIENT_ATTRIBUTES if c in assessments.columns]
        raise KeyError(f"group column {by!r} not found; available: {', '.join(available)}")
    first = assessments.dropna(subset=[by]).groupby(S.PATIENT_ID, sort=False)[by].first()
    return group_labels(first.reindex(ids)).fillna("unknown").astype(object)


def _scores_around(assessments: pd.DataFrame, boosters: pd.DataFrame, instrument: str) -> pd.DataFrame:
    """One (patient_id, before, after) per patient: the first booster with a score in both windows."""
    s = assessments.loc[assessments[S.INSTRUMENT] == instrument, [S.PATIENT_ID, S.DAY, S.SCORE]].dropna()
    s = s.groupby([S.PATIENT_ID, S.DAY], as_index=False)[S.SCORE].mean()  # same-day scores merged, as outcomes
    m = boosters.merge(s, on=S.PATIENT_ID, suffixes=("_booster", ""))
    gap = m[S.DAY] - m["booster_day"]
    before = m[(gap >= -BEFORE_DAYS) & (gap <= 0)].sort_values(S.DAY).groupby([S.PATIENT_ID, "booster_day"]).last()
    after = m[(gap >= 1) & (gap <= AFTER_DAYS)].sort_values(S.DAY).groupby([S.PATIENT_ID, "booster_day"]).first()
    pairs = (
        before[[S.SCORE]].add_suffix("_before").join(after[[S.SCORE]].add_suffix("_after"), how="inner").reset_index()
    )
    pairs = pairs.sort_values([S.PATIENT_ID, "booster_day"]).groupby(S.PATIENT_ID, as_index=False).first()
    return pairs.rename(columns={f"{S.SCORE}_before": "before", f"{S.SCORE}_after": "after"})


def _paired(name, x: pd.DataFrame) -> dict:
    d = (x["after"] - x["before"]).to_numpy(dtype=float)
    n = len(d)
    mean = float(d.mean()) if n else np.nan
    if n > 1:
        half = stats.t.ppf(0.975, n - 1) * d.std(ddof=1) / np.sqrt(n)
        p = float(stats.ttest_1samp(d, 0.0).pvalue) if d.std(ddof=1) > 0 else np.nan
    else:
        half, p = np.nan, np.nan
    return {
        S.GROUP: name,
        "pairs": n,
        "before": float(x["before"].mean()) if n else np.nan,
        "after": float(x["after"].mean()) if n else np.nan,
        "change": mean,
        "lower": mean - half,
        "upper": mean + half,
        "p": p,
    }


def analyse(
    assessments: pd.DataFrame,
    treatments: pd.DataFrame | None,
    instrument: str | None = None,
    by: str | None = S.CONDITION,
    definitions: Definitions | None = None,
) -> Boosters:
    """Boosters by ``by`` (see the module docstring); ``instrument`` for the scores around a booster (None: none).
    Without a treatments file every table is empty and a note says why."""
    d = definitions or Definitions()
    notes: list[str] = []
    groups_of = _patient_groups(assessments, by)
    empty_km = kaplan_meier(pd.Series([], dtype=float), pd.Series([], dtype=float))
    if treatments is None or not len(treatments):
        notes.append("boosters need a treatments file (sessions with their kind: induction, booster).")
        return Boosters(
            by,
            instrument,
            pd.DataFrame(columns=[S.PATIENT_ID, S.GROUP, "origin", "time", "event", "boosters", "years"]),
            empty_km,
            pd.DataFrame(columns=GROUP_COLUMNS),
            pd.DataFrame(columns=list(BOOSTER_COLUMNS)),
            pd.DataFrame(columns=SCORE_COLUMNS),
            tuple(notes),
            d,
        )
    t = treatments[[S.PATIENT_ID, S.DAY, S.KIND]].copy()
    t[S.DAY] = pd.to_numeric(t[S.DAY], errors="coerce")
    t = t.dropna(subset=[S.PATIENT_ID, S.DAY])
    origin = t[t[S.KIND] == "induction"].groupby(S.PATIENT_ID)[S.DAY].max().rename("origin")
    last = (
        pd.concat([t[[S.PATIENT_ID, S.DAY]], assessments[[S.PATIENT_ID, S.DAY]].dropna()], ignore_index=True)
        .groupby(S.PATIENT_ID)[S.DAY]
        .max()
    )
    boost = t.loc[t[S.KIND] == "booster", [S.PATIENT_ID, S.DAY]].drop_duplicates()
    b = boost.merge(origin, left_on=S.PATIENT_ID, right_index=True)
    b = b[b[S.DAY] > b["origin"]]
    first = b.groupby(S.PATIENT_ID)[S.DAY].min()
    p = origin.to_frame()
    p["last"] = last.reindex(p.index)
    p["first_booster"] = first.reindex(p.index)
    p["event"] = p["first_booster"].notna().astype(int)
    p["time"] = np.where(p["event"] == 1, p["first_booster"] - p["origin"], p["last"] - p["origin"])
    p["boosters"] = b.groupby(S.PATIENT_ID).size().reindex(p.index).fillna(0).astype(int)
    p["years"] = (p["last"] - p["origin"]) / YEAR_DAYS
    p[S.GROUP] = groups_of.reindex(p.index).fillna("unknown")
    p = p.reset_index().rename(columns={"index": S.PATIENT_ID})
    without = len(set(t[S.PATIENT_ID].unique()) - set(origin.index))  # (sets: isin on Arrow strings is slow)
    if without:
        notes.append(
            f"{show_count(without, d.suppression_threshold)} patients with sessions but no induction session are "
            "left out (no end of induction to count from)."
        )
    before_origin = int(len(boost) - len(b))
    if before_origin:
        notes.append(
            f"{show_count(before_origin, d.suppression_threshold)} booster sessions on or before the patient's last "
            "induction session (or of a patient without one) are not counted."
        )
    km = kaplan_meier(p["time"].astype(float), p["event"], p[S.GROUP])
    med = km.medians.set_index(S.GROUP)
    rows = []
    for g, x in p.groupby(S.GROUP, sort=True):
        years = float(x["years"].sum())
        n_b = int(x["boosters"].sum())
        lo, hi = poisson_ci(n_b, years) if years > 0 else (np.nan, np.nan)
        m = med.loc[g] if g in med.index else None
        rows.append(
            {
                S.GROUP: g,
                S.PATIENTS: len(x),
                "with_booster": int(x["event"].sum()),
                "median": np.nan if m is None else m["median"],
                "median_lower": np.nan if m is None else m["lower"],
                "median_upper": np.nan if m is None else m["upper"],
                "boosters": n_b,
                "patient_years": years,
                "rate": n_b / years if years > 0 else np.nan,
                "rate_lower": lo,
                "rate_upper": hi,
            }
        )
    patients_groups = pd.DataFrame({S.PATIENT_ID: groups_of.index, "g": groups_of.to_numpy()})
    intervals = booster_intervals(treatments, patients_groups.rename(columns={"g": by or "all"}), by)
    scores = pd.DataFrame(columns=SCORE_COLUMNS)
    if instrument is not None:
        pairs = _scores_around(assessments, b.rename(columns={S.DAY: "booster_day"}), instrument)
        pairs[S.GROUP] = groups_of.reindex(pairs[S.PATIENT_ID]).to_numpy()
        scores = pd.DataFrame(
            [_paired("all", pairs)] + ([_paired(g, x) for g, x in pairs.groupby(S.GROUP, sort=True)] if by else []),
            columns=SCORE_COLUMNS,
        )
        notes.append(
            f"scores around a booster: {instrument} from {BEFORE_DAYS} days before to the booster's day, and from the "
            f"day after to {AFTER_DAYS} days after; one pair per patient (the first booster with both); a negative "
            "change is an improvement."
        )
    return Boosters(
        by, instrument, p, km, pd.DataFrame(rows, columns=GROUP_COLUMNS), intervals, scores, tuple(notes), d
    )
