import datetime as dt
from typing import Any, cast

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm, SetPasswordForm
from django.core.paginator import Paginator
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods
from django_htmx.http import HttpResponseClientRedirect

from project.errors import Refused
from project.http import HtmxHttpRequest
from project.sessions.lifetimes import mark_poll

from . import clinic
from .clinic_time import clinic_now, clinic_slot, format_moment, format_slot
from .confirmations import CancelForm, Confirmation, came_from, render_confirmation
from .forms import AppointmentForm, RescheduleForm
from .listing import DOCTOR, PATIENT, STAFF, AppointmentList, appointment_rows, upcoming_from
from .models import Appointment, Notification
from .notifications import notify
from .panels import appointment_panels, dashboard_panels
from .roles import can_manage_any, can_schedule, display_name, doctor_name, is_doctor
from .rules import (
    Action,
    completion_opens_at,
    consequences,
    may_cancel,
    may_complete,
    may_manage,
    may_open_staff_view,
    may_reschedule,
    may_see_reason,
)
from .signals import WHEN_FIELDS, Change, announce, changed_fields
from .wording import appointment_label, done

DASHBOARD_TEMPLATE = "appointments/dashboard.html"
UPCOMING_PAGE_SIZE = 50
PAST_SHOWN = 20
# The doctor's "Past and cancelled": this many days back, a page at a time.
PAST_DAYS = 30
PAST_PAGE_SIZE = 20


@require_GET
def home(request: HtmxHttpRequest) -> HttpResponse:
    return redirect("appointments:dashboard" if request.user.is_authenticated else "login")


# The dashboard's lists, asked for on every load and every 30 s refresh: each compiled to SQL once
# per process (listing.AppointmentList). Each list joins in only the names it shows: a doctor
# sees patients, a patient doctors.
TODAY_AS_DOCTOR = AppointmentList(
    ("patient",), lambda doctor_id, day: Appointment.objects.filter(doctor_id=doctor_id, date=day)
)
UPCOMING_AS_DOCTOR = AppointmentList(
    ("patient",), lambda doctor_id, day: Appointment.objects.filter(doctor_id=doctor_id, date__gt=day).active()
)
# The doctor's recent past, and the cancelled visits that no longer sit among the upcoming ones.
# The doctor is named in each half: SQLite then reads each half from its index and sorts the
# few rows found, where "doctor AND (one OR other)" walked the doctor's whole year backwards in
# date order (2.3 -> 0.7 ms for a page, 0.8 -> 0.2 ms for the count, 2,500 visits a doctor).
PAST_AS_DOCTOR = AppointmentList(
    ("patient",),
    lambda doctor_id, since, day: Appointment.objects.filter(
        Q(doctor_id=doctor_id, date__gte=since, date__lt=day)
        | Q(doctor_id=doctor_id, date__gt=day, status=Appointment.Status.CANCELLED)
    ).order_by("-date", "-time"),
)
# A visit whose time is over today (listing.upcoming_from) is past, not upcoming.
UPCOMING_AS_PATIENT = AppointmentList(
    ("doctor",),
    lambda patient_id, day, at: Appointment.objects.filter(patient_id=patient_id).starting_from_slot(day, at),
)
PAST_AS_PATIENT = AppointmentList(
    ("doctor",),
    lambda patient_id, day, at: (
        Appointment.objects.filter(patient_id=patient_id).starting_before_slot(day, at).order_by("-date", "-time")
    ),
)
CLINIC_SCHEDULE = AppointmentList(("doctor", "patient"), lambda day: Appointment.objects.filter(date__gte=day).active())


