from django import forms
from django.core.exceptions import ValidationError

from .clinic_time import NonexistentLocalTime, clinic_datetime, clinic_now
from .models import Appointment
from .roles import doctors, patients


class PersonChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, user):
        full_name = user.get_full_name()
        return f"{full_name} ({user.get_username()})" if full_name else user.get_username()


class AppointmentForm(forms.ModelForm):
    """Schedule a visit. A doctor books for themselves; clinic staff choose the doctor."""

    patient = PersonChoiceField(queryset=patients())
    doctor = PersonChoiceField(queryset=doctors())

    class Meta:
        model = Appointment
        fields = ["patient", "doctor", "date", "time", "description", "is_telemedicine"]
        widgets = {
            "date": forms.DateInput(attrs={"type": "date"}),
            "time": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "description": forms.Textarea(attrs={"rows": 3}),
        }
        labels = {"is_telemedicine": "Video visit (telemedicine)"}
        help_texts = {
            "time": "On the clinic's clock.",
            "description": "Reason for the visit. Visible to the doctor and the patient only.",
        }

    def __init__(self, *args, booking_doctor=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.booking_doctor = booking_doctor
        if booking_doctor is not None:
            del self.fields["doctor"]
            self.instance.doctor = booking_doctor
        for name, field in self.fields.items():
            css = (
                "form-check-input"
                if name == "is_telemedicine"
                else ("form-select" if isinstance(field.widget, forms.Select) else "form-control")
            )
            field.widget.attrs["class"] = css

    def full_clean(self):
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                widget = self.fields[name].widget
                widget.attrs["class"] += " is-invalid"
                widget.attrs["aria-describedby"] = f"{self[name].auto_id}_error"

    def clean(self):
        cleaned = super().clean() or {}
        day, at = cleaned.get("date"), cleaned.get("time")
        doctor = self.booking_doctor or cleaned.get("doctor")
        if day and at:
            try:
                starts_at = clinic_datetime(day, at)
            except NonexistentLocalTime as error:
                self.add_error("time", str(error))
                return cleaned
            if starts_at < clinic_now():
                self.add_error("date", "This date and time are in the past. Please choose a future time.")
            elif doctor and (
                Appointment.objects.active()
                .filter(doctor=doctor, date=day, time=at)
                .exclude(pk=self.instance.pk)
                .exists()
            ):
                raise ValidationError("The doctor already has an appointment at this date and time.")
        return cleaned
