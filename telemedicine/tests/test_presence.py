"""
The presence rules (telemedicine/presence.py) at the edges of every state: room page open,
joined, left, heartbeat expired, appointment page open and closed, the call window's ends.
"""

import datetime as dt

import pytest
from freezegun import freeze_time

from appointments.clinic_time import clinic_datetime
from appointments.models import Appointment
from telemedicine import presence
from telemedicine.access import CallReport
from telemedicine.tests.shortcuts import telemedicine

START = clinic_datetime(dt.date(2030, 1, 15), dt.time(10, 0))
OPENS = START - dt.timedelta(minutes=10)
CLOSES = START + dt.timedelta(minutes=30)
INSIDE = START - dt.timedelta(minutes=5)
SECOND = dt.timedelta(seconds=1)
ROOM_LIFE = dt.timedelta(minutes=3)  # three missed heartbeats of a minute
PAGE_LIFE = dt.timedelta(seconds=30)  # three missed polls of 10 s


@pytest.fixture
def visit(make_appointment):
    return make_appointment(starts_at=START, is_telemedicine=True)


def presence_at(visit, person, moment) -> presence.Presence:
    with freeze_time(moment):
        return presence.presence_of(visit, [person.pk], moment)[person.pk]


def at(moment, action, *args):
    with freeze_time(moment):
        action(*args, moment)


def test_the_mark_lifetimes_follow_the_heartbeat_and_the_poll_interval(settings):
    assert presence.room_mark_seconds() == 180
    assert presence.page_mark_seconds() == 30
    with telemedicine(STATUS_POLL_INTERVAL=2):
        assert presence.page_mark_seconds() == 6
    settings.SESSION_COOKIE_AGE = 90  # a heartbeat every 30 s then
    assert presence.room_mark_seconds() == 90


class TestAppointmentPage:
    def test_nobody_is_here_at_first(self, visit, patient):
        assert presence_at(visit, patient, INSIDE) == presence.ABSENT
        assert not presence.ABSENT.is_here

    @pytest.mark.parametrize("polled_at,counts", [(OPENS - SECOND, False), (OPENS, True), (CLOSES, True)])
    def test_counts_only_while_the_window_is_open(self, visit, patient, polled_at, counts):
        at(polled_at, presence.mark_page_open, visit, patient.pk)
        assert presence_at(visit, patient, polled_at).is_here is counts

    @pytest.mark.parametrize("after,is_here", [(PAGE_LIFE - SECOND, True), (PAGE_LIFE, False)])
    def test_closed_once_its_polls_stop(self, visit, patient, after, is_here):
        at(INSIDE, presence.mark_page_open, visit, patient.pk)
        found = presence_at(visit, patient, INSIDE + after)
        assert found.is_here is is_here
        assert not found.in_call

    def test_each_poll_keeps_it_open_and_the_arrival_time(self, visit, patient):
        for seconds in range(0, 120, 10):
            at(INSIDE + dt.timedelta(seconds=seconds), presence.mark_page_open, visit, patient.pk)
        found = presence_at(visit, patient, INSIDE + dt.timedelta(seconds=110) + PAGE_LIFE - SECOND)
        assert found.page is not None
        assert found.since == INSIDE

    def test_ends_with_the_window_even_if_polled_just_before(self, visit, patient):
        at(CLOSES - SECOND, presence.mark_page_open, visit, patient.pk)
        assert presence_at(visit, patient, CLOSES).is_here
        assert not presence_at(visit, patient, CLOSES + SECOND).is_here

    @pytest.mark.parametrize("changes", [{"is_telemedicine": False}, {"status": Appointment.Status.CANCELLED}])
    def test_an_in_person_or_cancelled_visit_has_nobody_waiting(self, visit, patient, changes):
        Appointment.objects.filter(pk=visit.pk).update(**changes)
        visit.refresh_from_db()
        at(INSIDE, presence.mark_page_open, visit, patient.pk)
        assert not presence_at(visit, patient, INSIDE).is_here


