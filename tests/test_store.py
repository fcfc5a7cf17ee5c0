"""analysis.store: saved data sets in DuckDB, transactions, concurrent readers, one writing process."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analysis import store as store_module
from analysis import store_schema
from analysis.config import DATA_DIR_ENV, MAX_DATASET_NAME_LENGTH
from analysis.errors import DataError
from analysis.schema import CONDITION, DATE, DAY, DOSE, INSTRUMENT, KIND, PATIENT_ID, SCORE, SITE
from analysis.store import AUDIT_COLUMNS, LIST_COLUMNS, Store, content_hash

ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Loaded:
    """Stand-in for analysis.ingest.Loaded (the attributes the store reads)."""

    assessments: pd.DataFrame
    treatments: pd.DataFrame | None = None
    mapping: dict | None = None
    rows_read: int | None = None
    ok: bool = True
    issues: pd.DataFrame | None = None


def clinic(n_patients=3, shift=0.0) -> Loaded:
    rows = []
    for p in range(n_patients):
        for day, score in ((0, 20.0), (14, 9.0), (28, 12.0)):
            rows.append(
                {
                    PATIENT_ID: f"P{p:03d}",
                    INSTRUMENT: "PHQ9",
                    SCORE: score + shift,
                    DAY: day,
                    CONDITION: "depression" if p % 2 == 0 else None,
                    SITE: "north",
                }
            )
    a = pd.DataFrame(rows)
    t = pd.DataFrame({PATIENT_ID: [f"P{p:03d}" for p in range(n_patients)], DAY: 0, KIND: "induction", DOSE: 0.5})
    return Loaded(a, t, {"Pt Key": PATIENT_ID, "Total": SCORE}, rows_read=len(a) + 2)


def big(n_rows: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            PATIENT_ID: [f"Q{i // 8:06d}" for i in range(n_rows)],
            INSTRUMENT: "PHQ9",
            SCORE: rng.integers(0, 28, n_rows).astype(float),
            DAY: rng.integers(-30, 300, n_rows),
        }
    )


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "data")
    yield s
    s.close()


# --- saving and opening ----------------------------------------------------------------------


def test_a_saved_data_set_opens_with_the_same_tables_dtypes_and_row_order(store):
    loaded = clinic()
    info = store.save("North clinic, November", loaded, user="alice@clinic.org")
    a, t, opened = store.open(info.id)
    pd.testing.assert_frame_equal(a, loaded.assessments)
    pd.testing.assert_frame_equal(t, loaded.treatments)
    assert opened.name == "North clinic, November" and opened.id == info.id
    assert (info.rows, info.patients, info.treatment_rows, info.rows_read) == (9, 3, 3, 11)
    assert info.mapping == {"Pt Key": PATIENT_ID, "Total": SCORE}
    assert info.uploaded_by == "alice@clinic.org" and info.created and info.uploaded_at.tzinfo is not None


def test_an_explicit_mapping_wins_over_the_one_on_the_upload(store):
    info = store.save("x", clinic(), mapping={"Score": SCORE})
    assert store.info(info.id).mapping == {"Score": SCORE}


def test_an_upload_without_treatments_opens_with_treatments_none(store):
    loaded = clinic()
    loaded.treatments = None
    a, t, info = store.open(store.save("no treatments", loaded).id)
    assert t is None and info.treatment_rows == 0
    pd.testing.assert_frame_equal(a, loaded.assessments)


def test_an_empty_treatments_table_opens_empty_with_its_columns(store):
    loaded = clinic()
    loaded.treatments = loaded.treatments.iloc[0:0]
    _, t, info = store.open(store.save("empty treatments", loaded).id)
    assert t.empty and list(t.columns) == list(loaded.treatments.columns) and info.treatment_rows == 0


def test_saving_does_not_change_the_callers_tables(store):
    loaded = clinic()
    before = loaded.assessments.copy(), loaded.treatments.copy()
    store.save("x", loaded)
    pd.testing.assert_frame_equal(loaded.assessments, before[0])
    pd.testing.assert_frame_equal(loaded.treatments, before[1])


def test_saving_the_same_content_twice_stores_nothing_and_returns_the_first_entry(store):
    first = store.save("first", clinic())
    again = clinic()
    again.assessments = again.assessments.iloc[::-1].astype({DAY: "float64"})  # other order, other number type
    second = store.save("second name", again)
    assert second.id == first.id and second.name == "first" and not second.created
    assert "already saved as 'first'" in second.notes[0]
    assert len(store.list()) == 1
    assert store.audit_log()["action"].tolist() == ["save"]


def test_different_content_gets_its_own_entry(store):
    a = store.save("a", clinic())
    b = store.save("b", clinic(shift=1.0))
    assert a.id != b.id and a.content_hash != b.content_hash
    assert store.list()["name"].tolist() == ["b", "a"]  # newest first


def test_the_list_shows_names_counts_upload_time_and_last_open(store):
    info = store.save("North", clinic(n_patients=4), user="alice@clinic.org")
    store.mark_opened(info.id, "bob@clinic.org")
    listing = store.list()
    assert tuple(listing.columns) == LIST_COLUMNS
    row = listing.iloc[0]
    assert (row["id"], row["name"], row["rows"], row["patients"], row["treatment_rows"]) == (info.id, "North", 12, 4, 4)
    assert row["uploaded_by"] == "alice@clinic.org" and row["content_hash"] == info.content_hash
    assert str(listing["uploaded_at"].dt.tz) == "UTC" and row["last_opened_at"] >= row["uploaded_at"]


def test_an_empty_store_lists_no_data_sets_with_the_usual_columns(store):
    assert store.list().empty and tuple(store.list().columns) == LIST_COLUMNS
    assert store.last_opened() is None
    assert store.audit_log().empty and tuple(store.audit_log().columns) == AUDIT_COLUMNS


@pytest.mark.parametrize("name", ["", "   ", "x" * (MAX_DATASET_NAME_LENGTH + 1), "two\nlines", None])
def test_bad_names_are_refused_with_a_data_error(store, name):
    with pytest.raises(DataError):
        store.save(name, clinic())
    assert store.list().empty


def test_a_name_of_the_maximum_length_is_kept_without_surrounding_spaces(store):
    name = "n" * MAX_DATASET_NAME_LENGTH
    assert store.save(f"  {name} ", clinic()).name == name


def test_a_date_column_is_never_stored(store):
    loaded = clinic()
    loaded.assessments = loaded.assessments.assign(**{DATE: "2026-01-05"})
    with pytest.raises(ValueError, match="convert dates to day offsets"):
        store.save("dated", loaded)
    assert store.list().empty


def test_a_non_canonical_column_is_refused_and_the_message_names_it(store):
    loaded = clinic()
    loaded.assessments = loaded.assessments.assign(patient_name="Jane Doe")
    with pytest.raises(ValueError, match="patient_name"):
        store.save("phi", loaded)


def test_a_missing_required_column_is_refused_and_the_message_lists_what_is_there(store):
    loaded = clinic()
    loaded.assessments = loaded.assessments.drop(columns=[SCORE])
    with pytest.raises(ValueError, match=r"lacks required column\(s\) \['score'\]; available"):
        store.save("x", loaded)


def test_an_upload_with_errors_or_no_rows_is_not_saved(store):
    bad = clinic()
    bad.ok = False
    with pytest.raises(DataError, match="fix them"):
        store.save("bad", bad)
    empty = clinic()
    empty.assessments = empty.assessments.iloc[0:0]
    with pytest.raises(DataError, match="nothing to save"):
        store.save("empty", empty)
    assert store.list().empty


# --- rename, delete, last opened, audit --------------------------------------------------------


def test_rename_changes_only_the_name_and_is_audited(store):
    info = store.save("old", clinic())
    renamed = store.rename(info.id, " new ", user="alice@clinic.org")
    assert renamed.name == "new" and store.info(info.id).name == "new"
    assert store.info(info.id).content_hash == info.content_hash
    entry = store.audit_log().iloc[0]
    assert (entry["action"], entry["user"], entry["dataset_hash"]) == ("rename", "alice@clinic.org", info.content_hash)
    assert "'old' -> 'new'" in entry["detail"]
    with pytest.raises(DataError):
        store.rename(info.id, "")


def test_delete_removes_the_data_but_the_audit_keeps_who_and_which_hash(store):
    keep = store.save("keep", clinic())
    gone = store.save("gone", clinic(shift=2.0))
    store.mark_opened(gone.id, "bob@clinic.org")
    store.delete(gone.id, user="alice@clinic.org")
    assert store.list()["id"].tolist() == [keep.id]
    with pytest.raises(DataError, match="no longer exists"):
        store.open(gone.id)
    assert store.verify() == ()
    entry = store.audit_log().iloc[0]
    assert (entry["action"], entry["user"], entry["dataset_hash"]) == ("delete", "alice@clinic.org", gone.content_hash)
    assert store.last_opened() is None  # the only open was of the deleted one
    pd.testing.assert_frame_equal(store.open(keep.id)[0], clinic().assessments)


def test_a_deleted_content_can_be_saved_again(store):
    first = store.save("x", clinic())
    store.delete(first.id)
    again = store.save("x again", clinic())
    assert again.created and again.id != first.id and again.content_hash == first.content_hash


def test_an_unknown_id_is_a_data_error_and_a_wrong_type_says_what_to_pass(store):
    with pytest.raises(DataError, match="#42 no longer exists"):
        store.delete(42)
    with pytest.raises(TypeError, match="must be an int"):
        store.open("1")


def test_last_opened_is_the_most_recent_open_overall_or_by_user(store):
    a = store.save("a", clinic())
    b = store.save("b", clinic(shift=1.0))
    store.mark_opened(a.id, "alice@clinic.org")
    store.mark_opened(b.id, "bob@clinic.org")
    assert store.last_opened().id == b.id
    assert store.last_opened("alice@clinic.org").id == a.id
    assert store.last_opened("carol@clinic.org") is None
    store.mark_opened(a.id)
    assert store.last_opened().id == a.id
    with pytest.raises(DataError):
        store.mark_opened(999)


def test_the_audit_log_records_saves_and_sign_ins_newest_first(store):
    info = store.save("a", clinic(), user="alice@clinic.org")
    store.audit("bob@clinic.org", "sign_in", detail="clinician")
    store.audit("eve@else.org", "sign_in_refused")
    log = store.audit_log()
    assert tuple(log.columns) == AUDIT_COLUMNS
    assert log["action"].tolist() == ["sign_in_refused", "sign_in", "save"]
    assert log["user"].tolist() == ["eve@else.org", "bob@clinic.org", "alice@clinic.org"]
    assert log["dataset_hash"].iloc[2] == info.content_hash
    assert log["at"].is_monotonic_decreasing and str(log["at"].dt.tz) == "UTC"
    assert len(store.audit_log(limit=1)) == 1
    with pytest.raises(ValueError, match="unknown audit action 'login'; allowed: save"):
        store.audit("x@y.org", "login")


# --- content hash --------------------------------------------------------------------------------


rows = st.lists(
    st.tuples(
        st.sampled_from(["P1", "P2", "P3"]),
        st.integers(0, 27),
        st.integers(-30, 90),
        st.sampled_from(["depression", None]),
    ),
    min_size=1,
    max_size=30,
)


@settings(max_examples=30, deadline=None)
@given(rows=rows, seed=st.integers(0, 2**31))
def test_the_content_hash_ignores_row_order_and_number_types(rows, seed):
    a = pd.DataFrame(rows, columns=[PATIENT_ID, SCORE, DAY, CONDITION]).assign(**{INSTRUMENT: "PHQ9"})
    shuffled = a.sample(frac=1, random_state=seed % 2**32).astype({SCORE: "float64", DAY: "float64"})
    assert content_hash(a) == content_hash(shuffled)


@settings(max_examples=30, deadline=None)
@given(rows=rows, which=st.integers(0, 29))
def test_the_content_hash_sees_any_changed_score_or_missing_value(rows, which):
    a = pd.DataFrame(rows, columns=[PATIENT_ID, SCORE, DAY, CONDITION]).assign(**{INSTRUMENT: "PHQ9"})
    a = a.astype({SCORE: "float64"})
    i = which % len(a)
    changed = a.copy()
    changed.loc[i, SCORE] = a.loc[i, SCORE] + 0.5
    assert content_hash(a) != content_hash(changed)
    flipped = a.copy()
    flipped.loc[i, CONDITION] = None if a.loc[i, CONDITION] == "depression" else "depression"
    assert content_hash(a) != content_hash(flipped)


def test_treatments_count_in_the_content_hash_but_none_equals_empty():
    loaded = clinic()
    assert content_hash(loaded.assessments, loaded.treatments) != content_hash(loaded.assessments)
    assert content_hash(loaded.assessments, loaded.treatments.iloc[0:0]) == content_hash(loaded.assessments, None)


# --- where the database lives, restarts, damaged files ------------------------------------------------


def test_the_data_folder_comes_from_the_environment_then_defaults_to_data(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "elsewhere"))
    with Store() as s:
        assert s.path == tmp_path / "elsewhere" / "outcomes.duckdb" and s.path.exists()
    monkeypatch.delenv(DATA_DIR_ENV)
    with Store() as s:
        assert s.data_dir == tmp_path / "data"


def test_saved_data_sets_survive_closing_and_reopening(tmp_path):
    with Store(tmp_path) as s:
        info = s.save("kept", clinic(), user="alice@clinic.org")
        s.mark_opened(info.id, "alice@clinic.org")
    with Store(tmp_path) as s:
        assert s.last_opened().id == info.id
        pd.testing.assert_frame_equal(s.open(info.id)[0], clinic().assessments)


def test_stores_on_one_folder_share_one_connection_until_the_last_closes(tmp_path):
    s1, s2 = Store(tmp_path), Store(tmp_path)
    info = s1.save("shared", clinic())
    s1.close()
    assert s2.info(info.id).name == "shared"
    s2.close()
    with pytest.raises(RuntimeError, match="closed"):
        s2.list()


def test_a_file_that_is_not_a_database_gives_a_data_error(tmp_path):
    (tmp_path / "outcomes.duckdb").write_bytes(b"this is not a database" * 100)
    with pytest.raises(DataError, match="Cannot open the saved data sets.*not a valid DuckDB database"):
        Store(tmp_path)


def test_the_validation_report_is_saved_with_the_data_set(tmp_path):
    issues = pd.DataFrame(
        {
            "severity": ["warning", "info"],
            "code": ["OUT_OF_RANGE", "DAY0_FIRST_ASSESSMENT"],
            "column": ["Total Score", None],
            "rows": [[5, 9], []],
            "message": ["2 PHQ9 score(s) are outside its range ...", "Day 0 is ..."],
        }
    )
    loaded = clinic()
    loaded.issues = issues
    with Store(tmp_path) as s:
        saved = s.save("a", loaded)
        plain = s.save("b", clinic(shift=1.0))  # (an upload without a report: an empty one)
    with Store(tmp_path) as s:  # (as saved, after reopening)
        assert s.info(saved.id).issues == [
            {
                "severity": "warning",
                "code": "OUT_OF_RANGE",
                "column": "Total Score",
                "rows": [5, 9],
                "message": "2 PHQ9 score(s) are outside its range ...",
            },
            {
                "severity": "info",
                "code": "DAY0_FIRST_ASSESSMENT",
                "column": None,
                "rows": [],
                "message": "Day 0 is ...",
            },
        ]
        assert s.info(plain.id).issues == []


def test_a_database_of_schema_1_gains_the_report_column_and_keeps_its_data_sets(tmp_path):
    with Store(tmp_path) as s:
        s.save("old", clinic())
    con = duckdb.connect(str(tmp_path / "outcomes.duckdb"))  # back to schema 1, as the previous version wrote it
    con.execute("ALTER TABLE datasets DROP COLUMN issues_json")
    con.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    con.close()
    with Store(tmp_path) as s:
        (old,) = [s.info(i) for i in s.list()["id"]]
        assert old.name == "old" and old.issues is None  # (not kept then: the page says so)
        a, _, _ = s.open(old.id)
        assert len(a) == len(clinic().assessments)
        new = s.save("new", clinic(shift=2.0))
        assert s.info(new.id).issues == []
    con = duckdb.connect(str(tmp_path / "outcomes.duckdb"))
    assert con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall() == [
        (str(store_module.SCHEMA_VERSION),)
    ]
    con.close()


def test_a_database_from_a_newer_version_is_refused(tmp_path):
    Store(tmp_path).close()
    con = duckdb.connect(str(tmp_path / "outcomes.duckdb"))
    con.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    con.close()
    with pytest.raises(DataError, match="newer version"):
        Store(tmp_path)


def test_verify_reports_rows_that_belong_to_no_data_set(tmp_path):
    with Store(tmp_path) as s:
        s.save("a", clinic())
    con = duckdb.connect(str(tmp_path / "outcomes.duckdb"))
    con.execute("DELETE FROM datasets")
    con.close()
    with Store(tmp_path) as s:
        assert s.verify() == ("9 assessments rows belong to no data set", "3 treatments rows belong to no data set")


# --- processes: one writer per file, killed writers --------------------------------------------------


def _python(code: str, *args: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _wait_for(proc: subprocess.Popen, marker: str, timeout: float = 20.0) -> None:
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if lines.get(timeout=0.1).strip() == marker:
                return
        except queue.Empty:
            if proc.poll() is not None:
                break
    proc.kill()
    raise AssertionError(f"child never printed {marker!r}: {proc.stderr.read()}")


HOLDER = """
import sys
from analysis.store import Store
s = Store(sys.argv[1])
print("READY", flush=True)
sys.stdin.readline()
s.close()
"""


def test_a_second_process_on_the_same_folder_gets_a_clear_data_error(tmp_path):
    holder = _python(HOLDER, str(tmp_path))
    try:
        _wait_for(holder, "READY")
        with pytest.raises(DataError, match="in use by another program.*Only one dashboard server"):
            Store(tmp_path)
    finally:
        holder.communicate("\n", timeout=20)
    with Store(tmp_path) as s:  # free again once the other process is gone
        assert s.list().empty


WRITER = """
import sys, time
from types import SimpleNamespace
import numpy as np, pandas as pd
import analysis.store as store
n, pause = int(sys.argv[2]), sys.argv[3] == "pause"
real = store._insert_frame
def insert(*args):
    print("INSERTING", flush=True)
    real(*args)
    if pause:  # stop inside the transaction, after the rows are written and before COMMIT
        print("INSIDE", flush=True)
        time.sleep(600)
