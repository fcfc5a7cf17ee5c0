"""The printable PDF report: what the dashboard shows, on A4, ready to hand to an owner, referrer or payer.

Sections, in order: title page (practice, period, filters, generation time) with the KPIs and practice
totals; the outcome funnel; response and remission by instrument and condition (and by site) with Wilson 95%
CIs; the trajectory figure; durability (Kaplan-Meier figure with the number at risk, medians, share still
responding at the card's survival days, log-rank test) and the Cox hazard-ratio table; the definition card
and an auto-written methods paragraph with citations; a data-quality summary.

The report computes nothing the pages compute: :func:`report_inputs` gathers the results it lays out
(``metrics.summary_and_kpis``, ``durability.analyse``, ``trajectory.trajectories``: the calls the dashboard's
pages make) into a :class:`ReportInputs`, and :func:`build_report` lays them out with the figures of
``analysis.charts`` and the text of ``analysis.formatting``. Small cells are suppressed as on screen: tables are
the results' suppressed tables (``Summary.suppressed_rates``, ``Summary.suppressed_practice``,
``Durability._groups_shown``), shares resting on a count from 1 to threshold - 1 are withheld ("—").

API: ``report_inputs(assessments, treatments=None, definitions=None, *, instrument="PHQ9", issues=None,
rows_read=None, as_of=None, call=None) -> ReportInputs``; ``build_report(inputs, *, practice=..., filters=...,
generated_at=None) -> bytes`` (the dashboard's download); ``write_report(loaded, out_path, definitions=None,
**kw) -> Path`` (the command line). The sections are laid out by ``analysis.report.sections``, on the page of
``analysis.report.pdf``, with the figures drawn by ``analysis.report.figures``.
"""

from __future__ import annotations

import datetime as _dt
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analysis import instruments
from analysis.errors import DataError
from analysis.report import sections
from analysis.report.figures import start_figure_server, stop_figure_server
from analysis.report.pdf import Pdf, has_marks
from analysis.report.sections import funnel_rows, kpi_cells
from analysis.schema import CONDITION, INSTRUMENT, PATIENT_ID, SITE

__all__ = [
    "DataFacts",
    "ReportInputs",
    "build_report",
    "choose_instrument",
    "data_facts",
    "funnel_rows",
    "has_marks",
    "kpi_cells",
    "report_inputs",
    "start_figure_server",
    "stop_figure_server",
    "write_report",
]


# --- what the report lays out ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DataFacts:
    """Counts of the data the results come from, for the title and data-quality pages: ``scores`` (rows of
    the assessments), ``patients`` with a score, the ``instruments`` present, treatment ``sessions`` (None
    without a treatments file), and ``without``: (what, patients) for each patient attribute present
    (condition, site) with the patients who have no value of it. Raw counts: the report suppresses them."""

    scores: int
    patients: int
    instruments: tuple[str, ...]
    sessions: int | None
    without: tuple[tuple[str, int], ...]


def data_facts(assessments: pd.DataFrame, treatments: pd.DataFrame | None = None) -> DataFacts:
    """The :class:`DataFacts` of canonical ``assessments`` (and ``treatments``)."""
    without = tuple(
        (what, int(assessments.loc[assessments[column].isna(), PATIENT_ID].nunique()))
        for column, what in ((CONDITION, CONDITION), (SITE, SITE))
        if column in assessments.columns
    )
    return DataFacts(
        scores=len(assessments),
        patients=int(assessments[PATIENT_ID].nunique()),
        instruments=tuple(sorted(assessments[INSTRUMENT].dropna().unique().tolist())),
        sessions=None if treatments is None else len(treatments),
        without=without,
    )


@dataclass(frozen=True)
class ReportInputs:
    """The results a report lays out, as the dashboard's pages hold them.

    ``instrument``: the instrument of the funnel, trajectory and durability sections; ``notes``: why it is not
    the one asked for; ``summary``, ``kpis``: ``metrics.summary_and_kpis``; ``durability``: ``durability.analyse``
    by condition and ``durability_overall`` the same without grouping (``durability.overall``);
    ``trajectories``: ``trajectory.trajectories`` by condition; a result the data cannot give is None, with
    the reason in ``durability_error`` / ``trajectories_error``; ``data``: :class:`DataFacts`; ``issues``: the
    validation issues (``Loaded.issues``; None: not supplied); ``rows_read``: rows read from the files."""

    instrument: str
    definitions: object
    summary: object
    kpis: pd.DataFrame
    durability: object
    durability_overall: object
    trajectories: object
    data: DataFacts
    durability_error: str = ""
    trajectories_error: str = ""
    issues: pd.DataFrame | None = None
    rows_read: int | None = None
    notes: tuple[str, ...] = ()
    # --- quality measures (issue 18): ``measures.quality_measures`` of the default reporting period
    # (``measures.default_period``: the year before the latest index year), or None with ``measures_error``
    measures: object = None
    measures_error: str = ""
    # session safety (issue 17): ``safety.analyse`` of the treatments' monitoring record; None without one
    safety: object = None
    safety_error: str = ""

    @property
    def threshold(self) -> int:
        return int(self.definitions.suppression_threshold)


