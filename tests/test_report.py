"""analysis.report: the PDF holds the numbers the dashboard shows, suppresses small cells, and its pages look right.

The sample practice's report is built once, through the command line in-process (``analysis.__main__.main``);
its text (pypdf) is compared with ``metrics.summary``, ``kpi_tiles.kpis`` and ``durability.analyse`` run on the
same files, formatted here by hand as the dashboard prints them ('53.8% (47.9 to 59.6)', '64 (53 to 69)').
A tiny practice (15 synthetic patients) checks suppression. Figures go through one kept-alive kaleido
Chromium per test process; one subprocess runs the command line without a Chromium.
"""

import contextlib
import datetime as dt
import io
import json
import math
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pypdf
import pytest

from analysis import coxph, durability, kpi_tiles, metrics, privacy, report
from analysis.errors import DataError
from analysis.ingest import load_files
from analysis.outcomes import Definitions
from analysis.report import figures
from analysis.report import pdf as pdf_page
from analysis.simulate import write_sample
from analysis.survival import kaplan_meier

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = [str(ROOT / "sample_data" / "assessments.csv"), str(ROOT / "sample_data" / "treatments.csv")]
WHEN = dt.datetime(2026, 11, 21, 12, 0, tzinfo=dt.UTC)
A4 = (595.28, 841.89)  # points
ONE_DECIMAL_PERCENT = re.compile(r"\d+\.\d%")


def pages_text(pdf: bytes) -> list[str]:
    """Text of each page, whitespace collapsed (a table cell never breaks a number)."""
    return [re.sub(r"\s+", " ", p.extract_text() or "") for p in pypdf.PdfReader(io.BytesIO(pdf)).pages]


def pct(v) -> str:
    return f"{100 * v:.1f}%"


def rate(r, lo, hi) -> str:
    return f"{100 * r:.1f}% ({100 * lo:.1f} to {100 * hi:.1f})"


def days(v) -> str:
    return "not reached" if pd.isna(v) else f"{v:.0f}"


def build(assessments, treatments=None, definitions=None, *, instrument="PHQ9", issues=None, rows_read=None, **kw):
    """The report of tables as the command line makes it: report_inputs (the KPIs as of the month of
    ``generated_at``), then build_report."""
    when = kw.get("generated_at")
    as_of = f"{when:%Y-%m}" if isinstance(when, dt.datetime) else None
    inputs = report.report_inputs(
        assessments, treatments, definitions, instrument=instrument, issues=issues, rows_read=rows_read, as_of=as_of
    )
    return report.build_report(inputs, **kw)


# --- fixtures --------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module", autouse=True)
def figure_server():
    """One kept-alive Chromium for the module, stopped at its end."""
    yield
    report.stop_figure_server()


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    """(PDF bytes, its pages' text, the load, what the command line printed) of the sample practice."""
    from analysis.__main__ import main

    out = tmp_path_factory.mktemp("report") / "sample.pdf"
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        code = main(["report", *SAMPLE, "--out", str(out)])
    assert code == 0
    pdf = out.read_bytes()
    return pdf, pages_text(pdf), load_files(SAMPLE), buf.getvalue()


@pytest.fixture(scope="module")
def sample_text(sample):
    return " ".join(sample[1])


@pytest.fixture(scope="module")
def as_of(sample_text):
    """The month the report was generated in (its KPIs are as of that month)."""
    return re.search(r"Generated (\d{4}-\d{2})-\d{2} \d{2}:\d{2} UTC", sample_text).group(1)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A practice of 15 synthetic patients, loaded as a user would (CSV -> load_files)."""
    paths = write_sample(tmp_path_factory.mktemp("tiny"), patients=15, seed=7)
    loaded = load_files([str(p) for p in paths])
    assert loaded.ok and loaded.assessments["patient_id"].nunique() == 15
    return loaded, paths


@pytest.fixture(scope="module")
def tiny_report(tiny):
    """The tiny practice's report, asked for an instrument it does not hold; with the inputs as they were."""
    loaded = tiny[0]
    before = (loaded.assessments.copy(), loaded.treatments.copy(), loaded.issues.copy())
    pdf = build(
        loaded.assessments,
        loaded.treatments,
        issues=loaded.issues,
        practice="Tiny practice",
        instrument="MADRS",
        generated_at=WHEN,
        rows_read=loaded.rows_read,
    )
    return pdf, " ".join(pages_text(pdf)), before


# --- the sample practice: same numbers as the dashboard --------------------------------------------------------------


