"""Durability episodes: one per responder with a score after the response assessment, from the response
assessment to the loss of response (the event) or the last score (censored), under the definition card's
``confirm_loss`` and ``booster_handling`` (model in ``analysis.outcomes``' docstring). :func:`episodes` is the
table ``analysis.durability`` analyses; :func:`episodes_with_notes` adds the notes that explain it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis import config, instruments
from analysis import schema as S
from analysis.arrays import first_per, pick, positions, run_starts, sort_order
from analysis.card import Definitions
from analysis.outcomes import BASELINE_BAND, INDUCTION_COMPLETED, Coded, _achieves_drop, _outcomes, _whole
from analysis.privacy import show_count
from analysis.sessions import Sessions


def episodes_with_notes(
    assessments, treatments, instrument, definitions=None, outcomes=None, coded=None, sessions=None
):
    """(:func:`episodes`, the notes that explain them: boosters ignored, unconfirmed last drops, same-day
    means, responders without follow-up; small counts suppressed). ``coded``: the :class:`Coded`
    assessments when the caller has them, ``sessions`` the treatments' :class:`Sessions` over ``coded.ids``;
    ``outcomes``: their patient_outcomes (with, optionally, induction_completed)."""
    d = definitions or Definitions()
    ins = instruments.get(instrument)
    coded = Coded(assessments) if coded is None else coded
    scores, patients = coded.scores(ins.code)
    outcomes = _outcomes(scores, patients, ins, d, coded) if outcomes is None else outcomes
    threshold = d.response_threshold(ins.code)
    notes = []
    handling = d.booster_handling
    if handling != "ignore" and treatments is None:
        notes.append(
            f"booster handling '{handling}' needs a treatments file; without one boosters have no effect "
            "and episodes end at the loss of response or the last score."
        )
        handling = "ignore"

    followed = outcomes[outcomes["has_follow_up"]]
    m = len(followed)
    # the scores after the origin of each responder with follow-up (k = 0..m-1), as flat arrays in day order
    who = positions(coded.ids, followed[S.PATIENT_ID])
    origin = followed["response_day"].to_numpy(dtype=float, na_value=np.nan)
    baseline = followed[S.BASELINE].to_numpy(dtype=float)
    lo, hi = np.searchsorted(patients, who, "left"), np.searchsorted(patients, who, "right")
    k = np.repeat(np.arange(m), hi - lo)
    row = np.arange(len(k)) - np.repeat(np.cumsum(hi - lo) - (hi - lo), hi - lo) + np.repeat(lo, hi - lo)
    all_days = scores[S.DAY].to_numpy(dtype=float, na_value=np.nan)
    later = all_days[row] > origin[k]
    k, row = k[later], row[later]
    days = all_days[row]
    lost = ~_achieves_drop(baseline[k], scores[S.SCORE].to_numpy(dtype=float)[row], threshold)
    last = first_per(k, np.ones(len(k), dtype=bool), m, last=True)  # every responder here has a later score
    last_day = pick(days, last)

    # loss of response: the first lost score, or with confirm_loss the first lost score whose next score is
    # lost too (a drop undone by the next score is no event); a lost last score without a confirmed loss
    # before it cannot be confirmed: censored at the score before it (or the origin)
    if d.confirm_loss:
        confirmed = lost & np.r_[lost[1:] & (k[1:] == k[:-1]), False]
        first = first_per(k, confirmed, m)
        unconfirmed = (first < 0) & lost[last]
    else:
        first = first_per(k, lost, m)
        unconfirmed = np.zeros(m, dtype=bool)
    event = first >= 0
    end = np.where(event, pick(days, first), last_day)
    before_last = pick(days, last - 1)
    has_before = (last - 1 >= 0) & (pick(k, last - 1) == np.arange(m))
    end = np.where(unconfirmed, np.where(has_before, before_last, origin), end)
    reason = np.where(event, None, np.where(unconfirmed, "unconfirmed last score", "last score")).astype(object)
    unconfirmed_last = int(unconfirmed.sum())

    early_boosters = 0
    b = None if treatments is None else Sessions(treatments, coded.ids) if sessions is None else sessions
    if b is not None:
        take = b.of_kind("booster") & (b.patient >= 0) & ~np.isnan(b.day)
        bp, bd = b.patient[take], b.day[take]
        order = sort_order(bp, bd)
        bp, bd = bp[order], bd[order]
        distinct = run_starts(bp, bd)
        bp, bd = bp[distinct], bd[distinct]
        # each booster's responder (k), if any; boosters of patients without an episode play no part
        of = np.full(len(coded.ids), -1)
        of[who] = np.arange(m)
        bk = of[bp]
        bp, bd, bk = bp[bk >= 0], bd[bk >= 0], bk[bk >= 0]
        early = np.zeros(m, dtype=bool)
        early[bk[bd <= origin[bk]]] = True
        early_boosters = int(early.sum())
        after = first_per(bk, bd > origin[bk], m)
        booster = pick(bd, after)
        if handling == "censor":
            censor = (after >= 0) & (booster < end)
            end = np.where(censor, booster, end)
            event &= ~censor
            reason[censor] = "booster"
        elif handling == "event":
            has = after >= 0
            end = np.where(has, booster, last_day)
            event = has
            reason = np.where(has, None, "last score").astype(object)

    cols = [S.PATIENT_ID] + [c for c in S.PATIENT_ATTRIBUTES if c in outcomes.columns]
    attrs = cols[1:]
    cols += [
        BASELINE_BAND,
        INDUCTION_COMPLETED,
        S.BASELINE,
        "response_score",
        "origin",
        "time",
        "event",
        "event_day",
        "end_day",
        "censor_reason",
    ]
    if m:
        ep = pd.DataFrame(
            {
                S.PATIENT_ID: followed[S.PATIENT_ID].to_numpy(),
                "origin": origin,
                "end_day": end,
                "event": event.astype("int64"),
                "censor_reason": reason,
            }
        )
    else:
        ep = pd.DataFrame([], columns=[S.PATIENT_ID, "origin", "end_day", "event", "censor_reason"])
    known = [INDUCTION_COMPLETED] if INDUCTION_COMPLETED in followed.columns else []
    ep = followed[[S.PATIENT_ID] + attrs + [BASELINE_BAND, S.BASELINE, "response_score"] + known].merge(
        ep, on=S.PATIENT_ID
    )
    if not known and b is None:  # without a treatments file: unknown
        ep[INDUCTION_COMPLETED] = pd.array([pd.NA] * len(ep), dtype="boolean")
    elif not known:
        series = b.count("induction")[positions(coded.ids, ep[S.PATIENT_ID])]
        ep[INDUCTION_COMPLETED] = pd.array(series >= config.INDUCTION_SERIES_LENGTH, dtype="boolean")
    ep["time"] = ep["end_day"] - ep["origin"]
    ep["event"] = ep["event"].astype("int64")
    ep["event_day"] = ep["end_day"].where(ep["event"] == 1)
    ep["censor_reason"] = ep["censor_reason"].astype("str").where(ep["event"] == 0)
    for c in ("origin", "time", "event_day", "end_day"):
        ep[c] = _whole(ep[c])
    ep = ep[cols]

    if early_boosters and handling != "ignore":
        notes.append(
            f"{show_count(early_boosters, d.suppression_threshold)} responder(s) had a booster on or before the response assessment; "
            "those boosters were ignored."
        )
    if unconfirmed_last:
        notes.append(
            f"{show_count(unconfirmed_last, d.suppression_threshold)} episode(s) end in a drop on the last score that could not be confirmed; "
            "they are censored at the score before it."
        )
    if scores.attrs.get("same_day"):
        notes.append(
            f"{show_count(scores.attrs['same_day'], d.suppression_threshold)} patient-day(s) had two or "
            f"more {ins.code} scores; their mean was used."
        )
    no_follow = int((outcomes["response"].fillna(False).astype(bool) & ~outcomes["has_follow_up"]).sum())
    if no_follow:
        notes.append(
            f"{show_count(no_follow, d.suppression_threshold)} responder(s) have no score after the response assessment (no follow-up) "
            "and have no episode."
        )
    return ep.reset_index(drop=True), tuple(notes)


def episodes(
    assessments: pd.DataFrame, treatments: pd.DataFrame | None, instrument, definitions: Definitions | None = None
) -> pd.DataFrame:
    """One row per responder with follow-up: patient_id, attributes, baseline_band, induction_completed,
    origin (response-assessment day), time (end - origin), event (1 loss of response, or first booster
    when booster_handling is "event"; 0 censored), event_day (NA when censored), end_day and
    censor_reason ("last score", "booster", "unconfirmed last score"; NA for events)."""
    return episodes_with_notes(assessments, treatments, instrument, definitions)[0]
