"""What a value may look like: one rule per kind of value (numbers with decimal commas, scores, days and doses;
ages -> age bands; sex, route, kind of treatment, condition; free text), and the columns of patient attributes.

Each rule is a plain function of one value, run once per distinct value of a column (a column's rows only point
at its distinct values, :class:`analysis.ingest.read.TextTable`); a value no rule accepts is reported with the
rows that hold it. Numbers: decimal commas are read ('12,5'); in a whole-number column of a comma-separated file
'1,050' is 1050; a value that is not one clean number ('2 1', '2_1', '1,000' elsewhere) is not a number, never
re-read as another. Ages become age bands (over 89: "90+"); ages themselves are never kept.
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from analysis import phi
from analysis import schema as S
from analysis.config import MAX_AGE_SHOWN
from analysis.ingest.read import TextTable, is_text
from analysis.validate import IssueLog, rows_text

SEXES = {
    "f": "F",
    "female": "F",
    "woman": "F",
    "w": "F",
    "m": "M",
    "male": "M",
    "man": "M",
    "x": "X",
    "other": "X",
    "nonbinary": "X",
    "non binary": "X",
    "nb": "X",
    "intersex": "X",
    "gender diverse": "X",
}
SEX_BLANK = {"", "u", "unknown", "not reported", "declined", "prefer not to say", "na", "n a", "none"}
ROUTES = {
    "iv": "IV",
    "intravenous": "IV",
    "iv infusion": "IV",
    "infusion": "IV",
    "im": "IM",
    "intramuscular": "IM",
    "in": "intranasal",
    "intranasal": "intranasal",
    "nasal": "intranasal",
    "nasal spray": "intranasal",
    "oral": "oral",
    "po": "oral",
    "sublingual": "oral",
    "sl": "oral",
    "troche": "oral",
    "lozenge": "oral",
    "esketamine": "esketamine",
    "spravato": "esketamine",
    "esk": "esketamine",
}
KINDS = (
    ("induct", "induction"),
    ("initial", "induction"),
    ("series", "induction"),
    ("boost", "booster"),
    ("maint", "maintenance"),
)
ICD10 = (
    ("f32", "depression"),
    ("f33", "depression"),
    ("f31", "bipolar_depression"),
    ("f41", "anxiety"),
    ("f43 1", "ptsd"),
    ("f431", "ptsd"),
    ("f42", "ocd"),
    ("g89", "chronic_pain"),
    ("g90 5", "chronic_pain"),
    ("m79 7", "chronic_pain"),
)
# (#N/A: Excel's failed lookup)
MISSING_TEXT = {"", "na", "n/a", "nan", "null", "none", "-", "--", ".", "#n/a", "#na", "#null!"}


# --- text ---------------------------------------------------------------------------------------------------
def clean_text(v):
    """Free text as kept: runs of white space one space; blanks and missing markers ('n/a', '#N/A') None."""
    if v is None:
        return None
    v = " ".join(str(v).split())
    return None if v.lower() in MISSING_TEXT else v


def value_key(v) -> str:
    """A coded value compared loosely: lower case, punctuation other than + < > = a space ('' for None)."""
    return re.sub(r"\s+", " ", re.sub(r"[^0-9a-z+<>=]+", " ", str(v).lower())).strip() if v is not None else ""


def categorical(codes: np.ndarray, values: list, func) -> pd.Categorical:
    """Categorical of func(value) for each code: the function runs once per distinct value."""
    return recode(codes, [func(v) for v in values])


def recode(codes: np.ndarray, mapped: list) -> pd.Categorical:
    """Categorical whose row i is ``mapped[codes[i]]`` (None: missing; code -1: missing)."""
    new_codes, uniques = pd.factorize(pd.Series(mapped, dtype=object), use_na_sentinel=True)
    dtype = pd.CategoricalDtype(pd.Index(uniques, dtype=object))
    if not np.array_equal(new_codes, np.arange(len(mapped))):  # not one-to-one: the codes change
        codes = np.append(new_codes, -1)[codes]  # code -1 -> -1
    return pd.Categorical.from_codes(codes, dtype=dtype, validate=False)  # codes are in range by construction


def text_column(raw: TextTable, source: str) -> pd.Categorical:
    """A free-text column (patient key, site): blanks and 'n/a' missing, runs of white space one space."""
    codes, values = raw.distinct(source)
    return recode(codes, [clean_text(v) for v in values])


# --- conditions, sex, route, kind -----------------------------------------------------------------------------
def normalise_condition(text) -> str | None:
    """Canonical condition for a spelling ('Major Depressive Disorder' -> 'depression', 'F33.1' ->
    'depression'); None when unknown or blank."""
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return None
    raw = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode().strip().lower()
    if raw in MISSING_TEXT:
        return None
    spaced = re.sub(r"\s+", " ", re.sub(r"[^0-9a-z]+", " ", raw)).strip()
    joined = re.sub(r"\s+", " ", re.sub(r"[^0-9a-z\s]+", "", raw)).strip()
    for key in (spaced, joined, spaced.replace("_", " ")):
        if key in S.CONDITION_SYNONYMS:
            return S.CONDITION_SYNONYMS[key]
    for prefix, condition in ICD10:
        if spaced.startswith(prefix):
            return condition
    return None


def sex(k: str) -> str | None:
    """F, M or X of a sex as written (``k``: a value_key)."""
    return SEXES.get(k)


def route(k: str) -> str | None:
    """A route as written ('IV', 'IV Ketamine', 'Spravato (esketamine)'); ``k`` is a value_key. Whole
    spelling first, then by its words: esketamine (Spravato) wins, other words must agree ('in' alone only)."""
    if k in ROUTES:
        return ROUTES[k]
    words = [w for w in k.split() if w != "ketamine"]
    if " ".join(words) in ROUTES:
        return ROUTES[" ".join(words)]
    found = {ROUTES[w] for w in words if w in ROUTES and w != "in"}
    if "esketamine" in found:
        return "esketamine"
    return found.pop() if len(found) == 1 else None


def kind(k: str) -> str | None:
    """induction, booster or maintenance of a kind of treatment as written (``k``: a value_key)."""
    for stem, name in KINDS:
        if stem in k:
            return name
    return None


# --- numbers --------------------------------------------------------------------------------------------------
THOUSANDS = re.compile(r"[+-]?\d{1,3}(,\d{3})+")
MG_PER_KG = re.compile(r"(?i)\s*mg\s*/\s*kg$")
#: one clean number: ASCII digits, one decimal point or comma, an exponent; nothing else inside (no space, no
#: underscore, no second number)
CLEAN_NUMBER = re.compile(r"[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][+-]?\d+)?", re.ASCII)
#: '1,000': a thousands separator or a decimal comma; which one cannot be told (outside ``thousands`` columns)
AMBIGUOUS_COMMA = re.compile(r"[+-]?[1-9]\d{0,2},\d{3}", re.ASCII)


def number(v, thousands: bool = False, unit: re.Pattern | None = None) -> tuple[float, int]:
    """(value, reason): reason 0 a number, 1 empty, 2 not one clean number. Decimal commas accepted ('12,5'); with
    ``thousands`` (a whole-number column of a comma-separated file) a comma before exactly three digits
    ('1,050') is a thousands separator instead, elsewhere such a value ('1,000') is refused as ambiguous;
    ``unit`` is a trailing unit removed first ('0.5 mg/kg'). A value is never re-read into another number:
    '2 1', '2_1', '1 4', full-width or other non-ASCII digits are not numbers (reason 2)."""
    if v is None:
        return np.nan, 1
    s = str(v).strip()
    if s == "":
        return np.nan, 1
    if unit is not None:
        s = unit.sub("", s).strip()
    if thousands and THOUSANDS.fullmatch(s):
        s = s.replace(",", "")
    elif AMBIGUOUS_COMMA.fullmatch(s) or not CLEAN_NUMBER.fullmatch(s):
        return np.nan, 2
    x = float(s.replace(",", "."))
    return (x, 0) if np.isfinite(x) else (np.nan, 2)


def numbers(
    raw: TextTable, name: str, thousands: bool = False, unit: re.Pattern | None = None
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(float64 values, reason per row as ``number``'s, distinct non-numbers) of a column: ``number`` of each
    distinct value of a text column; a column pyarrow read as numbers as it is."""
    col = raw.table[name]
    if not is_text(col):
        values = _floats(col)
        if col.null_count == 0 and pa.types.is_integer(col.type):
            return values, np.zeros(len(values), dtype=np.int8), []
        return values, np.isnan(values).astype(np.int8), []
    codes, distinct = raw.distinct(name)
    parsed = [number(v, thousands, unit) for v in distinct]
    vals = np.array([p[0] for p in parsed] + [np.nan])
    reasons = np.array([p[1] for p in parsed] + [1], dtype=np.int8)
    bad = [str(v).strip() for v, p in zip(distinct, parsed) if p[1] == 2]
    return vals[codes], reasons[codes], bad


