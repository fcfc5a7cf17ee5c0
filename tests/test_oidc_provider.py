"""The test OpenID Connect provider, spoken to with plain HTTP requests (and Authlib, as st.login does)."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import BadSignatureError
from joserfc.jwk import KeySet, RSAKey

from tests.oidc_provider import OIDCProvider, at_hash

REDIRECT = "http://127.0.0.1:8501/oauth2callback"
HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def op():
    with OIDCProvider(email="alice@clinic.org", name="Alice") as provider:
        yield provider


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def authorize(op, **overrides) -> requests.Response:
    params = {
        "response_type": "code",
        "client_id": op.client_id,
        "redirect_uri": REDIRECT,
        "scope": "openid email profile",
        "state": "st-1",
        "nonce": "n-1",
        **overrides,
    }
    return requests.get(
        f"{op.issuer}/authorize",
        params={k: v for k, v in params.items() if v is not None},
        allow_redirects=False,
        timeout=10,
    )


def code_from(response: requests.Response) -> dict:
    assert response.status_code == 302, response.text
    location = urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == REDIRECT
    return {k: v[0] for k, v in parse_qs(location.query).items()}


def token(
    op, code: str, verifier: str | None = None, secret: str | None = None, redirect_uri=REDIRECT
) -> requests.Response:
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    if verifier:
        data["code_verifier"] = verifier
    return requests.post(f"{op.issuer}/token", data=data, auth=(op.client_id, secret or op.client_secret), timeout=10)


def test_discovery_lists_every_endpoint_streamlit_login_needs(op):
    doc = requests.get(op.metadata_url, timeout=10).json()
    assert doc["issuer"] == op.issuer and op.issuer.startswith("http://127.0.0.1:")
    for key in ("authorization_endpoint", "token_endpoint", "jwks_uri", "userinfo_endpoint", "end_session_endpoint"):
        assert doc[key].startswith(op.issuer + "/")
    assert "S256" in doc["code_challenge_methods_supported"]
    assert doc["id_token_signing_alg_values_supported"] == ["RS256"]
    assert requests.get(f"{op.issuer}/nowhere", timeout=10).status_code == 404


def test_the_jwks_holds_only_the_public_half_of_an_rs256_key(op):
    keys = requests.get(f"{op.issuer}/jwks", timeout=10).json()["keys"]
    assert len(keys) == 1 and keys[0]["kty"] == "RSA" and keys[0]["kid"] == "test-key-1"
    assert not {"d", "p", "q", "dp", "dq", "qi"} & set(keys[0])


def test_a_full_code_flow_gives_an_id_token_that_verifies_against_the_jwks(op):
    verifier, challenge = pkce()
    got = code_from(authorize(op, code_challenge=challenge, code_challenge_method="S256"))
    assert got["state"] == "st-1"
    reply = token(op, got["code"], verifier)
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["token_type"] == "Bearer" and reply.headers["Cache-Control"] == "no-store"
    keys = KeySet.import_key_set(requests.get(f"{op.issuer}/jwks", timeout=10).json())
    decoded = jwt.decode(body["id_token"], keys, algorithms=["RS256"])
    claims = decoded.claims
    assert decoded.header["kid"] == "test-key-1"
    assert (claims["iss"], claims["aud"], claims["nonce"]) == (op.issuer, op.client_id, "n-1")
    assert (claims["email"], claims["email_verified"], claims["name"]) == ("alice@clinic.org", True, "Alice")
    assert claims["at_hash"] == at_hash(body["access_token"])
    assert claims["iat"] <= time.time() < claims["exp"]
    info = requests.get(
        f"{op.issuer}/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"}, timeout=10
    )
    assert info.json() == {"sub": claims["sub"], "email": "alice@clinic.org", "email_verified": True, "name": "Alice"}


def test_an_id_token_signed_by_another_key_does_not_verify(op):
    got = code_from(authorize(op))
    id_token = token(op, got["code"]).json()["id_token"]
    stranger = KeySet([RSAKey.generate_key(2048, parameters={"kid": "test-key-1"})])
    with pytest.raises(BadSignatureError):
        jwt.decode(id_token, stranger, algorithms=["RS256"])


def test_authlib_accepts_the_flow_and_the_id_token_as_streamlit_login_does(op):
    """The same client library and the same claim checks as Streamlit's /oauth2callback."""
    session = OAuth2Session(
        op.client_id,
        op.client_secret,
        scope="openid email profile",
        redirect_uri=REDIRECT,
        code_challenge_method="S256",
    )
    doc = requests.get(op.metadata_url, timeout=10).json()
    verifier = secrets.token_urlsafe(48)
    url, state = session.create_authorization_url(
        doc["authorization_endpoint"], nonce="nonce-42", code_verifier=verifier
    )
    callback = requests.get(url, allow_redirects=False, timeout=10).headers["Location"]
    tokens = session.fetch_token(
        doc["token_endpoint"], authorization_response=callback, code_verifier=verifier, state=state
    )
    keys = KeySet.import_key_set(session.get(doc["jwks_uri"]).json())
    decoded = jwt.decode(tokens["id_token"], keys, algorithms=["RS256"])
    claims = CodeIDToken(
        decoded.claims,
        decoded.header,
        {"iss": {"values": [doc["issuer"]]}},
        {"nonce": "nonce-42", "client_id": op.client_id, "access_token": tokens["access_token"]},
    )
    claims.validate(leeway=120)  # raises on a wrong iss, aud, exp, nonce or at_hash
    assert claims["email"] == "alice@clinic.org"


