"""Files in, canonical tables out: ``load_files`` reads each file (:mod:`.read`), maps its columns
(:mod:`.columns`), reads its values (:mod:`.values`), turns dates into days (:mod:`.days`), runs the checks
of :mod:`analysis.validate`, and returns a :class:`Loaded`: the canonical assessments and treatments of
DESIGN "Canonical data", the issues table and the column mapping.

Bad data never raises: it ends in the issues table (each issue with its ``fix`` where mapping a column by
hand would solve it) and ``ok``. A refused upload keeps the mapping of its columns as far as they were read.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from analysis import phi
from analysis import schema as S
from analysis import validate as V
from analysis.ingest import columnar, monitoring
from analysis.ingest import columns as C
from analysis.ingest import days as D
from analysis.ingest import items as items_
from analysis.ingest import roles as R
from analysis.ingest import sources as sources_
from analysis.ingest import values as values_
from analysis.ingest import written as W
from analysis.ingest.read import Refused, TextTable, drop_repeated_headers, is_text, open_file, source_bytes
from analysis.instruments import normalise_code
from analysis.validate import FILE, ROW, IssueLog, quoted, rows_text


@dataclass(frozen=True)
class Loaded:
    """What ``load_files`` read: canonical tables, the issues table, and how columns were mapped."""

    assessments: pd.DataFrame
    treatments: pd.DataFrame | None
    issues: pd.DataFrame
    mapping: pd.DataFrame
    rows_read: int
    files: tuple[str, ...]
    ok: bool
    roles: tuple = ()  # per file read: {"file", "role", "why", "chosen"} (issue 16: roles by content)

    def to_json(self) -> dict:
        a = self.assessments
        return {
            "ok": bool(self.ok),
            "rows_read": int(self.rows_read),
            "rows_kept": int(len(a)),
            "patients": int(a[S.PATIENT_ID].nunique()),
            "instruments": sorted(a[S.INSTRUMENT].dropna().unique().tolist()),
            "issues": [
                {
                    "severity": r["severity"],
                    "code": r["code"],
                    "message": r["message"],
                    "column": r["column"],
                    "rows": list(r["rows"]),
                    "fix": r["fix"],
                }
                for r in self.issues.to_dict("records")
            ],
            "mapping": self.mapping.to_dict("records"),
            "files": list(self.files),
            "roles": [dict(r) for r in self.roles],
        }

    def to_text(self, phrase_fix=None) -> str:
        """The validation report as text; ``phrase_fix(fix)``: how a front end says an issue's fix (after its
        message), e.g. the command line's ``--map 'SOURCE=TARGET'``."""
        j = self.to_json()
        lines = []
        if self.ok:
            lines.append(
                f"Usable: {j['rows_kept']:,} scores kept ({j['rows_read']:,} rows read from {len(self.files)} "
                f"file{'s' if len(self.files) > 1 else ''}); {j['patients']:,} patients; instruments "
                f"{', '.join(j['instruments'])}."
            )
            if self.treatments is not None:
                lines.append(f"Treatments: {len(self.treatments):,} sessions.")
        else:
            lines.append("Not usable: nothing was kept. What to fix:")
        for r in self.roles:
            lines.append(f"File '{r['file']}': {r['role'] or 'not recognised'} ({r['why']}).")
        used = self.mapping[self.mapping["how"] != "unused"]
        if len(used):
            lines.append("Columns: " + "; ".join(f"'{r.source}' -> {r.target} ({r.how})" for r in used.itertuples()))
        unused = self.mapping[self.mapping["how"] == "unused"]
        if len(unused):
            lines.append("Not used: " + ", ".join(f"'{s}'" for s in unused["source"]))
        for r in self.issues.itertuples():
            fix = f" {phrase_fix(r.fix)}" if phrase_fix is not None and r.fix else ""
            lines.append(f"  {r.severity.upper():8s}{r.code}: {r.message}{fix}")
        if self.issues.empty:
            lines.append("No problems found.")
        return "\n".join(lines)


