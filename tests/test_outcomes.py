"""Outcome definitions (analysis/outcomes.py): hand-worked small cases for every definition and edge."""

import dataclasses
import json
from pathlib import Path

import pandas as pd
import pytest

from analysis import outcomes as O
from analysis import response_episodes as E
from analysis.errors import DataError
from analysis.outcomes import Definitions, load_card, save_card

CARDS = Path(__file__).resolve().parents[1] / "analysis" / "cards"


def scores(*rows, condition="depression", **attrs):
    """Assessments from (patient_id, day, score) or (patient_id, day, score, instrument) tuples."""
    out = []
    for r in rows:
        pid, day, score = r[:3]
        out.append(
            {
                "patient_id": pid,
                "instrument": r[3] if len(r) > 3 else "PHQ9",
                "score": score,
                "day": day,
                "condition": condition,
                **attrs,
            }
        )
    return pd.DataFrame(out)


def boosters(*rows):
    """Treatments: (patient_id, day) boosters."""
    return pd.DataFrame([{"patient_id": p, "day": d, "kind": "booster"} for p, d in rows])


def one(assessments, instrument="PHQ9", definitions=None):
    out = O.patient_outcomes(assessments, instrument, definitions)
    assert len(out) == 1
    return out.iloc[0]


def episode(assessments, treatments=None, definitions=None):
    ep = E.episodes(assessments, treatments, "PHQ9", definitions)
    assert len(ep) == 1
    return ep.iloc[0]


# --- the definition card ----------------------------------------------------------------------


def test_defaults_come_from_config_and_the_registry():
    d = Definitions()
    assert (d.baseline_window, d.response_window, d.survival_days) == ((-30, 0), (14, 31), (28, 56, 84))
    assert (d.confirm_loss, d.booster_handling, d.suppression_threshold) == (False, "ignore", 11)
    assert d.response_threshold("PHQ9") == 0.5 and d.response_threshold("PCL-5") == 0.3
    assert d.remission_threshold("PHQ9") == 4 and d.remission_threshold("PAIN_NRS") is None


def test_overrides_accept_any_spelling_and_show_as_code_value_mappings():
    d = Definitions(response_drop={"PHQ-9": 0.4}, remission_max={"gad 7": 5})
    assert d.response_threshold("PHQ9") == 0.4 and d.remission_threshold("GAD7") == 5
    assert d.response_threshold("GAD7") == 0.5  # not overridden
    j = d.to_dict()
    assert j["response_drop"] == {"PHQ9": 0.4} and j["remission_max"] == {"GAD7": 5.0}
    assert j["thresholds"]["PHQ9"] == {"response_drop": 0.4, "remission_max": 4.0}


def test_a_remission_override_of_null_removes_the_rule():
    assert Definitions(remission_max={"PHQ9": None}).remission_threshold("PHQ9") is None


def test_the_card_is_frozen_and_hashable():
    d = Definitions(response_drop={"PHQ9": 0.4})
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.confirm_loss = True
    assert hash(d) == hash(Definitions(response_drop={"PHQ9": 0.4}))
    assert d != Definitions()


def test_replace_changes_a_setting_and_validates_it():
    d = Definitions().replace(confirm_loss=True, booster_handling="censor")
    assert (d.confirm_loss, d.booster_handling) == (True, "censor")
    with pytest.raises(DataError, match="booster_handling must be one of ignore, censor, event"):
        Definitions().replace(booster_handling="sometimes")
    with pytest.raises(TypeError, match="unknown definition setting.*confirm_los.*available: baseline_window"):
        Definitions().replace(confirm_los=True)


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_a_saved_card_loads_back_equal(tmp_path, fmt):
    d = Definitions(
        name="clinic A",
        confirm_loss=True,
        booster_handling="event",
        response_window=(21, 42),
        survival_days=(30, 60),
        response_drop={"PCL5": 0.4},
        remission_max={"PHQ9": 5},
    )
    path = save_card(d, tmp_path / f"card.{fmt}")
    assert path.exists() and load_card(path) == d and load_card(str(path)) == d
    assert load_card(path.read_text()) == d  # the text itself


