"""
The guest's pages (the link, the room or its waiting card, the card's poll, the call
reports) and the inviting side (invite, withdraw, let the patient invite). The rules are
in guests.py and access.py; these views only ask them.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HTMX_STOP_POLLING

from appointments.models import Appointment
from project.http import HtmxHttpRequest
from project.outages import OUTAGE_ERRORS
from project.rate_limits import LET_THROUGH, Limit, add_count, current_count

from . import audit, guests, presence
from .access import (
    Access,
    CallReport,
    Phase,
    Refusal,
    call_window,
    guest_access,
    heartbeat_seconds,
    reporting_allowed,
)
from .conf import integration_enabled
from .forms import InviteGuestForm
from .jitsi import external_api_url, open_to_jitsi, room_options
from .models import Guest, VideoVisitOptions
from .status import status_card
from .tokens import TokenConfigurationError
from .views import appointment_for_participant, detail_context, logger, video_service_misconfigured

GUEST_TEMPLATE = "telemedicine/guest.html"
DETAIL_TEMPLATE = "telemedicine/appointment_detail.html"
# Wrong guest links from one address before every guest URL is closed to it for the hour.
GUEST_LINK_FAILURES = Limit("guest-link-failure", "10/h", key="ip", when_uncounted=LET_THROUGH)


def _failures(request: HtmxHttpRequest, *, count: bool) -> bool:
    """
    True once this address has collected too many wrong guest links (count=True adds one).
    While the counters cannot be reached the guest's own link still works (docs/outages.md):
    each one is checked against the database, and a signed link cannot be guessed.
    """
    try:
        if count:
            add_count(request, GUEST_LINK_FAILURES)
            return False
        return current_count(request, GUEST_LINK_FAILURES) >= GUEST_LINK_FAILURES.allowed
    except OUTAGE_ERRORS as error:
        logger.warning("guest link failures cannot be counted, letting through: %s", type(error).__name__)
        return False


def _refused(request: HtmxHttpRequest, guest_id: int) -> HttpResponse:
    _failures(request, count=True)
    logger.warning("guest link refused guest=%s", guest_id)
    return render(request, f"{GUEST_TEMPLATE}#link-refused", status=403)


def _too_many(request: HtmxHttpRequest) -> HttpResponse:
    from project.rate_limits import too_many_requests

    return too_many_requests(request)


def _guest(request: HtmxHttpRequest, guest_id: int) -> Guest | None:
    """The guest whose own cookie this request carries, if it is valid for this URL."""
    return guests.guest_for_token(request.COOKIES.get(guests.COOKIE_NAME), guest_id)


@require_GET
@never_cache
def guest_open(request: HtmxHttpRequest, guest_id: int) -> HttpResponse:
    """The link in the invitation: keep its token in a cookie for this guest's pages only."""
    if _failures(request, count=False):
        return _too_many(request)
    token = request.GET.get("k", "")
    guest = guests.guest_for_token(token, guest_id)
    if guest is None or guest.is_revoked:
        if guest is not None:
            audit.record_guest(request, guest, audit.AccessEvent.Action.ROOM_REFUSED, reason="guest-revoked")
        return _refused(request, guest_id)
    audit.record_guest(request, guest, audit.AccessEvent.Action.GUEST_LINK_OPENED)
    response = redirect("telemedicine:guest-room", guest_id=guest.pk)
    response.set_cookie(
        guests.COOKIE_NAME,
        token,
        max_age=guests.link_max_age(),
        path=guests.cookie_path(guest.pk),
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )
    return response


def _card_context(guest: Guest, now) -> dict:
    return {"guest": guest, "appointment": guest.appointment, "card": status_card(guest.appointment, now)}


