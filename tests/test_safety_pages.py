"""The Safety page (pages/safety.py, ui/safety_view.py) with Streamlit's AppTest: managers see rates, trends and the
series curves; clinicians also the flagged sessions by patient key and day and the session-monitoring export."""

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import SECRETS

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"

pytestmark = [
    pytest.mark.skipif(not (SAMPLE / "assessments.csv").exists(), reason="sample_data/ not generated yet"),
    pytest.mark.usefixtures("data_dir"),
]


def app(secrets=None, email=None, page="pages/safety.py") -> AppTest:
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=180)
    if secrets:
        at.secrets = secrets
        at.user = {"is_logged_in": True, "email": email, "email_verified": True}
    at.run()
    return at.switch_page(page).run()


def texts(at, kind) -> list[str]:
    return [str(e.value) for e in getattr(at, kind)]


def test_the_safety_page_shows_rates_trends_and_the_series_on_the_sample():
    import pandas as pd

    from analysis import safety
    from analysis.ingest import load_files

    at = app()
    assert not at.exception, [e.message for e in at.exception]
    labels = [m.label for m in at.metric]
    assert labels[0] == "Sessions" and "Hypertensive surge /100" in labels
    assert at.metric[0].value == "2,708"
    loaded = load_files([SAMPLE / "assessments.csv", SAMPLE / "treatments.csv"])
    overall = safety.analyse(loaded.assessments, loaded.treatments).rates.set_index(["flag", "dimension"])
    surge = next(m for m in at.metric if m.label == "Hypertensive surge /100")
    assert surge.value == f"{overall.loc[('surge', 'overall'), 'per_100']:.1f}"
    rates = pd.DataFrame(at.dataframe[0].value).set_index(["Flag", "Site"])  # each rate with its interval, one cell
    want = safety.analyse(loaded.assessments, loaded.treatments).rates.set_index(["flag", "dimension", "group"])
    north = want.loc[("surge", "site", "Northside")]
    cell = rates.loc[("Hypertensive surge", "Northside"), "Per 100 (95% CI)"]
    assert cell == f"{north['per_100']:.1f} ({north['lower']:.1f} to {north['upper']:.1f})"
    assert "Lower" not in rates.columns and rates.loc[("Severe hypertension", "Northside"), "Flagged"] == "<11*"
    specs = [json.loads(e.proto.spec) for e in at.get("plotly_chart")]
    titles = [s["layout"]["title"]["text"] for s in specs]
    assert titles == ["Flagged sessions by site", "Blood-pressure rise and dissociation over the series"]
    series = specs[1]["data"][0]
    assert series["name"].startswith("Systolic") and len(series["x"]) == 6
    assert series["y"][0] > series["y"][-1]  # the rise is smaller at the sixth infusion
    at.selectbox(key="safety_by").set_value("start_month").run()
    assert not at.exception
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    assert spec["layout"]["title"]["text"] == "Flagged sessions by start month"
    months = {x for trace in spec["data"] for x in trace["x"]}
    assert months and all(len(m) == 7 and m[4] == "-" for m in months)
    assert isinstance(pd.DataFrame(at.dataframe[0].value), pd.DataFrame)


def test_a_clinician_sees_the_flagged_sessions_by_patient_key_and_day_and_the_export():
    at = app(SECRETS, email="carol@clinic.org")
    assert not at.exception and at.session_state["role"] == "clinician"
    frames = [d.value for d in at.dataframe]
    flagged = next(f for f in frames if "Flags" in f.columns)
    assert {"Patient key", "Day"} <= set(flagged.columns) and len(flagged) > 100
    assert flagged["Patient key"].str.fullmatch(r"P\d{5}").all()
    # the export goes through ui/show's downloads (provenance, the download logged), made when clicked
    record = [b.proto for b in at.get("download_button") if b.proto.id.endswith("_session_monitoring")]
    assert [b.label for b in record] == ["Download CSV", "Download Excel"] and all(b.deferred_file_id for b in record)
    listed = [b.proto for b in at.get("download_button") if b.proto.id.endswith("_flagged_sessions")]
    assert len(listed) == 2 and all(b.deferred_file_id for b in listed)


