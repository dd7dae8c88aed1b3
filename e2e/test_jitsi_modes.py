"""
The room page in each Jitsi mode hands the External API the right domain, room and
token; in the token modes the doctor runs the lobby and can end the visit for everyone.

external_api.js is the e2e Jitsi double, served at the mode's own script URL (the
harness answers whatever telemedicine.jitsi.external_api_url() says), so these tests
also prove that the page's CSP lets that script in.
"""

from datetime import timedelta

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.urls import reverse
from playwright.sync_api import expect

APP_ID = "clinic-app"
SECRET = "s3cret-for-browser-tests-only-0123456789-abcdef"
DOMAIN = "video.clinic.example"
TENANT = "vpaas-magic-cookie-1fc542a3e4414a44b2611668195e2bfe"
KID = f"{TENANT}/4f4910"

MODES = {
    # mode: (domain the page hands to Jitsi, room-name prefix, external_api.js URL)
    "public": ("meet.jit.si", "", "https://meet.jit.si/external_api.js"),
    "self_hosted": (DOMAIN, "", f"https://{DOMAIN}/external_api.js"),
    "jaas": ("8x8.vc", f"{TENANT}/", f"https://8x8.vc/{TENANT}/external_api.js"),
}


@pytest.fixture(scope="module")
def jaas_keys(tmp_path_factory):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path_factory.mktemp("jaas") / "private.pem"
    path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return path, key.public_key()


@pytest.fixture
def jitsi_mode(telemedicine_settings, jaas_keys):
    def choose(mode):
        telemedicine_settings(
            JITSI_MODE=mode,
            JITSI_DOMAIN=DOMAIN if mode == "self_hosted" else None,
            JITSI_APP_ID=APP_ID,
            JITSI_APP_SECRET=SECRET,
            JAAS_APP_ID=TENANT,
            JAAS_KID=KID,
            JAAS_PRIVATE_KEY_PATH=str(jaas_keys[0]),
            JITSI_LOBBY_ENABLED=True,
        )

    return choose


def verify(mode, token, jaas_keys):
    if mode == "self_hosted":
        return jwt.decode(token, SECRET, algorithms=["HS256"], audience=APP_ID, issuer=APP_ID)
    return jwt.decode(token, jaas_keys[1], algorithms=["RS256"], audience="jitsi", issuer="chat")


def open_room(page, appointment, live_server):
    scripts = []
    page.on("request", lambda request: request.resource_type == "script" and scripts.append(request.url))
    page.goto(f"{live_server.url}{reverse('telemedicine:jitsi-room', args=[appointment.pk])}")
    page.wait_for_function("window.__jitsiCalls && window.__jitsiCalls.length === 1")
    return scripts


@pytest.mark.parametrize("who", ["doctor", "patient"])
@pytest.mark.parametrize("mode", list(MODES))
def test_room_page_hands_jitsi_the_modes_domain_room_and_token(
    mode, who, request, jitsi_mode, jaas_keys, page_for, jitsi_calls, appointment_starting_in, live_server
):
    jitsi_mode(mode)
    visit = appointment_starting_in(timedelta(minutes=2), is_telemedicine=True)
    user = request.getfixturevalue(who)
    page = page_for(user)

    scripts = open_room(page, visit, live_server)

    domain, prefix, script_url = MODES[mode]
    assert script_url in scripts
    [call] = jitsi_calls(page)
    assert call["domain"] == domain
    visit.refresh_from_db()
    assert call["options"]["roomName"] == prefix + visit.jitsi_room_name
    if mode == "public":
        assert "jwt" not in call["options"]
        return
    claims = verify(mode, call["options"]["jwt"], jaas_keys)
    assert claims["room"] == visit.jitsi_room_name
    assert claims["sub"] == (DOMAIN if mode == "self_hosted" else TENANT)
    assert claims["context"]["user"]["id"] == str(user.pk)
    assert claims["context"]["user"]["moderator"] == ("true" if who == "doctor" else "false")


@pytest.mark.parametrize("mode", ["self_hosted", "jaas"])
def test_doctor_turns_the_lobby_on_and_ends_the_visit_for_everyone(
    mode, doctor, jitsi_mode, page_for, jitsi, appointment_starting_in, live_server
):
    jitsi_mode(mode)
    visit = appointment_starting_in(timedelta(minutes=2), is_telemedicine=True)
    page = page_for(doctor)
    open_room(page, visit, live_server)

    # Jitsi confirms the doctor's token made them moderator: the lobby goes on.
    jitsi.emit(page, "participantRoleChanged", {"id": "doctor-endpoint", "role": "moderator"})
    assert {"name": "toggleLobby", "args": [True]} in jitsi.commands(page)

    jitsi.emit(page, "participantJoined", {"id": "patient-endpoint", "displayName": "Pat Ient"})
    end_for_all = page.get_by_role("button", name="End the visit for everyone")
    expect(end_for_all).to_be_visible()
    end_for_all.click()

    names = [command["name"] for command in jitsi.commands(page)]
    assert names[-3:] == ["endConference", "kickParticipant", "hangup"]
    assert {"name": "kickParticipant", "args": ["patient-endpoint"]} in jitsi.commands(page)
    expect(page.get_by_role("status").filter(has_text="You ended the visit for everyone")).to_be_visible()


@pytest.mark.parametrize(
    "mode,who",
    [("self_hosted", "patient"), ("jaas", "patient"), ("public", "doctor")],
)
def test_no_lobby_switch_or_end_for_everyone_without_a_moderator_token(
    mode, who, request, jitsi_mode, page_for, jitsi, appointment_starting_in, live_server
):
    jitsi_mode(mode)
    visit = appointment_starting_in(timedelta(minutes=2), is_telemedicine=True)
    page = page_for(request.getfixturevalue(who))
    open_room(page, visit, live_server)

    jitsi.emit(page, "participantRoleChanged", {"id": "someone", "role": "moderator"})
    assert jitsi.commands(page) == []
    expect(page.get_by_role("button", name="End the visit for everyone")).to_be_hidden()
