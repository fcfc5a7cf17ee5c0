"""The A4 page of the PDF report: fonts, running header and footer, and the building blocks a report is laid out
with (headings, paragraphs, bullets, notes, full-width tables, figures with their captions).

Text uses DejaVu Sans (fonts-dejavu-core) so that "≥", "–" and "Å" print; without it, Helvetica with text
made Latin-1-safe. Figures are drawn by ``analysis.report.figures``.
"""

from __future__ import annotations

import io
from pathlib import Path

from fpdf import FPDF
from fpdf.fonts import FontFace

from analysis import formatting as fmt
from analysis.report import figures

FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
FONT_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf", "I": "DejaVuSans-Oblique.ttf"}
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


class Pdf(FPDF):
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
            png = figures.figure_png(chart.figure, figures.FIGURE_WIDTH_PX, height_px)
        except RuntimeError as e:
            self.para(f"[Figure not drawn: {e}]", size=8, colour=120)
        else:
            h = width_mm * height_px / figures.FIGURE_WIDTH_PX
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