# --- the entry point --------------------------------------------------------------------------------------
def load_files(
    sources, overrides: dict[str, str] | None = None, strict_dates: bool = False, fast: bool | None = None
) -> Loaded:
    """Read one or more assessments files and at most one treatments file into the canonical tables.

    sources: paths or (file_name, bytes) tuples; overrides: {source column: canonical target or 'ignore'}
    (targets: columns.OVERRIDE_TARGETS, or an instrument code for a column of that instrument's scores);
    fast: the columnar fast path (None: ``columnar.ENABLED``; the answer is the same either way). Bad data never
    raises: it ends in ``issues`` and ``ok``."""
    if isinstance(sources, (str, Path)) or (
        isinstance(sources, tuple) and len(sources) == 2 and isinstance(sources[1], (bytes, bytearray))
    ):
        sources = [sources]
    overrides, chosen = R.chosen_roles(dict(overrides or {}))
    C.check_overrides(overrides)
    found_roles: list[dict] = []
    fast = columnar.ENABLED if fast is None else fast
    log = IssueLog()
    mapping: list[dict] = []
    assessment_parts, treatment_parts, assessment_parsed, treatment_parsed = [], [], [], []
    vitals_parts = []  # minute-by-minute vitals files (ingest/monitoring.py)
    rows_read, refused = 0, False
    seen_sources: set[str] = set()
    for parts in sources_.parts([source_bytes(source) for source in sources], log):
        for name, opener in parts:
            fi = len(log.files)
            log.files.append(name)
            cols = None
            role = R.Role(None)
            try:
                frame, kind, n, cols, parsed = _load_one(name, opener, fi, overrides, log, fast, chosen.get(name), role)
            except Refused as e:
                if role.why:
                    found_roles.append({"file": name, "role": role.role, "why": role.text(), "chosen": role.chosen})
                mapping += e.columns.rows if getattr(e, "columns", None) is not None else []
                if len(parts) > 1 and role.role is None and e.code in ("MISSING_COLUMNS", "NO_DATA_ROWS"):
                    log.add(  # (a workbook's notes or summary sheet: the other sheets are read)
                        "info",
                        "SHEET_LEFT_OUT",
                        f"{name}: the sheet holds no scores and no sessions (its columns are not a patient key "
                        "with an instrument and a score, or with dated sessions); it was left out.",
                    )
                    continue
                if e.code:  # (PHI refusals log their own issues)
                    column = e.fix["column"] if e.fix else None  # (the column to map by hand, where there is one)
                    log.add("error", e.code, f"{name}: {e.message}", column, fix=e.fix)
                refused = True
                continue
            rows_read += n
            found_roles.append({"file": name, "role": kind, "why": role.text(), "chosen": role.chosen})
            mapping += cols.rows
            seen_sources |= {r["source"].strip().lower() for r in cols.rows if r["how"] in ("override", "ignored")}
            if kind == "vitals":
                vitals_parts.append(frame)
                continue
            (assessment_parts if kind == "assessments" else treatment_parts).append(frame)
            (assessment_parsed if kind == "assessments" else treatment_parsed).append(parsed)
    for file in chosen:
        if file not in log.files:
            log.add(
                "warning",
                "ROLE_UNUSED",
                f"The file '{file}' was given the role {chosen[file]}, but no file of that name was uploaded.",
            )
    for src in overrides:
        if src.strip().lower() not in seen_sources and not refused:
            log.add(
                "warning",
                "OVERRIDE_UNUSED",
                f"Column '{src}' was mapped to {overrides[src]}, but no file has a column named '{src}'.",
                src,
            )
    if len(treatment_parts) > 1:
        log.add(
            "error",
            "TWO_TREATMENT_FILES",
            "More than one treatments file was given; combine them into one file and upload again.",
        )
        refused = True
    if not assessment_parts and not refused:
        log.add(
            "error",
            "NO_ASSESSMENTS",
            "No assessments file was found: the files hold no instrument scores (a "
            "treatments file alone cannot be analysed). Upload the assessments export too (patient key, instrument, "
            "score, day or date).",
        )
        refused = True
    names = tuple(log.files)
    if refused or log.has_errors:
        return Loaded(
            _empty_assessments(),
            None,
            log.table(),
            C.mapping_table(mapping),
            rows_read,
            names,
            False,
            tuple(found_roles),
        )

    treat_raw = treatment_parts[0] if treatment_parts else None
    if treat_raw is None and vitals_parts:
        treat_raw = monitoring.sessions_as_treatments(vitals_parts, log)
    origins = D.origins(treat_raw)  # (each patient's first treatment: for the treatments' days and day 0)
    treat = D.treatment_days(treat_raw, origins, log) if treat_raw is not None else None
    if treat is not None and vitals_parts:
        treat = monitoring.merge_vitals(treat, vitals_parts, origins, log)
    frame = _concat(assessment_parts)
    resorted = len(assessment_parts) > 1 or any(r["how"] == "wide" for r in mapping)  # rows sorted back at the end
    parsed = assessment_parsed[0] if len(assessment_parsed) == 1 else {}
    frame = D.assign_days(frame, origins, treat_raw is not None, strict_dates, log)
    frame = V.drop_out_of_range(frame, log, fast=fast)
    frame = V.drop_implausible_days(frame, log)
    # (patient, instrument, day, score) first: an export sorted by them is checked without hashing
    present = [c for c in (S.PATIENT_ID, S.INSTRUMENT, S.DAY, S.SCORE, *S.PATIENT_ATTRIBUTES) if c in frame.columns]
    grouped_by = [c for c in (S.PATIENT_ID, S.DAY) if c in frame.columns]
    frame = V.drop_duplicates(frame, present, log, grouped_by=grouped_by, fast=fast)
    frame = V.resolve_conflicts(frame, S.PATIENT_ATTRIBUTES, log, fast=fast)
    frame = frame.sort_values([FILE, ROW], kind="stable") if resorted else frame
    optional = tuple(c for c in S.OPTIONAL_ASSESSMENT_COLUMNS if c in frame.columns)  # (issue 16: item 9)
    assessments = _output(
        frame,
        S.ASSESSMENT_COLUMNS + optional,
        {S.SCORE: "float64", S.DAY: "Int64", S.PHQ9_ITEM9: "Int64"},
        parsed,
        fast,
    )
    treatments = None
    if treat is not None:
        numbers = {S.DAY: "Int64", S.DOSE: "float64", S.DOSE_MG: "float64"}
        optional = tuple(c for c in S.OPTIONAL_TREATMENT_COLUMNS if c in treat.columns)  # (dose in mg)
        parsed_t = treatment_parsed[0] if treatment_parsed else {}
        treatments = _output(treat, S.TREATMENT_COLUMNS + optional, numbers, parsed_t, fast)
        treatments = monitoring.attach(treatments, treat)  # the monitoring columns the files held
    ok = len(assessments) > 0
    if not ok:
        log.add("error", "NO_ROWS_KEPT", "No usable scores are left after the checks below; fix them and upload again.")
        assessments, treatments = _empty_assessments(), None
    return Loaded(
        assessments, treatments, log.table(), C.mapping_table(mapping), rows_read, names, ok, tuple(found_roles)
    )


