"""
A new patient reaches their visit from the invitation: the doctor schedules a video
visit for someone the clinic has never seen; the link in that email, opened in a fresh
browser (the patient's phone), lands signed in on the appointment page with its status
card; the same link a second time is refused with the friendly page.
"""

import re
from datetime import timedelta

from django.core import mail
from django.utils import timezone
from playwright.sync_api import expect

from appointments.models import Notification
from appointments.notifications import deliver

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


def run_the_worker() -> None:
    """What `manage.py run_worker` does with the emails owed (the live server has no worker)."""
    for pk in Notification.objects.filter(status=Notification.Status.PENDING).values_list("pk", flat=True):
        deliver(pk)


def test_new_patient_reaches_the_visit_from_the_invitation(
    page, log_in_with_form, doctor, live_server, settings, new_context
):
    settings.SITE_URL = live_server.url
    starts = timezone.localtime(timezone.now() + timedelta(days=2)).replace(second=0, microsecond=0)

    log_in_with_form(page, doctor.username)
    page.get_by_role("link", name="Schedule an appointment").click()
    page.get_by_label("A new patient").check()
    page.get_by_label("First name").fill("Nora")
    page.get_by_label("Last name").fill("New")
    page.get_by_label("Email address").fill("nora@example.org")
    page.get_by_label("Date").fill(f"{starts:%Y-%m-%d}")
    page.get_by_label("Time").fill(f"{starts:%H:%M}")
    page.get_by_text("Video visit", exact=True).click()  # the choice's large target, its label
    expect(page.get_by_label("Video visit")).to_be_checked()
    page.get_by_role("button", name="Schedule", exact=True).click()
    expect(page.get_by_text(re.compile(r"Appointment with Nora New on .+ London time scheduled\."))).to_be_visible()

    run_the_worker()
    [invitation] = mail.outbox
    assert invitation.to == ["nora@example.org"]
    link = re.search(r"(http://\S+/telemedicine/sign-in/\S+)", invitation.body).group(1)

    phone = new_context(**PHONE).new_page()
    phone.goto(link)
    expect(phone).to_have_url(re.compile(r"/telemedicine/appointment/\d+/detail/$"))
    expect(phone.get_by_text("Signed in as Nora New")).to_be_visible()
    expect(phone.locator("#status-card")).to_have_attribute("data-phase", "waiting")

    someone_else = new_context().new_page()
    someone_else.goto(link)
    expect(someone_else.get_by_role("heading", name="This link no longer works")).to_be_visible()
    expect(someone_else.get_by_role("button", name="Send me a new link")).to_be_visible()
    expect(someone_else.get_by_text("Signed in as")).to_have_count(0)
