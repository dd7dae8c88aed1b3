"""
Sessions: they end after SESSION_IDLE_TIMEOUT without a request, an open status card
or room page keeps them alive, and logging out ends them on the server.
"""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from freezegun import freeze_time

from conftest import PASSWORD
from project.middleware import refresh_interval
from project.sessions.lifetimes import SIGNED_IN_AT
from telemedicine.access import heartbeat_seconds
from telemedicine.models import AccessEvent
from telemedicine.tests.shortcuts import url

START = dt.datetime(2030, 1, 15, 10, 0, tzinfo=ZoneInfo("Europe/London"))
# The status card is waiting, within the hour before the call window opens: its polls keep
# the session alive (telemedicine.access.poll_keeps_session_alive).
LOGIN = START - dt.timedelta(minutes=50)
IDLE = dt.timedelta(seconds=settings.SESSION_COOKIE_AGE)


@pytest.fixture
def visit(make_appointment):
    return make_appointment(date=START.date(), time=START.time(), is_telemedicine=True)


def logged_in(user, at):
    """conftest's client_for, logged in at the frozen instant `at`."""
    client = Client()
    with freeze_time(at):
        client.force_login(user)
    return client


def expiry_in_database(client):
    return Session.objects.get(session_key=client.cookies[settings.SESSION_COOKIE_NAME].value).expire_date


def poll(client, appointment, at):
    with freeze_time(at):
        return client.get(url("check-telemedicine-status", appointment), HTTP_HX_REQUEST="true")


def test_idle_timeout_defaults_to_thirty_minutes_saved_at_most_once_a_minute():
    assert settings.SESSION_COOKIE_AGE == 30 * 60
    assert settings.SESSION_REFRESH_INTERVAL == 60
    assert settings.SESSION_SAVE_EVERY_REQUEST is False  # SlidingSessionMiddleware decides


def test_polls_within_a_minute_write_nothing_and_send_no_cookie(visit, patient):
    client = logged_in(patient, LOGIN)
    poll(client, visit, LOGIN)  # force_login skips the middleware: this request stamps the session
    first = poll(client, visit, LOGIN + dt.timedelta(seconds=10))
    assert expiry_in_database(client) == LOGIN + IDLE
    assert settings.SESSION_COOKIE_NAME not in first.cookies
    later = poll(client, visit, LOGIN + dt.timedelta(seconds=60))
    assert expiry_in_database(client) == LOGIN + dt.timedelta(seconds=60) + IDLE
    assert later.cookies[settings.SESSION_COOKIE_NAME]["max-age"] == settings.SESSION_COOKIE_AGE


@pytest.mark.parametrize("last_request,alive", [(59, False), (60, True)])
def test_a_session_may_end_up_to_a_minute_early(visit, patient, last_request, alive):
    client = logged_in(patient, LOGIN)
    poll(client, visit, LOGIN)
    poll(client, visit, LOGIN + dt.timedelta(seconds=last_request))
    with freeze_time(LOGIN + IDLE):
        response = client.get(url("appointment-detail-telemedicine", visit))
    assert response.status_code == (200 if alive else 302)


@pytest.mark.parametrize("idle_timeout,interval", [(1800, 60), (600, 60), (300, 30), (15, 1)])
def test_a_short_idle_timeout_is_refreshed_more_often(settings, idle_timeout, interval):
    settings.SESSION_COOKIE_AGE = idle_timeout
    assert refresh_interval() == interval


