"""The printable PDF report: what the dashboard shows, on A4, ready to hand to an owner, referrer or payer.

Sections, in order: title page (practice, period, filters, generation time) with the KPIs and practice
totals; the outcome funnel; response and remission by instrument and condition (and by site) with Wilson 95%
CIs; the trajectory figure; durability (Kaplan-Meier figure with the number at risk, medians, share still
responding at the card's survival days, log-rank test) and the Cox hazard-ratio table; the definition card
and an auto-written methods paragraph with citations; a data-quality summary.

Nothing is computed here: every number comes from ``analysis.metrics``, ``analysis.durability`` and
``analysis.trajectory`` and every figure from ``analysis.charts`` (the dashboard's own figures). Small cells
are suppressed as on screen: tables are the results' suppressed tables (``Summary.suppressed_rates``,
``Summary.suppressed_practice``, ``Durability._groups_shown``), shares resting on a count from 1 to
threshold - 1 are withheld ("—").

API: ``build_report(assessments, treatments=None, definitions=None, *, issues=None, practice=..., filters=...,
instrument="PHQ9", generated_at=None, rows_read=None) -> bytes`` (the dashboard's download, on the filtered
data) and ``write_report(loaded, out_path, definitions=None, **kw) -> Path`` (the command line).

Figures are exported to PNG by kaleido through one kept-alive Chromium (``kaleido.start_sync_server``),
started as soon as a report is asked for, so that Chromium starts while the statistics run. Without a
Chromium the report is still written, with a line in place of each figure. Text uses DejaVu Sans
(fonts-dejavu-core) so that "≥", "–" and "Å" print; without it, Helvetica with text made Latin-1-safe.
"""

from __future__ import annotations

import datetime as _dt
import io
import os
import threading
from pathlib import Path

import pandas as pd
from fpdf import FPDF
from fpdf.fonts import FontFace

from analysis import charts, instruments, methods, privacy
from analysis import formatting as fmt
from analysis.errors import DataError
from analysis.schema import CONDITION, INSTRUMENT, SITE

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONT_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf", "I": "DejaVuSans-Oblique.ttf"}
#: figure export: layout width in px (a figure's own height is kept) and pixel density
FIGURE_WIDTH_PX = 1000
FIGURE_SCALE = 2
#: seconds to wait for one figure (a cold Chromium on a busy machine takes several)
FIGURE_TIMEOUT = 60
#: replacements that make text Latin-1-safe when DejaVu Sans is missing
_LATIN1 = {
    "≥": ">=",
    "≤": "<=",
    "•": "-",
    "–": "-",
    "—": "-",
    "·": "-",
    "×": "x",
    "…": "...",
    "‘": "'",
    "’": "'",
    "“": '"',
    "”": '"',
    "→": "->",
    "−": "-",
    "Δ": "change",
}


# --- figures: plotly -> PNG through one kept-alive kaleido server ---------------------------------------------

_KALEIDO_LOCK = threading.Lock()
#: why figures cannot be drawn in this process (set after a failure, so that a broken Chromium costs one
#: timeout, not one per figure)
_FIGURES_BROKEN: list[str] = []


def figure_server_available() -> bool:
    """True when kaleido can find a Chromium (Debian's ``chromium``, or ``BROWSER_PATH``)."""
    try:
        from choreographer.browsers.chromium import Chromium

        path = Chromium.find_browser(skip_local=False)
    except Exception:  # noqa: BLE001 - any failure to look means: no figures
        return False
    return bool(path) and os.path.isfile(path) and os.access(path, os.X_OK)


def start_figure_server() -> bool:
    """Start kaleido's kept-alive Chromium (once per process; it returns at once and Chromium starts in the
    background). False when no Chromium is available."""
    if not figure_server_available():
        return False
    import kaleido

    with _KALEIDO_LOCK:
        kaleido.start_sync_server(mathjax=False, silence_warnings=True)
    return True


def stop_figure_server() -> None:
    """Stop the kept-alive Chromium (it also stops when the process exits)."""
    import kaleido

    with _KALEIDO_LOCK:
        kaleido.stop_sync_server(silence_warnings=True)


