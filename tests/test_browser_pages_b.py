"""Issue 20 items 4-7 in Chromium (the real app, sample practice, no sign-in: an admin, so the worklist is shown):
Trajectories with PCL-5's cut-off, Durability's hazard ratios beside the forest plot, the Boosters page and the
clinician's worklist with its CSV. (Nothing cut off at 1280 and 1920 px: tests/test_browser_pages.py, every page.)"""

import csv
import io
import re
import time
from pathlib import Path

import pytest

from tests.test_browser import READY, settle

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data" / "assessments.csv"
#: sidebar link -> the page's title
PAGES = {
    "Trajectories": "Symptom trajectories",
    "Durability": "How long response lasts",
    "Boosters": "Boosters after the induction series",
    "Worklist": "Clinician's worklist",
}

pytestmark = [pytest.mark.browser, pytest.mark.skipif(not SAMPLE.exists(), reason="sample_data/ not generated yet")]


def open_page(chromium, server, width: int):
    context = chromium.new_context(viewport={"width": width, "height": 1100}, accept_downloads=True)
    page = context.new_page()
    page.goto(server)
    settle(page, "Practice overview")
    return context, page


def visit(page, link: str) -> None:
    page.get_by_test_id("stSidebarNavLink").filter(has=page.get_by_text(link, exact=True)).click()
    settle(page, PAGES[link])
    time.sleep(0.8)  # (plotly's transitions)


def main_text(page) -> str:
    return page.get_by_test_id("stMain").inner_text()


def test_trajectories_show_the_model_check_pcl5_cut_off_and_patients_per_visit(server, chromium):
    context, page = open_page(chromium, server, 1280)
    try:
        visit(page, "Trajectories")
        said = main_text(page)  # the model check under the chart, PHQ-9 by condition
        assert "Model check: for the patients scored at each visit" in said and "at 28 of 28 visits" in said
        assert "outside the CI at 7 visits (Depression at infusion 3," in said
        page.get_by_test_id("stSelectbox").filter(has_text="Instrument").click()
        page.get_by_role("option", name="PCL5: PTSD Checklist for DSM-5").click()
        page.wait_for_selector(READY)
        page.get_by_text("cut-off 33").first.wait_for(timeout=60_000)
        settle(page, PAGES["Trajectories"])
        chart = page.get_by_test_id("stPlotlyChart").first
        assert "cut-off 33" in chart.inner_text()
        assert "Patients per visit" in main_text(page) or "patients per visit" in main_text(page).lower()
        assert "at 14 of 14 visits. The curve, the mean of everyone who started, is within it" in main_text(page)
    finally:
        context.close()


def test_durability_shows_hazard_ratios_as_numbers_beside_the_forest_plot(server, chromium):
    context, page = open_page(chromium, server, 1280)
    try:
        visit(page, "Durability")
        text = main_text(page)
        assert "What changes the hazard of losing response" in text
        forest = page.get_by_test_id("stPlotlyChart").nth(1)
        drawn = forest.inner_text()
        assert "HR (95% CI)" in drawn  # the numbers in a column at the right of the squares
        table = page.get_by_test_id("stTable").filter(has_text="HR (95% CI)").first
        cells = [c.strip() for c in table.locator("td").all_inner_texts()]
        numbers = [c for c in cells if re.fullmatch(r"\d+\.\d\d \(\d+\.\d\d to \d+\.\d\d\)", c)]
        assert numbers and all(n in drawn for n in numbers), numbers  # the table's numbers are those of the plot
        assert "losses of response for" in text  # the line saying why the squares are greyed
    finally:
        context.close()


def test_boosters_page_shows_its_four_parts(server, chromium):
    context, page = open_page(chromium, server, 1280)
    try:
        visit(page, "Boosters")
        text = main_text(page)
        for part in (
            "Time to the first booster",
            "Boosters per patient-year",
            "Days between boosters",
            "before and after a booster",
            "paired p = ",
        ):
            assert part in text, part
        charts = page.get_by_test_id("stPlotlyChart")
        assert charts.count() == 2
        assert "Without a booster yet" in charts.first.inner_text()
    finally:
        context.close()


def test_the_worklist_lists_patients_most_urgent_first_and_downloads_them(server, chromium, tmp_path):
    context, page = open_page(chromium, server, 1280)
    try:
        visit(page, "Worklist")
        assert "Loss of response?" in main_text(page)
        with page.expect_download() as dl:
            page.get_by_test_id("stDownloadButton").filter(has_text="Download CSV").first.click()
        path = tmp_path / dl.value.suggested_filename
        dl.value.save_as(path)
        assert dl.value.suggested_filename == "worklist.csv"
        text = path.read_text(encoding="utf-8-sig")
        skip = int(re.match(r'"# Provenance: (\d+) lines', text).group(1))  # (the header says how many lines)
        rows = list(csv.DictReader(io.StringIO("\n".join(text.splitlines()[skip:]))))
        assert rows and [int(r["Priority"]) for r in rows] == sorted(int(r["Priority"]) for r in rows)
        assert all(r["Patient key"] and r["Reason"] for r in rows)
        assert len(rows) == int(page.get_by_test_id("stMetricValue").nth(1).inner_text()) + sum(
            int(page.get_by_test_id("stMetricValue").nth(i).inner_text()) for i in (0, 2, 3)
        )  # every patient of the tiles, once
    finally:
        context.close()
