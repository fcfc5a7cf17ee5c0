"""Sign-in, roles, saved data sets and the audit log in the dashboard, run with Streamlit's AppTest.

``at.secrets`` stands for .streamlit/secrets.toml and ``at.user`` for the signed-in user (``st.user``):
the real OpenID Connect round trip is in tests/test_browser_auth.py."""

import subprocess
import sys
from pathlib import Path

import pytest
from streamlit import config
from streamlit.testing.v1 import AppTest

from analysis.store import Store
from tests.conftest import ACCESS, AUTH, SECRETS
from ui import gate
from ui.show import text

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "sample_data"
FILES = [SAMPLE / "assessments.csv", SAMPLE / "treatments.csv"]
DATA_PAGES = ["pages/overview.py", "pages/trajectories.py", "pages/durability.py", "pages/data.py"]

pytestmark = [
    pytest.mark.skipif(not FILES[0].exists(), reason="sample_data/ not generated yet"),
    pytest.mark.usefixtures("data_dir"),
]


def app(secrets=None, email=None, logged_in=True, verified=True) -> AppTest:
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120)
    if secrets:
        at.secrets = secrets
    at.user = {"is_logged_in": logged_in, **({"email": email, "email_verified": verified} if email else {})}
    return at.run()


def texts(at, kind) -> list[str]:
    return [str(e.value) for e in getattr(at, kind)]


def shows_no_data(at) -> bool:
    """No chart, no number tile, no table, no data caption and no uploader: nothing of a practice."""
    return (
        not at.get("plotly_chart")
        and not at.metric
        and not at.dataframe
        and not at.get("file_uploader")
        and not any(c.startswith("**Data:**") for c in texts(at, "caption"))
    )


def audit(data_dir) -> list[tuple]:
    gate._open_store.clear()  # the app's Store shares this process's connection: read through a new one
    with Store(data_dir) as s:
        log = s.audit_log()
    return list(zip(log["user"], log["action"], log["detail"], log["dataset_hash"]))


def upload(at, *paths):
    at.file_uploader(key="upload").set_value([(p.name, p.read_bytes(), "text/csv") for p in paths]).run()
    return at


def save(at, name: str):
    at.switch_page("pages/data.py").run()
    next(t for t in at.text_input if t.label == "Save this upload as").input(name)
    next(b for b in at.button if b.label == "Save").click().run()
    return at


# --- without sign-in -------------------------------------------------------------------------------------


def test_without_auth_everyone_is_an_admin_with_patient_lines_and_the_audit_log():
    at = app()
    assert not at.exception and not at.error
    assert at.session_state["role"] == "admin" and at.session_state["user_email"] is None
    at.switch_page("pages/trajectories.py").run()
    assert [t.label for t in at.toggle] == ["Patient lines"]
    at.switch_page("pages/audit.py").run()
    assert not at.exception and texts(at, "title") == ["Audit log"]


def test_without_auth_a_server_listening_on_every_address_shows_nothing():
    before = config.get_option("server.address")
    config.set_option("server.address", "0.0.0.0")
    try:
        at = app()
    finally:
        config.set_option("server.address", before)
    assert any("sign-in is not configured" in e for e in texts(at, "error"))
    assert shows_no_data(at)


# --- sign-in and roles -------------------------------------------------------------------------------------


def test_a_signed_out_user_sees_only_the_sign_in_button():
    at = app(SECRETS, logged_in=False)
    assert not at.exception
    assert [b.label for b in at.button] == ["Sign in"]
    assert shows_no_data(at)


def test_a_user_not_on_the_access_list_is_refused_by_name_sees_no_data_and_is_logged(data_dir):
    at = app(SECRETS, email="eve@elsewhere.org")
    assert any(
        text("eve@elsewhere.org") in e and "not on this dashboard's access list" in e for e in texts(at, "error")
    )
    assert texts(at, "title") == ["No access"] and [b.label for b in at.button] == ["Sign out"]
    assert shows_no_data(at)
    for page in DATA_PAGES:  # no page is registered for a refused user
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            at.switch_page(page)
    at.run()  # the next run of the session is refused again, and not logged again
    assert texts(at, "title") == ["No access"] and shows_no_data(at)
    assert audit(data_dir) == [("eve@elsewhere.org", "sign_in_refused", "not on the access list", None)]


