"""Tables, metrics, charts and notes on screen: counts suppressed as analysis.privacy says, strings that come
from the data shown as text, numbers written by analysis.formatting. Every page shows its results through here.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import streamlit as st

from analysis import charts, formatting, privacy
from ui import cache, gate, session

#: Markdown's marks that text from the data must not carry into the page: links and images, code, emphasis, LaTeX,
#: tables, HTML and its entities, headings, Streamlit's ':colour[...]'; an underscore only at the edge of a word
#: (emphasis there; file names are full of inner ones); and what starts an autolink: '://', 'www.', '@'
_MARKS = re.compile(r"[\\`*\[\]$~|<>&#{}!@]|(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])|:(?=//)|(?<=[Ww]{3})\.")
_BREAKS = re.compile(r"[\r\n\u2028\u2029\x0b\x0c\x85]+")
#: what Streamlit reads even when escaped (seen in Chromium): an emoji, icon or directive after a colon (':smile:',
#: ':material/home:', ':red[...]') and an autolink at 'www.' or an e-mail's '@'. An invisible WORD JOINER
#: (U+2060) after such a colon and before the '.' or '@' breaks them; the text reads as written.
_JOINS = re.compile(r"(?<=:)(?=[A-Za-z])|(?<=[Ww]{3})(?=\\\.)|(?=\\@)")
JOINER = "\u2060"


#: rows of a long patient-level list drawn on screen (st.dataframe): the most urgent first; its download holds all
ROWS_ON_SCREEN = 1000


def first_rows(table: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """The rows of a long list drawn on screen, and the end of its caption saying how many of them that is."""
    shown = table.head(ROWS_ON_SCREEN)
    note = f"; the first {len(shown):,} on screen, all of them in the download." if len(shown) < len(table) else "."
    return shown, note


def text(value) -> str:
    """Text from the data or a user (a file, site, data set or card name, a message quoting one) made safe for
    Markdown (st.markdown, captions, alerts, labels, help): shown as written, on one line, never as formatting,
    a link, an image, HTML, a formula, an emoji or an icon."""
    return _JOINS.sub(JOINER, _MARKS.sub(r"\\\g<0>", _BREAKS.sub(" ", str(value))))


def plot(func, *args, **kwargs) -> None:
    """``chart(func(*args, **kwargs))`` for a function of analysis.charts, the chart built once per content
    of its arguments and shared by reruns and sessions (ui.cache.chart)."""
    chart(cache.chart(func, *args, **kwargs))


def chart(c: charts.Chart) -> None:
    """A chart with its caption and its notes."""
    st.plotly_chart(c.figure, width="stretch", config={"displaylogo": False})
    st.caption(c.caption)
    for n in c.notes:
        st.caption(f"Note: {text(n)}")


def _text(v) -> str:
    """A cell as text: missing values as ''."""
    return "" if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v)


def _with_interval(value: str, lower: str, upper: str) -> str:
    """'64 (53 to 69)'; the value alone when the interval is missing or withheld."""
    whole = all(x and not x.endswith(privacy.MARK) for x in (value, lower, upper))
    return f"{value} ({lower} to {upper})" if whole else value


def table(
    frame: pd.DataFrame,
    name: str,
    counts=(),
    derived=(),
    percent=(),
    ci=None,
    rename=None,
    key=None,
    hide=(),
    shares=None,
    complements=(),
) -> pd.DataFrame:
    """Show a table after small-cell suppression, with CSV and Excel downloads of the same suppressed table.

    ``counts``, ``derived``, ``shares``, ``complements``: as analysis.privacy.suppress_table (a table that is
    already suppressed is passed with no counts);
    ``percent``: shares (fractions) shown as percentages; ``ci``: {share column: (lower, upper)} shown as one
    column; ``hide``: columns left off the screen (the downloads keep them).
    The downloads hold the values as shown ('<11*', 'withheld*' and the footnote saying why), each share's raw
    fraction in a column of its own, under the provenance of the data, filters and card (:func:`downloads`).
    Returns the suppressed table (the numbers shown and downloaded, before formatting)."""
    thr = session.threshold()
    view, download, shown = cache.for_screen(
        _laid_out, frame, thr, counts, derived, percent, ci, rename, hide, shares, complements
    )
    st.dataframe(view, hide_index=True, width="stretch")
    if privacy.any_marked(shown):
        st.caption(privacy.footnote(thr))
    stem = name.lower().replace(" ", "_")
    downloads(download, name, f"{key or stem}", stem)
    return shown


def _laid_out(frame, thr, counts, derived, percent, ci, rename, hide, shares, complements):
    """:func:`table`'s work without Streamlit (cached there): (the table on screen, the download's table, the
    suppressed table renamed)."""
    shown = privacy.suppress_table(frame, counts, derived, thr, shares=shares, complements=complements)
    shown = privacy.mark(shown, thr)  # '<11*' and 'withheld*', never blank, as in the downloads and the PDF
    view = shown.copy()
    for c in view.columns:
        if c in percent:
            view[c] = view[c].map(
                lambda v: v if isinstance(v, str) else "" if formatting.missing(v) else formatting.percent(v)
            )
        elif view[c].dtype == object:
            view[c] = view[c].map(_text)
    handled = {*percent, *(x for c, pair in (ci or {}).items() if c in percent for x in (c, *pair))}
    raw = [c for c in view.columns if c not in handled and fractional(shown[c])]
    for c in raw:  # other numbers with decimals (intervals' too): 1 decimal (3 significant digits under 1), p values
        p = is_p_value(c)
        view[c] = shown[c].map(
            lambda v, p=p: v if isinstance(v, str) else "" if formatting.missing(v) else number(v, p)
        )
    for c, (lo, hi) in (ci or {}).items():
        if c in percent:  # a share with its interval: '53.8% (47.9 to 59.6)'
            rates = zip(shown[c], shown[lo], shown[hi])
            view[c] = [
                r if isinstance(r, str) else "" if formatting.missing(r) else formatting.rate_ci(r, a, b)
                for r, a, b in rates
            ]
        else:  # numbers rounded above, or values already written as text (e.g. days): '64 (53 to 69)'
            cells = (map(_text, view[x]) for x in (c, lo, hi))
            view[c] = [_with_interval(v, a, b) for v, a, b in zip(*cells)]
        view = view.drop(columns=[lo, hi])
    download = privacy.with_footnote(downloadable(view, shown, percent, ci, rename, raw), thr)
    view = view.drop(columns=[c for c in hide if c in view.columns]).rename(columns=rename or {})
    return view, download, shown.rename(columns=rename or {})


def downloadable(view: pd.DataFrame, shown: pd.DataFrame, percent=(), ci=None, rename=None, raw=()) -> pd.DataFrame:
    """The table a download holds: the values as on screen (percent with one decimal, a rate with its interval
    in one cell, '<11', other numbers rounded as shown), hidden columns too, and each share's raw value (a
    fraction) and each rounded number's (``raw``: '<column> (raw)') in a column of its own."""
    out = view.rename(columns=rename or {})
    for c in percent:
        if c not in shown.columns:
            continue
        for r in (c, *((ci or {}).get(c, ()))):
            out[f"{r} (fraction)"] = shown[r].map(
                lambda v: v if isinstance(v, str) else None if formatting.missing(v) else float(v)
            )
    for c in raw:
        out[f"{(rename or {}).get(c, c)} (raw)"] = shown[c].map(
            lambda v: None if isinstance(v, str) or formatting.missing(v) else float(v)
        )
    return out