def test_a_card_may_be_written_by_hand_in_yaml_with_only_some_settings():
    d = load_card("confirm_loss: yes\nresponse_window: [21, 35]\nname: hand made\n")
    assert d == Definitions(confirm_loss=True, response_window=(21, 35), name="hand made")


def test_the_shipped_cards_load():
    assert load_card(CARDS / "default.json") == Definitions()
    assert load_card(CARDS / "confirmed_censor_boosters.yaml").booster_handling == "censor"


def test_the_card_states_the_same_day_rule():
    assert any("same day" in line and "mean" in line for line in Definitions().to_dict()["description"])


@pytest.mark.parametrize(
    "text, message",
    [
        ('{"confirm_los": true}', "unknown setting.*confirm_los.*available:"),
        ('{"confirm_loss": "yes please"}', "confirm_loss must be true or false"),
        ('{"baseline_window": [0, -30]}', "baseline_window runs from 0 to -30"),
        ('{"baseline_window": [-30]}', "baseline_window must be two whole numbers"),
        ('{"response_window": [0, 10]}', "response window .* must start after the baseline window"),
        ('{"booster_handling": "skip"}', "booster_handling must be one of"),
        ('{"survival_days": [28, 28]}', "survival_days must be a list of different whole days"),
        ('{"suppression_threshold": -1}', "suppression_threshold must be a whole number"),
        ('{"response_drop": {"PHQ9": 50}}', "response_drop for PHQ9 must be a fraction"),
        ('{"response_drop": {"HAMD": 0.5}}', "names instrument 'HAMD', which is not in the registry"),
        ('{"remission_max": {"PHQ9": 40}}', "remission_max for PHQ9 must be a score from 0 to 27"),
        ('{"name": ""}', "name must be a non-empty text"),
        ("[1, 2]", "expected a JSON object"),
        (
            '{"thresholds": {"PHQ9": {"response_drop": 0.4, "remission_max": 4}}}',
            "thresholds.PHQ9.response_drop is 0.4 but the card's settings give 0.5",
        ),
        ("key: [unclosed\n  - x", "neither valid JSON nor valid YAML"),
    ],
)
def test_a_bad_card_says_which_setting_is_wrong(text, message):
    with pytest.raises(DataError, match=message):
        load_card(text)


def test_a_missing_card_file_is_a_clear_error(tmp_path):
    with pytest.raises(DataError, match="definition card not found"):
        load_card(tmp_path / "nope.json")


def test_a_card_is_saved_only_as_json_or_yaml(tmp_path):
    with pytest.raises(ValueError, match=r"\.json or \.yaml"):
        save_card(Definitions(), tmp_path / "card.txt")


# --- baseline, response assessment, response, remission ----------------------------------------


def test_baseline_is_the_last_score_in_the_window_and_day_0_counts():
    r = one(scores(("p", -31, 27), ("p", -10, 20), ("p", 0, 18), ("p", 21, 9)))
    assert (r["baseline"], r["baseline_day"]) == (18, 0)
    r = one(scores(("p", -31, 27), ("p", -30, 20), ("p", 21, 9)))
    assert (r["baseline"], r["baseline_day"]) == (20, -30)


def test_response_assessment_is_the_first_score_in_the_window():
    r = one(scores(("p", 0, 20), ("p", 13, 2), ("p", 31, 10), ("p", 14, 12), ("p", 32, 1)))
    assert (r["response_score"], r["response_day"]) == (12, 14)
    assert r["pct_change"] == pytest.approx(0.4) and not r["response"]


def test_response_is_a_drop_of_at_least_the_threshold_exactly_half_counts():
    assert one(scores(("p", 0, 10), ("p", 20, 5)))["response"]
    assert not one(scores(("p", 0, 10), ("p", 20, 6)))["response"]
    assert one(scores(("p", 0, 9), ("p", 20, 4), ("p", 20, 5)))["response"]  # 9 -> 4.5 is 50% exactly


def test_remission_is_a_score_at_or_below_the_remission_max():
    assert one(scores(("p", 0, 20), ("p", 20, 4)))["remission"]
    r = one(scores(("p", 0, 20), ("p", 20, 5)))
    assert r["response"] and not r["remission"]


