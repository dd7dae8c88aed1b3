"""
project.csp: the settings' policy built once per process must be, byte for byte, what
django-csp writes; every answer with a policy of its own still goes through django-csp.
"""

import pytest
from csp.constants import NONCE
from csp.decorators import csp_exempt, csp_update
from csp.middleware import CSPMiddleware as DjangoCSPMiddleware
from django.http import HttpResponse
from django.test import RequestFactory, override_settings

from project.csp import CSPMiddleware

POLICY = "Content-Security-Policy"


def plain(request):
    return HttpResponse("hello")


@csp_update({"img-src": ["https://images.example"]})
def updated(request):
    return HttpResponse("hello")


@csp_exempt()
def exempt(request):
    return HttpResponse("hello")


def with_nonce(request):
    # A page that puts a nonce in a script tag asks for it while rendering.
    return HttpResponse(f"<script nonce='{request.csp_nonce}'></script>")


def answers(view) -> tuple[HttpResponse, HttpResponse]:
    """The same request answered by django-csp's middleware and by ours."""
    ours, theirs = CSPMiddleware(view), DjangoCSPMiddleware(view)
    factory = RequestFactory()
    return ours(factory.get("/")), theirs(factory.get("/"))


@pytest.mark.parametrize("view", [plain, updated, exempt])
def test_every_answer_carries_what_django_csp_writes(view):
    ours, theirs = answers(view)
    assert ours.get(POLICY) == theirs.get(POLICY)


def test_a_plain_answer_gets_the_settings_policy():
    ours, _ = answers(plain)
    assert "default-src 'self'" in ours[POLICY]
    assert "frame-ancestors 'none'" in ours[POLICY]


def test_an_answer_that_updates_its_policy_keeps_its_update():
    ours, _ = answers(updated)
    assert "img-src 'self' data: https://images.example" in ours[POLICY]


@override_settings(CONTENT_SECURITY_POLICY={"DIRECTIVES": {"default-src": ["'self'"], "script-src": ["'self'", NONCE]}})
def test_a_nonce_asked_for_while_rendering_is_in_the_header():
    ours, _ = answers(with_nonce)
    nonce = ours.content.decode().split("nonce='")[1].split("'")[0]
    assert f"script-src 'self' 'nonce-{nonce}'" in ours[POLICY]
    # Without a nonce, the same settings give a policy without one.
    assert "nonce" not in CSPMiddleware(plain)(RequestFactory().get("/"))[POLICY]


def test_a_nonce_asked_for_after_the_header_is_an_error():
    request = RequestFactory().get("/")
    CSPMiddleware(plain)(request)
    with pytest.raises(Exception, match="csp_nonce"):
        str(request.csp_nonce)


def test_the_policy_follows_the_settings():
    before = CSPMiddleware(plain)(RequestFactory().get("/"))[POLICY]
    with override_settings(CONTENT_SECURITY_POLICY={"DIRECTIVES": {"default-src": ["'none'"]}}):
        changed = CSPMiddleware(plain)(RequestFactory().get("/"))[POLICY]
    after = CSPMiddleware(plain)(RequestFactory().get("/"))[POLICY]
    assert changed == "default-src 'none'"
    assert before == after != changed
