"""
The audit trail from the browser: the room page reports what Jitsi says (joined, left),
the doctor's card shows the patient in the room, and the call goes on if reporting fails.

The Jitsi double (e2e/jitsi_double.js) plays the External API's events.
"""

import time
from datetime import timedelta

from django.urls import reverse
from playwright.sync_api import expect

from telemedicine.models import AccessEvent

SOON = timedelta(minutes=5)  # the call window is open


def back_from_the_call(appointment) -> str:
    """Where the room page's Leave link and Jitsi's close lead: the appointment page, after the call."""
    return f"{appointment.get_absolute_url()}?call=ended"


def actions_of(user, appointment) -> list[str]:
    return list(
        AccessEvent.objects.filter(user=user, appointment_id=appointment.pk)
        .order_by("created_at", "id")
        .values_list("action", flat=True)
    )


def wait_for_actions(user, appointment, expected, seconds=5.0) -> list[str]:
    """The beacon arrives on its own schedule: give it a few seconds."""
    deadline = time.monotonic() + seconds
    while (actions := actions_of(user, appointment)) != expected and time.monotonic() < deadline:
        time.sleep(0.1)
    return actions


def test_doctor_sees_the_patient_come_into_the_room_and_leave(
    page_for, doctor, patient, jitsi, status_poll_interval, appointment_starting_in
):
    appointment = appointment_starting_in(SOON, is_telemedicine=True)
    doctor_page = page_for(doctor)
    doctor_page.goto(appointment.get_absolute_url())
    in_room = doctor_page.get_by_test_id("patient-in-room")
    expect(in_room).to_have_count(0)

    patient_page = page_for(patient)
    patient_page.goto(reverse("telemedicine:jitsi-room", args=[appointment.pk]))
    expect(patient_page.locator("iframe[data-jitsi-double]")).to_have_count(1)
    jitsi.emit(patient_page, "videoConferenceJoined", {"roomName": "x", "id": "p1"})

    within_a_poll = (status_poll_interval + 3) * 1000
    expect(in_room).to_have_text("Patient is in the room", timeout=within_a_poll)

    patient_page.get_by_role("link", name="Leave the call").click()  # the page goes: a beacon says so
    expect(patient_page).to_have_url(back_from_the_call(appointment))
    expect(in_room).to_have_count(0, timeout=within_a_poll)
    assert wait_for_actions(patient, appointment, ["room-opened", "call-joined", "call-left"]) == [
        "room-opened",
        "call-joined",
        "call-left",
    ]


def test_jitsi_closing_the_call_records_the_leave_once(page_for, patient, jitsi, appointment_starting_in):
    appointment = appointment_starting_in(SOON, is_telemedicine=True)
    page = page_for(patient)
    page.goto(reverse("telemedicine:jitsi-room", args=[appointment.pk]))
    expect(page.locator("iframe[data-jitsi-double]")).to_have_count(1)
    jitsi.emit(page, "videoConferenceJoined")
    assert wait_for_actions(patient, appointment, ["room-opened", "call-joined"]) == ["room-opened", "call-joined"]
    jitsi.emit(page, "videoConferenceLeft")
    jitsi.emit(page, "readyToClose")  # then Jitsi's own "close" takes the patient back
    expect(page).to_have_url(back_from_the_call(appointment))
    expected = ["room-opened", "call-joined", "call-left"]
    assert wait_for_actions(patient, appointment, expected) == expected
    time.sleep(0.5)  # a second "left" (readyToClose, pagehide) would have arrived by now
    assert actions_of(patient, appointment) == expected


def test_the_call_goes_on_when_reports_cannot_reach_the_server(page_for, patient, jitsi, appointment_starting_in):
    appointment = appointment_starting_in(SOON, is_telemedicine=True)
    page = page_for(patient)
    failed = []

    def server_error(route):
        failed.append(route.request.method)
        route.fulfill(status=500, body="boom")

    page.route("**/events/", server_error)
    page.goto(reverse("telemedicine:jitsi-room", args=[appointment.pk]))
    frame = page.locator("iframe[data-jitsi-double]")
    expect(frame).to_have_count(1)
    jitsi.emit(page, "videoConferenceJoined")
    expect(frame).to_have_count(1)  # the call is still there
    assert page.get_by_text("cannot be reached").is_hidden()
    jitsi.emit(page, "readyToClose")
    expect(page).to_have_url(back_from_the_call(appointment))
    assert failed  # the page did try
    assert actions_of(patient, appointment) == ["room-opened"]
