"""
Issue 17, point 6: the scheduling form. Video or at the clinic is a clear choice with large
targets near the top (its default DEFAULT_VISIT_KIND); the field is called "Reason"; a past
time is flagged under Time; a clash names the appointment in the way and offers the doctor's
next free times that day.
"""

import datetime as dt

import pytest
from django.urls import reverse
from freezegun import freeze_time

from appointments.clinic_time import clinic_datetime
from appointments.forms import next_free_times
from appointments.models import Appointment

DAY = dt.date(2030, 1, 20)
NOW = clinic_datetime(dt.date(2030, 1, 15), dt.time(9, 0))


def form(patient, **changes):
    return {"patient": patient.pk, "date": DAY.isoformat(), "time": "10:00", "visit_kind": "clinic", **changes}


def schedule(client, data):
    return client.post(reverse("appointments:schedule"), data)


@freeze_time(NOW)
class TestTheForm:
    def test_video_or_at_the_clinic_comes_first_as_large_targets(self, client_for, doctor):
        html = client_for(doctor).get(reverse("appointments:schedule")).content.decode()
        form_html = html[html.index("<form") :]
        assert form_html.index("Where the visit takes place") < form_html.index("An existing patient")
        assert 'class="btn btn-outline-primary btn-lg choice-card" for="id_visit_kind_0">Video visit</label>' in html
        assert 'class="btn btn-outline-primary btn-lg choice-card" for="id_visit_kind_1">At the clinic</label>' in html
        assert 'type="radio" name="visit_kind" value="clinic" class="btn-check"' in html

    @pytest.mark.parametrize("default", ["video", "clinic"])
    def test_its_default_is_the_clinics_setting(self, client_for, doctor, settings, default):
        settings.DEFAULT_VISIT_KIND = default
        html = client_for(doctor).get(reverse("appointments:schedule")).content.decode()
        checked = html.split(f'value="{default}"')[1].split(">")[0]
        assert "checked" in checked

    @pytest.mark.parametrize("kind,video", [("video", True), ("clinic", False)])
    def test_the_choice_is_booked(self, client_for, doctor, patient, kind, video):
        assert schedule(client_for(doctor), form(patient, visit_kind=kind)).status_code == 302
        assert Appointment.objects.get().is_telemedicine is video

    def test_no_choice_is_asked_for(self, client_for, doctor, patient):
        data = form(patient)
        del data["visit_kind"]
        response = schedule(client_for(doctor), data)
        assert response.status_code == 400
        assert response.context["form"].errors["visit_kind"] == ["Choose a video visit or a visit at the clinic."]

    def test_the_reason_is_called_reason_and_the_time_names_the_zone(self, client_for, doctor):
        html = client_for(doctor).get(reverse("appointments:schedule")).content.decode()
        assert '<label class="form-label" for="id_description">Reason</label>' in html
        assert '<label class="form-label" for="id_time">Time (London time)</label>' in html
        assert "The clinic&#x27;s 24-hour clock, e.g. 14:30." in html

    def test_a_past_time_is_flagged_under_time(self, client_for, doctor, patient):
        response = schedule(client_for(doctor), form(patient, date="2030-01-15", time="08:59"))
        errors = response.context["form"].errors
        assert "date" not in errors
        assert errors["time"] == ["08:59 has passed today. Please choose a time after 09:00 London time."]
        html = response.content.decode()
        assert html.index('id="id_time_error"') > html.index('for="id_time"')


@freeze_time(NOW)
class TestClashes:
    @pytest.mark.parametrize(
        "at,clash", [("09:31", True), ("10:15", True), ("10:29", True), ("10:30", False), ("09:30", False)]
    )
    def test_visits_last_appointment_minutes(self, client_for, doctor, patient, make_appointment, at, clash):
        make_appointment(date=DAY, time=dt.time(10, 0))
        response = schedule(client_for(doctor), form(patient, time=at))
        assert (response.status_code == 400) is clash

    def test_a_clash_names_the_visit_and_offers_the_next_free_times(
        self, client_for, doctor, patient, other_patient, make_appointment
    ):
        make_appointment(date=DAY, time=dt.time(10, 0), patient=other_patient)
        make_appointment(date=DAY, time=dt.time(10, 30), patient=other_patient)
        make_appointment(date=DAY, time=dt.time(11, 30), patient=other_patient, status="cancelled")  # free again
        response = schedule(client_for(doctor), form(patient, time="10:15"))
        assert response.context["form"].errors["time"] == [
            "Dr Gregory House already sees Sam Stranger at 10:00 on Sun 20 Jan 2030 (visits last 30 minutes). "
            "Free that day: 11:00, 11:30, 12:00 London time."
        ]
        html = response.content.decode()
        for free in ("11:00", "11:30", "12:00"):
            assert f'<button type="submit" class="btn btn-outline-primary" name="time" value="{free}">' in html
        # Enter still presses "Schedule": the suggestions come after it.
        assert html.index(">Schedule</button>") < html.index('name="time" value="11:00"')

    def test_a_free_time_button_books_that_time(self, client_for, doctor, patient, make_appointment):
        make_appointment(date=DAY, time=dt.time(10, 0))
        data = form(patient, time=["10:00", "10:30"])  # the typed time, then the button's
        assert schedule(client_for(doctor), data).status_code == 302
        assert Appointment.objects.get(patient=patient, time=dt.time(10, 30))

    def test_rescheduling_into_a_clash_says_the_same(self, client_for, doctor, make_appointment):
        moving = make_appointment(date=DAY, time=dt.time(9, 0))
        make_appointment(date=DAY, time=dt.time(10, 0))
        response = client_for(doctor).post(
            reverse("appointments:reschedule", args=[moving.pk]), {"date": DAY.isoformat(), "time": "10:10"}
        )
        assert "already sees Pat Ient at 10:00" in response.context["form"].errors["time"][0]
        assert 'name="time" value="10:30"' in response.content.decode()


class TestNextFreeTimes:
    def free(self, at, booked, now=NOW, day=DAY):
        return [f"{time:%H:%M}" for time in next_free_times(day, dt.time(*at), [dt.time(*b) for b in booked], now)]

    def test_past_each_visit_in_the_way(self):
        assert self.free((10, 15), [(10, 0), (10, 30), (11, 30)]) == ["11:00", "12:00", "12:30"]

    def test_at_most_three(self):
        assert self.free((9, 0), []) == ["09:00", "09:30", "10:00"]

    def test_never_past_the_end_of_the_day(self):
        assert self.free((23, 0), [(23, 0)]) == ["23:30"]
        assert self.free((23, 30), [(23, 30)]) == []

    def test_never_in_the_past(self):
        now = clinic_datetime(DAY, dt.time(10, 40))
        assert self.free((10, 0), [(10, 0)], now=now) == ["11:00", "11:30", "12:00"]

    def test_never_in_the_spring_gap(self, settings):
        settings.TIME_ZONE = "Europe/London"
        spring = dt.date(2030, 3, 31)  # London's clocks jump from 01:00 to 02:00
        assert self.free((0, 30), [(0, 30)], day=spring) == ["02:00", "02:30", "03:00"]
