"""
The authorisation matrix: every URL the project routes, for every kind of person,
with every HTTP method, answers exactly what EXPECTED says, and the room name
shows up only where it must.

The URLs are read from the resolver, so a new view that is not in EXPECTED fails
test_every_routed_url_has_expectations (and its own matrix rows) until someone
decides, here, who may use it. Skipped, and why:
- Django's and django-axes' own admin pages (admin:index, login, auth_*, axes_*,
  jsi18n, autocomplete, ...): AdminSite.admin_view lets only active staff through,
  then each ModelAdmin checks the model permission; Django's own test-suite covers
  them. The admin pages of this project's models (appointments_*, telemedicine_*)
  ARE in the matrix.
- Unnamed patterns inside the admin (the "<id>/" redirect to the change page and the
  catch-all): they only redirect to named admin URLs.
- Static files: whitenoise serves them before URL routing; they are public by design.
"""

import datetime as dt
import logging
from dataclasses import dataclass

import pytest
from django.core import signing
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from freezegun import freeze_time

from telemedicine import guests
from telemedicine.models import Guest

USERS = ["anonymous", "other_patient", "other_doctor", "patient", "doctor", "staff"]
# Guests hold a guest link's cookie, no account: this visit's guest, one whose invitation was
# withdrawn, one whose link has expired, and a guest of another visit (telemedicine/guests.py).
GUESTS = ["guest", "revoked_guest", "expired_guest", "other_guest"]
PEOPLE = USERS + GUESTS
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
OUR_ADMIN_APPS = ("admin:appointments_", "admin:telemedicine_")

NOW = dt.datetime(2030, 1, 15, 10, 0, tzinfo=dt.UTC)  # 10:00 on the clinic's clock (GMT)
IN_WINDOW_START = NOW + dt.timedelta(minutes=5)  # the call window opened 5 minutes ago
OUTSIDE_WINDOW_START = NOW + dt.timedelta(days=1)


def routed_urls(patterns=None, namespace=()):
    """(name, pattern) for every URL pattern, walking included URLconfs recursively."""
    for pattern in get_resolver().url_patterns if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            inner = namespace + ((pattern.namespace,) if pattern.namespace else ())
            yield from routed_urls(pattern.url_patterns, inner)
        elif isinstance(pattern, URLPattern):
            yield ":".join((*namespace, pattern.name or "")), pattern


def is_skipped(name: str) -> bool:
    """See the module docstring for why each of these is left out."""
    return (name.startswith("admin:") and not name.startswith(OUR_ADMIN_APPS)) or name.endswith(":")


MATRIX_URLS = sorted({name: pattern for name, pattern in routed_urls() if not is_skipped(name)}.items())


@dataclass(frozen=True)
class Window:
    """A status that depends on the call window: (inside it, outside it)."""

    inside: int
    outside: int


def everyone(status):
    return dict.fromkeys(PEOPLE, status)


def people(anonymous, other_patient, other_doctor, patient, doctor, staff, guests=None):
    """
    Each person's answer. Guests are anonymous visitors to everything but their own pages,
    so they answer as `anonymous` unless `guests` ({guest, revoked_guest, ...}) says otherwise.
    """
    answers = dict(zip(USERS, [anonymous, other_patient, other_doctor, patient, doctor, staff], strict=True))
    return answers | dict.fromkeys(GUESTS, anonymous) | (guests or {})


def guests_only(guest, others):
    """A guest page: this visit's valid guest gets `guest`, every other person `others`."""
    return people(others, others, others, others, others, others, guests={"guest": guest})


WRONG_METHOD = everyone(405)


def methods(otherwise=WRONG_METHOD, **by_method):
    return {method: by_method.get(method, otherwise) for method in METHODS}


# Anonymous -> 302 to the login page; a stranger (even staff) -> 404 on anything of
# an appointment they do not take part in; wrong method -> 405 before anything else.
LOGGED_OUT = 302
PARTICIPANTS_ONLY = people(LOGGED_OUT, 404, 404, 200, 200, 404)
ROOM = people(LOGGED_OUT, 404, 404, Window(200, 403), Window(200, 403), 404)
ADMIN_ONLY_STAFF = people(302, 302, 302, 302, 302, 200)  # 302: the admin's own login page
ADMIN_NO_PERMISSION = people(302, 302, 302, 302, 302, 403)  # staff without the model permission
LOGGED_IN_REDIRECTED = people(200, 302, 302, 302, 302, 302)  # login page: logged-in people go to the dashboard
GUEST_REFUSED = 403  # "This guest link does not work": withdrawn, expired, someone else's, or no link at all