def test_the_command_line_writes_an_a4_pdf_with_numbered_pages(sample):
    pdf, pages, _, printed = sample
    assert pdf.startswith(b"%PDF-")
    assert "report written to" in printed
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    assert 7 <= len(reader.pages) <= 11  # (with the quality measures and session safety sections)
    for page in reader.pages:
        assert (float(page.mediabox.width), float(page.mediabox.height)) == pytest.approx(A4, abs=0.5)
    for i, text in enumerate(pages, start=1):
        assert f"Page {i} of {len(pages)}" in text
        assert "small counts (1-10) shown as <11" in text


def test_the_title_page_names_practice_period_filters_and_generation_time(sample):
    first = sample[1][0]
    assert "Your practice" in first and "All patients" in first
    assert "2024-11 to 2026-10" in first  # the sample's start months
    assert re.search(r"Generated \d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC", first)


def test_the_rates_by_instrument_and_condition_are_the_summarys(sample, sample_text):
    loaded = sample[2]
    rates = metrics.summary(loaded.assessments, loaded.treatments).suppressed_rates()
    shown = rates[
        rates["dimension"].isin(["overall", "condition"])
        | ((rates["instrument"] == "PHQ9") & (rates["dimension"] == "site"))
    ]
    checked = 0
    for r in shown.to_dict("records"):
        for what in ("response", "remission"):
            if r[f"{what}_rate"] is not None and not pd.isna(r[f"{what}_rate"]):
                assert rate(r[f"{what}_rate"], r[f"{what}_lower"], r[f"{what}_upper"]) in sample_text, (r, what)
                checked += 1
    assert checked >= 15
    assert "53.8% (47.9 to 59.6)" in sample_text  # PHQ-9 response, all patients (hand-checked once)


def test_the_kpis_are_the_dashboards_tiles(sample, sample_text, as_of):
    loaded = sample[2]
    k = kpi_tiles.kpis(loaded.assessments, loaded.treatments, instrument="PHQ9", as_of=as_of).set_index("kpi")
    assert f"Patients who started {k.loc['patients_started', 'period']}" in sample_text
    shown = kpi_tiles.kpis_shown(k.reset_index(), 11).set_index("kpi")  # the tiles' rule; withheld reads "withheld*"
    for kpi in ("series_completion", "assessment_completion", "response_rate", "remission_rate"):
        row = k.loc[kpi]
        if shown.loc[kpi, "change"] is None:
            # e.g. the sample's assessment completion before: 362 of 370, a complement of 8 (< 11)
            # (issue 20: a withheld value reads 'withheld*' with the footnote, never '—')
            assert (
                f"{pct(row['value'])} withheld* —" in sample_text
                or f"withheld* {pct(row['previous'])} —" in sample_text
            ), kpi
        else:
            assert f"{pct(row['value'])} {pct(row['previous'])} {100 * row['change']:+.1f} pts" in sample_text, kpi
    assert shown["change"].notna().sum() >= 3  # most of the sample's tiles are shown in full
    row = k.loc["infusions"]
    assert f"{int(row['value'])} {int(row['previous'])} {int(row['change']):+d}" in sample_text


def test_the_durability_numbers_are_the_analysis(sample, sample_text):
    loaded = sample[2]
    by = durability.analyse(loaded.assessments, loaded.treatments, "PHQ9", by="condition")
    overall = durability.analyse(loaded.assessments, loaded.treatments, "PHQ9", by=None)
    g = overall.groups.iloc[0]
    head = f"{g['n']} {days(g['median'])} ({days(g['median_lower'])} to {days(g['median_upper'])}) " + " ".join(
        rate(g[f"s{d}"], g[f"s{d}_lower"], g[f"s{d}_upper"]) for d in (28, 56, 84)
    )
    assert head in sample_text
    exact = by.groups.set_index("group")
    withheld = 0
    for r in by.groups_shown().to_dict("records"):
        assert (
            f"{r['n']} {r['events']} {days(r['median'])} ({days(r['median_lower'])} to {days(r['median_upper'])})"
            in sample_text
        )
        for d in (28, 56, 84):
            if r[f"s{d}"] is None:  # fewer than 11 still at risk: withheld, as the curve stops there
                withheld += 1
                e = exact.loc[r["group"]]
                assert rate(e[f"s{d}"], e[f"s{d}_lower"], e[f"s{d}_upper"]) not in sample_text
            else:
                assert rate(r[f"s{d}"], r[f"s{d}_lower"], r[f"s{d}_upper"]) in sample_text
    assert withheld > 0  # the sample has a condition with few responders left at 12 weeks
    assert f"chi-square {by.logrank.chi2:.2f} on {by.logrank.df} df, p = {by.logrank.p:.3f}" in sample_text
    exact = by.cox.params.set_index("term")
    small = 0
    for r in by.cox.params_shown(11).to_dict("records"):
        e = exact.loc[r["term"]]
        if isinstance(r["withheld"], str):  # a group under 11: its hazard ratio is not printed, the reason is
            small += 1
            assert coxph.not_shown(r) in sample_text, r["term"]  # (or 'not estimable (...)' when it is that too)
            assert f"{e['hr']:.2f} ({e['lower']:.2f} to {e['upper']:.2f})" not in sample_text, r["term"]
        elif all(math.isfinite(r[c]) for c in ("hr", "lower", "upper")):
            assert f"{r['hr']:.2f} ({r['lower']:.2f} to {r['upper']:.2f})" in sample_text, r["term"]
    assert small > 0  # the sample has small age bands


