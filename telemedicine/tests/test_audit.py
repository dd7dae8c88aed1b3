"""The audit trail: one AccessEvent per decision, the right action and reason, nothing secret, never changed."""

import datetime as dt
import logging
import re
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.db.models.deletion import ProtectedError
from django.test import Client
from freezegun import freeze_time

from appointments.models import Appointment
from telemedicine import audit
from telemedicine.models import AccessEvent, AppendOnlyError
from telemedicine.tests.shortcuts import telemedicine, url

START = dt.datetime(2030, 1, 15, 10, 0, tzinfo=ZoneInfo("Europe/London"))
INSIDE = START - dt.timedelta(minutes=5)
BEFORE = START - dt.timedelta(minutes=10, seconds=1)
AFTER = START + dt.timedelta(minutes=30, seconds=1)
BROWSER = {"REMOTE_ADDR": "203.0.113.7", "HTTP_USER_AGENT": "Mozilla/5.0 (X11; Linux x86_64) Test/1.0"}


@pytest.fixture
def visit(make_appointment):
    return make_appointment(date=START.date(), time=START.time(), is_telemedicine=True)


def only_event():
    events = list(AccessEvent.objects.all())
    assert len(events) == 1, events
    return events[0]


class TestEveryDecisionWritesOneEvent:
    @pytest.mark.parametrize(
        "now,changes,action,reason",
        [
            (INSIDE, {}, "room-opened", ""),
            (BEFORE, {}, "room-refused", "too-early"),
            (AFTER, {}, "room-refused", "too-late"),
            (INSIDE, {"is_telemedicine": False}, "room-refused", "telemedicine-off"),
            (INSIDE, {"status": Appointment.Status.CANCELLED}, "room-refused", "cancelled"),
            (INSIDE, {"status": Appointment.Status.COMPLETED}, "room-refused", "completed"),
        ],
    )
    def test_room_page(self, client_for, visit, patient, now, changes, action, reason):
        Appointment.objects.filter(pk=visit.pk).update(**changes)
        with freeze_time(now):
            client_for(patient).get(url("jitsi-room", visit), **BROWSER)
        event = only_event()
        assert (event.action, event.reason) == (action, reason)
        assert (event.user, event.appointment_id) == (patient, visit.pk)
        assert event.ip_address == "203.0.113.7"
        assert event.user_agent == BROWSER["HTTP_USER_AGENT"]
        assert event.created_at == now

    @freeze_time(INSIDE)
    def test_room_with_integration_disabled(self, client_for, visit, patient):
        with telemedicine(ENABLE_JITSI_INTEGRATION=False):
            client_for(patient).get(url("jitsi-room", visit))
        assert (only_event().action, only_event().reason) == ("room-refused", "integration-disabled")

    @freeze_time(INSIDE)
    @pytest.mark.parametrize(
        "name,action",
        [
            ("jitsi-room", "room-refused"),
            ("appointment-detail-telemedicine", "access-refused"),
            ("check-telemedicine-status", "access-refused"),
        ],
    )
    def test_stranger_is_refused_and_recorded(self, client_for, visit, other_patient, name, action):
        response = client_for(other_patient).get(url(name, visit))
        assert response.status_code == 404
        event = only_event()
        assert (event.action, event.reason, event.user) == (action, "not-participant", other_patient)

    @freeze_time(INSIDE)
    @pytest.mark.parametrize("enabled,action", [("on", "telemedicine-on"), ("", "telemedicine-off")])
    def test_doctor_toggle(self, client_for, visit, doctor, enabled, action):
        # Switching off an open visit is confirmed first (appointments/tests/test_confirmations.py).
        client_for(doctor).post(url("toggle-telemedicine", visit), {"enabled": enabled, "confirmed": "yes"})
        event = only_event()
        assert (event.action, event.reason, event.user) == (action, "", doctor)

    @freeze_time(INSIDE)
    def test_patient_toggle_is_refused_and_recorded(self, client_for, visit, patient):
        assert client_for(patient).post(url("toggle-telemedicine", visit), {"enabled": "on"}).status_code == 404
        event = only_event()
        assert (event.action, event.reason, event.user) == ("access-refused", "not-assigned-doctor", patient)

    @freeze_time(INSIDE)
    def test_participants_reading_their_own_pages_are_not_decisions(self, client_for, visit, patient):
        client = client_for(patient)
        client.get(url("appointment-detail-telemedicine", visit))
        client.get(url("check-telemedicine-status", visit))
        assert not AccessEvent.objects.exists()


