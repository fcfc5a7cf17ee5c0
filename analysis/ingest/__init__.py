"""Import of EHR exports as they really come, into the canonical tables of DESIGN "Canonical data".

The one public face is ``load_files`` (-> ``Loaded``); the rest of this package is how it gets there:

- read.py: bytes -> text table (file type, encoding, delimiter, title lines, pyarrow's parse, the careful
  csv-module reader); the seam where another reader (xlsx, FHIR) would plug in.
- columns.py: which column is which (synonyms, overrides, wide columns) and the structured fixes of the
  mapping's problems.
- values.py: one rule per kind of value (numbers, ages -> age bands, sex, route, kind, condition, free text).
- days.py: dates -> day offsets (date formats per column, ambiguity refused, day 0, start_month).
- frames.py: -> canonical tables: ``load_files`` and ``Loaded``.
- columnar.py: the measured fast path, behind one switch (``columnar.ENABLED``); nothing else imports it but
  frames.py, and with it off every result is the same.

The checks and the PHI guard are in :mod:`analysis.validate`.
"""

from analysis.ingest.columns import (
    AGE,
    BASELINE_VISIT_DAY,
    COLUMN_SYNONYMS,
    DATE_DMY,
    DATE_FORMATS,
    DATE_MDY,
    DATE_TARGETS,
    DATE_YMD,
    IGNORE,
    INDUCTION_DAYS,
    MAPPING_COLUMNS,
    OVERRIDE_TARGETS,
    wide_column,
)
from analysis.ingest.days import EXCEL_EPOCH_OFFSET, parse_dates
from analysis.ingest.frames import Loaded, load_files
from analysis.ingest.values import age_band, age_bands, normalise_condition

__all__ = [
    "AGE",
    "BASELINE_VISIT_DAY",
    "COLUMN_SYNONYMS",
    "DATE_DMY",
    "DATE_FORMATS",
    "DATE_MDY",
    "DATE_TARGETS",
    "DATE_YMD",
    "EXCEL_EPOCH_OFFSET",
    "IGNORE",
    "INDUCTION_DAYS",
    "MAPPING_COLUMNS",
    "OVERRIDE_TARGETS",
    "Loaded",
    "age_band",
    "age_bands",
    "load_files",
    "normalise_condition",
    "parse_dates",
    "wide_column",
]
