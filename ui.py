"""Shared UI helpers of the dashboard: the data source, filters, cached analysis calls, tables.

The only place where pages touch Streamlit's caches and session state. Results are cached for all sessions,
keyed by the content of their inputs: uploaded files by the SHA-256 of their bytes, data frames by a hash of
every cell (once per frame object), other arguments by ``repr``. Large results that are only read (the
loaded files, selections of patients, charts) are kept once with ``st.cache_resource`` and handed to every
rerun as the same object, whose content key is derived from the key of the call that made it (never hashed);
small results (tables, models) with ``st.cache_data`` (each rerun gets its own copy). Every cache has a size
limit (``max_entries``) so that one server cannot grow without bound.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import weakref
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import streamlit as st

import gate
from analysis import charts, instruments, privacy, schema
from analysis.errors import DataError

ROOT = Path(__file__).resolve().parent
#: the sample practice shown until the user uploads files (OUTCOMES_SAMPLE_DIR overrides the folder)
SAMPLE_DIR = Path(os.environ.get("OUTCOMES_SAMPLE_DIR") or ROOT / "sample_data")
SAMPLE_FILES = (SAMPLE_DIR / "assessments.csv", SAMPLE_DIR / "treatments.csv")
SAMPLE_NAME = "Sample practice (synthetic)"

#: patient attributes a trajectory may be grouped by
ATTRIBUTES = (schema.CONDITION, schema.SITE, schema.AGE_BAND, schema.SEX, schema.ROUTE)
#: what each grouping selector may offer: column -> label
GROUPINGS = {
    schema.CONDITION: "Condition",
    schema.SITE: "Site",
    schema.AGE_BAND: "Age band",
    schema.SEX: "Sex",
    schema.ROUTE: "Route",
    "baseline_band": "Baseline severity",
    "induction_completed": "Induction completed",
}


@dataclass(frozen=True)
class Data:
    """The data every page works on: the loaded files after the sidebar's filters."""

    assessments: pd.DataFrame
    treatments: pd.DataFrame | None
    loaded: object  # analysis.ingest.Loaded (all rows, before filters)
    source: str  # "Sample practice" or the uploaded file names
    filters: str  # the active filters in words
    patients: int


# --- caching -------------------------------------------------------------------------------------------


#: content keys already known: id(object) -> (weak reference to the object, its shape and columns (frames), key)
_KEYS: dict[int, tuple] = {}
#: element types whose repr is their content (a tuple of them is keyed by one hash of its repr)
_PLAIN = (str, int, float, bool, type(None))


def _layout(value) -> tuple | None:
    """Shape and column names of a frame or series (a change of either is noticed), None for other objects."""
    if isinstance(value, pd.Series):
        return value.shape, (str(value.name),)
    if isinstance(value, pd.DataFrame):
        return value.shape, tuple(map(str, value.columns))
    return None


def _known(value) -> str | None:
    hit = _KEYS.get(id(value))
    if hit is not None and hit[0]() is value and hit[1] == _layout(value):
        return hit[2]
    return None


def _remember(value, key: str) -> str:
    """Keep ``key`` as the content key of ``value`` while the object lives (the entry leaves with it)."""
    ident = id(value)
    _KEYS[ident] = (weakref.ref(value, lambda _, i=ident: _KEYS.pop(i, None)), _layout(value), key)
    return key


def _frame_key(value) -> str:
    """The content key of a frame or series, computed once per object.

    Assumes frames are not changed in place after they were first keyed (analysis functions never mutate
    their inputs, and cached results are shared read-only); a change of shape or columns is still noticed."""
    key = _known(value)
    if key is not None:
        return key
    h = hashlib.sha256(pd.util.hash_pandas_object(value, index=False).to_numpy().tobytes())
    frame = value.to_frame() if isinstance(value, pd.Series) else value
    h.update(repr((len(frame), list(frame.columns), [str(t) for t in frame.dtypes])).encode())
    return _remember(value, "frame:" + h.hexdigest())


def _adopt(value, key: str) -> None:
    """Give a shared result, and every frame in it, a content key derived from ``key``: the key of the
    call that made it (same function, same content of the arguments: same content), so that a shared
    result passed on to another cached call is never hashed. Objects already keyed keep their key."""
    frame = isinstance(value, (pd.DataFrame, pd.Series))
    if frame or dataclasses.is_dataclass(value) and hasattr(type(value), "__weakref__"):
        if _known(value) is not None:
            return
        if not frame:
            for f in dataclasses.fields(value):
                _adopt(getattr(value, f.name), f"{key}.{f.name}")
        _remember(value, f"result:{key}")


def content_key(value) -> str:
    """A key that changes whenever the content changes: frames by a hash of every cell (once per frame
    object), long tuples of plain values (text, numbers) by one hash of their repr; a shared result (and its
    frames) by the key of the call that made it."""
    if isinstance(value, (pd.DataFrame, pd.Series)):
        return _frame_key(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        known = _known(value)
        if known is not None:
            return known
        inner = ",".join(f"{f.name}={content_key(getattr(value, f.name))}" for f in dataclasses.fields(value))
        return f"{type(value).__name__}({inner})"
    if isinstance(value, (list, tuple)):
        if len(value) > 32 and all(type(v) in _PLAIN for v in value):
            return f"plain{len(value)}:" + hashlib.sha256(repr(tuple(value)).encode()).hexdigest()
        return "[" + ",".join(content_key(v) for v in value) + "]"
    if isinstance(value, dict):
        return (
            "{" + ",".join(f"{k!r}:{content_key(v)}" for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))) + "}"
        )
    return repr(value)


@st.cache_data(max_entries=96, show_spinner="Calculating...")
def _cached(key: str, _func, _args: tuple, _kwargs: dict):
    return _func(*_args, **_kwargs)


