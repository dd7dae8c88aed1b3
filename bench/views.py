"""
The do-nothing views `make bench` measures as ceilings, routed only when settings.BENCH
is on (DJANGO_BENCH=1): `noop` is Django's full middleware stack and nothing else;
`noop_logged_in` adds what every request of a logged-in person costs (the session,
the user, the sliding session), so the table shows how much of a status poll is the
poll itself.
"""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.views.decorators.http import require_GET


@require_GET
def noop(request):
    return HttpResponse("ok\n", content_type="text/plain")


@require_GET
@login_required
def noop_logged_in(request):
    return HttpResponse("ok\n", content_type="text/plain")
