"""Issue 15 items 3, 4 and 7 tried as an attacker would, in the dashboard (Streamlit's AppTest): a manager or a
clinician cannot lower the small-cell threshold through the Methods form or a loaded card; every broken shape of
the secrets in tests/data/attacks/access stops the app with an error and shows no data; every download button of
every page logs its download in the audit log (whose tampering analysis.store's verify() finds: tests/test_store.py).
"""

import ast
import json
import tomllib
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from analysis import access
from analysis.errors import DataError
from analysis.outcomes import Definitions
from analysis.store import Store
from tests.conftest import SECRETS
from ui import gate

ROOT = Path(__file__).resolve().parents[1]
SECRETS_ATTACKS = sorted((ROOT / "tests" / "data" / "attacks" / "access").glob("*.toml"))

pytestmark = [
    pytest.mark.skipif(not (ROOT / "sample_data" / "assessments.csv").exists(), reason="no sample_data/"),
    pytest.mark.usefixtures("data_dir"),
]


def app(secrets=None, email=None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120)
    if secrets is not None:
        at.secrets = secrets
    at.user = {"is_logged_in": email is not None, **({"email": email, "email_verified": True} if email else {})}
    return at.run()


def with_scores(at) -> AppTest:
    """The session on the sample practice's scores, uploaded."""
    scores = (ROOT / "sample_data" / "assessments.csv").read_bytes()
    at.file_uploader(key="upload").set_value([("assessments.csv", scores, "text/csv")]).run()
    assert at.session_state["_loaded"].ok
    return at


def shows_no_data(at) -> bool:
    return (
        not at.get("plotly_chart")
        and not at.metric
        and not at.dataframe
        and not at.get("file_uploader")
        and not any(str(c.value).startswith("**Data:**") for c in at.caption)
    )


# --- item 4: sign-in fails closed on every broken shape of the secrets ----------------------------------------


def expected(path: Path) -> str:
    """What the file's first line says the error names ('# expect: ...')."""
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith("# expect: "), path.name
    return first.removeprefix("# expect: ")


def test_the_secrets_corpus_holds_every_broken_shape_the_issue_names():
    names = {p.stem for p in SECRETS_ATTACKS}
    assert {"access_without_auth", "auth_capitalised", "oauth_section", "auth_not_a_table"} <= names
    assert len(names) >= 15


@pytest.mark.parametrize("path", SECRETS_ATTACKS, ids=lambda p: p.stem)
def test_each_broken_secrets_shape_is_refused_by_the_check(path):
    with pytest.raises(DataError) as e:
        access.check_secrets(tomllib.loads(path.read_text(encoding="utf-8")))
    assert expected(path) in str(e.value)


@pytest.mark.parametrize("path", SECRETS_ATTACKS, ids=lambda p: p.stem)
@pytest.mark.parametrize("email", [None, "alice@clinic.org"])
def test_each_broken_secrets_shape_stops_the_app_with_an_error_and_no_data(path, email):
    at = app(tomllib.loads(path.read_text(encoding="utf-8")), email=email)
    assert not at.exception, [e.message for e in at.exception]
    errors = " ".join(str(e.value) for e in at.error)
    assert "nobody is let in" in errors and expected(path) in errors, errors
    assert shows_no_data(at) and at.session_state["role"] is None
    with pytest.raises(ValueError, match="Known pages: \\['Ketamine outcomes'\\]"):  # no page behind it either
        at.switch_page("pages/trajectories.py")


def test_an_e_mail_written_as_markup_is_refused_by_name_as_text():
    from ui.show import text

    email = '"[Session expired: sign in](http://host/p)"@elsewhere.org'
    at = app(SECRETS, email=email)
    errors = [str(e.value) for e in at.error]
    assert any(f"**{text(email)}** is not on this dashboard's access list" in e for e in errors), errors
    assert not any("](http" in e.replace("\\](http", "") for e in errors) and shows_no_data(at)


# --- item 3: only an admin lowers the threshold -------------------------------------------------------------------


def card_bytes(threshold: int) -> bytes:
    card = Definitions(name="open", suppression_threshold=threshold).to_dict()
    card.pop("description", None)
    return json.dumps(card).encode()


