"""The doctor switches an appointment to a video visit and back: inline, and without JavaScript."""

import re
from datetime import timedelta

from playwright.sync_api import expect

from appointments.models import Appointment

LATER_TODAY_OR_TOMORROW = timedelta(hours=2)


def is_telemedicine(appointment) -> bool:
    return Appointment.objects.values_list("is_telemedicine", flat=True).get(pk=appointment.pk)


def test_doctor_toggles_video_visit_inline_without_reload(page, log_in_with_form, doctor, appointment_starting_in):
    appointment = appointment_starting_in(LATER_TODAY_OR_TOMORROW, is_telemedicine=False)

    log_in_with_form(page, doctor.username)
    expect(page).to_have_url(re.compile(r"/appointments/$"))
    page.locator(f'tr[data-appointment="{appointment.pk}"] a').click()
    expect(page).to_have_url(re.compile(re.escape(appointment.get_absolute_url()) + "$"))

    switch = page.get_by_role("switch", name=re.compile("Video visit"))
    badge = page.get_by_test_id("telemedicine-badge")
    card = page.locator("#status-card")
    expect(switch).not_to_be_checked()
    expect(badge).to_have_text("Off")
    # A full page load would wipe this; an in-place htmx swap keeps it.
    page.evaluate("window.__sameDocument = true")

    switch.check()
    expect(badge).to_have_text("On")
    expect(switch).to_be_checked()
    expect(card).to_have_attribute("data-phase", "waiting")  # the card follows at once (HX-Trigger)
    assert page.evaluate("window.__sameDocument") is True
    assert is_telemedicine(appointment) is True

    page.reload()
    expect(switch).to_be_checked()
    expect(badge).to_have_text("On")

    page.evaluate("window.__sameDocument = true")
    switch.uncheck()
    expect(badge).to_have_text("Off")
    expect(card).to_have_attribute("data-phase", "in-person")
    assert page.evaluate("window.__sameDocument") is True

    page.reload()
    expect(switch).not_to_be_checked()
    assert is_telemedicine(appointment) is False


def test_doctor_without_javascript_toggles_with_plain_form_post(page_for, doctor, appointment_starting_in):
    appointment = appointment_starting_in(LATER_TODAY_OR_TOMORROW, is_telemedicine=False)
    page = page_for(doctor, java_script_enabled=False)
    page.goto(appointment.get_absolute_url())

    page.get_by_role("button", name="Turn video visit on").click()
    expect(page).to_have_url(re.compile(re.escape(appointment.get_absolute_url()) + "$"))
    expect(page.get_by_role("status").filter(has_text="is now a video visit.")).to_be_visible()
    expect(page.get_by_test_id("telemedicine-badge")).to_have_text("On")
    assert is_telemedicine(appointment) is True

    page.get_by_role("button", name="Turn video visit off").click()
    expect(page.get_by_text("is now at the clinic: video switched off.")).to_be_visible()
    expect(page.get_by_test_id("telemedicine-badge")).to_have_text("Off")
    assert is_telemedicine(appointment) is False
