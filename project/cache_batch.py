"""
Cache commands sent together: one Redis round trip for what a request needs of the cache.

A status poll used to make six round trips to Redis after its session and user: four for
its abuse limits (django-ratelimit adds a counter, then increments it, and peeks at the
probing guard's the same way), one to mark the patient's page open, one to read who is in
the call. A CacheBatch collects such commands and sends them through one django-redis
pipeline (docs/performance.md has the measurements).

    batch = CacheBatch()
    polls = batch.count("rl:status:7:29412", seconds=65)
    marks = batch.get_many(["presence:room:...", "presence:page:..."])
    batch.send()
    polls.value, marks.value

Keys are the cache's own (its KEY_PREFIX and VERSION apply), values are django-redis's
(whatever cache.get() would return), so the rest of the app reads and writes the same keys
through Django's cache API as before. With any other cache (LocMemCache, locally and in
most tests) the commands run one by one through that API, with the same results.

An unreachable Redis raises from send() what Django's cache API would raise (redis-py's
ConnectionError or TimeoutError, project.outages.OUTAGE_ERRORS); no result is set then.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.core.cache import caches

try:
    from django_redis import get_redis_connection
    from django_redis.cache import RedisCache
except ImportError:  # pragma: no cover - django-redis is a dependency; any cache still works without it
    RedisCache = None


@dataclass
class Pending:
    """A command's result, set when its batch is sent."""

    value: Any = None


@dataclass
class _Command:
    pending: Pending
    # Queue the command on a redis-py pipeline; its replies (one or more) become the result.
    on_pipeline: Callable[[Any], None]
    replies: int
    from_replies: Callable[[list], Any]
    # The same through Django's cache API, for every other cache.
    by_api: Callable[[Any], Any]


@dataclass
class CacheBatch:
    alias: str = "default"
    _commands: list[_Command] = field(default_factory=list)

    def __post_init__(self):
        self.cache = caches[self.alias]
        # The outage send() met, if it met one: callers reading results after it re-raise it.
        self.failed: BaseException | None = None
        self.in_redis = RedisCache is not None and isinstance(self.cache, RedisCache)

    def __len__(self) -> int:
        return len(self._commands)

    def _key(self, key: str) -> str:
        # django-redis's client: its key (KEY_PREFIX, VERSION) and its serializer, as its get() uses.
        return self.cache.client.make_key(key) if self.in_redis else key  # type: ignore[attr-defined]

    def _decode(self, value):
        return None if value is None else self.cache.client.decode(value)  # type: ignore[attr-defined]

    def _queue(self, on_pipeline, replies, from_replies, by_api) -> Pending:
        pending = Pending()
        self._commands.append(_Command(pending, on_pipeline, replies, from_replies, by_api))
        return pending

    def count(self, key: str, seconds: int) -> Pending:
        """
        Add one to the counter `key` and return its new value; the counter is forgotten
        `seconds` after its latest count (callers put their time window in the key).
        """
        redis_key = self._key(key)

        def by_api(cache):
            if cache.add(key, 1, seconds):
                return 1
            try:
                return cache.incr(key)
            except ValueError:  # it expired between add() and incr()
                cache.set(key, 1, seconds)
                return 1

        return self._queue(
            lambda pipe: pipe.incr(redis_key).expire(redis_key, seconds),
            2,
            lambda replies: int(replies[0]),
            by_api,
        )

    def get(self, key: str) -> Pending:
        redis_key = self._key(key)
        return self._queue(
            lambda pipe: pipe.get(redis_key),
            1,
            lambda replies: self._decode(replies[0]),
            lambda cache: cache.get(key),
        )

    def get_many(self, keys: list[str]) -> Pending:
        """A dict of the keys found, as cache.get_many() returns."""
        redis_keys = [self._key(key) for key in keys]
        return self._queue(
            lambda pipe: pipe.mget(redis_keys),
            1,
            lambda replies: {
                key: self._decode(value) for key, value in zip(keys, replies[0], strict=True) if value is not None
            },
            lambda cache: cache.get_many(keys),
        )

    def touch(self, key: str, seconds: int) -> Pending:
        """Give `key` a new expiry; True if it existed (cache.touch())."""
        redis_key = self._key(key)
        return self._queue(
            lambda pipe: pipe.expire(redis_key, seconds),
            1,
            lambda replies: bool(replies[0]),
            lambda cache: cache.touch(key, seconds),
        )

    def send(self) -> None:
        """Send every command queued so far (one round trip with Redis), and set their results."""
        commands, self._commands = self._commands, []
        if not commands:
            return
        try:
            if not self.in_redis:
                for command in commands:
                    command.pending.value = command.by_api(self.cache)
                return
            pipe = get_redis_connection(self.alias).pipeline(transaction=False)
            for command in commands:
                command.on_pipeline(pipe)
            replies = pipe.execute()
        except Exception as error:
            self.failed = error
            raise
        start = 0
        for command in commands:
            command.pending.value = command.from_replies(replies[start : start + command.replies])
            start += command.replies
