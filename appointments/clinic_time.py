"""
The clinic's wall clock. Appointments are booked as a date and a time on the
clinic's clock (settings.TIME_ZONE); everything else works with aware datetimes.
"""

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone


class NonexistentLocalTime(ValueError):
    """The date and time fall into a daylight-saving gap: no clock in the clinic shows them."""


def clinic_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def clinic_datetime(day: date, at: time) -> datetime:
    """
    The aware instant at which the clinic's clock shows `day` `at`.

    In the autumn overlap, when the clock shows the same time twice, the first
    occurrence is used (fold=0), so the answer never depends on anything else.
    The result is in UTC: arithmetic on a zoneinfo datetime is wall-clock
    arithmetic, which is wrong across a DST change (01:30 + 30 min in the
    overlap is not 02:00 on the clock).
    """
    zone = clinic_zone()
    local = datetime.combine(day, at.replace(tzinfo=None), tzinfo=zone)
    # A wall time in a spring-forward gap does not survive a round trip through UTC.
    round_trip = local.astimezone(UTC).astimezone(zone)
    if round_trip.replace(tzinfo=None) != local.replace(tzinfo=None):
        raise NonexistentLocalTime(
            f"{day:%d %B %Y} at {at:%H:%M} does not exist in {zone.key}: the clocks go forward "
            "then. Please choose another time."
        )
    return local.astimezone(UTC)


def clinic_now() -> datetime:
    return timezone.localtime(timezone.now(), clinic_zone())
