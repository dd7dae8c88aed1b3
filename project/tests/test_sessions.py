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

from project.middleware import refresh_interval
from telemedicine.access import heartbeat_seconds
from telemedicine.models import AccessEvent
from telemedicine.tests.shortcuts import url

START = dt.datetime(2030, 1, 15, 10, 0, tzinfo=ZoneInfo("Europe/London"))
LOGIN = START - dt.timedelta(hours=2)  # the status card is waiting, and polling
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


def test_status_card_polls_keep_the_session_alive(visit, patient):
    client = logged_in(patient, LOGIN)
    almost_idle = IDLE - dt.timedelta(seconds=1)
    moment = LOGIN
    for _ in range(4):  # two hours after logging in, never idle for a whole timeout
        moment += almost_idle
        response = poll(client, visit, moment)
        assert response.status_code == 200
        assert 'id="status-card"' in response.content.decode()
        # Every poll moves the end of the session forward to a full timeout from now.
        assert expiry_in_database(client) == moment + IDLE
    assert moment - LOGIN > 3 * IDLE


def test_idle_timeout_follows_the_setting(settings, visit, patient):
    settings.SESSION_COOKIE_AGE = 600
    client = logged_in(patient, LOGIN)
    assert poll(client, visit, LOGIN + dt.timedelta(seconds=599)).status_code == 200
    assert expiry_in_database(client) == LOGIN + dt.timedelta(seconds=599 + 600)
    assert poll(client, visit, LOGIN + dt.timedelta(seconds=599 + 600)).status_code == 200  # HX-Redirect to login
    assert poll(client, visit, LOGIN + dt.timedelta(seconds=599 + 600))["HX-Redirect"].startswith(reverse("login"))


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
