import os
import re

from django.conf import settings
from django.core import checks

from .conf import DEFAULTS, JAAS, JITSI_MODES, SELF_HOSTED, jitsi_domain, telemedicine_setting

# Seconds, and at least one: a page polls no faster than once a second.
POLL_INTERVALS = ("STATUS_POLL_INTERVAL", "WAITING_PANEL_POLL_BUSY", "WAITING_PANEL_POLL_IDLE")


@checks.register()
def check_telemedicine_settings(app_configs, **kwargs) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []
    for name in (
        "CALL_WINDOW_BEFORE",
        "CALL_WINDOW_AFTER",
        "DEFAULT_SESSION_DURATION",
        "MAX_SESSION_DURATION",
        "AUTO_END_SESSION_AFTER",
        *POLL_INTERVALS,
        "SESSION_KEEPALIVE_LEAD",
    ):
        value = telemedicine_setting(name)
        if not isinstance(value, int) or value < 0 or (name in POLL_INTERVALS and value < 1):
            errors.append(
                checks.Error(
                    f"TELEMEDICINE_SETTINGS[{name!r}] must be a non-negative whole number of "
                    f"{'seconds' if name in POLL_INTERVALS else 'minutes'}, got {value!r}.",
                    id="telemedicine.E001",
                )
            )
    stun = telemedicine_setting("WEBRTC_STUN_SERVERS")
    if not isinstance(stun, (list, tuple)) or any(not str(url).startswith(("stun:", "stuns:")) for url in stun):
        errors.append(
            checks.Error(
                "TELEMEDICINE_SETTINGS['WEBRTC_STUN_SERVERS'] must be a list of stun: URLs.",
                id="telemedicine.E002",
            )
        )
    if telemedicine_setting("RECORDING_ENABLED"):
        path = telemedicine_setting("RECORDING_PATH")
        if not path or not os.path.isdir(path) or not os.access(path, os.W_OK):
            errors.append(
                checks.Error(
                    f"Recording is enabled but RECORDING_PATH {path!r} is not a writable directory.",
                    hint="Create it, or point RECORDING_PATH at the folder your Jibri writes recordings to.",
                    id="telemedicine.E003",
                )
            )
    unknown = set(getattr(settings, "TELEMEDICINE_SETTINGS", {})) - set(DEFAULTS)
    if unknown:
        errors.append(
            checks.Warning(
                f"Unknown TELEMEDICINE_SETTINGS keys are ignored: {', '.join(sorted(unknown))}.",
                id="telemedicine.W001",
            )
        )
    return errors


# JaaS tenants look like the documented example "vpaas-magic-cookie-1fc542a3e4414a44b2611668195e2bfe".
JAAS_TENANT = re.compile(r"^vpaas-magic-cookie-[0-9a-f]{32}$")


@checks.register()
def check_jitsi_mode(app_configs, **kwargs):
    """The chosen Jitsi mode has what it needs to sign tokens. Messages never contain a secret."""
    from .tokens import JAAS_FEATURES, MIN_SECRET_LENGTH, TokenConfigurationError, jaas_private_key, self_hosted_secret

    mode = telemedicine_setting("JITSI_MODE")
    if mode not in JITSI_MODES:
        return [
            checks.Error(
                f"TELEMEDICINE_SETTINGS['JITSI_MODE'] must be one of {', '.join(JITSI_MODES)}, got {mode!r}.",
                id="telemedicine.E010",
            )
        ]
    errors: list[checks.CheckMessage] = []
    if mode == SELF_HOSTED:
        if not telemedicine_setting("JITSI_APP_ID"):
            errors.append(
                checks.Error(
                    "JITSI_MODE is self_hosted but JITSI_APP_ID is not set.",
                    hint="Use the app_id of your Prosody VirtualHost (set when installing jitsi-meet-tokens).",
                    id="telemedicine.E011",
                )
            )
        try:
            secret = self_hosted_secret()
        except TokenConfigurationError as error:
            errors.append(
                checks.Error(
                    f"JITSI_MODE is self_hosted but the app secret is unusable: {error}",
                    hint="Set JITSI_APP_SECRET, or JITSI_APP_SECRET_FILE to a file readable by the app.",
                    id="telemedicine.E012",
                )
            )
        else:
            if len(secret) < MIN_SECRET_LENGTH:
                errors.append(
                    checks.Error(
                        f"The Jitsi app secret is too short ({len(secret)} characters); "
                        f"HS256 needs at least {MIN_SECRET_LENGTH}.",
                        hint="Generate one with: python -c 'import secrets; print(secrets.token_urlsafe(48))' "
                        "and set it as app_secret in Prosody too.",
                        id="telemedicine.E013",
                    )
                )
        if jitsi_domain() == "meet.jit.si":
            errors.append(
                checks.Error(
                    "JITSI_MODE is self_hosted but JITSI_DOMAIN is still meet.jit.si.",
                    hint="Set JITSI_DOMAIN to your own Jitsi server's host name.",
                    id="telemedicine.E014",
                )
            )
    elif mode == JAAS:
        tenant = telemedicine_setting("JAAS_APP_ID")
        if not JAAS_TENANT.match(tenant or ""):
            errors.append(
                checks.Error(
                    "JITSI_MODE is jaas but JAAS_APP_ID is "
                    + ("not set." if not tenant else "not a JaaS tenant (vpaas-magic-cookie- and 32 hex digits)."),
                    hint="Copy the AppID from the JaaS console's API keys page.",
                    id="telemedicine.E015",
                )
            )
        kid = telemedicine_setting("JAAS_KID")
        if not kid:
            errors.append(
                checks.Error(
                    "JITSI_MODE is jaas but JAAS_KID is not set.",
                    hint="Copy the key id of your API key from the JaaS console (it looks like <AppID>/<id>).",
                    id="telemedicine.E016",
                )
            )
        elif tenant and not kid.startswith(f"{tenant}/"):
            errors.append(
                checks.Error(
                    "JAAS_KID does not belong to JAAS_APP_ID: a JaaS key id is '<AppID>/<key id>'.",
                    id="telemedicine.E016",
                )
            )
        try:
            jaas_private_key()
        except TokenConfigurationError as error:
            errors.append(
                checks.Error(
                    f"JITSI_MODE is jaas but the private key is unusable: {error}",
                    hint="Point JAAS_PRIVATE_KEY_PATH at the PEM private key whose public key you uploaded to JaaS.",
                    id="telemedicine.E017",
                )
            )
        unknown = set(telemedicine_setting("JAAS_FEATURES")) - set(JAAS_FEATURES)
        if unknown:
            errors.append(
                checks.Error(
                    f"Unknown JAAS_FEATURES: {', '.join(sorted(unknown))}; known: {', '.join(JAAS_FEATURES)}.",
                    id="telemedicine.E018",
                )
            )
    return errors
