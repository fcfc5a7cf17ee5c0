"""The clinician's worklist (issue 20 item 7): the patients who need something done now, most urgent first, each
with its reason in words. Patient-level: shown to clinicians only (analysis.access.can_view_patient_level).

Kinds, in order of urgency (:data:`KINDS`):

1. **item 9**: PHQ-9 item 9 (thoughts of self-harm) answered 1 or more at the latest PHQ-9, emergent answers (0 at
   baseline) first: taken from :func:`analysis.safety.suicidality`, whose page has the details;
2. **loss of response**: a responder at the response assessment whose latest later score no longer meets the
   response threshold of the card (a suggestion: the card's confirmation rule decides durability);
3. **no response at the response assessment** (week 3 with the default window, days 14 to 31): the response
   assessment below the response threshold and the latest score still not a response;
4. **response score due**: a baseline, the response window open now, and no score in it yet.

"Now" (as of the data's end): only each patient's start month is kept, so calendar time is counted as
analysis.measures counts it, from the first day of the start month: the data end at the latest start plus day of
any score or session, and a patient's day now is that end minus their start (at least their last record). Patients
without a start month are taken to be at their last record. Only patients seen (a score or a session) within
:data:`ACTIVE_DAYS` days of now are listed (the Safety page lists every item-9 answer). A patient is listed once, under the most urgent kind,
with every reason in words.

Pure pandas, no streamlit; counts are not suppressed (a list of patients, for the practice's clinicians).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis import instruments
from analysis import schema as S
from analysis.card import Definitions
from analysis.measures import _origins
from analysis.outcomes import Coded, patient_outcomes
from analysis.safety import suicidality

ITEM9, LOSS, NO_RESPONSE, DUE = "item 9", "loss of response", "no response", "score due"
#: the kinds, most urgent first (the priority is the position + 1)
KINDS = (ITEM9, LOSS, NO_RESPONSE, DUE)
KIND_WORDS = {
    ITEM9: "PHQ-9 item 9 (thoughts of self-harm)",
    LOSS: "Latest score suggests loss of response",  # (lower-cased after 'also:', so no names in them)
    NO_RESPONSE: "No response at the response assessment",
    DUE: "Response score due",
}
#: patients with no score or session in this many days before now are not listed
ACTIVE_DAYS = 60
COLUMNS = [
    "priority",
    S.PATIENT_ID,
    "kind",
    "reason",
    S.CONDITION,
    S.SITE,
    "day_now",
    "last_seen_day",
    S.BASELINE,
    "latest_score",
    "latest_day",
]


def _days(v) -> str:
    return f"{float(v):g}"


def _pct(v) -> str:
    return f"{100 * float(v):.0f}%"


def _now(assessments: pd.DataFrame, treatments: pd.DataFrame | None) -> pd.DataFrame:
    """Per patient: last_seen_day (their last score or session) and day_now (see the module docstring)."""
    last = pd.to_numeric(assessments[S.DAY], errors="coerce").groupby(assessments[S.PATIENT_ID]).max()
    if treatments is not None and len(treatments) and S.DAY in treatments.columns:
        sessions = pd.to_numeric(treatments[S.DAY], errors="coerce").groupby(treatments[S.PATIENT_ID]).max()
        last = pd.concat([last, sessions]).groupby(level=0).max()
    out = last.dropna().rename("last_seen_day").to_frame()
    out.index.name = S.PATIENT_ID
    since = np.full(len(out), np.nan)
    if S.START_MONTH in assessments.columns:  # (calendar days as analysis.measures counts them)
        months = assessments[[S.PATIENT_ID, S.START_MONTH]].drop_duplicates(S.PATIENT_ID).set_index(S.PATIENT_ID)
        origin = _origins(months[S.START_MONTH]).reindex(out.index).to_numpy(dtype=float)
        at = origin + out["last_seen_day"].to_numpy(dtype=float)  # the data end at the latest of these
        if np.isfinite(at).any():
            since = np.nanmax(at) - origin
    out["day_now"] = np.fmax(since, out["last_seen_day"].to_numpy(dtype=float))
    return out


def _item9(assessments: pd.DataFrame, d: Definitions) -> pd.DataFrame:
    counts, table = suicidality(assessments, d)
    if not counts.get("kept"):
        return pd.DataFrame(columns=[S.PATIENT_ID, "kind", "reason", "order"])
    t = table[table["latest_item9"].fillna(0) >= 1].reset_index(drop=True)
    reasons = [
        f"latest answer {r['latest_item9']:g} on day {_days(r['latest_day'])} "
        + (
            f"(0 at baseline: emergent since day {_days(r['first_day_ge1'])})"
            if r["status"] == "emergent"
            else f"({r['baseline_item9']:g} at baseline)"
        )
        + "; see the Safety page"
        for r in t.to_dict("records")
    ]
    return pd.DataFrame({S.PATIENT_ID: t[S.PATIENT_ID], "kind": ITEM9, "reason": reasons, "order": np.arange(len(t))})


def worklist(
    assessments: pd.DataFrame,
    treatments: pd.DataFrame | None = None,
    instrument: str = "PHQ9",
    definitions: Definitions | None = None,
) -> pd.DataFrame:
    """The worklist (COLUMNS), one row per patient, sorted by priority (1 most urgent) and within it by urgency:
    item 9 emergent first, the largest loss, the smallest drop, the fewest days left in the window."""
    d = definitions or Definitions()
    ins = instruments.get(instrument)
    r0, r1 = d.response_window
    need = d.response_threshold(ins.code)
    now = _now(assessments, treatments)
    coded = Coded(assessments)
    keep = [S.PATIENT_ID, S.BASELINE, "baseline_day", "response_score", "response_day", S.PCT_CHANGE, S.EVALUABLE]
    o = patient_outcomes(assessments, ins.code, d, coded=coded)[keep + ["response"]].set_index(S.PATIENT_ID)
    s = coded.scores(ins.code)[0]  # (sorted by patient and day, one row per patient and day)
    latest = s.drop_duplicates(S.PATIENT_ID, keep="last").set_index(S.PATIENT_ID)
    o["latest_score"] = latest[S.SCORE].reindex(o.index)
    o["latest_day"] = latest[S.DAY].reindex(o.index)
    o = o.join(now, how="left")
    seen = (now["day_now"] - now["last_seen_day"]) <= ACTIVE_DAYS
    active = seen.reindex(o.index).fillna(False).astype(bool)
    base = o[S.BASELINE]
    with np.errstate(divide="ignore", invalid="ignore"):
        latest_drop = (base - o["latest_score"]) / base
    name = ins.synonyms[0] if ins.synonyms else ins.code  # ('PHQ-9')
    rows = []
    responders = o["response"].fillna(False).astype(bool)
    lost = responders & (o["latest_day"] > o["response_day"]) & (latest_drop < need - 1e-9) & active
    o["latest_drop"] = latest_drop
    for pid, r in _records(o[lost]):
        rows.append(
            (
                pid,
                LOSS,
                f"{name} {r['latest_score']:g} on day {_days(r['latest_day'])}, {_change(r['latest_drop'])} the "
                f"baseline {r[S.BASELINE]:g} (response: {_pct(need)} or more below); responded with "
                f"{r['response_score']:g} on day {_days(r['response_day'])}",
                float(r["latest_drop"]),
            )
        )
    evaluable = o[S.EVALUABLE].fillna(False).astype(bool)
    no_resp = evaluable & ~responders & (latest_drop < need - 1e-9) & active
    for pid, r in _records(o[no_resp]):
        later = (
            f"; latest {r['latest_score']:g} on day {_days(r['latest_day'])}"
            if r["latest_day"] > r["response_day"]
            else ""
        )
        rows.append(
            (
                pid,
                NO_RESPONSE,
                f"{name} {r['response_score']:g} on day {_days(r['response_day'])}, "
                f"{_change(r[S.PCT_CHANGE])} the baseline {r[S.BASELINE]:g} (response: {_pct(need)} or more "
                f"below){later}",
                float(r["latest_drop"]),
            )
        )
    due = base.notna() & o["response_day"].isna() & (o["day_now"] >= r0) & (o["day_now"] <= r1) & active
    for pid, r in _records(o[due]):
        left = r1 - r["day_now"]
        rows.append(
            (
                pid,
                DUE,
                f"response window (days {r0} to {r1}) open: about day {_days(r['day_now'])} now, "
                f"{_days(left)} days left; no {name} since the baseline on day {_days(r['baseline_day'])}",
                float(left),
            )
        )
    found = pd.DataFrame(rows, columns=[S.PATIENT_ID, "kind", "reason", "order"])
    item9 = _item9(assessments, d)
    item9 = item9[item9[S.PATIENT_ID].map(seen).fillna(False).astype(bool)]
    found = pd.concat([item9, found], ignore_index=True)
    if found.empty:
        return pd.DataFrame(columns=COLUMNS)
    found["priority"] = found["kind"].map({k: i + 1 for i, k in enumerate(KINDS)})
    found = found.sort_values(["priority", "order", S.PATIENT_ID], kind="stable")
    reasons: dict = {}
    for pid, kind, reason in zip(found[S.PATIENT_ID], found["kind"], found["reason"]):
        reasons[pid] = f"{reasons[pid]}; also: {KIND_WORDS[kind].lower()}: {reason}" if pid in reasons else reason
    first = found.drop_duplicates(S.PATIENT_ID).set_index(S.PATIENT_ID)
    first["reason"] = [reasons[p] for p in first.index]
    cols = [c for c in (S.CONDITION, S.SITE) if c in assessments.columns]
    attrs = assessments[[S.PATIENT_ID, *cols]].drop_duplicates(S.PATIENT_ID).set_index(S.PATIENT_ID)
    out = first.join(o[[S.BASELINE, "latest_score", "latest_day"]], how="left").join(now, how="left")
    for c in (S.CONDITION, S.SITE):
        out[c] = attrs[c].reindex(out.index) if c in attrs.columns else pd.NA
    out = out.reset_index().rename(columns={"index": S.PATIENT_ID})
    return out[COLUMNS].reset_index(drop=True)


def _change(drop) -> str:
    """'42% below' / '10% above' (a drop as a fraction of the baseline)."""
    drop = float(drop)
    if abs(drop) < 0.005:
        return "the same as"
    return f"{_pct(drop)} below" if drop > 0 else f"{_pct(-drop)} above"


def _records(frame: pd.DataFrame):
    """(index, row as a dict) of each row (quicker than iterrows)."""
    return zip(frame.index, frame.to_dict("records"))


def counts(table: pd.DataFrame) -> dict:
    """Patients per kind of a worklist (its most urgent kind), every kind present (0 when none)."""
    return {k: int((table["kind"] == k).sum()) for k in KINDS}
