"""
Signing in: the one spelling of a username that every counter uses, and the login page.

Django's login form normalises a username to Unicode NFKC before authenticating, so
"ｐａｔ" (full-width) and "𝐩𝐚𝐭" (mathematical bold) sign in as "pat". A counter keyed
on the raw POSTed text gave each spelling a fresh count (issue 16, finding 3). The
per-username rate limit (project/rate_limits.py) and django-axes' lock-out
(AXES_USERNAME_CALLABLE) both count on username_key(): NFKC, then case-folded, so
"PAT" and "Pat" share the count too (two accounts that differ only in case share it:
a stricter count, never a looser one).
"""

import time
import unicodedata
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.shortcuts import resolve_url

from appointments.clinic_time import format_duration

from .sessions.lifetimes import Ending, forget_ends, why_it_ended

# Django's username field is 150 characters; longer input never authenticates.
USERNAME_MAX_LENGTH = 150


def username_key(username: str | None) -> str:
    """The username as the login form reads it (stripped, NFKC), case-folded (Unicode's NFKC_Casefold)."""
    text = unicodedata.normalize("NFKC", (username or "").strip())
    return unicodedata.normalize("NFKC", text.casefold())[:USERNAME_MAX_LENGTH]


def axes_username(request, credentials: dict | None = None) -> str:
    """AXES_USERNAME_CALLABLE: the same key, from what axes was handed or from the POSTed form."""
    field = getattr(settings, "AXES_USERNAME_FORM_FIELD", "username")  # axes sets its default at start-up
    if credentials is not None and credentials.get(field) is not None:
        return username_key(credentials[field])
    data = getattr(request, "data", None) or getattr(request, "POST", {})
    return username_key(data.get(field))


def signed_out_message(ending: Ending | None) -> str:
    """What the login page says about the session that just ended ("" when there is nothing to say)."""
    if ending is Ending.IDLE:
        return (
            f"You were signed out after {format_duration(settings.SESSION_COOKIE_AGE)} without activity, "
            "so that nobody else can use this screen as you."
        )
    if ending is Ending.ABSOLUTE:
        return (
            f"You were signed out because a session lasts at most "
            f"{format_duration(settings.SESSION_ABSOLUTE_LIFETIME)}, however busy."
        )
    if ending is Ending.OTHER:
        return "You were signed out."
    return ""


class LoginView(auth_views.LoginView):
    """
    Django's LoginView; a signed-in person is sent on, never in a circle. Someone whose session
    has just ended is told why (project/sessions/lifetimes.py), once, and ?next= brings them back
    to the page they were on (htmx polls are sent here with it: project.middleware).
    """

    redirect_authenticated_user = True

    def get(self, request, *args, **kwargs):
        self.signed_out = signed_out_message(why_it_ended(request, int(time.time())))
        response = super().get(request, *args, **kwargs)
        if self.signed_out:
            forget_ends(response)  # said once
        return response

    def get_context_data(self, **kwargs):
        return super().get_context_data(**kwargs) | {"signed_out": getattr(self, "signed_out", "")}

    def get_success_url(self) -> str:
        # ?next= pointing back at the login page (e.g. /login/?next=/login/) made Django raise
        # "Redirection loop for authenticated user detected" (a 500): go to the dashboard instead.
        url = super().get_success_url()
        if urlsplit(url).path == resolve_url(settings.LOGIN_URL):
            return resolve_url(settings.LOGIN_REDIRECT_URL)
        return url


class LogoutView(auth_views.LogoutView):
    """Django's LogoutView; signing out on purpose leaves the login page nothing to explain."""

    def post(self, request, *args, **kwargs):
        response = super().post(request, *args, **kwargs)
        forget_ends(response)
        return response
