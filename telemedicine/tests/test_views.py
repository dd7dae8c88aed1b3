import datetime as dt
import json
import re
from zoneinfo import ZoneInfo

import pytest
from django.test import override_settings
from django.urls import reverse
from freezegun import freeze_time

from appointments.models import Appointment
from telemedicine.tests.shortcuts import telemedicine, url

START = dt.datetime(2030, 1, 15, 10, 0, tzinfo=ZoneInfo("Europe/London"))
INSIDE = START - dt.timedelta(minutes=5)
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def visit(make_appointment):
    return make_appointment(date=START.date(), time=START.time(), is_telemedicine=True, description="Rash on left arm")


def poll_trigger(html):
    match = re.search(r'hx-trigger="load delay:(\d+)ms', html)
    return int(match.group(1)) if match else None


class TestLoginRequired:
    @pytest.mark.parametrize("name", ["appointment-detail-telemedicine", "check-telemedicine-status", "jitsi-room"])
    def test_anonymous_page_request_goes_to_login(self, client, visit, name):
        response = client.get(url(name, visit))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login") + "?next=")

    def test_anonymous_poll_gets_a_full_page_redirect_not_a_login_form(self, client, visit):
        detail = url("appointment-detail-telemedicine", visit)
        response = client.get(
            url("check-telemedicine-status", visit), HTTP_HX_CURRENT_URL=f"http://testserver{detail}", **HTMX
        )
        assert response.status_code == 200
        assert response["HX-Redirect"] == f"{reverse('login')}?next={detail}"
        assert b"password" not in response.content

    def test_poll_from_another_origin_is_not_sent_back_there(self, client, visit):
        response = client.get(
            url("check-telemedicine-status", visit), HTTP_HX_CURRENT_URL="https://evil.example/x", **HTMX
        )
        assert response["HX-Redirect"] == reverse("login") + "?next=" + url("check-telemedicine-status", visit)

    def test_anonymous_toggle_is_refused(self, client, visit):
        response = client.post(url("toggle-telemedicine", visit))
        assert response.status_code == 302
        assert Appointment.objects.get(pk=visit.pk).is_telemedicine is True


class TestDetailPage:
    @freeze_time(INSIDE)
    @pytest.mark.parametrize("who", ["doctor", "patient"])
    def test_shows_facts_and_the_live_status_card(self, client_for, visit, request, who):
        response = client_for(request.getfixturevalue(who)).get(url("appointment-detail-telemedicine", visit))
        html = response.content.decode()
        assert response.status_code == 200
        assert "Rash on left arm" in html
        assert 'id="status-card"' in html
        assert 'aria-live="polite"' in html
        assert "Join video call" in html
        assert not re.search(r"clinic-[0-9a-f]{32}", html)

    @freeze_time(INSIDE)
    def test_only_the_doctor_gets_the_toggle_and_actions(self, client_for, visit, doctor, patient):
        doctor_html = client_for(doctor).get(url("appointment-detail-telemedicine", visit)).content.decode()
        patient_html = client_for(patient).get(url("appointment-detail-telemedicine", visit)).content.decode()
        assert 'role="switch"' in doctor_html
        assert "Cancel appointment" in doctor_html
        assert 'role="switch"' not in patient_html
        assert "Cancel appointment" not in patient_html

    @pytest.mark.parametrize("who", ["other_doctor", "other_patient", "staff"])
    def test_strangers_get_404(self, client_for, visit, request, who):
        response = client_for(request.getfixturevalue(who)).get(url("appointment-detail-telemedicine", visit))
        assert response.status_code == 404
        assert b"Rash" not in response.content

    def test_missing_appointment_is_404(self, client_for, doctor):
        response = client_for(doctor).get(reverse("telemedicine:appointment-detail-telemedicine", args=[987654]))
        assert response.status_code == 404

    @freeze_time(INSIDE)
    def test_integration_off_hides_all_video_ui(self, client_for, visit, doctor):
        with telemedicine(ENABLE_JITSI_INTEGRATION=False):
            html = client_for(doctor).get(url("appointment-detail-telemedicine", visit)).content.decode()
        assert "status-card" not in html
        assert 'role="switch"' not in html
        assert "Join" not in html


