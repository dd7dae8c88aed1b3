"""
The clinic's wall clock. Appointments are booked as a date and a time on the
clinic's clock (settings.TIME_ZONE); everything else works with aware datetimes.
"""

import functools
from datetime import UTC, date, datetime, time
from functools import lru_cache
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone
from django.utils.formats import date_format, time_format
from django.utils.translation import get_language


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
            f"{format_day(day)} at {format_clock(at)} does not exist in {zone_label()}: the clocks go forward "
            "then. Please choose another time."
        )
    return local.astimezone(UTC)


def clinic_now() -> datetime:
    return timezone.localtime(timezone.now(), clinic_zone())


def clinic_slot(moment: datetime) -> tuple[date, time]:
    """The day and the time the clinic's clock shows at `moment`: how appointments are stored."""
    local = timezone.localtime(moment, clinic_zone())
    return local.date(), local.time()


# --- How the clinic writes a date and a time: one home for pages, cards, emails and the admin.
# Templates use the filters of appointments/templatetags/clinic_time.py; the admin and Django's
# own `|date` read the same formats through FORMAT_MODULE_PATH (appointments/formats/en/formats.py).

DAY_FORMAT = "D j M Y"  # Thu 26 Nov 2026
CLOCK_FORMAT = "H:i"  # 10:30, on the clinic's 24-hour clock
# Django's format characters: "\a\t" is the word "at".
MOMENT_FORMAT = f"{DAY_FORMAT} \\a\\t {CLOCK_FORMAT}"  # Thu 26 Nov 2026 at 10:30


def zone_label() -> str:
    """The clinic's zone as people say it: "London time" for Europe/London, "New York time"..."""
    city = clinic_zone().key.rsplit("/", 1)[-1].replace("_", " ")
    return f"{city} time"


def _local(moment: datetime) -> datetime:
    return timezone.localtime(moment, clinic_zone()) if timezone.is_aware(moment) else moment


def format_day(day: date) -> str:
    """ "Thu 26 Nov 2026": a date, or the day of an aware instant on the clinic's clock."""
    if isinstance(day, datetime):
        day = _local(day).date()
    return _day_text(day, get_language())


def format_clock(at: time | datetime) -> str:
    """ "10:30": a time, or the time of an aware instant on the clinic's clock (no zone named)."""
    if isinstance(at, datetime):
        at = _local(at).time()
    return _clock_text(at.replace(second=0, microsecond=0, tzinfo=None), get_language())


# Django's formatting (translated names, format characters) costs tens of microseconds; a list of
# 200 appointments has a few dozen distinct days and times: each is written once per language.
@lru_cache(maxsize=4096)
def _day_text(day: date, language: str | None) -> str:
    return date_format(day, DAY_FORMAT)


@lru_cache(maxsize=4096)
def _clock_text(at: time, language: str | None) -> str:
    return time_format(at, CLOCK_FORMAT)


def format_moment(moment: datetime, *, zone: bool = True) -> str:
    """ "Thu 26 Nov 2026 at 10:30 London time": an aware instant on the clinic's clock."""
    local = _local(moment)
    return format_slot(local.date(), local.time(), zone=zone)


def format_slot(day: date, at: time, *, zone: bool = True) -> str:
    """An appointment's date and time as booked: "Thu 26 Nov 2026 at 10:30 London time"."""
    text = f"{format_day(day)} at {format_clock(at)}"
    return f"{text} {zone_label()}" if zone else text


def same_day(moment: datetime, now: datetime) -> bool:
    """Do the two instants fall on the same day of the clinic's clock?"""
    return _local(moment).date() == _local(now).date()


def format_near(moment: datetime, now: datetime, *, zone: bool = True) -> str:
    """
    A moment seen from `now`: "10:30 London time" on the same day of the clinic's clock,
    "Thu 26 Nov 2026 at 10:30 London time" on any other.
    """
    if not same_day(moment, now):
        return format_moment(moment, zone=zone)
    clock = format_clock(moment)
    return f"{clock} {zone_label()}" if zone else clock


def format_duration(seconds: int) -> str:
    """ "30 minutes", "10 hours", "1 hour 30 minutes", "45 seconds": how long a session lasts, in words."""
    if seconds < 60:
        return _count(seconds, "second")
    hours, minutes = divmod(seconds // 60, 60)
    parts = ([_count(hours, "hour")] if hours else []) + ([_count(minutes, "minute")] if minutes else [])
    return " ".join(parts)


def _count(number: int, unit: str) -> str:
    return f"{number} {unit}" if number == 1 else f"{number} {unit}s"
