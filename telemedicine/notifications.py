"""
What video visits add to the clinic's emails (appointments/notifications.py), registered
by name in TelemedicineConfig.ready(): the one-tap sign-in link and the call window in
every appointment email, and the "your video visit is open: join now" reminder.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse

from appointments.clinic import phone_link
from appointments.clinic_time import format_clock, format_moment, zone_label
from appointments.models import Notification
from appointments.notifications import Drop, Reminder
from appointments.roles import doctor_name

from .access import Phase, call_window, guest_access
from .conf import integration_enabled, telemedicine_setting
from .sign_in import new_sign_in_url

if TYPE_CHECKING:
    from appointments.models import Appointment

# The emails whose reader is better off landing on the appointment page already signed in.
SIGN_IN_KINDS = {
    Notification.Kind.INVITATION,
    Notification.Kind.RESCHEDULED,
    Notification.Kind.VIDEO_ON,
    Notification.Kind.VIDEO_OFF,
    Notification.Kind.REMINDER,
    Notification.Kind.CALL_OPEN,
    Notification.Kind.SIGN_IN_LINK,
}


def email_context(notification: Notification, now: datetime) -> dict:
    appointment = notification.appointment
    if appointment is None:
        return {}
    context: dict = {}
    if appointment.is_telemedicine and integration_enabled():
        window = call_window(appointment)
        context["video_hint"] = (
            f"Join from your appointment page between {format_clock(window.opens_at)} and "
            f"{format_clock(window.closes_at)} {zone_label()}: the Join button appears there by itself."
        )
        # Test the camera and microphone any time before the visit (no call window, no Jitsi).
        context["device_check_url"] = f"{settings.SITE_URL}{reverse('telemedicine:device-check')}"
    recipient = notification.recipient
    if notification.kind in SIGN_IN_KINDS and recipient is not None and not appointment.is_closed:
        context["sign_in_url"] = new_sign_in_url(recipient, appointment, now)
    return context


def _window_opens(appointment: Appointment) -> datetime:
    return call_window(appointment).opens_at


def _window_closes(appointment: Appointment) -> datetime:
    return call_window(appointment).closes_at


CALL_OPEN_REMINDER = Reminder(
    kind=Notification.Kind.CALL_OPEN,
    due_at=_window_opens,
    stale_at=_window_closes,
    applies=lambda appointment: bool(appointment.is_telemedicine and integration_enabled()),
    enabled=lambda: bool(settings.NOTIFICATIONS["CALL_OPEN_REMINDER"]),
    lead=lambda: timedelta(minutes=telemedicine_setting("CALL_WINDOW_BEFORE")),
)


def compose_guest_invitation(notification: Notification, now: datetime) -> EmailMessage | Drop:
    """
    A guest's invitation: the visit's date, time and doctor, and their personal link; nothing else.
    While the clinic has video visits switched off, the same people and time, no link: the visit is not taking place.
    """
    from .guests import link_url
    from .models import Guest

    guest = (
        Guest.objects.select_related("appointment__doctor").filter(pk=notification.recipient_ref).first()
        if notification.recipient_ref is not None
        else None
    )
    if guest is None:
        return Drop("the invitation was withdrawn before it went out")
    appointment = guest.appointment
    # The guest's own rule decides, as it does for their page (guest_views.guest_room).
    phase = guest_access(guest, appointment, now).phase
    if phase is None:
        return Drop("the invitation was withdrawn before it went out")
    if phase in (Phase.CANCELLED, Phase.COMPLETED, Phase.IN_PERSON):
        return Drop("the visit is no longer a video visit that can be joined")
    if phase is Phase.ENDED:
        return Drop("the visit is over")
    context = {
        "guest_name": guest.name,
        "doctor": doctor_name(appointment.doctor),
        "when": format_moment(appointment.starts_at),
        "clinic_name": settings.CLINIC_NAME,
        "clinic_phone": settings.CLINIC_PHONE,
        "clinic_phone_link": phone_link(),
    }
    if phase is Phase.DISABLED:
        # The clinic has switched video visits off: no call to join and no link to one; the
        # guest is told what their page would say (guest.html, guest-card).
        subject = f"The video visit on {context['when']} is not taking place"
    else:  # waiting or open
        window = call_window(appointment)
        context |= {
            "opens": format_clock(window.opens_at),
            "closes": f"{format_clock(window.closes_at)} {zone_label()}",
            "link": link_url(guest),
        }
        subject = f"You are invited to a video visit on {context['when']}"
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("telemedicine/email/guest_invitation.txt", context),
        to=[notification.email],
    )
    message.attach_alternative(render_to_string("telemedicine/email/guest_invitation.html", context), "text/html")
    return message
