"""
Sessions that tell "no session" from "the session store cannot be reached".

Django's cache-backed session stores read any error from the cache as "no session" (they
catch every exception, for memcached's refusal of some keys: Django ticket #17810). With
Redis down, a signed-in person's next request was therefore anonymous, and went to the
login page as if they had logged out. The stores here let an outage through
(project.outages.OUTAGE_ERRORS), and project.outages answers it with a 503.

SESSION_ENGINE names `project.sessions.cache` (sessions in Redis alone) or
`project.sessions.cached_db` (in the database, read through the cache); the cache keys
are Django's own, so sessions made by Django's stores stay valid. Only the synchronous
methods change: the app runs under WSGI (gunicorn), where Django never calls the async ones.

Both stores read, in the same round trip as the session, the cache entries that the signed-in
user's request reads next (read_along.py).
"""
