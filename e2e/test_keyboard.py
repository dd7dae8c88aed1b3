"""
Keyboard only: Tab, Shift+Tab, Enter and Space, with the focus visible at every step. From
the login page to the Join button, through the doctor's video-visit switch, and through the
device check (its help included).
"""

import re
from datetime import timedelta

from django.urls import reverse
from playwright.sync_api import expect

from conftest import PASSWORD

# What has the focus, and whether it shows: :focus-visible and a ring (an outline or Bootstrap's box-shadow).
FOCUSED = """
() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const style = getComputedStyle(el);
  const ring = (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0) || style.boxShadow !== 'none';
  const name = (el.innerText || el.getAttribute('aria-label') || el.getAttribute('name') || el.id || '').trim();
  return {name: name.replace(/\\s+/g, ' '), id: el.id, shown: el.matches(':focus-visible') && ring};
}
"""


def press(page, key: str) -> dict | None:
    """Press `key`; what has the focus then, which must show. None: past the page's last control (the browser's own)."""
    page.keyboard.press(key)
    focused = page.evaluate(FOCUSED)
    assert focused is None or focused["shown"], f"the focus is not visible on {focused}"
    return focused


def tab_to(page, name: str, key: str = "Tab", limit: int = 40) -> dict:
    """Press Tab (or Shift+Tab) until the control called `name` has the focus, checking each stop."""
    seen = []
    for _ in range(limit):
        focused = press(page, key)
        if focused is not None and re.fullmatch(name, focused["name"]):
            return focused
        seen.append(focused and focused["name"])
    raise AssertionError(f"{name!r} never got the focus; went through {seen}")


def test_patient_logs_in_and_joins_with_the_keyboard_alone(page_for, patient, appointment_starting_in):
    visit = appointment_starting_in(timedelta(minutes=2), is_telemedicine=True)
    page = page_for(None)
    page.goto("/login/")
    assert page.evaluate(FOCUSED) == {"name": "username", "id": "id_username", "shown": True}  # autofocus
    page.keyboard.type(patient.username)
    tab_to(page, "password")
    page.keyboard.type(PASSWORD)
    tab_to(page, "username", key="Shift+Tab")  # back, to check the name
    tab_to(page, "password")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/appointments/$"))

    tab_to(page, "Join video call")
    page.keyboard.press("Enter")
    expect(page).to_have_url(reverse("telemedicine:jitsi-room", args=[visit.pk]))
    expect(page.locator("iframe[data-jitsi-double]")).to_have_count(1)
    tab_to(page, "Leave the call")


def test_doctor_switches_a_visit_with_the_space_bar(page_for, doctor, appointment_starting_in):
    visit = appointment_starting_in(timedelta(hours=2), is_telemedicine=True)
    page = page_for(doctor)
    page.goto(visit.get_absolute_url())
    switch = page.get_by_role("switch", name=re.compile("Video visit"))
    badge = page.get_by_test_id("telemedicine-badge")
    expect(badge).to_have_text("On")
    focused = tab_to(page, "enabled")
    page.keyboard.press("Space")
    expect(badge).to_have_text("Off")
    expect(switch).not_to_be_checked()
    # htmx swapped the switch: the focus is back on it (same id), and still shows.
    assert page.evaluate(FOCUSED) == focused
    page.keyboard.press("Space")
    expect(badge).to_have_text("On")
    tab_to(page, "Cancel appointment")
    tab_to(page, "enabled", key="Shift+Tab")


def test_patient_runs_the_device_check_with_the_keyboard(page_for, patient):
    page = page_for(patient, permissions=["camera", "microphone"])
    page.goto(reverse("telemedicine:device-check"))
    tab_to(page, "Start the test")
    page.keyboard.press("Enter")
    expect(page.locator("#device-status")).to_contain_text("Your camera and microphone work")
    tab_to(page, "Play a test sound")
    page.keyboard.press("Space")
    expect(page.locator("#sound-status")).to_have_text("Playing a tone…")
    tab_to(page, "Start the test again", key="Shift+Tab")


def test_the_device_checks_help_opens_with_the_keyboard(page_for, patient):
    page = page_for(patient)  # camera and microphone refused
    page.goto(reverse("telemedicine:device-check"))
    tab_to(page, "Start the test")
    page.keyboard.press("Enter")
    expect(page.locator("#permission-denied")).to_be_visible()
    tab_to(page, "Safari on an iPhone or iPad")
    page.keyboard.press("Enter")
    expect(page.get_by_text("Website Settings")).to_be_visible()
    tab_to(page, "Firefox on a computer")
    page.keyboard.press("Space")
    expect(page.get_by_text("remove the Blocked permissions")).to_be_visible()
