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
