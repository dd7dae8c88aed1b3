"""
The clinic's emails, as an outbox.

- notify(appointment, kind): called inside the transaction that makes a change; writes a
  Notification row and, once the transaction commits, enqueues its sending
  (appointments/tasks.py). A crash between the commit and the send loses nothing: the
  row is there, and the worker's minute sweep finds it.
- deliver(pk, now): the worker's part. It claims the row (one conditional UPDATE, so two
  workers never send the same email), makes the email from the appointment as it is
  now, sends it, and records how it went. An unreachable mail server means another try
  later, with a growing delay, for NOTIFICATIONS["RETRY_FOR_HOURS"].
- sweep(now): every minute, from the worker. Queues the reminders that are due (a
  database constraint makes each one at most once per appointment, kind and start),
  hands crashed sends back, and enqueues what is waiting.

Other apps extend it by name from their AppConfig.ready(), so the clinic's app never
imports them: add_email_context() (telemedicine adds the one-tap sign-in link),
add_composer() (telemedicine's guest invitations) and add_reminder() (telemedicine's
"your video visit is open").

What an email may carry: the clinic's name, the doctor's name, the date and time with the
zone named, video or in person, and links. Never the reason for the visit, a room name or
a Jitsi token: email is not a secure channel.
"""

from __future__ import annotations

import logging
import smtplib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from . import calendar, clinic
from .clinic_time import clinic_now, format_clock, format_day, format_duration, format_moment, zone_label
from .models import Appointment, Notification
from .roles import doctor_name

logger = logging.getLogger("appointments")

Kind = Notification.Kind
Status = Notification.Status

# A send that has not reported back after this long is taken to have crashed.
SENDING_LEASE = timedelta(minutes=10)
# The send enqueued at the commit gets this long before the sweep enqueues it again.
FIRST_SEND_GRACE = timedelta(minutes=1)


def notification_setting(name: str) -> int | bool:
    return settings.NOTIFICATIONS[name]


# --- Writing to the outbox ------------------------------------------------------------------


def notify(appointment: Appointment, kind: str, *, recipient=None) -> Notification | None:
    """
    Owe the appointment's patient (or `recipient`) an email of `kind`. Call it inside the
    transaction of the change it announces; the email is sent after the commit. Someone
    without an email address is not written to (None).
    """
    recipient = recipient or appointment.patient
    if not recipient.email:
        logger.info("no email address, not notified kind=%s appointment=%s", kind, appointment.pk)
        return None
    notification = Notification.objects.create(
        appointment=appointment, kind=kind, recipient=recipient, email=recipient.email
    )
    enqueue_after_commit(notification)
    return notification


def notify_about(appointment: Appointment, kind: str, *, email: str, reference: int | None = None) -> Notification:
    """
    Owe someone who has no account an email of `kind` about `appointment` (a guest);
    `reference` is what the kind's composer knows them by. Inside the change's transaction.
    """
    notification = Notification.objects.create(appointment=appointment, kind=kind, email=email, recipient_ref=reference)
    enqueue_after_commit(notification)
    return notification


def enqueue_after_commit(notification: Notification) -> None:
    # Imported here: tasks.py imports this module.
    from .tasks import send_notification

    transaction.on_commit(partial(send_notification.enqueue, notification.pk))


# --- Making the email --------------------------------------------------------------------


@dataclass(frozen=True)
class Drop:
    """Not sent, and why (shown to the clinic in the admin)."""

    reason: str


Composer = Callable[[Notification, datetime], "EmailMessage | Drop"]
ContextProvider = Callable[[Notification, datetime], dict]
_composers: dict[str, Composer] = {}
_context_providers: list[ContextProvider] = []


def add_composer(kind: str, composer: Composer) -> None:
    """Let another app make the emails of `kind` (telemedicine: guest invitations)."""
    _composers[kind] = composer


def add_email_context(provider: ContextProvider) -> None:
    """Let another app add to every appointment email's context (telemedicine: the sign-in link)."""
    if provider not in _context_providers:
        _context_providers.append(provider)