def fractional(column: pd.Series) -> bool:
    """Whether a column holds numbers (floats, possibly beside '<11' or withheld cells) of which at least one is
    not whole: those are rounded on screen."""
    if column.dtype.kind not in "fO":
        return False
    v = [float(x) for x in column if isinstance(x, (float, np.floating)) and x == x and abs(x) != float("inf")]
    return any(x != round(x) for x in v)


def is_p_value(name) -> bool:
    """A column of p values by its name ('p', 'p_value', 'log-rank p', 'p (chi-square)')."""
    n = str(name).lower().replace("_", " ").strip()
    return n in ("p", "p value", "pvalue") or n.endswith(" p") or n.startswith("p ")


def number(v, p: bool = False) -> str:
    """A number as shown: 1 decimal ('3.9', '-12.0'), 3 significant digits under 1 in size ('0.0542'), a p value
    as formatting.p_value."""
    v = float(v)
    if p:
        return formatting.p_value(v)
    if v != v or abs(v) == float("inf"):
        return str(v)
    return f"{v:.1f}" if abs(v) >= 1 or v == 0 else f"{v:.3g}"


def downloads(table: pd.DataFrame, name: str, key: str, stem: str | None = None, deferred: bool = False) -> None:
    """'Download CSV' and 'Download Excel' of ``table`` (already suppressed), each with the provenance of the
    data, filters and definition card in force (analysis.provenance): the one place every table's downloads
    are made. ``deferred``: the files are made when a button is clicked, not on every run (large tables, e.g.
    one row per session); ``table`` may then be a function that makes the table (called on the click)."""
    from analysis import provenance

    stem = stem or name.lower().replace(" ", "_")
    if session.threshold() < session.shared_threshold():  # (files leave the practice: never below 11)
        st.caption(
            f"No downloads while counts under {session.shared_threshold()} are shown: files leave the practice, "
            f"so they are made at {session.shared_threshold()}. Set the threshold back on the Methods page to download."
        )
        return
    prov = session.provenance()
    with st.container(horizontal=True):
        st.download_button(
            "Download CSV",
            (lambda: provenance.csv_bytes(_made(table), prov)) if deferred else provenance.csv_bytes(table, prov),
            f"{stem}.csv",
            "text/csv",
            key=f"csv_{key}",
            icon=":material/download:",
            on_click=gate.log_download,
            args=("CSV", f"{stem}.csv"),
        )
        st.download_button(
            "Download Excel",
            (lambda: provenance.excel_bytes(_made(table), prov, sheet=name))
            if deferred
            else cache.cached(provenance.excel_bytes, table, prov, sheet=name),
            f"{stem}.xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            key=f"xlsx_{key}",
            icon=":material/download:",
            on_click=gate.log_download,
            args=("Excel", f"{stem}.xlsx"),
        )


