"""Text from the data or a user is shown as text, never as Markdown or HTML (issue 15, item 5): on every page (run
with Streamlit's AppTest), in the charts (plotly) and in the PDF report.

The attack strings are tests/data/attacks/markup/strings.txt, one a line: a remote image, a link that looks like a
sign-in prompt, HTML with a script, Streamlit's ':red[...]', LaTeX, emphasis and code, an autolink. They are the
site names of the sample practice (each patient one of them), the uploaded files' names, the definition card's name,
a saved data set's name, the practice's name and the filters on the PDF.
"""

import io
import json
import re
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import pypdf
import pytest
from google.protobuf.json_format import MessageToDict
from streamlit.testing.v1 import AppTest

from analysis import charts, formatting, measures_charts, report, safety_charts
from analysis.chart_style import Chart, escape_figure
from analysis.config import DATA_DIR_ENV
from analysis.ingest import load_files
from analysis.outcomes import Definitions
from analysis.report import figures
from ui import gate
from ui.show import text

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"
ATTACKS = ROOT / "tests" / "data" / "attacks" / "markup"
STRINGS = [s for s in (ATTACKS / "strings.txt").read_text(encoding="utf-8").splitlines() if s.strip()]
PAGES = ["overview", "trajectories", "durability", "compare", "safety", "measures", "data", "methods", "audit"]

#: markup from the attack strings that reached a page unescaped: a link or image, an HTML tag, a Streamlit
#: directive, emoji or icon (a colon right before a name: Streamlit reads those even when escaped), LaTeX,
#: emphasis, code, strike-through or an autolink ('www.' and an e-mail's '@', escaped or not: Chromium shows
#: both as links)
LEAK = re.compile(
    r"(?<!\\)\]\(http|(?<!\\)<(?:img|a|b)\b|:(?:red|skull|material)\b|(?<!\\)\$x|(?<!\\)\*\*urgent|(?<!\\)`code"
    r"|(?<!\\)~~gone|www\\?\.host|e\\?@host"
)
#: element fields Streamlit shows as plain text (selectbox and multiselect options, a text input's value)
PLAIN = {
    ("multiselect", "options"),
    ("multiselect", "default"),
    ("selectbox", "options"),
    ("select_slider", "options"),
    ("text_input", "value"),
    ("text_input", "default"),
}
#: elements shown as text, or checked apart (the charts): tables, JSON, code
NOT_MARKDOWN = {"arrow_data_frame", "plotly_chart", "json", "code", "text", "download_button"}

pytestmark = pytest.mark.skipif(not (SAMPLE / "assessments.csv").exists(), reason="sample_data/ not generated yet")


def markdown_strings(at) -> list[tuple[str, str, str]]:
    """(element type, field, string) of every string an element of the page renders as Markdown: bodies of
    markdown, captions, titles, alerts; labels and help of widgets, tiles, expanders, buttons; radio options."""
    out = []

    def strings(kind, value, field=""):
        if isinstance(value, str):
            if (kind, field) not in PLAIN and field != "icon":  # (icons are the dashboard's own)
                out.append((kind, field, value))
        elif isinstance(value, dict):
            for k, v in value.items():
                strings(kind, v, k)
        elif isinstance(value, list):
            for v in value:
                strings(kind, v, field)

    def walk(node):
        kind, proto = getattr(node, "type", None), getattr(node, "proto", None)
        if kind not in NOT_MARKDOWN and proto is not None:
            strings(kind, MessageToDict(proto))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return out


def leaks(at) -> list[tuple[str, str, str]]:
    return [(k, f, s) for k, f, s in markdown_strings(at) if LEAK.search(s) or any(a in s for a in STRINGS)]


def shown(at) -> str:
    return "\n".join(s for _, _, s in markdown_strings(at))


