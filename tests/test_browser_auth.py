"""The real sign-in flow in Chromium: the dashboard (`streamlit run`, secrets from a temporary file) signs in
through the small OpenID Connect provider of tests/oidc_provider.py on 127.0.0.1. Someone on the access list
lands back signed in and sees the data; someone else sees a refusal and nothing of the practice.
Screenshots: docs/screenshots/signin.png and refused.png."""

import pytest

from analysis import provenance
from tests.conftest import _free_port, streamlit_server
from tests.oidc_provider import OIDCProvider
from tests.test_browser import FILES, SHOTS, main_text, screenshot, settle

pytestmark = [pytest.mark.browser, pytest.mark.skipif(not FILES[0].exists(), reason="sample_data/ not generated yet")]

ACCESS = {"managers": ["@clinic.org"], "clinicians": ["carol@clinic.org"]}

#: the invisible word joiner ui/show.text puts into an e-mail so that it is not made a link (the text reads the same)
JOINER = "\u2060"


def toml(sections: dict) -> str:
    def value(v):
        return "[" + ", ".join(f'"{x}"' for x in v) + "]" if isinstance(v, list) else f'"{v}"'

    return "".join(
        f"[{name}]\n" + "".join(f"{k} = {value(v)}\n" for k, v in keys.items()) + "\n"
        for name, keys in sections.items()
    )


@pytest.fixture(scope="module")
def signed_server(tmp_path_factory):
    """The dashboard with [auth] pointing at a provider that asks who you are (a form); (URL, provider)."""
    tmp = tmp_path_factory.mktemp("auth")
    port = _free_port()
    with OIDCProvider(email=None) as op:
        secrets = tmp / "secrets.toml"  # never the repository's .streamlit/
        secrets.write_text(
            toml({"auth": op.streamlit_auth(redirect_uri=f"http://127.0.0.1:{port}/oauth2callback"), "access": ACCESS})
        )
        with streamlit_server(tmp / "data", "--secrets.files", str(secrets), port=port) as (url, _):
            yield url, op


def sign_in(chromium, url: str, email: str):
    """A new browser: open the dashboard, press Sign in, type the e-mail at the provider; (context, page)."""
    context = chromium.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    page.goto(url)
    settle(page, "Ketamine outcomes")
    page.get_by_test_id("stButton").filter(has_text="Sign in").click()
    page.locator("#email").wait_for(timeout=60_000)  # the provider's page
    page.locator("#email").fill(email)
    page.locator("#sign-in").click()
    page.wait_for_url(f"{url}/**", timeout=60_000)  # back at the dashboard
    return context, page


def shows_practice_data(page) -> bool:
    return bool(
        page.get_by_test_id("stMetric").count()
        or page.get_by_test_id("stPlotlyChart").count()
        or page.get_by_test_id("stFileUploaderDropzoneInput").count()
        or page.get_by_test_id("stSidebarNavLink").count()
    )


def test_the_sign_in_screen_shows_no_data(signed_server, chromium):
    url, _ = signed_server
    context = chromium.new_context(viewport={"width": 1400, "height": 800})
    try:
        page = context.new_page()
        page.goto(url)
        settle(page, "Ketamine outcomes")
        assert page.get_by_test_id("stButton").filter(has_text="Sign in").count() == 1
        assert not shows_practice_data(page)
        screenshot(page, SHOTS / "signin.png")
    finally:
        context.close()


def test_someone_on_the_access_list_signs_in_and_sees_the_data_and_the_audit_log(signed_server, chromium):
    url, op = signed_server
    context, page = sign_in(chromium, url, "alice@clinic.org")
    try:
        settle(page, "Practice overview")
        sidebar = page.get_by_test_id("stSidebar").inner_text().replace(JOINER, "")  # (see below)
        assert "Signed in as alice@clinic.org (manager)" in sidebar
        assert "patients started" in main_text(page) and page.get_by_test_id("stMetric").count() >= 6
        assert ("token", "alice@clinic.org") in op.log, "the provider issued the tokens"
        page.get_by_test_id("stSidebarNavLink").filter(has=page.get_by_text("Audit log", exact=True)).click()
        settle(page, "Audit log")
        with page.expect_download() as download:  # the table is drawn on a canvas: read its CSV download
            page.get_by_test_id("stDownloadButton").filter(has_text="Download CSV").click()
        rows = provenance.read_csv(download.value.path())[1].to_dict("records")  # (under its provenance lines)
        assert [(r["Who"], r["Action"], r["Detail"]) for r in rows] == [("alice@clinic.org", "sign in", "manager")]
    finally:
        context.close()


def test_someone_not_on_the_list_is_refused_and_sees_nothing(signed_server, chromium):
    url, _ = signed_server
    context, page = sign_in(chromium, url, "eve@elsewhere.org")
    try:
        settle(page, "No access")
        text = main_text(page).replace(JOINER, "")
        assert "eve@elsewhere.org is not on this dashboard's access list" in text
        assert not shows_practice_data(page) and "patients" not in text.lower()
        assert page.get_by_test_id("stButton").filter(has_text="Sign out").count() == 1
        screenshot(page, SHOTS / "refused.png")
        page.goto(f"{url}/overview")  # a page's own address: refused all the same
        settle(page, "No access")
        assert not shows_practice_data(page) and "Practice overview" not in main_text(page)
        page.goto(url)  # (the page's address opened a "page not found" dialog)
        settle(page, "No access")
        page.get_by_test_id("stButton").filter(has_text="Sign out").click()  # back to the sign-in screen
        page.get_by_test_id("stButton").filter(has_text="Sign in").wait_for(timeout=60_000)
        assert not shows_practice_data(page)
    finally:
        context.close()
