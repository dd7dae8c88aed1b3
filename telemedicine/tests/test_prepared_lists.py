"""
The dashboard panels' lists in SQL compiled once per process (appointments.listing.AppointmentList)
must give what the querysets they stand for give, on SQLite and PostgreSQL: the doctor's visits
that may be live ("Waiting now") and the patient's next visit.
"""

import datetime as dt

import pytest

from appointments.clinic_time import clinic_datetime, clinic_slot
from appointments.models import Appointment
from telemedicine import waiting_room
from telemedicine.access import live_starts, upcoming_from
from telemedicine.views import NEXT_VISITS_AS_PATIENT

DAY = dt.date(2030, 1, 15)


@pytest.fixture
def schedule(make_appointment, other_doctor, other_patient):
    """Visits every few minutes around 10:00 on DAY (the statuses a second apart), video or not, for two of each."""
    made = []
    for minutes in range(-180, 181, 7):
        for number, status in enumerate(Appointment.Status.values):
            fields = {"doctor": other_doctor} if minutes % 3 == 0 else {}
            if number == 1:
                fields["patient"] = other_patient
            made.append(
                make_appointment(
                    # Each at its own moment: visits at the same moment would come in no particular order.
                    starts_at=clinic_datetime(DAY, dt.time(10)) + dt.timedelta(minutes=minutes, seconds=number),
                    status=status,
                    is_telemedicine=minutes % 2 == 0,
                    **fields,
                )
            )
    return made


def pks(appointments):
    return [(a.pk, a.date, a.time, a.status, a.is_telemedicine) for a in appointments]


@pytest.mark.parametrize("clock", [dt.time(7, 0), dt.time(9, 59, 59), dt.time(10), dt.time(12, 30), dt.time(14)])
def test_live_visits_are_those_of_the_queryset(schedule, doctor, clock):
    now = clinic_datetime(DAY, clock)
    earliest, latest = live_starts(now)
    expected = (
        Appointment.objects.for_listing("patient")
        .filter(doctor_id=doctor.pk, is_telemedicine=True)
        .active()
        .starting_between(earliest - waiting_room.DST_MARGIN, latest + waiting_room.DST_MARGIN)
    )

    found = waiting_room.live_visits(doctor.pk, now)

    assert expected, "the schedule must have visits around each moment"
    assert pks(found) == pks(expected)
    assert [a.patient.get_full_name() for a in found] == [a.patient.get_full_name() for a in expected]


@pytest.mark.parametrize("clock", [dt.time(6, 0), dt.time(9, 59, 59), dt.time(10), dt.time(12, 30), dt.time(14)])
def test_the_next_visit_is_that_of_the_queryset(schedule, patient, clock):
    now = clinic_datetime(DAY, clock)
    expected = (
        Appointment.objects.for_listing("doctor")
        .filter(patient=patient)
        .active()
        .starting_from(upcoming_from(now))
        .order_by("date", "time")
        .first()
    )

    [found] = NEXT_VISITS_AS_PATIENT.appointments(patient.pk, *clinic_slot(upcoming_from(now)), limit=1) or [None]

    assert (found and pks([found])) == (expected and pks([expected]))
    assert (found and found.doctor.get_full_name()) == (expected and expected.doctor.get_full_name())
