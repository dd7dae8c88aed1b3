"""
Redis or the database cannot be reached: a signed-in person gets an honest 503 (a page,
or an htmx notice that retries with backoff), never the login page, never a traceback;
logging in gets the same; nothing is written half-way; the abuse limits do what
docs/security.md decides. Against a real redis-server, really stopped (and restarted).
The whole app under gunicorn, with clients polling through an outage, is in
test_outage_recovery.py.
"""

import datetime as dt
import logging
import re
import time

import pytest
from django.conf import settings as django_settings
from django.db import OperationalError
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from appointments.models import Appointment
from conftest import PASSWORD
from project import errors, outages, rate_limits
from project.settings import redis_cache
from telemedicine.models import AccessEvent
from telemedicine.tests.shortcuts import url

HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "status-card"}
UNAVAILABLE = "The clinic's system is briefly unavailable"


@pytest.fixture
def in_redis(redis_server, settings):
    """Production's settings with REDIS_URL: the cache, the counters and the sessions in Redis."""
    settings.CACHES = {"default": redis_cache(redis_server.url)}
    settings.SESSION_ENGINE = "project.sessions.cache"
    return redis_server


@pytest.fixture
def in_persistent_redis(persistent_redis_server, settings):
    settings.CACHES = {"default": redis_cache(persistent_redis_server.url)}
    settings.SESSION_ENGINE = "project.sessions.cache"
    return persistent_redis_server


@pytest.fixture
def visit(make_appointment):
    """Inside its call window (it started 5 minutes ago): the room opens, call events count."""
    return make_appointment(starts_at=timezone.now() - dt.timedelta(minutes=5), is_telemedicine=True)


def signed_in(user) -> Client:
    """Through the login form, as a person does (Redis must answer)."""
    client = Client(raise_request_exception=False)
    response = client.post(reverse("login"), {"username": user.get_username(), "password": PASSWORD})
    assert response.status_code == 302
    return client


def assert_unavailable(response, retries=True, through_middleware=True):
    body = response.content.decode()
    assert response.status_code == 503
    assert UNAVAILABLE in body
    assert "please call Riverside Clinic on 020 7946 0000" in body
    assert int(response["Retry-After"]) > 0
    assert response["Cache-Control"] == "no-store"
    assert "Location" not in response
    assert ("this page will retry" in body) is retries
    # The security headers are on this answer too (docs/security.md: on every answer).
    for header in ["Content-Security-Policy", "X-Frame-Options", "Permissions-Policy"]:
        assert (header in response) is through_middleware, header
    for inside in ["Traceback", "ConnectionError", "OperationalError", "127.0.0.1", "redis", ".py"]:
        assert inside not in body


# --- An outage is not a logout ----------------------------------------------------------


def test_a_signed_in_patient_gets_the_503_page_not_the_login_page_while_redis_is_down(in_redis, patient, visit, caplog):
    client = signed_in(patient)
    in_redis.stop()
    response = client.get(url("appointment-detail-telemedicine", visit))
    assert_unavailable(response)
    # Answered once, as the outage it is: its warning, and Django's line for any 5xx, never a traceback.
    assert any(record.levelname == "WARNING" for record in caplog.records)
    assert [record.getMessage() for record in caplog.records if record.exc_info] == []
    assert f'<meta http-equiv="refresh" content="{outages.PAGE_RETRY_SECONDS}">' in response.content.decode()
    assert response["Retry-After"] == str(outages.PAGE_RETRY_SECONDS)


def test_a_waiting_patients_card_gets_a_notice_that_retries_in_its_place(in_redis, patient, visit):
    client = signed_in(patient)
    in_redis.stop()
    status = url("check-telemedicine-status", visit)
    response = client.get(status, **HTMX)
    assert_unavailable(response)
    body = response.content.decode()
    # It takes the card's place (same id, whatever the element's swap) and asks the same URL again.
    assert response["HX-Reswap"] == "outerHTML"
    assert 'id="status-card"' in body
    assert f'hx-get="{status}"' in body
    assert 'hx-swap="outerHTML"' in body
    assert "<html" not in body
    delay = int(re.search(r'hx-trigger="load delay:(\d+)ms"', body).group(1))
    assert 1500 <= delay <= 2000


