"""
The patient's status card: it follows the doctor, flips to Join when the window opens,
stops asking once nothing can change, and sends a logged-out patient to the login page.

Real time: appointments are placed relative to now (freezegun cannot freeze a browser).
"""

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

from django.utils import timezone
from playwright.sync_api import expect

from telemedicine.access import call_window
from telemedicine.conf import telemedicine_setting

IN_AN_HOUR = timedelta(hours=1)
STATUS_URL = re.compile(r"/telemedicine/appointment/\d+/check-status/$")


def mark_document(page) -> None:
    """A marker that only a full page load would remove."""
    page.evaluate("window.__sameDocument = true")


def still_same_document(page) -> bool:
    return page.evaluate("window.__sameDocument === true")


def status_requests(page) -> list[str]:
    """A list that fills with the page's status-card requests from now on."""
    seen = []
    page.on("request", lambda request: STATUS_URL.search(request.url) and seen.append(request.url))
    return seen


def test_patient_card_follows_doctor_switching_video_visit(
    page_for, doctor, patient, status_poll_interval, appointment_starting_in
):
    appointment = appointment_starting_in(IN_AN_HOUR, is_telemedicine=False)
    patient_page = page_for(patient)
    patient_page.goto(appointment.get_absolute_url())
    card = patient_page.locator("#status-card")
    expect(card).to_have_attribute("data-phase", "in-person")
    mark_document(patient_page)

    doctor_page = page_for(doctor)
    doctor_page.goto(appointment.get_absolute_url())
    within_a_poll = (status_poll_interval + 2) * 1000

    doctor_page.get_by_role("switch", name=re.compile("Video visit")).check()
    expect(doctor_page.get_by_test_id("telemedicine-badge")).to_have_text("On")
    expect(card).to_have_attribute("data-phase", "waiting", timeout=within_a_poll)
    expect(card).to_contain_text("The video call opens in")

    # The call opens within the hour: switching off is asked first (more in
    # appointments/tests/test_confirmations.py and telemedicine/tests/test_switch_off_confirmation.py).
    doctor_page.get_by_role("switch", name=re.compile("Video visit")).uncheck()
    doctor_page.get_by_role("button", name="Yes, switch video off").click()
    expect(card).to_have_attribute("data-phase", "in-person", timeout=within_a_poll)
    expect(card).to_contain_text("This visit takes place at Riverside Clinic")
    assert still_same_document(patient_page)


def test_patient_sees_join_button_when_window_opens(page_for, patient, telemedicine_settings, appointment_starting_in):
    # A steady poll far longer than the wait: only the server-timed poll can flip the card.
    telemedicine_settings(STATUS_POLL_INTERVAL=120)
    opens_in = timedelta(minutes=telemedicine_setting("CALL_WINDOW_BEFORE"), seconds=5)
    appointment = appointment_starting_in(opens_in, is_telemedicine=True)
    opens_at = call_window(appointment).opens_at

    page = page_for(patient)
    page.goto(appointment.get_absolute_url())
    card = page.locator("#status-card")
    join = page.get_by_role("link", name="Join video call")
    expect(card).to_contain_text("The video call opens in less than a minute")
    expect(join).to_have_count(0)
    mark_document(page)

    join.wait_for(state="visible", timeout=15_000)
    late_by = (timezone.now() - opens_at).total_seconds()
    assert 0 <= late_by <= 1.5, f"the Join button appeared {late_by:.2f} s after the window opened"
    expect(card).to_have_attribute("data-phase", "open")
    # Inside the card's live region, so a screen reader announces it.
    expect(card.locator('[role="status"][aria-live="polite"]')).to_contain_text("The video call is open until")
    expect(
        card.locator('[role="status"][aria-live="polite"]').get_by_role("link", name="Join video call")
    ).to_be_visible()
    assert still_same_document(page)


def assert_no_more_status_requests(page, requests, poll_interval):
    """Watch for three whole poll intervals: a card still polling would ask at least twice."""
    asked = len(requests)
    page.wait_for_timeout(3 * poll_interval * 1000 + 500)  # proving an absence takes waiting
    assert requests[asked:] == [], f"the card kept polling: {len(requests) - asked} more status requests"


