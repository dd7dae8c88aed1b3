"""The request every view receives, typed as django-htmx's example project types it."""

from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails


class HtmxHttpRequest(HttpRequest):
    """An HttpRequest after HtmxMiddleware: `request.htmx` is checked by mypy."""

    htmx: HtmxDetails
