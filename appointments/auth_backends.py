"""
Who is making a request, without a database query on every request.

Django's ModelBackend loads the logged-in user from the database for each request:
for a waiting patient's status card, every 10 s, that was one of its two queries and
most of what any logged-in request costs (docs/performance.md). CachedModelBackend keeps the user in
the cache (Redis in production, shared by every instance) and goes to the database
on a miss.

The cached copy is dropped whenever the user is saved or deleted (the signal
receivers below, connected in AppointmentsConfig.ready), so a password change (which
also ends the person's other sessions), a deactivation or a deletion counts from the
very next request. A change made behind the ORM's back (QuerySet.update(), raw SQL)
is seen within USER_CACHE_SECONDS.
"""

from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache

USER_CACHE_SECONDS = 5 * 60


def user_cache_key(user_id) -> str:
    return f"auth-user:{user_id}"


class CachedModelBackend(ModelBackend):
    def get_user(self, user_id):
        key = user_cache_key(user_id)
        user = cache.get(key)
        if user is None:
            user = super().get_user(user_id)  # None if there is no such user, or they are inactive
            if user is not None:
                cache.set(key, user, USER_CACHE_SECONDS)
        return user if self.user_can_authenticate(user) else None


def forget_cached_user(sender, instance, **kwargs):
    cache.delete(user_cache_key(instance.pk))
