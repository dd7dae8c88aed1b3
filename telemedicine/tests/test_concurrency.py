"""
Concurrency on a real database: two requests that race end in a consistent state.

The threads are forced to interleave at the worst moment (threading.Barrier placed
after both have read the appointment and before either writes), so these tests are
deterministic and would fail for a read-modify-write implementation. They run on
SQLite (a file: see DATABASES["default"]["TEST"]) and on PostgreSQL when
DATABASE_URL points to one, where the two writes really do overlap.
"""

import threading
from unittest import mock

import pytest
from django.db import connection, connections
from django.test import Client
from django.urls import reverse

from appointments.models import Appointment
from telemedicine import views

pytestmark = pytest.mark.django_db(transaction=True)


def run_together(*jobs, timeout=30):
    """Run each job in its own thread (own database connection); return results or raise the first error."""
    results, errors = [None] * len(jobs), []

    def worker(index, job):
        try:
            results[index] = job()
        except BaseException as error:  # surfaced below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=pair) for pair in enumerate(jobs)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    assert not any(thread.is_alive() for thread in threads), "a thread hung"
    if errors:
        raise errors[0]
    return results


def wait_at(barrier, method):
    """Wrap a model method so every caller stops at `barrier` before running it."""

    def wrapped(self, *args, **kwargs):
        barrier.wait(timeout=10)
        return method(self, *args, **kwargs)

    return wrapped


def test_concurrent_first_room_requests_agree_on_one_name(make_appointment):
    appointment_id = make_appointment(is_telemedicine=True).pk
    racers = 3  # with the test's own connection, within the PostgreSQL pool's default 4
    barrier = threading.Barrier(racers)
    real_uuid4 = __import__("uuid").uuid4

    def candidate_after_everyone_has_read():
        # Each thread has already seen jitsi_room_name IS NULL; all make a candidate at once.
        barrier.wait(timeout=10)
        return real_uuid4()

    def first_call():
        return Appointment.objects.get(pk=appointment_id).get_jitsi_room_name()

    with mock.patch("appointments.models.uuid.uuid4", side_effect=candidate_after_everyone_has_read):
        names = run_together(*[first_call] * racers)

    stored = Appointment.objects.values_list("jitsi_room_name", flat=True).get(pk=appointment_id)
    assert set(names) == {stored}
    assert stored.startswith("clinic-")


def test_a_toggle_and_a_cancel_at_the_same_moment_both_stick(make_appointment, doctor, staff):
    """Two tabs: the doctor switches video on while the clinic cancels. Neither write undoes the other."""
    appointment = make_appointment(is_telemedicine=False)
    barrier = threading.Barrier(2)

    def client_for(user):
        client = Client()
        client.force_login(user)
        return client

    doctor_tab, staff_tab = client_for(doctor), client_for(staff)
    toggle_url = reverse("telemedicine:toggle-telemedicine", args=[appointment.pk])
    cancel_url = reverse("appointments:cancel", args=[appointment.pk])
    with (
        mock.patch.object(Appointment, "set_telemedicine", wait_at(barrier, Appointment.set_telemedicine)),
        mock.patch.object(Appointment, "close", wait_at(barrier, Appointment.close)),
    ):
        responses = run_together(
            lambda: doctor_tab.post(toggle_url, {"enabled": "on"}),
            lambda: staff_tab.post(cancel_url),
        )
    assert [response.status_code for response in responses] == [302, 302]
    appointment.refresh_from_db()
    assert (appointment.is_telemedicine, appointment.status) == (True, Appointment.Status.CANCELLED)


@pytest.mark.parametrize("first,second", [("on", ""), ("", "on")])
def test_two_tabs_toggling_at_once_end_in_one_of_the_requested_states(first, second, make_appointment, doctor):
    """Each tab says which state it wants; the last write wins whole, and the row stays intact."""
    appointment = make_appointment(is_telemedicine=False, description="Follow-up")
    barrier = threading.Barrier(2)
    url = reverse("telemedicine:toggle-telemedicine", args=[appointment.pk])
    tabs = []
    for _ in range(2):
        tab = Client()
        tab.force_login(doctor)
        tabs.append(tab)
    real_read = views.appointment_for_participant

    def read_then_wait(*args, **kwargs):
        # Both tabs have read the appointment; neither has begun its write transaction
        # (on SQLite a transaction holds the write lock, so a barrier inside it would deadlock).
        appointment = real_read(*args, **kwargs)
        barrier.wait(timeout=10)
        return appointment

    with mock.patch.object(views, "appointment_for_participant", read_then_wait):
        responses = run_together(
            lambda: tabs[0].post(url, {"enabled": first}),
            lambda: tabs[1].post(url, {"enabled": second}),
        )
    assert [response.status_code for response in responses] == [302, 302]
    appointment.refresh_from_db()
    assert appointment.is_telemedicine in {True, False}
    assert (appointment.status, appointment.description) == (Appointment.Status.SCHEDULED, "Follow-up")
    # A third, later request sees exactly what the database holds.
    page = tabs[0].get(appointment.get_absolute_url()).content.decode()
    assert ("checked" in page.split('id="telemedicine-switch-')[1].split(">")[0]) is appointment.is_telemedicine


def test_the_database_is_the_one_these_tests_claim(db):
    """SQLite in memory would share one connection between threads and prove nothing."""
    if connection.vendor == "sqlite":
        assert not connection.is_in_memory_db(), "set DATABASES['default']['TEST']['NAME'] to a file"
