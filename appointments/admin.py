from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from .clinic_time import NonexistentLocalTime, clinic_datetime, format_moment, format_slot
from .forms import PersonChoiceField, check_slot
from .models import Appointment, Notification, PatientProfile
from .notifications import notify
from .roles import display_name, doctor_name, doctors, patients
from .rules import may_see_every_reason, may_see_reason
from .signals import Change, announce, changes_between

# The clinic's words, not Django's: "Clinic administration" on every admin page.
admin.site.site_header = "Clinic administration"
admin.site.site_title = "Clinic administration"
admin.site.index_title = settings.CLINIC_NAME

# What changes_between() compares, as the database holds it (people as ids).
COMPARED = {
    "doctor": "doctor_id",
    "patient": "patient_id",
    "date": "date",
    "time": "time",
    "status": "status",
    "is_telemedicine": "is_telemedicine",
}
User = get_user_model()

# What the patient is told of each change made here, as on the app's pages.
EMAILS = {
    Change.RESCHEDULED: Notification.Kind.RESCHEDULED,
    Change.CANCELLED: Notification.Kind.CANCELLED,
    Change.VIDEO_ON: Notification.Kind.VIDEO_ON,
    Change.VIDEO_OFF: Notification.Kind.VIDEO_OFF,
}


class AppointmentAdminForm(forms.ModelForm):
    """
    The admin's appointment form runs the app's own rules (appointments.forms.check_slot and
    appointments.rules): a new date or time must exist on the clinic's clock and not be in the
    past; a new date, time or doctor must not clash with the doctor's other visits; a visit is
    marked completed from its start only. An edit that leaves the date and time alone (a status,
    a note, another doctor) is not refused because the visit has begun or is over.
    """

    class Meta:
        model = Appointment
        fields = ["patient", "doctor", "date", "time", "description", "status", "cancellation_note", "is_telemedicine"]
        labels = {"description": "Reason", "is_telemedicine": "Video visit"}

    def clean(self):
        cleaned = super().clean() or {}
        adding = self.instance._state.adding
        status = cleaned.get("status") or self.instance.status
        changed = set(self.changed_data)
        moved = adding or bool({"date", "time"} & changed)
        if (moved or "doctor" in changed) and status not in Appointment.CLOSED_STATUSES:
            day, at, doctor = cleaned.get("date"), cleaned.get("time"), cleaned.get("doctor")
            check_slot(self, doctor, day, at, self.instance.pk, moved=moved)
        day, at = cleaned.get("date"), cleaned.get("time")
        completing = status == Appointment.Status.COMPLETED and (adding or "status" in self.changed_data)
        if completing and day and at:
            try:
                starts_at = clinic_datetime(day, at)
            except NonexistentLocalTime:
                return cleaned  # the time's own error says why
            if timezone.now() < starts_at:
                self.add_error("status", f"A visit can be marked completed from its start, {format_moment(starts_at)}.")
        return cleaned