@require_GET
@login_required
def dashboard(request: HtmxHttpRequest) -> HttpResponse:
    now = timezone.now()
    today = clinic_now().date()
    user = request.user
    user_id = cast(int, user.pk)  # login_required
    upcoming_as_doctor = Paginator(UPCOMING_AS_DOCTOR.pages(DOCTOR, now, user_id, today), UPCOMING_PAGE_SIZE)
    upcoming_page = upcoming_as_doctor.get_page(request.GET.get("page"))
    doctor = is_doctor(user)
    past_page = None
    if doctor:
        past = PAST_AS_DOCTOR.pages(DOCTOR, now, user_id, today - dt.timedelta(days=PAST_DAYS), today)
        past_page = Paginator(past, PAST_PAGE_SIZE).get_page(request.GET.get("past_page"))
    clinic_page = None
    staff = can_manage_any(user)
    if staff:
        clinic_page = Paginator(CLINIC_SCHEDULE.pages(STAFF, now, today), UPCOMING_PAGE_SIZE).get_page(
            request.GET.get("clinic_page")
        )
    as_patient = (user_id, *clinic_slot(upcoming_from(now)))
    context: dict[str, Any] = {
        "today": today,
        # A manager's dashboard is the clinic's schedule; a doctor's and a patient's their own.
        "dashboard_title": "Clinic schedule" if staff and not doctor else "My appointments",
        "as_doctor_today": TODAY_AS_DOCTOR.rows(DOCTOR, now, user_id, today, show_date=False),
        # Each page's rows are the rows of its list (listing.ListedRows).
        "upcoming_as_doctor": upcoming_page,
        "upcoming_as_doctor_rows": upcoming_page.object_list,
        "past_as_doctor": past_page,
        "past_as_doctor_rows": past_page.object_list if past_page else [],
        "past_days": PAST_DAYS,
        "upcoming_as_patient": UPCOMING_AS_PATIENT.rows(PATIENT, now, *as_patient),
        "past_as_patient": PAST_AS_PATIENT.rows(PATIENT, now, *as_patient, limit=PAST_SHOWN),
        "can_schedule": can_schedule(user),
        "is_doctor": doctor,
        "clinic_schedule": clinic_page,
        "clinic_schedule_rows": clinic_page.object_list if clinic_page else [],
    }
    if request.htmx and request.htmx.target == "appointment-lists":
        # The 30 s refresh is the page's doing, not a person's: it never keeps a session alive.
        mark_poll(request, keeps_alive=False)
        return render(request, f"{DASHBOARD_TEMPLATE}#appointment-lists", context)
    # Only the full page asks for the panels: each keeps itself up to date.
    context["panels"] = dashboard_panels(request, now)
    return render(request, DASHBOARD_TEMPLATE, context)


@require_http_methods(["GET", "POST"])
@login_required
def schedule(request: HtmxHttpRequest) -> HttpResponse:
    if not can_schedule(request.user):
        raise Refused(
            "Only the clinic books appointments",
            f"To book a visit, or to change or cancel one, please {clinic.contact()}.",
        )
    booking_doctor = request.user if is_doctor(request.user) else None
    # Bound on every POST, even an empty one: a post with no fields gets its errors (400), not a blank form.
    form = AppointmentForm(request.POST if request.method == "POST" else None, booking_doctor=booking_doctor)
    if request.method == "POST" and form.is_valid():
        try:
            # The new patient (if any), the appointment, its audit record and the invitation: all or nothing.
            with transaction.atomic():
                appointment = form.save()
                announce(appointment, Change.SCHEDULED, actor=request.user, request=request)
                notify(appointment, Notification.Kind.INVITATION)
        except IntegrityError:
            # Another form added a patient with this address a moment ago (its username is the address).
            form.add_error("email", "A patient with this address was added a moment ago: choose them instead.")
        else:
            messages.success(request, done(appointment, request.user, "scheduled"))
            return back_to(request, appointment)
    return render(request, "appointments/schedule.html", {"form": form}, status=400 if form.is_bound else 200)


def appointment_for_manager(request: HtmxHttpRequest, appointment_id: int) -> Appointment:
    """The appointment if the user may change it (its doctor, or clinic staff); 404 otherwise."""
    appointment = get_object_or_404(Appointment.objects.with_people(), pk=appointment_id)
    if not may_manage(request.user, appointment):
        raise Http404("No such appointment for this user.")
    return appointment


