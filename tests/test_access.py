"""analysis.access: roles from the [access] allow-list, and whether sign-in is configured."""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from analysis.access import (
    ALL_ADDRESSES,
    CLINICIAN,
    LOCAL_ADDRESS,
    MANAGER,
    AccessList,
    access_list,
    auth_configured,
    auth_problems,
    can_view_aggregate,
    can_view_audit,
    can_view_patient_level,
    load_secrets,
    role_for,
    role_for_user,
    server_address,
)
from analysis.errors import DataError

SECRETS = {
    "auth": {
        "redirect_uri": "http://localhost:8501/oauth2callback",
        "cookie_secret": "x" * 32,
        "client_id": "c",
        "client_secret": "s",
        "server_metadata_url": "http://127.0.0.1:9000/.well-known/openid-configuration",
    },
    "access": {
        "managers": ["alice@clinic.org", "@northside.org", "dora@clinic.org"],
        "clinicians": ["bob@clinic.org", "@clinic.org", "dora@clinic.org"],
    },
}


@pytest.mark.parametrize(
    "email, role",
    [
        ("alice@clinic.org", MANAGER),  # exact e-mail beats the clinician domain @clinic.org
        ("bob@clinic.org", CLINICIAN),
        ("carol@clinic.org", CLINICIAN),  # by domain
        ("zed@northside.org", MANAGER),  # by domain
        ("dora@clinic.org", CLINICIAN),  # on both lists: the higher role
        ("eve@elsewhere.org", None),
        ("eve@sub.northside.org", None),  # a domain entry does not cover sub-domains
        ("eve@northside.org.evil.com", None),
        ("northside.org", None),
        ("", None),
        (None, None),
    ],
)
def test_roles_follow_the_allow_list(email, role):
    assert role_for(email, SECRETS) == role


def test_e_mails_are_compared_without_case_or_surrounding_spaces():
    assert role_for("  Alice@CLINIC.org ", SECRETS) == MANAGER
    assert role_for("X@NorthSide.ORG", {"access": {"managers": ["@NORTHSIDE.org"]}}) == MANAGER


def test_an_unverified_e_mail_has_no_role_unless_the_list_says_verification_is_not_required():
    assert role_for("bob@clinic.org", SECRETS, email_verified=False) is None
    assert role_for("bob@clinic.org", SECRETS, email_verified=None) is None
    assert role_for("bob@clinic.org", SECRETS, email_verified="true") == CLINICIAN
    relaxed = {"access": {"clinicians": ["bob@clinic.org"], "require_verified_email": False}}
    assert role_for("bob@clinic.org", relaxed, email_verified=None) == CLINICIAN


def test_a_signed_in_users_claims_give_the_role():
    user = {"is_logged_in": True, "email": "bob@clinic.org", "email_verified": True, "name": "Bob"}
    assert role_for_user(user, SECRETS) == CLINICIAN
    assert role_for_user({**user, "email_verified": False}, SECRETS) is None
    assert role_for_user({k: v for k, v in user.items() if k != "email_verified"}, SECRETS) is None
    assert role_for_user({**user, "is_logged_in": False}, SECRETS) is None
    assert role_for_user({}, SECRETS) is None and role_for_user(None, SECRETS) is None


def test_without_an_access_section_nobody_has_a_role_and_a_note_says_so():
    assert role_for("alice@clinic.org", {"auth": SECRETS["auth"]}) is None
    assert "nobody" in access_list({"auth": SECRETS["auth"]}).notes[0]
    assert "nobody" in access_list({"access": {"managers": []}}).notes[0]
    assert access_list(SECRETS).notes == ()


def test_the_parsed_list_is_normalised_and_reusable():
    parsed = access_list({"access": {"managers": [" A@X.org "], "clinicians": ["@Y.org"]}})
    assert parsed == AccessList(frozenset({"a@x.org"}), frozenset({"@y.org"}), True, ())
    assert access_list(parsed) is parsed and role_for("b@y.org", parsed) == CLINICIAN


