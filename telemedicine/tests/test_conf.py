"""telemedicine_setting keeps what it read until the setting changes (conf.py)."""

import pytest
from django.test import override_settings

from telemedicine.conf import DEFAULTS, telemedicine_setting


def test_a_changed_setting_is_read_at_once_and_the_old_one_back_after(settings):
    assert telemedicine_setting("CALL_WINDOW_AFTER") == settings.TELEMEDICINE_SETTINGS.get("CALL_WINDOW_AFTER", 30)
    with override_settings(TELEMEDICINE_SETTINGS={"CALL_WINDOW_AFTER": 7}):
        assert telemedicine_setting("CALL_WINDOW_AFTER") == 7
        # A key the setting leaves out has its default.
        assert telemedicine_setting("CALL_WINDOW_BEFORE") == DEFAULTS["CALL_WINDOW_BEFORE"]
    assert telemedicine_setting("CALL_WINDOW_AFTER") == settings.TELEMEDICINE_SETTINGS.get("CALL_WINDOW_AFTER", 30)
    settings.TELEMEDICINE_SETTINGS = {"CALL_WINDOW_AFTER": 11}
    assert telemedicine_setting("CALL_WINDOW_AFTER") == 11


def test_an_unknown_setting_is_an_error():
    with pytest.raises(KeyError, match="Unknown telemedicine setting"):
        telemedicine_setting("CALL_WINDOW_DURING")