def test_an_instrument_without_a_remission_rule_has_no_remission():
    r = one(scores(("p", 0, 8, "PAIN_NRS"), ("p", 20, 1, "PAIN_NRS")), "PAIN_NRS")
    assert r["response"] and pd.isna(r["remission"])


def test_a_baseline_of_0_is_not_evaluable():
    r = one(scores(("p", 0, 0), ("p", 20, 0)))
    assert not r["evaluable"] and pd.isna(r["pct_change"]) and pd.isna(r["response"]) and pd.isna(r["remission"])
    assert r["baseline"] == 0 and r["response_score"] == 0


def test_no_score_in_the_response_window_is_not_evaluable():
    r = one(scores(("p", 0, 20), ("p", 10, 3), ("p", 40, 3)))
    assert pd.isna(r["response_score"]) and pd.isna(r["response_day"]) and not r["evaluable"]
    assert pd.isna(r["response"]) and r["last_day"] == 40 and not r["has_follow_up"]


def test_no_baseline_is_not_evaluable():
    r = one(scores(("p", -40, 20), ("p", 20, 3)))
    assert pd.isna(r["baseline"]) and not r["evaluable"] and pd.isna(r["response"])


def test_two_scores_on_the_same_day_are_averaged_whatever_their_order():
    a = scores(("p", 0, 20), ("p", 0, 10), ("p", 20, 8), ("p", 20, 6))
    r = one(a)
    assert (r["baseline"], r["response_score"]) == (15, 7)
    assert r["pct_change"] == pytest.approx(8 / 15)
    flipped = one(a.iloc[::-1].reset_index(drop=True))
    assert (flipped["baseline"], flipped["response_score"]) == (15, 7)
    notes = E.episodes_with_notes(pd.concat([a, scores(("p", 40, 4))]), None, "PHQ9")[1]
    assert any("<11 patient-day(s) had two or more PHQ9 scores; their mean was used" in n for n in notes)


def test_a_patient_with_two_instruments_is_scored_on_each_separately():
    a = scores(("p", 0, 20), ("p", 20, 5), ("p", 0, 12, "GAD7"), ("p", 20, 11, "GAD-7"))
    phq, gad = one(a, "PHQ9"), one(a, "GAD7")
    assert (phq["baseline"], phq["response"]) == (20, True)
    assert (gad["baseline"], gad["response_score"], gad["response"]) == (12, 11, False)
    assert gad["instrument"] == "GAD7"


def test_instrument_spellings_in_the_data_are_recognised():
    r = one(scores(("p", 0, 20, "PHQ-9"), ("p", 20, 5, "phq 9")))
    assert r["response"]


def test_the_card_windows_and_thresholds_are_used():
    a = scores(("p", -45, 20), ("p", 10, 12), ("p", 20, 2))
    d = Definitions(baseline_window=(-60, -40), response_window=(7, 10), response_drop={"PHQ9": 0.4})
    r = one(a, definitions=d)
    assert (r["baseline"], r["response_score"], r["response"]) == (20, 12, True)


def test_patient_attributes_are_carried_from_any_row_of_the_patient():
    a = pd.DataFrame(
        {
            "patient_id": ["p", "p", "p"],
            "instrument": ["PHQ9", "PHQ9", "GAD7"],
            "score": [20, 5, 3],
            "day": [0, 20, 0],
            "site": [None, None, "North"],
            "sex": ["F", None, None],
        }
    )
    r = one(a)
    assert (r["site"], r["sex"]) == ("North", "F")


def test_the_baseline_band_is_the_severity_band_of_the_baseline():
    assert one(scores(("p", 0, 15), ("p", 20, 5)))["baseline_band"] == "moderately severe"
    assert pd.isna(one(scores(("p", -40, 15), ("p", 20, 5)))["baseline_band"])


def test_follow_up_means_a_responder_with_a_later_score():
    a = pd.concat(
        [
            scores(("r", 0, 20), ("r", 20, 5), ("r", 40, 6)),  # responder, later score
            scores(("n", 0, 20), ("n", 20, 5)),  # responder, no later score
            scores(("x", 0, 20), ("x", 20, 15), ("x", 40, 4)),
        ]
    )  # not a responder
    out = O.patient_outcomes(a, "PHQ9").set_index("patient_id")["has_follow_up"]
    assert out.to_dict() == {"n": False, "r": True, "x": False}


