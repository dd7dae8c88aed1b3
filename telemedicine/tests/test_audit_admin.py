"""The audit trail in the admin: read-only for everyone, CSV export for superusers only."""

import csv
import datetime as dt
import io
import re

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from freezegun import freeze_time

from telemedicine.models import AccessEvent

CHANGELIST = "admin:telemedicine_accessevent_changelist"
EXPORT = "admin:telemedicine_accessevent_export"
WHEN = dt.datetime(2030, 1, 15, 9, 55, tzinfo=dt.UTC)


@pytest.fixture
def superuser(make_user):
    return make_user("root", is_staff=True, is_superuser=True)


@pytest.fixture
def auditor(make_user):
    """Staff who may look at the audit trail in the admin, but not export it."""
    user = make_user("auditor", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_accessevent"))
    return user


@pytest.fixture
def events(make_appointment, doctor, patient, other_patient):
    visit = make_appointment(is_telemedicine=True)
    with freeze_time(WHEN):
        made = [
            AccessEvent.objects.create(
                user=patient,
                appointment=visit,
                action="room-opened",
                ip_address="203.0.113.7",
                user_agent="Mozilla/5.0",
            ),
            AccessEvent.objects.create(
                user=other_patient,
                appointment=visit,
                action="room-refused",
                reason="not-participant",
                user_agent='=HYPERLINK("http://evil")',
            ),
            AccessEvent.objects.create(user=doctor, appointment=visit, action="telemedicine-off"),
        ]
    return visit, made


# Characters a spreadsheet runs a cell that starts with as a formula (OWASP, CSV injection),
# and the characters a spreadsheet may split a line into cells (or rows) on.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
SEPARATORS = re.compile(r"[,;\t\r\n]")
FORMULA_USER_AGENTS = [
    "Mozilla/5.0;=1+1;=cmd|' /C calc'!A0",
    "Mozilla/5.0,=1+1",
    "Mozilla/5.0\t=1+1",
    "Mozilla/5.0\n@SUM(1+1)*cmd|' /C calc'!A0",
    "Mozilla/5.0\r\n+1+cmd",
    "Mozilla/5.0; -2+3+cmd",
    'Mozilla/5.0;"=1+1"',
    "\t=1+1",
    "\r=1+1",
    "+1+1",
    "-1+1",
    "@SUM(1+1)",
    " =1+1",
    ";;=1+1",
    "a;\t;=1",
]


def formula_pieces(body: str) -> list[str]:
    """Every piece of the file, split naively on any separator, that a spreadsheet would run."""
    pieces = SEPARATORS.split(body)
    return [piece for piece in pieces if piece.lstrip(' "').startswith(FORMULA_TRIGGERS)]


def export_rows(response):
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


class TestReadOnly:
    @pytest.mark.parametrize("who", ["superuser", "auditor"])
    def test_list_and_detail_can_be_read(self, client_for, events, request, who):
        client = client_for(request.getfixturevalue(who))
        _, made = events
        assert client.get(reverse(CHANGELIST)).status_code == 200
        response = client.get(reverse("admin:telemedicine_accessevent_change", args=[made[0].pk]))
        assert response.status_code == 200
        assert b'name="_save"' not in response.content  # a view page, no form to save

    @pytest.mark.parametrize(
        "url_name,args,method",
        [
            ("admin:telemedicine_accessevent_add", [], "get"),
            ("admin:telemedicine_accessevent_add", [], "post"),
            ("admin:telemedicine_accessevent_change", ["pk"], "post"),
            ("admin:telemedicine_accessevent_delete", ["pk"], "get"),
            ("admin:telemedicine_accessevent_delete", ["pk"], "post"),
        ],
    )
    def test_not_even_a_superuser_can_add_change_or_delete(self, client_for, superuser, events, url_name, args, method):
        _, made = events
        url = reverse(url_name, args=[made[0].pk for _ in args])
        response = getattr(client_for(superuser), method)(url, {"action": "room-refused", "post": "yes"})
        assert response.status_code == 403
        assert AccessEvent.objects.count() == 3
        assert AccessEvent.objects.get(pk=made[0].pk).action == "room-opened"

    def test_no_bulk_delete_action(self, client_for, superuser, events):
        _, made = events
        response = client_for(superuser).post(
            reverse(CHANGELIST), {"action": "delete_selected", "_selected_action": [e.pk for e in made], "post": "yes"}
        )
        assert b"delete_selected" not in client_for(superuser).get(reverse(CHANGELIST)).content
        assert response.status_code in (200, 302)
        assert AccessEvent.objects.count() == 3

    def test_staff_without_the_view_permission_cannot_see_it(self, client_for, staff, events):
        assert client_for(staff).get(reverse(CHANGELIST)).status_code == 403

    @pytest.mark.parametrize("query", ["?action__exact=room-refused", "?reason__exact=not-participant"])
    def test_filters(self, client_for, superuser, events, query):
        response = client_for(superuser).get(reverse(CHANGELIST) + query)
        assert response.status_code == 200
        assert response.context["cl"].result_count == 1


class TestCsvExport:
    def test_superuser_gets_every_event_as_csv(self, client_for, superuser, events, doctor, patient, other_patient):
        visit, _made = events
        response = client_for(superuser).get(reverse(EXPORT))
        assert response.status_code == 200
        assert response["Content-Type"] == "text/csv; charset=utf-8"
        assert response["Content-Disposition"].startswith('attachment; filename="access-events-')
        rows = export_rows(response)
        assert [(r["username"], r["action"], r["reason"]) for r in rows] == [
            ("dr.house", "telemedicine-off", ""),
            ("stranger", "room-refused", "not-participant"),
            ("pat", "room-opened", ""),
        ]
        opened = rows[2]
        assert opened == {
            "created_at": WHEN.isoformat(),
            "user_id": str(patient.pk),
            "username": "pat",
            "guest_id": "",
            "guest_name": "",
            "appointment_id": str(visit.pk),
            "action": "room-opened",
            "reason": "",
            "detail": "",
            "ip_address": "203.0.113.7",
            "user_agent": "Mozilla/5.0",
        }

    def test_export_follows_the_list_filters(self, client_for, superuser, events):
        rows = export_rows(client_for(superuser).get(reverse(EXPORT) + "?action__exact=room-refused"))
        assert [r["action"] for r in rows] == ["room-refused"]

    def test_cells_a_spreadsheet_would_run_are_quoted_as_text(self, client_for, superuser, events):
        rows = export_rows(client_for(superuser).get(reverse(EXPORT)))
        assert rows[1]["user_agent"] == '\'=HYPERLINK("http://evil")'

    @pytest.mark.parametrize("user_agent", FORMULA_USER_AGENTS)
    def test_no_cell_or_part_of_a_cell_reads_as_a_formula(self, client_for, superuser, events, user_agent):
        """Issue 16, finding 6: spreadsheets that split on ; (or tabs, or lines) see each piece as a cell."""
        visit, _ = events
        AccessEvent.objects.create(appointment=visit, action="room-opened", user_agent=user_agent)
        body = b"".join(client_for(superuser).get(reverse(EXPORT)).streaming_content).decode()
        assert formula_pieces(body) == []
        # Every cell is quoted, and none starts as a formula once read as CSV.
        assert body.startswith('"created_at","user_id",')
        for row in csv.reader(io.StringIO(body, newline="")):
            assert not [cell for cell in row if cell.lstrip(' "').startswith(FORMULA_TRIGGERS)]
        # The value is still there to read, only neutralised.
        rows = export_rows(client_for(superuser).get(reverse(EXPORT)))
        [exported] = [row["user_agent"] for row in rows if not row["user_id"]]
        assert exported.replace("'", "") == user_agent.replace("'", "")

    def test_no_room_name_in_the_export(self, client_for, superuser, events):
        visit, _ = events
        room_name = visit.get_jitsi_room_name()
        body = b"".join(client_for(superuser).get(reverse(EXPORT)).streaming_content).decode()
        assert room_name not in body

    @pytest.mark.parametrize("who,status", [("auditor", 403), ("staff", 403)])
    def test_staff_who_are_not_superusers_are_refused(self, client_for, events, request, who, status):
        assert client_for(request.getfixturevalue(who)).get(reverse(EXPORT)).status_code == status

    @pytest.mark.parametrize("who", ["patient", "doctor"])
    def test_non_staff_are_sent_to_the_admin_login(self, client_for, events, request, who):
        response = client_for(request.getfixturevalue(who)).get(reverse(EXPORT))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))

    def test_anonymous_is_sent_to_the_admin_login(self, client, events):
        response = client.get(reverse(EXPORT))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))

    @pytest.mark.parametrize("who,shown", [("superuser", True), ("auditor", False)])
    def test_export_link_only_for_superusers(self, client_for, events, request, who, shown):
        html = client_for(request.getfixturevalue(who)).get(reverse(CHANGELIST)).content.decode()
        assert (reverse(EXPORT) in html) is shown