def figure_png(figure, width: int = FIGURE_WIDTH_PX, height: int | None = None, scale: float = FIGURE_SCALE) -> bytes:
    """A plotly figure as PNG bytes (kept-alive server). RuntimeError when it cannot be drawn in
    ``FIGURE_TIMEOUT`` seconds or no Chromium is available."""
    if _FIGURES_BROKEN:
        raise RuntimeError(_FIGURES_BROKEN[0])
    if not start_figure_server():
        raise RuntimeError("no Chromium found to draw figures (install Debian's chromium, or set BROWSER_PATH)")
    import kaleido

    height = int(height or figure.layout.height or 500)
    spec = figure.to_dict()
    box: dict = {}

    def work():
        try:
            box["png"] = kaleido.calc_fig_sync(
                spec, opts={"format": "png", "width": int(width), "height": height, "scale": scale}
            )
        except Exception as e:  # noqa: BLE001 - reported to the caller below
            box["error"] = e

    with _KALEIDO_LOCK:  # the server answers one caller at a time
        worker = threading.Thread(target=work, daemon=True)
        worker.start()
        worker.join(FIGURE_TIMEOUT)
    if "png" in box:
        return box["png"]
    if "error" not in box:  # no answer: the server is stuck or dead; do not wait for it again
        _FIGURES_BROKEN.append(f"Chromium gave no figure in {FIGURE_TIMEOUT} s")
    raise RuntimeError(f"the figure could not be drawn: {box.get('error', f'no answer in {FIGURE_TIMEOUT} s')}")


# --- what the dashboard shows, for the report -------------------------------------------------------------------


def kpi_cells(kpis: pd.DataFrame, threshold: int) -> pd.DataFrame:
    """The KPI tiles as text (label, value, previous, change, of), after ``metrics.kpis_shown`` (the one
    suppression rule of the tiles): '<11' for a small count, '—' for a value withheld or missing."""
    from analysis.metrics import kpis_shown

    rows = []
    for k in kpis_shown(kpis, threshold).to_dict("records"):
        share = k["unit"] == "share"
        if share:
            value, previous = fmt.percent(k["value"]), fmt.percent(k["previous"])
            change = fmt.DASH if k["change"] is None else fmt.points(k["change"])
            of = fmt.count(k["n"])
        else:
            value, previous = fmt.count(k["value"]), fmt.count(k["previous"])
            change = fmt.DASH if k["change"] is None else f"{k['change']:+d}"
            of = ""
        rows.append(
            {
                "kpi": k["kpi"],
                "label": k["label"],
                "value": value,
                "previous": previous,
                "change": change,
                "of": of,
                "note": k["note"],
            }
        )
    return pd.DataFrame(rows, columns=["kpi", "label", "value", "previous", "change", "of", "note"])


def funnel_rows(row: dict, threshold: int) -> list[tuple[str, str, str]]:
    """(stage, count as shown, share of the stage above) of one funnel row; a share is withheld when
    either count is small."""
    out, previous = [], None
    for key, name in fmt.FUNNEL_LABELS.items():
        if key not in row:
            continue
        n = row[key]
        share = ""
        if previous is not None:
            if any(fmt.missing(v) or privacy.is_small(v, threshold) for v in (n, previous)) or previous == 0:
                share = fmt.DASH
            else:
                share = fmt.percent(float(n) / float(previous))
        out.append((name, fmt.count(privacy.show_count(n, threshold)), share))
        previous = n
    return out


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


def methods_text(definitions, codes, threshold: int, converged: bool | None = None) -> str:
    """The methods paragraph, written from the definition card in force and the instrument registry."""
    b, r = definitions.baseline_window, definitions.response_window
    rules = []
    for code in codes:
        ins = instruments.get(code)
        rem = definitions.remission_threshold(code)
        rem_text = f"remission a score ≤ {rem:g}" if rem is not None else "no remission rule"
        rules.append(
            f"{ins.name} ({code}, {ins.min:g}–{ins.max:g}): response a drop of "
            f"≥ {100 * definitions.response_threshold(code):g}% from baseline, {rem_text}"
        )
    loss = (
        "confirmed by the next score too (the event on the first of the two)"
        if definitions.confirm_loss
        else "without confirmation by a later score"
    )
    boosters = {
        "ignore": "Booster infusions did not stop the clock.",
        "censor": "Episodes were censored at the first booster after the response assessment when it "
        "came before the loss of response.",
        "event": "The event analysed was the first booster after the response assessment (time to first "
        "booster); patients without one were censored at their last score.",
    }[definitions.booster_handling]
    days = ", ".join(str(d) for d in definitions.survival_days)
    suppression = (
        f"Counts from 1 to {threshold - 1} are shown as <{threshold}, and every rate, interval, median "
        f"and curve resting on such a count is withheld (CMS cell-size policy)."
        if threshold > 1
        else f"Small counts are not suppressed in this report (threshold set to {threshold} on the definition card)."
    )
    model = (
        ""
        if converged is None
        else (
            " The model converged."
            if converged
            else " The model did not converge on these data, so its curves are not shown."
        )
    )
    return (
        f"Instruments and rules (definition card '{definitions.name}'): " + "; ".join(rules) + ". "
        f"The baseline is the last score from day {b[0]} to day {b[1]} (day 0 = the first treatment); the response "
        f"assessment is the first score from day {r[0]} to day {r[1]}; percent change = (baseline − score) / "
        f"baseline, and a baseline of 0 is not evaluable. Response and remission rates are over the evaluable "
        f"patients (a baseline above 0 and a response assessment), with 95% Wilson score intervals (as R "
        f"prop.test without continuity correction). Durability was analysed in responders with a later score, "
        f"from the day of the response assessment; loss of response is the first later score whose percent "
        f"change falls below the response threshold, {loss}; otherwise the episode is censored at the last "
        f"score. {boosters} The share still responding was estimated by Kaplan-Meier with Greenwood variance "
        f"and log-scale 95% confidence limits (as R survfit), reported at days {days}, with the median and its "
        f"95% interval; groups were compared with the log-rank test (as R survdiff) and by a Cox proportional-"
        f"hazards model with Efron ties (as R coxph), hazard ratios with Wald 95% intervals, each covariate "
        f"against its most common level. Trajectories are observed mean scores per visit window with t-based 95% "
        f"intervals and a linear mixed model (REML, as lme4::lmer) with a random intercept and slope per "
        f"patient and fixed effects of group × piecewise-linear time, knotted at day "
        f"{definitions.induction_end_day} (the end of induction).{model} Two or more scores of one instrument on "
        f"the same day are replaced by their mean. {suppression}"
    )


