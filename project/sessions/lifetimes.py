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
"""

import time

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.signals import user_logged_in
from django.http import HttpRequest

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
