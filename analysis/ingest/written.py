"""Values as practices write them (issue 16), beside the rules of :mod:`.values`: age bands kept as written
('65+', '60 and over', '18-29', 'Under 25') and ordered, more sex and route spellings, scores written with their
maximum ('14/27', read only when the maximum is the instrument's), and treatment sessions written in words
('Ketamine IV Infusion - Induction #3', 'Spravato 84mg': kind, route, dose)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from analysis import schema as S
from analysis.config import MAX_AGE_SHOWN
from analysis.ingest.read import TextTable, is_text
from analysis.ingest.values import band_text, kind, recode, route, sex, value_key
from analysis.validate import IssueLog, quoted, rows_text

# --- age bands as practices write them --------------------------------------------------------------
#: the oldest an age band may start at and still be kept as written (older bands are '90+': ages over 89 are
#: identifying, HIPAA's safe harbor)
_BAND_AGE = r"(\d{1,3})"
_WRITTEN_BANDS = (
    (re.compile(rf"^{_BAND_AGE}\s*(?:-|–|—|to|thru|through)\s*{_BAND_AGE}$", re.IGNORECASE), "range"),
    (re.compile(rf"^(?:{_BAND_AGE}\s*\+|{_BAND_AGE}\s*(?:and|or|&)\s*(?:over|older|above|up))$", re.IGNORECASE), "up"),
    (re.compile(rf"^(?:>=|≥|=>|over|above|older than)\s*{_BAND_AGE}$", re.IGNORECASE), "up"),
    (re.compile(rf"^(?:under|below|younger than|<|less than)\s*{_BAND_AGE}$", re.IGNORECASE), "under"),
    (
        re.compile(rf"^(?:<=|≤|=<)\s*{_BAND_AGE}$|^{_BAND_AGE}\s*(?:and|or)\s*(?:under|younger|below)$", re.IGNORECASE),
        "to",
    ),
)


def written_band(text) -> tuple[str, float, float] | None:
    """(band as written, lowest age, highest age) of a well-formed age band that is not one of schema.AGE_BANDS:
    '18-29', '65+', '60 and over', 'Under 25', '>= 65'; None for anything else (a band starting after 89 is not
    kept as written: see ``band_text``)."""
    if text is None:
        return None
    written = " ".join(str(text).split())
    for pattern, shape in _WRITTEN_BANDS:
        m = pattern.match(written)
        if not m:
            continue
        ages = [int(g) for g in m.groups() if g is not None]
        if shape == "range":
            lo, hi = ages
            if not lo < hi <= 120:
                return None
        elif shape == "up":
            lo, hi = ages[0], 120
        elif shape == "under":
            lo, hi = 0, ages[0] - 1
        else:
            lo, hi = 0, ages[0]
        if lo > MAX_AGE_SHOWN or hi < 18 or lo > hi:
            return None
        return written, float(lo), float(hi)
    return None


def age_band_key(band: str) -> tuple[float, float, str]:
    """The order of age bands, written ones among them: by lowest, then highest age ('Under 25' < '18-29' <
    '25-34' < '65+'); a band that is not an age band last."""
    if band in S.AGE_BANDS:
        lo = 90.0 if band == "90+" else float(band.split("-")[0])
        hi = 120.0 if band == "90+" else float(band.split("-")[1])
        return lo, hi, band
    found = written_band(band)
    return (found[1], found[2], band) if found else (float("inf"), float("inf"), str(band))


def practice_band(k: str, written: str | None = None) -> str | None:
    """An age band: ``band_text``'s canonical band, else a well-formed band kept as ``written`` ('65+', '60 and
    over', '18-29', 'Under 25'); ``k`` is the value_key of the value as ``written``."""
    canonical = band_text(k)
    if canonical is not None:
        return canonical
    found = written_band(written if written is not None else k)
    return found[0] if found else None


def age_band_column(raw: TextTable, source: str, log: IssueLog, file: str) -> pd.Categorical:
    """Age bands as the practice writes them: canonical bands and ages as ``band_text`` reads them, any other
    well-formed band kept as written; categories ordered by ``age_band_key``; unknown values left blank with
    the UNKNOWN_AGE_BAND warning."""
    codes, values = raw.distinct(source)
    mapped = [None if value_key(v) == "" else practice_band(value_key(v), v) for v in values]
    unknown = [i for i, v in enumerate(values) if value_key(v) != "" and mapped[i] is None]
    if unknown:
        rows = raw.rows[np.isin(codes, unknown)]
        log.add(
            "warning",
            "UNKNOWN_AGE_BAND",
            f"{file}: {len(rows)} age band value(s) are not age "
            f"bands (such as 18-24, 65+, 60 and over, Under 25); left blank ({rows_text(rows)}).",
            source,
            rows.tolist(),
        )
    cat = recode(codes, mapped)
    return cat.reorder_categories(sorted(cat.categories, key=age_band_key))


