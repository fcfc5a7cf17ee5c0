"""The instrument registry: data (``instruments.csv`` beside this file), not code.

Each instrument has a code, name, score range, response rule (a relative drop from baseline),
remission rule (score at or below a maximum), severity bands, minimal clinically important
difference and a citation. Scores are "higher is worse" for every instrument here.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd

REGISTRY_PATH = Path(__file__).with_name("instruments.csv")


@dataclass(frozen=True)
class Instrument:
    code: str
    name: str
    min: float
    max: float
    response_drop: float  # response: (baseline - score) / baseline >= response_drop
    remission_max: float | None  # remission: score <= remission_max (None: no remission rule)
    band_cuts: tuple[float, ...]  # lower bounds of the bands above the first
    band_labels: tuple[str, ...]
    mcid: float | None
    safety_rule: str
    synonyms: tuple[str, ...]
    citation: str
    cutoff: float | None = None  # a validated screening cut-off (a score at or above it screens positive)

    def band(self, score: float) -> str | None:
        """Severity band label of a score (None when the instrument has no validated bands)."""
        if not self.band_labels or score is None or (isinstance(score, float) and math.isnan(score)):
            return None
        i = sum(score >= c for c in self.band_cuts)
        return self.band_labels[i]

    def band_ranges(self) -> list[tuple[str, float, float]]:
        """(label, lower, upper) of each severity band, for shading charts."""
        if not self.band_labels:
            return []
        edges = (self.min,) + self.band_cuts + (self.max,)
        return [(lab, edges[i], edges[i + 1]) for i, lab in enumerate(self.band_labels)]


def _key(text: str) -> str:
    """Spelling-insensitive key: upper case, letters and digits only."""
    return re.sub(r"[^0-9A-Z]", "", str(text).upper().replace("Å", "A"))


def _split(cell: str) -> tuple[str, ...]:
    return tuple(s.strip() for s in str(cell).split(";") if s.strip()) if isinstance(cell, str) else ()


def _num(cell) -> float | None:
    return None if cell is None or (isinstance(cell, float) and math.isnan(cell)) or cell == "" else float(cell)


@lru_cache(maxsize=1)
def registry() -> dict[str, Instrument]:
    """All instruments by code, read from the registry CSV."""
    table = pd.read_csv(REGISTRY_PATH, dtype=str, keep_default_na=False)
    out = {}
    for r in table.to_dict("records"):
        out[r["code"]] = Instrument(
            code=r["code"],
            name=r["name"],
            min=float(r["min"]),
            max=float(r["max"]),
            response_drop=float(r["response_drop"]),
            remission_max=_num(r["remission_max"]),
            band_cuts=tuple(float(c) for c in _split(r["band_cuts"])),
            band_labels=_split(r["band_labels"]),
            mcid=_num(r["mcid"]),
            safety_rule=r["safety_rule"],
            synonyms=_split(r["synonyms"]),
            citation=r["citation"],
            cutoff=_num(r.get("cutoff", "")),
        )
    return out


@lru_cache(maxsize=1)
def _synonym_index() -> dict[str, str]:
    index = {}
    for code, ins in registry().items():
        for s in (code, ins.name) + ins.synonyms:
            index[_key(s)] = code
    return index


def normalise_code(text) -> str | None:
    """Canonical instrument code for a spelling such as 'PHQ-9' or 'Pain NRS (0-10)'; None if unknown."""
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return None
    key = _key(text)
    if key in _synonym_index():
        return _synonym_index()[key]
    # "PHQ-9 Total Score", "GAD7_score": drop trailing score words
    stripped = re.sub(r"(TOTALSCORE|TOTAL|SCORE|SUM)+$", "", key)
    if stripped in _synonym_index():
        return _synonym_index()[stripped]
    # "PHQ-9 (Patient Health Questionnaire)": a display name, the code before the parenthesis
    before = str(text).split("(", 1)[0]
    if before != str(text) and before.strip():
        return normalise_code(before)
    return None


def get(code: str) -> Instrument:
    """The instrument with this code (or any known spelling of it)."""
    canonical = normalise_code(code)
    if canonical is None:
        raise KeyError(f"instrument {code!r} not in the registry; known: {', '.join(registry())}")
    return registry()[canonical]


def registry_table() -> pd.DataFrame:
    """The registry as a table, for the Methods page and the report."""
    return pd.read_csv(REGISTRY_PATH, dtype=str, keep_default_na=False)
