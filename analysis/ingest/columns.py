"""Which column is which: synonyms of the canonical columns, the mapping of a file's columns (overrides win),
wide columns ("PHQ-9 Day 14") and the structured fixes of the mapping's problems.

Column names are matched loosely (case, camelCase and punctuation ignored: phi.header_key) against
COLUMN_SYNONYMS; ``overrides`` ({source: target}) win, "ignore" drops a column. Two columns matching the
patient key, instrument, score, day or date (two 'Score' columns) refuse the file unless an override
chooses. Columns like ``PHQ-9 Day 14`` or ``PHQ-9 (Week 4)`` make a wide file, melted to long (visit labels
-> days: baseline/pre/screening -1, the day before the first infusion, so that it does not fall on inf1;
inf1..inf6 the induction days 0, 2, 4, 7, 9, 11; Day N; Week N = 7N; Month N = 30N); a column named after an
instrument alone (``PHQ-9``) holds its scores at the row's day or date.

A *fix* is the remedy of an issue that mapping a column by hand would solve, the same for every front end:
``{"column": source column, "targets": [target, ...]}``, "map this column to one of these targets" (the first
is the suggestion; "ignore" is a target). The command line phrases it as ``--map 'SOURCE=TARGET'``, the
Data page as a choice in its mapping table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pandas as pd

from analysis import schema as S
from analysis.ingest.monitoring import MONITORING_SYNONYMS
from analysis.instruments import normalise_code
from analysis.phi import header_key
from analysis.validate import quoted

#: the columns of the mapping table (one row per source column of each file)
MAPPING_COLUMNS = ("file", "source", "target", "how")

AGE = "age"
DATE_DMY, DATE_MDY, DATE_YMD = "date_dmy", "date_mdy", "date_ymd"
DATE_TARGETS = (S.DATE, DATE_DMY, DATE_MDY, DATE_YMD)
IGNORE = "ignore"

COLUMN_SYNONYMS: dict[str, tuple[str, ...]] = {
    S.PATIENT_ID: (
        "patient id",
        "patient_id",
        "patientid",
        "pt id",
        "ptid",
        "patient key",
        "pt key",
        "patient",
        "subject",
        "subject id",
        "study id",
        "participant",
        "participant id",
        "client id",
        "pseudonym",
        "pseudo id",
        "patient pseudonym",
        "pseudonymous id",
        "research id",
        "deidentified id",
        "de identified id",
        "record id",
        "patient number",
        "patient no",
        "id",
    ),
    S.INSTRUMENT: (
        "instrument",
        "measure",
        "measure name",
        "scale",
        "scale name",
        "assessment",
        "assessment name",
        "assessment type",
        "questionnaire",
        "survey",
        "instrument name",
        "outcome measure",
        "test",
        "test name",
        "flowsheet row name",
        "flowsheet row",
        "flowsheet name",
        "row name",
        "questionnaire name",
        "form name",
    ),
    S.SCORE: (
        "score",
        "total score",
        "total",
        "score total",
        "value",
        "result",
        "raw score",
        "score value",
        "assessment score",
        "total raw score",
        "sum score",
    ),
    S.DAY: (
        "day",
        "days",
        "study day",
        "day offset",
        "treatment day",
        "days since first treatment",
        "days since first infusion",
        "days from first infusion",
        "days since start",
        "day since first infusion",
        "days from baseline",
        "day number",
    ),
    S.DATE: (
        "date",
        "date administered",
        "administered",
        "administered on",
        "assessment date",
        "visit date",
        "date completed",
        "completed date",
        "completed on",
        "completion date",
        "administration date",
        "encounter date",
        "service date",
        "date of service",
        "dos",
        "session date",
        "survey date",
        "recorded time",
        "recorded date",
        "recorded on",
        "taken time",
        "date taken",
        "entry date",
        "result date",
        "infusion date",
        "treatment date",
        "appointment date",
    ),
    S.CONDITION: (
        "condition",
        "diagnosis",
        "primary diagnosis",
        "dx",
        "primary dx",
        "indication",
        "primary condition",
        "diagnosis category",
        "treatment indication",
    ),
    S.SITE: (
        "site",
        "clinic",
        "clinic location",
        "location",
        "clinic name",
        "practice",
        "facility",
        "office",
        "site name",
        "practice location",
        "department",
        "department name",
        "dept",
        "clinic site",
        "location name",
        "office name",
        "facility name",
        "practice name",
        "service location",
    ),
    AGE: (
        "age",
        "age at start",
        "age years",
        "patient age",
        "age at first infusion",
        "age at baseline",
        "age at intake",
    ),
    S.AGE_BAND: ("age band", "age_band", "age group", "age range", "age bracket"),
    S.SEX: ("sex", "gender", "sex at birth", "birth sex", "sex assigned at birth"),
    S.ROUTE: (
        "route",
        "route of administration",
        "administration route",
        "treatment route",
        "modality",
        "treatment modality",
        "ketamine route",
    ),
    S.START_MONTH: ("start month", "start_month", "month started"),
    S.KIND: (
        "kind",
        "treatment type",
        "treatment kind",
        "session type",
        "infusion type",
        "type",
        "visit type",
        "series",
        "phase",
        "treatment phase",
    ),
    S.PHQ9_ITEM9: ("phq9_item9", "phq9 item9"),  # (issue 16; 'PHQ9_9' is an item column: items.py)
    S.DOSE: (
        "dose mg per kg",
        "dose_mg_per_kg",
        "dose mg kg",
        "mg kg",
        "mg per kg",
        "dose",
        "ketamine dose",
        "dose per kg",
        "dose mg/kg",
    ),
}
COLUMN_SYNONYMS.update(MONITORING_SYNONYMS)  # a session's monitoring record and the vitals file: ingest/monitoring.py
SYNONYM_INDEX = {
    header_key(s): (target, rank) for target, names in COLUMN_SYNONYMS.items() for rank, s in enumerate(names)
}
#: every target a source column can be mapped to by hand (besides an instrument code, for a column of that
#: instrument's scores): the canonical columns, 'age', the date with its format, and 'ignore'
OVERRIDE_TARGETS = tuple(COLUMN_SYNONYMS) + (DATE_DMY, DATE_MDY, DATE_YMD, IGNORE)
#: what each date target says of the column's format, in words
DATE_FORMATS = {
    S.DATE: "decided from its values",
    DATE_DMY: "day/month/year",
    DATE_MDY: "month/day/year",
    DATE_YMD: "year-month-day",
}

#: wide columns: "<instrument> <visit>"; visit labels -> day
INDUCTION_DAYS = (0, 2, 4, 7, 9, 11)
#: a "Baseline" / "Pre" / "Screening" visit column: the day before the first infusion (inf1 is day 0)
BASELINE_VISIT_DAY = -1
_VISIT = re.compile(
    r"^(?P<ins>.*?)[\s_\-.:/]*(?:"
    r"(?P<base>baseline|base|bl|pre|pretreatment|pre treatment|pre infusion|screening|intake)"
    r"|(?:inf|infusion|tx|treatment|session)[\s_\-#]*(?P<inf>\d+)"
    r"|(?:day|d)[\s_\-]*(?P<day>-?\d+)"
    r"|(?:week|wk|w)[\s_\-]*(?P<week>\d+)"
    r"|(?:month|mo|m)[\s_\-]*(?P<month>\d+)"
    r")$",
    re.IGNORECASE,
)


def wide_column(name: str) -> tuple[str, int | None, str] | None:
    """(instrument code, day or None, visit label) for a wide column such as 'PHQ-9 Day 14', 'PHQ-9 (Week 4)'
    or 'GAD7'."""
    if "(" in str(name):  # 'PHQ-9 (Week 4)': the visit in parentheses (before the instrument's display-name rule)
        visit = wide_column(re.sub(r"[()]", " ", str(name)))
        if visit is not None and visit[1] is not None:
            return visit
    code = normalise_code(name)
    if code is not None:
        return code, None, ""
    m = _VISIT.match(str(name).strip())
    if not m or not m.group("ins").strip():
        return None
    code = normalise_code(m.group("ins"))
    if code is None:
        return None
    if m.group("base"):
        return code, BASELINE_VISIT_DAY, "baseline"
    if m.group("inf"):
        k = int(m.group("inf"))
        return (code, INDUCTION_DAYS[k - 1], f"infusion {k}") if 1 <= k <= len(INDUCTION_DAYS) else None
    if m.group("day"):
        return code, int(m.group("day")), "day"
    if m.group("week"):
        return code, 7 * int(m.group("week")), "week"
    return code, 30 * int(m.group("month")), "month"


def check_overrides(overrides: dict[str, str]) -> None:
    """Raise KeyError naming the targets for an override whose target is unknown."""
    for src, target in overrides.items():
        if target not in OVERRIDE_TARGETS and normalise_code(target) is None:
            raise KeyError(
                f"column '{src}' mapped to {target!r}: unknown target {target!r}; use one of: "
                f"{', '.join(OVERRIDE_TARGETS)} or an instrument code (e.g. PHQ9)"
            )


@dataclass
class Columns:
    """How one file's columns were mapped."""

    target: dict[str, str]  # canonical target -> source column
    wide: list[tuple[str, str, int | None, str]]  # (source, instrument code, day or None, visit label)
    rows: list[dict]  # mapping rows (MAPPING_COLUMNS)
    twice: dict[str, list[str]] = field(default_factory=dict)  # required target -> the sources that all match it

    @property
    def date_target(self) -> str | None:
        """The date target of the file's date column (its format), or None."""
        return next((d for d in DATE_TARGETS if d in self.target), None)


