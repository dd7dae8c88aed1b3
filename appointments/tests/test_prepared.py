"""
The dashboard's lists in SQL compiled once per process (appointments/prepared.py,
listing.AppointmentList) must give what the querysets they are built from give, on SQLite and
on PostgreSQL (make test-postgres): the same appointments in the same order, loaded as
for_listing() loads them, the same counts and the same pages.
"""

import datetime as dt

import pytest

from appointments import views
from appointments.clinic_time import clinic_datetime
from appointments.listing import DOCTOR, PATIENT, STAFF, appointment_rows, row_key
from appointments.models import Appointment
from appointments.prepared import PreparedQuery
from appointments.rules import completion_opens_at
from telemedicine.access import phase_changes
from telemedicine.tests.shortcuts import telemedicine

DAY = dt.date(2030, 1, 15)
NOW = clinic_datetime(DAY, dt.time(10))
# Who sees each list's people: a doctor sees patients, a patient doctors, staff both.
ROLES = {("patient",): DOCTOR, ("doctor",): PATIENT, ("doctor", "patient"): STAFF}


@pytest.fixture
def schedule(make_appointment, doctor, other_doctor, patient, other_patient):
    """
    Appointments either side of DAY, at the edges of its clock, in every status, for two of each.
    Each at its own moment (the statuses a minute apart): visits at the same moment would come
    in no particular order.
    """
    made = []
    slots = [(-40, dt.time(9)), (-30, dt.time(9)), (-1, dt.time(23, 56, 59)), (0, dt.time(0)), (0, dt.time(10, 30))]
    slots += [(0, dt.time(10, 30, 1)), (0, dt.time(23, 56)), (1, dt.time(0)), (3, dt.time(8)), (40, dt.time(12))]
    for number, (days, at) in enumerate(slots):
        for minutes, status in enumerate(Appointment.Status.values):
            made.append(
                make_appointment(
                    date=DAY + dt.timedelta(days=days),
                    time=at.replace(minute=at.minute + minutes),
                    status=status,
                    is_telemedicine=number % 2 == 0,
                    doctor=doctor if number % 3 else other_doctor,
                    patient=patient if number % 4 else other_patient,
                    cancellation_note="Ill" if status == Appointment.Status.CANCELLED else "",
                    description="Not loaded",
                )
            )
    return made


def loaded(appointments, people):
    """Every loaded value of each appointment and of the people joined in, and what was left unloaded."""
    return [
        (
            {name: value for name, value in vars(appointment).items() if not name.startswith("_")},
            appointment.get_deferred_fields(),
            [
                (
                    {name: value for name, value in vars(getattr(appointment, person)).items() if name[0] != "_"},
                    getattr(appointment, person).get_deferred_fields(),
                )
                for person in people
            ],
        )
        for appointment in appointments
    ]


def the_queryset(listing, values):
    return listing.query.build(*values).for_listing(*listing.people)


LISTS = {
    "today as doctor": (
        views.TODAY_AS_DOCTOR,
        lambda doctor, patient: [(doctor.pk, DAY), (doctor.pk, DAY.replace(day=16))],
    ),
    "upcoming as doctor": (
        views.UPCOMING_AS_DOCTOR,
        lambda doctor, patient: [(doctor.pk, DAY), (doctor.pk, DAY - dt.timedelta(days=35))],
    ),
    "past as doctor": (
        views.PAST_AS_DOCTOR,
        lambda doctor, patient: [(doctor.pk, DAY - dt.timedelta(days=30), DAY), (doctor.pk, DAY, DAY)],
    ),
    "upcoming as patient": (
        views.UPCOMING_AS_PATIENT,
        lambda doctor, patient: [(patient.pk, DAY, dt.time(10, 30)), (patient.pk, DAY, dt.time(10, 30, 0, 1))],
    ),
    "past as patient": (
        views.PAST_AS_PATIENT,
        lambda doctor, patient: [(patient.pk, DAY, dt.time(10, 30, 1)), (patient.pk, DAY, dt.time(0))],
    ),
    "clinic schedule": (views.CLINIC_SCHEDULE, lambda doctor, patient: [(DAY,), (DAY + dt.timedelta(days=3),)]),
}


