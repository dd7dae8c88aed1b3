"""
The dashboard's query count must not depend on how many appointments are in view:
every row's people come with the row (select_related), every badge is computed from
the row itself. Pinned by rendering it with 5 and with 200 appointments.
"""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from freezegun import freeze_time

from appointments.clinic_time import clinic_datetime
from appointments.models import Appointment

TODAY = dt.date(2030, 1, 15)
NOW = clinic_datetime(TODAY, dt.time(8, 0))
TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE SAVEPOINT")


def schedule(doctor, patients, count):
    """`count` appointments for `doctor`: half of them today, the rest on the days after."""
    today = count // 2
    Appointment.objects.bulk_create(
        Appointment(
            doctor=doctor,
            patient=patients[i % len(patients)],
            date=TODAY if i < today else TODAY + dt.timedelta(days=1 + i % 20),
            time=dt.time(9 + (i % 10), (i * 7) % 60),
            is_telemedicine=i % 2 == 0,
            description="Follow-up",
        )
        for i in range(count)
    )


def dashboard_queries(client) -> tuple[int, bytes]:
    client.get(reverse("appointments:dashboard"))  # session into the cache, as on any later visit
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse("appointments:dashboard"))
    assert response.status_code == 200
    count = sum(not query["sql"].startswith(TRANSACTION_CONTROL) for query in captured.captured_queries)
    return count, response.content


@pytest.fixture
def patients(make_user):
    return [make_user(f"patient{i}", "Patients", first_name="Pat", last_name=f"Ient {i}") for i in range(10)]


@pytest.mark.parametrize("who", ["doctor", "staff", "patient"])
def test_dashboard_queries_do_not_depend_on_the_number_of_appointments(request, client_for, doctor, patients, who):
    viewer = request.getfixturevalue(who)
    if who == "patient":
        patients = [viewer]
    with freeze_time(NOW):
        client = client_for(viewer)
        schedule(doctor, patients, 5)
        few, few_page = dashboard_queries(client)
        schedule(doctor, patients, 195)
        many, many_page = dashboard_queries(client)
    rows = many_page.count(b"<tr data-appointment=")
    assert rows > few_page.count(b"<tr data-appointment="), "the bigger schedule must really be in view"
    assert many == few


def test_doctor_with_200_appointments_in_view_sees_them_all_in_a_fixed_number_of_queries(client_for, doctor, patients):
    with freeze_time(NOW):
        schedule(doctor, patients, 300)  # 150 today, 150 later (50 of them on the first page)
        count, page = dashboard_queries(client_for(doctor))
    assert page.count(b"<tr data-appointment=") == 200
    # Today, upcoming count + page, past and cancelled count (+ its page when it has rows), as
    # patient upcoming + past, and the panels telemedicine adds (appointments/panels.py): the
    # doctor's live video visits ("Waiting now") and their own next visit as a patient. Who
    # they are, their permissions and whether they are a doctor come with the cached user
    # (appointments/auth_backends.py).
    assert count == 8
