from django.contrib import admin
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join

from .forms import PersonChoiceField
from .models import Appointment, Notification, PatientProfile
from .notifications import notify
from .roles import doctors, patients
from .signals import Change, announce, changes_between

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


@admin.register(Appointment)
class AppointmentAdmin(admin.ModelAdmin):
    """
    Clinic staff's full view of appointments. The doctor and the patient are chosen among
    active doctors and active patients only (the rule of roles.doctors / roles.patients):
    a staff member cannot make themselves, or anyone else, the doctor of a visit. Every
    change of people, date, time or status is announced inside the admin's transaction,
    so the audit trail records it, and new people get a new room.
    """

    list_display = ["patient", "doctor", "date", "time", "status", "is_telemedicine"]
    list_filter = ["status", "is_telemedicine", "date"]
    search_fields = ["patient__username", "doctor__username"]
    readonly_fields = ["jitsi_room_name", "created_at", "updated_at", "emails"]
    list_select_related = ["patient", "doctor"]
    date_hierarchy = "date"
    fieldsets = [
        ("Basic", {"fields": ["patient", "doctor", "date", "time", "description", "status"]}),
        ("Telemedicine", {"fields": ["is_telemedicine", "jitsi_room_name"], "classes": ["collapse"]}),
        ("Timestamps", {"fields": ["created_at", "updated_at"], "classes": ["collapse"]}),
        ("Emails to the patient and guests", {"fields": ["emails"]}),
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
                        date_format(timezone.localtime(row.created_at), "D j M Y H:i"),
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
class NotificationAdmin(admin.ModelAdmin):
    """The clinic's outbox, read-only: every email, to whom, and whether it was sent (or why not)."""

    list_display = ["created_at", "kind", "appointment_id", "email", "status", "attempts", "sent_at"]
    list_filter = ["status", "kind", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["email", "=appointment__id"]
    date_hierarchy = "created_at"
    fields = (
        "created_at", "kind", "appointment", "recipient", "email", "reminder_for",
        "status", "attempts", "next_attempt_at", "sent_at", "outcome",
    )  # fmt: skip
    readonly_fields = fields
    actions = None

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(PatientProfile)
class PatientProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "phone"]
    search_fields = ["user__username", "user__email", "user__last_name"]
    list_select_related = ["user"]
    autocomplete_fields = ["user"]
