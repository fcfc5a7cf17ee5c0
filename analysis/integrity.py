"""Integrity of the saved data sets (analysis.store): the whole-store check and the deletion of a damaged set.

:func:`check` reads every row of every table, so DuckDB verifies the checksum of every block it reads (a block
that was read before in this process is checked when it was first read), recomputes each data set's content
hash from its stored rows (a row changed with another DuckDB client shows), counts rows, finds rows of no
data set, and checks the audit log's hash chain (analysis.audit). :func:`delete_damaged` deletes a data set
whose rows cannot be read: the two data tables are rebuilt from every row that can still be read.
"""

from __future__ import annotations

import duckdb

from analysis import audit as audit_chain
from analysis.errors import DataError
from analysis.store import _INFO_COLUMNS, Integrity, _canonical, _content_hash, _info
from analysis.store_schema import _CHAIN_COLUMNS, ASSESSMENTS, TREATMENTS, _ddl_columns, _fault

_DATA_TABLES = ((ASSESSMENTS, "rows"), (TREATMENTS, "treatment_rows"))


def _dataset_problem(store, cur, info) -> str | None:
    """Why one data set is damaged (None: it reads back whole and unchanged)."""
    try:
        tables, _ = store._read(cur, info.id)
    except duckdb.Error as e:
        return _fault(e, "reading its rows")
    except IndexError:
        return None  # (deleted while the check ran)
    a, t = tables[ASSESSMENTS], tables[TREATMENTS]
    for table, df, want in ((ASSESSMENTS, a, info.rows), (TREATMENTS, t, info.treatment_rows)):
        if len(df if df is not None else ()) != want:
            return f"should have {want} {table} rows but has {0 if df is None else len(df)}"
    try:
        digest = _content_hash(_canonical(a, ASSESSMENTS), None if t is None else _canonical(t, TREATMENTS))
    except (ValueError, TypeError) as e:
        return f"its rows cannot be read as saved ({e})"
    if digest != info.content_hash:
        return "its rows were changed after it was saved (the content hash differs)"
    for table, df in ((ASSESSMENTS, a), (TREATMENTS, t)):
        n = 0 if df is None else len(df)
        if n:  # the rows' positions (their order when opened): 0 to n - 1, each once
            positions = cur.execute(
                f"SELECT count(DISTINCT row_no), min(row_no), max(row_no) FROM {table} WHERE dataset_id = ?", [info.id]
            ).fetchall()[0]
            if tuple(positions) != (n, 0, n - 1):
                return f"the order of its {table} rows was changed after it was saved"
    return None


def check(store) -> Integrity:
    """See the module doc; the problems in words, the damaged data sets and the audit chain."""
    problems: list[str] = []
    damaged: dict[int, str] = {}
    chain = audit_chain.ChainCheck(False, 0, audit_chain.GENESIS, None, "the audit log could not be read")
    # (no transaction: one failed read must not abort the others; each statement sees the last committed state)
    with store._cursor("checking the saved data sets") as cur:
        for table in ("meta", "datasets", "opens", ASSESSMENTS, TREATMENTS, "audit"):
            try:  # every value of every column: every block of the table is read (and its checksum checked)
                cur.execute(f"SELECT count(*), sum(hash(COLUMNS(*))) FROM {table}").fetchall()
            except duckdb.Error as e:
                problems.append(f"the {table} table is damaged: {_fault(e, f'reading {table}')}")
        try:
            infos = [_info(r) for r in cur.execute(f"SELECT {_INFO_COLUMNS} FROM datasets ORDER BY id").fetchall()]
        except duckdb.Error:
            infos = []  # (said above)
        for table, _ in _DATA_TABLES:
            try:
                orphans = cur.execute(
                    f"SELECT count(*) FROM {table} t WHERE NOT EXISTS (SELECT 1 FROM datasets d WHERE d.id = t.dataset_id)"
                ).fetchall()[0][0]
            except duckdb.Error:
                continue  # (said above)
            if orphans:
                problems.append(f"{orphans} {table} rows belong to no data set")
        for info in infos:
            reason = _dataset_problem(store, cur, info)
            if reason is not None:
                damaged[info.id] = reason
                problems.append(f"data set #{info.id} '{info.name}' is damaged: {reason}")
        try:
            chain = audit_chain.check_chain(cur.execute(f"SELECT {_CHAIN_COLUMNS} FROM audit ORDER BY id").fetchall())
        except duckdb.Error:
            pass  # (said above)
        if not chain.intact and chain.broken_id is not None:
            problems.append(chain.summary())
    return Integrity(tuple(problems), damaged, chain)


def delete_damaged(store, dataset_id: int, user, role):
    """Delete a data set that cannot be deleted row by row (a damaged block): rebuild both data tables from the
    rows of the other data sets that can still be read; those that cannot stay listed, and :func:`check` names
    them. Returns the deleted data set's DatasetInfo."""
    with store._shared.write_lock:
        readable, lost = {ASSESSMENTS: [], TREATMENTS: []}, set()
        with store._cursor("reading the data sets") as cur:  # (no transaction: a failed read aborts no other)
            old = store._get(cur, dataset_id)
            others = [
                r[0] for r in cur.execute("SELECT id FROM datasets WHERE id <> ? ORDER BY id", [dataset_id]).fetchall()
            ]
            for other in others:
                frames = {}
                try:
                    for table, _ in _DATA_TABLES:
                        frames[table] = cur.execute(
                            f"SELECT * FROM {table} WHERE dataset_id = ? ORDER BY row_no", [other]
                        ).df()
                except duckdb.Error:
                    lost.add(other)
                    continue
                for table, df in frames.items():
                    readable[table].append(df)
        detail = f"#{dataset_id} '{old.name}': {old.rows} rows (damaged: the data tables were rebuilt"
        detail += f"; data set(s) {', '.join(f'#{i}' for i in sorted(lost))} could not be read either)" if lost else ")"
        with store._transaction(write=True, doing="deleting the damaged data set") as cur:
            for table, _ in _DATA_TABLES:
                cur.execute(f"DROP TABLE {table}")
                cur.execute(f"CREATE TABLE {table} ({_ddl_columns(table)})")
                for df in readable[table]:
                    if len(df):
                        cur.register("_kept", df)
                        try:
                            cur.execute(f"INSERT INTO {table} SELECT * FROM _kept")
                        finally:
                            cur.unregister("_kept")
            cur.execute("DELETE FROM opens WHERE dataset_id = ?", [dataset_id])
            cur.execute("DELETE FROM datasets WHERE id = ?", [dataset_id])
            store._audit(cur, user, "delete", old.content_hash, detail, role)
        try:
            with store._cursor("writing the rebuilt tables") as cur:
                cur.execute("CHECKPOINT")  # the damaged blocks are freed, the rebuilt tables written
        except DataError:
            pass  # (the deletion is committed; the next checkpoint writes it)
        for other in lost:
            store._shared.damaged[other] = "its rows sat in a damaged block and could not be kept"
    return old
