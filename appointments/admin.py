from django.contrib import admin

from .models import Appointment, Notification, PatientProfile


class NotificationInline(admin.TabularInline):
    """What the clinic told the patient about this appointment, and whether it got out."""

    model = Notification
    fields = ("created_at", "kind", "email", "status", "attempts", "sent_at", "outcome")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True
    ordering = ["-created_at"]

    def has_view_permission(self, request, obj=None):
        # Whoever may see the appointment sees what it told the patient.
        return request.user.has_perm("appointments.view_appointment")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Appointment)
class AppointmentAdmin(admin.ModelAdmin):
    list_display = ["patient", "doctor", "date", "time", "status", "is_telemedicine"]
    list_filter = ["status", "is_telemedicine", "date"]
    search_fields = ["patient__username", "doctor__username"]
    readonly_fields = ["jitsi_room_name", "created_at", "updated_at"]
    list_select_related = ["patient", "doctor"]
    autocomplete_fields = ["patient", "doctor"]
    date_hierarchy = "date"
    fieldsets = [
        ("Basic", {"fields": ["patient", "doctor", "date", "time", "description", "status"]}),
        ("Telemedicine", {"fields": ["is_telemedicine", "jitsi_room_name"], "classes": ["collapse"]}),
        ("Timestamps", {"fields": ["created_at", "updated_at"], "classes": ["collapse"]}),
    ]
    inlines = [NotificationInline]


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