class TestRoomPage:
    @pytest.mark.parametrize("after,is_here", [(ROOM_LIFE - SECOND, True), (ROOM_LIFE, False)])
    def test_open_until_its_heartbeats_stop(self, visit, patient, after, is_here):
        at(INSIDE, presence.mark_room_open, visit, patient.pk)
        found = presence_at(visit, patient, INSIDE + after)
        assert found.is_here is is_here
        assert (found.room is not None) is is_here
        assert not found.in_call

    def test_heartbeats_keep_it_open(self, visit, patient):
        at(INSIDE, presence.mark_room_open, visit, patient.pk)
        for minute in range(1, 6):
            at(INSIDE + dt.timedelta(minutes=minute), presence.apply_report, visit, patient.pk, CallReport.HEARTBEAT)
        assert presence_at(visit, patient, INSIDE + dt.timedelta(minutes=5) + ROOM_LIFE - SECOND).is_here
        assert not presence_at(visit, patient, INSIDE + dt.timedelta(minutes=5) + ROOM_LIFE).is_here

    def test_joined(self, visit, patient):
        at(INSIDE, presence.mark_room_open, visit, patient.pk)
        at(INSIDE + SECOND, presence.apply_report, visit, patient.pk, CallReport.JOINED)
        found = presence_at(visit, patient, INSIDE + SECOND)
        assert found.in_call
        assert found.since == INSIDE

    @pytest.mark.parametrize("after,in_call", [(ROOM_LIFE - SECOND, True), (ROOM_LIFE, False)])
    def test_in_the_call_until_its_heartbeats_stop(self, visit, patient, after, in_call):
        at(INSIDE, presence.mark_room_open, visit, patient.pk)
        at(INSIDE, presence.apply_report, visit, patient.pk, CallReport.JOINED)
        assert presence_at(visit, patient, INSIDE + after).in_call is in_call

    def test_left(self, visit, patient):
        at(INSIDE, presence.mark_room_open, visit, patient.pk)
        at(INSIDE, presence.apply_report, visit, patient.pk, CallReport.JOINED)
        left_at = INSIDE + dt.timedelta(minutes=2)
        at(left_at, presence.apply_report, visit, patient.pk, CallReport.LEFT)
        found = presence_at(visit, patient, left_at)
        assert not found.in_call
        # The page may still be there (a reload's beacon comes after the new page): any wait starts now.
        assert found.room is not None
        assert found.since == left_at

    def test_a_reload_stays_in_the_call_until_the_old_page_says_it_left(self, visit, patient):
        at(INSIDE, presence.mark_room_open, visit, patient.pk)
        at(INSIDE, presence.apply_report, visit, patient.pk, CallReport.JOINED)
        at(INSIDE + SECOND, presence.mark_room_open, visit, patient.pk)  # the new page
        assert presence_at(visit, patient, INSIDE + SECOND).in_call
        at(INSIDE + 2 * SECOND, presence.apply_report, visit, patient.pk, CallReport.LEFT)  # the old page's beacon
        assert presence.room_is_open(visit, patient.pk)  # so the new page's join is believed

    def test_a_left_without_a_room_page_changes_nothing(self, visit, patient):
        at(INSIDE, presence.apply_report, visit, patient.pk, CallReport.LEFT)
        assert presence_at(visit, patient, INSIDE) == presence.ABSENT

    def test_arriving_on_the_appointment_page_first_counts_from_then(self, visit, patient):
        arrived = INSIDE - PAGE_LIFE + SECOND
        at(arrived, presence.mark_page_open, visit, patient.pk)
        at(INSIDE, presence.mark_room_open, visit, patient.pk)
        found = presence_at(visit, patient, INSIDE)
        assert found.room.since == arrived
        assert found.since == arrived

    def test_a_heartbeat_cannot_open_a_room_that_was_never_served(self, visit, patient):
        at(INSIDE, presence.apply_report, visit, patient.pk, CallReport.HEARTBEAT)
        assert not presence.room_is_open(visit, patient.pk)


class TestPeople:
    def test_each_person_is_here_on_their_own(self, visit, doctor, patient):
        at(INSIDE, presence.mark_room_open, visit, doctor.pk)
        at(INSIDE, presence.apply_report, visit, doctor.pk, CallReport.JOINED)
        with freeze_time(INSIDE):
            found = presence.presence_of(visit, [doctor.pk, patient.pk], INSIDE)
        assert found[doctor.pk].in_call
        assert found[patient.pk] == presence.ABSENT

    def test_anyone_can_be_asked_about_not_only_the_doctor_and_the_patient(self, visit, make_user):
        guest = make_user("guest")
        at(INSIDE, presence.mark_page_open, visit, guest.pk)
        assert presence_at(visit, guest, INSIDE).is_here

    def test_a_visit_moved_to_another_time_starts_afresh(self, visit, patient):
        at(INSIDE, presence.mark_room_open, visit, patient.pk)
        visit.time = dt.time(10, 5)
        assert not presence_at(visit, patient, INSIDE).is_here

    def test_marks_of_one_visit_say_nothing_about_another(self, visit, make_appointment, patient):
        other = make_appointment(starts_at=START, is_telemedicine=True)
        at(INSIDE, presence.mark_room_open, visit, patient.pk)
        assert not presence_at(other, patient, INSIDE).is_here


class TestCallReportRules:
    J, L, R = "call-joined", "call-left", "access-refused"

    @pytest.mark.parametrize(
        "report,history,outcome",
        [
            (CallReport.JOINED, [], presence.Outcome.RECORD),
            (CallReport.LEFT, [], presence.Outcome.REPEAT),
            (CallReport.JOINED, [(J, "")], presence.Outcome.REPEAT),
            (CallReport.LEFT, [(J, "")], presence.Outcome.RECORD),
            (CallReport.LEFT, [(L, ""), (J, "")], presence.Outcome.REPEAT),
            # A refusal in between does not hide the latest join.
            (CallReport.JOINED, [(R, "too-early"), (J, "")], presence.Outcome.REPEAT),
            (CallReport.LEFT, [(J, "")] * 49 + [(L, "")], presence.Outcome.OVER_BUDGET),
            (CallReport.LEFT, [(J, "")] * 49, presence.Outcome.RECORD),
        ],
    )
    def test_report_outcome(self, report, history, outcome):
        assert presence.report_outcome(report, history) is outcome

    @pytest.mark.parametrize(
        "refusal,history,recorded",
        [
            ("too-early", [], True),
            ("too-early", [(R, "too-early")], False),
            ("too-late", [(R, "too-early")], True),
            ("too-early", [(J, ""), (R, "too-early")], True),
            ("too-early", [(J, "")] * 50, False),
        ],
    )
    def test_refusal_is_recorded(self, refusal, history, recorded):
        assert presence.refusal_is_recorded(refusal, history) is recorded