def test_an_unverified_email_gets_no_role_even_if_it_is_on_the_list():
    at = app(SECRETS, email="carol@clinic.org", verified=False)
    assert texts(at, "title") == ["No access"] and shows_no_data(at)


def test_a_manager_sees_the_aggregate_pages_but_no_patient_lines(data_dir):
    at = app(SECRETS, email="Alice@Clinic.org")
    assert not at.exception and at.session_state["role"] == "manager"
    assert any(f"Signed in as **{text('Alice@Clinic.org')}** (manager)" in c for c in texts(at, "caption"))
    for page in DATA_PAGES:
        at.switch_page(page).run()
        assert not at.exception, (page, [e.message for e in at.exception])
    at.switch_page("pages/trajectories.py").run()
    assert not at.toggle, "no patient-lines toggle for a manager"
    assert any("clinicians only" in c for c in texts(at, "caption"))
    assert at.get("plotly_chart"), "the aggregate chart is still drawn"
    at.switch_page("pages/audit.py").run()
    shown = at.dataframe[0].value
    assert list(shown.columns) == ["When (UTC)", "Who", "Role", "Action", "Data set hash", "Detail"]
    assert (shown["Who"].iloc[0], shown["Action"].iloc[0], shown["Detail"].iloc[0]) == (
        "Alice@Clinic.org",
        "sign in",
        "manager",
    )


def test_a_clinician_sees_patient_lines():
    at = app(SECRETS, email="carol@clinic.org")
    assert at.session_state["role"] == "clinician"
    at.switch_page("pages/trajectories.py").run()
    assert [t.label for t in at.toggle] == ["Patient lines"]
    at.toggle[0].set_value(True).run()
    assert not at.exception


def test_sign_in_configured_without_a_client_secret_is_an_error_not_an_open_door():
    at = app(
        {"auth": {k: v for k, v in AUTH.items() if k != "client_secret"}, "access": ACCESS}, email="carol@clinic.org"
    )
    assert any("client_secret" in e for e in texts(at, "error")) and shows_no_data(at)


def test_a_malformed_access_list_lets_nobody_in():
    at = app({"auth": AUTH, "access": {"managers": "alice@clinic.org"}}, email="alice@clinic.org")
    assert any("access list in secrets.toml is not valid" in e for e in texts(at, "error")) and shows_no_data(at)


def test_with_auth_but_no_access_section_nobody_sees_data():
    at = app({"auth": AUTH}, email="alice@clinic.org")
    assert any("[access] is missing" in e for e in texts(at, "error")) and shows_no_data(at)


# --- saved data sets ----------------------------------------------------------------------------------------


def test_a_saved_upload_is_what_the_next_session_opens_with_the_same_numbers(data_dir):
    at = upload(app(), *FILES)
    started = at.metric[0].value
    save(at, "North clinic")
    assert not at.exception and any("Saved as **North clinic**" in s for s in texts(at, "success"))
    assert any(i.startswith("**North clinic** is a saved data set") for i in texts(at, "info")), "now in use"

    tomorrow = app()  # a new session: no upload, the last data set opened
    assert any(c.startswith("Using **North clinic**") for c in texts(tomorrow, "caption"))
    assert tomorrow.metric[0].value == started
    assert [a for _, a, _, _ in audit(data_dir)] == ["open", "open", "save", "upload"]  # (newest first)