class TestStatusCard:
    @pytest.mark.parametrize(
        "moment,fields,phase,text,stops",
        [
            # Every time is written by appointments/clinic_time.py, with the clinic's zone named.
            (START - dt.timedelta(minutes=17), {}, "waiting", "opens in 7 min, at 09:50 London time.", False),
            (START - dt.timedelta(minutes=10, seconds=30), {}, "waiting", "opens in less than a minute", False),
            (START - dt.timedelta(days=2), {}, "waiting", "on Tue 15 Jan 2030 at 09:50 London time.", False),
            (START - dt.timedelta(minutes=10), {}, "open", "Join video call", False),
            (START, {}, "open", "open until 10:30 London time.", False),
            # Past the start without the doctor in the call (telemedicine/tests/test_presence.py has the rest).
            (START + dt.timedelta(minutes=30), {}, "open", "running late (30 min)", False),
            (START + dt.timedelta(minutes=30, seconds=1), {}, "ended", "closed at 10:30 London time.", True),
            (START, {"status": "cancelled"}, "cancelled", "was cancelled", True),
            (START, {"status": "completed"}, "completed", "it was marked completed", True),
            (START, {"is_telemedicine": False}, "in-person", "takes place at Riverside Clinic", False),
            (START + dt.timedelta(hours=1), {"is_telemedicine": False}, "in-person", "not by video", True),
        ],
    )
    def test_card_for_each_phase(self, client_for, make_appointment, patient, moment, fields, phase, text, stops):
        appointment = make_appointment(date=START.date(), time=START.time(), **{"is_telemedicine": True, **fields})
        with freeze_time(moment):
            response = client_for(patient).get(url("check-telemedicine-status", appointment), **HTMX)
        html = response.content.decode()
        assert f'data-phase="{phase}"' in html
        assert text in html
        assert response.status_code == (286 if stops else 200)
        assert ("hx-get" in html) is not stops
        assert ("Join video call" in html) is (phase == "open")

    @freeze_time(START - dt.timedelta(minutes=10, seconds=3))
    def test_waiting_card_asks_again_right_when_the_window_opens(self, client_for, visit, patient):
        html = client_for(patient).get(url("check-telemedicine-status", visit), **HTMX).content.decode()
        assert poll_trigger(html) == 3150

    @freeze_time(START - dt.timedelta(minutes=10))
    def test_card_at_the_opening_instant_shows_join(self, client_for, visit, patient):
        html = client_for(patient).get(url("check-telemedicine-status", visit), **HTMX).content.decode()
        assert 'href="{}"'.format(url("jitsi-room", visit)) in html

    @freeze_time(START + dt.timedelta(hours=1))
    def test_plain_get_after_the_end_is_200_not_286(self, client_for, visit, patient):
        # 286 only means something to htmx.
        assert client_for(patient).get(url("check-telemedicine-status", visit)).status_code == 200

    def test_deleted_appointment_gives_a_clear_final_card(self, client_for, visit, patient):
        client = client_for(patient)
        status_url = url("check-telemedicine-status", visit)
        visit.delete()
        response = client.get(status_url, **HTMX)
        html = response.content.decode()
        assert response.status_code == 404
        assert "no longer available" in html
        assert "hx-get" not in html

    @pytest.mark.parametrize("who", ["other_doctor", "other_patient"])
    def test_strangers_get_the_same_answer_as_for_a_missing_appointment(self, client_for, visit, request, who):
        response = client_for(request.getfixturevalue(who)).get(url("check-telemedicine-status", visit), **HTMX)
        assert response.status_code == 404
        assert "no longer available" in response.content.decode()

    @freeze_time(INSIDE)
    def test_card_never_contains_the_room_name(self, client_for, visit, patient):
        name = visit.get_jitsi_room_name()
        assert name not in client_for(patient).get(url("check-telemedicine-status", visit), **HTMX).content.decode()