def test_no_scores_of_the_instrument_is_a_clear_data_error():
    with pytest.raises(DataError, match="no GAD7 scores in the data; instruments present: PHQ9"):
        O.patient_outcomes(scores(("p", 0, 20)), "GAD7")


def test_an_unknown_instrument_is_a_key_error_naming_the_known_ones():
    with pytest.raises(KeyError, match="known: PHQ9"):
        O.patient_outcomes(scores(("p", 0, 20)), "HAMD")


def test_a_missing_column_is_a_clear_data_error():
    with pytest.raises(DataError, match="has no 'day' column"):
        O.patient_outcomes(scores(("p", 0, 20)).drop(columns="day"), "PHQ9")


def test_rows_without_a_score_or_a_day_are_ignored():
    a = pd.concat(
        [
            scores(("p", 0, 20), ("p", 20, 5)),
            pd.DataFrame({"patient_id": ["p", "p"], "instrument": ["PHQ9"] * 2, "score": [None, 27], "day": [0, None]}),
        ]
    )
    r = one(a)
    assert (r["baseline"], r["response_score"]) == (20, 5)


def test_inputs_are_not_changed():
    a = scores(("p", 0, 20), ("p", 0, 10), ("p", 20, 5), ("p", 40, 14))
    t = boosters(("p", 30))
    before_a, before_t = a.copy(), t.copy()
    O.patient_outcomes(a, "PHQ9"), E.episodes(a, t, "PHQ9", Definitions(booster_handling="censor"))
    O.funnel(a, "PHQ9", by="condition"), O.patient_table(a, t)
    pd.testing.assert_frame_equal(a, before_a)
    pd.testing.assert_frame_equal(t, before_t)


# --- durability episodes --------------------------------------------------------------------


def test_loss_is_the_first_later_score_below_the_threshold():
    # baseline 20: a score above 10 is below a 50% drop
    e = episode(scores(("p", 0, 20), ("p", 20, 5), ("p", 34, 10), ("p", 48, 11), ("p", 62, 14)))
    assert (e["origin"], e["event"], e["event_day"], e["time"]) == (20, 1, 48, 28)
    assert pd.isna(e["censor_reason"])


def test_without_loss_the_episode_is_censored_at_the_last_score():
    e = episode(scores(("p", 0, 20), ("p", 20, 5), ("p", 34, 10), ("p", 90, 2)))
    assert (e["event"], e["time"], e["censor_reason"], e["end_day"]) == (0, 70, "last score", 90)
    assert pd.isna(e["event_day"])


def test_responders_without_follow_up_and_non_responders_have_no_episode():
    a = pd.concat([scores(("n", 0, 20), ("n", 20, 5)), scores(("x", 0, 20), ("x", 20, 15), ("x", 40, 15))])
    assert E.episodes(a, None, "PHQ9").empty
    ep, notes = E.episodes_with_notes(a, None, "PHQ9")
    assert any("no follow-up" in n for n in notes)


def test_a_score_before_the_response_assessment_is_not_follow_up():
    # the day-10 score is within induction, before the origin: never a loss
    e = episode(scores(("p", 0, 20), ("p", 10, 19), ("p", 20, 5), ("p", 40, 4)))
    assert (e["event"], e["time"]) == (0, 20)


def test_same_day_follow_up_scores_are_averaged():
    # 9 and 12 on day 40: mean 10.5 > 10, a loss; 8 and 12: mean 10, still a response
    assert episode(scores(("p", 0, 20), ("p", 20, 5), ("p", 40, 9), ("p", 40, 12), ("p", 60, 2)))["event"] == 1
    assert episode(scores(("p", 0, 20), ("p", 20, 5), ("p", 40, 8), ("p", 40, 12), ("p", 60, 2)))["event"] == 0


CONFIRM = Definitions(confirm_loss=True)


def test_a_confirmed_loss_has_its_event_on_the_first_of_the_two_scores():
    a = scores(("p", 0, 20), ("p", 20, 5), ("p", 34, 15), ("p", 48, 16), ("p", 62, 4))
    e = episode(a, definitions=CONFIRM)
    assert (e["event"], e["event_day"], e["time"]) == (1, 34, 14)