def test_the_cox_models_checks_and_its_terms_that_are_not_estimable_are_printed(sample, sample_text):
    loaded = sample[2]
    fit = durability.analyse(loaded.assessments, loaded.treatments, "PHQ9", by="condition").cox
    c, ph = fit.concordance, fit.ph_test.iloc[-1]
    checks = f"Model checks: concordance (Harrell's C) {c['c']:.2f} (SE {c['se']:.2f}); proportional-hazards"
    assert checks in sample_text and f"global p = {ph['p']:.3f}" in sample_text
    assert fit.not_estimable  # the sample has a level without events: named, with no hazard ratio
    for reason in fit.not_estimable.values():
        assert f"not estimable ({reason})" in sample_text


def test_the_practice_totals_and_data_quality_are_the_loads(sample, sample_text):
    loaded = sample[2]
    p = metrics.summary(loaded.assessments, loaded.treatments).practice
    assert (
        f"Infusions (induction / booster / maintenance) {p['infusions']:,} ({p['induction_infusions']:,} / "
        f"{p['boosters']:,} / {p['maintenance']:,})" in sample_text
    )
    assert f"{pct(p['series_completion'])} of {p['induction_started']:,}" in sample_text
    assert f"Rows read from the files {loaded.rows_read:,}" in sample_text
    assert f"Scores kept (after the filters) {len(loaded.assessments):,}" in sample_text
    assert "Validation found no problems in the files." in sample_text


def test_the_definition_card_methods_and_citations_are_printed(sample_text):
    assert "The definition card in force: 'default'" in sample_text
    assert "Baseline: the last score from day -30 to day 0." in sample_text
    assert "response a drop of ≥ 50% from baseline, remission a score ≤ 4" in sample_text  # PHQ-9, from the registry
    for words in (
        "Efron ties",
        "Wilson score intervals",
        "log-scale 95% confidence limits",
        "log-rank test",
        "REML",
        "Counts from 1 to 10 are shown as <11",
        "Kroenke K",
    ):
        assert words in sample_text, words


def test_pages_render_with_their_figures_drawn(sample, tmp_path):
    """Page 1 and the Kaplan-Meier page as PNG (pdftoppm): ink on the page, the KM curves in their colour."""
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) is not installed")
    from PIL import Image

    pdf, pages = sample[0], sample[1]
    km_page = next(i for i, t in enumerate(pages, start=1) if "How long PHQ9 response lasts" in t)
    path = tmp_path / "sample.pdf"
    path.write_bytes(pdf)
    for page in (1, km_page):
        subprocess.run(
            ["pdftoppm", "-r", "60", "-png", "-f", str(page), "-l", str(page), str(path), str(tmp_path / f"p{page}")],
            check=True,
            timeout=60,
        )
    png = {
        page: np.asarray(Image.open(next(tmp_path.glob(f"p{page}*.png"))).convert("RGB")).astype(int)
        for page in (1, km_page)
    }
    ink = (png[1].sum(axis=2) < 600).mean()
    assert 0.01 < ink < 0.5
    km = png[km_page]
    blue = (km[:, :, 2] - km[:, :, 0]) > 60  # depression's curve and band (charts.CONDITION_COLOURS: #0072B2)
    assert blue.sum() > 250


# --- a tiny practice: small cells suppressed ----------------------------------------------------------------------