@pytest.mark.parametrize(
    "section, message",
    [
        ({"manager": ["a@b.org"]}, "unknown key 'manager' in \\[access\\]; allowed: managers, clinicians"),
        ({"managers": "a@b.org"}, "must be a list"),
        ({"managers": ["northside.org"]}, "neither an e-mail"),
        ({"managers": ["a@"]}, "neither an e-mail"),
        ({"managers": ["a@@b.org"]}, "neither an e-mail"),
        ({"managers": ["a b@c.org"]}, "neither an e-mail"),
        ({"managers": [42]}, "neither an e-mail"),
        ({"require_verified_email": "no"}, "true or false"),
    ],
)
def test_a_malformed_allow_list_is_a_data_error_that_says_the_fix(section, message):
    with pytest.raises(DataError, match=message):
        role_for("a@b.org", {"access": section})


def test_access_must_be_a_table_and_secrets_a_mapping():
    with pytest.raises(DataError, match="must be a table"):
        access_list({"access": ["a@b.org"]})
    with pytest.raises(TypeError, match="mapping"):
        access_list("a@b.org")


def test_managers_see_aggregates_and_the_audit_but_only_clinicians_see_patient_level_views():
    assert [can_view_aggregate(r) for r in (MANAGER, CLINICIAN, None)] == [True, True, False]
    assert [can_view_patient_level(r) for r in (MANAGER, CLINICIAN, None)] == [False, True, False]
    assert [can_view_audit(r) for r in (MANAGER, CLINICIAN, None)] == [True, True, False]
    with pytest.raises(ValueError, match="unknown role 'superuser'"):
        can_view_patient_level("superuser")


emails = st.emails()


OTHERS = {"access": {"managers": ["someone@clinic.invalid"], "clinicians": ["@other.invalid"]}}


@settings(max_examples=60)
@given(email=emails)
def test_anyone_not_on_the_list_has_no_role(email):
    assume(email.lower() != "someone@clinic.invalid" and not email.lower().endswith("@other.invalid"))
    assert role_for(email, OTHERS) is None


@settings(max_examples=60)
@given(email=emails)
def test_listing_a_domain_gives_everyone_at_it_that_role(email):
    domain = email.rpartition("@")[2]
    assert role_for(email, {"access": {"managers": ["@" + domain.upper()]}}) == MANAGER
    assert role_for(email, {"access": {"managers": ["@" + domain], "clinicians": [email]}}) == CLINICIAN


def test_sign_in_is_configured_only_by_an_auth_table():
    assert auth_configured(SECRETS)
    assert not auth_configured({}) and not auth_configured(None) and not auth_configured({"access": {}})
    assert not auth_configured({"auth": "yes"})


def test_without_sign_in_the_server_listens_on_127_0_0_1_only():
    assert server_address({}) == LOCAL_ADDRESS
    assert server_address({"access": SECRETS["access"]}) == LOCAL_ADDRESS
    assert server_address(SECRETS) == ALL_ADDRESSES


def test_auth_problems_name_each_missing_setting():
    assert auth_problems(SECRETS) == () and auth_problems({}) == ()
    half = {"auth": {"redirect_uri": "http://localhost:8501/callback", "client_id": "c"}}
    problems = auth_problems(half)
    assert "[auth] has no 'cookie_secret'" in problems
    assert "[auth] provider settings have no 'server_metadata_url'" in problems
    assert any("must end with /oauth2callback" in p for p in problems)
    named = {
        "auth": {
            **{k: SECRETS["auth"][k] for k in ("redirect_uri", "cookie_secret")},
            "google": {"client_id": "c", "client_secret": "s", "server_metadata_url": "u"},
        }
    }
    assert auth_problems(named) == ()


def test_secrets_load_from_toml_and_a_broken_file_is_a_data_error(tmp_path):
    assert load_secrets(tmp_path / "missing.toml") == {}
    good = tmp_path / "secrets.toml"
    good.write_text('[access]\nmanagers = ["alice@clinic.org"]\nclinicians = ["@clinic.org"]\n')
    assert role_for("bob@clinic.org", load_secrets(good)) == CLINICIAN
    bad = tmp_path / "bad.toml"
    bad.write_text("[access\nmanagers = [")
    with pytest.raises(DataError, match="is not valid TOML"):
        load_secrets(bad)