def figure_strings(spec: str) -> str:
    """Every string of a figure's JSON (plotly writes '<' and '&' in it as \\u escapes), one a line."""
    out = []

    def walk(v):
        if isinstance(v, str):
            out.append(v)
        elif isinstance(v, dict):
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)

    walk(json.loads(spec))
    return "\n".join(out)


def plotly_specs(at) -> str:
    return "\n".join(figure_strings(e.proto.spec) for e in at.get("plotly_chart"))


def attack_practice() -> tuple[bytes, bytes]:
    """The sample practice's files with every patient's site one of the attack strings (by the patient's number)."""
    a = pd.read_csv(SAMPLE / "assessments.csv", dtype=str, keep_default_na=False)
    number = a["patient_id"].str.extract(r"(\d+)$")[0].astype(int)
    a["site"] = [STRINGS[n % len(STRINGS)] for n in number]
    t = pd.read_csv(SAMPLE / "treatments.csv", dtype=str, keep_default_na=False)
    t = t.rename(columns={"minutes_to_discharge": "Discharge minutes"})  # (a spelling practices write)
    return a.to_csv(index=False).encode(), t.to_csv(index=False).encode()


#: the uploaded files' names (an e-mail in a site would refuse the upload: a file name carries one)
FILE_NAMES = (f"{STRINGS[0]} {STRINGS[3]}.csv", f"{STRINGS[5]} from alice@host.example.csv")
CARD_NAME = f"{STRINGS[1]} {STRINGS[2]}"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    folder = tmp_path_factory.mktemp("markup") / "data"
    mp.setenv(DATA_DIR_ENV, str(folder))
    gate._open_store.clear()
    yield folder
    gate._open_store.clear()
    mp.undo()


@pytest.fixture(scope="module")
def attacked(data_dir):
    """One session on the attack practice, uploaded under attack file names, with a card named by attack strings."""
    import streamlit as st

    st.cache_data.clear()
    st.cache_resource.clear()
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=300).run()
    files = attack_practice()
    at.file_uploader(key="upload").set_value([(n, b, "text/csv") for n, b in zip(FILE_NAMES, files)]).run()
    assert not at.exception and at.session_state["_loaded"].ok
    card = Definitions(name=CARD_NAME, survival_days=(28, 56)).to_dict()
    card.pop("description", None)
    at.switch_page("pages/methods.py").run()
    at.file_uploader(key="card").set_value(("card.json", json.dumps(card).encode(), "application/json")).run()
    next(b for b in at.button if b.label == "Use the loaded card").click().run()
    assert at.session_state["definitions"].name == CARD_NAME
    return at


def test_the_attack_strings_are_the_ones_the_issue_names_and_more():
    for s in ("![](http://host/b.png)", "[Session expired: sign in](http://host/p)", "<img src=x onerror=alert(1)>"):
        assert s in STRINGS
    assert {":red[big]", "$x^2$"} <= set(STRINGS) and len(STRINGS) >= 9
    for s in (*STRINGS, *FILE_NAMES):  # (the check below would see each of them, raw)
        assert LEAK.search(s), s
        assert not LEAK.search(text(s)), text(s)


def test_the_leak_check_sees_raw_markup_in_a_page():
    def page():
        import streamlit as st

        st.caption("Site: [Session expired: sign in](http://host/p)")
        st.markdown(r"Site: \[Session expired: sign in\](http\://host/p)")

    at = AppTest.from_function(page).run()
    assert [s for _, _, s in leaks(at)] == ["Site: [Session expired: sign in](http://host/p)"]


@pytest.mark.parametrize("page", PAGES)
def test_every_page_shows_the_attack_names_as_text(attacked, page):
    at = attacked.switch_page(f"pages/{page}.py").run()
    assert not at.exception, [e.message for e in at.exception]
    assert not leaks(at), leaks(at)
    page_text = shown(at)
    assert f"*{text(CARD_NAME)}*" in page_text, "the card banner names the card, as text"
    if page != "audit":
        assert text(", ".join(FILE_NAMES)) in page_text, "the data line names the files, as text"
    groupings = [s for s in at.selectbox if s.label in ("Compare by", "Rates by") and "Site" in s.options]
    for s in groupings:  # by site: the sites in the page's sentences and charts
        s.set_value("site").run()
        assert not at.exception, [e.message for e in at.exception]
        assert not leaks(at), leaks(at)