#: the columns a file cannot have two of (which one holds the scores would be a guess)
REQUIRED_ONCE = (S.PATIENT_ID, S.INSTRUMENT, S.SCORE, S.DAY, S.DATE)


def map_columns(file: str, names: list[str], overrides: dict[str, str]) -> Columns:
    """The mapping of a file's columns (``names``): overrides first, then synonyms, then wide columns."""
    lowered = {k.strip().lower(): v for k, v in overrides.items()}
    chosen: dict[str, tuple[int, str, str]] = {}  # target -> (rank, source, how)
    matches: dict[str, list[str]] = {}  # required target -> every source whose name matches it
    wide, rows, used = [], [], set()
    plain = set(names)
    for name in names:
        override = overrides.get(name, lowered.get(name.lower()))
        if override is not None:
            if override == IGNORE:
                rows.append({"file": file, "source": name, "target": "", "how": "ignored"})
                used.add(name)
                continue
            code = normalise_code(override) if override not in OVERRIDE_TARGETS else None
            if code is not None:
                wide.append((name, code, None, ""))
                rows.append({"file": file, "source": name, "target": f"{code} score", "how": "override"})
            else:
                chosen[override] = (-1, name, "override")
            used.add(name)
            continue
        key = header_key(name)
        if key not in SYNONYM_INDEX and (m := re.fullmatch(r"(.+)\.\d+", name)) and m.group(1) in plain:
            key = header_key(m.group(1))  # a repeated name ('Score', 'Score.1'): it matches what the first matches
        if key in SYNONYM_INDEX:
            target, rank = SYNONYM_INDEX[key]
            required = S.DATE if target in DATE_TARGETS else target
            if required in REQUIRED_ONCE:
                matches.setdefault(required, []).append(name)
            if target not in chosen or rank < chosen[target][0]:
                chosen[target] = (rank, name, "synonym")
            continue
        w = wide_column(name)
        if w is not None:
            wide.append((name,) + w)
            label = f"{w[0]} day {w[1]}" if w[1] is not None else f"{w[0]} score"
            rows.append({"file": file, "source": name, "target": label, "how": "wide"})
            used.add(name)
    target = {t: src for t, (_, src, _) in chosen.items()}
    dates = [t for t in DATE_TARGETS if t in target]
    for t in dates[1:]:  # one date column: an explicit format wins over the plain synonym
        if chosen[t][2] == "override" or chosen[dates[0]][2] != "override":
            target.pop(dates[0], None)
            dates[0] = t
        else:
            target.pop(t, None)
    if AGE in target and S.AGE_BAND in target:
        target.pop(AGE)
    for t, src in target.items():
        rows.append({"file": file, "source": src, "target": t, "how": chosen[t][2]})
        used.add(src)
    for name in names:
        if name not in used:
            rows.append({"file": file, "source": name, "target": "", "how": "unused"})
    order = {n: i for i, n in enumerate(names)}
    rows.sort(key=lambda r: order[r["source"]])
    overridden = {S.DATE if t in DATE_TARGETS else t for t, (_, _, how) in chosen.items() if how == "override"}
    twice = {t: src for t, src in matches.items() if len(src) > 1 and t not in overridden}
    return Columns(target, wide, rows, twice)


