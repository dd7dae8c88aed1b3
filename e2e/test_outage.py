"""
A Redis outage, seen by a patient in a real browser: the status card says in its own place
that the clinic's system is briefly unavailable, never sends the patient to the login page,
and comes back by itself when Redis does; a page opened meanwhile retries by itself.

The live server's cache is a real redis-server, stopped and started by the test; its
sessions stay in the database, read through that cache (SESSIONS_IN_REDIS=0): the live
server built its middleware, and so its session store, before any test could change
SESSION_ENGINE. (Sessions in Redis alone: project/tests/test_outages.py and
test_outage_recovery.py.)
"""

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from project import outages
from project.settings import redis_cache

IN_AN_HOUR = timedelta(hours=1)
UNAVAILABLE = "The clinic's system is briefly unavailable; this page will retry."


@pytest.fixture
def cache_in_redis(redis_server, settings):
    settings.CACHES = {"default": redis_cache(redis_server.url)}
    assert settings.SESSION_ENGINE == "project.sessions.cached_db"
    return redis_server


def test_patient_card_says_unavailable_in_its_place_and_comes_back_by_itself(
    cache_in_redis, page_for, patient, status_poll_interval, appointment_starting_in
):
    appointment = appointment_starting_in(IN_AN_HOUR, is_telemedicine=True)
    page = page_for(patient)
    page.goto(appointment.get_absolute_url())
    card = page.locator("#status-card")
    expect(card).to_have_attribute("data-phase", "waiting")
    page.evaluate("window.__sameDocument = true")  # a full page load would remove it

    cache_in_redis.stop()
    expect(card).to_contain_text(UNAVAILABLE, timeout=(status_poll_interval + 3) * 1000)
    expect(card).to_contain_text("If you are waiting for a video visit, please call Riverside Clinic on 020 7946 0000")
    expect(page.get_by_role("status").filter(has_text=UNAVAILABLE)).to_be_visible()

    cache_in_redis.start()
    # The notice's next attempt comes within its backoff (2 s, then 4 s): the card is back.
    expect(card).to_have_attribute("data-phase", "waiting", timeout=10_000)
    expect(card).to_contain_text("The video call opens in")
    assert page.evaluate("window.__sameDocument === true")
    assert "/login/" not in page.url


def test_a_page_opened_during_the_outage_reloads_itself_once_redis_is_back(
    cache_in_redis, page_for, patient, appointment_starting_in, monkeypatch
):
    monkeypatch.setattr(outages, "PAGE_RETRY_SECONDS", 2)
    appointment = appointment_starting_in(IN_AN_HOUR, is_telemedicine=True)
    page = page_for(patient)
    cache_in_redis.stop()
    response = page.goto(appointment.get_absolute_url())
    assert response.status == 503
    expect(page.get_by_role("heading", name="Please wait a moment")).to_be_visible()
    expect(page.get_by_text(UNAVAILABLE)).to_be_visible()

    cache_in_redis.start()
    expect(page.get_by_role("heading", name=re.compile("Appointment on"))).to_be_visible(timeout=10_000)
    assert page.url.endswith(appointment.get_absolute_url())


def test_a_balancers_own_503_page_never_lands_in_the_card_which_retries(
    page_for, patient, status_poll_interval, appointment_starting_in
):
    """A load balancer with no ready instance answers its own 503: not swapped, an error the card retries after."""
    appointment = appointment_starting_in(IN_AN_HOUR, is_telemedicine=True)
    page = page_for(patient)
    page.goto(appointment.get_absolute_url())
    card = page.locator("#status-card")
    expect(card).to_have_attribute("data-phase", "waiting")
    asked = []

    def balancer_says_503(route):
        asked.append(route.request.url)
        route.fulfill(status=503, content_type="text/html", body="<h1>503 Service Temporarily Unavailable</h1>nginx")

    page.route(re.compile(r"/check-status/$"), balancer_says_503)
    page.wait_for_timeout((status_poll_interval + 1) * 1000)
    assert asked
    expect(card).to_have_attribute("data-phase", "waiting")
    expect(card).not_to_contain_text("nginx")
    page.unroute(re.compile(r"/check-status/$"))
    # The card's error retry (poll interval + 5 s) asks the app again, and polling goes on.
    with page.expect_response(re.compile(r"/check-status/$"), timeout=(status_poll_interval + 8) * 1000) as answer:
        pass
    assert answer.value.status == 200
    expect(card).to_have_attribute("data-phase", "waiting")
