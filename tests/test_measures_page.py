"""The Quality measures page (pages/measures.py, ui/measures_view.py) with Streamlit's AppTest on the sample
practice: the default year's table, which row answers which program (CCBHC read with any score), the course
beside the measures with why they differ, and the patient list for clinicians only."""

from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from analysis import measures
from analysis.card import Definitions
from analysis.ingest import load_files
from tests.conftest import SECRETS

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"

pytestmark = [
    pytest.mark.skipif(not (SAMPLE / "assessments.csv").exists(), reason="sample_data/ not generated yet"),
    pytest.mark.usefixtures("data_dir"),
]


@pytest.fixture(scope="module")
def sample():
    loaded = load_files([SAMPLE / "assessments.csv", SAMPLE / "treatments.csv"])
    return loaded.assessments, loaded.treatments


def app(secrets=None, email=None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=180)
    if secrets:
        at.secrets = secrets
        at.user = {"is_logged_in": True, "email": email, "email_verified": True}
    at.run()
    return at.switch_page("pages/measures.py").run()


def markdown(at) -> str:
    return "\n".join(str(m.value) for m in at.markdown)


def test_the_page_reads_each_program_off_the_default_years_measures(sample):
    at = app()
    assert not at.exception, [e.message for e in at.exception]
    text = markdown(at)
    assert "Index events from **2025-01** to **2025-12**" in text
    res = measures.quality_measures(*sample, None, "2025-01", "2025-12")
    table = res.shown(11)[0].set_index("measure")
    ccbhc = measures.quality_measures(*sample, Definitions(measure_score="any"), "2025-01", "2025-12")
    any_row = ccbhc.shown(11)[0].set_index("measure").loc["MIPS 411"]
    rows = {line.split(" | ")[0].strip("| "): line for line in text.splitlines() if line.startswith("| ")}
    for program, _, where in measures.READINGS:
        assert program in rows and where in rows[program], program
    nqf = rows["NQF 1884 / 1885"]
    r = table.loc["NQF 1884"]
    assert f"NQF 1884: {100 * r['rate']:.1f}% ({100 * r['lower']:.1f} to {100 * r['upper']:.1f})" in nqf
    # CCBHC: MIPS 411 read with any PHQ-9 in the window (here its numerator is small: said, not a rate)
    assert any_row["numerator"] == "<11" and "<11 met (+/- 60 days)" in rows["CCBHC DEP-REM-6"]
    assert f"**Why they differ:** {measures.WHY_COURSE_DIFFERS}" in text
    assert "have an open window for MIPS 370 without a PHQ-9 yet" in text  # a clinician (no sign-in)
    due = measures.patient_list(res, "MIPS 370", due_only=True)
    assert f"**{len(due)}** patient(s)" in text and len(due) > 0
    frames = [pd.DataFrame(d.value) for d in at.dataframe]
    submission, events = (f for f in frames if "Measure" in f.columns)  # (the two tabs of the measure table)
    assert list(submission.columns) == [
        *("Measure", "Name", "Denominator", "Met", "Rate (95% CI)", "Not met", "No score in window"),
    ]
    assert {"Index events", "Excluded", "Window not yet closed", "Window after the index event"} <= set(events)
    assert str(submission.set_index("Measure").loc["NQF 1884", "Denominator"]) == str(
        table.loc["NQF 1884", "denominator"]
    )
    listed = next(f for f in frames if "Patient" in f.columns)
    first = due.iloc[0]
    assert len(listed) == len(due) and set(listed["At the data end"]) == {"open"}
    assert listed["Index PHQ-9"].iloc[0] == f"{first['index_score']:.0f} (day {first['index_day']:.0f})"


def test_the_site_trend_that_has_nothing_to_draw_says_why():
    at = app()
    infos = [str(i.value) for i in at.info]
    assert any(i.startswith("No site has a rate that may be shown for MIPS 370") for i in infos), infos


def test_a_manager_sees_the_measures_but_not_the_patients():
    at = app(SECRETS, "mia@clinic.org")
    assert not at.exception, [e.message for e in at.exception]
    assert "The patients behind each measure are shown to clinicians only." in [str(i.value) for i in at.info]
    assert "without a PHQ-9 yet" not in markdown(at)
    clinician = app(SECRETS, "carol@clinic.org")
    assert "without a PHQ-9 yet" in markdown(clinician)


def test_a_long_patient_list_is_cut_on_screen_and_says_how_long_it_is(monkeypatch, sample):
    from ui import show

    monkeypatch.setattr(show, "ROWS_ON_SCREEN", 3)
    at = app(SECRETS, "carol@clinic.org")
    assert not at.exception, [e.message for e in at.exception]
    at.toggle(key="measures_due").set_value(False).run()  # every index event of the year, not only those due
    listed = next(pd.DataFrame(d.value) for d in at.dataframe if "Disposition" in pd.DataFrame(d.value).columns)
    captions = [str(c.value) for c in at.caption]
    note = next(c for c in captions if " patients in the list" in c)
    total = int(note.split(" patients")[0].replace(",", ""))
    assert len(listed) == 3 < total and note.endswith("; the first 3 on screen, all of them in the download.")
