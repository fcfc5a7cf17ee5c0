"""The real app in Chromium: `streamlit run dashboard.py`, driven by Playwright (see tests/conftest.py).

Uploads the sample CSVs through the file input, visits every page, checks that the key numbers on the page
equal the command line's JSON on the same files, downloads a table, saves a screenshot of every page and prints
warm render times (target under 2 s; printed, not asserted).

Screenshots go to build/screenshots/ (ignored by git), so that running the tests leaves `git status` clean; with
UPDATE_SCREENSHOTS=1 in the environment they replace the README's pictures in docs/screenshots/."""

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from analysis import formatting, provenance

ROOT = Path(__file__).resolve().parents[1]
FILES = [ROOT / "sample_data" / "assessments.csv", ROOT / "sample_data" / "treatments.csv"]
#: where screenshots go: build/screenshots (untracked) unless UPDATE_SCREENSHOTS=1 asks for the README's pictures
SHOTS = ROOT / ("docs" if os.environ.get("UPDATE_SCREENSHOTS") == "1" else "build") / "screenshots"
#: sidebar link text -> (screenshot name, the page's title)
PAGES = {
    "Overview": ("overview", "Practice overview"),
    "Trajectories": ("trajectories", "Symptom trajectories"),
    "Durability": ("durability", "How long response lasts"),
    "Compare cohorts": ("compare", "Compare two cohorts"),
    "Safety": ("safety", "Session safety"),
    "Dose and frequency": ("dose", "Dose and frequency"),
    "Quality measures": ("measures", "Quality measures"),
    "Data": ("data", "Your data"),
    "Methods": ("methods", "Methods and definitions"),
    "Audit log": ("audit", "Audit log"),
}
READY = "[data-testid='stApp'][data-test-script-state='notRunning']"

pytestmark = [pytest.mark.browser, pytest.mark.skipif(not FILES[0].exists(), reason="sample_data/ not generated yet")]


def cli(*args) -> subprocess.Popen:
    """`python -m analysis ARGS FILES --json`, started in the background (read it with :func:`result`)."""
    return subprocess.Popen(
        [sys.executable, "-m", "analysis", *args, *map(str, FILES), "--json"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def result(proc: subprocess.Popen) -> dict:
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    return json.loads(out)


def settle(page, title: str | None = None, timeout: float = 120_000) -> None:
    """Wait until the page shows ``title`` and Streamlit has finished the run (no skeleton left)."""
    if title:
        page.get_by_role("heading", name=title, exact=True).first.wait_for(timeout=timeout)
    page.wait_for_selector(READY, timeout=timeout)
    page.wait_for_function("!document.querySelector(\"[data-testid='stSkeleton']\")", timeout=timeout)
    page.wait_for_selector(READY, timeout=timeout)


def download(page, button, attempts: int = 3):
    """Click a download button; the download. A click that lands while the page is rerunning (from the previous
    download's audit entry, or from this button's own first click) starts none: the rerun is given time to begin,
    the page is let settle and the button clicked again."""
    for attempt in range(1, attempts + 1):
        try:
            with page.expect_download(timeout=30_000) as dl:
                button.click()
            return dl
        except PlaywrightTimeout:
            if attempt == attempts:
                raise
            page.wait_for_timeout(1_000)
            settle(page)


def visit(page, link: str) -> float:
    """Click a page's link in the sidebar; seconds until it is rendered."""
    start = time.perf_counter()
    page.get_by_test_id("stSidebarNavLink").filter(has=page.get_by_text(link, exact=True)).click()
    settle(page, PAGES[link][1])
    return time.perf_counter() - start


def screenshot(page, path: Path) -> None:
    """The whole page: Streamlit scrolls inside its own container, so the viewport is made as tall as
    the content for the shot, then set back."""
    time.sleep(0.5)  # let plotly finish its transitions
    size = page.viewport_size
    height = page.evaluate("document.querySelector(\"[data-testid='stMainBlockContainer']\").scrollHeight")
    page.set_viewport_size({"width": size["width"], "height": max(size["height"], int(height) + 120)})
    time.sleep(0.5)
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path))
    page.set_viewport_size(size)


def main_text(page) -> str:
    return page.get_by_test_id("stMain").inner_text()


def pct(x) -> str:
    return f"{100 * x:.1f}%"


@pytest.fixture(scope="module")
def page(server, chromium):
    context = chromium.new_context(viewport={"width": 1400, "height": 2200}, accept_downloads=True)
    p = context.new_page()
    p.goto(server)
    settle(p, "Practice overview")
    yield p
    context.close()


