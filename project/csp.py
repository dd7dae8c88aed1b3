"""
django-csp's middleware, with the policy that almost every answer carries built once.

django-csp 4 builds the Content-Security-Policy header from the settings on every response,
and twice (the policy and the report-only one), each time copying every directive
(`csp.utils.build_policy` after a `dataclasses.asdict`): measured in process, that was about a
tenth of the CPU of a request that does nothing else (docs/performance.md).

An answer needs a policy of its own only if it changes it (django-csp's decorators, or
telemedicine.jitsi.open_to_jitsi on the room page: they set `response._csp_*`), if its page
asked for a nonce, if the settings ask for more than one policy (report-only, excluded
prefixes), or if DEBUG exempts it (its 404 and 500 pages). Those answers go through
django-csp unchanged. Every other one gets the string django-csp's own `build_policy()` made
from the settings, kept until the settings change (the `setting_changed` signal, which
override_settings sends in tests). Measured alone: 72 -> 22 µs of CPU per answer.
"""

import functools
from http import HTTPStatus

from csp import middleware as django_csp
from csp.constants import HEADER
from csp.utils import build_policy
from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponseBase

# What django-csp's decorators (and open_to_jitsi) set on a response that has a policy of its own.
OWN_POLICY_ATTRIBUTES = (
    "_csp_config",
    "_csp_update",
    "_csp_replace",
    "_csp_exempt",
    "_csp_config_ro",
    "_csp_update_ro",
    "_csp_replace_ro",
    "_csp_exempt_ro",
)


@functools.cache
def settings_policy() -> str:
    """The policy of settings.CONTENT_SECURITY_POLICY, as django-csp writes it."""
    return build_policy()


@receiver(setting_changed)
def forget_settings_policy(*, setting: str, **kwargs) -> None:
    if setting.startswith("CONTENT_SECURITY_POLICY"):
        settings_policy.cache_clear()


def needs_django_csp(request: HttpRequest, response: HttpResponseBase) -> bool:
    """Is this answer's policy anything but the settings' one, as django-csp would write it?"""
    policy = getattr(settings, "CONTENT_SECURITY_POLICY", None)
    return (
        # django-csp leaves DEBUG's error pages without a policy.
        (settings.DEBUG and response.status_code in {HTTPStatus.NOT_FOUND, HTTPStatus.INTERNAL_SERVER_ERROR})
        or not policy
        or bool(policy.get("EXCLUDE_URL_PREFIXES"))
        or bool(getattr(settings, "CONTENT_SECURITY_POLICY_REPORT_ONLY", None))
        or getattr(request, "_csp_nonce", None) is not None
        or HEADER in response
        or any(hasattr(response, name) for name in OWN_POLICY_ATTRIBUTES)
    )


class CSPMiddleware(django_csp.CSPMiddleware):
    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        if needs_django_csp(request, response):
            return super().process_response(request, response)
        response[HEADER] = settings_policy()
        # As django-csp does once the header is written: a nonce asked for from now on could
        # not be in it, so asking is an error rather than a script the policy blocks.
        request.csp_nonce = django_csp.CheckableLazyObject(self._csp_nonce_post_response)  # type: ignore[attr-defined]
        return response
