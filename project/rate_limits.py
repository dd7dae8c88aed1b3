"""
Abuse limits, in one place: how often someone may log in, poll a status card, open
a room, toggle a visit or report call events, and how many "not found" answers they
may collect while probing appointment ids.

The table is keyed by URL name and applied by AbuseLimitMiddleware before the view
runs, with django-ratelimit's counters (django_ratelimit.core) in the default cache:
per process with the local LocMemCache, shared by every worker with Redis (REDIS_URL)
in production. Keys are per user once logged in, per client address before. A limit
reached is answered by settings.RATELIMIT_VIEW: 429, a page or an htmx partial.

The figures are generous for a person: one status card polls every
STATUS_POLL_INTERVAL (10 s) plus at most two boundary polls, about 8 a minute, so
STATUS lets a patient keep a dozen tabs open. They are tight for a script: someone
who keeps getting 404s for appointment ids is probing, and after NOT_FOUND of them
gets 429 on every appointment URL until the hour turns.

While the counters cannot be reached (Redis down), each limit does what its
`when_uncounted` says: REFUSE answers 503 (project.outages), LET_THROUGH lets the request
go on uncounted. Either way a WARNING is logged for every such request.
docs/security.md ("Limits during an outage") says why each limit decides as it does.
"""

import enum
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.utils.module_loading import import_string
from django_ratelimit import ALL
from django_ratelimit.core import get_usage, is_ratelimited

from project.outages import OUTAGE_ERRORS, unavailable
from telemedicine.audit import client_ip

from .login import username_key

logger = logging.getLogger("project")

# Rates in django-ratelimit's notation: "count/period" (s, m, h, d).
LOGIN_PER_IP = "30/m"  # a whole clinic behind one NAT address still logs in freely
LOGIN_PER_USERNAME = (
    "10/m"  # axes locks a username+address pair after 5 failures; this caps spraying one account from many addresses
)
STATUS = "120/m"
ROOM = "30/m"
TOGGLE = "60/m"
CALL_EVENT = "120/m"  # joined/left events and heartbeats from an open room page
NOT_FOUND = "30/h"
# Asking for an email (a password reset, a new sign-in link): a person asks once or twice.
EMAIL_REQUEST_PER_IP = "10/h"
EMAIL_REQUEST_PER_ADDRESS = "3/h"
SIGN_IN_LINK = "20/h"  # opening email links, per address: a patient taps a link a few times at most


def client_address(request) -> str:
    """
    RATELIMIT_IP_META_KEY: the client's address as django-axes (and so the audit trail)
    work it out, so behind a proxy (CLIENT_IP_HEADERS) all three count the same person.
    """
    return client_ip(request) or request.META["REMOTE_ADDR"]


def login_username(group, request) -> str:
    """The username being tried, as axes counts it: look-alike spellings share one counter."""
    return username_key(request.POST.get("username"))


def posted_email(group, request) -> str:
    """The address asked about, case-folded: one counter per address however it is typed."""
    return request.POST.get("email", "").strip().casefold()[:254]


class WhenUncounted(enum.Enum):
    """What a limit does while its counters cannot be reached."""

    REFUSE = "refuse"  # 503: the request does not go through unmetered
    LET_THROUGH = "let through"  # the request goes on, uncounted


REFUSE, LET_THROUGH = WhenUncounted.REFUSE, WhenUncounted.LET_THROUGH


@dataclass(frozen=True)
class Limit:
    group: str
    rate: str
    key: str | Callable = "user_or_ip"
    methods: tuple | list = ALL
    when_uncounted: WhenUncounted = field(kw_only=True)


# Both login pages (the app's and the admin's) count together: the same groups, so
# switching page gains no guesses.
LOGIN = [
    Limit("login-ip", LOGIN_PER_IP, key="ip", methods=["POST"], when_uncounted=REFUSE),
    Limit("login-username", LOGIN_PER_USERNAME, key=login_username, methods=["POST"], when_uncounted=REFUSE),
]