class TestToggle:
    @pytest.mark.parametrize("posted,expected", [({"enabled": "on"}, True), ({}, False)])
    def test_htmx_toggle_returns_the_switch_and_tells_the_card(
        self, client_for, make_appointment, doctor, posted, expected
    ):
        appointment = make_appointment(is_telemedicine=not expected)
        response = client_for(doctor).post(url("toggle-telemedicine", appointment), posted, **HTMX)
        assert response.status_code == 200
        html = response.content.decode()
        assert html.strip().startswith(f'<div id="telemedicine-toggle-{appointment.pk}"')
        assert ("checked" in html) is expected
        assert json.loads(response["HX-Trigger"]) == {"telemedicine-changed": {"appointment": appointment.pk}}
        assert Appointment.objects.get(pk=appointment.pk).is_telemedicine is expected

    def test_plain_form_post_redirects_back_to_the_detail_page(self, client_for, make_appointment, doctor):
        appointment = make_appointment(is_telemedicine=False)
        response = client_for(doctor).post(url("toggle-telemedicine", appointment), {"enabled": "on"})
        assert response.status_code == 302
        assert response["Location"] == url("appointment-detail-telemedicine", appointment)
        assert Appointment.objects.get(pk=appointment.pk).is_telemedicine is True

    def test_setting_the_same_state_twice_is_harmless(self, client_for, make_appointment, doctor):
        # Two tabs both switching it on end "on", not flipped back.
        appointment = make_appointment(is_telemedicine=False)
        client = client_for(doctor)
        client.post(url("toggle-telemedicine", appointment), {"enabled": "on"}, **HTMX)
        client.post(url("toggle-telemedicine", appointment), {"enabled": "on"}, **HTMX)
        assert Appointment.objects.get(pk=appointment.pk).is_telemedicine is True

    @pytest.mark.parametrize("who", ["patient", "other_doctor", "other_patient", "staff"])
    def test_only_the_assigned_doctor_may_toggle(self, client_for, make_appointment, request, who):
        appointment = make_appointment(is_telemedicine=False)
        response = client_for(request.getfixturevalue(who)).post(
            url("toggle-telemedicine", appointment), {"enabled": "on"}
        )
        assert response.status_code == 404
        assert Appointment.objects.get(pk=appointment.pk).is_telemedicine is False

    def test_get_is_405(self, client_for, make_appointment, doctor):
        assert client_for(doctor).get(url("toggle-telemedicine", make_appointment())).status_code == 405

    def test_post_without_csrf_token_is_403(self, make_appointment, doctor):
        from django.test import Client

        client = Client(enforce_csrf_checks=True)
        client.force_login(doctor)
        appointment = make_appointment(is_telemedicine=False)
        assert client.post(url("toggle-telemedicine", appointment), {"enabled": "on"}).status_code == 403
        assert Appointment.objects.get(pk=appointment.pk).is_telemedicine is False

    @pytest.mark.parametrize("status", ["cancelled", "completed"])
    def test_a_closed_appointment_cannot_change(self, client_for, make_appointment, doctor, status):
        appointment = make_appointment(is_telemedicine=False, status=status)
        response = client_for(doctor).post(url("toggle-telemedicine", appointment), {"enabled": "on"}, **HTMX)
        assert response.status_code == 409
        assert f"This appointment is {status}" in response.content.decode()
        assert Appointment.objects.get(pk=appointment.pk).is_telemedicine is False

    def test_disabled_integration_refuses_toggles(self, client_for, make_appointment, doctor):
        appointment = make_appointment(is_telemedicine=False)
        with telemedicine(ENABLE_JITSI_INTEGRATION=False):
            response = client_for(doctor).post(url("toggle-telemedicine", appointment), {"enabled": "on"})
        assert response.status_code == 404
        assert Appointment.objects.get(pk=appointment.pk).is_telemedicine is False


def room_options(response):
    match = re.search(
        r'<script id="jitsi-options" type="application/json">(.*?)</script>', response.content.decode(), re.S
    )
    return json.loads(match.group(1)) if match else None


