"""Which data, filters and definition card are in force in this session, and the sidebar that chooses them.

Session state lives behind the plain functions of this module: no page reads or writes ``st.session_state``
itself. The data source (sample practice, upload or saved data set) and the filters are drawn in the sidebar
by the frame (dashboard.py), and their values are kept in session state so that they survive a change of page.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import streamlit as st

from analysis import access, charts, privacy, schema
from analysis.errors import DataError
from ui import cache, gate, show

ROOT = Path(__file__).resolve().parents[1]
#: the sample practice shown until the user uploads files (OUTCOMES_SAMPLE_DIR overrides the folder)
SAMPLE_DIR = Path(os.environ.get("OUTCOMES_SAMPLE_DIR") or ROOT / "sample_data")
SAMPLE_FILES = (SAMPLE_DIR / "assessments.csv", SAMPLE_DIR / "treatments.csv")
SAMPLE_NAME = "Sample practice (synthetic)"

# the keys of session state: the public ones are set by widgets or read by tests
FILES, OVERRIDES, DATASET, DEFINITIONS, FILTERS = "files", "overrides", "dataset", "definitions", "filters"
UPLOAD = "upload"  # the uploader's widget key
_DIGEST, _LOADED, _SOURCE, _SAVED, _DATA, _FRAME, _FLASH = (
    "_files_digest",
    "_loaded",
    "_source",
    "_saved",
    "_data",
    "_frame",
    "_flash",
)


@dataclass(frozen=True)
class Data:
    """The data every page works on: the loaded files after the sidebar's filters."""

    assessments: pd.DataFrame
    treatments: pd.DataFrame | None
    loaded: object  # analysis.ingest.Loaded (all rows, before filters)
    source: str  # "Sample practice" or the uploaded file names
    filters: str  # the active filters in words
    patients: int


# --- the definition card ---------------------------------------------------------------------------------------


def definitions():
    """The definition card in force in this session (defaults until the Methods page changes it); its
    small-cell threshold is never below 11 unless this user may lower it (analysis.access)."""
    from analysis.outcomes import Definitions

    if DEFINITIONS not in st.session_state:
        st.session_state[DEFINITIONS] = Definitions()
    defs = st.session_state[DEFINITIONS]
    held, _ = access.screen_threshold(defs.suppression_threshold, gate.role(), gate.policy())
    if held != defs.suppression_threshold:  # (a card set before the role was known, or by hand)
        defs = st.session_state[DEFINITIONS] = defs.replace(suppression_threshold=held)
    return defs


def use_definitions(defs) -> None:
    """Make ``defs`` the definition card of every page in this session, named so that a changed card says so
    (analysis.card.named: 'default, edited'). A threshold under 11 from someone who may not lower it is held at
    11, with a message (shown by :func:`show_flash`)."""
    from analysis import card

    held, message = access.screen_threshold(defs.suppression_threshold, gate.role(), gate.policy())
    if message:
        defs = defs.replace(suppression_threshold=held)
        flash("warning", message)
    st.session_state[DEFINITIONS] = card.named(defs)


def card_banner() -> None:
    """On every page (drawn by the frame): a banner when the definition card in force differs from the default
    card, naming the card and listing every difference with its default."""
    from analysis import card

    defs = definitions()
    diffs = card.differences(defs)
    if diffs:
        st.warning(
            f"**Definitions changed.** The card in force, *{show.text(defs.name)}*, differs from the default "
            f"card, and every number on every page and in every download follows it: "
            + "; ".join(show.text(d) for d in diffs)
            + ". The **Methods** page shows and resets it.",
            icon=":material/tune:",
        )


def provenance():
    """analysis.provenance.Provenance of a download made now from the data, filters and card in force."""
    from analysis import provenance as prov

    d = st.session_state.get(_DATA)
    data_name = source() or "no data"
    filters = d.filters if d is not None else "none"
    return prov.make(data_name, filters, definitions(), practice=prov.practice_name())


def threshold() -> int:
    """The small-cell suppression threshold in force on screen."""
    return definitions().suppression_threshold


def shared_threshold() -> int:
    """The threshold of what leaves the practice (downloads, the PDF): the screen's, but never below 11."""
    return access.shared_threshold(threshold())


# --- the data in force -----------------------------------------------------------------------------------------


def loaded():
    """The analysis.ingest.Loaded in force (all rows, before filters; a refused upload too), or None."""
    return st.session_state.get(_LOADED)


def source() -> str | None:
    """The name of the data in force: the sample practice, the uploaded file names or the saved data set."""
    return st.session_state.get(_SOURCE)


def saved():
    """The analysis.store.DatasetInfo of the saved data set in force, or None (sample or upload)."""
    return st.session_state.get(_SAVED)


