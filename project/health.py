"""
Health checks for load balancers and orchestrators, on two URLs as they expect:

- /healthz, liveness: the process is up and answers. Nothing else is asked, so a process
  supervisor (or Kubernetes' livenessProbe) never restarts a healthy instance because the
  database or Redis, which a restart cannot fix, is down.
- /readyz, readiness: this instance can serve people now: the database answers `SELECT 1`
  and, with REDIS_URL, Redis answers PING, each within about a second (the pool's and
  the Redis client's timeouts, project/settings.py). 503 otherwise, so a load balancer
  stops sending patients to an instance that cannot serve them.

Both answer without login, session or cookie, in plain text naming only what failed,
never an address, a host name or an error message.
"""

import logging

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from django_redis import get_redis_connection
from redis.exceptions import RedisError

logger = logging.getLogger("project")


def database_answers() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except DatabaseError as error:
        logger.warning("readiness: the database does not answer (%s)", type(error).__name__)
        return False


def redis_answers() -> bool:
    try:
        return bool(get_redis_connection("default").ping())
    except RedisError as error:
        logger.warning("readiness: Redis does not answer (%s)", type(error).__name__)
        return False


def _plain(body: str, status: int = 200) -> HttpResponse:
    return HttpResponse(body, content_type="text/plain", status=status)


@require_http_methods(["GET", "HEAD"])
@never_cache
def healthz(request):
    return _plain("ok\n")


@require_http_methods(["GET", "HEAD"])
@never_cache
def readyz(request):
    checks = {"database": database_answers()}
    if settings.REDIS_URL:
        checks["redis"] = redis_answers()
    body = "".join(f"{name}: {'ok' if answers else 'unavailable'}\n" for name, answers in checks.items())
    return _plain(body, 200 if all(checks.values()) else 503)