def _direct(func, *args, **kwargs):
    return func(*args, **kwargs)


def _safely(call, func, *args, **kwargs):
    """(result, "") of ``call(func, ...)``, or (None, message) when the data cannot answer (DataError)."""
    try:
        return call(func, *args, **kwargs), ""
    except DataError as e:
        return None, str(e)


def report_inputs(
    assessments,
    treatments=None,
    definitions=None,
    *,
    instrument="PHQ9",
    issues=None,
    rows_read=None,
    as_of=None,
    call=None,
) -> ReportInputs:
    """The results the report of canonical ``assessments`` (and optional ``treatments``) lays out, under the
    definition card ``definitions`` (default card when None). Inputs are not changed.

    ``instrument``: the instrument of the funnel, trajectory and durability sections (PHQ-9 by default; when
    the data hold none, the most scored one, with a note); ``issues``: the validation issues table
    (``Loaded.issues``) for the data-quality page; ``rows_read``: rows read from the files; ``as_of``: the
    month (YYYY-MM) the KPIs are as of (default the current month, as the Overview page).

    ``call(func, *args, **kwargs)`` runs each analysis (default: a plain call). The dashboard passes its
    cached call, so that the report gets the very objects its pages computed; the calls are, with ``code``
    the instrument and ``defs`` the card: ``metrics.summary_and_kpis(assessments, treatments, defs,
    instrument=code)`` (plus ``as_of=`` when given), ``durability.analyse(assessments, treatments, code,
    by="condition", definitions=defs)`` and ``trajectory.trajectories(assessments, code, by="condition",
    definitions=defs)``; with a treatments file holding a monitoring record also ``safety.session_safety(assessments,
    treatments, defs)`` (issue 17).
    """
    from analysis import durability, metrics, trajectory
    from analysis.outcomes import Definitions

    if not isinstance(assessments, pd.DataFrame):
        raise TypeError(f"assessments must be a pandas DataFrame, got {type(assessments).__name__}")
    if treatments is not None and not isinstance(treatments, pd.DataFrame):
        raise TypeError(f"treatments must be a pandas DataFrame or None, got {type(treatments).__name__}")
    if issues is not None and not isinstance(issues, pd.DataFrame):
        raise TypeError(f"issues must be the issues DataFrame (Loaded.issues) or None, got {type(issues).__name__}")
    call = call or _direct
    defs = definitions if definitions is not None else Definitions()
    if len(assessments) == 0:
        raise DataError("There are no scores to report on (the data, or the filters, leave no patient).")

    code, notes = choose_instrument(assessments, instrument)
    month = {} if as_of is None else {"as_of": as_of}
    summary, kpis = call(metrics.summary_and_kpis, assessments, treatments, defs, instrument=code, **month)
    dur, dur_error = _safely(call, durability.analyse, assessments, treatments, code, by=CONDITION, definitions=defs)
    if dur is not None:  # the ungrouped numbers from the same episodes
        dur_all = durability.overall(dur)
    else:
        dur_all, _ = _safely(call, durability.analyse, assessments, treatments, code, by=None, definitions=defs)
    traj, traj_error = _safely(call, trajectory.trajectories, assessments, code, by=CONDITION, definitions=defs)
    meas, meas_error = _measures(call, assessments, treatments, defs)
    safety_res, safety_error = _session_safety(call, assessments, treatments, defs)
    return ReportInputs(
        instrument=code,
        definitions=defs,
        summary=summary,
        kpis=kpis,
        durability=dur,
        durability_overall=dur_all,
        trajectories=traj,
        data=data_facts(assessments, treatments),
        durability_error=dur_error,
        trajectories_error=traj_error,
        issues=issues,
        rows_read=rows_read,
        notes=tuple(notes),
        measures=meas,
        measures_error=meas_error,
        safety=safety_res,
        safety_error=safety_error,
    )


def _measures(call, assessments, treatments, defs):
    """(the quality measures of the default reporting period, "") or (None, why not)."""
    from analysis import measures

    every, error = _safely(call, measures.quality_measures, assessments, treatments, defs)
    if every is None:
        return None, error
    lo, hi = measures.default_period(measures.index_months(every))
    if lo is None:
        return None, "No patient with depression has a PHQ-9 above 9 placed in a calendar month."
    return _safely(call, measures.quality_measures, assessments, treatments, defs, lo, hi)


def _session_safety(call, assessments, treatments, defs) -> tuple[object, str]:
    """(``safety.analyse`` of the treatments, "") when they hold a monitoring record; (None, why) otherwise."""
    from analysis import safety
    from analysis.schema import MONITORING_COLUMNS

    kept = treatments is not None and any(
        c in treatments.columns and treatments[c].notna().any() for c in MONITORING_COLUMNS
    )
    if not kept:
        return None, "the treatments file holds no session monitoring record (vitals, dissociation, adverse events)."
    return _safely(call, safety.session_safety, assessments, treatments, defs)


