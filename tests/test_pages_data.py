"""The Data page's fixes, run with Streamlit's AppTest: an issue's structured fix phrased in the page's terms with
a button that applies it, and the column mapping offering every override target (the date formats among them)."""

import dataclasses
import json

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
        columns=[*schema.ISSUE_COLUMNS, "fix"],
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
