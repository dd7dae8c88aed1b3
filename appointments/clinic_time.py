"""
The clinic's wall clock. Appointments are booked as a date and a time on the
clinic's clock (settings.TIME_ZONE); everything else works with aware datetimes.
"""

import functools
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone
from django.utils.formats import date_format, time_format


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
    return _clinic_datetime(day, at.replace(tzinfo=None), settings.TIME_ZONE)


# A pure function of its arguments, asked a dozen times per status poll and twice per row of a
# list (every call window starts here): each process remembers the latest few thousand answers.
@functools.lru_cache(maxsize=4096)
def _clinic_datetime(day: date, at: time, zone_name: str) -> datetime:
    zone = ZoneInfo(zone_name)
    local = datetime.combine(day, at, tzinfo=zone)
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


# --- How the clinic writes a date and a time: one home for pages, cards, emails and the admin.

DAY_FORMAT = "D j M Y"  # Thu 26 Nov 2026
CLOCK_FORMAT = "H:i"  # 10:30, on the clinic's 24-hour clock


def zone_label() -> str:
    """The clinic's zone as people say it: "London time" for Europe/London, "New York time"..."""
    city = clinic_zone().key.rsplit("/", 1)[-1].replace("_", " ")
    return f"{city} time"


def format_day(day: date) -> str:
    return date_format(day, DAY_FORMAT)


def format_clock(at: time | datetime) -> str:
    if isinstance(at, datetime):
        at = timezone.localtime(at, clinic_zone()).time()
    return time_format(at, CLOCK_FORMAT)


def format_moment(moment: datetime, *, zone: bool = True) -> str:
    """ "Thu 26 Nov 2026 at 10:30 London time": an aware instant on the clinic's clock."""
    local = timezone.localtime(moment, clinic_zone())
    text = f"{format_day(local.date())} at {format_clock(local.time())}"
    return f"{text} {zone_label()}" if zone else text