def _load_one(name: str, data, fi: int, overrides: dict[str, str], log: IssueLog, fast: bool, chosen=None, role=None):
    """Read, guard, map and reshape one file: (internal frame, "assessments"|"treatments", rows read, columns,
    {canonical text column: (column as parsed, codes, distinct values)} for the fast path's output). A refusal
    after the columns were mapped carries them (``Refused.columns``). ``chosen``: the role the user chose;
    ``role`` (a roles.Role) is filled with the role found and why."""
    reader = data() if callable(data) else open_file(data)
    cols = C.map_columns(name, reader.names, overrides)
    try:
        return _read_one(reader, cols, name, fi, log, fast, chosen, role if role is not None else R.Role(None))
    except Refused as e:
        e.columns = cols
        raise


def _read_one(reader, cols: C.Columns, name: str, fi: int, log: IssueLog, fast: bool, chosen, role: R.Role):
    t = cols.target
    if cols.twice:
        message, fix = C.twice_message(cols.twice)
        raise Refused("DUPLICATE_COLUMNS", message, fix)
    numeric = {t[c] for c in (S.SCORE, S.DAY, C.AGE, S.DOSE) if c in t}
    dates = {t[d] for d in C.DATE_TARGETS if d in t}
    raw = reader.read(numeric, (lambda f, n: columnar.arrow_rows(f, n, dates)) if fast else None)
    repeated = drop_repeated_headers(raw, reader.names)
    if repeated:
        log.add(
            "info",
            "REPEATED_HEADER",
            f"{name}: the line of column names appears again inside the file (a page "
            f"break of a report); skipped ({rows_text(repeated)}).",
            None,
            repeated,
        )
    label_columns = [
        raw.table.column_names[0] if raw.table.column_names else None,
        t.get(S.PATIENT_ID),
        t.get(S.INSTRUMENT),
    ]
    footers = drop_summary_rows(raw, [c for c in dict.fromkeys(label_columns) if c is not None])
    if footers:
        log.add(
            "info",
            "SUMMARY_ROWS",
            f"{name}: {len(footers)} row(s) are a report's summary lines (a total, average, mean, count or the "
            f"like), not patients; they were left out ({rows_text(footers)}).",
            None,
            footers,
        )
    exempt = [r["source"] for r in cols.rows if r["how"] == "override" and r["target"] != S.PATIENT_ID]
    phi_cols = phi.phi_columns(raw.table, exempt=exempt)
    phi_vals = phi.phi_values(raw.table, raw.rows, raw.dictionary)
    phi_keys = phi.name_shaped_keys(raw, t[S.PATIENT_ID]) if S.PATIENT_ID in t else []
    if phi_cols or phi_vals or phi_keys:
        phi.refuse_phi(log, name, phi_cols, phi_vals)
        if phi_keys:
            phi.refuse_name_keys(log, name, t[S.PATIENT_ID], phi_keys)
        raise Refused("", "")  # the issues are logged
    said = []
    found_items = items_.find(raw, cols) if chosen in (None, R.ASSESSMENTS) else None
    read_rows = raw.table.num_rows + sum(w == "long" for _, w in raw.ragged)
    if found_items is not None:  # item-level scales: summed to their totals first (items.py)
        raw, cols = items_.summed(raw, cols, found_items, log, name)
        t = cols.target
    said += R.complete(raw, cols, chosen)
    found = R.decide(raw, cols, reader.names, chosen, said)
    if found_items is not None and not found.chosen:
        found.why = [items_.why(found_items)]
    role.role, role.why, role.chosen = found.role, found.why, found.chosen
    for target, src in t.items():
        log.sources[(fi, S.DAY if target in C.DATE_TARGETS else target)] = src
        if target in C.DATE_TARGETS:
            log.sources[(fi, S.DATE)] = src
    if S.DAY in t:
        log.sources[(fi, D.DAY_SOURCE)] = t[S.DAY]
    for source, _, _, _ in cols.wide:
        log.sources.setdefault((fi, S.SCORE), source)
        log.sources.setdefault((fi, S.INSTRUMENT), source)
    _report_layout(reader, raw, name, log)
    has_date = S.DAY in t or cols.date_target is not None
    long_format = S.INSTRUMENT in t and S.SCORE in t
    if role.role == R.VITALS:  # the minute-by-minute vitals file (analysis/ingest/monitoring.py)
        missing = [(S.PATIENT_ID, C.REQUIRED_WORDS[S.PATIENT_ID])] if S.PATIENT_ID not in t else []
        missing += [] if has_date else [(S.DATE, C.REQUIRED_WORDS[S.DATE])]
        missing += [] if S.MINUTE in t else [(S.MINUTE, "the minutes from the start of dosing (e.g. 'Minute')")]
        if missing:
            _refuse_missing(missing, raw, cols, reader.names)
        return monitoring.vitals_frame(raw, cols, fi, name, log), "vitals", read_rows, cols, {}
    if role.role == R.ASSESSMENTS and not (long_format or cols.wide):
        missing = [(c, C.REQUIRED_WORDS[c]) for c in (S.PATIENT_ID, S.INSTRUMENT, S.SCORE) if c not in t]
        _refuse_missing(missing + ([] if has_date else [(S.DATE, C.REQUIRED_WORDS[S.DATE])]), raw, cols, reader.names)
    if role.role == R.TREATMENTS:
        missing = [] if S.PATIENT_ID in t else [(S.PATIENT_ID, C.REQUIRED_WORDS[S.PATIENT_ID])]
        missing += [] if has_date else [(S.DATE, C.REQUIRED_WORDS[S.DATE])]
        if missing:
            _refuse_missing(missing, raw, cols, reader.names)
        parsed = _parsed_text(raw, t, S.TREATMENT_COLUMNS) if fast else {}
        return _treatment_frame(raw, cols, fi, name, log), "treatments", read_rows, cols, parsed
    if long_format or cols.wide:
        missing = []
        if S.PATIENT_ID not in t:
            missing.append((S.PATIENT_ID, "a patient key (e.g. 'Patient ID')"))
        dated_visits = cols.wide and all(d is not None for _, _, d, _ in cols.wide) and not long_format
        if not has_date and not dated_visits:
            missing.append((S.DATE, "a day or date column (e.g. 'Day' or 'Date Administered')"))
        if missing:
            _refuse_missing(missing, raw, cols, reader.names)
        parsed = _parsed_text(raw, t, S.ASSESSMENT_COLUMNS) if fast else {}
        return _assessment_frame(raw, cols, fi, name, log), "assessments", read_rows, cols, parsed
    if monitoring.is_vitals(t) and S.PATIENT_ID in t and has_date:  # the minute-by-minute vitals file
        return monitoring.vitals_frame(raw, cols, fi, name, log), "vitals", read_rows, cols, {}
    if (S.KIND in t or S.DOSE in t or monitoring.is_sessions(t)) and S.PATIENT_ID in t and has_date:
        parsed = _parsed_text(raw, t, S.TREATMENT_COLUMNS) if fast else {}
        return _treatment_frame(raw, cols, fi, name, log), "treatments", read_rows, cols, parsed
    required = ((S.PATIENT_ID, S.PATIENT_ID in t), (S.INSTRUMENT, S.INSTRUMENT in t), (S.SCORE, S.SCORE in t))
    missing = [(target, C.REQUIRED_WORDS[target]) for target, ok in required if not ok]
    _refuse_missing(missing + ([] if has_date else [(S.DATE, C.REQUIRED_WORDS[S.DATE])]), raw, cols, reader.names)


