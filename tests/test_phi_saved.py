"""No raw value of a refused or flagged cell is kept anywhere (issue 15, item 1): not in an issue's message, column
or fix, not in the column mapping, not in the text or JSON report, and not in the saved data set (analysis.store
saves the mapping and the validation report beside the rows). Run on every file of the attack corpus
(tests/data/attacks: phi, values, markup) and of the bad-input corpus, through load_files and through the store.
"""

import csv
import dataclasses
import io
import json
import re
from pathlib import Path

import duckdb
import pytest

from analysis.errors import DataError
from analysis.ingest import load_files
from analysis.store import DB_FILE, Store

DATA = Path(__file__).resolve().parent / "data"
CORPUS = sorted(
    [*(DATA / "attacks").glob("*/*.csv"), *(DATA / "bad").glob("*.csv"), *(DATA / "bad").glob("*.tsv")],
    key=lambda p: (p.parent.name, p.name),
)


def lines(path: Path) -> dict[int, list[str]] | None:
    """{line number: cells} of a UTF-8 CSV or TSV (None when it is not one)."""
    try:
        raw = path.read_bytes().decode("utf-8-sig")
        reader = csv.reader(io.StringIO(raw), delimiter="\t" if path.suffix == ".tsv" else ",")
        out = {}
        for row in reader:
            out[reader.line_num] = row
        return out
    except (UnicodeDecodeError, csv.Error):
        return None


def flagged(path: Path, loaded) -> set[str]:
    """The raw values of the cells an issue of the import refused or flagged: the cells of its rows in its column
    (every cell of a column refused for its name). A bare number of up to two digits is left out (row numbers
    and counts are made of those)."""
    rows = lines(path)
    sources = set(loaded.mapping["source"].astype(str)) if len(loaded.mapping) else set()
    header_at = next((n for n, r in (rows or {}).items() if sources and sources & {c.strip() for c in r}), None)
    if header_at is None:
        return set()
    header = [c.strip() for c in rows[header_at]]
    out = set()
    for issue in loaded.issues.to_dict("records"):
        named = str(issue.get("column") or "")
        columns = [i for i, h in enumerate(header) if h and (h == named or h in named.split(", "))]
        at = list(issue.get("rows") or []) or (
            [n for n in rows if n > header_at] if str(issue["code"]) == "PHI_COLUMNS" else []
        )
        for n in at:
            for i in columns:
                v = rows.get(int(n), [])[i].strip() if i < len(rows.get(int(n), [])) else ""
                if v and not (v.isdigit() and len(v) <= 2):
                    out.add(v)
    return out


def kept(loaded) -> set[str]:
    """Every value of the canonical tables, as text: what a saved data set holds by design (a site kept for a
    patient whose other rows named another is flagged there and kept here)."""
    tables = [t for t in (loaded.assessments, loaded.treatments) if t is not None]
    return {str(v) for t in tables for c in t.columns for v in t[c].dropna().unique()}


def quoted(values: set[str], text: str) -> set[str]:
    """The values that stand in ``text`` as themselves (not inside a longer word or number)."""
    return {v for v in values if re.search(rf"(?<![\w.]){re.escape(v)}(?![\w.])", text)}


def report_text(loaded) -> str:
    """The issues (message, column, fix...), the column mapping, the text and the JSON report of an import."""
    tables = [loaded.issues.drop(columns=["rows"], errors="ignore"), loaded.mapping]
    cells = [str(v) for t in tables for v in t.to_numpy().ravel()]
    return "\n".join([*cells, loaded.to_text(), json.dumps(loaded.to_json(), ensure_ascii=False)])


def store_text(folder: Path) -> str:
    """Every value of every table of the store's database file, as text."""
    con = duckdb.connect(str(folder / DB_FILE), read_only=True)
    try:
        out = []
        for (table,) in con.execute("SELECT table_name FROM information_schema.tables").fetchall():
            for row in con.execute(f'SELECT * FROM "{table}"').fetchall():
                out += [str(v) for v in row]
        return "\n".join(out)
    finally:
        con.close()


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_no_report_of_an_import_quotes_a_value_it_left_out(path):
    loaded = load_files(str(path))
    said = quoted(flagged(path, loaded), report_text(loaded))
    assert not said, said


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_a_saved_data_set_keeps_no_value_the_import_left_out(path, tmp_path):
    loaded = load_files(str(path))
    with Store(tmp_path) as store:
        try:
            info = store.save("attack", loaded)
        except DataError:
            assert not loaded.ok or loaded.assessments.empty, "only a refused or empty upload is not saved"
            assert store.list().empty
            info = None
        if info is not None:
            assert info.issues == json.loads(json.dumps(info.issues)), "the report is saved"
            assert {i["code"] for i in info.issues} == set(loaded.issues["code"])
    stored = quoted(flagged(path, loaded) - kept(loaded), store_text(tmp_path))
    assert not stored, stored


def test_the_check_finds_the_flagged_cells_and_a_value_quoted():
    """The checks above look at something: the corpus has refused and flagged cells, and a value quoted in a
    message (as before the fix) or kept in a table is found."""
    assert len(CORPUS) >= 60
    path = DATA / "attacks" / "values" / "joined_numbers.csv"
    loaded = load_files(str(path))
    assert {"1 9", "2_2"} <= flagged(path, loaded)
    assert quoted({"2_2", "1 9"}, "score '2_2' is not a number; 21 4") == {"2_2"}
    email = DATA / "attacks" / "phi" / "values_email.csv"
    assert "send to zoë.müller@praxis-köln.de" in flagged(email, load_files(str(email)))
    columns = DATA / "attacks" / "phi" / "columns_shorthand.csv"
    refused = flagged(columns, load_files(str(columns)))
    assert len(refused) >= 5, "every cell of a column refused for its name"
    assert sum(bool(flagged(p, load_files(str(p)))) for p in CORPUS) >= 25


#: what the messages corpus writes in cells that are flagged or left out (names, a date of birth, free text)
MESSAGE_ATTACKS = ("john doe", "nurse jane", "dr who", "mike smith", "1957-03-02", "itchy nose", "6/20", "412")


def test_free_text_in_flagged_monitoring_age_and_score_cells_is_never_quoted(tmp_path):
    files = sorted((DATA / "attacks" / "messages").glob("*.csv"))
    loaded = load_files([str(p) for p in files])
    assert loaded.ok
    codes = set(loaded.issues["code"])
    assert {"ADVERSE_EVENT_OTHER", "BAD_BLOOD_PRESSURE", "BAD_MONITORING_VALUE", "MONITORING_OUT_OF_RANGE"} <= codes
    assert {"UNKNOWN_AGE_BAND", "SCORE_MAXIMUM_MISMATCH"} <= codes
    assert all(len(r) for r in loaded.issues.loc[loaded.issues["code"] != "SCORE_OUT_OF", "rows"])
    with Store(tmp_path) as store:  # (the scores, with the whole report: the treatments' issues too)
        store.save("messages", dataclasses.replace(loaded, treatments=None))
    for where in (report_text(loaded), store_text(tmp_path)):
        said = [w for w in MESSAGE_ATTACKS if w in where.casefold()]
        assert not said, said