def in_the_room(client, visit, opened_at, until=None):
    """Open the room page at `opened_at` and keep it open with a heartbeat a minute until `until`."""
    with freeze_time(opened_at):
        assert client.get(url("jitsi-room", visit)).status_code == 200
    moment = opened_at
    while until is not None and moment + dt.timedelta(minutes=1) <= until:
        moment += dt.timedelta(minutes=1)
        with freeze_time(moment):
            assert client.post(url("call-event", visit), {"event": "heartbeat"}).status_code == 204


def call_actions():
    return list(AccessEvent.objects.order_by("created_at", "id").values_list("action", flat=True))


class TestCallEvents:
    @freeze_time(INSIDE)
    @pytest.mark.parametrize("who", ["doctor", "patient"])
    def test_room_page_reports_are_recorded(self, client_for, visit, request, who):
        user = request.getfixturevalue(who)
        client = client_for(user)
        in_the_room(client, visit, INSIDE)
        for event in ("joined", "left"):
            assert client.post(url("call-event", visit), {"event": event}, **BROWSER).status_code == 204
        recorded = list(AccessEvent.objects.order_by("created_at", "id"))
        assert [(event.action, event.reason, event.user) for event in recorded] == [
            ("room-opened", "", user),
            ("call-joined", "", user),
            ("call-left", "", user),
        ]
        assert recorded[1].ip_address == "203.0.113.7"

    @freeze_time(INSIDE)
    def test_heartbeat_keeps_no_record(self, client_for, visit, patient):
        assert client_for(patient).post(url("call-event", visit), {"event": "heartbeat"}).status_code == 204
        assert not AccessEvent.objects.exists()

    @freeze_time(INSIDE)
    @pytest.mark.parametrize("body", [{}, {"event": "hacked"}, {"event": "JOINED"}])
    def test_unknown_event_is_a_bad_request(self, client_for, visit, patient, body):
        assert client_for(patient).post(url("call-event", visit), body).status_code == 400
        assert not AccessEvent.objects.exists()

    @freeze_time(INSIDE)
    def test_stranger_gets_404_and_a_refusal_record(self, client_for, visit, other_doctor):
        assert client_for(other_doctor).post(url("call-event", visit), {"event": "joined"}).status_code == 404
        assert (only_event().action, only_event().reason) == ("access-refused", "not-participant")

    @pytest.mark.parametrize(
        "now,event,reason",
        [
            (START - dt.timedelta(minutes=10, seconds=1), "joined", "too-early"),
            (START - dt.timedelta(minutes=10, seconds=1), "left", "too-early"),
            # A call opened inside the window runs until AUTO_END_SESSION_AFTER (45 min) past the start.
            (START + dt.timedelta(minutes=45, seconds=1), "joined", "too-late"),
            # Its last beacon may come up to two minutes later.
            (START + dt.timedelta(minutes=47, seconds=1), "left", "too-late"),
            (START + dt.timedelta(minutes=47, seconds=1), "heartbeat", "too-late"),
        ],
    )
    def test_reports_outside_the_call_are_refused_and_recorded(self, client_for, visit, patient, now, event, reason):
        with freeze_time(now):
            assert client_for(patient).post(url("call-event", visit), {"event": event}).status_code == 403
        recorded = only_event()
        assert (recorded.action, recorded.reason) == ("access-refused", reason)

    @pytest.mark.parametrize(
        "now,event",
        [
            (START - dt.timedelta(minutes=10), "joined"),
            (START + dt.timedelta(minutes=45), "joined"),
            (START + dt.timedelta(minutes=47), "left"),
            (START + dt.timedelta(minutes=47), "heartbeat"),
        ],
    )
    def test_reports_at_the_edges_of_the_call_are_accepted(self, client_for, visit, patient, now, event):
        # The room page, opened inside the window, stays open (its heartbeats) until `now`.
        opened_at = min(now, START + dt.timedelta(minutes=29))
        with freeze_time(opened_at):
            client = client_for(patient)
        in_the_room(client, visit, opened_at, until=min(now, START + dt.timedelta(minutes=45)))
        if event == "left":
            with freeze_time(START + dt.timedelta(minutes=45)):
                assert client.post(url("call-event", visit), {"event": "joined"}).status_code == 204
        with freeze_time(now):
            assert client.post(url("call-event", visit), {"event": event}).status_code == 204

    @freeze_time(INSIDE)
    @pytest.mark.parametrize("changes", [{"is_telemedicine": False}, {"status": Appointment.Status.CANCELLED}])
    def test_leaving_a_call_switched_off_meanwhile_is_still_recorded(self, client_for, visit, patient, changes):
        client = client_for(patient)
        in_the_room(client, visit, INSIDE)
        assert client.post(url("call-event", visit), {"event": "joined"}).status_code == 204
        Appointment.objects.filter(pk=visit.pk).update(**changes)
        assert client.post(url("call-event", visit), {"event": "left"}).status_code == 204
        assert client.post(url("call-event", visit), {"event": "joined"}).status_code == 403
        assert call_actions() == ["room-opened", "call-joined", "call-left", "access-refused"]

    @freeze_time(INSIDE)
    def test_get_is_not_allowed(self, client_for, visit, patient):
        assert client_for(patient).get(url("call-event", visit)).status_code == 405

    @freeze_time(INSIDE)
    def test_post_without_csrf_token_is_refused(self, visit, patient):
        client = Client(enforce_csrf_checks=True)
        client.force_login(patient)
        assert client.post(url("call-event", visit), {"event": "joined"}).status_code == 403
        assert not AccessEvent.objects.exists()

    @freeze_time(INSIDE)
    def test_room_page_gives_room_js_the_events_url_and_a_token(self, visit, patient):
        client = Client(enforce_csrf_checks=True)
        client.force_login(patient)
        html = client.get(url("jitsi-room", visit)).content.decode()
        assert f'id="call-events" method="post" action="{url("call-event", visit)}"' in html
        assert 'data-heartbeat-seconds="60"' in html
        token = client.cookies[settings.CSRF_COOKIE_NAME].value
        # The beacon's body: form fields only, no header.
        response = client.post(url("call-event", visit), {"event": "left", "csrfmiddlewaretoken": token})
        assert response.status_code == 204
        # fetch(): the token in X-CSRFToken.
        response = client.post(url("call-event", visit), {"event": "joined"}, HTTP_X_CSRFTOKEN=token)
        assert response.status_code == 204


