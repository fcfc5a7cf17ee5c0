"""What a file holds (its role: assessments, treatments or vitals), decided from what its columns hold, and the
columns that only their values name (an instrument column called 'Form', the sessions under 'Service').

A file's role is weighed from several signals, the column names being one of them:

- **assessments**: an instrument column and a score column (by name, or by values: instrument names such as
  PHQ-9, GAD-7 and numbers inside those instruments' ranges), one column per instrument and visit, or item
  columns of a scale (PHQ-9 items 1-9);
- **treatments**: dated sessions per patient whose words say treatment (infusion, booster, ketamine,
  esketamine, Spravato, mg, IV, ...), a kind, dose or route column;
- **vitals**: minute-by-minute monitoring (a minute column beside blood pressure, heart rate or SpO2).

The user may choose a file's role by hand: ``{ROLE_KEY + file name: role}`` among the overrides of the import
(the Data page's selectbox, the command line's ``--role FILE=ROLE``); a chosen role wins over every signal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from analysis import schema as S
from analysis.ingest import columns as C
from analysis.ingest import monitoring
from analysis.ingest import values as values_
from analysis.instruments import get, normalise_code

ASSESSMENTS, TREATMENTS, VITALS = "assessments", "treatments", "vitals"
ROLES = (ASSESSMENTS, TREATMENTS, VITALS)
#: the prefix of an override that chooses a file's role: {"role of treat.xlsx": "treatments"}
ROLE_KEY = "role of "

#: how much of a column's distinct values must fit for the values to name the column
SHARE = 0.9
#: words of a treatment session, in a value or a column name
TREATMENT_WORDS = re.compile(
    r"(?i)\b(?:infusions?|infused|ketamine|esketamine|spravato|ketalar|booster|boost|induction|maintenance|"
    r"iv|im|intranasal|nasal|troche|lozenge|\d+(?:[.,]\d+)?\s*mg(?:\s*/\s*kg)?|mg/kg|dose|session|series)\b"
)


@dataclass
class Role:
    """A file's role and why (sentences an office manager can read), and whether the user chose it."""

    role: str | None
    why: list[str] = field(default_factory=list)
    chosen: bool = False

    def text(self) -> str:
        return "; ".join(self.why)