#: a report's summary line, as its label cell says it (NFKC, case folded): 'Total', 'TOTAL (2 patients)', 'Average',
#: 'Mean:', 'Count', 'Grand total', 'Sum of scores', 'N =', 'Gesamt', 'Promedio', 'Moyenne' ...
SUMMARY_LABEL = re.compile(
    r"(?:grand |sub[ -]?|overall )?(?:totals?|sum|sums|average|averages|avg|mean|means|median|count|counts|"
    r"min|max|minimum|maximum|std|stdev|std dev|sd|standard deviation|summary|gesamt|summe|durchschnitt|"
    r"mittelwert|promedio|media|moyenne|somme|totale|anzahl)"
    r"(?:\s*[:=.]?\s*$|\s*[:=(]|\s+(?:of|for|score|scores|patients?|rows?|all|n)\b|\s+\d)"
    r"|n\s*[:=]?\s*(?:\d+)?\s*$|all patients\b.*|\(?\d+ (?:patients|rows)\)?"
)


def drop_summary_rows(raw: TextTable, columns: list[str]) -> list[int]:
    """Remove the rows whose label (in any of ``columns``: the first column, the patient key, the instrument) is a
    report's summary line (SUMMARY_LABEL: a total, an average, a count), and return their spreadsheet rows. Looked
    at on the distinct values of each column."""
    mask = np.zeros(raw.table.num_rows, dtype=bool)
    for name in columns:
        if not is_text(raw.table[name]):
            continue
        codes, values = raw.distinct(name)
        hits = [
            i
            for i, v in enumerate(values)
            if v is not None and SUMMARY_LABEL.match(unicodedata.normalize("NFKC", str(v)).strip().casefold())
        ]
        if hits:
            mask |= np.isin(codes, hits)
    if not mask.any():
        return []
    rows = raw.rows[mask].tolist()
    raw.keep(~mask)
    return rows


