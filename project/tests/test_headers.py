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
    "EMAIL_URL": "smtp://clinic:secret@mail.clinic.example:587/?tls=True",
    "SITE_URL": "https://clinic.example",
    "CLINIC_PHONE": "020 7946 0000",
}


def manage(*args, **env):
    environment = {
        k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "REDIS_", "EMAIL_", "SITE_URL", "CLINIC_"))
    } | env
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


@pytest.mark.parametrize("proxies", [{"CLIENT_IP_PROXY_COUNT": "1"}, {"CLIENT_IP_TRUSTED_PROXIES": "10.0.0."}])
def test_check_deploy_is_clean_behind_counted_proxies(proxies):
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION, **proxies)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    "setting,value,warning",
    [
        ("DJANGO_HSTS_SECONDS", "0", "security.W004"),
        # W010, not W012: Django's check looks for its SessionMiddleware by exact path, and
        # project.sessions.middleware's subclass stands in its place (same setting, same warning).
        ("DJANGO_SECURE_COOKIES", "0", "security.W010"),
        ("DJANGO_SECURE_SSL_REDIRECT", "0", "security.W008"),
        ("REDIS_URL", "", "appointments.W001"),  # workers would each count and cache on their own
        ("EMAIL_URL", "", "appointments.W003"),  # emails would only be printed on the worker's console
        ("SITE_URL", "http://clinic.example", "appointments.W004"),  # links in emails must be https
        # Pages, error pages and emails would send patients to the clinic without its number.
        ("CLINIC_PHONE", "", "appointments.W005"),
        # The client would choose its own address (docs/deploying.md).
        ("CLIENT_IP_HEADERS", "HTTP_X_FORWARDED_FOR", "appointments.W002"),
    ],
)
def test_check_deploy_catches_a_weakened_production_setting(setting, value, warning):
    """Proves the clean check above is not vacuous."""
    result = manage("check", "--deploy", "--fail-level", "WARNING", **(PRODUCTION | {setting: value}))
    assert result.returncode != 0
    assert warning in result.stdout + result.stderr


# --- Nothing a signed-in person sees is kept by the browser (issue 16, finding 7) ---------

SIGNED_IN = ["patient", "doctor", "superuser"]


def every_named_url(appointment, user) -> list[tuple[str, str]]:
    """(name, URL) for every named pattern the resolver routes, walked as the authorisation matrix walks it."""
    from django.contrib.contenttypes.models import ContentType

    from project.tests.test_authorization_matrix import routed_urls
    from telemedicine.models import Guest, SignInLink

    guest = Guest.objects.create(
        appointment=appointment, name="Ivy", email="ivy@example.org", invited_by=appointment.doctor
    )
    link = SignInLink.objects.create(
        user=appointment.patient, appointment=appointment, expires_at=appointment.starts_at
    )
    values = {
        "appointment_id": appointment.pk,
        "guest_id": guest.pk,
        "link_id": link.pk,
        "uidb64": "MQ",
        "token": "set-password",
        "object_id": appointment.pk,
        "id": user.pk,
        "content_type_id": ContentType.objects.get_for_model(appointment).pk,
        "app_label": "appointments",
    }
    urls = []
    for name, pattern in routed_urls():
        if name.endswith(":"):
            continue  # unnamed admin catch-alls: redirects to the named pages below
        groups = pattern.pattern.regex.groupindex
        urls.append((name, reverse(name, kwargs={group: values[group] for group in groups})))
    return urls


@pytest.mark.parametrize("person", SIGNED_IN)
def test_every_answer_to_a_signed_in_person_says_private_no_store(person, request, make_appointment, client_for):
    if person == "superuser":
        user = request.getfixturevalue("make_user")("root", is_staff=True, is_superuser=True)
    else:
        user = request.getfixturevalue(person)
    with freeze_time(START):
        appointment = make_appointment(starts_at=START, is_telemedicine=True)
        client = client_for(user)
        urls = every_named_url(appointment, user)
        assert len(urls) > 40  # the admin's pages too
        missing = []
        for name, url in urls:
            for method in ["GET", "POST"]:
                if name.endswith("logout") and method == "POST":
                    continue  # signs out: the answer is no longer a signed-in person's
                response = client.generic(method, url, "", content_type="application/x-www-form-urlencoded")
                directives = {part.strip() for part in response.get("Cache-Control", "").split(",")}
                if not {"private", "no-store"} <= directives:
                    missing.append(f"{method} {name} {response.status_code}: {response.get('Cache-Control')}")
                type(appointment).objects.filter(pk=appointment.pk).update(status="scheduled")
    assert missing == []