def page_of(request: HtmxHttpRequest, appointment: Appointment) -> str:
    """The appointment's page for this person: the doctor's own page, or the staff view."""
    if request.user.pk == appointment.doctor_id or not may_open_staff_view(request.user):
        return appointment.get_absolute_url()
    return reverse("appointments:staff-view", args=[appointment.pk])


def back_to(request: HtmxHttpRequest, appointment: Appointment) -> HttpResponse:
    """After a change: back to the appointment's page (a whole new page, for htmx too)."""
    url = page_of(request, appointment)
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


def already_closed(request: HtmxHttpRequest, appointment: Appointment) -> HttpResponse:
    messages.error(request, f"This appointment is already {appointment.get_status_display().lower()}.")
    return back_to(request, appointment)


@require_http_methods(["GET", "POST"])
@login_required
def reschedule(request: HtmxHttpRequest, appointment_id: int) -> HttpResponse:
    appointment = appointment_for_manager(request, appointment_id)
    if not may_reschedule(request.user, appointment):
        messages.error(request, f"This appointment is {appointment.get_status_display().lower()}: it cannot move.")
        return back_to(request, appointment)
    form = RescheduleForm(request.POST if request.method == "POST" else None, appointment=appointment)
    if request.method == "POST" and form.is_valid():
        before = {"date": appointment.date, "time": appointment.time}
        was = format_slot(appointment.date, appointment.time)
        with transaction.atomic():
            moved = appointment.reschedule(form.cleaned_data["date"], form.cleaned_data["time"])
            if moved:
                # Written as the admin's changes are (signals.changed_fields): one audit trail, one notation.
                fields = changed_fields(before, {"date": appointment.date, "time": appointment.time}, WHEN_FIELDS)
                announce(appointment, Change.RESCHEDULED, actor=request.user, request=request, fields=fields)
                notify(appointment, Notification.Kind.RESCHEDULED)
        if moved:
            moved_text = done(appointment, request.user, f"(moved from {was})")
            messages.success(request, f"{moved_text} {told_by_email(appointment, ', with an updated calendar file')}")
        else:
            messages.error(
                request, "This appointment changed meanwhile and was not moved. Please check it and try again."
            )
        return back_to(request, appointment)
    status = 400 if form.is_bound else 200
    context = {
        "form": form,
        "appointment": appointment,
        "patient_name": display_name(appointment.patient),
        "told": told_by_email(appointment, ", with an updated calendar file"),
        "back_url": page_of(request, appointment),
    }
    return render(request, "appointments/reschedule.html", context, status=status)


def told_by_email(appointment: Appointment, what: str) -> str:
    patient = display_name(appointment.patient)
    if appointment.patient.email:
        return f"{patient} is told by email{what}."
    return f"{patient} has no email address: please tell them yourself."


@require_http_methods(["GET", "POST"])
@login_required
def cancel(request: HtmxHttpRequest, appointment_id: int) -> HttpResponse:
    """GET: the confirmation, with an optional note for the patient. POST: cancel (rules.may_cancel)."""
    appointment = appointment_for_manager(request, appointment_id)
    if not may_cancel(request.user, appointment):
        return already_closed(request, appointment)
    form = CancelForm(request.POST if request.method == "POST" else None)
    if request.method == "GET" or not form.is_valid():
        keep_url, slot = came_from(request, page_of(request, appointment))
        confirmation = Confirmation(
            key=f"cancel-{appointment.pk}",
            title="Cancel the appointment",
            question=f"Cancel {appointment_label(appointment, request.user)}?",
            action_url=reverse("appointments:cancel", args=[appointment.pk]),
            confirm_label="Yes, cancel it",
            keep_label="No, keep it",
            keep_url=keep_url,
            slot=slot,
            consequences=[
                told_by_email(appointment, ", with your note if you write one"),
                *consequences(appointment, Action.CANCEL, timezone.now()),
            ],
            note_form=form,
        )
        return render_confirmation(request, confirmation, status=400 if form.is_bound else 200)
    with transaction.atomic():
        closed = appointment.close(Appointment.Status.CANCELLED, note=form.cleaned_data["note"].strip())
        if closed:
            announce(appointment, Change.CANCELLED, actor=request.user, request=request)
            notify(appointment, Notification.Kind.CANCELLED)
    if not closed:
        return already_closed(request, appointment)
    messages.success(request, done(appointment, request.user, "cancelled"))
    return back_to(request, appointment)


