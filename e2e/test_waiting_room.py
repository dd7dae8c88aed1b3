"""
The waiting room, live on both sides, in two browsers: the patient opens their room, the
doctor's dashboard shows them waiting (and the count in the tab title) within seconds; the
patient's card says the doctor is late, then that the doctor is in the call; leaving the
call lands each of them where the visit is wrapped up.
"""

import re
from datetime import timedelta

from django.urls import reverse
from playwright.sync_api import expect

from appointments.models import Appointment

TITLE = "My appointments · Clinic video visits"
LATE = timedelta(minutes=-5, seconds=-30)  # started five and a half minutes ago
A_FEW_SECONDS = 5_000


def test_doctor_sees_the_patient_arrive_and_the_patient_sees_the_doctor_join(
    page_for, doctor, patient, jitsi, status_poll_interval, telemedicine_settings, appointment_starting_in
):
    telemedicine_settings(WAITING_PANEL_POLL_BUSY=1, WAITING_PANEL_POLL_IDLE=1)
    appointment = appointment_starting_in(LATE, is_telemedicine=True)
    doctor_page = page_for(doctor)
    doctor_page.goto("/appointments/")
    panel = doctor_page.locator("#waiting-now")
    expect(panel).to_contain_text("Nobody is waiting")
    expect(doctor_page).to_have_title(TITLE)

    patient_room = page_for(patient)
    patient_room.goto(reverse("telemedicine:jitsi-room", args=[appointment.pk]))
    expect(patient_room.locator("iframe[data-jitsi-double]")).to_have_count(1)

    arrival = panel.locator("[data-waiting-key]")
    expect(arrival).to_have_count(1, timeout=A_FEW_SECONDS)
    expect(arrival).to_contain_text("Pat Ient")
    expect(arrival).to_contain_text("In the video room")
    expect(arrival).to_contain_text("You are not in the call yet")
    expect(doctor_page).to_have_title(f"(1) {TITLE}")
    # The live region tells a screen reader who arrived.
    expect(doctor_page.locator("#waiting-now-announcer")).to_have_text(
        re.compile(r"^Pat Ient \(\d\d:\d\d appointment\) is waiting\.$")
    )

    # The patient's own card, in a second tab: the doctor is late, and it says so.
    patient_card = patient_room.context.new_page()
    patient_card.goto(appointment.get_absolute_url())
    card = patient_card.locator("#status-card")
    expect(card).to_contain_text(re.compile(r"Your doctor is running late \(\d+ min\)\. Please stay"))

    arrival.get_by_role("link", name="Join the call with Pat Ient").click()
    expect(doctor_page.locator("iframe[data-jitsi-double]")).to_have_count(1)
    jitsi.emit(doctor_page, "videoConferenceJoined")
    expect(card).to_contain_text("Dr House is in the call: join now.", timeout=(status_poll_interval + 3) * 1000)
    expect(card.get_by_role("link", name="Join video call")).to_be_visible()


def test_leaving_the_call_wraps_up_the_visit_for_each_of_them(
    page_for, doctor, patient, jitsi, status_poll_interval, appointment_starting_in, assert_accessible
):
    appointment = appointment_starting_in(timedelta(minutes=-10), is_telemedicine=True)
    room = reverse("telemedicine:jitsi-room", args=[appointment.pk])
    doctor_page, patient_page = page_for(doctor), page_for(patient)
    for page in (doctor_page, patient_page):
        page.goto(room)
        expect(page.locator("iframe[data-jitsi-double]")).to_have_count(1)
        jitsi.emit(page, "videoConferenceJoined")

    # The patient hangs up in Jitsi: its close brings them back to a card that says what now.
    jitsi.emit(patient_page, "videoConferenceLeft")
    jitsi.emit(patient_page, "readyToClose")
    card = patient_page.locator("#status-card")
    expect(card).to_contain_text("Your video visit has ended. If the call was cut short, Dr House is still in it")
    expect(card.get_by_role("link", name="Join the call again")).to_be_visible()
    assert_accessible(patient_page)
    within_a_poll = (status_poll_interval + 3) * 1000

    # The doctor leaves with the page's own button: "Mark completed" is the first thing to do.
    doctor_page.get_by_role("link", name="Leave the call").click()
    wrap_up = doctor_page.get_by_test_id("wrap-up")
    expect(wrap_up).to_be_visible()
    expect(card).to_contain_text("join it again before", timeout=within_a_poll)
    expect(card).to_contain_text("please call Riverside Clinic on 020 7946 0000")
    expect(doctor_page.locator("main .btn").first).to_have_text("Mark completed")
    assert_accessible(doctor_page)
    # Asked first, in place of the wrap-up's buttons (issue 17); then done, and said which visit.
    wrap_up.get_by_role("link", name="Mark completed").click()
    wrap_up.get_by_role("button", name="Yes, mark it completed").click()
    expect(doctor_page.get_by_text(re.compile(r"Appointment with .+ marked completed\."))).to_be_visible()
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.COMPLETED
    expect(card).to_contain_text("This visit is over: it was marked completed.", timeout=within_a_poll)


def test_the_waiting_panel_is_accessible_with_someone_waiting(
    page_for, doctor, patient, appointment_starting_in, assert_accessible
):
    appointment = appointment_starting_in(timedelta(minutes=5), is_telemedicine=True)
    patient_page = page_for(patient)
    patient_page.goto(appointment.get_absolute_url())
    expect(patient_page.locator("#status-card")).to_have_attribute("data-phase", "open")
    doctor_page = page_for(doctor)
    doctor_page.goto("/appointments/")
    expect(doctor_page.locator("#waiting-now [data-waiting-key]")).to_have_count(1)
    expect(doctor_page).to_have_title(f"(1) {TITLE}")
    assert_accessible(doctor_page)
