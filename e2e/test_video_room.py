"""
The room page: Join leads there and it asks Jitsi for exactly this appointment's room;
strangers are refused without ever seeing the room name; an unreachable Jitsi is explained.
"""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from appointments.models import Appointment
from telemedicine.jitsi import config_overwrite, interface_config_overwrite

NOW = timedelta(0)
JITSI_DOMAIN = "video.clinic.test"
ROOM_URL = re.compile(r"/telemedicine/jitsi/\d+/$")


# What the External API itself allows its iframe: jitsi/jitsi-meet
# modules/API/external/external_api.js, _createIFrame(). e2e/jitsi_double.js gives its iframe
# the same list, so a page that rewrites or trims it is caught here.
EXTERNAL_API_IFRAME_ALLOW = {
    "autoplay",
    "camera",
    "clipboard-write",
    "compute-pressure",
    "display-capture",
    "hid",
    "microphone",
    "screen-wake-lock",
    "speaker-selection",
}


@pytest.fixture
def open_video_visit(appointment_starting_in):
    """A video visit whose call window is open now."""
    return appointment_starting_in(NOW, is_telemedicine=True)


@pytest.mark.parametrize("who, display_name", [("patient", "Pat Ient"), ("doctor", "Gregory House")])
def test_join_opens_the_appointments_jitsi_room(
    who, display_name, request, page_for, settings, jitsi, open_video_visit
):
    settings.JITSI_DOMAIN = JITSI_DOMAIN
    page = page_for(request.getfixturevalue(who))
    page.goto(open_video_visit.get_absolute_url())

    with page.expect_response(ROOM_URL) as room:
        page.get_by_role("link", name="Join video call").click()
    expect(page).to_have_url(
        re.compile(re.escape(reverse("telemedicine:jitsi-room", args=[open_video_visit.pk])) + "$")
    )
    frame = page.locator("#jitsi-container iframe")
    expect(frame).to_have_count(1)

    room_name = Appointment.objects.values_list("jitsi_room_name", flat=True).get(pk=open_video_visit.pk)
    [call] = jitsi.calls(page)
    assert call["domain"] == JITSI_DOMAIN
    assert call["parentNodeId"] == "jitsi-container"
    options = call["options"]
    assert options["roomName"] == room_name
    assert options["userInfo"] == {"displayName": display_name}
    assert options["configOverwrite"] == config_overwrite()
    assert options["interfaceConfigOverwrite"] == interface_config_overwrite()
    # The iframe may use camera and microphone, and the page's policy delegates them to Jitsi only.
    allowed = {feature.strip() for feature in frame.get_attribute("allow").split(";")}
    assert {"camera", "microphone"} <= allowed
    policy = room.value.headers["permissions-policy"]
    assert f'camera=(self "https://{JITSI_DOMAIN}")' in policy
    assert f'microphone=(self "https://{JITSI_DOMAIN}")' in policy


@pytest.mark.parametrize("who", ["patient", "doctor"])
def test_jitsi_frame_keeps_the_external_apis_own_permissions(who, request, page_for, jitsi, open_video_visit):
    page = page_for(request.getfixturevalue(who))
    page.goto(reverse("telemedicine:jitsi-room", args=[open_video_visit.pk]))
    frame = page.locator("#jitsi-container iframe")
    expect(frame).to_have_count(1)

    # The double mirrors the real API's list...
    assert set(page.evaluate("window.__jitsiIframeAllow").split("; ")) == EXTERNAL_API_IFRAME_ALLOW
    # ...and the page leaves it exactly as the API set it: nothing dropped, nothing added.
    assert frame.get_attribute("allow") == page.evaluate("window.__jitsiIframeAllow")
    assert frame.get_attribute("allowfullscreen") == "true"
    expect(frame).to_have_attribute("title", "Video call")


def test_hanging_up_in_jitsi_returns_to_the_appointment(page_for, patient, jitsi, open_video_visit):
    page = page_for(patient)
    page.goto(reverse("telemedicine:jitsi-room", args=[open_video_visit.pk]))
    expect(page.locator("#jitsi-container iframe")).to_have_count(1)

    jitsi.emit(page, "readyToClose")

    expect(page).to_have_url(re.compile(re.escape(open_video_visit.get_absolute_url()) + r"\?call=ended$"))
    expect(page.locator("#status-card")).to_have_attribute("data-phase", "open")


STRANGER_VISITS = {
    # page: (URL name, what the stranger reads)
    "room": ("telemedicine:jitsi-room", "We cannot find this page"),
    "detail": ("telemedicine:appointment-detail-telemedicine", "We cannot find this page"),
    "status": ("telemedicine:check-telemedicine-status", "This appointment is no longer available"),
}


@pytest.mark.parametrize("stranger", ["other_patient", "other_doctor"])
@pytest.mark.parametrize("visited", STRANGER_VISITS)
def test_stranger_is_refused_and_never_sees_the_room_name(
    visited, stranger, request, page_for, response_bodies, open_video_visit
):
    room_name = open_video_visit.get_jitsi_room_name()  # the room exists: there is something to leak
    url_name, refusal = STRANGER_VISITS[visited]
    page = page_for(request.getfixturevalue(stranger))
    bodies = response_bodies(page)

    response = page.goto(reverse(url_name, args=[open_video_visit.pk]))
    page.wait_for_load_state("networkidle")

    assert response.status == 404
    expect(page.get_by_text(refusal)).to_be_visible()
    assert room_name not in page.content()
    assert any(refusal in body for _url, _status, body in bodies), "response bodies were not recorded"
    leaks = [url for url, _status, body in bodies if room_name in body]
    assert leaks == []


def test_room_page_explains_when_video_service_is_unreachable(page_for, patient, jitsi, open_video_visit):
    jitsi.unreachable()
    page = page_for(patient)
    page.goto(reverse("telemedicine:jitsi-room", args=[open_video_visit.pk]))

    problem = page.locator("#jitsi-unavailable")
    expect(problem).to_be_visible()
    expect(problem).to_have_attribute("role", "alert")
    expect(problem.get_by_role("heading")).to_have_text("The video service cannot be reached")
    expect(problem).to_contain_text("please call Riverside Clinic on 020 7946 0000")
    expect(page.locator("#jitsi-container")).to_be_hidden()
    assert jitsi.calls(page) == []
