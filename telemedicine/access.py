"""
The rules of a video visit, in one place: when the call window is open, what
phase a visit is in, who may enter its room, and when the status card polls.

Plain functions of (user, appointment, now): views, templates and tests all ask
these and never recompute a window by hand.
"""

from __future__ import annotations

import enum
import functools
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, TypeAlias

from .conf import integration_enabled, telemedicine_setting

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

    from appointments.models import Appointment

    from .models import Guest

    # Whoever is asking: a signed-in person or an anonymous visitor (request.user).
    Person: TypeAlias = User | AnonymousUser


@dataclass(frozen=True)
class CallWindow:
    opens_at: datetime
    closes_at: datetime

    def __contains__(self, now: datetime) -> bool:
        # Both ends inclusive: at opens_at and at closes_at the call can be joined.
        return self.opens_at <= now <= self.closes_at


def call_window(appointment: Appointment) -> CallWindow:
    return _call_window(
        appointment.starts_at, telemedicine_setting("CALL_WINDOW_BEFORE"), telemedicine_setting("CALL_WINDOW_AFTER")
    )


# A pure function of its arguments, asked a dozen times per status poll and for every row of the
# dashboard's lists: each process remembers the latest few thousand windows (CallWindow is frozen).
@functools.lru_cache(maxsize=8192)
def _call_window(start: datetime, minutes_before: int, minutes_after: int) -> CallWindow:
    return CallWindow(
        opens_at=start - timedelta(minutes=minutes_before), closes_at=start + timedelta(minutes=minutes_after)
    )


class Phase(enum.StrEnum):
    DISABLED = "disabled"  # the clinic has switched video visits off
    CANCELLED = "cancelled"
    COMPLETED = "completed"
    IN_PERSON = "in-person"  # telemedicine is off for this appointment
    WAITING = "waiting"  # video visit, window not open yet
    OPEN = "open"  # video visit, can be joined now
    ENDED = "ended"  # video visit, window has closed


# Phases after which nothing about the call can change any more.
FINAL_PHASES = frozenset({Phase.DISABLED, Phase.CANCELLED, Phase.COMPLETED, Phase.ENDED})


def call_phase(appointment: Appointment, now: datetime) -> Phase:
    if not integration_enabled():
        return Phase.DISABLED
    if appointment.status == appointment.Status.CANCELLED:
        return Phase.CANCELLED
    if appointment.status == appointment.Status.COMPLETED:
        return Phase.COMPLETED
    if not appointment.is_telemedicine:
        return Phase.IN_PERSON
    window = call_window(appointment)
    if now < window.opens_at:
        return Phase.WAITING
    if now in window:
        return Phase.OPEN
    return Phase.ENDED


def phase_changes(appointment: Appointment) -> tuple[datetime, datetime]:
    """
    The moments call_phase(appointment, now) may change at, for the same settings: when the
    call window opens, and the first moment after it closes (both ends are in the window, and
    datetimes count microseconds). Before the first, between them and from the second on, the
    phase is the same, so a list may show a visit's badge until its next change (listing.add_column).
    """
    window = call_window(appointment)
    return (window.opens_at, window.closes_at + timedelta(microseconds=1))


def is_call_available(appointment: Appointment, now: datetime) -> bool:
    return call_phase(appointment, now) is Phase.OPEN


def participant_ids(appointment: Appointment) -> tuple[int, ...]:
    """Everyone who takes part in the visit, by user id: its doctor first, then its patient."""
    return (appointment.doctor_id, appointment.patient_id)


def is_participant(user: Person, appointment: Appointment) -> bool:
    return user.is_authenticated and user.pk in participant_ids(appointment)


def is_assigned_doctor(user: Person, appointment: Appointment) -> bool:
    return user.is_authenticated and user.pk == appointment.doctor_id


class Refusal(enum.StrEnum):
    NOT_PARTICIPANT = "not-participant"
    DISABLED = "integration-disabled"
    CANCELLED = "cancelled"
    COMPLETED = "completed"
    IN_PERSON = "telemedicine-off"
    TOO_EARLY = "too-early"
    TOO_LATE = "too-late"
    GUEST_REVOKED = "guest-revoked"  # the doctor (or the inviting patient) withdrew the invitation
    GUEST_LINK_INVALID = "guest-link-invalid"  # garbled, forged, expired, or another guest's
    # A call report ("joined") from someone whose room page is not open (telemedicine/presence.py).
    ROOM_NOT_OPEN = "room-not-open"