def load_card(at, threshold: int):
    at.switch_page("pages/methods.py").run()
    at.file_uploader(key="card").set_value(("open.json", card_bytes(threshold), "application/json")).run()
    next(b for b in at.button if b.label == "Use the loaded card").click().run()
    return at


def submit_form_threshold(at, threshold: int):
    at.switch_page("pages/methods.py").run()
    next(t for t in at.text_input if t.label == "Card name").input("open")
    box = next(n for n in at.number_input if n.label.startswith("Small-cell threshold"))
    box.set_value(threshold)
    next(b for b in at.button if b.label == "Use these definitions").click().run()
    return at


@pytest.mark.parametrize("email", ["alice@clinic.org", "carol@clinic.org"], ids=["manager", "clinician"])
@pytest.mark.parametrize("how", [load_card, submit_form_threshold], ids=["card", "form"])
def test_a_manager_or_a_clinician_cannot_lower_the_threshold(email, how):
    at = with_scores(app(SECRETS, email=email))
    assert at.session_state["role"] in (access.MANAGER, access.CLINICIAN)
    at = how(at, 0)
    assert not at.exception, [e.message for e in at.exception]
    assert at.session_state["definitions"].name == "open", "the card was used"
    assert at.session_state["definitions"].suppression_threshold == access.MIN_SHARED_THRESHOLD, "but held at 11"
    at.switch_page("pages/trajectories.py").run()
    caption = next(str(c.value) for c in at.caption if str(c.value).startswith("**Data:**"))
    assert "shown as <11" in caption
    if how is load_card:
        at.switch_page("pages/methods.py").run()
        shown = " ".join(str(w.value) for w in at.warning)
        assert "held at 11" in shown or at.session_state["definitions"].suppression_threshold == 11


def test_a_card_set_before_sign_in_is_held_at_11_when_the_role_is_known():
    at = app(SECRETS, email="alice@clinic.org")
    at.session_state["definitions"] = Definitions(suppression_threshold=1)  # (set by hand, or by an older session)
    at.switch_page("pages/overview.py").run()
    assert at.session_state["definitions"].suppression_threshold == access.MIN_SHARED_THRESHOLD


@pytest.mark.parametrize("how", [load_card, submit_form_threshold], ids=["card", "form"])
def test_an_admin_may_lower_it_on_screen_only(how):
    at = with_scores(app())  # (no sign-in: the person at this machine is the admin)
    assert at.session_state["role"] == access.ADMIN
    at = how(at, 5)
    assert at.session_state["definitions"].suppression_threshold == 5
    at.switch_page("pages/overview.py").run()
    assert any("No downloads while counts under 11 are shown" in str(c.value) for c in at.caption)


# --- item 7: every download is logged -----------------------------------------------------------------------------


def download_buttons() -> list[tuple[str, int, set[str]]]:
    """(file, line, keyword names) of every st.download_button call in the dashboard's code."""
    out = []
    for path in [ROOT / "dashboard.py", *sorted((ROOT / "ui").glob("*.py")), *sorted((ROOT / "pages").glob("*.py"))]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "download_button":
                out.append((path.name, node.lineno, {k.arg for k in node.keywords}))
    return out


def test_every_download_button_of_the_dashboard_logs_its_download():
    buttons = download_buttons()
    assert len(buttons) >= 5
    unlogged = [(f, line) for f, line, keywords in buttons if "on_click" not in keywords or "args" not in keywords]
    assert not unlogged, f"download buttons that do not log their download: {unlogged}"


def test_a_logged_download_names_the_file_user_and_role_and_keeps_the_chain(data_dir):
    def click():
        from ui import gate

        gate.log_download("CSV", "quality_measures.csv")

    at = AppTest.from_function(click).run()
    assert not at.exception
    gate._open_store.clear()
    with Store(data_dir) as s:
        log = s.audit_log()
        assert s.chain().intact and s.verify() == ()
    assert log.loc[0, "action"] == "download" and log.loc[0, "detail"] == "CSV: quality_measures.csv"


def test_a_card_on_one_line_is_read_as_a_card_not_taken_for_a_file_name():
    from analysis.card import load_card

    assert load_card(card_bytes(3).decode()).suppression_threshold == 3  # (longer than a file name may be)
