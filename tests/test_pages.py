"""Every page of the dashboard, run with Streamlit's AppTest: on the sample practice, on an uploaded vendor
export, and on bad uploads (a clear st.error, never an exception)."""

import io
import json
import re
from pathlib import Path

import openpyxl
import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"
PAGES = [
    "pages/overview.py",
    "pages/trajectories.py",
    "pages/durability.py",
    "pages/compare.py",
    "pages/data.py",
    "pages/methods.py",
    "pages/boosters.py",
]

pytestmark = pytest.mark.skipif(not (SAMPLE / "assessments.csv").exists(), reason="sample_data/ not generated yet")


def app() -> AppTest:
    return AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120).run()


def texts(at, kind) -> list[str]:
    return [str(e.value) for e in getattr(at, kind)]


def caption_line(at) -> str:
    return next(c for c in texts(at, "caption") if c.startswith("**Data:**"))


def upload(at, *files):
    at.file_uploader(key="upload").set_value([(name, data, "text/csv") for name, data in files]).run()
    return at


def plotly_specs(at) -> list[dict]:
    return [json.loads(e.proto.spec) for e in at.get("plotly_chart")]


@pytest.fixture(scope="module", autouse=True)
def empty_caches_at_start():
    """Streamlit's caches are shared by every AppTest of the process: this file starts from empty ones
    (within it, later tests reuse what earlier ones computed, as sessions of one server do)."""
    import streamlit as st

    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture(scope="module")
def sample_app():
    """One app session on the sample practice, reused by the per-page tests (pages change, data stay)."""
    return app()


@pytest.mark.parametrize("page", PAGES)
def test_every_page_runs_on_the_sample_practice_without_an_error(sample_app, page):
    at = sample_app
    at.switch_page(page).run()
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, texts(at, "error")
    assert at.title, "every page has a title"
    if page != "pages/methods.py":
        assert "Sample practice" in caption_line(at) and "Filters:" in caption_line(at)
    if page not in ("pages/data.py", "pages/methods.py"):
        assert at.get("plotly_chart"), "the page draws a chart"


def test_the_data_page_counts_the_patients_with_scores_and_says_so(sample_app):
    # (the caption's count is of the selected patients, treatments-only ones included: the labels tell them apart)
    at = sample_app.switch_page("pages/data.py").run()
    tiles = {m.label: m.value for m in at.metric}
    loaded = at.session_state["_loaded"]
    assert tiles["Patients with scores"] == f"{loaded.assessments['patient_id'].nunique()}"


def test_overview_tiles_show_the_kpis_with_their_change(sample_app):
    at = sample_app.switch_page("pages/overview.py").run()
    labels = [m.label for m in at.metric]
    assert labels[:6] == [
        "Patients started",
        "Infusions",
        "Series completed",
        "Infusions with a score",
        "Response",
        "Remission",
    ]
    started = at.metric[0]
    assert started.value.isdigit() or started.value.startswith("<")


def test_overview_offers_the_pdf_report_of_the_data_in_force(sample_app):
    at = sample_app.switch_page("pages/overview.py").run()
    assert not at.get("download_button") or all(
        b.proto.label != "Download the PDF report" for b in at.get("download_button")
    )
    at.button(key="prepare_report").click().run(timeout=180)
    assert not at.exception
    buttons = [b for b in at.get("download_button") if b.proto.label == "Download the PDF report"]
    assert len(buttons) == 1


def test_durability_page_draws_one_curve_per_condition_in_its_fixed_colour(sample_app):
    from analysis import charts

    at = sample_app.switch_page("pages/durability.py").run()
    km = next(s for s in plotly_specs(at) if "still responding" in s["layout"]["title"]["text"])
    curves = {t["name"]: t["line"]["color"] for t in km["data"] if t.get("name")}
    assert curves["Depression"] == charts.CONDITION_COLOURS["depression"]
    assert [m.label for m in at.metric][:2] == [
        "Responders with follow-up",
        "Median days",
    ]  # (issue 20: tiles say what they count)


def test_a_filter_chosen_in_the_sidebar_survives_a_change_of_page():
    at = app()
    site = next(m for m in at.multiselect if m.label == "Site")
    first = site.options[0]
    site.set_value([first]).run()
    assert first in caption_line(at)
    for page in ("pages/durability.py", "pages/overview.py"):
        at.switch_page(page).run()
        assert first in caption_line(at), page
        assert not at.exception


