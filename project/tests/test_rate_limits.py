"""
Abuse limits (project/rate_limits.py): normal use never meets them, scripts do,
and the answer is a 429 a person can read, as a partial for htmx or a page.
"""

import datetime as dt
import re

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone
from freezegun import freeze_time

from appointments.models import Appointment
from project import rate_limits

HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_CURRENT_URL": "http://testserver/"}
START = dt.datetime(2030, 1, 15, 10, 0, tzinfo=dt.UTC)  # 10:00 in London (GMT in January)


def limit_of(rate: str) -> int:
    return int(rate.split("/")[0])


def hammer(send, times):
    """Send `times` requests; return the statuses."""
    return [send().status_code for _ in range(times)]


@pytest.fixture
def appointment(make_appointment):
    return make_appointment(starts_at=START, is_telemedicine=True)


@pytest.mark.parametrize(
    "url_name,method,who,rate",
    [
        ("telemedicine:check-telemedicine-status", "get", "patient", rate_limits.STATUS),
        ("telemedicine:jitsi-room", "get", "patient", rate_limits.ROOM),
        ("telemedicine:toggle-telemedicine", "post", "doctor", rate_limits.TOGGLE),
    ],
)
@freeze_time(START)
def test_a_script_hammering_an_endpoint_gets_429_after_the_limit(
    url_name, method, who, rate, appointment, client_for, request
):
    client = client_for(request.getfixturevalue(who))
    url = reverse(url_name, args=[appointment.pk])
    statuses = hammer(
        lambda: getattr(client, method)(url, {"enabled": "on"} if method == "post" else None), limit_of(rate) + 1
    )
    assert 429 not in statuses[:-1]
    assert statuses[-1] == 429


@freeze_time(START)
def test_requests_a_counting_view_refuses_before_counting_still_count(appointment, client_for, patient):
    # The status poll counts its own limits (@counted_by_view); a POST is refused (405) before
    # it counts, and AbuseLimitMiddleware counts it after the view instead.
    client = client_for(patient)
    url = reverse("telemedicine:check-telemedicine-status", args=[appointment.pk])

    assert set(hammer(lambda: client.post(url), limit_of(rate_limits.STATUS))) == {405}
    assert client.get(url, **HTMX).status_code == 429


@freeze_time(START)
def test_limits_count_per_user_so_one_users_burst_leaves_others_alone(appointment, client_for, patient, doctor):
    url = reverse("telemedicine:check-telemedicine-status", args=[appointment.pk])
    greedy = client_for(patient)
    hammer(lambda: greedy.get(url), limit_of(rate_limits.STATUS) + 1)
    assert greedy.get(url).status_code == 429
    assert client_for(doctor).get(url).status_code == 200


@pytest.mark.parametrize("tabs", [1, 3])
def test_status_cards_polling_across_the_window_opening_never_meet_the_limit(
    tabs, make_appointment, client_for, patient
):
    """Follow the card's own schedule (steady polls plus the boundary poll) across the window opening."""
    appointment = make_appointment(starts_at=START, is_telemedicine=True)
    url = reverse("telemedicine:check-telemedicine-status", args=[appointment.pk])
    with freeze_time(START - dt.timedelta(minutes=15)) as clock:
        client = client_for(patient)
        polls = 0
        while timezone.now() < START + dt.timedelta(minutes=5):
            for _ in range(tabs):
                response = client.get(url, **HTMX)
                assert response.status_code == 200, polls
                polls += 1
            delay_ms = int(re.search(r"load delay:(\d+)ms", response.content.decode()).group(1))
            clock.tick(dt.timedelta(milliseconds=delay_ms))
    assert polls >= tabs * 20 * 6  # really polled every 10 s or faster


@pytest.mark.parametrize(
    "headers,expect_page",
    [({}, True), (HTMX, False)],
    ids=["plain-request-gets-a-page", "htmx-request-gets-a-partial"],
)
@freeze_time(START)
def test_429_is_a_friendly_page_or_partial(headers, expect_page, appointment, client_for, patient):
    client = client_for(patient)
    url = reverse("telemedicine:check-telemedicine-status", args=[appointment.pk])
    hammer(lambda: client.get(url, **headers), limit_of(rate_limits.STATUS))
    response = client.get(url, **headers)
    body = response.content.decode()
    assert response.status_code == 429
    assert "Too many requests" in body
    assert "Please wait a minute and try again." in body
    assert response["Retry-After"] == "60"
    assert ("<html" in body) is expect_page
    assert "status-card" not in body


