"""
On a phone the pages fit the screen; with a screen reader nothing serious is in the way
(axe-core, through axe-playwright-python, on every page and every state of the status card).
"""

from datetime import timedelta

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from appointments.models import Appointment

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 3}
NOW = timedelta(0)


def page_url(kind: str, appointment) -> str:
    return {
        "dashboard": reverse("appointments:dashboard"),
        "detail": appointment.get_absolute_url(),
        "room": reverse("telemedicine:jitsi-room", args=[appointment.pk]),
    }[kind]


def scrolls_sideways(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth > document.documentElement.clientWidth")


# --- Phone -------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["patient", "doctor"])
@pytest.mark.parametrize("kind", ["dashboard", "detail", "room"])
def test_pages_fit_a_phone_screen_without_sideways_scrolling(kind, who, request, page_for, appointment_starting_in):
    appointment = appointment_starting_in(NOW, is_telemedicine=True, description="Follow-up on the blood test results")
    page = page_for(request.getfixturevalue(who), **PHONE)
    page.goto(page_url(kind, appointment))
    if kind == "room":
        expect(page.locator("#jitsi-container iframe")).to_have_count(1)
    else:
        expect(page.get_by_role("heading", level=1)).to_be_visible()

    assert not scrolls_sideways(page), page.evaluate(
        "`scrollWidth ${document.documentElement.scrollWidth} > clientWidth ${document.documentElement.clientWidth}`"
    )


def test_patient_on_a_phone_sees_the_join_button_without_zooming(page_for, patient, appointment_starting_in):
    appointment = appointment_starting_in(NOW, is_telemedicine=True)
    page = page_for(patient, **PHONE)
    page.goto(appointment.get_absolute_url())

    join = page.get_by_role("link", name="Join video call")
    expect(join).to_be_in_viewport()
    box = join.bounding_box()
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= PHONE["viewport"]["width"]
    assert page.evaluate("window.visualViewport.scale") == 1


# --- Accessibility (assert_accessible: e2e/conftest.py) -------------------------------------


def test_login_page_is_accessible(page_for, assert_accessible):
    page = page_for(None)
    page.goto("/login/")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    assert_accessible(page)


@pytest.mark.parametrize("who", ["patient", "doctor"])
def test_dashboard_is_accessible(who, request, page_for, assert_accessible, appointment_starting_in):
    appointment_starting_in(NOW, is_telemedicine=True)
    appointment_starting_in(timedelta(days=2), is_telemedicine=False)
    page = page_for(request.getfixturevalue(who))
    page.goto("/appointments/")
    expect(page.get_by_role("heading", name="My appointments")).to_be_visible()
    assert_accessible(page)


CARD_STATES = {
    # phase: (start relative to now, appointment fields)
    "in-person": (timedelta(hours=1), {"is_telemedicine": False}),
    "waiting": (timedelta(hours=1), {"is_telemedicine": True}),
    "open": (NOW, {"is_telemedicine": True}),
    "ended": (timedelta(hours=-2), {"is_telemedicine": True}),
    "cancelled": (timedelta(hours=1), {"is_telemedicine": True, "status": Appointment.Status.CANCELLED}),
    "completed": (timedelta(hours=-1), {"is_telemedicine": True, "status": Appointment.Status.COMPLETED}),
}


# The doctor's page is the patient's plus the toggle and the close buttons; the patient's
# own page is checked where it differs most, with the Join button.
@pytest.mark.parametrize("phase, who", [(phase, "doctor") for phase in CARD_STATES] + [("open", "patient")])
def test_appointment_detail_is_accessible_in_every_card_state(
    phase, who, request, page_for, assert_accessible, appointment_starting_in
):
    starts_in, fields = CARD_STATES[phase]
    appointment = appointment_starting_in(starts_in, **fields)
    page = page_for(request.getfixturevalue(who))
    page.goto(appointment.get_absolute_url())
    card = page.locator("#status-card")
    expect(card).to_have_attribute("data-phase", phase)
    # The card's message is a live region: a screen reader announces it when it changes.
    expect(card.locator('[role="status"][aria-live="polite"]')).to_be_attached()
    assert_accessible(page)


def test_appointment_detail_is_accessible_with_video_visits_switched_off(
    page_for, patient, telemedicine_settings, assert_accessible, appointment_starting_in
):
    telemedicine_settings(ENABLE_JITSI_INTEGRATION=False)
    appointment = appointment_starting_in(NOW, is_telemedicine=True)
    page = page_for(patient)
    page.goto(appointment.get_absolute_url())
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.locator("#status-card")).to_have_count(0)
    assert_accessible(page)


def test_room_page_is_accessible(page_for, patient, assert_accessible, appointment_starting_in):
    appointment = appointment_starting_in(NOW, is_telemedicine=True)
    page = page_for(patient)
    page.goto(reverse("telemedicine:jitsi-room", args=[appointment.pk]))
    expect(page.locator("#jitsi-container iframe")).to_have_count(1)
    assert_accessible(page)


def test_room_page_refusing_too_early_is_accessible(page_for, patient, assert_accessible, appointment_starting_in):
    appointment = appointment_starting_in(timedelta(hours=1), is_telemedicine=True)
    page = page_for(patient)
    response = page.goto(reverse("telemedicine:jitsi-room", args=[appointment.pk]))
    assert response.status == 403
    expect(page.get_by_role("heading", name="The video call is not open yet")).to_be_visible()
    assert_accessible(page)


def test_room_page_with_jitsi_unreachable_is_accessible(
    page_for, patient, jitsi, assert_accessible, appointment_starting_in
):
    jitsi.unreachable()
    appointment = appointment_starting_in(NOW, is_telemedicine=True)
    page = page_for(patient)
    page.goto(reverse("telemedicine:jitsi-room", args=[appointment.pk]))
    expect(page.locator("#jitsi-unavailable")).to_be_visible()
    assert_accessible(page)