def uploaded() -> bool:
    """Whether the data in force are files uploaded in this session (not the sample, not a saved data set)."""
    return bool(st.session_state.get(FILES))


def overrides() -> dict:
    """{source column: target} corrections of the column mapping made on the Data page for the uploaded files."""
    return st.session_state.get(OVERRIDES) or {}


def use_overrides(chosen: dict) -> None:
    """Read the uploaded files again with the column mapping corrected by ``chosen`` (from the next run)."""
    st.session_state[OVERRIDES] = dict(chosen)


def dataset_in_use() -> int | None:
    """The id of the saved data set in use (None when an upload or the sample is)."""
    return None if uploaded() else st.session_state.get(DATASET)


def use_saved(info) -> None:
    """Make a saved data set the one in use, and the one the dashboard opens on next time."""
    gate.store().mark_opened(info.id, gate.user(), gate.role())
    st.session_state.update({FILES: [], OVERRIDES: {}, DATASET: info.id})


def forget_saved(dataset_id: int) -> None:
    """After a deletion: the data set ``dataset_id`` is no longer the one in use."""
    if st.session_state.get(DATASET) == dataset_id:
        st.session_state[DATASET] = None


def flash(kind: str, text: str) -> None:
    """A message (st.success, st.info...) shown once, on the next run, by :func:`show_flash`."""
    st.session_state[_FLASH] = (kind, text)


def show_flash() -> None:
    kind, text = st.session_state.pop(_FLASH, (None, None))
    if kind:
        getattr(st, kind)(text)


def _saved_data():
    """(Loaded, DatasetInfo) of the saved data set this session uses, or None. A new session starts on the
    data set opened last (by this user, else by anyone); a data set deleted meanwhile gives a warning, and
    so does a store that cannot be opened (the sample and uploads still work)."""
    store = gate.store(warn_in=st.sidebar)
    if store is None:
        return None
    fresh = DATASET not in st.session_state
    if fresh:
        try:
            last = store.last_opened(gate.user()) or store.last_opened()
        except DataError as e:  # (e.g. a damaged block: the Data page's check names it)
            last = None
            st.sidebar.warning(show.text(e))
        st.session_state[DATASET] = None if last is None else last.id
    dataset_id = st.session_state[DATASET]
    if dataset_id is None:
        return None
    try:
        info = store.info(dataset_id)
        opened = cache.open_saved(store, info), info
        if fresh:  # (a new session opens it: logged like an Open)
            gate.log("open", f"#{info.id} '{info.name}' (opened on start)", info.content_hash)
        return opened
    except DataError as e:
        st.session_state[DATASET] = None
        st.sidebar.warning(show.text(e))
        return None


# --- the sidebar -----------------------------------------------------------------------------------------------


def _keep_files() -> None:
    """on_change of the uploader: the files are kept in session state, so they outlive the widget."""
    files = [(f.name, f.getvalue()) for f in st.session_state.get(UPLOAD) or []]
    st.session_state[FILES] = files
    st.session_state[_DIGEST] = (files, cache.files_digest(files))  # hashed once, not on every rerun
    st.session_state[OVERRIDES] = {}  # a mapping corrected by hand belongs to the files it was made for
    if files:
        gate.log("upload", ", ".join(f"{n} ({len(b):,} bytes)" for n, b in files))


def _keep(widget_key: str, name: str) -> None:
    """on_change of a filter: its value is kept in session state (restored when the widget is re-created)."""
    st.session_state.setdefault(FILTERS, {})[name] = st.session_state[widget_key]


def _use_sample() -> None:
    st.session_state.update({FILES: [], OVERRIDES: {}, DATASET: None})  # no saved data set either


