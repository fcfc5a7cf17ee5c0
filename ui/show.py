"""Tables, metrics, charts and notes on screen: counts suppressed as analysis.privacy says, strings that come
from the data shown as text, numbers written by analysis.formatting. Every page shows its results through here.
"""

from __future__ import annotations

import re

import pandas as pd
import streamlit as st

from analysis import charts, formatting, privacy
from ui import cache, session

#: Markdown's marks that text from the data must not carry into the page (links, code, emphasis, LaTeX, tables, HTML);
#: the underscore is left as it is (it is only emphasis at the edge of a word, and file names are full of it)
_MARKS = re.compile(r"([\\`*\[\]$~|<>])")


def text(value) -> str:
    """Text from the data (a file, site or data set name, a message quoting a file) made safe for Markdown:
    shown as written, never as formatting, links or formulas."""
    return _MARKS.sub(r"\\\1", str(value))


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
    Returns the suppressed table (what was shown and what the downloads hold)."""
    thr = session.threshold()
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
    for c, (lo, hi) in (ci or {}).items():
        if c in percent:  # a share with its interval: '53.8% (47.9 to 59.6)'
            rates = zip(shown[c], shown[lo], shown[hi])
            view[c] = [
                r if isinstance(r, str) else "" if formatting.missing(r) else formatting.rate_ci(r, a, b)
                for r, a, b in rates
            ]
        else:  # values already written as text (e.g. days): '64 (53 to 69)'
            view[c] = [
                (f"{v} ({a} to {b})" if a and b else v) if v else "" for v, a, b in zip(view[c], view[lo], view[hi])
            ]
        view = view.drop(columns=[lo, hi])
    view = view.drop(columns=[c for c in hide if c in view.columns])
    st.dataframe(view.rename(columns=rename or {}), hide_index=True, width="stretch")
    if privacy.any_marked(shown):
        st.caption(privacy.footnote(thr))
    shown = privacy.with_footnote(shown.rename(columns=rename or {}), thr)
    left, right, _ = st.columns([1, 1, 4])
    stem = name.lower().replace(" ", "_")
    left.download_button(
        "Download CSV",
        privacy.to_csv_bytes(shown),
        f"{stem}.csv",
        "text/csv",
        key=f"csv_{key or stem}",
        icon=":material/download:",
    )
    right.download_button(
        "Download Excel",
        cache.cached(privacy.to_excel_bytes, shown, sheet=name),
        f"{stem}.xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key=f"xlsx_{key or stem}",
        icon=":material/download:",
    )
    return shown


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
        st.markdown("\n".join(f"- {line}" for line in defs.description()))
        st.json(defs.to_dict(), expanded=False)
