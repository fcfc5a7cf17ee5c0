"""The audit log's entries and their hash chain: who did what to the saved data, in a form that shows tampering.

Each entry (id, time, user, role, action, data set hash, detail) carries ``prev_hash``, the ``hash`` of the
entry before it (64 zeros for the first), and its own ``hash`` = SHA-256 of the canonical entry (a compact JSON
array of its fields, time as ISO text to the microsecond) followed by ``prev_hash``. Changing, inserting or
removing an entry anywhere but at the end breaks the chain at the first entry after the change, and
:func:`check_chain` names it. What a chain cannot show: someone who can write the database file may rewrite
every hash from the changed entry on, or cut entries off the end; comparing the head hash (shown on the Audit
page) with a copy kept elsewhere shows that. No streamlit here; analysis.store writes and reads the entries.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

#: what the log records (analysis.store refuses any other action)
AUDIT_ACTIONS = (
    "save",
    "rename",
    "delete",
    "open",
    "upload",
    "download",
    "sign_in",
    "sign_in_refused",
    "sign_out",
)
#: columns of Store.audit_log()
AUDIT_COLUMNS = ("at", "user", "role", "action", "dataset_hash", "detail")
MAX_AUDIT_DETAIL = 1000
GENESIS = "0" * 64


def canonical(entry_id: int, at: datetime, user, role, action: str, dataset_hash, detail) -> bytes:
    """The bytes an entry's hash is taken over (before the previous hash)."""
    fields = [int(entry_id), at.isoformat(timespec="microseconds"), user, role, action, dataset_hash, detail]
    return json.dumps(fields, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def entry_hash(prev_hash: str, entry_id: int, at: datetime, user, role, action, dataset_hash, detail) -> str:
    """SHA-256 (hex) of the canonical entry followed by the previous entry's hash."""
    return hashlib.sha256(
        canonical(entry_id, at, user, role, action, dataset_hash, detail) + prev_hash.encode("ascii")
    ).hexdigest()


@dataclass(frozen=True)
class ChainCheck:
    """The result of :func:`check_chain`: ``intact`` or the first broken entry (``broken_id``) and why."""

    intact: bool
    entries: int
    head: str  # the hash of the last entry (GENESIS when the log is empty)
    broken_id: int | None = None
    problem: str | None = None

    def summary(self) -> str:
        if self.intact:
            return f"The audit log's hash chain is intact ({self.entries} entries; head {self.head[:16]}...)."
        return f"The audit log's hash chain is broken: {self.problem}"


def check_chain(rows: Iterable[tuple]) -> ChainCheck:
    """Check entries given in id order as (id, at, user, role, action, dataset_hash, detail, prev_hash, hash)."""
    prev, n = GENESIS, 0
    for row in rows:
        entry_id, at, user, role, action, dataset_hash, detail, prev_hash, own = row
        n += 1
        when = at.isoformat(sep=" ", timespec="seconds") if isinstance(at, datetime) else str(at)
        name = f"entry #{entry_id} ({action} at {when} UTC)"
        if prev_hash != prev:
            return ChainCheck(
                False, n, prev, int(entry_id), f"{name} does not follow the entry before it (removed or inserted)"
            )
        if not isinstance(at, datetime) or own != entry_hash(
            prev, entry_id, at, user, role, action, dataset_hash, detail
        ):
            return ChainCheck(False, n, prev, int(entry_id), f"{name} was changed after it was written")
        prev = own
    return ChainCheck(True, n, prev)
