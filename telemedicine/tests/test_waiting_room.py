"""
The waiting room, seen through the pages: the doctor's "Waiting now" panel, the patient's
status card (is the doctor in the call, or late?), the way back from a call, and the
patient's dashboard. Each presence state at its edges, with real requests.
"""

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from freezegun import freeze_time

from appointments.clinic_time import clinic_datetime
from telemedicine.tests.shortcuts import telemedicine, url

START = clinic_datetime(dt.date(2030, 1, 15), dt.time(10, 0))
OPENS = START - dt.timedelta(minutes=10)
CLOSES = START + dt.timedelta(minutes=30)
INSIDE = START - dt.timedelta(minutes=5)
SECOND = dt.timedelta(seconds=1)
ROOM_LIFE = dt.timedelta(minutes=3)
PAGE_LIFE = dt.timedelta(seconds=30)
HTMX = {"HTTP_HX_REQUEST": "true"}
PANEL = reverse("telemedicine:waiting-panel")
TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE SAVEPOINT")


@pytest.fixture
def visit(make_appointment):
    return make_appointment(starts_at=START, is_telemedicine=True)


class Person:
    """Someone who acts at given moments, signed in afresh each time (so no session times out)."""

    def __init__(self, client_for, user):
        self.client_for, self.user = client_for, user

    def at(self, moment):
        with freeze_time(moment):
            return self.client_for(self.user)


class People:
    """The doctor and the patient, acting at given moments: `people.poll(people.patient, visit, moment)`."""

    def __init__(self, client_for, doctor, patient):
        self.doctor = Person(client_for, doctor)
        self.patient = Person(client_for, patient)

    def get(self, person, path, moment, **params):
        client = person.at(moment)
        with freeze_time(moment):
            response = client.get(path, params, **HTMX)
        assert response.status_code in (200, 286), response.status_code
        return response.content.decode()

    def page(self, person, path, moment, **params):
        client = person.at(moment)
        with freeze_time(moment):
            response = client.get(path, params)
        assert response.status_code == 200
        return response.content.decode()

    def poll(self, person, visit, moment, **params):
        return self.get(person, url("check-telemedicine-status", visit), moment, **params)

    def open_room(self, person, visit, moment):
        client = person.at(moment)
        with freeze_time(moment):
            assert client.get(url("jitsi-room", visit)).status_code == 200

    def report(self, person, visit, event, moment):
        client = person.at(moment)
        with freeze_time(moment):
            assert client.post(url("call-event", visit), {"event": event}).status_code == 204

    def in_call(self, person, visit, moment):
        self.open_room(person, visit, moment)
        self.report(person, visit, "joined", moment)

    def panel(self, moment, seen=None):
        return self.get(self.doctor, PANEL, moment, **({} if seen is None else {"seen": seen}))


@pytest.fixture
def people(client_for, doctor, patient):
    return People(client_for, doctor, patient)


def waiting(html) -> list[str]:
    return re.findall(r'data-waiting-key="([\d-]+)"', html)


def title(html) -> str:
    return re.search(r"<title>(.*?)</title>", html, re.S).group(1).strip()