def test_a_higher_suppression_threshold_hides_more_counts(sample_app):
    from analysis.outcomes import Definitions

    at = sample_app.switch_page("pages/overview.py").run()
    at.session_state["definitions"] = Definitions(suppression_threshold=1000)
    at.run()
    assert "<1000" in caption_line(at)
    assert [m.value for m in at.metric][:2] == ["<1000*", "<1000*"]  # with the footnote marker (issue 20)
    # shares resting on small counts are withheld, and say so with the footnote marker (issue 20)
    assert all(m.value == "withheld*" for m in at.metric[2:6])
    at.session_state["definitions"] = Definitions()
    at.run()


def test_methods_page_changes_the_definitions_for_every_page(sample_app):
    at = sample_app.switch_page("pages/methods.py").run()
    next(n for n in at.number_input if n.label.startswith("Small-cell")).set_value(20)
    at.button[0].click().run()  # the form's submit button
    assert at.session_state["definitions"].suppression_threshold == 20
    at.switch_page("pages/overview.py").run()
    assert "<20" in caption_line(at)
    from analysis.outcomes import Definitions

    at.session_state["definitions"] = Definitions()
    at.run()


def test_an_uploaded_vendor_export_replaces_the_sample_on_every_page():
    at = upload(app(), ("vendor_export.csv", (SAMPLE / "vendor_export.csv").read_bytes()))
    assert not at.exception and not at.error
    assert "vendor_export.csv" in caption_line(at)
    for page in ("pages/trajectories.py", "pages/durability.py", "pages/data.py"):
        at.switch_page(page).run()
        assert not at.exception, (page, [e.message for e in at.exception])
        assert "vendor_export.csv" in caption_line(at), "the upload is kept when the page changes"
    mapping = at.dataframe[0].value
    assert {"Patient ID", "Total Score", "Measure"} <= set(mapping["source"]), "the Data page shows the column mapping"
    assert mapping.set_index("source").loc["Total Score", "target"] == "score"


def test_both_sample_files_uploaded_give_the_same_numbers_as_the_sample():
    base = app()
    started = base.metric[0].value
    at = upload(app(), *[(p.name, p.read_bytes()) for p in (SAMPLE / "assessments.csv", SAMPLE / "treatments.csv")])
    assert "assessments.csv, treatments.csv" in caption_line(at)
    assert at.metric[0].value == started


PHI = (
    b"patient_id,Patient Name,DOB,instrument,score,day\n"
    b"P1,Jane Doe,1980-02-03,PHQ9,20,0\nP1,Jane Doe,1980-02-03,PHQ9,8,21\n"
)


def xlsx_bytes() -> bytes:
    wb = openpyxl.Workbook()
    wb.active.append(["patient_id", "instrument", "score", "day"])
    wb.active.append(["P1", "PHQ9", 20, 0])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