def test_the_notice_backs_off_attempt_after_attempt(in_redis, patient, visit):
    client = signed_in(patient)
    in_redis.stop()
    delays = []
    attempt = None
    for _ in range(6):
        headers = HTMX | ({"HTTP_OUTAGE_RETRY": attempt} if attempt else {})
        body = client.get(url("check-telemedicine-status", visit), **headers).content.decode()
        delays.append(int(re.search(r"load delay:(\d+)ms", body).group(1)))
        attempt = re.search(r'hx-headers="\{&quot;Outage-Retry&quot;: &quot;(\d+)&quot;\}"', body).group(1)
    # 2, 4, 8, 16, 30, 30 s, each shortened by up to a quarter at random.
    for delay, ceiling in zip(delays, [2, 4, 8, 16, 30, 30], strict=True):
        assert ceiling * 750 <= delay <= ceiling * 1000


@pytest.mark.parametrize("persistent,signed_out", [(True, False), (False, True)])
def test_after_a_redis_restart_the_card_comes_back_if_redis_kept_its_data(
    tmp_path, settings, patient, visit, persistent, signed_out
):
    """With appendonly yes the session survives the restart; without it, the patient must sign in again."""
    from project.tests.servers import RedisServer

    server = RedisServer(tmp_path / "redis", persistent=persistent)
    server.start()
    try:
        settings.CACHES = {"default": redis_cache(server.url)}
        settings.SESSION_ENGINE = "project.sessions.cache"
        client = signed_in(patient)
        server.stop()
        assert client.get(url("check-telemedicine-status", visit), **HTMX).status_code == 503
        server.start()
        response = client.get(url("check-telemedicine-status", visit), **HTMX)
        assert response.status_code == 200
        assert ('id="status-card"' in response.content.decode()) is not signed_out
        assert response.get("HX-Redirect", "").startswith("/login/") is signed_out
    finally:
        server.stop()


def test_logging_in_while_redis_is_down_gets_the_503_page_not_a_500(in_redis, patient, caplog):
    client = Client(raise_request_exception=False)
    in_redis.stop()
    with caplog.at_level(logging.WARNING, logger="project"):
        response = client.post(reverse("login"), {"username": patient.username, "password": PASSWORD})
    assert_unavailable(response, retries=False)
    assert "abuse limits login-ip,login-username cannot be counted" in caplog.text


def test_logging_in_when_only_the_session_store_is_down_gets_the_503_page(redis_server, settings, patient):
    """Counters elsewhere (they answer), sessions in the stopped Redis: creating the session fails."""
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "sessions": redis_cache(redis_server.url),
    }
    settings.SESSION_CACHE_ALIAS = "sessions"
    settings.SESSION_ENGINE = "project.sessions.cache"
    redis_server.stop()
    client = Client(raise_request_exception=False)
    response = client.post(reverse("login"), {"username": patient.username, "password": PASSWORD})
    assert_unavailable(response, retries=False)


def test_signing_out_while_redis_is_down_fails_visibly_and_the_session_stays(in_persistent_redis, patient, visit):
    client = signed_in(patient)
    in_persistent_redis.stop()
    assert_unavailable(client.post(reverse("logout")), retries=False)
    in_persistent_redis.start()
    assert client.get(url("check-telemedicine-status", visit), **HTMX).status_code == 200
    assert client.post(reverse("logout")).status_code == 302
    assert client.get(url("check-telemedicine-status", visit), **HTMX)["HX-Redirect"].startswith("/login/")


