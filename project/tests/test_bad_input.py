"""
Bad input gets a clear 4xx, never a 500, and writes nothing: odd ids, unknown
methods, malformed htmx headers and broken scheduling forms.
"""

import datetime as dt

import pytest
from django.test import Client
from django.urls import reverse
from freezegun import freeze_time

from appointments.models import Appointment

HUGE = "99999999999999999999"  # beyond a 64-bit integer
APPOINTMENT_URLS = [
    ("GET", "/telemedicine/appointment/{}/detail/"),
    ("GET", "/telemedicine/appointment/{}/check-status/"),
    ("GET", "/telemedicine/jitsi/{}/"),
    ("POST", "/telemedicine/appointment/{}/toggle-telemedicine/"),
    ("POST", "/telemedicine/jitsi/{}/events/"),
    ("POST", "/appointments/{}/cancel/"),
    ("POST", "/appointments/{}/complete/"),
    ("GET", "/appointments/{}/cancel/"),
    ("GET", "/appointments/{}/complete/"),
    ("GET", "/appointments/{}/"),
]


@pytest.fixture
def doctor_client(client_for, doctor):
    return client_for(doctor)


@pytest.mark.parametrize("method,url", APPOINTMENT_URLS)
@pytest.mark.parametrize("appointment_id", ["abc", "1.5", "-1", "0x1", "%00", HUGE, "9" * 400])
def test_odd_appointment_ids_are_not_found(appointment_id, method, url, make_appointment, doctor_client):
    make_appointment()
    response = doctor_client.generic(method, url.format(appointment_id))
    assert response.status_code == 404
    assert "We cannot find this page" in response.content.decode() or "no longer available" in response.content.decode()


@pytest.mark.parametrize("method", ["PROPFIND", "TRACE", "CONNECT", "FOO"])
@pytest.mark.parametrize("_,url", APPOINTMENT_URLS)
def test_unknown_methods_are_not_allowed(method, _, url, make_appointment, doctor_client):
    appointment = make_appointment()
    assert doctor_client.generic(method, url.format(appointment.pk)).status_code == 405


@pytest.mark.parametrize("value", ["banana", "", "TRUE ", "1" * 5000])
def test_a_garbage_hx_request_header_is_an_ordinary_request(value, make_appointment, client_for, patient):
    appointment = make_appointment()
    response = client_for(patient).get(appointment.get_absolute_url(), HTTP_HX_REQUEST=value)
    assert response.status_code == 200
    assert "<html" in response.content.decode()


@pytest.mark.parametrize(
    "current_url",
    ["https://evil.example/steal", "//evil.example/", "javascript:alert(1)", "::::", "http://[bad", "x" * 5000],
)
def test_login_redirect_for_htmx_never_follows_a_foreign_or_garbled_current_url(current_url, make_appointment):
    appointment = make_appointment()
    response = Client().get(
        reverse("telemedicine:check-telemedicine-status", args=[appointment.pk]),
        HTTP_HX_REQUEST="true",
        HTTP_HX_CURRENT_URL=current_url,
    )
    assert response.status_code == 200
    target = response["HX-Redirect"]
    assert target.startswith("/login/?next=")
    assert "evil.example" not in target
    assert "javascript" not in target


def test_login_redirect_for_htmx_returns_to_the_page_on_this_site(make_appointment):
    appointment = make_appointment()
    response = Client().get(
        reverse("telemedicine:check-telemedicine-status", args=[appointment.pk]),
        HTTP_HX_REQUEST="true",
        HTTP_HX_CURRENT_URL=f"http://testserver{appointment.get_absolute_url()}",
    )
    assert response["HX-Redirect"] == f"/login/?next={appointment.get_absolute_url()}"


# --- Scheduling ----------------------------------------------------------------------------

NOW = dt.datetime(2030, 1, 15, 9, 0, tzinfo=dt.UTC)


def valid_form(person, **changes):
    return {
        "patient": person.pk,
        "date": "2030-02-01",
        "time": "10:00",
        "description": "",
        "visit_kind": "clinic",
        **changes,
    }


@pytest.mark.parametrize(
    "changes,field,message",
    [
        ({"patient": ""}, "patient", "Choose the patient."),
        ({"date": ""}, "date", "This field is required."),
        ({"time": ""}, "time", "This field is required."),
        ({"patient": "999999"}, "patient", "Select a valid choice."),
        ({"patient": HUGE}, "patient", "Select a valid choice."),
        ({"patient": "abc"}, "patient", "Select a valid choice."),
        ({"date": "2030-13-45"}, "date", "Enter a valid date."),
        ({"time": "25:61"}, "time", "Enter a valid time."),
        ({"date": "2030-01-14"}, "date", "has passed"),
        ({"date": "2030-01-15", "time": "08:59"}, "time", "has passed today"),
        # The clocks go forward at 01:00 on 31 March 2030 in London: 01:30 never happens.
        ({"date": "2030-03-31", "time": "01:30"}, "time", "does not exist in London time"),
    ],
)
def test_a_broken_scheduling_form_gets_its_errors_and_writes_nothing(
    changes, field, message, settings, client_for, doctor, patient
):
    settings.TIME_ZONE = "Europe/London"
    with freeze_time(NOW):
        response = client_for(doctor).post(reverse("appointments:schedule"), valid_form(patient, **changes))
    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    assert "is-invalid" in response.content.decode()
    assert not Appointment.objects.exists()


def test_the_same_form_filled_in_properly_is_saved(settings, client_for, doctor, patient):
    """Proves the 400s above come from the broken field, not from the form itself."""
    settings.TIME_ZONE = "Europe/London"
    with freeze_time(NOW):
        response = client_for(doctor).post(reverse("appointments:schedule"), valid_form(patient))
    assert response.status_code == 302
    assert Appointment.objects.count() == 1


def test_an_empty_scheduling_post_is_answered_with_errors(client_for, doctor):
    response = client_for(doctor).post(reverse("appointments:schedule"), {})
    assert response.status_code == 400
    assert set(response.context["form"].errors) >= {"patient", "date", "time"}
    assert not Appointment.objects.exists()


# --- A signed-in person sent back to the login page (issue 16, also found) -------------


@pytest.mark.parametrize(
    "next_url",
    ["/login/", "/login/?next=/login/", "http://testserver/login/", "/login/?x=1", "//testserver/login/"],
)
def test_a_signed_in_person_sent_to_the_login_page_goes_to_the_dashboard(next_url, doctor_client):
    response = doctor_client.get(reverse("login"), {"next": next_url})
    assert response.status_code == 302
    assert response["Location"] == reverse("appointments:dashboard")


def test_a_signed_in_person_still_follows_a_safe_next(doctor_client):
    response = doctor_client.get(reverse("login"), {"next": "/appointments/new/"})
    assert response["Location"] == "/appointments/new/"