def _refuse_missing(missing: list[tuple[str, str]], raw: TextTable, cols: C.Columns, names: list[str]) -> None:
    """Refuse a file without required columns (``missing``: (target, description)), suggesting an unused column
    that looks like one of them."""
    unused = [r["source"] for r in cols.rows if r["how"] == "unused"]
    candidate = C.candidate([target for target, _ in missing], unused, raw)
    message, fix = C.missing_message([words for _, words in missing], names, candidate)
    raise Refused("MISSING_COLUMNS", message, fix)


def _report_layout(reader, raw: TextTable, name: str, log: IssueLog) -> None:
    """Infos and warnings about the file's layout: repeated column names, ragged rows, preamble, encoding."""
    names = reader.names
    duplicated_names = sorted({n for n in names if re.fullmatch(r".+\.\d+", n) and n.rsplit(".", 1)[0] in names})
    if duplicated_names:
        log.add(
            "warning",
            "DUPLICATE_COLUMN_NAMES",
            f"{name}: more than one column is named "
            f"{quoted(sorted({n.rsplit('.', 1)[0] for n in duplicated_names}))}; the first of each was used, the others "
            f"are listed as {quoted(duplicated_names)}.",
            ", ".join(duplicated_names),
        )
    long = [r for r, w in raw.ragged if w == "long"]
    short = [r for r, w in raw.ragged if w == "short"]
    if long:
        log.add(
            "warning",
            "RAGGED_ROWS",
            f"{name}: {len(long)} row(s) have more fields than the header and were left "
            f"out ({rows_text(long)}); a delimiter inside an unquoted value is the usual cause.",
            None,
            long,
        )
    if short:
        log.add(
            "info",
            "SHORT_ROWS",
            f"{name}: {len(short)} row(s) have fewer fields than the header; the missing "
            f"fields were read as blank ({rows_text(short)}).",
            None,
            short,
        )
    if reader.skip:
        log.add("info", "PREAMBLE_SKIPPED", f"{name}: {reader.skip} line(s) above the column names were skipped.")
    if raw.encoding not in ("UTF-8", "UTF-8 with BOM"):
        log.add("info", "ENCODING", f"{name}: read as {raw.encoding} text, {raw.delimiter}-separated.")