@pytest.mark.parametrize("query,count", [("pat", 1), ("stranger", 1), ("dr.house", 1)])
def test_search_by_username_or_appointment(client_for, superuser, events, query, count):
    response = client_for(superuser).get(reverse(CHANGELIST), {"q": query})
    assert response.status_code == 200
    assert response.context["cl"].result_count == count


def test_search_by_appointment_id(client_for, superuser, events):
    visit, _ = events
    response = client_for(superuser).get(reverse(CHANGELIST), {"q": str(visit.pk)})
    assert response.context["cl"].result_count == 3


@pytest.mark.parametrize(
    "query", ["?created_at__gte=x", "?created_at__lt=2030-13-45", "?appointment_id=abc", "?action__in=x&user__id=y"]
)
def test_an_export_with_filters_that_make_no_sense_goes_back_to_the_list(client_for, superuser, events, query):
    """Issue 16, also found: these were a 500."""
    client = client_for(superuser)
    response = client.get(reverse(EXPORT) + query)
    assert response.status_code == 302
    assert response["Location"] == reverse(CHANGELIST)
    assert "Content-Disposition" not in response
    page = client.get(response["Location"]).content.decode()
    assert "These filters cannot be applied, so nothing was exported." in page


# --- Issue 17, point 8: the trail for people, not developers ------------------------------------


