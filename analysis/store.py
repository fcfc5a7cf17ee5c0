"""Saved data sets: the canonical tables of validated uploads in an embedded DuckDB database.

Model: one database file, ``<data dir>/outcomes.duckdb``; the data dir is ``$OUTCOMES_DATA_DIR``, else
``./data``. Tables: ``datasets`` (one row per saved upload: name, content hash, upload time and user, row
and patient counts, the column mapping used, the import's validation report), ``assessments`` and
``treatments`` (canonical columns of ``analysis.schema`` only, with the data set id and each row's position),
``opens`` (who opened which data set, when) and ``audit`` (sign-ins, uploads, opens, saves, renames, deletions
and downloads, with the user and role: append-only and hash-chained, see analysis.audit).

Assumptions and guarantees:

* Only canonical columns are stored. A ``date`` column or any other column is refused: the importer has
  already turned dates into day offsets, so no date and no identifier beyond ``patient_id`` is stored.
* A data set is identified by the sha256 of its canonical tables (columns in schema order, numbers as
  floats, rows sorted): saving the same content again stores nothing and returns the existing entry.
* Every write is one DuckDB transaction (BEGIN ... COMMIT): a process killed mid-save leaves the previous
  state intact and lists no partial data set.
* DuckDB lets one process write a database file. A process keeps one connection per data directory, shared
  by every ``Store`` on it; each call uses its own cursor and reads see the last committed state, so many
  Streamlit sessions (threads) read while one saves; a lock serialises the writes. A second process on the
  same directory gets a ``DataError`` saying so.
* Faults end in a ``DataError`` with the reason, never a raw ``duckdb`` error: a full disk (nothing is changed),
  a file of another program or with tables this program did not write, an unknown schema version, a damaged
  block (the data sets that touch it are named by :meth:`Store.check`, cannot be opened, and can be deleted).
* :meth:`Store.check` reads every row of every table (so DuckDB checks every block's checksum), recomputes each
  data set's content hash and checks the audit log's hash chain.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Mapping
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd

from analysis import audit as audit_chain
from analysis.audit import AUDIT_ACTIONS, AUDIT_COLUMNS, MAX_AUDIT_DETAIL, ChainCheck
from analysis.config import DATA_DIR_ENV, DEFAULT_DATA_DIR, MAX_DATASET_NAME_LENGTH
from analysis.errors import DataError
from analysis.schema import (
    DATE,
    DAY,
    INSTRUMENT,
    KIND,
    PATIENT_ID,
    SCORE,
)
from analysis.store_schema import (  # noqa: F401 (SCHEMA_VERSION, NUMERIC_COLUMNS: part of this module's API)
    _CHAIN_COLUMNS,
    _TABLES,
    ASSESSMENTS,
    NUMERIC_COLUMNS,
    SCHEMA_VERSION,
    TREATMENTS,
    _connect,
    _fault,
    migrate,
)

DB_FILE = "outcomes.duckdb"
_REQUIRED = {ASSESSMENTS: (PATIENT_ID, INSTRUMENT, SCORE, DAY), TREATMENTS: (PATIENT_ID, DAY, KIND)}
_NA_TEXT = "\x00"  # stands for a missing text cell in the content hash

#: columns of Store.list()
LIST_COLUMNS = (
    "id",
    "name",
    "uploaded_at",
    "uploaded_by",
    "rows",
    "patients",
    "treatment_rows",
    "content_hash",
    "last_opened_at",
)
__all__ = ["AUDIT_ACTIONS", "AUDIT_COLUMNS", "MAX_AUDIT_DETAIL", "Integrity", "Store", "content_hash"]


@dataclass(frozen=True)
class Integrity:
    """What :meth:`Store.check` found: ``problems`` in words (empty: none), the ``damaged`` data sets
    ({id: reason}) and the audit log's hash chain."""

    problems: tuple[str, ...]
    damaged: dict
    chain: ChainCheck

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class DatasetInfo:
    """One saved data set. ``created`` is True only on the save that stored it; ``notes`` say why not."""

    id: int
    name: str
    content_hash: str
    uploaded_at: datetime  # UTC
    uploaded_by: str | None
    rows: int  # assessment rows
    patients: int  # distinct patient_id in the assessments
    treatment_rows: int
    rows_read: int | None
    mapping_json: str
    issues_json: str | None = None
    created: bool = False
    notes: tuple[str, ...] = field(default=())

    @property
    def mapping(self):
        """The column mapping used at import, as saved (usually {source column: canonical column})."""
        return json.loads(self.mapping_json)

    @property
    def issues(self) -> list[dict] | None:
        """The import's validation report, as saved (records of ``analysis.schema.ISSUE_COLUMNS``); None for a data
        set saved before reports were kept."""
        return None if self.issues_json is None else json.loads(self.issues_json)