def test_a_drop_undone_by_the_next_score_is_not_an_event_when_confirming():
    a = scores(("p", 0, 20), ("p", 20, 5), ("p", 34, 15), ("p", 48, 4), ("p", 62, 3))
    e = episode(a, definitions=CONFIRM)
    assert (e["event"], e["time"], e["censor_reason"]) == (0, 42, "last score")
    assert episode(a)["event_day"] == 34  # without confirmation the drop is the event


def test_after_an_undone_drop_a_later_confirmed_loss_counts():
    a = scores(("p", 0, 20), ("p", 20, 5), ("p", 34, 15), ("p", 48, 4), ("p", 62, 13), ("p", 76, 18))
    assert episode(a, definitions=CONFIRM)["event_day"] == 62


def test_a_drop_on_the_last_score_is_a_loss_without_confirmation_and_censored_before_it_with():
    a = scores(("p", 0, 20), ("p", 20, 5), ("p", 34, 4), ("p", 48, 15))
    e = episode(a)
    assert (e["event"], e["event_day"]) == (1, 48)
    e = episode(a, definitions=CONFIRM)
    assert (e["event"], e["time"], e["end_day"], e["censor_reason"]) == (0, 14, 34, "unconfirmed last score")


def test_an_unconfirmable_drop_on_the_only_later_score_censors_at_the_origin():
    e = episode(scores(("p", 0, 20), ("p", 20, 5), ("p", 34, 15)), definitions=CONFIRM)
    assert (e["event"], e["time"], e["censor_reason"]) == (0, 0, "unconfirmed last score")


def test_boosters_are_ignored_by_default():
    a = scores(("p", 0, 20), ("p", 20, 5), ("p", 48, 15))
    e = episode(a, boosters(("p", 30)))
    assert (e["event"], e["time"]) == (1, 28)


def test_censoring_at_a_booster_before_the_loss():
    a = scores(("p", 0, 20), ("p", 20, 5), ("p", 48, 15))
    e = episode(a, boosters(("p", 30), ("p", 40)), Definitions(booster_handling="censor"))
    assert (e["event"], e["time"], e["end_day"], e["censor_reason"]) == (0, 10, 30, "booster")


def test_a_booster_on_or_after_the_loss_day_does_not_censor():
    a = scores(("p", 0, 20), ("p", 20, 5), ("p", 48, 15))
    d = Definitions(booster_handling="censor")
    assert episode(a, boosters(("p", 48)), d)["event"] == 1
    assert episode(a, boosters(("p", 60)), d)["event"] == 1


def test_a_booster_before_the_last_score_censors_a_responder_who_never_lost_response():
    a = scores(("p", 0, 20), ("p", 20, 5), ("p", 48, 5), ("p", 70, 5))
    e = episode(a, boosters(("p", 55)), Definitions(booster_handling="censor"))
    assert (e["time"], e["censor_reason"]) == (35, "booster")


def test_boosters_on_or_before_the_origin_are_ignored_and_said_so():
    a = scores(("p", 0, 20), ("p", 20, 5), ("p", 48, 15))
    t = boosters(("p", 15), ("p", 20))
    for handling in ("censor", "event"):
        ep, notes = E.episodes_with_notes(a, t, "PHQ9", Definitions(booster_handling=handling))
        assert ep.iloc[0]["time"] == 28 and ep.iloc[0]["event"] == (1 if handling == "censor" else 0)
        assert any("on or before the response assessment" in n for n in notes)


def test_time_to_first_booster_as_its_own_event():
    a = scores(("p", 0, 20), ("p", 20, 5), ("p", 34, 15), ("p", 90, 15))
    d = Definitions(booster_handling="event")
    e = episode(a, boosters(("p", 12), ("p", 50), ("p", 80)), d)
    assert (e["event"], e["event_day"], e["time"]) == (1, 50, 30)
    e = episode(a, boosters(("q", 50)), d)  # no booster of this patient: censored at the last score
    assert (e["event"], e["time"], e["censor_reason"]) == (0, 70, "last score")


