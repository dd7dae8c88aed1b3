"""
ops/jitsi/clinic.env, the docker-jitsi-meet settings the clinic ships: the ones that keep the
patient from ever becoming moderator are all there, the app's settings pair with Prosody's, and
a token the app signs with them is one that Prosody, configured by the file, accepts and reads
as "owner" for the doctor only. Why each setting: docs/jitsi.md.
"""

import datetime as dt
from pathlib import Path

import jwt
import pytest
from django.conf import settings
from django.core import checks
from freezegun import freeze_time

from telemedicine.checks import check_jitsi_mode
from telemedicine.tests.shortcuts import prosody_token_affiliation, telemedicine
from telemedicine.tokens import MIN_SECRET_LENGTH, room_token

CLINIC_ENV = Path(settings.BASE_DIR) / "ops" / "jitsi" / "clinic.env"
# docker-jitsi-meet's templates read booleans with sprig's toBool.
TRUE = {"1", "true"}
FALSE = {"0", "false"}
START = dt.datetime(2030, 1, 15, 10, 0, tzinfo=dt.UTC)


def parse_env(text: str) -> dict[str, str]:
    """KEY=VALUE lines, as docker compose reads an env file; a name set twice is an error here."""
    values: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        assert sep, f"line {number} is not NAME=value: {line!r}"
        assert name.isidentifier(), f"line {number} does not start with a name: {line!r}"
        assert name not in values, f"{name} is set twice (line {number})"
        values[name] = value
    return values


def modules(value: str) -> list[str]:
    return [name.strip() for name in value.split(",") if name.strip()]


@pytest.fixture(scope="module")
def env() -> dict[str, str]:
    return parse_env(CLINIC_ENV.read_text())


@pytest.mark.parametrize(
    "name,allowed",
    [
        # Prosody admits token holders only, and nobody without one.
        ("ENABLE_AUTH", TRUE),
        ("AUTH_TYPE", {"jwt"}),
        ("ENABLE_GUESTS", FALSE),
        ("JWT_ALLOW_EMPTY", FALSE),
        # Nobody is made owner by being authenticated, arriving first or counting as the host.
        ("JICOFO_ENABLE_AUTH", FALSE),
        ("ENABLE_AUTO_OWNER", FALSE),
        ("WAIT_FOR_HOST_DISABLE_AUTO_OWNERS", TRUE),
        # The doctor's room page switches the lobby on.
        ("ENABLE_LOBBY", TRUE),
    ],
)
def test_clinic_env_keeps_the_setting(env, name, allowed):
    assert env.get(name, "").lower() in allowed, f"{name}={env.get(name)!r} in {CLINIC_ENV}"


def test_clinic_env_lets_the_token_decide_who_is_owner(env):
    assert "token_affiliation" in modules(env.get("XMPP_MUC_MODULES", ""))


@pytest.mark.parametrize("name", ["XMPP_MODULES", "XMPP_MUC_MODULES", "XMPP_INTERNAL_MUC_MODULES", "GLOBAL_MODULES"])
@pytest.mark.parametrize("module", ["muc_allowners", "muc_wait_for_host", "token_affiliation_legacy"])
def test_clinic_env_loads_no_module_that_makes_token_holders_owners(env, name, module):
    # muc_allowners makes every occupant owner; muc_wait_for_host counts every token holder as the
    # host; the legacy token_affiliation would duplicate the one jitsi-meet ships.
    assert module not in modules(env.get(name, ""))


def test_clinic_env_accepts_only_this_apps_tokens(env):
    app_id = env["JITSI_APP_ID"]
    assert env["JWT_APP_ID"] == app_id
    assert modules(env["JWT_ACCEPTED_ISSUERS"]) == [app_id]
    assert modules(env["JWT_ACCEPTED_AUDIENCES"]) == [app_id]


def test_clinic_env_pairs_the_app_with_this_server(env):
    assert env["JITSI_MODE"] == "self_hosted"
    assert env["PUBLIC_URL"] == f"https://{env['JITSI_DOMAIN']}"
    # The app reads the secret from a file; no secret of the app's is written in the env file.
    assert env["JITSI_APP_SECRET_FILE"].startswith("/")
    assert "JITSI_APP_SECRET" not in env


def test_clinic_env_secret_is_a_placeholder_the_app_refuses(env, tmp_path):
    secret_file = tmp_path / "jitsi_app_secret"
    secret_file.write_text(env["JWT_APP_SECRET"] + "\n")
    assert len(env["JWT_APP_SECRET"]) < MIN_SECRET_LENGTH
    with telemedicine(**app_settings(env, secret_file)):
        assert [error.id for error in check_jitsi_mode(None)] == ["telemedicine.E013"]


def app_settings(env: dict[str, str], secret_file: Path) -> dict:
    return {
        "JITSI_MODE": env["JITSI_MODE"],
        "JITSI_DOMAIN": env["JITSI_DOMAIN"],
        "JITSI_APP_ID": env["JITSI_APP_ID"],
        "JITSI_APP_SECRET": "",
        "JITSI_APP_SECRET_FILE": str(secret_file),
    }


@pytest.mark.parametrize("who,affiliation", [("doctor", "owner"), ("patient", "member")])
def test_a_token_signed_with_the_clinic_env_is_accepted_and_makes_only_the_doctor_owner(
    env, tmp_path, make_appointment, request, who, affiliation
):
    # The operator replaces the placeholder with a generated secret, in Prosody and in the app's file.
    secret = "generated-for-this-test-" + "x" * MIN_SECRET_LENGTH
    secret_file = tmp_path / "jitsi_app_secret"
    secret_file.write_text(secret + "\n")
    visit = make_appointment(date=START.date(), time=START.time(), is_telemedicine=True)
    user = request.getfixturevalue(who)
    with telemedicine(**app_settings(env, secret_file)), freeze_time(START):
        assert [message for message in check_jitsi_mode(None) if message.level >= checks.ERROR] == []
        token = room_token(visit, user, START)
        # What Prosody checks (token/util.lib.lua verify_token): the signature with app_secret,
        # `iss` among asap_accepted_issuers, `aud` among asap_accepted_audiences, a `room` claim.
        claims = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            issuer=modules(env["JWT_ACCEPTED_ISSUERS"]),
            audience=modules(env["JWT_ACCEPTED_AUDIENCES"]),
        )
    assert claims["room"] == visit.jitsi_room_name
    assert prosody_token_affiliation(claims["context"]["user"]) == affiliation