def _key(func, args, kwargs) -> str:
    key = f"{func.__module__}.{func.__qualname__}|{content_key(list(args))}|{content_key(kwargs)}"
    return hashlib.sha256(key.encode()).hexdigest()


def cached(func, *args, **kwargs):
    """``func(*args, **kwargs)``, computed once per distinct content of the arguments (each call gets its
    own copy of the result: for small results)."""
    return _cached(_key(func, args, kwargs), func, args, kwargs)


#: a selection of 100,000 patients holds about 150 MB: room for the frame's selection and Compare's two
#: cohorts, twice
@st.cache_resource(max_entries=6, show_spinner="Calculating...")
def _shared(key: str, _func, _args: tuple, _kwargs: dict):
    return _func(*_args, **_kwargs)


def shared(func, *args, **kwargs):
    """As ``cached``, but every rerun and session gets the same result object (not an unpickled copy), whose
    content key is known without hashing it. For large results that are only read, never changed (such as
    selections of patients)."""
    key = _key(func, args, kwargs)
    result = _shared(key, func, args, kwargs)
    _adopt(result, key)
    return result


@st.cache_resource(max_entries=4, show_spinner="Reading the files...")
def _load(digest: str, overrides: str, _files: tuple):
    """The import, shared by reruns and sessions (read-only): a large upload is not unpickled on every rerun."""
    from analysis.ingest import load_files

    return load_files(list(_files), overrides=json.loads(overrides) or None)


def files_digest(files: list[tuple[str, bytes]]) -> str:
    """SHA-256 of the (name, bytes) pairs, order aside."""
    h = hashlib.sha256()
    for name, data in sorted(files):
        h.update(name.encode() + b"\0" + hashlib.sha256(data).digest())
    return h.hexdigest()


def load(files: list[tuple[str, bytes]], overrides: dict | None = None, digest: str | None = None):
    """analysis.ingest.load_files on (name, bytes) pairs, cached by the SHA-256 of names and bytes
    (``digest``: files_digest(files), when already known). The same object for every rerun and session;
    its frames are keyed by that digest, not hashed."""
    digest = digest or files_digest(files)
    overrides = json.dumps(overrides or {}, sort_keys=True)
    loaded = _load(digest, overrides, tuple(files))
    _adopt(loaded, f"load:{digest}:{overrides}")
    return loaded


@st.cache_data(max_entries=2)
def _sample_bytes(stamp: tuple) -> list[tuple[str, bytes]]:
    return [(p.name, p.read_bytes()) for p in SAMPLE_FILES if p.is_file()]


def sample_files() -> list[tuple[str, bytes]]:
    """The sample practice's CSVs (re-read when they change on disk)."""
    return _sample_bytes(tuple((str(p), p.stat().st_mtime_ns) for p in SAMPLE_FILES if p.is_file()))


# --- session: definitions, data source, filters -------------------------------------------------------------


def definitions():
    """The definition card in force in this session (defaults until the Methods page changes it)."""
    from analysis.outcomes import Definitions

    if "definitions" not in st.session_state:
        st.session_state["definitions"] = Definitions()
    return st.session_state["definitions"]


def threshold() -> int:
    """The small-cell suppression threshold in force."""
    return definitions().suppression_threshold


def _keep_files() -> None:
    """on_change of the uploader: the files are kept in session state, so they outlive the widget."""
    files = [(f.name, f.getvalue()) for f in st.session_state.get("upload") or []]
    st.session_state["files"] = files
    st.session_state["_files_digest"] = (files, files_digest(files))  # hashed once, not on every rerun
    st.session_state["overrides"] = {}  # a mapping corrected by hand belongs to the files it was made for


def _keep(widget_key: str, name: str) -> None:
    """on_change of a filter: its value is kept in session state (restored when the widget is re-created)."""
    st.session_state.setdefault("filters", {})[name] = st.session_state[widget_key]


def _use_sample() -> None:
    st.session_state["files"] = []
    st.session_state["overrides"] = {}
    st.session_state["dataset"] = None  # no saved data set either


def sidebar() -> None:
    """The data source (sample or upload) and the filters, in the sidebar of every page.

    Both live in the frame (dashboard.py) and their values are kept in session state, so they survive a
    change of page."""
    sb = st.sidebar
    sb.markdown("### Data")
    sb.file_uploader(
        "Upload your export (CSV): assessments, plus treatments if you have them",
        type=["csv", "tsv", "txt"],
        accept_multiple_files=True,
        key="upload",
        on_change=_keep_files,
        help="De-identified files only: no names, dates of birth, addresses, phone numbers or e-mails. "
        "Dates are turned into days since the first infusion; only the start month is kept.",
    )
    uploaded = st.session_state.get("files") or []
    saved = None if uploaded else saved_data()  # an upload wins over a saved data set, which wins over the sample
    st.session_state["_saved"] = None if saved is None else saved[1]
    if uploaded or saved is not None:
        sb.button("Back to the sample practice", on_click=_use_sample, icon=":material/undo:")
    if saved is not None:
        loaded, source = saved[0], saved[1].name
    else:
        if uploaded:
            files, source = uploaded, ", ".join(name for name, _ in uploaded)
        else:
            files, source = sample_files(), SAMPLE_NAME
            if not files:
                st.session_state["_data"] = None
                sb.warning("No data yet: upload a CSV export above.")
                return
        known = st.session_state.get("_files_digest")
        digest = known[1] if known is not None and known[0] is files else None
        loaded = load(files, st.session_state.get("overrides"), digest)
    st.session_state["_loaded"], st.session_state["_source"] = loaded, source
    if not loaded.ok:
        st.session_state["_data"] = None
        sb.error("These files cannot be used. The Data page says why.")
        return
    sb.caption(
        f"Using **{source}**." + ("" if uploaded or saved else " Upload your own export above to see your practice.")
    )
    st.session_state["_data"] = _filtered(loaded, source, sb)