def test_booster_handling_without_a_treatments_file_has_no_effect_and_a_note():
    a = scores(("p", 0, 20), ("p", 20, 5), ("p", 48, 15))
    for handling in ("censor", "event"):
        ep, notes = E.episodes_with_notes(a, None, "PHQ9", Definitions(booster_handling=handling))
        assert (ep.iloc[0]["event"], ep.iloc[0]["time"]) == (1, 28)
        assert any("needs a treatments file" in n for n in notes)


def test_episodes_carry_attributes_band_and_induction_completion():
    a = scores(("p", 0, 20), ("p", 20, 5), ("p", 48, 15), site="North")
    t = pd.DataFrame({"patient_id": ["p"] * 6, "day": [0, 2, 4, 7, 9, 11], "kind": ["induction"] * 6})
    e = episode(a, t)
    assert (e["condition"], e["site"], e["baseline_band"], e["induction_completed"]) == (
        "depression",
        "North",
        "severe",
        True,
    )
    assert pd.isna(episode(a)["induction_completed"])


def test_small_counts_in_notes_are_suppressed():
    a = scores(("n", 0, 20), ("n", 20, 5))
    assert any(n.startswith("<11 responder") for n in E.episodes_with_notes(a, None, "PHQ9")[1])
    assert any(
        n.startswith("1 responder")
        for n in E.episodes_with_notes(a, None, "PHQ9", Definitions(suppression_threshold=0))[1]
    )


# --- patient table ----------------------------------------------------------------------------


def test_patient_table_counts_induction_sessions_and_boosters():
    a = pd.concat([scores(("p", 0, 20)), scores(("q", 0, 20)), scores(("r", 0, 20))])
    t = pd.DataFrame(
        {
            "patient_id": ["p"] * 8 + ["q"] * 3,
            "day": [0, 2, 4, 7, 9, 11, 40, 40, 0, 0, 2],
            "kind": ["induction"] * 6 + ["booster", "booster"] + ["induction"] * 3,
        }
    )
    out = O.patient_table(a, t).set_index("patient_id")
    assert out["infusions"].tolist() == [6, 2, 0]  # q's two rows on day 0 are one session
    assert out["induction_completed"].tolist() == [True, False, False]
    assert out["boosters"].tolist() == [1, 0, 0]


def test_patient_table_without_treatments_has_unknown_counts():
    out = O.patient_table(scores(("p", 0, 20)))
    assert out["infusions"].isna().all() and out["induction_completed"].isna().all() and out["boosters"].isna().all()


# --- funnel -----------------------------------------------------------------------------------


def funnel_data():
    return pd.concat(
        [
            scores(("a", 0, 20), ("a", 20, 4), ("a", 40, 5)),  # remitter with follow-up
            scores(("b", 0, 20), ("b", 20, 8)),  # responder, no follow-up
            scores(("c", 0, 20), ("c", 20, 15), ("c", 40, 2)),  # not a responder
            scores(("d", 0, 0), ("d", 20, 0)),  # baseline 0
            scores(("e", 0, 20), ("e", 40, 2)),  # no response assessment
            scores(("f", -40, 20), ("f", 20, 2), condition=None),  # no baseline
        ]
    )


def test_funnel_counts_every_step_by_hand():
    f = O.funnel(funnel_data(), "PHQ9")
    assert f.to_dict("records") == [
        {
            "group": "all",
            "patients": 6,
            "with_baseline": 5,
            "with_response_assessment": 4,
            "evaluable": 3,
            "responders": 2,
            "remitters": 1,
            "with_follow_up": 1,
        }
    ]


def test_funnel_by_group_puts_missing_values_in_unknown():
    f = O.funnel(funnel_data(), "PHQ9", by="condition").set_index("group")
    assert f.loc["depression", "patients"] == 5 and f.loc["unknown", "patients"] == 1
    assert f.loc["unknown", "with_baseline"] == 0


def test_funnel_by_an_unknown_column_names_the_available_ones():
    with pytest.raises(KeyError, match="group column 'clinc' not found; available: condition, baseline_band"):
        O.funnel(funnel_data(), "PHQ9", by="clinc")


def test_funnel_rows_match_the_episodes():
    a = funnel_data()
    assert O.funnel(a, "PHQ9")["with_follow_up"].iloc[0] == len(E.episodes(a, None, "PHQ9"))