# --- content ------------------------------------------------------------------------------------


def _canonical(df, table: str) -> pd.DataFrame:
    """A copy of ``df`` with only canonical columns in schema order, numbers as float64, text as str."""
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"{table} must be a pandas DataFrame, got {type(df).__name__}")
    allowed = _TABLES[table]
    if DATE in df.columns:
        raise ValueError(
            f"{table} still has a '{DATE}' column: convert dates to day offsets (analysis.ingest) before saving"
        )
    extra = [str(c) for c in df.columns if c not in allowed]
    if extra:
        raise ValueError(f"{table} has non-canonical column(s) {extra}; the store keeps only {list(allowed)}")
    missing = [c for c in _REQUIRED[table] if c not in df.columns]
    if missing:
        raise ValueError(f"{table} lacks required column(s) {missing}; available: {[str(c) for c in df.columns]}")
    out = {}
    for c in (c for c in allowed if c in df.columns):
        if c in NUMERIC_COLUMNS:
            try:
                out[c] = pd.to_numeric(df[c], errors="raise").astype("float64")
            except (TypeError, ValueError):
                raise ValueError(f"{table}.{c} must be numeric; validate the upload before saving") from None
        else:
            out[c] = df[c].astype("str")
    return pd.DataFrame(out, index=pd.RangeIndex(len(df)))


def _hash_table(h, label: str, df: pd.DataFrame | None) -> None:
    if df is None or df.empty:
        h.update(f"{label}:0\n".encode())
        return
    text = {c: df[c].fillna(_NA_TEXT) for c in df.columns if c not in NUMERIC_COLUMNS}
    norm = df.assign(**text).sort_values(list(df.columns), kind="mergesort", na_position="last")
    h.update(f"{label}:{len(df)}:{','.join(df.columns)}\n".encode())
    h.update(norm.to_csv(index=False, header=False, lineterminator="\n", na_rep="").encode("utf-8"))


def content_hash(assessments: pd.DataFrame, treatments: pd.DataFrame | None = None) -> str:
    """sha256 of the canonical tables in a canonical order (row order and number types do not matter)."""
    a = _canonical(assessments, ASSESSMENTS)
    t = None if treatments is None else _canonical(treatments, TREATMENTS)
    return _content_hash(a, t)


def _content_hash(a: pd.DataFrame, t: pd.DataFrame | None) -> str:
    h = hashlib.sha256()
    _hash_table(h, ASSESSMENTS, a)
    _hash_table(h, TREATMENTS, t)
    return h.hexdigest()


def check_name(name) -> str:
    """A data set name without surrounding spaces; DataError when empty, too long or with control characters."""
    if not isinstance(name, str):
        raise DataError("A data set name must be text.")
    name = name.strip()
    if not name:
        raise DataError("Give the data set a name (it cannot be empty).")
    if len(name) > MAX_DATASET_NAME_LENGTH:
        raise DataError(f"The name is {len(name)} characters long; use at most {MAX_DATASET_NAME_LENGTH}.")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        raise DataError("The name contains control characters (such as a line break); use plain text.")
    return name


def _mapping_json(mapping) -> str:
    if isinstance(mapping, pd.DataFrame):
        mapping = mapping.to_dict("records")
    elif isinstance(mapping, Mapping):
        mapping = {str(k): v for k, v in mapping.items()}
    try:
        return json.dumps(mapping, sort_keys=True, default=str)
    except (TypeError, ValueError) as e:
        raise ValueError(f"the column mapping cannot be saved as JSON: {e}") from None


def _issues_json(issues: pd.DataFrame | None) -> str:
    """The validation report (ISSUE_COLUMNS; None: none) as JSON records: a blank column as null, rows as whole numbers."""
    records = [] if issues is None else issues.to_dict("records")
    return json.dumps(
        [
            {
                "severity": str(r["severity"]),
                "code": str(r["code"]),
                "column": None if pd.isna(r["column"]) else str(r["column"]),
                "rows": [int(x) for x in r["rows"]],
                "message": str(r["message"]),
            }
            for r in records
        ]
    )


