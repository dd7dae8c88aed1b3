"""Django's cache sessions, except that an unreachable cache is an outage, not "no session"."""

from django.contrib.sessions.backends import cache
from django.core.cache.backends.base import BaseCache

from project.outages import OUTAGE_ERRORS


class SessionStore(cache.SessionStore):
    _cache: BaseCache  # Django's, set in __init__ (django-stubs leave it out)

    def load(self):
        # Django's load(), with the outage let through.
        try:
            session_data = self._cache.get(self.cache_key)
        except OUTAGE_ERRORS:
            raise
        except Exception:
            session_data = None  # a key the cache refuses: no session (as Django does)
        if session_data is not None:
            return session_data
        self._session_key = None
        return {}