@pytest.mark.parametrize("name", LISTS)
def test_each_list_loads_what_its_queryset_loads(schedule, doctor, patient, name):
    listing, values_for = LISTS[name]
    shown = 0
    for values in values_for(doctor, patient):
        expected = list(the_queryset(listing, values))
        shown += len(expected)

        found = listing.appointments(*values)

        assert all(type(appointment) is Appointment for appointment in found)
        assert loaded(found, listing.people) == loaded(expected, listing.people)
        assert not any(appointment._state.adding for appointment in found)
    assert shown, "the schedule must have something in each list"


@pytest.mark.parametrize("name", LISTS)
def test_each_list_counts_and_pages_as_its_queryset(schedule, doctor, patient, name):
    listing, values_for = LISTS[name]
    for values in values_for(doctor, patient):
        queryset, pages = the_queryset(listing, values), listing.pages(ROLES[listing.people], NOW, *values)

        assert pages.count() == queryset.count()
        for start, stop in [(0, 2), (1, 3), (2, 100), (5, 5)]:
            assert [row["pk"] for row in pages[start:stop]] == [str(a.pk) for a in queryset[start:stop]]


@pytest.mark.parametrize("name", LISTS)
@pytest.mark.parametrize("clock", [dt.time(9, 59, 59), dt.time(10, 30), dt.time(11, 0, 1)])
def test_each_lists_rows_are_those_of_its_appointments(schedule, doctor, patient, name, clock):
    # Made twice: the second time from what the first one saw (listing._seen), at another moment.
    listing, values_for = LISTS[name]
    role, now = ROLES[listing.people], clinic_datetime(DAY, clock)
    for values in values_for(doctor, patient):
        for show_date in (True, False):
            listing.rows(role, NOW, *values, show_date=show_date)

            found = listing.rows(role, now, *values, show_date=show_date)

            assert found == appointment_rows(the_queryset(listing, values), role, now, show_date=show_date)


def moments_around(appointments, *, staff):
    """Every moment a row of these may change at (phase_changes; the completion's start for staff), +-1 µs."""
    changes = {moment for appointment in appointments for moment in phase_changes(appointment)}
    if staff:
        changes |= {completion_opens_at(appointment) for appointment in appointments}
    return sorted({moment + dt.timedelta(microseconds=step) for moment in changes for step in (-1, 0, 1)})


@pytest.mark.parametrize(
    "listing,role,values",
    [(views.CLINIC_SCHEDULE, STAFF, (DAY,)), (views.TODAY_AS_DOCTOR, DOCTOR, None)],
    ids=["clinic schedule", "today as doctor"],
)
def test_a_row_shown_again_is_the_row_made_afresh_at_every_change(schedule, doctor, listing, role, values):
    """
    A row is written once per process for each span of the clock between its changes (listing.Seen):
    at each change, a microsecond either side of it, and with the clock going back (as frozen time
    can), what is shown must be what appointment_rows() writes afresh.
    """
    values = values or (doctor.pk, DAY)
    today = [appointment for appointment in the_queryset(listing, values) if appointment.date == DAY]
    moments = moments_around(today, staff=role == STAFF)
    assert len(moments) > 30
    for now in [*moments, *reversed(moments), *moments[::7]]:
        afresh = appointment_rows(the_queryset(listing, values), role, now)

        assert listing.rows(role, now, *values) == afresh, now