@require_GET
@never_cache
def guest_room(request: HtmxHttpRequest, guest_id: int) -> HttpResponse:
    """Inside the window, the room; before it, a waiting card; after it, what happened."""
    if _failures(request, count=False):
        return _too_many(request)
    guest = _guest(request, guest_id)
    if guest is None:
        return _refused(request, guest_id)
    appointment = guest.appointment
    now = timezone.now()
    access = guest_access(guest, appointment, now)
    left = request.GET.get("left") == "1"
    context = _card_context(guest, now) | {"access": access, "left": left}
    if left and access.refusal is not Refusal.GUEST_REVOKED:
        # Back from the call (its Leave link): a page that says so, no room served and nothing recorded.
        return render(request, GUEST_TEMPLATE, context)
    audit.record_guest_room_decision(request, guest, access)
    if access.refusal is Refusal.GUEST_REVOKED:
        return render(request, f"{GUEST_TEMPLATE}#link-refused", status=403)
    if not access.allowed:
        return render(request, GUEST_TEMPLATE, context, status=200 if access.phase is Phase.WAITING else 403)
    # The server's own mark that the room page was served: only then is the guest's "joined" believed.
    presence.mark_room_open(appointment, presence.guest_person(guest.pk), now)
    try:
        jitsi = room_options(appointment, guests.guest_participant(guest), now)
    except TokenConfigurationError as error:
        logger.error("room tokens cannot be made appointment=%s: %s", appointment.pk, error)
        return render(request, "errors/page.html", video_service_misconfigured(), status=503)
    response = render(
        request,
        GUEST_TEMPLATE,
        context
        | {
            "jitsi": jitsi,
            "external_api_url": external_api_url(),
            "heartbeat_seconds": heartbeat_seconds(settings.SESSION_COOKIE_AGE),
            "events_url": guests.cookie_path(guest.pk) + "events/",
            "leave_url": guests.cookie_path(guest.pk) + "?left=1",
        },
    )
    return open_to_jitsi(response)


@require_GET
@never_cache
def guest_status(request: HtmxHttpRequest, guest_id: int) -> HttpResponse:
    """The guest's waiting card, polled: the status card's rules, with the guest's own Join."""
    if _failures(request, count=False):
        return _too_many(request)
    guest = _guest(request, guest_id)
    if guest is None or guest.is_revoked:
        if guest is None:
            _failures(request, count=True)
        response = render(request, f"{GUEST_TEMPLATE}#link-refused", status=403)
        return response
    context = _card_context(guest, timezone.now())
    response = render(request, f"{GUEST_TEMPLATE}#guest-card", context)
    if request.htmx and not context["card"].is_polling:
        response.status_code = HTMX_STOP_POLLING
    return response


@require_POST
def guest_call_event(request: HtmxHttpRequest, guest_id: int) -> HttpResponse:
    """The guest's room page reports joined, left, heartbeat: as call_event does for the others."""
    guest = _guest(request, guest_id)
    if guest is None or guest.is_revoked:
        if guest is None:
            _failures(request, count=True)
        raise Http404("No such guest.")
    try:
        report = CallReport(request.POST.get("event", ""))
    except ValueError:
        return HttpResponseBadRequest("Unknown call event.")
    # The same rules as the doctor's and the patient's reports (views.call_event, presence.py).
    appointment, now = guest.appointment, timezone.now()
    person = presence.guest_person(guest.pk)
    access = reporting_allowed(guest_access(guest, appointment, now), appointment, report, now)
    if access.allowed and report is CallReport.JOINED and not presence.room_is_open(appointment, person):
        access = Access(allowed=False, phase=access.phase, refusal=Refusal.ROOM_NOT_OPEN)
    if access.allowed and report is CallReport.HEARTBEAT:
        presence.apply_report(appointment, person, report, now)
        return HttpResponse(status=204)
    history = presence.history_of(appointment, person)
    if not access.allowed:
        if presence.refusal_is_recorded(access.reason, history):
            audit.record_guest(request, guest, audit.AccessEvent.Action.ACCESS_REFUSED, reason=access.reason)
        return HttpResponse("The call cannot be reported now.", status=403)
    outcome = presence.report_outcome(report, history)
    if outcome is presence.Outcome.OVER_BUDGET:
        logger.warning("call reports over budget appointment=%s guest=%s event=%s", appointment.pk, guest.pk, report)
        return HttpResponse("Too many call reports for this visit.", status=429, content_type="text/plain")
    if outcome is presence.Outcome.RECORD:
        audit.record_guest_call_event(request, guest, report)
    presence.apply_report(appointment, person, report, now)
    return HttpResponse(status=204)


