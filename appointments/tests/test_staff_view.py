"""
Issue 17, point 7: a manager's dashboard is the clinic's schedule; its rows open a staff view
of the appointment (date, time, people, status, video on or off, its history), from which
staff reschedule, cancel or complete. Never the room, never Join; the reason only with the
`appointments.view_reason` permission. Point 9: the doctor's "Past and cancelled".
"""

import datetime as dt

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from freezegun import freeze_time

from appointments.clinic_time import clinic_datetime
from appointments.views import PAST_PAGE_SIZE
from telemedicine.tests.shortcuts import url

TODAY = dt.date(2030, 1, 15)
START = clinic_datetime(TODAY, dt.time(10, 0))
BEFORE = START - dt.timedelta(hours=2)


@pytest.fixture
def visit(make_appointment):
    return make_appointment(starts_at=START, is_telemedicine=True, description="Rash on left arm")


def staff_view(visit) -> str:
    return reverse("appointments:staff-view", args=[visit.pk])


class TestTheClinicSchedule:
    @freeze_time(BEFORE)
    def test_a_managers_dashboard_is_headed_as_the_clinics_schedule(self, client_for, staff, visit):
        html = client_for(staff).get(reverse("appointments:dashboard")).content.decode()
        assert "<title>Clinic schedule · Clinic video visits</title>" in html
        assert '<h1 class="h3 mb-0 me-auto">Clinic schedule</h1>' in html
        assert ">Clinic schedule</a>" in html  # the header's link says so too
        assert "My appointments" not in html

    @freeze_time(BEFORE)
    def test_its_rows_open_the_staff_view_and_ask_before_cancelling(self, client_for, staff, visit):
        html = client_for(staff).get(reverse("appointments:dashboard")).content.decode()
        row = html[html.index(f'<tr data-appointment="{visit.pk}"') :].split("</tr>")[0]
        assert f'<a href="{staff_view(visit)}">Tue 15 Jan 2030 at 10:00</a>' in row
        assert f'href="{reverse("appointments:cancel", args=[visit.pk])}"' in row  # a link to its confirmation
        assert "<form" not in row  # no one-tap change
        assert reverse("appointments:complete", args=[visit.pk]) not in row  # not before the visit's start
        assert "When (London time)" in html

    @freeze_time(START)
    def test_from_the_start_a_row_offers_completing(self, client_for, staff, visit):
        html = client_for(staff).get(reverse("appointments:dashboard")).content.decode()
        assert f'href="{reverse("appointments:complete", args=[visit.pk])}"' in html

    @freeze_time(BEFORE)
    def test_doctors_and_patients_keep_their_own_dashboard(self, client_for, doctor, patient, visit):
        for person in (doctor, patient):
            html = client_for(person).get(reverse("appointments:dashboard")).content.decode()
            assert '<h1 class="h3 mb-0 me-auto">My appointments</h1>' in html
            assert staff_view(visit) not in html


