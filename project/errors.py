"""
Friendly error pages: what happened and what to do, in the patient's words, never a
traceback or patient data. Each page that sends someone to the clinic says how to reach it
(CLINIC_NAME, CLINIC_PHONE: appointments/clinic.py), the 500 page included.
"""

import sys

from django.core.exceptions import PermissionDenied
from django.shortcuts import render

from appointments import clinic
from project.outages import is_outage, unavailable


class Refused(PermissionDenied):
    """
    A 403 that says what happened and what to do in its context: the error page shows its
    `title` and `message` as they are. Any other PermissionDenied (Django's own, the admin's)
    gets a general page, since its message was not written for the person reading it.
    """

    def __init__(self, title: str, message: str):
        super().__init__(message)
        self.title = title
        self.message = message


def _error(request, status, title, message):
    template = "errors/partial.html" if getattr(request, "htmx", False) else "errors/page.html"
    return render(request, template, {"title": title, "message": message, "status": status}, status=status)


def bad_request(request, exception=None):
    return _error(request, 400, "That request could not be understood", "Please go back and try again.")


def permission_denied(request, exception=None):
    if isinstance(exception, Refused):
        return _error(request, 403, exception.title, exception.message)
    if request.path.startswith("/admin/"):
        return _error(
            request,
            403,
            "This part of the clinic's administration is not open to your account",
            "If your work needs it, ask the clinic's administrator to give your account that permission.",
        )
    return _error(
        request,
        403,
        "Your account cannot open this page",
        f"If you think it should, please {clinic.contact()}.",
    )


def page_not_found(request, exception=None):
    # The same words whether the page does not exist or is someone else's: strangers learn nothing.
    return _error(
        request,
        404,
        "We cannot find this page",
        "It does not exist, or it is not yours to open: an appointment's page is shown only to its doctor "
        f"and its patient. Check the link you followed, or go back to your appointments. For help, please "
        f"{clinic.contact()}.",
    )


def csrf_failure(request, reason=""):
    """CSRF_FAILURE_VIEW: a form sent from a page that is too old, or from somewhere else."""
    return _error(
        request,
        403,
        "This form has expired",
        "The page was open for a long time, or you signed in again meanwhile, so it was not sent. "
        "Please go back, reload the page and try again.",
    )


def too_many_requests(request):
    """The answer when a limit in project/rate_limits.py is reached: a page, or a partial for htmx."""
    response = _error(
        request,
        429,
        "Too many requests",
        "You have done that a lot in a short time. Please wait a minute and try again.",
    )
    response["Retry-After"] = "60"
    response["Cache-Control"] = "no-store"
    return response


def server_error(request):
    # An outage met where ServiceUnavailableMiddleware cannot catch it (in another middleware)
    # gets its 503 here; Django has already logged it. handler500 runs inside Django's
    # `except` block, so the exception is the one being handled.
    error = sys.exc_info()[1]
    if is_outage(error):
        return unavailable(request, error, log=False)
    # No template context processors that touch the database (the fault may be the database):
    # the clinic's details come from the settings alone.
    from django.http import HttpResponseServerError
    from django.template import loader

    template = loader.get_template("errors/500.html")
    return HttpResponseServerError(template.render(clinic.details()))
