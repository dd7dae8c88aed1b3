"""
The patient's home on a small phone (360 x 740): the next visit's live card first, lists as
cards, nothing wider than the screen, every control at least 44 x 44 px, and all of it still
usable with the text at 200 %.
"""

from datetime import timedelta

import pytest
from django.urls import reverse
from playwright.sync_api import expect

SMALL_PHONE = {
    "viewport": {"width": 360, "height": 740},
    "is_mobile": True,
    "has_touch": True,
    "device_scale_factor": 2,
}
MIN_TARGET = 44

# Every control a person can reach, as seen on screen (the skip link only shows when focused).
CONTROLS = """
() => [...document.querySelectorAll('a[href], button, input:not([type=hidden]), select, textarea, summary')]
  .filter((el) => !el.closest('[hidden]') && !el.classList.contains('visually-hidden-focusable'))
  .map((el) => { const box = el.getBoundingClientRect();
                 return {name: (el.innerText || el.getAttribute('aria-label') || el.name || '').trim(),
                         width: box.width, height: box.height}; })
  .filter((control) => control.width > 0 && control.height > 0)
"""


def scroll_width(page) -> tuple[int, int]:
    return page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")


def zoom_text(page, percent: int) -> None:
    """Text zoom: the root font size, which every rem-sized thing follows (CSSOM, allowed by the CSP)."""
    page.evaluate(f"document.documentElement.style.fontSize = '{percent}%'")


@pytest.fixture
def patient_home(page_for, patient, appointment_starting_in):
    """The patient's phone, with a video visit open now, one later, an in-person one and a past one."""
    visit = appointment_starting_in(timedelta(minutes=3), is_telemedicine=True, description="Follow-up")
    appointment_starting_in(timedelta(days=3), is_telemedicine=False)
    appointment_starting_in(timedelta(days=9), is_telemedicine=True)
    appointment_starting_in(timedelta(days=-20), is_telemedicine=True, status="completed")
    page = page_for(patient, **SMALL_PHONE)
    return page, visit


def test_the_next_visit_comes_first_and_nothing_scrolls_sideways(patient_home):
    page, visit = patient_home
    page.goto("/appointments/")
    for text_zoom in (100, 200):
        zoom_text(page, text_zoom)
        next_visit = page.locator(".next-visit")
        expect(next_visit).to_contain_text("Your next visit")
        expect(next_visit.locator("#status-card")).to_have_attribute("data-phase", "open")
        join = next_visit.get_by_role("link", name="Join video call")
        join.scroll_into_view_if_needed()
        expect(join).to_be_in_viewport()
        box = join.bounding_box()
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= SMALL_PHONE["viewport"]["width"]
        width, visible = scroll_width(page)
        assert width <= visible, f"at {text_zoom} % text the page is {width}px wide on a {visible}px screen"
        # Lists are cards: each row a block of the screen's width, its cells labelled.
        row = page.locator("#appointment-lists tr[data-appointment]").first
        assert row.evaluate("row => getComputedStyle(row).display") == "block"
    join.click()  # still usable at 200 %
    expect(page).to_have_url(reverse("telemedicine:jitsi-room", args=[visit.pk]))


def test_every_control_is_big_enough_to_tap(patient_home):
    page, _ = patient_home
    page.goto("/appointments/")
    expect(page.locator(".next-visit #status-card")).to_be_visible()
    controls = page.evaluate(CONTROLS)
    assert len(controls) >= 8
    too_small = [c for c in controls if c["width"] < MIN_TARGET or c["height"] < MIN_TARGET]
    assert not too_small, too_small


def test_the_visit_and_the_device_check_fit_a_small_phone(patient_home):
    page, visit = patient_home
    for path in (visit.get_absolute_url(), reverse("telemedicine:device-check")):
        page.goto(path)
        for text_zoom in (100, 200):
            zoom_text(page, text_zoom)
            expect(page.get_by_role("heading", level=1)).to_be_visible()
            width, visible = scroll_width(page)
            assert width <= visible, f"{path} at {text_zoom} % text is {width}px wide on a {visible}px screen"


def test_the_doctors_waiting_panel_fits_a_small_phone(page_for, doctor, patient, appointment_starting_in):
    visit = appointment_starting_in(timedelta(minutes=3), is_telemedicine=True)
    patient_page = page_for(patient)
    patient_page.goto(visit.get_absolute_url())
    expect(patient_page.locator("#status-card")).to_have_attribute("data-phase", "open")
    page = page_for(doctor, **SMALL_PHONE)
    page.goto("/appointments/")
    expect(page.locator("#waiting-now [data-waiting-key]")).to_have_count(1)
    width, visible = scroll_width(page)
    assert width <= visible
    join = page.get_by_role("link", name="Join the call with Pat Ient")
    box = join.bounding_box()
    assert box["width"] >= MIN_TARGET
    assert box["height"] >= MIN_TARGET