def _parsed_text(raw: TextTable, target: dict[str, str], columns: tuple[str, ...]) -> dict:
    """{canonical text column: (column as parsed, codes, distinct values)} of the file's text columns among
    ``columns``: what the fast path's output reuses for a column no step changed."""
    return {
        c: (raw.table[src], *raw.distinct(src)) for c, src in target.items() if c in columns and is_text(raw.table[src])
    }


# --- one file's internal frame -------------------------------------------------------------------------------
def _assessment_frame(raw: TextTable, cols: C.Columns, fi: int, file: str, log: IssueLog) -> pd.DataFrame:
    """The long internal frame of one assessments file (rows checked, dates still dates)."""
    t = cols.target
    instrument = None
    if S.INSTRUMENT in t and S.SCORE in t:
        codes, values = raw.distinct(t[S.INSTRUMENT])
        instrument = values_.categorical(codes, values, normalise_code)
    base: dict = {
        FILE: np.full(raw.table.num_rows, fi, dtype=np.int16),
        ROW: raw.rows,
        S.PATIENT_ID: values_.text_column(raw, t[S.PATIENT_ID]),
    }
    base.update(values_.patient_attributes(raw, t, log, file))
    bad_day, bad_date = None, None
    if S.DAY in t:
        day, reason, bad = values_.numbers(raw, t[S.DAY], thousands=raw.delimiter == "comma")
        whole = pa.types.is_integer(raw.table[t[S.DAY]].type)  # (parsed as integers: no fraction to look for)
        nonint = np.zeros(len(day), dtype=bool) if whole else (reason == 0) & (day != np.round(day))
        if bad or nonint.any():
            bad_day = (
                (reason == 2) | nonint,
                "day value(s) are not one whole number" + ("" if bad else " (fractions)"),
            )
            day = np.where(bad_day[0], np.nan, day)
        base[S.DAY] = day
    date_target = cols.date_target
    if date_target:
        base[S.DATE], unreadable, bad = D.date_column(raw, t[date_target], date_target)
        if unreadable is not None:
            bad_date = (unreadable, "date(s) could not be read")
    D.unreadable_days(base, bad_day, bad_date, t, date_target, raw.rows, log, file)
    parts = []
    if S.INSTRUMENT in t and S.SCORE in t:
        score, reason, bad = values_.numbers(raw, t[S.SCORE])
        score, reason = W.scores_with_maximum(raw, t[S.SCORE], score, reason, instrument, log, file)
        if bad and any(W.score_out_of(b) is not None for b in bad):  # (the values still unread)
            codes_, distinct_ = raw.distinct(t[S.SCORE])
            bad = sorted({str(distinct_[c]).strip() for c in np.unique(codes_[reason == 2]) if c >= 0})
        item9 = {S.PHQ9_ITEM9: values_.numbers(raw, t[S.PHQ9_ITEM9])[0]} if S.PHQ9_ITEM9 in t else {}
        part = pd.DataFrame({**base, S.INSTRUMENT: instrument, S.SCORE: score, **item9}, copy=False)
        n = len(part)
        part = V.drop_missing_ids(part, log)
        kept = part.index.to_numpy() if len(part) < n else None  # the raw rows left (None: all)
        raw_ins = None  # the instrument as written, needed only to name the unknown ones
        if part[S.INSTRUMENT].isna().any():
            written = pd.Categorical.from_codes(codes, categories=pd.Index(values, dtype=object))
            raw_ins = pd.Series((written if kept is None else written[kept]) if values else [None] * len(part))
        n = len(part)
        part = V.drop_unknown_instruments(part.reset_index(drop=True), raw_ins, log)
        if len(part) < n:
            kept = part.index.to_numpy() if kept is None else kept[part.index.to_numpy()]
        part = V.drop_bad_scores(part.reset_index(drop=True), reason if kept is None else reason[kept], bad, log)
        parts.append(part)
    if cols.wide:
        parts.append(_wide_part(raw, cols, base, file, log))
    frame = _concat(parts)
    if S.DAY not in frame.columns and S.DATE not in frame.columns:
        frame[S.DAY] = np.nan
    return frame


