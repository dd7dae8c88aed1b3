"""
What doctors and clinic staff may do to an appointment, and when, in one place: plain
functions of (user, appointment, now). The views ask them before acting, and pass their
answers to the templates, which offer only what is allowed; the admin's form asks the
same ones (appointments/admin.py).

Confirmations: every cancel and every completion is asked twice (a server-rendered
confirmation, appointments/confirmations.py), because both close a visit for good and
nothing undoes them. What the confirmation says a change would also affect comes from
the apps that know (add_consequence): telemedicine says when the video call is open or
the patient is in it. Switching video off is telemedicine's own rule
(telemedicine.access.switch_off_needs_confirmation).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .roles import can_close, can_manage_any

if TYPE_CHECKING:
    from .models import Appointment


class Action(enum.StrEnum):
    """The changes that close a visit, each confirmed first."""

    CANCEL = "cancel"
    COMPLETE = "complete"


def may_manage(user: Any, appointment: Appointment) -> bool:
    """The appointment's doctor, or clinic staff with the admin's change permission."""
    return can_close(user, appointment)


def may_reschedule(user: Any, appointment: Appointment) -> bool:
    return may_manage(user, appointment) and not appointment.is_closed


def may_cancel(user: Any, appointment: Appointment) -> bool:
    return may_manage(user, appointment) and not appointment.is_closed


def completion_opens_at(appointment: Appointment) -> datetime:
    """A visit can be marked completed from its start: never days ahead, by a slip of the finger."""
    return appointment.starts_at


def completes_from_now(appointment: Appointment, now: datetime) -> bool:
    """The time half of may_complete: for lists whose viewer is already known to manage every visit."""
    return not appointment.is_closed and now >= completion_opens_at(appointment)


def may_complete(user: Any, appointment: Appointment, now: datetime) -> bool:
    return may_manage(user, appointment) and completes_from_now(appointment, now)


def may_open_staff_view(user: Any) -> bool:
    """The staff view of any appointment (appointments:staff-view): clinic staff who manage every visit."""
    return can_manage_any(user)


def may_see_reason(user: Any, appointment: Appointment) -> bool:
    """
    The reason for the visit: its doctor and its patient, and staff who may see every
    visit's reason. Never an email, never the audit trail.
    """
    if user.pk in (appointment.doctor_id, appointment.patient_id):
        return True
    return may_see_every_reason(user)


def may_see_every_reason(user: Any) -> bool:
    """Staff who hold the `appointments.view_reason` permission (and a new visit's form, which has nobody on it yet)."""
    return user.has_perm("appointments.view_reason")


# (appointment, action, now) -> sentences a confirmation adds ("Bob Patient is in the video call now.").
Consequences = Callable[["Appointment", Action, datetime], list[str]]
_consequences: list[Consequences] = []


def add_consequence(consequences: Consequences) -> None:
    """Let another app say what else a change would affect (called from its AppConfig.ready())."""
    if consequences not in _consequences:
        _consequences.append(consequences)


def consequences(appointment: Appointment, action: Action, now: datetime) -> list[str]:
    """What the confirmation of `action` says it would also affect, from every app that knows."""
    return [sentence for found in _consequences for sentence in found(appointment, action, now)]
