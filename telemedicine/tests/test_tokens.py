"""
Jitsi tokens (telemedicine/tokens.py): every claim, the lifetime at the window's
edges, who is moderator, the JaaS room prefix, and that a token shows up nowhere
but the assigned person's own room page.
"""

import datetime as dt
import logging
import re
from zoneinfo import ZoneInfo

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from freezegun import freeze_time

from telemedicine.jitsi import external_api_url, room_csp, room_options, room_permissions_policy
from telemedicine.tests.shortcuts import prosody_token_affiliation, telemedicine
from telemedicine.tokens import room_token

LONDON = ZoneInfo("Europe/London")
# 15 Jan 2030, 10:00 in London (GMT = UTC): window 09:50:00 - 10:30:00 with the defaults.
START = dt.datetime(2030, 1, 15, 10, 0, tzinfo=LONDON)
OPENS = START - dt.timedelta(minutes=10)
CLOSES = START + dt.timedelta(minutes=30)
SECOND = dt.timedelta(seconds=1)

APP_ID = "clinic-app"
SECRET = "s3cret-for-tests-only-0123456789-abcdefghijklmnop"
DOMAIN = "video.clinic.example"
TENANT = "vpaas-magic-cookie-1fc542a3e4414a44b2611668195e2bfe"
KID = f"{TENANT}/4f4910"
# Any JWT: base64url JSON header and payload ("eyJ" is '{"'), then a signature.
ANY_JWT = re.compile(r"eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+")


def ts(moment: dt.datetime) -> int:
    return int(moment.timestamp())


