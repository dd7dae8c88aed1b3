"""How the clinic names an appointment in its messages and confirmations."""

from typing import Any

from django.utils.text import capfirst

from .clinic_time import format_slot
from .models import Appointment
from .roles import display_name, doctor_name


def appointment_label(appointment: Appointment, viewer: Any = None) -> str:
    """
    "the appointment with Bob Patient on Thu 26 Nov 2026 at 10:30 London time" for its doctor;
    for anyone else (clinic staff) the doctor is named too: "... with Bob Patient and Dr Meredith
    Grey on ...". The appointment's people must be loaded (Appointment.objects.with_people()).
    """
    people = display_name(appointment.patient)
    if viewer is None or viewer.pk != appointment.doctor_id:
        people = f"{people} and {doctor_name(appointment.doctor)}"
    return f"the appointment with {people} on {format_slot(appointment.date, appointment.time)}"


def done(appointment: Appointment, viewer: Any, what: str) -> str:
    """ "Appointment with Bob Patient on Thu 26 Nov 2026 at 10:30 London time cancelled." """
    label = appointment_label(appointment, viewer).removeprefix("the ")
    return f"{capfirst(label)} {what}."
