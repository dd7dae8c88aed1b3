"""
Querysets compiled to SQL once per process, for the queries a page runs on every load.

Django builds and compiles a queryset anew on every evaluation: filters, joins, the select
list and the ordering cost about a millisecond of CPU for one of the dashboard's lists,
several times what the database takes to answer it (docs/performance.md), and the dashboard
runs the same few queries on every load and every 30 s refresh, with only the person, the
day and the clock changing. A PreparedQuery takes a function that builds the queryset from
those values, has Django's own compiler turn it into SQL once, and then runs that SQL with
each call's values. The queryset stays the one place that says what is selected:

    upcoming = PreparedQuery(
        lambda doctor_id, day: Appointment.objects.filter(doctor_id=doctor_id, date__gt=day), ("pk", "date")
    )
    upcoming.rows(user.pk, today)          # [(pk, date), ...], as values_list("pk", "date") gives
    upcoming.rows(user.pk, today, limit=50, offset=100)
    upcoming.count(user.pk, today)

The values are ints, strings, dates and times, each used by the builder as it is given: a
value computed inside it (say `day - timedelta(days=30)`) has no place in the compiled SQL,
so pass it as a value of its own. The first call checks that: it compiles the queryset with
two different sets of stand-in values, and refuses unless the SQL is the same and the
parameters differ exactly where the values go.
"""

from collections.abc import Callable, Sequence
from datetime import date, time
from typing import Any

from django.db import connection
from django.db.models import QuerySet

Value = int | str | date | time
# The SQL, and for each of its parameters: (the position of the call's value it is, None), or (None, a constant).
Compiled = tuple[str, list[tuple[int | None, Any]]]


def _stand_ins(values: Sequence[Value], variant: int) -> list[Value]:
    """Values of the same kinds as `values`, different for each position and each variant."""
    stand_ins: list[Value] = []
    for position, value in enumerate(values):
        unique = 100 * variant + position
        if isinstance(value, bool) or not isinstance(value, int | str | date | time):
            raise TypeError(f"A prepared query takes ints, strings, dates and times, not {type(value).__name__}")
        if isinstance(value, int):
            # Within every integer column's range: Django compiles an out-of-range lookup to no SQL at all.
            stand_ins.append(1_000_000_000 + unique)
        elif isinstance(value, str):
            stand_ins.append(f"stand-in {unique}")
        elif isinstance(value, date):  # a datetime is a date too, but refused: the builder says which day
            if type(value) is not date:
                raise TypeError("A prepared query takes dates, not datetimes: pass the clinic's day and time")
            stand_ins.append(date(2001 + variant, 1, 1 + position))
        else:
            stand_ins.append(time(1 + variant, position, 0, 1 + position))
    return stand_ins


def _adapted(value: Value) -> Any:
    """The value as Django hands it to the database (SQLite, say, takes dates and times as text)."""
    if isinstance(value, date):
        return connection.ops.adapt_datefield_value(value)
    if isinstance(value, time):
        return connection.ops.adapt_timefield_value(value)
    return value


class PreparedQuery:
    def __init__(self, build: Callable[..., QuerySet], fields: Sequence[str]):
        """`build(*values)` returns the queryset; `fields`, what its rows hold (as values_list takes them)."""
        self.build, self.fields = build, tuple(fields)
        # Per database vendor (the tests run both): the SQL, and where each parameter comes from.
        self._compiled: dict[str, Compiled] = {}
        self._counted: dict[str, Compiled] = {}

    def rows(self, *values: Value, limit: int | None = None, offset: int = 0) -> list[tuple]:
        """The rows for these values, `limit` of them from `offset` (all of them without a limit)."""
        sql, params = self._statement(self._compiled, values, lambda queryset: queryset.values_list(*self.fields))
        if limit is not None:
            sql, params = f"{sql} LIMIT %s OFFSET %s", [*params, limit, offset]
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    def count(self, *values: Value) -> int:
        """How many rows there are for these values."""
        sql, params = self._statement(self._counted, values, lambda queryset: queryset.order_by().values_list("pk"))
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COUNT(*) FROM ({sql}) counted", params)
            return cursor.fetchone()[0]

    def _statement(
        self, memo: dict[str, Compiled], values: Sequence[Value], shape: Callable[[QuerySet], QuerySet]
    ) -> tuple[str, list]:
        compiled = memo.get(connection.vendor)
        if compiled is None:
            compiled = memo[connection.vendor] = self._compile(values, shape)
        sql, parameters = compiled
        return sql, [constant if position is None else _adapted(values[position]) for position, constant in parameters]

    def _compile(self, values: Sequence[Value], shape: Callable[[QuerySet], QuerySet]) -> Compiled:
        """The SQL, and for each of its parameters the position of the value it is, or (None, the constant)."""
        first, second = _stand_ins(values, 0), _stand_ins(values, 1)
        # What str(queryset.query) shows, with the parameters apart (as the database driver takes them).
        first_sql, first_params = shape(self.build(*first)).query.sql_with_params()
        second_sql, second_params = shape(self.build(*second)).query.sql_with_params()
        if first_sql != second_sql or len(first_params) != len(second_params):
            raise ValueError("The queryset's SQL changes with its values: it cannot be prepared")
        parameters: list[tuple[int | None, Any]] = []
        for one, other in zip(first_params, second_params, strict=True):
            if one == other:  # a constant of the queryset's own, e.g. a status
                parameters.append((None, one))
                continue
            found = [
                position
                for position, value in enumerate(first)
                if _adapted(value) == one and _adapted(second[position]) == other
            ]
            if not found:
                raise ValueError("A parameter is computed from the values inside the builder: pass it as a value")
            parameters.append((found[0], None))
        return first_sql, parameters