def test_sites_by_name_in_the_durability_sentences_are_text(attacked):
    at = attacked.switch_page("pages/durability.py").run()
    next(s for s in at.selectbox if s.label == "Compare by").set_value("site").run()
    medians = next(m.value for m in at.markdown if m.value.startswith("**Median durability:**"))
    assert all(text(s) in medians for s in STRINGS), medians
    assert not LEAK.search(medians)


def test_cohorts_chosen_by_attack_sites_are_described_as_text(attacked):
    at = attacked.switch_page("pages/compare.py").run()
    at.multiselect(key="cohort_A_site").set_value([STRINGS[0], STRINGS[2]])
    at.multiselect(key="cohort_B_site").set_value([STRINGS[1], STRINGS[3]]).run()
    assert not at.exception and not leaks(at), leaks(at)
    help_ = [m.help for m in at.metric if m.label.startswith("Cohort ")]
    assert any(text(STRINGS[0]) in h and text(STRINGS[2]) in h for h in help_), help_


def test_the_charts_of_every_page_carry_the_sites_as_text(attacked):
    drawn = ""
    for page in PAGES:
        at = attacked.switch_page(f"pages/{page}.py").run()
        for s in at.selectbox:
            if s.label in ("Compare by", "Rates by") and "Site" in s.options:
                s.set_value("site").run()
        drawn += plotly_specs(at)
    html = [s for s in STRINGS if "<" in s or "&" in s]
    assert html
    for s in html:
        assert s not in drawn and formatting.plain(s) in drawn, s
    assert not re.search(r"<(?:img|a)\b", drawn)


def test_a_saved_data_set_named_with_markup_is_named_as_text(data_dir):
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=300).run()
    a, _ = attack_practice()
    at.file_uploader(key="upload").set_value([("assessments.csv", a, "text/csv")]).run()
    at.switch_page("pages/data.py").run()
    next(t for t in at.text_input if t.label == "Save this upload as").input(STRINGS[1])
    next(b for b in at.button if b.label == "Save").click().run()
    assert not at.exception, [e.message for e in at.exception]
    assert not leaks(at), leaks(at)
    tomorrow = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=300).run()  # opens the saved data set
    for page in ("data", "overview", "safety"):
        tomorrow.switch_page(f"pages/{page}.py").run()
        assert not tomorrow.exception and not leaks(tomorrow), leaks(tomorrow)
        assert f"Using **{text(STRINGS[1])}**" in shown(tomorrow)
    assert f"**{text(STRINGS[1])}** is a saved data set" in shown(tomorrow.switch_page("pages/data.py").run())


def test_a_card_whose_values_carry_markup_is_refused_in_text(attacked):
    at = attacked.switch_page("pages/methods.py").run()
    bad = b'{"name": "x", "booster_handling": "<img src=x onerror=alert(1)> [Session expired](http://host/p)"}'
    at.file_uploader(key="card").set_value(("card.json", bad, "application/json")).run()
    next(b for b in at.button if b.label == "Use the loaded card").click().run()
    errors = [e.value for e in at.error]
    assert any(e.startswith("This card cannot be used") for e in errors), errors
    assert not leaks(at), leaks(at)


# --- charts ----------------------------------------------------------------------------------------------------


