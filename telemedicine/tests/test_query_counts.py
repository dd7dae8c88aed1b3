"""
The status card is the hot path: every waiting patient asks every STATUS_POLL_INTERVAL.
Its query budget is pinned here (docs/performance.md: at most 4 per poll).

What a poll costs, with the session and the user already in the cache (as after the
first poll, appointments/auth_backends.py): the appointment, with the doctor's name the
patient's card may say. Who is in the call ("the patient is in the room", "Dr Grey is in
the call") comes from the cache (telemedicine/presence.py), as does marking the page open:
no query, whoever asks. Once a minute a poll also saves the session, to
slide its idle timeout (project.middleware.SlidingSessionMiddleware): one UPDATE with
sessions in the database, none with sessions in Redis.

Transaction control (BEGIN, COMMIT, SAVEPOINT...) is not counted: it is no round trip
of its own on PostgreSQL, SQLite logs it only in IMMEDIATE mode, and a test's own
transaction turns the session save's atomic block into a SAVEPOINT pair.
"""

import datetime as dt

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from freezegun import freeze_time

from appointments.clinic_time import clinic_datetime
from telemedicine.tests.shortcuts import url

STARTS_AT = clinic_datetime(dt.date(2030, 1, 15), dt.time(10, 0))
WAITING = STARTS_AT - dt.timedelta(minutes=30)
OPEN = STARTS_AT
BUDGET = 4
TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE SAVEPOINT")


def data_queries(captured: CaptureQueriesContext) -> list[str]:
    return [query["sql"] for query in captured.captured_queries if not query["sql"].startswith(TRANSACTION_CONTROL)]


def poll(client, url):
    response = client.get(url, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert b'id="status-card"' in response.content
    return response


def counted_poll(client, url) -> list[str]:
    poll(client, url)  # the first poll brings the session into the cache, as on a real page
    with CaptureQueriesContext(connection) as captured:
        poll(client, url)
    return data_queries(captured)


@pytest.fixture
def video_visit(make_appointment):
    return make_appointment(starts_at=STARTS_AT, is_telemedicine=True)


@pytest.mark.parametrize(
    "who,now,expected",
    [
        ("patient", WAITING, 1),
        ("patient", OPEN, 1),
        ("doctor", WAITING, 1),
        ("doctor", OPEN, 1),
    ],
)
def test_status_poll_stays_within_its_query_budget(request, client_for, video_visit, who, now, expected):
    status = url("check-telemedicine-status", video_visit)
    with freeze_time(now):  # log in at `now`, so the session has not expired by then
        queries = counted_poll(client_for(request.getfixturevalue(who)), status)
    assert len(queries) == expected <= BUDGET, "\n".join(queries)


def test_the_poll_that_slides_the_session_stays_within_the_budget_too(client_for, patient, video_visit):
    status = url("check-telemedicine-status", video_visit)
    with freeze_time(WAITING) as clock:
        client = client_for(patient)
        poll(client, status)
        clock.tick(settings.SESSION_REFRESH_INTERVAL)
        with CaptureQueriesContext(connection) as captured:
            poll(client, status)
    queries = data_queries(captured)
    assert len(queries) == 2 <= BUDGET
    assert queries[-1].startswith('UPDATE "django_session"')


@pytest.mark.parametrize("who", ["patient", "doctor"])
def test_status_poll_queries_do_not_grow_with_the_clinic(request, client_for, make_appointment, video_visit, who):
    # Other appointments of the same people must not be read for one card.
    status = url("check-telemedicine-status", video_visit)
    with freeze_time(OPEN):
        client = client_for(request.getfixturevalue(who))
        before = counted_poll(client, status)
        for day in range(1, 30):
            make_appointment(starts_at=STARTS_AT + dt.timedelta(days=day), is_telemedicine=True)
        after = counted_poll(client, status)
    assert len(after) == len(before) <= BUDGET


def test_status_poll_response_stays_small(client_for, patient, video_visit):
    # docs/performance.md: at most 1.5 KB per poll (the body; headers come on top).
    with freeze_time(WAITING):
        response = poll(client_for(patient), url("check-telemedicine-status", video_visit))
    assert len(response.content) <= 1536