class TestTheStaffView:
    @freeze_time(BEFORE)
    def test_it_shows_when_who_status_and_video_never_the_room_nor_join(self, client_for, staff, visit):
        room = visit.get_jitsi_room_name()
        html = client_for(staff).get(staff_view(visit)).content.decode()
        assert '<h1 class="h3 mt-2">Pat Ient with Dr Gregory House</h1>' in html
        assert "Tue 15 Jan 2030 at 10:00 London time" in html
        assert ">10:00 London time</dd>" in html
        assert ">Scheduled</dd>" in html
        assert 'data-testid="video">\n      On' in html
        assert 'data-phase="waiting"' in html  # the live badge, as on the schedule
        assert room not in html
        assert "Join" not in html
        assert url("jitsi-room", visit) not in html
        assert visit.get_absolute_url() not in html  # the participants' page is theirs alone

    @freeze_time(BEFORE)
    def test_the_reason_only_with_its_permission(self, client_for, staff, visit):
        assert "Rash on left arm" not in client_for(staff).get(staff_view(visit)).content.decode()
        staff.user_permissions.add(Permission.objects.get(codename="view_reason"))
        assert "Rash on left arm" in client_for(staff).get(staff_view(visit)).content.decode()

    @freeze_time(BEFORE)
    def test_staff_reschedule_and_cancel_here_each_asking_first(self, client_for, staff, visit):
        html = client_for(staff).get(staff_view(visit)).content.decode()
        assert f'href="{reverse("appointments:reschedule", args=[visit.pk])}"' in html
        cancel = reverse("appointments:cancel", args=[visit.pk])
        assert f'hx-get="{cancel}" hx-target="#staff-actions-{visit.pk}"' in html
        assert reverse("appointments:complete", args=[visit.pk]) not in html
        assert "It can be marked completed from its start, Tue 15 Jan 2030 at 10:00 London time." in html

    @freeze_time(BEFORE)
    def test_rescheduling_from_here_comes_back_here(self, client_for, staff, visit):
        client = client_for(staff)
        page = client.get(reverse("appointments:reschedule", args=[visit.pk])).content.decode()
        assert f'href="{staff_view(visit)}"' in page
        response = client.post(
            reverse("appointments:reschedule", args=[visit.pk]), {"date": "2030-01-16", "time": "11:00"}
        )
        assert response["Location"] == staff_view(visit)

    @freeze_time(START)
    def test_its_history_from_the_audit_trail_in_words(self, client_for, staff, doctor, patient, visit):
        client_for(patient).get(url("jitsi-room", visit))
        client_for(doctor).post(url("toggle-telemedicine", visit), {"confirmed": "yes"})
        client_for(staff).post(reverse("appointments:cancel", args=[visit.pk]), {"note": "Unwell"})
        html = client_for(staff).get(staff_view(visit)).content.decode()
        history = html[html.index('id="history-heading"') :]
        for line in (
            "<strong>Room opened</strong> · Pat Ient",
            "<strong>Video visit switched off</strong> · Gregory House",
            "<strong>Appointment changed: cancelled</strong> · manager",
        ):
            assert line in history
        assert "Tue 15 Jan 2030 at 10:00 London time" in history
        assert ">Cancelled</dd>" in html
        assert "Unwell" in html  # the note the patient was given

    @freeze_time(BEFORE)
    @pytest.mark.parametrize("who", ["doctor", "patient", "other_doctor"])
    def test_nobody_but_staff_opens_it(self, client_for, request, visit, who):
        assert client_for(request.getfixturevalue(who)).get(staff_view(visit)).status_code == 404


class TestTheDoctorsPast:
    @freeze_time(BEFORE)
    def test_the_last_30_days_and_the_cancelled_visits_ahead(self, client_for, doctor, make_appointment):
        made = {
            "yesterday": make_appointment(date=TODAY - dt.timedelta(days=1)),
            "30 days ago": make_appointment(date=TODAY - dt.timedelta(days=30)),
            "31 days ago": make_appointment(date=TODAY - dt.timedelta(days=31)),
            "cancelled ahead": make_appointment(date=TODAY + dt.timedelta(days=3), status="cancelled"),
            "tomorrow": make_appointment(date=TODAY + dt.timedelta(days=1)),
        }
        html = client_for(doctor).get(reverse("appointments:dashboard")).content.decode()
        past = html[html.index('id="past-doctor-heading"') :]
        assert ">Past and cancelled</h2>" in past
        shown = {name for name, appointment in made.items() if appointment.get_absolute_url() in past}
        assert shown == {"yesterday", "30 days ago", "cancelled ahead"}
        assert past.index(made["cancelled ahead"].get_absolute_url()) < past.index(made["yesterday"].get_absolute_url())

    @freeze_time(BEFORE)
    def test_it_is_paginated_and_the_refresh_keeps_its_page(self, client_for, doctor, make_appointment):
        for day in range(PAST_PAGE_SIZE + 1):
            make_appointment(date=TODAY - dt.timedelta(days=1 + day % 30), time=dt.time(8 + day // 30, day % 60))
        client = client_for(doctor)
        first = client.get(reverse("appointments:dashboard")).content.decode()
        assert 'aria-label="Past and cancelled pages"' in first
        assert 'href="?past_page=2"' in first
        second = client.get(reverse("appointments:dashboard"), {"past_page": 2}).content.decode()
        assert "Page 2 of 2" in second
        assert f'hx-get="{reverse("appointments:dashboard")}?past_page=2"' in second
