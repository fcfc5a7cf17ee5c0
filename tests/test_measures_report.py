"""The PDF report's quality-measures section (analysis.report.sections.measures_section): the measure table of the
default reporting period equals analysis.measures on the same data, as the Quality measures page shows it, and
never goes under the shared threshold (11) even when the card lowers it."""

import io
import re
from pathlib import Path

import pypdf
import pytest

from analysis import measures, report
from analysis.ingest import load_files
from analysis.outcomes import Definitions

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = [str(ROOT / "sample_data" / "assessments.csv"), str(ROOT / "sample_data" / "treatments.csv")]


def section(pdf: bytes) -> str:
    """The text of the quality-measures section, whitespace collapsed."""
    text = " ".join(re.sub(r"\s+", " ", p.extract_text() or "") for p in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    start = text.index("Quality measures (MIPS, NQF, HEDIS, CCBHC)")
    return text[start : text.index("Definitions and methods", start)]


def cell(v) -> str:
    return "—" if v is None else str(v)


@pytest.fixture(scope="module", autouse=True)
def figure_server():
    yield
    report.stop_figure_server()


@pytest.fixture(scope="module")
def sample():
    loaded = load_files(SAMPLE)
    assert loaded.ok
    return loaded


def build(loaded, card=None):
    inputs = report.report_inputs(loaded.assessments, loaded.treatments, card)
    return inputs, report.build_report(inputs, practice="Test practice")


def test_the_sample_reports_measure_table_is_the_default_years_measures(sample):
    inputs, pdf = build(sample)
    every = measures.quality_measures(sample.assessments, sample.treatments)
    lo, hi = measures.default_period(measures.index_months(every))
    assert (lo, hi) == ("2025-01", "2025-12")  # the sample's index years are 2024 to 2026
    want = measures.quality_measures(sample.assessments, sample.treatments, None, lo, hi)
    assert inputs.measures.period == (lo, hi)
    text = section(pdf)
    assert f"Index events from {lo} to {hi}" in text and f"data end in {want.data_end_month}" in text
    table = want.shown(11)[0]
    for r in table.to_dict("records"):
        counts = " ".join(cell(r[c]) for c in ("denominator", "numerator"))
        assert f"{r['measure']}: {r['name']} {r['window'].replace('days ', '')} {counts}" in text, r["measure"]
        tail = " ".join(cell(r[c]) for c in ("not_met", "no_score", "excluded", "not_reached", "eligible"))
        assert tail in text, r["measure"]
    shown = table[table["rate"].notna()]
    assert len(shown) >= 3  # rates with their intervals, as the page writes them
    for r in shown.to_dict("records"):
        assert f"{100 * r['rate']:.1f}% ({100 * r['lower']:.1f} to {100 * r['upper']:.1f})" in text
    for program, _, _ in measures.READINGS:
        assert program in text
    assert "CCBHC DEP-REM-6" in text and "Joint Commission CTS.03.01.09" in text
    assert "when the effect of an induction series has often faded" in text


def test_the_measures_keep_the_shared_threshold_when_the_card_lowers_it(sample):
    """A card with the threshold at 0: the rest of the report shows exact counts (the command line's
    --not-for-sharing), the measures stay at 11; the same counts are exact in the result."""
    inputs, pdf = build(sample, Definitions(suppression_threshold=0))
    text = section(pdf)
    exact = inputs.measures.measures
    small = exact[(exact["numerator"] > 0) & (exact["numerator"] < 11)]
    assert len(small) >= 2  # the check can fail: there are small numerators to hide
    for r in small.to_dict("records"):
        assert f"{r['measure']}: {r['name']} {r['window'].replace('days ', '')} {r['denominator']} <11" in text
    table = text[: text.index("A count under 11")]
    starts = [table.index(f"{m.key}: {m.name} ") + len(f"{m.key}: {m.name} ") for m in measures.MEASURES]
    ends = [table.index(f"{m.key}: {m.name} ") for m in measures.MEASURES[1:]] + [len(table)]
    for a, b in zip(starts, ends):
        cells = table[a:b].split()[1:]  # (after the window)
        assert not [n for n in cells if n.isdigit() and 1 <= int(n) <= 10], cells


def test_data_without_a_start_month_say_why_there_are_no_measures(sample):
    a = sample.assessments.drop(columns=["start_month"])
    inputs = report.report_inputs(a, sample.treatments)
    assert inputs.measures is None and "placed in a calendar month" in inputs.measures_error
    text = section(report.build_report(inputs, practice="Test practice"))
    assert "No quality measures: No patient with depression has a PHQ-9 above 9 placed in a calendar month" in text
