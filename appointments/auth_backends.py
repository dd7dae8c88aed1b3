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

A change made behind the ORM's back (QuerySet.update(), raw SQL) is seen within
USER_CACHE_SECONDS.
"""

import uuid

from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache
from django.db import transaction

USER_CACHE_SECONDS = 5 * 60
# Any lifetime is safe (no version, no cached copy used); a day spares the cache a key
# for every user ever saved.
USER_VERSION_SECONDS = 24 * 60 * 60


def user_cache_key(user_id) -> str:
    return f"auth-user:{user_id}"


def user_version_key(user_id) -> str:
    return f"auth-user-version:{user_id}"


class CachedModelBackend(ModelBackend):
    def get_user(self, user_id):
        key, version_key = user_cache_key(user_id), user_version_key(user_id)
        # One round trip, as a plain get would be.
        found = cache.get_many([key, version_key])
        version = found.get(version_key)
        cached = found.get(key)
        if version is not None and isinstance(cached, tuple) and cached[0] == version:
            user = cached[1]
        else:
            # The version is read before the row: if the user changes meanwhile, the
            # token is replaced after that commit and this copy is never used again.
            user = super().get_user(user_id)  # None if there is no such user, or they are inactive
            if version is None:
                # First sight (or evicted): start a version; cache from the next request on.
                cache.add(version_key, uuid.uuid4().hex, USER_VERSION_SECONDS)
            elif user is not None:
                cache.set(key, (version, user), USER_CACHE_SECONDS)
        return user if self.user_can_authenticate(user) else None


def new_user_version(user_id) -> None:
    """Outdate every cached copy of the user, in every process sharing the cache."""
    cache.set(user_version_key(user_id), uuid.uuid4().hex, USER_VERSION_SECONDS)


def forget_cached_user(sender, instance, **kwargs):
    """post_save / post_delete: outdate the cached user now, and again once the change is committed."""
    user_id = instance.pk
    new_user_version(user_id)
    transaction.on_commit(lambda: new_user_version(user_id))