def test_the_card_is_json_serialisable():
    json.dumps(Definitions(response_drop={"PHQ9": 0.4}).to_dict())


def test_a_one_line_yaml_card_is_text_not_a_file_name():
    assert load_card("confirm_loss: true") == Definitions(confirm_loss=True)


# --- shared coded assessments, baseline bands -------------------------------------------------------


def test_patient_outcomes_from_shared_coded_assessments_equal_those_computed_alone():
    a = scores(
        ("p1", 0, 20), ("p1", 20, 8), ("p2", -3, 12), ("p2", 15, 11), ("p3", 0, 9, "GAD7"), ("p3", 16, 2, "GAD7")
    )
    coded = O.Coded(a)
    for code in ("PHQ9", "GAD7"):
        pd.testing.assert_frame_equal(
            O.patient_outcomes(a, code, coded=coded), O.patient_outcomes(a, code), check_exact=True
        )
    assert coded.scores("PHQ9")[0] is coded.scores("PHQ9")[0]  # each instrument's scores are found once


def test_instrument_scores_returns_a_table_the_caller_may_change():
    a = scores(("p1", 0, 20), ("p1", 20, 8))
    first = O.instrument_scores(a, "PHQ9")
    first["score"] = 0.0
    assert O.instrument_scores(a, "PHQ9")["score"].tolist() == [20.0, 8.0]


def test_same_day_scores_are_averaged_as_before_whatever_the_row_order():
    # the mean of 3.3, 0.7, 0.7 and 7.1 depends on the order of the additions; rows of other patients between them
    a = scores(("b", 14, 3.3), ("a", 1, 1.0), ("b", 14, 0.7), ("b", 14, 0.7), ("b", 14, 7.1))
    got = O.instrument_scores(a, "PHQ9")
    want = a.groupby(["patient_id", "day"], sort=True)["score"].mean().reset_index()
    assert got["score"].tolist() == want["score"].tolist() and got.attrs["same_day"] == 1


def test_baseline_bands_are_the_bands_of_the_patient_outcomes():
    a = scores(("p1", 0, 22), ("p2", -1, 12), ("p3", -40, 12), ("p4", 0, 3), ("p4", 20, 1), ("p5", 0, 12))
    want = set(O.patient_outcomes(a, "PHQ9")["baseline_band"].dropna())
    assert O.baseline_bands(a, "PHQ9") == want == {"severe", "moderate", "minimal"}
    assert O.baseline_bands(a, "PHQ9", Definitions(baseline_window=(-45, -35))) == {"moderate"}


# --- the shortcuts of large practices equal the general paths ---------------------------------------


def text_as(table: pd.DataFrame, dtype: str) -> pd.DataFrame:
    """The table with its text columns as ``dtype`` ("str": pyarrow-backed, as the importer gives; "object")."""
    return table.astype({c: dtype for c in table.columns if c not in ("score", "day")})


def test_the_funnel_from_coded_assessments_counts_every_step_by_hand():
    coded = O.Coded(text_as(funnel_data(), "str"))
    f = O.coded_funnel(coded, "PHQ9")
    assert f.to_dict("records") == [
        {
            "group": "all",
            "patients": 6,
            "with_baseline": 5,
            "with_response_assessment": 4,
            "evaluable": 3,
            "responders": 2,
            "remitters": 1,
            "with_follow_up": 1,
        }
    ]
    by = O.coded_funnel(coded, "PHQ9", by="condition").set_index("group")
    assert by["patients"].to_dict() == {"depression": 5, "unknown": 1} and by.loc["unknown", "with_baseline"] == 0


@pytest.mark.parametrize("dtype", ["str", "object"])
@pytest.mark.parametrize("by", [None, "condition"])
def test_the_funnel_from_coded_assessments_equals_the_funnel_of_the_outcomes_table(dtype, by):
    a = text_as(funnel_data(), dtype)
    for d in (Definitions(), Definitions(remission_max={"PHQ9": None}, response_window=(10, 20))):
        want = O.funnel_from_outcomes(O.patient_outcomes(a, "PHQ9", d), by)
        pd.testing.assert_frame_equal(O.coded_funnel(O.Coded(a), "PHQ9", d, by), want, check_exact=True)


