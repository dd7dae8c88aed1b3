"""
Issue 17, point 3: one way to write a date and a time, from one home
(appointments/clinic_time.py), in pages, cards, emails and the admin, with the clinic's zone
named wherever a patient reads a time ("10:30 London time").
"""

import datetime as dt
import re
from pathlib import Path

import pytest
from django.template import Context, Template
from django.urls import reverse
from freezegun import freeze_time

from appointments import clinic_time
from appointments.clinic_time import clinic_datetime
from telemedicine.models import AccessEvent
from telemedicine.tests.shortcuts import url

START = clinic_datetime(dt.date(2030, 1, 15), dt.time(14, 30))  # 14:30: a 12-hour clock would say 2:30 p.m.
BEFORE = START - dt.timedelta(hours=5)
TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
# What the issue found written in other ways: a 12-hour clock, ISO dates, long weekdays and months.
OTHER_WAYS = re.compile(r"\b\d{1,2}:\d{2} ?[ap]\.?m\.?|\b2030-01-15\b|Tuesday|January|15 Jan at|Jan, 14:30")


@pytest.fixture
def visit(make_appointment):
    return make_appointment(starts_at=START, is_telemedicine=True)


class TestTheHome:
    def test_a_day_a_clock_and_a_moment(self):
        assert clinic_time.format_day(dt.date(2030, 1, 15)) == "Tue 15 Jan 2030"
        assert clinic_time.format_clock(dt.time(9, 5)) == "09:05"
        assert clinic_time.format_moment(START) == "Tue 15 Jan 2030 at 14:30 London time"
        assert clinic_time.format_moment(START, zone=False) == "Tue 15 Jan 2030 at 14:30"

    def test_an_instant_is_written_on_the_clinics_clock(self):
        # 14:30 in London in July is 13:30 UTC.
        summer = dt.datetime(2030, 7, 1, 13, 30, tzinfo=dt.UTC)
        assert clinic_time.format_moment(summer) == "Mon 1 Jul 2030 at 14:30 London time"
        assert clinic_time.format_clock(summer) == "14:30"

    def test_near_moments_leave_out_the_day(self):
        assert clinic_time.format_near(START, START - dt.timedelta(hours=1)) == "14:30 London time"
        assert clinic_time.format_near(START, START - dt.timedelta(days=1)) == "Tue 15 Jan 2030 at 14:30 London time"

    def test_another_clinics_zone_is_named_as_people_say_it(self, settings):
        settings.TIME_ZONE = "America/New_York"
        assert clinic_time.zone_label() == "New York time"

    @pytest.mark.parametrize(
        "seconds,words",
        [(45, "45 seconds"), (60, "1 minute"), (1800, "30 minutes"), (5400, "1 hour 30 minutes"), (36000, "10 hours")],
    )
    def test_durations(self, seconds, words):
        assert clinic_time.format_duration(seconds) == words

    def test_template_filters(self):
        rendered = Template(
            "{% load clinic_time %}{{ moment|clinic_moment }} | {{ moment|clinic_moment:'no zone' }} | "
            "{{ moment|clinic_day }} | {{ moment|clinic_clock }}"
        ).render(Context({"moment": START}))
        assert rendered == "Tue 15 Jan 2030 at 14:30 London time | Tue 15 Jan 2030 at 14:30 | Tue 15 Jan 2030 | 14:30"

    def test_no_template_spells_a_format_of_its_own(self):
        spelled = [
            f"{path.relative_to(TEMPLATES)}: {match.group()}"
            for path in TEMPLATES.rglob("*.html")
            for match in re.finditer(r'\|(?:date|time):["\']', path.read_text())
        ]
        assert spelled == []

    def test_djangos_own_formats_are_the_clinics(self):
        from django.utils.formats import date_format, time_format

        assert date_format(dt.date(2030, 1, 15)) == "Tue 15 Jan 2030"
        assert time_format(dt.time(14, 30)) == "14:30"
        assert date_format(dt.datetime(2030, 1, 15, 14, 30), "DATETIME_FORMAT") == "Tue 15 Jan 2030 at 14:30"