def _floats(col: pa.ChunkedArray) -> np.ndarray:
    """A numeric column as a new (writable) float64 array, nulls NaN."""
    if col.null_count:
        col = pc.cast(col, pa.float64())
    return np.array(col.to_numpy(), dtype=float)  # (a copy: writable)


# --- ages -----------------------------------------------------------------------------------------------------
def age_band(age: float) -> str | None:
    """schema.AGE_BANDS band of an age in years; over config.MAX_AGE_SHOWN -> '90+'; under 18 -> None."""
    if age is None or np.isnan(age) or age < 18:
        return None
    if age > MAX_AGE_SHOWN:
        return "90+"
    for band in S.AGE_BANDS[:-1]:
        lo, hi = (int(x) for x in band.split("-"))
        if lo <= age < hi + 1:
            return band
    return None


def age_bands(ages: np.ndarray) -> pd.Categorical:
    """Vectorised ``age_band``: categorical over schema.AGE_BANDS (blank for under 18 or missing)."""
    ages = np.asarray(ages, dtype=float)
    lower = np.array([int(b.split("-")[0]) for b in S.AGE_BANDS[:-1]], dtype=float)
    codes = np.searchsorted(lower, ages, side="right") - 1
    codes = np.where(ages > MAX_AGE_SHOWN, len(S.AGE_BANDS) - 1, codes)
    codes = np.where(np.isnan(ages) | (ages < lower[0]), -1, codes)
    return pd.Categorical.from_codes(codes, categories=pd.Index(S.AGE_BANDS, dtype=object))