def _one(result):
    """The first row of a query result, or None (fetching all rows: DuckDB 2 wants results finished)."""
    rows = result.fetchall()
    return rows[0] if rows else None


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)  # stored as a naive UTC TIMESTAMP


def _utc(ts) -> datetime:
    return pd.Timestamp(ts).tz_localize("UTC").to_pydatetime()


# --- one connection per process and data directory -----------------------------------------------


class _Shared:
    """The process's connection to one database file, its write lock and how many Stores use it."""

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con
        self.write_lock = threading.RLock()
        self.cursor_lock = threading.Lock()
        self.users = 0
        self.damaged: dict[int, str] = {}  # data sets found unreadable in this process: {id: reason}


_SHARED: dict[Path, _Shared] = {}
_SHARED_LOCK = threading.Lock()


_INFO_COLUMNS = (
    "id, name, content_hash, uploaded_at, uploaded_by, rows, patients, treatment_rows, rows_read, mapping_json, "
    "issues_json"
)


def _info(row, **extra) -> DatasetInfo:
    id_, name, digest, at, by, rows, patients, trows, read, mapping, issues = row
    return DatasetInfo(
        int(id_),
        name,
        digest,
        _utc(at),
        by,
        int(rows),
        int(patients),
        int(trows or 0),
        None if read is None else int(read),
        mapping,
        issues,
        **extra,
    )


def _insert_frame(cur, table: str, dataset_id: int, df: pd.DataFrame) -> None:
    """Insert the rows of a canonical frame (inside the caller's transaction)."""
    cols = ", ".join(f'"{c}"' for c in df.columns)
    cur.register("_incoming", df.assign(_row_no=range(len(df))))
    try:
        cur.execute(
            f"INSERT INTO {table} (dataset_id, row_no, {cols}) SELECT ?, _row_no, {cols} FROM _incoming", [dataset_id]
        )
    finally:
        try:
            cur.unregister("_incoming")
        except duckdb.Error:
            pass  # (an aborted transaction, e.g. a full disk: the error above says why)


