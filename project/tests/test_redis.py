"""
The production cache, against a real Redis: with REDIS_URL set, sessions, the cache
and the rate-limit counters live in Redis (django-redis), shared by every instance.
The rest of the suite runs on the local cache; this module starts Debian's
redis-server on loopback (`make test` installs it) and checks what only a real
server can show: where the data lives, its expiry, and atomic counting.
"""

import datetime as dt
import threading

import pytest
import redis
from django.conf import settings as django_settings
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from conftest import PASSWORD
from project import rate_limits
from project.settings import redis_cache
from project.tests.servers import RedisServer
from telemedicine.tests.shortcuts import url

SESSION_KEY_PREFIX = "django.contrib.sessions.cache"


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server.url
    server.stop()


@pytest.fixture
def server(redis_url, settings):
    """The settings REDIS_URL gives (project/settings.py), and a raw client to look inside."""
    settings.CACHES = {"default": redis_cache(redis_url)}
    settings.SESSION_ENGINE = "project.sessions.cache"
    raw = redis.Redis.from_url(redis_url)
    raw.flushdb()
    yield raw
    raw.flushdb()


def logged_in(user) -> Client:
    """Through the login form, as a person does: the session is made by the real login."""
    client = Client()
    response = client.post(reverse("login"), {"username": user.get_username(), "password": PASSWORD})
    assert response.status_code == 302
    return client


def session_keys(raw) -> list[bytes]:
    return raw.keys(f"*{SESSION_KEY_PREFIX}*")


@pytest.fixture
def visit(make_appointment):
    return make_appointment(starts_at=timezone.now() + dt.timedelta(hours=1), is_telemedicine=True)


def test_the_cache_is_django_redis_in_redis(server):
    cache.set("greeting", "hello", 30)
    assert [key for key in server.scan_iter() if key.endswith(b":greeting")]
    assert 0 < server.ttl(next(key for key in server.scan_iter() if key.endswith(b":greeting"))) <= 30


def test_sessions_live_in_redis_with_the_idle_timeout_as_their_expiry(server, db, patient, visit):
    client = logged_in(patient)
    [key] = session_keys(server)
    assert client.cookies[django_settings.SESSION_COOKIE_NAME].value in key.decode()
    assert django_settings.SESSION_COOKIE_AGE - 5 <= server.ttl(key) <= django_settings.SESSION_COOKIE_AGE
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url("check-telemedicine-status", visit), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert b'id="status-card"' in response.content
    statements = [query["sql"] for query in captured.captured_queries]
    # The first request since logging in: the user, what the pages ask of their roles (their
    # permissions, twice, and the Doctors group: cached with them from now on), the appointment.
    assert len(statements) == 5
    assert not any("django_session" in sql for sql in statements)
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url("check-telemedicine-status", visit), HTTP_HX_REQUEST="true").status_code == 200
    # Every poll after it: the appointment alone.
    [only] = [query["sql"] for query in captured.captured_queries]
    assert '"appointments_appointment"' in only


def test_logout_deletes_the_session_from_redis(server, db, patient, visit):
    client = logged_in(patient)
    cookie = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    assert client.post(reverse("logout")).status_code == 302
    assert session_keys(server) == []
    replay = Client()
    replay.cookies[django_settings.SESSION_COOKIE_NAME] = cookie
    assert replay.get(url("appointment-detail-telemedicine", visit)).status_code == 302


def test_rate_limit_counters_live_in_redis(server, db, patient, visit, monkeypatch):
    """Every instance shares them: a limit reached here is reached for all, until Redis forgets it."""
    three_a_minute = {
        "telemedicine:check-telemedicine-status": [
            rate_limits.Limit("status", "3/m", when_uncounted=rate_limits.LET_THROUGH)
        ]
    }
    monkeypatch.setattr(rate_limits, "LIMITS", rate_limits.LIMITS | three_a_minute)
    client = logged_in(patient)
    status = url("check-telemedicine-status", visit)
    assert [client.get(status, HTTP_HX_REQUEST="true").status_code for _ in range(4)] == [200, 200, 200, 429]
    assert server.keys("*rl:*")
    for key in server.keys("*rl:*"):
        server.delete(key)
    assert client.get(status, HTTP_HX_REQUEST="true").status_code == 200


