import csv

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import StreamingHttpResponse
from django.urls import path
from django.utils import timezone

from .models import AccessEvent, Guest

CSV_COLUMNS = [
    "created_at", "user_id", "username", "guest_id", "guest_name", "appointment_id", "action", "reason",
    "detail", "ip_address", "user_agent",
]  # fmt: skip

# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection):
# a user agent is whatever the client sent, so such cells are quoted as text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value) -> str:
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


class Echo:
    """A file-like object that hands back what csv.writer writes, for streaming."""

    def write(self, value):
        return value


def csv_rows(events):
    writer = csv.writer(Echo())
    yield writer.writerow(CSV_COLUMNS)
    for event in events.iterator(chunk_size=2000):
        yield writer.writerow(
            spreadsheet_safe(value)
            for value in [
                event.created_at.isoformat(),
                event.user_id,
                event.user.get_username() if event.user else "",
                event.guest_id,
                event.guest.name if event.guest_id and event.guest else "",
                event.appointment_id,
                event.action,
                event.reason,
                event.detail,
                event.ip_address,
                event.user_agent,
            ]
        )


@admin.register(AccessEvent)
class AccessEventAdmin(admin.ModelAdmin):
    """The audit trail, read-only for everyone: nobody adds, changes or deletes a record here."""

    list_display = ["created_at", "action", "reason", "user", "guest", "appointment_id", "ip_address"]
    list_filter = ["action", "reason", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["user__username", "=appointment__id"]
    list_select_related = ["user", "guest"]
    date_hierarchy = "created_at"
    fields = ("created_at", "action", "reason", "user", "guest", "appointment_id", "detail", "ip_address", "user_agent")
    readonly_fields = fields
    # No admin actions at all: "delete selected" must never appear.
    actions = None
    change_list_template = "admin/telemedicine/accessevent/change_list.html"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_export_permission(self, request) -> bool:
        return request.user.is_active and request.user.is_superuser

    def changelist_view(self, request, extra_context=None):
        extra_context = (extra_context or {}) | {"can_export": self.has_export_permission(request)}
        return super().changelist_view(request, extra_context)

    def get_urls(self):
        export = path(
            "export/",
            self.admin_site.admin_view(self.export_csv),
            name="telemedicine_accessevent_export",
        )
        return [export, *super().get_urls()]

    def export_csv(self, request):
        """The audit trail as CSV, with the change list's filters applied; superusers only."""
        if not self.has_export_permission(request):
            raise PermissionDenied("Only superusers may export the audit trail.")
        events = self.get_changelist_instance(request).get_queryset(request).select_related("user", "guest")
        response = StreamingHttpResponse(csv_rows(events), content_type="text/csv; charset=utf-8")
        filename = f"access-events-{timezone.now():%Y%m%d-%H%M%S}.csv"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response


@admin.register(Guest)
class GuestAdmin(admin.ModelAdmin):
    """Who was invited to which visit, by whom, and whether it was withdrawn: read-only, as the audit trail."""

    list_display = ["name", "appointment_id", "invited_by", "invited_at", "revoked_at"]
    list_select_related = ["invited_by"]
    search_fields = ["name", "email", "=appointment__id"]
    fields = ("appointment", "name", "email", "invited_by", "invited_at", "revoked_at", "revoked_by")
    readonly_fields = fields
    actions = None

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
