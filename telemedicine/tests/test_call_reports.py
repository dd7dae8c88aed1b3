"""
Call reports are not taken on trust (issue 16): `joined` is believed only from someone whose
room page the server served in this call window and which is still open; a report that
changes nothing writes nothing; and however hard a script tries, the audit trail keeps a
bounded number of records per person and visit. Each test here failed before the fix.

Only HTTP and the audit trail are used, so that the tests ran unchanged against the code
before the fix.
"""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import cache
from freezegun import freeze_time

from telemedicine.models import AccessEvent
from telemedicine.tests.shortcuts import url

START = dt.datetime(2030, 1, 15, 10, 0, tzinfo=ZoneInfo("Europe/London"))
INSIDE = START - dt.timedelta(minutes=5)
# The room page's heartbeat comes every minute; a page that missed three in a row is closed.
ROOM_PAGE_LIFETIME = dt.timedelta(minutes=3)
MOST_RECORDS_PER_VISIT = 50


@pytest.fixture
def visit(make_appointment):
    return make_appointment(date=START.date(), time=START.time(), is_telemedicine=True)


def report(client, visit, event):
    return client.post(url("call-event", visit), {"event": event}).status_code


def records(user=None, *actions):
    events = AccessEvent.objects.all()
    if user is not None:
        events = events.filter(user=user)
    if actions:
        events = events.filter(action__in=actions)
    return list(events.order_by("created_at", "id").values_list("action", "reason"))


def doctor_sees_patient_in_room(client, visit) -> bool:
    return "Patient is in the room" in client.get(url("check-telemedicine-status", visit)).content.decode()


class TestJoinNeedsTheRoomPage:
    @freeze_time(INSIDE)
    def test_a_patient_who_never_opened_the_room_cannot_say_they_joined(self, client_for, visit, patient, doctor):
        assert report(client_for(patient), visit, "joined") == 403
        assert records(patient, "call-joined") == []
        assert not doctor_sees_patient_in_room(client_for(doctor), visit)

    @freeze_time(INSIDE)
    def test_the_room_page_served_in_this_window_makes_a_join_believable(self, client_for, visit, patient, doctor):
        client = client_for(patient)
        assert client.get(url("jitsi-room", visit)).status_code == 200
        assert report(client, visit, "joined") == 204
        assert doctor_sees_patient_in_room(client_for(doctor), visit)

    @freeze_time(INSIDE)
    def test_heartbeats_cannot_stand_in_for_opening_the_room(self, client_for, visit, patient):
        client = client_for(patient)
        assert report(client, visit, "heartbeat") == 204  # keeps a session alive, proves nothing
        assert report(client, visit, "joined") == 403
        assert records(patient, "call-joined") == []

    @freeze_time(INSIDE)
    def test_a_room_page_refused_too_early_does_not_count(self, client_for, make_appointment, patient):
        later = make_appointment(date=START.date(), time=(START + dt.timedelta(hours=1)).time(), is_telemedicine=True)
        client = client_for(patient)
        assert client.get(url("jitsi-room", later)).status_code == 403
        with freeze_time(START + dt.timedelta(minutes=50)):  # its window is open now
            client = client_for(patient)
            assert report(client, later, "joined") == 403

    @pytest.mark.parametrize(
        "after,status", [(ROOM_PAGE_LIFETIME - dt.timedelta(seconds=1), 204), (ROOM_PAGE_LIFETIME, 403)]
    )
    def test_a_room_page_gone_silent_is_closed(self, client_for, visit, patient, after, status):
        with freeze_time(INSIDE):
            client = client_for(patient)
            client.get(url("jitsi-room", visit))
        with freeze_time(INSIDE + after):
            assert report(client, visit, "joined") == status

    def test_heartbeats_keep_the_room_page_open(self, client_for, visit, patient):
        with freeze_time(INSIDE):
            client = client_for(patient)
            client.get(url("jitsi-room", visit))
        for minute in range(1, 10):
            with freeze_time(INSIDE + dt.timedelta(minutes=minute)):
                assert report(client, visit, "heartbeat") == 204
        with freeze_time(INSIDE + dt.timedelta(minutes=9) + ROOM_PAGE_LIFETIME - dt.timedelta(seconds=1)):
            assert report(client, visit, "joined") == 204

    @freeze_time(INSIDE)
    def test_a_lost_mark_comes_back_with_the_next_heartbeat_from_the_audit_trail(self, client_for, visit, patient):
        # The cache can lose the mark (a Redis restart): the record says the room page was served.
        client = client_for(patient)
        client.get(url("jitsi-room", visit))
        cache.clear()
        client = client_for(patient)
        assert report(client, visit, "heartbeat") == 204
        assert report(client, visit, "joined") == 204


class TestRepeatsChangeNothing:
    @freeze_time(INSIDE)
    def test_a_left_without_a_join_is_not_recorded(self, client_for, visit, patient):
        assert report(client_for(patient), visit, "left") == 204
        assert records(patient, "call-left") == []

    @freeze_time(INSIDE)
    def test_joined_after_joined_and_left_after_left_are_recorded_once(self, client_for, visit, patient):
        client = client_for(patient)
        client.get(url("jitsi-room", visit))
        for event in ["joined", "joined", "left", "left", "joined", "left", "left"]:
            assert report(client, visit, event) == 204
        assert [action for action, _ in records(patient, "call-joined", "call-left")] == [
            "call-joined",
            "call-left",
            "call-joined",
            "call-left",
        ]


class TestTheAuditTrailStaysBounded:
    def test_a_script_flipping_joined_and_left_keeps_a_bounded_record(self, client_for, visit, patient):
        # One report a second (the rate limit allows 120 a minute) for over three minutes.
        with freeze_time(INSIDE) as clock:
            client = client_for(patient)
            client.get(url("jitsi-room", visit))
            for second in range(200):
                clock.tick(dt.timedelta(seconds=1))
                report(client, visit, "joined" if second % 2 == 0 else "left")
        kept = records(patient, "call-joined", "call-left", "access-refused")
        assert 4 <= len(kept) <= MOST_RECORDS_PER_VISIT

    @pytest.mark.parametrize(
        "now,event,reason",
        [
            (INSIDE, "joined", "room-not-open"),
            (START - dt.timedelta(minutes=30), "joined", "too-early"),
            (START - dt.timedelta(minutes=30), "left", "too-early"),
            (START + dt.timedelta(hours=2), "heartbeat", "too-late"),
        ],
    )
    def test_a_refused_report_sent_again_and_again_is_recorded_once(
        self, client_for, visit, patient, now, event, reason
    ):
        with freeze_time(now) as clock:
            client = client_for(patient)
            for _ in range(100):
                clock.tick(dt.timedelta(seconds=1))
                assert report(client, visit, event) == 403
        assert records(patient) == [("access-refused", reason)]

    @freeze_time(INSIDE)
    def test_a_different_refusal_is_recorded_again(self, client_for, visit, patient):
        client = client_for(patient)
        assert report(client, visit, "joined") == 403  # room-not-open
        client.get(url("jitsi-room", visit))
        assert report(client, visit, "joined") == 204
        assert records(patient) == [("access-refused", "room-not-open"), ("room-opened", ""), ("call-joined", "")]
