"""The Boosters and Worklist pages with Streamlit's AppTest on the sample practice: what they show, the worklist for
clinicians only (not in a manager's page list, refused if opened), downloads with provenance."""

import json
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from analysis import boosters, worklist
from tests.conftest import SECRETS
from ui import gate, show

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"

pytestmark = [
    pytest.mark.skipif(not (SAMPLE / "assessments.csv").exists(), reason="sample_data/ not generated yet"),
    pytest.mark.usefixtures("data_dir"),
]


def app(email=None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120)
    if email:
        at.secrets = SECRETS
        at.user = {"is_logged_in": True, "email": email, "email_verified": True}
    return at.run()


def sample():
    return pd.read_csv(SAMPLE / "assessments.csv"), pd.read_csv(SAMPLE / "treatments.csv")


def test_the_boosters_page_shows_the_time_to_the_first_booster_rates_intervals_and_scores():
    at = app().switch_page("pages/boosters.py").run()
    assert not at.exception and not at.error
    specs = [json.loads(e.proto.spec) for e in at.get("plotly_chart")]
    titles = [s["layout"]["title"]["text"] for s in specs]
    assert titles == ["Time to the first booster: share of patients without a booster yet", "Days between boosters"]
    km = specs[0]
    assert any(t.get("name") == "Depression" for t in km["data"])
    assert km["layout"]["yaxis"]["title"]["text"] == "Without a booster yet"
    # the at-risk row under the chart is drawn
    assert any(t.get("mode") == "text" for t in km["data"])
    # the rates line agrees with analysis.boosters on the same data
    a, t = sample()
    res = boosters.analyse(a, t, "PHQ9", "condition")
    dep = res.groups_shown().set_index("group").loc["depression"]
    rates = next(m.value for m in at.markdown if m.value.startswith("**Boosters per patient-year**"))
    assert f"Depression **{dep['rate']:.2f}** (95% CI {dep['rate_lower']:.2f} to {dep['rate_upper']:.2f})" in rates
    # the bars of the interval distribution add up to the intervals counted in words
    bars = specs[1]["data"][0]
    n = res.intervals_shown().iloc[0]["intervals"]
    assert sum(bars["y"]) == n and min(bars["y"]) >= 11
    assert any(
        m.value.startswith("**Days between boosters:** median") and f"over {n} intervals" in m.value
        for m in at.markdown
    )
    # scores before and after a booster: the paired result in words and a table; withheld cells say so
    assert any("before and after a booster:** " in m.value and "paired p = " in m.value for m in at.markdown)
    table = next(df.value for df in at.dataframe if "Per patient-year (95% CI)" in df.value.columns)
    assert "withheld" in table["Per patient-year (95% CI)"].tolist()
    assert not (table == "").any().any(), "no blank cells"
    labels = [b.proto.label for b in at.get("download_button")]
    assert labels.count("Download CSV") >= 2


def test_a_clinician_gets_the_worklist_most_urgent_first_with_a_csv():
    at = app("carol@clinic.org")
    assert at.session_state["role"] == "clinician"
    at.switch_page("pages/worklist.py").run()
    assert not at.exception and not at.error
    assert not at.warning  # (the sample has start months: the worklist knows where the data end)
    loaded = at.session_state["_loaded"]  # (the data as the dashboard read them)
    want = worklist.worklist(loaded.assessments, loaded.treatments, "PHQ9")
    n = worklist.counts(want)
    assert n[worklist.LOSS] > 0 and n[worklist.NO_RESPONSE] > 0
    tiles = {m.label: m.value for m in at.metric}
    assert tiles["Item 9 positive"] == str(n[worklist.ITEM9])
    assert tiles["Loss of response?"] == str(n[worklist.LOSS])
    assert tiles["No response at week 3"] == str(n[worklist.NO_RESPONSE])
    shown = at.table[0].value
    assert shown["Patient key"].tolist() == want["patient_id"].tolist()
    priority = shown["Priority"].astype(int)
    assert priority.is_monotonic_increasing and priority.nunique() >= 2
    assert shown["Why"].iloc[0] == worklist.KIND_WORDS[want["kind"].iloc[0]]
    assert shown["Reason"].iloc[0] == show.text(want["reason"].iloc[0])  # (as text: st.table reads Markdown)
    assert [b.proto.label for b in at.get("download_button")][:1] == ["Download CSV"]


def test_a_manager_has_no_worklist_in_the_page_list_and_is_refused_on_it():
    at = app("alice@clinic.org")
    assert at.session_state["role"] == "manager"
    with pytest.raises(ValueError):  # (not in a manager's page list: there is no such page to switch to)
        at.switch_page("pages/worklist.py").run()
    # the page script run on its own in a manager's session names no patient
    page = AppTest.from_file(str(ROOT / "pages" / "worklist.py"), default_timeout=60)
    page.session_state[gate.ROLE] = "manager"
    page.run()
    assert not page.exception
    assert [i.value for i in page.info] == ["The worklist names patients: it is shown to clinicians only."]
    assert not page.table and not page.dataframe and not page.metric and not page.get("download_button")


def test_a_long_worklist_shows_its_most_urgent_rows_and_says_the_downloads_hold_all(monkeypatch):
    from ui import worklist_view

    monkeypatch.setattr(worklist_view, "ON_SCREEN", 5)
    at = app("carol@clinic.org")
    at.switch_page("pages/worklist.py").run()
    loaded = at.session_state["_loaded"]
    want = worklist.worklist(loaded.assessments, loaded.treatments, "PHQ9")
    assert at.table[0].value["Patient key"].tolist() == want["patient_id"].head(5).tolist()
    captions = [str(c.value) for c in at.caption]
    assert any(c.startswith(f"The 5 most urgent of {len(want):,} patients are on screen") for c in captions), captions