# --- the PDF -------------------------------------------------------------------------------------------------


class _Pdf(FPDF):
    """A4 portrait with a running header, and a footer with the generation time, the suppression rule
    and the page number."""

    def __init__(self, practice: str, generated: str, threshold: int):
        super().__init__(orientation="P", unit="mm", format="A4")
        self.practice, self.generated, self.threshold = practice, generated, threshold
        self.unicode = all((FONT_DIR / f).is_file() for f in FONT_FILES.values())
        if self.unicode:
            for style, f in FONT_FILES.items():
                self.add_font("DejaVu", style, str(FONT_DIR / f))
        self.family = "DejaVu" if self.unicode else "helvetica"
        self.set_margins(15, 16, 15)
        self.set_auto_page_break(True, margin=18)
        self.set_font(self.family, size=9)

    def text_safe(self, text) -> str:
        text = str(text)
        if self.unicode:
            return text
        for a, b in _LATIN1.items():
            text = text.replace(a, b)
        return text.encode("latin-1", "replace").decode("latin-1")

    def header(self):
        if self.page_no() == 1:
            return
        self.set_font(self.family, "", 7.5)
        self.set_text_color(110)
        self.cell(0, 5, self.text_safe(f"{self.practice} · Outcomes report"), align="L")
        self.ln(7)
        self.set_text_color(0)

    def footer(self):
        self.set_y(-13)
        self.set_draw_color(200)
        self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
        self.set_font(self.family, "", 7.5)
        self.set_text_color(110)
        rule = (
            f"small counts (1-{self.threshold - 1}) shown as <{self.threshold}"
            if self.threshold > 1
            else "small counts not suppressed"
        )
        self.cell(0, 6, self.text_safe(f"Generated {self.generated} · {rule}"), align="L")
        self.set_x(self.l_margin)
        self.cell(0, 6, f"Page {self.page_no()} of {{nb}}", align="R")
        self.set_text_color(0)

    # building blocks
    def heading(self, text: str, level: int = 1, need: float = 40):
        """A heading (and a bookmark), on a new page unless ``need`` mm are left below it."""
        size = {0: 20, 1: 14, 2: 11}[level]
        if level > 0 and self.get_y() + need > self.page_break_trigger:
            self.add_page()
        if level > 0:
            self.start_section(self.text_safe(text), level=level - 1)
        self.ln(2 if level > 1 else 3)
        self.set_font(self.family, "B", size)
        self.multi_cell(0, size * 0.5, self.text_safe(text), new_x="LMARGIN", new_y="NEXT")
        self.ln(1.5)
        self.set_font(self.family, "", 9)

    def para(self, text: str, size: float = 9, style: str = "", colour: int = 0, h: float | None = None):
        self.set_font(self.family, style, size)
        self.set_text_color(colour)
        self.multi_cell(0, h or size * 0.47, self.text_safe(text), new_x="LMARGIN", new_y="NEXT")
        self.set_text_color(0)
        self.set_font(self.family, "", 9)

    def bullets(self, items, size: float = 8.5, colour: int = 0):
        for item in items:
            self.para(f"•  {item}", size=size, colour=colour)

    def notes(self, items, title: str = "Notes"):
        items = [str(n) for n in items if str(n).strip()]
        if items:
            self.ln(1)
            self.para(f"{title}:", size=7.5, style="B", colour=90)
            self.bullets(items, size=7.5, colour=90)

    def grid(self, header: list[str], rows: list[list[str]], align=None, size: float = 8):
        """A full-width table with a shaded heading row (repeated on a new page). Columns get the width of
        their longest cell, so that numbers never wrap; text (left-aligned) columns take what is left."""
        align = align or ["LEFT"] + ["RIGHT"] * (len(header) - 1)
        header = [self.text_safe(h) for h in header]
        rows = [[self.text_safe(v) for v in r] for r in rows]
        pad = 1.2
        natural, least = [], []
        for j, h in enumerate(header):
            self.set_font(self.family, "B", size)
            words = max((self.get_string_width(w) for w in h.split()), default=0)
            self.set_font(self.family, "", size)
            cells = max((self.get_string_width(r[j]) for r in rows), default=0)
            natural.append(max(words, cells) + 2 * pad + 0.6)
            least.append(max(words, self.get_string_width("W" * 6)) + 2 * pad + 0.6)
        flex = [j for j, a in enumerate(align) if a == "LEFT"] or list(range(len(header)))
        room = self.epw - 0.05
        widths = list(natural)
        extra = room - sum(widths)
        if extra >= 0:  # fill the page width: the text columns take the slack
            for j in flex:
                widths[j] += extra / len(flex)
        else:  # too wide: shrink the text columns (they wrap), then everything
            shrinkable = sum(natural[j] - least[j] for j in flex if natural[j] > least[j])
            cut = min(-extra, shrinkable)
            for j in flex:
                if natural[j] > least[j]:
                    widths[j] -= cut * (natural[j] - least[j]) / shrinkable
            if sum(widths) > room:
                widths = [w * room / sum(widths) for w in widths]
        self.set_font(self.family, "", size)
        with self.table(
            col_widths=widths,
            width=sum(widths),
            align="LEFT",
            text_align=align,
            headings_style=FontFace(emphasis="BOLD", fill_color=(232, 236, 241)),
            line_height=size * 0.5,
            padding=pad,
            borders_layout="HORIZONTAL_LINES",
        ) as table:
            head = table.row()
            for h in header:
                head.cell(h)
            for r in rows:
                row = table.row()
                for v in r:
                    row.cell(v)
        self.ln(2)
        self.set_font(self.family, "", 9)

    def figure(self, chart, width_mm: float | None = None):
        """A chart of analysis.charts: the image, its caption and its notes; a line instead of a figure
        with nothing drawn (every group withheld by small-cell suppression)."""
        width_mm = width_mm or (self.w - self.l_margin - self.r_margin)
        height_px = int(chart.figure.layout.height or 500)
        if not has_marks(chart.figure):
            self.para(
                "[Figure not drawn: too few patients to show any group (small-cell suppression).]", size=8, colour=120
            )
            self.notes(chart.notes)
            return
        try:
            png = figure_png(chart.figure, FIGURE_WIDTH_PX, height_px)
        except RuntimeError as e:
            self.para(f"[Figure not drawn: {e}]", size=8, colour=120)
        else:
            h = width_mm * height_px / FIGURE_WIDTH_PX
            if self.get_y() + h > self.h - self.b_margin:
                self.add_page()
            self.image(io.BytesIO(png), x=self.l_margin, w=width_mm, h=h)
            self.ln(1)
        self.para(chart.caption, size=7.5, style="I", colour=70)
        self.notes(chart.notes)


