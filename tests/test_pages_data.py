"""The Data page's fixes, run with Streamlit's AppTest: an issue's structured fix phrased in the page's terms with
a button that applies it, and the column mapping offering every override target (the date formats among them)."""

import dataclasses
import json
from pathlib import Path

import pandas as pd
from streamlit.testing.v1 import AppTest

from analysis import ingest, schema
from ui import data_view

FIX = {"column": "Visit Date", "targets": ["date_dmy", "date_mdy"]}


def refused_script():
    """The Data page's refusal and mapping editor on a Loaded refused for ambiguous dates, whose issue
    carries a fix (as analysis.ingest writes it)."""
    import pandas as pd

    from analysis import schema
    from analysis.ingest import Loaded
    from ui import data_view

    issues = pd.DataFrame(
        [
            {
                "severity": "error",
                "code": "AMBIGUOUS_DATES",
                "column": "Visit Date",
                "rows": [],
                "message": "amb.csv: Column 'Visit Date' has dates such as '03/04/2025' that read both ways.",
                "fix": {"column": "Visit Date", "targets": ["date_dmy", "date_mdy"]},
            }
        ],
        columns=list(dict.fromkeys([*schema.ISSUE_COLUMNS, "fix"])),  # (analysis.schema may list fix already)
    )
    mapping = pd.DataFrame(
        {
            "file": ["amb.csv"] * 2,
            "source": ["Patient ID", "Visit Date"],
            "target": ["patient_id", "date"],
            "how": ["synonym", "synonym"],
        }
    )
    a = pd.DataFrame(columns=list(schema.ASSESSMENT_COLUMNS))
    loaded = Loaded(a, None, issues, mapping, 5, ("amb.csv",), False)
    data_view.refusal(loaded)
    data_view.mapping_editor(loaded)
    data_view.issues_table(loaded)


def test_a_fix_is_phrased_in_the_page_s_terms_and_its_button_sets_the_mapping():
    at = AppTest.from_function(refused_script, default_timeout=60).run()
    assert not at.exception
    error = " ".join(str(e.value) for e in at.error)
    assert "In the column mapping below, set 'Visit Date' to 'date (day/month/year)'" in error
    assert "(or 'date (month/day/year)')" in error and "--map" not in error
    button = next(b for b in at.button if b.label.startswith("Set 'Visit Date'"))
    assert button.label == "Set 'Visit Date' to 'date (day/month/year)'"
    button.click().run()
    assert at.session_state["overrides"] == {"Visit Date": "date_dmy"}
    shown = next(d.value for d in at.dataframe if "code" in d.value.columns)
    assert list(shown["fix"]) == [
        "In the column mapping above, set 'Visit Date' to 'date (day/month/year)' (or 'date (month/day/year)')."
    ]


def test_the_mapping_offers_every_override_target_with_the_date_formats_named_in_words():
    at = AppTest.from_function(refused_script, default_timeout=60).run()
    editor = next(d for d in at.dataframe if "target" in d.value.columns)
    options = json.loads(editor.proto.columns)["target"]["type_config"]["options"]
    values = {o["value"]: o["label"] for o in options}
    assert set(ingest.OVERRIDE_TARGETS) <= set(values)
    assert values["date_dmy"] == "date (day/month/year)" and values["date_mdy"] == "date (month/day/year)"
    assert values[schema.PATIENT_ID] == schema.PATIENT_ID


def test_issues_without_a_fix_column_show_no_fix():
    loaded = ingest.load_files([("a.csv", b"patient_id,instrument,score,day\nP1,PHQ9,20,0\nP1,PHQ9,8,21\n")])
    bare = loaded.issues.drop(columns=[c for c in loaded.issues.columns if c == "fix"])
    assert data_view.fixes(dataclasses.replace(loaded, issues=bare)) == []
    assert data_view.fix_text(None) == "" and data_view.fix_text(float("nan")) == ""
    assert (
        data_view.fix_text({"column": "Day", "targets": ["day"]}) == "In the column mapping below, set 'Day' to 'day'."
    )


ROOT = Path(__file__).resolve().parents[1]
#: one date column whose dates read both day-first and month-first (03/04/2025, 04/03/2025): refused, never guessed
AMBIGUOUS = (
    "Patient ID,Measure,Total Score,Visit Date\n"
    + "".join(
        f"P{i},PHQ-9,{20 - i % 3},03/04/2025\nP{i},PHQ-9,{9 + i % 4},04/03/2025\nP{i},PHQ-9,{7 + i % 5},04/05/2025\n"
        for i in range(1, 31)
    )
).encode()


