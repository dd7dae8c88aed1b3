"""
Issue 17 in the browser: the doctor is asked before switching off a visit the patient is in;
a page whose session ended while it polled lands on a login page that says why and leads
back; clinic staff work from the schedule and the staff view on a 390 px phone; the doctor
books a free time after a clash. axe-core on every new page and partial on the way.
"""

import re
from datetime import time, timedelta

from django.urls import reverse
from playwright.sync_api import expect

from appointments.clinic_time import clinic_now
from appointments.models import Appointment
from conftest import PASSWORD

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 3}
SCROLL_WIDTH = "`${document.documentElement.scrollWidth} > ${document.documentElement.clientWidth}`"


def scrolls_sideways(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth > document.documentElement.clientWidth")


def is_video(appointment) -> bool:
    return Appointment.objects.values_list("is_telemedicine", flat=True).get(pk=appointment.pk)


def test_doctor_is_asked_before_switching_off_a_visit_the_patient_is_in(
    page_for, doctor, patient, jitsi, appointment_starting_in, assert_accessible
):
    visit = appointment_starting_in(timedelta(minutes=2), is_telemedicine=True)
    patient_page = page_for(patient)
    patient_page.goto(reverse("telemedicine:jitsi-room", args=[visit.pk]))
    expect(patient_page.locator("iframe[data-jitsi-double]")).to_have_count(1)
    jitsi.emit(patient_page, "videoConferenceJoined")

    page = page_for(doctor)
    page.goto(visit.get_absolute_url())
    page.evaluate("window.__sameDocument = true")
    switch = page.get_by_role("switch", name=re.compile("Video visit"))
    question = page.get_by_role("heading", name=re.compile(r"^Switch video off for the appointment with Pat Ient"))

    switch.uncheck()
    expect(question).to_be_visible()
    expect(question).to_be_focused()  # a screen reader reads the question first
    expect(page.locator("[data-confirmation]")).to_contain_text("Pat Ient is in the video call right now.")
    expect(switch).to_be_checked()  # nothing has changed yet
    assert is_video(visit) is True
    assert_accessible(page)

    page.get_by_role("link", name="Keep video on").click()
    expect(question).to_have_count(0)
    expect(switch).to_be_checked()
    assert is_video(visit) is True

    switch.uncheck()
    page.get_by_role("button", name="Yes, switch video off").click()
    expect(page.get_by_test_id("telemedicine-badge")).to_have_text("Off")
    expect(page.locator("#status-card")).to_have_attribute("data-phase", "in-person")  # the card follows at once
    assert page.evaluate("window.__sameDocument") is True  # all in place, no reload
    assert is_video(visit) is False


def test_signed_out_while_the_card_polls_the_login_page_says_why_and_leads_back(
    page_for, patient, settings, status_poll_interval, appointment_starting_in, assert_accessible
):
    settings.SESSION_COOKIE_AGE = 3  # the idle timeout: seconds, not half an hour
    visit = appointment_starting_in(timedelta(days=3), is_telemedicine=True)  # its polls keep nobody signed in
    page = page_for(patient)
    page.goto(visit.get_absolute_url())
    expect(page.locator("#status-card")).to_have_attribute("data-phase", "waiting")

    # A poll after the timeout gets HX-Redirect to the login page: the whole page goes there.
    expect(page).to_have_url(re.compile(r"/login/\?next="), timeout=10_000)
    expect(page.get_by_test_id("signed-out")).to_have_text(
        "You were signed out after 3 seconds without activity, so that nobody else can use this screen as you. "
        "Log in again to carry on where you were."
    )
    assert_accessible(page)

    settings.SESSION_COOKIE_AGE = 30 * 60
    page.get_by_label("Username").fill(patient.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).to_have_url(re.compile(re.escape(visit.get_absolute_url()) + "$"))
    expect(page.locator("#status-card")).to_be_visible()


def test_staff_work_from_the_schedule_and_the_staff_view_on_a_phone(
    page_for, staff, appointment_starting_in, assert_accessible
):
    visit = appointment_starting_in(timedelta(hours=3), is_telemedicine=True)
    started = appointment_starting_in(timedelta(minutes=-5), is_telemedicine=False)
    width = PHONE["viewport"]["width"]
    page = page_for(staff, **PHONE)
    page.goto("/appointments/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Clinic schedule")
    assert not scrolls_sideways(page), page.evaluate(SCROLL_WIDTH)
    # Every row's actions are on the screen, none off to the side.
    for action in page.locator(".row-actions .btn").all():
        box = action.bounding_box()
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= width, action.inner_text()
    row = page.locator(f'tr[data-appointment="{started.pk}"]')
    expect(row.get_by_role("link", name=re.compile("^Mark completed"))).to_be_visible()
    assert_accessible(page)

    page.locator(f'tr[data-appointment="{visit.pk}"]').get_by_role("link", name=re.compile("^Open")).click()
    expect(page).to_have_url(re.compile(reverse("appointments:staff-view", args=[visit.pk]) + "$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Pat Ient with Dr Gregory House")
    expect(page.get_by_text("Join")).to_have_count(0)
    assert not scrolls_sideways(page), page.evaluate(SCROLL_WIDTH)
    assert_accessible(page)

    page.get_by_role("link", name="Cancel appointment").click()  # asked in place of the buttons
    page.get_by_label("A note for the patient (optional)").fill("Dr House is unwell; we will call you.")
    assert not scrolls_sideways(page), page.evaluate(SCROLL_WIDTH)
    assert_accessible(page)
    page.get_by_role("button", name="Yes, cancel it").click()
    expect(page.locator(".messages")).to_contain_text(
        re.compile(r"Appointment with Pat Ient and Dr Gregory House on .+ cancelled\.")
    )
    expect(page.get_by_test_id("status")).to_have_text("Cancelled")
    expect(page.locator("#history")).to_contain_text("Appointment changed: cancelled")

    # Without the staff view's buttons: the schedule's own link leads to the confirmation page.
    page.goto(reverse("appointments:cancel", args=[started.pk]))
    expect(page.get_by_role("heading", level=1)).to_have_text("Cancel the appointment")
    assert not scrolls_sideways(page), page.evaluate(SCROLL_WIDTH)
    assert_accessible(page)


def test_doctor_books_a_free_time_after_a_clash(
    page_for, doctor, patient, make_appointment, appointment_starting_in, assert_accessible
):
    # At a fixed time on the clinic's clock, with free times after it that day whenever the test runs.
    # (At now + 2 days, run from 23:30 London time on, it left none: a visit starts before midnight.)
    taken = make_appointment(date=clinic_now().date() + timedelta(days=2), time=time(10, 0), is_telemedicine=False)
    appointment_starting_in(timedelta(days=-3), is_telemedicine=False)  # in the past 30 days
    appointment_starting_in(timedelta(days=5), is_telemedicine=False, status="cancelled")
    page = page_for(doctor)
    page.goto("/appointments/")
    past = page.locator("section", has=page.get_by_role("heading", name="Past and cancelled"))
    expect(past.locator("tr[data-appointment]")).to_have_count(2)
    assert_accessible(page)

    page.goto(reverse("appointments:schedule"))
    page.get_by_text("At the clinic", exact=True).click()
    page.get_by_label("Existing patient", exact=True).select_option(str(patient.pk))
    page.get_by_label("Date").fill(taken.date.isoformat())
    page.get_by_label("Time").fill(f"{taken.time:%H:%M}")
    page.get_by_role("button", name="Schedule", exact=True).click()
    expect(page.locator("#id_time_error")).to_contain_text("Dr Gregory House already sees Pat Ient")
    assert_accessible(page)
    free = page.get_by_role("group", name="Or book a free time that day").get_by_role("button").first
    chosen = free.inner_text().split()[0]
    free.click()
    expect(page.locator(".messages")).to_contain_text(
        re.compile(rf"Appointment with Pat Ient on .+ at {chosen} London time scheduled\.")
    )
