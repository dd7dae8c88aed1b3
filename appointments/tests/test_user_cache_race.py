"""
Finding 1 of issue 16: a change to a person that removes their access (deactivation,
losing is_staff or is_superuser) counts from the first request after its commit, even
when another of their requests reads the user while the change is still uncommitted.

The admin saves a user inside a transaction; `post_save` fires before the commit. A
request arriving in that gap misses the cache, reads the old (committed) row and puts
it back in the cache; so the person stayed signed in for the cache's lifetime. Threads
on a real database (SQLite tests use a file, PostgreSQL when DATABASE_URL points to
one) are forced to interleave at the two worst moments.
"""

import threading
from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.db import transaction
from django.test import Client
from django.urls import reverse

from telemedicine.tests.test_concurrency import run_together

pytestmark = pytest.mark.django_db(transaction=True)

DASHBOARD = reverse("appointments:dashboard")
ADMIN = reverse("admin:index")
WAIT = 10  # seconds any step may wait for the other thread before the test fails


def deactivate(user):
    user.is_active = False


def demote_staff(user):
    user.is_staff = False


def demote_superuser(user):
    user.is_superuser = False


# (change, the page that tells whether the person still has the access, who they are)
CHANGES = [
    pytest.param(deactivate, DASHBOARD, {}, id="deactivated"),
    pytest.param(demote_staff, ADMIN, {"is_staff": True}, id="staff-removed"),
    pytest.param(
        demote_superuser,
        reverse("admin:telemedicine_accessevent_changelist"),
        {"is_staff": True, "is_superuser": True},
        id="superuser-removed",
    ),
]


def signed_in(make_user, **fields):
    user = make_user("someone", **fields)
    client = Client()
    client.force_login(user)
    return user, client


@pytest.mark.parametrize("cache_write", ["before-commit", "after-commit"])
@pytest.mark.parametrize("change,page,fields", CHANGES)
def test_a_request_during_the_change_does_not_keep_the_old_user(make_user, change, page, fields, cache_write):
    """
    before-commit: the request reads the old row and caches it while the change waits to commit.
    after-commit: it reads the old row before the commit but writes the cache after the commit
    (and after anything done on commit), the narrowest gap.
    """
    user, client = signed_in(make_user, **fields)
    assert client.get(page).status_code == 200  # cached now
    saved, read_old_row, committed = threading.Event(), threading.Event(), threading.Event()
    real_get_user = ModelBackend.get_user

    def read_then_maybe_wait(backend, user_id):
        found = real_get_user(backend, user_id)
        read_old_row.set()
        if cache_write == "after-commit":
            assert committed.wait(WAIT), "the change never committed"
        return found

    def administrator():
        with transaction.atomic():
            person = get_user_model().objects.get(pk=user.pk)
            change(person)
            person.save()
            saved.set()
            assert read_old_row.wait(WAIT), "the request never read the user"
        committed.set()

    def request_in_the_gap():
        assert saved.wait(WAIT), "the change was never saved"
        return client.get(page).status_code

    with mock.patch.object(ModelBackend, "get_user", read_then_maybe_wait):
        _, during = run_together(administrator, request_in_the_gap)
    assert during == 200  # a request already under way may still finish as before

    assert client.get(page).status_code != 200  # the first request after the commit no longer has the access


def test_a_change_that_rolls_back_leaves_the_person_signed_in(make_user):
    user, client = signed_in(make_user)
    assert client.get(DASHBOARD).status_code == 200

    def deactivate_then_fail():
        with transaction.atomic():
            person = get_user_model().objects.get(pk=user.pk)
            person.is_active = False
            person.save()
            raise RuntimeError("the admin's save failed")

    with pytest.raises(RuntimeError):
        deactivate_then_fail()
    assert client.get(DASHBOARD).status_code == 200
