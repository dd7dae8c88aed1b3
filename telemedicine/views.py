import logging
from datetime import datetime
from typing import Any, cast
from uuid import UUID

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HTMX_STOP_POLLING, trigger_client_event

from appointments import clinic
from appointments.clinic_time import clinic_slot, same_day
from appointments.confirmations import render_confirmation
from appointments.listing import AppointmentList, listed_with_doctor, upcoming_from
from appointments.models import Appointment, Notification
from appointments.notifications import notify
from appointments.panels import Panel
from appointments.roles import doctor_name, is_doctor
from appointments.rules import may_complete
from appointments.wording import done
from project.cache_batch import CacheBatch
from project.http import HtmxHttpRequest
from project.rate_limits import counted_by_view, view_counts
from project.sessions.lifetimes import mark_poll

from . import audit, presence, waiting_room
from .access import (
    CallReport,
    heartbeat_seconds,
    is_assigned_doctor,
    is_participant,
    participant_ids,
    poll_keeps_session_alive,
    room_access,
    switch_off_needs_confirmation,
)
from .conf import integration_enabled
from .confirmations import switch_off_confirmation
from .forms import SignInLinkRequestForm, next_visit_for_link
from .jitsi import external_api_url, open_to_jitsi, room_options
from .models import AccessEvent
from .sign_in import Outcome as SignInOutcome
from .sign_in import use_link
from .status import clock_text, room_refusal, status_card
from .tokens import TokenConfigurationError

logger = logging.getLogger("telemedicine")

DETAIL_TEMPLATE = "telemedicine/appointment_detail.html"
ROOM_TEMPLATE = "telemedicine/jitsi_room.html"
PANELS_TEMPLATE = "telemedicine/dashboard_panels.html"
STAFF_PANELS_TEMPLATE = "telemedicine/staff_panels.html"
DEVICE_CHECK_TEMPLATE = "telemedicine/device_check.html"
# The device check is the one page besides the room that may use the camera and microphone,
# and only for the app itself (no Jitsi, no frame).
DEVICE_CHECK_PERMISSIONS_POLICY = (
    "camera=(self), microphone=(self), display-capture=(), geolocation=(), payment=(), usb=()"
)


def video_service_misconfigured() -> dict[str, str]:
    return {
        "title": "The video service is not available",
        "message": "The clinic's video service is not set up correctly, so the call cannot start. "
        f"Please {clinic.contact()}: your doctor can continue the visit by phone.",
    }


def appointment_for_participant(
    request: HtmxHttpRequest, appointment_id: int, appointments: QuerySet[Appointment] | None = None
) -> Appointment:
    """The appointment if the user is its doctor or patient; 404 otherwise, so strangers learn nothing."""
    if appointments is None:
        appointments = Appointment.objects.with_people()
    appointment = get_object_or_404(appointments, pk=appointment_id)
    refuse_strangers(request, appointment)
    return appointment


def refuse_strangers(request: HtmxHttpRequest, appointment: Appointment | None) -> None:
    """404 unless the appointment exists and the user takes part in it; a stranger's try is audited."""
    if appointment is None:
        raise Http404("No such appointment.")
    if not is_participant(request.user, appointment):
        audit.record_refusal(request, appointment.pk, "not-participant")
        raise Http404("No such appointment for this user.")


def signed_in_id(request: HttpRequest) -> int:
    """The person making the request, by id: every view here requires login first."""
    return cast(int, request.user.pk)


def detail_context(
    request: HttpRequest,
    appointment: Appointment,
    now: datetime,
    *,
    after_call: bool = False,
    here: presence.CardPresence | None = None,
) -> dict[str, Any]:
    """
    What the status card shows its viewer at `now`; showing it is what marks their page as
    open (telemedicine.presence). Who is in the call comes from the cache, never a query:
    `here`, if the caller has already asked (in its request's one round trip), else asked now.
    """
    viewer = request.user
    is_doctor = is_assigned_doctor(viewer, appointment)
    if here is None:
        batch = CacheBatch()
        here = presence.CardPresence(batch, appointment, signed_in_id(request), now, participant_ids(appointment))
        batch.send()
    people = here.people()
    doctor = people.get(appointment.doctor_id, presence.ABSENT)
    card = status_card(appointment, now, for_doctor=is_doctor, doctor_in_call=doctor.in_call, after_call=after_call)
    return {
        "appointment": appointment,
        "card": card,
        "is_doctor": is_doctor,
        # Only the doctor is told, and only while the call can be joined.
        "patient_in_room": is_doctor and people.get(appointment.patient_id, presence.ABSENT).in_call,
        # Back from the call (the room page's Leave link and Jitsi's close lead here with ?call=ended).
        "after_call": after_call,
    }


def came_back_from_call(request: HtmxHttpRequest) -> bool:
    return request.GET.get("call") == "ended"


