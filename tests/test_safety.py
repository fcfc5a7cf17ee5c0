"""Session safety (analysis/safety.py, analysis/dose.py): the flags of a hand-checked case, every rate and CI against
R (prop.test / t.test, tests/data/golden/safety_golden.R), suppression, suicidality from PHQ-9 item 9, the command line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis import dose, safety
from analysis import schema as S
from analysis.card import Definitions, load_card, save_card
from analysis.errors import DataError

GOLDEN = Path(__file__).resolve().parent / "data" / "golden"
ROOT = Path(__file__).resolve().parents[1]
TEXT = {S.ADVERSE_EVENTS: "str", S.RESCUE_MEDICATION: "str", S.PATIENT_ID: "str"}


def case() -> pd.DataFrame:
    return pd.read_csv(GOLDEN / "safety_flags_case.csv", dtype=TEXT)


def golden_inputs():
    t = pd.read_csv(GOLDEN / "safety_treatments.csv", dtype=TEXT)
    p = pd.read_csv(GOLDEN / "safety_patients.csv", dtype=str)
    return p, t


# --- the flags ------------------------------------------------------------------------------------------------
def test_the_flags_of_the_hand_checked_case():
    c = case()
    flags = safety.session_flags(c.drop(columns=["expected", "not_told", "why"]))
    names = [f for f in safety.FLAGS if f != "any_flag"]
    for i, row in c.iterrows():
        expected = set(str(row["expected"]).split()) if pd.notna(row["expected"]) else set()
        not_told = set(str(row["not_told"]).split()) if pd.notna(row["not_told"]) else set()
        got = flags.iloc[i]
        assert {f for f in names if pd.notna(got[f]) and bool(got[f])} == expected, (i, row["why"])
        assert {f for f in names if pd.isna(got[f])} == not_told, (i, row["why"])
        assert bool(got["any_flag"]) == bool(expected), i


def test_thresholds_come_from_the_definition_card():
    c = case().drop(columns=["expected", "not_told", "why"])
    default = safety.session_flags(c)
    stricter = safety.session_flags(c, Definitions(safety={"surge_sbp_rise": 41, "discharge_minutes_above": 200}))
    assert default["surge"].iloc[0] and not stricter["surge"].iloc[0]  # a rise of 40
    assert default["late_discharge"].iloc[3] and not stricter["late_discharge"].iloc[3]


def test_the_safety_settings_are_saved_and_loaded_with_the_card(tmp_path):
    d = Definitions(safety={"severe_sbp": 170})
    assert load_card(save_card(d, tmp_path / "card.json")) == d
    assert load_card(save_card(Definitions(), tmp_path / "default.json")) == Definitions()
    with pytest.raises(DataError, match="unknown safety setting 'sevre_sbp'"):
        Definitions(safety={"sevre_sbp": 170})
    with pytest.raises(DataError, match="safety.severe_sbp must be a number"):
        Definitions(safety={"severe_sbp": "high"})


# --- rates against R ----------------------------------------------------------------------------------------
def test_every_rate_and_interval_equals_r_prop_test():
    p, t = golden_inputs()
    res = safety.analyse(p, t)
    r = pd.read_csv(GOLDEN / "safety_rates.csv", dtype={"group": str})
    ours = res.rates[res.rates[S.DIMENSION].isin(r["dimension"].unique())].copy()
    ours[S.GROUP] = ours[S.GROUP].astype(str)
    ours = ours[ours[S.DIMENSION] != S.START_MONTH]
    key = ["flag", "dimension", "group"]
    merged = r.merge(ours, on=key, how="outer", suffixes=("_r", ""), indicator=True)
    assert (merged["_merge"] == "both").all(), merged.loc[merged["_merge"] != "both", key + ["_merge"]]
    assert len(merged) == len(r) > 200
    for c in ("sessions", "events", "patients", "patients_flagged"):
        assert (merged[c] == merged[f"{c}_r"]).all(), c
    for c in ("per_100", "lower", "upper", "patients_per_100", "patients_lower", "patients_upper"):
        np.testing.assert_allclose(merged[c].astype(float), merged[f"{c}_r"], rtol=1e-9, atol=1e-9, err_msg=c)


def test_the_blood_pressure_rise_by_age_band_equals_r_t_test():
    p, t = golden_inputs()
    res = safety.analyse(p, t)
    r = pd.read_csv(GOLDEN / "safety_bp_age.csv")
    ours = res.bp_by_age.set_index(S.GROUP).loc[r["group"]]
    for c in r.columns[1:]:
        np.testing.assert_allclose(ours[c].to_numpy(float), r[c].to_numpy(float), rtol=1e-9, err_msg=c)


def test_the_rise_is_smaller_over_the_series_in_the_sample():
    p, t = golden_inputs()
    by = safety.analyse(p, t).by_infusion_number
    assert by[S.GROUP].tolist() == [1, 2, 3, 4, 5, 6]
    assert by["sbp_rise_mean"].iloc[0] > by["sbp_rise_mean"].iloc[-1]
    assert (by["sbp_rise_lower"] < by["sbp_rise_mean"]).all() and (by["sbp_rise_mean"] < by["sbp_rise_upper"]).all()


# --- privacy ------------------------------------------------------------------------------------------------
def test_small_counts_are_shown_as_under_11_and_their_rates_withheld():
    p, t = golden_inputs()
    res = safety.analyse(p, t, by="site")
    shown = res.rates_shown()
    raw = res.rates
    small = raw["events"].between(1, 10)
    assert small.any()
    assert (shown.loc[small, "events"] == "<11").all()
    assert shown.loc[small, ["per_100", "lower", "upper"]].isna().all().all()
    # a complement: sessions without the event from 1 to 10 withholds the events too
    gap = (raw["sessions"] - raw["events"]).between(1, 10) & ~small
    assert shown.loc[gap, "events"].isna().all()
    big = ~small & ~gap & (raw["events"] >= 11) & (raw["sessions"] >= 11)
    # beside each flag's overall row, complementary suppression (issue 15) withholds some of these too; where
    # both counts are shown, the rate is the exact rate
    seen = (
        big
        & shown["events"].map(lambda v: isinstance(v, (int, np.integer)))
        & shown["sessions"].map(lambda v: isinstance(v, (int, np.integer)))
    )
    assert seen.any()
    assert (shown.loc[seen, "per_100"].astype(float) == raw.loc[seen, "per_100"]).all()
    j = res.to_json()
    assert not any(isinstance(v, (int, np.integer)) and 0 < v < 11 for v in j["rates"]["events"])


def test_means_of_small_groups_are_withheld():
    p, t = golden_inputs()
    res = safety.analyse(p, t)
    shown = res.means_shown(res.bp_by_age)
    small = res.bp_by_age[S.PATIENTS] < 11
    assert small.any()
    assert (shown.loc[small, S.PATIENTS] == "<11").all() and shown.loc[small, "sbp_rise_mean"].isna().all()


# --- suicidality ------------------------------------------------------------------------------------------
def item9_case() -> pd.DataFrame:
    rows = [  # patient, day, item 9
        ("A", 0, 0),
        ("A", 14, 1),  # emergent
        ("A", 28, 0),
        ("B", 0, 2),
        ("B", 21, 0),  # resolved
        ("C", -3, 1),
        ("C", 21, 1),  # at baseline, not resolved
        ("D", 0, 0),
        ("D", 21, 0),  # none
        ("E", 14, 2),  # no baseline item 9: not counted
    ]
    a = pd.DataFrame(rows, columns=[S.PATIENT_ID, S.DAY, S.PHQ9_ITEM9])
    a[S.INSTRUMENT] = "PHQ9"
    a[S.SCORE] = 15
    return a


def test_item_9_at_baseline_emergent_and_resolved():
    counts, table = safety.suicidality(item9_case())
    assert counts == {"with_item9": 4, "at_baseline": 2, "emergent": 1, "resolved": 1, "kept": True}
    assert table[S.PATIENT_ID].tolist()[0] == "A"  # emergent answers first
    assert table.set_index(S.PATIENT_ID)["status"].to_dict() == {
        "A": "emergent",
        "B": "resolved",
        "C": "at baseline",
        "D": "none",
    }
    assert table.set_index(S.PATIENT_ID).loc["A", "first_day_ge1"] == 14


def test_without_item_9_suicidality_says_so():
    counts, table = safety.suicidality(item9_case().drop(columns=S.PHQ9_ITEM9))
    assert counts["kept"] is False and table.empty


def test_the_sample_practice_has_emergent_item_9_answers():
    from analysis.simulate import simulate

    p = simulate(patients=300, seed=4)
    counts, _ = safety.suicidality(p.assessments)
    assert counts["kept"] and counts["with_item9"] > 50 and counts["emergent"] > 0 and counts["at_baseline"] > 0


# --- dose ----------------------------------------------------------------------------------------------------
def test_dose_bands_mg_per_kg_first_then_mg():
    bands = dose.dose_band(
        [0.4, 0.5, 0.74, 0.75, 1.0, np.nan, np.nan, np.nan, np.nan], [0, 0, 0, 0, 0, 56, 57, 84, np.nan]
    )
    assert bands.tolist() == [
        "<0.5 mg/kg",
        "0.5-0.74 mg/kg",
        "0.5-0.74 mg/kg",
        "0.75-0.99 mg/kg",
        ">=1 mg/kg",
        "<=56 mg",
        "57-84 mg",
        "57-84 mg",
        "unknown",
    ]


def test_session_doses_number_the_series_and_add_up_the_dose():
    t = pd.DataFrame(
        {
            S.PATIENT_ID: ["A", "A", "A", "A", "B"],
            S.DAY: [0, 2, 4, 40, 0],
            S.KIND: ["induction", "induction", "induction", "booster", "induction"],
            S.ROUTE: ["IV"] * 4 + ["esketamine"],
            S.DOSE: [0.5, 0.5, 0.75, np.nan, np.nan],
            S.DOSE_MG: [np.nan] * 4 + [56],
        }
    )
    d = dose.session_doses(t)
    assert d[dose.INFUSION_NUMBER].tolist()[:3] == [1, 2, 3] and pd.isna(d[dose.INFUSION_NUMBER].iloc[3])
    assert d["cumulative_mg_per_kg"].tolist()[:4] == [0.5, 1.0, 1.75, 1.75]
    assert d["dose_changed"].tolist() == [False, False, True, False, False]
    density = dose.induction_density(t).set_index(S.PATIENT_ID)
    assert density.loc["A", "infusions_14d"] == 3 and density.loc["B", "infusions_21d"] == 1


# --- the command line --------------------------------------------------------------------------------------
def test_the_command_line_prints_the_safety_json(capsys):
    from analysis.__main__ import main

    files = [str(ROOT / "sample_data" / "assessments.csv"), str(ROOT / "sample_data" / "treatments.csv")]
    assert main(["safety", *files, "--by", "site", "--json"]) == 0
    j = json.loads(capsys.readouterr().out)
    assert set(j) >= {"sessions", "patients", "rates", "by_infusion_number", "suicidality"}
    assert j["sessions"] == len(pd.read_csv(files[1]))
    dims = {r["dimension"] for r in j["rates"]}
    assert dims == {"overall", "site"}
    surge = next(r for r in j["rates"] if r["flag"] == "surge" and r["dimension"] == "overall")
    assert set(surge) >= {"flag", "group", "sessions", "events", "per_100", "lower", "upper"}
    assert surge["lower"] < surge["per_100"] < surge["upper"]


def test_the_command_line_without_treatments_says_why(capsys):
    from analysis.__main__ import main

    assert main(["safety", str(ROOT / "sample_data" / "assessments.csv")]) == 1
    assert "needs a treatments file" in capsys.readouterr().err


def test_an_unknown_grouping_is_wrong_usage(capsys):
    from analysis.__main__ import main

    with pytest.raises(SystemExit) as e:
        main(["safety", str(ROOT / "sample_data" / "assessments.csv"), "--by", "clinic"])
    assert e.value.code == 2


def test_the_result_holds_its_own_copy_of_the_card_so_a_shared_result_never_rekeys_the_callers_card():
    """ui/cache.py keys every object in a shared result after the call that made it: were the caller's card one of
    them, every later cached call with that card would miss (the dashboard recomputed each page on every visit)."""
    from analysis.ingest import load_files

    root = Path(__file__).resolve().parents[1] / "sample_data"
    loaded = load_files([root / "assessments.csv", root / "treatments.csv"])
    card = Definitions(safety={"severe_sbp": 170})
    res = safety.session_safety(loaded.assessments, loaded.treatments, card)
    assert res.definitions == card and res.definitions is not card


def test_sessions_come_in_patient_and_day_order_as_a_stable_sort_would_give_them():
    rng = np.random.default_rng(3)
    n = 400
    t = pd.DataFrame(
        {
            "patient_id": rng.choice(["P10", "P2", "P1", "Q", "p1"], n),
            "day": np.where(rng.random(n) < 0.1, np.nan, rng.integers(-3, 30, n).astype(float)),
            "kind": rng.choice(["induction", "booster"], n),
            "route": "IV",
            "dose_mg_per_kg": rng.choice([0.5, 0.75, np.nan], n),
            "row": np.arange(n),  # (ties of patient and day keep the file's order)
        }
    )
    ordered, codes = dose.in_session_order(t)
    want = t.sort_values(["patient_id", "day"], kind="stable").reset_index(drop=True)
    pd.testing.assert_frame_equal(ordered, want)
    assert (np.diff(codes) >= 0).all() and len(set(codes)) == 5
    doses = dose.session_doses(t.sample(frac=1, random_state=1))
    again = dose.session_doses(t)
    assert list(doses["patient_id"]) == list(want["patient_id"]) and doses["day"].equals(again["day"])
