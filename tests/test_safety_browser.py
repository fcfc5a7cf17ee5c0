"""The Safety page in Chromium (`streamlit run dashboard.py`, Playwright; see tests/conftest.py): on the sample
practice its tiles equal the command line's `safety --json`, the charts are drawn, the clinician's list and the
session-monitoring download are there; saves a screenshot (safety.png, where tests/test_browser.py saves them)."""

import json
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.test_browser import READY, SHOTS, download, screenshot, settle

ROOT = Path(__file__).resolve().parents[1]
FILES = [ROOT / "sample_data" / "assessments.csv", ROOT / "sample_data" / "treatments.csv"]

pytestmark = [pytest.mark.browser, pytest.mark.skipif(not FILES[0].exists(), reason="sample_data/ not generated yet")]


def test_the_safety_page_in_the_browser_equals_the_command_line(server, chromium, tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "analysis", "safety", *map(str, FILES), "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    ).stdout
    cli = json.loads(out)
    surge = next(r for r in cli["rates"] if r["flag"] == "surge" and r["dimension"] == "overall")
    context = chromium.new_context(viewport={"width": 1400, "height": 2200}, accept_downloads=True)
    page = context.new_page()
    try:
        page.goto(server)
        settle(page, "Practice overview")
        start = time.perf_counter()
        page.get_by_test_id("stSidebarNavLink").filter(has=page.get_by_text("Safety", exact=True)).click()
        settle(page, "Session safety")
        print(f"\nSafety page: first render {time.perf_counter() - start:.2f} s")
        metrics = page.get_by_test_id("stMetric")
        values = {
            metrics.nth(i).get_by_test_id("stMetricLabel").inner_text().strip(): metrics.nth(i)
            .get_by_test_id("stMetricValue")
            .inner_text()
            .strip()
            for i in range(metrics.count())
        }
        assert values["Sessions"] == f"{cli['sessions']:,}"
        assert values["Hypertensive surge /100"] == f"{surge['per_100']:.1f}"
        assert page.locator(".js-plotly-plot").count() >= 2
        assert page.get_by_text("Flagged sessions", exact=True).count() == 1
        info = download(page, page.locator(".st-key-csv_session_monitoring button"))
        path = tmp_path / "session_monitoring.csv"
        info.value.save_as(path)
        lines = path.read_text(encoding="utf-8-sig").splitlines()
        # the download path's provenance lines first ('"# Provenance: N lines, then the table"'), then the table
        head = re.fullmatch(r'"# Provenance: (\d+) lines, then the table"', lines[0])
        assert head, lines[0]
        body = lines[int(head.group(1)) :]
        assert body[0].startswith("patient_id,day,kind,route,infusion_number") and len(body) == cli["sessions"] + 1
        assert page.get_by_text("the Dose and frequency page").count() == 1  # (the link to it)
        page.wait_for_selector(READY)
        screenshot(page, SHOTS / "safety.png")
    finally:
        context.close()
