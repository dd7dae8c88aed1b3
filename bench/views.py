"""The do-nothing view `make bench` measures as the ceiling: Django's full middleware
stack and nothing else. Routed only when settings.BENCH is on (DJANGO_BENCH=1)."""

from django.http import HttpResponse
from django.views.decorators.http import require_GET


@require_GET
def noop(request):
    return HttpResponse("ok\n", content_type="text/plain")
