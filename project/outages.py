"""
When Redis or the database cannot be reached: an honest 503, never a logout, never a traceback.

What counts as "cannot be reached" (OUTAGE_ERRORS):
- the database's OperationalError and InterfaceError: the server is down, restarting or
  refusing connections, or the connection pool waited for a connection in vain
  (psycopg_pool's PoolTimeout reaches Django wrapped as OperationalError);
- redis-py's ConnectionError and TimeoutError, which django-redis re-raises as they are
  (unless DJANGO_REDIS_IGNORE_EXCEPTIONS, which this project never sets: it would turn an
  outage into silence, and an unreadable session into "no session"). A Redis still
  loading its append-only file after a restart answers BusyLoadingError, a ConnectionError.

ServiceUnavailableMiddleware turns them into the answer people get, `unavailable()`: HTTP
503 with Retry-After, "the clinic's system is briefly unavailable", a plain page (which
reloads itself after a GET) or, for htmx, a notice that takes the place of whatever was
being updated and asks again with backoff until the service is back, when the real partial
replaces it. Nothing in it touches the session, the user or the database.
"""

import logging
import math
import random
import re
from typing import TypeGuard

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger("project")

OUTAGE_ERRORS = (OperationalError, InterfaceError, RedisConnectionError, RedisTimeoutError)

TEMPLATE = "errors/unavailable.html"
# A page asks again after this many seconds (a meta refresh), so does Retry-After.
PAGE_RETRY_SECONDS = 10
# An htmx notice asks again after 2, 4, 8, 16, then every 30 seconds, each delay shortened
# by up to a quarter at random so that cards which failed together do not return together.
FIRST_RETRY_SECONDS = 2
LAST_RETRY_SECONDS = 30
# The notice counts its attempts in this request header (hx-headers), for the backoff.
RETRY_HEADER = "Outage-Retry"
SAFE_METHODS = {"GET", "HEAD"}
# An element id htmx sent (HX-Target) that the notice may take over; anything else is ignored.
ELEMENT_ID = re.compile(r"^[A-Za-z][\w-]{0,99}$")


def is_outage(error: BaseException | None) -> TypeGuard[BaseException]:
    return isinstance(error, OUTAGE_ERRORS)


def retry_delay_ms(attempt: int) -> int:
    """The htmx notice's delay before its `attempt`-th retry (0 for the first)."""
    seconds = min(LAST_RETRY_SECONDS, FIRST_RETRY_SECONDS * 2 ** min(attempt, 10))
    return int(seconds * 1000 * random.uniform(0.75, 1.0))


def _attempt(request: HttpRequest) -> int:
    try:
        return min(100, max(0, int(request.headers.get(RETRY_HEADER, "0"))))
    except ValueError:
        return 0


def _page_to_go_back_to(request: HttpRequest) -> str:
    """Where a person whose form post failed can try again: the page they came from, if it is ours."""
    referer = request.headers.get("referer", "")
    if url_has_allowed_host_and_scheme(referer, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return referer
    return "/"


def _page_shown(htmx) -> str:
    """The page an htmx request came from, if it is ours (as HtmxLoginRedirectMiddleware reads it)."""
    try:
        return htmx.current_url_abs_path or ""
    except ValueError:  # a garbled HX-Current-URL
        return ""


def unavailable(request: HttpRequest, error: BaseException, *, log: bool = True) -> HttpResponse:
    """The 503 answer for a request that met an outage: a plain page, or an htmx notice."""
    if log:
        # Which service and where, never the message's detail beyond its first line.
        first_line = str(error).strip().splitlines()[0][:200] if str(error).strip() else ""
        logger.warning(
            "service unavailable: %s on %s %s: %s", type(error).__name__, request.method, request.path, first_line
        )
    htmx = getattr(request, "htmx", None)  # None when HtmxMiddleware has not run
    retries = request.method in SAFE_METHODS
    context: dict = {"retries": retries}
    if htmx:
        attempt = _attempt(request)
        delay_ms = retry_delay_ms(attempt)
        context |= {
            "element_id": htmx.target if htmx.target and ELEMENT_ID.match(htmx.target) else "",
            "retry_url": request.get_full_path(),
            "retry_ms": delay_ms,
            "retry_header": f'{{"{RETRY_HEADER}": "{attempt + 1}"}}',
            "reload_url": _page_shown(htmx),
        }
        response = render(request, f"{TEMPLATE}#outage-notice", context, status=503)
        retry_after = math.ceil(delay_ms / 1000)
        # The notice replaces the element it was asked for, whatever that element's own swap
        # style. base.html's htmx config swaps a 503 only when it carries this header, so a
        # balancer's own 503 page never lands in a card: the card treats it as an error and retries.
        response["HX-Reswap"] = "outerHTML"
    else:
        context |= {"refresh_seconds": PAGE_RETRY_SECONDS, "back_url": _page_to_go_back_to(request)}
        response = render(request, TEMPLATE, context, status=503)
        retry_after = PAGE_RETRY_SECONDS
    response["Retry-After"] = str(retry_after)
    response["Cache-Control"] = "no-store"
    return response


class ServiceUnavailableMiddleware:
    """
    Place it after AuthenticationMiddleware and HtmxMiddleware. A request carrying a
    session cookie has its session and user read here, before any abuse limit or view, so
    that a session store or database that cannot be reached is answered `unavailable()` at
    once, instead of the request going on as an anonymous one (project.sessions keeps
    Django's cache sessions from reading an unreachable store as "no session"). A view that
    meets an outage (process_exception) gets the same answer; its transaction has rolled back.

    An outage met after the view, while saving the session, is project.sessions.middleware's;
    one met anywhere else reaches handler500 (project.errors.server_error), which answers
    the same 503.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if settings.SESSION_COOKIE_NAME in request.COOKIES:
            try:
                request.user.is_authenticated  # noqa: B018 (reads the session, then the user: that is the point)
            except OUTAGE_ERRORS as error:
                return unavailable(request, error)
        return self.get_response(request)

    def process_exception(self, request, exception):
        if is_outage(exception):
            return unavailable(request, exception)
        return None
