"""Who may see what: roles from an allow-list, and whether sign-in is configured at all.

When ``.streamlit/secrets.toml`` has an ``[auth]`` section, users sign in with OpenID Connect
(Streamlit's ``st.login``) and an ``[access]`` section maps e-mail addresses or whole domains to roles::

    [access]
    managers = ["alice@clinic.org", "@northside.org"]
    clinicians = ["bob@clinic.org"]
    # require_verified_email = false   # only for providers that never send email_verified

Roles: ``manager`` sees aggregate pages only (counts, rates, curves of groups); ``clinician`` sees everything
a manager sees plus patient-level views (e.g. individual trajectory lines). Rules: e-mails are compared
case-insensitively without surrounding spaces; an exact e-mail entry beats a domain entry (``@northside.org``
matches anyone at northside.org, not its sub-domains); someone listed in both lists is a clinician; an empty
or unverified e-mail has no role, and anyone without a role sees nothing. Without ``[auth]`` there is no
sign-in, so the server must listen on 127.0.0.1 only (``server_address``).

No streamlit import: callers pass ``st.secrets`` (or ``load_secrets()``) in as a plain mapping.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from analysis.errors import DataError

MANAGER = "manager"
CLINICIAN = "clinician"
ROLES = (MANAGER, CLINICIAN)

#: the sections and keys this module reads
AUTH_SECTION = "auth"
ACCESS_SECTION = "access"
ACCESS_KEYS = ("managers", "clinicians", "require_verified_email")
#: what st.login needs in [auth] (the provider keys may sit in a sub-section such as [auth.google])
AUTH_KEYS = ("redirect_uri", "cookie_secret")
AUTH_PROVIDER_KEYS = ("client_id", "client_secret", "server_metadata_url")

LOCAL_ADDRESS = "127.0.0.1"
ALL_ADDRESSES = "0.0.0.0"
DEFAULT_SECRETS_PATH = Path(".streamlit") / "secrets.toml"


@dataclass(frozen=True)
class AccessList:
    """The parsed ``[access]`` section: lower-cased entries, e-mails ("a@b.org") and domains ("@b.org")."""

    managers: frozenset[str] = frozenset()
    clinicians: frozenset[str] = frozenset()
    require_verified_email: bool = True
    notes: tuple[str, ...] = ()


def load_secrets(path: str | Path = DEFAULT_SECRETS_PATH) -> dict:
    """The TOML secrets file as a dict ({} when the file does not exist)."""
    path = Path(path)
    if not path.is_file():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise DataError(f"{path} is not valid TOML ({e}); fix it or remove it.") from None


def auth_configured(secrets: Mapping | None) -> bool:
    """True when the secrets hold an ``[auth]`` section (a table), i.e. users must sign in."""
    return isinstance(secrets, Mapping) and isinstance(secrets.get(AUTH_SECTION), Mapping)


def auth_problems(secrets: Mapping | None) -> tuple[str, ...]:
    """What is missing from ``[auth]`` for st.login to work, in words (empty when nothing is)."""
    if not auth_configured(secrets):
        return ()
    auth = secrets[AUTH_SECTION]
    problems = [f"[auth] has no {k!r}" for k in AUTH_KEYS if not auth.get(k)]
    providers = [v for v in auth.values() if isinstance(v, Mapping) and any(k in v for k in AUTH_PROVIDER_KEYS)]
    for section in providers or [auth]:
        problems += [f"[auth] provider settings have no {k!r}" for k in AUTH_PROVIDER_KEYS if not section.get(k)]
    redirect = str(auth.get("redirect_uri", ""))
    if redirect and not redirect.endswith("/oauth2callback"):
        problems.append(f"[auth] redirect_uri must end with /oauth2callback, got {redirect!r}")
    return tuple(dict.fromkeys(problems))


def server_address(secrets: Mapping | None) -> str:
    """The widest address the server may listen on: 0.0.0.0 only when sign-in is configured, else 127.0.0.1.

    Even with sign-in, the recommended deployment keeps 127.0.0.1 behind an HTTPS reverse proxy."""
    return ALL_ADDRESSES if auth_configured(secrets) else LOCAL_ADDRESS


def _entries(section: Mapping, key: str) -> frozenset[str]:
    value = section.get(key, [])
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        raise DataError(f'[access] {key} must be a list of e-mails or "@domain" entries, e.g. {key} = ["a@clinic.org"]')
    out = set()
    for raw in value:
        entry = str(raw).strip().lower() if isinstance(raw, str) else None
        local, at, domain = (entry or "").rpartition("@")
        if not entry or not at or not domain or " " in entry or "@" in local:
            raise DataError(
                f'[access] {key}: {raw!r} is neither an e-mail ("a@clinic.org") nor a domain ("@clinic.org")'
            )
        out.add(entry)
    return frozenset(out)


def access_list(secrets: Mapping | AccessList | None) -> AccessList:
    """The ``[access]`` section of ``secrets`` checked and normalised (no section: nobody has access)."""
    if isinstance(secrets, AccessList):
        return secrets
    if secrets is None:
        return AccessList(notes=("no [access] section: nobody can see data when sign-in is on",))
    if not isinstance(secrets, Mapping):
        raise TypeError(
            f"access_list expects the secrets as a mapping (e.g. st.secrets.to_dict()), got {type(secrets).__name__}"
        )
    section = secrets.get(ACCESS_SECTION)
    if section is None:
        return AccessList(notes=("no [access] section: nobody can see data when sign-in is on",))
    if not isinstance(section, Mapping):
        raise DataError("[access] must be a table: [access] then managers = [...] and clinicians = [...]")
    unknown = sorted(set(section) - set(ACCESS_KEYS))
    if unknown:
        raise DataError(f"unknown key {unknown[0]!r} in [access]; allowed: {', '.join(ACCESS_KEYS)}")
    verified = section.get("require_verified_email", True)
    if not isinstance(verified, bool):
        raise DataError("[access] require_verified_email must be true or false")
    managers, clinicians = _entries(section, "managers"), _entries(section, "clinicians")
    notes = () if managers or clinicians else ("the [access] lists are empty: nobody can see data",)
    return AccessList(managers, clinicians, verified, notes)


def _is_verified(flag) -> bool:
    return flag is True or (isinstance(flag, str) and flag.strip().lower() == "true")


def role_for(email: str | None, config: Mapping | AccessList | None, email_verified=True) -> str | None:
    """The role of ``email``: "clinician", "manager" or None (no access).

    An exact e-mail entry decides before any domain entry; clinician wins over manager at the same level.
    ``email_verified`` is the OpenID Connect claim: anything but True (or "true") means no role, unless
    the access list sets ``require_verified_email = false``.
    """
    policy = access_list(config)
    email = (email or "").strip().lower() if isinstance(email, str) else ""
    local, at, domain = email.rpartition("@")
    if not local or not at or not domain:
        return None
    if policy.require_verified_email and not _is_verified(email_verified):
        return None
    for key in (email, "@" + domain):
        if key in policy.clinicians:
            return CLINICIAN
        if key in policy.managers:
            return MANAGER
    return None


def role_for_user(user: Mapping | None, config: Mapping | AccessList | None) -> str | None:
    """The role of a signed-in user given as the claims mapping of ``st.user`` (email, email_verified).

    A missing ``email_verified`` claim counts as unverified (unless ``require_verified_email = false``).
    """
    if not user or user.get("is_logged_in") is False:
        return None
    return role_for(user.get("email"), config, email_verified=user.get("email_verified"))


def _check_role(role: str | None) -> None:
    if role is not None and role not in ROLES:
        raise ValueError(f"unknown role {role!r}; roles are {', '.join(ROLES)} or None")


def can_view_aggregate(role: str | None) -> bool:
    """Aggregate pages (counts, rates, group curves): managers and clinicians."""
    _check_role(role)
    return role in ROLES


def can_view_patient_level(role: str | None) -> bool:
    """Patient-level views (one line per patient): clinicians only."""
    _check_role(role)
    return role == CLINICIAN


def can_view_audit(role: str | None) -> bool:
    """The audit log: managers (and clinicians, who have every manager right)."""
    return can_view_aggregate(role)
