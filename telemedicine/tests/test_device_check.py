"""The device check page: for anyone signed in, any time, its own script, plain help for each browser."""

import datetime as dt

import pytest
from django.urls import reverse
from freezegun import freeze_time

from appointments.clinic_time import clinic_datetime
from appointments.models import Appointment

DEVICE_CHECK = "/telemedicine/device-check/"
START = clinic_datetime(dt.date(2030, 1, 15), dt.time(10, 0))


def test_its_address_is_the_one_the_reminder_emails_link():
    assert reverse("telemedicine:device-check") == DEVICE_CHECK


def test_signing_in_comes_first(client):
    response = client.get(DEVICE_CHECK)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("who", ["patient", "doctor", "staff"])
def test_anyone_signed_in_can_test_their_devices_without_an_appointment(client_for, request, who):
    html = client_for(request.getfixturevalue(who)).get(DEVICE_CHECK).content.decode()
    assert "Test your camera and microphone" in html
    for control in ['id="start-test"', 'id="camera-preview"', 'id="mic-level"', 'id="play-sound"']:
        assert control in html


def test_only_its_own_script_runs_there(client_for, patient):
    html = client_for(patient).get(DEVICE_CHECK).content.decode()
    assert '<script src="/static/telemedicine/device_check.js" defer></script>' in html
    assert html.count("<script") == 1  # no htmx, no Jitsi, nothing inline
    assert "jit.si" not in html


def test_plain_help_for_each_browser_on_phones_and_computers(client_for, patient):
    html = client_for(patient).get(DEVICE_CHECK).content.decode()
    for browser in [
        "Chrome or Edge on a computer",
        "Chrome on an Android phone or tablet",
        "Safari on a Mac",
        "Safari on an iPhone or iPad",
        "Firefox on a computer",
        "Firefox on an Android phone or tablet",
    ]:
        assert f"<summary>{browser}</summary>" in html
    for problem in ["permission-denied", "no-device", "device-busy", "not-supported"]:
        assert f'id="{problem}"' in html


@pytest.mark.parametrize(
    "fields,linked",
    [
        ({"is_telemedicine": True}, True),
        ({"is_telemedicine": False}, False),
        ({"is_telemedicine": True, "status": Appointment.Status.CANCELLED}, False),
    ],
)
def test_the_appointment_page_links_it_for_video_visits(client_for, make_appointment, patient, fields, linked):
    appointment = make_appointment(starts_at=START + dt.timedelta(days=3), **fields)
    with freeze_time(START):
        html = client_for(patient).get(appointment.get_absolute_url()).content.decode()
    assert (f'href="{DEVICE_CHECK}"' in html) is linked


def test_other_methods_are_refused(client_for, patient):
    assert client_for(patient).post(DEVICE_CHECK).status_code == 405
