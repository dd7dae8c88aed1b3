import logging
from datetime import datetime
from typing import Any
from uuid import UUID

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HTMX_STOP_POLLING, trigger_client_event

from appointments.models import Appointment, Notification
from appointments.notifications import notify
from project.http import HtmxHttpRequest
from project.sessions.lifetimes import mark_poll

from . import audit
from .access import (
    CallReport,
    Phase,
    call_report_access,
    heartbeat_seconds,
    is_assigned_doctor,
    is_participant,
    poll_keeps_session_alive,
    room_access,
)
from .conf import integration_enabled
from .forms import SignInLinkRequestForm, next_visit_for_link
from .jitsi import external_api_url, room_csp, room_options, room_permissions_policy
from .sign_in import Outcome as SignInOutcome
from .sign_in import use_link
from .status import refusal_message, status_card
from .tokens import TokenConfigurationError

logger = logging.getLogger("telemedicine")

DETAIL_TEMPLATE = "telemedicine/appointment_detail.html"
ROOM_TEMPLATE = "telemedicine/jitsi_room.html"
VIDEO_SERVICE_MISCONFIGURED = {
    "title": "The video service is not available",
    "message": "The clinic's video service is not set up correctly, so the call cannot start. "
    "Please call the clinic: your doctor can continue the visit by phone.",
}


def appointment_for_participant(
    request: HtmxHttpRequest, appointment_id: int, appointments: QuerySet[Appointment] | None = None
) -> Appointment:
    """The appointment if the user is its doctor or patient; 404 otherwise, so strangers learn nothing."""
    if appointments is None:
        appointments = Appointment.objects.with_people()
    appointment = get_object_or_404(appointments, pk=appointment_id)
    if not is_participant(request.user, appointment):
        audit.record_refusal(request, appointment_id, "not-participant")
        raise Http404("No such appointment for this user.")
    return appointment


def detail_context(request: HtmxHttpRequest, appointment: Appointment, now: datetime) -> dict[str, Any]:
    card = status_card(appointment, now)
    is_doctor = is_assigned_doctor(request.user, appointment)
    return {
        "appointment": appointment,
        "card": card,
        "is_doctor": is_doctor,
        # Only the doctor is told, and only while the call can be joined (one query then).
        "patient_in_room": is_doctor and card.phase is Phase.OPEN and audit.patient_in_room(appointment),
    }


@require_GET
@login_required
@never_cache
def appointment_detail(request: HtmxHttpRequest, appointment_id: int) -> HttpResponse:
    appointment = appointment_for_participant(request, appointment_id)
    context = detail_context(request, appointment, timezone.now())
    if integration_enabled() and appointment.is_telemedicine:
        # Only the page shows guests, never the status card's poll: it costs the poll nothing.
        from .guest_views import guests_context  # guest_views builds on this module

        guests = guests_context(request, appointment)
        context |= guests | {"show_guests": guests["is_doctor"] or guests["may_invite"] or guests["guests"]}
    return render(request, DETAIL_TEMPLATE, context)


@require_GET
@login_required
@never_cache
def check_status(request: HtmxHttpRequest, appointment_id: int) -> HttpResponse:
    try:
        # The hottest path: the card shows no names, so no people and only the columns it reads.
        appointment = appointment_for_participant(
            request, appointment_id, Appointment.objects.only(*Appointment.STATE_FIELDS)
        )
    except Http404:
        # The card asks until told otherwise: tell it plainly, and stop it asking.
        mark_poll(request, keeps_alive=False)
        return render(request, f"{DETAIL_TEMPLATE}#status-card-gone", status=404)
    now = timezone.now()
    # A poll keeps the session alive only while the visit is near or open.
    mark_poll(request, keeps_alive=poll_keeps_session_alive(appointment, now))
    context = detail_context(request, appointment, now)
    response = render(request, f"{DETAIL_TEMPLATE}#status-card", context)
    if request.htmx and not context["card"].is_polling:
        response.status_code = HTMX_STOP_POLLING
    return response


@require_POST
@login_required
def toggle_telemedicine(request: HtmxHttpRequest, appointment_id: int) -> HttpResponse:
    appointment = appointment_for_participant(request, appointment_id)
    if not is_assigned_doctor(request.user, appointment) or not integration_enabled():
        audit.record_refusal(request, appointment_id, "not-assigned-doctor")
        raise Http404("Only the appointment's doctor can change this.")
    enabled = request.POST.get("enabled") in {"on", "1", "true"}
    error = None
    if appointment.is_closed:
        error = f"This appointment is {appointment.get_status_display().lower()}; it can no longer change."
    else:
        # The switch, its audit record and the patient's email are written together or not at all.
        with transaction.atomic():
            if appointment.set_telemedicine(enabled):
                notify(appointment, Notification.Kind.VIDEO_ON if enabled else Notification.Kind.VIDEO_OFF)
            audit.record_toggle(request, appointment, enabled)
    if request.htmx:
        context = detail_context(request, appointment, timezone.now()) | {"toggle_error": error}
        response = render(request, f"{DETAIL_TEMPLATE}#telemedicine-toggle", context, status=409 if error else 200)
        return trigger_client_event(response, "telemedicine-changed", {"appointment": appointment.pk})
    if error:
        messages.error(request, error)
    else:
        messages.success(request, f"Video visit switched {'on' if enabled else 'off'}.")
    return redirect(appointment)


