"""
Django's date and time formats for English (en, en-gb: FORMAT_MODULE_PATH), taken from the
clinic's one formatting home (appointments/clinic_time.py): the admin's lists and forms, and
any `|date` or `|time` without a format, write "Thu 26 Nov 2026", "10:30" and
"Thu 26 Nov 2026 at 10:30" as every page and email does, never "10:11 p.m." or "2026-11-25".
Input formats stay Django's own.
"""

from appointments.clinic_time import CLOCK_FORMAT, DAY_FORMAT, MOMENT_FORMAT

DATE_FORMAT = DAY_FORMAT
SHORT_DATE_FORMAT = DAY_FORMAT
TIME_FORMAT = CLOCK_FORMAT
DATETIME_FORMAT = MOMENT_FORMAT
SHORT_DATETIME_FORMAT = MOMENT_FORMAT
