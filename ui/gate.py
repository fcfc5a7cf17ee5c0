"""The sign-in gate of the dashboard: the store of saved data sets, who the user is, and their role.

Rules (analysis.access decides; this module only asks Streamlit): with ``[auth]`` and ``[access]`` in the
secrets, users sign in with OpenID Connect (``st.login``) and get a role from the ``[access]`` lists; anyone
else sees a refusal and no data. Without either section there is no sign-in: whoever uses the dashboard is an
admin, so the server must listen on this machine only. Every check fails closed: unreadable secrets, one
section without the other, a misspelt or unknown section, key or type stop the app before any data.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from analysis import access
from analysis.errors import DataError
from analysis.store import Store

ROLE, USER, SIGNED_IN, POLICY = "role", "user_email", "_signed_in_as", "_access_policy"
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


@st.cache_resource(show_spinner=False)
def _open_store() -> Store:
    return Store()  # $OUTCOMES_DATA_DIR, else ./data


def store(warn_in=None) -> Store | None:
    """The saved data sets: one Store per server process, shared by every session. When they cannot be opened
    (e.g. another server uses the folder) the run stops with the reason; or, given ``warn_in`` (st.sidebar, st),
    a warning there and None."""
    try:
        return _open_store()
    except DataError as e:
        if warn_in is None:
            st.error(f"The saved data sets cannot be opened. {e}")
            st.stop()
        warn_in.warning(f"Saved data sets are not available: {e}")
        return None


def secrets() -> dict:
    """The secrets as a plain dict ({} when there is no secrets file); stops when a file exists but cannot be read."""
    try:
        return st.secrets.to_dict()
    except FileNotFoundError as e:  # StreamlitSecretNotFoundError: no file, or a file that cannot be parsed
        if any(Path(p).is_file() for p in st.get_option("secrets.files")):
            st.error(f"The secrets file cannot be read, so nobody can be signed in: {e}")
            _stop()
        return {}


def role() -> str | None:
    """The role of this session (set by :func:`require`; None before it ran or when refused)."""
    return st.session_state.get(ROLE)


def user() -> str | None:
    """The signed-in e-mail, or None when sign-in is off."""
    return st.session_state.get(USER)


def policy() -> access.AccessList | None:
    """The checked access list in force (None without sign-in)."""
    return st.session_state.get(POLICY)


def may_lower_threshold() -> bool:
    """Whether this session's user may set the small-cell threshold below 11 on screen (analysis.access)."""
    return role() is not None and access.can_lower_threshold(role(), policy())


def log(action: str, detail: str | None = None, dataset_hash: str | None = None) -> None:
    """One audit entry by this session's user and role (nothing when the store cannot be opened)."""
    where = store(warn_in=st.sidebar)
    if where is not None:
        try:
            where.audit(user(), action, dataset_hash=dataset_hash, detail=detail, role=role())
        except DataError as e:
            st.sidebar.warning(f"The audit log could not be written: {e}")


def log_download(kind: str, file_name: str) -> None:
    """on_click of every download button: the download is logged with the user and role."""
    log("download", f"{kind}: {file_name}")


def require() -> str:
    """The user's role; otherwise draws the sign-in screen or the refusal and stops the run (no data loaded)."""
    config = secrets()
    st.session_state[ROLE] = st.session_state[USER] = st.session_state[POLICY] = None
    try:
        checked = access.check_secrets(config)
    except DataError as e:
        lines = str(e).split("; ")
        head = (
            "The access list in secrets.toml is not valid, so nobody is let in and no data is shown."
            if any("[access]" in line for line in lines)
            else "Sign-in is not set up correctly in secrets.toml, so nobody is let in and no data is shown."
        )
        st.error(head + " Fix these and restart the dashboard:\n\n" + "\n".join(f"- {line}" for line in lines))
        _stop()
    if checked is None:
        address = st.get_option("server.address")
        if address not in LOCAL_HOSTS:
            st.error(
                f"This server listens on {address or 'every network address'} but sign-in is not configured: "
                f"anyone on the network could see the data. Restart it with --server.address 127.0.0.1, "
                "or configure sign-in (README: Saved data sets and sign-in)."
            )
            _stop()
        st.session_state[ROLE] = access.ADMIN  # no sign-in: the person at this machine (README: Access)
        return access.ADMIN
    st.session_state[POLICY] = checked
    claims = st.user.to_dict()
    if claims.get("is_logged_in") is not True:
        st.session_state.pop(SIGNED_IN, None)
        _stop(_sign_in_screen)
    email = str(claims.get("email") or "").strip()
    granted = access.role_for_user(claims, checked)
    if st.session_state.get(SIGNED_IN) != email:  # once per session
        store().audit(
            email or None,
            "sign_in" if granted else "sign_in_refused",
            detail=granted or "not on the access list",
            role=granted,
        )
        st.session_state[SIGNED_IN] = email
    if granted is None:

        def refusal():
            from ui.show import text  # (ui.show imports this module)

            st.title("No access")
            st.error(
                f"**{text(email) if email else 'This account'}** is not on this dashboard's access list, so no data "
                "is shown. "
                "Ask the practice manager to add you, then sign in again."
            )
            _sign_out_button(st, email)

        _stop(refusal)
    st.session_state[ROLE], st.session_state[USER] = granted, email
    return granted


def account() -> None:
    """Who is signed in, and Sign out, in the sidebar (nothing without sign-in). Call it after st.navigation."""
    email = user()
    if email:
        from ui.show import text  # (ui.show imports this module)

        st.sidebar.caption(f"Signed in as **{text(email)}** ({role()})")
        _sign_out_button(st.sidebar, email)


def _sign_in_screen() -> None:
    st.title("Ketamine outcomes")
    st.markdown("This dashboard shows a practice's outcome data: **sign in** with your work account to continue.")
    if st.button("Sign in", type="primary", icon=":material/login:"):
        st.login()


def _nothing() -> None:
    """The page of a run stopped by an error shown above it."""


def _stop(screen=_nothing) -> None:
    """End the run before any page or data. The screen runs as the only page of a hidden navigation: its
    widgets keep their state from run to run, and Streamlit does not list the files of pages/ instead."""
    st.navigation([st.Page(screen, title="Ketamine outcomes", url_path="signin")], position="hidden").run()
    st.stop()


def _sign_out_button(where, email: str) -> None:
    if where.button("Sign out", icon=":material/logout:"):
        store().audit(email or None, "sign_out", role=role())
        st.session_state.pop(SIGNED_IN, None)
        st.logout()
