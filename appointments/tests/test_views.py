import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.test import override_settings
from django.urls import reverse
from freezegun import freeze_time

from appointments.models import Appointment
from telemedicine.access import Phase, call_phase

NOW = dt.datetime(2030, 1, 15, 9, 0, tzinfo=ZoneInfo("Europe/London"))


@pytest.fixture
def day(make_appointment, doctor, patient, other_patient):
    """Yesterday, today and tomorrow in the clinic of dr.house."""
    return {
        "past": make_appointment(date=dt.date(2030, 1, 14), time=dt.time(9), description="Past"),
        "today": make_appointment(
            date=dt.date(2030, 1, 15), time=dt.time(11), description="Today", is_telemedicine=True
        ),
        "other": make_appointment(date=dt.date(2030, 1, 15), time=dt.time(12), patient=other_patient),
        "tomorrow": make_appointment(date=dt.date(2030, 1, 16), time=dt.time(9), description="Tomorrow"),
        "cancelled": make_appointment(date=dt.date(2030, 1, 17), time=dt.time(9), status="cancelled"),
    }


@freeze_time(NOW)
class TestDashboard:
    def test_doctor_sees_today_upcoming_and_the_past_and_cancelled(self, client_for, doctor, day):
        html = client_for(doctor).get(reverse("appointments:dashboard")).content.decode()
        today, rest = html.split('id="upcoming-doctor-heading"')
        upcoming, past = rest.split('id="past-doctor-heading"')
        for key in ("today", "other"):
            assert day[key].get_absolute_url() in today
        assert day["tomorrow"].get_absolute_url() in upcoming
        # Yesterday's visit and the cancelled one ahead no longer simply vanish.
        for key in ("past", "cancelled"):
            assert day[key].get_absolute_url() not in today + upcoming
            assert day[key].get_absolute_url() in past
        assert "Schedule an appointment" in html
        assert '<h1 class="h3 mb-0 me-auto">My appointments</h1>' in html

    def test_patient_sees_only_their_own_upcoming_and_past(self, client_for, patient, day):
        html = client_for(patient).get(reverse("appointments:dashboard")).content.decode()
        upcoming, past = html.split('id="past-patient-heading"')
        assert day["today"].get_absolute_url() in upcoming
        assert day["tomorrow"].get_absolute_url() in upcoming
        assert day["past"].get_absolute_url() in past
        assert day["other"].get_absolute_url() not in html
        assert "Schedule an appointment" not in html

    def test_rows_carry_a_live_video_badge(self, client_for, patient, day):
        html = client_for(patient).get(reverse("appointments:dashboard")).content.decode()
        assert 'data-phase="waiting"' in html
        assert 'data-phase="in-person"' in html
        assert 'hx-trigger="every 30s"' in html

    def test_htmx_refresh_returns_only_the_lists(self, client_for, patient, day):
        response = client_for(patient).get(
            reverse("appointments:dashboard"), HTTP_HX_REQUEST="true", HTTP_HX_TARGET="appointment-lists"
        )
        html = response.content.decode()
        assert html.strip().startswith('<div id="appointment-lists"')
        assert "<html" not in html

    def test_dashboard_never_shows_room_names(self, client_for, doctor, day):
        name = day["today"].get_jitsi_room_name()
        assert name not in client_for(doctor).get(reverse("appointments:dashboard")).content.decode()

    def test_badges_disappear_when_integration_is_off(self, client_for, patient, day, settings):
        settings.TELEMEDICINE_SETTINGS = {**settings.TELEMEDICINE_SETTINGS, "ENABLE_JITSI_INTEGRATION": False}
        html = client_for(patient).get(reverse("appointments:dashboard")).content.decode()
        assert "data-phase" not in html
        assert "Video visit" not in html


