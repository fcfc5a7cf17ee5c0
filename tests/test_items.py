"""Item-level scales (analysis.ingest.items): PHQ-9 and GAD-7 given item by item, as item columns (by number or
by question text) or as item rows, summed to totals; missing items reported, prorated only where the scale's
rules allow; PHQ-9 item 9 kept as phq9_item9."""

import numpy as np
import pandas as pd
import pytest

from analysis import schema as S
from analysis.ingest import items as I
from analysis.ingest import load_files

PHQ_QUESTIONS = [
    "Little interest or pleasure in doing things",
    "Feeling down, depressed, or hopeless",
    "Trouble falling or staying asleep, or sleeping too much",
    "Feeling tired or having little energy",
    "Poor appetite or overeating",
    "Feeling bad about yourself — or that you are a failure or have let yourself or your family down",
    "Trouble concentrating on things, such as reading the newspaper or watching television",
    "Moving or speaking so slowly that other people could have noticed? Or the opposite — being so fidgety",
    "Thoughts that you would be better off dead or of hurting yourself in some way",
]
GAD_QUESTIONS = [
    "Feeling nervous, anxious or on edge",
    "Not being able to stop or control worrying",
    "Worrying too much about different things",
    "Trouble relaxing",
    "Being so restless that it is hard to sit still",
    "Becoming easily annoyed or irritable",
    "Feeling afraid as if something awful might happen",
]


def load(text, name="items.csv"):
    return load_files([(name, text.encode())])


def codes(loaded):
    return set(loaded.issues["code"])


@pytest.mark.parametrize(
    "name,item",
    [
        ("PHQ9_1", ("PHQ9", 1)),
        ("PHQ-9 Q9", ("PHQ9", 9)),
        ("phq9_item_09", ("PHQ9", 9)),
        ("GAD-7 #3", ("GAD7", 3)),
        ("GAD7 Item 8", None),
        ("PHQ-9 Total", None),
        *[(q, ("PHQ9", k)) for k, q in enumerate(PHQ_QUESTIONS, 1)],
        *[(q, ("GAD7", k)) for k, q in enumerate(GAD_QUESTIONS, 1)],
    ],
)
def test_items_are_known_by_number_and_by_their_question(name, item):
    assert I.item_of(name) == item


@pytest.mark.parametrize(
    "written,value",
    [("2", 2), ("Nearly every day", 3), ("several days", 1), ("2 - More than half the days", 2), ("0", 0)],
)
def test_answers_as_numbers_or_the_forms_words(written, value):
    assert I.answer(written) == (value, True)
    assert I.answer("4")[1] is False and I.answer("often")[1] is False and np.isnan(I.answer("")[0])


def test_item_columns_by_question_text_are_summed_item_9_kept_and_missing_items_handled_by_the_rules():
    head = "Patient ID,Date Completed," + ",".join(f'"{q}"' for q in PHQ_QUESTIONS)
    rows = [
        "P1,2025-01-02," + ",".join(["2"] * 9),  # 18
        "P1,2025-01-20," + ",".join(["1"] * 8 + ["0"]),  # 8, item 9 = 0
        "P2,2025-01-03,Nearly every day," + ",".join(["3"] * 6) + ",,",  # 2 missing: prorated 3 * 9 = 27
        "P2,2025-01-25," + ",".join(["1"] * 6 + [""] * 3),  # 3 missing: not scored
    ]
    loaded = load("\n".join([head, *rows]) + "\n")
    a = loaded.assessments
    assert loaded.ok and a[S.SCORE].tolist() == [18, 8, 27] and a[S.INSTRUMENT].unique().tolist() == ["PHQ9"]
    assert a[S.PHQ9_ITEM9].tolist()[:2] == [2, 0] and pd.isna(a[S.PHQ9_ITEM9].iloc[2])
    issues = loaded.issues.set_index("code")
    assert (
        issues.loc["ITEMS_PRORATED", "rows"] == [4] and "instruction manual" in issues.loc["ITEMS_PRORATED", "message"]
    )
    assert issues.loc["ITEMS_MISSING", "rows"] == [5]
    assert "MISSING_SCORE" not in codes(loaded)  # (reported once, as missing items)
    assert "PHQ9 item 9" in loaded.mapping["target"].tolist()
    assert loaded.roles[0]["role"] == "assessments" and "item columns of PHQ9" in loaded.roles[0]["why"]


def test_gad7_with_a_missing_item_is_not_prorated_and_both_scales_of_one_row_become_two_assessments():
    head = "Pt Key,Visit Date," + ",".join(f"PHQ9_{k}" for k in range(1, 10)) + ","
    head += ",".join(f"GAD7_{k}" for k in range(1, 8))
    rows = ["A1,2025-02-01," + ",".join(["1"] * 9) + "," + ",".join(["2"] * 7)]
    rows += ["A1,2025-02-20," + ",".join(["0"] * 9) + "," + ",".join(["1"] * 6) + ","]
    loaded = load("\n".join([head, *rows]) + "\n")
    a = loaded.assessments
    assert [(r.instrument, r.score, r.day) for r in a.itertuples()] == [
        ("PHQ9", 9, 0),
        ("GAD7", 14, 0),
        ("PHQ9", 0, 19),
    ]  # (the file's order: both scales of row 2, then row 3, whose GAD-7 is not scored)
    assert a.loc[a[S.INSTRUMENT] == "GAD7", S.PHQ9_ITEM9].isna().all()
    missing = loaded.issues[loaded.issues["code"] == "ITEMS_MISSING"]
    assert missing["rows"].tolist() == [[3]] and "GAD7" in missing["message"].iloc[0]


def test_item_rows_are_grouped_per_patient_date_and_scale():
    text = "Patient ID,Date,Question,Answer\n"
    text += "".join(f"P1,2025-01-0{d},PHQ-9 Q{k},{(k + d) % 4}\n" for d in (1, 5) for k in range(1, 10))
    text += "".join(f'P2,2025-01-02,"{q}",Several days\n' for q in GAD_QUESTIONS)
    text += "P2,2025-01-02,Feeling down depressed or hopeless,bogus\n"  # (one PHQ-9 item: 8 missing)
    loaded = load(text)
    a = loaded.assessments
    assert loaded.rows_read == 26
    assert [(r.instrument, r.score, r.day) for r in a.itertuples()] == [
        ("PHQ9", 14, 0),
        ("PHQ9", 14, 4),
        ("GAD7", 7, 0),
    ]
    assert a[S.PHQ9_ITEM9].tolist()[:2] == [2, 2]
    assert {"ITEMS_SUMMED", "ITEMS_MISSING", "BAD_ITEM_ANSWER"} <= codes(loaded)
    assert "item rows" in loaded.roles[0]["why"]
