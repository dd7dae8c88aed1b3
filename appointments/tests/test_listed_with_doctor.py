"""
listed_with_doctor(pk): the status card's one query, from SQL compiled once per process, must give
what the queryset it stands for gives, on SQLite and on PostgreSQL (make test-postgres).
"""

import datetime as dt

import pytest

from appointments.listing import listed_with_doctor
from appointments.models import Appointment


def the_queryset(pk):
    return Appointment.objects.for_listing("doctor").filter(pk=pk).first()


def loaded(appointment):
    """Every loaded value of the appointment and of its joined doctor, and what was left unloaded."""
    doctor = appointment.doctor
    return (
        {name: getattr(appointment, name) for name in appointment.__dict__ if not name.startswith("_")},
        {name: getattr(doctor, name) for name in doctor.__dict__ if not name.startswith("_")},
        appointment.get_deferred_fields(),
        doctor.get_deferred_fields(),
    )


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"is_telemedicine": False, "time": dt.time(23, 59, 59)},
        {"status": Appointment.Status.CANCELLED, "cancellation_note": "The doctor is ill; ünïcode kept."},
        {"status": Appointment.Status.COMPLETED, "date": dt.date(2031, 12, 31)},
    ],
)
def test_it_loads_what_the_queryset_loads(make_appointment, fields):
    appointment = make_appointment(**{"is_telemedicine": True, "description": "Not loaded"} | fields)

    found = listed_with_doctor(appointment.pk)

    assert type(found) is Appointment
    assert loaded(found) == loaded(the_queryset(appointment.pk))
    assert found.doctor.get_full_name() == "Gregory House"
    assert (found.date, found.time, found.status) == (appointment.date, appointment.time, appointment.status)
    assert not found._state.adding


def test_each_appointment_gets_its_own_doctor(make_appointment, other_doctor, patient):
    # The patient column comes before the doctor's in the table: a row read in the wrong order
    # would swap them.
    mine = make_appointment()
    theirs = make_appointment(doctor=other_doctor, date=dt.date(2030, 1, 16))

    assert (listed_with_doctor(mine.pk).doctor_id, listed_with_doctor(mine.pk).patient_id) == (
        mine.doctor_id,
        patient.pk,
    )
    assert listed_with_doctor(theirs.pk).doctor.get_full_name() == "James Wilson"


@pytest.mark.parametrize("offset", [1000, 10**20, -(10**20)])
def test_no_such_appointment_is_none(make_appointment, offset):
    # A URL may carry any integer: one no column can hold finds nothing, as the queryset's lookup does.
    appointment = make_appointment()

    assert listed_with_doctor(appointment.pk + offset) is None
    assert the_queryset(appointment.pk + offset) is None


def test_one_query_and_unloaded_fields_still_load_on_demand(make_appointment, django_assert_num_queries):
    appointment = make_appointment(description="Follow-up")

    with django_assert_num_queries(1):
        found = listed_with_doctor(appointment.pk)
        found.doctor.get_full_name()
    with django_assert_num_queries(1):
        assert found.description == "Follow-up"