def _filtered(loaded, source: str, sb) -> Data:
    from analysis import cohorts

    a, t = loaded.assessments, loaded.treatments
    options = cached(cohorts.filter_options, a, t)
    months = sorted(str(m) for m in options.get(schema.START_MONTH, []) if m is not None and not pd.isna(m))
    saved = st.session_state.setdefault("filters", {})
    sb.markdown("### Filters")
    tag = hashlib.sha256(content_key(a).encode()).hexdigest()[:8]  # new data, new filter widgets (their options change)
    start_from = start_to = None
    if len(months) > 1:
        span = saved.get("months")
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
    for name, column, label_, fmt, all_ in (
        ("sites", schema.SITE, "Site", str, "All sites"),
        ("conditions", schema.CONDITION, "Condition", charts.label, "All conditions"),
    ):
        opts = options.get(column, [])
        chosen[name] = sb.multiselect(
            label_,
            opts,
            default=[v for v in saved.get(name, []) if v in opts],
            format_func=fmt,
            key=f"{name}_{tag}",
            placeholder=all_,
            on_change=_keep,
            args=(f"{name}_{tag}", name),
        )
    sel = shared(
        cohorts.select,
        a,
        t,
        conditions=chosen["conditions"] or None,
        sites=chosen["sites"] or None,
        start_from=start_from,
        start_to=start_to,
        definitions=definitions(),
    )
    return Data(sel.assessments, sel.treatments, loaded, source, sel.description, sel.patients)


def frame_ran() -> None:
    """Called by dashboard.py before it runs the page: marks that the frame ran in this run."""
    st.session_state["_frame"] = True


def ensure_frame() -> None:
    """Draw the sidebar when the frame did not run in this run. The real server always runs dashboard.py
    first; Streamlit's AppTest (1.67) re-runs a page of pages/ on its own after switch_page(), so without
    this the page would read the data of an earlier run. The sign-in gate runs first here too."""
    if not st.session_state.pop("_frame", False):
        gate.require()
        sidebar()


def data(page_title: str, need_ok: bool = True) -> Data | None:
    """Title of the page, the line of active filters, and the data; stops the page when there is none."""
    ensure_frame()
    st.title(page_title)
    d = st.session_state.get("_data")
    loaded = st.session_state.get("_loaded")
    if d is None and need_ok:
        if loaded is not None and not loaded.ok:
            for message in errors(loaded):
                st.error(message)
            st.info(
                "Open the **Data** page for the full report, or press *Back to the sample practice* in the sidebar."
            )
        else:
            st.warning("No data loaded yet: upload an export in the sidebar.")
        st.stop()
    if d is not None:
        st.caption(
            f"**Data:** {d.source} · **Filters:** {d.filters} · **Patients:** {privacy.show_count(d.patients, threshold())}"
            f" · **Small counts** shown as {privacy.small_label(threshold())}"
        )
        if d.patients == 0 and need_ok:
            st.warning("No patient matches the filters in the sidebar. Widen them to see results.")
            st.stop()
    return d


def errors(loaded) -> list[str]:
    """The error messages of a load, for st.error."""
    issues = loaded.issues
    return [str(m) for m in issues.loc[issues["severity"] == "error", "message"]] or ["These files cannot be used."]


# --- inputs shared by several pages ---------------------------------------------------------------------------


def instrument_choice(d: Data, key: str = "instrument", where=st) -> str | None:
    """A selector of the instruments present (most scored first; PHQ-9 first when present)."""
    codes = cached(instruments_present, d.assessments)
    if not codes:
        return None
    return where.selectbox(
        "Instrument",
        codes,
        key=key,
        format_func=lambda c: f"{c}: {instruments.get(c).name}" if c in instruments.registry() else c,
    )


def instruments_present(assessments: pd.DataFrame) -> list[str]:
    """The instrument codes of the scores, most scored first (PHQ-9 first when present)."""
    counts = assessments[schema.INSTRUMENT].value_counts()
    return sorted(counts.index, key=lambda c: (c != "PHQ9", -counts[c]))


def grouping_choice(d: Data, key: str = "by", options=GROUPINGS, where=st, everyone: bool = True) -> str | None:
    """A selector of the patient attributes present in the data (plus "everyone": None, when allowed)."""
    derived = ("baseline_band",) + (("induction_completed",) if d.treatments is not None else ())
    present = [c for c in options if c in derived or (c in d.assessments.columns and d.assessments[c].notna().any())]
    if everyone:
        present.append(None)
    if not present:
        return None
    return where.selectbox(
        "Compare by", present, key=key, format_func=lambda c: "No grouping (everyone)" if c is None else options[c]
    )


def guard(func, *args, **kwargs):
    """``cached(func, ...)``, with a DataError (the data cannot answer) shown as a warning that stops the page."""
    return _guarded(cached, func, args, kwargs)


def guard_shared(func, *args, **kwargs):
    """``shared(func, ...)`` (a large result, read only), with a DataError shown as ``guard`` shows it."""
    return _guarded(shared, func, args, kwargs)


def _guarded(call, func, args, kwargs):
    try:
        return call(func, *args, **kwargs)
    except DataError as e:
        st.warning(str(e))
        st.stop()


# --- output -----------------------------------------------------------------------------------------------------


@st.cache_resource(max_entries=48, show_spinner=False)
def _chart(key: str, _func, _args: tuple, _kwargs: dict) -> charts.Chart:
    return _func(*_args, **_kwargs)


def plot(func, *args, **kwargs) -> None:
    """``chart(func(*args, **kwargs))`` for a function of analysis.charts, the chart built once per content
    of its arguments and shared by reruns and sessions (only read: Streamlit copies the figure to send it)."""
    chart(_chart(_key(func, args, kwargs), func, args, kwargs))