def test_an_anonymous_visitor_gets_no_session(db, client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert settings.SESSION_COOKIE_NAME not in response.cookies
    assert not Session.objects.exists()


def test_an_ended_session_is_not_revived(visit, patient):
    # /healthz never reads the session itself: only the sliding middleware would.
    client = logged_in(patient, LOGIN)
    with freeze_time(LOGIN + IDLE + dt.timedelta(seconds=1)):
        response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert response.cookies[settings.SESSION_COOKIE_NAME].value == ""  # the stale cookie is deleted
    assert not Session.objects.filter(expire_date__gt=LOGIN + IDLE).exists()


@pytest.mark.parametrize(
    "idle,alive",
    [(IDLE - dt.timedelta(seconds=1), True), (IDLE, False), (IDLE + dt.timedelta(seconds=1), False)],
)
def test_session_ends_after_the_idle_timeout(visit, patient, idle, alive):
    client = logged_in(patient, LOGIN)
    with freeze_time(LOGIN + idle):
        response = client.get(url("appointment-detail-telemedicine", visit))
    if alive:
        assert response.status_code == 200
    else:
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_status_card_polls_keep_the_session_alive_while_the_visit_is_near_or_open(visit, patient):
    client = logged_in(patient, LOGIN)
    almost_idle = IDLE - dt.timedelta(seconds=1)
    closes = START + dt.timedelta(minutes=30)
    moment = LOGIN
    while moment + almost_idle <= closes:  # never idle for a whole timeout, until the window closes
        moment += almost_idle
        response = poll(client, visit, moment)
        assert response.status_code == 200
        assert 'id="status-card"' in response.content.decode()
        # Every poll moves the end of the session forward to a full timeout from now.
        assert expiry_in_database(client) == moment + IDLE
    assert moment - LOGIN > IDLE


def test_idle_timeout_follows_the_setting(settings, visit, patient):
    settings.SESSION_COOKIE_AGE = 600
    client = logged_in(patient, START - dt.timedelta(minutes=20))
    login = START - dt.timedelta(minutes=20)
    assert poll(client, visit, login + dt.timedelta(seconds=599)).status_code == 200
    assert expiry_in_database(client) == login + dt.timedelta(seconds=599 + 600)
    assert poll(client, visit, login + dt.timedelta(seconds=599 + 600)).status_code == 200  # HX-Redirect to login
    assert poll(client, visit, login + dt.timedelta(seconds=599 + 600))["HX-Redirect"].startswith(reverse("login"))


def test_room_page_heartbeats_keep_a_long_call_logged_in(visit, patient):
    opens = START - dt.timedelta(minutes=10)
    client = logged_in(patient, opens)
    with freeze_time(opens):
        html = client.get(url("jitsi-room", visit)).content.decode()
        assert client.post(url("call-event", visit), {"event": "joined"}).status_code == 204
    beat = dt.timedelta(seconds=heartbeat_seconds(settings.SESSION_COOKIE_AGE))
    assert f'data-heartbeat-seconds="{int(beat.total_seconds())}"' in html
    moment = opens
    # The call lasts until AUTO_END_SESSION_AFTER (45 min past the start): 55 minutes, no other request.
    while moment + beat <= START + dt.timedelta(minutes=45):
        moment += beat
        with freeze_time(moment):
            assert client.post(url("call-event", visit), {"event": "heartbeat"}).status_code == 204
    assert moment - opens > IDLE
    assert moment == START + dt.timedelta(minutes=45)
    with freeze_time(moment + dt.timedelta(minutes=1)):  # the beacon of the call being ended
        assert client.post(url("call-event", visit), {"event": "left"}).status_code == 204
    # Heartbeats are not audit records: only the room opening, the join and the leave are.
    assert list(AccessEvent.objects.order_by("created_at").values_list("action", flat=True)) == [
        "room-opened",
        "call-joined",
        "call-left",
    ]


# Every minute at most, so that a room page that is gone is soon seen gone (telemedicine/presence.py).
@pytest.mark.parametrize("idle_timeout,expected", [(1800, 60), (180, 60), (150, 50), (3600, 60), (15, 10)])
def test_heartbeat_comes_at_least_three_times_per_idle_timeout(idle_timeout, expected):
    assert heartbeat_seconds(idle_timeout) == expected


def test_logout_ends_the_session_on_the_server(visit, patient, client_for):
    client = client_for(patient)
    old_cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert client.get(url("appointment-detail-telemedicine", visit)).status_code == 200

    assert client.post(reverse("logout")).status_code == 302
    assert not Session.objects.filter(session_key=old_cookie).exists()

    # Someone who kept a copy of the old cookie gets nothing with it.
    replay = Client()
    replay.cookies[settings.SESSION_COOKIE_NAME] = old_cookie
    response = replay.get(url("appointment-detail-telemedicine", visit))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


# --- An unattended screen signs out (issue 16) ------------------------------------------
# Polls a page makes on its own keep a session alive only while a visit is near or open;
# whatever happens, a session ends SESSION_ABSOLUTE_LIFETIME after signing in.

SECOND = dt.timedelta(seconds=1)
OPENS = START - dt.timedelta(minutes=10)
KEEPALIVE_FROM = OPENS - dt.timedelta(minutes=60)  # SESSION_KEEPALIVE_LEAD before the window opens
ABSOLUTE = dt.timedelta(seconds=settings.SESSION_ABSOLUTE_LIFETIME)
DASHBOARD = reverse("appointments:dashboard")
REFRESH = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "appointment-lists"}