def test_a_saved_data_set_shows_the_validation_report_of_its_import(data_dir, tmp_path):
    messy = tmp_path / "messy.csv"
    messy.write_text(
        "Patient ID,Measure,Total Score,Day\nA1,PHQ-9,20,0\nA1,PHQ-9,n/a,7\nA1,PHQ-9,9,14\n"
        "B2,PHQ-9,19,0\nB2,PHQ-9,99,14\n"
    )
    at = save(upload(app(), messy), "Messy clinic")
    codes = list(at.session_state["_loaded"].issues["code"])
    assert {"NON_NUMERIC_SCORE", "OUT_OF_RANGE"} <= set(codes)

    tomorrow = app().switch_page("pages/data.py").run()  # a new session opens the saved data set
    assert not tomorrow.exception
    assert list(tomorrow.session_state["_loaded"].issues["code"]) == codes
    assert any(c.startswith("As found when the files were imported and saved") for c in texts(tomorrow, "caption"))
    shown = next(d.value for d in tomorrow.dataframe if "code" in d.value.columns)
    assert list(shown["code"]) == codes and list(shown["rows"]) == ["3", "6"]


def test_sessions_on_the_same_saved_data_set_share_one_loaded_object_keyed_without_hashing(data_dir, monkeypatch):
    import pandas as pd

    from ui import cache

    save(upload(app(), *FILES), "North clinic")
    one, two = app(), app()
    loaded = one.session_state["_loaded"]
    assert two.session_state["_loaded"] is loaded, "not a copy per session"
    calls = []
    monkeypatch.setattr(pd.util, "hash_pandas_object", lambda *a, **k: calls.append(1))
    assert cache.content_key(loaded.assessments).startswith("result:saved:") and calls == []


def test_saving_the_same_content_twice_stores_nothing_and_says_so(data_dir):
    at = save(upload(app(), *FILES), "North clinic")
    at = save(upload(app(), *FILES), "Copy of north")
    assert any("already saved as 'North clinic'" in i for i in texts(at, "info"))
    with Store(data_dir) as s:
        assert s.list()["name"].tolist() == ["North clinic"]


def test_an_empty_name_is_refused_with_a_message():
    at = save(upload(app(), *FILES), "   ")
    assert any("cannot be empty" in e for e in texts(at, "error")) and not at.exception


def test_a_saved_data_set_can_be_renamed_and_deleted_after_a_confirmation(data_dir):
    at = save(upload(app(), *FILES), "North clinic")
    next(t for t in at.text_input if t.label == "New name").input("North clinic, November")
    next(b for b in at.button if b.label == "Rename").click().run()
    assert any("Renamed to **North clinic, November**" in s for s in texts(at, "success"))
    delete = next(b for b in at.button if b.label == "Delete")
    assert delete.disabled, "Delete needs the confirmation box"
    next(c for c in at.checkbox if c.label.startswith("Yes, delete it")).check().run()
    next(b for b in at.button if b.label == "Delete").click().run()
    assert any("Deleted **North clinic, November**" in s for s in texts(at, "success"))
    assert any("No saved data sets yet" in m for m in texts(at, "markdown"))
    assert any(c.startswith("Using **Sample practice") for c in texts(at, "caption")), "back on the sample"
    log = audit(data_dir)
    assert [a for _, a, _, _ in log] == ["delete", "rename", "open", "save", "upload"]
    assert len({h for *_, h in log[:-1]}) == 1 and len(log[0][3]) == 64, "one data set, named by its sha256"


def test_when_another_server_holds_the_data_folder_the_sample_still_works_with_a_warning(data_dir):
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(data_dir)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        at = app()
        assert not at.exception
        assert any("Saved data sets are not available" in w and "another program" in w for w in texts(at, "warning"))
        assert any(c.startswith("Using **Sample practice") for c in texts(at, "caption")) and at.metric
        at.switch_page("pages/data.py").run()
        assert not at.exception and any("Saved data sets are not available" in w for w in texts(at, "warning"))
    finally:
        holder.terminate()
        holder.wait(10)


HOLD = """
import sys, time
from analysis.store import Store
store = Store(sys.argv[1])
print("holding", flush=True)
time.sleep(60)
"""