@pytest.mark.parametrize(
    "name,data,words",
    [
        ("clinic.csv", PHI, "Patient Name"),
        (
            "workbook.xlsx",
            xlsx_bytes()[: len(xlsx_bytes()) // 2],
            "Excel",
        ),  # (a damaged workbook: issue 16 reads whole ones)
        ("empty.csv", b"", ""),
    ],
)
def test_a_bad_upload_shows_an_error_on_every_page_and_never_an_exception(name, data, words):
    at = upload(app(), (name, data))
    for page in ("pages/overview.py", "pages/compare.py", "pages/data.py", "pages/methods.py"):
        at.switch_page(page).run()
        assert not at.exception, (page, [e.message for e in at.exception])
        if page != "pages/methods.py":
            assert at.error, f"{page} shows an st.error"
            assert words in " ".join(texts(at, "error"))
    assert not at.get("plotly_chart")


def test_the_data_page_explains_a_phi_refusal_and_keeps_nothing():
    at = upload(app(), ("clinic.csv", PHI))
    at.switch_page("pages/data.py").run()
    assert "Jane" not in " ".join(texts(at, "markdown") + texts(at, "error") + texts(at, "info"))
    assert any("identify people directly" in t for t in texts(at, "info"))
    assert at.session_state["_data"] is None


def test_removing_a_bad_upload_brings_the_sample_back():
    at = upload(app(), ("clinic.csv", PHI))
    assert at.error
    next(b for b in at.button if b.label == "Back to the sample practice").click().run()
    assert not at.error and "Sample practice" in caption_line(at)


def test_a_loaded_definition_card_is_used_on_every_page(sample_app):
    from analysis.outcomes import Definitions

    card = json.dumps({"name": "strict clinic", "confirm_loss": True, "suppression_threshold": 15}).encode()
    at = sample_app.switch_page("pages/methods.py").run()
    at.file_uploader(key="card").set_value(("card.json", card, "application/json")).run()
    next(b for b in at.button if b.label == "Use the loaded card").click().run()
    assert at.session_state["definitions"].name == "strict clinic"
    assert "strict clinic" in " ".join(texts(at, "markdown"))
    at.switch_page("pages/durability.py").run()
    assert "<15" in caption_line(at) and not at.exception
    at.session_state["definitions"] = Definitions()
    at.run()


def test_a_bad_definition_card_is_refused_with_a_message(sample_app):
    at = sample_app.switch_page("pages/methods.py").run()
    at.file_uploader(key="card").set_value(
        ("card.json", b'{"booster_handling": "sometimes"}', "application/json")
    ).run()
    next(b for b in at.button if b.label == "Use the loaded card").click().run()
    assert not at.exception
    assert any("booster_handling" in e for e in texts(at, "error"))
    assert at.session_state["definitions"].booster_handling == "ignore"


def test_only_the_targets_the_user_changed_become_overrides():
    import pandas as pd

    from ui import data_view

    before = pd.DataFrame(
        {
            "file": ["a.csv"] * 3,
            "source": ["Patient ID", "Clinic Location", "Notes"],
            "target": ["patient_id", "site", "unused"],
            "how": ["synonym", "synonym", "unused"],
        }
    )
    after = before.assign(target=["patient_id", "ignore", "unused"])
    assert data_view.changed_targets(before, after) == {"Clinic Location": "ignore"}
    assert data_view.changed_targets(before, before) == {}


def test_trajectories_show_percent_improvement_and_patient_lines_on_request(sample_app):
    at = sample_app.switch_page("pages/trajectories.py").run()
    before = next(s for s in plotly_specs(at) if "over the course" in s["layout"]["title"]["text"])
    assert any(shape.get("type") == "rect" for shape in before["layout"].get("shapes", []))  # severity bands
    at.toggle[0].set_value(True).run()
    lines = next(s for s in plotly_specs(at) if "over the course" in s["layout"]["title"]["text"])
    assert len(lines["data"]) > len(before["data"]) + 10, "one faint line per sampled patient"
    at.get("button_group")[0].set_value("pct_change").run()
    assert not at.exception
    pct = next(s for s in plotly_specs(at) if "improvement" in s["layout"]["title"]["text"])
    assert pct["layout"]["yaxis"]["ticksuffix"] == "%"
    at.toggle[0].set_value(False).run()


def test_an_empty_cohort_is_a_warning_not_an_error(sample_app):
    at = sample_app.switch_page("pages/compare.py").run()
    assert len(at.metric) >= 4 and at.metric[0].label == "Cohort A: patients"
    next(m for m in at.multiselect if m.key == "cohort_B_sex").set_value(["X"]).run()
    next(m for m in at.multiselect if m.key == "cohort_B_age").set_value(["18-24"]).run()
    assert not at.exception and not at.error
    assert at.warning or "<11" in [m.value for m in at.metric]


def test_compare_shows_the_cox_models_checks_beside_its_hazard_ratio():
    at = app().switch_page("pages/compare.py").run()  # (a session of its own: cohorts as the page opens)
    assert not at.exception
    hazard = [m.value for m in at.markdown if "Hazard ratio of losing response" in m.value]
    checks = [c.value for c in at.caption if c.value.startswith("**Model checks:**")]
    assert hazard and len(checks) == 1
    assert "concordance (Harrell's C)" in checks[0] and "cox.zph" in checks[0]
    # the cohorts' trajectory model, checked at every visit as on the Trajectories page
    fit = [c.value for c in at.caption if c.value.startswith("**Model check**: for the patients scored at each visit")]
    assert len(fit) == 1 and re.search(r"within the observed 95% CI at (\d+) of \1 visits", fit[0]), fit


# --- caching of ui.cache: content keys once per frame object, shared results reused ----------------------------


def test_content_key_is_computed_once_per_frame_object_and_changes_with_the_content(monkeypatch):
    import pandas as pd

    from ui import cache

    calls = []
    real = pd.util.hash_pandas_object
    monkeypatch.setattr(pd.util, "hash_pandas_object", lambda *a, **k: calls.append(1) or real(*a, **k))
    frame = pd.DataFrame({"patient_id": ["P1", "P2"], "score": [10, 12]})
    first = cache.content_key(frame)
    assert cache.content_key(frame) == first and cache.content_key([frame, 3]) == "[" + first + ",3]"
    assert len(calls) == 1
    other = frame.assign(score=[10, 13])  # new content, new object
    assert cache.content_key(other) != first and len(calls) == 2
    assert cache.content_key(frame.copy()) == first  # same content, another object: same key
    wider = frame.copy()
    cache.content_key(wider)
    wider["extra"] = 1  # a column added in place is noticed
    assert cache.content_key(wider) != first


def test_content_key_of_a_long_tuple_of_ids_is_one_hash_that_changes_with_any_id():
    from ui import cache

    ids = tuple(f"P{i:05d}" for i in range(1000))
    key = cache.content_key(ids)
    assert key == cache.content_key(list(ids)) and len(key) < 100
    assert cache.content_key(ids[:-1] + ("P99999",)) != key
    assert cache.content_key(ids[:-1]) != key
    assert cache.content_key(("a", "b")) == "['a','b']"  # short tuples keep their readable key


def test_a_shared_result_is_reused_and_a_cached_one_is_not_recomputed():
    import pandas as pd

    from ui import cache

    runs = []

    def work(frame, n=1):
        runs.append(n)
        return frame.assign(twice=frame["score"] * 2 * n)

    frame = pd.DataFrame({"score": [1, 2, 3]})
    first = cache.shared(work, frame, n=1)
    assert cache.shared(work, frame.copy(), n=1) is first and runs == [1]  # same content: the same object
    assert cache.shared(work, frame, n=2) is not first and runs == [1, 2]
    again = cache.cached(work, frame, n=3), cache.cached(work, frame.copy(), n=3)
    assert runs == [1, 2, 3] and again[0].equals(again[1])


def test_the_uploaded_files_are_hashed_once_when_they_arrive(monkeypatch):
    from ui import cache

    at = app()
    data = (SAMPLE / "assessments.csv").read_bytes()
    upload(at, ("assessments.csv", data))
    files, digest = at.session_state["_files_digest"]
    assert digest == cache.files_digest([("assessments.csv", data)]) and files == at.session_state["files"]
    assert not at.exception


def count_hashes(monkeypatch) -> list:
    """Every hash of a frame's cells from now on (pandas' hash_pandas_object) adds one entry."""
    import pandas as pd

    calls, real = [], pd.util.hash_pandas_object
    monkeypatch.setattr(pd.util, "hash_pandas_object", lambda *a, **k: calls.append(1) or real(*a, **k))
    return calls


def without_last_patient(data: bytes) -> bytes:
    lines = data.decode().splitlines(keepends=True)
    last = lines[-1].split(",")[0]
    return "".join(line for line in lines if not line.startswith(last + ","))


def test_a_loaded_upload_is_one_shared_object_whose_frames_are_keyed_without_hashing(monkeypatch):
    from ui import cache

    files = [(p.name, p.read_bytes()) for p in (SAMPLE / "assessments.csv", SAMPLE / "treatments.csv")]
    first = cache.load(files)
    assert cache.load([(n, bytes(b)) for n, b in files]) is first, "same bytes: the same object, not a copy"
    calls = count_hashes(monkeypatch)
    key = cache.content_key(first.assessments)
    assert key.startswith("result:load:") and cache.content_key(first.treatments) != key
    assert calls == [], "the frames of a shared result are keyed by the call that made it"


def test_a_changed_upload_gives_a_new_load_and_new_results():
    from analysis import cohorts
    from ui import cache

    data = (SAMPLE / "assessments.csv").read_bytes()
    before = cache.load([("assessments.csv", data)])
    after = cache.load([("assessments.csv", without_last_patient(data).encode())])
    assert after is not before and len(after.assessments) < len(before.assessments)
    assert cache.content_key(after.assessments) != cache.content_key(before.assessments)
    sel_before = cache.shared(cohorts.select, before.assessments, before.treatments)
    sel_after = cache.shared(cohorts.select, after.assessments, after.treatments)
    assert sel_after is not sel_before and sel_after.patients == sel_before.patients - 1
    assert cache.content_key(sel_after.assessments) != cache.content_key(sel_before.assessments)


def test_a_changed_upload_changes_every_page_s_numbers_in_the_app():
    data = (SAMPLE / "assessments.csv").read_bytes()
    site_key = lambda: next(m for m in at.multiselect if m.label == "Site").key  # noqa: E731
    at = upload(app(), ("assessments.csv", data))
    first, first_key = at.session_state["_data"], site_key()
    upload(at, ("assessments.csv", without_last_patient(data).encode()))
    second = at.session_state["_data"]
    assert not at.exception and second.patients == first.patients - 1
    assert second.assessments is not first.assessments and len(second.assessments) < len(first.assessments)
    assert site_key() != first_key, "new data, new filter widgets (their options may change)"


def test_a_shared_result_passed_on_is_keyed_by_the_call_that_made_it_and_never_hashed(monkeypatch):
    import pandas as pd

    from ui import cache

    def work(frame, n=1):
        return frame.assign(twice=frame["score"] * 2 * n)

    def other(frame, n=1):
        return frame.assign(twice=frame["score"] * 2 * n)

    frame = pd.DataFrame({"score": [1, 2, 3]})
    cache.content_key(frame)
    calls = count_hashes(monkeypatch)
    one, two, three = cache.shared(work, frame, n=1), cache.shared(work, frame, n=2), cache.shared(other, frame, n=1)
    keys = [cache.content_key(r) for r in (one, two, three)]
    assert calls == [] and len(set(keys)) == 3, "a new argument or another function: another key"
    assert cache.content_key(one.copy()) != keys[0] and len(calls) == 1, "a copy of a result is a new object: hashed"
    assert cache.content_key(cache.shared(work, frame.copy(), n=1)) == keys[0], (
        "same content of the arguments, same key"
    )


def test_guard_shared_returns_one_object_and_shows_a_data_error_as_a_warning():
    def script():
        import pandas as pd
        import streamlit as st

        from analysis.errors import DataError
        from ui import cache

        def pick(frame, fail=False):
            if fail:
                raise DataError("these data cannot answer")
            return frame.head(2)

        frame = pd.DataFrame({"score": [1, 2, 3]})
        same = cache.guard_shared(pick, frame) is cache.guard_shared(pick, frame.copy())
        st.write(f"same object: {same}")
        cache.guard_shared(pick, frame, fail=True)
        st.write("not reached")

    at = AppTest.from_function(script, default_timeout=60).run()
    assert not at.exception
    assert [m.value for m in at.markdown] == ["same object: True"]
    assert texts(at, "warning") == ["these data cannot answer"]


def test_a_chart_is_built_once_per_content_of_its_arguments():
    import pandas as pd

    from analysis import charts
    from ui import show

    built = []

    def monthly(by_month, threshold):
        built.append(threshold)
        return charts.monthly_chart(by_month, threshold)

    by_month = pd.DataFrame(
        {"start_month": ["2025-01", "2025-02"], "patients_started": [20, 30], "infusions": [120, 170]}
    )
    show.plot(monthly, by_month, 11)
    show.plot(monthly, by_month.copy(), 11)
    assert built == [11]
    show.plot(monthly, by_month, 5)
    show.plot(monthly, by_month.assign(patients_started=[20, 31]), 11)
    assert built == [11, 5, 11]


def test_the_durability_headline_is_the_ungrouped_analysis_of_the_same_data():
    from analysis import durability
    from analysis.outcomes import Definitions
    from ui import cache, durability_view

    loaded = cache.load([(p.name, p.read_bytes()) for p in (SAMPLE / "assessments.csv", SAMPLE / "treatments.csv")])
    a, t, defs = loaded.assessments, loaded.treatments, Definitions()
    res, overall = durability_view.durability_results(a, t, "PHQ9", "condition", defs)
    alone = durability.analyse(a, t, "PHQ9", by=None, definitions=defs)
    assert res.by == "condition" and overall.by is None
    assert overall.groups_shown().equals(alone.groups_shown()) and overall.notes == alone.notes
    assert durability_view.durability_results(a, t, "PHQ9", None, defs)[1].groups.equals(alone.groups)
