"""What the telemedicine tests say again and again: a URL for an appointment, a settings override."""

from django.conf import settings
from django.test import override_settings
from django.urls import reverse


def url(name, appointment):
    return reverse(f"telemedicine:{name}", args=[appointment.pk])


def telemedicine(**overrides):
    """override_settings for some TELEMEDICINE_SETTINGS keys, keeping the others."""
    return override_settings(TELEMEDICINE_SETTINGS={**settings.TELEMEDICINE_SETTINGS, **overrides})