class TestRoomPage:
    @freeze_time(INSIDE)
    @pytest.mark.parametrize("who,moderator", [("doctor", True), ("patient", False)])
    def test_embeds_jitsi_with_options_built_from_settings(self, client_for, visit, request, who, moderator):
        user = request.getfixturevalue(who)
        response = client_for(user).get(url("jitsi-room", visit))
        assert response.status_code == 200
        options = room_options(response)
        visit.refresh_from_db()
        assert options["domain"] == "meet.jit.si"
        assert options["options"]["roomName"] == visit.jitsi_room_name
        assert options["options"]["userInfo"] == {"displayName": user.get_full_name()}
        config = options["options"]["configOverwrite"]
        assert config["startWithAudioMuted"] is True
        assert config["startWithVideoMuted"] is False
        assert config["enableWelcomePage"] is False
        assert config["prejoinPageEnabled"] is True
        assert config["disableInviteFunctions"] is True
        assert "recording" not in config["toolbarButtons"]
        assert config["fileRecordingsEnabled"] is False
        assert options["isModerator"] is moderator
        # Opened 5 min before a 10:00 start: ended at 10:45 (AUTO_END_SESSION_AFTER), 50 min away.
        assert options["endsInSeconds"] == 50 * 60

    @freeze_time(INSIDE)
    def test_loads_only_the_external_api_and_the_bootstrap(self, client_for, visit, patient):
        html = client_for(patient).get(url("jitsi-room", visit)).content.decode()
        scripts = re.findall(r"<script\b[^>]*>", html)
        assert scripts == [
            '<script id="jitsi-options" type="application/json">',
            '<script src="https://meet.jit.si/external_api.js" defer>',
            '<script src="/static/telemedicine/room.js" defer>',
        ]

    @freeze_time(INSIDE)
    def test_domain_stun_and_recording_follow_settings(self, client_for, visit, patient):
        with (
            override_settings(JITSI_DOMAIN="video.clinic.example"),
            telemedicine(RECORDING_ENABLED=True, WEBRTC_STUN_SERVERS=["stun:stun.clinic.example:3478"]),
        ):
            response = client_for(patient).get(url("jitsi-room", visit))
        options = room_options(response)
        assert options["domain"] == "video.clinic.example"
        assert options["options"]["configOverwrite"]["p2p"] == {
            "stunServers": [{"urls": "stun:stun.clinic.example:3478"}]
        }
        assert "recording" in options["options"]["configOverwrite"]["toolbarButtons"]
        assert '<script src="https://video.clinic.example/external_api.js"' in response.content.decode()
        assert "frame-src https://video.clinic.example" in response["Content-Security-Policy"]

    @freeze_time(INSIDE)
    def test_iframe_may_use_camera_microphone_and_screen_for_jitsi_only(self, client_for, visit, patient):
        policy = client_for(patient).get(url("jitsi-room", visit))["Permissions-Policy"]
        for feature in ("camera", "microphone", "display-capture"):
            assert f'{feature}=(self "https://meet.jit.si")' in policy

    @pytest.mark.parametrize(
        "moment,fields,title,what_to_do,card",
        [
            (
                START - dt.timedelta(minutes=10, seconds=1),
                {},
                "The video call is not open yet",
                "Keep this page open: the Join button appears when it opens.",
                True,  # the live card says when, and turns into Join
            ),
            (
                START + dt.timedelta(minutes=30, seconds=1),
                {},
                "The time for this video call has passed",
                "If the visit did not take place, please call Riverside Clinic on 020 7946 0000 to book a new one.",
                False,
            ),
            (
                INSIDE,
                {"is_telemedicine": False},
                "This visit is at the clinic, not by video",
                "It takes place at Riverside Clinic, 1 River Street, London.",
                False,
            ),
            (
                INSIDE,
                {"status": "cancelled", "cancellation_note": "Dr House is unwell."},
                "This appointment was cancelled",
                "A note from Riverside Clinic: Dr House is unwell. To book a new appointment, please call "
                "Riverside Clinic on 020 7946 0000.",
                False,
            ),
        ],
    )
    def test_outside_the_window_says_what_happened_and_what_to_do_once(
        self, client_for, make_appointment, patient, moment, fields, title, what_to_do, card
    ):
        appointment = make_appointment(date=START.date(), time=START.time(), **{"is_telemedicine": True, **fields})
        name = appointment.get_jitsi_room_name()
        with freeze_time(moment):
            response = client_for(patient).get(url("jitsi-room", appointment))
        html = response.content.decode()
        assert response.status_code == 403
        assert f">{title}</h1>" in html
        assert html.count(what_to_do) == 1
        assert "not available right now" not in html
        assert name not in html
        assert "jitsi-options" not in html
        assert "external_api.js" not in html
        assert ('id="status-card"' in html) is card

    @freeze_time(INSIDE)
    def test_disabled_integration_withholds_the_room(self, client_for, visit, patient):
        with telemedicine(ENABLE_JITSI_INTEGRATION=False):
            response = client_for(patient).get(url("jitsi-room", visit))
        assert response.status_code == 403
        assert "not offered" in response.content.decode()
        assert Appointment.objects.get(pk=visit.pk).jitsi_room_name is None

    @freeze_time(INSIDE)
    @pytest.mark.parametrize("who", ["other_doctor", "other_patient", "staff"])
    def test_strangers_never_see_the_room(self, client_for, visit, request, who):
        name = visit.get_jitsi_room_name()
        response = client_for(request.getfixturevalue(who)).get(url("jitsi-room", visit))
        assert response.status_code == 404
        assert name not in response.content.decode()

    @freeze_time(INSIDE)
    def test_post_is_405(self, client_for, visit, patient):
        assert client_for(patient).post(url("jitsi-room", visit)).status_code == 405


@freeze_time(INSIDE)
def test_log_lines_carry_ids_not_names(client_for, visit, patient, other_patient, doctor, caplog):
    caplog.set_level("INFO", logger="telemedicine")
    client_for(patient).get(url("jitsi-room", visit))
    client_for(other_patient).get(url("jitsi-room", visit))
    client_for(doctor).post(url("toggle-telemedicine", visit), {"confirmed": "yes"}, **HTMX)
    messages = [record.getMessage() for record in caplog.records if record.name == "telemedicine"]
    assert any(f"room access granted appointment={visit.pk} user={patient.pk}" in m for m in messages)
    assert any("reason=not-participant" in m for m in messages)
    assert any(f"telemedicine switched off appointment={visit.pk}" in m for m in messages)
    assert any("room created" in m for m in messages)
    visit.refresh_from_db()
    for message in messages:
        for secret in (visit.jitsi_room_name, "Rash", patient.first_name, patient.last_name, patient.username):
            assert secret not in message