def has_marks(figure) -> bool:
    """True when a figure draws something: a trace with a value (a bar longer than 0)."""
    for trace in figure.data:
        horizontal = getattr(trace, "orientation", None) == "h"
        values = trace.x if horizontal else trace.y
        if values is None:
            continue
        for v in values:
            if fmt.missing(v) or isinstance(v, str):
                continue
            if trace.type == "bar" and float(v) == 0:
                continue
            return True
    return False


def _now() -> _dt.datetime:
    return _dt.datetime.now(_dt.UTC)


def _stamp(generated_at) -> tuple[_dt.datetime, str]:
    if generated_at is None:
        generated_at = _now()
    if not isinstance(generated_at, _dt.datetime):
        raise TypeError(f"generated_at must be a datetime (UTC), got {type(generated_at).__name__}")
    if generated_at.tzinfo is None:
        generated_at = generated_at.replace(tzinfo=_dt.UTC)
    utc = generated_at.astimezone(_dt.UTC)
    return utc, f"{utc:%Y-%m-%d %H:%M} UTC"


def _safely(func, *args, **kwargs):
    """(result, None), or (None, message) when the data cannot answer (DataError)."""
    try:
        return func(*args, **kwargs), None
    except DataError as e:
        return None, str(e)


def build_report(
    assessments,
    treatments=None,
    definitions=None,
    *,
    issues=None,
    practice="Your practice",
    filters="All patients",
    instrument="PHQ9",
    generated_at=None,
    rows_read=None,
) -> bytes:
    """The PDF report (bytes) of canonical ``assessments`` (and optional ``treatments``) under the
    definition card ``definitions`` (default card when None).

    ``issues``: the validation issues table (``Loaded.issues``) for the data-quality page; ``rows_read``:
    rows read from the files; ``practice``, ``filters``: printed on the title page; ``instrument``: the
    instrument of the funnel, trajectory and durability sections (PHQ-9 by default; when the data hold
    none, the most scored one, with a note); ``generated_at``: a datetime (UTC; default now), also the
    "as of" month of the KPIs. Inputs are not changed.
    """
    from analysis import durability, metrics, trajectory
    from analysis.outcomes import Definitions

    if not isinstance(assessments, pd.DataFrame):
        raise TypeError(f"assessments must be a pandas DataFrame, got {type(assessments).__name__}")
    if treatments is not None and not isinstance(treatments, pd.DataFrame):
        raise TypeError(f"treatments must be a pandas DataFrame or None, got {type(treatments).__name__}")
    if issues is not None and not isinstance(issues, pd.DataFrame):
        raise TypeError(f"issues must be the issues DataFrame (Loaded.issues) or None, got {type(issues).__name__}")
    defs = definitions if definitions is not None else Definitions()
    when, stamp = _stamp(generated_at)
    threshold = defs.suppression_threshold
    if len(assessments) == 0:
        raise DataError("There are no scores to report on (the data, or the filters, leave no patient).")
    start_figure_server()  # Chromium starts in the background while the statistics run

    code, instrument_notes = choose_instrument(assessments, instrument)
    summary, kpis = metrics.summary_and_kpis(assessments, treatments, defs, instrument=code, as_of=f"{when:%Y-%m}")
    dur, dur_error = _safely(durability.analyse, assessments, treatments, code, by=CONDITION, definitions=defs)
    if dur is not None:  # the ungrouped numbers from the same episodes
        dur_all = durability.overall(dur)
    else:
        dur_all, _ = _safely(durability.analyse, assessments, treatments, code, by=None, definitions=defs)
    traj, traj_error = _safely(trajectory.trajectories, assessments, code, by=CONDITION, definitions=defs)

    pdf = _Pdf(practice, stamp, threshold)
    pdf.set_title(pdf.text_safe(f"Outcomes report: {practice}"))
    pdf.set_author(pdf.text_safe(practice))
    pdf.set_creator("Ketamine outcomes dashboard (analysis.report)")
    pdf.set_creation_date(when)
    pdf.add_page()
    _title(pdf, summary, kpis, practice, filters, stamp, code, instrument_notes, rows_read, len(assessments))
    _outcomes(pdf, summary, code, threshold)
    _trajectory(pdf, traj, traj_error, code, defs, threshold)
    _durability(pdf, dur, dur_all, dur_error, code, defs, threshold)
    _methods(pdf, defs, summary, traj, threshold)
    _data_quality(pdf, assessments, treatments, issues, rows_read, threshold)
    return bytes(pdf.output())


