from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import PasswordResetForm
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import transaction

from .clinic_time import NonexistentLocalTime, clinic_datetime, clinic_now, format_clock, format_day, zone_label
from .models import Appointment, PatientProfile
from .roles import PATIENTS_GROUP, display_name, doctor_name, doctors, patients


class PersonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, user):
        full_name = user.get_full_name()
        return f"{full_name} ({user.get_username()})" if full_name else user.get_username()


class StyledForm(forms.BaseForm):
    """Bootstrap's classes on every widget, and each invalid field tied to its message."""

    def style_fields(self) -> None:
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput | forms.RadioSelect):
                css = "form-check-input"
            elif isinstance(widget, forms.Select):
                css = "form-select"
            else:
                css = "form-control"
            widget.attrs.setdefault("class", css)

    def full_clean(self) -> None:
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                widget = self.fields[name].widget
                widget.attrs["class"] = f"{widget.attrs.get('class', '')} is-invalid".strip()
                widget.attrs["aria-describedby"] = f"{self[name].auto_id}_error"


def check_slot(
    form: forms.BaseForm,
    doctor: Any,
    day: dt.date | None,
    at: dt.time | None,
    exclude_pk: Any,
    *,
    moved: bool = True,
) -> None:
    """
    The rules of a time slot, for scheduling, rescheduling and the admin alike: it exists on the
    clinic's clock, it is not in the past (a past day is the date's fault, a past time today the
    time's), and it does not overlap another visit of the doctor's (each lasts APPOINTMENT_MINUTES).
    A clash names the visit in the way and offers the doctor's next free times that day, which
    the form keeps in `free_times` for its buttons. `moved=False` (the admin giving a visit to
    another doctor, its date and time unchanged) skips the past: only the clash matters then.
    """
    if not (day and at):
        return
    try:
        starts_at = clinic_datetime(day, at)
    except NonexistentLocalTime as error:
        form.add_error("time", str(error))
        return
    now = clinic_now()
    if moved and day < now.date():
        form.add_error("date", f"{format_day(day)} has passed. Please choose a day from today on.")
        return
    if moved and starts_at < now:
        form.add_error(
            "time",
            f"{format_clock(at)} has passed today. Please choose a time after {format_clock(now)} {zone_label()}.",
        )
        return
    if not doctor:
        return
    booked = list(
        Appointment.objects.active()
        .with_people()
        .filter(doctor=doctor, date=day)
        .exclude(pk=exclude_pk)
        .order_by("time")
    )
    in_the_way = next((visit for visit in booked if overlaps(visit.time, at)), None)
    if in_the_way is None:
        return
    free = next_free_times(day, at, [visit.time for visit in booked], now)
    form.free_times = free  # type: ignore[attr-defined]
    message = (
        f"{doctor_name(doctor)} already sees {display_name(in_the_way.patient)} at {format_clock(in_the_way.time)} "
        f"on {format_day(day)} (visits last {visit_minutes()} minutes)."
    )
    if free:
        message += f" Free that day: {', '.join(format_clock(time) for time in free)} {zone_label()}."
    else:
        message += " There is no free time left that day."
    form.add_error("time", message)


def visit_minutes() -> int:
    return settings.APPOINTMENT_MINUTES


def _minutes(at: dt.time) -> int:
    return at.hour * 60 + at.minute


def overlaps(booked: dt.time, at: dt.time) -> bool:
    """Two visits of one doctor on one day overlap when they start less than a visit's length apart."""
    return abs(_minutes(booked) - _minutes(at)) < visit_minutes()


# A day has this many minutes on the clinic's clock; a visit starts before its end.
DAY_MINUTES = 24 * 60
FREE_TIMES_OFFERED = 3


