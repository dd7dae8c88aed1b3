"""
The clinic's emails through a real SMTP server on loopback (aiosmtpd), configured the
way production is (EMAIL_URL), read back as a mail program reads them; the server
stopped and started again; and the real worker command (`run_worker`) doing the sending.
"""

import datetime as dt
import os
import socket
import subprocess
import sys
from email import message_from_bytes, policy
from pathlib import Path

import dj_email_url
import pytest
from aiosmtpd.controller import Controller
from django.db import connection
from django.urls import reverse
from freezegun import freeze_time
from icalendar import Calendar

from appointments.clinic_time import clinic_datetime
from appointments.models import Notification
from appointments.notifications import deliver, notify, sweep

BASE_DIR = Path(__file__).resolve().parents[2]
START = clinic_datetime(dt.date(2030, 1, 15), dt.time(10, 0))
BEFORE = START - dt.timedelta(days=3)


class Inbox:
    """What the SMTP server received: each message as the bytes that crossed the wire."""

    def __init__(self):
        self.messages: list[bytes] = []

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd's handler hook
        self.messages.append(envelope.original_content)
        return "250 Message accepted for delivery"


class SmtpServer:
    """An SMTP server on 127.0.0.1 that a test can stop and start again on the same port."""

    def __init__(self):
        self.inbox = Inbox()
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.controller = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self):
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        self.controller.stop()
        self.controller = None


@pytest.fixture
def smtp_server():
    server = SmtpServer()
    server.start()
    yield server
    if server.controller is not None:
        server.stop()


@pytest.fixture
def email_url(smtp_server, settings):
    """The settings EMAIL_URL gives, as project/settings.py reads it."""
    config = dj_email_url.parse(smtp_server.url)
    settings.EMAIL_BACKEND = config["EMAIL_BACKEND"]
    settings.EMAIL_HOST = config["EMAIL_HOST"]
    settings.EMAIL_PORT = config["EMAIL_PORT"]
    settings.EMAIL_TIMEOUT = 5
    return smtp_server


@pytest.fixture
def visit(make_appointment, patient):
    patient.email = "pat@example.org"
    patient.save()
    return make_appointment(starts_at=START, is_telemedicine=True, description="Private reason")


def read(raw: bytes):
    return message_from_bytes(raw, policy=policy.default)


def check_invitation(raw: bytes, visit) -> None:
    message = read(raw)
    assert message["To"] == "pat@example.org"
    assert message["Subject"] == "Your appointment on Tue 15 Jan 2030 at 10:00 London time"
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    assert "Dr Gregory House" in text
    assert "Dr Gregory House" in html
    assert "/telemedicine/sign-in/" in text
    assert "Private reason" not in raw.decode()
    [attachment] = [part for part in message.iter_attachments() if part.get_content_type() == "text/calendar"]
    assert attachment.get_filename() == "appointment.ics"
    assert attachment.get_param("method") == "REQUEST"
    calendar = Calendar.from_ical(attachment.get_content())
    [event] = calendar.walk("VEVENT")
    assert str(event["UID"]) == f"appointment-{visit.pk}@127.0.0.1"
    assert event.decoded("DTSTART") == START


def test_an_invitation_through_a_real_smtp_server(email_url, client_for, doctor, visit):
    with freeze_time(BEFORE):
        notification = notify(visit, Notification.Kind.INVITATION)
        assert deliver(notification.pk) == Notification.Status.SENT
    [raw] = email_url.inbox.messages
    check_invitation(raw, visit)


def test_with_the_mail_server_down_scheduling_works_and_the_mail_goes_out_when_it_is_back(
    email_url, client_for, doctor, patient
):
    patient.email = "pat@example.org"
    patient.save()
    email_url.stop()
    with freeze_time(BEFORE):
        response = client_for(doctor).post(
            reverse("appointments:schedule"),
            {"patient": patient.pk, "date": "2030-01-15", "time": "10:00", "visit_kind": "video"},
        )
        assert response.status_code == 302  # at once: the request never waits for the mail server
        notification = Notification.objects.get()
        assert deliver(notification.pk) == Notification.Status.PENDING
    notification.refresh_from_db()
    assert notification.outcome.startswith("ConnectionRefusedError")
    assert email_url.inbox.messages == []

    email_url.start()
    with freeze_time(BEFORE + dt.timedelta(minutes=1)):
        assert sweep()["enqueued"] == 1
        assert deliver(notification.pk) == Notification.Status.SENT
    [raw] = email_url.inbox.messages
    assert read(raw)["To"] == "pat@example.org"


def database_url() -> str:
    """The test database, as a DATABASE_URL another process can use."""
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    user = settings["USER"] or ""
    auth = f"{user}:{settings['PASSWORD']}@" if settings["PASSWORD"] else (f"{user}@" if user else "")
    return f"postgres://{auth}{settings['HOST']}:{settings['PORT']}/{settings['NAME']}"


@pytest.mark.django_db(transaction=True)
def test_the_worker_command_sends_through_email_url(smtp_server, make_appointment, patient):
    """`manage.py run_worker --batch`: its sweep finds the owed email, its worker sends it."""
    patient.email = "pat@example.org"
    patient.save()
    visit = make_appointment(starts_at=START, is_telemedicine=True)
    # Written more than a minute ago and never enqueued (as after a crash at the commit).
    Notification.objects.create(
        appointment=visit,
        kind=Notification.Kind.INVITATION,
        recipient=patient,
        email=patient.email,
        created_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=2),
    )
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "EMAIL_", "DATABASE_"))
    }
    environment |= {"DATABASE_URL": database_url(), "EMAIL_URL": smtp_server.url, "DATABASE_POOL": "0"}
    result = subprocess.run(
        [sys.executable, "manage.py", "run_worker", "--batch", "--no-startup-delay", "--no-reload"],
        cwd=BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert Notification.objects.get().status == Notification.Status.SENT
    [raw] = smtp_server.inbox.messages
    message = read(raw)
    assert message["To"] == "pat@example.org"
    assert "Dr Gregory House" in message.get_body(preferencelist=("plain",)).get_content()