LIMITS: dict[str, list[Limit]] = {
    # Signing in needs the session store, the same Redis: it cannot succeed anyway, and
    # password guessing must never run unmetered (LOGIN refuses while uncounted).
    "login": LOGIN,
    "admin:login": LOGIN,
    # The rest only ever serve the signed-in doctor or patient of the appointment, each
    # decision checked against the database and audited there: a waiting patient's card,
    # a call that must start, a doctor's switch and the call's own record go on.
    "telemedicine:check-telemedicine-status": [Limit("status", STATUS, when_uncounted=LET_THROUGH)],
    "telemedicine:jitsi-room": [Limit("room", ROOM, when_uncounted=LET_THROUGH)],
    "telemedicine:toggle-telemedicine": [Limit("toggle", TOGGLE, when_uncounted=LET_THROUGH)],
    "telemedicine:call-event": [Limit("call-event", CALL_EVENT, when_uncounted=LET_THROUGH)],
    # Asking for an email: refused while uncounted, so nobody can make the clinic send mail unmetered.
    # Signing in with a link needs the session store, as logging in does.
    "password_reset": [
        Limit("reset-ip", EMAIL_REQUEST_PER_IP, key="ip", methods=["POST"], when_uncounted=REFUSE),
        Limit("reset-address", EMAIL_REQUEST_PER_ADDRESS, key=posted_email, methods=["POST"], when_uncounted=REFUSE),
    ],
    "telemedicine:sign-in": [Limit("sign-in-link", SIGN_IN_LINK, key="ip", when_uncounted=REFUSE)],
    # Guests have no account and no session: per address. Let through while uncounted, like the
    # room: an open call must stay joinable, and every guest link is checked against the database.
    # Wrong guest links also close every guest URL to an address for the hour
    # (telemedicine/guest_views.GUEST_LINK_FAILURES).
    "telemedicine:guest-open": [Limit("guest-open", SIGN_IN_LINK, key="ip", when_uncounted=LET_THROUGH)],
    "telemedicine:guest-room": [Limit("guest-room", ROOM, key="ip", when_uncounted=LET_THROUGH)],
    "telemedicine:guest-status": [Limit("guest-status", STATUS, key="ip", when_uncounted=LET_THROUGH)],
    "telemedicine:guest-call-event": [Limit("guest-call-event", CALL_EVENT, key="ip", when_uncounted=LET_THROUGH)],
    "telemedicine:invite-guest": [Limit("invite-guest", TOGGLE, when_uncounted=LET_THROUGH)],
    "telemedicine:revoke-guest": [Limit("revoke-guest", TOGGLE, when_uncounted=LET_THROUGH)],
    "telemedicine:guest-policy": [Limit("guest-policy", TOGGLE, when_uncounted=LET_THROUGH)],
    "telemedicine:sign-in-request": [
        Limit("link-request-ip", EMAIL_REQUEST_PER_IP, key="ip", methods=["POST"], when_uncounted=REFUSE),
        Limit(
            "link-request-address", EMAIL_REQUEST_PER_ADDRESS, key=posted_email, methods=["POST"], when_uncounted=REFUSE
        ),
    ],
}

# Probing ids learns nothing a 404 does not already say, and each refusal is audited.
NOT_FOUND_LIMIT = Limit("appointment-not-found", NOT_FOUND, when_uncounted=LET_THROUGH)


def _usage(request, limit: Limit, increment: bool):
    return get_usage(
        request, group=limit.group, key=limit.key, rate=limit.rate, method=limit.methods, increment=increment
    )


def too_many_requests(request):
    return import_string(settings.RATELIMIT_VIEW)(request, None)


def uncounted(request, limits: list[Limit], error: BaseException):
    """
    A request whose counters could not be reached: the 503 page if any of its limits
    refuses, else None (it goes on). Logged at WARNING either way: protection is weaker.
    """
    groups = ",".join(limit.group for limit in limits)
    refused = any(limit.when_uncounted is REFUSE for limit in limits)
    logger.warning(
        "abuse limits %s cannot be counted (%s) on %s %s: request %s",
        groups,
        type(error).__name__,
        request.method,
        request.path,
        "refused" if refused else "let through uncounted",
    )
    return unavailable(request, error, log=False) if refused else None


class AbuseLimitMiddleware:
    """
    Apply LIMITS to the view a request resolved to, and count the 404s each user (or
    address) gets from appointment URLs: once they exceed NOT_FOUND, appointment URLs
    answer 429, so enumerating ids is hopeless, while a person who follows a stale
    link or whose appointment was deleted never comes near the limit. A blocked
    prober can still reach their own dashboard.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        if response.status_code == 404 and match is not None and "appointment_id" in match.kwargs:
            try:
                _usage(request, NOT_FOUND_LIMIT, increment=True)
            except OUTAGE_ERRORS as error:  # the 404 stands
                logger.warning(
                    "abuse limits %s cannot be counted (%s) on %s %s: a 404 went uncounted",
                    NOT_FOUND_LIMIT.group,
                    type(error).__name__,
                    request.method,
                    request.path,
                )
        return response

    def process_view(self, request, view_func, view_args, view_kwargs):
        limits = LIMITS.get(request.resolver_match.view_name, [])
        on_appointment = "appointment_id" in view_kwargs
        try:
            if on_appointment and is_ratelimited(
                request,
                group=NOT_FOUND_LIMIT.group,
                key=NOT_FOUND_LIMIT.key,
                rate=NOT_FOUND_LIMIT.rate,
                increment=False,
            ):
                return too_many_requests(request)
            # Every limit counts the request, even when an earlier one already refused it.
            limited = [_usage(request, limit, increment=True) for limit in limits]
        except OUTAGE_ERRORS as error:
            return uncounted(request, [NOT_FOUND_LIMIT, *limits] if on_appointment else limits, error)
        if any(usage and usage["should_limit"] for usage in limited):
            request.limited = True
            return too_many_requests(request)
        return None