@require_GET
@login_required
@never_cache
def appointment_detail(request: HtmxHttpRequest, appointment_id: int) -> HttpResponse:
    appointment = appointment_for_participant(request, appointment_id)
    now = timezone.now()
    context = detail_context(request, appointment, now, after_call=came_back_from_call(request))
    # Mark completed is offered from the visit's start only (appointments.rules).
    context["may_complete"] = may_complete(request.user, appointment, now)
    if integration_enabled() and appointment.is_telemedicine:
        # Only the page shows guests, never the status card's poll: it costs the poll nothing.
        from .guest_views import guests_context  # guest_views builds on this module

        guests = guests_context(request, appointment)
        context |= guests | {"show_guests": guests["is_doctor"] or guests["may_invite"] or guests["guests"]}
    return render(request, DETAIL_TEMPLATE, context)


@counted_by_view
@require_GET
@login_required
@never_cache
def check_status(request: HtmxHttpRequest, appointment_id: int) -> HttpResponse:
    # The hottest path. Its abuse limits, the viewer's "page open" mark and who is in the call
    # go to the cache together, once the appointment is known: one round trip. They are decided
    # before anything is written: a prober past the 404 guard leaves no audit record.
    batch = CacheBatch()
    counts = view_counts(request, batch)
    # Only the columns the card reads, and the doctor's name it may say.
    appointment = listed_with_doctor(appointment_id)
    now = timezone.now()
    here = None
    if appointment is not None and is_participant(request.user, appointment):
        here = presence.CardPresence(batch, appointment, signed_in_id(request), now, participant_ids(appointment))
    if refused := counts.send():
        return refused
    try:
        refuse_strangers(request, appointment)
    except Http404:
        # The card asks until told otherwise: tell it plainly, and stop it asking.
        mark_poll(request, keeps_alive=False)
        return render(request, f"{DETAIL_TEMPLATE}#status-card-gone", status=404)
    assert appointment is not None
    # A poll keeps the session alive only while the visit is near or open.
    mark_poll(request, keeps_alive=poll_keeps_session_alive(appointment, now))
    context = detail_context(request, appointment, now, after_call=came_back_from_call(request), here=here)
    # The card shows no form, no user and no message: rendered without the request, it skips the
    # context processors: 0.41 -> 0.22 ms of CPU per poll, timed in the view (docs/performance.md).
    response = HttpResponse(render_to_string(f"{DETAIL_TEMPLATE}#status-card", context))
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
    now = timezone.now()
    if (
        not enabled
        and appointment.is_telemedicine
        and switch_off_needs_confirmation(appointment, now)
        and request.POST.get("confirmed") != "yes"
    ):
        # Nothing changes yet: the question, in the switch's place (htmx) or on a page of its own.
        confirmation = switch_off_confirmation(request, appointment, now)
        if request.htmx:
            context = detail_context(request, appointment, now) | {"confirmation": confirmation}
            return render(request, f"{DETAIL_TEMPLATE}#telemedicine-toggle", context)
        return render_confirmation(request, confirmation)
    error = None
    changed = False
    if appointment.is_closed:
        error = f"This appointment is {appointment.get_status_display().lower()}; it can no longer change."
    else:
        # The switch, its audit record and the patient's email are written together or not at all.
        with transaction.atomic():
            changed = appointment.set_telemedicine(enabled)
            if changed:
                notify(appointment, Notification.Kind.VIDEO_ON if enabled else Notification.Kind.VIDEO_OFF)
            audit.record_toggle(request, appointment, enabled)
    if request.htmx:
        context = detail_context(request, appointment, timezone.now()) | {"toggle_error": error}
        response = render(request, f"{DETAIL_TEMPLATE}#telemedicine-toggle", context, status=409 if error else 200)
        return trigger_client_event(response, "telemedicine-changed", {"appointment": appointment.pk})
    if error:
        messages.error(request, error)
    else:
        outcome = "is now a video visit" if enabled else "is now at the clinic: video switched off"
        messages.success(request, done(appointment, request.user, outcome))
    return redirect(appointment)


@require_GET
@login_required
@never_cache
def jitsi_room(request: HtmxHttpRequest, appointment_id: int) -> HttpResponse:
    appointment = appointment_for_participant(request, appointment_id)
    now = timezone.now()
    access = room_access(request.user, appointment, now)
    audit.record_room_decision(request, appointment.pk, access)
    if access.allowed:
        # The server's own mark that the room page was served: only then is a "joined" believed.
        presence.mark_room_open(appointment, signed_in_id(request), now)
    if not access.allowed:
        context = detail_context(request, appointment, now) | {
            "access": access,
            "refusal": room_refusal(access, appointment),
        }
        return render(request, ROOM_TEMPLATE, context, status=403)
    try:
        jitsi = room_options(appointment, request.user, now)
    except TokenConfigurationError as error:
        # The message names the setting, never its value; `manage.py check` says the same.
        logger.error("room tokens cannot be made appointment=%s: %s", appointment.pk, error)
        return render(request, "errors/page.html", video_service_misconfigured(), status=503)
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
    return open_to_jitsi(response)


