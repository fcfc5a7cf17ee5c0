"""Invariants of the outcome definitions and durability, on random small practices (hypothesis)."""

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analysis import durability as D
from analysis import outcomes as O
from analysis import response_episodes as E
from analysis.outcomes import Definitions

CHAIN = ["patients", "with_baseline", "with_response_assessment", "evaluable", "responders", "with_follow_up"]

patient = st.fixed_dictionaries(
    {
        "condition": st.sampled_from(["depression", "anxiety", None]),
        "scores": st.lists(
            st.tuples(st.integers(-35, 120), st.integers(0, 27), st.sampled_from(["PHQ9", "PHQ9", "GAD7"])),
            min_size=1,
            max_size=9,
        ),
        "boosters": st.lists(st.integers(0, 120), max_size=3),
    }
)
practices = st.lists(patient, min_size=1, max_size=12)
SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FEWER = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def tables(practice):
    rows, boosters = [], []
    for i, p in enumerate(practice):
        for day, score, ins in p["scores"]:
            rows.append(
                {
                    "patient_id": f"p{i}",
                    "instrument": ins,
                    "score": min(score, 21) if ins == "GAD7" else score,
                    "day": day,
                    "condition": p["condition"],
                }
            )
        boosters += [{"patient_id": f"p{i}", "day": d, "kind": "booster"} for d in p["boosters"]]
    # every practice has at least one PHQ9 score, so the instrument is present
    rows.append({"patient_id": "anchor", "instrument": "PHQ9", "score": 10, "day": 0, "condition": "depression"})
    return pd.DataFrame(rows), pd.DataFrame(boosters, columns=["patient_id", "day", "kind"])


def shuffled(table, rnd):
    """The rows of ``table`` in the order ``rnd`` draws, index reset."""
    order = list(range(len(table)))
    rnd.shuffle(order)
    return table.iloc[order].reset_index(drop=True)


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
    assert overall["with_follow_up"].iloc[0] == len(E.episodes(a, t, "PHQ9", d))


@FEWER
@given(practices, st.randoms(use_true_random=False))
def test_results_do_not_depend_on_row_order(practice, rnd):
    a, t = tables(practice)
    other = shuffled(a, rnd)
    key = ["patient_id"]
    pd.testing.assert_frame_equal(
        O.patient_outcomes(a, "PHQ9").sort_values(key).reset_index(drop=True),
        O.patient_outcomes(other, "PHQ9").sort_values(key).reset_index(drop=True),
    )
    d = Definitions(confirm_loss=True, booster_handling="censor")
    pd.testing.assert_frame_equal(
        E.episodes(a, t, "PHQ9", d).sort_values(key).reset_index(drop=True),
        E.episodes(other, t, "PHQ9", d).sort_values(key).reset_index(drop=True),
    )


@SETTINGS
@given(practices, st.sampled_from(["ignore", "censor", "event"]), st.booleans())
def test_episodes_are_well_formed(practice, handling, confirm):
    a, t = tables(practice)
    ep = E.episodes(a, t, "PHQ9", Definitions(booster_handling=handling, confirm_loss=confirm))
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
    plain = E.episodes(a, t, "PHQ9").set_index("patient_id")
    for d in (Definitions(confirm_loss=True), Definitions(booster_handling="censor")):
        other = E.episodes(a, t, "PHQ9", d).set_index("patient_id")
        assert (other["event"] <= plain["event"]).all()
        both = (other["event"] == 1) & (plain["event"] == 1)
        assert (other.loc[both, "time"] >= plain.loc[both, "time"]).all()
    censored = E.episodes(a, t, "PHQ9", Definitions(booster_handling="censor")).set_index("patient_id")
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


# --- the vectorised tables equal the definitions written out plainly, patient by patient ------------


def plain_scores(a, code):
    """instrument_scores by the definition: the instrument's complete rows, same-day scores averaged, sorted."""
    rows = a[a["instrument"] == code][["patient_id", "day", "score"]].dropna()
    out = rows.groupby(["patient_id", "day"], sort=True)["score"].agg(["mean", "size"]).reset_index()
    return out.rename(columns={"mean": "score"}).drop(columns="size")


