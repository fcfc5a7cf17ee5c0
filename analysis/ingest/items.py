"""Item-level scales: a PHQ-9 or GAD-7 given item by item, as item columns ('PHQ9_1' ... 'PHQ9_9', or the
questions' text as column names) or as item rows (a question column and an answer column, one row per item),
summed to the total; PHQ-9 item 9 (thoughts of self-harm, 0-3) kept as ``phq9_item9`` on the assessment row.

Answers are 0-3, as numbers or as the form's words ('Not at all' 0, 'Several days' 1, 'More than half the days'
2, 'Nearly every day' 3; '2 - More than half the days' too). Missing items are reported; a total is prorated
only where the scale's scoring rules allow it (``SCALES``: the rule and its source), otherwise left unscored.

The item table is turned into the long form the rest of the import reads (a table with an instrument and a score
column, named ``INSTRUMENT_COLUMN`` and ``SCORE_COLUMN``, and ``ITEM9_COLUMN``), keeping each assessment's
first spreadsheet row, so that every check after this module is the same as for a file of totals.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from analysis import schema as S
from analysis.ingest import columns as C
from analysis.ingest.read import TextTable
from analysis.ingest.values import number
from analysis.phi import header_key
from analysis.validate import IssueLog, rows_text

INSTRUMENT_COLUMN, SCORE_COLUMN, ITEM9_COLUMN = "instrument (from items)", "total (from items)", "PHQ-9 item 9"


@dataclass(frozen=True)
class Scale:
    """An item-level scale: its items' questions (key phrases, compared on header_key), answers 0..top, and how
    many missing items its scoring rules allow a prorated total for (0: none)."""

    code: str
    questions: tuple[str, ...]  # a regular expression per item, on header_key of the question
    top: int
    max_missing: int
    rule: str  # the scoring rule for missing items, in words, with its source


SCALES = {
    "PHQ9": Scale(
        "PHQ9",
        (
            r"interest or pleasure",
            r"down depressed|hopeless",
            r"(falling|staying) asleep|sleeping too much",
            r"tired|little energy",
            r"poor appetite|overeating",
            r"bad about yourself|(you are|youre) a failure",
            r"trouble concentrating",
            r"moving or speaking|fidgety",
            r"better off dead|hurting yourself",
        ),
        3,
        2,
        "the PHQ and GAD-7 instruction manual (Kroenke, Spitzer, Williams; Pfizer, phqscreeners.com, 'Coding and "
        "scoring'): with 1 or 2 of the 9 items missing the total is the mean of the answered items times 9 "
        "(rounded to a whole number); with more missing the PHQ-9 is not scored",
    ),
    "GAD7": Scale(
        "GAD7",
        (
            r"nervous|on edge",
            r"stop or control worrying",
            r"worrying too much",
            r"trouble relaxing",
            r"so restless|hard to sit still",
            r"annoyed|irritable",
            r"afraid|something awful",
        ),
        3,
        0,
        "no prorating rule for missing GAD-7 items is given by its authors' scoring instructions (Spitzer et al. "
        "2006; the PHQ and GAD-7 instruction manual): a GAD-7 with a missing item is not scored",
    ),
}
ANSWERS = {"not at all": 0, "never": 0, "several days": 1, "more than half the days": 2, "nearly every day": 3}
_NUMBERED = re.compile(r"^(phq9|gad7) (?:q|item|question|qn|no|nr)? ?0?(\d{1,2})(?: .*)?$")


def _scale_key(text: str) -> str:
    key = header_key(text)
    return re.sub(r"\b(phq|gad) (9|7)\b", r"\1\2", key).replace("#", " ")


def item_of(text) -> tuple[str, int] | None:
    """(scale code, item number 1..n) of an item's name: by number ('PHQ9_1', 'PHQ-9 Q9', 'GAD-7 item 3') or by
    its question ('Little interest or pleasure in doing things' -> PHQ9 item 1); None for anything else."""
    if text is None:
        return None
    key = _scale_key(str(text))
    m = _NUMBERED.match(key)
    if m:
        code = "PHQ9" if m.group(1) == "phq9" else "GAD7"
        k = int(m.group(2))
        return (code, k) if 1 <= k <= len(SCALES[code].questions) else None
    if "total" in key.split() or len(key) < 8:
        return None
    for scale in SCALES.values():  # (PHQ-9 first: its 'fidgety or restless' is not the GAD-7's 'so restless')
        for k, question in enumerate(scale.questions, start=1):
            if re.search(question, key):
                return scale.code, k
    return None


def answer(v, top: int = 3) -> tuple[float, bool]:
    """(answer, readable) of an item's answer: a whole number 0..top, the form's words, or '2 - More than half the
    days'; blank -> (nan, True); anything else (nan, False)."""
    if v is None or not str(v).strip():
        return np.nan, True
    text = " ".join(str(v).lower().replace("-", " ").split())
    x, reason = number(str(v))
    if reason == 0:
        return (x, True) if x == int(x) and 0 <= x <= top else (np.nan, False)
    m = re.match(r"^(\d)\b\s*(.*)$", text)
    if m and int(m.group(1)) <= top and (not m.group(2) or m.group(2).strip(" :=()") in ANSWERS):
        return float(m.group(1)), True
    words = re.sub(r"[^a-z ]", "", text).strip()
    return (float(ANSWERS[words]), True) if words in ANSWERS else (np.nan, False)


