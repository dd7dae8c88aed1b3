from __future__ import annotations

from datetime import datetime, timedelta

from django import forms
from django.contrib.auth import get_user_model

from appointments.clinic_time import clinic_now
from appointments.models import Appointment
from appointments.roles import PATIENTS_GROUP

from .access import call_window
from .sign_in import may_use_sign_in_links


class SignInLinkRequestForm(forms.Form):
    email = forms.EmailField(
        label="Your email address",
        widget=forms.EmailInput(attrs={"autocomplete": "email", "class": "form-control"}),
    )


class InviteGuestForm(forms.Form):
    name = forms.CharField(
        max_length=100, label="Guest's name", help_text="As it will show in the call, marked as a guest."
    )
    email = forms.EmailField(label="Guest's email address", help_text="Their personal link is sent here.")

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "guest-%s")  # ids of its own on the appointment page
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.widget.attrs["class"] = "form-control form-control-sm"
        self.fields["name"].widget.attrs["autocomplete"] = "off"
        self.fields["email"].widget.attrs["autocomplete"] = "off"


def next_visit_for_link(email: str, now: datetime) -> Appointment | None:
    """The next visit of the patient with this address whose window has not closed, if any."""
    patients = get_user_model().objects.filter(email__iexact=email.strip(), groups__name=PATIENTS_GROUP, is_active=True)
    for patient in patients:
        if not may_use_sign_in_links(patient):
            continue
        upcoming = (
            Appointment.objects.active()
            .filter(patient=patient, date__gte=clinic_now().date() - timedelta(days=1))
            .select_related("patient")
        )
        for appointment in upcoming:
            if call_window(appointment).closes_at > now:
                return appointment
    return None