class TestWhatIsStored:
    @freeze_time(INSIDE)
    def test_no_event_or_log_line_contains_the_room_name(
        self, client_for, visit, doctor, patient, other_patient, caplog
    ):
        caplog.set_level(logging.INFO, logger="telemedicine")
        room_name = visit.get_jitsi_room_name()
        doctor_client, patient_client = client_for(doctor), client_for(patient)
        doctor_client.post(url("toggle-telemedicine", visit), {"enabled": "on"})
        patient_client.get(url("jitsi-room", visit))
        doctor_client.get(url("jitsi-room", visit))
        patient_client.post(url("call-event", visit), {"event": "joined"})
        patient_client.post(url("call-event", visit), {"event": "left"})
        client_for(other_patient).get(url("jitsi-room", visit))
        rows = list(AccessEvent.objects.values())
        assert len(rows) == 6
        for row in rows:
            assert all(room_name not in str(value) for value in row.values()), row
        assert room_name not in caplog.text
        assert "room access granted" in caplog.text  # the log lines are there, just without secrets

    @freeze_time(INSIDE)
    def test_user_agent_is_truncated(self, client_for, visit, patient):
        client_for(patient).get(url("jitsi-room", visit), HTTP_USER_AGENT="x" * 5000)
        assert only_event().user_agent == "x" * 255

    @freeze_time(INSIDE)
    @pytest.mark.parametrize("remote_addr,stored", [("2001:db8::1", "2001:db8::1"), ("not-an-ip", None), ("", None)])
    def test_ip_address(self, client_for, visit, patient, remote_addr, stored):
        client_for(patient).get(url("jitsi-room", visit), REMOTE_ADDR=remote_addr)
        assert only_event().ip_address == stored