def test_a_funnel_by_a_group_column_equals_a_groupby_of_the_outcomes():
    out = O.patient_outcomes(funnel_data(), "PHQ9")
    out["flag"] = [True, False, None, True, True, False]  # booleans are 'yes' / 'no', missing 'unknown'
    chain = pd.DataFrame(
        {"group": O.group_labels(out["flag"]), "patients": 1, "responders": out["response"].fillna(False).astype(int)}
    )
    want = chain.groupby("group", sort=True).sum()
    got = O.funnel_from_outcomes(out, "flag").set_index("group")
    assert got.index.tolist() == ["no", "unknown", "yes"]
    assert (
        got["patients"].tolist() == want["patients"].tolist()
        and got["responders"].tolist() == want["responders"].tolist()
    )
    assert O.funnel_from_outcomes(out.iloc[:0], "flag").empty


def test_attributes_from_coded_text_ids_are_each_patients_first_value_in_order_of_first_appearance():
    rows = [
        ("b", None, None),
        ("a", "anxiety", "X"),
        ("b", "ptsd", None),
        (None, "ocd", "Y"),
        ("c", None, None),
        ("b", "depression", "Z"),
        ("a", "depression", "W"),
    ]
    a = pd.DataFrame(
        [{"patient_id": p, "instrument": "PHQ9", "score": 1.0, "day": 0, "condition": c, "site": s} for p, c, s in rows]
    )
    got = O.Coded(text_as(a, "str")).attributes
    assert got["patient_id"].tolist() == ["b", "a", "c"]  # a missing id is no patient
    assert got["condition"].tolist()[:2] == ["ptsd", "anxiety"] and got["site"].tolist()[:2] == ["Z", "X"]
    assert got.loc[2, ["condition", "site"]].isna().all()
    for dtype in ("str", "string[pyarrow]", "object"):  # the groupby of the definition, whatever the text type
        t = text_as(a, dtype)
        pd.testing.assert_frame_equal(O.Coded(t).attributes, O._attributes(t), check_exact=True)
        coded = O.Coded(t)
        assert coded.attribute_positions.tolist() == coded.ids.get_indexer(coded.attributes["patient_id"]).tolist()


def test_sessions_with_ids_appended_equal_sessions_over_the_longer_ids():
    t = pd.DataFrame(
        {
            "patient_id": ["p", "x", "p", "y", None, "x", "q"],
            "day": [0, 0, 0, 2, 3, 5, 1],
            "kind": ["induction"] * 5 + ["booster", "induction"],
        }
    ).astype({"patient_id": "str"})
    ids = pd.Index(["p", "q"], dtype="str")
    first = O.Sessions(t, ids)
    assert first.unmatched.tolist() == ["x", "y"] and first.count().tolist() == [1, 1]
    more = pd.Index(["x", "y"], dtype="str")
    got, want = first.appended(more), O.Sessions(t, ids.append(more))
    assert got.patient.tolist() == want.patient.tolist() and got.n == want.n == 4
    assert got.count().tolist() == want.count().tolist() == [1, 1, 2, 1]
    assert got.count("booster").tolist() == [0, 0, 1, 0] and got.unmatched.empty
    assert first.count().tolist() == [1, 1]  # the first sessions are unchanged


def test_sessions_of_a_file_in_export_order_equal_those_of_the_same_rows_shuffled():
    t = pd.DataFrame(
        {
            "patient_id": ["p", "p", "p", "p", "q", "q", "q"],
            "day": [0, 2, 2, 40, 0, 0, None],
            "kind": ["induction", "induction", "booster", "booster", "induction", "induction", "induction"],
        }
    )
    ids = pd.Index(["q", "p"])
    for table in (t, t.iloc[[6, 3, 0, 5, 1, 4, 2]]):
        s = O.Sessions(table, ids)
        assert (s.count().tolist(), s.count("booster").tolist(), len(s.rows)) == ([2, 4], [0, 2], 6)
    assert O.Sessions(t, ids).rows.tolist() == [0, 1, 2, 3, 4, 6]  # q's second day-0 induction is the same session
