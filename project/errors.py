"""Friendly error pages: a plain explanation, never a traceback or patient data."""

import sys

from django.shortcuts import render

from project.outages import is_outage, unavailable


def _error(request, status, title, message):
    template = "errors/partial.html" if getattr(request, "htmx", False) else "errors/page.html"
    return render(request, template, {"title": title, "message": message, "status": status}, status=status)


def bad_request(request, exception=None):
    return _error(request, 400, "That request could not be understood", "Please go back and try again.")


def permission_denied(request, exception=None):
    return _error(
        request,
        403,
        "You cannot open this page",
        "It belongs to someone else's appointment. If you think this is a mistake, contact the clinic.",
    )


def page_not_found(request, exception=None):
    return _error(
        request,
        404,
        "Not found",
        "This page or appointment does not exist, or is no longer available to you.",
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
    # No template context processors that touch the database: the fault may be the database.
    from django.http import HttpResponseServerError
    from django.template import loader

    template = loader.get_template("errors/500.html")
    return HttpResponseServerError(template.render())
