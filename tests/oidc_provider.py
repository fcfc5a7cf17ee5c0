"""A small, real OpenID Connect provider for tests: authorization code flow, PKCE, RS256 id_tokens.

Run it by hand or from a test (it listens on 127.0.0.1 only)::

    python tests/oidc_provider.py --port 9000 --email alice@clinic.org      # auto-approves alice
    python tests/oidc_provider.py --port 9000                               # shows a sign-in form

or in-process: ``with OIDCProvider(email="alice@clinic.org") as op: op.issuer``.

Endpoints (issuer ``http://127.0.0.1:PORT``):

* ``/.well-known/openid-configuration``: discovery (what Authlib, and so Streamlit's ``st.login``, reads);
* ``/jwks``: the public RS256 signing key;
* ``/authorize``: checks client_id and redirect_uri, then either redirects at once with a code (the
  configured user) or shows a tiny form (e-mail, "e-mail verified" box) whose POST does the same;
* ``/token``: code -> access_token + id_token; client_secret_basic or client_secret_post; PKCE (S256 or
  plain) checked when the code was issued with a challenge; a code works once, for 60 seconds;
* ``/userinfo``: Bearer access token -> the user's claims;
* ``/logout``: end_session_endpoint; redirects to an allowed post_logout_redirect_uri.

What st.login (Authlib 1.9 Starlette client) needs from a provider: discovery with ``issuer``,
``authorization_endpoint``, ``token_endpoint`` and ``jwks_uri``; an id_token signed with a key of the JWKS,
with ``iss`` = issuer, ``aud`` = client_id, ``sub``, ``exp``, ``iat``, the ``nonce`` sent to /authorize and,
when present, a correct ``at_hash``; it sends PKCE S256 when discovery lists it. The id_token claims become
``st.user`` (email, email_verified, name).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import html
import json
import secrets
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote_plus, urlencode, urlsplit, urlunsplit

from joserfc import jwt
from joserfc.jwk import RSAKey

HOST = "127.0.0.1"
CODE_LIFETIME = 60  # seconds
TOKEN_LIFETIME = 3600
KEY_ID = "test-key-1"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def at_hash(access_token: str) -> str:
    """OIDC Core 3.1.3.6: left half of the SHA-256 of the access token, base64url."""
    return _b64url(hashlib.sha256(access_token.encode("ascii")).digest()[:16])


def _pkce_ok(verifier: str | None, challenge: str | None, method: str | None) -> bool:
    if challenge is None:
        return True
    if not verifier:
        return False
    if (method or "plain") == "S256":
        return secrets.compare_digest(_b64url(hashlib.sha256(verifier.encode("ascii")).digest()), challenge)
    return secrets.compare_digest(verifier, challenge)


def _loopback(uri: str) -> bool:
    parts = urlsplit(uri)
    return parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost") and not parts.fragment


@dataclass
class _Grant:
    client_id: str
    redirect_uri: str
    email: str
    email_verified: bool
    nonce: str | None
    scope: str
    challenge: str | None
    method: str | None
    expires: float


@dataclass
class OIDCProvider:
    """The provider; ``start()`` serves it on 127.0.0.1 in a background thread (``port=0``: a free port).

    ``email=None`` shows the sign-in form instead of approving a fixed user. ``redirect_uris=None``
    accepts any loopback http URI (what tests need); otherwise only the listed ones.
    """

    email: str | None = "alice@clinic.org"
    name: str = "Test User"
    email_verified: bool = True
    client_id: str = "outcomes-dashboard"
    client_secret: str = "test-client-secret"
    port: int = 0
    redirect_uris: tuple[str, ...] | None = None
    form: bool = False  # show the form even when an e-mail is configured (prefilled)
    key: RSAKey = field(
        default_factory=lambda: RSAKey.generate_key(2048, parameters={"kid": KEY_ID, "use": "sig", "alg": "RS256"})
    )
    log: list = field(default_factory=list)

    def __post_init__(self):
        self._codes: dict[str, _Grant] = {}
        self._tokens: dict[str, dict] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- life cycle --

    @property
    def issuer(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def metadata_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    def start(self) -> OIDCProvider:
        provider = self

        class Handler(_Handler):
            op = provider

        self._server = ThreadingHTTPServer((HOST, self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="oidc-provider", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(5)
            self._server = None

    def __enter__(self) -> OIDCProvider:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def streamlit_auth(
        self, redirect_uri: str = "http://localhost:{port}/oauth2callback", cookie_secret: str | None = None
    ) -> dict:
        """The ``[auth]`` section of .streamlit/secrets.toml that signs in through this provider."""
        return {
            "redirect_uri": redirect_uri,
            "cookie_secret": cookie_secret or secrets.token_hex(32),
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "server_metadata_url": self.metadata_url,
        }

    # -- protocol --

    def discovery(self) -> dict:
        i = self.issuer
        return {
            "issuer": i,
            "authorization_endpoint": f"{i}/authorize",
            "token_endpoint": f"{i}/token",
            "userinfo_endpoint": f"{i}/userinfo",
            "jwks_uri": f"{i}/jwks",
            "end_session_endpoint": f"{i}/logout",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "email", "profile"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "code_challenge_methods_supported": ["S256", "plain"],
            "claims_supported": [
                "iss",
                "sub",
                "aud",
                "exp",
                "iat",
                "auth_time",
                "nonce",
                "at_hash",
                "email",
                "email_verified",
                "name",
            ],
        }

    def jwks(self) -> dict:
        return {"keys": [self.key.as_dict(private=False)]}

    def redirect_allowed(self, uri: str) -> bool:
        return uri in self.redirect_uris if self.redirect_uris is not None else _loopback(uri)

    def issue_code(self, params: dict, email: str, email_verified: bool) -> str:
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._codes[code] = _Grant(
                params["client_id"],
                params["redirect_uri"],
                email,
                email_verified,
                params.get("nonce"),
                params.get("scope", "openid"),
                params.get("code_challenge"),
                params.get("code_challenge_method"),
                time.time() + CODE_LIFETIME,
            )
        self.log.append(("code", email))
        return code

    def claims(self, email: str, email_verified: bool) -> dict:
        return {
            "sub": "user-" + hashlib.sha256(email.lower().encode()).hexdigest()[:16],
            "email": email,
            "email_verified": email_verified,
            "name": self.name if email == self.email else email.split("@")[0],
        }

    def exchange(self, form: dict, basic: tuple[str, str] | None) -> tuple[int, dict]:
        """The /token endpoint: (HTTP status, JSON body)."""
        client_id, client_secret = basic or (form.get("client_id"), form.get("client_secret"))
        if client_id != self.client_id or not secrets.compare_digest(str(client_secret or ""), self.client_secret):
            return 401, {"error": "invalid_client", "error_description": "unknown client or wrong secret"}
        if form.get("grant_type") != "authorization_code":
            return 400, {"error": "unsupported_grant_type"}
        with self._lock:
            grant = self._codes.pop(form.get("code", ""), None)  # a code works once
        if grant is None or grant.expires < time.time():
            return 400, {"error": "invalid_grant", "error_description": "unknown, used or expired code"}
        if grant.client_id != client_id or grant.redirect_uri != form.get("redirect_uri"):
            return 400, {
                "error": "invalid_grant",
                "error_description": "redirect_uri or client does not match the code",
            }
        if not _pkce_ok(form.get("code_verifier"), grant.challenge, grant.method):
            return 400, {"error": "invalid_grant", "error_description": "PKCE code_verifier does not match"}
        access_token = secrets.token_urlsafe(32)
        now = int(time.time())
        user = self.claims(grant.email, grant.email_verified)
        id_claims = {
            "iss": self.issuer,
            "aud": client_id,
            "iat": now,
            "exp": now + TOKEN_LIFETIME,
            "auth_time": now,
            "at_hash": at_hash(access_token),
            **user,
        }
        if grant.nonce is not None:
            id_claims["nonce"] = grant.nonce
        id_token = jwt.encode({"alg": "RS256", "kid": KEY_ID, "typ": "JWT"}, id_claims, self.key)
        with self._lock:
            self._tokens[access_token] = {**user, "expires": now + TOKEN_LIFETIME}
        self.log.append(("token", grant.email))
        return 200, {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": TOKEN_LIFETIME,
            "id_token": id_token,
            "scope": grant.scope,
        }

    def userinfo(self, access_token: str | None) -> dict | None:
        with self._lock:
            user = self._tokens.get(access_token or "")
        if user is None or user["expires"] < time.time():
            return None
        return {k: v for k, v in user.items() if k != "expires"}


FORM = """<!doctype html><html><head><title>Test sign-in</title></head><body>
<h1>Test identity provider</h1><form method="post" action="/authorize">
<label>E-mail <input id="email" name="email" type="email" value="{email}" required></label>
<label><input id="email_verified" name="email_verified" type="checkbox" value="true" checked> e-mail verified</label>
{hidden}<button id="sign-in" type="submit">Sign in</button></form></body></html>"""

AUTHORIZE_PARAMS = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "prompt",
)


class _Handler(BaseHTTPRequestHandler):
    op: OIDCProvider
    server_version = "TestOIDC/1.0"

    def log_message(self, format, *args):  # quiet: tests read op.log instead
        return

    # -- helpers --

    def _send(self, status: int, body: bytes, content_type: str, headers: dict | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, data: dict, headers: dict | None = None) -> None:
        self._send(status, json.dumps(data).encode(), "application/json", headers)

    def _html(self, status: int, text: str) -> None:
        self._send(status, text.encode(), "text/html; charset=utf-8")

    def _redirect(self, uri: str, params: dict) -> None:
        parts = urlsplit(uri)
        query = "&".join(q for q in (parts.query, urlencode({k: v for k, v in params.items() if v is not None})) if q)
        self._send(302, b"", "text/plain", {"Location": urlunsplit(parts._replace(query=query))})

    def _query(self) -> dict:
        return {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}

    def _form(self) -> dict:
        length = int(self.headers.get("Content-Length") or 0)
        return {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode("utf-8")).items()}

    def _basic_auth(self) -> tuple[str, str] | None:
        header = self.headers.get("Authorization", "")
        if not header.lower().startswith("basic "):
            return None
        try:
            user, _, password = base64.b64decode(header[6:]).decode("utf-8").partition(":")
        except ValueError:
            return ("", "")
        return unquote_plus(user), unquote_plus(password)  # RFC 6749 2.3.1: form-encoded, then base64

    # -- routes --

    def do_GET(self):  # noqa: N802 - http.server's naming
        path = urlsplit(self.path).path
        if path == "/.well-known/openid-configuration":
            return self._json(200, self.op.discovery())
        if path == "/jwks":
            return self._json(200, self.op.jwks())
        if path == "/authorize":
            return self._authorize(self._query(), from_form=False)
        if path == "/userinfo":
            header = self.headers.get("Authorization", "")
            token = header[7:] if header.lower().startswith("bearer ") else None
            user = self.op.userinfo(token)
            if user is None:
                return self._json(401, {"error": "invalid_token"}, {"WWW-Authenticate": 'Bearer error="invalid_token"'})
            return self._json(200, user)
        if path == "/logout":
            target = self._query().get("post_logout_redirect_uri")
            self.op.log.append(("logout", target))
            if target and self.op.redirect_allowed(target):
                return self._redirect(target, {"state": self._query().get("state")})
            return self._html(200, "<p id='signed-out'>Signed out.</p>")
        return self._json(404, {"error": "not_found"})

    def do_POST(self):  # noqa: N802
        path = urlsplit(self.path).path
        if path == "/authorize":
            return self._authorize(self._form(), from_form=True)
        if path == "/token":
            status, body = self.op.exchange(self._form(), self._basic_auth())
            headers = {"WWW-Authenticate": 'Basic realm="token"'} if status == 401 else None
            return self._json(status, body, headers)
        return self._json(404, {"error": "not_found"})

    def _authorize(self, params: dict, from_form: bool) -> None:
        op = self.op
        redirect_uri = params.get("redirect_uri", "")
        if params.get("client_id") != op.client_id:
            return self._html(400, "<p id='error'>Unknown client_id.</p>")
        if not op.redirect_allowed(redirect_uri):
            return self._html(400, "<p id='error'>redirect_uri is not registered for this client.</p>")
        state = params.get("state")
        if params.get("response_type") != "code":
            return self._redirect(redirect_uri, {"error": "unsupported_response_type", "state": state})
        if "openid" not in params.get("scope", "").split():
            return self._redirect(redirect_uri, {"error": "invalid_scope", "state": state})
        if params.get("code_challenge") and params.get("code_challenge_method", "plain") not in ("S256", "plain"):
            return self._redirect(redirect_uri, {"error": "invalid_request", "state": state})
        if from_form:
            email = params.get("email", "").strip()
            if not email:
                return self._redirect(redirect_uri, {"error": "access_denied", "state": state})
            verified = params.get("email_verified") == "true"
        elif op.email is not None and not op.form:
            email, verified = op.email, op.email_verified
        else:
            hidden = "".join(
                f'<input type="hidden" name="{k}" value="{html.escape(params[k], quote=True)}">'
                for k in AUTHORIZE_PARAMS
                if k in params
            )
            return self._html(200, FORM.format(email=html.escape(op.email or "", quote=True), hidden=hidden))
        code = op.issue_code(params, email, verified)
        self._redirect(redirect_uri, {"code": code, "state": state})


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="A small OpenID Connect provider for tests (127.0.0.1 only).")
    p.add_argument("--port", type=int, default=0, help="port (0: any free port)")
    p.add_argument("--email", help="approve this user at once (without it: a sign-in form)")
    p.add_argument("--name", default="Test User")
    p.add_argument("--unverified", action="store_true", help="send email_verified = false")
    p.add_argument("--form", action="store_true", help="show the form even with --email (prefilled)")
    p.add_argument("--client-id", default="outcomes-dashboard")
    p.add_argument("--client-secret", default="test-client-secret")
    p.add_argument("--redirect-uri", action="append", help="allowed redirect URI (repeatable; default: any loopback)")
    args = p.parse_args(argv)
    op = OIDCProvider(
        email=args.email,
        name=args.name,
        email_verified=not args.unverified,
        client_id=args.client_id,
        client_secret=args.client_secret,
        port=args.port,
        form=args.form,
        redirect_uris=tuple(args.redirect_uri) if args.redirect_uri else None,
    ).start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print(f"OIDC provider ready at {op.issuer} (client_id={op.client_id})", flush=True)
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    op.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
