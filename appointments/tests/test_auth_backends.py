"""
The logged-in user comes from the cache (appointments/auth_backends.py), and every
change to them made through the ORM counts from the next request.
"""

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from freezegun import freeze_time

from appointments.auth_backends import USER_CACHE_SECONDS
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