class TestSessionsInTheDatabase:
    """SESSIONS_IN_REDIS=0: sessions in the database, read through Redis (cached_db)."""

    @pytest.fixture
    def cached_db(self, redis_server, settings):
        settings.CACHES = {"default": redis_cache(redis_server.url)}
        settings.SESSION_ENGINE = "project.sessions.cached_db"
        return redis_server

    def test_redis_down_is_503_not_a_read_past_the_cache(self, cached_db, patient, visit, django_assert_num_queries):
        client = signed_in(patient)
        cached_db.stop()
        with django_assert_num_queries(0):
            response = client.get(url("check-telemedicine-status", visit), **HTMX)
        assert_unavailable(response)

    def test_sessions_survive_a_redis_restart_that_lost_everything(self, cached_db, patient, visit):
        client = signed_in(patient)
        cached_db.stop()
        cached_db.start()  # no persistence: Redis comes back empty
        assert cached_db.client().dbsize() == 0
        assert client.get(url("check-telemedicine-status", visit), **HTMX).status_code == 200


# --- Nothing lost, nothing half-written ---------------------------------------------------


def write_requests(visit):
    """Every write a person can make on an appointment, as (who, method, URL, data, htmx)."""
    return {
        "toggle": ("doctor", url("toggle-telemedicine", visit), {"enabled": "", "confirmed": "yes"}, True),
        "cancel": ("doctor", reverse("appointments:cancel", args=[visit.pk]), {}, False),
        "schedule": (
            "doctor",
            reverse("appointments:schedule"),
            {"patient": visit.patient_id, "date": "2031-03-04", "time": "10:00", "description": "Follow-up"},
            False,
        ),
        "call report": ("patient", url("call-event", visit), {"event": "joined"}, False),
    }


@pytest.mark.parametrize("write", ["toggle", "cancel", "schedule", "call report"])
def test_a_write_while_redis_is_down_fails_visibly_and_writes_nothing(in_redis, doctor, patient, visit, write):
    who, path, data, htmx = write_requests(visit)[write]
    client = signed_in({"doctor": doctor, "patient": patient}[who])
    events = AccessEvent.objects.count()
    in_redis.stop()
    response = client.post(path, data, **(HTMX | {"HTTP_HX_TARGET": "telemedicine-toggle-1"} if htmx else {}))
    assert_unavailable(response, retries=False)
    visit.refresh_from_db()
    assert (visit.is_telemedicine, visit.status) == (True, Appointment.Status.SCHEDULED)
    assert Appointment.objects.count() == 1
    assert AccessEvent.objects.count() == events