def _wide_part(raw: TextTable, cols: C.Columns, base: dict, file: str, log: IssueLog) -> pd.DataFrame:
    """The wide columns of a file melted to long (one row per patient row and visit column)."""
    frame = pd.DataFrame(base, copy=False)
    frame = V.drop_missing_ids(frame, log)
    kept = frame.index.to_numpy()
    wide_parts, reasons, bads = [], [], []
    for source, code, day, _label in cols.wide:
        score, reason, bad = values_.numbers(raw, source)
        p = frame.copy()
        p[S.INSTRUMENT] = pd.Categorical([code] * len(p))
        p[S.SCORE] = score[kept]
        if day is not None:
            p[S.DAY] = float(day)
            p = p.drop(columns=S.DATE, errors="ignore")
        wide_parts.append(p)
        reasons.append(reason[kept])
        bads += bad
    assumed = []
    if any(d is not None and lab == "baseline" for _, _, d, lab in cols.wide):
        assumed.append(
            f"baseline columns (Baseline, Pre, Screening) on day {C.BASELINE_VISIT_DAY}, the day before the "
            "first infusion"
        )
    if any(d is not None and lab.startswith("infusion") for _, _, d, lab in cols.wide):
        assumed.append(
            f"infusion columns (inf1 ... inf6) on the usual induction days "
            f"{', '.join(map(str, C.INDUCTION_DAYS))} after the first infusion"
        )
    if assumed:
        log.add(
            "info",
            "INDUCTION_DAYS_ASSUMED",
            f"{file}: visit columns were placed on assumed days: {'; '.join(assumed)}.",
        )
    wide = pd.concat(wide_parts, ignore_index=True)
    wide[S.INSTRUMENT] = wide[S.INSTRUMENT].astype("category")
    return V.drop_bad_scores(wide, np.concatenate(reasons), sorted(set(bads)), log, wide=True)


def _treatment_frame(raw: TextTable, cols: C.Columns, fi: int, file: str, log: IssueLog) -> pd.DataFrame:
    t = cols.target
    data = {
        FILE: np.full(raw.table.num_rows, fi, dtype=np.int16),
        ROW: raw.rows,
        S.PATIENT_ID: values_.text_column(raw, t[S.PATIENT_ID]),
    }
    words = S.KIND in t and W.is_session_text(raw.distinct(t[S.KIND])[1])
    if words:  # sessions written in words: kind, and route and dose where no column of their own holds them
        sessions = W.session_columns(raw, t[S.KIND], log, file)
        data[S.KIND] = sessions[S.KIND]
        data.update({c: sessions[c] for c in (S.ROUTE, S.DOSE, S.DOSE_MG) if c not in t and _any(sessions[c])})
    elif S.KIND in t:
        data[S.KIND] = values_.kind_column(raw, t[S.KIND], log, file)
    else:
        data[S.KIND] = pd.Categorical(["induction"] * raw.table.num_rows)
        log.add(
            "info",
            "KIND_ASSUMED",
            f"{file}: the treatments file has no kind column; every session was counted as induction.",
        )
    if S.ROUTE in t:
        data[S.ROUTE] = values_.route_column(raw, t[S.ROUTE], log, file)
    if S.DOSE in t:
        dose, reason, bad = values_.numbers(raw, t[S.DOSE], unit=values_.MG_PER_KG)
        data[S.DOSE] = dose
        if bad:
            rows = raw.rows[reason == 2]
            log.add(
                "warning",
                "BAD_DOSE",
                f"{file}: {len(rows)} dose(s) are not one clean number; the sessions "
                f"were kept without a dose ({rows_text(rows)}).",
                t[S.DOSE],
                rows.tolist(),
            )
    if S.DAY in t:
        data[S.DAY] = values_.numbers(raw, t[S.DAY], thousands=raw.delimiter == "comma")[0]
    date_target = cols.date_target
    if date_target:
        data[S.DATE], unreadable, bad = D.date_column(raw, t[date_target], date_target)
        bad_date = None if unreadable is None else (unreadable, "date(s) could not be read")
        D.unreadable_days(data, None, bad_date, t, date_target, raw.rows, log, file)
    data.update(monitoring.session_columns(raw, t, log, file))  # the session's monitoring record, if kept
    frame = pd.DataFrame(data, copy=False)
    frame = V.drop_missing_ids(frame, log)
    no_kind = frame[S.KIND].isna().to_numpy()
    log.add_rows(
        "warning",
        "MISSING_KIND",
        S.KIND,
        frame,
        lambda n, r: f"{n} treatment row(s) have no recognisable kind and were left out ({r}).",
        where=no_kind,
    )
    return V.keep(frame, ~no_kind)