class ReadOnlyModelAdmin(admin.ModelAdmin):
    """
    A record the clinic reads and nobody writes by hand (the emails sent, the audit trail,
    guests): no add, change or delete here, and no actions ("delete selected" never appears).
    """

    actions = None

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Appointment)
class AppointmentAdmin(admin.ModelAdmin):
    """
    Clinic staff's full view of appointments. The doctor and the patient are chosen among
    active doctors and active patients only (the rule of roles.doctors / roles.patients):
    a staff member cannot make themselves, or anyone else, the doctor of a visit. Every
    change of people, date, time or status is announced inside the admin's transaction,
    so the audit trail records it, and new people get a new room.
    """

    form = AppointmentAdminForm
    list_display = ["when", "patient_name", "doctor_name", "status", "is_telemedicine"]
    list_filter = ["status", "is_telemedicine", "date"]
    search_fields = [
        "patient__first_name", "patient__last_name", "patient__username",
        "doctor__first_name", "doctor__last_name", "doctor__username",
    ]  # fmt: skip
    readonly_fields = ["jitsi_room_name", "created_at", "updated_at", "emails"]
    list_select_related = ["patient", "doctor"]
    date_hierarchy = "date"
    fieldsets = [
        (
            "Appointment",
            {"fields": ["patient", "doctor", "date", "time", "description", "status", "cancellation_note"]},
        ),
        # In view, not folded away: whether the patient comes to the clinic or joins by video.
        ("Video visit", {"fields": ["is_telemedicine"]}),
        ("Record", {"fields": ["created_at", "updated_at", "jitsi_room_name"], "classes": ["collapse"]}),
        ("Emails to the patient and guests", {"fields": ["emails"]}),
    ]

    @admin.display(description="When", ordering="date")
    def when(self, appointment: Appointment) -> str:
        return format_slot(appointment.date, appointment.time)

    @admin.display(description="Patient", ordering="patient__last_name")
    def patient_name(self, appointment: Appointment) -> str:
        return display_name(appointment.patient)

    @admin.display(description="Doctor", ordering="doctor__last_name")
    def doctor_name(self, appointment: Appointment) -> str:
        return doctor_name(appointment.doctor)

    def get_fieldsets(self, request, obj=None):
        """The reason for a visit only for staff who may read reasons (appointments.rules.may_see_reason)."""
        fieldsets = super().get_fieldsets(request, obj)
        # A new appointment has no doctor or patient yet.
        if may_see_reason(request.user, obj) if obj is not None else may_see_every_reason(request.user):
            return fieldsets
        return [
            (name, {**options, "fields": [field for field in options["fields"] if field != "description"]})
            for name, options in fieldsets
        ]

    @admin.display(description="Emails")
    def emails(self, appointment: Appointment) -> str:
        """What the clinic told the patient (and guests) about this appointment, and whether it got out."""
        rows = appointment.notifications.order_by("-created_at", "-id") if appointment.pk else []
        if not rows:
            return "None yet."
        return format_html(
            "<table><thead><tr><th>When</th><th>Email</th><th>To</th><th>Status</th><th>Attempts</th>"
            "<th>Why not sent</th></tr></thead><tbody>{}</tbody></table>",
            format_html_join(
                "",
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                (
                    (
                        format_moment(row.created_at),
                        row.get_kind_display(),
                        row.email,
                        row.get_status_display(),
                        row.attempts,
                        row.outcome,
                    )
                    for row in rows
                ),
            ),
        )

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        # A plain choice among the clinic's active doctors or patients (the admin's
        # autocomplete would list every user, and needs permissions on users staff lack).
        choices = {"doctor": doctors, "patient": patients}
        if db_field.name in choices:
            kwargs |= {"queryset": choices[db_field.name](), "form_class": PersonChoiceField}
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        """Runs inside the admin's transaction (ModelAdmin.changeform_view), as announce() asks."""
        if not change:
            super().save_model(request, obj, form, change)
            announce(obj, Change.SCHEDULED, actor=request.user, request=request)
            notify(obj, Notification.Kind.INVITATION)
            return
        before = (
            Appointment.objects.select_for_update().values(*COMPARED.values()).get(pk=obj.pk)
        )  # the row as it is now, not as the form was first shown
        super().save_model(request, obj, form, change)
        found = changes_between(
            {name: before[column] for name, column in COMPARED.items()},
            {name: getattr(obj, column) for name, column in COMPARED.items()},
        )
        if found:
            obj.bump_sequence()  # the patient's calendar takes the new copy over the old
        for kind, fields in found:
            if kind is Change.PEOPLE_CHANGED:
                obj.new_room()
            announce(obj, kind, actor=request.user, request=request, fields=fields)
            if kind is Change.PEOPLE_CHANGED and "patient" in fields:
                # The visit is off for the patient it leaves, and new for the one it goes to.
                notify(obj, Notification.Kind.CANCELLED, recipient=User.objects.get(pk=before["patient_id"]))
                notify(obj, Notification.Kind.INVITATION)
            elif kind in EMAILS:
                notify(obj, EMAILS[kind])


@admin.register(Notification)
class NotificationAdmin(ReadOnlyModelAdmin):
    """The clinic's outbox, read-only: every email, to whom, and whether it was sent (or why not)."""

    list_display = ["created_at", "kind", "appointment_id", "email", "status", "attempts", "sent_at"]
    list_filter = ["status", "kind", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["email", "=appointment__id"]
    date_hierarchy = "created_at"
    fields = (
        "created_at", "kind", "appointment", "recipient_name", "email", "reminder_for",
        "status", "attempts", "next_attempt_at", "sent_at", "outcome",
    )  # fmt: skip
    readonly_fields = fields

    @admin.display(description="To whom")
    def recipient_name(self, notification: Notification) -> str:
        return display_name(notification.recipient) if notification.recipient else "—"


@admin.register(PatientProfile)
class PatientProfileAdmin(admin.ModelAdmin):
    list_display = ["patient_name", "phone"]
    search_fields = ["user__username", "user__email", "user__last_name"]
    list_select_related = ["user"]
    autocomplete_fields = ["user"]

    @admin.display(description="Patient", ordering="user__last_name")
    def patient_name(self, profile: PatientProfile) -> str:
        return display_name(profile.user)