def test_a_wrong_nonce_fails_authlibs_claim_checks(op):
    got = code_from(authorize(op, nonce="the-real-one"))
    body = token(op, got["code"]).json()
    decoded = jwt.decode(body["id_token"], KeySet([op.key]), algorithms=["RS256"])
    claims = CodeIDToken(
        decoded.claims,
        decoded.header,
        None,
        {"nonce": "another", "client_id": op.client_id, "access_token": body["access_token"]},
    )
    with pytest.raises(Exception, match="nonce"):
        claims.validate()


def test_a_code_works_only_once(op):
    got = code_from(authorize(op))
    assert token(op, got["code"]).status_code == 200
    again = token(op, got["code"])
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def test_a_wrong_client_secret_is_refused(op):
    got = code_from(authorize(op))
    wrong = token(op, got["code"], secret="guess")
    assert wrong.status_code == 401 and wrong.json()["error"] == "invalid_client"


def test_the_client_secret_may_also_be_posted_in_the_form(op):
    got = code_from(authorize(op))
    reply = requests.post(
        f"{op.issuer}/token",
        timeout=10,
        data={
            "grant_type": "authorization_code",
            "code": got["code"],
            "redirect_uri": REDIRECT,
            "client_id": op.client_id,
            "client_secret": op.client_secret,
        },
    )
    assert reply.status_code == 200 and "id_token" in reply.json()


def test_a_wrong_or_missing_pkce_verifier_is_refused(op):
    _, challenge = pkce()
    for verifier in ("not-the-verifier", None):
        got = code_from(authorize(op, code_challenge=challenge, code_challenge_method="S256"))
        reply = token(op, got["code"], verifier)
        assert reply.status_code == 400 and "PKCE" in reply.json()["error_description"]


def test_the_token_request_must_repeat_the_redirect_uri_of_the_code(op):
    got = code_from(authorize(op))
    reply = token(op, got["code"], redirect_uri="http://127.0.0.1:9999/oauth2callback")
    assert reply.status_code == 400 and reply.json()["error"] == "invalid_grant"


def test_an_unknown_client_or_a_foreign_redirect_uri_gets_an_error_page_not_a_redirect(op):
    for reply in (authorize(op, client_id="someone-else"), authorize(op, redirect_uri="https://evil.example/cb")):
        assert reply.status_code == 400 and "Location" not in reply.headers


def test_a_request_without_the_openid_scope_is_sent_back_with_an_error(op):
    got = code_from(authorize(op, scope="email"))
    assert got == {"error": "invalid_scope", "state": "st-1"}


def test_userinfo_refuses_an_unknown_token(op):
    reply = requests.get(f"{op.issuer}/userinfo", headers={"Authorization": "Bearer nope"}, timeout=10)
    assert reply.status_code == 401 and "invalid_token" in reply.headers["WWW-Authenticate"]


