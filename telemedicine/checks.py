import os

from django.conf import settings
from django.core import checks

from .conf import DEFAULTS, telemedicine_setting


@checks.register()
def check_telemedicine_settings(app_configs, **kwargs):
    errors = []
    for name in ("CALL_WINDOW_BEFORE", "CALL_WINDOW_AFTER", "DEFAULT_SESSION_DURATION",
                 "MAX_SESSION_DURATION", "AUTO_END_SESSION_AFTER", "STATUS_POLL_INTERVAL"):
        value = telemedicine_setting(name)
        if not isinstance(value, int) or value < 0 or (name == "STATUS_POLL_INTERVAL" and value < 1):
            errors.append(checks.Error(
                f"TELEMEDICINE_SETTINGS[{name!r}] must be a non-negative whole number of "
                f"{'seconds' if name == 'STATUS_POLL_INTERVAL' else 'minutes'}, got {value!r}.",
                id="telemedicine.E001",
            ))
    stun = telemedicine_setting("WEBRTC_STUN_SERVERS")
    if not isinstance(stun, (list, tuple)) or any(not str(url).startswith(("stun:", "stuns:")) for url in stun):
        errors.append(checks.Error(
            "TELEMEDICINE_SETTINGS['WEBRTC_STUN_SERVERS'] must be a list of stun: URLs.",
            id="telemedicine.E002",
        ))
    if telemedicine_setting("RECORDING_ENABLED"):
        path = telemedicine_setting("RECORDING_PATH")
        if not path or not os.path.isdir(path) or not os.access(path, os.W_OK):
            errors.append(checks.Error(
                f"Recording is enabled but RECORDING_PATH {path!r} is not a writable directory.",
                hint="Create it, or point RECORDING_PATH at the folder your Jibri writes recordings to.",
                id="telemedicine.E003",
            ))
    unknown = set(getattr(settings, "TELEMEDICINE_SETTINGS", {})) - set(DEFAULTS)
    if unknown:
        errors.append(checks.Warning(
            f"Unknown TELEMEDICINE_SETTINGS keys are ignored: {', '.join(sorted(unknown))}.",
            id="telemedicine.W001",
        ))
    return errors
