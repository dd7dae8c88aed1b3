"""What the status card says, built from the rules in access.py."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from appointments.clinic_time import clinic_zone
from appointments.roles import display_name

from .access import Access, Phase, Refusal, call_phase, call_window, poll_delay_ms, polling_stops

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser

    from appointments.models import Appointment

REFUSAL_MESSAGES = {
    Refusal.TOO_EARLY: "It is too early to join. The card below shows when the call opens; it updates by itself.",
    Refusal.TOO_LATE: "The time for this video call has passed.",
    Refusal.IN_PERSON: "This appointment is not a video visit.",
    Refusal.CANCELLED: "This appointment was cancelled.",
    Refusal.COMPLETED: "This appointment is completed.",
    Refusal.DISABLED: "Video visits are not offered at the moment. Please contact the clinic.",
}


def refusal_message(access: Access) -> str:
    """What the room page says when `access` was refused."""
    return REFUSAL_MESSAGES[access.refusal] if access.refusal else ""


BADGES = {
    Phase.DISABLED: ("Video visits unavailable", "text-bg-secondary"),
    Phase.CANCELLED: ("Cancelled", "text-bg-danger"),
    Phase.COMPLETED: ("Completed", "text-bg-secondary"),
    Phase.IN_PERSON: ("Video visit off", "text-bg-light border"),
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


def clock_text(moment: datetime, now: datetime) -> str:
    local = timezone.localtime(moment, clinic_zone())
    if local.date() == timezone.localtime(now, clinic_zone()).date():
        return f"{local:%H:%M}"
    return f"{date_format(local, 'D j M')} at {local:%H:%M}"


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
            f"at {clock_text(window.opens_at, now)}."
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
                    "if that does not work, please call the clinic."
                )
            message = f"Your video visit has ended. If the call was cut short, {rejoin}"
            join_label = "Join the call again"
        elif doctor_in_call:
            message = f"{doctor_title(appointment.doctor)} is in the call: join now."
        elif not for_doctor and now > appointment.starts_at:
            late = wait_text(max(60.0, (now - appointment.starts_at).total_seconds()))
            message = f"Your doctor is running late ({late}). Stay on this page: it updates by itself."
        else:
            message = f"The video call is open until {clock_text(window.closes_at, now)}."
    elif phase is Phase.ENDED:
        message = (
            f"The video call window closed at {clock_text(window.closes_at, now)}. "
            "If the visit did not take place, please contact the clinic to rebook."
        )
    elif phase is Phase.IN_PERSON:
        message = "This is an in-person visit at the clinic. If it becomes a video visit, this card will show it."
    elif phase is Phase.CANCELLED:
        message = "This appointment was cancelled."
    elif phase is Phase.COMPLETED:
        message = "This appointment is completed."
    else:
        message = "Video visits are not offered at the moment. Please contact the clinic."
    poll_ms = None if polling_stops(appointment, phase, now) else poll_delay_ms(appointment, phase, now)
    return StatusCard(phase, badge, badge_class, message, join_url, poll_ms, join_label, after_call)
