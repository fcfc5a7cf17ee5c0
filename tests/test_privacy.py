import io

import openpyxl
import pandas as pd

from analysis import privacy


def test_small_counts_become_less_than_threshold_and_their_rates_are_withheld():
    t = pd.DataFrame({"group": ["a", "b", "c"], "n": [50, 7, 0], "responders": [5, 7, 0], "rate": [0.1, 1.0, None]})
    out = privacy.suppress_table(t, counts=["n", "responders"], derived=["rate"])
    assert out["n"].tolist() == [50, "<11", 0]
    assert out["responders"].tolist() == ["<11", "<11", 0]
    assert out["rate"].tolist()[:2] == [None, None]
    assert t["n"].tolist() == [50, 7, 0]  # input untouched


def test_threshold_is_a_setting():
    t = pd.DataFrame({"n": [4, 5]})
    assert privacy.suppress_table(t, ["n"], threshold=5)["n"].tolist() == ["<5", 5]


def test_ten_is_small_eleven_is_not_and_zero_is_shown():
    assert privacy.is_small(10) and not privacy.is_small(11) and not privacy.is_small(0)
    assert privacy.show_count(3) == "<11" and privacy.show_count(12) == 12


def test_formula_like_cells_are_neutralised_in_csv():
    t = pd.DataFrame(
        {"patient_id": ['=HYPERLINK("x")', "+1", "-2", "@SUM(A1)", "\tx", "ok"], "score": [1, 2, 3, 4, 5, -6]}
    )
    text = privacy.to_csv_bytes(t).decode("utf-8-sig")
    back = pd.read_csv(io.StringIO(text))
    assert back["patient_id"].tolist() == ['\'=HYPERLINK("x")', "'+1", "'-2", "'@SUM(A1)", "'\tx", "ok"]
    assert back["score"].tolist()[-1] == -6  # numbers stay numbers


def test_excel_export_holds_no_formulas():
    t = pd.DataFrame({"patient_id": ["=1+1", "p2"], "n": [1, 2]})
    wb = openpyxl.load_workbook(io.BytesIO(privacy.to_excel_bytes(t)))
    cells = [c.value for row in wb.active.iter_rows() for c in row]
    assert "'=1+1" in cells
    assert not any(isinstance(c, str) and c.startswith("=") for c in cells)


def test_a_count_that_reveals_a_small_complement_is_withheld_with_its_rate():
    t = pd.DataFrame({"evaluable": [30, 30, 30], "responders": [27, 15, 30], "rate": [0.9, 0.5, 1.0]})
    out = privacy.suppress_table(
        t,
        ["evaluable", "responders"],
        complements=[("responders", "evaluable")],
        shares={("rate",): ("responders", "evaluable")},
    )
    assert out["responders"].tolist() == [None, 15, 30]  # 30 - 27 = 3 non-responders would show
    assert out["rate"].tolist() == [None, 0.5, 1.0]
    assert out["evaluable"].tolist() == [30, 30, 30]


def test_shares_are_withheld_only_where_their_own_counts_are_small():
    t = pd.DataFrame(
        {"evaluable": [40], "responders": [20], "remitters": [4], "response_rate": [0.5], "remission_rate": [0.1]}
    )
    out = privacy.suppress_table(
        t,
        ["evaluable", "responders", "remitters"],
        shares={("response_rate",): ("responders", "evaluable"), ("remission_rate",): ("remitters", "evaluable")},
    )
    assert out.loc[0, "remitters"] == "<11"
    assert out.loc[0, "remission_rate"] is None
    assert out.loc[0, "response_rate"] == 0.5