def next_free_times(day: dt.date, at: dt.time, booked: list[dt.time], now: dt.datetime) -> list[dt.time]:
    """
    The doctor's next free starts on `day` from `at` on: walk forward a visit at a time, and
    past each visit in the way (to its end), keeping times that exist on the clinic's clock and
    have not passed. At most FREE_TIMES_OFFERED.
    """
    length = visit_minutes()
    busy = sorted(_minutes(time) for time in booked)
    free: list[dt.time] = []
    start = _minutes(at)
    while start < DAY_MINUTES and len(free) < FREE_TIMES_OFFERED:
        blocking = [taken for taken in busy if abs(taken - start) < length]
        if blocking:
            start = max(blocking) + length
            continue
        candidate = dt.time(start // 60, start % 60)
        try:
            if clinic_datetime(day, candidate) >= now:
                free.append(candidate)
        except NonexistentLocalTime:
            pass
        start += length
    return free


def time_help() -> str:
    """The label names the zone (time_label); the help says how the clock is read."""
    return "The clinic's 24-hour clock, e.g. 14:30."


def time_label() -> str:
    return f"Time ({zone_label()})"


class AppointmentForm(StyledForm, forms.ModelForm):
    """
    Schedule a visit, for an existing patient or a new one added in the same form. A
    doctor books for themselves; clinic staff choose the doctor. Video or at the clinic
    is the first choice, with DEFAULT_VISIT_KIND chosen until someone changes it.
    """

    EXISTING, NEW = "existing", "new"
    VIDEO, CLINIC = "video", "clinic"

    visit_kind = forms.ChoiceField(
        label="Where the visit takes place",
        choices=[(VIDEO, "Video visit"), (CLINIC, "At the clinic")],
        widget=forms.RadioSelect(attrs={"class": "btn-check", "autocomplete": "off"}),
        error_messages={"required": "Choose a video visit or a visit at the clinic."},
        # Large targets: each choice a whole button-sized card. Field(template_name=) is Django 5.0's;
        # django-stubs does not know it yet.
        template_name="forms/choice_cards.html",  # type: ignore[call-arg]
    )
    patient_is = forms.ChoiceField(
        label="Patient",
        choices=[(EXISTING, "An existing patient"), (NEW, "A new patient")],
        initial=EXISTING,
        required=False,  # absent means an existing patient, as before the choice existed
        widget=forms.RadioSelect,
    )
    patient = PersonChoiceField(queryset=patients(), required=False, label="Existing patient")
    first_name = forms.CharField(max_length=150, required=False, label="First name")
    last_name = forms.CharField(max_length=150, required=False, label="Last name")
    email = forms.EmailField(required=False, label="Email address", help_text="The invitation is sent here.")
    phone = forms.CharField(max_length=32, required=False, label="Phone (optional)")
    doctor = PersonChoiceField(queryset=doctors())

    NEW_PATIENT_FIELDS = ("first_name", "last_name", "email", "phone")

    class Meta:
        model = Appointment
        fields = ["doctor", "date", "time", "description"]
        widgets = {
            # A date input speaks ISO dates, whatever the language's own date format.
            "date": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "time": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "description": forms.Textarea(attrs={"rows": 3}),
        }
        labels = {"description": "Reason"}
        help_texts = {
            "description": "Why the patient is coming. Only their doctor, the patient and staff allowed to read "
            "reasons see it; no email carries it."
        }

    def __init__(self, *args: Any, booking_doctor: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.booking_doctor = booking_doctor
        self.free_times: list[dt.time] = []
        self.fields["visit_kind"].initial = settings.DEFAULT_VISIT_KIND
        self.fields["time"].label = time_label()
        self.fields["time"].help_text = time_help()
        if booking_doctor is not None:
            del self.fields["doctor"]
            self.instance.doctor = booking_doctor
        self.style_fields()
        self.fields["email"].widget.attrs["autocomplete"] = "off"

    def clean_patient_is(self) -> str:
        return self.cleaned_data["patient_is"] or self.EXISTING

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("patient_is") == self.NEW:
            for name in ("first_name", "last_name", "email"):
                if not cleaned.get(name) and name not in self.errors:
                    self.add_error(name, "Needed for a new patient.")
            email = cleaned.get("email")
            if email:
                existing = patients().filter(email__iexact=email).first()
                if existing is not None:
                    self.add_error(
                        "email",
                        f"{display_name(existing)} already has this address: choose them as an existing patient.",
                    )
                elif get_user_model().objects.filter(username__iexact=email).exists():
                    self.add_error("email", "This address belongs to someone else at the clinic.")
        elif cleaned.get("patient_is") == self.EXISTING and not cleaned.get("patient") and "patient" not in self.errors:
            self.add_error("patient", "Choose the patient.")
        doctor = self.booking_doctor or cleaned.get("doctor")
        check_slot(self, doctor, cleaned.get("date"), cleaned.get("time"), self.instance.pk)
        return cleaned

    def save(self, commit: bool = True) -> Appointment:
        """Adds the new patient first (call inside a transaction, with the appointment)."""
        if self.cleaned_data["patient_is"] == self.NEW:
            self.instance.patient = create_patient(
                first_name=self.cleaned_data["first_name"],
                last_name=self.cleaned_data["last_name"],
                email=self.cleaned_data["email"],
                phone=self.cleaned_data["phone"],
            )
        else:
            self.instance.patient = self.cleaned_data["patient"]
        self.instance.is_telemedicine = self.cleaned_data["visit_kind"] == self.VIDEO
        return super().save(commit=commit)


def create_patient(*, first_name: str, last_name: str, email: str, phone: str = "") -> Any:
    """
    A new patient: an active user in the Patients group with no usable password (they sign
    in with the links in the clinic's emails, or set a password through "Forgot your
    password?"). Their username is their email address, lowercased: the database's unique
    username is what keeps two concurrent forms from adding the same person twice.
    """
    user = get_user_model().objects.create_user(
        username=email.lower()[:150], email=email, first_name=first_name, last_name=last_name
    )
    user.set_unusable_password()
    user.save(update_fields=["password"])
    user.groups.add(Group.objects.get(name=PATIENTS_GROUP))
    PatientProfile.objects.create(user=user, phone=phone)
    return user


class RescheduleForm(StyledForm, forms.Form):
    """A new date and time for `appointment`, under the same rules as scheduling."""

    date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    time = forms.TimeField(widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))

    def __init__(self, *args: Any, appointment: Appointment, **kwargs: Any) -> None:
        kwargs.setdefault("initial", {"date": appointment.date, "time": appointment.time})
        super().__init__(*args, **kwargs)
        self.appointment = appointment
        self.free_times: list[dt.time] = []
        self.fields["time"].label = time_label()
        self.fields["time"].help_text = time_help()
        self.style_fields()

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        day, at = cleaned.get("date"), cleaned.get("time")
        if day and at and (day, at) == (self.appointment.date, self.appointment.time):
            raise ValidationError("This is the appointment's current date and time: choose another.")
        check_slot(self, self.appointment.doctor, day, at, self.appointment.pk)
        return cleaned


class ClinicPasswordResetForm(PasswordResetForm):
    """
    "Forgot your password?" for everyone, patients without a password included (Django's
    own form skips unusable passwords: this is how a patient sets their first one). The
    email goes through the outbox and the worker, never from inside the request; its
    link is made when it is sent and expires after PASSWORD_RESET_TIMEOUT.
    """

    def get_users(self, email: str) -> Any:
        return get_user_model()._default_manager.filter(email__iexact=email, is_active=True)

    def save(self, *args: Any, **kwargs: Any) -> None:
        from .notifications import notify_password_reset

        with transaction.atomic():
            for user in self.get_users(self.cleaned_data["email"]):
                notify_password_reset(user)
