"""
Issue 17, point 1: switching video off while the call is open or about to open (worse: while
the patient is in it) is asked twice, by the server: in the switch's place for htmx, on a
page of its own without JavaScript. Nothing changes until the doctor says yes.
"""

import datetime as dt

import pytest
from django.contrib.messages import get_messages
from freezegun import freeze_time

from appointments.clinic_time import clinic_datetime
from appointments.models import Appointment, Notification
from telemedicine import presence
from telemedicine.access import (
    SWITCH_OFF_CONFIRM_LEAD,
    CallReport,
    call_window,
    calls_end_by,
    switch_off_needs_confirmation,
)
from telemedicine.models import AccessEvent
from telemedicine.tests.shortcuts import url

START = clinic_datetime(dt.date(2030, 1, 15), dt.time(10, 0))
SECOND = dt.timedelta(seconds=1)
LABEL = "Pat Ient on Tue 15 Jan 2030 at 10:00 London time"


@pytest.fixture
def visit(make_appointment):
    return make_appointment(starts_at=START, is_telemedicine=True)


def is_video(appointment) -> bool:
    return Appointment.objects.values_list("is_telemedicine", flat=True).get(pk=appointment.pk)


def htmx_on(appointment) -> dict:
    return {
        "HTTP_HX_REQUEST": "true",
        "HTTP_HX_TARGET": f"telemedicine-toggle-{appointment.pk}",
        "HTTP_HX_CURRENT_URL": f"http://testserver{appointment.get_absolute_url()}",
    }


class TestTheRule:
    """From an hour before the window opens until every call opened in it has ended, both ends included."""

    def edges(self, visit):
        opens = call_window(visit).opens_at - SWITCH_OFF_CONFIRM_LEAD
        return [
            (opens - SECOND, False),
            (opens, True),
            (START, True),
            (calls_end_by(visit), True),
            (calls_end_by(visit) + SECOND, False),
        ]

    def test_at_its_edges(self, visit):
        assert [switch_off_needs_confirmation(visit, moment) for moment, _ in self.edges(visit)] == [
            expected for _, expected in self.edges(visit)
        ]

    @pytest.mark.parametrize("changes", [{"is_telemedicine": False}, {"status": "cancelled"}, {"status": "completed"}])
    def test_never_for_a_visit_that_is_not_an_open_video_visit(self, make_appointment, changes):
        appointment = make_appointment(starts_at=START, **{"is_telemedicine": True, **changes})
        assert switch_off_needs_confirmation(appointment, START) is False


class TestTheSwitch:
    def test_without_javascript_a_page_asks_first_and_nothing_changes(self, client_for, doctor, visit):
        with freeze_time(START):
            response = client_for(doctor).post(url("toggle-telemedicine", visit), {"enabled": "off"})
        html = response.content.decode()
        assert response.status_code == 200
        assert '<h1 class="h3">Switch video off</h1>' in html
        assert f"Switch video off for the appointment with {LABEL}?" in html
        assert "The video call is open now, until 10:30 London time." in html
        assert 'name="confirmed" value="yes"' in html
        assert 'name="enabled"' not in html.split("confirm-video-off")[1]  # "yes" means off
        assert f'href="{visit.get_absolute_url()}"' in html
        assert is_video(visit) is True
        assert not AccessEvent.objects.filter(action=AccessEvent.Action.TELEMEDICINE_OFF).exists()
        assert not Notification.objects.exists()

    def test_with_htmx_the_switch_stays_on_and_the_question_appears_under_it(self, client_for, doctor, visit):
        with freeze_time(START):
            response = client_for(doctor).post(url("toggle-telemedicine", visit), {}, **htmx_on(visit))
        html = response.content.decode()
        slot = f"telemedicine-toggle-{visit.pk}"
        assert response.status_code == 200
        assert html.strip().startswith(f'<div id="{slot}"')
        assert "checked" in html.split('role="switch"')[1].split(">")[0]  # still on
        assert f"Switch video off for the appointment with {LABEL}?" in html
        # "Yes" answers in place; "Keep video on" puts the switch back as the page has it.
        assert f'hx-post="{url("toggle-telemedicine", visit)}" hx-target="#{slot}"' in html
        assert f'hx-select="#{slot}"' in html
        assert "HX-Trigger" not in response  # the status card has nothing to follow yet
        assert is_video(visit) is True

    def test_the_patient_in_the_call_is_named(self, client_for, doctor, patient, visit):
        with freeze_time(START):  # the presence marks expire on the (frozen) clock
            presence.mark_room_open(visit, patient.pk, START)
            presence.apply_report(visit, patient.pk, CallReport.JOINED, START)
            html = client_for(doctor).post(url("toggle-telemedicine", visit), {}, **htmx_on(visit)).content.decode()
        assert "Pat Ient is in the video call right now." in html
        assert "Pat Ient can no longer join by video" in html

    def test_an_hour_ahead_it_says_when_the_call_opens(self, client_for, doctor, visit):
        with freeze_time(START - dt.timedelta(minutes=30)):
            html = client_for(doctor).post(url("toggle-telemedicine", visit), {}).content.decode()
        assert "The video call opens at 09:50 London time: Pat Ient may be getting ready for it." in html

    @pytest.mark.parametrize("htmx", [True, False])
    def test_yes_switches_it_off_and_says_which_appointment(self, client_for, doctor, visit, htmx):
        with freeze_time(START):
            response = client_for(doctor).post(
                url("toggle-telemedicine", visit), {"confirmed": "yes"}, **(htmx_on(visit) if htmx else {})
            )
        assert is_video(visit) is False
        assert AccessEvent.objects.filter(action=AccessEvent.Action.TELEMEDICINE_OFF).count() == 1
        if htmx:
            assert "telemedicine-changed" in response["HX-Trigger"]  # the status card follows at once
            assert "Switch video off for" not in response.content.decode()
        else:
            assert [str(m) for m in get_messages(response.wsgi_request)] == [
                f"Appointment with {LABEL} is now at the clinic: video switched off."
            ]

    def test_far_ahead_it_switches_at_once(self, client_for, doctor, visit):
        with freeze_time(START - dt.timedelta(days=1)):
            response = client_for(doctor).post(url("toggle-telemedicine", visit), {})
        assert response.status_code == 302
        assert is_video(visit) is False

    def test_switching_on_never_asks(self, client_for, doctor, make_appointment):
        appointment = make_appointment(starts_at=START, is_telemedicine=False)
        with freeze_time(START):
            response = client_for(doctor).post(url("toggle-telemedicine", appointment), {"enabled": "on"})
        assert response.status_code == 302
        assert is_video(appointment) is True