@freeze_time(NOW)
class TestScheduling:
    def form(self, booked, **overrides):
        return {
            "patient": booked.pk,
            "date": "2030-01-20",
            "time": "14:30",
            "description": "Check-up",
            "visit_kind": "video",
            **overrides,
        }

    def test_doctor_schedules_for_themselves(self, client_for, doctor, patient):
        response = client_for(doctor).post(reverse("appointments:schedule"), self.form(patient))
        appointment = Appointment.objects.get()
        assert response.status_code == 302
        assert response["Location"] == appointment.get_absolute_url()
        assert (appointment.doctor, appointment.patient, appointment.is_telemedicine) == (doctor, patient, True)
        assert (appointment.date, appointment.time) == (dt.date(2030, 1, 20), dt.time(14, 30))

    def test_staff_choose_the_doctor(self, client_for, staff, doctor, patient):
        response = client_for(staff).post(reverse("appointments:schedule"), self.form(patient, doctor=doctor.pk))
        assert response.status_code == 302
        assert Appointment.objects.get().doctor == doctor

    @pytest.mark.parametrize(
        "overrides,field,message",
        [
            ({"date": ""}, "date", "This field is required"),
            ({"time": "25:99"}, "time", "Enter a valid time"),
            ({"date": "2030-01-14"}, "date", "Mon 14 Jan 2030 has passed"),
            ({"date": "2030-01-15", "time": "08:59"}, "time", "08:59 has passed today"),  # the time's fault
            ({"patient": "999999"}, "patient", "Select a valid choice"),
        ],
    )
    def test_invalid_forms_explain_and_write_nothing(self, client_for, doctor, patient, overrides, field, message):
        response = client_for(doctor).post(reverse("appointments:schedule"), self.form(patient, **overrides))
        assert response.status_code == 400
        assert message in " ".join(response.context["form"].errors[field])
        assert 'class="invalid-feedback' in response.content.decode()
        assert not Appointment.objects.exists()

    @override_settings(TIME_ZONE="Europe/London")
    def test_a_time_that_does_not_exist_is_refused(self, client_for, doctor, patient):
        response = client_for(doctor).post(
            reverse("appointments:schedule"), self.form(patient, date="2030-03-31", time="01:30")
        )
        assert response.status_code == 400
        assert "does not exist in London time" in response.context["form"].errors["time"][0]
        assert not Appointment.objects.exists()

    def test_double_booking_a_doctor_is_refused(self, client_for, doctor, patient, make_appointment):
        make_appointment(date=dt.date(2030, 1, 20), time=dt.time(14, 30))
        response = client_for(doctor).post(reverse("appointments:schedule"), self.form(patient))
        assert response.status_code == 400
        assert (
            "Dr Gregory House already sees Pat Ient at 14:30 on Sun 20 Jan 2030"
            in (response.context["form"].errors["time"][0])
        )
        assert Appointment.objects.count() == 1

    def test_only_patients_can_be_booked(self, client_for, doctor, other_doctor, patient):
        response = client_for(doctor).post(
            reverse("appointments:schedule"), self.form(patient, patient=other_doctor.pk)
        )
        assert response.status_code == 400

    def test_patients_cannot_schedule(self, client_for, patient):
        assert client_for(patient).get(reverse("appointments:schedule")).status_code == 403
        assert client_for(patient).post(reverse("appointments:schedule"), self.form(patient)).status_code == 403
        assert not Appointment.objects.exists()


@freeze_time(NOW)
class TestClosing:
    """The end of the form posts; the confirmations themselves: appointments/tests/test_confirmations.py."""

    def test_doctor_cancels_from_the_detail_page(self, client_for, doctor, make_appointment):
        appointment = make_appointment()
        response = client_for(doctor).post(reverse("appointments:cancel", args=[appointment.pk]))
        assert response["Location"] == appointment.get_absolute_url()
        assert Appointment.objects.get(pk=appointment.pk).status == "cancelled"

    def test_doctor_completes_from_the_visits_start(self, client_for, doctor, make_appointment):
        appointment = make_appointment(time=dt.time(9, 0))  # NOW is its start
        response = client_for(doctor).post(reverse("appointments:complete", args=[appointment.pk]))
        assert response["Location"] == appointment.get_absolute_url()
        assert Appointment.objects.get(pk=appointment.pk).status == "completed"

    def test_staff_go_back_to_the_staff_view(self, client_for, staff, make_appointment):
        appointment = make_appointment()
        response = client_for(staff).post(reverse("appointments:cancel", args=[appointment.pk]))
        assert response["Location"] == reverse("appointments:staff-view", args=[appointment.pk])
        assert Appointment.objects.get(pk=appointment.pk).status == "cancelled"

    @pytest.mark.parametrize("who", ["patient", "other_doctor", "other_patient"])
    @pytest.mark.parametrize("method", ["get", "post"])
    def test_nobody_else_may_close(self, client_for, make_appointment, request, who, method):
        appointment = make_appointment()
        client = client_for(request.getfixturevalue(who))
        for action in ("cancel", "complete"):
            response = getattr(client, method)(reverse(f"appointments:{action}", args=[appointment.pk]))
            assert response.status_code == 404
        assert Appointment.objects.get(pk=appointment.pk).status == "scheduled"

    def test_closing_twice_says_so(self, client_for, doctor, make_appointment):
        appointment = make_appointment(status="completed")
        client = client_for(doctor)
        response = client.post(reverse("appointments:cancel", args=[appointment.pk]), follow=True)
        assert "already completed" in response.content.decode()
        assert Appointment.objects.get(pk=appointment.pk).status == "completed"

    @pytest.mark.parametrize("method", ["put", "patch", "delete"])
    def test_other_methods_are_405(self, client_for, doctor, make_appointment, method):
        url = reverse("appointments:cancel", args=[make_appointment().pk])
        assert getattr(client_for(doctor), method)(url).status_code == 405


