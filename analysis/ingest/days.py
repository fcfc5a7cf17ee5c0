"""Dates -> day offsets: the format of each date column, day 0 of each patient, and the days of every row.

Date formats are decided per column from all its values (ISO, D/M/Y, M/D/Y, month names, Excel serial
numbers); a column that reads both day-first and month-first is refused, never guessed (its fix: say which
format the column uses). Day 0 is the patient's first treatment (treatments file, by date or day); without
treatments, the ``day`` given; with only dates, the patient's first assessment. A row with both a date and a
day takes its day from the date (the date wins; day 0 is then the date the patient's earliest such row implies,
so consistent days are kept as given), with a warning naming both columns where they disagree. Dates are not
kept: only ``start_month`` (YYYY-MM of day 0; YYYY with ``strict_dates``).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from analysis import schema as S
from analysis import validate as V
from analysis.ingest.columns import DATE_DMY, DATE_MDY, DATE_YMD, date_format_fix
from analysis.ingest.read import Refused, TextTable
from analysis.ingest.values import MISSING_TEXT, categorical
from analysis.validate import FILE, ROW, IssueLog, rows_text

_ISO = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[T ].*)?$")
_NUMERIC = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4}|\d{2})(?:[T ,].*)?$")
_EPOCH = dt.date(1970, 1, 1).toordinal()
EXCEL_EPOCH_OFFSET = 25569  # Excel serial day of 1970-01-01


def _ordinal(y: int, m: int, d: int) -> float:
    if y < 100:
        y += 2000 if y < 70 else 1900
    try:
        return float(dt.date(y, m, d).toordinal() - _EPOCH)
    except ValueError:
        return np.nan


class _AmbiguousDates(Exception):
    def __init__(self, example: str, mixed: bool = False):
        self.example, self.mixed = example, mixed


def parse_dates(values: list, order: str | None = None) -> tuple[np.ndarray, list[str]]:
    """Days since 1970-01-01 of date strings, and the values that are not dates.

    The format is decided from all values: ISO (YYYY-MM-DD) always; D/M/Y or M/D/Y (separators / . -)
    when some day-of-month exceeds 12 in one position. ``order`` ('dmy', 'mdy', 'ymd') forces it.
    Five-digit numbers from 20000 to 80000 are Excel serial dates (a fraction, the time of day, is
    dropped). Raises _AmbiguousDates when both
    orders fit and would give different dates, or when the column mixes the two orders."""
    out = np.full(len(values), np.nan)
    numeric = []
    for i, v in enumerate(values):
        s = "" if v is None else str(v).strip()
        m = _ISO.match(s)
        if m:  # (four digits below 100, such as 0000 or 0024, are not a year: not a date)
            y = int(m.group(1))
            out[i] = _ordinal(y, int(m.group(2)), int(m.group(3))) if y >= 100 else np.nan
            continue
        if re.fullmatch(r"\d{5}(\.\d+)?", s) and 20000 <= float(s) < 80000:  # an Excel serial date (1954-2119)
            out[i] = np.floor(float(s)) - EXCEL_EPOCH_OFFSET  # (the fraction is the time of day)
            continue
        m = _NUMERIC.match(s)
        if m:
            numeric.append((i, int(m.group(1)), int(m.group(2)), int(m.group(3))))
        elif s and re.search(r"[A-Za-z]{3}", s):
            out[i] = _named_month(s)
    if numeric and order not in ("dmy", "mdy"):
        first_big = any(a > 12 for _, a, _, _ in numeric)
        second_big = any(b > 12 for _, _, b, _ in numeric)
        if first_big and not second_big:
            order = "dmy"
        elif second_big and not first_big:
            order = "mdy"
        elif not first_big and not second_big:
            if any(a != b for _, a, b, _ in numeric):
                ex = next(values[i] for i, a, b, _ in numeric if a != b)
                raise _AmbiguousDates(str(ex).strip())
            order = "dmy"
        else:  # both positions exceed 12 somewhere: two formats in one column
            first = next(values[i] for i, a, _, _ in numeric if a > 12)
            second = next(values[i] for i, _, b, _ in numeric if b > 12)
            raise _AmbiguousDates(f"{str(first).strip()}' and '{str(second).strip()}", mixed=True)
    for i, a, b, y in numeric:
        if order == "dmy":
            out[i] = _ordinal(y, b, a)
        elif order == "mdy":
            out[i] = _ordinal(y, a, b)
    bad = [
        str(v).strip()
        for v, x in zip(values, out)
        if np.isnan(x) and v is not None and str(v).strip() and str(v).strip().lower() not in MISSING_TEXT
    ]
    return out, bad


def _named_month(s: str) -> float:
    from dateutil import parser

    try:
        d = parser.parse(s, default=dt.datetime(1900, 1, 1))
    except (ValueError, OverflowError):
        return np.nan
    if d.year == 1900:
        return np.nan
    return float(d.date().toordinal() - _EPOCH)


def month_text(days: float, strict: bool) -> str | None:
    if np.isnan(days):
        return None
    d = dt.date.fromordinal(int(days) + _EPOCH)
    return f"{d.year:04d}" if strict else f"{d.year:04d}-{d.month:02d}"


def date_column(raw: TextTable, source: str, target: str) -> tuple[np.ndarray, np.ndarray | None, list[str]]:
    """(days since 1970-01-01 of a date column, NaN where blank or unreadable; the rows whose date could not be
    read, None if none; those dates as written)."""
    col = raw.table[source]
    if pa.types.is_date32(col.type):  # (read as ISO dates: every value is a date or blank)
        return pc.cast(pc.cast(col, pa.int32()), pa.float64()).to_numpy(), None, []  # (null -> NaN)
    codes, values = raw.distinct(source)
    order = {DATE_DMY: "dmy", DATE_MDY: "mdy", DATE_YMD: "ymd"}.get(target)
    try:
        days, bad = parse_dates(values, order)
    except _AmbiguousDates as e:
        if e.mixed:
            raise Refused(
                "MIXED_DATE_FORMATS",
                f"Column '{source}' mixes day/month/year and month/day/year dates, so no date in "
                "it can be trusted. Export the dates again in one format, preferably YYYY-MM-DD, and upload again.",
            ) from None
        raise Refused(
            "AMBIGUOUS_DATES",
            f"Column '{source}' has dates that read both as day/month/year and as "
            "month/day/year, and no date in the file tells which; nothing was guessed. Export dates as YYYY-MM-DD, or "
            f"say which date format column '{source}' uses: day/month/year or month/day/year.",
            date_format_fix(source),
        ) from None
    unreadable = np.isin(codes, [values.index(b) for b in bad if b in values]) if bad else None
    return np.append(days, np.nan)[codes], unreadable, bad


def unreadable_days(
    columns: dict,
    bad_day: tuple | None,
    bad_date: tuple | None,
    t: dict,
    date_target: str | None,
    rows: np.ndarray,
    log: IssueLog,
    file: str,
) -> None:
    """Report unreadable days and dates (each ``(rows, problem)`` or None): a row keeps its day when the other
    column gives one (the date of a row wins over its day; a row without a readable date keeps its day). The rows
    left out are marked in ``columns`` (UNREADABLE), so that MISSING_DAY does not list them again."""
    left_out = None
    if bad_day is not None:
        rescued = ~np.isnan(columns[S.DATE]) if S.DATE in columns else None
        left_out = _report_unreadable(log, file, "BAD_DAY", t[S.DAY], rows, bad_day[1], bad_day[0], rescued, "the date")
    if bad_date is not None:
        rescued = ~np.isnan(columns[S.DAY]) if S.DAY in columns else None
        lost = _report_unreadable(
            log, file, "BAD_DATE", t[date_target], rows, bad_date[1], bad_date[0], rescued, "the day column"
        )
        left_out = lost if left_out is None else left_out | lost
    if left_out is not None and left_out.any():
        columns[UNREADABLE] = left_out.astype(float)  # (a float: files without it get NaN when frames are joined)


def _report_unreadable(
    log: IssueLog,
    file: str,
    code: str,
    source: str,
    rows: np.ndarray,
    problem: str,
    unreadable: np.ndarray,
    rescued: np.ndarray | None,
    other: str,
) -> np.ndarray:
    """One warning for the rows whose day (or date) could not be read (``problem`` says how): those where ``other``
    (the date, or the day column) gives the day instead (``rescued``) are kept, the others left out. Returns the
    rows left out, which MISSING_DAY then does not list again."""
    left_out = unreadable & ~rescued if rescued is not None else unreadable
    kept = unreadable & ~left_out
    bad, lost, saved = rows[unreadable], rows[left_out], rows[kept]
    if not len(saved):
        outcome = f"those rows were left out ({rows_text(lost)})"
    elif not len(lost):
        outcome = f"{other} gave the day of those rows ({rows_text(saved)})"
    else:
        outcome = (
            f"{other} gave the day of {len(saved)} of them ({rows_text(saved)}); {len(lost)} were left out "
            f"({rows_text(lost)})"
        )
    log.add("warning", code, f"{file}: {len(bad)} {problem}; {outcome}.", source, bad.tolist())
    return left_out


@dataclass(frozen=True)
class Origins:
    """Per patient of the treatments file (its patient categories): the first treatment date (days since
    epoch) and the first treatment day; NaN where the patient has none (None: no such column)."""

    patients: pd.Index
    first_date: np.ndarray | None
    first_day: np.ndarray | None


def origins(treat: pd.DataFrame | None) -> Origins | None:
    """The first treatment date and day of each patient of the treatments frame (None without one)."""
    if treat is None or treat.empty:
        return None
    cat = treat[S.PATIENT_ID].array
    n = len(cat.categories)
    first = {
        c: _min_per_code(cat.codes, treat[c].to_numpy(dtype=float), n) if c in treat else None for c in (S.DATE, S.DAY)
    }
    return Origins(cat.categories, first[S.DATE], first[S.DAY])


def _min_per_code(codes: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Smallest non-NaN value per code (n places and NaN last, where code -1 points); NaN where a code has none."""
    least = _per_patient_min(codes, np.where(np.isnan(values), np.inf, values), n + 1)
    least[n] = np.inf
    return np.where(np.isinf(least), np.nan, least)