def test_upload_visit_every_page_check_numbers_download_and_screenshot(page, tmp_path):
    summary_cli, durability_cli = cli("summary"), cli("durability", "--instrument", "PHQ9")

    # upload both files through the file input of the sidebar
    start = time.perf_counter()
    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files([str(f) for f in FILES])
    page.get_by_text("Using assessments.csv, treatments.csv").wait_for(timeout=120_000)
    settle(page, "Practice overview")
    cold = {"Overview": time.perf_counter() - start}  # upload, import and the overview's first render
    assert "assessments.csv, treatments.csv" in main_text(page)

    # Overview: patients started and PHQ-9 response and remission equal the command line's
    summary, durability = result(summary_cli), result(durability_cli)
    text = main_text(page)
    practice, phq9 = summary["practice"], summary["by_instrument"]["PHQ9"]["overall"]
    assert f"{practice['patients']} patients started" in text
    assert (
        f"PHQ9 response {pct(phq9['response_rate'])} (95% CI {pct(phq9['response_lower'])} to {pct(phq9['response_upper'])})"
        in text
    )
    assert f"remission {pct(phq9['remission_rate'])}" in text and f"of {phq9['evaluable']} evaluable" in text

    # download the by-condition table (under its provenance lines) and check its numbers
    files = {}
    for button in page.get_by_test_id("stDownloadButton").filter(has_text="Download CSV").all():
        with page.expect_download() as dl:
            button.click()
        files[dl.value.suggested_filename] = tmp_path / dl.value.suggested_filename
        dl.value.save_as(files[dl.value.suggested_filename])
        settle(page)  # (a download's click reruns the page: the next button waits for it)
    assert "phq9_by_condition.csv" in files, sorted(files)
    prov, table = provenance.read_csv(files["phq9_by_condition.csv"])
    assert prov["Data"] == "assessments.csv, treatments.csv"
    rows = [r for r in table.to_dict("records") if not r["Condition"].startswith("* ")]  # (not the footnote)
    by_condition = summary["by_instrument"]["PHQ9"]["by_condition"]
    assert {r["Condition"] for r in rows} == {"Depression", "Bipolar depression"} and len(rows) == len(by_condition)
    names = {"Depression": "depression", "Bipolar depression": "bipolar_depression"}
    for row in rows:  # the same counts as the command line, small ones suppressed the same way ("<11")
        expected = by_condition[names[row["Condition"]]]
        for column, key in (
            ("Patients", "patients"),
            ("Evaluable", "evaluable"),
            ("Responders", "responders"),
            ("Remitters", "remitters"),
        ):
            cell = row[column].rstrip("*")  # ('<11*', 'withheld*': marked, the footnote says why)
            assert cell == ("withheld" if expected[key] is None else str(expected[key])), (row["Condition"], column)
        for column, key in (("Response (95% CI)", "response_rate"), ("Remission (95% CI)", "remission_rate")):
            if expected[key] is None:
                assert "%" not in row[column], "a rate resting on a small count is withheld in the download"
                assert not row[f"{key} (fraction)"].replace(".", "").isdigit()
            else:  # as on screen, '53.8% (47.4 to 60.0)', and the raw fraction in a column of its own
                what = key.split("_")[0]
                assert row[column] == formatting.rate_ci(
                    expected[key], expected[f"{what}_lower"], expected[f"{what}_upper"]
                )
                assert float(row[f"{key} (fraction)"]) == pytest.approx(expected[key])
    assert any(r["Remitters"].startswith("<11") for r in rows), "the sample has a small cell to check"

    # every page: first visit (cold), screenshot
    for link, (name, _) in PAGES.items():
        if link != "Overview":
            cold[link] = visit(page, link)
        assert not page.get_by_test_id("stException").count(), f"{link} shows an exception"
        assert "assessments.csv, treatments.csv" in page.get_by_test_id("stSidebar").inner_text()
        if link == "Durability":
            text = main_text(page)
            for g in durability["groups"]:
                label = {"depression": "Depression", "bipolar_depression": "Bipolar depression"}.get(
                    g["group"], g["group"]
                )
                assert f"{label} {g['median']:.0f} days" in text, (label, text[:2000])
        screenshot(page, SHOTS / f"{name}.png")

    # warm: every page again, now that its results are cached
    warm = {link: visit(page, link) for link in PAGES}
    print("\nrender time per page (s), first visit (Overview: with the upload) and warm (target warm < 2 s):")
    for link in PAGES:
        print(f"  {link:<16} cold {cold[link]:5.2f}   warm {warm[link]:5.2f}")


