import copy
import datetime as dt
import functools
import operator

import pytest
from django.template.loader import render_to_string
from django.urls import clear_script_prefix, reverse, set_script_prefix
from django.utils.safestring import mark_safe

from appointments.clinic_time import clinic_datetime
from appointments.listing import DOCTOR, PATIENT, STAFF, appointment_rows, list_key, row_key, url_maker
from appointments.models import Appointment
from project import fragments

DAY = dt.date(2030, 1, 15)
NOW = clinic_datetime(DAY, dt.time(10, 55))


@pytest.fixture
def appointment(make_appointment):
    return make_appointment(date=DAY, time=dt.time(11), is_telemedicine=True)


@pytest.mark.parametrize("prefix", ["/", "/clinic/", "/0/1/"])
def test_detail_urls_are_those_of_get_absolute_url(make_appointment, prefix):
    appointments = [make_appointment(date=DAY, time=dt.time(9 + i)) for i in range(3)]
    set_script_prefix(prefix)
    try:
        detail_url = url_maker(Appointment.DETAIL_URL_NAME)
        assert [detail_url(a.pk) for a in appointments] == [a.get_absolute_url() for a in appointments]
        assert detail_url(10**12) == Appointment(pk=10**12).get_absolute_url()
    finally:
        clear_script_prefix()


def rows(role, show_date=False, people=("doctor", "patient")):
    return appointment_rows(Appointment.objects.for_listing(*people), role, NOW, show_date=show_date)


@pytest.mark.parametrize(
    "role,people,expected",
    [
        (DOCTOR, ("patient",), "Pat Ient"),
        (PATIENT, ("doctor",), "Gregory House"),
        (STAFF, ("doctor", "patient"), "Gregory House · Pat Ient"),
    ],
)
def test_each_role_sees_the_other_people_by_name(appointment, role, people, expected):
    [row] = rows(role, people=people)
    assert row["people"] == expected


def test_a_person_without_a_name_is_shown_by_username(appointment, patient):
    patient.first_name = patient.last_name = ""
    patient.save()
    assert rows(DOCTOR, people=("patient",))[0]["people"] == patient.get_username()


@pytest.mark.parametrize("role", [DOCTOR, PATIENT])
def test_the_people_taking_part_open_its_page(appointment, role):
    [row] = rows(role)
    assert row["url"] == appointment.get_absolute_url()
    assert row["cancel_url"] == row["complete_url"] == ""  # their page offers what they may do


def test_staff_open_the_staff_view(appointment):
    [row] = rows(STAFF)
    assert row["url"] == reverse("appointments:staff-view", args=[appointment.pk])
    assert row["cancel_url"] == reverse("appointments:cancel", args=[appointment.pk])


@pytest.mark.parametrize(
    "now,offered",
    [
        (clinic_datetime(DAY, dt.time(10, 59, 59)), False),  # a second before the visit's start
        (clinic_datetime(DAY, dt.time(11, 0)), True),
        (clinic_datetime(DAY + dt.timedelta(days=1), dt.time(9, 0)), True),
    ],
)
def test_staff_rows_offer_completing_from_the_visits_start(appointment, now, offered):
    [row] = appointment_rows(Appointment.objects.for_listing("doctor", "patient"), STAFF, now)
    assert row["complete_url"] == (reverse("appointments:complete", args=[appointment.pk]) if offered else "")


def test_a_closed_visit_offers_neither_cancel_nor_complete(appointment):
    Appointment.objects.filter(pk=appointment.pk).update(status="cancelled")
    [row] = rows(STAFF)
    assert row["cancel_url"] == row["complete_url"] == ""


@pytest.mark.parametrize("show_date,when", [(False, "11:00"), (True, "Tue 15 Jan 2030 at 11:00")])
def test_when_is_the_time_with_the_date_where_asked(appointment, show_date, when):
    assert rows(PATIENT, show_date=show_date)[0]["when"] == when


