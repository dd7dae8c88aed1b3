"""
Security headers: the Content Security Policy, Permissions-Policy, Referrer-Policy and
X-Frame-Options on ordinary pages and on the room page, and `check --deploy` with the
production environment.
"""

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse
from freezegun import freeze_time

BASE_DIR = Path(__file__).resolve().parents[2]
START = dt.datetime(2030, 1, 15, 10, 0, tzinfo=dt.UTC)
JITSI = "https://meet.jit.si"


def csp(response) -> dict[str, list[str]]:
    directives = {}
    for part in response["Content-Security-Policy"].split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


@pytest.fixture
def pages(make_appointment, client_for, patient):
    """(name, response) for an ordinary page of each kind, and the room page, as the patient."""
    with freeze_time(START):
        appointment = make_appointment(starts_at=START, is_telemedicine=True)
        client = client_for(patient)
        ordinary = {
            "login": client.get(reverse("login")),
            "dashboard": client.get(reverse("appointments:dashboard")),
            "detail": client.get(reverse("telemedicine:appointment-detail-telemedicine", args=[appointment.pk])),
            "status": client.get(
                reverse("telemedicine:check-telemedicine-status", args=[appointment.pk]), HTTP_HX_REQUEST="true"
            ),
            "not-found": client.get("/no-such-page/"),
        }
        room = client.get(reverse("telemedicine:jitsi-room", args=[appointment.pk]))
    assert room.status_code == 200
    assert all(response.status_code in {200, 302, 404} for response in ordinary.values())
    return ordinary, room


def test_ordinary_pages_allow_only_their_own_origin(pages):
    ordinary, _ = pages
    for name, response in ordinary.items():
        policy = csp(response)
        assert policy["default-src"] == ["'self'"], name
        assert policy["script-src"] == ["'self'"], name
        assert policy["frame-src"] == ["'none'"], name
        assert policy["frame-ancestors"] == ["'none'"], name


def test_the_room_page_adds_the_jitsi_origin_for_scripts_and_frames_only(pages):
    _, room = pages
    policy = csp(room)
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'", JITSI]
    assert policy["frame-src"] == [JITSI]
    assert policy["connect-src"] == ["'self'"]


def test_no_page_allows_inline_or_eval(pages):
    ordinary, room = pages
    for response in [*ordinary.values(), room]:
        header = response["Content-Security-Policy"]
        assert "unsafe-inline" not in header
        assert "unsafe-eval" not in header


def test_camera_microphone_and_screen_sharing_only_for_jitsi_on_the_room_page(pages):
    ordinary, room = pages
    for name, response in ordinary.items():
        policy = response["Permissions-Policy"]
        for feature in ["camera=()", "microphone=()", "display-capture=()"]:
            assert feature in policy, name
    policy = room["Permissions-Policy"]
    for feature in ["camera", "microphone", "display-capture"]:
        assert f'{feature}=(self "{JITSI}")' in policy


def test_the_device_check_may_use_the_camera_and_microphone_for_the_app_only(client_for, patient):
    response = client_for(patient).get(reverse("telemedicine:device-check"))
    assert response.status_code == 200
    features = dict(part.split("=", 1) for part in response["Permissions-Policy"].split(", "))
    assert features["camera"] == features["microphone"] == "(self)"
    assert features["display-capture"] == "()"
    assert JITSI not in response["Permissions-Policy"]
    policy = csp(response)
    assert policy["script-src"] == ["'self'"]
    assert policy["frame-src"] == ["'none'"]


def test_referrer_never_leaves_the_site_and_no_page_can_be_framed(pages):
    """same-origin: the app's own links keep the referrer; Jitsi and every other site get none."""
    ordinary, room = pages
    for response in [*ordinary.values(), room]:
        assert response["Referrer-Policy"] == "same-origin"
        assert response["X-Frame-Options"] == "DENY"
        assert response["X-Content-Type-Options"] == "nosniff"


PRODUCTION = {
    "DJANGO_DEBUG": "0",
    "DJANGO_SECRET_KEY": "p7Yq2vK9xL4mN8rT1wZ6cB3hJ5dF0gS2aE7uI9oP4kQ1nM6lX8",
    "DJANGO_ALLOWED_HOSTS": "clinic.example",
    "DJANGO_CSRF_TRUSTED_ORIGINS": "https://clinic.example",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
}


def manage(*args, **env):
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "REDIS_"))} | env
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=BASE_DIR, env=environment, capture_output=True, text=True, timeout=120
    )


def test_check_is_clean_with_the_local_defaults():
    # What `make run` starts with: no warning on every command (the deploy checks say the rest).
    result = manage("check", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_is_clean_with_the_production_environment():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    "setting,value,warning",
    [
        ("DJANGO_HSTS_SECONDS", "0", "security.W004"),
        ("DJANGO_SECURE_COOKIES", "0", "security.W012"),
        ("DJANGO_SECURE_SSL_REDIRECT", "0", "security.W008"),
        ("REDIS_URL", "", "appointments.W001"),  # workers would each count and cache on their own
    ],
)
def test_check_deploy_catches_a_weakened_production_setting(setting, value, warning):
    """Proves the clean check above is not vacuous."""
    result = manage("check", "--deploy", "--fail-level", "WARNING", **(PRODUCTION | {setting: value}))
    assert result.returncode != 0
    assert warning in result.stdout + result.stderr