def mapping_table(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(MAPPING_COLUMNS))


# --- the mapping's problems, with their fixes ------------------------------------------------------------
def fix(column: str, *targets: str) -> dict:
    """The structured fix "map ``column`` to one of ``targets``" (the first is the suggestion)."""
    return {"column": str(column), "targets": list(targets)}


def date_format_fix(column: str) -> dict:
    """Say which date format a column uses: day/month/year (the suggestion) or month/day/year."""
    return fix(column, DATE_DMY, DATE_MDY)


_WHAT = {
    S.PATIENT_ID: "the patient key",
    S.INSTRUMENT: "the instrument",
    S.SCORE: "the score",
    S.DAY: "the day",
    S.DATE: "the date",
}


def twice_message(twice: dict[str, list[str]]) -> tuple[str, dict]:
    """(message, fix) of a file with two columns for one required target: the extra column -> "ignore", or the
    first -> the target."""

    def names(sources):  # 'Score.1' is how the second column named 'Score' is listed
        return " and ".join(
            f"'{s}'"
            + (
                f" (the second column named '{s.rsplit('.', 1)[0]}')"
                if re.fullmatch(r".+\.\d+", s) and s.rsplit(".", 1)[0] in sources
                else ""
            )
            for s in sources
        )

    found = "; ".join(
        f"{names(sources)} are {'both' if len(sources) == 2 else 'all'} {_WHAT[target]} ({target})"
        for target, sources in twice.items()
    )
    target, sources = next(iter(twice.items()))
    message = (
        f"More than one column holds the same thing: {found}. Which one to use would be a guess, so nothing was "
        f"read. Say which one to use: ignore '{sources[1]}', or use '{sources[1]}' as {target} instead of "
        f"'{sources[0]}'; or export one measure per row and upload again."
    )
    return message, fix(sources[1], IGNORE, target)