def chosen_roles(overrides: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """(column overrides, {file name: role}) of the import's overrides; KeyError for an unknown role."""
    columns, roles = {}, {}
    for key, target in overrides.items():
        if str(key).startswith(ROLE_KEY):
            if target not in ROLES:
                raise KeyError(
                    f"file '{key[len(ROLE_KEY) :]}' given the role {target!r}; use one of {', '.join(ROLES)}"
                )
            roles[key[len(ROLE_KEY) :]] = target
        else:
            columns[key] = target
    return columns, roles


def _distinct_text(raw, name) -> list[str]:
    return [str(v).strip() for v in raw.distinct(name)[1] if v is not None and str(v).strip()]


def _fits(values: list[str], accept) -> bool:
    return bool(values) and sum(map(accept, values)) >= SHARE * len(values)


def instrument_by_values(raw, name: str) -> bool:
    """Whether a column's values are instrument names (PHQ-9, GAD7, 'PHQ-9 Total Score', ...)."""
    return _fits(_distinct_text(raw, name), lambda v: normalise_code(v) is not None)


def scores_by_values(raw, name: str, codes: list[str]) -> bool:
    """Whether a column holds numbers inside the ranges of the instruments found (``codes``)."""
    if not codes:
        return False
    top = max(get(c).max for c in codes)
    values = _distinct_text(raw, name)

    def ok(v):
        x, reason = values_.number(v)
        return reason == 0 and 0 <= x <= top

    return _fits(values, ok)


def sessions_by_values(raw, name: str) -> bool:
    """Whether a column's values name treatment sessions ('Ketamine IV Infusion - Induction #3', 'Booster',
    'Spravato 84mg')."""
    values = _distinct_text(raw, name)
    return bool(values) and sum(
        bool(TREATMENT_WORDS.search(v)) or values_.kind(values_.value_key(v)) is not None for v in values
    ) >= 0.6 * len(values)


#: a date with the month's name: '14-Mar-2025', '14 March 2025', 'Mar 14, 2025'
_NAMED_MONTH_DATE = re.compile(
    r"\s*(\d{1,2}[-/ ]?[A-Za-z]{3,9}\.?[-/ ,]+\d{2,4}|[A-Za-z]{3,9}\.? \d{1,2},? \d{4})([ T].*)?\s*"
)


def dates_by_values(raw, name: str) -> bool:
    return _fits(
        _distinct_text(raw, name),
        lambda v: C._DATE_SHAPE.fullmatch(v) is not None or _NAMED_MONTH_DATE.fullmatch(v) is not None,
    )


def _unused(cols: C.Columns) -> list[str]:
    return [r["source"] for r in cols.rows if r["how"] == "unused"]


def _use(cols: C.Columns, source: str, target: str) -> None:
    """Map an unused column to ``target`` because of its values (how: 'values')."""
    cols.target[target] = source
    for r in cols.rows:
        if r["source"] == source:
            r["target"], r["how"] = target, "values"


def complete(raw, cols: C.Columns, role: str | None = None) -> list[str]:
    """Map the columns only their values name: an instrument column (values such as PHQ-9), its score column
    (numbers inside the instruments' ranges) and a sessions column (values such as 'Ketamine IV Infusion'),
    changing ``cols`` in place; for a file chosen or found to hold treatments, a date column by its values too,
    and for a file of scores the one column whose values are all dates ('completed_at': 2025-01-06 09:15).
    The sentences saying so."""
    t, said = cols.target, []
    unused = _unused(cols)
    if S.INSTRUMENT not in t and role in (None, ASSESSMENTS):
        for name in unused:
            if instrument_by_values(raw, name):
                _use(cols, name, S.INSTRUMENT)
                said.append(f"the values of '{name}' are instrument names")
                break
    if S.INSTRUMENT in t and S.SCORE not in t:
        codes = [c for c in (normalise_code(v) for v in _distinct_text(raw, t[S.INSTRUMENT])) if c]
        for name in _unused(cols):
            if scores_by_values(raw, name, sorted(set(codes))):
                _use(cols, name, S.SCORE)
                said.append(f"the values of '{name}' are numbers inside the instruments' ranges")
                break
    long_format = S.INSTRUMENT in t and S.SCORE in t
    if S.KIND not in t and role != ASSESSMENTS and not long_format and not cols.wide:
        for name in _unused(cols):
            if sessions_by_values(raw, name):
                _use(cols, name, S.KIND)
                said.append(f"the values of '{name}' name treatment sessions")
                break
    if role == TREATMENTS or (S.KIND in t and not long_format and not cols.wide) or long_format:
        if S.DAY not in t and cols.date_target is None:
            dated = [n for n in _unused(cols) if dates_by_values(raw, n)]
            if len(dated) == 1 or (dated and not long_format):
                _use(cols, dated[0], S.DATE)
                said.append(f"the values of '{dated[0]}' are dates")
    return said


def decide(raw, cols: C.Columns, names: list[str], chosen: str | None = None, said: list[str] = ()) -> Role:
    """The role of a file from its mapped columns and their values (``said``: what ``complete`` found by the
    values); ``chosen`` (the user's choice) wins."""
    if chosen is not None:
        return Role(chosen, ["chosen by hand"], chosen=True)
    t = cols.target
    found_by_values = {s.split("'")[1] for s in said}

    def how(target):
        return "its values" if t.get(target) in found_by_values else "its name"

    if monitoring.is_vitals(t) and S.KIND not in t and not (S.INSTRUMENT in t and S.SCORE in t):
        return Role(VITALS, [f"minutes in '{t[S.MINUTE]}' beside blood pressure, heart rate or SpO2 columns"])
    points = {ASSESSMENTS: [], TREATMENTS: []}
    if S.INSTRUMENT in t and S.SCORE in t:
        points[ASSESSMENTS].append(
            f"instrument in '{t[S.INSTRUMENT]}' (by {how(S.INSTRUMENT)}) and scores in '{t[S.SCORE]}' "
            f"(by {how(S.SCORE)})"
        )
    if cols.wide:
        points[ASSESSMENTS].append(f"a column per instrument and visit ('{cols.wide[0][0]}')")
    if S.KIND in t:
        points[TREATMENTS].append(f"sessions in '{t[S.KIND]}' (by {how(S.KIND)})")
    if S.DOSE in t:
        points[TREATMENTS].append(f"doses in '{t[S.DOSE]}'")
    if monitoring.is_sessions(t):
        points[TREATMENTS].append("a session monitoring record (vitals before and during dosing, dissociation, ...)")
    if S.ROUTE in t and points[TREATMENTS]:
        points[TREATMENTS].append(f"routes in '{t[S.ROUTE]}'")
    if points[ASSESSMENTS]:
        return Role(ASSESSMENTS, points[ASSESSMENTS])
    if points[TREATMENTS]:
        dated = S.DAY in t or cols.date_target is not None
        why = points[TREATMENTS] + (["dated sessions per patient"] if dated and S.PATIENT_ID in t else [])
        return Role(TREATMENTS, why)
    return Role(None, ["no instrument and score, no sessions and no vitals were found"])
