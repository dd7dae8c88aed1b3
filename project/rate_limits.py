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
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.utils.module_loading import import_string
from django_ratelimit import ALL
from django_ratelimit.core import get_usage, is_ratelimited

from telemedicine.audit import client_ip

from .login import username_key

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


@dataclass(frozen=True)
class Limit:
    group: str
    rate: str
    key: str | Callable = "user_or_ip"
    methods: tuple | list = ALL


# Both login pages (the app's and the admin's) count together: the same groups, so
# switching page gains no guesses.
LOGIN = [
    Limit("login-ip", LOGIN_PER_IP, key="ip", methods=["POST"]),
    Limit("login-username", LOGIN_PER_USERNAME, key=login_username, methods=["POST"]),
]

LIMITS: dict[str, list[Limit]] = {
    "login": LOGIN,
    "admin:login": LOGIN,
    "telemedicine:check-telemedicine-status": [Limit("status", STATUS)],
    "telemedicine:jitsi-room": [Limit("room", ROOM)],
    "telemedicine:toggle-telemedicine": [Limit("toggle", TOGGLE)],
    "telemedicine:call-event": [Limit("call-event", CALL_EVENT)],
    "password_reset": [
        Limit("reset-ip", EMAIL_REQUEST_PER_IP, key="ip", methods=["POST"]),
        Limit("reset-address", EMAIL_REQUEST_PER_ADDRESS, key=posted_email, methods=["POST"]),
    ],
    "telemedicine:sign-in": [Limit("sign-in-link", SIGN_IN_LINK, key="ip")],
    # Guests have no account: per address. Wrong guest links also close every guest URL to an
    # address for the hour (telemedicine/guest_views.GUEST_LINK_FAILURES).
    "telemedicine:guest-open": [Limit("guest-open", SIGN_IN_LINK, key="ip")],
    "telemedicine:guest-room": [Limit("guest-room", ROOM, key="ip")],
    "telemedicine:guest-status": [Limit("guest-status", STATUS, key="ip")],
    "telemedicine:guest-call-event": [Limit("guest-call-event", CALL_EVENT, key="ip")],
    "telemedicine:invite-guest": [Limit("invite-guest", TOGGLE)],
    "telemedicine:revoke-guest": [Limit("revoke-guest", TOGGLE)],
    "telemedicine:guest-policy": [Limit("guest-policy", TOGGLE)],
    "telemedicine:sign-in-request": [
        Limit("link-request-ip", EMAIL_REQUEST_PER_IP, key="ip", methods=["POST"]),
        Limit("link-request-address", EMAIL_REQUEST_PER_ADDRESS, key=posted_email, methods=["POST"]),
    ],
}

NOT_FOUND_LIMIT = Limit("appointment-not-found", NOT_FOUND)


def _usage(request, limit: Limit, increment: bool):
    return get_usage(
        request, group=limit.group, key=limit.key, rate=limit.rate, method=limit.methods, increment=increment
    )


def too_many_requests(request):
    return import_string(settings.RATELIMIT_VIEW)(request, None)


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
            _usage(request, NOT_FOUND_LIMIT, increment=True)
        return response

    def process_view(self, request, view_func, view_args, view_kwargs):
        if "appointment_id" in view_kwargs and is_ratelimited(
            request,
            group=NOT_FOUND_LIMIT.group,
            key=NOT_FOUND_LIMIT.key,
            rate=NOT_FOUND_LIMIT.rate,
            increment=False,
        ):
            return too_many_requests(request)
        # Every limit counts the request, even when an earlier one already refused it.
        limited = [_usage(request, limit, increment=True) for limit in LIMITS.get(request.resolver_match.view_name, [])]
        if any(usage and usage["should_limit"] for usage in limited):
            request.limited = True
            return too_many_requests(request)
        return None