_REFUSAL_FOR_PHASE = {
    Phase.DISABLED: Refusal.DISABLED,
    Phase.CANCELLED: Refusal.CANCELLED,
    Phase.COMPLETED: Refusal.COMPLETED,
    Phase.IN_PERSON: Refusal.IN_PERSON,
    Phase.WAITING: Refusal.TOO_EARLY,
    Phase.ENDED: Refusal.TOO_LATE,
}


@dataclass(frozen=True)
class Access:
    allowed: bool
    phase: Phase | None
    refusal: Refusal | None = None

    @property
    def reason(self) -> str:
        return "granted" if self.allowed else str(self.refusal)


def room_access(user: Person, appointment: Appointment, now: datetime) -> Access:
    """May `user` enter the appointment's video room at `now`? And if not, why not."""
    if not is_participant(user, appointment):
        # Strangers learn nothing, not even the phase.
        return Access(allowed=False, phase=None, refusal=Refusal.NOT_PARTICIPANT)
    phase = call_phase(appointment, now)
    if phase is Phase.OPEN:
        return Access(allowed=True, phase=phase)
    return Access(allowed=False, phase=phase, refusal=_REFUSAL_FOR_PHASE[phase])


def guest_access(guest: Guest, appointment: Appointment, now: datetime) -> Access:
    """
    May this guest (their link checked, telemedicine/guests.py) enter the room at `now`? The
    same window and phases as the doctor and the patient; a withdrawn invitation opens nothing.
    """
    if guest.revoked_at is not None or guest.appointment_id != appointment.pk:
        return Access(allowed=False, phase=None, refusal=Refusal.GUEST_REVOKED)
    phase = call_phase(appointment, now)
    if phase is Phase.OPEN:
        return Access(allowed=True, phase=phase)
    return Access(allowed=False, phase=phase, refusal=_REFUSAL_FOR_PHASE[phase])


def poll_keeps_session_alive(appointment: Appointment, now: datetime) -> bool:
    """
    Does a status card's poll at `now` count as someone being there (project/sessions/lifetimes.py)?
    Only from SESSION_KEEPALIVE_LEAD minutes before the call window opens until it closes,
    both ends included, and never for a cancelled or completed visit: a patient waiting
    for their call stays signed in, while a card left open days before a visit, on a
    clinic's shared computer, lets the session time out.
    """
    if appointment.is_closed:
        return False
    window = call_window(appointment)
    lead = timedelta(minutes=telemedicine_setting("SESSION_KEEPALIVE_LEAD"))
    return window.opens_at - lead <= now <= window.closes_at


def polling_stops(appointment: Appointment, phase: Phase, now: datetime) -> bool:
    """Once nothing can change any more the status card stops asking (HTTP 286)."""
    if phase in FINAL_PHASES:
        return True
    # An in-person visit whose window is over can no longer become a video call.
    return phase is Phase.IN_PERSON and now > call_window(appointment).closes_at


# Arrive just after the instant we wait for, never just before it.
POLL_SLACK_MS = 150


def poll_delay_ms(appointment: Appointment, phase: Phase, now: datetime) -> int:
    """
    Milliseconds until the status card should ask again.

    The steady interval picks up the doctor's changes; while waiting for the window
    to open (or to close) the card asks exactly then, so it flips within about a
    second of the boundary instead of up to a whole interval later.
    """
    steady_ms = telemedicine_setting("STATUS_POLL_INTERVAL") * 1000
    window = call_window(appointment)
    if phase is Phase.WAITING:
        boundary = window.opens_at
    elif phase is Phase.OPEN:
        boundary = window.closes_at + timedelta(seconds=1)
    else:
        return steady_ms
    until_boundary_ms = math.ceil((boundary - now).total_seconds() * 1000) + POLL_SLACK_MS
    return max(POLL_SLACK_MS, min(steady_ms, until_boundary_ms))


def call_ends_in_seconds(appointment: Appointment, now: datetime) -> int:
    """
    Seconds until a call opened at `now` is ended by the app: after
    MAX_SESSION_DURATION from now, or AUTO_END_SESSION_AFTER minutes after the
    scheduled start, whichever comes first.
    """
    return max(0, math.floor((call_end(appointment, opened_at=now) - now).total_seconds()))


def call_end(appointment: Appointment, opened_at: datetime) -> datetime:
    """When the app ends a call opened at `opened_at` (see call_ends_in_seconds)."""
    by_length = opened_at + timedelta(minutes=telemedicine_setting("MAX_SESSION_DURATION"))
    by_schedule = appointment.starts_at + timedelta(minutes=telemedicine_setting("AUTO_END_SESSION_AFTER"))
    return min(by_length, by_schedule)


def planned_end(appointment: Appointment) -> datetime:
    return appointment.starts_at + timedelta(minutes=telemedicine_setting("DEFAULT_SESSION_DURATION"))