@dataclass
class Items:
    """The item columns (``columns``: source -> (code, item)) or the item rows (``question``/``answer``
    columns) of a file."""

    columns: dict[str, tuple[str, int]]
    question: str | None = None
    answer: str | None = None

    @property
    def codes(self) -> list[str]:
        return [c for c in SCALES if c in {c for c, _ in self.columns.values()}]


def find(raw: TextTable, cols: C.Columns) -> Items | None:
    """The file's items: unused columns named after items (at least half of a scale's), or a column whose values
    are item names beside an answers column; None when there are none."""
    unused = [r["source"] for r in cols.rows if r["how"] == "unused"]
    named = {n: item_of(n) for n in unused}
    named = {n: it for n, it in named.items() if it is not None}
    for code, scale in SCALES.items():
        mine = {n for n, it in named.items() if it[0] == code}
        if 0 < len(mine) < (len(scale.questions) + 1) // 2:
            for n in mine:
                named.pop(n)
    if named:
        return Items(named)
    if S.INSTRUMENT in cols.target and S.SCORE in cols.target:
        candidates = [cols.target[S.INSTRUMENT]] + unused
    else:
        candidates = unused
    for name in candidates:
        if _row_share(raw, name, lambda v: item_of(v) is not None) >= 0.9:
            answer_column = cols.target.get(S.SCORE) or next(
                (n for n in unused if n != name and _row_share(raw, n, lambda v: not np.isnan(answer(v)[0])) >= 0.9),
                None,
            )
            if answer_column is not None:
                return Items({}, name, answer_column)
    return None


def _row_share(raw: TextTable, name: str, accept) -> float:
    """The share of a column's filled rows whose value ``accept`` takes (decided once per distinct value)."""
    codes, values = raw.distinct(name)
    filled = np.array([v is not None and bool(str(v).strip()) for v in values] + [False])[codes]
    ok = np.array([v is not None and bool(str(v).strip()) and accept(v) for v in values] + [False])[codes]
    return ok.sum() / filled.sum() if filled.any() else 0.0


def _mapped(cols: C.Columns, names: list[str], items: Items) -> C.Columns:
    """The mapping after the items were summed: item columns (or the question and answer columns) 'items', the
    new instrument and score columns mapped."""
    target = {k: v for k, v in cols.target.items() if k not in (S.INSTRUMENT, S.SCORE)}
    target.update({S.INSTRUMENT: INSTRUMENT_COLUMN, S.SCORE: SCORE_COLUMN, S.PHQ9_ITEM9: ITEM9_COLUMN})
    rows = []
    for r in cols.rows:
        if r["source"] in items.columns:
            code, k = items.columns[r["source"]]
            r = {**r, "target": f"{code} item {k}", "how": "item"}
        elif r["source"] in (items.question, items.answer):
            r = {**r, "target": "item" if r["source"] == items.question else "item answer", "how": "item"}
        elif r["target"] in (S.INSTRUMENT, S.SCORE) or r["source"] in _wide_totals(cols, items):
            r = {**r, "target": "", "how": "unused (items summed instead)"}
        rows.append(r)
    return C.Columns(target, [w for w in cols.wide if w[1] not in items.codes], rows, cols.twice)


