"""
What a change would do to a video call, said in its confirmation: switching video off while
the visit is open or about to open (telemedicine.access.switch_off_needs_confirmation), and
what cancelling or completing adds (appointments.rules.add_consequence, registered in
TelemedicineConfig.ready). Who is here comes from telemedicine.presence: the cache, no query.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from django.urls import reverse

from appointments.confirmations import Confirmation, came_from
from appointments.roles import display_name
from appointments.rules import Action
from appointments.wording import appointment_label

from . import presence
from .access import Phase, call_phase, call_window, is_open_or_about_to_open, participant_ids
from .status import clock_text

if TYPE_CHECKING:
    from appointments.models import Appointment
    from project.http import HtmxHttpRequest


def call_now(appointment: Appointment, now: datetime) -> list[str]:
    """The call as it is at `now`, if it is open or about to open: opening, open, and who is in it."""
    if not is_open_or_about_to_open(appointment, now):
        return []
    patient = display_name(appointment.patient)
    window = call_window(appointment)
    phase = call_phase(appointment, now)
    if phase is Phase.WAITING:
        return [f"The video call opens at {clock_text(window.opens_at, now)}: {patient} may be getting ready for it."]
    here = presence.presence_of(appointment, participant_ids(appointment), now).get(
        appointment.patient_id, presence.ABSENT
    )
    sentences = []
    if phase is Phase.OPEN:
        sentences.append(f"The video call is open now, until {clock_text(window.closes_at, now)}.")
    if here.in_call:
        sentences.append(f"{patient} is in the video call right now.")
    elif here.is_here:
        sentences.append(f"{patient} is waiting for the video call right now.")
    return sentences


def call_consequences(appointment: Appointment, action: Action, now: datetime) -> list[str]:
    """appointments.rules.add_consequence: what cancelling or completing does to an open or coming call."""
    sentences = call_now(appointment, now)
    if sentences:
        sentences.append("Nobody can join the call afterwards.")
    return sentences


def switch_off_confirmation(request: HtmxHttpRequest, appointment: Appointment, now: datetime) -> Confirmation:
    """ "Switch video off for ...?": the toggle's question while the visit is open or about to open."""
    url = reverse("telemedicine:toggle-telemedicine", args=[appointment.pk])
    keep_url, slot = came_from(request, appointment.get_absolute_url())
    patient = display_name(appointment.patient)
    return Confirmation(
        key=f"video-off-{appointment.pk}",
        title="Switch video off",
        question=f"Switch video off for {appointment_label(appointment, request.user)}?",
        action_url=url,
        confirm_label="Yes, switch video off",
        keep_label="Keep video on",
        keep_url=keep_url,
        slot=slot,
        consequences=[
            *call_now(appointment, now),
            f"{patient} can no longer join by video: their appointment page will say the visit is at the clinic, "
            "and they are told by email.",
        ],
        # Without `enabled`, the post means "off"; `confirmed` says the question was answered.
        hidden={"confirmed": "yes"},
        answer_in_place=True,
    )
