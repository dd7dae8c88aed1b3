"""
What the clinic's app announces about appointments, without knowing who listens.

`appointment_changed` is sent inside the transaction that made the change, so a
receiver that fails rolls the change back with it: telemedicine's audit trail records
every change this way (an action never happens without its audit record), and the
clinic's app stays free of the video-visit app.
"""

import enum
from typing import Any

from django.dispatch import Signal


class Change(enum.StrEnum):
    """What happened to an appointment, in the audit trail's words."""

    SCHEDULED = "scheduled"
    RESCHEDULED = "rescheduled"  # its date or time moved
    PEOPLE_CHANGED = "people-changed"  # its doctor or patient is someone else now
    CANCELLED = "cancelled"
    COMPLETED = "completed"
    STATUS_CHANGED = "status-changed"  # any other status change (e.g. scheduled -> confirmed)
    # A video visit switched on or off anywhere but the doctor's own switch (which telemedicine
    # records itself): the admin, for instance.
    VIDEO_ON = "video-on"
    VIDEO_OFF = "video-off"


# Keyword arguments: appointment, change (Change), actor (the user who made it, or None
# for the system), request (the HttpRequest, or None outside a request) and fields: the
# names of the fields that changed, each with (old, new) as plain values: ids, ISO dates
# and times, status codes. Never a name or the reason for the visit.
appointment_changed = Signal()


def announce(
    appointment: Any,
    change: Change,
    *,
    actor: Any = None,
    request: Any = None,
    fields: dict[str, tuple[Any, Any]] | None = None,
) -> None:
    """Send appointment_changed. Call it inside the transaction that made the change."""
    appointment_changed.send(
        sender=type(appointment),
        appointment=appointment,
        change=change,
        actor=actor,
        request=request,
        fields=fields or {},
    )


# What each kind of change is made of, in the order they are announced.
PEOPLE_FIELDS = ("doctor", "patient")
WHEN_FIELDS = ("date", "time")
CLOSING = {"cancelled": Change.CANCELLED, "completed": Change.COMPLETED}


def plain_value(value: Any) -> Any:
    """An id, an ISO date or time, a status code: what `fields` may hold."""
    return value.isoformat() if hasattr(value, "isoformat") else value


def changed_fields(before: dict[str, Any], after: dict[str, Any], names) -> dict[str, tuple[Any, Any]]:
    """The `fields` of an announcement: each of `names` whose value differs, as (before, after) plain values."""
    return {
        name: (plain_value(before[name]), plain_value(after[name])) for name in names if before[name] != after[name]
    }


def changes_between(before: dict[str, Any], after: dict[str, Any]) -> list[tuple[Change, dict[str, tuple[Any, Any]]]]:
    """
    The announcements an edit calls for, given the appointment's values before and after it
    (keys: doctor, patient, date, time, status; people as ids): one per kind of change made,
    people first, then the date and time, then the status.
    """

    def changed(names):
        return changed_fields(before, after, names)

    found = []
    if people := changed(PEOPLE_FIELDS):
        found.append((Change.PEOPLE_CHANGED, people))
    if when := changed(WHEN_FIELDS):
        found.append((Change.RESCHEDULED, when))
    if status := changed(["status"]):
        found.append((CLOSING.get(after["status"], Change.STATUS_CHANGED), status))
    if "is_telemedicine" in before and (video := changed(["is_telemedicine"])):
        found.append((Change.VIDEO_ON if after["is_telemedicine"] else Change.VIDEO_OFF, video))
    return found