def test_each_row_says_when_what_and_who_in_words_and_links_its_appointment(client_for, superuser, events):
    visit, _ = events
    html = client_for(superuser).get(reverse(CHANGELIST)).content.decode()
    assert "Tue 15 Jan 2030 at 09:55 London time" in html
    assert "Room refused: not one of the visit&#x27;s people" in html
    assert "Sam Stranger" in html  # the person by name: the user's, or a guest's
    assert "Video visit switched off" in html
    assert f'<a href="{reverse("appointments:staff-view", args=[visit.pk])}">Appointment #{visit.pk}</a>' in html
    assert ">not-participant<" not in html  # the code stays in the database and the CSV


def test_staff_who_cannot_open_the_staff_view_are_linked_to_the_admins_page(client_for, auditor, events):
    visit, _ = events
    html = client_for(auditor).get(reverse(CHANGELIST)).content.decode()
    assert f'href="{reverse("admin:appointments_appointment_change", args=[visit.pk])}"' in html


def test_the_filter_offers_reasons_in_words(client_for, superuser, events):
    html = client_for(superuser).get(reverse(CHANGELIST)).content.decode()
    assert "too early: the call was not open yet" in html


def test_a_guest_is_named_as_a_guest(events, doctor):
    from telemedicine.models import Guest

    visit, _ = events
    guest = Guest.objects.create(appointment=visit, name="Ivy Interpreter", email="ivy@example.org", invited_by=doctor)
    event = AccessEvent.objects.create(guest=guest, appointment=visit, action="guest-link-opened")
    assert event.person == "Ivy Interpreter, guest"
    assert AccessEvent.objects.create(appointment=visit, action="appointment-changed", reason="scheduled").person == (
        "the clinic's system"
    )
