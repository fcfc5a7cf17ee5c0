"""The cached calls into analysis/: every result the pages show is computed here once per content of its inputs.

Results are cached for all sessions, keyed by the content of their inputs: uploaded files by the SHA-256 of
their bytes, data frames by a hash of every cell (once per frame object), other arguments by ``repr``. Large
results that are only read (the loaded files, selections of patients, charts) are kept once with
``st.cache_resource`` and handed to every rerun as the same object, whose content key is derived from the key
of the call that made it (never hashed); small results (tables, models) with ``st.cache_data`` (each rerun
gets its own copy). Every cache has a size limit (``max_entries``) so that one server cannot grow without bound.

``guard`` and ``guard_shared`` are the calls pages make: a DataError (the data cannot answer) is shown as a
warning that stops the page.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import weakref

import pandas as pd
import streamlit as st

from analysis import charts, schema
from analysis.errors import DataError

# --- content keys ------------------------------------------------------------------------------------------

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
    frame = value.to_frame() if isinstance(value, pd.Series) else value
    try:
        h = hashlib.sha256(pd.util.hash_pandas_object(value, index=False).to_numpy().tobytes())
    except TypeError:  # cells pandas cannot hash (dicts, lists: e.g. the fixes of the issues table), by their text
        h = hashlib.sha256(repr(frame.to_dict("split")["data"]).encode())
    h.update(repr((len(frame), list(frame.columns), [str(t) for t in frame.dtypes])).encode())
    return _remember(value, "frame:" + h.hexdigest())


def _adopt(value, key: str):
    """Give a shared result, and every frame in it, a content key derived from ``key``: the key of the
    call that made it (same function, same content of the arguments: same content), so that a shared
    result passed on to another cached call is never hashed. Objects already keyed keep their key.
    Called once, when the result is made (a cache hit returns an object keyed already). Returns ``value``."""
    frame = isinstance(value, (pd.DataFrame, pd.Series))
    if frame or dataclasses.is_dataclass(value) and hasattr(type(value), "__weakref__"):
        if _known(value) is not None:
            return value
        if not frame:
            for f in dataclasses.fields(value):
                _adopt(getattr(value, f.name), f"{key}.{f.name}")
        _remember(value, f"result:{key}")
    return value


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


def _key(func, args, kwargs) -> str:
    key = f"{func.__module__}.{func.__qualname__}|{content_key(list(args))}|{content_key(kwargs)}"
    return hashlib.sha256(key.encode()).hexdigest()


def short_key(frame: pd.DataFrame) -> str:
    """Eight characters that change with the content of ``frame`` (for widget keys that follow the data)."""
    return hashlib.sha256(content_key(frame).encode()).hexdigest()[:8]


# --- cached calls ------------------------------------------------------------------------------------------


@st.cache_data(max_entries=96, show_spinner="Calculating...")
def _cached(key: str, _func, _args: tuple, _kwargs: dict):
    return _func(*_args, **_kwargs)


def cached(func, *args, **kwargs):
    """``func(*args, **kwargs)``, computed once per distinct content of the arguments (each call gets its
    own copy of the result: for small results)."""
    return _cached(_key(func, args, kwargs), func, args, kwargs)


@st.cache_data(max_entries=128, show_spinner=False)
def _screen(key: str, _func, _args: tuple, _kwargs: dict):
    return _func(*_args, **_kwargs)


def for_screen(func, *args, **kwargs):
    """As ``cached``, for a table laid out for the screen (ui.show.table): small, kept in a cache of its own so
    that the many tables of the pages never push an analysis out of ``cached``'s."""
    return _screen(_key(func, args, kwargs), func, args, kwargs)


#: a selection of 100,000 patients holds about 150 MB: room for the frame's selection and Compare's two
#: cohorts, twice; and the session table with the Safety result made from it (one frame's columns shared by both)
@st.cache_resource(max_entries=8, show_spinner="Calculating...")
def _shared(key: str, _func, _args: tuple, _kwargs: dict):
    return _adopt(_func(*_args, **_kwargs), key)


def shared(func, *args, **kwargs):
    """As ``cached``, but every rerun and session gets the same result object (not an unpickled copy), whose
    content key is known without hashing it. For large results that are only read, never changed (such as
    selections of patients)."""
    return _shared(_key(func, args, kwargs), func, args, kwargs)


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
        from ui.show import text  # (show imports this module)

        st.warning(text(e))
        st.stop()


@st.cache_resource(max_entries=48, show_spinner=False)
def _chart(key: str, _func, _args: tuple, _kwargs: dict) -> charts.Chart:
    return _func(*_args, **_kwargs)


def chart(func, *args, **kwargs) -> charts.Chart:
    """``func(*args, **kwargs)`` for a function of analysis.charts, built once per content of its arguments and
    shared by reruns and sessions (only read: Streamlit copies the figure to send it)."""
    return _chart(_key(func, args, kwargs), func, args, kwargs)


# --- files in ----------------------------------------------------------------------------------------------


@st.cache_resource(max_entries=4, show_spinner="Reading the files...")
def _load(digest: str, overrides: str, _files: tuple):
    """The import, shared by reruns and sessions (read-only): a large upload is not unpickled on every rerun."""
    from analysis.ingest import load_files

    loaded = load_files(list(_files), overrides=json.loads(overrides) or None)
    return _adopt(loaded, f"load:{digest}:{overrides}")


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
    return _load(digest, json.dumps(overrides or {}, sort_keys=True), tuple(files))


@st.cache_data(max_entries=2)
def _sample_bytes(stamp: tuple, _paths: tuple) -> list[tuple[str, bytes]]:
    return [(p.name, p.read_bytes()) for p in _paths if p.is_file()]


def read_files(paths) -> list[tuple[str, bytes]]:
    """(name, bytes) of the files that exist among ``paths`` (re-read when they change on disk)."""
    paths = tuple(p for p in paths if p.is_file())
    return _sample_bytes(tuple((str(p), p.stat().st_mtime_ns) for p in paths), paths)


@st.cache_resource(max_entries=4, show_spinner="Opening the saved data set...")
def _open_saved(digest: str, dataset_id: int, _store):
    """A saved data set as an analysis.ingest.Loaded (cached by its content hash; its issues as saved, none for a
    data set saved before reports were kept), shared by reruns and sessions (read-only) as an upload is."""
    from analysis.ingest import MAPPING_COLUMNS, Loaded

    a, t, info = _store.open(dataset_id)
    records = info.mapping if isinstance(info.mapping, list) else []
    mapping = pd.DataFrame(records, columns=list(MAPPING_COLUMNS))
    issues = pd.DataFrame(info.issues or [], columns=list(schema.ISSUE_COLUMNS)).astype({"rows": object})
    files = tuple(dict.fromkeys(mapping["file"].astype(str))) or (info.name,)
    return _adopt(Loaded(a, t, issues, mapping, info.rows_read or len(a), files, True), f"saved:{digest}")


def open_saved(store, info):
    """The saved data set ``info`` (analysis.store.DatasetInfo) of ``store`` as a Loaded, shared as ``load``'s."""
    return _open_saved(info.content_hash, info.id, store)
