"""
The rows of an appointment list (the dashboard), made in Python so that the template
only places strings.

Each template variable costs a few microseconds, but reverse(), a localised date or
time, an integer (localised too) and a model method reached through the template
engine cost 15 to 65 µs each: rows of Appointment instances took half a millisecond
apiece, and a doctor's busy day of 206 rows over 100 ms of CPU (`make bench`, README
"Performance"). Django's admin builds its change-list rows in Python for the same
reason (contrib.admin.templatetags.admin_list). Measured in-process on a doctor's
206 rows: 18 ms to render them as dataclasses, 8 ms as dicts, against 56 ms before.
"""

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TypedDict

from django.urls import reverse
from django.utils.formats import date_format

from telemedicine.access import Phase, call_phase
from telemedicine.status import BADGES

from .models import Appointment
from .roles import display_name

DOCTOR, PATIENT, STAFF = "doctor", "patient", "staff"

# No appointment id is ever this large; reverse() puts it where the id goes.
_ID_PLACEHOLDER = 2**62 + 1


class AppointmentRow(TypedDict):
    """A dict, not a dataclass: the template engine tries row[name] before getattr(row, name)."""

    pk: str
    url: str  # "" when the viewer does not take part (staff): the detail page would be a 404
    when: str
    people: str  # the other person, or "doctor · patient" for staff
    status: str
    phase: Phase
    badge: str
    badge_class: str


def detail_url_maker() -> Callable[[int], str]:
    """Appointment id -> get_absolute_url(), with one reverse() for a whole list."""
    head, tail = reverse(Appointment.DETAIL_URL_NAME, args=[_ID_PLACEHOLDER]).split(str(_ID_PLACEHOLDER))
    return lambda pk: f"{head}{pk}{tail}"


def appointment_rows(
    appointments: Iterable[Appointment], role: str, now: datetime, *, show_date: bool = True
) -> list[AppointmentRow]:
    """
    The rows `role` sees at `now` (for the video badges). The appointments come from
    Appointment.objects.for_listing() with the people `role` sees.
    """
    detail_url = detail_url_maker()
    rows = []
    for appointment in appointments:
        when = f"{appointment.time:%H:%M}"
        if show_date:
            when = f"{date_format(appointment.date, 'D j M')}, {when}"
        if role == DOCTOR:
            people = display_name(appointment.patient)
        elif role == PATIENT:
            people = display_name(appointment.doctor)
        else:
            people = f"{display_name(appointment.doctor)} · {display_name(appointment.patient)}"
        phase = call_phase(appointment, now)
        badge, badge_class = BADGES[phase]
        rows.append(
            AppointmentRow(
                pk=str(appointment.pk),
                url="" if role == STAFF else detail_url(appointment.pk),
                when=when,
                people=people,
                status=appointment.get_status_display(),
                phase=phase,
                badge=badge,
                badge_class=badge_class,
            )
        )
    return rows
