"""What the telemedicine tests say again and again: a URL for an appointment, a settings override, Prosody's rule."""

from django.conf import settings
from django.test import override_settings
from django.urls import reverse


def url(name, appointment):
    return reverse(f"telemedicine:{name}", args=[appointment.pk])


def telemedicine(**overrides):
    """override_settings for some TELEMEDICINE_SETTINGS keys, keeping the others."""
    return override_settings(TELEMEDICINE_SETTINGS={**settings.TELEMEDICINE_SETTINGS, **overrides})


def prosody_token_affiliation(context_user: dict) -> str:
    """
    The affiliation Prosody's token_affiliation module gives a token holder: jitsi/jitsi-meet
    resources/prosody-plugins/mod_token_affiliation.lua, affiliation_from_token() (the module
    jitsi-meet now ships, imported from jitsi-contrib's token_affiliation, since renamed
    token_affiliation_legacy there; the legacy module reads the same claims). "owner" means moderator.
    """
    owner_affiliations = ("owner", "moderator", "teacher")
    if context_user.get("affiliation") in owner_affiliations or context_user.get("moderator") in (True, "true"):
        return "owner"
    return "member"
