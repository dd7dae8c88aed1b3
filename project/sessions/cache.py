"""Django's cache sessions, except that an unreachable cache is an outage, not "no session"."""

from django.conf import settings
from django.contrib.sessions.backends import cache
from django.core.cache.backends.base import BaseCache

from project.outages import OUTAGE_ERRORS

from .read_along import read_session


class SessionStore(cache.SessionStore):
    _cache: BaseCache  # Django's, set in __init__ (django-stubs leave it out)

    def load(self):
        # Django's load(), with the outage let through, and what the request reads next read along.
        try:
            cache_key = self.cache_key  # makes a new session its key
            session_data = read_session(self._cache, cache_key, self.session_key, settings.SESSION_CACHE_ALIAS)
        except OUTAGE_ERRORS:
            raise
        except Exception:
            session_data = None  # a key the cache refuses: no session (as Django does)
        if session_data is not None:
            return session_data
        self._session_key = None
        return {}