EXPECTED = {
    "home": methods(GET=everyone(302)),
    "login": methods(
        # LoginView: GET and HEAD show the form; POST and PUT (Django's FormView treats PUT
        # as POST) re-show it with errors; OPTIONS lists methods. Logged-in people are sent on.
        GET=LOGGED_IN_REDIRECTED,
        HEAD=LOGGED_IN_REDIRECTED,
        POST=LOGGED_IN_REDIRECTED,
        PUT=LOGGED_IN_REDIRECTED,
        OPTIONS=LOGGED_IN_REDIRECTED,
        otherwise=people(405, 302, 302, 302, 302, 302),
    ),
    "logout": methods(POST=everyone(302), OPTIONS=everyone(200)),
    "healthz": methods(GET=everyone(200), HEAD=everyone(200)),
    "readyz": methods(GET=everyone(200), HEAD=everyone(200)),
    "appointments:dashboard": methods(GET=people(LOGGED_OUT, 200, 200, 200, 200, 200)),
    # An empty form: 200 to show it, 400 with its errors; patients may not schedule.
    "appointments:schedule": methods(
        GET=people(LOGGED_OUT, 403, 200, 403, 200, 200),
        POST=people(LOGGED_OUT, 403, 400, 403, 400, 400),
    ),
    "appointments:reschedule": methods(
        GET=people(LOGGED_OUT, 404, 404, 404, 200, 200),
        POST=people(LOGGED_OUT, 404, 404, 404, 400, 400),
    ),
    # Clinic staff's page of any appointment; everyone else, the visit's own doctor included, 404.
    "appointments:staff-view": methods(GET=people(LOGGED_OUT, 404, 404, 404, 404, 200)),
    # GET asks for confirmation; POST (an empty note is fine) cancels.
    "appointments:cancel": methods(
        GET=people(LOGGED_OUT, 404, 404, 404, 200, 200),
        POST=people(LOGGED_OUT, 404, 404, 404, 302, 302),
    ),
    # Neither visit has started: completing is refused with a message, back to the appointment.
    "appointments:complete": methods(
        GET=people(LOGGED_OUT, 404, 404, 404, 302, 302),
        POST=people(LOGGED_OUT, 404, 404, 404, 302, 302),
    ),
    "telemedicine:appointment-detail-telemedicine": methods(GET=PARTICIPANTS_ONLY),
    "telemedicine:check-telemedicine-status": methods(GET=PARTICIPANTS_ONLY),
    # An empty post switches video off: inside the window it asks for confirmation first (200).
    "telemedicine:toggle-telemedicine": methods(POST=people(LOGGED_OUT, 404, 404, 404, Window(200, 302), 404)),
    "telemedicine:jitsi-room": methods(GET=ROOM),
    # Anyone signed in: the device check uses no appointment; the waiting panel shows only the
    # visits the person is the doctor of (none, for everyone but the doctor here).
    "telemedicine:device-check": methods(GET=people(LOGGED_OUT, 200, 200, 200, 200, 200)),
    "telemedicine:waiting-panel": methods(GET=people(LOGGED_OUT, 200, 200, 200, 200, 200)),
    # An empty report is a bad request, for the two people who may report at all.
    "telemedicine:call-event": methods(POST=people(LOGGED_OUT, 404, 404, 400, 400, 404)),
    # A link without its token signs nobody in, whoever asks; an empty request is a bad form.
    "telemedicine:sign-in": methods(GET=everyone(403)),
    # A guest's own pages answer to their link's cookie only; without a valid one, nothing opens.
    "telemedicine:guest-open": methods(GET=everyone(GUEST_REFUSED)),  # the link without its token
    "telemedicine:guest-room": methods(GET=guests_only(Window(200, 200), GUEST_REFUSED)),  # room, or waiting card
    "telemedicine:guest-status": methods(GET=guests_only(200, GUEST_REFUSED)),
    "telemedicine:guest-call-event": methods(POST=guests_only(400, 404)),  # an empty report is a bad request
    # Inviting: the doctor (the patient only when allowed); an empty form is 400.
    "telemedicine:invite-guest": methods(POST=people(LOGGED_OUT, 404, 404, 404, 400, 404)),
    "telemedicine:guest-policy": methods(POST=people(LOGGED_OUT, 404, 404, 404, 302, 404)),
    "telemedicine:revoke-guest": methods(POST=people(LOGGED_OUT, 404, 404, 404, 302, 404)),
    "telemedicine:sign-in-request": methods(POST=everyone(400)),
    # Passwords: Django's own views (FormView answers PUT like POST, HEAD like GET).
    "password_reset": methods(**dict.fromkeys(["GET", "HEAD", "POST", "PUT", "OPTIONS"], everyone(200))),
    "password_reset_done": methods(**dict.fromkeys(["GET", "HEAD", "OPTIONS"], everyone(200))),
    # A link that is not valid shows "this link no longer works", whatever the method.
    "password_reset_confirm": methods(otherwise=everyone(200)),
    "password_reset_complete": methods(**dict.fromkeys(["GET", "HEAD", "OPTIONS"], everyone(200))),
    "password_change": methods(
        GET=people(LOGGED_OUT, 200, 200, 200, 200, 200),
        POST=people(LOGGED_OUT, 400, 400, 400, 400, 400),
    ),
    # login_required decides before the method is looked at.
    "password_change_done": methods(
        **dict.fromkeys(["GET", "HEAD", "OPTIONS"], people(LOGGED_OUT, 200, 200, 200, 200, 200)),
        otherwise=people(LOGGED_OUT, 405, 405, 405, 405, 405),
    ),
    # The admin answers every method like GET (POST with an empty form re-shows it).
    **{
        f"admin:appointments_appointment_{page}": methods(otherwise=ADMIN_ONLY_STAFF)
        for page in ["changelist", "add", "history", "delete", "change"]
    },
    # The outbox and patients' phone numbers: staff with the permission (the fixture's staff has none).
    **{
        f"admin:appointments_{model}_{page}": methods(otherwise=ADMIN_NO_PERMISSION)
        for model in ["notification", "patientprofile"]
        for page in ["changelist", "add", "delete", "change"]
    },
    # History of an object that does not exist: the admin sends staff back to its index.
    **{
        f"admin:appointments_{model}_history": methods(otherwise=everyone(302))
        for model in ["notification", "patientprofile"]
    },
    # Guests, read-only: staff with the permission (the fixture's staff has none).
    **{
        f"admin:telemedicine_guest_{page}": methods(otherwise=ADMIN_NO_PERMISSION)
        for page in ["changelist", "add", "history", "delete", "change"]
    },
    # The audit trail: superusers only (the clinic's staff have no permission on it).
    **{
        f"admin:telemedicine_accessevent_{page}": methods(otherwise=ADMIN_NO_PERMISSION)
        for page in ["changelist", "add", "delete", "change", "export"]
    },
    "admin:telemedicine_accessevent_history": methods(otherwise=everyone(302)),
}