def look_at(client, appointment, at):
    """A request a person makes: opening the appointment's page."""
    with freeze_time(at):
        return client.get(url("appointment-detail-telemedicine", appointment))


def signed_out(response) -> bool:
    """The answer an ended session gets: the login page (HX-Redirect for htmx)."""
    target = response.get("HX-Redirect") or (response["Location"] if response.status_code == 302 else "")
    return target.startswith(reverse("login"))


def test_polls_of_a_far_visit_let_an_unattended_screen_time_out(make_appointment, patient):
    far = make_appointment(starts_at=START + dt.timedelta(days=3), is_telemedicine=True)
    client = logged_in(patient, LOGIN)
    look_at(client, far, LOGIN)
    moment = LOGIN
    while moment + dt.timedelta(seconds=10) < LOGIN + IDLE:  # the card polls every 10 s, nobody clicks
        moment += dt.timedelta(seconds=10)
        assert poll(client, far, moment).status_code == 200
    assert 'id="status-card"' in poll(client, far, LOGIN + IDLE - SECOND).content.decode()
    assert signed_out(poll(client, far, LOGIN + IDLE))


def test_polls_of_a_near_visit_keep_the_waiting_patient_signed_in(visit, patient):
    client = logged_in(patient, KEEPALIVE_FROM)
    look_at(client, visit, KEEPALIVE_FROM)
    moment = KEEPALIVE_FROM
    while moment < START + dt.timedelta(minutes=30):  # 100 minutes of polls, nobody clicks
        moment += dt.timedelta(seconds=10)
        assert poll(client, visit, moment).status_code == 200
    assert look_at(client, visit, moment + IDLE - 2 * dt.timedelta(minutes=1)).status_code == 200


@pytest.mark.parametrize("poll_at,alive", [(KEEPALIVE_FROM - SECOND, False), (KEEPALIVE_FROM, True)])
def test_a_status_poll_counts_from_the_lead_time_before_the_window(visit, patient, poll_at, alive):
    seen = poll_at - dt.timedelta(minutes=20)
    client = logged_in(patient, seen)
    look_at(client, visit, seen)
    assert poll(client, visit, poll_at).status_code == 200
    response = look_at(client, visit, seen + IDLE + dt.timedelta(minutes=1))
    assert signed_out(response) is not alive


def test_the_dashboard_refresh_never_keeps_the_session_alive(visit, doctor):
    client = logged_in(doctor, LOGIN)
    with freeze_time(LOGIN):
        assert client.get(DASHBOARD).status_code == 200
    moment = LOGIN
    while moment + dt.timedelta(seconds=30) < LOGIN + IDLE:  # the 30 s refresh, with a visit about to open
        moment += dt.timedelta(seconds=30)
        with freeze_time(moment):
            assert client.get(DASHBOARD, **REFRESH).status_code == 200
    with freeze_time(LOGIN + IDLE - SECOND):
        assert client.get(DASHBOARD, **REFRESH).status_code == 200
    with freeze_time(LOGIN + IDLE):
        assert signed_out(client.get(DASHBOARD, **REFRESH))


