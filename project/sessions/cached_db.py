"""
Django's cached database sessions, except that an unreachable cache is an outage.

Django's store reads the database when the cache fails, then fails to write the cache
copy back. Reading past the cache would be worse than refusing: a logout during the
outage deletes the database row but cannot delete the cache's copy, which the cache (a
Redis that was only unreachable, or that kept its data) serves again once it is back, a
signed-out session alive again until it expires. So an unreachable cache is a 503 here,
and deleting a session removes the cache's copy first: if that fails nothing is deleted,
and the logout fails visibly instead of half-way.
"""

from collections.abc import Callable
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.sessions.backends import cached_db
from django.core.cache.backends.base import BaseCache

from project.outages import OUTAGE_ERRORS

from .read_along import read_session

if TYPE_CHECKING:
    from django.contrib.sessions.models import Session


class SessionStore(cached_db.SessionStore):
    # Django's, which django-stubs leave out.
    _cache: BaseCache
    _get_session_from_db: Callable[[], "Session | None"]

    def load(self):
        # Django's load(), with the outage let through, and what the request reads next read along.
        try:
            cache_key = self.cache_key  # makes a new session its key
            data = read_session(self._cache, cache_key, self.session_key, settings.SESSION_CACHE_ALIAS)
        except OUTAGE_ERRORS:
            raise
        except Exception:
            data = None  # a key the cache refuses: read the database (as Django does)
        if data is None:
            stored = self._get_session_from_db()
            if stored:
                data = self.decode(stored.session_data)
                self._cache.set(self.cache_key, data, self.get_expiry_age(expiry=stored.expire_date))
            else:
                data = {}
        return data

    def delete(self, session_key=None):
        if session_key is None:
            if self.session_key is None:
                return
            session_key = self.session_key
        self._cache.delete(self.cache_key_prefix + session_key)
        super(cached_db.SessionStore, self).delete(session_key)  # the database row (DBStore.delete)