NINETY_PLUS = re.compile(
    r"^(?:(?:>|&gt;)\s*=?\s*(?:89|9\d)|(?:≥|>=)\s*9\d|9\d\s*\+|9\d\s*(?:or|and)\s*(?:older|over|above))$", re.IGNORECASE
)


def band_text(k: str) -> str | None:
    """An age band as written ('25-34', '25 - 34', '90+', '>89') or an age ('45'); ``k`` is a value_key."""
    band = re.sub(r"\s+", "-", k.strip())
    if band in S.AGE_BANDS:
        return band
    if band in ("90", ">89", "89+", "90-plus", ">=90", "90-+") or NINETY_PLUS.match(k.strip()):
        return "90+"
    v, reason = number(k) if " " not in k.strip() else (np.nan, 2)
    return age_band(v) if reason == 0 else None


def age_column(raw: TextTable, source: str, log: IssueLog, file: str) -> pd.Categorical:
    """Age bands of an age column ("90+", "> 89": how de-identified exports write ages over 89), with the
    AGE_90_PLUS info and BAD_AGE warning."""
    values, reason, bad = numbers(raw, source)
    if bad:
        codes, distinct = raw.distinct(source)
        over = [i for i, v in enumerate(distinct) if v is not None and NINETY_PLUS.match(str(v).strip())]
        if over:
            at = np.isin(codes, over)
            values, reason = np.where(at, MAX_AGE_SHOWN + 1.0, values), np.where(at, 0, reason)
    over = int((values > MAX_AGE_SHOWN).sum())
    bad_rows = raw.rows[(values < 18) | (reason == 2)]
    if over:
        log.add(
            "info",
            "AGE_90_PLUS",
            f"{file}: {over} age(s) over {MAX_AGE_SHOWN} are shown as '90+'; "
            "ages themselves are not kept, only age bands.",
            source,
        )
    if len(bad_rows):
        log.add(
            "warning",
            "BAD_AGE",
            f"{file}: {len(bad_rows)} age(s) are under 18 or not numbers; their age band "
            f"is left blank ({rows_text(bad_rows)}).",
            source,
            bad_rows.tolist(),
        )
    return age_bands(values)