class TestWaitingPanel:
    def test_nobody_waiting(self, people):
        html = people.panel(INSIDE)
        assert waiting(html) == []
        assert "Nobody is waiting" in html
        assert title(html) == "My appointments · Clinic video visits"
        assert 'hx-trigger="load delay:15000ms' in html  # slower while nobody waits

    @pytest.mark.parametrize("after,listed", [(PAGE_LIFE - SECOND, True), (PAGE_LIFE, False)])
    def test_a_patient_with_the_appointment_page_open(self, people, visit, patient, after, listed):
        people.poll(people.patient, visit, INSIDE)
        html = people.panel(INSIDE + after)
        assert waiting(html) == ([f"{visit.pk}-{patient.pk}"] if listed else [])
        if listed:
            assert "Pat Ient" in html
            assert "On the appointment page, waiting less than a minute (since 09:55)" in html
            assert title(html) == "(1) My appointments · Clinic video visits"
            assert 'hx-trigger="load delay:5000ms' in html  # faster while someone waits
            assert f'href="{url("jitsi-room", visit)}"' in html
            assert "You are not in the call yet" in html

    @pytest.mark.parametrize("polled_at,listed", [(OPENS - SECOND, False), (OPENS, True), (CLOSES, True)])
    def test_only_inside_the_call_window(self, people, visit, polled_at, listed):
        people.poll(people.patient, visit, polled_at)
        assert bool(waiting(people.panel(polled_at))) is listed

    def test_the_page_stops_counting_when_the_window_closes(self, people, visit):
        people.poll(people.patient, visit, CLOSES - SECOND)
        assert waiting(people.panel(CLOSES))
        assert not waiting(people.panel(CLOSES + SECOND))

    @pytest.mark.parametrize("after,listed", [(ROOM_LIFE - SECOND, True), (ROOM_LIFE, False)])
    def test_a_patient_in_the_video_room_until_its_heartbeats_stop(self, people, visit, after, listed):
        people.open_room(people.patient, visit, INSIDE)
        html = people.panel(INSIDE + after)
        assert bool(waiting(html)) is listed
        if listed:
            assert "In the video room, waiting 3 min (since 09:55)" in html

    def test_a_patient_in_the_call_and_the_doctor_joining(self, people, visit):
        people.in_call(people.patient, visit, INSIDE)
        html = people.panel(INSIDE + SECOND)
        assert "In the call" in html
        assert "You are not in the call yet" in html
        people.in_call(people.doctor, visit, INSIDE + 2 * SECOND)
        html = people.panel(INSIDE + 3 * SECOND)
        assert "You are in this call" in html

    def test_a_patient_back_on_the_appointment_page_after_leaving(self, people, visit):
        people.in_call(people.patient, visit, START - dt.timedelta(minutes=1))
        people.report(people.patient, visit, "left", START)
        for seconds in (0, 10, 20):
            people.poll(people.patient, visit, START + dt.timedelta(seconds=seconds), call="ended")
        html = people.panel(START + dt.timedelta(seconds=49))
        assert "On the appointment page, waiting less than a minute (since 10:00)" in html
        for seconds in range(30, 130, 10):
            people.poll(people.patient, visit, START + dt.timedelta(seconds=seconds), call="ended")
        html = people.panel(START + dt.timedelta(minutes=2))
        assert "On the appointment page, waiting 2 min (since 10:00)" in html

    def test_a_call_still_running_after_the_window_closed(self, people, visit):
        people.in_call(people.patient, visit, CLOSES - SECOND)
        for minute in range(1, 16):  # the call runs until 45 min past the start
            people.report(people.patient, visit, "heartbeat", CLOSES + dt.timedelta(minutes=minute))
        assert "In the call" in people.panel(START + dt.timedelta(minutes=45))

    def test_a_new_arrival_is_announced_once(self, people, visit, patient):
        people.poll(people.patient, visit, INSIDE)
        key = f"{visit.pk}-{patient.pk}"
        announcer = re.compile(r'<p id="waiting-now-announcer" hx-swap-oob="innerHTML">(.*?)</p>', re.S)
        assert announcer.search(people.panel(INSIDE, seen="")).group(1).strip() == (
            "Pat Ient (10:00 appointment) is waiting."
        )
        assert announcer.search(people.panel(INSIDE, seen=key)).group(1).strip() == ""
        html = people.panel(INSIDE, seen=key)
        assert f"?seen={key}" in html  # the next poll says who it has shown

    @pytest.mark.parametrize("seen", ["<script>", "1-2,x", "9" * 40, ",".join(["1-1"] * 5000)])
    def test_a_garbled_seen_list_is_harmless(self, people, seen):
        assert "Nobody is waiting" in people.panel(INSIDE, seen=seen)

    def test_another_doctor_never_sees_this_patient(self, people, visit, client_for, other_doctor):
        people.poll(people.patient, visit, INSIDE)
        with freeze_time(INSIDE):
            html = client_for(other_doctor).get(PANEL, **HTMX).content.decode()
        assert waiting(html) == []
        assert "Pat Ient" not in html

    def test_the_patient_sees_nobody(self, people, visit):
        people.poll(people.patient, visit, INSIDE)
        assert waiting(people.get(people.patient, PANEL, INSIDE)) == []

    def test_the_title_is_the_dashboards_with_the_count(self, people, visit):
        people.poll(people.patient, visit, INSIDE)
        page = people.page(people.doctor, reverse("appointments:dashboard"), INSIDE)
        assert title(page) == title(people.panel(INSIDE)) == "(1) My appointments · Clinic video visits"

    def test_the_dashboard_shows_the_panel_to_doctors_only(self, people, visit):
        doctor_page = people.page(people.doctor, reverse("appointments:dashboard"), INSIDE)
        patient_page = people.page(people.patient, reverse("appointments:dashboard"), INSIDE)
        assert 'id="waiting-now"' in doctor_page
        assert 'role="status" aria-live="polite"' in doctor_page
        assert 'id="waiting-now"' not in patient_page

    def test_no_panel_when_video_visits_are_switched_off(self, people, visit):
        with telemedicine(ENABLE_JITSI_INTEGRATION=False):
            assert 'id="waiting-now"' not in people.page(people.doctor, reverse("appointments:dashboard"), INSIDE)

    def test_its_queries_do_not_grow_with_the_people_waiting(
        self, people, make_appointment, make_user, client_for, doctor
    ):
        with freeze_time(INSIDE):
            client = client_for(doctor)

        def counted() -> tuple[int, int]:
            with freeze_time(INSIDE):
                client.get(PANEL, **HTMX)  # the session into the cache
                with CaptureQueriesContext(connection) as captured:
                    html = client.get(PANEL, **HTMX).content.decode()
            queries = [q["sql"] for q in captured.captured_queries if not q["sql"].startswith(TRANSACTION_CONTROL)]
            return len(queries), len(waiting(html))

        def arrive(count):
            for i in range(count):
                patient = make_user(f"waiting{count}-{i}", "Patients")
                appointment = make_appointment(
                    starts_at=START + dt.timedelta(minutes=i % 5), is_telemedicine=True, patient=patient
                )
                with freeze_time(INSIDE):
                    client_for(patient).get(url("check-telemedicine-status", appointment), **HTMX)

        arrive(1)
        one = counted()
        arrive(10)
        eleven = counted()
        assert (one[1], eleven[1]) == (1, 11)
        assert one[0] == eleven[0] == 1  # the doctor's live visits, with the patients' names


