"""Saved data sets in the real app: an upload saved before a server restart is what the dashboard opens on
after it, with the same numbers (see tests/conftest.py for the server and Chromium)."""

import pytest

from tests.conftest import streamlit_server
from tests.test_browser import FILES, main_text, settle, visit

pytestmark = [pytest.mark.browser, pytest.mark.skipif(not FILES[0].exists(), reason="sample_data/ not generated yet")]


def patients_started(page) -> str:
    tile = page.get_by_test_id("stMetric").filter(has_text="Patients started").first
    return tile.get_by_test_id("stMetricValue").inner_text()


def open_dashboard(chromium, url):
    context = chromium.new_context(viewport={"width": 1400, "height": 2200})
    page = context.new_page()
    page.goto(url)
    settle(page, "Practice overview")
    return context, page


def test_an_upload_saved_before_a_server_restart_is_there_after_it(chromium, tmp_path):
    data = tmp_path / "data"
    with streamlit_server(data) as (url, first):
        context, page = open_dashboard(chromium, url)
        try:
            page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files([str(f) for f in FILES])
            page.get_by_text("Using assessments.csv, treatments.csv").wait_for(timeout=120_000)
            settle(page, "Practice overview")
            started = patients_started(page)
            visit(page, "Data")
            page.get_by_label("Save this upload as").fill("North clinic")
            page.get_by_test_id("stFormSubmitButton").get_by_role("button").click()
            page.get_by_text("Saved as North clinic").wait_for(timeout=60_000)
            settle(page, "Your data")
            assert "Using North clinic" in page.get_by_test_id("stSidebar").inner_text()
        finally:
            context.close()
    assert first.poll() is not None, "the first server is stopped"

    with streamlit_server(data) as (url, _):  # the next day: a new server on the same data folder
        context, page = open_dashboard(chromium, url)
        try:
            assert "Using North clinic" in page.get_by_test_id("stSidebar").inner_text()
            assert "North clinic" in main_text(page)  # the data line under the title
            assert patients_started(page) == started
            visit(page, "Data")
            assert "North clinic is a saved data set" in main_text(page)
            assert not page.get_by_test_id("stException").count()
        finally:
            context.close()
