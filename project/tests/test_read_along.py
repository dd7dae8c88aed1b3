"""
What is read along with the session (project/sessions/read_along.py): only for the code that
asks, in the same block, for exactly those keys, once; a wrong guess changes nothing but the
number of round trips. Round trips to a real Redis: project/tests/test_redis.py.
"""

import pytest
from django.conf import settings
from django.core.cache.backends.locmem import LocMemCache
from django.test import Client
from django.urls import reverse

from appointments.auth_backends import CachedModelBackend
from conftest import PASSWORD
from project.sessions import read_along
from project.sessions.read_along import read_session, reading_along, remember_user

SESSION = "s3ss10nkey0000000000000000000001"


class Spy(LocMemCache):
    """A local cache that notes how it was asked."""

    def __init__(self):
        super().__init__("read-along-test", {})
        self.asked: list[tuple[str, object]] = []

    def get(self, key, default=None, version=None):
        self.asked.append(("get", key))
        return super().get(key, default, version)

    def get_many(self, keys, version=None):
        self.asked.append(("get_many", list(keys)))
        # BaseCache.get_many() asks get() for each key: one question all the same.
        found = {}
        for key in keys:
            value = super().get(key, version=version)
            if value is not None:
                found[key] = value
        return found


@pytest.fixture
def spy():
    cache = Spy()
    cache.set("session", {"who": 7})
    cache.set("user:7", "seven")
    cache.set("roles", "r1")
    return cache


@pytest.fixture(autouse=True)
def no_sessions_known(monkeypatch):
    monkeypatch.setattr(read_along, "_users", {})


def keys_for(user_id):
    return [f"user:{user_id}", f"version:{user_id}", "roles"]


def test_outside_a_block_the_session_is_read_alone(spy):
    remember_user(SESSION, 7)
    assert read_session(spy, "session", SESSION, "default") == {"who": 7}
    assert spy.asked == [("get", "session")]
    assert read_along.read_along(keys_for(7)) is None


def test_a_session_this_process_has_not_seen_is_read_alone(spy):
    with reading_along(keys_for):
        assert read_session(spy, "session", SESSION, "default") == {"who": 7}
        assert read_along.read_along(keys_for(7)) is None
    assert spy.asked == [("get", "session")]


def test_a_known_session_brings_its_users_entries_once(spy):
    remember_user(SESSION, 7)
    with reading_along(keys_for):
        assert read_session(spy, "session", SESSION, "default") == {"who": 7}
        assert spy.asked == [("get_many", ["session", "user:7", "version:7", "roles"])]
        # Another person's keys, or the same in another order: not what was read.
        assert read_along.read_along(keys_for(8)) is None
        assert read_along.read_along(list(reversed(keys_for(7)))) is None
        # As cache.get_many() answers: the keys found only.
        assert read_along.read_along(keys_for(7)) == {"user:7": "seven", "roles": "r1"}
        assert read_along.read_along(keys_for(7)) is None  # given once
    assert read_along.read_along(keys_for(7)) is None


def test_nothing_read_along_outlives_its_block(spy):
    remember_user(SESSION, 7)
    with reading_along(keys_for):
        read_session(spy, "session", SESSION, "default")
    with reading_along(keys_for):
        assert read_along.read_along(keys_for(7)) is None


def test_a_session_in_another_cache_reads_nothing_along(spy):
    remember_user(SESSION, 7)
    with reading_along(keys_for, cache_alias="default"):
        read_session(spy, "session", SESSION, "sessions")
        assert read_along.read_along(keys_for(7)) is None
    assert spy.asked == [("get", "session")]


def test_a_missing_session_is_none_and_its_entries_still_read(spy):
    remember_user(SESSION, 7)
    with reading_along(keys_for):
        assert read_session(spy, "gone", SESSION, "default") is None
        assert read_along.read_along(keys_for(7)) == {"user:7": "seven", "roles": "r1"}


def test_the_sessions_known_are_bounded_and_no_key_is_kept(monkeypatch):
    monkeypatch.setattr(read_along, "KNOWN_SESSIONS", 3)
    for n in range(5):
        remember_user(f"session-{n}", n)
    assert list(read_along._users.values()) == [2, 3, 4]
    assert not any(isinstance(key, str) for key in read_along._users)


def logged_in(user) -> Client:
    client = Client()
    assert client.post(reverse("login"), {"username": user.get_username(), "password": PASSWORD}).status_code == 302
    return client


def noting(monkeypatch) -> list:
    """What the user's backend was given of what had been read along, request by request."""
    given = []
    real = read_along.read_along

    def noted(keys):
        given.append(real(keys))
        return given[-1]

    monkeypatch.setattr("appointments.auth_backends.read_along", noted)
    return given


def test_a_signed_in_request_reads_its_user_along_from_its_second_request(db, patient, monkeypatch):
    client = logged_in(patient)
    dashboard = reverse("appointments:dashboard")
    given = noting(monkeypatch)
    for _ in range(4):
        assert client.get(dashboard).wsgi_request.user.pk == patient.pk
    # The first: this process learns whose session it is (and caches the user). Then the user's
    # cached copy, its version and the roles generation, read along.
    assert given[0] is None
    for entries in given[1:]:
        assert set(entries) == {f"auth-user:{patient.pk}", f"auth-user-version:{patient.pk}", "auth-roles-generation"}
        assert entries[f"auth-user:{patient.pk}"][2] == patient


def test_a_wrong_guess_still_gives_the_sessions_own_user(db, patient, doctor, monkeypatch):
    """The session says who is signed in; what was read along for someone else is never used."""
    client = logged_in(patient)
    dashboard = reverse("appointments:dashboard")
    for _ in range(2):
        assert client.get(dashboard).wsgi_request.user.pk == patient.pk
    CachedModelBackend().get_user(doctor.pk)  # the doctor's copy cached too
    CachedModelBackend().get_user(doctor.pk)
    remember_user(client.cookies[settings.SESSION_COOKIE_NAME].value, doctor.pk)
    given = noting(monkeypatch)
    response = client.get(dashboard)
    assert response.status_code == 200
    assert response.wsgi_request.user.pk == patient.pk
    assert given == [None]
