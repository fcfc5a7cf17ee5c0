"""Invariants of the outcome definitions and durability, on random small practices (hypothesis)."""
import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis import durability as D
from analysis import outcomes as O
from analysis.outcomes import Definitions

CHAIN = ["patients", "with_baseline", "with_response_assessment", "evaluable", "responders", "with_follow_up"]

patient = st.fixed_dictionaries({
    "condition": st.sampled_from(["depression", "anxiety", None]),
    "scores": st.lists(st.tuples(st.integers(-35, 120), st.integers(0, 27), st.sampled_from(["PHQ9", "PHQ9", "GAD7"])),
                       min_size=1, max_size=9),
    "boosters": st.lists(st.integers(0, 120), max_size=3),
})
practices = st.lists(patient, min_size=1, max_size=12)
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FEWER = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def tables(practice):
    rows, boosters = [], []
    for i, p in enumerate(practice):
        for day, score, ins in p["scores"]:
            rows.append({"patient_id": f"p{i}", "instrument": ins, "score": min(score, 21) if ins == "GAD7" else score,
                         "day": day, "condition": p["condition"]})
        boosters += [{"patient_id": f"p{i}", "day": d, "kind": "booster"} for d in p["boosters"]]
    # every practice has at least one PHQ9 score, so the instrument is present
    rows.append({"patient_id": "anchor", "instrument": "PHQ9", "score": 10, "day": 0, "condition": "depression"})
    return pd.DataFrame(rows), pd.DataFrame(boosters, columns=["patient_id", "day", "kind"])


@SETTINGS
@given(practices, st.booleans())
def test_the_funnel_never_grows_and_follow_up_counts_the_episodes(practice, confirm):
    a, t = tables(practice)
    d = Definitions(confirm_loss=confirm)
    outcomes = O.patient_outcomes(a, "PHQ9", d)
    overall, by_group = O.funnel_from_outcomes(outcomes), O.funnel_from_outcomes(outcomes, "condition")
    for f in (overall, by_group):
        assert (np.diff(f[CHAIN].to_numpy(), axis=1) <= 0).all()
        assert (f["remitters"] <= f["evaluable"]).all()
    assert by_group[CHAIN].sum().tolist() == overall[CHAIN].iloc[0].tolist()
    assert overall["with_follow_up"].iloc[0] == len(O.episodes(a, t, "PHQ9", d))


@FEWER
@given(practices, st.randoms(use_true_random=False))
def test_results_do_not_depend_on_row_order(practice, rnd):
    a, t = tables(practice)
    order = list(range(len(a)))
    rnd.shuffle(order)
    shuffled = a.iloc[order].reset_index(drop=True)
    key = ["patient_id"]
    pd.testing.assert_frame_equal(O.patient_outcomes(a, "PHQ9").sort_values(key).reset_index(drop=True),
                                  O.patient_outcomes(shuffled, "PHQ9").sort_values(key).reset_index(drop=True))
    d = Definitions(confirm_loss=True, booster_handling="censor")
    pd.testing.assert_frame_equal(O.episodes(a, t, "PHQ9", d).sort_values(key).reset_index(drop=True),
                                  O.episodes(shuffled, t, "PHQ9", d).sort_values(key).reset_index(drop=True))


@SETTINGS
@given(practices, st.sampled_from(["ignore", "censor", "event"]), st.booleans())
def test_episodes_are_well_formed(practice, handling, confirm):
    a, t = tables(practice)
    ep = O.episodes(a, t, "PHQ9", Definitions(booster_handling=handling, confirm_loss=confirm))
    out = O.patient_outcomes(a, "PHQ9").set_index("patient_id")
    assert (ep["time"] >= 0).all() and ep["event"].isin([0, 1]).all()
    assert (ep["end_day"] == ep["origin"] + ep["time"]).all()
    assert (ep["event_day"].isna() == (ep["event"] == 0)).all()
    assert (ep["censor_reason"].isna() == (ep["event"] == 1)).all()
    assert out.loc[ep["patient_id"], "response"].all()
    if handling != "event":
        assert (ep["end_day"].to_numpy() <= out.loc[ep["patient_id"], "last_day"].to_numpy()).all()


@FEWER
@given(practices)
def test_confirmation_and_booster_censoring_never_add_events_or_time(practice):
    a, t = tables(practice)
    plain = O.episodes(a, t, "PHQ9").set_index("patient_id")
    for d in (Definitions(confirm_loss=True), Definitions(booster_handling="censor")):
        other = O.episodes(a, t, "PHQ9", d).set_index("patient_id")
        assert (other["event"] <= plain["event"]).all()
        both = (other["event"] == 1) & (plain["event"] == 1)
        assert (other.loc[both, "time"] >= plain.loc[both, "time"]).all()
    censored = O.episodes(a, t, "PHQ9", Definitions(booster_handling="censor")).set_index("patient_id")
    assert (censored["time"] <= plain["time"]).all()


@SETTINGS
@given(practices, st.sampled_from([None, "condition"]))
def test_survival_never_increases_and_stays_between_0_and_1(practice, by):
    a, t = tables(practice)
    r = D.analyse(a, t, "PHQ9", by=by, definitions=Definitions(suppression_threshold=0))
    for _, curve in r.km.table.groupby("group"):
        s = curve["survival"].to_numpy()
        assert ((s >= 0) & (s <= 1)).all() and (np.diff(s) <= 1e-12).all()
    at = r.groups[[c for c in r.groups.columns if c.startswith("s") and c[1:].isdigit()]].to_numpy(dtype=float)
    assert ((at[~np.isnan(at)] >= 0) & (at[~np.isnan(at)] <= 1)).all()
    assert r.groups["n"].sum() == len(r.episodes)
    r.to_json(), r.to_text()  # degenerate groups never crash the output
