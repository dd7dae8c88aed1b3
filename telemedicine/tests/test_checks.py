import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from telemedicine.checks import check_telemedicine_settings


def errors_for(settings, **overrides):
    settings.TELEMEDICINE_SETTINGS = {**settings.TELEMEDICINE_SETTINGS, **overrides}
    return {message.id for message in check_telemedicine_settings(None)}


def test_default_settings_pass(settings):
    assert errors_for(settings) == set()


@pytest.mark.parametrize(
    "overrides,error",
    [
        ({"CALL_WINDOW_BEFORE": -1}, "telemedicine.E001"),
        ({"CALL_WINDOW_AFTER": "30"}, "telemedicine.E001"),
        ({"STATUS_POLL_INTERVAL": 0}, "telemedicine.E001"),
        ({"WEBRTC_STUN_SERVERS": ["turn:relay.example"]}, "telemedicine.E002"),
        ({"WEBRTC_STUN_SERVERS": "stun:one.example"}, "telemedicine.E002"),
        ({"RECORDING_ENABLED": True, "RECORDING_PATH": "/nonexistent/recordings"}, "telemedicine.E003"),
        ({"CALL_WINDOW_BEFOR": 5}, "telemedicine.W001"),
    ],
)
def test_bad_settings_are_reported(settings, overrides, error):
    assert error in errors_for(settings, **overrides)


def test_recording_into_a_writable_folder_passes(settings, tmp_path):
    assert errors_for(settings, RECORDING_ENABLED=True, RECORDING_PATH=str(tmp_path)) == set()


def test_manage_py_check_fails_on_them(settings):
    settings.TELEMEDICINE_SETTINGS = {**settings.TELEMEDICINE_SETTINGS, "CALL_WINDOW_AFTER": -5}
    with pytest.raises(SystemCheckError, match="CALL_WINDOW_AFTER"):
        call_command("check")