def test_counting_is_atomic_across_threads(server):
    cache.set("counter", 0, 60)

    def count():
        for _ in range(50):
            cache.incr("counter")

    threads = [threading.Thread(target=count) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert cache.get("counter") == 400


def test_presence_marks_live_in_redis_with_their_expiry(server, db, patient, doctor, make_appointment):
    """Who is in the waiting room (telemedicine/presence.py) is seen by every instance, and forgotten in time."""
    open_now = make_appointment(starts_at=timezone.now() + dt.timedelta(minutes=2), is_telemedicine=True)
    patient_client = logged_in(patient)
    status = url("check-telemedicine-status", open_now)
    assert patient_client.get(status, HTTP_HX_REQUEST="true").status_code == 200
    [page_key] = server.keys("*presence:page:*")
    arrival = server.get(page_key)
    assert 25 <= server.ttl(page_key) <= 30  # three polls of 10 s
    patient_client.get(status, HTTP_HX_REQUEST="true")
    assert server.get(page_key) == arrival  # a poll only pushes the expiry back

    assert patient_client.get(url("jitsi-room", open_now)).status_code == 200
    [room_key] = server.keys("*presence:room:*")
    assert 175 <= server.ttl(room_key) <= 180  # three heartbeats of a minute
    assert patient_client.post(url("call-event", open_now), {"event": "joined"}).status_code == 204

    panel = logged_in(doctor).get(reverse("telemedicine:waiting-panel"), HTTP_HX_REQUEST="true").content.decode()
    assert "Pat Ient" in panel
    assert "In the call" in panel


class RoundTrips:
    """Counts the round trips this process makes to Redis: single commands and pipelines."""

    def __init__(self, monkeypatch):
        self.count = 0
        single, pipeline = redis.client.Redis.execute_command, redis.client.Pipeline.execute

        def counted_single(client, *args, **options):
            self.count += 1
            return single(client, *args, **options)

        def counted_pipeline(pipe, *args, **options):
            self.count += 1
            return pipeline(pipe, *args, **options)

        monkeypatch.setattr(redis.client.Redis, "execute_command", counted_single)
        monkeypatch.setattr(redis.client.Pipeline, "execute", counted_pipeline)


def test_a_status_poll_counts_its_limits_and_marks_its_page_in_one_round_trip(
    server, db, patient, make_appointment, monkeypatch
):
    """The session with its user (one MGET), then one pipeline: the abuse limits, the page-open mark and who is here."""
    open_now = make_appointment(starts_at=timezone.now() + dt.timedelta(minutes=2), is_telemedicine=True)
    client = logged_in(patient)
    status = url("check-telemedicine-status", open_now)
    # The user is cached from the second request on, and read with the session from then on
    # (this process has seen the session's user); the page mark is made by the first.
    for _ in range(2):
        assert client.get(status, HTTP_HX_REQUEST="true").status_code == 200
    trips = RoundTrips(monkeypatch)
    response = client.get(status, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert trips.count == 2
    # and each of them did its work: counted, marked, read
    assert len(server.keys("*rl:status:*")) == 1
    assert int(server.get(server.keys("*rl:status:*")[0])) == 3
    assert 25 <= server.ttl(server.keys("*presence:page:*")[0]) <= 30


def test_probing_ids_is_counted_in_redis_across_workers(server, db, patient, other_patient, make_appointment):
    """Two clients stand for two workers: the 404s of one close appointment URLs to the other as well."""
    visit = make_appointment(starts_at=timezone.now() + dt.timedelta(hours=1), is_telemedicine=True)
    first, second = logged_in(other_patient), logged_in(other_patient)
    allowed = int(rate_limits.NOT_FOUND.split("/")[0])
    detail = "telemedicine:appointment-detail-telemedicine"
    probes = [reverse(detail, args=[visit.pk + n]) for n in range(1, allowed)]
    for n, probe in enumerate(probes):
        assert (first if n % 2 else second).get(probe).status_code == 404
    # The last 404 the limit allows, on one worker; the next probe is refused on the other.
    assert first.get(url("check-telemedicine-status", visit), HTTP_HX_REQUEST="true").status_code == 404
    assert second.get(url("check-telemedicine-status", visit), HTTP_HX_REQUEST="true").status_code == 429
    assert int(server.get(server.keys("*rl:appointment-not-found:*")[0])) == allowed


def test_the_session_and_its_user_are_read_in_one_round_trip(server, db, patient, visit, monkeypatch):
    """project/sessions/read_along.py: one MGET for the session, the user's copy, its version and the roles."""
    client = logged_in(patient)
    detail = url("appointment-detail-telemedicine", visit)
    assert client.get(detail).status_code == 200  # the user is cached, and this process learns whose session it is
    sent = []
    single = redis.client.Redis.execute_command

    def recorded(redis_client, *args, **options):
        sent.append(args)
        return single(redis_client, *args, **options)

    monkeypatch.setattr(redis.client.Redis, "execute_command", recorded)
    response = client.get(detail)
    assert response.status_code == 200
    assert response.wsgi_request.user == patient
    cookie = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    assert sent[0] == (
        "MGET",
        *[
            cache.make_key(key)
            for key in [SESSION_KEY_PREFIX + cookie, f"auth-user:{patient.pk}", f"auth-user-version:{patient.pk}"]
        ],
        cache.make_key("auth-roles-generation"),
    )
    # Nothing else reads the session or the user afterwards.
    assert not any(args[0] == "GET" and SESSION_KEY_PREFIX in args[1] for args in sent[1:])
    assert not any("auth-user" in str(args) for args in sent[1:])


def test_a_user_changed_since_is_not_taken_from_what_was_read_along(server, db, patient, visit):
    """The version is read in the same MGET: a deactivation counts from the very next request."""
    client = logged_in(patient)
    status = url("check-telemedicine-status", visit)
    for _ in range(2):
        assert client.get(status, HTTP_HX_REQUEST="true").status_code == 200
    patient.is_active = False
    patient.save()
    response = client.get(status, HTTP_HX_REQUEST="true")
    assert not response.wsgi_request.user.is_authenticated
    assert response.headers["HX-Redirect"].startswith(reverse("login"))
