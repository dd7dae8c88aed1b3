"""
Faults: a database error is a friendly 500 page with nothing from inside, a toggle
whose audit record cannot be written changes nothing, and a status card whose
appointment was deleted says so and stops polling.
"""

from unittest import mock

import pytest
from django.db import DatabaseError
from django.test import Client
from django.urls import reverse

from appointments.models import Appointment, AppointmentQuerySet

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def appointment(make_appointment):
    return make_appointment(is_telemedicine=True, description="Persistent cough, asthma history")


def logged_in(user):
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


def database_down():
    # The message a driver might give, carrying data it should never show.
    return mock.patch.object(
        AppointmentQuerySet, "with_people", side_effect=DatabaseError("server closed the connection; row Pat Ient")
    )


@pytest.mark.parametrize(
    "url_name,headers",
    [
        ("telemedicine:appointment-detail-telemedicine", {}),
        ("telemedicine:jitsi-room", {}),
        ("telemedicine:appointment-detail-telemedicine", HTMX),
    ],
)
def test_a_database_error_gives_the_friendly_500_page_without_details(url_name, headers, appointment, patient):
    client = logged_in(patient)
    with database_down():
        response = client.get(reverse(url_name, args=[appointment.pk]), **headers)
    body = response.content.decode()
    assert response.status_code == 500
    assert "Something went wrong on our side" in body
    assert "nothing you entered was half-saved" in body
    for secret in ["Traceback", "DatabaseError", "server closed", "Pat", "Ient", "asthma", "with_people", ".py"]:
        assert secret not in body


def test_a_toggle_whose_audit_record_fails_changes_nothing(appointment, doctor):
    from telemedicine.models import AccessEvent

    client = logged_in(doctor)
    with mock.patch("telemedicine.audit.AccessEvent.objects.create", side_effect=DatabaseError("disk full")):
        response = client.post(reverse("telemedicine:toggle-telemedicine", args=[appointment.pk]), {"enabled": ""})
    assert response.status_code == 500
    appointment.refresh_from_db()
    assert appointment.is_telemedicine is True
    assert not AccessEvent.objects.filter(appointment_id=appointment.pk).exists()


def test_a_deleted_appointment_tells_the_card_and_stops_its_polling(appointment, patient):
    client = logged_in(patient)
    url = reverse("telemedicine:check-telemedicine-status", args=[appointment.pk])
    first = client.get(url, **HTMX)
    assert first.status_code == 200
    assert "hx-trigger" in first.content.decode()
    Appointment.objects.filter(pk=appointment.pk).delete()
    gone = client.get(url, **HTMX)
    body = gone.content.decode()
    assert gone.status_code == 404  # swapped in: base.html's htmx config swaps 404s
    assert 'data-phase="gone"' in body
    assert 'id="status-card"' in body
    assert "This appointment is no longer available" in body
    assert "hx-trigger" not in body
    assert "hx-get" not in body
