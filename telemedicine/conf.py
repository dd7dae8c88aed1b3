"""
TELEMEDICINE_SETTINGS with their defaults. Read once and kept until the setting changes
(Django's setting_changed signal, which override_settings and pytest-django's `settings`
send), so that tests take effect: the rules ask for a setting several times per row of a list.
"""

import functools
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

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
    try:
        return _current()[name]
    except KeyError:
        raise KeyError(f"Unknown telemedicine setting {name!r}") from None


@functools.cache
def _current() -> dict[str, Any]:
    """The defaults, with what TELEMEDICINE_SETTINGS says instead (unknown keys left out: checks.py warns)."""
    given = getattr(settings, "TELEMEDICINE_SETTINGS", {})
    return {name: given.get(name, default) for name, default in DEFAULTS.items()}


@receiver(setting_changed)
def _forget_settings(setting: str, **kwargs: Any) -> None:
    if setting == "TELEMEDICINE_SETTINGS":
        _current.cache_clear()


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