def _made(table):
    """A deferred download's table: ``table`` itself, or what the function ``table`` makes."""
    return table() if callable(table) else table


def notes(items) -> None:
    """The caveats of a result, under its chart (analysis/ writes small counts in them as '<11')."""
    items = [str(n) for n in (items or ()) if str(n).strip()]
    if items:
        with st.expander(f"Notes ({len(items)})", expanded=False):
            for n in items:
                st.markdown(f"- {text(n)}")


def count(n) -> str:
    """A count as shown: '1,234', or '<11' when it is small."""
    return formatting.count(privacy.show_count(int(n), session.threshold()))


def definition_card(defs) -> None:
    """The definition card in force, in words and as JSON, in an expander."""
    with st.expander("The definition card in force"):
        st.markdown("\n".join(f"- {text(line)}" for line in defs.description()))
        st.json(defs.to_dict(), expanded=False)


def csv_download(table: pd.DataFrame, label: str, file_name: str, key: str, help: str | None = None) -> None:
    """One CSV download of a patient-level list (clinicians only: the caller checks the role) under the
    provenance of the data, filters and card in force, logged as every download (ui.gate.log_download). No small-
    cell rule applies: the rows are patients, not counts."""
    from analysis import provenance

    st.download_button(
        label,
        provenance.csv_bytes(table, session.provenance()),
        file_name,
        "text/csv",
        key=key,
        icon=":material/download:",
        help=help,
        on_click=gate.log_download,
        args=("CSV", file_name),
    )