def test_rows_are_written_afresh_when_the_call_window_setting_changes(schedule, doctor):
    now = clinic_datetime(DAY, dt.time(10, 21))  # the 10:30 visits' window opens at 10:20, or at 10:25
    before = views.TODAY_AS_DOCTOR.rows(DOCTOR, now, doctor.pk, DAY)
    assert "Open" in [row["columns"]["video"]["badge"] for row in before]

    with telemedicine(CALL_WINDOW_BEFORE=5):
        after = views.TODAY_AS_DOCTOR.rows(DOCTOR, now, doctor.pk, DAY)

        assert after != before
        assert after == appointment_rows(the_queryset(views.TODAY_AS_DOCTOR, (doctor.pk, DAY)), DOCTOR, now)


def test_shared_appointments_are_those_loaded_last_time_for_the_same_records(schedule, doctor):
    values = (doctor.pk, DAY)
    first = views.TODAY_AS_DOCTOR.appointments(*values, shared=True)
    changed = first[0]
    Appointment.objects.filter(pk=changed.pk).update(is_telemedicine=not changed.is_telemedicine)

    again = views.TODAY_AS_DOCTOR.appointments(*values, shared=True)

    assert [a.pk for a in again] == [a.pk for a in first]
    assert again[0] is not changed
    assert again[0].is_telemedicine is not changed.is_telemedicine
    assert all(new is old for new, old in zip(again[1:], first[1:], strict=True))
    assert loaded(again, ("patient",)) == loaded(views.TODAY_AS_DOCTOR.appointments(*values), ("patient",))
    assert not set(map(id, views.TODAY_AS_DOCTOR.appointments(*values))) & set(map(id, again))


def test_a_changed_appointment_gets_a_new_row(schedule, doctor):
    [first, *_] = views.TODAY_AS_DOCTOR.rows(DOCTOR, NOW, doctor.pk, DAY)
    appointment = Appointment.objects.get(pk=first["pk"])
    appointment.status = Appointment.Status.CONFIRMED if first["status"] != "Confirmed" else "scheduled"
    appointment.patient.first_name = "Renamed"
    appointment.patient.save()
    appointment.save()

    # Visits at the same time come in no particular order (PostgreSQL moves a row it updates).
    [changed] = [row for row in views.TODAY_AS_DOCTOR.rows(DOCTOR, NOW, doctor.pk, DAY) if row["pk"] == first["pk"]]

    assert changed["status"] != first["status"]
    assert changed["people"].startswith("Renamed ")


def test_a_list_is_one_query_and_an_empty_page_none(schedule, doctor, django_assert_num_queries):
    pages = views.UPCOMING_AS_DOCTOR.pages(DOCTOR, NOW, doctor.pk, DAY)
    pages.count()  # compiled on first use: once per process
    with django_assert_num_queries(1):
        assert pages[0:50]
    with django_assert_num_queries(1):
        assert pages.count() > 0
    with django_assert_num_queries(0):
        assert pages[3:3] == []


def test_a_value_computed_inside_the_builder_is_refused(db):
    computed = PreparedQuery(lambda day: Appointment.objects.filter(date__gte=day - dt.timedelta(days=1)), ["pk"])
    with pytest.raises(ValueError, match="computed from the values"):
        computed.rows(DAY)


def test_only_plain_values_are_taken(db):
    query = PreparedQuery(lambda moment: Appointment.objects.filter(created_at__gte=moment), ["pk"])
    with pytest.raises(TypeError):
        query.rows(dt.datetime(2030, 1, 15, 10, tzinfo=dt.UTC))


def test_a_rows_key_made_from_its_remembered_part_is_its_whole_key(schedule, doctor, staff):
    # AppointmentList.rows keeps the key of each row's fixed cells: the key must be row_key() all the same.
    for clock in (dt.time(9), dt.time(10, 30), dt.time(12)):
        now = clinic_datetime(DAY, clock)
        for row in views.CLINIC_SCHEDULE.rows(STAFF, now, DAY) + views.TODAY_AS_DOCTOR.rows(
            DOCTOR, now, doctor.pk, DAY
        ):
            assert row["key"] == row_key(row)
