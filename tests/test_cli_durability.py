"""`python -m analysis durability` through a real subprocess, on canonical and vendor-format files.

The numbers must be R's (tests/data/golden/durability_*.json, see test_durability.py; tolerance 1e-6)
whichever format the files come in.
"""

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from analysis.__main__ import main

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
CANONICAL = [str(DATA / "durability_clinic.csv"), str(DATA / "durability_clinic_treatments.csv")]
TOL = 1e-6


def run(*args):
    p = subprocess.run(
        [sys.executable, "-m", "analysis", "durability", *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert "Traceback" not in p.stderr, p.stderr
    return p


def golden(variant):
    return json.loads((DATA / "golden" / f"durability_{variant}.json").read_text())


def assert_equals_r(out: dict, expected: dict, cox=True):
    """Shown numbers against R's survfit, survdiff and coxph; small counts must show as '<11'."""
    groups = {g["group"]: g for g in out["groups"]}
    assert sorted(groups) == sorted(r["group"] for r in expected["medians"])
    small = set()
    for r in expected["medians"]:
        g = groups[r["group"]]
        if 0 < r["n"] < 11 or 0 < r["events"] < 11:  # suppressed: shown as <11, the curve withheld
            small.add(r["group"])
            assert (g["n"], g["events"]) == tuple("<11" if 0 < v < 11 else v for v in (r["n"], r["events"]))
            assert g["median"] is None and set(g["survival_at"].values()) == {None}
            continue
        assert (g["n"], g["events"]) == (r["n"], r["events"])
        for ours, theirs in (("median", "median"), ("median_lower", "lower"), ("median_upper", "upper")):
            assert (g[ours] is None and r[theirs] is None) or abs(g[ours] - r[theirs]) <= TOL
    for r in expected["survival_at"]:
        if r["group"] not in small:
            s = groups[r["group"]]["survival_at"][str(int(r["day"]))]
            # withheld where fewer than 11 responders are still at risk (as the curve stops there)
            assert s is None if r["n_risk"] < 11 else abs(s - r["survival"]) <= TOL
    assert abs(out["logrank"]["chi2"] - expected["logrank"]["chi2"]) <= TOL
    assert (
        out["logrank"]["df"] == expected["logrank"]["df"] and abs(out["logrank"]["p"] - expected["logrank"]["p"]) <= TOL
    )
    if cox:
        want = {r["term"]: r for r in expected["cox"]}
        assert len(out["cox"]) == len(want)
        for row in out["cox"]:
            w = want[row["term"].replace("=", "")]  # R: covariate + level; here covariate=level
            for k in ("hr", "lower", "upper", "p"):
                assert abs(row[k] - w[k]) <= TOL, (row["term"], k)


@pytest.fixture(scope="module")
def vendor_files(tmp_path_factory):
    """The golden clinic as an EHR exports it: other column names, spellings, dates instead of days,
    ages instead of age bands."""
    d = tmp_path_factory.mktemp("vendor")
    a = pd.read_csv(CANONICAL[0])
    t = pd.read_csv(CANONICAL[1])
    start = {
        p: pd.Timestamp("2025-01-06") + pd.Timedelta(days=3 * i) for i, p in enumerate(sorted(a["patient_id"].unique()))
    }

    def date(f):
        return [(start[p] + pd.Timedelta(days=int(x))).strftime("%Y-%m-%d") for p, x in zip(f["patient_id"], f["day"])]  # noqa: E731

    conditions = {"depression": "Major Depressive Disorder", "anxiety": "Generalized Anxiety Disorder", "ptsd": "PTSD"}
    vendor = pd.DataFrame(
        {
            "Patient ID": a["patient_id"],
            "Measure": a["instrument"].map({"PHQ9": "PHQ-9", "GAD7": "GAD-7"}),
            "Total Score": a["score"],
            "Date Administered": date(a),
            "Diagnosis": a["condition"].map(conditions),
            "Clinic Location": a["site"],
            "Age": a["age_band"].map({"25-34": 30, "35-44": 40, "45-54": 50}),
            "Gender": a["sex"].map({"F": "Female", "M": "Male"}),
        }
    )
    treatments = pd.DataFrame(
        {
            "Patient ID": t["patient_id"],
            "Infusion Date": date(t),
            "Treatment Type": t["kind"].str.capitalize(),
            "Route": "IV",
        }
    )
    paths = [d / "PHQ export.csv", d / "infusions.csv"]
    vendor.to_csv(paths[0], index=False)
    treatments.to_csv(paths[1], index=False)
    return [str(p) for p in paths]


@pytest.fixture(scope="module")
def canonical_json():
    p = run(*CANONICAL, "--instrument", "PHQ9", "--json")
    assert p.returncode == 0, p.stderr
    return json.loads(p.stdout)


def test_canonical_files_give_r_numbers_for_the_curves_and_log_rank(canonical_json):
    assert_equals_r(canonical_json, golden("default"), cox=False)
    assert list(canonical_json) == [
        "instrument",
        "by",
        "definitions",
        "groups",
        "logrank",
        "cox",
        "concordance",
        "proportional_hazards",
        "booster_intervals",
        "funnel",
        "notes",
    ]


def test_canonical_files_give_r_numbers_for_the_cox_model(canonical_json):
    assert_equals_r(canonical_json, golden("default"))


def test_vendor_format_files_give_the_same_r_numbers(vendor_files):
    p = run(*vendor_files, "--instrument", "PHQ-9", "--json")
    assert p.returncode == 0, p.stderr
    assert_equals_r(json.loads(p.stdout), golden("default"))


def test_a_card_changes_the_definitions(tmp_path, vendor_files):
    card = tmp_path / "card.yaml"
    card.write_text("name: confirmed\nconfirm_loss: true\n")
    p = run(*vendor_files, "--instrument", "PHQ9", "--json", "--definitions", str(card))
    out = json.loads(p.stdout)
    assert out["definitions"]["name"] == "confirmed" and out["definitions"]["confirm_loss"] is True
    assert_equals_r(out, golden("confirm"))


def test_the_boosters_option_overrides_the_card(vendor_files, capsys):
    assert main(["durability", *vendor_files, "--instrument", "PHQ9", "--json", "--boosters", "censor"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["definitions"]["booster_handling"] == "censor"
    assert_equals_r(out, golden("censor"))


def test_plain_text_output(vendor_files, capsys):
    assert main(["durability", *vendor_files, "--instrument", "PHQ9", "--by", "sex"]) == 0
    out = capsys.readouterr().out
    assert "Durability of response: PHQ9, by sex" in out and "Log-rank: chi2" in out


# the error paths run in-process (same main() as the subprocess, without its start-up cost)
@pytest.mark.parametrize(
    "args, code, message",
    [
        (["--instrument", "HAMD"], 2, "instrument 'HAMD' not in the registry"),
        (["--instrument", "MADRS"], 1, "no MADRS scores in the data"),
        (["--instrument", "PHQ9", "--by", "clinc"], 2, "group column 'clinc' not found; available: condition, site"),
        (["--instrument", "PHQ9", "--definitions", "missing-card.json"], 1, "definition card not found"),
        (["--instrument", "PHQ9", "--definitions", '{"confirm_loss": 1}'], 1, "confirm_loss must be true or false"),
    ],
)
def test_usage_and_data_errors_are_clear_messages(args, code, message, capsys):
    assert main(["durability", CANONICAL[0], *args]) == code
    assert message in capsys.readouterr().err


def test_by_none_gives_the_overall_result_equal_to_r(capsys):
    """`--by none`: everyone in one group 'all' (the Durability page's headline tiles), equal to R's ungrouped
    survfit of the same episodes (tests/data/golden/durability_overall.R; tolerance 1e-6)."""
    expected = json.loads((DATA / "golden" / "durability_overall.json").read_text())
    assert main(["durability", *CANONICAL, "--instrument", "PHQ9", "--by", "none", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["by"] is None and out["logrank"] is None
    (g,) = out["groups"]
    assert (g["group"], g["n"], g["events"]) == ("all", expected["n"], expected["events"])
    for ours, theirs in (("median", "median"), ("median_lower", "lower"), ("median_upper", "upper")):
        assert abs(g[ours] - expected[theirs]) <= TOL
    for r in expected["survival_at"]:
        assert abs(g["survival_at"][str(r["day"])] - r["survival"]) <= TOL
    assert sum(r["n"] for r in golden("default")["medians"]) == g["n"]  # the groups of --by condition, together


def test_by_none_is_documented_in_the_help(capsys):
    with pytest.raises(SystemExit):
        main(["durability", "--help"])
    assert "'none' for everyone together" in " ".join(capsys.readouterr().out.split())


def test_canonical_files_give_r_restricted_means(canonical_json):
    """Per group `rmean` {tau, value, se} as R print(survfit, rmean = 84) (tests/data/golden/durability_rmean.R),
    null where fewer than 11 are still followed on day 84; `rmean_difference` against the largest group."""
    expected = json.loads((DATA / "golden" / "durability_rmean.json").read_text())
    groups = {g["group"]: g for g in canonical_json["groups"]}
    for r in expected["groups"]:
        rm = groups[r["group"]]["rmean"]
        assert rm["tau"] == expected["tau"]
        if r["n_risk_tau"] < 11:
            assert rm["value"] is None and rm["se"] is None
        else:
            assert abs(rm["value"] - r["rmean"]) <= TOL and abs(rm["se"] - r["se"]) <= TOL
    for r in expected["differences"]:
        d = groups[r["group"]]["rmean_difference"]
        assert d["reference"] == r["reference"]
        if groups[r["group"]]["rmean"]["value"] is not None:
            assert all(abs(d[k] - r[k]) <= TOL for k in ("difference", "se", "lower", "upper", "p"))
