"""TELEMEDICINE_SETTINGS, read at call time so that override_settings (and tests) take effect."""

from django.conf import settings

DEFAULTS = {
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
}


def telemedicine_setting(name: str):
    if name not in DEFAULTS:
        raise KeyError(f"Unknown telemedicine setting {name!r}")
    return getattr(settings, "TELEMEDICINE_SETTINGS", {}).get(name, DEFAULTS[name])


def integration_enabled() -> bool:
    return bool(telemedicine_setting("ENABLE_JITSI_INTEGRATION"))


def jitsi_domain() -> str:
    """TELEMEDICINE_SETTINGS["JITSI_DOMAIN"] when set, else the top-level JITSI_DOMAIN."""
    return telemedicine_setting("JITSI_DOMAIN") or getattr(settings, "JITSI_DOMAIN", "meet.jit.si")