def test_a_write_notice_asks_nothing_again_and_offers_a_reload(in_redis, doctor, visit):
    client = signed_in(doctor)
    in_redis.stop()
    page = f"http://testserver{url('appointment-detail-telemedicine', visit)}"
    response = client.post(
        url("toggle-telemedicine", visit),
        {"enabled": "", "confirmed": "yes"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET=f"telemedicine-toggle-{visit.pk}",
        HTTP_HX_CURRENT_URL=page,
    )
    body = response.content.decode()
    assert_unavailable(response, retries=False)
    assert f'id="telemedicine-toggle-{visit.pk}"' in body
    assert "hx-get" not in body
    assert f'<a href="{url("appointment-detail-telemedicine", visit)}">Reload the page</a>' in body


def test_an_odd_htmx_target_is_not_copied_into_the_notice(in_redis, patient, visit):
    client = signed_in(patient)
    in_redis.stop()
    response = client.get(
        url("check-telemedicine-status", visit), HTTP_HX_REQUEST="true", HTTP_HX_TARGET='x" onclick="alert(1)'
    )
    assert response.status_code == 503
    assert "onclick" not in response.content.decode()
    assert " id=" not in response.content.decode()


def test_when_redis_goes_away_after_a_toggle_the_answer_says_it_was_saved(in_redis, doctor, visit, caplog, monkeypatch):
    """
    Redis stops while the view runs: the toggle and its audit record are saved, then the
    session's refresh cannot be: the answer still says what happened, and a WARNING says
    the session was not refreshed.
    """
    from telemedicine import audit

    client = signed_in(doctor)
    record_toggle = audit.record_toggle

    def record_then_lose_redis(*args, **kwargs):
        record_toggle(*args, **kwargs)
        in_redis.stop()

    monkeypatch.setattr(audit, "record_toggle", record_then_lose_redis)
    # Due a refresh: the session was last saved more than SESSION_REFRESH_INTERVAL ago.
    later = timezone.now() + dt.timedelta(seconds=django_settings.SESSION_REFRESH_INTERVAL + 1)
    monkeypatch.setattr(time, "time", lambda: later.timestamp())
    with caplog.at_level(logging.WARNING, logger="project"):
        response = client.post(
            url("toggle-telemedicine", visit), {"enabled": "", "confirmed": "yes"}, HTTP_HX_REQUEST="true"
        )
    assert response.status_code == 200
    assert django_settings.SESSION_COOKIE_NAME not in response.cookies  # the session keeps its old expiry
    visit.refresh_from_db()
    assert visit.is_telemedicine is False
    assert AccessEvent.objects.filter(action=AccessEvent.Action.TELEMEDICINE_OFF).count() == 1
    assert "session not refreshed" in caplog.text


def test_when_redis_goes_away_during_a_login_the_person_is_told(in_redis, patient, monkeypatch):
    """The new session was made, but not saved with the person in it: 503, not a login that did not happen."""
    from django.contrib.auth.signals import user_logged_in

    def lose_redis(**kwargs):
        in_redis.stop()

    user_logged_in.connect(lose_redis, dispatch_uid="lose-redis")
    try:
        client = Client(raise_request_exception=False)
        response = client.post(reverse("login"), {"username": patient.username, "password": PASSWORD})
    finally:
        user_logged_in.disconnect(dispatch_uid="lose-redis")
    assert_unavailable(response, retries=False)


# --- What reaches handler500 --------------------------------------------------------------


def test_an_outage_met_outside_any_view_is_a_503_from_the_500_handler():
    request = RequestFactory().get("/appointments/")
    try:
        raise OperationalError("connection to server at 10.0.0.5 failed")
    except OperationalError:
        response = errors.server_error(request)
    assert_unavailable(response, through_middleware=False)  # the handler alone: the middleware adds them


def test_any_other_error_is_still_the_500_page():
    request = RequestFactory().get("/appointments/")
    try:
        raise ValueError("a bug")
    except ValueError:
        response = errors.server_error(request)
    assert response.status_code == 500


# --- Abuse limits while their counters cannot be reached ------------------------------------


@pytest.fixture
def counters_down(redis_server, settings):
    """The counters in a Redis that has stopped (ABUSE_LIMITS_CACHE); sessions in the database."""
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "counters": redis_cache(redis_server.url),
    }
    settings.ABUSE_LIMITS_CACHE = "counters"
    settings.SESSION_ENGINE = "project.sessions.cached_db"
    redis_server.stop()


LIMITED_REQUESTS = {
    # limit: (who, method, path for the visit, data, the answer while its counters are down)
    "login": (None, "post", lambda visit: reverse("login"), {"username": "pat", "password": PASSWORD}, 503),
    "status": ("patient", "get", lambda visit: url("check-telemedicine-status", visit), {}, 200),
    "room": ("patient", "get", lambda visit: url("jitsi-room", visit), {}, 200),
    "toggle": (
        "doctor",
        "post",
        lambda visit: url("toggle-telemedicine", visit),
        {"enabled": "", "confirmed": "yes"},
        200,
    ),
    "call-event": ("patient", "post", lambda visit: url("call-event", visit), {"event": "joined"}, 204),
    "appointment-not-found": (
        "patient",
        "get",
        lambda visit: reverse("telemedicine:appointment-detail-telemedicine", args=[visit.pk + 99]),
        {},
        404,
    ),
}


@pytest.mark.parametrize("limit", LIMITED_REQUESTS)
def test_each_limit_does_what_docs_security_decides_while_its_counters_are_down(
    counters_down, client_for, doctor, patient, visit, caplog, limit
):
    who, method, path, data, expected = LIMITED_REQUESTS[limit]
    client = client_for({"doctor": doctor, "patient": patient}[who]) if who else Client()
    if limit == "call-event":
        client.get(url("jitsi-room", visit))  # a join is believed only from a room page the server served
        caplog.clear()
    with caplog.at_level(logging.WARNING, logger="project"):
        response = getattr(client, method)(path(visit), data, HTTP_HX_REQUEST="true")
    assert response.status_code == expected
    decision = "refused" if expected == 503 else "let through uncounted"
    warnings = [r for r in caplog.records if r.name == "project" and "cannot be counted" in r.getMessage()]
    assert warnings[0].getMessage().endswith(f"request {decision}")
    if expected == 404:  # and afterwards, the 404 it could not count
        assert warnings[1].getMessage().endswith("a 404 went uncounted")
    assert len(warnings) == (2 if expected == 404 else 1)
    assert all(w.levelno == logging.WARNING and limit in w.getMessage() for w in warnings)


