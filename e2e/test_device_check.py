"""
The device check in a real Chromium with its fake camera and microphone (e2e/conftest.py):
the preview plays, the level meter moves, the test sound plays; with the permission refused,
or no browser support, the page says what to do.
"""

import time

from django.urls import reverse
from playwright.sync_api import expect

DEVICE_CHECK = reverse("telemedicine:device-check")
MEDIA = ["camera", "microphone"]


def meter_peak(page, seconds=4.0) -> int:
    """The highest the microphone level meter shows within `seconds` (the fake microphone beeps)."""
    peak, deadline = 0, time.monotonic() + seconds
    while time.monotonic() < deadline and peak < 5:
        peak = max(peak, page.evaluate("document.getElementById('mic-level').value"))
        time.sleep(0.05)
    return peak


def test_patient_sees_their_camera_and_the_meter_moves(page_for, patient, assert_accessible):
    page = page_for(patient, permissions=MEDIA)
    page.goto(DEVICE_CHECK)
    expect(page.get_by_role("heading", name="Test your camera and microphone")).to_be_visible()
    assert_accessible(page)

    page.get_by_role("button", name="Start the test").click()
    expect(page.locator("#device-status")).to_contain_text("Your camera and microphone work")
    video = page.locator("#camera-preview")
    page.wait_for_function(
        "(video) => video.readyState >= 2 && video.videoWidth > 0 && !video.paused", arg=video.element_handle()
    )
    before = video.evaluate("video => video.currentTime")
    page.wait_for_function("([video, t]) => video.currentTime > t", arg=[video.element_handle(), before])
    assert meter_peak(page) >= 5
    for problem in ["permission-denied", "no-device", "device-busy", "not-supported"]:
        expect(page.locator(f"#{problem}")).to_be_hidden()
    assert_accessible(page)

    # The speakers: a tone of a second and a half, then the question.
    page.get_by_role("button", name="Play a test sound").click()
    status = page.locator("#sound-status")
    expect(status).to_have_text("Playing a tone…")
    expect(status).to_contain_text("Did you hear a tone?", timeout=5000)


def test_a_refused_permission_shows_what_to_do(page_for, patient, assert_accessible):
    page = page_for(patient)  # no permissions granted: as when the person chose "Block"
    page.goto(DEVICE_CHECK)
    page.get_by_role("button", name="Start the test").click()
    help_ = page.locator("#permission-denied")
    expect(help_).to_be_visible()
    expect(page.locator("#device-status")).to_contain_text("not allowed to use the camera or microphone")
    safari = help_.get_by_text("Safari on an iPhone or iPad")
    safari.click()
    expect(help_.get_by_text("Website Settings")).to_be_visible()
    assert_accessible(page)


def test_a_browser_without_media_devices_is_told_so(page_for, patient):
    page = page_for(patient)
    # An old browser, or a page not served over HTTPS: no navigator.mediaDevices.
    page.add_init_script("Object.defineProperty(navigator, 'mediaDevices', {value: undefined})")
    page.goto(DEVICE_CHECK)
    page.get_by_role("button", name="Start the test").click()
    expect(page.locator("#not-supported")).to_be_visible()
