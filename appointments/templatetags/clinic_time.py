"""
The clinic's way of writing a date and a time, for templates (appointments/clinic_time.py):

    {{ appointment.starts_at|clinic_moment }}   Thu 26 Nov 2026 at 10:30 London time
    {{ today|clinic_day }}                      Thu 26 Nov 2026
    {{ appointment.time|clinic_clock }}         10:30

Templates never spell a format of their own.
"""

from datetime import date, datetime, time

from django import template

from appointments import clinic_time

register = template.Library()


@register.filter
def clinic_day(value: date | datetime | None) -> str:
    return clinic_time.format_day(value) if value else ""


@register.filter
def clinic_clock(value: time | datetime | None) -> str:
    return clinic_time.format_clock(value) if value else ""


@register.filter
def clinic_moment(value: datetime | None, zone: str = "zone") -> str:
    """An aware instant; `|clinic_moment:"no zone"` leaves the zone out (a heading that names it elsewhere)."""
    return clinic_time.format_moment(value, zone=zone != "no zone") if value else ""
