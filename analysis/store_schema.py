"""The database file of analysis.store: its tables (created here, checked on every open, upgraded from older
versions) and how DuckDB's errors are put in words. A file this program did not write (another program's
database, tables or columns added by hand, an unknown schema version) is refused and left as it is."""

from __future__ import annotations

from pathlib import Path

import duckdb

from analysis import audit as audit_chain
from analysis import schema as S
from analysis.config import DATA_DIR_ENV
from analysis.errors import DataError

#: 2: datasets.issues_json (the validation report); 3: audit role and hash chain; 4: the optional columns of
#: real exports (PHQ-9 item 9; a session's dose in mg and its monitoring record)
SCHEMA_VERSION = 4
ASSESSMENTS = "assessments"
TREATMENTS = "treatments"
#: canonical columns stored as numbers (DOUBLE); every other canonical column is text
NUMERIC_COLUMNS = (S.SCORE, S.DAY, S.DOSE, S.PHQ9_ITEM9, *S.MONITORING_RANGES)
#: every column a table may hold: the canonical ones, then the optional ones (stored only when a file had them)
_TABLES = {
    ASSESSMENTS: S.ASSESSMENT_COLUMNS + S.OPTIONAL_ASSESSMENT_COLUMNS,
    TREATMENTS: S.TREATMENT_COLUMNS + tuple(c for c in S.MONITORING_COLUMNS if c not in S.TREATMENT_COLUMNS),
}
_OPTIONAL = {
    ASSESSMENTS: S.OPTIONAL_ASSESSMENT_COLUMNS,
    TREATMENTS: _TABLES[TREATMENTS][len(S.TREATMENT_COLUMNS) :],
}


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


def _type(column: str) -> str:
    return "DOUBLE" if column in NUMERIC_COLUMNS else "VARCHAR"


def _ddl_columns(table: str) -> str:
    types = ", ".join(f'"{c}" {_type(c)}' for c in _TABLES[table])
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
        action VARCHAR NOT NULL, dataset_hash VARCHAR, detail VARCHAR, role VARCHAR, prev_hash VARCHAR, hash VARCHAR)""",
]
#: the tables this program writes, with their columns (a file holding others is not ours)
_OWN_TABLES = {
    "meta": ("key", "value"),
    "datasets": (
        "id", "name", "content_hash", "uploaded_at", "uploaded_by", "rows", "patients", "treatment_rows",
        "rows_read", "mapping_json", "columns_json", "issues_json",
    ),
    ASSESSMENTS: ("dataset_id", "row_no", *_TABLES[ASSESSMENTS]),
    TREATMENTS: ("dataset_id", "row_no", *_TABLES[TREATMENTS]),
    "opens": ("id", "dataset_id", "actor", "opened_at"),
    "audit": ("id", "logged_at", "actor", "action", "dataset_hash", "detail", "role", "prev_hash", "hash"),
}  # fmt: skip
_CHAIN_COLUMNS = "id, logged_at, actor, role, action, dataset_hash, detail, prev_hash, hash"


def _fault(e: Exception, doing: str) -> str:
    """A DuckDB error in words: what failed, why, and what to do."""
    text = str(e)
    if "No space left" in text or "disk full" in text.lower():
        return f"The disk is full, so {doing} failed; nothing was changed. Free some space and try again."
    if "checksum" in text.lower() or "corrupt" in text.lower():
        return f"{doing[:1].upper()}{doing[1:]} failed: the database file is damaged ({text})."
    return f"{doing[:1].upper()}{doing[1:]} failed ({type(e).__name__}: {text}); nothing was changed."


def migrate(con, path: Path) -> None:
    """Create the tables, or check and upgrade the ones there; a file this program did not write (foreign
    tables, an unknown schema version) is refused with a DataError and left as it is."""
    cur = con.cursor()
    try:
        cur.begin()
        tables = _tables(cur)
        if tables and "meta" not in tables:
            raise DataError(
                f"{path} holds tables this program did not write ({', '.join(sorted(tables))}): it is not a "
                f"saved-data-sets database. Move it elsewhere, or set {DATA_DIR_ENV} to another folder."
            )
        version = SCHEMA_VERSION
        if tables:
            rows = cur.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall()
            raw = rows[0][0] if len(rows) == 1 else None
            if raw is None or not str(raw).strip().isdigit() or not 1 <= int(raw):
                raise DataError(
                    f"{path} has an unknown schema version ({', '.join(repr(r[0]) for r in rows) or 'none'}): "
                    f"it was not written by this program, or was changed by hand. Move it elsewhere, or set "
                    f"{DATA_DIR_ENV} to another folder."
                )
            version = int(raw)
            if version > SCHEMA_VERSION:
                raise DataError(
                    f"The saved data sets were written by a newer version (schema {raw}); update this program."
                )
        for statement in _DDL:
            cur.execute(statement)
        if not tables:
            cur.execute("INSERT INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])
        elif version < SCHEMA_VERSION:
            _upgrade(cur)
        _check_tables(cur, path)
        cur.commit()
    except BaseException as e:
        try:
            cur.rollback()
        except duckdb.Error:
            pass
        if isinstance(e, duckdb.Error):
            raise DataError(_fault(e, f"opening the saved data sets in {path}")) from None
        raise
    finally:
        cur.close()


def _tables(cur) -> dict[str, tuple[str, ...]]:
    """{table or view: its columns} of the database's main schema."""
    rows = cur.execute(
        "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'main' "
        "ORDER BY table_name, ordinal_position"
    ).fetchall()
    out: dict[str, list[str]] = {}
    for table, column in rows:
        out.setdefault(table, []).append(column)
    return {t: tuple(c) for t, c in out.items()}