def write_report(loaded, out_path, definitions=None, **kw) -> Path:
    """Write the report of a load (``analysis.ingest.Loaded``) to ``out_path``; returns the path.

    Keyword arguments go to :func:`build_report` (practice, filters, instrument, generated_at)."""
    if not getattr(loaded, "ok", False):
        raise DataError("These files cannot be used (see `python -m analysis validate`): no report was written.")
    out = Path(out_path)
    if out.suffix.lower() != ".pdf":
        raise DataError(f"the report is a PDF: give --out a path ending in .pdf, not {out.name!r}")
    if not out.parent.is_dir():
        raise DataError(f"cannot write the report: folder {str(out.parent)!r} does not exist")
    kw.setdefault("issues", loaded.issues)
    kw.setdefault("rows_read", loaded.rows_read)
    pdf = build_report(loaded.assessments, loaded.treatments, definitions, **kw)
    try:
        tmp = out.with_name(out.name + ".part")
        tmp.write_bytes(pdf)
        os.replace(tmp, out)
    except OSError as e:
        raise DataError(f"cannot write the report to {out}: {e.strerror or e}") from None
    return out


# --- sections --------------------------------------------------------------------------------------------------


def _title(pdf, summary, kpis, practice, filters, stamp, code, instrument_notes, rows_read, n_scores):
    t = summary.threshold
    p = summary.suppressed_practice()
    pdf.ln(18)
    pdf.para("Outcomes report", size=11, colour=90)
    pdf.heading(practice, level=0)
    first, last = p.get("first_start_month"), p.get("last_start_month")
    period = f"{first} to {last}" if first and last and first != last else (first or "not known")
    lines = [
        ("Period (start months)", period),
        ("Patients", filters),
        ("Main instrument", f"{code}: {instruments.get(code).name}"),
        ("Generated", stamp),
    ]
    for k, v in lines:
        pdf.set_font(pdf.family, "B", 10)
        pdf.cell(45, 6, pdf.text_safe(k))
        pdf.set_font(pdf.family, "", 10)
        pdf.multi_cell(0, 6, pdf.text_safe(v), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.para(
        "De-identified practice data: days are counted from each patient's first treatment and only start "
        "months are kept. Rates are over the evaluable patients with 95% confidence intervals. Counts "
        f"from 1 to {t - 1} are shown as <{t} and anything derived from them is withheld (—)."
        if t > 1
        else "De-identified practice data; small counts are not suppressed in this report.",
        size=8.5,
        colour=70,
    )
    pdf.notes(instrument_notes)

    pdf.heading("Key figures", level=1)
    period_now, previous = kpis["period"].iloc[0], kpis["previous_period"].iloc[0]
    cells = kpi_cells(kpis, t)
    has_previous = isinstance(previous, str)
    pdf.para(
        f"Patients who started {period_now}, against {previous}."
        if has_previous
        else "All patients: start months are not known month by month, so there is no comparison period.",
        size=8.5,
    )
    header = ["", str(period_now)] + ([str(previous), "Change"] if has_previous else []) + ["Out of"]
    rows = [[r.label, r.value] + ([r.previous, r.change] if has_previous else []) + [r.of] for r in cells.itertuples()]
    pdf.grid(header, rows)
    caveats = sorted({f"{r.label}: {r.note}" for r in cells.itertuples() if r.note})
    pdf.notes(caveats, "Caveats")

    pdf.heading("All start months", level=2)
    share = lambda s, n: f"{fmt.percent(s)} of {fmt.count(n)}" if not fmt.missing(s) else fmt.DASH  # noqa: E731
    totals = [
        ["Patients started", fmt.count(p["patients"])],
        ["Patients with scores", fmt.count(p["patients_with_scores"])],
        ["Scores kept", fmt.count(privacy.show_count(n_scores, t))],
    ]
    if p.get("infusions") is not None and not fmt.missing(p.get("infusions")):
        totals += [
            [
                "Infusions (induction / booster / maintenance)",
                f"{fmt.count(p['infusions'])} ({fmt.count(p['induction_infusions'])} / {fmt.count(p['boosters'])}"
                f" / {fmt.count(p['maintenance'])})",
            ],
            [
                "Series completion (of patients who started a series)",
                share(p["series_completion"], p["induction_started"]),
            ],
            ["Infusions with a score that day (±1 day)", share(p["assessment_completion"], p["infusions_dated"])],
        ]
        if not fmt.missing(p.get("median_infusions")):
            totals.append(["Median induction infusions per patient", f"{float(p['median_infusions']):g}"])
    else:
        totals.append(["Infusions, series and assessment completion", "need a treatments file"])
    pdf.grid(["", "Value"], totals)


def _outcomes(pdf, summary, code, t):
    rates = summary.suppressed_rates()
    pdf.add_page()
    pdf.heading(f"Outcome funnel, {code}", level=1)
    overall = summary.rates[(summary.rates["instrument"] == code) & (summary.rates["dimension"] == "overall")]
    if len(overall):
        row = overall.iloc[0].to_dict()
        pdf.figure(charts.funnel_chart(row, code, t))
        pdf.grid(["Stage", "Patients", "Share of the stage above"], [list(r) for r in funnel_rows(row, t)])
    else:
        pdf.para(f"No {code} scores.")

    pdf.heading("Response and remission by condition", level=1)
    pdf.para(
        "Per instrument, overall and by condition: rates over the evaluable patients (a baseline above 0 and a "
        "response assessment) with 95% Wilson confidence intervals.",
        size=8.5,
        colour=70,
    )
    part = rates[rates["dimension"].isin(["overall", "condition"])]
    header = ["Instrument", "Condition", *RATE_HEADER]
    pdf.grid(header, _rate_rows(part, with_instrument=True), align=["LEFT", "LEFT"] + ["RIGHT"] * 6, size=7.5)
    by_site = rates[(rates["instrument"] == code) & (rates["dimension"] == "site")]
    if len(by_site):
        pdf.heading(f"{code} response and remission by site", level=2)
        pdf.grid(
            ["Site", *RATE_HEADER],
            _rate_rows(by_site, with_instrument=False),
            size=7.5,
        )
    pdf.notes(summary.notes)


#: the headings of the rate tables' columns after the group (the cells of :func:`_rate_rows`)
RATE_HEADER = [
    fmt.LABELS["patients"],
    fmt.LABELS["evaluable"],
    fmt.LABELS["responders"],
    fmt.ci_label("response_rate"),
    fmt.LABELS["remitters"],
    fmt.ci_label("remission_rate"),
]


def _rate_rows(part: pd.DataFrame, with_instrument: bool) -> list[list[str]]:
    rows = []
    for r in part.to_dict("records"):
        group = "All" if r["dimension"] == "overall" else charts.label(r["group"])
        rows.append(
            ([r["instrument"]] if with_instrument else [])
            + [
                group,
                fmt.count(r["patients"]),
                fmt.count(r["evaluable"]),
                fmt.count(r["responders"]),
                fmt.rate_ci(r["response_rate"], r["response_lower"], r["response_upper"]),
                fmt.count(r["remitters"]),
                fmt.rate_ci(r["remission_rate"], r["remission_lower"], r["remission_upper"]),
            ]
        )
    return rows


def _trajectory(pdf, traj, error, code, defs, t):
    pdf.heading(f"{code} scores over time", level=1, need=120)
    if traj is None:
        pdf.para(f"Trajectories are not available: {error}")
        return
    predicted = traj.predicted if traj.converged else None
    chart = charts.trajectory_chart(
        traj.observed, predicted, None, instruments.get(code).band_ranges(), defs.induction_end_day, code, "score", t
    )
    pdf.figure(chart)
    if traj.model is None:
        pdf.para("The mixed model was not fitted (see the notes); the observed means are shown.", size=8.5)
    elif not traj.converged:
        pdf.para(
            "The mixed model did not converge on these data, so its curves are not shown; the observed means are.",
            size=8.5,
            style="B",
        )
    else:
        pdf.para(f"Mixed model (REML): {traj.model_formula}; converged.", size=8)
    pdf.notes(traj.notes)


def _durability(pdf, res, overall, error, code, defs, t):
    pdf.add_page()
    pdf.heading(f"How long {code} response lasts", level=1)
    if res is None or overall is None:
        pdf.para(f"Durability is not available: {error}")
        return
    days = defs.survival_days
    g = overall._groups_shown().iloc[0] if len(overall.groups) else None
    lr = res.logrank
    small = g is None or isinstance(g["n"], str) or fmt.missing(g["n"]) or g["n"] == 0
    header = ["Responders followed", "Median days (95% CI)"] + [_day_label(d) for d in days] + ["Log-rank p"]
    cells = [
        fmt.count(0 if g is None else g["n"]),
        fmt.DASH if small else fmt.median_ci(g["median"], g["median_lower"], g["median_upper"]),
    ]
    cells += [fmt.DASH if small else fmt.rate_ci(g[f"s{d}"], g[f"s{d}_lower"], g[f"s{d}_upper"]) for d in days]
    cells.append(fmt.DASH if lr is None else fmt.p_value(lr.p))
    pdf.grid(header, [cells], align=["CENTER"] * len(header), size=7.5)

    pdf.figure(charts.km_chart(res.km.table, res.at_risk(), code, t))

    pdf.heading("Median durability and share still responding, by condition", level=2)
    shown = pd.concat([overall._groups_shown().assign(group="All"), res._groups_shown()], ignore_index=True)
    rows = []
    for r in shown.to_dict("records"):
        hidden = isinstance(r["n"], str)
        rows.append(
            [
                charts.label(r["group"]) if r["group"] != "All" else "All",
                fmt.count(r["n"]),
                fmt.count(r["events"]),
                fmt.DASH if hidden else fmt.median_ci(r["median"], r["median_lower"], r["median_upper"]),
            ]
            + [fmt.DASH if hidden else fmt.rate_ci(r[f"s{d}"], r[f"s{d}_lower"], r[f"s{d}_upper"]) for d in days]
        )
    head = ["Condition", "Followed", "Lost response", "Median days (95% CI)"] + [_day_label(d) for d in days]
    pdf.grid(head, rows, size=7.5)
    if lr is not None and not fmt.missing(lr.chi2):
        pdf.para(
            f"Log-rank test across conditions: chi-square {lr.chi2:.2f} on {lr.df} df, p = {fmt.p_value(lr.p)}.",
            size=8.5,
        )

    pdf.heading("What changes the hazard of losing response (Cox model)", level=2, need=50)
    fit = res.cox
    if fit is None or not len(fit.params):
        pdf.para("The Cox model could not be fitted on these data (see the notes).", size=8.5)
    elif privacy.is_small(fit.n, t):
        pdf.para(f"Not shown: the model rests on fewer than {t} episodes (small-cell suppression).", size=8.5)
    else:
        pdf.para(
            f"Cox proportional-hazards model with Efron ties, fitted on "
            f"{fmt.count(privacy.show_count(fit.n, t))} episodes with {fmt.count(privacy.show_count(fit.events, t))}"
            " losses of response; a hazard ratio above 1 means response is lost sooner than in the reference "
            "level.",
            size=8.5,
        )
        rows = []
        for r in fit.params.to_dict("records"):
            covariate = str(r.get("covariate") or r["term"]).replace("_", " ").capitalize()
            level = charts.label(r["level"]) if not fmt.missing(r.get("level")) else ""
            reference = charts.label(r["reference"]) if not fmt.missing(r.get("reference")) else ""
            rows.append(
                [covariate, level, reference, fmt.hazard_ratio(r["hr"], r["lower"], r["upper"]), fmt.p_value(r["p"])]
            )
        pdf.grid(
            ["Covariate", "Level", "Against", "Hazard ratio (95% CI)", "p"],
            rows,
            align=["LEFT", "LEFT", "LEFT", "RIGHT", "RIGHT"],
            size=7.5,
        )
    pdf.notes(res.notes)


def _day_label(day: int) -> str:
    return f"At {day // 7} weeks" if day % 7 == 0 else f"At day {day}"


def _methods(pdf, defs, summary, traj, t):
    pdf.heading("Definitions and methods", level=1, need=80)
    pdf.heading(f"The definition card in force: '{defs.name}'", level=2)
    pdf.bullets(defs.description())
    codes = list(summary.practice.get("instruments") or [])
    reg = instruments.registry()
    rows = []
    for c in codes:
        ins = reg[c]
        rem = defs.remission_threshold(c)
        bands = ", ".join(f"{lab} {lo:g}–{hi:g}" for lab, lo, hi in ins.band_ranges()) or "none validated"
        rows.append(
            [
                c,
                ins.name,
                f"≥ {100 * defs.response_threshold(c):g}% drop",
                f"≤ {rem:g}" if rem is not None else "none",
                bands,
            ]
        )
    if rows:
        pdf.ln(1)
        pdf.grid(["Code", "Instrument", "Response", "Remission", "Severity bands"], rows, align=["LEFT"] * 5, size=7.5)
    pdf.heading("Methods", level=2)
    pdf.para(methods_text(defs, codes, t, None if traj is None or traj.model is None else traj.converged), size=8.5)
    pdf.heading("Citations", level=2)
    cites = [f"{what}: {ref}" if what else ref for what, ref in methods.citations(codes)]
    pdf.bullets(cites, size=7.5)


def _data_quality(pdf, assessments, treatments, issues, rows_read, t):
    pdf.heading("Data quality", level=1)
    present = sorted(assessments[INSTRUMENT].dropna().unique().tolist())
    facts = []
    if rows_read is not None:
        facts.append(["Rows read from the files", fmt.count(privacy.show_count(int(rows_read), t))])
    facts += [
        ["Scores kept (after the filters)", fmt.count(privacy.show_count(len(assessments), t))],
        ["Patients with scores", fmt.count(privacy.show_count(assessments["patient_id"].nunique(), t))],
        ["Instruments", ", ".join(present) or fmt.DASH],
        [
            "Treatment sessions",
            "no treatments file" if treatments is None else fmt.count(privacy.show_count(len(treatments), t)),
        ],
    ]
    for column, what in ((CONDITION, "condition"), (SITE, "site")):
        if column in assessments.columns:
            unknown = assessments.loc[assessments[column].isna(), "patient_id"].nunique()
            facts.append([f"Patients without a {what}", fmt.count(privacy.show_count(unknown, t))])
    pdf.grid(["", "Value"], facts)
    if issues is None:
        pdf.para("The validation issues were not supplied with these data.", size=8.5)
        return
    if issues.empty:
        pdf.para("Validation found no problems in the files.", size=8.5)
        return
    pdf.para(
        "Problems found when the files were read, by kind (errors stop a file from being used; warnings and "
        "notes describe rows that were corrected or left out). Messages are not printed here because they "
        "quote patient keys and row numbers: `python -m analysis validate` or the Data page shows them.",
        size=8.5,
    )
    order = {s: i for i, s in enumerate(("error", "warning", "info"))}
    grouped = []
    for (severity, code), part in issues.groupby(["severity", "code"], sort=False):
        rows = sum(
            0 if r is None or isinstance(r, float) else (1 if isinstance(r, (int, str)) else len(r))
            for r in part["rows"]
        )
        columns = ", ".join(sorted({str(c) for c in part["column"] if not fmt.missing(c) and str(c)})) or fmt.DASH
        grouped.append((order.get(severity, 9), str(severity), str(code), columns, rows))
    grouped.sort()
    pdf.grid(
        ["Severity", "Problem", "Column", "Rows affected"],
        [[s, c, cols, fmt.count(privacy.show_count(r, t))] for _, s, c, cols, r in grouped],
        align=["LEFT", "LEFT", "LEFT", "RIGHT"],
        size=7.5,
    )