class Store:
    """Saved data sets under ``data_dir`` (default ``$OUTCOMES_DATA_DIR`` or ``./data``); see the module doc.

    Use one Store per server process (e.g. ``st.cache_resource``); ``close()`` when done (or ``with Store()``).
    """

    def __init__(self, data_dir: str | Path | None = None):
        data_dir = data_dir if data_dir is not None else (os.environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR)
        self.data_dir = Path(data_dir).expanduser().resolve()
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise DataError(
                f"Cannot create the data folder {self.data_dir} ({e.strerror}); set {DATA_DIR_ENV} to a writable folder."
            ) from None
        self.path = self.data_dir / DB_FILE
        with _SHARED_LOCK:
            shared = _SHARED.get(self.path)
            if shared is None:
                shared = _Shared(_connect(self.path))
                try:
                    migrate(shared.con, self.path)
                except BaseException:
                    shared.con.close()
                    raise
                _SHARED[self.path] = shared
            shared.users += 1
        self._shared = shared
        self._closed = False

    # -- plumbing --

    @contextmanager
    def _cursor(self, doing: str = "reading the saved data sets"):
        """A cursor; a DuckDB error inside becomes a DataError saying what failed (e.g. a damaged block)."""
        if self._closed:
            raise RuntimeError("this Store is closed; create a new Store()")
        with self._shared.cursor_lock:
            cur = self._shared.con.cursor()
        try:
            yield cur
        except duckdb.Error as e:
            raise DataError(_fault(e, doing)) from None
        finally:
            with self._shared.cursor_lock:
                cur.close()

    @contextmanager
    def _transaction(self, write: bool, doing: str = "writing to the saved data sets"):
        """A cursor inside one transaction: committed on success, rolled back on any error; a DuckDB error (a full
        disk, a damaged block) becomes a DataError saying what failed."""
        lock = self._shared.write_lock if write else nullcontext()
        with lock, self._cursor(doing) as cur:
            cur.begin()
            try:
                yield cur
            except BaseException:
                try:
                    cur.rollback()
                except duckdb.Error:
                    pass  # (an aborted transaction: nothing of it was committed)
                raise
            cur.commit()  # (a failed commit changes nothing: the _cursor above says why)

    def close(self) -> None:
        """Release this Store; the connection closes (and the file unlocks) when the last Store of it closes."""
        if self._closed:
            return
        self._closed = True
        with _SHARED_LOCK:
            self._shared.users -= 1
            if self._shared.users == 0:
                _SHARED.pop(self.path, None)
                with self._shared.write_lock:
                    self._shared.con.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _get(self, cur, dataset_id) -> DatasetInfo:
        if isinstance(dataset_id, bool) or not isinstance(dataset_id, int):
            raise TypeError(f"dataset_id must be an int (the 'id' column of Store.list()), got {dataset_id!r}")
        row = _one(cur.execute(f"SELECT {_INFO_COLUMNS} FROM datasets WHERE id = ?", [dataset_id]))
        if row is None:
            raise DataError(f"Data set #{dataset_id} no longer exists (it may have been deleted); choose another one.")
        return _info(row)

    def _audit(self, cur, user, action, dataset_hash, detail, role=None) -> None:
        """Append one entry, chained to the last (inside the caller's write transaction)."""
        if action not in AUDIT_ACTIONS:
            raise ValueError(f"unknown audit action {action!r}; allowed: {', '.join(AUDIT_ACTIONS)}")
        detail = None if detail is None else str(detail)[:MAX_AUDIT_DETAIL]
        user, role = (None if v is None else str(v) for v in (user, role))
        last = _one(cur.execute("SELECT hash FROM audit ORDER BY id DESC LIMIT 1"))
        prev = audit_chain.GENESIS if last is None else str(last[0])
        entry_id = int(cur.execute("SELECT nextval('event_ids')").fetchall()[0][0])
        at = _now()
        own = audit_chain.entry_hash(prev, entry_id, at, user, role, action, dataset_hash, detail)
        cur.execute(
            "INSERT INTO audit (id, logged_at, actor, action, dataset_hash, detail, role, prev_hash, hash) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [entry_id, at, user, action, dataset_hash, detail, role, prev, own],
        )

    # -- data sets --

    def save(self, name: str, loaded, mapping=None, user: str | None = None, role: str | None = None) -> DatasetInfo:
        """Save the canonical tables of a validated upload (``analysis.ingest.Loaded``) under ``name``.

        Same content already saved: nothing is stored; the existing entry comes back with a note.
        """
        name = check_name(name)
        if getattr(loaded, "ok", True) is False:
            raise DataError("This upload has errors: fix them (see the validation report) before saving it.")
        a = _canonical(loaded.assessments, ASSESSMENTS)
        treatments = getattr(loaded, "treatments", None)
        t = None if treatments is None else _canonical(treatments, TREATMENTS)
        if a.empty:
            raise DataError("There is nothing to save: the upload has no usable assessment rows.")
        digest = _content_hash(a, t)
        mapping_json = _mapping_json(getattr(loaded, "mapping", None) if mapping is None else mapping)
        issues_json = _issues_json(getattr(loaded, "issues", None))
        columns_json = json.dumps(
            {
                ASSESSMENTS: {c: str(loaded.assessments[c].dtype) for c in a.columns},
                TREATMENTS: None if t is None else {c: str(treatments[c].dtype) for c in t.columns},
            }
        )
        rows_read = getattr(loaded, "rows_read", None)
        with self._transaction(write=True, doing=f"saving '{name}'") as cur:
            row = _one(
                cur.execute(
                    f"SELECT {_INFO_COLUMNS} FROM datasets WHERE content_hash = ? ORDER BY id LIMIT 1", [digest]
                )
            )
            if row is not None:
                old = _info(row)
                when = old.uploaded_at.strftime("%Y-%m-%d %H:%M UTC")
                return replace(
                    old,
                    notes=(
                        f"This content was already saved as '{old.name}' (#{old.id}) on {when}; nothing new was stored.",
                    ),
                )
            dataset_id = int(cur.execute("SELECT nextval('dataset_ids')").fetchall()[0][0])
            _insert_frame(cur, ASSESSMENTS, dataset_id, a)
            if t is not None and not t.empty:
                _insert_frame(cur, TREATMENTS, dataset_id, t)
            cur.execute(
                "INSERT INTO datasets (id, name, content_hash, uploaded_at, uploaded_by, rows, patients, treatment_rows, "
                "rows_read, mapping_json, columns_json, issues_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    dataset_id,
                    name,
                    digest,
                    _now(),
                    user,
                    len(a),
                    int(a[PATIENT_ID].nunique()),
                    0 if t is None else len(t),
                    None if rows_read is None else int(rows_read),
                    mapping_json,
                    columns_json,
                    issues_json,
                ],
            )
            self._audit(cur, user, "save", digest, f"#{dataset_id} '{name}': {len(a)} rows", role)
            info = self._get(cur, dataset_id)
        return replace(info, created=True)

    def list(self) -> pd.DataFrame:
        """Saved data sets, newest first (columns LIST_COLUMNS; times in UTC)."""
        with self._cursor() as cur:
            df = cur.execute(
                """SELECT d.id, d.name, d.uploaded_at, d.uploaded_by, d.rows, d.patients, d.treatment_rows,
                          d.content_hash, (SELECT max(o.opened_at) FROM opens o WHERE o.dataset_id = d.id) AS last_opened_at
                   FROM datasets d ORDER BY d.uploaded_at DESC, d.id DESC"""
            ).df()
        for c in ("uploaded_at", "last_opened_at"):
            df[c] = pd.to_datetime(df[c]).dt.tz_localize("UTC")
        for c in ("id", "rows", "patients", "treatment_rows"):
            df[c] = df[c].astype("int64")
        return df[list(LIST_COLUMNS)]

    def info(self, dataset_id: int) -> DatasetInfo:
        """The entry of one data set (DataError if it no longer exists)."""
        with self._cursor() as cur:
            return self._get(cur, dataset_id)

    def open(self, dataset_id: int) -> tuple[pd.DataFrame, pd.DataFrame | None, DatasetInfo]:
        """(assessments, treatments, info) exactly as saved: same columns, dtypes and row order.

        ``treatments`` is None when the upload had none.
        """
        with self._transaction(write=False) as cur:  # one snapshot: a concurrent delete cannot split it
            info = self._get(cur, dataset_id)
            try:
                tables, dtypes = self._read(cur, dataset_id)
            except (duckdb.Error, ValueError, TypeError, KeyError) as e:
                reason = (
                    _fault(e, f"reading data set #{dataset_id} '{info.name}'")
                    if isinstance(e, duckdb.Error)
                    else str(e)
                )
                self._shared.damaged[dataset_id] = reason
                raise DataError(
                    f"The saved data set '{info.name}' (#{dataset_id}) is damaged and cannot be opened: {reason} "
                    "Delete it on the Data page and upload its files again."
                ) from None
        out = {t: None if df is None else (df.astype(dtypes[t]) if len(df.columns) else df) for t, df in tables.items()}
        return out[ASSESSMENTS], out[TREATMENTS], info

    @staticmethod
    def _read(cur, dataset_id: int) -> tuple[dict, dict]:
        """({table: its rows of the data set, as stored (None: no such table)}, {table: saved dtypes})."""
        dtypes = json.loads(
            cur.execute("SELECT columns_json FROM datasets WHERE id = ?", [dataset_id]).fetchall()[0][0]
        )
        tables = {}
        for table in (ASSESSMENTS, TREATMENTS):
            if dtypes[table] is None:
                tables[table] = None
                continue
            cols = ", ".join(f'"{c}"' for c in dtypes[table])
            tables[table] = cur.execute(
                f"SELECT {cols} FROM {table} WHERE dataset_id = ? ORDER BY row_no", [dataset_id]
            ).df()
        return tables, dtypes

    def rename(self, dataset_id: int, new_name: str, user: str | None = None, role: str | None = None) -> DatasetInfo:
        """Give a data set a new name (validated like save's)."""
        new_name = check_name(new_name)
        with self._transaction(write=True) as cur:
            old = self._get(cur, dataset_id)
            cur.execute("UPDATE datasets SET name = ? WHERE id = ?", [new_name, dataset_id])
            self._audit(cur, user, "rename", old.content_hash, f"#{dataset_id} '{old.name}' -> '{new_name}'", role)
            return replace(old, name=new_name)

    def delete(self, dataset_id: int, user: str | None = None, role: str | None = None) -> DatasetInfo:
        """Delete a data set and its rows (the audit log keeps its hash and name). A data set whose rows sit in a
        damaged block is deleted too: its tables are rebuilt from every row that can still be read."""
        if dataset_id in self._shared.damaged:
            old = integrity.delete_damaged(self, dataset_id, user, role)
            self._shared.damaged.pop(dataset_id, None)
            return old
        try:
            with self._transaction(write=True, doing="deleting the data set") as cur:
                old = self._get(cur, dataset_id)
                for table in (ASSESSMENTS, TREATMENTS, "opens"):
                    cur.execute(f"DELETE FROM {table} WHERE dataset_id = ?", [dataset_id])
                cur.execute("DELETE FROM datasets WHERE id = ?", [dataset_id])
                self._audit(cur, user, "delete", old.content_hash, f"#{dataset_id} '{old.name}': {old.rows} rows", role)
        except DataError as e:
            if "damaged" not in str(e):
                raise
            old = integrity.delete_damaged(self, dataset_id, user, role)
        self._shared.damaged.pop(dataset_id, None)
        return old

    # -- last opened --

    def mark_opened(self, dataset_id: int, user: str | None = None, role: str | None = None) -> None:
        """Record that ``user`` opened the data set (what the dashboard opens on next time), in the audit log too."""
        with self._transaction(write=True) as cur:
            info = self._get(cur, dataset_id)
            cur.execute("INSERT INTO opens VALUES (nextval('event_ids'), ?, ?, ?)", [dataset_id, user, _now()])
            self._audit(cur, user, "open", info.content_hash, f"#{dataset_id} '{info.name}'", role)

    def last_opened(self, user: str | None = None) -> DatasetInfo | None:
        """The data set opened most recently (by ``user`` when given, else by anyone); None when none is left."""
        where, params = ("WHERE o.actor = ?", [user]) if user is not None else ("", [])
        with self._cursor() as cur:
            row = _one(
                cur.execute(
                    f"""SELECT {", ".join("d." + c.strip() for c in _INFO_COLUMNS.split(","))}
                    FROM opens o JOIN datasets d ON d.id = o.dataset_id {where}
                    ORDER BY o.id DESC LIMIT 1""",
                    params,
                )
            )
        return None if row is None else _info(row)

    # -- audit --

    def audit(
        self,
        user: str | None,
        action: str,
        dataset_hash: str | None = None,
        detail: str | None = None,
        role: str | None = None,
    ) -> None:
        """Append one entry to the audit log (action: one of AUDIT_ACTIONS). Saves, renames, deletions and opens
        are logged by the store itself; call this for sign-ins, refusals, uploads and downloads."""
        with self._transaction(write=True, doing="writing the audit log") as cur:
            self._audit(cur, user, action, dataset_hash, detail, role)

    def audit_log(self, limit: int | None = 1000) -> pd.DataFrame:
        """The audit log, newest first (columns AUDIT_COLUMNS; ``at`` in UTC)."""
        sql = 'SELECT logged_at AS at, actor AS "user", role, action, dataset_hash, detail FROM audit ORDER BY id DESC'
        with self._cursor() as cur:
            df = cur.execute(
                sql + (" LIMIT ?" if limit is not None else ""), [int(limit)] if limit is not None else []
            ).df()
        df["at"] = pd.to_datetime(df["at"]).dt.tz_localize("UTC")
        return df[list(AUDIT_COLUMNS)]

    # -- integrity (analysis.integrity) --

    def check(self) -> Integrity:
        """Read every row of every table (DuckDB checks each block's checksum as it reads it), recompute every
        data set's content hash, and check the audit log's hash chain."""
        result = integrity.check(self)
        with _SHARED_LOCK:
            self._shared.damaged = dict(result.damaged)
        return result

    def verify(self) -> tuple[str, ...]:
        """The problems :meth:`check` finds, in words (empty when none)."""
        return self.check().problems

    def damaged(self) -> dict[int, str]:
        """{id: reason} of the data sets found damaged in this process (by :meth:`check` or a failed open)."""
        return dict(self._shared.damaged)

    def chain(self) -> ChainCheck:
        """The audit log's hash chain, checked (intact, or the first broken entry)."""
        with self._transaction(write=False, doing="reading the audit log") as cur:
            return audit_chain.check_chain(cur.execute(f"SELECT {_CHAIN_COLUMNS} FROM audit ORDER BY id").fetchall())


from analysis import integrity  # noqa: E402 (it uses Store's helpers above)