def sidebar() -> None:
    """The data source (sample or upload) and the filters, in the sidebar of every page.

    Both live in the frame (dashboard.py) and their values are kept in session state, so they survive a
    change of page."""
    sb = st.sidebar
    sb.markdown("### Data")
    sb.file_uploader(
        "Upload your export (CSV, Excel, FHIR): assessments, plus treatments if you have them",
        type=["csv", "tsv", "txt", "xlsx", "json", "ndjson"],
        accept_multiple_files=True,
        key=UPLOAD,
        on_change=_keep_files,
        help="De-identified files only: no names, dates of birth, addresses, phone numbers or e-mails. "
        "Dates are turned into days since the first infusion; only the start month is kept.",
    )
    files = st.session_state.get(FILES) or []
    saved_ = None if files else _saved_data()  # an upload wins over a saved data set, which wins over the sample
    st.session_state[_SAVED] = None if saved_ is None else saved_[1]
    if files or saved_ is not None:
        sb.button("Back to the sample practice", on_click=_use_sample, icon=":material/undo:")
    if saved_ is not None:
        data, name = saved_[0], saved_[1].name
    else:
        if files:
            name = ", ".join(n for n, _ in files)
        else:
            files, name = cache.read_files(SAMPLE_FILES), SAMPLE_NAME
            if not files:
                st.session_state[_DATA] = None
                sb.warning("No data yet: upload a CSV export above.")
                return
        known = st.session_state.get(_DIGEST)
        digest = known[1] if known is not None and known[0] is files else None
        data = cache.load(files, overrides(), digest)
    st.session_state[_LOADED], st.session_state[_SOURCE] = data, name
    if not data.ok:
        st.session_state[_DATA] = None
        sb.error("These files cannot be used. The Data page says why.")
        return
    sb.caption(
        f"Using **{show.text(name)}**."
        + ("" if uploaded() or saved_ else " Upload your own export above to see your practice.")
    )
    st.session_state[_DATA] = _filtered(data, name, sb)


def _filtered(data, name: str, sb) -> Data:
    from analysis import cohorts

    a, t = data.assessments, data.treatments
    options = cache.cached(cohorts.filter_options, a, t)
    months = sorted(str(m) for m in options.get(schema.START_MONTH, []) if m is not None and not pd.isna(m))
    kept = st.session_state.setdefault(FILTERS, {})
    sb.markdown("### Filters")
    tag = cache.short_key(a)  # new data, new filter widgets (their options change)
    start_from = start_to = None
    if len(months) > 1:
        span = kept.get("months")
        span = tuple(span) if span and all(m in months for m in span) else (months[0], months[-1])
        start_from, start_to = sb.select_slider(
            "Start month",
            options=months,
            value=span,
            key=f"months_{tag}",
            on_change=_keep,
            args=(f"months_{tag}", "months"),
        )
        if (start_from, start_to) == (months[0], months[-1]):
            start_from = start_to = None
    chosen = {}
    for key, column, label, fmt, all_ in (
        ("sites", schema.SITE, "Site", str, "All sites"),
        ("conditions", schema.CONDITION, "Condition", charts.label, "All conditions"),
    ):
        opts = options.get(column, [])
        chosen[key] = sb.multiselect(
            label,
            opts,
            default=[v for v in kept.get(key, []) if v in opts],
            format_func=fmt,
            key=f"{key}_{tag}",
            placeholder=all_,
            on_change=_keep,
            args=(f"{key}_{tag}", key),
        )
    sel = cache.shared(
        cohorts.select,
        a,
        t,
        conditions=chosen["conditions"] or None,
        sites=chosen["sites"] or None,
        start_from=start_from,
        start_to=start_to,
        definitions=definitions(),
    )
    return Data(sel.assessments, sel.treatments, data, name, sel.description, sel.patients)


# --- the frame and the guard of every page ---------------------------------------------------------------------


def frame_ran() -> None:
    """Called by dashboard.py before it runs the page: marks that the frame ran in this run."""
    st.session_state[_FRAME] = True


def ensure_frame() -> None:
    """Draw the sidebar when the frame did not run in this run. The real server always runs dashboard.py
    first; Streamlit's AppTest (1.67) re-runs a page of pages/ on its own after switch_page(), so without
    this the page would read the data of an earlier run. The sign-in gate runs first here too."""
    if not st.session_state.pop(_FRAME, False):
        gate.require()
        sidebar()
        card_banner()


def data(page_title: str, need_ok: bool = True) -> Data | None:
    """Title of the page, the line of active filters, and the data; stops the page when there is none."""
    ensure_frame()
    st.title(page_title)
    d = st.session_state.get(_DATA)
    data_ = loaded()
    if d is None and need_ok:
        if data_ is not None and not data_.ok:
            for message in errors(data_):
                st.error(show.text(message))
            st.info(
                "Open the **Data** page for the full report, or press *Back to the sample practice* in the sidebar."
            )
        else:
            st.warning("No data loaded yet: upload an export in the sidebar.")
        st.stop()
    if d is not None:
        thr = threshold()
        st.caption(
            f"**Data:** {show.text(d.source)} · **Filters:** {show.text(d.filters)} · **Patients:** {privacy.show_count(d.patients, thr)}"
            f" · **Small counts** shown as {privacy.small_label(thr)}"
        )
        if d.patients == 0 and need_ok:
            st.warning("No patient matches the filters in the sidebar. Widen them to see results.")
            st.stop()
    return d


def errors(data) -> list[str]:
    """The error messages of a load, for st.error."""
    issues = data.issues
    return [str(m) for m in issues.loc[issues["severity"] == "error", "message"]] or ["These files cannot be used."]