def test_rate_limits_reset_when_the_window_passes(appointment, client_for, patient):
    url = reverse("telemedicine:jitsi-room", args=[appointment.pk])
    with freeze_time(START) as clock:
        client = client_for(patient)
        hammer(lambda: client.get(url), limit_of(rate_limits.ROOM) + 1)
        assert client.get(url).status_code == 429
        clock.tick(dt.timedelta(minutes=2))
        assert client.get(url).status_code == 200


# --- Probing appointment ids -------------------------------------------------------


@freeze_time(START)
def test_probing_ids_is_stopped_after_the_not_found_limit(appointment, client_for, other_patient):
    client = client_for(other_patient)
    allowed = limit_of(rate_limits.NOT_FOUND)
    # Ids that do not exist and one that is someone else's: all 404 alike.
    probes = [
        reverse("telemedicine:appointment-detail-telemedicine", args=[appointment.pk + n]) for n in range(allowed + 1)
    ]
    # The limit means what it says: `allowed` 404s, and the next probe is refused.
    assert [client.get(url).status_code for url in probes] == [404] * allowed + [429]
    assert client.get(probes[0]).status_code == 429
    assert client.get(reverse("telemedicine:check-telemedicine-status", args=[appointment.pk])).status_code == 429
    # Only appointment URLs are closed to the prober: the dashboard still answers.
    assert client.get(reverse("appointments:dashboard")).status_code == 200


@freeze_time(START)
def test_a_blocked_prober_polling_someone_elses_card_writes_no_audit_record(appointment, client_for, other_patient):
    """The status poll decides its limits before anything is written (one round trip with its marks)."""
    from telemedicine.models import AccessEvent

    client = client_for(other_patient)
    status = reverse("telemedicine:check-telemedicine-status", args=[appointment.pk])
    for _ in range(limit_of(rate_limits.NOT_FOUND)):
        assert client.get(status, **HTMX).status_code == 404
    refusals = AccessEvent.objects.filter(action=AccessEvent.Action.ACCESS_REFUSED).count()
    assert refusals == limit_of(rate_limits.NOT_FOUND)  # each 404 was audited
    assert client.get(status, **HTMX).status_code == 429
    assert AccessEvent.objects.filter(action=AccessEvent.Action.ACCESS_REFUSED).count() == refusals


@freeze_time(START)
def test_a_participants_own_requests_never_count_as_probes(appointment, client_for, patient):
    client = client_for(patient)
    url = reverse("telemedicine:appointment-detail-telemedicine", args=[appointment.pk])
    assert hammer(lambda: client.get(url), limit_of(rate_limits.NOT_FOUND) + 5) == [200] * (
        limit_of(rate_limits.NOT_FOUND) + 5
    )


@freeze_time(START)
def test_a_deleted_appointments_card_costs_one_not_found(appointment, client_for, patient):
    client = client_for(patient)
    url = reverse("telemedicine:check-telemedicine-status", args=[appointment.pk])
    Appointment.objects.filter(pk=appointment.pk).delete()
    assert client.get(url, **HTMX).status_code == 404
    probe = RequestFactory().get("/")
    probe.user = patient
    assert rate_limits.current_count(probe, rate_limits.NOT_FOUND_LIMIT) == 1


# --- Login -----------------------------------------------------------------------------


def login_attempt(username, address):
    return Client(REMOTE_ADDR=address).post(reverse("login"), {"username": username, "password": "wrong"})


@freeze_time(START)
def test_one_address_trying_many_usernames_is_limited(db):
    statuses = [
        login_attempt(f"user{n}", "203.0.113.7").status_code for n in range(limit_of(rate_limits.LOGIN_PER_IP) + 1)
    ]
    assert statuses[:-1] == [200] * limit_of(rate_limits.LOGIN_PER_IP)
    assert statuses[-1] == 429
    # Another address is not affected.
    assert login_attempt("user0", "203.0.113.8").status_code == 200


@freeze_time(START)
def test_one_username_tried_from_many_addresses_is_limited(db):
    """Axes locks a username+address pair; this stops spraying one account from many addresses."""
    tries = limit_of(rate_limits.LOGIN_PER_USERNAME) + 1
    statuses = [login_attempt("Pat" if n % 2 else "pat", f"198.51.100.{n}").status_code for n in range(tries)]
    assert statuses[:-1] == [200] * (tries - 1)
    assert statuses[-1] == 429


@freeze_time(START)
def test_viewing_the_login_page_is_not_limited(db):
    client = Client()
    assert hammer(lambda: client.get(reverse("login")), limit_of(rate_limits.LOGIN_PER_IP) + 5)[-1] == 200