@freeze_time(NOW)  # the demo is placed around now: a fixed now, never a night the clocks change
def test_seed_demo_covers_every_state_and_is_idempotent(db, capsys, django_user_model):
    call_command("seed_demo")
    call_command("seed_demo")
    output = capsys.readouterr().out
    assert all(name in output for name in ("dr.grey", "alice", "bob", "manager", "admin", "demo-pass-2026"))
    assert django_user_model.objects.get(username="admin").is_superuser
    assert not django_user_model.objects.get(username="manager").is_superuser
    demo = Appointment.objects.filter(description__startswith="[demo]")
    assert demo.count() == 7
    phases = {call_phase(appointment, NOW) for appointment in demo}
    assert {Phase.OPEN, Phase.WAITING, Phase.IN_PERSON, Phase.CANCELLED, Phase.COMPLETED, Phase.ENDED} <= phases


def test_home_sends_people_where_they_belong(client, client_for, patient):
    assert client.get("/")["Location"] == reverse("login")
    assert client_for(patient).get("/")["Location"] == reverse("appointments:dashboard")


@freeze_time(NOW)
def test_seed_demo_prints_the_address_the_demo_is_served_on(db, capsys, settings):
    settings.SITE_URL = "http://127.0.0.1:8123"
    call_command("seed_demo")
    assert "Log in at http://127.0.0.1:8123/login/" in capsys.readouterr().out


class TestClinicSchedule:
    """Staff see the whole clinic's schedule, a page at a time, and the refresh keeps their page."""

    @pytest.fixture
    def busy_clinic(self, make_appointment):
        from appointments.views import UPCOMING_PAGE_SIZE

        start = dt.datetime(2030, 1, 20, 8, 0)
        return [
            make_appointment(
                date=(start + dt.timedelta(minutes=15 * i)).date(), time=(start + dt.timedelta(minutes=15 * i)).time()
            )
            for i in range(UPCOMING_PAGE_SIZE + 3)
        ]

    @freeze_time(NOW)
    def test_the_schedule_has_page_links(self, client_for, staff, busy_clinic):
        html = client_for(staff).get(reverse("appointments:dashboard")).content.decode()
        assert 'aria-label="Clinic schedule pages"' in html
        assert 'href="?clinic_page=2"' in html
        assert "Page 1 of 2" in html

    @freeze_time(NOW)
    def test_the_refresh_asks_for_the_page_being_read(self, client_for, staff, busy_clinic):
        html = client_for(staff).get(reverse("appointments:dashboard"), {"clinic_page": 2}).content.decode()
        assert f'hx-get="{reverse("appointments:dashboard")}?clinic_page=2"' in html
        assert "Page 2 of 2" in html
        assert 'href="?clinic_page=1"' in html

    @freeze_time(NOW)
    def test_the_other_list_keeps_its_page(self, client_for, staff, busy_clinic):
        html = client_for(staff).get(reverse("appointments:dashboard"), {"clinic_page": 2, "page": 1}).content.decode()
        assert 'href="?clinic_page=1&amp;page=1"' in html

    @freeze_time(NOW)
    def test_an_empty_schedule_says_nothing_is_scheduled(self, client_for, staff):
        html = client_for(staff).get(reverse("appointments:dashboard")).content.decode()
        assert 'id="clinic-heading"' in html
        assert "Nothing scheduled." in html


def test_the_favicon_is_served_at_the_root(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 200
    assert response["Content-Type"] in {"image/x-icon", "image/vnd.microsoft.icon"}
    assert b"".join(response.streaming_content).startswith(b"\x00\x00\x01\x00")  # an ICO header


@pytest.mark.parametrize("url_name", ["login", "appointments:dashboard"])
def test_pages_link_their_icon(client_for, patient, url_name):
    html = client_for(patient).get(reverse(url_name), follow=True).content.decode()
    assert 'rel="icon" href="/static/favicon.svg"' in html
