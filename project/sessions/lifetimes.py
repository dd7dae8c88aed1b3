"""
How long a session lasts: the public contract between views and the session middleware.

Two clocks end a session (docs/security.md, Sessions):

* the idle timeout (SESSION_COOKIE_AGE, from SESSION_IDLE_TIMEOUT): it runs from the
  person's latest request that counts as someone being there;
* the absolute lifetime (SESSION_ABSOLUTE_LIFETIME): it runs from signing in, whatever
  happens, so a screen left signed in on a clinic's shared computer signs out at the
  end of a working day at the latest.

Every request counts as someone being there, except the automatic ones a page makes on
its own (a status card's polls, the dashboard's refresh): the view that answers one
calls mark_poll(request, keeps_alive), and only a poll marked keeps_alive extends the
idle timeout. project.middleware.SlidingSessionMiddleware applies both rules.

Why a session ended: when either clock ends a session, its cookie is gone (the browser drops
it at the idle timeout, the server at the absolute lifetime), so the login page could not
tell "signed out after 30 minutes without activity" from "never signed in". A second cookie
(ENDS_COOKIE) outlives the session's: it holds the two moments the session will end, signed,
and nothing secret. The middleware writes it whenever it moves the idle timeout on, the
logout view deletes it, and the login page reads it (why_it_ended) once.
"""

import enum
import time

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.signals import user_logged_in
from django.core import signing
from django.http import HttpRequest, HttpResponse

# Session key: when the person signed in (seconds since the epoch).
SIGNED_IN_AT = "_signed_in_at"
# Request attribute set by mark_poll: absent for a request a person made.
POLL_KEEPS_ALIVE = "session_poll_keeps_alive"


def mark_poll(request: HttpRequest, keeps_alive: bool) -> None:
    """
    Say that `request` is a poll a page made on its own, not something a person did.
    It extends the idle timeout only if `keeps_alive` (e.g. while a video visit is near
    or open: telemedicine.access.poll_keeps_session_alive); otherwise a page left open
    lets the session run out as if nobody were there.
    """
    setattr(request, POLL_KEEPS_ALIVE, keeps_alive)


def extends_idle_timeout(request: HttpRequest) -> bool:
    """True for a request a person made, and for a poll marked keeps_alive."""
    return getattr(request, POLL_KEEPS_ALIVE, True)


def is_signed_in(session) -> bool:
    return SESSION_KEY in session


def lifetime_is_over(session, now: int) -> bool:
    """True once SESSION_ABSOLUTE_LIFETIME seconds have passed since signing in."""
    signed_in_at = session.get(SIGNED_IN_AT)
    return signed_in_at is not None and now - signed_in_at >= settings.SESSION_ABSOLUTE_LIFETIME


def stamp_sign_in(session, now: int) -> None:
    session[SIGNED_IN_AT] = now


def record_sign_in(sender, request, user, **kwargs) -> None:
    """user_logged_in: every sign-in (the login form, the admin's, a one-tap link) starts the lifetime anew."""
    if request is not None and hasattr(request, "session"):
        stamp_sign_in(request.session, int(time.time()))


# Connected on import: project.middleware imports this module, so before any request.
user_logged_in.connect(record_sign_in, dispatch_uid="project-sessions-signed-in-at")


# --- Why a session ended, for the login page ------------------------------------------------

ENDS_COOKIE = "clinic_session_ends"
ENDS_SALT = "project.sessions.lifetimes.ends"


class Ending(enum.StrEnum):
    IDLE = "idle"  # SESSION_IDLE_TIMEOUT without a request made by a person
    ABSOLUTE = "absolute"  # SESSION_ABSOLUTE_LIFETIME after signing in
    OTHER = "other"  # before either: signed out elsewhere, password changed, account closed


def remember_ends(response: HttpResponse, session, now: int) -> None:
    """Write down when this signed-in session will end (idle, absolute), for the login page to read later."""
    ends = {"idle": now + settings.SESSION_COOKIE_AGE}
    if (signed_in_at := session.get(SIGNED_IN_AT)) is not None:
        ends["absolute"] = signed_in_at + settings.SESSION_ABSOLUTE_LIFETIME
    response.set_cookie(
        ENDS_COOKIE,
        signing.dumps(ends, salt=ENDS_SALT, compress=True),
        max_age=settings.SESSION_ABSOLUTE_LIFETIME,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )


def forget_ends(response: HttpResponse) -> None:
    """Signed out on purpose (or told why already): the login page has nothing to explain."""
    response.delete_cookie(ENDS_COOKIE, samesite="Lax")


def why_it_ended(request: HttpRequest, now: int) -> Ending | None:
    """Why the session of this (now signed-out) browser ended, or None if it never had one to explain."""
    value = request.COOKIES.get(ENDS_COOKIE)
    if not value:
        return None
    try:
        ends = signing.loads(value, salt=ENDS_SALT)
    except signing.BadSignature:
        return None
    if not isinstance(ends, dict):
        return None
    # Whichever clock ran out first ended it; neither yet: something else did.
    passed = [
        (moment, ending)
        for ending, moment in ((Ending.IDLE, ends.get("idle")), (Ending.ABSOLUTE, ends.get("absolute")))
        if isinstance(moment, int) and now >= moment
    ]
    return min(passed)[1] if passed else Ending.OTHER
