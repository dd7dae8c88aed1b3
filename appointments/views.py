from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm, SetPasswordForm
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import IntegrityError, transaction
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from project.http import HtmxHttpRequest
from project.sessions.lifetimes import mark_poll

from .clinic_time import clinic_now, format_moment
from .forms import AppointmentForm, RescheduleForm
from .listing import DOCTOR, PATIENT, STAFF, appointment_rows, upcoming_from
from .models import Appointment, Notification
from .notifications import notify
from .panels import dashboard_panels
from .roles import can_close, can_manage_any, can_schedule, is_doctor
from .signals import Change, announce

DASHBOARD_TEMPLATE = "appointments/dashboard.html"
UPCOMING_PAGE_SIZE = 50
PAST_SHOWN = 20


@require_GET
def home(request: HtmxHttpRequest) -> HttpResponse:
    return redirect("appointments:dashboard" if request.user.is_authenticated else "login")


@require_GET
@login_required
def dashboard(request: HtmxHttpRequest) -> HttpResponse:
    now = timezone.now()
    today = clinic_now().date()
    user = request.user
    # Each list joins in only the names it shows: a doctor sees patients, a patient doctors.
    patients_of = Appointment.objects.for_listing("patient")
    doctors_of = Appointment.objects.for_listing("doctor")
    upcoming_as_doctor = Paginator(patients_of.filter(doctor=user, date__gt=today).active(), UPCOMING_PAGE_SIZE)
    upcoming_page = upcoming_as_doctor.get_page(request.GET.get("page"))
    clinic_page = None
    if can_manage_any(user):
        everyone = Appointment.objects.for_listing("doctor", "patient").filter(date__gte=today).active()
        clinic_page = Paginator(everyone, UPCOMING_PAGE_SIZE).get_page(request.GET.get("clinic_page"))
    context = {
        "today": today,
        "as_doctor_today": appointment_rows(patients_of.filter(doctor=user, date=today), DOCTOR, now, show_date=False),
        "upcoming_as_doctor": upcoming_page,
        "upcoming_as_doctor_rows": appointment_rows(upcoming_page, DOCTOR, now),
        # A visit whose time is over today (listing.upcoming_from) is past, not upcoming.
        "upcoming_as_patient": appointment_rows(
            doctors_of.filter(patient=user).starting_from(upcoming_from(now)), PATIENT, now
        ),
        "past_as_patient": appointment_rows(
            doctors_of.filter(patient=user).starting_before(upcoming_from(now)).order_by("-date", "-time")[:PAST_SHOWN],
            PATIENT,
            now,
        ),
        "can_schedule": can_schedule(user),
        "is_doctor": is_doctor(user),
        "clinic_schedule": clinic_page,
        "clinic_schedule_rows": appointment_rows(clinic_page or [], STAFF, now),
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
        raise PermissionDenied("Only doctors and clinic staff schedule appointments.")
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
            messages.success(request, f"Appointment scheduled for {format_moment(appointment.starts_at)}.")
            return redirect(appointment if request.user.pk == appointment.doctor_id else "appointments:dashboard")
    return render(request, "appointments/schedule.html", {"form": form}, status=400 if form.is_bound else 200)


def appointment_for_manager(request: HtmxHttpRequest, appointment_id: int) -> Appointment:
    """The appointment if the user may change it (its doctor, or clinic staff); 404 otherwise."""
    appointment = get_object_or_404(Appointment.objects.with_people(), pk=appointment_id)
    if not can_close(request.user, appointment):
        raise Http404("No such appointment for this user.")
    return appointment


def back_to(request: HtmxHttpRequest, appointment: Appointment) -> HttpResponse:
    """After a change: the doctor back to the appointment, staff back to the schedule."""
    return redirect(appointment if request.user.pk == appointment.doctor_id else "appointments:dashboard")


@require_http_methods(["GET", "POST"])
@login_required
def reschedule(request: HtmxHttpRequest, appointment_id: int) -> HttpResponse:
    appointment = appointment_for_manager(request, appointment_id)
    if appointment.is_closed:
        messages.error(request, f"This appointment is {appointment.get_status_display().lower()}: it cannot move.")
        return back_to(request, appointment)
    form = RescheduleForm(request.POST if request.method == "POST" else None, appointment=appointment)
    if request.method == "POST" and form.is_valid():
        before = {"date": appointment.date.isoformat(), "time": f"{appointment.time:%H:%M}"}
        with transaction.atomic():
            moved = appointment.reschedule(form.cleaned_data["date"], form.cleaned_data["time"])
            if moved:
                after = {"date": appointment.date.isoformat(), "time": f"{appointment.time:%H:%M}"}
                fields = {name: (before[name], after[name]) for name in before if before[name] != after[name]}
                announce(appointment, Change.RESCHEDULED, actor=request.user, request=request, fields=fields)
                notify(appointment, Notification.Kind.RESCHEDULED)
        if moved:
            messages.success(
                request, f"Appointment moved to {format_moment(appointment.starts_at)}. The patient is told by email."
            )
        else:
            messages.error(
                request, "This appointment changed meanwhile and was not moved. Please check it and try again."
            )
        return back_to(request, appointment)
    status = 400 if form.is_bound else 200
    return render(request, "appointments/reschedule.html", {"form": form, "appointment": appointment}, status=status)


def _close(request: HtmxHttpRequest, appointment_id: int, status: str, done_message: str) -> HttpResponse:
    appointment = appointment_for_manager(request, appointment_id)
    with transaction.atomic():
        closed = appointment.close(status)
        if closed:
            change = Change.CANCELLED if status == Appointment.Status.CANCELLED else Change.COMPLETED
            announce(appointment, change, actor=request.user, request=request)
            if change is Change.CANCELLED:
                notify(appointment, Notification.Kind.CANCELLED)
    if closed:
        messages.success(request, done_message)
    else:
        messages.error(request, f"This appointment was already {appointment.get_status_display().lower()}.")
    return back_to(request, appointment)


@require_POST
@login_required
def cancel(request: HtmxHttpRequest, appointment_id: int) -> HttpResponse:
    return _close(request, appointment_id, Appointment.Status.CANCELLED, "Appointment cancelled.")


@require_POST
@login_required
def complete(request: HtmxHttpRequest, appointment_id: int) -> HttpResponse:
    return _close(request, appointment_id, Appointment.Status.COMPLETED, "Appointment marked as completed.")


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