def chart(c: charts.Chart) -> None:
    """A chart with its caption and its notes."""
    st.plotly_chart(c.figure, width="stretch", config={"displaylogo": False})
    st.caption(c.caption)
    for n in c.notes:
        st.caption(f"Note: {n}")


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
    ``percent``: shares shown as percentages; ``ci``: {share column: (lower, upper)} shown as one column;
    ``hide``: columns left off the screen (the downloads keep them).
    Returns the suppressed table (what was shown and what the downloads hold)."""
    shown = privacy.suppress_table(frame, counts, derived, threshold(), shares=shares, complements=complements)
    view = shown.copy()
    for c in view.columns:
        if c in percent:
            view[c] = view[c].map(lambda v: "" if v is None or pd.isna(v) else f"{100 * float(v):.1f}%")
        elif view[c].dtype == object:
            view[c] = view[c].map(lambda v: "" if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v))
    for c, (lo, hi) in (ci or {}).items():
        bounds = [f" ({_bare(a)} to {_bare(b)})" if a and b else "" for a, b in zip(view[lo], view[hi])]
        view[c] = [f"{v}{b}" if v else "" for v, b in zip(view[c], bounds)]
        view = view.drop(columns=[lo, hi])
    view = view.drop(columns=[c for c in hide if c in view.columns])
    st.dataframe(view.rename(columns=rename or {}), hide_index=True, width="stretch")
    shown = shown.rename(columns=rename or {})
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
        cached(privacy.to_excel_bytes, shown, sheet=name),
        f"{stem}.xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key=f"xlsx_{key or stem}",
        icon=":material/download:",
    )
    return shown


def _bare(text: str) -> str:
    """'47.5%' -> '47.5' (the interval's bounds are printed without the per-cent sign)."""
    return str(text).rstrip("%")


#: short labels of the KPI tiles (the full label is the tile's help)
KPI_SHORT = {
    "patients_started": "Patients started",
    "infusions": "Infusions",
    "series_completion": "Series completed",
    "assessment_completion": "Infusions with a score",
    "response_rate": "Response",
    "remission_rate": "Remission",
}


def practice_line(summary, instrument: str) -> str:
    """One line on the whole period: patients started, infusions, completion, response and remission."""
    p = summary.suppressed_practice()
    rates = summary.suppressed_rates()
    row = rates[(rates["instrument"] == instrument) & (rates["dimension"] == "overall")]
    span = f"{p['first_start_month']} to {p['last_start_month']}" if p.get("first_start_month") else "All start months"
    parts = [f"**{p['patients']}** patients started"]
    if p.get("infusions") is not None:
        parts += [
            f"**{p['infusions']}** infusions",
            f"series completion **{fmt_pct(p.get('series_completion'))}**",
            f"assessment completion **{fmt_pct(p.get('assessment_completion'))}**",
        ]
    if len(row):
        r = row.iloc[0]

        def ci(k):
            return (
                "" if pd.isna(r[f"{k}_rate"]) else f" (95% CI {fmt_pct(r[f'{k}_lower'])} to {fmt_pct(r[f'{k}_upper'])})"
            )  # noqa: E731

        parts += [
            f"{instrument} response **{fmt_pct(r['response_rate'])}**{ci('response')}",
            f"remission **{fmt_pct(r['remission_rate'])}**{ci('remission')}"
            + ("" if r["evaluable"] is None else f" of {r['evaluable']} evaluable"),
        ]
    return f"**{span}:** " + " · ".join(parts) + "."


def kpi_tiles(kpis: pd.DataFrame) -> None:
    """KPI tiles (analysis.metrics.kpis): value, change against the previous period, as
    analysis.metrics.kpis_shown lets them be shown ('<11', withheld shares and changes as '—')."""
    from analysis.metrics import kpis_shown

    per_row = 3
    cols = [c for _ in range(0, len(kpis), per_row) for c in st.columns(per_row)]
    for col, k in zip(cols, kpis_shown(kpis, threshold()).to_dict("records")):
        share = k["unit"] == "share"
        if share:
            value = fmt_pct(k["value"])
            delta = None if k["change"] is None else f"{100 * k['change']:+.1f} pts"
        else:
            value = "—" if k["value"] is None else str(k["value"])
            delta = None if k["change"] is None else f"{k['change']:+d}"
        help_ = f"{k['label']}: {k['period']}" + (
            f" vs {k['previous_period']}." if isinstance(k["previous_period"], str) else "."
        )
        if share and k["n"] is not None:
            help_ += f" Out of {k['n']}."
        if k["note"]:
            help_ += f" {k['note'][0].upper()}{k['note'][1:]}."
        col.metric(KPI_SHORT.get(k["kpi"], k["label"]), value, delta, help=help_, border=True)


def notes(items) -> None:
    """The caveats of a result, under its chart (analysis/ writes small counts in them as '<11')."""
    items = [str(n) for n in (items or ()) if str(n).strip()]
    if items:
        with st.expander(f"Notes ({len(items)})", expanded=False):
            for n in items:
                st.markdown(f"- {n}")


def fmt_pct(x) -> str:
    return "—" if x is None or pd.isna(x) else f"{100 * float(x):.1f}%"


def fmt_days(x) -> str:
    return "not reached" if x is None or pd.isna(x) else f"{float(x):.0f} days"


# --- durability -------------------------------------------------------------------------------------------------


def durability_results(assessments, treatments, instrument: str, by: str | None, definitions):
    """(analysis.durability.analyse by ``by``, the same without grouping): one analysis, the ungrouped
    numbers taken from its episodes (durability.overall; the same result when ``by`` is None)."""
    from analysis import durability

    res = durability.analyse(assessments, treatments, instrument, by=by, definitions=definitions)
    return res, durability.overall(res)


def durability_headline(overall, res) -> None:
    """Tiles: responders followed, median durability, share still responding at the card's days, log-rank p."""
    threshold()
    shown = overall.groups_shown()
    g = shown.iloc[0] if len(shown) else None
    days = overall.definitions.survival_days
    cols = st.columns(2 + len(days) + 1)
    small = g is None or isinstance(g["n"], str)
    cols[0].metric(
        "Responders",
        "0" if g is None else str(g["n"]),
        help="Responders followed: responders with a score after their response assessment (the durability episodes).",
        border=True,
    )
    med = "—" if small or g["median"] is None else ("not reached" if pd.isna(g["median"]) else f"{g['median']:.0f}")
    ci = "" if med in ("—", "not reached") else f"95% CI {fmt_days(g['median_lower'])} to {fmt_days(g['median_upper'])}"
    cols[1].metric(
        "Median (days)",
        med,
        help=f"Median durability: half of the responders still respond at this day. {ci}".strip(),
        border=True,
    )
    for col, day in zip(cols[2:], days):
        v = None if small else g[f"s{day}"]
        col.metric(
            f"At {day // 7} weeks" if day % 7 == 0 else f"At day {day}",
            fmt_pct(v),
            help="Withheld: too few responders still followed."
            if v is None
            else None
            if pd.isna(v)
            else f"Still responding at day {day}; 95% CI {fmt_pct(g[f's{day}_lower'])} to {fmt_pct(g[f's{day}_upper'])}.",
            border=True,
        )
    lr = res.logrank
    p = "—" if lr is None or pd.isna(lr.p) else (f"{lr.p:.3f}" if lr.p >= 0.001 else "< 0.001")
    cols[-1].metric(
        "Log-rank p",
        p,
        border=True,
        help="Do the groups differ? "
        + ("" if lr is None or pd.isna(lr.chi2) else f"Chi-square {lr.chi2:.2f} on {lr.df} df."),
    )


def medians_line(groups: pd.DataFrame) -> str:
    """'Median durability: Depression 64 days (95% CI 49 to 69); ...' from Durability.groups_shown()."""
    thr, parts = threshold(), []
    for _, g in groups.iterrows():
        if g["median"] is None or isinstance(g["n"], str):
            parts.append(f"{charts.label(g['group'])} withheld (fewer than {thr})")
        elif pd.isna(g["median"]):
            parts.append(f"{charts.label(g['group'])} not reached")
        else:
            parts.append(
                f"{charts.label(g['group'])} **{g['median']:.0f} days** (95% CI {fmt_days(g['median_lower']).replace(' days', '')} "
                f"to {fmt_days(g['median_upper']).replace(' days', '')})"
            )
    return "**Median durability:** " + "; ".join(parts) + "." if parts else ""


def durability_table(groups: pd.DataFrame, by: str, instrument: str) -> None:
    """Durability.groups_shown() (already suppressed) as a table with downloads."""
    days = [int(c[1:]) for c in groups.columns if c.startswith("s") and c[1:].isdigit()]
    t = groups.assign(group=groups["group"].map(charts.label))
    rename = {
        "group": GROUPINGS.get(by, "Group"),
        "n": "Responders followed",
        "events": "Lost response",
        "median": "Median (days)",
        "median_lower": "Median 95% CI low",
        "median_upper": "Median 95% CI high",
    }
    for d in days:
        rename |= {
            f"n{d}": f"At risk on day {d}",
            f"s{d}": f"Still responding at day {d} (95% CI)",
            f"s{d}_lower": f"Day {d} 95% CI low",
            f"s{d}_upper": f"Day {d} 95% CI high",
        }
    for c in ("median", "median_lower", "median_upper"):
        t[c] = [None if v is None else f"{v:.0f}" if pd.notna(v) else "not reached" for v in t[c]]
    rename["median"] = "Median days (95% CI)"
    table(
        t,
        f"{instrument} durability" + (f" by {by}" if by else ""),
        hide=[f"n{d}" for d in days],
        percent=[c for c in t.columns if c.startswith("s") and c[1:2].isdigit()],
        ci={"median": ("median_lower", "median_upper"), **{f"s{d}": (f"s{d}_lower", f"s{d}_upper") for d in days}},
        rename=rename,
        key="durability",
    )


# --- compare cohorts ------------------------------------------------------------------------------------------

FUNNEL = (
    "patients",
    "with_baseline",
    "with_response_assessment",
    "evaluable",
    "responders",
    "remitters",
    "with_follow_up",
)
COHORT_RATES = (
    "response_rate",
    "response_lower",
    "response_upper",
    "remission_rate",
    "remission_lower",
    "remission_upper",
)
#: the rates of analysis.cohorts.compare and the counts each rests on (as analysis.metrics.suppress_rates)
COHORT_SHARES = {COHORT_RATES[:3]: ("responders", "evaluable"), COHORT_RATES[3:]: ("remitters", "evaluable")}
COHORT_NAMES = {
    "cohort": "Cohort",
    "description": "Patients selected",
    "patients": "With scores",
    "with_baseline": "With baseline",
    "with_response_assessment": "With response assessment",
    "evaluable": "Evaluable",
    "responders": "Responders",
    "response_rate": "Response (95% CI)",
    "response_lower": "Response 95% CI low",
    "response_upper": "Response 95% CI high",
    "remitters": "Remitters",
    "remission_rate": "Remission (95% CI)",
    "remission_lower": "Remission 95% CI low",
    "remission_upper": "Remission 95% CI high",
    "with_follow_up": "Responders with follow-up",
}


def conditions_scored(assessments: pd.DataFrame, instrument: str) -> list:
    """The conditions of the patients scored on ``instrument``, most patients first."""
    scored = assessments.loc[assessments[schema.INSTRUMENT] == instrument, [schema.PATIENT_ID, schema.CONDITION]]
    return scored.drop_duplicates()[schema.CONDITION].value_counts().index.tolist()


def cohort_inputs(name: str, options: dict, d: Data, instrument: str, default_condition: int = 0) -> dict:
    """The filters of one cohort (keyword arguments of analysis.cohorts.select); empty = everyone.

    By default cohort A is the condition with the most patients scored on the instrument, B the next."""
    st.markdown(f"**Cohort {name}**")
    conditions = options.get(schema.CONDITION, [])
    common = cached(conditions_scored, d.assessments, instrument)
    default = [common[default_condition]] if len(common) > default_condition else []
    k = f"cohort_{name}"
    c1, c2 = st.columns(2)
    out = {
        "conditions": c1.multiselect(
            "Condition",
            conditions,
            default=default,
            format_func=charts.label,
            key=f"{k}_condition_{instrument}",
            placeholder="All",
        ),
        "sites": c2.multiselect("Site", options.get(schema.SITE, []), key=f"{k}_site", placeholder="All"),
        "age_bands": c1.multiselect("Age band", options.get(schema.AGE_BAND, []), key=f"{k}_age", placeholder="All"),
        "sexes": c2.multiselect("Sex", options.get(schema.SEX, []), key=f"{k}_sex", placeholder="All"),
        "routes": c1.multiselect("Route", options.get(schema.ROUTE, []), key=f"{k}_route", placeholder="All"),
        "baseline_bands": c2.multiselect(
            "Baseline severity", options.get("baseline_band", []), key=f"{k}_band", placeholder="All"
        ),
    }
    months = options.get(schema.START_MONTH, [])
    if len(months) > 1:
        lo, hi = st.select_slider("Start period", months, value=(months[0], months[-1]), key=f"{k}_months")
        out |= {"start_from": None if lo == months[0] else lo, "start_to": None if hi == months[-1] else hi}
    return {key: (v or None) for key, v in out.items()}


def compare_summary(cmp) -> None:
    """Sizes of the two cohorts and the tests of their response and remission rates."""
    thr = threshold()
    cols = st.columns(4)
    for col, (_, s) in zip(cols, cmp.sizes.iterrows()):
        col.metric(
            f"Cohort {s['cohort']}: patients",
            str(privacy.show_count(int(s["patients"]), thr)),
            help=s["description"],
            border=True,
        )
    rates = cmp.rates.set_index("cohort")

    def small(count):
        return any(
            privacy.is_small(rates.loc[c, k], thr)
            for c in rates.index
            for k in ("evaluable", count)
            if not pd.isna(rates.loc[c, k])
        )

    for col, (what, count, test) in zip(
        cols[2:], (("Response", "responders", cmp.response_test), ("Remission", "remitters", cmp.remission_test))
    ):
        if small(count) or test.test == "none" or pd.isna(test.p):
            col.metric(f"{what}: A - B", "—", help="Withheld: too few patients, or no such rule.", border=True)
            continue
        p = f"{test.p:.3f}" if test.p >= 0.001 else "< 0.001"
        col.metric(
            f"{what}: A - B",
            f"{100 * test.difference:+.1f} pts",
            border=True,
            help=f"95% CI {100 * test.lower:+.1f} to {100 * test.upper:+.1f} points; {test.test} test, p = {p}.",
        )
        col.caption(f"{test.test}, p = {p}")


def _combined(sel_a, sel_b) -> pd.DataFrame:
    """The two cohorts' scores in one table with a 'cohort' column (A/B); patient ids are prefixed so that a
    patient in both cohorts counts once in each."""
    return pd.concat(
        [
            s.assessments.assign(
                cohort=c, **{schema.PATIENT_ID: c + ":" + s.assessments[schema.PATIENT_ID].astype(str)}
            )
            for c, s in (("A", sel_a), ("B", sel_b))
        ],
        ignore_index=True,
    )


def cohort_trajectories(sel_a, sel_b, instrument: str, defs):
    """Trajectories of the two cohorts on one chart (analysis.trajectory grouped by cohort), cached by the
    two selections (the combined table is built only when they are new)."""
    return guard(_cohort_trajectories, sel_a, sel_b, instrument, defs)


def _cohort_trajectories(sel_a, sel_b, instrument: str, defs):
    from analysis import trajectory

    return trajectory.trajectories(_combined(sel_a, sel_b), instrument, by="cohort", definitions=defs)


def cohort_durability(sel_a, sel_b, instrument: str, defs):
    """(analysis.cohorts.compare_durability, cached; None) or (None, why) when the data cannot answer."""
    from analysis import cohorts

    try:
        return cached(cohorts.compare_durability, sel_a, sel_b, instrument, defs), None
    except DataError as e:
        return None, f"Durability cannot be compared: {e}"


def durability_comparison_text(res) -> str:
    """The hazard ratio of B vs A and the log-rank test in words (CohortDurability.comparison_shown), or why
    they are withheld."""
    c = res.comparison_shown()
    if c is None:
        return res.withheld or ""
    p = lambda v: f"{v:.3f}" if v >= 0.001 else "< 0.001"  # noqa: E731
    return (
        f"**Hazard ratio of losing response, B vs A: {c['hr']:.2f}** (95% CI {c['lower']:.2f} to {c['upper']:.2f}, "
        f"p = {p(c['p'])}; Cox model, Efron ties). Log-rank test: chi-square {c['chi2']:.2f} on {c['df']} df, "
        f"p = {p(c['logrank_p'])}. Above 1: cohort B loses response sooner."
    )


# --- trajectories -----------------------------------------------------------------------------------------------


def observed(res, measure: str) -> pd.DataFrame:
    """The observed means of a Trajectories result for 'score' or 'pct_change'."""
    frame = res.observed
    if "measure" in frame.columns:
        return frame[frame["measure"] == measure]
    if measure != "score":
        return res.observed_pct
    return frame


def patient_lines(res, measure: str) -> pd.DataFrame | None:
    """The sample of individual patient lines (score or percent change)."""
    lines = res.lines
    if lines is None or not len(lines):
        return None
    if measure != "score":
        col = next((c for c in ("pct_change", "percent_change") if c in lines.columns), None)
        return (
            None
            if col is None
            else lines.assign(score=100 * lines[col] if lines[col].abs().max() <= 1.5 else lines[col])
        )
    return lines


# --- saved data sets (analysis.store, opened through gate.store()) ------------------------------------------------


@st.cache_resource(max_entries=4, show_spinner="Opening the saved data set...")
def _open_saved(digest: str, dataset_id: int):
    """A saved data set as an analysis.ingest.Loaded (cached by its content hash; its issues as saved, none for a
    data set saved before reports were kept), shared by reruns and sessions (read-only) as an upload is."""
    from analysis.ingest import Loaded

    a, t, info = gate.store().open(dataset_id)
    records = info.mapping if isinstance(info.mapping, list) else []
    mapping = pd.DataFrame(records, columns=["file", "source", "target", "how"])
    issues = pd.DataFrame(info.issues or [], columns=list(schema.ISSUE_COLUMNS)).astype({"rows": object})
    files = tuple(dict.fromkeys(mapping["file"].astype(str))) or (info.name,)
    return Loaded(a, t, issues, mapping, info.rows_read or len(a), files, True)


def saved_data():
    """(Loaded, DatasetInfo) of the saved data set this session uses, or None. A new session starts on the
    data set opened last (by this user, else by anyone); a data set deleted meanwhile gives a warning, and
    so does a store that cannot be opened (the sample and uploads still work)."""
    store = gate.store(warn_in=st.sidebar)
    if store is None:
        return None
    if "dataset" not in st.session_state:
        last = store.last_opened(gate.user()) or store.last_opened()
        st.session_state["dataset"] = None if last is None else last.id
    dataset_id = st.session_state["dataset"]
    if dataset_id is None:
        return None
    try:
        info = store.info(dataset_id)
        loaded = _open_saved(info.content_hash, info.id)
        _adopt(loaded, f"saved:{info.content_hash}")
        return loaded, info
    except DataError as e:
        st.session_state["dataset"] = None
        st.sidebar.warning(str(e))
        return None


def _use_saved(info) -> None:
    """Make a saved data set the one in use, and the one the dashboard opens on next time."""
    gate.store().mark_opened(info.id, gate.user())
    st.session_state.update(files=[], overrides={}, dataset=info.id)


def _count(n) -> str:
    shown = privacy.show_count(int(n), threshold())
    return f"{shown:,}" if isinstance(shown, int) else str(shown)


def saved_note(info) -> str:
    """Where a saved data set came from, in one line."""
    by = f" by {info.uploaded_by}" if info.uploaded_by else ""
    return (
        f"**{info.name}** is a saved data set: {_count(info.rows)} scores of {_count(info.patients)} patients, uploaded "
        f"{info.uploaded_at:%Y-%m-%d %H:%M} UTC{by}. It was checked when it was uploaded: "
        + (
            "the validation report below is that check."
            if info.issues is not None
            else "that report was not kept (saved before reports were kept)."
        )
    )


def save_form(loaded) -> None:
    """A name and Save for a usable upload; the saved data set becomes the one in use."""
    from analysis.config import MAX_DATASET_NAME_LENGTH

    with st.form("save_dataset", border=False):
        left, right = st.columns([3, 1], vertical_alignment="bottom")
        name = left.text_input(
            "Save this upload as", max_chars=MAX_DATASET_NAME_LENGTH, placeholder="e.g. North clinic, November"
        )
        saving = right.form_submit_button("Save", type="primary", icon=":material/save:")
    if saving:
        try:
            info = gate.store().save(name, loaded, user=gate.user())
            _use_saved(info)
        except DataError as e:
            st.error(str(e))
            return
        text = (
            f"Saved as **{info.name}** ({_count(info.rows)} scores, {_count(info.patients)} patients). The dashboard "
            "opens on it next time."
            if info.created
            else info.notes[0]
        )
        st.session_state["_flash"] = ("success" if info.created else "info", text)
        st.rerun()


def saved_list() -> None:
    """The saved data sets, with Open, Rename and Delete (Delete asks for a confirmation)."""
    kind, text = st.session_state.pop("_flash", (None, None))
    if kind:
        getattr(st, kind)(text)
    store = gate.store(warn_in=st)
    if store is None:
        return
    saved = store.list()
    if saved.empty:
        st.write("No saved data sets yet: upload an export in the sidebar, then save it here.")
        return
    current = None if st.session_state.get("files") else st.session_state.get("dataset")
    st.dataframe(
        pd.DataFrame(
            {
                "Name": [n + (" (in use)" if i == current else "") for i, n in zip(saved["id"], saved["name"])],
                "Uploaded (UTC)": saved["uploaded_at"].dt.strftime("%Y-%m-%d %H:%M"),
                "By": saved["uploaded_by"].fillna("—"),
                "Scores": [_count(n) for n in saved["rows"]],
                "Patients": [_count(n) for n in saved["patients"]],
            }
        ),
        hide_index=True,
        width="stretch",
    )
    labels = {int(i): f"{n} ({t:%Y-%m-%d %H:%M})" for i, n, t in zip(saved["id"], saved["name"], saved["uploaded_at"])}
    chosen = st.selectbox("Data set", list(labels), format_func=labels.get, key="saved_choice")
    c1, c2, c3 = st.columns(3)
    try:
        if c1.button("Open", type="primary", icon=":material/folder_open:", disabled=chosen == current):
            _use_saved(store.info(chosen))
            st.rerun()
        new_name = c2.text_input("New name", key=f"rename_{chosen}")
        if c2.button("Rename"):  # an empty name: the store's DataError says so
            renamed = store.rename(chosen, new_name, user=gate.user())
            st.session_state["_flash"] = ("success", f"Renamed to **{renamed.name}**.")
            st.rerun()
        sure = c3.checkbox("Yes, delete it for everyone", key=f"confirm_delete_{chosen}")
        if c3.button("Delete", disabled=not sure, icon=":material/delete:"):
            old = store.delete(chosen, user=gate.user())
            if st.session_state.get("dataset") == chosen:
                st.session_state["dataset"] = None
            st.session_state["_flash"] = ("success", f"Deleted **{old.name}**.")
            st.rerun()
    except DataError as e:
        st.error(str(e))


# --- Data page -------------------------------------------------------------------------------------------------


def load_report(loaded) -> tuple[dict, str]:
    """(loaded.to_json(), loaded.to_text()) of a load, for the Data page (cached: a pass over every score)."""
    return loaded.to_json(), loaded.to_text()


def changed_targets(before: pd.DataFrame, after: pd.DataFrame) -> dict:
    """{source column: new target} for the rows of the mapping table whose target the user changed."""
    changed = before["target"].to_numpy() != after["target"].to_numpy()
    return {str(s): str(t) for s, t in zip(after.loc[changed, "source"], after.loc[changed, "target"])}


def rows_text(rows) -> str:
    """Row numbers of an issue as short text: '2, 5, 9 ... (120 rows)'."""
    if rows is None or isinstance(rows, float):
        return ""
    rows = list(rows) if not isinstance(rows, str) else [rows]
    text = ", ".join(str(r) for r in rows[:8])
    return text + (f" ... ({len(rows)} rows)" if len(rows) > 8 else "")


def phi_explained() -> None:
    st.info(
        "**Why files with identifiers are refused.** This dashboard only accepts de-identified data: a "
        "pseudonymous patient key (such as P00123), scores, days or dates, and attributes such as condition, "
        "site, age band and sex. Columns such as names, dates of birth, addresses, phone numbers, e-mail "
        "addresses, social security or medical record numbers identify people directly, so a file holding them "
        "is refused as a whole and **nothing from it is kept**. Remove those columns in your EHR's export (or "
        "in Excel: delete the columns, then *File > Save As > CSV UTF-8*) and upload the file again."
    )


# --- Methods page ----------------------------------------------------------------------------------------------


def card_inputs(defs):
    """Form inputs for every setting of the definition card; the new card, or None (with an error) if invalid."""
    from analysis.outcomes import Definitions

    c1, c2, c3 = st.columns(3)
    name = c1.text_input("Card name", defs.name)
    b0 = c1.number_input("Baseline window from day", value=defs.baseline_window[0], step=1)
    b1 = c1.number_input("Baseline window to day", value=defs.baseline_window[1], step=1)
    r0 = c2.number_input("Response assessment from day", value=defs.response_window[0], step=1)
    r1 = c2.number_input("Response assessment to day", value=defs.response_window[1], step=1)
    knot = c2.number_input("End of induction (day)", value=defs.induction_end_day, min_value=0, step=1)
    confirm = c3.checkbox(
        "Confirm loss by the next score",
        defs.confirm_loss,
        help="Loss of response counts only when the next score is below the threshold too.",
    )
    boosters = c3.selectbox(
        "Boosters",
        ("ignore", "censor", "event"),
        index=("ignore", "censor", "event").index(defs.booster_handling),
        format_func={
            "ignore": "do not stop the clock",
            "censor": "censor at the first booster",
            "event": "time to the first booster",
        }.get,
    )
    days = c3.text_input("Survival reported at days", ", ".join(str(d) for d in defs.survival_days))
    thr = c3.number_input(
        "Small-cell threshold (counts below it are hidden)",
        value=defs.suppression_threshold,
        min_value=0,
        step=1,
        help="11 by default, as in CMS policy. 0 or 1 turns suppression off.",
    )
    st.markdown("Per-instrument thresholds (leave as they are to use the registry's):")
    reg = instruments.registry()
    grid = pd.DataFrame(
        {
            "instrument": list(reg),
            "response_drop": [defs.response_threshold(c) for c in reg],
            "remission_max": [defs.remission_threshold(c) for c in reg],
        }
    )
    edited = st.data_editor(
        grid,
        hide_index=True,
        disabled=["instrument"],
        key="thresholds",
        column_config={
            "response_drop": st.column_config.NumberColumn(
                "Response: drop from baseline", min_value=0.0, max_value=1.0, step=0.05, format="%.2f"
            ),
            "remission_max": st.column_config.NumberColumn("Remission: score at most"),
        },
    )
    drops = {
        r.instrument: float(r.response_drop)
        for r in edited.itertuples()
        if float(r.response_drop) != reg[r.instrument].response_drop
    }
    remission = {
        r.instrument: (None if pd.isna(r.remission_max) else float(r.remission_max))
        for r in edited.itertuples()
        if (None if pd.isna(r.remission_max) else float(r.remission_max)) != reg[r.instrument].remission_max
    }
    try:
        survival_days = tuple(int(x) for x in days.replace(";", ",").split(",") if x.strip())
        return Definitions(
            baseline_window=(int(b0), int(b1)),
            response_window=(int(r0), int(r1)),
            confirm_loss=confirm,
            booster_handling=boosters,
            induction_end_day=int(knot),
            survival_days=survival_days,
            suppression_threshold=int(thr),
            response_drop=drops,
            remission_max=remission,
            name=name,
        )
    except (DataError, ValueError) as e:
        st.error(f"These definitions cannot be used: {e}")
        return None


def card_bytes(defs) -> bytes:
    """The card as the JSON file analysis.outcomes.save_card writes."""
    import tempfile

    from analysis.outcomes import save_card

    with tempfile.TemporaryDirectory() as tmp:
        return save_card(defs, Path(tmp) / "card.json").read_bytes()