class TestAppendOnly:
    @pytest.fixture
    def event(self, visit, patient):
        return AccessEvent.objects.create(user=patient, appointment=visit, action="room-opened")

    def test_an_existing_event_cannot_be_saved_again(self, event):
        event.action = "room-refused"
        with pytest.raises(AppendOnlyError):
            event.save()
        assert AccessEvent.objects.get().action == "room-opened"

    def test_an_event_cannot_be_deleted(self, event):
        with pytest.raises(AppendOnlyError):
            event.delete()
        assert AccessEvent.objects.count() == 1

    @pytest.mark.parametrize(
        "change",
        [
            lambda events: events.update(action="room-refused"),
            lambda events: events.delete(),
            lambda events: events.filter(action="room-opened").delete(),
            lambda events: AccessEvent.objects.bulk_update(list(events), ["action"]),
            lambda events: AccessEvent._base_manager.all().delete(),
        ],
    )
    def test_querysets_cannot_change_or_delete_events(self, event, change):
        with pytest.raises(AppendOnlyError):
            change(AccessEvent.objects.all())
        assert AccessEvent.objects.get().action == "room-opened"

    def test_deleting_the_appointment_keeps_its_events_and_its_id(self, event, visit):
        appointment_id = visit.pk
        visit.delete()
        kept = AccessEvent.objects.get()
        assert kept.appointment_id == appointment_id

    def test_a_person_with_an_audit_trail_cannot_be_deleted(self, event, patient):
        Appointment.objects.all().delete()  # their appointments would PROTECT them too
        with pytest.raises(ProtectedError):
            patient.delete()


class TestPatientInRoom:
    """The doctor's card says "Patient is in the room" from the patient's call reports (telemedicine/presence.py)."""

    @pytest.mark.parametrize(
        "who,now,shown",
        [
            ("doctor", INSIDE, True),
            ("patient", INSIDE, False),
            ("doctor", AFTER, False),
        ],
    )
    def test_status_card_tells_only_the_doctor_and_only_while_open(
        self, client_for, visit, patient, request, who, now, shown
    ):
        with freeze_time(INSIDE):
            patient_client = client_for(patient)
            patient_client.get(url("jitsi-room", visit))
            patient_client.post(url("call-event", visit), {"event": "joined"})
        with freeze_time(now):
            client = client_for(request.getfixturevalue(who))
            html = client.get(url("check-telemedicine-status", visit)).content.decode()
        assert ("Patient is in the room" in html) is shown

    def test_card_follows_the_patients_reports(self, client_for, visit, doctor, patient):
        def doctor_sees_patient_in_room():
            html = doctor_client.get(url("check-telemedicine-status", visit)).content.decode()
            return "Patient is in the room" in html

        with freeze_time(INSIDE):
            doctor_client, patient_client = client_for(doctor), client_for(patient)
            assert not doctor_sees_patient_in_room()
            patient_client.get(url("jitsi-room", visit))
            assert not doctor_sees_patient_in_room()  # on the room page, not in the call yet
            patient_client.post(url("call-event", visit), {"event": "joined"})
            assert doctor_sees_patient_in_room()
        with freeze_time(INSIDE + dt.timedelta(minutes=1)):
            patient_client.post(url("call-event", visit), {"event": "left"})
            assert not doctor_sees_patient_in_room()