@pytest.fixture(scope="module")
def rsa_key_files(tmp_path_factory):
    """A JaaS-style key pair: the private key for the app, the public key for verifying."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    folder = tmp_path_factory.mktemp("jaas")
    private_path = folder / "jaas-private.pem"
    private_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private_path, public_pem


def mode_settings(mode, private_key_path=None, **overrides):
    values = {
        "JITSI_MODE": mode,
        "JITSI_DOMAIN": DOMAIN if mode == "self_hosted" else None,
        "JITSI_APP_ID": APP_ID,
        "JITSI_APP_SECRET": SECRET,
        "JITSI_APP_SECRET_FILE": "",
        "JAAS_APP_ID": TENANT,
        "JAAS_KID": KID,
        "JAAS_PRIVATE_KEY_PATH": str(private_key_path or ""),
        "JAAS_FEATURES": [],
        "JITSI_LOBBY_ENABLED": True,
    }
    return telemedicine(**(values | overrides))


@pytest.fixture
def self_hosted():
    with mode_settings("self_hosted"):
        yield


@pytest.fixture
def jaas(rsa_key_files):
    with mode_settings("jaas", rsa_key_files[0]):
        yield


@pytest.fixture
def video_visit(make_appointment):
    return make_appointment(date=START.date(), time=START.time(), is_telemedicine=True)


def decode_self_hosted(token):
    return jwt.decode(token, SECRET, algorithms=["HS256"], audience=APP_ID, issuer=APP_ID)


def decode_jaas(token, public_pem):
    return jwt.decode(token, public_pem, algorithms=["RS256"], audience="jitsi", issuer="chat")


# --- Claims ---------------------------------------------------------------------------


@pytest.mark.parametrize("who,moderator,affiliation", [("doctor", "true", "owner"), ("patient", "false", "member")])
def test_self_hosted_token_carries_every_claim_prosody_checks(
    self_hosted, video_visit, request, who, moderator, affiliation
):
    user = request.getfixturevalue(who)
    with freeze_time(START):
        token = room_token(video_visit, user, START)
        claims = decode_self_hosted(token)
    assert jwt.get_unverified_header(token) == {"alg": "HS256", "typ": "JWT"}
    assert claims == {
        "iss": APP_ID,
        "aud": APP_ID,
        "sub": DOMAIN,
        "room": video_visit.jitsi_room_name,
        "iat": ts(START),
        "nbf": ts(OPENS),
        "exp": ts(CLOSES) + 1,
        "context": {
            "user": {
                "id": str(user.pk),
                "name": user.get_full_name(),
                "moderator": moderator,
                "affiliation": affiliation,
            }
        },
    }


@pytest.mark.parametrize("who,expected", [("doctor", "owner"), ("patient", "member")])
def test_self_hosted_token_makes_only_the_doctor_owner_under_token_affiliation(
    self_hosted, video_visit, request, who, expected
):
    user = request.getfixturevalue(who)
    with freeze_time(START):
        claims = decode_self_hosted(room_token(video_visit, user, START))
    assert prosody_token_affiliation(claims["context"]["user"]) == expected


# Every feature key 8x8 documents for context.features (developer.8x8.com/jaas/docs/api-keys-jwt).
JAAS_DOCUMENTED_FEATURES = (
    "livestreaming",
    "recording",
    "transcription",
    "sip-inbound-call",
    "sip-outbound-call",
    "inbound-call",
    "outbound-call",
    "file-upload",
    "list-visitors",
    "send-groupchat",
    "create-polls",
)
ALL_OFF = dict.fromkeys(JAAS_DOCUMENTED_FEATURES, "false")


@pytest.mark.parametrize("who,moderator", [("doctor", "true"), ("patient", "false")])
def test_jaas_token_carries_every_claim_jaas_documents(jaas, rsa_key_files, video_visit, request, who, moderator):
    user = request.getfixturevalue(who)
    with freeze_time(START):
        token = room_token(video_visit, user, START)
        claims = decode_jaas(token, rsa_key_files[1])
    assert jwt.get_unverified_header(token) == {"alg": "RS256", "typ": "JWT", "kid": KID}
    assert claims == {
        "iss": "chat",
        "aud": "jitsi",
        "sub": TENANT,
        # Bare: the tenant is in `sub`, and Prosody compares `room` with the room's own name.
        "room": video_visit.jitsi_room_name,
        "iat": ts(START),
        "nbf": ts(OPENS),
        "exp": ts(CLOSES) + 1,
        "context": {
            "user": {"id": str(user.pk), "name": user.get_full_name(), "moderator": moderator},
            # Every documented feature, each spelled out "false": none left to the tenant's defaults.
            "features": ALL_OFF,
        },
    }


@pytest.mark.parametrize(
    "enabled,who,expected",
    [
        (["recording"], "doctor", ALL_OFF | {"recording": "true"}),
        (
            ["transcription", "sip-outbound-call", "file-upload"],
            "doctor",
            ALL_OFF | {"transcription": "true", "sip-outbound-call": "true", "file-upload": "true"},
        ),
        (list(JAAS_DOCUMENTED_FEATURES), "doctor", dict.fromkeys(JAAS_DOCUMENTED_FEATURES, "true")),
        # The patient is never granted a feature, whatever the clinic enabled.
        (list(JAAS_DOCUMENTED_FEATURES), "patient", ALL_OFF),
    ],
)
def test_jaas_features_are_off_unless_enabled_and_only_for_the_doctor(
    rsa_key_files, video_visit, request, enabled, who, expected
):
    user = request.getfixturevalue(who)
    with mode_settings("jaas", rsa_key_files[0], JAAS_FEATURES=enabled), freeze_time(START):
        claims = decode_jaas(room_token(video_visit, user, START), rsa_key_files[1])
    assert claims["context"]["features"] == expected


def test_public_mode_mints_no_token(video_visit, doctor):
    with mode_settings("public"):
        assert room_token(video_visit, doctor, START) is None
        options = room_options(video_visit, doctor, START)
    assert "jwt" not in options["options"]
    assert options["enableLobby"] is False
    assert options["canEndForAll"] is False


def test_self_hosted_secret_can_come_from_a_file(video_visit, doctor, tmp_path):
    secret_file = tmp_path / "jitsi-secret"
    secret_file.write_text(SECRET + "\n")  # the trailing newline of `echo ... > file` is not part of it
    with mode_settings("self_hosted", JITSI_APP_SECRET="", JITSI_APP_SECRET_FILE=str(secret_file)), freeze_time(START):
        assert decode_self_hosted(room_token(video_visit, doctor, START))["sub"] == DOMAIN


# --- What the room page hands to the External API -----------------------------------------


@pytest.mark.parametrize(
    "mode,domain,room_prefix,script",
    [
        ("public", "meet.jit.si", "", "https://meet.jit.si/external_api.js"),
        ("self_hosted", DOMAIN, "", f"https://{DOMAIN}/external_api.js"),
        ("jaas", "8x8.vc", f"{TENANT}/", f"https://8x8.vc/{TENANT}/external_api.js"),
    ],
)
def test_each_mode_uses_its_domain_room_name_and_script(
    rsa_key_files, video_visit, doctor, mode, domain, room_prefix, script
):
    with mode_settings(mode, rsa_key_files[0]), freeze_time(START):
        options = room_options(video_visit, doctor, START)
        assert external_api_url() == script
        assert room_csp() == {"script-src": ["'self'", f"https://{domain}"], "frame-src": [f"https://{domain}"]}
        assert f'camera=(self "https://{domain}")' in room_permissions_policy()
    assert options["domain"] == domain
    assert options["options"]["roomName"] == room_prefix + video_visit.jitsi_room_name


@pytest.mark.parametrize("mode", ["self_hosted", "jaas"])
@pytest.mark.parametrize(
    "who,lobby_setting,enable_lobby,can_end",
    [
        ("doctor", True, True, True),
        ("patient", True, False, False),
        ("doctor", False, False, True),
    ],
)
def test_only_the_doctor_runs_the_lobby_and_ends_the_visit(
    rsa_key_files, video_visit, request, mode, who, lobby_setting, enable_lobby, can_end
):
    user = request.getfixturevalue(who)
    with mode_settings(mode, rsa_key_files[0], JITSI_LOBBY_ENABLED=lobby_setting), freeze_time(START):
        options = room_options(video_visit, user, START)
    assert options["enableLobby"] is enable_lobby
    assert options["canEndForAll"] is can_end
    assert ("lobby" in options["options"]["configOverwrite"]) is lobby_setting
    assert options["options"]["jwt"]


# --- Lifetime ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "minted_at,checked_at,valid",
    [
        (OPENS, OPENS - SECOND, False),  # not before the window opens
        (OPENS, OPENS, True),
        (START, START, True),
        (START, CLOSES, True),  # the window's last second is still inside
        (START, CLOSES + SECOND, False),  # and not a second longer
        (CLOSES, CLOSES, True),
        (CLOSES, CLOSES + SECOND, False),
    ],
)
def test_token_is_valid_exactly_while_the_window_is_open(
    self_hosted, video_visit, patient, minted_at, checked_at, valid
):
    with freeze_time(minted_at):
        token = room_token(video_visit, patient, minted_at)
    with freeze_time(checked_at):
        if valid:
            assert decode_self_hosted(token)["room"] == video_visit.jitsi_room_name
        else:
            with pytest.raises((jwt.ImmatureSignatureError, jwt.ExpiredSignatureError)):
                decode_self_hosted(token)


@pytest.mark.parametrize(
    "overrides,minted_at,expires_at",
    [
        # The room page ends a call MAX_SESSION_DURATION after it opened: so does the token.
        ({"MAX_SESSION_DURATION": 5}, OPENS, OPENS + dt.timedelta(minutes=5)),
        ({"MAX_SESSION_DURATION": 5}, CLOSES - dt.timedelta(minutes=2), CLOSES + SECOND),
        # ... or AUTO_END_SESSION_AFTER minutes after the start, when that comes first.
        ({"AUTO_END_SESSION_AFTER": 15}, START, START + dt.timedelta(minutes=15)),
        # A longer allowed session never stretches the token past the window.
        ({"AUTO_END_SESSION_AFTER": 120, "MAX_SESSION_DURATION": 240}, START, CLOSES + SECOND),
    ],
)
def test_token_never_outlives_the_call_the_room_page_allows(video_visit, doctor, overrides, minted_at, expires_at):
    with mode_settings("self_hosted", **overrides), freeze_time(minted_at):
        claims = decode_self_hosted(room_token(video_visit, doctor, minted_at))
    assert claims["exp"] == ts(expires_at)
    assert claims["exp"] <= ts(CLOSES) + 1


# --- Verification fails for anything but the genuine token -----------------------------------


def _flip_payload(token: str) -> str:
    """Make the patient a moderator without re-signing: what an attacker can do to a stolen token."""
    header, payload, signature = token.split(".")
    claims = jwt.api_jws.base64url_decode(payload.encode())
    forged = claims.replace(b'"moderator":"false"', b'"moderator":"true"')
    assert forged != claims
    return ".".join([header, jwt.utils.base64url_encode(forged).decode(), signature])


def test_tampered_self_hosted_token_fails_verification(self_hosted, video_visit, patient):
    with freeze_time(START):
        token = room_token(video_visit, patient, START)
        with pytest.raises(jwt.InvalidSignatureError):
            decode_self_hosted(_flip_payload(token))
        with pytest.raises(jwt.InvalidSignatureError):
            jwt.decode(token, "another-secret-of-sufficient-length-0123456789", algorithms=["HS256"], audience=APP_ID)


def test_tampered_jaas_token_fails_verification(jaas, rsa_key_files, video_visit, patient):
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    with freeze_time(START):
        token = room_token(video_visit, patient, START)
        with pytest.raises(jwt.InvalidSignatureError):
            decode_jaas(_flip_payload(token), rsa_key_files[1])
        with pytest.raises(jwt.InvalidSignatureError):
            decode_jaas(token, other_key)


def test_expired_token_fails_verification(self_hosted, video_visit, patient):
    with freeze_time(START):
        token = room_token(video_visit, patient, START)
    with freeze_time(START + dt.timedelta(hours=1)), pytest.raises(jwt.ExpiredSignatureError):
        decode_self_hosted(token)


# --- Where a token may appear: only the assigned person's own room page --------------------------


def _pages(appointment, other_appointment):
    detail = reverse("telemedicine:appointment-detail-telemedicine", args=[appointment.pk])
    status = reverse("telemedicine:check-telemedicine-status", args=[appointment.pk])
    room = reverse("telemedicine:jitsi-room", args=[appointment.pk])
    return {
        "dashboard": (reverse("appointments:dashboard"), {}),
        "detail": (detail, {}),
        "status": (status, {}),
        "status (htmx)": (status, {"HTTP_HX_REQUEST": "true"}),
        "other appointment's room": (reverse("telemedicine:jitsi-room", args=[other_appointment.pk]), {}),
        "own room": (room, {}),
    }


@pytest.fixture(params=["self_hosted", "jaas"])
def token_mode(request, rsa_key_files):
    with mode_settings(request.param, rsa_key_files[0]):
        yield request.param


@pytest.mark.parametrize("moment", [OPENS - SECOND, OPENS, START, CLOSES, CLOSES + SECOND])
@pytest.mark.parametrize("who", ["doctor", "patient", "other_doctor", "other_patient"])
def test_a_token_appears_only_on_the_assigned_persons_own_room_page_inside_the_window(
    token_mode, make_appointment, client_for, request, who, moment, caplog
):
    appointment = make_appointment(date=START.date(), time=START.time(), is_telemedicine=True)
    room_name = appointment.get_jitsi_room_name()  # before the requests: a stranger's never makes it
    other_doctor, other_patient = request.getfixturevalue("other_doctor"), request.getfixturevalue("other_patient")
    strangers_visit = make_appointment(
        date=START.date(), time=START.time(), is_telemedicine=True, doctor=other_doctor, patient=other_patient
    )
    user = request.getfixturevalue(who)
    participant = who in ("doctor", "patient")
    inside = OPENS <= moment <= CLOSES
    caplog.set_level(logging.DEBUG)
    with freeze_time(moment):
        client = client_for(user)  # the session must be fresh at the frozen instant
        responses = {
            name: client.get(url, **extra) for name, (url, extra) in _pages(appointment, strangers_visit).items()
        }
        own_token = room_token(appointment, user, moment) if participant and inside else None
    for name, response in responses.items():
        body = response.content.decode()
        assert response.status_code in (200, 286, 403, 404), name
        if name == "own room" and own_token:
            assert response.status_code == 200
            # Exactly one token, the person's own, on a page no cache may keep.
            assert ANY_JWT.findall(body) == [own_token]
            assert "no-store" in response["Cache-Control"]
        elif name == "other appointment's room" and who.startswith("other_") and inside:
            # The stranger's own appointment: their own token, never one for our appointment's room.
            assert room_name not in body
        else:
            assert not ANY_JWT.search(body), f"token on {name} for {who} at {moment:%H:%M:%S}"
    # Never in a log line, at any level.
    assert not ANY_JWT.search(caplog.text)
    for record in caplog.records:
        assert not ANY_JWT.search(str(record.args)), record.getMessage()


def test_tokens_never_reach_the_audit_trail(token_mode, video_visit, doctor, patient, client_for):
    try:
        from telemedicine.models import AccessEvent
    except ImportError:
        pytest.fail("telemedicine.models.AccessEvent is expected to exist")
    url = reverse("telemedicine:jitsi-room", args=[video_visit.pk])
    with freeze_time(START):
        for user in (doctor, patient):
            assert ANY_JWT.search(client_for(user).get(url).content.decode())
    rows = list(AccessEvent.objects.values())
    assert rows, "the room visits were audited"
    for row in rows:
        assert not ANY_JWT.search(repr(row))


def test_minting_a_token_adds_no_database_query(rsa_key_files, video_visit, doctor, client_for):
    url = reverse("telemedicine:jitsi-room", args=[video_visit.pk])
    counts = {}
    with freeze_time(START):
        client = client_for(doctor)
        client.get(url)  # the room name is created on first use; compare later requests
        for mode in ("public", "self_hosted", "jaas"):
            with mode_settings(mode, rsa_key_files[0]), CaptureQueriesContext(connection) as queries:
                assert client.get(url).status_code == 200
            counts[mode] = len(queries)
    assert counts["self_hosted"] == counts["public"] == counts["jaas"]


@pytest.mark.parametrize(
    "mode,overrides",
    [
        ("self_hosted", {"JITSI_APP_SECRET": ""}),
        ("jaas", {"JAAS_PRIVATE_KEY_PATH": "/nonexistent/key.pem"}),
    ],
)
def test_a_broken_token_setup_is_a_plain_503_not_a_traceback(video_visit, patient, client_for, caplog, mode, overrides):
    with mode_settings(mode, **overrides), freeze_time(START):
        response = client_for(patient).get(reverse("telemedicine:jitsi-room", args=[video_visit.pk]))
    html = response.content.decode()
    assert response.status_code == 503
    assert "video service is not set up correctly" in html
    assert "Please call Riverside Clinic on 020 7946 0000: your doctor can continue the visit by phone." in html
    assert "jitsi-options" not in html
    assert "Traceback" not in html
    assert any("room tokens cannot be made" in record.getMessage() for record in caplog.records)
