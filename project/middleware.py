import time
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import resolve_url
from django.utils.cache import patch_cache_control
from django_htmx.http import HttpResponseClientRedirect

from .sessions import lifetimes as sessions


class HtmxLoginRedirectMiddleware:
    """
    Turn "go and log in" redirects into a full-page navigation for htmx requests.

    Without this, htmx follows the 302 inside its XHR and swaps the login form into
    whatever it was updating (a status card, a toggle). With HX-Redirect the browser
    leaves the page and lands on the login form, with ?next= pointing back.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            getattr(request, "htmx", False)
            and response.status_code == 302
            and urlsplit(response["Location"]).path == resolve_url(settings.LOGIN_URL)
        ):
            # Come back to the page the user was looking at, not to the partial's URL.
            # current_url_abs_path is None for another origin, so this is no open redirect.
            try:
                page = request.htmx.current_url_abs_path
            except ValueError:  # a garbled HX-Current-URL (e.g. "http://[bad"): no way back, just log in
                page = None
            target = redirect_to_login(page)["Location"] if page else response["Location"]
            return HttpResponseClientRedirect(target)
        return response


class PermissionsPolicyMiddleware:
    """
    Deny powerful browser features to every page; the room page's Jitsi frame gets
    camera, microphone and screen sharing for the Jitsi origin only
    (see telemedicine.jitsi.permissions_policy).
    """

    DEFAULT = "camera=(), microphone=(), display-capture=(), geolocation=(), payment=(), usb=()"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", self.DEFAULT)
        return response


class SlidingSessionMiddleware:
    """
    The two clocks of a session (project/sessions/lifetimes.py). Before the view: a session older
    than SESSION_ABSOLUTE_LIFETIME is ended, so the request goes on signed out (to the
    login page). After it: the idle timeout (SESSION_COOKIE_AGE) runs from the person's
    latest request, as with SESSION_SAVE_EVERY_REQUEST, except that polls a view marked
    with sessions.mark_poll(request, keeps_alive=False) do not count; and the session is
    written back, and its cookie sent again, at most once every SESSION_REFRESH_INTERVAL
    seconds (or a tenth of the idle timeout, if shorter). A waiting patient's status card
    polls every 10 s: saving on every request was a cache write (an UPDATE and a commit
    with sessions in the database) and a Set-Cookie header on each poll. The price: a
    session can end up to that interval before a full idle timeout has passed since the
    latest request.
    """

    REFRESHED_AT = "_refreshed_at"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = request.session
        # No session cookie: nothing to end or keep alive, and none is made (no load either).
        if not session.is_empty() and sessions.lifetime_is_over(session, int(time.time())):
            # Signed out as Django signs out: the session flushed (SessionMiddleware drops the
            # cookie) and request.user anonymous, even if something already read it.
            logout(request)
        response = self.get_response(request)
        if session.is_empty():
            return response
        refreshed_at = session.get(self.REFRESHED_AT, 0)  # loads the session
        now = int(time.time())
        # Empty once loaded: the cookie's session has ended; SessionMiddleware drops the cookie.
        if session.is_empty():
            return response
        if sessions.is_signed_in(session) and sessions.SIGNED_IN_AT not in session:
            sessions.stamp_sign_in(session, now)  # signed in before sign-ins were stamped
        if sessions.extends_idle_timeout(request) and now - refreshed_at >= refresh_interval():
            session[self.REFRESHED_AT] = now  # modified: SessionMiddleware saves it with a new expiry
            if sessions.is_signed_in(session):
                sessions.remember_ends(response, session, now)  # so the login page can say why it ended
        return response


def refresh_interval() -> int:
    return min(settings.SESSION_REFRESH_INTERVAL, settings.SESSION_COOKIE_AGE // 10)


class PrivatePagesMiddleware:
    """
    Every answer to a signed-in person says `Cache-Control: private, no-store`: dashboards
    and scheduling forms carry patient names, and neither the browser (a clinic's shared
    computer, its back button) nor any cache on the way may keep them. Pages that were
    already never_cache keep their directives; these two are added.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            patch_cache_control(response, private=True, no_store=True)
        return response