def room_name_may_show(url_name, person, method, inside_window) -> bool:
    """The only answers that may carry the room name."""
    if url_name == "telemedicine:jitsi-room":
        return person in {"patient", "doctor"} and method == "GET" and inside_window
    if url_name == "telemedicine:guest-room":
        return person == "guest" and method == "GET" and inside_window
    # Issue 4: the admin shows clinic staff the appointment with its room name, read-only.
    return url_name == "admin:appointments_appointment_change" and person == "staff" and method != "HEAD"


def test_every_routed_url_has_expectations():
    names = {name for name, _ in MATRIX_URLS}
    assert not names - EXPECTED.keys(), "Decide who may use these URLs and add them to EXPECTED"
    assert not EXPECTED.keys() - names, "EXPECTED lists URLs that are no longer routed"


def test_every_url_outside_the_admin_is_named():
    unnamed = [str(pattern.pattern) for name, pattern in routed_urls() if name.endswith(":") or not name]
    assert all(route.startswith(("<path:object_id>/", "(?P<url>", "^(?P<url>")) for route in unnamed), unnamed


@pytest.fixture
def log_records(caplog):
    """Every record of every logger, including the non-propagating telemedicine/appointments ones."""
    own = [logging.getLogger(name) for name in ("telemedicine", "appointments", "project", "django", "axes")]
    for logger in own:
        logger.addHandler(caplog.handler)
    caplog.set_level(logging.DEBUG)
    yield caplog  # caplog.records is read after the requests: the list of the test's own phase
    for logger in own:
        logger.removeHandler(caplog.handler)


def make_guests(appointment, other_visit, doctor) -> dict:
    """This visit's guests (valid, withdrawn, expired link) and another visit's, with their cookies."""
    made = {
        "guest": Guest.objects.create(
            appointment=appointment, name="Ivy Interpreter", email="ivy@example.org", invited_by=doctor
        ),
        "revoked_guest": Guest.objects.create(
            appointment=appointment, name="Rex Revoked", email="rex@example.org", invited_by=doctor, revoked_at=NOW
        ),
        "expired_guest": Guest.objects.create(
            appointment=appointment, name="Eve Expired", email="eve@example.org", invited_by=doctor
        ),
        "other_guest": Guest.objects.create(
            appointment=other_visit, name="Otto Other", email="otto@example.org", invited_by=doctor
        ),
    }
    cookies = {name: guests.link_token(guest) for name, guest in made.items()}
    cookies["expired_guest"] = ExpiredSigner(salt=guests.SALT).sign_object(made["expired_guest"].pk)
    return {"guests": made, "cookies": cookies}


