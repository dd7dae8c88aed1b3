"""
Django's SessionMiddleware, for the moment when the session store goes away between
reading a session (before the view) and saving it back (after the view).

An existing session is saved back only to move its idle timeout on (SlidingSessionMiddleware
does it about once a minute): if that save meets an outage the view's answer stands, because
it tells the truth about what the view did (a toggle that was saved must not be reported as
failed, or be done twice), and the session keeps its previous expiry; a WARNING says so.
A session made during this request (a login) that cannot be saved means the person is not
signed in: that answer becomes the 503 page.
"""

import logging

from django.conf import settings
from django.contrib.sessions import middleware

from project.outages import OUTAGE_ERRORS, unavailable

logger = logging.getLogger("project")


class SessionMiddleware(middleware.SessionMiddleware):
    def process_response(self, request, response):
        try:
            return super().process_response(request, response)
        except OUTAGE_ERRORS as error:
            if request.session.session_key != request.COOKIES.get(settings.SESSION_COOKIE_NAME):
                return unavailable(request, error)
            logger.warning(
                "session not refreshed (store unavailable: %s) on %s %s; the answer stands",
                type(error).__name__,
                request.method,
                request.path,
            )
            return response