# --- sex and route spellings (issue 16) ------------------------------------------------------------------------
MORE_SEXES = {
    "fem": "F",
    "femme": "F",
    "feminine": "F",
    "cis female": "F",
    "cisgender female": "F",
    "cis woman": "F",
    "girl": "F",
    "mujer": "F",
    "femenino": "F",
    "masc": "M",
    "masculine": "M",
    "cis male": "M",
    "cisgender male": "M",
    "cis man": "M",
    "boy": "M",
    "hombre": "M",
    "masculino": "M",
    "1": None,  # (numeric codes differ between EHRs: never guessed)
    "non-binary": "X",
    "non binary person": "X",
    "genderqueer": "X",
    "gender queer": "X",
    "agender": "X",
    "two spirit": "X",
    "other gender": "X",
    "another gender": "X",
    "transgender": "X",
    "trans": "X",
}
MORE_SEX_BLANKS = {
    "unk",
    "not specified",
    "unspecified",
    "not stated",
    "choose not to disclose",
    "prefer not to answer",
    "declined to answer",
    "patient declined",
    "asked but unknown",
    "not asked",
    "undisclosed",
}


def sex_spelling(k: str) -> str | None:
    """F, M or X of a sex as practices write it ('Female', 'F (female)', 'Cis woman', 'Non-binary'); ``k``: a
    value_key."""
    found = sex(k)
    if found is not None:
        return found
    if k in MORE_SEXES:
        return MORE_SEXES[k]
    words = [w for w in k.split() if w not in ("patient", "gender", "sex", "identity")]
    found_words = {sex(w) for w in words if sex(w) is not None and len(w) > 1}
    return found_words.pop() if len(found_words) == 1 else None


MORE_ROUTES = {
    "i v": "IV",
    "ivpb": "IV",
    "iv drip": "IV",
    "iv push": "IV",
    "ivp": "IV",
    "intravenously": "IV",
    "i m": "IM",
    "inj": "IM",
    "injection": "IM",
    "im injection": "IM",
    "intranasally": "intranasal",
    "nasal spray": "intranasal",
    "nebulized": "intranasal",
    "ns": None,  # (normal saline or nasal spray: never guessed)
    "by mouth": "oral",
    "p o": "oral",
    "rdt": "oral",
    "odt": "oral",
    "oral tablet": "oral",
    "capsule": "oral",
    "s l": "oral",
    "buccal": "oral",
    "spravato nasal spray": "esketamine",
    "esketamine nasal spray": "esketamine",
    "esketamine in": "esketamine",
}


def route_spelling(k: str) -> str | None:
    """A route as practices write it ('I.V.', 'IV drip', 'by mouth', 'Spravato Nasal Spray'); ``k``: a
    value_key."""
    if k in MORE_ROUTES:
        return MORE_ROUTES[k]
    return route(k)


# --- scores with a stated maximum (issue 16) ---------------------------------------------------------------------
OUT_OF = re.compile(r"^\s*([+-]?\d+(?:[.,]\d+)?)\s*(?:/|out of|of)\s*(\d+)\s*$", re.IGNORECASE)


def score_out_of(v) -> tuple[float, float] | None:
    """(score, stated maximum) of a score written with its maximum ('14/27', '14 / 27', '14 out of 27');
    None for anything else."""
    if v is None:
        return None
    m = OUT_OF.match(str(v))
    if not m:
        return None
    return float(m.group(1).replace(",", ".")), float(m.group(2))


# --- treatment sessions written as free text (issue 16) ----------------------------------------------------------
#: a session written in words says more than its kind: a drug, a route or a dose
SESSION_WORDS = re.compile(
    r"(?i)\b(?:ketamine|esketamine|spravato|ketalar|infusions?|iv|im|intranasal|nasal|troche|lozenge|"
    r"\d+(?:[.,]\d+)?\s*mg)\b"
)
_DOSE_WORDS = re.compile(r"(?i)(\d+(?:[.,]\d+)?)\s*mg\s*(/\s*kg|per\s*kg)?\b")