class TestPatientCard:
    """What the patient's card says about the doctor: in the call, or late. Never anything else."""

    @pytest.mark.parametrize(
        "moment,text",
        [
            (INSIDE, "The video call is open until 10:30 London time."),
            (START, "The video call is open until 10:30 London time."),
            (
                START + SECOND,
                "Your doctor is running late (1 min). Please stay: you can join the call now and wait for them there.",
            ),
            (START + dt.timedelta(minutes=6), "Your doctor is running late (6 min)."),
            (START + dt.timedelta(minutes=6, seconds=1), "Your doctor is running late (7 min)."),
        ],
    )
    def test_without_the_doctor(self, people, visit, moment, text):
        assert text in people.poll(people.patient, visit, moment)

    def test_the_doctor_in_the_call(self, people, visit):
        people.in_call(people.doctor, visit, START + dt.timedelta(minutes=6))
        html = people.poll(people.patient, visit, START + dt.timedelta(minutes=6))
        assert "Dr House is in the call: join now." in html
        assert "running late" not in html
        assert "Join video call" in html

    def test_the_doctor_on_the_room_page_but_not_in_the_call_yet(self, people, visit):
        people.open_room(people.doctor, visit, START)
        assert "running late" in people.poll(people.patient, visit, START + SECOND)

    def test_the_doctor_left(self, people, visit):
        people.in_call(people.doctor, visit, START)
        people.report(people.doctor, visit, "left", START + dt.timedelta(minutes=1))
        html = people.poll(people.patient, visit, START + dt.timedelta(minutes=1))
        assert "is in the call" not in html
        assert "running late" in html

    @pytest.mark.parametrize("after,in_call", [(ROOM_LIFE - SECOND, True), (ROOM_LIFE, False)])
    def test_the_doctors_heartbeats_stopped(self, people, visit, after, in_call):
        people.in_call(people.doctor, visit, START)
        html = people.poll(people.patient, visit, START + after)
        assert ("Dr House is in the call" in html) is in_call

    def test_the_doctor_with_another_patient_is_only_late_for_this_one(
        self, people, visit, make_appointment, other_patient, client_for
    ):
        earlier = make_appointment(
            starts_at=START - dt.timedelta(minutes=15), is_telemedicine=True, patient=other_patient
        )
        people.in_call(people.doctor, earlier, START)
        html = people.poll(people.patient, visit, START + dt.timedelta(minutes=4))
        assert "Your doctor is running late (4 min)." in html
        for revealing in ("is in the call", "another patient", "Sam", "Stranger", "queue", "position"):
            assert revealing not in html

    def test_the_doctors_own_card_says_neither(self, people, visit):
        people.in_call(people.doctor, visit, START + dt.timedelta(minutes=6))
        html = people.poll(people.doctor, visit, START + dt.timedelta(minutes=6))
        assert "running late" not in html
        assert "is in the call" not in html
        assert "The video call is open until 10:30 London time." in html

    def test_polling_it_costs_no_query_more_when_the_doctor_is_in_the_call(self, people, visit):
        people.in_call(people.doctor, visit, START)
        with freeze_time(START):
            client = people.patient.at(START)
            status = url("check-telemedicine-status", visit)
            client.get(status, **HTMX)  # the session into the cache
            with CaptureQueriesContext(connection) as captured:
                assert "is in the call" in client.get(status, **HTMX).content.decode()
        queries = [q["sql"] for q in captured.captured_queries if not q["sql"].startswith(TRANSACTION_CONTROL)]
        assert len(queries) == 1, queries  # the appointment, with the doctor's name