def test_card_stops_polling_once_the_call_window_has_closed(
    page_for, patient, status_poll_interval, appointment_starting_in
):
    closes_in = timedelta(seconds=4)
    appointment = appointment_starting_in(
        closes_in - timedelta(minutes=telemedicine_setting("CALL_WINDOW_AFTER")), is_telemedicine=True
    )
    page = page_for(patient)
    requests = status_requests(page)
    page.goto(appointment.get_absolute_url())
    card = page.locator("#status-card")
    expect(card).to_have_attribute("data-phase", "open")

    expect(card).to_have_attribute("data-phase", "ended", timeout=10_000)
    expect(card).to_contain_text("The video call closed at")
    expect(page.get_by_role("link", name="Join video call")).to_have_count(0)
    assert requests, "the card should have asked until the window closed"
    assert_no_more_status_requests(page, requests, status_poll_interval)


def test_card_stops_polling_once_the_doctor_cancels(
    page_for, doctor, patient, status_poll_interval, appointment_starting_in
):
    appointment = appointment_starting_in(IN_AN_HOUR, is_telemedicine=True)
    page = page_for(patient)
    requests = status_requests(page)
    page.goto(appointment.get_absolute_url())
    card = page.locator("#status-card")
    expect(card).to_have_attribute("data-phase", "waiting")

    doctor_page = page_for(doctor)
    doctor_page.goto(appointment.get_absolute_url())
    doctor_page.get_by_role("link", name="Cancel appointment").click()
    doctor_page.get_by_role("button", name="Yes, cancel it").click()
    expect(doctor_page.get_by_text("Cancelled").first).to_be_visible()

    expect(card).to_have_attribute("data-phase", "cancelled", timeout=(status_poll_interval + 2) * 1000)
    expect(card).to_contain_text("This appointment was cancelled.")
    assert_no_more_status_requests(page, requests, status_poll_interval)


def test_patient_logged_out_in_another_tab_lands_on_login_at_next_poll(
    new_context, log_in, patient, status_poll_interval, appointment_starting_in
):
    appointment = appointment_starting_in(IN_AN_HOUR, is_telemedicine=True)
    context = log_in(new_context(), patient)
    waiting_page = context.new_page()
    waiting_page.goto(appointment.get_absolute_url())
    expect(waiting_page.locator("#status-card")).to_have_attribute("data-phase", "waiting")

    other_tab = context.new_page()
    other_tab.goto("/appointments/")
    other_tab.get_by_role("button", name="Log out").click()
    expect(other_tab).to_have_url(re.compile(r"/login/$"))

    # The next poll; or, if one was in flight during the logout (its answer is an error),
    # the retry after an error, poll interval + 5 s later.
    next_poll = (status_poll_interval + 5 + 3) * 1000
    expect(waiting_page).to_have_url(re.compile(r"/login/\?next="), timeout=next_poll)
    query = parse_qs(urlsplit(waiting_page.url).query)
    assert query["next"] == [appointment.get_absolute_url()]
    expect(waiting_page.get_by_role("heading", name="Log in")).to_be_visible()
    expect(waiting_page.locator("#status-card")).to_have_count(0)


def test_card_keeps_asking_after_a_server_error(page_for, patient, status_poll_interval, appointment_starting_in):
    appointment = appointment_starting_in(IN_AN_HOUR, is_telemedicine=True)
    page = page_for(patient)
    failures = []

    def fail_once(route):
        if failures:
            route.continue_()
        else:
            failures.append(route.request.url)
            route.fulfill(status=500, content_type="text/html", body="<p>Server error</p>")

    page.route(STATUS_URL, fail_once)
    page.goto(appointment.get_absolute_url())
    card = page.locator("#status-card")
    with page.expect_response(STATUS_URL, timeout=(status_poll_interval + 2) * 1000) as failed:
        pass
    assert failed.value.status == 500
    with page.expect_response(STATUS_URL, timeout=(status_poll_interval + 5 + 3) * 1000) as retried:
        pass
    assert retried.value.status == 200
    expect(card).to_have_attribute("data-phase", "waiting")
    expect(card).not_to_contain_text("Server error")