@require_http_methods(["GET", "POST"])
@login_required
def complete(request: HtmxHttpRequest, appointment_id: int) -> HttpResponse:
    """GET: the confirmation. POST: mark it completed; from the visit's start only (rules.may_complete)."""
    appointment = appointment_for_manager(request, appointment_id)
    now = timezone.now()
    if appointment.is_closed:
        return already_closed(request, appointment)
    if not may_complete(request.user, appointment, now):
        messages.error(
            request,
            f"This visit starts on {format_moment(completion_opens_at(appointment))}: "
            "it can be marked completed from then.",
        )
        return back_to(request, appointment)
    if request.method == "GET":
        keep_url, slot = came_from(request, page_of(request, appointment))
        confirmation = Confirmation(
            key=f"complete-{appointment.pk}",
            title="Mark the visit completed",
            question=f"Mark {appointment_label(appointment, request.user)} as completed?",
            action_url=reverse("appointments:complete", args=[appointment.pk]),
            confirm_label="Yes, mark it completed",
            keep_label="Not yet",
            keep_url=keep_url,
            slot=slot,
            consequences=[
                f"{display_name(appointment.patient)}'s appointment page will say the visit is over.",
                *consequences(appointment, Action.COMPLETE, now),
            ],
            danger=False,
        )
        return render_confirmation(request, confirmation)
    with transaction.atomic():
        closed = appointment.close(Appointment.Status.COMPLETED)
        if closed:
            announce(appointment, Change.COMPLETED, actor=request.user, request=request)
    if not closed:
        return already_closed(request, appointment)
    messages.success(request, done(appointment, request.user, "marked completed"))
    return back_to(request, appointment)


@require_GET
@login_required
def staff_view(request: HtmxHttpRequest, appointment_id: int) -> HttpResponse:
    """
    Clinic staff's page of one appointment: when, who, status, video on or off, and its history;
    reschedule, cancel, complete. Never the room, never Join; the reason only with its permission.
    Anyone but staff gets 404, as for any appointment that is not theirs.
    """
    if not may_open_staff_view(request.user):
        raise Http404("No such appointment for this user.")
    appointment = get_object_or_404(Appointment.objects.with_people(), pk=appointment_id)
    now = timezone.now()
    user = request.user
    context = {
        "appointment": appointment,
        "patient_name": display_name(appointment.patient),
        "doctor_name": doctor_name(appointment.doctor),
        # The same live video badge as the clinic's schedule (telemedicine adds the column).
        "row": appointment_rows([appointment], STAFF, now)[0],
        "may_reschedule": may_reschedule(user, appointment),
        "may_cancel": may_cancel(user, appointment),
        "may_complete": may_complete(user, appointment, now),
        "completion_opens_at": completion_opens_at(appointment),
        "may_see_reason": may_see_reason(user, appointment),
        "admin_url": (
            reverse("admin:appointments_appointment_change", args=[appointment.pk])
            if user.has_perm("appointments.change_appointment")
            else ""
        ),
        "panels": appointment_panels(request, appointment, now),
    }
    return render(request, "appointments/staff_view.html", context)


@require_http_methods(["GET", "POST"])
@login_required
def change_password(request: HtmxHttpRequest) -> HttpResponse:
    """Change one's password; someone who never had one (a patient invited by email) sets it."""
    user = request.user
    assert user.is_authenticated
    form_class = PasswordChangeForm if user.has_usable_password() else SetPasswordForm
    form = form_class(user, request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        form.save()
        # Django ends the person's other sessions on a password change; this one stays signed in.
        update_session_auth_hash(request, form.user)
        return redirect("password_change_done")
    return render(
        request, "registration/password_change_form.html", {"form": form}, status=400 if form.is_bound else 200
    )
