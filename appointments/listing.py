"""
The rows of an appointment list (the dashboard), made in Python so that the template
only places strings.

Each template variable is cheap, but reverse(), a localised date or time, an integer
(localised too) and a model method reached through the template engine are not: rows of
Appointment instances rendered by the engine cost a large multiple of rows of strings
(docs/performance.md has the measurements). Django's admin builds its change-list rows
in Python for the same reason (contrib.admin.templatetags.admin_list).

Other apps add columns by name (add_column): telemedicine adds "video", the live badge
of each visit, so that the clinic's lists do not depend on the video-visit app. They may
also say when a visit stops being upcoming (set_upcoming_from): telemedicine says "once
its call window has closed".

A row changes with the clock only at a few known moments (its column's `changes`, the
start from which staff may mark a visit completed): AppointmentList.rows() writes a row
once per process for each span between them and shows that row until the next.
"""

import bisect
import hashlib
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime, time
from typing import NamedTuple, TypedDict, overload

from django.contrib.auth import get_user_model
from django.core.signals import setting_changed
from django.db import connection
from django.db.models import QuerySet
from django.dispatch import receiver
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language

from .clinic_time import clinic_zone, format_clock, format_slot
from .models import Appointment, listed_fields
from .prepared import PreparedQuery, Value
from .roles import display_name
from .rules import completes_from_now, completion_opens_at

DOCTOR, PATIENT, STAFF = "doctor", "patient", "staff"
STAFF_VIEW_URL_NAME = "appointments:staff-view"

# No appointment id is ever this large; reverse() puts it where the id goes.
_ID_PLACEHOLDER = 2**62 + 1


class AppointmentRow(TypedDict):
    """A dict, not a dataclass: the template engine tries row[name] before getattr(row, name)."""

    pk: str
    url: str  # the appointment's page: its detail page for its people, the staff view for staff
    when: str  # "Thu 26 Nov 2026 at 10:30" or "10:30" (the list names the zone once, in its header)
    people: str  # the other person, or "doctor · patient" for staff
    status: str
    # Staff rows: where to cancel or complete it (each asks for confirmation first); "" when not possible.
    cancel_url: str
    complete_url: str
    # What other apps add, by column name: {"video": {"phase": ..., "badge": ..., ...}}.
    columns: dict[str, dict[str, str]]
    # Every value above in one string (row_key): what the list's template remembers a row's HTML by.
    key: str


# A column's cells: (appointment, now) -> the (plain) strings its template shows.
ColumnCells = Callable[[Appointment, datetime], dict[str, str]]
# A column's changes: appointment -> the moments its cells may change at, in order. From each
# moment until the next (and before the first, and from the last on) the cells are the same.
ColumnChanges = Callable[[Appointment], tuple[datetime, ...]]
_columns: dict[str, tuple[ColumnCells, ColumnChanges]] = {}


def add_column(name: str, cells: ColumnCells, changes: ColumnChanges) -> None:
    """
    Give every appointment list a column `name`, filled by `cells` for each row. Called
    from an app's AppConfig.ready(); the list's template shows row.columns.<name>. Its
    cells may depend on the clock only as `changes` says: a list shows a row written
    between two of those moments until the next one.
    """
    _columns[name] = (cells, changes)


def start_of_today(now: datetime) -> datetime:
    """The clinic's own rule: everything from today on is upcoming."""
    return timezone.localtime(now, clinic_zone()).replace(hour=0, minute=0, second=0, microsecond=0)


# now -> the earliest start still listed as upcoming; earlier visits are past.
UpcomingFrom = Callable[[datetime], datetime]
_upcoming_from: list[UpcomingFrom] = [start_of_today]


def set_upcoming_from(rule: UpcomingFrom) -> None:
    """Say when a visit stops being upcoming (called from an app's AppConfig.ready())."""
    _upcoming_from[0] = rule


def upcoming_from(now: datetime) -> datetime:
    return _upcoming_from[0](now)


