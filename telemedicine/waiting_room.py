"""
The doctor's "Waiting now" panel: who is here for one of the doctor's live video visits
(telemedicine.presence), how long they have waited, whether the doctor is in that call.

One query (the doctor's live visits, with the patients' names) and one cache round trip,
whatever the number of visits or people waiting. Rows are plain strings, as in
appointments/listing.py. Only the doctor's own visits are read: the panel tells a doctor about
their patients, and nobody anything about anyone else.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.urls import reverse

from appointments.clinic_time import clinic_slot
from appointments.listing import AppointmentList
from appointments.models import Appointment
from appointments.roles import display_name

from .access import Phase, call_phase, calls_end_by, live_starts, participant_ids
from .conf import telemedicine_setting
from .presence import Presence, presences
from .status import clock_text, wait_text

# The clinic's clock is a wall clock: an hour either side covers a daylight-saving change;
# the exact window of each visit is checked in Python.
DST_MARGIN = timedelta(hours=1)
# The panel's own URL says which arrivals it has already shown (?seen=), so each is announced once.
SEEN_TOKEN = re.compile(r"^(\d{1,18})-(\d{1,18})$")
MAX_SEEN = 200


@dataclass(frozen=True)
class WaitingRow:
    key: str  # "<appointment id>-<person id>"
    appointment_id: str
    name: str
    when: str  # the appointment's time, "10:30"
    waited: str  # "7 min"; "" once in the call
    since: str  # "10:21"
    where: str  # "In the call", "In the video room", "On the appointment page"
    doctor_in_call: bool
    join_url: str


@dataclass(frozen=True)
class WaitingPanel:
    rows: list[WaitingRow]
    announcement: str  # for the live region: who arrived since the panel last looked
    poll_ms: int

    @property
    def seen(self) -> str:
        return ",".join(row.key for row in self.rows)

    @property
    def title_prefix(self) -> str:
        return f"({len(self.rows)}) " if self.rows else ""


# The doctor's video visits starting between two moments on the clinic's clock: asked on every
# load of the dashboard and every poll of the panel, so compiled to SQL once per process.
STARTING_BETWEEN = AppointmentList(
    ("patient",),
    lambda doctor_id, first_day, first_at, last_day, last_at: (
        Appointment.objects.filter(doctor_id=doctor_id, is_telemedicine=True)
        .active()
        .starting_between_slots(first_day, first_at, last_day, last_at)
    ),
)


def live_visits(doctor_id: int, now: datetime) -> list[Appointment]:
    """The doctor's video visits that may have someone in them at `now` (a superset: check the phase)."""
    earliest, latest = live_starts(now)
    # Only read (waiting_panel): the same instances as last time for unchanged records.
    return STARTING_BETWEEN.appointments(
        doctor_id, *clinic_slot(earliest - DST_MARGIN), *clinic_slot(latest + DST_MARGIN), shared=True
    )


def is_live(appointment: Appointment, now: datetime) -> bool:
    phase = call_phase(appointment, now)
    return phase is Phase.OPEN or (phase is Phase.ENDED and now <= calls_end_by(appointment))


def where_text(visitor: Presence) -> str:
    if visitor.in_call:
        return "In the call"
    # Back from the call, their room page's mark lives on for a while: the page they are on now wins.
    return "On the appointment page" if visitor.page is not None else "In the video room"


def waiting_panel(doctor_id: int, now: datetime, seen: str | None = None) -> WaitingPanel:
    """
    The panel at `now`. `seen`: the keys the panel showed before (its ?seen=), whose absence
    means arrivals to announce; None on the page's first render, which announces nobody.
    """
    visits = [appointment for appointment in live_visits(doctor_id, now) if is_live(appointment, now)]
    people = [(appointment, person) for appointment in visits for person in participant_ids(appointment)]
    here = presences(people, now)
    rows = []
    for appointment in visits:
        doctor = here[(appointment.pk, appointment.doctor_id)]
        for person in participant_ids(appointment):
            visitor = here[(appointment.pk, person)]
            if person == appointment.doctor_id or not visitor.is_here:
                continue
            since = visitor.since or now
            rows.append(
                WaitingRow(
                    key=f"{appointment.pk}-{person}",
                    appointment_id=str(appointment.pk),
                    name=visitor_name(appointment, person),
                    # The doctor's own panel: the clinic's clock, without naming it on every line.
                    when=clock_text(appointment.starts_at, now, zone=False),
                    # In the call they no longer wait.
                    waited="" if visitor.in_call else wait_text((now - since).total_seconds()),
                    since=clock_text(since, now, zone=False),
                    where=where_text(visitor),
                    doctor_in_call=doctor.in_call,
                    join_url=reverse("telemedicine:jitsi-room", args=[appointment.pk]),
                )
            )
    shown = seen_keys(seen or "")
    arrived = [row for row in rows if row.key not in shown] if seen is not None else []
    return WaitingPanel(rows=rows, announcement=announcement(arrived), poll_ms=panel_poll_ms(bool(rows)))


def visitor_name(appointment: Appointment, person_id: int) -> str:
    """The name the doctor knows a visitor by (the patient; guests will have theirs)."""
    return display_name(appointment.patient) if person_id == appointment.patient_id else ""


def seen_keys(seen: str) -> set[str]:
    """The keys the panel showed last time, from its own URL: anything malformed is ignored."""
    tokens = seen.split(",")[:MAX_SEEN] if seen else []
    return {token for token in tokens if SEEN_TOKEN.match(token)}


def announcement(arrived: list[WaitingRow]) -> str:
    if not arrived:
        return ""
    names = [f"{row.name} ({row.when} appointment)" for row in arrived]
    if len(names) == 1:
        return f"{names[0]} is waiting."
    return f"{', '.join(names[:-1])} and {names[-1]} are waiting."


def panel_poll_ms(someone_waits: bool) -> int:
    """A few seconds while someone waits; slower when nobody does."""
    seconds = telemedicine_setting("WAITING_PANEL_POLL_BUSY" if someone_waits else "WAITING_PANEL_POLL_IDLE")
    return int(seconds * 1000)