def choose_instrument(assessments: pd.DataFrame, instrument: str | None) -> tuple[str | None, list[str]]:
    """The instrument the report is about: the one asked for when the data hold it; otherwise, as the
    dashboard, PHQ-9 when present, else the most scored. None when there are no scores."""
    counts = assessments[INSTRUMENT].value_counts()
    present = sorted(counts.index, key=lambda c: (c != "PHQ9", -counts[c]))
    wanted = instruments.get(instrument).code if instrument else None
    if wanted in present:
        return wanted, []
    if not present:
        return None, ["The data hold no scores."]
    note = [f"The data hold no {wanted} scores: this report is about {present[0]}."] if wanted else []
    return present[0], note


# --- the PDF ---------------------------------------------------------------------------------------------------


def _stamp(generated_at) -> tuple[_dt.datetime, str]:
    if generated_at is None:
        generated_at = _dt.datetime.now(_dt.UTC)
    if not isinstance(generated_at, _dt.datetime):
        raise TypeError(f"generated_at must be a datetime (UTC), got {type(generated_at).__name__}")
    if generated_at.tzinfo is None:
        generated_at = generated_at.replace(tzinfo=_dt.UTC)
    utc = generated_at.astimezone(_dt.UTC)
    return utc, f"{utc:%Y-%m-%d %H:%M} UTC"


def build_report(inputs: ReportInputs, *, practice=None, filters="All patients", generated_at=None, data=None) -> bytes:
    """The PDF report (bytes) of the results ``inputs`` (:func:`report_inputs`).

    ``practice``: the practice's name, on the title (default the setting ``OUTCOMES_PRACTICE_NAME``, else "Your
    practice"); ``filters``, ``data`` (the data set's name): printed on the title page with the rest of the
    provenance (analysis.provenance: the card and its differences from the default card, the software version);
    ``generated_at``: a datetime (UTC; default now), printed on every page. The PDF's title is the practice and
    the period of start months."""
    from analysis import provenance

    practice = practice or provenance.practice_name("Your practice")
    if not isinstance(inputs, ReportInputs):
        raise TypeError(
            f"build_report takes the ReportInputs of report_inputs(assessments, ...), got {type(inputs).__name__}"
        )
    when, stamp = _stamp(generated_at)
    start_figure_server()  # Chromium starts in the background (at once when already started)
    r, t = inputs, inputs.threshold
    pdf = Pdf(practice, stamp, t)
    prov = provenance.make(data or "not named", filters, r.definitions, practice=practice, generated_at=when)
    pdf.set_title(pdf.text_safe(f"{practice}: outcomes report, start months {sections.period_of(r.summary)}"))
    pdf.set_author(pdf.text_safe(practice))
    pdf.set_creator("Ketamine outcomes dashboard (analysis.report)")
    pdf.set_creation_date(when)
    pdf.add_page()
    sections.title_page(pdf, r, practice, filters, stamp, prov)
    sections.outcomes(pdf, r.summary, r.instrument, t)
    sections.trajectories(pdf, r.trajectories, r.trajectories_error, r.instrument, r.definitions, t)
    sections.durability(pdf, r.durability, r.durability_overall, r.durability_error, r.instrument, r.definitions, t)
    sections.measures_section(pdf, r.measures, r.measures_error, t)
    if r.safety is not None:  # (a practice without a monitoring record gets no safety page)
        sections.safety_section(pdf, r.safety, r.safety_error, t)
    sections.methods_section(pdf, r.definitions, r.summary, r.trajectories, t)
    sections.data_quality(pdf, r.data, r.issues, r.rows_read, t)
    return bytes(pdf.output())


def write_report(loaded, out_path, definitions=None, *, instrument="PHQ9", generated_at=None, **kw) -> Path:
    """Write the report of a load (``analysis.ingest.Loaded``) to ``out_path``; returns the path. The KPIs are
    as of the month of ``generated_at`` (default now).

    Other keyword arguments go to :func:`build_report` (practice, filters)."""
    if not getattr(loaded, "ok", False):
        raise DataError("These files cannot be used (see `python -m analysis validate`): no report was written.")
    out = Path(out_path)
    if out.suffix.lower() != ".pdf":
        raise DataError(f"the report is a PDF: give --out a path ending in .pdf, not {out.name!r}")
    if not out.parent.is_dir():
        raise DataError(f"cannot write the report: folder {str(out.parent)!r} does not exist")
    when, _ = _stamp(generated_at)
    start_figure_server()  # Chromium starts in the background while the statistics run
    inputs = report_inputs(
        loaded.assessments,
        loaded.treatments,
        definitions,
        instrument=instrument,
        issues=loaded.issues,
        rows_read=loaded.rows_read,
        as_of=f"{when:%Y-%m}",
    )
    pdf = build_report(inputs, generated_at=when, **kw)
    try:
        tmp = out.with_name(out.name + ".part")
        tmp.write_bytes(pdf)
        os.replace(tmp, out)
    except OSError as e:
        raise DataError(f"cannot write the report to {out}: {e.strerror or e}") from None
    return out