# Subject and headline of each appointment email; {when} is the visit's date and time.
WORDING: dict[str, tuple[str, str]] = {
    Kind.INVITATION: ("Your appointment on {when}", "Your appointment is booked"),
    Kind.RESCHEDULED: ("Your appointment has moved to {when}", "Your appointment has a new date or time"),
    Kind.VIDEO_ON: ("Your appointment on {when} is now a video visit", "Your appointment is now a video visit"),
    Kind.VIDEO_OFF: ("Your appointment on {when} is now at the clinic", "Your appointment is now at the clinic"),
    Kind.CANCELLED: ("Your appointment on {when} is cancelled", "Your appointment is cancelled"),
    Kind.REMINDER: ("Reminder: your appointment on {when}", "A reminder of your appointment"),
    Kind.CALL_OPEN: ("Your video visit is open: join now", "Your video visit is open: join now"),
    Kind.SIGN_IN_LINK: ("Your link to your appointment on {when}", "Here is your new link"),
}


def site_url(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def appointment_context(notification: Notification, now: datetime) -> dict:
    """What every appointment email shows: no reason, no room, no token."""
    appointment = notification.appointment
    assert appointment is not None
    subject, headline = WORDING[notification.kind]
    when = format_moment(appointment.starts_at)
    context = {
        "subject": subject.format(when=when),
        "headline": headline,
        "greeting_name": notification.recipient.first_name if notification.recipient else "",
        "doctor": doctor_name(appointment.doctor),
        "day": format_day(appointment.date),
        "clock": format_clock(appointment.time),
        "zone": zone_label(),
        "is_video": appointment.is_telemedicine,
        # Cancelled for this reader: the visit itself, or (the admin gave it to someone else) their part in it.
        "is_cancelled": notification.kind == Kind.CANCELLED or appointment.status == Appointment.Status.CANCELLED,
        "appointment_url": site_url(appointment.get_absolute_url()),
        **clinic.details(),
    }
    if context["is_cancelled"]:
        # What the canceller wrote for the patient (rules.py: never the reason for the visit).
        context["cancellation_note"] = appointment.cancellation_note
    for provider in _context_providers:
        context |= provider(notification, now)
    return context


def why_not_send(notification: Notification, now: datetime) -> str:
    """Reasons an appointment email no longer makes sense, decided when it is sent ("" to send)."""
    appointment = notification.appointment
    if appointment is None:
        return "the appointment no longer exists"
    if notification.recipient is not None and not notification.recipient.is_active:
        return "the person's account is no longer active"
    if notification.recipient_id not in (None, appointment.patient_id) and notification.kind != Kind.CANCELLED:
        # The admin gave the visit to another patient: the one before is told it is cancelled, nothing more.
        return "the appointment was given to another patient"
    if notification.kind == Kind.CANCELLED:
        announced = Notification.objects.filter(
            appointment=appointment, email=notification.email, status=Status.SENT
        ).exclude(kind=Kind.CANCELLED)
        return "" if announced.exists() else "the appointment was cancelled before it was announced"
    if appointment.is_closed:
        return f"the appointment was {appointment.get_status_display().lower()} before this went out"
    if notification.kind == Kind.VIDEO_ON and not appointment.is_telemedicine:
        return "the visit was switched back to the clinic before this went out"
    if notification.kind == Kind.VIDEO_OFF and appointment.is_telemedicine:
        return "the visit was switched back to video before this went out"
    if notification.kind in Notification.REMINDER_KINDS:
        reminder = _reminders[notification.kind]
        if notification.reminder_for != appointment.starts_at:
            return "the appointment was rescheduled: the reminder of the new time replaces it"
        if not reminder.applies(appointment):
            return "the reminder no longer applies to this visit"
        if now >= reminder.stale_at(appointment):
            return "too late for the reminder to help"
    return ""


def compose_appointment_email(notification: Notification, now: datetime) -> EmailMessage | Drop:
    reason = why_not_send(notification, now)
    if reason:
        return Drop(reason)
    appointment = notification.appointment
    assert appointment is not None
    context = appointment_context(notification, now)
    message = EmailMultiAlternatives(
        subject=context["subject"],
        body=render_to_string("appointments/email/appointment.txt", context),
        to=[notification.email],
    )
    message.attach_alternative(render_to_string("appointments/email/appointment.html", context), "text/html")
    calendar.attach(message, appointment, attendee=notification.email, now=now, cancelled=context["is_cancelled"])
    return message


for _kind in WORDING:
    add_composer(_kind, compose_appointment_email)


def notify_password_reset(user) -> Notification | None:
    """Owe `user` a password-reset email (its link is made when it is sent)."""
    if not user.email:
        return None
    notification = Notification.objects.create(kind=Kind.PASSWORD_RESET, recipient=user, email=user.email)
    enqueue_after_commit(notification)
    return notification


def compose_password_reset(notification: Notification, now: datetime) -> EmailMessage | Drop:
    user = notification.recipient
    if user is None or not user.is_active:
        return Drop("the account is no longer active")
    if now - notification.created_at > timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT):
        return Drop("too late: the person has been told the link expires")
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    context = {
        "greeting_name": user.first_name,
        "username": user.get_username(),
        "reset_url": site_url(reverse("password_reset_confirm", args=[uid, token])),
        "valid_for": format_duration(settings.PASSWORD_RESET_TIMEOUT),
        **clinic.details(),
    }
    message = EmailMultiAlternatives(
        subject=f"Set your password for {settings.CLINIC_NAME}",
        body=render_to_string("registration/password_reset_email.txt", context),
        to=[notification.email],
    )
    message.attach_alternative(render_to_string("registration/password_reset_email.html", context), "text/html")
    return message


