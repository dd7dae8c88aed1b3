"""
The calendar file every appointment email carries (RFC 5545, made with `icalendar`).

One UID per appointment for its whole life, SEQUENCE rising with every change
(Appointment.sequence), METHOD:REQUEST while it stands and METHOD:CANCEL with the same
UID once it is cancelled, so a calendar program updates or removes the one event. Times
are in UTC, which every calendar program imports without a time-zone definition. The
URL is the appointment page, which asks for a login: a calendar is often shared, so
the file never carries a sign-in link, the reason for the visit or a room name.
"""

from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMessage
from icalendar import Calendar, Event, vCalAddress, vText

from . import clinic
from .models import Appointment
from .roles import doctor_name

PRODUCT_ID = "-//Clinic video visits//Appointments//EN"


def uid(appointment: Appointment) -> str:
    return f"appointment-{appointment.pk}@{urlsplit(settings.SITE_URL).hostname or 'clinic'}"


def planned_end(appointment: Appointment) -> datetime:
    return appointment.starts_at + timedelta(minutes=settings.APPOINTMENT_MINUTES)


def is_cancelled(appointment: Appointment) -> bool:
    return appointment.status == Appointment.Status.CANCELLED


def calendar_for(appointment: Appointment, *, attendee: str, now: datetime, cancelled: bool | None = None) -> Calendar:
    """The file for `attendee`; `cancelled` (default: the appointment's status) makes it a CANCEL."""
    if cancelled is None:
        cancelled = is_cancelled(appointment)
    where = "Video visit" if appointment.is_telemedicine else clinic.place()
    page = f"{settings.SITE_URL}{appointment.get_absolute_url()}"

    calendar = Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "CANCEL" if cancelled else "REQUEST")

    event = Event()
    event.add("uid", uid(appointment))
    event.add("sequence", appointment.sequence)
    event.add("dtstamp", now)
    event.add("dtstart", appointment.starts_at)
    event.add("dtend", planned_end(appointment))
    kind = "Video visit" if appointment.is_telemedicine else "Appointment"
    event.add("summary", f"{kind} with {doctor_name(appointment.doctor)} · {settings.CLINIC_NAME}")
    event.add("location", where)
    event.add("url", page)
    description = f"Your appointment page: {page}"
    if settings.CLINIC_PHONE:
        description += f"\nTo change or cancel it, call {settings.CLINIC_NAME} on {settings.CLINIC_PHONE}."
    event.add("description", description)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    organizer = vCalAddress(f"mailto:{_address(settings.DEFAULT_FROM_EMAIL)}")
    organizer.params["cn"] = vText(settings.CLINIC_NAME)
    event.add("organizer", organizer)
    guest = vCalAddress(f"mailto:{attendee}")
    guest.params["role"] = vText("REQ-PARTICIPANT")
    guest.params["partstat"] = vText("ACCEPTED")
    event.add("attendee", guest)
    calendar.add_component(event)
    return calendar


def _address(from_email: str) -> str:
    """ "Clinic <appointments@clinic.example>" -> "appointments@clinic.example"."""
    return from_email.rsplit("<", 1)[-1].rstrip(">").strip()


def attach(
    message: EmailMessage, appointment: Appointment, *, attendee: str, now: datetime, cancelled: bool | None = None
) -> None:
    if cancelled is None:
        cancelled = is_cancelled(appointment)
    method = "CANCEL" if cancelled else "REQUEST"
    message.attach(
        "appointment.ics",
        calendar_for(appointment, attendee=attendee, now=now, cancelled=cancelled).to_ical(),
        f"text/calendar; charset=utf-8; method={method}",
    )