def _check_tables(cur, path: Path) -> None:
    found = _tables(cur)
    foreign = sorted(set(found) - set(_OWN_TABLES))
    changed = sorted(t for t, cols in _OWN_TABLES.items() if found.get(t) != cols)
    if foreign or changed:
        what = [f"table(s) this program did not write: {', '.join(foreign)}"] if foreign else []
        what += [f"table {t} has columns {list(found.get(t, ()))}, not {list(_OWN_TABLES[t])}" for t in changed]
        raise DataError(
            f"{path} is not as this program writes it ({'; '.join(what)}). Nothing was changed: move the "
            f"file elsewhere, or set {DATA_DIR_ENV} to another folder."
        )


def _upgrade(cur) -> None:
    """1 -> 2: the validation report (none for the data sets already saved); 2 -> 3: the audit log's role and
    hash chain (the entries already written are chained now, in their order); 3 -> 4: the optional columns
    (empty for the data sets already saved)."""
    cur.execute("ALTER TABLE datasets ADD COLUMN IF NOT EXISTS issues_json VARCHAR")
    audit_columns = _tables(cur).get("audit", ())
    for column in ("role", "prev_hash", "hash"):
        cur.execute(f"ALTER TABLE audit ADD COLUMN IF NOT EXISTS {column} VARCHAR")
    if "hash" not in audit_columns:  # (schema 1 or 2: chain the entries written before)
        prev = audit_chain.GENESIS
        rows = cur.execute("SELECT id, logged_at, actor, role, action, dataset_hash, detail FROM audit ORDER BY id")
        for entry_id, at, user, role, action, digest, detail in rows.fetchall():
            own = audit_chain.entry_hash(prev, entry_id, at, user, role, action, digest, detail)
            cur.execute("UPDATE audit SET prev_hash = ?, hash = ? WHERE id = ?", [prev, own, entry_id])
            prev = own
    for table, columns in _OPTIONAL.items():
        for c in columns:
            cur.execute(f'ALTER TABLE {table} ADD COLUMN IF NOT EXISTS "{c}" {_type(c)}')
    cur.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", [str(SCHEMA_VERSION)])