def test_every_limit_has_decided_what_happens_while_uncounted():
    limits = [limit for group in rate_limits.LIMITS.values() for limit in group] + [rate_limits.NOT_FOUND_LIMIT]
    decisions = {limit.group: limit.when_uncounted for limit in limits}
    assert decisions == {
        "login-ip": rate_limits.REFUSE,
        "login-username": rate_limits.REFUSE,
        "status": rate_limits.LET_THROUGH,
        "room": rate_limits.LET_THROUGH,
        "toggle": rate_limits.LET_THROUGH,
        "call-event": rate_limits.LET_THROUGH,
        "appointment-not-found": rate_limits.LET_THROUGH,
        # Asking for an email, or signing in with one's link: never unmetered.
        "reset-ip": rate_limits.REFUSE,
        "reset-address": rate_limits.REFUSE,
        "sign-in-link": rate_limits.REFUSE,
        "link-request-ip": rate_limits.REFUSE,
        "link-request-address": rate_limits.REFUSE,
        # Guests: an open call stays joinable; each link is checked against the database.
        "guest-open": rate_limits.LET_THROUGH,
        "guest-room": rate_limits.LET_THROUGH,
        "guest-status": rate_limits.LET_THROUGH,
        "guest-call-event": rate_limits.LET_THROUGH,
        "invite-guest": rate_limits.LET_THROUGH,
        "revoke-guest": rate_limits.LET_THROUGH,
        "guest-policy": rate_limits.LET_THROUGH,
    }


def test_a_lock_out_outlives_a_redis_outage_that_lost_the_counters(in_redis, patient, settings):
    """django-axes counts failures in the database: Redis coming back empty does not reset them."""
    client = Client(raise_request_exception=False)
    wrong = {"username": patient.username, "password": "not-the-password"}
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post(reverse("login"), wrong)
    assert client.post(reverse("login"), wrong).status_code == 429
    in_redis.stop()
    assert client.post(reverse("login"), wrong).status_code == 503
    in_redis.start()  # no persistence: the login counters are gone
    assert in_redis.client().dbsize() == 0
    response = client.post(reverse("login"), {"username": patient.username, "password": PASSWORD})
    assert response.status_code == 429


# --- Health -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_liveness_asks_nothing_of_redis_or_the_database(in_redis, django_assert_num_queries):
    in_redis.stop()
    with django_assert_num_queries(0):
        response = Client().get("/healthz")
    assert (response.status_code, response.content) == (200, b"ok\n")


@pytest.mark.django_db
def test_readiness_says_which_service_does_not_answer_and_nothing_more(in_redis, settings):
    settings.REDIS_URL = in_redis.url
    ready = Client().get("/readyz")
    assert (ready.status_code, ready.content) == (200, b"database: ok\nredis: ok\n")
    in_redis.stop()
    unready = Client().get("/readyz")
    assert (unready.status_code, unready.content) == (503, b"database: ok\nredis: unavailable\n")
    assert not unready.cookies
    assert "no-cache" in unready["Cache-Control"]
    in_redis.start()
    assert Client().get("/readyz").status_code == 200


@pytest.mark.django_db
def test_readiness_gives_up_on_a_hung_redis_within_about_a_second(in_redis, settings):
    settings.REDIS_URL = in_redis.url
    Client().get("/readyz")  # a pooled connection, open before the server hangs
    in_redis.hang()
    started = time.monotonic()
    response = Client().get("/readyz")
    waited = time.monotonic() - started
    in_redis.resume()
    assert response.status_code == 503
    assert waited < 3  # SOCKET_TIMEOUT is 1 s (5 s without it, measured): a bound, not a speed measurement