def small_shares(loaded, definitions) -> set[str]:
    """Every share of the tiny practice's report tables (rates by instrument and condition, PHQ-9 by site, PHQ-9
    durability) that rests on a count from 1 to threshold - 1, formatted as the report would print it."""
    t = definitions.suppression_threshold or 11
    s = metrics.summary(loaded.assessments, loaded.treatments, definitions)
    out = set()
    rates = s.rates
    shown = rates["dimension"].isin(["overall", "condition"]) | (
        (rates["instrument"] == "PHQ9") & (rates["dimension"] == "site")
    )
    for r in rates[shown].to_dict("records"):
        for what, count in (("response", "responders"), ("remission", "remitters")):
            if not pd.isna(r[f"{what}_rate"]) and (
                privacy.is_small(r[count], t) or privacy.is_small(r["evaluable"], t)
            ):
                out.add(rate(r[f"{what}_rate"], r[f"{what}_lower"], r[f"{what}_upper"]))
    for by in ("condition", None):
        g = durability.analyse(loaded.assessments, loaded.treatments, "PHQ9", by=by, definitions=definitions).groups
        for r in g[g["n"].map(lambda n: privacy.is_small(n, t))].to_dict("records"):
            out |= {
                rate(r[f"s{d}"], r[f"s{d}_lower"], r[f"s{d}_upper"])
                for d in definitions.survival_days
                if not pd.isna(r[f"s{d}"])
            }
    return out


def test_a_tiny_practice_shows_small_counts_as_under_11_and_no_share_of_them(tiny, tiny_report):
    text = tiny_report[1]
    assert text.count("<11") >= 20
    hidden = small_shares(tiny[0], Definitions())
    assert len(hidden) >= 5
    assert not [s for s in hidden if s in text]
    # the only shares printed rest on counts of at least 11 (infusions with a score, of 23 and of 61)
    assert set(ONE_DECIMAL_PERCENT.findall(text)) <= {"100.0%", "95.1%"}
    assert "Not shown: the model rests on fewer than 11 episodes" in text


def test_with_suppression_off_the_same_shares_are_printed(tiny):
    """The check above can fail: with the threshold at 0 the tiny practice's small shares are in the PDF."""
    loaded = tiny[0]
    card = Definitions(
        suppression_threshold=0, response_window=(14, 28), confirm_loss=True, booster_handling="censor", name="strict"
    )
    pdf = build(loaded.assessments, loaded.treatments, card, generated_at=WHEN)
    text = " ".join(pages_text(pdf))
    shown = small_shares(loaded, card)
    assert len(shown) >= 5 and all(s in text for s in shown)
    # (the quality measures keep the shared threshold, 11, whatever the card says: the section after them is
    # compared from its own heading on)
    rest = text.split("Quality measures (MIPS")[0] + text.split("Definitions and methods", 1)[1]
    assert "<11" not in rest and "small counts not suppressed" in text
    # the methods paragraph follows the card in force
    for words in (
        "definition card 'strict'",
        "from day 14 to day 28",
        "confirmed by the next score too",
        "censored at the first booster",
    ):
        assert words in text, words


def test_an_instrument_the_data_do_not_hold_falls_back_with_a_note(tiny_report):
    assert "The data hold no MADRS scores: this report is about PHQ9." in tiny_report[1]
    assert "How long PHQ9 response lasts" in tiny_report[1]


def test_the_inputs_are_not_changed(tiny, tiny_report):
    loaded, (a, t, i) = tiny[0], tiny_report[2]
    pd.testing.assert_frame_equal(loaded.assessments, a)
    pd.testing.assert_frame_equal(loaded.treatments, t)
    pd.testing.assert_frame_equal(loaded.issues, i)


@pytest.fixture
def plain_report(tiny, monkeypatch, tmp_path):
    """The tiny practice's report without DejaVu fonts or figures, with a hand-made issues table."""
    loaded = tiny[0]
    monkeypatch.setattr(pdf_page, "FONT_DIR", tmp_path)  # no fonts there
    monkeypatch.setattr(figures, "figure_png", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("skipped")))
    issues = pd.DataFrame(
        [
            {"severity": "warning", "code": "OUT_OF_RANGE", "column": "score", "rows": [2, 3], "message": "P-001 ..."},
            {"severity": "warning", "code": "OUT_OF_RANGE", "column": "score", "rows": np.array([5]), "message": "x"},
            {
                "severity": "info",
                "code": "DAY0_FIRST_ASSESSMENT",
                "column": None,
                "rows": list(range(2, 14)),
                "message": "P-002 ...",
            },
            {"severity": "error", "code": "BAD_FILE", "column": None, "rows": [], "message": "other.csv ..."},
        ]
    )
    pdf = build(loaded.assessments, loaded.treatments, issues=issues, rows_read=231, generated_at=WHEN)
    return pdf, " ".join(pages_text(pdf))


