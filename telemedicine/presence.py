"""
Who is here for a video visit right now: the rules in one place, as plain functions of
(appointment, person, now) over three things.

- **The room page is open**: a cache mark set when the room page is served to the person
  (views.jitsi_room) and refreshed by each of its heartbeats. It carries whether the page
  reported joining the call and has not reported leaving since.
- **The appointment page is open**: a cache mark set by the status card (on the appointment
  page, and on the patient's dashboard) each time it is shown or polled while the call window
  is open. A cache touch per poll, in the same round trip as the poll's abuse limits and the
  reading of who is here (CardPresence), never a database write.
- **The audit trail's call reports** (`joined`, `left`): the permanent record. The room mark
  mirrors it; a heartbeat rebuilds a lost mark from it.

Marks expire by themselves: a room page that misses its heartbeats for ROOM_MARK_BEATS
intervals, or a status card that stops polling for PAGE_MARK_POLLS intervals, is closed.

Marks are kept per appointment, call window and person (a user id), and every function takes
the people it asks about: nothing here assumes that a visit has only a doctor and a patient.
Call reports are also judged here (report_access, report_outcome, refusal_is_recorded): what
may be believed, what changes something, and how much of it the audit trail keeps.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, cast

from django.conf import settings
from django.core.cache import cache

from project.cache_batch import CacheBatch

from .access import (
    Access,
    CallReport,
    Phase,
    Refusal,
    call_phase,
    call_report_access,
    call_window,
    heartbeat_seconds,
)
from .conf import telemedicine_setting
from .models import AccessEvent

if TYPE_CHECKING:
    from appointments.models import Appointment

    from .access import Person

ROOM, PAGE = "room", "page"
# Who a mark is about: a user's id, or a guest's "guest-<id>" (telemedicine/guests.py).
PersonId = int | str
GUEST_PREFIX = "guest-"


def guest_person(guest_id: int) -> str:
    return f"{GUEST_PREFIX}{guest_id}"


def events_of(appointment: Appointment, person_id: PersonId):
    """The audit records of one person in one visit: a user's, or a guest's."""
    events = AccessEvent.objects.filter(appointment_id=appointment.pk)
    if isinstance(person_id, str) and person_id.startswith(GUEST_PREFIX):
        return events.filter(guest_id=int(person_id.removeprefix(GUEST_PREFIX)))
    return events.filter(user_id=person_id, guest__isnull=True)  # a user's own acts, not those about a guest


# A room page that missed this many heartbeats in a row is closed.
ROOM_MARK_BEATS = 3
# A status card that missed this many polls in a row is closed (one failed poll and its retry fit in).
PAGE_MARK_POLLS = 3
# The audit trail keeps at most this many call-report records (joined, left, refusals) per person and
# visit: a real visit needs a handful, however often the connection drops.
CALL_REPORTS_PER_VISIT = 50


@dataclass(frozen=True)
class Mark:
    since: datetime  # when the person arrived (the first mark of this stay)
    joined: bool = False  # room marks: the page reported joining, and not leaving since


@dataclass(frozen=True)
class Presence:
    room: Mark | None = None  # their room page is open
    page: Mark | None = None  # their appointment page (status card) is open, inside the call window

    @property
    def in_call(self) -> bool:
        return self.room is not None and self.room.joined

    @property
    def is_here(self) -> bool:
        return self.room is not None or self.page is not None

    @property
    def since(self) -> datetime | None:
        return min((mark.since for mark in (self.room, self.page) if mark), default=None)


ABSENT = Presence()


def room_mark_seconds() -> int:
    return ROOM_MARK_BEATS * heartbeat_seconds(settings.SESSION_COOKIE_AGE)


def page_mark_seconds() -> int:
    return PAGE_MARK_POLLS * telemedicine_setting("STATUS_POLL_INTERVAL")


def mark_key(kind: str, appointment: Appointment, person_id: PersonId) -> str:
    """One mark per appointment, call window and person: a visit moved to another time starts afresh."""
    opens_at = int(call_window(appointment).opens_at.timestamp())
    return f"presence:{kind}:{appointment.pk}:{opens_at}:{person_id}"


def _mark(value: object) -> Mark | None:
    if not isinstance(value, tuple):
        return None
    since, joined = value
    return Mark(since=datetime.fromtimestamp(since, UTC), joined=bool(joined))


def _value(since: datetime, joined: bool) -> tuple[float, bool]:
    return (since.timestamp(), joined)


def _earliest(now: datetime, *marks: Mark | None) -> datetime:
    return min([now, *(mark.since for mark in marks if mark)])


# --- Marks: written by the pages -------------------------------------------------------------


def mark_page_open(appointment: Appointment, person_id: PersonId, now: datetime) -> None:
    """
    The person's status card was shown or polled at `now`. Counts only while the call window
    is open. A status card does this as part of CardPresence, in its request's round trip.
    """
    batch = CacheBatch()
    card = CardPresence(batch, appointment, person_id, now, [person_id])
    batch.send()
    card.people()


class CardPresence:
    """
    What a status card asks of presence, queued on its request's CacheBatch so that it shares
    one Redis round trip with the request's abuse limits (project.rate_limits): while the call
    window is open, the viewer's page mark is touched (their page is open; the touch keeps
    their arrival time) and the marks of `person_ids` are read. Once the batch is sent,
    people() gives their presence; on the first poll of a stay (nothing was touched) it writes
    the new mark, a round trip more.
    """

    def __init__(self, batch: CacheBatch, appointment: Appointment, person_id: PersonId, now: datetime, person_ids):
        self.batch, self.appointment, self.person_id, self.now = batch, appointment, person_id, now
        self.is_open = call_phase(appointment, now) is Phase.OPEN
        if not self.is_open:
            return
        self.page_key = mark_key(PAGE, appointment, person_id)
        self.touched = batch.touch(self.page_key, page_mark_seconds())
        self.visits = [(appointment, other) for other in person_ids]
        self.keys = _keys_of(self.visits)
        self.found = batch.get_many([key for pair in self.keys.values() for key in pair])

    def people(self) -> dict[PersonId, Presence]:
        """Presence of each of person_ids, keyed by person id (nobody outside the call window)."""
        if not self.is_open:
            return {}
        if self.batch.failed is not None:
            raise self.batch.failed
        if not self.touched.value:
            # Arriving from the room page (after leaving the call): they have been here since then.
            room_key = mark_key(ROOM, self.appointment, self.person_id)
            room = _mark(self.found.value[room_key] if room_key in self.found.value else cache.get(room_key))
            cache.set(self.page_key, _value(_earliest(self.now, room), False), page_mark_seconds())
        found = _read(self.visits, self.keys, self.found.value, self.now)
        return {person_id: presence for (_, person_id), presence in found.items()}


def mark_room_open(appointment: Appointment, person_id: PersonId, now: datetime) -> None:
    """The room page was served to the person at `now` (only ever inside the call window)."""
    room_key, page_key = mark_key(ROOM, appointment, person_id), mark_key(PAGE, appointment, person_id)
    marks = cache.get_many([room_key, page_key])
    room, page = _mark(marks.get(room_key)), _mark(marks.get(page_key))
    # A second tab, or a reload whose "left" beacon has not arrived yet: still in the call until it says.
    joined = room.joined if room else False
    cache.set(room_key, _value(_earliest(now, room, page), joined), room_mark_seconds())


def room_is_open(appointment: Appointment, person_id: PersonId) -> bool:
    return cache.get(mark_key(ROOM, appointment, person_id)) is not None


def apply_report(appointment: Appointment, person_id: PersonId, report: CallReport, now: datetime) -> None:
    """What an accepted call report (report_access) changes in the room mark."""
    key = mark_key(ROOM, appointment, person_id)
    if report is CallReport.HEARTBEAT:
        if not cache.touch(key, room_mark_seconds()):
            _rebuild_room_mark(appointment, person_id, now)
        return
    room = _mark(cache.get(key))
    if report is CallReport.JOINED:
        # report_access() has just seen the mark: it can only be gone if it expired in between.
        cache.set(key, _value(_earliest(now, room), True), room_mark_seconds())
    elif room is not None:
        # LEFT. The mark stays until it expires: a reload's "left" beacon arrives after the new
        # page was served, and that page's join must still be believed. Any wait starts afresh.
        cache.set(key, _value(now, False), room_mark_seconds())


def _rebuild_room_mark(appointment: Appointment, person_id: PersonId, now: datetime) -> None:
    """
    A heartbeat came from a room page whose mark is gone: the cache lost it, or the page slept
    through its heartbeats. The audit trail says whether the room page was served to this
    person in this call window (else nothing is rebuilt, so a heartbeat cannot stand in for
    opening the room) and whether their latest call report is a join.
    """
    events = events_of(appointment, person_id)
    served = events.filter(
        action=AccessEvent.Action.ROOM_OPENED, created_at__gte=call_window(appointment).opens_at
    ).exists()
    if not served:
        return
    latest = events.call_events().order_by("-created_at", "-id").values_list("action", flat=True).first()
    joined = latest == AccessEvent.Action.CALL_JOINED
    cache.set(mark_key(ROOM, appointment, person_id), _value(now, joined), room_mark_seconds())


# --- Presence: read by the status card and the doctor's panel ------------------------------------


def presences(visits: Iterable[tuple[Appointment, PersonId]], now: datetime) -> dict[tuple[int, PersonId], Presence]:
    """
    Presence of each (appointment, person id) at `now`, keyed by (appointment id, person id):
    one cache round trip, whatever the number of visits and people.
    """
    visits = list(visits)
    keys = _keys_of(visits)
    found = cache.get_many([key for pair in keys.values() for key in pair]) if keys else {}
    return _read(visits, keys, found, now)


def _keys_of(visits: list[tuple[Appointment, PersonId]]) -> dict[tuple[int, PersonId], tuple[str, str]]:
    return {
        (appointment.pk, person_id): (mark_key(ROOM, appointment, person_id), mark_key(PAGE, appointment, person_id))
        for appointment, person_id in visits
    }


def _read(visits, keys, found, now: datetime) -> dict[tuple[int, PersonId], Presence]:
    result = {}
    for appointment, person_id in visits:
        room_key, page_key = keys[(appointment.pk, person_id)]
        # A page mark lives a few seconds beyond the window's closing: it counts only inside it.
        page = _mark(found.get(page_key)) if now in call_window(appointment) else None
        result[(appointment.pk, person_id)] = Presence(room=_mark(found.get(room_key)), page=page)
    return result


def presence_of(appointment: Appointment, person_ids: Iterable[PersonId], now: datetime) -> dict[PersonId, Presence]:
    """Presence of each of `person_ids` in `appointment` at `now`, keyed by person id."""
    found = presences(((appointment, person_id) for person_id in person_ids), now)
    return {person_id: presence for (_, person_id), presence in found.items()}


# --- Call reports: what is believed, what changes something, what is kept ------------------------


class Outcome(enum.StrEnum):
    RECORD = "record"  # changes something: recorded in the audit trail, and the room mark follows
    REPEAT = "repeat"  # changes nothing (joined after joined, left when not in the call): ignored
    OVER_BUDGET = "over-budget"  # the person's records for this visit reached CALL_REPORTS_PER_VISIT


def report_access(user: Person, appointment: Appointment, report: CallReport, now: datetime) -> Access:
    """
    call_report_access(), and a join is believed only from someone whose room page was served
    to them in this call window and is still open (its mark, which only the server sets).
    """
    access = call_report_access(user, appointment, report, now)
    if access.allowed and report is CallReport.JOINED and not room_is_open(appointment, cast(int, user.pk)):
        return Access(allowed=False, phase=access.phase, refusal=Refusal.ROOM_NOT_OPEN)
    return access


# The records a person's call reports leave: history_of() reads them, newest first.
REPORT_ACTIONS = (AccessEvent.Action.CALL_JOINED, AccessEvent.Action.CALL_LEFT, AccessEvent.Action.ACCESS_REFUSED)


def history_of(appointment: Appointment, person_id: PersonId) -> list[tuple[str, str]]:
    """The person's call-report records (action, reason) for the visit, newest first: one query, a bounded read."""
    return list(
        events_of(appointment, person_id)
        .filter(action__in=REPORT_ACTIONS)
        .order_by("-created_at", "-id")
        .values_list("action", "reason")[: CALL_REPORTS_PER_VISIT + 1]
    )


def report_outcome(report: CallReport, history: Sequence[tuple[str, str]]) -> Outcome:
    """What an accepted `joined` or `left` does, given the person's records for the visit (history_of)."""
    latest_call = next((action for action, _ in history if action != AccessEvent.Action.ACCESS_REFUSED), None)
    in_call = latest_call == AccessEvent.Action.CALL_JOINED
    if (report is CallReport.JOINED) == in_call:
        return Outcome.REPEAT
    if len(history) >= CALL_REPORTS_PER_VISIT:
        return Outcome.OVER_BUDGET
    return Outcome.RECORD


def refusal_is_recorded(refusal: str, history: Sequence[tuple[str, str]]) -> bool:
    """
    A refused report is recorded once: not again while it is the person's latest record for the
    visit, and never past the budget.
    """
    if len(history) >= CALL_REPORTS_PER_VISIT:
        return False
    return not history or tuple(history[0]) != (AccessEvent.Action.ACCESS_REFUSED, refusal)
