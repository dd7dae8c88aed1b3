"""TELEMEDICINE_SETTINGS, read at call time so that override_settings (and tests) take effect."""

from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    "CALL_WINDOW_BEFORE": 10,
    "CALL_WINDOW_AFTER": 30,
    "ENABLE_JITSI_INTEGRATION": True,
    "JITSI_DOMAIN": None,
    "WEBRTC_STUN_SERVERS": [],
    "RECORDING_ENABLED": False,
    "RECORDING_PATH": "",
    "DEFAULT_SESSION_DURATION": 30,
    "MAX_SESSION_DURATION": 60,
    "AUTO_END_SESSION_AFTER": 45,
    "STATUS_POLL_INTERVAL": 10,
    "SESSION_KEEPALIVE_LEAD": 60,
    # Seconds between the doctor's "Waiting now" panel's polls: while someone waits, and otherwise.
    "WAITING_PANEL_POLL_BUSY": 5,
    "WAITING_PANEL_POLL_IDLE": 15,
    # Jitsi server modes and their secrets (see telemedicine/tokens.py).
    "JITSI_MODE": "public",
    "JITSI_APP_ID": "",
    "JITSI_APP_SECRET": "",
    "JITSI_APP_SECRET_FILE": "",
    "JITSI_LOBBY_ENABLED": True,
    "JAAS_APP_ID": "",
    "JAAS_KID": "",
    "JAAS_PRIVATE_KEY_PATH": "",
    "JAAS_FEATURES": [],
}

# Modes (TELEMEDICINE_SETTINGS["JITSI_MODE"]); the token modes make Jitsi itself check who enters.
PUBLIC, SELF_HOSTED, JAAS = "public", "self_hosted", "jaas"
JITSI_MODES = (PUBLIC, SELF_HOSTED, JAAS)
TOKEN_MODES = (SELF_HOSTED, JAAS)
# JaaS meetings live on 8x8's own Jitsi deployment, whatever JITSI_DOMAIN says.
JAAS_DOMAIN = "8x8.vc"


def telemedicine_setting(name: str) -> Any:
    if name not in DEFAULTS:
        raise KeyError(f"Unknown telemedicine setting {name!r}")
    return getattr(settings, "TELEMEDICINE_SETTINGS", {}).get(name, DEFAULTS[name])


def integration_enabled() -> bool:
    return bool(telemedicine_setting("ENABLE_JITSI_INTEGRATION"))


def jitsi_mode() -> str:
    return telemedicine_setting("JITSI_MODE")


def uses_tokens() -> bool:
    """True when the Jitsi server checks a signed token for every person who enters."""
    return jitsi_mode() in TOKEN_MODES


def jitsi_domain() -> str:
    """
    The Jitsi server of the chosen mode: 8x8.vc for JaaS; otherwise
    TELEMEDICINE_SETTINGS["JITSI_DOMAIN"] when set, else the top-level JITSI_DOMAIN.
    The room page, its CSP and its Permissions-Policy all follow this one answer.
    """
    if jitsi_mode() == JAAS:
        return JAAS_DOMAIN
    return telemedicine_setting("JITSI_DOMAIN") or getattr(settings, "JITSI_DOMAIN", "meet.jit.si")