# --- The inviting side ------------------------------------------------------------------------


def guests_context(request: HtmxHttpRequest, appointment: Appointment, form: InviteGuestForm | None = None) -> dict:
    """What the appointment page's guests section shows to the doctor or the patient."""
    user = request.user
    listed = Guest.objects.filter(appointment=appointment)
    return {
        "appointment": appointment,
        "guests": [
            {"guest": guest, "may_revoke": not guest.is_revoked and guests.may_revoke(user, guest)} for guest in listed
        ],
        "may_invite": guests.may_invite(user, appointment),
        "room_left": guests.room_left(appointment),
        "guests_per_visit": guests.guests_per_visit(),
        "patient_may_invite": guests.patient_may_invite(appointment),
        "is_doctor": user.pk == appointment.doctor_id,
        "guest_form": form or InviteGuestForm(),
        "window_opens": call_window(appointment).opens_at,
    }


def _guests_answer(request: HtmxHttpRequest, appointment: Appointment, form=None, status: int = 200) -> HttpResponse:
    """htmx: the guests section again; a plain post: back to the page, or the page with the form's errors."""
    if request.htmx:
        return render(request, f"{DETAIL_TEMPLATE}#guests", guests_context(request, appointment, form), status=status)
    if form is not None and form.errors:
        context = detail_context(request, appointment, timezone.now()) | guests_context(request, appointment, form)
        return render(request, DETAIL_TEMPLATE, context | {"show_guests": True}, status=status)
    return redirect(appointment)


@require_POST
@login_required
def invite_guest(request: HtmxHttpRequest, appointment_id: int) -> HttpResponse:
    appointment = appointment_for_participant(request, appointment_id)
    if not integration_enabled() or not guests.may_invite(request.user, appointment):
        audit.record_refusal(request, appointment.pk, "not-assigned-doctor")
        raise Http404("You cannot invite guests to this appointment.")
    form = InviteGuestForm(request.POST)
    if not form.is_valid():
        return _guests_answer(request, appointment, form, status=400)
    assert request.user.is_authenticated
    try:
        guest = guests.invite(
            appointment,
            name=form.cleaned_data["name"],
            email=form.cleaned_data["email"],
            by=request.user,
            request=request,
        )
    except guests.NoRoomLeft:
        form.add_error(
            None, f"This visit already has {guests.guests_per_visit()} guests. Withdraw one to invite another."
        )
        return _guests_answer(request, appointment, form, status=400)
    if not request.htmx:
        messages.success(request, f"{guest.name} is invited. Their link arrives by email.")
    return _guests_answer(request, appointment)


@require_POST
@login_required
def revoke_guest(request: HtmxHttpRequest, guest_id: int) -> HttpResponse:
    guest = get_object_or_404(Guest.objects.select_related("appointment"), pk=guest_id)
    appointment = appointment_for_participant(request, guest.appointment_id)
    if not guests.may_revoke(request.user, guest):
        audit.record_refusal(request, appointment.pk, "not-assigned-doctor")
        raise Http404("You cannot withdraw this invitation.")
    assert request.user.is_authenticated
    if guests.revoke(guest, by=request.user, request=request) and not request.htmx:
        messages.success(request, f"{guest.name}'s invitation is withdrawn: their link opens nothing any more.")
    return _guests_answer(request, appointment)


@require_POST
@login_required
def patient_may_invite(request: HtmxHttpRequest, appointment_id: int) -> HttpResponse:
    """The doctor's switch: may the patient invite guests to this visit?"""
    appointment = appointment_for_participant(request, appointment_id)
    if request.user.pk != appointment.doctor_id or not integration_enabled():
        audit.record_refusal(request, appointment.pk, "not-assigned-doctor")
        raise Http404("Only the appointment's doctor can change this.")
    allowed = request.POST.get("allowed") in {"on", "1", "true"}
    VideoVisitOptions.objects.update_or_create(appointment=appointment, defaults={"patient_may_invite_guests": allowed})
    return _guests_answer(request, appointment)
