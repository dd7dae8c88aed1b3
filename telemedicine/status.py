"""What the status card says, built from the rules in access.py."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from django.conf import settings
from django.urls import reverse

from appointments import clinic
from appointments.clinic_time import format_near, same_day
from appointments.roles import display_name

from .access import Access, Phase, Refusal, call_phase, call_window, poll_delay_ms, polling_stops

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser

    from appointments.models import Appointment


@dataclass(frozen=True)
class RoomRefusal:
    """What the room page says when it is refused: what happened (the heading), what to do, once."""

    title: str
    message: str
    # Only while the call is yet to open does the live status card add something: when, and Join.
    show_card: bool = False


def room_refusal(access: Access, appointment: Appointment) -> RoomRefusal:
    """The room page's words for `access`, refused."""
    contact = clinic.contact()
    if access.refusal is Refusal.TOO_EARLY:
        return RoomRefusal(
            "The video call is not open yet", "Keep this page open: the Join button appears when it opens.", True
        )
    if access.refusal is Refusal.TOO_LATE:
        return RoomRefusal(
            "The time for this video call has passed",
            f"If the visit did not take place, please {contact} to book a new one.",
        )
    if access.refusal is Refusal.IN_PERSON:
        return RoomRefusal("This visit is at the clinic, not by video", f"It takes place at {clinic.place()}.")
    if access.refusal is Refusal.CANCELLED:
        return RoomRefusal("This appointment was cancelled", cancelled_text(appointment))
    if access.refusal is Refusal.COMPLETED:
        return RoomRefusal("This visit is over", f"It was marked completed. For anything else, please {contact}.")
    return RoomRefusal(
        "Video visits are not offered at the moment",
        f"Please {contact}: your doctor can continue the visit by phone.",
    )


def cancelled_text(appointment: Appointment) -> str:
    """What the patient reads of a cancellation: the note the clinic wrote, and how to book again."""
    note = (
        f"A note from {settings.CLINIC_NAME}: {appointment.cancellation_note} " if appointment.cancellation_note else ""
    )
    return f"{note}To book a new appointment, please {clinic.contact()}."


BADGES = {
    # Each badge follows the words "Video visit" (the card's title, the lists' column): never repeats them.
    Phase.DISABLED: ("Not offered", "text-bg-secondary"),
    Phase.CANCELLED: ("Cancelled", "text-bg-danger"),
    Phase.COMPLETED: ("Completed", "text-bg-secondary"),
    Phase.IN_PERSON: ("Off", "text-bg-light border"),
    Phase.WAITING: ("Waiting", "text-bg-info"),
    Phase.OPEN: ("Open", "text-bg-success"),
    Phase.ENDED: ("Ended", "text-bg-secondary"),
}


def video_column(appointment: Appointment, now: datetime) -> dict[str, str]:
    """
    The "video" column of the clinic's appointment lists (appointments.listing.add_column):
    the same badge as the status card at `now`.
    """
    phase = call_phase(appointment, now)
    badge, badge_class = BADGES[phase]
    return {"phase": phase.value, "badge": badge, "badge_class": badge_class}


def wait_text(seconds: float) -> str:
    """'less than a minute', '7 min', '2 h 5 min', '3 days': rounded up, never 'in 0 min'."""
    if seconds < 60:
        return "less than a minute"
    minutes = math.ceil(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 24 * 60:
        hours, rest = divmod(minutes, 60)
        return f"{hours} h {rest} min" if rest else f"{hours} h"
    days = minutes // (24 * 60)
    return "1 day" if days == 1 else f"{days} days"


def clock_text(moment: datetime, now: datetime, *, zone: bool = True) -> str:
    """ "10:50 London time" today, "Thu 26 Nov 2026 at 10:50 London time" another day (clinic_time)."""
    return format_near(moment, now, zone=zone)


def at_text(moment: datetime, now: datetime) -> str:
    """ "at 10:50 London time" today, "on Thu 26 Nov 2026 at 10:50 London time" another day."""
    return f"{'at' if same_day(moment, now) else 'on'} {clock_text(moment, now)}"


def doctor_title(doctor: AbstractBaseUser) -> str:
    """How the card names the doctor: "Dr Grey", or their name as the clinic shows it."""
    last_name = getattr(doctor, "last_name", "")
    return f"Dr {last_name}" if last_name else display_name(doctor)


@dataclass(frozen=True)
class StatusCard:
    phase: Phase
    badge: str
    badge_class: str
    message: str
    join_url: str | None
    poll_ms: int | None  # None: the card stops polling
    join_label: str = "Join video call"
    # The card after its viewer left the call (the room page's way back): polls keep saying so.
    after_call: bool = False

    @property
    def is_polling(self) -> bool:
        return self.poll_ms is not None


def status_card(
    appointment: Appointment,
    now: datetime,
    *,
    for_doctor: bool = False,
    doctor_in_call: bool = False,
    after_call: bool = False,
) -> StatusCard:
    """
    The card at `now`. While the call is open, everyone but the doctor is told whether the
    doctor is in the call (`doctor_in_call`, from telemedicine.presence) or running late, and,
    back from the call (`after_call`), that the visit has ended and how to rejoin. Nothing is
    ever said about another appointment: not why the doctor is late, nor who else waits.
    """
    phase = call_phase(appointment, now)
    window = call_window(appointment)
    badge, badge_class = BADGES[phase]
    join_url = None
    join_label = StatusCard.join_label
    # Only the other people are told about the doctor.
    doctor_in_call = doctor_in_call and not for_doctor
    after_call = after_call and not for_doctor and phase is Phase.OPEN
    if phase is Phase.WAITING:
        message = (
            f"The video call opens in {wait_text((window.opens_at - now).total_seconds())}, "
            f"{at_text(window.opens_at, now)}."
        )
    elif phase is Phase.OPEN:
        join_url = reverse("telemedicine:jitsi-room", args=[appointment.pk])
        if after_call:
            # They chose to leave, or were cut off: what to do in the second case.
            if doctor_in_call:
                rejoin = f"{doctor_title(appointment.doctor)} is still in it: join it again."
            else:
                rejoin = (
                    f"join it again before {clock_text(window.closes_at, now)}; "
                    f"if that does not work, please {clinic.contact()}."
                )
            message = f"Your video visit has ended. If the call was cut short, {rejoin}"
            join_label = "Join the call again"
        elif doctor_in_call:
            message = f"{doctor_title(appointment.doctor)} is in the call: join now."
        elif not for_doctor and now > appointment.starts_at:
            late = wait_text(max(60.0, (now - appointment.starts_at).total_seconds()))
            message = (
                f"Your doctor is running late ({late}). Please stay: you can join the call now and wait for them there."
            )
        else:
            message = f"The video call is open until {clock_text(window.closes_at, now)}."
    elif phase is Phase.ENDED:
        message = (
            f"The video call closed {at_text(window.closes_at, now)}. "
            f"If the visit did not take place, please {clinic.contact()} to book a new one."
        )
    elif phase is Phase.IN_PERSON:
        message = f"This visit takes place at {clinic.place()}, not by video."
    elif phase is Phase.CANCELLED:
        message = f"This appointment was cancelled. {cancelled_text(appointment)}"
    elif phase is Phase.COMPLETED:
        message = "This visit is over: it was marked completed."
    else:
        message = (
            f"Video visits are not offered at the moment. Please {clinic.contact()}: "
            "your doctor can continue the visit by phone."
        )
    poll_ms = None if polling_stops(appointment, phase, now) else poll_delay_ms(appointment, phase, now)
    return StatusCard(phase, badge, badge_class, message, join_url, poll_ms, join_label, after_call)