@freeze_time(START)
def test_behind_a_proxy_addresses_come_from_the_configured_header(settings, db):
    settings.AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"]
    proxy = "10.0.0.2"

    def attempt(client_address, n):
        return Client(REMOTE_ADDR=proxy).post(
            reverse("login"), {"username": f"user{n}", "password": "x"}, HTTP_X_FORWARDED_FOR=client_address
        )

    statuses = [attempt("81.2.69.160", n).status_code for n in range(limit_of(rate_limits.LOGIN_PER_IP) + 1)]
    assert statuses[-1] == 429
    # Another client behind the same proxy is not limited; a garbled header falls back to the proxy's address.
    assert attempt("81.2.69.161", 0).status_code == 200
    assert attempt("not-an-address", 0).status_code == 200


# --- Look-alike usernames (issue 16, finding 3) ----------------------------------------

# Each signs in as "pat" (Django's login form normalises Unicode to NFKC), or as a case
# variant of it: one account, so one counter.
LOOK_ALIKES = ["pat", "PAT", "Pat", "ｐａｔ", "𝐩𝐚𝐭", "ＰＡＴ", " pat ", "pAt", "𝐏𝐚𝐭", "𝑝𝑎𝑡", "paT", "𝗽𝗮𝘁"]


@freeze_time(START)
def test_look_alike_usernames_share_the_per_username_limit(db):
    tries = limit_of(rate_limits.LOGIN_PER_USERNAME) + 1
    statuses = [login_attempt(LOOK_ALIKES[n], f"198.51.100.{n}").status_code for n in range(tries)]
    assert statuses[:-1] == [200] * (tries - 1)
    assert statuses[-1] == 429


@freeze_time(START)
def test_look_alike_usernames_share_the_lock_out(settings, patient):
    client = Client(REMOTE_ADDR="203.0.113.7")
    statuses = [
        client.post(reverse("login"), {"username": LOOK_ALIKES[n], "password": "wrong"}).status_code
        for n in range(settings.AXES_FAILURE_LIMIT)
    ]
    assert statuses == [200] * (settings.AXES_FAILURE_LIMIT - 1) + [429]


@pytest.mark.parametrize("spelling", LOOK_ALIKES)
def test_the_rate_limit_counts_the_username_axes_counts(spelling):
    from axes.helpers import get_client_username

    request = RequestFactory().post("/login/", {"username": spelling})
    key = rate_limits.login_username("login-username", request)
    assert key == "pat"
    assert get_client_username(request) == key
    # What axes is handed after a failed authenticate(): the login form's cleaned (NFKC) username.
    assert get_client_username(request, {"username": spelling.strip()}) == key


# --- The admin's login page (issue 16, finding 4) ---------------------------------------

ADMIN_LOGIN = reverse("admin:login")


@freeze_time(START)
def test_one_password_tried_across_many_usernames_on_the_admin_login_is_limited_per_address(db):
    client = Client(REMOTE_ADDR="203.0.113.7")
    tries = limit_of(rate_limits.LOGIN_PER_IP) + 1
    statuses = [
        client.post(ADMIN_LOGIN, {"username": f"user{n}", "password": "Summer2030!"}).status_code for n in range(tries)
    ]
    assert statuses[:-1] == [200] * (tries - 1)
    assert statuses[-1] == 429
    assert Client(REMOTE_ADDR="203.0.113.8").post(ADMIN_LOGIN, {"username": "x", "password": "y"}).status_code == 200


@freeze_time(START)
def test_one_username_tried_on_the_admin_login_from_many_addresses_is_limited(db):
    tries = limit_of(rate_limits.LOGIN_PER_USERNAME) + 1
    statuses = [
        Client(REMOTE_ADDR=f"198.51.100.{n}").post(ADMIN_LOGIN, {"username": "admin", "password": "x"}).status_code
        for n in range(tries)
    ]
    assert statuses[-1] == 429
    assert 429 not in statuses[:-1]


@freeze_time(START)
def test_the_two_login_pages_share_one_count(db):
    client = Client(REMOTE_ADDR="203.0.113.7")
    half = limit_of(rate_limits.LOGIN_PER_IP) // 2
    for n in range(half):
        client.post(reverse("login"), {"username": f"user{n}", "password": "x"})
    statuses = [
        client.post(ADMIN_LOGIN, {"username": f"admin{n}", "password": "x"}).status_code
        for n in range(limit_of(rate_limits.LOGIN_PER_IP) - half + 1)
    ]
    assert statuses[-1] == 429
    assert 429 not in statuses[:-1]