REQUIRED_WORDS = {
    S.PATIENT_ID: "a patient key (e.g. 'Patient ID')",
    S.INSTRUMENT: "the instrument (e.g. 'Measure': PHQ-9, GAD-7, ...)",
    S.SCORE: "the score (e.g. 'Total Score')",
    S.DATE: "a day or date (e.g. 'Date Administered')",
}


def missing_message(missing: list[str], names: list[str], candidate: tuple[str, str] | None) -> tuple[str, dict | None]:
    """(message, fix) of a file without required columns (``missing``: their descriptions); ``candidate``:
    (source column, target) of an unmapped column that looks like one of them."""
    message = (
        f"The columns the analysis needs were not found: {'; '.join(missing)}. The file's columns are "
        f"{quoted(names, 12)}. Rename the columns in the export, or say which column is which"
    )
    if candidate is None:
        return message + ".", None
    source, target = candidate
    return message + f" ('{source}' looks like {_WHAT.get(target, target)}).", fix(source, target)


_KEY_WORDS = {"id", "key", "ref", "patient", "pt", "subject", "client", "participant", "record", "person", "code"}
_SCORE_WORDS = {"score", "total", "sum", "result", "value", "points", "pts", "rating"}
_DATE_SHAPE = re.compile(r"\s*\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}([ T].*)?\s*")


def candidate(targets: list[str], unused: list[str], raw) -> tuple[str, str] | None:
    """(source column, target): the first unused column that looks like one of the missing ``targets`` (in their
    order), by its name or its distinct values (``raw``: the file's TextTable); None when none does."""
    from analysis.ingest.values import number  # (values reads text columns; the mapping needs it only here)

    def distinct(name) -> list[str]:
        return [str(v).strip() for v in raw.distinct(name)[1] if v is not None and str(v).strip()]

    def share(name, accept) -> bool:
        values = distinct(name)
        return bool(values) and sum(map(accept, values)) >= 0.9 * len(values)

    for target in targets:
        for name in unused:
            if target == S.PATIENT_ID and set(header_key(name).split()) & _KEY_WORDS:
                return name, target
            if target == S.INSTRUMENT and share(name, lambda v: normalise_code(v) is not None):
                return name, target
            named_score = set(header_key(name).split()) & _SCORE_WORDS
            if target == S.SCORE and named_score and share(name, lambda v: number(v)[1] == 0):
                return name, target
            if target == S.DATE and share(name, lambda v: _DATE_SHAPE.fullmatch(v) is not None):
                return name, target
    return None
