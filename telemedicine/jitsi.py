"""How the room page talks to Jitsi: the External API's options, built from settings."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from django.http import HttpResponse

from .access import call_ends_in_seconds, planned_end
from .conf import JAAS, jitsi_domain, jitsi_mode, telemedicine_setting, uses_tokens
from .tokens import Participant, jitsi_room_name, participant, room_token

if TYPE_CHECKING:
    from appointments.models import Appointment

    from .access import Person

# Toolbar offered to both people. Recording and live streaming are added only when
# the clinic enables recording; invitations and sharing links are never offered.
TOOLBAR_BUTTONS = [
    "camera",
    "chat",
    "desktop",
    "filmstrip",
    "fullscreen",
    "hangup",
    "microphone",
    "noisesuppression",
    "participants-pane",
    "raisehand",
    "select-background",
    "settings",
    "tileview",
    "toggle-camera",
    "videoquality",
]
RECORDING_BUTTONS = ["recording"]


def external_api_url() -> str:
    if jitsi_mode() == JAAS:
        # JaaS serves the External API under the tenant (developer.8x8.com/jaas/docs/iframe-api-integration).
        return f"https://{jitsi_domain()}/{telemedicine_setting('JAAS_APP_ID')}/external_api.js"
    return f"https://{jitsi_domain()}/external_api.js"


def jitsi_origin() -> str:
    return f"https://{jitsi_domain()}"


def config_overwrite() -> dict:
    recording = bool(telemedicine_setting("RECORDING_ENABLED"))
    stun_servers = [{"urls": url} for url in telemedicine_setting("WEBRTC_STUN_SERVERS")]
    config = {
        "startWithAudioMuted": True,
        "startWithVideoMuted": False,
        "enableWelcomePage": False,
        "prejoinPageEnabled": True,
        "prejoinConfig": {"enabled": True},
        "disableInviteFunctions": True,
        "disableDeepLinking": True,
        "toolbarButtons": TOOLBAR_BUTTONS + (RECORDING_BUTTONS if recording else []),
        "fileRecordingsEnabled": recording,
        "liveStreamingEnabled": False,
        "localRecording": {"disable": not recording},
        "recordingService": {"enabled": recording},
        "transcription": {"enabled": False},
    }
    if stun_servers:
        config["p2p"] = {"stunServers": stun_servers}
    if lobby_enabled():
        # Whoever is not moderator knocks by themselves and can chat with the doctor while waiting.
        config["lobby"] = {"autoKnock": True, "enableChat": True}
    return config


def lobby_enabled() -> bool:
    """Only token modes make the doctor the moderator who can run a lobby."""
    return uses_tokens() and bool(telemedicine_setting("JITSI_LOBBY_ENABLED"))


def interface_config_overwrite() -> dict:
    return {
        "SHOW_JITSI_WATERMARK": False,
        "SHOW_WATERMARK_FOR_GUESTS": False,
        "MOBILE_APP_PROMO": False,
        "DISABLE_JOIN_LEAVE_NOTIFICATIONS": False,
    }


def room_options(appointment: Appointment, who: Person | Participant, now: datetime) -> dict:
    """
    Everything the room page's bootstrap script hands to JitsiMeetExternalAPI, and
    when it must end the call. Only ever built for someone room_access() (or, for a
    guest, guest_access()) allowed: in token modes it carries their freshly signed token.
    """
    person = participant(who, appointment)
    is_doctor = person.moderator
    options = {
        "roomName": jitsi_room_name(appointment),
        "userInfo": {"displayName": person.name},
        "configOverwrite": config_overwrite(),
        "interfaceConfigOverwrite": interface_config_overwrite(),
    }
    token = room_token(appointment, person, now)
    if token:
        options["jwt"] = token
    return {
        "domain": jitsi_domain(),
        "options": options,
        "endsInSeconds": call_ends_in_seconds(appointment, now),
        "plannedEndsInSeconds": max(0, int((planned_end(appointment) - now).total_seconds())),
        "isModerator": is_doctor,
        # The doctor, moderator by token, switches the lobby on once Jitsi confirms the role.
        "enableLobby": is_doctor and lobby_enabled(),
        # Only a moderator by token can end the meeting for everyone.
        "canEndForAll": is_doctor and uses_tokens(),
    }


def open_to_jitsi(response: HttpResponse) -> HttpResponse:
    """
    Let a room page load Jitsi: its CSP names the Jitsi origin for the script and the frame,
    and its Permissions-Policy lets that origin use the camera, microphone and screen.
    """
    # What django-csp's @csp_replace sets, but computed per request (the Jitsi origin follows the settings).
    response._csp_replace = room_csp()  # type: ignore[attr-defined]
    response["Permissions-Policy"] = room_permissions_policy()
    return response


def room_csp() -> dict:
    """CSP additions for the room page: the External API script and its iframe, nothing else."""
    return {"script-src": ["'self'", jitsi_origin()], "frame-src": [jitsi_origin()]}


def room_permissions_policy() -> str:
    origin = f'"{jitsi_origin()}"'
    return (
        f"camera=(self {origin}), microphone=(self {origin}), display-capture=(self {origin}), "
        "geolocation=(), payment=(), usb=()"
    )
