"""
Abuse limits, in one place: how often someone may log in, poll a status card, open
a room, toggle a visit or report call events, and how many "not found" answers they
may collect while probing appointment ids.

The table is keyed by URL name and applied by AbuseLimitMiddleware before the view
runs. Each limit counts in a fixed window (a minute, an hour) in the counters' cache
(ABUSE_LIMITS_CACHE, the default cache: per process with the local LocMemCache, shared by
every worker with Redis, REDIS_URL, in production). Keys are per user once logged in, per
client address before (an IPv6 address by its /64, which one client holds whole). A
limit reached is answered by project.errors.too_many_requests: 429, a page or an htmx
partial.

All of a request's counts go to the cache together, in one round trip
(project.cache_batch). The status poll, the hottest path, goes one step further
(@counted_by_view): its view puts the waiting room's "page open" mark and the reading of
who is in the call into the same round trip (telemedicine.views.check_status).

The figures are generous for a person: one status card polls every
STATUS_POLL_INTERVAL (10 s) plus at most two boundary polls, about 8 a minute, so
STATUS lets a patient keep a dozen tabs open. They are tight for a script: someone
who keeps getting 404s for appointment ids is probing, and once they have NOT_FOUND of
them gets 429 on every appointment URL until the hour turns.

While the counters cannot be reached (Redis down), each limit does what its
`when_uncounted` says: REFUSE answers 503 (project.outages), LET_THROUGH lets the request
go on uncounted. Either way a WARNING is logged for every such request.
docs/security.md ("Limits during an outage") says why each limit decides as it does.
"""

import enum
import hashlib
import ipaddress
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from project.cache_batch import CacheBatch, Pending
from project.errors import too_many_requests
from project.outages import OUTAGE_ERRORS, unavailable
from telemedicine.audit import client_ip

from .login import username_key

logger = logging.getLogger("project")

# Rates as "count/period": s, m, h or d.
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
    The client's address as django-axes (and so the audit trail) work it out, so behind a
    proxy (CLIENT_IP_HEADERS) all three count the same person.
    """
    return client_ip(request) or request.META["REMOTE_ADDR"]


# One client holds a whole IPv6 /64 (and can pick any address in it); an IPv4 address is one client.
IPV6_PREFIX = 64


def counted_address(request) -> str:
    """The client's address as a limit counts it: an IPv6 address by its /64."""
    address = client_address(request)
    if ":" not in address:
        return address
    return str(ipaddress.ip_network(f"{address}/{IPV6_PREFIX}", strict=False).network_address)


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


PERIODS = {"s": 1, "m": 60, "h": 60 * 60, "d": 24 * 60 * 60}
RATE = re.compile(r"^(\d+)/([smhd])$")
# A counter outlives its window by a few seconds, so a clock a little behind still finds it.
EXPIRY_MARGIN = 5


@dataclass(frozen=True)
class Limit:
    group: str
    rate: str
    # Who is counted: "user_or_ip" (the signed-in user, else the address), "ip", or a
    # function (group, request) -> str.
    key: str | Callable = "user_or_ip"
    methods: tuple[str, ...] | None = None  # None: every method
    when_uncounted: WhenUncounted = field(kw_only=True)

    def __post_init__(self):
        if not RATE.match(self.rate):
            raise ValueError(f"{self.group}: a rate is count/period (s, m, h or d), not {self.rate!r}")

    @cached_property
    def allowed(self) -> int:
        return int(self.rate.split("/")[0])

    @cached_property
    def seconds(self) -> int:
        return PERIODS[self.rate.split("/")[1]]

    def applies_to(self, request: HttpRequest) -> bool:
        return self.methods is None or request.method in self.methods

    def counter(self, request: HttpRequest, now: float) -> str:
        """The cache key of the counter `request` counts on at `now`: one per person and window."""
        if callable(self.key):
            who = self.key(self.group, request)
        elif self.key == "user_or_ip" and request.user.is_authenticated:
            who = str(request.user.pk)
        elif self.key in {"ip", "user_or_ip"}:
            who = counted_address(request)
        else:
            raise ValueError(f"{self.group}: unknown key {self.key!r}")
        # Hashed: usernames and email addresses are never stored, and any text makes a valid key.
        digest = hashlib.sha256(who.encode()).hexdigest()[:32]
        return f"rl:{self.group}:{digest}:{int(now) // self.seconds}"


# Both login pages (the app's and the admin's) count together: the same groups, so
# switching page gains no guesses.
LOGIN = [
    Limit("login-ip", LOGIN_PER_IP, key="ip", methods=("POST",), when_uncounted=REFUSE),
    Limit("login-username", LOGIN_PER_USERNAME, key=login_username, methods=("POST",), when_uncounted=REFUSE),
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
        Limit("reset-ip", EMAIL_REQUEST_PER_IP, key="ip", methods=("POST",), when_uncounted=REFUSE),
        Limit("reset-address", EMAIL_REQUEST_PER_ADDRESS, key=posted_email, methods=("POST",), when_uncounted=REFUSE),
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
        Limit("link-request-ip", EMAIL_REQUEST_PER_IP, key="ip", methods=("POST",), when_uncounted=REFUSE),
        Limit(
            "link-request-address",
            EMAIL_REQUEST_PER_ADDRESS,
            key=posted_email,
            methods=("POST",),
            when_uncounted=REFUSE,
        ),
    ],
}