def test_without_dejavu_the_text_is_made_latin1_safe(plain_report):
    pdf, text = plain_report
    assert "response a drop of >= 50% from baseline" in text
    assert "≥" not in text and "Helvetica" in pdf.decode("latin-1")


def test_data_quality_counts_rows_by_severity_and_problem_without_messages(plain_report):
    text = plain_report[1]
    assert "Rows read from the files 231" in text
    assert (
        "Severity Problem Column Rows affected error BAD_FILE - 0 warning OUT_OF_RANGE score <11 "
        "info DAY0_FIRST_ASSESSMENT - 12"
    ) in text
    assert "P-001" not in text and "P-002" not in text  # messages quote patient keys: not printed


def test_without_chromium_the_command_line_still_writes_the_report(tmp_path, monkeypatch, capsys):
    """Figures give a line each (no hang, no traceback); the rest of the report is there. (A practice large
    enough for its figures to be drawn at the PDF's threshold of 11.)"""
    from analysis.__main__ import main

    a, t = write_sample(tmp_path, patients=200, seed=7)
    out = tmp_path / "practice.pdf"
    monkeypatch.setenv("BROWSER_PATH", str(tmp_path / "no-chromium"))
    assert main(["report", str(a), str(t), "--out", str(out), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"ok": True, "out": str(out)}
    text = " ".join(pages_text(out.read_bytes()))
    assert text.count("[Figure not drawn: no Chromium found") >= 4  # (the safety section's series curve too)
    assert "How long PHQ9 response lasts" in text


# --- bad input and wrong usage ------------------------------------------------------------------------------------


def test_no_scores_is_a_data_error_saying_so():
    empty = pd.DataFrame(columns=["patient_id", "instrument", "score", "day"])
    with pytest.raises(DataError, match="no scores to report on"):
        build(empty)


def test_wrong_arguments_fail_fast_and_say_the_fix(tiny):
    loaded = tiny[0]
    with pytest.raises(TypeError, match="assessments must be a pandas DataFrame"):
        build(loaded.assessments.to_dict())
    with pytest.raises(TypeError, match="generated_at must be a datetime"):
        build(loaded.assessments, generated_at="today")
    with pytest.raises(KeyError, match="not in the registry; known: PHQ9"):
        build(loaded.assessments, instrument="PHQ99")


def test_the_command_line_refuses_an_out_path_it_cannot_write(tiny, tmp_path, capsys):
    from analysis.__main__ import main

    _, (a, t) = tiny
    assert main(["report", str(a), str(t), "--out", str(tmp_path / "no-such-folder" / "r.pdf")]) == 1
    err = capsys.readouterr().err
    assert "no-such-folder" in err and "does not exist" in err and "Traceback" not in err
    assert main(["report", str(a), str(t), "--out", str(tmp_path / "report.txt")]) == 1
    assert "ending in .pdf" in capsys.readouterr().err


def test_write_report_refuses_a_load_that_is_not_usable(tiny, tmp_path):
    bad = load_files([str(ROOT / "tests" / "data" / "bad" / "no_patient_column.csv")])
    assert not bad.ok
    with pytest.raises(DataError, match="cannot be used"):
        report.write_report(bad, tmp_path / "r.pdf")
    assert not (tmp_path / "r.pdf").exists()


# --- the pieces, hand-worked ---------------------------------------------------------------------------------------


def test_kpi_cells_withhold_a_share_whose_numerator_denominator_or_complement_is_small():
    k = pd.DataFrame(
        [
            {
                "kpi": "patients_started",
                "label": "Patients started",
                "value": 104.0,
                "previous": 9.0,
                "change": 95.0,
                "unit": "count",
                "n": np.nan,
                "previous_n": np.nan,
                "note": "",
            },
            {
                "kpi": "response_rate",
                "label": "Response",
                "value": 12 / 20,
                "previous": 5 / 40,
                "change": 0.475,
                "unit": "share",
                "n": 20.0,
                "previous_n": 40.0,
                "note": "recent",
            },
            {
                "kpi": "remission_rate",
                "label": "Remission",
                "value": 11 / 40,
                "previous": 20 / 40,
                "change": -0.225,
                "unit": "share",
                "n": 40.0,
                "previous_n": 40.0,
                "note": "",
            },
        ]
    )
    cells = report.kpi_cells(k, 11).set_index("kpi")
    # suppressed values carry the footnote marker (issue 20): '<11*', 'withheld*'
    assert cells.loc["patients_started", ["value", "previous", "change"]].tolist() == ["104", "<11*", "—"]
    # 12 of 20: the 8 non-responders are a small complement, so the share is withheld (kpi_tiles.kpis_shown, the
    # dashboard's rule too); previous 5 of 40: small numerator
    assert cells.loc["response_rate", ["value", "previous", "change", "of"]].tolist() == [
        "withheld*",
        "withheld*",
        "—",
        "20",
    ]
    assert cells.loc["remission_rate", ["value", "previous", "change"]].tolist() == ["27.5%", "50.0%", "-22.5 pts"]


def test_funnel_rows_give_counts_and_withhold_shares_of_small_counts():
    row = {
        "patients": 40,
        "with_baseline": 38,
        "with_response_assessment": 20,
        "evaluable": 20,
        "responders": 9,
        "with_follow_up": 9,
    }
    assert report.funnel_rows(row, 11) == [
        ("Patients with a score", "40", ""),
        ("With a baseline", "38", "95.0%"),
        ("With a response assessment", "20", "52.6%"),
        ("Evaluable (baseline > 0)", "20", "100.0%"),
        ("Responders", "<11*", "—"),  # '<11' with the footnote marker (issue 20: suppressed cells explained)
        ("Responders with follow-up", "<11*", "—"),
    ]


def test_at_risk_counts_every_28_days_to_the_last_follow_up():
    from analysis.durability import at_risk

    km = kaplan_meier([10, 30, 30, 60, 70], [1, 0, 1, 1, 0])
    risk = at_risk(km)
    assert risk["day"].tolist() == [0, 28, 56] and risk["n_risk"].tolist() == [5, 4, 2]


def test_a_figure_of_only_zero_bars_or_no_traces_has_no_marks():
    import plotly.graph_objects as go

    assert not report.has_marks(go.Figure())
    assert not report.has_marks(go.Figure(go.Bar(x=[0, 0], y=["a", "b"], orientation="h")))
    assert report.has_marks(go.Figure(go.Bar(x=[0, 3], y=["a", "b"], orientation="h")))
    assert report.has_marks(go.Figure(go.Scatter(x=[0, 1], y=[None, 0.5])))


def test_the_citations_are_the_one_list_of_analysis_methods(sample_text):
    from analysis import methods

    text = " ".join(sample_text.split())
    for ref in methods.STATISTICS_CITATIONS:
        assert " ".join(ref.split()[:4]) in text, ref
    assert "PHQ9: Kroenke K" in text  # the registry's citation of the report's instrument


def test_report_inputs_run_each_analysis_through_the_callers_call_and_keep_its_objects(tiny):
    """The dashboard passes its cached call: the report then lays out the very objects its pages hold."""
    loaded = tiny[0]
    made = {}

    def call(func, *args, **kwargs):
        made[func.__name__] = func(*args, **kwargs)
        return made[func.__name__]

    inputs = report.report_inputs(loaded.assessments, loaded.treatments, call=call)
    assert set(made) == {"summary_and_kpis", "analyse", "trajectories", "quality_measures", "session_safety"}
    assert inputs.measures is made["quality_measures"]
    assert inputs.safety is made["session_safety"]  # (the safety section, the Safety page's object)
    assert (inputs.summary, inputs.kpis) == made["summary_and_kpis"]
    assert inputs.durability is made["analyse"] and inputs.trajectories is made["trajectories"]
    assert inputs.data.patients == 15 and inputs.data.scores == len(loaded.assessments)


def test_build_report_takes_the_report_inputs_and_says_so():
    with pytest.raises(TypeError, match="ReportInputs of report_inputs"):
        report.build_report(pd.DataFrame())


def test_the_trajectory_page_says_the_model_check_as_the_dashboard(sample, sample_text):
    from analysis import trajectory
    from analysis.outcomes import Definitions

    loaded = sample[2]
    res = trajectory.trajectories(loaded.assessments, "PHQ9", by="condition", definitions=Definitions())
    words = res.fit_check_words()
    assert words.startswith("for the patients scored at each visit, the model's mean is within the observed 95% CI")
    assert f"Model check: {words}" in sample_text