class TestPollQueryCounts:
    """The status card is polled every few seconds by both people: keep each poll cheap."""

    @freeze_time(INSIDE)
    @pytest.mark.parametrize(
        "who,tables",
        [
            # The session and the user come from the cache; the session is saved at most once a minute.
            # Who is in the room comes from the cache (telemedicine/presence.py), not the audit trail.
            ("doctor", ["appointments_appointment"]),
            ("patient", ["appointments_appointment"]),
        ],
    )
    def test_status_poll(self, client_for, visit, patient, doctor, request, django_assert_num_queries, who, tables):
        for person in (patient, doctor):  # both in the call: each card says so
            in_the_room(client_for(person), visit, INSIDE)
            client_for(person).post(url("call-event", visit), {"event": "joined"})
        client = client_for(request.getfixturevalue(who))
        client.get(url("check-telemedicine-status", visit))  # the session is now in the cache
        with django_assert_num_queries(len(tables)) as captured:
            response = client.get(url("check-telemedicine-status", visit), HTTP_HX_REQUEST="true")
        assert response.status_code == 200
        assert ("Patient is in the room" if who == "doctor" else "Dr House is in the call") in response.content.decode()
        statements = [q["sql"] for q in captured.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]
        assert [re.search(r'(?:FROM|UPDATE) "(\w+)"', sql).group(1) for sql in statements] == tables


class TestAppointmentChanges:
    """Scheduling, cancelling and completing are recorded with who, what and from where."""

    def test_scheduling_is_recorded(self, client_for, doctor, patient):
        client_for(doctor).post(
            "/appointments/new/",
            {
                "patient": patient.pk,
                "date": "2030-01-20",
                "time": "14:30",
                "description": "Private",
                "visit_kind": "clinic",
            },
            **BROWSER,
        )
        event = only_event()
        assert (event.action, event.reason, event.user) == ("appointment-changed", "scheduled", doctor)
        assert event.appointment_id == Appointment.objects.get().pk
        assert event.ip_address == "203.0.113.7"
        assert "Private" not in event.detail

    @freeze_time(START)  # a visit is marked completed from its start
    @pytest.mark.parametrize("action,reason", [("cancel", "cancelled"), ("complete", "completed")])
    def test_closing_is_recorded(self, client_for, visit, doctor, action, reason):
        client_for(doctor).post(f"/appointments/{visit.pk}/{action}/", **BROWSER)
        event = only_event()
        assert (event.action, event.reason, event.user, event.appointment_id) == (
            "appointment-changed",
            reason,
            doctor,
            visit.pk,
        )

    def test_closing_twice_records_once(self, client_for, visit, doctor):
        client = client_for(doctor)
        client.post(f"/appointments/{visit.pk}/cancel/")
        client.post(f"/appointments/{visit.pk}/cancel/")
        assert AccessEvent.objects.filter(action="appointment-changed").count() == 1

    def test_no_change_is_kept_without_its_record(self, client_for, visit, doctor, monkeypatch):
        def broken(*args, **kwargs):
            raise RuntimeError("the audit trail cannot be written")

        monkeypatch.setattr(AccessEvent.objects, "create", broken)
        client = client_for(doctor)
        client.raise_request_exception = False
        response = client.post(f"/appointments/{visit.pk}/cancel/")
        assert response.status_code == 500
        assert Appointment.objects.get(pk=visit.pk).status == Appointment.Status.SCHEDULED

    def test_the_detail_names_fields_with_plain_values(self):
        detail = audit.change_detail({"time": ("10:00", "11:30"), "date": ("2030-01-15", "2030-01-16")})
        assert detail == "date: 2030-01-15 -> 2030-01-16; time: 10:00 -> 11:30"