def test_a_file_with_identifiers_is_refused_and_explained(server, chromium, tmp_path):
    phi = tmp_path / "clinic_export.csv"
    phi.write_text("patient_id,Patient Name,DOB,instrument,score,day\nP1,Jane Doe,1980-02-03,PHQ9,20,0\n")
    context = chromium.new_context(viewport={"width": 1400, "height": 2200})  # a new session: sample data
    try:
        page = context.new_page()
        page.goto(server)
        settle(page, "Practice overview")
        visit(page, "Data")
        page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(str(phi))
        page.get_by_text("These files were not used").wait_for(timeout=120_000)
        settle(page, "Your data")
        text = main_text(page)
        assert "Patient Name" in text and "Nothing from this file was kept" in text
        assert "Jane" not in text and not page.get_by_test_id("stException").count()
        assert "clinic_export.csv" in text and "Sample practice" not in text
        screenshot(page, SHOTS / "data_refused.png")
    finally:
        context.close()


def test_the_measures_page_shows_the_command_lines_numbers_for_a_year_and_the_due_patients(page, tmp_path):
    """The Quality measures page for the default year (the one before the latest index year): the measure
    table's denominators equal `python -m analysis measures --from YYYY-01 --to YYYY-12`, the patient list (a
    clinician without sign-in) is there, and the measure table downloads."""
    visit(page, "Quality measures")
    text = main_text(page)
    year = re.search(r"Index events from (\d{4})-01 to (\d{4})-12", text).group(1)
    assert year == "2025"  # the sample's index years are 2024 to 2026: the one before the latest
    want = result(cli("measures", "--from", f"{year}-01", "--to", f"{year}-12"))
    by_key = {m["measure"]: m for m in want["measures"]}
    for label, key in (("6 months", "NQF 1884"), ("12 months", "NQF 1885")):  # the table beside the course
        assert re.search(rf"{label} \({key} / MIPS \d+\).*\t{by_key[key]['denominator']}\t", text), (key, text)
    assert "Patients behind the measure" in text
    for program in ("CMS MIPS 370 / 411", "HEDIS DRR-E", "CCBHC DEP-REM-6", "Joint Commission CTS.03.01.09"):
        assert program in text  # which row answers which program
    assert "Why they differ:" in text and "when the effect of an induction series has often faded" in text
    with page.expect_download() as download:
        page.get_by_role("button", name="Download CSV").first.click()
    fields, table = provenance.read_csv(download.value.path())
    assert fields  # (the table under its provenance lines)
    rows = [r for r in table.to_dict("records") if not r["Measure"].startswith("* ")]  # (not the footnote)
    assert [r["Measure"] for r in rows] == [m["measure"] for m in want["measures"]]
    assert [r["Denominator"] for r in rows] == [str(m["denominator"]) for m in want["measures"]]
    # the due list: only the patients with an open window and no PHQ-9 yet, as many as the page says
    due = int(re.search(r"(\d+) patient\(s\) have an open window for MIPS 370 without a PHQ-9 yet", text).group(1))
    assert due > 0

    def patient_list() -> list[dict]:
        with page.expect_download() as download:
            page.get_by_role("button", name="Download the patient list (CSV)").click()
        return provenance.read_csv(download.value.path())[1].to_dict("records")  # (under its provenance lines)

    listed = patient_list()  # (the list opens on the patients due)
    assert len(listed) == due and {r["Due for a PHQ-9 now"] for r in listed} == {"True"}
    assert {r["Window at the data end"] for r in listed} == {"open"} and {r["Measure"] for r in listed} == {"MIPS 370"}
    page.get_by_text("Only patients due for a PHQ-9 in an open window").click()
    settle(page)
    everyone = patient_list()
    for _ in range(30):  # (the toggle's rerun may not have begun when the first settle returns)
        if len(everyone) != len(listed):
            break
        time.sleep(1)
        settle(page)
        everyone = patient_list()
    assert len(everyone) == by_key["MIPS 370"]["eligible"] > len(listed)  # every index event of the year
    page.get_by_text("Only patients due for a PHQ-9 in an open window").click()
    settle(page)
    screenshot(page, SHOTS / "measures.png")


def test_a_sidebar_filter_is_kept_when_the_user_changes_page(page):
    # (last in this file: it leaves the shared page filtered to one site)
    visit(page, "Overview")
    page.get_by_test_id("stSidebar").get_by_test_id("stMultiSelect").first.click()
    page.get_by_role("option", name="Northside").click()
    page.keyboard.press("Escape")
    settle(page, "Practice overview")
    page.get_by_test_id("stMain").get_by_text("Northside").first.wait_for(timeout=60_000)
    visit(page, "Durability")
    assert "Northside" in page.get_by_test_id("stMain").get_by_test_id("stCaptionContainer").first.inner_text()
    assert "Northside" in page.get_by_test_id("stSidebar").inner_text()