def summed(raw: TextTable, cols: C.Columns, items: Items, log: IssueLog, file: str) -> tuple[TextTable, C.Columns]:
    """The file with its items summed: one row per assessment (each patient row and scale, or each group of item
    rows of one patient, day or date and scale), an instrument, a total and the PHQ-9's item 9."""
    keep = [
        n
        for n in raw.table.column_names
        if n not in items.columns and n not in (items.question, items.answer) and n not in _wide_totals(cols, items)
    ]
    if items.columns:
        per_scale = {
            code: {k: n for n, (c, k) in items.columns.items() if c == code} for code in items.codes
        }  # code -> {item: column}
        answers = {n: _answers(raw, n) for n in items.columns}
        parts = []
        for code, by_item in per_scale.items():
            matrix = np.column_stack(
                [
                    answers[by_item[k]][0] if k in by_item else np.full(raw.table.num_rows, np.nan)
                    for k in range(1, len(SCALES[code].questions) + 1)
                ]
            )
            unreadable = np.column_stack([answers[n][1] for n in by_item.values()]).any(axis=1)
            parts.append((code, np.arange(raw.table.num_rows), matrix, unreadable))
        base = raw.table.select(keep)
        rows = raw.rows
    else:
        base, rows, parts = _item_rows(raw, cols, items, keep)
    tables, all_rows = [], []
    for code, index, matrix, unreadable in parts:
        total, item9 = _score(code, matrix, unreadable, rows[index], log, file)
        scored = ~np.isnan(total)  # (forms not scored are reported by _score)
        index, total, item9 = index[scored], total[scored], item9[scored]
        t = base.take(pa.array(index))
        t = t.append_column(INSTRUMENT_COLUMN, pa.array([code] * len(index), pa.string()))
        t = t.append_column(SCORE_COLUMN, pa.array([None if np.isnan(x) else f"{x:g}" for x in total], pa.string()))
        t = t.append_column(ITEM9_COLUMN, pa.array([None if np.isnan(x) else f"{x:g}" for x in item9], pa.string()))
        tables.append(t)
        all_rows.append(rows[index])
    table = pa.concat_tables(tables) if tables else base.slice(0, 0)
    rows_out = np.concatenate(all_rows).astype(np.int32) if all_rows else np.array([], dtype=np.int32)
    order = np.argsort(rows_out, kind="stable")  # (the file's order; a row's scales in SCALES order)
    out = TextTable(table.take(pa.array(order)), rows_out[order], raw.encoding, raw.delimiter, raw.ragged)
    codes = [code for code, *_ in parts]
    log.add(
        "info",
        "ITEMS_SUMMED",
        f"{file}: the {' and '.join(codes)} items were summed to their totals"
        f"{' (PHQ-9 item 9 kept as phq9_item9)' if 'PHQ9' in codes else ''}.",
    )
    return out, _mapped(cols, keep, items)


def _wide_totals(cols: C.Columns, items: Items) -> list[str]:
    """Total columns of the scales given item by item ('PHQ-9 Total' beside 'PHQ9_1'...): the items are summed
    instead (a total column holding another scale stays)."""
    return [src for src, code, day, _ in cols.wide if code in items.codes and day is None]


def _answers(raw: TextTable, name: str) -> tuple[np.ndarray, np.ndarray]:
    """(answer per row, unreadable per row) of an item column, once per distinct value."""
    codes, values = raw.distinct(name)
    parsed = [answer(v) for v in values] + [(np.nan, True)]
    return np.array([p[0] for p in parsed])[codes], ~np.array([p[1] for p in parsed])[codes]