def test_other_apps_add_columns_by_name(appointment, monkeypatch):
    from appointments import listing

    monkeypatch.setattr(listing, "_columns", {})
    listing.add_column(
        "weekday", lambda appointment, now: {"day": f"{appointment.date:%A}", "at": f"{now:%H:%M}"}, lambda a: ()
    )
    [row] = rows(DOCTOR)
    assert row["columns"] == {"weekday": {"day": "Tuesday", "at": "10:55"}}


def test_listing_reads_nothing_it_was_not_given(appointment, django_assert_num_queries):
    listed = list(Appointment.objects.for_listing("patient"))
    with django_assert_num_queries(0):
        appointment_rows(listed, DOCTOR, NOW)


def leaves(row):
    """Where each value the row shows sits: ("when",), ("columns", "video", "badge")..."""
    for name, value in row.items():
        if name == "columns":
            yield from ((name, column, cell) for column, cells in value.items() for cell in cells)
        elif name != "key":
            yield (name,)


def test_a_rows_key_holds_every_value_its_html_shows(make_appointment):
    """
    The dashboard renders each row once per process for its key ({% remember %}): a value
    left out of the key would let one row's HTML stand for another's. Each value in turn is
    changed, and the row must render as it would afresh, not as the row it was.
    """
    make_appointment(date=DAY, time=dt.time(10), is_telemedicine=True)  # staff rows then show every link too
    [row] = rows(STAFF, show_date=True)
    page = {"role": STAFF, "show_date": True, "telemedicine_enabled": True, "clinic_zone": "London time"}

    def render(shown):
        return render_to_string("appointments/dashboard.html#appointment-rows", {**page, "rows": [shown]})

    paths = list(leaves(row))
    assert ("columns", "video", "phase") in paths
    assert ("complete_url",) in paths
    for path in paths:
        changed = copy.deepcopy(row)
        *parents, name = path
        holder = functools.reduce(operator.getitem, parents, changed)
        holder[name] = f"{holder[name]}-changed"
        changed["key"] = row_key(changed)
        fragments._remembered.clear()
        afresh = render(changed)
        fragments._remembered.clear()
        assert render(row) != afresh, f"{path} is not shown at all"
        assert render(changed) == afresh, f"{path} is missing from the row's key"


def test_a_column_cell_must_be_a_plain_string(appointment, monkeypatch):
    """A SafeString would share the key of the same plain string while rendering unescaped."""
    from appointments import listing

    monkeypatch.setattr(listing, "_columns", {})
    listing.add_column("weekday", lambda appointment, now: {"day": mark_safe("<b>Tuesday</b>")}, lambda a: ())
    with pytest.raises(TypeError):
        rows(DOCTOR)


def test_a_list_is_remembered_whole_only_while_its_rows_are_the_same(make_appointment):
    """The dashboard remembers each list's HTML by its rows' keys (listing.list_key): any other list renders afresh."""
    for hour in (9, 10, 11):
        make_appointment(date=DAY, time=dt.time(hour), is_telemedicine=hour != 10)
    first, second, third = rows(STAFF, show_date=True)
    page = {"role": STAFF, "show_date": True, "telemedicine_enabled": True, "clinic_zone": "London time"}

    def render(shown, empty_text="Nothing."):
        context = {**page, "rows": shown, "empty_text": empty_text}
        return render_to_string("appointments/dashboard.html#appointment-rows", context)

    lists = [[first, second], [second, first], [first], [first, second, third], [], [first, second]]
    afresh = []
    for shown in lists:
        fragments._remembered.clear()
        afresh.append(render(shown))
    fragments._remembered.clear()
    assert [render(shown) for shown in lists] == afresh
    assert len(set(afresh)) == 5
    assert render([], empty_text="No visits.") != render([])


def test_a_lists_key_changes_with_any_rows_key_and_their_order(make_appointment):
    for hour in (9, 10):
        make_appointment(date=DAY, time=dt.time(hour))
    first, second = rows(STAFF, show_date=True)
    renamed = dict(second, key=second["key"].replace("10:00", "10:01"))

    assert list_key([first, second]) == list_key([dict(first), dict(second)])
    assert len({list_key([first, second]), list_key([second, first]), list_key([first]), list_key([])}) == 4
    assert list_key([first, renamed]) != list_key([first, second])