@freeze_time(BEFORE)
class TestPagesAndCards:
    def assert_one_way(self, html):
        html = re.sub(r'value="[^"]*"', "", html)  # a date input's value is ISO, as browsers require
        assert not OTHER_WAYS.search(html), OTHER_WAYS.search(html).group()

    def test_the_appointment_page_and_its_card(self, client_for, patient, visit):
        html = client_for(patient).get(visit.get_absolute_url()).content.decode()
        assert "Appointment on Tue 15 Jan 2030 at 14:30 London time</h1>" in html
        assert "The video call opens in 4 h 50 min, at 14:20 London time." in html
        self.assert_one_way(html)

    def test_the_card_another_day_names_the_day(self, client_for, patient, visit):
        with freeze_time(START - dt.timedelta(days=3)):
            html = client_for(patient).get(url("check-telemedicine-status", visit)).content.decode()
        assert "The video call opens in 2 days, on Tue 15 Jan 2030 at 14:20 London time." in html

    def test_the_dashboards_rows_and_its_heading_name_the_zone_once(self, client_for, patient, doctor, visit):
        patient_html = client_for(patient).get(reverse("appointments:dashboard")).content.decode()
        assert ">Tue 15 Jan 2030 at 14:30</a>" in patient_html
        assert "When (London time)" in patient_html
        assert "Your next visit: today at 14:30 London time, with Dr Gregory House" in patient_html
        doctor_html = client_for(doctor).get(reverse("appointments:dashboard")).content.decode()
        assert "Today, Tue 15 Jan 2030" in doctor_html
        assert ">14:30</a>" in doctor_html
        assert "Time (London time)" in doctor_html
        self.assert_one_way(patient_html + doctor_html)

    def test_the_room_page_the_reschedule_page_and_the_staff_view(self, client_for, patient, doctor, staff, visit):
        room = client_for(patient).get(url("jitsi-room", visit)).content.decode()
        reschedule = client_for(doctor).get(reverse("appointments:reschedule", args=[visit.pk])).content.decode()
        staff_view = client_for(staff).get(reverse("appointments:staff-view", args=[visit.pk])).content.decode()
        assert "now on Tue 15 Jan 2030 at 14:30 London time." in reschedule
        assert "Tue 15 Jan 2030 at 14:30 London time" in staff_view
        for html in (room, reschedule, staff_view):
            self.assert_one_way(html)

    def test_the_scheduled_message(self, client_for, doctor, patient):
        response = client_for(doctor).post(
            reverse("appointments:schedule"),
            {"patient": patient.pk, "date": "2030-01-15", "time": "14:30", "visit_kind": "clinic"},
            follow=True,
        )
        assert "Appointment with Pat Ient on Tue 15 Jan 2030 at 14:30 London time scheduled." in (
            response.content.decode()
        )


class TestTheAdmin:
    @pytest.fixture
    def frozen(self):
        with freeze_time(BEFORE):
            yield

    @pytest.fixture
    def superuser_client(self, frozen, client_for, make_user):
        return client_for(make_user("ada", is_staff=True, is_superuser=True))

    def test_the_appointment_list(self, superuser_client, visit):
        html = superuser_client.get(reverse("admin:appointments_appointment_changelist")).content.decode()
        assert "Tue 15 Jan 2030 at 14:30 London time" in html
        assert not re.search(r"\b[ap]\.m\.", html)

    def test_the_audit_trail(self, superuser_client, client_for, patient, visit):
        client_for(patient).get(url("jitsi-room", visit))
        event = AccessEvent.objects.get()
        html = superuser_client.get(reverse("admin:telemedicine_accessevent_changelist")).content.decode()
        assert clinic_time.format_moment(event.created_at) in html  # Tue 15 Jan 2030 at 09:30 London time
        detail = superuser_client.get(
            reverse("admin:telemedicine_accessevent_change", args=[event.pk])
        ).content.decode()
        assert "Tue 15 Jan 2030 at 09:30" in detail  # Django's own DATETIME_FORMAT, from the same home
        assert not re.search(r"\b[ap]\.m\.", html + detail)