def test_long_patient_lists_are_cut_on_screen_and_say_so_beside_their_downloads(monkeypatch):
    import pandas as pd

    from analysis import safety
    from analysis.ingest import load_files
    from ui import show

    monkeypatch.setattr(show, "ROWS_ON_SCREEN", 5)
    at = app(SECRETS, email="carol@clinic.org")
    assert not at.exception, [e.message for e in at.exception]
    loaded = load_files([SAMPLE / "assessments.csv", SAMPLE / "treatments.csv"])
    res = safety.analyse(loaded.assessments, loaded.treatments)
    to_call = res.suicidality_patients[res.suicidality_patients["status"] != "none"]
    frames = [pd.DataFrame(d.value) for d in at.dataframe]
    item9 = next(f for f in frames if "Item 9 at baseline" in f.columns)
    flagged = next(f for f in frames if "Flags" in f.columns)
    assert item9["Patient key"].tolist() == to_call[safety.S.PATIENT_ID].head(5).tolist()  # emergent first
    assert len(flagged) == 5 < len(res.flagged_sessions())
    captions = texts(at, "caption")
    assert any(
        c.startswith(f"{len(to_call):,} patients with item 9 at 1 or more") and "the first 5 on screen" in c
        for c in captions
    )
    assert any(c.startswith(f"{len(res.flagged_sessions()):,} sessions with at least one flag") for c in captions)
    listed = [b.proto for b in at.get("download_button") if b.proto.id.endswith("_item9_patients")]
    assert len(listed) == 2 and all(b.deferred_file_id for b in listed)  # (made on the click, with every row)


def test_a_manager_sees_no_patient_keys():
    at = app(SECRETS, email="alice@clinic.org")
    assert not at.exception and at.session_state["role"] == "manager"
    assert any("clinicians only" in c for c in texts(at, "caption"))
    for frame in (d.value for d in at.dataframe):
        assert "patient_id" not in frame.columns and "Patient key" not in frame.columns
    assert not any("session_monitoring" in b.proto.id for b in at.get("download_button"))
    assert at.get("download_button")  # (the rate tables' downloads are there)


def test_dose_and_frequency_shows_response_durability_and_the_first_infusion_as_the_analysis_gives_them():
    import pandas as pd

    from analysis import dose_response
    from analysis.ingest import load_files

    at = app(page="pages/dose.py")
    assert not at.exception, [e.message for e in at.exception]
    assert [t.value for t in at.title] == ["Dose and frequency"]
    titles = [json.loads(e.proto.spec)["layout"]["title"]["text"] for e in at.get("plotly_chart")]
    assert titles == [
        "How long response lasts, PHQ9: share of responders still responding",
        "Hazard of losing PHQ9 response by dose band and induction density",
    ]
    loaded = load_files([SAMPLE / "assessments.csv", SAMPLE / "treatments.csv"])
    res = dose_response.analyse(loaded.assessments, loaded.treatments, "PHQ9")
    frames = [pd.DataFrame(d.value) for d in at.dataframe]
    by_band = next(f for f in frames if "Dose band" in f.columns)
    want = res.response_shown()
    want = want[want["grouping"] == "dose_band"]
    assert by_band["Dose band"].tolist() == want["group"].tolist()
    assert by_band["Evaluable"].astype(str).str.rstrip("*").tolist() == [
        str(v) for v in want["evaluable"]
    ]  # (* footnote)
    first = next(f for f in frames if "At the first infusion" in f.columns)
    o = res.logit.params.set_index("term").loc["marked_dissociation"]
    assert first.iloc[1, 1] == f"{o['odds_ratio']:.2f} ({o['lower']:.2f} to {o['upper']:.2f})"
    assert any("not proof that either causes response" in str(c.value) for c in at.caption)
    at.radio(key="dose_by").set_value("induction_density").run()
    assert not at.exception
    frames = [pd.DataFrame(d.value) for d in at.dataframe]
    density = next(f for f in frames if "Induction density" in f.columns)
    assert density["Induction density"].tolist() == ["1-3 in 14 days", "4-5 in 14 days", "6+ in 14 days"]