@require_GET
@login_required
@never_cache
def jitsi_room(request: HtmxHttpRequest, appointment_id: int) -> HttpResponse:
    appointment = appointment_for_participant(request, appointment_id)
    now = timezone.now()
    access = room_access(request.user, appointment, now)
    audit.record_room_decision(request, appointment.pk, access)
    if not access.allowed:
        context = detail_context(request, appointment, now) | {
            "access": access,
            "refusal_message": refusal_message(access),
        }
        return render(request, ROOM_TEMPLATE, context, status=403)
    try:
        jitsi = room_options(appointment, request.user, now)
    except TokenConfigurationError as error:
        # The message names the setting, never its value; `manage.py check` says the same.
        logger.error("room tokens cannot be made appointment=%s: %s", appointment.pk, error)
        return render(request, "errors/page.html", VIDEO_SERVICE_MISCONFIGURED, status=503)
    response = render(
        request,
        ROOM_TEMPLATE,
        {
            "appointment": appointment,
            "access": access,
            "jitsi": jitsi,
            "external_api_url": external_api_url(),
            "heartbeat_seconds": heartbeat_seconds(settings.SESSION_COOKIE_AGE),
        },
    )
    # What django-csp's @csp_replace sets, but computed per request (the Jitsi origin follows the settings).
    response._csp_replace = room_csp()  # type: ignore[attr-defined]
    response["Permissions-Policy"] = room_permissions_policy()
    return response


@require_POST
@login_required
def call_event(request: HtmxHttpRequest, appointment_id: int) -> HttpResponse:
    """
    The room page reports what Jitsi did: `event=joined`, `event=left` (a beacon), or
    `event=heartbeat`, which records nothing and only keeps the session alive during a
    long call. 204 when accepted; the page carries on whatever the answer.
    """
    appointment = appointment_for_participant(request, appointment_id)
    try:
        report = CallReport(request.POST.get("event", ""))
    except ValueError:
        return HttpResponseBadRequest("Unknown call event.")
    access = call_report_access(request.user, appointment, report, timezone.now())
    if not access.allowed:
        audit.record_refusal(request, appointment.pk, access.reason)
        raise PermissionDenied("The call cannot be reported now.")
    audit.record_call_event(request, appointment.pk, report)
    return HttpResponse(status=204)


# The backend that serves the session afterwards: the cached one every other sign-in uses.
SESSION_BACKEND = "appointments.auth_backends.CachedModelBackend"
SIGN_IN_TEMPLATE = "telemedicine/sign_in.html"


@require_GET
@never_cache
def sign_in(request: HtmxHttpRequest, link_id: UUID) -> HttpResponse:
    """The one-tap link from a patient's email (telemedicine/sign_in.py has the rules)."""
    now = timezone.now()
    result = use_link(request, link_id, now)
    if result.outcome is SignInOutcome.REFUSED:
        if result.link is not None:
            audit.record_link_refused(request, result.link, result.refusal, user=result.user)
        else:
            logger.warning("sign-in link refused reason=%s", result.refusal)
        return render(request, SIGN_IN_TEMPLATE, {"form": SignInLinkRequestForm()}, status=403)
    assert result.link is not None
    if result.outcome is SignInOutcome.SIGNED_IN:
        # A fresh session for the patient: whoever was signed in on this browser before is signed out.
        login(request, result.user, backend=SESSION_BACKEND)
        audit.record_link_signed_in(request, result.link)
    return redirect(result.link.appointment)


@require_POST
def sign_in_request(request: HtmxHttpRequest) -> HttpResponse:
    """
    "Send me a new link": the same answer whether or not the address belongs to a patient,
    so nobody learns who the clinic's patients are. Rate-limited (project/rate_limits.py).
    """
    form = SignInLinkRequestForm(request.POST)
    if not form.is_valid():
        return render(request, f"{SIGN_IN_TEMPLATE}#link-request", {"form": form}, status=400)
    appointment = next_visit_for_link(form.cleaned_data["email"], timezone.now())
    if appointment is not None:
        with transaction.atomic():
            notify(appointment, Notification.Kind.SIGN_IN_LINK)
    context = {"form": form, "requested": True}
    if request.htmx:
        return render(request, f"{SIGN_IN_TEMPLATE}#link-request", context)
    return render(request, SIGN_IN_TEMPLATE, context)