store._insert_frame = insert
rng = np.random.default_rng(7)
a = pd.DataFrame({"patient_id": [f"K{i // 8:07d}" for i in range(n)], "instrument": "PHQ9",
                  "score": rng.integers(0, 28, n).astype(float), "day": rng.integers(-30, 300, n)})
s = store.Store(sys.argv[1])
print("SAVING", flush=True)
s.save("interrupted", SimpleNamespace(assessments=a, treatments=None, mapping={}, rows_read=n))
print("SAVED", flush=True)
time.sleep(600)
"""


def _previous_state(path: Path) -> dict:
    with Store(path) as s:
        infos = [s.save("first", clinic()), s.save("second", clinic(shift=1.0))]
        s.rename(infos[1].id, "second, renamed")
        return {i.id: i.content_hash for i in infos}


def _assert_intact(path: Path, previous: dict, allow_complete: int | None = None) -> None:
    with Store(path) as s:
        listing = s.list()
        extra = set(listing["id"]) - set(previous)
        assert set(previous) <= set(listing["id"])
        if allow_complete is None:
            assert extra == set()
        for dataset_id in extra:  # a save that reached COMMIT is there in full
            a, _, info = s.open(int(dataset_id))
            assert info.name == "interrupted" and len(a) == info.rows == allow_complete
        assert s.verify() == ()
        assert s.list().set_index("id").loc[list(previous), "content_hash"].to_dict() == previous
        pd.testing.assert_frame_equal(s.open(min(previous))[0], clinic().assessments)
        assert s.save("after the crash", clinic(shift=5.0)).created  # and the store still takes writes


def test_a_writer_killed_inside_its_transaction_leaves_the_previous_data_sets_intact(tmp_path):
    previous = _previous_state(tmp_path)
    writer = _python(WRITER, str(tmp_path), "150000", "pause")
    try:
        _wait_for(writer, "INSIDE", timeout=25)
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=10)
    finally:
        writer.kill()
    assert writer.returncode == -signal.SIGKILL
    _assert_intact(tmp_path, previous)


@pytest.mark.parametrize("delay", [0.02, 0.2])
def test_a_writer_killed_at_any_moment_of_a_save_leaves_all_or_nothing(tmp_path, delay):
    previous = _previous_state(tmp_path)
    writer = _python(WRITER, str(tmp_path), "150000", "run")
    try:
        _wait_for(writer, "INSERTING", timeout=25)
        time.sleep(delay)
        writer.send_signal(signal.SIGKILL)
        writer.wait(timeout=10)
    finally:
        writer.kill()
    _assert_intact(tmp_path, previous, allow_complete=150000)


# --- threads: readers during a save -----------------------------------------------------------------


def test_readers_see_the_previous_state_while_a_save_is_in_progress(store, monkeypatch):
    old = store.save("old", clinic())
    inside, release = threading.Event(), threading.Event()
    real = store_module._insert_frame

    def insert_then_wait(*args):
        real(*args)
        inside.set()
        assert release.wait(20)

    monkeypatch.setattr(store_module, "_insert_frame", insert_then_wait)
    new = Loaded(big(50_000))
    saved = {}
    writer = threading.Thread(target=lambda: saved.setdefault("info", store.save("new", new)))
    writer.start()
    try:
        assert inside.wait(20)
        seen, errors = [], []

        def read():
            try:
                seen.append((tuple(store.list()["name"]), len(store.open(old.id)[0]), store.verify()))
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(e)

        readers = [threading.Thread(target=read) for _ in range(4)]
        for r in readers:
            r.start()
        for r in readers:
            r.join(20)
        assert errors == [] and seen == [(("old",), 9, ())] * 4  # done while the writer still holds its transaction
        assert writer.is_alive()
    finally:
        release.set()
        writer.join(20)
    assert store.list()["name"].tolist() == ["new", "old"]
    pd.testing.assert_frame_equal(store.open(saved["info"].id)[0], new.assessments)


def test_concurrent_readers_never_see_a_partial_data_set(store):
    store.save("base", clinic())
    done, errors, reads = threading.Event(), [], []

    def write():
        try:
            for k in range(3):
                store.save(f"batch {k}", Loaded(big(20_000, seed=k)))
        except Exception as e:  # noqa: BLE001
            errors.append(e)
        finally:
            done.set()

    def read():
        try:
            while not done.is_set():
                for row in store.list().itertuples():
                    a, _, info = store.open(int(row.id))
                    assert len(a) == info.rows == row.rows
                reads.append(1)
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=write)] + [threading.Thread(target=read) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == [] and len(reads) > 0
    assert len(store.list()) == 4 and store.verify() == ()


def test_nullable_integer_days_come_back_as_nullable_integers(store):
    loaded = clinic()
    loaded.assessments = loaded.assessments.astype({DAY: "Int64"})
    info = store.save("nullable day", loaded)
    assert store.open(info.id)[0][DAY].dtype == "Int64"


def test_a_practice_that_uploads_once_gets_the_same_numbers_after_a_restart(tmp_path):
    """The real importer on the sample practice: save, close (the server stops), reopen: the very same tables
    (columns, dtypes, order), hence the same numbers on every page."""
    from analysis.ingest import load_files

    loaded = load_files([str(ROOT / "sample_data" / "assessments.csv"), str(ROOT / "sample_data" / "treatments.csv")])
    assert loaded.ok
    with Store(tmp_path) as s:
        info = s.save("Sample practice", loaded, user="alice@clinic.org")
        s.mark_opened(info.id, "alice@clinic.org")
    with Store(tmp_path) as s:  # tomorrow
        a, t, reopened = s.open(s.last_opened().id)
        assert s.save("again", loaded).id == info.id  # uploading the same export again changes nothing
    pd.testing.assert_frame_equal(a, loaded.assessments)
    pd.testing.assert_frame_equal(t, loaded.treatments)
    assert reopened.mapping == loaded.mapping.to_dict("records")
    assert (reopened.rows, reopened.patients) == (len(loaded.assessments), loaded.assessments["patient_id"].nunique())


# --- faults: damaged blocks, a full disk, files this program did not write ----------------------------------

ATTACKS = ROOT / "tests" / "data" / "attacks" / "store"


def _header(path: Path, key: str) -> str:
    return next(
        line.split(f"-- {key}: ", 1)[1].strip() for line in path.read_text().splitlines() if f"-- {key}: " in line
    )


def _blocks(path: Path, table: str) -> tuple[int, list[tuple[int, int]]]:
    """(block size, [(block id, offset in the block) of each data segment of ``table``])."""
    con = duckdb.connect(str(path), read_only=True)
    block_size = con.execute("SELECT block_size FROM pragma_database_size()").fetchall()[0][0]
    segments = con.execute(
        f"SELECT block_id, block_offset FROM pragma_storage_info('{table}') "
        "WHERE block_id >= 0 AND segment_type <> 'VALIDITY' ORDER BY block_id, block_offset"
    ).fetchall()
    con.close()
    return block_size, segments


def _damage(path: Path, block: int, offset: int, block_size: int) -> bool:
    """Flip the bits of 64 bytes of one block (the file starts with three 4 KiB headers); False when they were
    unused space (all zeros), which is left as it is."""
    with open(path, "r+b") as f:
        f.seek(3 * 4096 + block * block_size + offset)
        before = f.read(64)
        if before == bytes(64):
            return False
        f.seek(3 * 4096 + block * block_size + offset)
        f.write(bytes(b ^ 0x5A for b in before))
    return True


def _damage_a_block_of(path: Path, table: str) -> int:
    """Damage the first data segment of ``table``'s patient keys; the block's id."""
    block_size, _ = _blocks(path, table)
    con = duckdb.connect(str(path), read_only=True)
    block, offset = con.execute(
        f"SELECT block_id, block_offset FROM pragma_storage_info('{table}') WHERE column_name = 'patient_id' "
        "AND block_id >= 0 AND segment_type = 'VARCHAR' ORDER BY block_id LIMIT 1"
    ).fetchall()[0]
    con.close()
    assert _damage(path, block, offset + 100, block_size)
    return block


@pytest.mark.parametrize("attack", sorted(ATTACKS.glob("*.sql")), ids=lambda p: p.stem)
def test_a_file_this_program_did_not_write_is_refused_with_a_clear_message_and_left_as_it_is(tmp_path, attack):
    path = tmp_path / store_module.DB_FILE
    if _header(attack, "on") == "store":
        with Store(tmp_path) as s:
            s.save("a", clinic())
    con = duckdb.connect(str(path))
    con.execute(attack.read_text())
    before = sorted(r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall())
    con.close()
    with pytest.raises(DataError) as refused:
        Store(tmp_path)
    assert _header(attack, "expect") in str(refused.value)
    con = duckdb.connect(str(path))
    after = sorted(r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall())
    con.close()
    assert after == before, "nothing was created or dropped"


def test_a_damaged_block_is_found_named_and_its_data_sets_can_be_deleted(tmp_path):
    with Store(tmp_path) as s:
        ids = [s.save(f"clinic {i}", Loaded(big(40_000, seed=i)), user="a@clinic.org").id for i in range(3)]
        assert s.verify() == ()
    _damage_a_block_of(tmp_path / store_module.DB_FILE, "assessments")
    with Store(tmp_path) as s:  # the store still opens and lists its data sets
        assert sorted(s.list()["id"]) == ids
        found = s.check()
        assert not found.ok and found.damaged, "a damaged block is found"
        assert any(p.startswith("the assessments table is damaged") and "checksum" in p for p in found.problems)
        assert all(f"data set #{i} 'clinic {i - 1}' is damaged" in " ".join(found.problems) for i in found.damaged)
        assert "checksum" in " ".join(found.damaged.values())
        first = min(found.damaged)
        with pytest.raises(DataError, match=f"'clinic {first - 1}' \\(#{first}\\) is damaged and cannot be opened"):
            s.open(first)
        assert s.delete(first, user="b@clinic.org").id == first
        entry = s.audit_log().iloc[0]
        assert (entry["action"], entry["user"]) == ("delete", "b@clinic.org") and "damaged" in entry["detail"]
        for left in s.check().damaged:  # those that shared the block are named, and deleted too
            s.delete(left)
        assert s.verify() == () and s.chain().intact
        again = s.save("clinic again", Loaded(big(40_000, seed=0)))
    with Store(tmp_path) as s:
        assert s.verify() == ()
        pd.testing.assert_frame_equal(s.open(again.id)[0], big(40_000, seed=0))


def test_a_row_changed_with_another_duckdb_client_is_found_by_the_content_hash(tmp_path):
    with Store(tmp_path) as s:
        keep = s.save("keep", clinic())
        changed = s.save("changed", clinic(shift=1.0))
    con = duckdb.connect(str(tmp_path / store_module.DB_FILE))
    con.execute("UPDATE assessments SET score = 27 WHERE dataset_id = ? AND row_no = 4", [changed.id])
    con.close()
    with Store(tmp_path) as s:
        found = s.check()
        assert found.problems == (
            f"data set #{changed.id} 'changed' is damaged: its rows were changed after it was saved (the content hash "
            "differs)",
        )
        assert list(found.damaged) == [changed.id] and s.damaged() == found.damaged
        assert keep.id not in found.damaged


FULL = duckdb.IOException('IO Error: Could not write file "outcomes.duckdb": No space left on device')


def test_a_full_disk_during_a_save_ends_in_a_clear_message_and_loses_nothing(store, monkeypatch):
    first = store.save("first", clinic())

    def no_space(cur, table, dataset_id, df):
        raise FULL  # (DuckDB's own exception type, as it raises it when a write fails)

    monkeypatch.setattr(store_module, "_insert_frame", no_space)
    with pytest.raises(DataError, match="The disk is full, so saving 'second' failed; nothing was changed"):
        store.save("second", clinic(shift=1.0))
    monkeypatch.undo()
    assert store.list()["name"].tolist() == ["first"] and store.verify() == ()
    pd.testing.assert_frame_equal(store.open(first.id)[0], clinic().assessments)
    assert store.save("second", clinic(shift=1.0)).created, "the next save works"


@pytest.mark.skipif(os.geteuid() != 0 or sys.platform != "linux", reason="mounting a small tmpfs needs root on Linux")
def test_a_really_full_disk_ends_in_a_clear_message_and_loses_nothing(tmp_path):
    small = tmp_path / "small"
    small.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1500k", "tmpfs", str(small)]).returncode != 0:
        pytest.skip("cannot mount a tmpfs here")
    try:
        with Store(small) as s:
            kept = s.save("small", clinic())
            with pytest.raises(DataError, match="The disk is full"):
                for i in range(10):
                    s.save(f"big {i}", Loaded(big(200_000, seed=i)))
            names = s.list()["name"].tolist()
            assert "small" in names and s.verify() == ()
        with Store(small) as s:
            assert s.list()["name"].tolist() == names
            pd.testing.assert_frame_equal(s.open(kept.id)[0], clinic().assessments)
    finally:
        subprocess.run(["umount", str(small)])


# --- the audit log: append-only, hash-chained ---------------------------------------------------------------


def _chained(store) -> list[tuple]:
    with store._cursor() as cur:
        return cur.execute(f"SELECT {store_module._CHAIN_COLUMNS} FROM audit ORDER BY id").fetchall()


def test_every_audit_entry_carries_the_sha256_of_itself_and_the_entry_before(store):
    import hashlib
    import json

    info = store.save("a", clinic(), user="alice@clinic.org", role="admin")
    store.mark_opened(info.id, "bob@clinic.org", role="clinician")
    store.audit("bob@clinic.org", "download", detail="CSV: funnel.csv", role="clinician")
    rows = _chained(store)
    assert [r[4] for r in rows] == ["save", "open", "download"]
    prev = "0" * 64
    for entry_id, at, user, role, action, digest, detail, prev_hash, own in rows:
        canonical = json.dumps(
            [entry_id, at.isoformat(timespec="microseconds"), user, role, action, digest, detail],
            ensure_ascii=False,
            separators=(",", ":"),
        )
        assert prev_hash == prev and own == hashlib.sha256((canonical + prev).encode()).hexdigest()
        prev = own
    chain = store.chain()
    assert chain.intact and chain.entries == 3 and chain.head == prev
    log = store.audit_log()
    assert log[["user", "role", "action"]].values.tolist() == [
        ["bob@clinic.org", "clinician", "download"],
        ["bob@clinic.org", "clinician", "open"],
        ["alice@clinic.org", "admin", "save"],
    ]


@pytest.mark.parametrize(
    "tamper, broken, why",
    [
        ("UPDATE audit SET actor = 'mallory@x.org' WHERE id = {second}", "second", "was changed after it was written"),
        ("UPDATE audit SET detail = 'nothing' WHERE id = {first}", "first", "was changed after it was written"),
        ("DELETE FROM audit WHERE id = {second}", "third", "does not follow the entry before it"),
        (  # a copy of an entry, hashes and all, replayed at the end
            "INSERT INTO audit SELECT {fourth} + 1, logged_at, actor, action, dataset_hash, detail, role, "
            "prev_hash, hash FROM audit WHERE id = {second}",
            "replayed",
            "does not follow the entry before it",
        ),
        ("UPDATE audit SET logged_at = logged_at + INTERVAL 1 DAY WHERE id = {third}", "third", "was changed"),
    ],
    ids=["who", "detail", "removed", "inserted", "time"],
)
def test_an_audit_log_edited_with_another_duckdb_client_names_the_first_broken_entry(tmp_path, tamper, broken, why):
    with Store(tmp_path) as s:
        info = s.save("a", clinic(), user="alice@clinic.org")
        s.mark_opened(info.id, "bob@clinic.org")
        s.audit("carol@clinic.org", "download", detail="PDF: outcomes_report.pdf")
        s.audit("dora@clinic.org", "sign_in", detail="manager")
        ids = dict(zip(("first", "second", "third", "fourth"), (r[0] for r in _chained(s))))
    ids["replayed"] = ids["fourth"] + 1
    con = duckdb.connect(str(tmp_path / store_module.DB_FILE))
    con.execute(tamper.format(**ids))
    con.close()
    with Store(tmp_path) as s:
        chain = s.chain()
        assert not chain.intact and why in chain.problem
        assert chain.broken_id == ids[broken]
        assert f"entry #{chain.broken_id}" in chain.problem
        assert any("hash chain is broken" in p for p in s.verify())


def test_a_database_of_schema_2_gets_its_audit_entries_chained_in_their_order(tmp_path):
    with Store(tmp_path) as s:
        s.save("old", clinic(), user="alice@clinic.org")
        s.audit("bob@clinic.org", "sign_in", detail="clinician")
    con = duckdb.connect(str(tmp_path / "outcomes.duckdb"))  # back to schema 2, as the previous version wrote it
    for column in ("role", "prev_hash", "hash"):
        con.execute(f"ALTER TABLE audit DROP COLUMN {column}")
    con.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    con.close()
    with Store(tmp_path) as s:
        chain = s.chain()
        assert chain.intact and chain.entries == 2 and s.verify() == ()
        s.audit("carol@clinic.org", "sign_in", role="clinician")
        assert s.chain().intact and s.audit_log()["action"].tolist() == ["sign_in", "sign_in", "save"]


def test_a_database_of_schema_3_gains_the_optional_columns_and_keeps_its_data_sets(tmp_path):
    from analysis.ingest import load_files

    with Store(tmp_path) as s:
        old = s.save("old", clinic(), user="alice@clinic.org")
    con = duckdb.connect(str(tmp_path / "outcomes.duckdb"))  # back to schema 3, as the previous version wrote it
    for table, columns in store_schema._OPTIONAL.items():
        for c in columns:
            con.execute(f'ALTER TABLE {table} DROP COLUMN "{c}"')
    con.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")
    con.close()
    sample = load_files([str(ROOT / "sample_data" / "assessments.csv"), str(ROOT / "sample_data" / "treatments.csv")])
    assert {"sbp_peak", "cadss", "adverse_events"} <= set(sample.treatments)
    with Store(tmp_path) as s:
        a, _, _ = s.open(old.id)
        pd.testing.assert_frame_equal(a, clinic().assessments)
        new = s.save("sample", sample)
        a, t, _ = s.open(new.id)
        assert s.verify() == () and s.chain().intact
    pd.testing.assert_frame_equal(a, sample.assessments)
    pd.testing.assert_frame_equal(t, sample.treatments)


def test_the_store_offers_no_way_to_change_or_remove_audit_entries():
    public = {name for name in dir(Store) if not name.startswith("_")}
    assert {"audit", "audit_log", "chain"} <= public
    assert not {n for n in public if "audit" in n and any(w in n for w in ("delete", "update", "clear", "edit"))}


def test_damage_anywhere_in_the_blocks_of_the_saved_rows_is_found_by_check(tmp_path):
    with Store(tmp_path / "clean") as s:
        for i in range(3):
            s.save(f"clinic {i}", Loaded(big(40_000, seed=i)))
    clean = (tmp_path / "clean" / store_module.DB_FILE).read_bytes()
    block_size, segments = _blocks(tmp_path / "clean" / store_module.DB_FILE, "assessments")
    spots = [(b, off) for b in sorted({b for b, _ in segments}) for off in range(64, block_size, block_size // 8)]
    spots += [(b, off + 100) for b, off in segments]  # and the start of every column's segment
    tried = 0
    for n, (block, offset) in enumerate(spots):
        folder = tmp_path / f"copy{n}"
        folder.mkdir()
        (folder / store_module.DB_FILE).write_bytes(clean)
        if not _damage(folder / store_module.DB_FILE, block, offset, block_size):
            continue
        tried += 1
        try:
            with Store(folder) as s:
                found = s.check()
        except DataError as e:  # (the store's own tables were hit: it says so, it does not open on damage)
            assert "damaged" in str(e)
            continue
        assert not found.ok, f"damage in block {block} at {offset} went unnoticed"
    assert tried >= 10
