import dataclasses
import datetime as dt
import functools
import re

import pytest
from django.conf import settings
from django.template.loader import render_to_string

from appointments.clinic_time import clinic_datetime
from appointments.listing import DOCTOR, appointment_rows
from appointments.models import Appointment
from telemedicine.access import Phase
from telemedicine.status import StatusCard, status_card, wait_text

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


def status_card_source() -> str:
    source = (settings.BASE_DIR / "templates" / "telemedicine" / "appointment_detail.html").read_text()
    return source.split("{% partialdef status-card %}")[1].split("{% endpartialdef status-card %}")[0]


def test_the_card_is_remembered_by_every_value_it_shows():
    """
    The card's HTML is rendered once per process for each set of values ({% remember %}): a
    value it reads but is not remembered by would let one card's HTML stand for another's.
    """
    card = status_card_source()
    remembered = set(re.search(r"{% remember (.*?) %}", card).group(1).split())
    assert {f"card.{field.name}" for field in dataclasses.fields(StatusCard)} <= remembered
    # Everything else the card reads: is_polling follows from poll_ms.
    read = set(re.findall(r"\b((?:card|appointment)\.\w+|patient_in_room|after_call)\b", card))
    assert read - remembered == {"card.is_polling"}


def test_cards_that_differ_render_differently(appointment):
    card = status_card(appointment, NOW - dt.timedelta(minutes=1), doctor_in_call=False)
    assert card.phase is Phase.OPEN
    render = functools.partial(render_to_string, "telemedicine/appointment_detail.html#status-card")
    alone = render({"appointment": appointment, "card": card, "patient_in_room": False})
    with_patient = render({"appointment": appointment, "card": card, "patient_in_room": True})
    assert 'data-testid="patient-in-room"' not in alone
    assert 'data-testid="patient-in-room"' in with_patient
    # Another appointment in the same state: its own URL.
    other = Appointment.objects.get(pk=appointment.pk)
    other.pk += 1000
    assert f"/{other.pk}/" in render({"appointment": other, "card": card, "patient_in_room": False})