def texts(at, kind) -> list[str]:
    return [str(e.value) for e in getattr(at, kind)]


def test_an_upload_with_ambiguous_dates_is_refused_and_choosing_day_month_year_makes_it_usable():
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120).run()
    at.file_uploader(key="upload").set_value([("clinic.csv", AMBIGUOUS, "text/csv")]).run()
    at.switch_page("pages/data.py").run()
    assert not at.exception and at.session_state["_data"] is None, "refused"
    refusal = " ".join(texts(at, "error"))
    assert "These files were not used" in refusal and "--map" not in refusal
    assert "In the column mapping below, set 'Visit Date' to 'date (day/month/year)'" in refusal
    editor = next(d for d in at.dataframe if "target" in d.value.columns)
    assert "Visit Date" in set(editor.value["source"]), "the mapping of a refused file is shown"
    options = {o["value"]: o["label"] for o in json.loads(editor.proto.columns)["target"]["type_config"]["options"]}
    assert options["date_dmy"] == "date (day/month/year)" and {"date_mdy", "date_ymd"} <= set(options)

    next(b for b in at.button if b.label == "Set 'Visit Date' to 'date (day/month/year)'").click().run()
    assert not at.exception and not at.error
    assert any("usable" in s for s in texts(at, "success"))
    assert at.session_state["_data"] is not None and at.session_state["overrides"] == {"Visit Date": "date_dmy"}
    mapping = next(d.value for d in at.dataframe if "target" in d.value.columns).set_index("source")
    assert mapping.loc["Visit Date", "target"] == "date_dmy"


def test_an_issues_table_with_fixes_has_a_content_key_that_changes_with_a_fix():
    from ui import cache

    issues = pd.DataFrame({"code": ["AMBIGUOUS_DATES"], "fix": [dict(FIX)]})
    other = issues.assign(fix=[{"column": "Visit Date", "targets": ["date_mdy"]}])
    assert cache.content_key(issues) == cache.content_key(issues.copy())
    assert cache.content_key(other) != cache.content_key(issues)


SCORES_CSV = (
    b"Patient ID,Measure,Total Score,Date\nA1,PHQ-9,20,2024-01-02\nA1,PHQ-9,8,2024-01-20\n"
    b"B2,PHQ-9,18,2024-01-03\nB2,PHQ-9,6,2024-01-22\n"
)
VISITS_CSV = (
    b"Patient ID,Date,Service\nA1,2024-01-02,Ketamine IV Infusion - Induction #1\n"
    b"A1,2024-01-04,Ketamine IV Infusion - Induction #2\nB2,2024-01-03,Spravato 84mg\n"
)


def test_the_data_page_says_each_files_role_and_why_and_the_user_can_change_it():
    root = Path(__file__).resolve().parents[1]
    at = AppTest.from_file(str(root / "dashboard.py"), default_timeout=120).run()
    at.file_uploader(key="upload").set_value(
        [("scores.csv", SCORES_CSV, "text/csv"), ("visits.csv", VISITS_CSV, "text/csv")]
    ).run()
    at.switch_page("pages/data.py").run()
    assert not at.exception
    captions = [str(c.value) for c in at.caption]
    assert "Read as treatments: sessions in 'Service' (by its values); dated sessions per patient." in captions
    assert any(c.startswith("Read as assessments: instrument in 'Measure'") for c in captions)
    visits = next(s for s in at.selectbox if s.label == "visits.csv")
    assert visits.value == data_view.ROLE_AUTO and "treatments" in visits.options
    visits.set_value("assessments").run()
    next(b for b in at.button if b.label == "Use these roles").click().run()
    assert not at.exception
    assert "Read as assessments: chosen by hand." in [str(c.value) for c in at.caption]
    assert "visits.csv: The columns the analysis needs were not found" in " ".join(str(e.value) for e in at.error)
    next(s for s in at.selectbox if s.label == "visits.csv").set_value(data_view.ROLE_AUTO).run()
    next(b for b in at.button if b.label == "Use these roles").click().run()
    assert not at.error and at.session_state["_data"] is not None
    assert "Read as treatments: sessions in 'Service' (by its values); dated sessions per patient." in [
        str(c.value) for c in at.caption
    ]
