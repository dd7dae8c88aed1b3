"""
Login guessing (django-axes): a username+address pair is locked out after
AXES_FAILURE_LIMIT failures with a clear page; a success resets the count. And CSRF:
no state-changing request gets through without the token.
"""

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from conftest import PASSWORD

ADDRESS = "192.0.2.10"


def attempt(client, username, password="wrong-password"):
    return client.post(reverse("login"), {"username": username, "password": password})


def test_wrong_password_shows_a_friendly_message(patient):
    response = attempt(Client(REMOTE_ADDR=ADDRESS), patient.username)
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()


def test_repeated_failures_lock_the_account_out_with_a_clear_page(patient):
    client = Client(REMOTE_ADDR=ADDRESS)
    statuses = [attempt(client, patient.username).status_code for _ in range(settings.AXES_FAILURE_LIMIT)]
    assert statuses == [200] * (settings.AXES_FAILURE_LIMIT - 1) + [429]
    # Locked: even the right password is refused now, with the explanation.
    locked = attempt(client, patient.username, PASSWORD)
    assert locked.status_code == 429
    body = locked.content.decode()
    assert "Too many failed log-in attempts" in body
    assert "call Riverside Clinic on 020 7946 0000" in body
    assert "_auth_user_id" not in client.session


def test_the_lock_is_per_username_and_address(patient, other_patient):
    client = Client(REMOTE_ADDR=ADDRESS)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(client, patient.username)
    assert attempt(client, other_patient.username, PASSWORD).status_code == 302
    assert attempt(Client(REMOTE_ADDR="192.0.2.99"), patient.username, PASSWORD).status_code == 302


def test_a_successful_login_resets_the_failure_count(patient):
    client = Client(REMOTE_ADDR=ADDRESS)
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        attempt(client, patient.username)
    assert attempt(client, patient.username, PASSWORD).status_code == 302
    client.post(reverse("logout"))
    statuses = [attempt(client, patient.username).status_code for _ in range(settings.AXES_FAILURE_LIMIT - 1)]
    assert statuses == [200] * (settings.AXES_FAILURE_LIMIT - 1)
    assert attempt(client, patient.username, PASSWORD).status_code == 302


# --- CSRF ------------------------------------------------------------------------------

UNSAFE = ["POST", "PUT", "PATCH", "DELETE"]


@pytest.mark.parametrize("method", UNSAFE)
@pytest.mark.parametrize(
    "url_name,needs_appointment",
    [
        ("login", False),
        ("logout", False),
        ("appointments:schedule", False),
        ("appointments:cancel", True),
        ("appointments:complete", True),
        ("telemedicine:toggle-telemedicine", True),
        ("telemedicine:call-event", True),
    ],
)
def test_state_changing_requests_without_a_csrf_token_are_refused(
    url_name, needs_appointment, method, make_appointment, doctor
):
    appointment = make_appointment(is_telemedicine=False)
    client = Client(enforce_csrf_checks=True)
    client.force_login(doctor)
    url = reverse(url_name, args=[appointment.pk] if needs_appointment else [])
    response = client.generic(
        method, url, "enabled=on&username=x&password=y", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 403
    appointment.refresh_from_db()
    assert (appointment.status, appointment.is_telemedicine) == ("scheduled", False)


def test_the_same_post_with_the_token_goes_through(make_appointment, doctor):
    """Proves the 403s above come from the missing token, not from something else."""
    appointment = make_appointment(is_telemedicine=False)
    client = Client(enforce_csrf_checks=True)
    client.force_login(doctor)
    client.get(reverse("telemedicine:appointment-detail-telemedicine", args=[appointment.pk]))
    token = client.cookies[settings.CSRF_COOKIE_NAME].value
    response = client.post(
        reverse("telemedicine:toggle-telemedicine", args=[appointment.pk]),
        {"enabled": "on", "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 302
    appointment.refresh_from_db()
    assert appointment.is_telemedicine is True