# Probing ids learns nothing a 404 does not already say, and each refusal is audited.
NOT_FOUND_LIMIT = Limit("appointment-not-found", NOT_FOUND, when_uncounted=LET_THROUGH)


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


def counters_cache() -> str:
    """The cache the counters live in (a deployment may give them one of their own)."""
    return settings.ABUSE_LIMITS_CACHE


class Counts:
    """
    What a request counts, queued on a CacheBatch: one count for each of its URL's limits,
    and on appointment URLs a look at the probing guard (not counted: only 404s count).
    Nothing reaches the cache before send().
    """

    def __init__(self, request: HttpRequest, batch: CacheBatch | None = None):
        match = request.resolver_match
        assert match is not None, "counted once the URL is resolved (process_view, or the view)"
        self.request = request
        self.limits = [limit for limit in LIMITS.get(match.view_name, []) if limit.applies_to(request)]
        self.guarded = "appointment_id" in match.kwargs
        # The batch the caller shares, if the counters live in its cache; else their own.
        self.shared = batch
        self.batch = batch if batch is not None and batch.alias == counters_cache() else CacheBatch(counters_cache())
        now = time.time()
        self.not_found: Pending | None = None
        if self.guarded:
            self.not_found = self.batch.get(NOT_FOUND_LIMIT.counter(request, now))
        self.counted = [
            (limit, self.batch.count(limit.counter(request, now), limit.seconds + EXPIRY_MARGIN))
            for limit in self.limits
        ]
        self.sent = False

    def __bool__(self) -> bool:
        return self.guarded or bool(self.limits)

    def send(self) -> HttpResponse | None:
        """
        Send the batch (with whatever the caller queued on it: one round trip), then: 429 if the person
        is over a limit (every limit counts the request, even once one has refused it), the
        503 page if the counters cannot be reached and a limit refuses then, else None.
        """
        self.sent = True
        try:
            self.batch.send()
        except OUTAGE_ERRORS as error:
            return uncounted(self.request, [NOT_FOUND_LIMIT, *self.limits] if self.guarded else self.limits, error)
        finally:
            if self.shared is not None and self.shared is not self.batch:
                self.shared.send()  # the caller's own commands, in a cache of their own
        # The guard reads the 404s already collected (this request's own is counted after it):
        # NOT_FOUND of them, and the next appointment URL is refused.
        if self.not_found is not None and (self.not_found.value or 0) >= NOT_FOUND_LIMIT.allowed:
            return too_many_requests(self.request)
        if any(pending.value > limit.allowed for limit, pending in self.counted):
            return too_many_requests(self.request)
        return None


def counted_by_view(view):
    """
    The view counts its request's limits itself, with view_counts(), so that its own cache
    commands share the round trip. AbuseLimitMiddleware counts for it, late, if it answers
    without having sent them.
    """
    view.counts_its_limits = True
    return view


def view_counts(request: HttpRequest, batch: CacheBatch) -> Counts:
    """The Counts of a @counted_by_view view's request, queued on the view's own batch."""
    counts = Counts(request, batch)
    request.abuse_counts = counts  # type: ignore[attr-defined]  # read back by AbuseLimitMiddleware
    return counts


def current_count(request: HttpRequest, limit: Limit) -> int:
    """How often `request`'s person has counted on `limit` in this window (raises OUTAGE_ERRORS)."""
    batch = CacheBatch(counters_cache())
    found = batch.get(limit.counter(request, time.time()))
    batch.send()
    return found.value or 0


def add_count(request: HttpRequest, limit: Limit) -> int:
    """Count `request` on `limit`; its person's new count in this window (raises OUTAGE_ERRORS)."""
    batch = CacheBatch(counters_cache())
    counted = batch.count(limit.counter(request, time.time()), limit.seconds + EXPIRY_MARGIN)
    batch.send()
    return counted.value


def count_not_found(request: HttpRequest) -> None:
    """One more 404 from an appointment URL for this person (the 404 stands if it cannot be counted)."""
    try:
        add_count(request, NOT_FOUND_LIMIT)
    except OUTAGE_ERRORS as error:
        logger.warning(
            "abuse limits %s cannot be counted (%s) on %s %s: a 404 went uncounted",
            NOT_FOUND_LIMIT.group,
            type(error).__name__,
            request.method,
            request.path,
        )


class AbuseLimitMiddleware:
    """
    Apply LIMITS to the view a request resolved to, and count the 404s each user (or
    address) gets from appointment URLs: once they have NOT_FOUND, appointment URLs
    answer 429, so enumerating ids is hopeless, while a person who follows a stale
    link or whose appointment was deleted never comes near the limit. A blocked
    prober can still reach their own dashboard.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        counts = getattr(request, "abuse_counts", None)
        view_counts_itself = match is not None and getattr(match.func, "counts_its_limits", False)
        if view_counts_itself and (counts is None or not counts.sent):
            # A @counted_by_view view answered without sending its counts (refused by a decorator
            # before it, say a 405, or an outage): the request still counts.
            if response.status_code < 500:
                logger.info("abuse limits of %s counted after its view", request.path)
            Counts(request).send()
        if response.status_code == 404 and match is not None and "appointment_id" in match.kwargs:
            count_not_found(request)
        return response

    def process_view(self, request, view_func, view_args, view_kwargs):
        if getattr(view_func, "counts_its_limits", False):
            return None  # the view counts, in its own round trip (view_counts); checked after it
        counts = Counts(request)
        return counts.send() if counts else None