def plain_episode(days, scores, baseline, origin, drop, confirm, boosters, handling):
    """(end_day, event, censor_reason) of one responder with follow-up, read off DESIGN's words."""
    later = [(d, s) for d, s in zip(days, scores) if d > origin]
    lost = [(baseline - s) / baseline < drop - O.TOLERANCE for _, s in later]
    end, event, reason = later[-1][0], False, "last score"
    for i, is_lost in enumerate(lost):
        if not is_lost:
            continue
        if not confirm:
            end, event, reason = later[i][0], True, None
            break
        if i + 1 < len(lost):
            if lost[i + 1]:
                end, event, reason = later[i][0], True, None
                break
            continue
        end, event, reason = (later[i - 1][0] if i > 0 else origin), False, "unconfirmed last score"
    after = sorted(b for b in set(boosters) if b > origin)
    if handling == "censor" and after and after[0] < end:
        end, event, reason = after[0], False, "booster"
    elif handling == "event":
        end, event, reason = (after[0], True, None) if after else (later[-1][0], False, "last score")
    return end, event, reason


@SETTINGS
@given(practices)
def test_instrument_scores_equal_the_plain_groupby_definition(practice):
    a, _ = tables(practice)
    got = O.instrument_scores(a, "PHQ9")
    want = plain_scores(a, "PHQ9")
    pd.testing.assert_frame_equal(got, want, check_exact=True, check_dtype=False)
    assert got.attrs["same_day"] == int((a[a["instrument"] == "PHQ9"].groupby(["patient_id", "day"]).size() > 1).sum())


@FEWER
@given(practices, st.booleans(), st.sampled_from(["ignore", "censor", "event"]))
def test_episodes_equal_the_definitions_applied_patient_by_patient(practice, confirm, handling):
    a, t = tables(practice)
    d = Definitions(confirm_loss=confirm, booster_handling=handling)
    ep = E.episodes(a, t, "PHQ9", d).set_index("patient_id")
    outcomes = O.patient_outcomes(a, "PHQ9", d)
    followed = outcomes[outcomes["has_follow_up"]]
    assert sorted(ep.index) == sorted(followed["patient_id"])
    scores = plain_scores(a, "PHQ9")
    for r in followed.itertuples(index=False):
        s = scores[scores["patient_id"] == r.patient_id]
        b = t.loc[t["patient_id"] == r.patient_id, "day"].tolist()
        end, event, reason = plain_episode(
            s["day"].tolist(), s["score"].tolist(), r.baseline, r.response_day, 0.5, confirm, b, handling
        )
        e = ep.loc[r.patient_id]
        assert (e["end_day"], e["event"], e["time"]) == (end, int(event), end - r.response_day)
        assert (None if pd.isna(e["censor_reason"]) else e["censor_reason"]) == reason


# --- the shortcuts of large practices equal the general paths ---------------------------------------


def as_objects(table):
    """The table with its text columns as Python objects: Coded then takes pandas' general paths (groupby,
    get_indexer) instead of the pyarrow ones."""
    return table.astype({c: object for c in table.columns if table[c].dtype == "str"})


@SETTINGS
@given(practices, st.booleans(), st.sampled_from([None, "condition"]))
def test_the_coded_funnel_equals_the_funnel_of_the_outcomes_table(practice, confirm, by):
    a, _ = tables(practice)
    d = Definitions(confirm_loss=confirm)
    for table in (a, as_objects(a)):
        want = O.funnel_from_outcomes(O.patient_outcomes(table, "PHQ9", d), by)
        pd.testing.assert_frame_equal(O.coded_funnel(O.Coded(table), "PHQ9", d, by), want, check_exact=True)


@FEWER
@given(practices, st.randoms(use_true_random=False))
def test_outcomes_do_not_depend_on_whether_text_is_pyarrow_or_python_objects(practice, rnd):
    a, t = tables(practice)
    for table in (a, shuffled(a, rnd)):
        assert table["patient_id"].dtype == "str"
        pd.testing.assert_frame_equal(O.Coded(table).attributes, O._attributes(table), check_exact=True)
        for code in ("PHQ9", "GAD7"):
            if (table["instrument"] == code).any():
                pd.testing.assert_frame_equal(
                    O.patient_outcomes(table, code),
                    O.patient_outcomes(as_objects(table), code),
                    check_exact=True,
                    check_dtype=False,
                )
        ids = pd.Index(table["patient_id"].dropna().unique()[::-1])  # sessions' patients: positions in any ids
        assert (
            O.Sessions(t, ids).patient.tolist()
            == O.Sessions(as_objects(t), pd.Index(list(ids), dtype=object)).patient.tolist()
        )
