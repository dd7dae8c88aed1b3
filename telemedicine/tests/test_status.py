import datetime as dt

import pytest

from appointments.clinic_time import clinic_datetime
from appointments.listing import DOCTOR, appointment_rows
from appointments.models import Appointment
from telemedicine.access import Phase
from telemedicine.status import wait_text

DAY = dt.date(2030, 1, 15)
NOW = clinic_datetime(DAY, dt.time(10, 55))


@pytest.mark.parametrize(
    "seconds,text",
    [
        (0, "less than a minute"),
        (59, "less than a minute"),
        (60, "1 min"),
        (61, "2 min"),  # rounded up: never promise less time than is left
        (7 * 60, "7 min"),
        (60 * 60, "1 h"),
        (65 * 60, "1 h 5 min"),
        (24 * 3600, "1 day"),
        (3 * 24 * 3600 + 5, "3 days"),
    ],
)
def test_wait_text(seconds, text):
    assert wait_text(seconds) == text


@pytest.fixture
def appointment(make_appointment):
    return make_appointment(date=DAY, time=dt.time(11), is_telemedicine=True)


# The dashboard's "video" column, which this app adds to the clinic's lists (apps.py).
@pytest.mark.parametrize(
    "changes,phase,badge",
    [
        ({}, Phase.OPEN, "Open"),
        ({"is_telemedicine": False}, Phase.IN_PERSON, "Off"),
        ({"status": Appointment.Status.CANCELLED}, Phase.CANCELLED, "Cancelled"),
    ],
)
def test_the_badge_is_the_status_cards_at_that_moment(appointment, changes, phase, badge):
    Appointment.objects.filter(pk=appointment.pk).update(**changes)
    [row] = appointment_rows(Appointment.objects.for_listing("patient"), DOCTOR, NOW)
    video = row["columns"]["video"]
    assert (video["phase"], video["badge"], row["status"], row["pk"]) == (
        phase,
        badge,
        Appointment.objects.get().get_status_display(),
        str(appointment.pk),
    )


@pytest.mark.parametrize(
    "now,phase",
    [
        (clinic_datetime(DAY, dt.time(10, 49, 59)), Phase.WAITING),
        (clinic_datetime(DAY, dt.time(10, 50)), Phase.OPEN),
        (clinic_datetime(DAY, dt.time(11, 30)), Phase.OPEN),
        (clinic_datetime(DAY, dt.time(11, 30, 0, 1)), Phase.ENDED),
    ],
)
def test_the_badge_is_taken_at_the_moment_given(appointment, now, phase):
    [row] = appointment_rows(Appointment.objects.for_listing("patient"), DOCTOR, now)
    assert row["columns"]["video"]["phase"] == phase