def test_a_chart_shows_text_from_the_data_as_text_once():
    fig = go.Figure(go.Bar(x=["<a href='http://host'>x</a>", "<11", "A & B"], y=[1, 2, 3], name="<b>site</b>"))
    fig.add_annotation(x="<a href='http://host'>x</a>", y=1, text="<b>ours</b>")
    fig.update_xaxes(type="category", categoryarray=["A & B", "<a href='http://host'>x</a>", "<11"])
    c = Chart(fig, "caption")
    assert list(c.figure.data[0].x) == ["&lt;a href='http://host'&gt;x&lt;/a&gt;", "<11", "A &amp; B"]
    assert c.figure.data[0].name == "&lt;b&gt;site&lt;/b&gt;"
    assert c.figure.layout.annotations[0].x == c.figure.data[0].x[0], "an annotation follows its category"
    assert c.figure.layout.annotations[0].text == "<b>ours</b>", "the chart's own markup stays"
    assert set(c.figure.layout.xaxis.categoryarray) == set(c.figure.data[0].x), "the order names the categories"
    escape_figure(c.figure)
    assert c.figure.data[0].x[1:] == ("<11", "A &amp; B"), "a second pass changes nothing"


def test_the_safety_and_measures_charts_show_sites_as_text():
    sites = ["<img src=x onerror=alert(1)>", "A & B"]
    rates = pd.DataFrame(
        {
            "dimension": "site",
            "group": sites,
            "flag": "surge",
            "per_100": [5.0, 6.0],
            "lower": [1.0, 2.0],
            "upper": [9.0, 10.0],
        }
    )
    trend = pd.DataFrame(
        {"measure": "MIPS 370", "group": sites, "rate": [0.3, 0.4], "lower": [0.2, 0.3], "upper": [0.4, 0.5]}
    )
    for c in (
        safety_charts.flag_rates_chart(rates, ["surge"], "site"),
        measures_charts.trend_chart(trend, "MIPS 370", "site"),
    ):
        spec = figure_strings(c.figure.to_json())
        assert "<img" not in spec and "&lt;img src=x onerror=alert(1)&gt;" in spec and "A &amp; B" in spec


def test_a_group_named_with_html_is_text_in_the_rates_chart():
    rates = pd.DataFrame(
        {
            "group": ["<a href='http://host/p'>Sign in</a>"],
            "evaluable": [40],
            "responders": [20],
            "remitters": [12],
            "response_rate": [0.5],
            "response_lower": [0.35],
            "response_upper": [0.65],
            "remission_rate": [0.3],
            "remission_lower": [0.18],
            "remission_upper": [0.45],
        }
    )
    spec = figure_strings(charts.rates_chart(rates, "group", 11).figure.to_json())
    assert "<a href" not in spec and "&lt;a href='http://host/p'&gt;Sign in&lt;/a&gt;" in spec


# --- the PDF ---------------------------------------------------------------------------------------------------


def test_the_pdf_prints_names_from_the_data_and_users_literally_and_links_nothing(monkeypatch):
    monkeypatch.setattr(figures, "figure_png", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("skipped")))
    a, t = attack_practice()
    loaded = load_files([("assessments.csv", a), ("treatments.csv", t)])
    assert loaded.ok
    inputs = report.report_inputs(
        loaded.assessments, loaded.treatments, None, issues=loaded.issues, rows_read=loaded.rows_read
    )
    pdf = report.build_report(inputs, practice=STRINGS[1], filters=f"Site: {STRINGS[2]}", data=STRINGS[0])
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    words = re.sub(r"\s+", "", " ".join(p.extract_text() or "" for p in reader.pages))
    for s in (STRINGS[0], STRINGS[1], STRINGS[2]):
        assert re.sub(r"\s+", "", s) in words, s
    by_site = [s for s in STRINGS if re.sub(r"\s+", "", s) in words]
    assert len(by_site) == len(STRINGS), "the sites' table names every site as written"
    for page in reader.pages:
        annots = page.get("/Annots")
        kinds = [a.get_object().get("/Subtype") for a in (annots.get_object() if annots else [])]
        assert "/Link" not in kinds
    assert b"/URI" not in pdf