def _item_rows(raw: TextTable, cols: C.Columns, items: Items, keep: list[str]):
    """Item rows grouped into assessments: (base table of the first row of each group, its spreadsheet rows, one
    (code, group index, item matrix, unreadable) per scale). A group is one patient, day or date, and scale."""
    qcodes, qvalues = raw.distinct(items.question)
    which = [item_of(v) for v in qvalues] + [None]
    answers, unreadable = _answers(raw, items.answer)
    keys = [c for c in (S.PATIENT_ID, S.DAY, *C.DATE_TARGETS) if c in cols.target]
    key_columns = [raw.distinct(cols.target[k])[0].astype(np.int64) for k in keys]
    parts, firsts = [], []
    n_groups = 0
    for code, scale in SCALES.items():
        at = np.array([w is not None and w[0] == code for w in which])[qcodes]
        if not at.any():
            continue
        idx = np.flatnonzero(at)
        key = np.column_stack([k[idx] for k in key_columns]) if key_columns else np.zeros((len(idx), 1), np.int64)
        _, first, inverse = np.unique(key, axis=0, return_index=True, return_inverse=True)
        inverse = inverse.ravel()
        matrix = np.full((len(first), len(scale.questions)), np.nan)
        bad = np.zeros(len(first), dtype=bool)
        item_no = np.array([w[1] if w is not None else 0 for w in which])[qcodes[idx]]
        matrix[inverse, item_no - 1] = answers[idx]
        np.logical_or.at(bad, inverse, unreadable[idx])
        rows_first = idx[first]
        order = np.argsort(rows_first, kind="stable")
        firsts.append(rows_first[order])
        parts.append((code, np.arange(n_groups, n_groups + len(first)), matrix[order], bad[order]))
        n_groups += len(first)
    first_rows = np.concatenate(firsts) if firsts else np.array([], dtype=np.int64)
    base = raw.table.select(keep).take(pa.array(first_rows))
    return base, raw.rows[first_rows], parts


def _score(code: str, matrix: np.ndarray, unreadable: np.ndarray, rows: np.ndarray, log: IssueLog, file: str):
    """(total, item 9) per assessment: the sum of the items; with missing items, prorated where the scale's rules
    allow it (reported), otherwise not scored (reported); unreadable answers are missing answers, reported."""
    scale = SCALES[code]
    n = matrix.shape[1]
    missing = np.isnan(matrix).sum(axis=1)
    answered = (missing < n) | unreadable  # (a form whose every answer is unreadable was given too)
    total = np.where(missing == 0, np.nansum(matrix, axis=1), np.nan)
    prorate = answered & (missing > 0) & (missing <= scale.max_missing)
    if prorate.any():
        mean = np.nanmean(np.where(prorate[:, None], matrix, 0.0), axis=1)
        total = np.where(prorate, np.floor(mean * n + 0.5), total)
        log.add(
            "info",
            "ITEMS_PRORATED",
            f"{file}: {int(prorate.sum())} {code} total(s) had {scale.max_missing} or fewer items missing and were "
            f"prorated, as {scale.rule} ({rows_text(rows[prorate])}).",
            None,
            rows[prorate].tolist(),
        )
    unscored = answered & (missing > scale.max_missing)
    if unscored.any():
        log.add(
            "warning",
            "ITEMS_MISSING",
            f"{file}: {int(unscored.sum())} {code} form(s) have items missing and were not scored ({scale.rule}); "
            f"complete the items in the EHR or export the total ({rows_text(rows[unscored])}).",
            None,
            rows[unscored].tolist(),
        )
    bad = unreadable & answered
    if bad.any():
        log.add(
            "warning",
            "BAD_ITEM_ANSWER",
            f"{file}: {int(bad.sum())} {code} form(s) have an answer that is not 0-{scale.top} or the form's words "
            f"(Not at all, Several days, More than half the days, Nearly every day); it was read as missing "
            f"({rows_text(rows[bad])}).",
            None,
            rows[bad].tolist(),
        )
    item9 = matrix[:, 8] if code == "PHQ9" else np.full(len(matrix), np.nan)
    return total, item9


def why(items: Items) -> str:
    """Why a file of items holds assessments, in words."""
    if items.columns:
        names = list(items.columns)
        more = f" and {len(names) - 2} more" if len(names) > 2 else ""
        return f"item columns of {' and '.join(items.codes)} ('{names[0]}', '{names[1]}'{more}), summed to totals"
    return f"item rows: questions in '{items.question}', answers in '{items.answer}', summed to totals"