def test_logout_returns_to_an_allowed_uri_only(op):
    back = requests.get(
        f"{op.issuer}/logout", params={"post_logout_redirect_uri": REDIRECT}, allow_redirects=False, timeout=10
    )
    assert back.status_code == 302 and back.headers["Location"].startswith(REDIRECT)
    stay = requests.get(
        f"{op.issuer}/logout",
        params={"post_logout_redirect_uri": "https://evil.example/"},
        allow_redirects=False,
        timeout=10,
    )
    assert stay.status_code == 200 and "Location" not in stay.headers


def test_without_a_configured_user_authorize_shows_a_form_that_signs_in_whoever_is_typed():
    with OIDCProvider(email=None) as op:
        page = authorize(op, state="s-9", nonce="n-9")
        assert page.status_code == 200 and 'id="email"' in page.text
        hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page.text))
        assert hidden["state"] == "s-9" and hidden["nonce"] == "n-9" and hidden["redirect_uri"] == REDIRECT
        for verified, form in ((True, {"email_verified": "true"}), (False, {})):
            sent = requests.post(
                f"{op.issuer}/authorize",
                data={**hidden, "email": "eve@elsewhere.org", **form},
                allow_redirects=False,
                timeout=10,
            )
            got = code_from(sent)
            claims = jwt.decode(token(op, got["code"]).json()["id_token"], KeySet([op.key])).claims
            assert (claims["email"], claims["email_verified"], claims["nonce"], got["state"]) == (
                "eve@elsewhere.org",
                verified,
                "n-9",
                "s-9",
            )


def test_a_fixed_list_of_redirect_uris_is_enforced():
    with OIDCProvider(redirect_uris=("http://127.0.0.1:8501/oauth2callback",)) as op:
        assert authorize(op).status_code == 302
        assert authorize(op, redirect_uri="http://127.0.0.1:8502/oauth2callback").status_code == 400


def test_the_command_line_serves_discovery_on_the_given_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "oidc_provider.py"), "--port", str(port), "--email", "x@y"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert f"ready at http://127.0.0.1:{port}" in proc.stdout.readline()
        doc = requests.get(f"http://127.0.0.1:{port}/.well-known/openid-configuration", timeout=10).json()
        assert doc["issuer"] == f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)
    assert proc.returncode == 0


APP = """
import streamlit as st
st.write("signed in as " + st.user.email if st.user.is_logged_in else "not signed in")
"""


def test_streamlits_own_login_routes_sign_in_through_the_provider(tmp_path):
    """Server side of st.login, without a browser: /auth/login -> provider -> /oauth2callback -> cookie."""
    pytest.importorskip("httpx", reason="st.login needs httpx (streamlit[auth]); it is not in requirements.txt yet")
    from joserfc.jwk import OctKey

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with OIDCProvider(email="alice@clinic.org") as op:
        auth = op.streamlit_auth(redirect_uri="http://127.0.0.1:{port}/oauth2callback")
        (tmp_path / ".streamlit").mkdir()
        (tmp_path / ".streamlit" / "secrets.toml").write_text(
            "[auth]\n" + "".join(f'{k} = "{v}"\n' for k, v in auth.items())
        )
        (tmp_path / "app.py").write_text(APP)
        with open(tmp_path / "server.log", "w") as log:
            server = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "streamlit",
                    "run",
                    "app.py",
                    "--server.address",
                    "127.0.0.1",
                    "--server.port",
                    str(port),
                    "--server.headless",
                    "true",
                    "--server.fileWatcherType",
                    "none",
                    "--browser.gatherUsageStats",
                    "false",
                ],
                cwd=tmp_path,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(200):
                try:
                    if requests.get(f"{base}/_stcore/health", timeout=2).text == "ok":
                        break
                except requests.ConnectionError:
                    pass
                time.sleep(0.1)
            provider_token = jwt.encode(
                {"alg": "HS256"},
                {"provider": "default", "exp": int(time.time()) + 120},
                OctKey.import_key(auth["cookie_secret"]),
            )
            browser = requests.Session()
            reply = browser.get(f"{base}/auth/login", params={"provider": provider_token}, timeout=20)
            assert reply.status_code == 200, (tmp_path / "server.log").read_text()
            assert "_streamlit_user" in browser.cookies.get_dict(), (tmp_path / "server.log").read_text()
            assert ("token", "alice@clinic.org") in op.log
        finally:
            server.terminate()
            server.wait(20)
