"""
Cache entries read in the same round trip as the session.

A signed-in request reads its session from the cache, then its user
(appointments.auth_backends.CachedModelBackend): two round trips to Redis, one after the
other, because the user's id is inside the session. Under gunicorn a round trip costs a
worker far more than its command: it blocks, the core goes to another process, and the
worker comes back to cold caches. Reading the user with the session made the status poll 4
to 17 % faster, served side by side with the code before it (docs/performance.md, "Issue 15,
fifth pass").

So the session stores read along with the session, in one MGET, the entries that the code
in a `reading_along()` block will ask for next: the entries for the user this session
belonged to the last time this process read it (remember_user()). The session itself
still says who is signed in. What was read along is handed only to code inside the same
block that asks for exactly those keys (read_along()), once; anything else reads the cache
as before. A wrong or missing guess costs nothing but the round trip it would have saved.

    with reading_along(keys_for=lambda user_id: [f"user:{user_id}"]):
        user = auth.get_user(request)  # the session store reads "user:7" with the session
    remember_user(request.session.session_key, user.pk)

    # inside the block, in the code that needs them:
    found = read_along(["user:7"])  # None: not read along, ask the cache
"""

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from django.core.cache.backends.base import BaseCache

# Sessions whose user this process knows, by the hash of their key (no session key is kept):
# enough for every session a worker serves in its idle timeout, about 1 MB.
KNOWN_SESSIONS = 10_000

_users: dict[int, Any] = {}
_users_lock = threading.Lock()


@dataclass
class _Block:
    keys_for: Callable[[Any], list[str]]
    cache_alias: str
    keys: list[str] = field(default_factory=list)
    found: dict[str, Any] | None = None


_block: ContextVar[_Block | None] = ContextVar("read_along", default=None)


@contextmanager
def reading_along(keys_for: Callable[[Any], list[str]], cache_alias: str = "default") -> Iterator[None]:
    """Within the block, a session read from `cache_alias` brings `keys_for(its user's id)` along."""
    token = _block.set(_Block(keys_for, cache_alias))
    try:
        yield
    finally:
        _block.reset(token)


def remember_user(session_key: str | None, user_id) -> None:
    """The session `session_key` belongs to `user_id`: read their entries with it from now on."""
    if session_key is None or _users.get(hash(session_key)) == user_id:
        return  # known already: most requests
    with _users_lock:
        if len(_users) >= KNOWN_SESSIONS:
            del _users[next(iter(_users))]  # the longest known
        _users[hash(session_key)] = user_id


def read_session(cache: BaseCache, cache_key: str, session_key: str | None, cache_alias: str) -> Any:
    """
    For a session store's load(): cache.get(cache_key), and in the same round trip the
    entries the current block wants for the session's user, if this process knows them.
    """
    block = _block.get()
    if block is None or block.cache_alias != cache_alias or session_key is None:
        return cache.get(cache_key)
    user_id = _users.get(hash(session_key))
    if user_id is None:
        return cache.get(cache_key)
    block.keys = block.keys_for(user_id)
    found = cache.get_many([cache_key, *block.keys])
    block.found = {key: found[key] for key in block.keys if key in found}
    return found.get(cache_key)


def read_along(keys: list[str]) -> dict[str, Any] | None:
    """
    The entries read along with the session for exactly `keys`, as cache.get_many() returns
    them (found keys only); None if they were not, and the caller asks the cache. Given once.
    """
    block = _block.get()
    if block is None or block.found is None or block.keys != keys:
        return None
    found, block.found = block.found, None
    return found
