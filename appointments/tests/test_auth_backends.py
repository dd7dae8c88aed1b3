"""
The logged-in user comes from the cache (appointments/auth_backends.py), and every
change to them made through the ORM counts from the next request.
"""

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from freezegun import freeze_time

from appointments.auth_backends import USER_CACHE_SECONDS
from appointments.roles import DOCTORS_GROUP
from conftest import PASSWORD

NOW = dt.datetime(2030, 1, 15, 9, 0, tzinfo=dt.UTC)
DASHBOARD = reverse("appointments:dashboard")


def logged_in(user) -> Client:
    client = Client()
    assert client.post(reverse("login"), {"username": user.get_username(), "password": PASSWORD}).status_code == 302
    return client


def is_logged_in(client) -> bool:
    response = client.get(DASHBOARD)
    assert response.status_code in (200, 302)
    return response.status_code == 200


def user_queries(client) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(DASHBOARD).status_code == 200
    return [query["sql"] for query in captured.captured_queries if 'FROM "auth_user"' in query["sql"]]


@pytest.fixture
def client(patient):
    with freeze_time(NOW):
        yield logged_in(patient)


def test_the_user_is_read_from_the_database_once_then_from_the_cache(client):
    assert len(user_queries(client)) == 1
    assert user_queries(client) == []


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda user: setattr(user, "is_active", False) or user.save(), id="deactivated"),
        pytest.param(lambda user: user.set_password("a-new-secret-2030") or user.save(), id="password-changed"),
        pytest.param(lambda user: user.delete(), id="deleted"),
    ],
)
def test_a_change_to_the_user_counts_from_the_next_request(client, make_user, change):
    user = make_user("leaving")  # no appointments, so it can be deleted
    other = logged_in(user)
    assert is_logged_in(other)  # now cached
    change(get_user_model().objects.get(pk=user.pk))
    assert not is_logged_in(other)
    assert is_logged_in(client)  # other people are unaffected


@pytest.mark.parametrize("later,still_in", [(USER_CACHE_SECONDS - 1, True), (USER_CACHE_SECONDS, False)])
def test_a_change_behind_the_orms_back_counts_within_the_cache_lifetime(client, patient, later, still_in):
    with freeze_time(NOW) as clock:
        assert is_logged_in(client)  # cached at NOW
        get_user_model().objects.filter(pk=patient.pk).update(is_active=False)
        clock.tick(later)
        assert is_logged_in(client) is still_in


# --- What the cached user knows of their roles (permissions, the Doctors group) ------------

SCHEDULE = reverse("appointments:schedule")


def may_schedule(client) -> bool:
    status = client.get(SCHEDULE).status_code
    assert status in (200, 403)
    return status == 200


def role_queries(client) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(DASHBOARD).status_code == 200
    return [
        query["sql"]
        for query in captured.captured_queries
        if '"auth_group' in query["sql"] or "auth_permission" in query["sql"]
    ]


def test_a_cached_doctor_is_asked_no_role_query(doctor):
    client = logged_in(doctor)
    client.get(DASHBOARD)  # the user is cached from their second request on
    client.get(DASHBOARD)
    assert role_queries(client) == []
    assert may_schedule(client)


def doctors():
    return Group.objects.get(name=DOCTORS_GROUP)


def add_appointment():
    return Permission.objects.get(content_type__app_label="appointments", codename="add_appointment")


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda user: user.groups.remove(doctors()), id="user.groups.remove"),
        pytest.param(lambda user: user.groups.clear(), id="user.groups.clear"),
        pytest.param(lambda user: doctors().user_set.remove(user), id="group.user_set.remove"),
        pytest.param(lambda user: doctors().user_set.clear(), id="group.user_set.clear"),
        pytest.param(lambda user: doctors().permissions.remove(add_appointment()), id="group.permissions.remove"),
        pytest.param(lambda user: add_appointment().group_set.clear(), id="permission.group_set.clear"),
        pytest.param(lambda user: add_appointment().delete(), id="permission-deleted"),
        pytest.param(lambda user: doctors().delete(), id="group-deleted"),
    ],
)
def test_a_role_taken_away_counts_from_the_next_request(doctor, change):
    client = logged_in(doctor)
    for _ in range(3):
        assert may_schedule(client)  # cached, with its permissions
    change(doctor)
    assert not may_schedule(client)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda user: user.groups.add(doctors()), id="user.groups.add"),
        pytest.param(lambda user: doctors().user_set.add(user), id="group.user_set.add"),
        pytest.param(lambda user: user.user_permissions.add(add_appointment()), id="user.user_permissions.add"),
        pytest.param(lambda user: add_appointment().user_set.add(user), id="permission.user_set.add"),
        pytest.param(lambda user: user.groups.first().permissions.add(add_appointment()), id="group.permissions.add"),
    ],
)
def test_a_role_given_counts_from_the_next_request(patient, change):
    client = logged_in(patient)
    for _ in range(3):
        assert not may_schedule(client)
    change(patient)
    assert may_schedule(client)


def test_a_role_change_for_one_person_leaves_the_others_cached(doctor, other_doctor):
    mine, theirs = logged_in(doctor), logged_in(other_doctor)
    for client in (mine, theirs, mine, theirs):
        client.get(DASHBOARD)
    doctor.groups.remove(doctors())
    assert not may_schedule(mine)
    assert user_queries(theirs) == []