# --- coded columns and patient attributes ---------------------------------------------------------------------
def coded_column(
    raw: TextTable, source: str, func, blanks: set, what: str, allowed: str, log: IssueLog, file: str
) -> pd.Categorical:
    """A column of coded values (sex, route, kind, age band): ``func(value_key(v))`` of each distinct value;
    values it does not know (and that are not ``blanks``) are left blank, with a warning naming them."""
    codes, values = raw.distinct(source)
    unknown = [i for i, v in enumerate(values) if value_key(v) not in blanks and func(value_key(v)) is None]
    if unknown:
        rows = raw.rows[np.isin(codes, unknown)]
        log.add(
            "warning",
            f"UNKNOWN_{what.upper().replace(' ', '_')}",
            f"{file}: {len(unknown)} {what} value(s) written in column '{source}' are not one of {allowed}; "
            f"left blank ({rows_text(rows)}).",
            source,
            rows.tolist(),
        )
    return categorical(codes, values, lambda v: func(value_key(v)) if value_key(v) not in blanks else None)


def route_column(raw: TextTable, source: str, log: IssueLog, file: str) -> pd.Categorical:
    from analysis.ingest.written import route_spelling  # (the spellings practices write: written.py)

    return coded_column(raw, source, route_spelling, {""}, "route", ", ".join(S.ROUTES), log, file)


def kind_column(raw: TextTable, source: str, log: IssueLog, file: str) -> pd.Categorical:
    return coded_column(raw, source, kind, {""}, "kind", ", ".join(S.KINDS), log, file)


def condition_column(raw: TextTable, source: str, log: IssueLog, file: str) -> pd.Categorical:
    """Canonical conditions; a condition not among schema.CONDITIONS is counted as 'other', with a warning."""
    codes, values = raw.distinct(source)
    unknown = [i for i, v in enumerate(values) if clean_text(v) and normalise_condition(v) is None]
    if unknown:
        rows = raw.rows[np.isin(codes, unknown)]
        log.add(
            "warning",
            "UNKNOWN_CONDITION",
            f"{file}: {len(unknown)} condition(s) written in column '{source}' are not among "
            f"{', '.join(S.CONDITIONS)}; they were counted as 'other' ({rows_text(rows)}).",
            source,
            rows.tolist(),
        )
    return categorical(codes, values, lambda v: normalise_condition(v) or ("other" if clean_text(v) else None))


def patient_attributes(raw: TextTable, target: dict[str, str], log: IssueLog, file: str) -> dict[str, pd.Categorical]:
    """The patient attributes of a file (condition, site, sex, route, age band, start month), as categoricals."""
    from analysis.ingest import written  # (the spellings practices write: written.py)

    out = {}
    t = target
    if S.CONDITION in t:
        out[S.CONDITION] = condition_column(raw, t[S.CONDITION], log, file)
    if S.SITE in t:
        out[S.SITE] = text_column(raw, t[S.SITE])
    if S.SEX in t:
        out[S.SEX] = coded_column(
            raw,
            t[S.SEX],
            written.sex_spelling,
            SEX_BLANK | written.MORE_SEX_BLANKS,
            "sex",
            ", ".join(S.SEXES),
            log,
            file,
        )
    if S.ROUTE in t:
        out[S.ROUTE] = route_column(raw, t[S.ROUTE], log, file)
    if S.AGE_BAND in t:
        out[S.AGE_BAND] = written.age_band_column(raw, t[S.AGE_BAND], log, file)
    elif "age" in t:
        out[S.AGE_BAND] = age_column(raw, t["age"], log, file)
    if S.START_MONTH in t:
        out[S.START_MONTH] = start_month_column(raw, t[S.START_MONTH], log, file)
    return out


def start_month_column(raw: TextTable, source: str, log: IssueLog, file: str) -> pd.Categorical:
    """Start months as 'YYYY-MM' (phi.start_month: a date gives its month, the date is dropped); any other value
    (a date of birth, a name, a month outside the years of treatment) is left blank, never kept, with a warning
    that quotes rows, not values."""
    codes, values = raw.distinct(source)
    months = [phi.start_month(v) for v in values]
    bad = [i for i, (v, m) in enumerate(zip(values, months)) if m is None and clean_text(v) is not None]
    if bad:
        rows = raw.rows[np.isin(codes, bad)]
        log.add(
            "warning",
            "BAD_START_MONTH",
            f"{file}: {len(rows)} start month value(s) in column '{source}' are not a month (YYYY-MM, or a date whose "
            f"month is certain) from {phi.FIRST_START_YEAR} to next year; they were left blank and not kept "
            f"({rows_text(rows)}).",
            source,
            rows.tolist(),
        )
    return recode(codes, months)