def session_text(v) -> tuple[str | None, str | None, float, float, bool]:
    """(kind, route, dose in mg/kg, dose in mg, says treatment) of a session written in words:
    'Ketamine IV Infusion - Induction #3' -> induction, IV; 'Booster' -> booster; 'Spravato 84mg' ->
    esketamine, 84 mg; 'IV ketamine 0.5 mg/kg' -> 0.5 mg/kg. A session whose words name no kind has kind None
    (``says treatment`` tells whether its words are a treatment's)."""
    text = "" if v is None else str(v)
    k = value_key(text)
    found_kind = kind(k)
    found_route = route_spelling(re.sub(r"\b\d+(?: \d+)?\s*mg\b|\bkg\b|\bper\b|\b\d+\b", " ", k).strip())
    if found_route is None:
        routes = {route_spelling(w) for w in k.split() if route_spelling(w) is not None and w != "in"}
        found_route = "esketamine" if "esketamine" in routes else (routes.pop() if len(routes) == 1 else None)
    per_kg, mg = np.nan, np.nan
    m = _DOSE_WORDS.search(text)
    if m:
        x = float(m.group(1).replace(",", "."))
        per_kg, mg = (x, np.nan) if m.group(2) else (np.nan, x)
    return found_kind, found_route, per_kg, mg, found_kind is not None or bool(SESSION_WORDS.search(text))


def is_session_text(values: list) -> bool:
    """Whether a kind column is written in words (a drug, route or dose beside the kind) rather than coded."""
    return any(v is not None and SESSION_WORDS.search(str(v)) for v in values)


def session_columns(raw: TextTable, source: str, log: IssueLog, file: str) -> dict[str, object]:
    """{kind, route, dose_mg_per_kg, dose_mg} of a sessions column written in words (``session_text`` once per
    distinct value). A session whose words are a treatment's but name no kind ('Spravato 84mg') is counted as
    induction, with the KIND_ASSUMED_FROM_TEXT info."""
    codes, values = raw.distinct(source)
    parsed = [session_text(v) for v in values]
    assumed = [i for i, p in enumerate(parsed) if p[0] is None and p[4]]
    if assumed:
        rows = raw.rows[np.isin(codes, assumed)]
        log.add(
            "info",
            "KIND_ASSUMED_FROM_TEXT",
            f"{file}: session(s) {quoted(sorted({str(values[i]).strip() for i in assumed}))} say no kind "
            f"(induction, booster, maintenance); they were counted as induction ({rows_text(rows)}).",
            source,
            rows.tolist(),
        )
    kinds = [p[0] or ("induction" if p[4] else None) for p in parsed]
    per_kg = np.array([p[2] for p in parsed] + [np.nan])[codes]
    mg = np.array([p[3] for p in parsed] + [np.nan])[codes]
    return {
        S.KIND: recode(codes, kinds),
        S.ROUTE: recode(codes, [p[1] for p in parsed]),
        S.DOSE: per_kg,
        S.DOSE_MG: mg,
    }


def scores_with_maximum(raw: TextTable, source: str, score: np.ndarray, reason: np.ndarray, instrument, log, file):
    """Scores written with their maximum ('14/27'): accepted where the stated maximum is the row's instrument's
    (PHQ-9: 27), with the SCORE_OUT_OF info; where it is not (a '14/30' PHQ-9: another version of the form, or a
    typing slip) the score stays unread, with the SCORE_MAXIMUM_MISMATCH warning. ``score`` and ``reason`` are
    ``numbers``' arrays for the column (changed copies are returned); ``instrument``: each row's code."""
    col = raw.table[source]
    if not is_text(col) or not (reason == 2).any():
        return score, reason
    from analysis.instruments import get

    codes, values = raw.distinct(source)
    out_of = {i: p for i, v in enumerate(values) if (p := score_out_of(v)) is not None}
    if not out_of:
        return score, reason
    score, reason = score.copy(), reason.copy()
    at = np.flatnonzero(np.isin(codes, list(out_of)))
    ins = np.asarray(pd.Series(instrument).astype(object))[at]
    accepted, mismatched, said = [], [], set()
    for row, code, value_code in zip(at, ins, codes[at]):
        x, top = out_of[value_code]
        if code is not None and code == code and get(code).max == top:
            score[row], reason[row] = x, 0
            accepted.append(row)
        else:
            mismatched.append(row)
            said.add(code if code == code and code else "no instrument")
    if accepted:
        log.add(
            "info",
            "SCORE_OUT_OF",
            f"{file}: {len(accepted)} score(s) were written with their maximum (such as '14/27'); the maximum is "
            "the instrument's, so the score before it was read.",
            source,
        )
    if mismatched:
        rows = raw.rows[np.array(mismatched)]
        log.add(
            "warning",
            "SCORE_MAXIMUM_MISMATCH",
            f"{file}: {len(mismatched)} score(s) state a maximum that is not their instrument's "
            f"({', '.join(sorted(said))}); another version of the form or a typing slip: they were not read. Check "
            f"the instrument of these rows ({rows_text(rows)}).",
            source,
            rows.tolist(),
        )
    return score, reason
