"""
/healthz for load balancers and orchestrators: is this instance able to serve?

It answers without login, sessions or any data: 200 "ok" when the app runs and its
database answers `SELECT 1`, 503 otherwise, so a balancer takes the instance out of
rotation instead of sending patients to an error page.
"""

import logging

from django.db import DatabaseError, connection
from django.http import HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

logger = logging.getLogger("appointments")


def database_answers() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except DatabaseError:
        logger.exception("health check: the database does not answer")
        return False


@require_http_methods(["GET", "HEAD"])
@never_cache
def healthz(request):
    if database_answers():
        return HttpResponse("ok\n", content_type="text/plain")
    return HttpResponse("database unavailable\n", content_type="text/plain", status=503)