@require_POST
@login_required
def call_event(request: HtmxHttpRequest, appointment_id: int) -> HttpResponse:
    """
    The room page reports what Jitsi did: `event=joined`, `event=left` (a beacon), or
    `event=heartbeat`, which records nothing, keeps the session alive during a long call and
    tells telemedicine.presence that the room page is still open. 204 when accepted or when it
    changes nothing; 403 when it cannot be believed; 429 past the visit's budget of records.
    The page carries on whatever the answer.
    """
    appointment = appointment_for_participant(request, appointment_id)
    try:
        report = CallReport(request.POST.get("event", ""))
    except ValueError:
        return HttpResponseBadRequest("Unknown call event.")
    now = timezone.now()
    person = signed_in_id(request)
    access = presence.report_access(request.user, appointment, report, now)
    if access.allowed and report is CallReport.HEARTBEAT:
        presence.apply_report(appointment, person, report, now)
        return HttpResponse(status=204)
    history = presence.history_of(appointment, person)
    if not access.allowed:
        if presence.refusal_is_recorded(access.reason, history):
            audit.record_refusal(request, appointment.pk, access.reason)
        else:
            logger.warning(
                "call report refused again appointment=%s user=%s reason=%s", appointment.pk, person, access.reason
            )
        raise PermissionDenied("The call cannot be reported now.")
    outcome = presence.report_outcome(report, history)
    if outcome is presence.Outcome.OVER_BUDGET:
        logger.warning("call reports over budget appointment=%s user=%s event=%s", appointment.pk, person, report)
        return HttpResponse("Too many call reports for this visit.", status=429, content_type="text/plain")
    if outcome is presence.Outcome.RECORD:
        audit.record_call_event(request, appointment.pk, report)
    # A repeat still refreshes the mark: a second tab that joins, a join after a lost mark.
    presence.apply_report(appointment, person, report, now)
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


# --- The dashboard's panels (appointments/panels.py, added in TelemedicineConfig.ready) ------------


def waiting_now_panel(request: HttpRequest, now: datetime) -> Panel | None:
    """The doctor's "Waiting now": who is here for one of their live video visits."""
    if not integration_enabled() or not is_doctor(request.user):
        return None
    panel = waiting_room.waiting_panel(signed_in_id(request), now)
    html = render_to_string(f"{PANELS_TEMPLATE}#waiting-now", {"panel": panel}, request=request)
    return Panel(html=html, title_prefix=panel.title_prefix)


# The person's visits as a patient, from the first whose call window is still open: asked on every
# load of the dashboard, so compiled to SQL once per process.
NEXT_VISITS_AS_PATIENT = AppointmentList(
    ("doctor",),
    lambda patient_id, day, at: (
        Appointment.objects.filter(patient_id=patient_id).active().starting_from_slot(day, at).order_by("date", "time")
    ),
)


def next_visit_panel(request: HttpRequest, now: datetime) -> Panel | None:
    """The patient's next visit first, with its live status card (which marks their page as open)."""
    found = NEXT_VISITS_AS_PATIENT.appointments(signed_in_id(request), *clinic_slot(upcoming_from(now)), limit=1)
    if not found:
        return None
    appointment = found[0]
    when = clock_text(appointment.starts_at, now)
    context = detail_context(request, appointment, now) | {
        "when": f"today at {when}" if same_day(appointment.starts_at, now) else when,
        "doctor_name": doctor_name(appointment.doctor),
    }
    return Panel(html=render_to_string(f"{PANELS_TEMPLATE}#next-visit", context, request=request))


# The latest this many records of a visit on its staff view; the admin's audit trail has them all.
HISTORY_SHOWN = 50


def history_panel(request: HttpRequest, appointment: Appointment, now: datetime) -> Panel | None:
    """
    The staff view's history of a visit (appointments.panels.add_appointment_panel): its audit
    trail in words, latest first, with names; no address, no user agent, never a room name.
    """
    events = list(
        AccessEvent.objects.filter(appointment_id=appointment.pk).select_related("user", "guest")[: HISTORY_SHOWN + 1]
    )
    context = {"events": events[:HISTORY_SHOWN], "more": len(events) > HISTORY_SHOWN, "appointment": appointment}
    return Panel(html=render_to_string(f"{STAFF_PANELS_TEMPLATE}#history", context, request=request))


@require_GET
@login_required
@never_cache
def waiting_panel(request: HtmxHttpRequest) -> HttpResponse:
    """The doctor's panel polls here: the list, the page's title with the count, and who just arrived."""
    # Like the dashboard's own refresh, the panel's polls never keep a session alive (docs/security.md).
    mark_poll(request, keeps_alive=False)
    panel = waiting_room.waiting_panel(signed_in_id(request), timezone.now(), seen=request.GET.get("seen", ""))
    return render(request, f"{PANELS_TEMPLATE}#waiting-update", {"panel": panel})


# --- The device check -------------------------------------------------------------------------------


@require_GET
@login_required
def device_check(request: HtmxHttpRequest) -> HttpResponse:
    """
    Test the camera, microphone and speakers any time before a visit, with the browser's own
    media APIs (static/telemedicine/device_check.js): no Jitsi, no call window.
    """
    response = render(request, DEVICE_CHECK_TEMPLATE)
    response["Permissions-Policy"] = DEVICE_CHECK_PERMISSIONS_POLICY
    return response