class TestBackFromTheCall:
    def test_the_room_pages_way_out_says_so(self, people, visit):
        html = people.page(people.patient, url("jitsi-room", visit), INSIDE)
        assert f'href="{visit.get_absolute_url()}?call=ended" id="leave-call"' in html

    def test_the_patient_is_told_the_visit_has_ended_and_how_to_rejoin(self, people, visit):
        html = people.page(people.patient, visit.get_absolute_url(), START + dt.timedelta(minutes=20), call="ended")
        assert "Your video visit has ended. If the call was cut short, join it again before 10:30 London time" in html
        assert "please call Riverside Clinic on 020 7946 0000" in html
        assert "Join the call again" in html
        assert "running late" not in html
        # Its polls keep saying so.
        assert f"{url('check-telemedicine-status', visit)}?call=ended" in html
        assert "Your video visit has ended" in people.poll(
            people.patient, visit, START + dt.timedelta(minutes=21), call="ended"
        )

    def test_the_patient_is_told_when_the_doctor_is_still_in_the_call(self, people, visit):
        people.in_call(people.doctor, visit, START + dt.timedelta(minutes=20))
        html = people.poll(people.patient, visit, START + dt.timedelta(minutes=20), call="ended")
        assert "Your video visit has ended. If the call was cut short, Dr House is still in it: join it again." in html
        assert "Join the call again" in html

    def test_after_the_window_the_usual_ended_card(self, people, visit):
        html = people.poll(people.patient, visit, CLOSES + SECOND, call="ended")
        assert "The video call closed at 10:30 London time." in html

    def test_the_doctor_gets_mark_completed_first(self, people, visit):
        html = people.page(people.doctor, visit.get_absolute_url(), START + dt.timedelta(minutes=20), call="ended")
        main = html[html.index('<main id="main"') :]
        assert 'data-testid="wrap-up"' in main
        # Buttons, and the links that look like them (each leads to its confirmation).
        buttons = re.findall(r'<(?:button|a class="btn[^"]*")[^>]*>([^<]+)</(?:button|a)>', main)
        assert buttons[0] == "Mark completed"
        assert buttons.count("Mark completed") == 1
        assert main.index("Mark completed") < main.index('id="status-card"')

    def test_without_the_way_back_the_doctors_page_is_as_before(self, people, visit):
        html = people.page(people.doctor, visit.get_absolute_url(), START + dt.timedelta(minutes=20))
        assert 'data-testid="wrap-up"' not in html
        assert "Mark completed" in html

    def test_a_closed_visit_has_nothing_to_wrap_up(self, people, visit):
        visit.close("completed")
        html = people.page(people.doctor, visit.get_absolute_url(), START + dt.timedelta(minutes=20), call="ended")
        assert 'data-testid="wrap-up"' not in html
        assert "Mark completed" not in html


class TestPatientHome:
    def test_the_next_visit_comes_first_with_its_live_card(self, people, visit):
        html = people.page(people.patient, reverse("appointments:dashboard"), INSIDE)
        main = html[html.index('<main id="main"') :]
        assert main.index("Your next visit: today at 10:00 London time, with Dr Gregory House") < main.index(
            "Your upcoming appointments"
        )
        assert 'id="status-card"' in main
        assert "Join video call" in main
        assert reverse("telemedicine:device-check") in main

    def test_showing_the_card_on_the_dashboard_counts_as_the_page_open(self, people, visit):
        people.page(people.patient, reverse("appointments:dashboard"), INSIDE)
        assert waiting(people.panel(INSIDE))

    def test_no_next_visit(self, people):
        html = people.page(people.patient, reverse("appointments:dashboard"), INSIDE)
        assert "Your next visit" not in html

    @pytest.mark.parametrize("after,upcoming", [(dt.timedelta(0), True), (SECOND, False)])
    def test_a_visit_whose_window_ended_today_is_past(self, people, make_appointment, after, upcoming):
        earlier = make_appointment(starts_at=START - dt.timedelta(hours=2), is_telemedicine=False)
        moment = START - dt.timedelta(hours=2) + dt.timedelta(minutes=30) + after
        html = people.page(people.patient, reverse("appointments:dashboard"), moment)
        upcoming_list = html[html.index("upcoming-patient-heading") : html.index("past-patient-heading")]
        past_list = html[html.index("past-patient-heading") :]
        row = f'data-appointment="{earlier.pk}"'
        assert (row in upcoming_list) is upcoming
        assert (row in past_list) is not upcoming
        assert ("Your next visit" in html) is upcoming
