"""
An interpreter joins a visit as a guest: the doctor invites them from the appointment page
(inline, htmx); the link in their email, opened in a fresh browser inside the call window,
reaches the room page, where Jitsi is told their name as a guest and handed a token that is
not a moderator's and names only that room; the doctor withdraws the invitation and the
interpreter's reload is refused.
"""

import re
from datetime import timedelta

import jwt
import pytest
from django.core import mail
from playwright.sync_api import expect

from appointments.models import Notification
from appointments.notifications import deliver

APP_ID = "clinic-app"
SECRET = "s3cret-for-browser-tests-only-0123456789-abcdef"
DOMAIN = "video.clinic.example"


def run_the_worker() -> None:
    """What `manage.py run_worker` does with the emails owed (the live server has no worker)."""
    for pk in Notification.objects.filter(status=Notification.Status.PENDING).values_list("pk", flat=True):
        deliver(pk)


def test_doctor_invites_an_interpreter_who_joins_then_is_shut_out(
    page_for, new_context, doctor, appointment_starting_in, telemedicine_settings, settings, live_server, jitsi
):
    settings.SITE_URL = live_server.url
    telemedicine_settings(JITSI_MODE="self_hosted", JITSI_DOMAIN=DOMAIN, JITSI_APP_ID=APP_ID, JITSI_APP_SECRET=SECRET)
    visit = appointment_starting_in(timedelta(minutes=2), is_telemedicine=True, description="Private reason")

    doctors_page = page_for(doctor)
    doctors_page.goto(visit.get_absolute_url())
    doctors_page.evaluate("window.__sameDocument = true")
    doctors_page.get_by_label("Guest's name").fill("Ivy Interpreter")
    doctors_page.get_by_label("Guest's email address").fill("ivy@example.org")
    doctors_page.get_by_role("button", name="Invite a guest").click()
    withdraw = doctors_page.get_by_role("button", name="Withdraw Ivy Interpreter's invitation")
    expect(withdraw).to_be_visible()
    assert doctors_page.evaluate("window.__sameDocument") is True  # swapped in place, no reload

    run_the_worker()
    [invitation] = mail.outbox
    assert invitation.to == ["ivy@example.org"]
    assert "Private reason" not in invitation.body
    link = re.search(r"(http://\S+/telemedicine/guest/\d+/open/\?k=\S+)", invitation.body).group(1)

    interpreter = new_context().new_page()
    interpreter.goto(link)
    expect(interpreter).to_have_url(re.compile(r"/telemedicine/guest/\d+/$"))  # the token left the address bar
    expect(interpreter.locator("#jitsi-container iframe")).to_have_count(1)
    [call] = jitsi.calls(interpreter)
    options = call["options"]
    assert call["domain"] == DOMAIN
    assert options["roomName"] == visit.get_jitsi_room_name()
    assert options["userInfo"]["displayName"] == "Ivy Interpreter (guest)"
    claims = jwt.decode(options["jwt"], SECRET, algorithms=["HS256"], audience=APP_ID)
    assert claims["room"] == visit.get_jitsi_room_name()
    assert claims["context"]["user"]["moderator"] == "false"
    assert claims["context"]["user"]["affiliation"] == "member"
    expect(interpreter.get_by_text("Private reason")).to_have_count(0)

    # The guest is nobody anywhere else.
    interpreter.goto("/appointments/")
    expect(interpreter).to_have_url(re.compile(r"/login/"))

    withdraw.click()
    expect(doctors_page.get_by_text("Withdrawn")).to_be_visible()

    interpreter.goto(link.split("/open/")[0] + "/")
    expect(interpreter.get_by_role("heading", name="This guest link does not work")).to_be_visible()
    expect(interpreter.locator("#jitsi-container")).to_have_count(0)
    interpreter.goto(link)  # the emailed link too
    expect(interpreter.get_by_role("heading", name="This guest link does not work")).to_be_visible()


def test_the_guests_pages_are_accessible(page_for, new_context, doctor, ivy_before_the_window, assert_accessible):
    """The doctor's guests section, and the guest's waiting card before the window opens."""
    visit, _guest, link = ivy_before_the_window
    doctors_page = page_for(doctor)
    doctors_page.goto(visit.get_absolute_url())
    expect(doctors_page.locator("#guests")).to_be_visible()
    assert_accessible(doctors_page)

    guests_page = new_context().new_page()
    guests_page.goto(link)
    expect(guests_page.locator("#guest-card")).to_have_attribute("data-phase", "waiting")
    assert_accessible(guests_page)


@pytest.fixture
def ivy_before_the_window(appointment_starting_in, doctor, live_server):
    from telemedicine import guests
    from telemedicine.models import Guest

    visit = appointment_starting_in(timedelta(hours=2), is_telemedicine=True)
    guest = Guest.objects.create(appointment=visit, name="Ivy Interpreter", email="ivy@example.org", invited_by=doctor)
    link = f"{live_server.url}/telemedicine/guest/{guest.pk}/open/?k={guests.link_token(guest)}"
    return visit, guest, link
