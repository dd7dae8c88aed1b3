"""
Issue 17, point 5: when a session ends, the login page says why ("You were signed out after
30 minutes without activity", or after the absolute lifetime), once, and logging in brings
the person back where they were, a page whose poll found the session gone included.
"""

import datetime as dt

import pytest
from django.conf import settings
from django.core import signing
from django.test import Client
from django.urls import reverse
from freezegun import freeze_time

from conftest import PASSWORD
from project.sessions.lifetimes import ENDS_COOKIE, ENDS_SALT, Ending, why_it_ended
from telemedicine.tests.shortcuts import url

T0 = dt.datetime(2030, 1, 15, 8, 0, tzinfo=dt.UTC)
SECOND = dt.timedelta(seconds=1)
IDLE_MESSAGE = "You were signed out after 30 minutes without activity"


@pytest.fixture
def visit(make_appointment):
    # Far ahead: its card's polls never keep the session alive.
    return make_appointment(starts_at=T0 + dt.timedelta(days=3), is_telemedicine=True)


def poll_from_its_page(client, visit):
    return client.get(
        url("check-telemedicine-status", visit),
        HTTP_HX_REQUEST="true",
        HTTP_HX_CURRENT_URL=f"http://testserver{visit.get_absolute_url()}",
    )


def signed_in(patient, visit) -> Client:
    client = Client()
    client.force_login(patient)
    client.get(visit.get_absolute_url())  # a request made by a person: the session's end is written down
    return client


def test_after_the_idle_timeout_a_poll_leads_to_a_login_page_that_says_why(patient, visit):
    with freeze_time(T0) as clock:
        client = signed_in(patient, visit)
        assert ENDS_COOKIE in client.cookies
        clock.tick(dt.timedelta(seconds=settings.SESSION_COOKIE_AGE) + SECOND)
        response = poll_from_its_page(client, visit)
        login_url = response["HX-Redirect"]
        assert login_url == f"{reverse('login')}?next={visit.get_absolute_url()}"
        page = client.get(login_url)
        html = page.content.decode()
        assert f"{IDLE_MESSAGE}, so that nobody else can use this screen as you." in html
        assert "Log in again to carry on where you were." in html
        assert page.cookies[ENDS_COOKIE].value == ""  # said once
        assert IDLE_MESSAGE not in client.get(login_url).content.decode()
        back = client.post(login_url, {"username": patient.username, "password": PASSWORD})
        assert back["Location"] == visit.get_absolute_url()


def test_after_the_absolute_lifetime_it_says_so(patient, visit, settings):
    settings.SESSION_ABSOLUTE_LIFETIME = 10 * 60
    with freeze_time(T0) as clock:
        client = signed_in(patient, visit)
        for _ in range(10):  # busy all along: the idle timeout never ends it
            clock.tick(dt.timedelta(minutes=1))
            response = client.get(visit.get_absolute_url())
        assert response.status_code == 302
        html = client.get(response["Location"]).content.decode()
        assert "You were signed out because a session lasts at most 10 minutes, however busy." in html


def test_signing_out_on_purpose_needs_no_explaining(patient, visit):
    with freeze_time(T0):
        client = signed_in(patient, visit)
        response = client.post(reverse("logout"))
        assert response.cookies[ENDS_COOKIE].value == ""
        assert "You were signed out" not in client.get(reverse("login")).content.decode()


def test_a_fresh_visit_to_the_login_page_says_nothing_of_the_kind(client, db):
    html = client.get(reverse("login")).content.decode()
    assert 'data-testid="signed-out"' not in html


def test_a_login_page_reached_from_a_link_says_why_it_is_asked(client, db):
    html = client.get(f"{reverse('login')}?next=/appointments/").content.decode()
    assert "Please log in to see that page." in html


class TestWhyItEnded:
    """The rule, at its edges: whichever clock ran out first; a cookie that was tampered with says nothing."""

    def request(self, rf, ends):
        request = rf.get("/login/")
        request.COOKIES[ENDS_COOKIE] = signing.dumps(ends, salt=ENDS_SALT, compress=True)
        return request

    @pytest.mark.parametrize(
        "now,ending",
        [(999, Ending.OTHER), (1000, Ending.IDLE), (2000, Ending.IDLE)],
    )
    def test_the_idle_end(self, rf, now, ending):
        assert why_it_ended(self.request(rf, {"idle": 1000, "absolute": 5000}), now) is ending

    @pytest.mark.parametrize("now,ending", [(4999, Ending.OTHER), (5000, Ending.ABSOLUTE), (9000, Ending.ABSOLUTE)])
    def test_the_absolute_end_when_it_came_first(self, rf, now, ending):
        assert why_it_ended(self.request(rf, {"idle": 6000, "absolute": 5000}), now) is ending

    def test_a_forged_cookie_says_nothing(self, rf):
        request = rf.get("/login/")
        request.COOKIES[ENDS_COOKIE] = signing.dumps({"idle": 1}, salt="something else")
        assert why_it_ended(request, 10) is None

    def test_the_cookie_holds_two_times_and_nothing_else(self, patient, visit):
        with freeze_time(T0):
            client = signed_in(patient, visit)
        ends = signing.loads(client.cookies[ENDS_COOKIE].value, salt=ENDS_SALT)
        now = int(T0.timestamp())
        assert ends == {
            "idle": now + settings.SESSION_COOKIE_AGE,
            "absolute": now + settings.SESSION_ABSOLUTE_LIFETIME,
        }
        assert client.cookies[ENDS_COOKIE]["httponly"]