add_composer(Kind.PASSWORD_RESET, compose_password_reset)


# --- Reminders ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Reminder:
    """
    A reminder kind: due at due_at(appointment), of no use from stale_at(appointment) on,
    for the visits applies(appointment) says.
    """

    kind: str
    due_at: Callable[[Appointment], datetime]
    stale_at: Callable[[Appointment], datetime]
    applies: Callable[[Appointment], bool]
    enabled: Callable[[], bool]
    # How far ahead of the start it can be due: bounds the days the sweep looks at.
    lead: Callable[[], timedelta]


_reminders: dict[str, Reminder] = {}


def add_reminder(reminder: Reminder) -> None:
    _reminders[reminder.kind] = reminder


def _hours_before() -> timedelta:
    return timedelta(hours=int(notification_setting("REMINDER_HOURS_BEFORE")))


# The day-before reminder helps for a few hours after its moment, never after the start.
REMINDER_USEFUL_FOR = timedelta(hours=6)

add_reminder(
    Reminder(
        kind=Kind.REMINDER,
        due_at=lambda appointment: appointment.starts_at - _hours_before(),
        stale_at=lambda appointment: min(
            appointment.starts_at - _hours_before() + REMINDER_USEFUL_FOR, appointment.starts_at
        ),
        applies=lambda appointment: True,
        enabled=lambda: int(notification_setting("REMINDER_HOURS_BEFORE")) > 0,
        lead=_hours_before,
    )
)


def queue_due_reminders(now: datetime) -> list[Notification]:
    """
    Write the reminders due at `now`: each kind once per appointment and start, however
    many workers run this (the unique constraint one_reminder_per_kind_and_start), and
    none for a visit whose invitation or move was announced after the reminder's moment.
    """
    queued = []
    today = clinic_now().date()
    for reminder in _reminders.values():
        if not reminder.enabled():
            continue
        horizon = (now + reminder.lead()).date() + timedelta(days=1)
        candidates = (
            Appointment.objects.active()
            .filter(date__gte=today - timedelta(days=1), date__lte=horizon)
            .select_related("patient")
        )
        for appointment in candidates:
            due = reminder.due_at(appointment)
            if not (reminder.applies(appointment) and due <= now < reminder.stale_at(appointment)):
                continue
            if not appointment.patient.email or _announced_since(appointment, due):
                continue
            try:
                with transaction.atomic():
                    notification = Notification.objects.create(
                        appointment=appointment,
                        kind=reminder.kind,
                        recipient=appointment.patient,
                        email=appointment.patient.email,
                        reminder_for=appointment.starts_at,
                    )
                    enqueue_after_commit(notification)
            except IntegrityError:
                continue  # already queued, by this worker earlier or by another
            logger.info("reminder queued kind=%s appointment=%s", reminder.kind, appointment.pk)
            queued.append(notification)
    return queued