class ExpiredSigner(signing.TimestampSigner):
    """Signs as guests.link_token() does, one second too long ago to be accepted."""

    def timestamp(self):
        return signing.b62_encode(int(NOW.timestamp()) - guests.link_max_age() - 1)


def url_kwargs(pattern, appointment, person=None, visit_guests=None, url_name="") -> dict:
    """What goes into a URL's parameters: the appointment's id, or something of that appointment."""
    from telemedicine.models import SignInLink

    kwargs = {}
    for name in pattern.pattern.converters:
        if name == "object_id" and url_name.startswith("admin:telemedicine_guest_"):
            kwargs[name] = visit_guests[appointment.pk]["guests"]["guest"].pk  # the guest's own admin page
        elif name == "guest_id":
            # Withdrawn and expired guests try their own pages; everyone else this visit's guest's.
            own = person if person in ("revoked_guest", "expired_guest") else "guest"
            kwargs[name] = visit_guests[appointment.pk]["guests"][own].pk
        elif name == "link_id":
            link = SignInLink.objects.create(
                user=appointment.patient, appointment=appointment, expires_at=appointment.starts_at
            )
            kwargs[name] = link.pk
        else:
            kwargs[name] = appointment.pk
    return kwargs


def send(client, method, url):
    return client.generic(method, url, "", content_type="application/x-www-form-urlencoded")


@pytest.mark.parametrize("person", PEOPLE)
@pytest.mark.parametrize("url_name,pattern", MATRIX_URLS, ids=[name for name, _ in MATRIX_URLS])
def test_authorization_matrix(url_name, pattern, person, request, make_appointment, log_records):
    assert url_name in EXPECTED, f"{url_name} is routed but has no expectations: add it to EXPECTED"
    for fixture in USERS[1:]:
        request.getfixturevalue(fixture)  # everyone exists, whoever asks
    with freeze_time(NOW):
        appointments = {
            True: make_appointment(starts_at=IN_WINDOW_START, is_telemedicine=True),
            False: make_appointment(starts_at=OUTSIDE_WINDOW_START, is_telemedicine=True),
        }
        other_visit = make_appointment(starts_at=IN_WINDOW_START + dt.timedelta(hours=1), is_telemedicine=True)
        doctor = request.getfixturevalue("doctor")
        visit_guests = {
            pk: make_guests(appointment, other_visit, doctor)
            for pk, appointment in ((a.pk, a) for a in appointments.values())
        }
        room_names = {appointment.get_jitsi_room_name() for appointment in [*appointments.values(), other_visit]}
        actual, expected, leaks = {}, {}, []
        # One client (each new Client loads every middleware, whitenoise's file scan included).
        client = Client()
        if person in USERS and person != "anonymous":
            client.force_login(request.getfixturevalue(person))
        for inside_window, appointment in appointments.items():
            if person in GUESTS:
                client.cookies[guests.COOKIE_NAME] = visit_guests[appointment.pk]["cookies"][person]
            url = reverse(url_name, kwargs=url_kwargs(pattern, appointment, person, visit_guests, url_name))
            for method in METHODS:
                # A logout ends the session: log in again before the next request.
                if url_name == "logout" and person in USERS and person != "anonymous":
                    client.force_login(request.getfixturevalue(person))
                response = send(client, method, url)
                label = f"{method} {'inside' if inside_window else 'outside'} window"
                want = EXPECTED[url_name][method][person]
                expected[label] = (want.inside if inside_window else want.outside) if isinstance(want, Window) else want
                actual[label] = response.status_code
                if url_name in ("telemedicine:jitsi-room", "telemedicine:guest-room") and room_name_may_show(
                    url_name, person, method, inside_window
                ):
                    # The one place it must be: proves the search below would find a leak.
                    assert appointment.jitsi_room_name in response.content.decode()
                elif not room_name_may_show(url_name, person, method, inside_window):
                    shown = response.content.decode(errors="replace") + repr(sorted(response.headers.items()))
                    leaks += [label for name in room_names if name in shown]
                # Undo what the request changed (a toggle, a cancel) so both cases start alike.
                type(appointment).objects.filter(pk=appointment.pk).update(status="scheduled", is_telemedicine=True)
                Guest.objects.filter(pk=visit_guests[appointment.pk]["guests"]["guest"].pk).update(revoked_at=None)
            if not pattern.pattern.converters:
                break  # no appointment in the URL: one round of methods says it all
    assert actual == expected
    assert not leaks, f"room name shown to {person}: {leaks}"
    logged = [record.getMessage() + repr(record.args) for record in log_records.records]
    assert logged, "the requests' log lines were caught (every person meets a 405 at least)"
    assert not [line for line in logged for name in room_names if name in line], "room name in the logs"