def _any(values) -> bool:
    """Whether a column read from words holds any value."""
    if isinstance(values, pd.Categorical):
        return bool((values.codes >= 0).any())
    return bool(np.isfinite(values).any())


def _concat(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate internal frames, unifying categoricals."""
    parts = [p for p in parts if p is not None]
    if len(parts) == 1:
        return parts[0].reset_index(drop=True)
    columns = list(dict.fromkeys(c for p in parts for c in p.columns))
    data = {}
    for c in columns:
        cols = [p[c] if c in p.columns else None for p in parts]
        if any(isinstance(x.dtype, pd.CategoricalDtype) for x in cols if x is not None):
            data[c] = pd.api.types.union_categoricals(
                [_object_categorical(x, len(p)) for x, p in zip(cols, parts)], ignore_order=True
            )
        elif all(x is not None and pd.api.types.is_integer_dtype(x.dtype) for x in cols):  # (file, row: kept whole)
            data[c] = np.concatenate([x.to_numpy() for x in cols])
        else:
            data[c] = np.concatenate(
                [x.to_numpy(dtype=float) if x is not None else np.full(len(p), np.nan) for x, p in zip(cols, parts)]
            )
    return pd.DataFrame(data)


def _object_categorical(x: pd.Series | None, n: int) -> pd.Categorical:
    if x is None:
        return pd.Categorical.from_codes(np.full(n, -1), categories=pd.Index([], dtype=object))
    if not isinstance(x.dtype, pd.CategoricalDtype):
        x = x.astype(object).astype("category")
    return pd.Categorical.from_codes(x.array.codes, categories=pd.Index(x.cat.categories.astype(object), dtype=object))


# --- output -----------------------------------------------------------------------------------------------
def _text_array(values, n: int, parsed: tuple | None, fast: bool):
    """A canonical text column (pandas ``str``) from a categorical (through its distinct values), other values,
    or None (all missing)."""
    if values is None:
        return pd.array(pa.nulls(n, pa.large_string()), dtype="str")
    cat = values.array if isinstance(values, pd.Series) else values
    if not isinstance(cat, pd.Categorical):
        return pd.array(
            pa.array(pd.Series(values).astype(object).where(pd.notna(values), None), pa.string()), dtype="str"
        )
    text = columnar.text_output(cat, parsed) if fast else None
    if text is None:
        categories = pa.array([str(c) for c in cat.categories], pa.large_string())
        missing = cat.codes < 0
        text = categories.take(pa.array(cat.codes, mask=missing) if missing.any() else pa.array(cat.codes))
    return pd.array(text, dtype="str")


def _number_array(values: np.ndarray, dtype: str):
    if dtype == "Int64":
        missing = np.isnan(values)
        if not missing.any():
            with np.errstate(invalid="ignore"):  # (a value too large for an integer is found unequal below)
                whole = values.astype(np.int64)
            if (whole == values).all():
                return pd.arrays.IntegerArray(whole, missing)
        else:
            whole = np.where(missing, 0.0, values)
            if (whole == np.round(whole)).all():
                return pd.arrays.IntegerArray(whole.astype(np.int64), missing)
        return pd.Series(values).astype("Int64").array  # (raises as it always did)
    return np.array(values, dtype=dtype)


def _output(frame, columns: tuple[str, ...], numbers: dict[str, str], parsed: dict | None = None, fast=False):
    """The canonical table: text columns from their categoricals (``parsed``: {column: (column as parsed, codes,
    distinct values)}, for the fast path), numbers as ``numbers`` says."""
    n = 0 if frame is None else len(frame)
    parsed = parsed or {}
    out = {}
    for c in columns:
        present = frame is not None and c in frame.columns
        if c in numbers:
            out[c] = _number_array(
                np.asarray(frame[c].array, dtype=float) if present else np.full(n, np.nan), numbers[c]
            )
        else:
            out[c] = _text_array(frame[c] if present else None, n, parsed.get(c), fast)
    return pd.DataFrame(out, index=pd.RangeIndex(n), copy=False)


def _empty_assessments() -> pd.DataFrame:
    return _output(None, S.ASSESSMENT_COLUMNS, {S.SCORE: "float64", S.DAY: "Int64"})
