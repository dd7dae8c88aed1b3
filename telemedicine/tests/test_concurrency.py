"""
Concurrency on a real database: two requests that race end in a consistent state.

The threads are forced to interleave at the worst moment (one request writes after
another has read the appointment, and before it writes), so these tests are
deterministic and would fail for a read-modify-write implementation. They run on
SQLite (a file: see DATABASES["default"]["TEST"]) and on PostgreSQL when
DATABASE_URL points to one, where the two writes really do overlap.
"""

import threading
from unittest import mock

import pytest
from django.db import connection, connections
from django.urls import reverse

from appointments.models import Appointment
from telemedicine import views
from telemedicine.models import AccessEvent

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


def test_a_toggle_and_a_cancel_at_the_same_moment_both_stick(make_appointment, client_for, doctor, staff):
    """
    Two tabs: the doctor switches video on while the clinic cancels. The doctor's tab has
    read the appointment (not cancelled yet) when the cancel commits; its write comes after
    and must not undo the cancel (as a stale full save() would).
    """
    appointment = make_appointment(is_telemedicine=False)
    toggle_has_read, cancelled = threading.Event(), threading.Event()
    real_read, real_close = views.appointment_for_participant, Appointment.close

    def read_then_wait_for_the_cancel(*args, **kwargs):
        appointment = real_read(*args, **kwargs)
        toggle_has_read.set()
        assert cancelled.wait(timeout=10), "the cancel never came"
        return appointment

    def close_once_the_toggle_has_read(self, status, **note):
        assert toggle_has_read.wait(timeout=10), "the toggle never read"
        try:
            return real_close(self, status, **note)
        finally:
            cancelled.set()

    doctor_tab, staff_tab = client_for(doctor), client_for(staff)
    toggle_url = reverse("telemedicine:toggle-telemedicine", args=[appointment.pk])
    cancel_url = reverse("appointments:cancel", args=[appointment.pk])
    with (
        mock.patch.object(views, "appointment_for_participant", read_then_wait_for_the_cancel),
        mock.patch.object(Appointment, "close", close_once_the_toggle_has_read),
    ):
        responses = run_together(
            lambda: doctor_tab.post(toggle_url, {"enabled": "on"}),
            lambda: staff_tab.post(cancel_url),
        )
    assert [response.status_code for response in responses] == [302, 302]
    appointment.refresh_from_db()
    assert (appointment.is_telemedicine, appointment.status) == (True, Appointment.Status.CANCELLED)


def test_two_tabs_toggling_at_once_end_in_one_of_the_requested_states(make_appointment, client_for, doctor):
    """Each tab says which state it wants; the last write wins whole, and the row stays intact."""
    appointment = make_appointment(is_telemedicine=False, description="Follow-up")
    barrier = threading.Barrier(2)
    url = reverse("telemedicine:toggle-telemedicine", args=[appointment.pk])
    tabs = [client_for(doctor), client_for(doctor)]
    real_read = views.appointment_for_participant

    def read_then_wait(*args, **kwargs):
        # Both tabs have read the appointment; neither has begun its write transaction
        # (on SQLite a transaction holds the write lock, so a barrier inside it would deadlock).
        appointment = real_read(*args, **kwargs)
        barrier.wait(timeout=10)
        return appointment

    with mock.patch.object(views, "appointment_for_participant", read_then_wait):
        responses = run_together(
            lambda: tabs[0].post(url, {"enabled": "on"}),
            lambda: tabs[1].post(url, {"enabled": ""}),
        )
    assert [response.status_code for response in responses] == [302, 302]
    appointment.refresh_from_db()
    assert (appointment.status, appointment.description) == (Appointment.Status.SCHEDULED, "Follow-up")
    # Each switch and its audit record were written together: the latest record names the state that won.
    events = AccessEvent.objects.filter(appointment_id=appointment.pk)
    assert events.count() == 2
    won = AccessEvent.Action.TELEMEDICINE_ON if appointment.is_telemedicine else AccessEvent.Action.TELEMEDICINE_OFF
    assert events.first().action == won
    # A third, later request sees exactly what the database holds.
    page = tabs[0].get(appointment.get_absolute_url()).content.decode()
    assert ("checked" in page.split('id="telemedicine-switch-')[1].split(">")[0]) is appointment.is_telemedicine


def test_the_database_is_the_one_these_tests_claim(db):
    """SQLite in memory would share one connection between threads and prove nothing."""
    if connection.vendor == "sqlite":
        assert not connection.is_in_memory_db(), "set DATABASES['default']['TEST']['NAME'] to a file"