def _per_patient(frame: pd.DataFrame, patients: pd.Index, values: np.ndarray | None) -> np.ndarray:
    """A per-patient value (``values[i]`` for ``patients[i]``, another file's patients) for each patient
    category of the frame, and NaN last (where code -1 points); NaN for a patient not in ``patients``."""
    cats = frame[S.PATIENT_ID].cat.categories
    if values is None:
        return np.full(len(cats) + 1, np.nan)
    if cats.equals(patients):  # (the same patients in the same order: no lookup)
        return np.append(values[: len(cats)], np.nan)
    # (patient keys are text: pyarrow's lookup is a third of pandas' on Python strings)
    at = pc.index_in(pa.array(cats.to_numpy(), pa.string()), value_set=pa.array(patients.to_numpy(), pa.string()))
    at = at.fill_null(-1).to_numpy(zero_copy_only=False)
    return np.append(np.where(at >= 0, values[at], np.nan), np.nan)


DAY_SOURCE = "day source"  # IssueLog.sources key of a file's day column (S.DAY's may be its date column)


def _per_patient_min(pid: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Smallest value per patient code (n places; inf where a code has no row)."""
    out = np.full(n, np.inf)
    np.minimum.at(out, pid, values)
    return out


def _day_anchors(frame: pd.DataFrame, pid: np.ndarray, date: np.ndarray, day: np.ndarray, n: int) -> np.ndarray:
    """Per patient code (n of them, NaN last): day 0 as a date implied by the patient's earliest row that has both
    a date and a day (date - day); NaN without such a row."""
    both = ~np.isnan(date) & ~np.isnan(day)
    anchor = np.full(n + 1, np.nan)
    if both.any():
        rows = pd.DataFrame({"p": pid[both], "date": date[both], "origin": date[both] - day[both]})
        first = rows.sort_values("date", kind="stable").groupby("p", sort=False)["origin"].first()
        anchor[first.index.to_numpy()] = first.to_numpy()
    return anchor


def _warn_date_day(frame: pd.DataFrame, disagree: np.ndarray, log: IssueLog) -> None:
    """Warning per file: rows whose date and day columns disagree (the date was used)."""
    for f, part in frame[disagree].groupby(FILE, sort=True, observed=True):
        rows = np.sort(part[ROW].to_numpy())
        date_col, day_col = log.sources.get((int(f), S.DATE), "date"), log.sources.get((int(f), DAY_SOURCE), "day")
        log.add(
            "warning",
            "DATE_DAY_DISAGREE",
            f"{log.files[int(f)]}: the '{date_col}' and '{day_col}' columns disagree on "
            f"{len(rows)} row(s) ({rows_text(rows)}): the day counted from the date in '{date_col}' is not the one in "
            f"'{day_col}'. The date was used ('{date_col}' wins when a row has both, so that day 0 comes from the dates "
            f"in the same way for every patient); check which column is right.",
            f"{date_col}, {day_col}",
            rows.tolist(),
        )


def assign_days(
    frame: pd.DataFrame, first: Origins | None, has_treatments: bool, strict: bool, log: IssueLog
) -> pd.DataFrame:
    """Replace dates by day offsets from day 0 and derive start_month; never keeps a date.

    Day 0 is worked out per patient (an array over the patient codes), then spread over the rows: the first
    treatment date; else, when rows have both a date and a day, the date the patient's earliest such row implies
    (date - day), so consistent days are kept as given; else the first assessment date. A row with a date gets
    its day from the date (the date wins over a disagreeing day column, with a warning). ``first``: the
    treatments' _origins (None without treatments, or with none), ``has_treatments``: whether a treatments file came."""
    patients, first_date, first_day = (
        (first.patients, first.first_date, first.first_day) if first else (None, None, None)
    )
    pid = frame[S.PATIENT_ID].array.codes
    origin = _per_patient(frame, patients, first_date)  # day 0 as a date, per patient code
    has_day = S.DAY in frame.columns
    if has_day:
        day = given = frame[S.DAY].to_numpy(dtype=float)
    else:  # (with dates, the days come from them)
        day = given = None if S.DATE in frame.columns else np.full(len(frame), np.nan)
    if S.DATE in frame.columns:
        date = frame[S.DATE].to_numpy(dtype=float)
        no_date = np.isnan(date)
        no_origin = np.isnan(origin)
        # (a scalar when it is the same for every patient: no pass over the rows)
        same = no_origin[:-1].all() or not (no_origin[:-1].any() or (pid < 0).any())
        no_treatment = np.bool_(no_origin[:-1].all()) if same else no_origin[pid]
        both = (~no_date & ~np.isnan(day)) if has_day else np.bool_(False)
        if both.any():
            anchor = _day_anchors(frame, pid, date, day, len(origin) - 1)
            origin = np.where(np.isnan(origin), anchor, origin)
        if no_treatment.any():
            first_seen = _per_patient_min(pid, np.where(no_date, np.inf, date) if no_date.any() else date, len(origin))
            origin = np.where(np.isnan(origin), np.where(np.isinf(first_seen), np.nan, first_seen), origin)
        if has_day:
            from_first_assessment = no_treatment & np.isnan(day) & ~no_date
        elif no_treatment.ndim == 0:  # (the same for every patient: one pass)
            from_first_assessment = ~no_date if no_treatment else no_treatment
        else:
            from_first_assessment = no_treatment & ~no_date
        if from_first_assessment.any():
            if not has_treatments:
                log.add(
                    "info",
                    "DAY0_FIRST_ASSESSMENT",
                    "Without a treatments file, day 0 is each patient's first assessment date.",
                )
            else:
                log.add(
                    "info",
                    "DAY0_FIRST_ASSESSMENT",
                    f"{int(pd.unique(frame[S.PATIENT_ID][from_first_assessment]).size)} "
                    "patient(s) have no treatments: their day 0 is their first assessment date.",
                )
        from_date = date - origin[pid]
        if both.any():
            disagree = both & ~np.isnan(from_date) & (from_date != day)
            if disagree.any():
                _warn_date_day(frame, disagree, log)
        day = np.where(np.isnan(from_date), day, from_date) if has_day else from_date
    elif first_day is not None and not np.isnan(first_day).all():
        shift = np.nan_to_num(_per_patient(frame, patients, first_day))[pid]
        day = np.subtract(day, shift, out=shift)  # (one new array, not two)
    if not has_day or day is not given or S.DATE in frame.columns:  # (a day column used as it is needs no setting)
        frame = with_columns(frame, {S.DAY: day}, drop=S.DATE)
    missing = np.isnan(day)
    if missing.any():
        log.add_rows(
            "warning",
            "MISSING_DAY",
            S.DAY,
            frame,
            lambda n, r: f"{n} score(s) have no day or readable date and were left out ({r}).",
            where=missing & ~_reported(frame),
        )
        frame = frame[~missing]
        pid = pid[~missing]
    if S.START_MONTH not in frame.columns or frame[S.START_MONTH].isna().all():
        if not np.isnan(origin).all() and (~np.isnan(origin))[pid].any():
            codes, uniques = pd.factorize(origin)  # per patient code
            to_month, firsts = pd.factorize(_month_starts(uniques))  # (the first day of each month: one text per month)
            months = categorical(np.append(to_month, -1)[codes], list(firsts), lambda d: month_text(d, strict))
            month = pd.Categorical.from_codes(months.codes[pid], dtype=months.dtype, validate=False)
            frame = with_columns(frame, {S.START_MONTH: month})
    elif strict:
        months = frame[S.START_MONTH].array
        years = categorical(months.codes, list(months.categories), lambda m: str(m)[:4])
        frame = with_columns(frame, {S.START_MONTH: years})
    return frame


def _month_starts(days: np.ndarray) -> np.ndarray:
    """The first day of the month of each day (days since 1970-01-01; NaN stays NaN): one text per month, not per date."""
    known = ~np.isnan(days)
    out = np.full(len(days), np.nan)
    months = days[known].astype(np.int64).astype("datetime64[D]").astype("datetime64[M]")
    out[known] = months.astype("datetime64[D]").astype(np.int64)
    return out


#: internal column: 1 on rows left out for an unreadable day or date, already reported (BAD_DAY, BAD_DATE)
UNREADABLE = "_unreadable"


def _reported(frame: pd.DataFrame) -> np.ndarray:
    """The rows whose missing day was already reported as unreadable (see ``_unreadable_days``)."""
    if UNREADABLE not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    return frame[UNREADABLE].to_numpy() == 1


def with_columns(frame: pd.DataFrame, columns: dict, drop: str | None = None) -> pd.DataFrame:
    """A new frame: ``frame`` with ``columns`` set (in place of a column of that name, else added last) and
    ``drop`` left out. The arrays are used as they are (``frame[c] = array`` copies them in pandas 3: a new
    1M-row array costs 2-5 ms of page faults), and so are the other columns."""
    data = {c: frame[c] for c in frame.columns if c != drop}
    data.update(columns)
    return pd.DataFrame(data, index=frame.index, copy=False)


def treatment_days(treat: pd.DataFrame, origins: Origins | None, log: IssueLog) -> pd.DataFrame:
    """Days of the treatments from their first treatment per patient (``origins``: their _origins, None when
    there is no row; a row's day, if given, wins over its date); rows with neither are left out, implausible
    days too."""
    pid = treat[S.PATIENT_ID].array.codes
    if treat.empty:
        day = np.full(0, np.nan)
    elif S.DATE in treat.columns:
        date = treat[S.DATE].to_numpy(dtype=float)
        first = origins.first_date[pid]
        day = treat[S.DAY].to_numpy(dtype=float) if S.DAY in treat.columns else np.full(len(treat), np.nan)
        day = np.where(np.isnan(day), date - first, day)
    elif S.DAY in treat.columns:
        day = treat[S.DAY].to_numpy(dtype=float)
        shift = origins.first_day[pid]
        day = np.subtract(day, shift, out=shift)
    else:
        day = np.full(len(treat), np.nan)
    treat = with_columns(treat, {S.DAY: day}, drop=S.DATE)
    missing = np.isnan(day)
    log.add_rows(
        "warning",
        "MISSING_DAY",
        S.DAY,
        treat,
        lambda n, r: f"{n} treatment row(s) have no day or readable date and were left out ({r}).",
        where=missing & ~_reported(treat),
    )
    return V.drop_implausible_days(V.keep(treat, ~missing), log, what="treatment")