def test_opening_the_dashboard_is_someone_being_there(visit, doctor):
    client = logged_in(doctor, LOGIN)
    with freeze_time(LOGIN + IDLE - dt.timedelta(minutes=1)):
        assert client.get(DASHBOARD).status_code == 200
    with freeze_time(LOGIN + IDLE + dt.timedelta(minutes=1)):
        assert client.get(DASHBOARD).status_code == 200


def sign_in_with_the_form(user, at) -> Client:
    client = Client()
    with freeze_time(at):
        assert client.post(reverse("login"), {"username": user.username, "password": PASSWORD}).status_code == 302
    return client


def test_absolute_lifetime_defaults_to_a_working_day():
    assert settings.SESSION_ABSOLUTE_LIFETIME == 10 * 60 * 60


@pytest.mark.parametrize("after,alive", [(ABSOLUTE - SECOND, True), (ABSOLUTE, False), (ABSOLUTE + SECOND, False)])
def test_a_session_ends_a_working_day_after_signing_in_however_busy(doctor, after, alive):
    signed_in = dt.datetime(2030, 1, 15, 7, 30, tzinfo=ZoneInfo("Europe/London"))
    client = sign_in_with_the_form(doctor, signed_in)
    moment = signed_in
    while moment + dt.timedelta(minutes=20) < signed_in + ABSOLUTE - SECOND:  # busy all day: never idle
        moment += dt.timedelta(minutes=20)
        with freeze_time(moment):
            assert client.get(DASHBOARD).status_code == 200
    with freeze_time(signed_in + after):
        response = client.get(DASHBOARD)
    assert signed_out(response) is not alive
    if not alive:
        with freeze_time(signed_in + after):  # the session is gone on the server, not only refused once
            assert signed_out(client.get(DASHBOARD))
            assert client.get(reverse("login")).status_code == 200


@pytest.mark.parametrize("after,alive", [(ABSOLUTE - SECOND, True), (ABSOLUTE, False)])
def test_the_absolute_lifetime_ends_polls_and_calls_too(settings, make_appointment, patient, after, alive):
    settings.SESSION_COOKIE_AGE = 11 * 60 * 60  # only the absolute lifetime can end it here
    signed_in = dt.datetime(2030, 1, 15, 0, 0, tzinfo=ZoneInfo("Europe/London"))
    visit = make_appointment(starts_at=signed_in + after, is_telemedicine=True)
    client = sign_in_with_the_form(patient, signed_in)
    assert signed_out(poll(client, visit, signed_in + after)) is not alive
    with freeze_time(signed_in + after):
        heartbeat = client.post(url("call-event", visit), {"event": "heartbeat"})
    assert signed_out(heartbeat) is not alive


def test_signing_in_again_starts_a_new_lifetime(doctor):
    signed_in = dt.datetime(2030, 1, 15, 7, 30, tzinfo=ZoneInfo("Europe/London"))
    client = sign_in_with_the_form(doctor, signed_in)
    again = signed_in + ABSOLUTE
    with freeze_time(again):
        assert signed_out(client.get(DASHBOARD))
    client = sign_in_with_the_form(doctor, again)
    with freeze_time(again + dt.timedelta(minutes=1)):
        assert client.get(DASHBOARD).status_code == 200
    assert client.session[SIGNED_IN_AT] == int(again.timestamp())


def test_a_session_from_before_the_lifetime_existed_starts_it_at_its_next_request(visit, doctor):
    client = logged_in(doctor, LOGIN)
    with freeze_time(LOGIN):
        session = client.session
        del session[SIGNED_IN_AT]
        session.save()
    first_seen = LOGIN + dt.timedelta(minutes=5)
    look_at(client, visit, first_seen)
    assert client.session[SIGNED_IN_AT] == int(first_seen.timestamp())