class CallReport(enum.StrEnum):
    """What the room page reports about the call it runs (see static/telemedicine/room.js)."""

    JOINED = "joined"
    LEFT = "left"
    HEARTBEAT = "heartbeat"  # "the page is still open": keeps the session alive, not recorded


# The last "left" beacon of a call may arrive a little after the call was ended.
CALL_REPORT_GRACE = timedelta(minutes=2)

# The room page has no status card polling: it says "still here" this often, so a long
# call never outlives the session's idle timeout (SESSION_COOKIE_AGE), and the doctor's
# "Waiting now" panel learns within a few minutes that a page which could not say goodbye
# (a crash, a lost connection) is gone (telemedicine/presence.py).
HEARTBEAT_SECONDS = 60


def heartbeat_seconds(session_idle_timeout: int) -> int:
    """Seconds between the room page's heartbeats: at least three within any idle timeout."""
    return max(10, min(HEARTBEAT_SECONDS, session_idle_timeout // 3))


def calls_end_by(appointment: Appointment) -> datetime:
    """
    The latest moment at which a call can still be running: a call opened inside the
    window lasts until call_end() says, which can be after the window closes.
    """
    closes_at = call_window(appointment).closes_at
    return max(closes_at, call_end(appointment, opened_at=closes_at))


# Switching a video visit off is confirmed first from this long before its call window opens
# (the patient may already be getting ready) until every call opened in the window has ended.
SWITCH_OFF_CONFIRM_LEAD = timedelta(hours=1)


def is_open_or_about_to_open(appointment: Appointment, now: datetime) -> bool:
    """
    A video visit whose call is open, still running, or opens within SWITCH_OFF_CONFIRM_LEAD:
    changing it then affects someone who may be about to join, or in the call.
    """
    if appointment.is_closed or not appointment.is_telemedicine or not integration_enabled():
        return False
    return call_window(appointment).opens_at - SWITCH_OFF_CONFIRM_LEAD <= now <= calls_end_by(appointment)


def switch_off_needs_confirmation(appointment: Appointment, now: datetime) -> bool:
    """Must the doctor confirm switching video off at `now`? Only while the visit is open or about to open."""
    return is_open_or_about_to_open(appointment, now)


def upcoming_from(now: datetime) -> datetime:
    """
    The earliest start of a visit whose call window has not closed at `now`: the lists show
    visits starting from then as upcoming, and those before it as past.
    """
    return now - timedelta(minutes=telemedicine_setting("CALL_WINDOW_AFTER"))


def live_starts(now: datetime) -> tuple[datetime, datetime]:
    """
    The earliest and latest start of a visit that is live at `now`: its window open, or a
    call opened inside it still running (calls_end_by). Inclusive at both ends.
    """
    after = timedelta(minutes=telemedicine_setting("CALL_WINDOW_AFTER"))
    longest_call = timedelta(minutes=telemedicine_setting("MAX_SESSION_DURATION"))
    auto_end = timedelta(minutes=telemedicine_setting("AUTO_END_SESSION_AFTER"))
    # calls_end_by() of a visit starting at s is s + max(after, min(after + longest_call, auto_end)).
    runs_for = max(after, min(after + longest_call, auto_end))
    return now - runs_for, now + timedelta(minutes=telemedicine_setting("CALL_WINDOW_BEFORE"))


def call_report_access(user: Person, appointment: Appointment, report: CallReport, now: datetime) -> Access:
    """
    May the room page of `user` report `report` now?

    Joining needs a room the user may be in: the window open, or closed so recently that
    a call opened inside it is still running. Leaving and heartbeats are accepted from
    the opening of the window until every call has ended (plus a short grace), whatever
    happened meanwhile: a visit switched off or cancelled mid-call is still left by its
    people, and the record must say so.
    """
    return reporting_allowed(room_access(user, appointment, now), appointment, report, now)


def reporting_allowed(access: Access, appointment: Appointment, report: CallReport, now: datetime) -> Access:
    """call_report_access's rule, given who is reporting's own room access (a guest's included)."""
    if access.allowed or access.refusal in (Refusal.NOT_PARTICIPANT, Refusal.GUEST_REVOKED):
        return access
    window = call_window(appointment)
    if now < window.opens_at:
        return access
    if report is CallReport.JOINED:
        still_running = access.phase is Phase.ENDED and now <= calls_end_by(appointment)
        return Access(allowed=True, phase=access.phase) if still_running else access
    if now <= calls_end_by(appointment) + CALL_REPORT_GRACE:
        return Access(allowed=True, phase=access.phase)
    return Access(allowed=False, phase=access.phase, refusal=Refusal.TOO_LATE)