def _announced_since(appointment: Appointment, moment: datetime) -> bool:
    return Notification.objects.filter(
        appointment=appointment, kind__in=[Kind.INVITATION, Kind.RESCHEDULED], created_at__gte=moment
    ).exists()


# --- Sending ----------------------------------------------------------------------------------


def retry_delay(attempts: int) -> timedelta:
    """1, 2, 4, 8... minutes after each failed attempt, at most an hour."""
    return timedelta(minutes=min(2 ** max(attempts - 1, 0), 60))


def deliver(pk: int, now: datetime | None = None) -> str:
    """Send notification `pk` if it is still owed; returns its status afterwards."""
    now = now or timezone.now()
    if not Notification.objects.claim(pk, now):
        return "not pending"
    notification = Notification.objects.select_related("appointment__doctor", "appointment__patient", "recipient").get(
        pk=pk
    )
    composer = _composers.get(notification.kind)
    try:
        if composer is None:
            raise LookupError(f"no composer for {notification.kind!r}")
        email = composer(notification, now)
    except Exception as error:
        # A bug, not the mail server: retrying would fail the same way. The clinic sees it in the admin.
        logger.exception("notification cannot be made notification=%s", pk)
        return _finish(notification, Status.FAILED, outcome=f"could not be made ({type(error).__name__})")
    if isinstance(email, Drop):
        logger.info("notification not sent notification=%s kind=%s: %s", pk, notification.kind, email.reason)
        return _finish(notification, Status.DROPPED, outcome=email.reason)
    try:
        email.send()
    except (smtplib.SMTPException, OSError) as error:
        return _failed_attempt(notification, error, now)
    logger.info(
        "notification sent notification=%s kind=%s appointment=%s", pk, notification.kind, notification.appointment_id
    )
    return _finish(notification, Status.SENT, sent_at=now, outcome="")


def _failed_attempt(notification: Notification, error: Exception, now: datetime) -> str:
    outcome = describe_failure(error)
    give_up_at = notification.created_at + timedelta(hours=int(notification_setting("RETRY_FOR_HOURS")))
    if now >= give_up_at:
        logger.error(
            "notification given up notification=%s after %s attempts: %s",
            notification.pk,
            notification.attempts,
            outcome,
        )
        return _finish(notification, Status.FAILED, outcome=outcome)
    next_attempt = now + retry_delay(notification.attempts)
    logger.warning(
        "notification not sent, will retry notification=%s at=%s: %s",
        notification.pk,
        next_attempt.isoformat(),
        outcome,
    )
    return _finish(notification, Status.PENDING, next_attempt_at=next_attempt, outcome=outcome)


def describe_failure(error: Exception) -> str:
    """The exception's class and the server's reply code: enough to act on, nothing secret."""
    if isinstance(error, smtplib.SMTPResponseException):
        return f"{type(error).__name__}: the mail server answered {error.smtp_code}"
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return "SMTPRecipientsRefused: the mail server refused the address"
    return f"{type(error).__name__}: the mail server could not be reached or did not answer"


def _finish(notification: Notification, status: str, **fields) -> str:
    Notification.objects.filter(pk=notification.pk, status=Status.SENDING).update(status=status, **fields)
    return status


def sweep(now: datetime | None = None) -> dict[str, int]:
    """The worker's minute: reminders due, crashed sends handed back, waiting sends enqueued."""
    from .tasks import send_notification

    now = now or timezone.now()
    reminders = queue_due_reminders(now)
    recovered = Notification.objects.filter(status=Status.SENDING, claimed_at__lte=now - SENDING_LEASE).update(
        status=Status.PENDING, next_attempt_at=now
    )
    if recovered:
        logger.warning("notifications handed back after a crashed send count=%s", recovered)
    waiting = Notification.objects.filter(status=Status.PENDING, next_attempt_at__lte=now).filter(
        Q(attempts__gt=0) | Q(created_at__lte=now - FIRST_SEND_GRACE)
    )
    enqueued = 0
    for pk in waiting.values_list("pk", flat=True):
        send_notification.enqueue(pk)
        enqueued += 1
    return {"reminders": len(reminders), "recovered": recovered, "enqueued": enqueued}