class AppointmentList:
    """
    One of the dashboard's lists: the appointments `build(*values)` filters and orders, loaded as
    Appointment.objects.for_listing(*people) loads them, from SQL compiled once per process
    (prepared.py): the lists are asked for on every load and every refresh of the dashboard.
    """

    def __init__(self, people: tuple[str, ...], build: Callable[..., QuerySet[Appointment]]):
        appointment_fields, person_fields = listed_fields()
        self.people = people
        self.appointment_names = [field.attname for field in appointment_fields]
        self.person_names = [field.attname for field in person_fields]
        self.query = PreparedQuery(
            build,
            [*self.appointment_names, *(f"{person}__{name}" for person in people for name in self.person_names)],
        )

    def appointments(
        self, *values: Value, limit: int | None = None, offset: int = 0, shared: bool = False
    ) -> list[Appointment]:
        """
        The appointments, each loaded afresh; `shared`: the same Appointment as last time for the
        same record, in this process (see _shared), for callers that only read them.
        """
        records = self.query.rows(*values, limit=limit, offset=offset)
        if not shared:
            return [self._loaded(record) for record in records]
        found = []
        for record in records:
            key = (self.people, record)
            appointment = _shared.get(key)
            if appointment is None:
                if len(_shared) >= MAX_SEEN:
                    _shared.clear()
                appointment = _shared[key] = self._loaded(record)
            found.append(appointment)
        return found

    def rows(
        self,
        role: str,
        now: datetime,
        *values: Value,
        show_date: bool = True,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[AppointmentRow]:
        """
        appointment_rows() of these appointments, made from what each row's record held the last
        time it was shown in such a list (see _seen): only what changes with the clock is made anew.
        """
        writer = RowWriter(role, show_date)
        rows = []
        for record in self.query.rows(*values, limit=limit, offset=offset):
            key = (writer.setting, record)
            seen = _seen.get(key)
            if seen is None:
                if len(_seen) >= MAX_SEEN:
                    _seen.clear()
                appointment = self._loaded(record)
                fixed = writer.fixed_cells(appointment)
                seen = _seen[key] = Seen(appointment, fixed, fixed_key(fixed), writer.changes(appointment), {})
            # The span of the clock `now` is in: the row is the same all through it (RowWriter.changes).
            span = bisect.bisect_right(seen.changes, now)
            row = seen.rows.get(span)
            if row is None:
                row = seen.rows[span] = writer.row(seen.appointment, seen.fixed, now, seen.fixed_part)
            rows.append(row)
        return rows

    def pages(self, role: str, now: datetime, *values: Value, show_date: bool = True) -> "ListedRows":
        """The rows for these values, for a Paginator to page through."""
        return ListedRows(self, role, now, values, show_date)

    def _loaded(self, record: tuple) -> Appointment:
        split, width, person_model = len(self.appointment_names), len(self.person_names), get_user_model()
        appointment = Appointment.from_db(connection.alias, self.appointment_names, record[:split])
        for number, person in enumerate(self.people):
            start = split + number * width
            # Assigning the instance fills the relation's cache, as select_related would.
            setattr(
                appointment,
                person,
                person_model.from_db(connection.alias, self.person_names, record[start : start + width]),
            )
        return appointment


# The status card's appointment, as for_listing("doctor") loads it: a waiting patient's card asks
# for it every 10 s. Django built and compiled the queryset anew on each poll, about 0.9 ms of a
# poll's 4 ms of CPU, the query itself 0.1 (docs/performance.md).
WITH_DOCTOR = AppointmentList(("doctor",), lambda pk: Appointment.objects.filter(pk=pk))


def listed_with_doctor(pk: int) -> Appointment | None:
    """
    `Appointment.objects.for_listing("doctor").filter(pk=pk).first()`, from SQL compiled once per
    process (appointments/tests/test_listed_with_doctor.py holds it to the queryset's answer).
    """
    # An id no row can have (a URL may carry any integer) finds nothing, as the ORM's lookup would;
    # the database driver would refuse it.
    lowest, highest = connection.ops.integer_field_range(Appointment._meta.pk.get_internal_type())
    if not (lowest is None or lowest <= pk) or not (highest is None or pk <= highest):
        return None
    found = WITH_DOCTOR.appointments(pk)
    return found[0] if found else None


class Seen(NamedTuple):
    appointment: Appointment
    fixed: AppointmentRow  # the row's cells that do not change with the clock
    fixed_part: str  # their part of the row's key (fixed_key)
    changes: tuple[datetime, ...]  # when the other cells may change (RowWriter.changes)
    rows: dict[int, AppointmentRow]  # the whole row, by the span of the clock it was written in


# What a list's rows were made from, by the list's setting (RowWriter.setting) and each row's
# record as the database gave it (Seen). A record holds every value those depend on, so a
# changed appointment is a new key; the settings the columns read (whether video visits are on,
# the call window) empty it (forget_rows). The dashboard shows the same few hundred rows on every
# load and every 30 s refresh, and loading them and writing their strings was most of its time.
# Per process, at most MAX_SEEN records (some 3 KB each; then afresh), as {% remember %} keeps
# their HTML. The appointments and the rows are only read (by the rules the columns call, by the
# template): nothing may change them.
MAX_SEEN = 5_000
_seen: dict[tuple, Seen] = {}


# The appointments AppointmentList.appointments(shared=True) gave, by the people loaded with them
# and their record: the doctor's waiting-room panel loads the same live visits on every load of
# the dashboard and every poll of the panel. Only read, as _seen's.
_shared: dict[tuple, Appointment] = {}


@receiver(setting_changed)
def forget_rows(**kwargs) -> None:
    _seen.clear()


class ListedRows:
    """
    What a Paginator pages through (a sliceable with count()): a list's rows for some values.
    Only the page asked for is loaded.
    """

    def __init__(self, listing: AppointmentList, role: str, now: datetime, values: tuple[Value, ...], show_date: bool):
        self.listing, self.role, self.now, self.values, self.show_date = listing, role, now, values, show_date

    def count(self) -> int:
        return self.listing.query.count(*self.values)

    def __len__(self) -> int:
        return self.count()

    def __iter__(self) -> Iterator[AppointmentRow]:
        return iter(self.listing.rows(self.role, self.now, *self.values, show_date=self.show_date))

    @overload
    def __getitem__(self, index: int) -> AppointmentRow: ...
    @overload
    def __getitem__(self, index: slice) -> list[AppointmentRow]: ...
    def __getitem__(self, index: int | slice) -> AppointmentRow | list[AppointmentRow]:
        if isinstance(index, int):
            found = self[index : index + 1]
            if not found:
                raise IndexError(index)
            return found[0]
        start, stop = index.start or 0, index.stop
        if stop <= start:  # an empty page: no query (as an empty slice of a queryset)
            return []
        return self.listing.rows(
            self.role, self.now, *self.values, show_date=self.show_date, limit=stop - start, offset=start
        )


def url_maker(url_name: str) -> Callable[[int], str]:
    """Appointment id -> the URL `url_name` of that appointment, with one reverse() for a whole list."""
    head, tail = reverse(url_name, args=[_ID_PLACEHOLDER]).split(str(_ID_PLACEHOLDER))
    return lambda pk: f"{head}{pk}{tail}"


# The cells RowWriter.row() writes anew at each moment (the end of row_key names them too); the
# others are written once (fixed_cells).
CLOCK_CELLS = ("complete_url", "columns")


def row_key(row: AppointmentRow, fixed_part: str | None = None) -> str:
    """
    Every value of `row` but its key, in one string: the template renders a row once per
    process for each key ({% remember %}, project/fragments.py), so nothing the row shows
    may be left out. It is the repr() of the row's cells, those that do not change with the
    clock first (fixed_key: every cell but CLOCK_CELLS, so a field added later is in it without
    anyone remembering to add it), then CLOCK_CELLS; quotes and escapes keep the values apart
    whatever they contain. One string is what the tag keys on fastest: freezing the row's
    nested dicts for every row cost more than rendering some of them. `fixed_part`: the row's
    fixed_key(), when the caller has it already (AppointmentList.rows keeps it with the row).
    """
    for cells in row["columns"].values():
        for value in cells.values():
            # A SafeString shows as a str's repr but renders unescaped: it would share a plain string's HTML.
            if type(value) is not str:
                raise TypeError(f"A column's cells are plain strings, not {type(value).__name__}")
    if fixed_part is None:
        fixed_part = fixed_key(row)
    return fixed_part + repr([("complete_url", row["complete_url"]), ("columns", row["columns"])])


def fixed_key(row: AppointmentRow) -> str:
    """The first part of row_key(): the cells that do not change with the clock."""
    return repr([item for item in row.items() if item[0] != "key" and item[0] not in CLOCK_CELLS])


def list_key(rows: Iterable[AppointmentRow]) -> str:
    """
    One short string standing for every row of a list (each row's key, row_key): the list's
    template remembers the whole list's HTML by it, so that a list shown again unchanged (the
    dashboard refreshes every 30 s) is one lookup. A digest: the rows' keys themselves would
    make a key as long as the list's HTML.
    """
    # repr() writes a newline inside a value as a backslash and an "n": the separator is unambiguous.
    return hashlib.blake2b("\n".join(row["key"] for row in rows).encode(), digest_size=20).hexdigest()


class RowWriter:
    """What the rows of one list share: its role, its links, its status labels, the slots written so far."""

    def __init__(self, role: str, show_date: bool):
        self.role, self.show_date = role, show_date
        # Staff open the staff view (the detail page is for the visit's own people only).
        self.page_url = url_maker(STAFF_VIEW_URL_NAME if role == STAFF else Appointment.DETAIL_URL_NAME)
        self.staff = role == STAFF
        if self.staff:  # only staff rows link to cancel and complete: the other lists skip two reverse()
            self.cancel_url, self.complete_url = url_maker("appointments:cancel"), url_maker("appointments:complete")
        self.columns = list(_columns.items())
        # Once per status shown, not per row (format_slot keeps its own per-process memo of days and clock times).
        self.status_labels = dict(Appointment.Status.choices)
        # A busy day repeats a few dozen slots: each is written once per list (asking for the active language
        # and the per-process memo twice a row cost more than the rest of the row's own strings).
        self.slot_texts: dict[tuple[date, time], str] = {}
        # Everything but the appointment that fixed_cells() depends on: the language its words and
        # dates are written in, and where the links point (the site's URL prefix).
        self.setting = (role, show_date, get_language(), self.page_url(0))

    def fixed_cells(self, appointment: Appointment) -> AppointmentRow:
        """The row's cells that do not change with the clock (the others are left empty)."""
        slot = (appointment.date, appointment.time)
        when = self.slot_texts.get(slot)
        if when is None:
            when = self.slot_texts[slot] = (
                format_slot(appointment.date, appointment.time, zone=False)
                if self.show_date
                else format_clock(appointment.time)
            )
        if self.role == DOCTOR:
            people = display_name(appointment.patient)
        elif self.role == PATIENT:
            people = display_name(appointment.doctor)
        else:
            people = f"{display_name(appointment.doctor)} · {display_name(appointment.patient)}"
        return AppointmentRow(
            pk=str(appointment.pk),
            url=self.page_url(appointment.pk),
            when=when,
            people=people,
            status=str(self.status_labels.get(appointment.status, appointment.status)),
            cancel_url=self.cancel_url(appointment.pk) if self.staff and not appointment.is_closed else "",
            complete_url="",
            columns={},
            key="",
        )

    def changes(self, appointment: Appointment) -> tuple[datetime, ...]:
        """
        The moments at which row() may write this appointment's row differently, in order: what
        the columns say of theirs, and for staff the start from which the visit can be completed.
        """
        moments = {moment for _, (_, changes) in self.columns for moment in changes(appointment)}
        if self.staff:
            moments.add(completion_opens_at(appointment))
        return tuple(sorted(moments))

    def row(
        self, appointment: Appointment, fixed: AppointmentRow, now: datetime, fixed_part: str | None = None
    ) -> AppointmentRow:
        """
        The whole row at `now`: the fixed cells, and those that change with the clock (CLOCK_CELLS).
        `fixed_part`: fixed_key(fixed), when the caller has it already.
        """
        row = fixed.copy()
        # Offered from the visit's start only (rules.py); staff rows are for people who manage every visit.
        if self.staff and completes_from_now(appointment, now):
            row["complete_url"] = self.complete_url(appointment.pk)
        row["columns"] = {name: cells(appointment, now) for name, (cells, _) in self.columns}
        row["key"] = row_key(row, fixed_part)
        return row


def appointment_rows(
    appointments: Iterable[Appointment], role: str, now: datetime, *, show_date: bool = True
) -> list[AppointmentRow]:
    """
    The rows `role` sees at `now` (which the added columns may depend on). The appointments
    come from Appointment.objects.for_listing() with the people `role` sees (AppointmentList.rows()
    makes the same rows from its own query); STAFF rows are for people who manage every visit
    (rules.may_open_staff_view).
    """
    writer = RowWriter(role, show_date)
    return [writer.row(appointment, writer.fixed_cells(appointment), now) for appointment in appointments]
