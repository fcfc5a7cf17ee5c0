"""Saved data sets: the canonical tables of validated uploads in an embedded DuckDB database.

Model: one database file, ``<data dir>/outcomes.duckdb``; the data dir is ``$OUTCOMES_DATA_DIR``, else
``./data``. Tables: ``datasets`` (one row per saved upload: name, content hash, upload time and user, row
and patient counts, the column mapping used, the import's validation report), ``assessments`` and
``treatments`` (canonical columns of ``analysis.schema`` only, with the data set id and each row's position),
``opens`` (who opened which data set, when) and ``audit`` (saves, renames, deletions, sign-ins).

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

from analysis.config import DATA_DIR_ENV, DEFAULT_DATA_DIR, MAX_DATASET_NAME_LENGTH
from analysis.errors import DataError
from analysis.schema import (
    ASSESSMENT_COLUMNS,
    DATE,
    DAY,
    DOSE,
    INSTRUMENT,
    KIND,
    PATIENT_ID,
    SCORE,
    TREATMENT_COLUMNS,
)

DB_FILE = "outcomes.duckdb"
SCHEMA_VERSION = 2  # 2: datasets.issues_json (the validation report; NULL for data sets saved before)

ASSESSMENTS = "assessments"
TREATMENTS = "treatments"
#: canonical columns stored as numbers (DOUBLE); every other canonical column is text
NUMERIC_COLUMNS = (SCORE, DAY, DOSE)
_TABLES = {ASSESSMENTS: ASSESSMENT_COLUMNS, TREATMENTS: TREATMENT_COLUMNS}
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
#: columns of Store.audit_log()
AUDIT_COLUMNS = ("at", "user", "action", "dataset_hash", "detail")
AUDIT_ACTIONS = ("save", "rename", "delete", "open", "sign_in", "sign_in_refused", "sign_out")
MAX_AUDIT_DETAIL = 1000


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


_SHARED: dict[Path, _Shared] = {}
_SHARED_LOCK = threading.Lock()


def _connect(path: Path) -> duckdb.DuckDBPyConnection:
    try:
        return duckdb.connect(str(path))
    except duckdb.IOException as e:
        if "lock" in str(e).lower():
            raise DataError(
                f"The saved data sets in {path.parent} are in use by another program ({e}). Only one dashboard "
                f"server can use a data folder at a time: stop the other one, or set {DATA_DIR_ENV} to another folder."
            ) from None
        raise DataError(
            f"Cannot open the saved data sets in {path}: {e}. If the file is damaged, move it elsewhere and restart."
        ) from None
    except duckdb.Error as e:
        raise DataError(
            f"{path} is not a readable data set database (is it damaged, or from another program?): {e}"
        ) from None


def _ddl_columns(table: str) -> str:
    types = ", ".join(f'"{c}" {"DOUBLE" if c in NUMERIC_COLUMNS else "VARCHAR"}' for c in _TABLES[table])
    return f"dataset_id BIGINT NOT NULL, row_no BIGINT NOT NULL, {types}"


_DDL = [
    "CREATE TABLE IF NOT EXISTS meta (key VARCHAR NOT NULL, value VARCHAR)",
    "CREATE SEQUENCE IF NOT EXISTS dataset_ids START 1",
    "CREATE SEQUENCE IF NOT EXISTS event_ids START 1",
    """CREATE TABLE IF NOT EXISTS datasets (
        id BIGINT NOT NULL, name VARCHAR NOT NULL, content_hash VARCHAR NOT NULL, uploaded_at TIMESTAMP NOT NULL,
        uploaded_by VARCHAR, rows BIGINT NOT NULL, patients BIGINT NOT NULL, treatment_rows BIGINT,
        rows_read BIGINT, mapping_json VARCHAR NOT NULL, columns_json VARCHAR NOT NULL, issues_json VARCHAR)""",
    f"CREATE TABLE IF NOT EXISTS {ASSESSMENTS} ({_ddl_columns(ASSESSMENTS)})",
    f"CREATE TABLE IF NOT EXISTS {TREATMENTS} ({_ddl_columns(TREATMENTS)})",
    "CREATE TABLE IF NOT EXISTS opens (id BIGINT NOT NULL, dataset_id BIGINT NOT NULL, actor VARCHAR, opened_at TIMESTAMP NOT NULL)",
    """CREATE TABLE IF NOT EXISTS audit (id BIGINT NOT NULL, logged_at TIMESTAMP NOT NULL, actor VARCHAR,
        action VARCHAR NOT NULL, dataset_hash VARCHAR, detail VARCHAR)""",
]

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
        cur.unregister("_incoming")


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
                    self._migrate(shared)
                except BaseException:
                    shared.con.close()
                    raise
                _SHARED[self.path] = shared
            shared.users += 1
        self._shared = shared
        self._closed = False

    # -- plumbing --

    @staticmethod
    def _migrate(shared: _Shared) -> None:
        cur = shared.con.cursor()
        try:
            cur.begin()
            for statement in _DDL:
                cur.execute(statement)
            row = _one(cur.execute("SELECT value FROM meta WHERE key = 'schema_version'"))
            if row is None:
                cur.execute("INSERT INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])
            elif int(row[0]) > SCHEMA_VERSION:
                cur.rollback()
                raise DataError(
                    f"The saved data sets were written by a newer version (schema {row[0]}); update this program."
                )
            elif int(row[0]) < SCHEMA_VERSION:  # 1 -> 2: the validation report (none for the data sets already saved)
                cur.execute("ALTER TABLE datasets ADD COLUMN IF NOT EXISTS issues_json VARCHAR")
                cur.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", [str(SCHEMA_VERSION)])
            cur.commit()
        finally:
            cur.close()

    @contextmanager
    def _cursor(self):
        if self._closed:
            raise RuntimeError("this Store is closed; create a new Store()")
        with self._shared.cursor_lock:
            cur = self._shared.con.cursor()
        try:
            yield cur
        finally:
            with self._shared.cursor_lock:
                cur.close()

    @contextmanager
    def _transaction(self, write: bool):
        """A cursor inside one transaction: committed on success, rolled back on any error."""
        lock = self._shared.write_lock if write else nullcontext()
        with lock, self._cursor() as cur:
            cur.begin()
            try:
                yield cur
            except duckdb.IOException as e:  # disk full, file not writable: the user's problem to fix
                cur.rollback()
                raise DataError(
                    f"Could not write to the saved data sets in {self.data_dir} ({e}); nothing was changed."
                ) from None
            except BaseException:
                cur.rollback()
                raise
            try:
                cur.commit()
            except duckdb.Error as e:
                raise DataError(f"Could not write to the saved data sets ({e}); nothing was changed.") from None

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

    def _audit(self, cur, user, action, dataset_hash, detail) -> None:
        if action not in AUDIT_ACTIONS:
            raise ValueError(f"unknown audit action {action!r}; allowed: {', '.join(AUDIT_ACTIONS)}")
        detail = None if detail is None else str(detail)[:MAX_AUDIT_DETAIL]
        cur.execute(
            "INSERT INTO audit VALUES (nextval('event_ids'), ?, ?, ?, ?, ?)",
            [_now(), None if user is None else str(user), action, dataset_hash, detail],
        )

    # -- data sets --

    def save(self, name: str, loaded, mapping=None, user: str | None = None) -> DatasetInfo:
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
        with self._transaction(write=True) as cur:
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
            self._audit(cur, user, "save", digest, f"#{dataset_id} '{name}': {len(a)} rows")
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
            dtypes = json.loads(
                cur.execute("SELECT columns_json FROM datasets WHERE id = ?", [dataset_id]).fetchall()[0][0]
            )
            tables = {}
            for table in (ASSESSMENTS, TREATMENTS):
                if dtypes[table] is None:
                    tables[table] = None
                    continue
                cols = ", ".join(f'"{c}"' for c in dtypes[table])
                df = cur.execute(f"SELECT {cols} FROM {table} WHERE dataset_id = ? ORDER BY row_no", [dataset_id]).df()
                tables[table] = df.astype(dtypes[table]) if len(df.columns) else df
        return tables[ASSESSMENTS], tables[TREATMENTS], info

    def rename(self, dataset_id: int, new_name: str, user: str | None = None) -> DatasetInfo:
        """Give a data set a new name (validated like save's)."""
        new_name = check_name(new_name)
        with self._transaction(write=True) as cur:
            old = self._get(cur, dataset_id)
            cur.execute("UPDATE datasets SET name = ? WHERE id = ?", [new_name, dataset_id])
            self._audit(cur, user, "rename", old.content_hash, f"#{dataset_id} '{old.name}' -> '{new_name}'")
            return replace(old, name=new_name)

    def delete(self, dataset_id: int, user: str | None = None) -> DatasetInfo:
        """Delete a data set and its rows (the audit log keeps its hash and name)."""
        with self._transaction(write=True) as cur:
            old = self._get(cur, dataset_id)
            for table in (ASSESSMENTS, TREATMENTS, "opens"):
                cur.execute(f"DELETE FROM {table} WHERE dataset_id = ?", [dataset_id])
            cur.execute("DELETE FROM datasets WHERE id = ?", [dataset_id])
            self._audit(cur, user, "delete", old.content_hash, f"#{dataset_id} '{old.name}': {old.rows} rows")
            return old

    # -- last opened --

    def mark_opened(self, dataset_id: int, user: str | None = None) -> None:
        """Record that ``user`` opened the data set (what the dashboard opens on next time)."""
        with self._transaction(write=True) as cur:
            self._get(cur, dataset_id)
            cur.execute("INSERT INTO opens VALUES (nextval('event_ids'), ?, ?, ?)", [dataset_id, user, _now()])

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

    def audit(self, user: str | None, action: str, dataset_hash: str | None = None, detail: str | None = None) -> None:
        """Append one entry to the audit log (action: one of AUDIT_ACTIONS). Saves, renames and deletions
        are logged by the store itself; call this for sign-ins and refusals."""
        with self._transaction(write=True) as cur:
            self._audit(cur, user, action, dataset_hash, detail)

    def audit_log(self, limit: int | None = 1000) -> pd.DataFrame:
        """The audit log, newest first (columns AUDIT_COLUMNS; ``at`` in UTC)."""
        sql = 'SELECT logged_at AS at, actor AS "user", action, dataset_hash, detail FROM audit ORDER BY id DESC'
        with self._cursor() as cur:
            df = cur.execute(
                sql + (" LIMIT ?" if limit is not None else ""), [int(limit)] if limit is not None else []
            ).df()
        df["at"] = pd.to_datetime(df["at"]).dt.tz_localize("UTC")
        return df[list(AUDIT_COLUMNS)]

    # -- integrity --

    def verify(self) -> tuple[str, ...]:
        """Problems found in the stored data (empty when none): rows without a data set, wrong row counts."""
        problems = []
        with self._transaction(write=False) as cur:
            for table, count in ((ASSESSMENTS, "rows"), (TREATMENTS, "treatment_rows")):
                orphans = cur.execute(
                    f"SELECT count(*) FROM {table} t WHERE NOT EXISTS (SELECT 1 FROM datasets d WHERE d.id = t.dataset_id)"
                ).fetchall()[0][0]
                if orphans:
                    problems.append(f"{orphans} {table} rows belong to no data set")
                bad = cur.execute(
                    f"""SELECT d.id, d.{count}, (SELECT count(*) FROM {table} t WHERE t.dataset_id = d.id)
                        FROM datasets d WHERE d.{count} <> (SELECT count(*) FROM {table} t WHERE t.dataset_id = d.id)"""
                ).fetchall()
                problems += [f"data set #{i} should have {n} {table} rows but has {m}" for i, n, m in bad]
        return tuple(problems)
