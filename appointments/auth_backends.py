"""
Who is making a request, without a database query on every request.

Django's ModelBackend loads the logged-in user from the database for each request:
for a waiting patient's status card, every 10 s, that was one of its two queries and
most of what any logged-in request costs (docs/performance.md). CachedModelBackend keeps the user in
the cache (Redis in production, shared by every instance) and goes to the database
on a miss.

Each cached copy is stamped with the user's current *version*, a random token kept
under its own key; a copy whose stamp is not the current token is never used. Saving
or deleting a user (the signal receivers below, connected in AppointmentsConfig.ready)
replaces the token at once and again once the transaction commits. The second
replacement is what makes a deactivation, or the loss of is_staff or is_superuser,
count from the very first request after the commit: the admin saves inside a
transaction, so a request arriving before the commit reads the old row and caches it,
and only a token replaced after the commit outdates that copy (issue 16, finding 1;
appointments/tests/test_user_cache_race.py). Deleting the cached copy instead would
still lose to a request that read the old row before the commit and wrote the cache
after it.

The cached copy carries what the pages ask of who the person is: their permissions
(ModelBackend keeps them on the user object, so has_perm() asks no query) and whether they
are a doctor (appointments.roles.is_doctor). A doctor's dashboard asked three queries for
them on every load. Those answers change without the user being saved, so more receivers
outdate them: a change to a person's groups or own permissions replaces that person's
version (both ways round: user.groups.add(group) and group.user_set.add(user)); a change to
a group's permissions, or to a group or a permission itself, replaces the *roles
generation*, a token every cached copy is stamped with as well, which outdates everyone's
(rare: the clinic's configuration). Both are replaced at once and again after the commit,
as above (appointments/tests/test_auth_backends.py).

A change made behind the ORM's back (QuerySet.update(), raw SQL) is seen within
USER_CACHE_SECONDS.
"""

import uuid
from functools import partial

from django.contrib import auth
from django.contrib.auth import middleware as auth_middleware
from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache
from django.db import transaction
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from project.sessions.read_along import read_along, reading_along, remember_user

from .roles import is_doctor

USER_CACHE_SECONDS = 5 * 60
# Any lifetime is safe (no version, no cached copy used); a day spares the cache a key
# for every user ever saved.
USER_VERSION_SECONDS = 24 * 60 * 60


def user_cache_key(user_id) -> str:
    return f"auth-user:{user_id}"


def user_version_key(user_id) -> str:
    return f"auth-user-version:{user_id}"


ROLES_GENERATION_KEY = "auth-roles-generation"


def start_token(key: str) -> str | None:
    """A new token under `key`, unless another request has just started one (then None)."""
    token = uuid.uuid4().hex
    return token if cache.add(key, token, USER_VERSION_SECONDS) else None


class CachedModelBackend(ModelBackend):
    @staticmethod
    def cache_keys(user_id) -> list[str]:
        """What get_user() reads of the cache: the copy, its version, the roles generation."""
        return [user_cache_key(user_id), user_version_key(user_id), ROLES_GENERATION_KEY]

    def get_user(self, user_id):
        keys = self.cache_keys(user_id)
        key, version_key, _ = keys
        # Read along with the session when AuthenticationMiddleware asks (no round trip of its
        # own), else in one round trip, as a plain get would be.
        found = read_along(keys)
        if found is None:
            found = cache.get_many(keys)
        stamp = (found.get(version_key), found.get(ROLES_GENERATION_KEY))
        cached = found.get(key)
        if None not in stamp and isinstance(cached, tuple) and cached[:2] == stamp:
            user = cached[2]
        else:
            # The stamp is read before the rows: if the user or the roles change meanwhile,
            # a token is replaced after that commit and this copy is never used again.
            version, generation = stamp
            if generation is None:
                # The first user since the cache started (or evicted it): before the rows are read.
                generation = start_token(ROLES_GENERATION_KEY)
            user = super().get_user(user_id)  # None if there is no such user, or they are inactive
            if version is None:
                # First sight of this user (or evicted): start a version; cache from the next request on.
                start_token(version_key)
            elif generation is not None and user is not None:
                self.remember_roles(user)
                cache.set(key, (version, generation, user), USER_CACHE_SECONDS)
        return user if self.user_can_authenticate(user) else None

    def remember_roles(self, user) -> None:
        """Ask now what the pages will ask of `user`: the answers are kept on the object, and cached with it."""
        self.get_all_permissions(user)  # ModelBackend's _perm_cache, _user_perm_cache and _group_perm_cache
        is_doctor(user)


def user_reading_along(request: HttpRequest):
    """
    Django's request.user, with the user's cache entries read in the session's round trip
    (project/sessions/read_along.py): from this session's second request in a process on.
    """
    with reading_along(keys_for=CachedModelBackend.cache_keys):
        user = auth.get_user(request)
    if user.is_authenticated:
        remember_user(request.session.session_key, user.pk)
    return user


class AuthenticationMiddleware(auth_middleware.AuthenticationMiddleware):
    """Django's (MIDDLEWARE), with request.user read by user_reading_along()."""

    def process_request(self, request):
        super().process_request(request)
        request.user = SimpleLazyObject(partial(user_reading_along, request))


def new_user_version(user_id) -> None:
    """Outdate every cached copy of the user, in every process sharing the cache."""
    cache.set(user_version_key(user_id), uuid.uuid4().hex, USER_VERSION_SECONDS)


def forget_cached_user(sender, instance, **kwargs):
    """post_save / post_delete: outdate the cached user now, and again once the change is committed."""
    user_id = instance.pk
    new_user_version(user_id)
    transaction.on_commit(lambda: new_user_version(user_id))


def new_roles_generation() -> None:
    """Outdate every cached user, in every process sharing the cache."""
    cache.set(ROLES_GENERATION_KEY, uuid.uuid4().hex, USER_VERSION_SECONDS)


def forget_cached_roles(sender, **kwargs):
    """
    post_save / post_delete of a Group or a Permission, m2m_changed of a group's permissions:
    outdate every cached user now, and again once the change is committed.
    """
    if kwargs.get("action", "post_").startswith("post_"):
        new_roles_generation()
        transaction.on_commit(new_roles_generation)


def forget_cached_members(sender, instance, action, reverse, pk_set, **kwargs):
    """
    m2m_changed of a person's groups or own permissions: outdate the people concerned, now and
    once the change is committed. From the group's side (group.user_set.add(...)) they are
    pk_set; a group's clear() names nobody afterwards, so its members are outdated before it.
    """
    if action not in {"pre_clear", "post_add", "post_remove", "post_clear"}:
        return
    if not reverse:  # user.groups.add(...), user.user_permissions.remove(...), user.groups.clear()
        user_ids = [instance.pk]
    elif action == "pre_clear":  # group.user_set.clear()
        user_ids = list(instance.user_set.values_list("pk", flat=True))
    else:
        user_ids = list(pk_set or ())

    def outdate():
        for user_id in user_ids:
            new_user_version(user_id)

    outdate()
    transaction.on_commit(outdate)
