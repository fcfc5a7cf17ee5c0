"""Who may see what: roles from an allow-list, and whether sign-in is configured at all.

When ``.streamlit/secrets.toml`` has an ``[auth]`` section, users sign in with OpenID Connect
(Streamlit's ``st.login``) and an ``[access]`` section maps e-mail addresses or whole domains to roles::

    [access]
    admins = ["dana@clinic.org"]
    managers = ["alice@clinic.org", "@northside.org"]
    clinicians = ["bob@clinic.org"]
    # clinicians_see_exact_counts = true   # clinicians may lower the threshold on screen (never in files)
    # require_verified_email = false       # only for providers that never send email_verified

Roles: ``manager`` sees aggregate pages only (counts, rates, curves of groups); ``clinician`` sees everything
a manager sees plus patient-level views (e.g. individual trajectory lines); ``admin`` sees everything a
clinician sees and is the only one who may lower the small-cell threshold below 11 on screen (clinicians too
when ``clinicians_see_exact_counts = true``). Nothing that leaves the practice (downloads, the PDF, the command
line unless told ``--not-for-sharing``) ever goes below 11 (:func:`shared_threshold`). Rules: e-mails are
compared case-insensitively without surrounding spaces; an exact e-mail entry beats a domain entry
(``@northside.org`` matches anyone at northside.org, not its sub-domains); someone on two lists has the higher
role (admin > clinician > manager); an empty or unverified e-mail has no role, and anyone without a role sees
nothing.

Fails closed (:func:`check_secrets`): ``[access]`` without ``[auth]`` (or the reverse), a misspelt or unknown
section (``[Auth]``, ``[oauth]``), a section that is not a table, an unknown key, a value of the wrong type, an
empty role list or no one on any list is a ``DataError`` naming every problem, and the dashboard stops.
Without either section there is no sign-in: the server must listen on 127.0.0.1 only (``server_address``),
and whoever uses it there counts as an admin (they hold the database file and the command line anyway).

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
ADMIN = "admin"
ROLES = (MANAGER, CLINICIAN, ADMIN)
#: the [access] list of each role, highest role first (someone on two lists has the higher role)
ROLE_LISTS = {"admins": ADMIN, "clinicians": CLINICIAN, "managers": MANAGER}

#: the lowest small-cell threshold of anything that leaves the practice (downloads, the PDF, shared JSON)
MIN_SHARED_THRESHOLD = 11

#: the sections and keys this module reads
AUTH_SECTION = "auth"
ACCESS_SECTION = "access"
SECTIONS = (AUTH_SECTION, ACCESS_SECTION)
ACCESS_FLAGS = ("require_verified_email", "clinicians_see_exact_counts")
ACCESS_KEYS = ("managers", "clinicians", "admins", *ACCESS_FLAGS)
#: what st.login needs in [auth] (the provider keys may sit in a sub-section such as [auth.google])
AUTH_KEYS = ("redirect_uri", "cookie_secret")
AUTH_PROVIDER_KEYS = ("client_id", "client_secret", "server_metadata_url")
#: every key Streamlit reads in [auth] (text unless named below) and in a provider sub-section
AUTH_KNOWN = (*AUTH_KEYS, *AUTH_PROVIDER_KEYS, "client_kwargs", "expose_tokens")
PROVIDER_KNOWN = (*AUTH_PROVIDER_KEYS, "client_kwargs")

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
    admins: frozenset[str] = frozenset()
    clinicians_see_exact_counts: bool = False


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
    unknown = sorted(set(section) - set(ACCESS_KEYS), key=str)
    if unknown:
        raise DataError(f"unknown key {unknown[0]!r} in [access]; allowed: {', '.join(ACCESS_KEYS)}")
    flags = {}
    for flag, default in zip(ACCESS_FLAGS, (True, False)):
        flags[flag] = section.get(flag, default)
        if not isinstance(flags[flag], bool):
            raise DataError(f"[access] {flag} must be true or false, got {flags[flag]!r}")
    managers, clinicians, admins = (_entries(section, k) for k in ("managers", "clinicians", "admins"))
    notes = () if managers or clinicians or admins else ("the [access] lists are empty: nobody can see data",)
    return AccessList(
        managers,
        clinicians,
        flags["require_verified_email"],
        notes,
        admins=admins,
        clinicians_see_exact_counts=flags["clinicians_see_exact_counts"],
    )


def _suggest(name: str) -> str:
    lowered = name.strip().lower()
    for known in SECTIONS:
        if lowered == known or known in lowered or (len(lowered) > 2 and lowered in known):
            return f" (did you mean [{known}]?)"
    return ""


def _auth_shape_problems(auth: Mapping) -> list[str]:
    """Unknown keys and wrong types in [auth] and its provider sub-sections."""
    problems = []
    for key, value in auth.items():
        if isinstance(value, Mapping) and key not in AUTH_KNOWN:  # a provider: [auth.google]
            problems += [f"[auth.{key}] has an unknown key {k!r}" for k in value if k not in PROVIDER_KNOWN]
            problems += [
                f"[auth.{key}] {k} must be text"
                for k in AUTH_PROVIDER_KEYS
                if k in value and not isinstance(value[k], str)
            ]
            if "client_kwargs" in value and not isinstance(value["client_kwargs"], Mapping):
                problems.append(f"[auth.{key}] client_kwargs must be a table")
        elif key not in AUTH_KNOWN:
            problems.append(f"[auth] has an unknown key {key!r}; known: {', '.join(AUTH_KNOWN)}")
        elif key == "client_kwargs":
            if not isinstance(value, Mapping):
                problems.append("[auth] client_kwargs must be a table")
        elif key == "expose_tokens":
            if not (isinstance(value, str) or (isinstance(value, list) and all(isinstance(v, str) for v in value))):
                problems.append('[auth] expose_tokens must be "id", "access" or a list of them')
        elif not isinstance(value, str):
            problems.append(f"[auth] {key} must be text, got {type(value).__name__}")
    return problems


def check_secrets(secrets: Mapping | None) -> AccessList | None:
    """The access list in force, checked whole; None when sign-in is off (neither [auth] nor [access]).

    Fails closed: anything incomplete or unknown is a DataError listing every problem (see the module doc)."""
    if secrets is None:
        return None
    if not isinstance(secrets, Mapping):
        raise TypeError(f"check_secrets expects the secrets as a mapping, got {type(secrets).__name__}")
    problems = [
        f"unknown section [{key}]{_suggest(str(key))}: this dashboard reads only [auth] and [access]"
        for key in secrets
        if key not in SECTIONS
    ]
    auth, section = secrets.get(AUTH_SECTION), secrets.get(ACCESS_SECTION)
    has_auth, has_access = AUTH_SECTION in secrets, ACCESS_SECTION in secrets
    if not has_auth and not has_access:
        if problems:
            raise DataError("; ".join(problems))
        return None
    if has_auth and not isinstance(auth, Mapping):
        problems.append(f"[auth] must be a table (a [auth] section with its keys), got {type(auth).__name__}")
    if has_access and not isinstance(section, Mapping):
        problems.append(f"[access] must be a table (a [access] section with its lists), got {type(section).__name__}")
    if not has_auth:
        problems.append("[access] is set but [auth] is missing: without sign-in nobody can be told apart")
    if not has_access:
        problems.append(
            "[auth] is set but [access] is missing: list who may see the data (admins, clinicians, managers)"
        )
    if isinstance(auth, Mapping):
        problems += _auth_shape_problems(auth)
        problems += [p for p in auth_problems(secrets) if p not in problems]
    policy = None
    if isinstance(section, Mapping):
        try:
            policy = access_list(secrets)
        except DataError as e:
            problems.append(str(e))
        else:
            problems += [
                f"[access] {key} is an empty list: list e-mails or @domains, or leave the key out"
                for key in ROLE_LISTS
                if key in section and not section[key]
            ]
            if policy.notes:
                problems.append("no one is on any [access] list (admins, clinicians, managers): nobody could see data")
    if problems:
        raise DataError("; ".join(dict.fromkeys(problems)))
    return policy


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
        if key in policy.admins:
            return ADMIN
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
    """Patient-level views (one line per patient): clinicians and admins."""
    _check_role(role)
    return role in (CLINICIAN, ADMIN)


def can_view_audit(role: str | None) -> bool:
    """The audit log: managers (and clinicians and admins, who have every manager right)."""
    return can_view_aggregate(role)


def can_lower_threshold(role: str | None, policy: AccessList | None = None) -> bool:
    """Whether ``role`` may set the small-cell threshold below 11 on screen: admins; clinicians only when the
    access list says ``clinicians_see_exact_counts = true``; managers never."""
    _check_role(role)
    if role == ADMIN:
        return True
    return role == CLINICIAN and policy is not None and policy.clinicians_see_exact_counts


def screen_threshold(requested: int, role: str | None, policy: AccessList | None = None) -> tuple[int, str | None]:
    """(the threshold in force on screen, a message when the requested one was held at 11).

    A threshold of 11 or more is anyone's choice; a lower one only :func:`can_lower_threshold`'s."""
    requested = int(requested)
    if requested >= MIN_SHARED_THRESHOLD or can_lower_threshold(role, policy):
        return requested, None
    return MIN_SHARED_THRESHOLD, (
        f"The small-cell threshold was held at {MIN_SHARED_THRESHOLD}: only an admin may lower it "
        f"(asked for {requested}; your role: {role or 'none'})."
    )


def shared_threshold(threshold: int) -> int:
    """The threshold of anything that leaves the practice: never below 11, whatever the screen shows."""
    return max(int(threshold), MIN_SHARED_THRESHOLD)


def cli_threshold(card: int, requested: int | None, not_for_sharing: bool) -> tuple[int, str | None]:
    """The command line's rule: (threshold, a note for stderr). Its output may be redirected to a file and
    shared, so it never goes below 11 unless ``--not-for-sharing`` is given; ``--threshold N`` under 11 without
    that flag is refused (DataError), a card's lower threshold is held at 11 with a note."""
    wanted = card if requested is None else int(requested)
    if wanted >= MIN_SHARED_THRESHOLD:
        return wanted, None
    if not_for_sharing:
        return wanted, (
            f"NOT FOR SHARING: counts from 1 to {MIN_SHARED_THRESHOLD - 1} are shown (threshold {wanted}); "
            "do not send this output outside the practice."
        )
    if requested is not None:
        raise DataError(
            f"--threshold {requested} is under {MIN_SHARED_THRESHOLD}: output that may be shared never shows "
            "smaller counts; add --not-for-sharing if this output stays inside the practice."
        )
    return MIN_SHARED_THRESHOLD, (
        f"the definition card's suppression_threshold {card} was held at {MIN_SHARED_THRESHOLD} (output that may "
        "be shared never shows smaller counts); add --not-for-sharing to use it."
    )
